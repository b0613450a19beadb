import { fullCatalog, renderCatalogMarkdown, renderCatalogText } from "../audit/catalog.js";
import { vapRules } from "../engine/vapRules.js";
import { describeInputError } from "../input/documents.js";
import { parseCommandArgs, UsageError } from "./args.js";
import { loadConfigAndPolicies } from "./policies.js";

export const RULES_HELP = `Usage: tollgate rules [--output text|json|markdown] [--config FILE] [--policy PATH...]

Lists the catalog from its own metadata: the rules, then the checks of the audit's cluster
checklist, then the ValidatingAdmissionPolicies that --policy or the config's policies: load. Id, category, default severity, title (text), every field with where each runs
(json: {"rules": [...], "checks": [...]}), or the reference page docs/rules.md is generated
from (markdown).`;

const OUTPUTS = ["text", "json", "markdown"] as const;

export async function rules(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs("rules", argv, {
    output: { type: "string", short: "o" },
    config: { type: "string" },
    policy: { type: "string", multiple: true },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    process.stdout.write(`${RULES_HELP}\n`);
    return 0;
  }
  const output = values.output ?? "text";
  if (!(OUTPUTS as readonly string[]).includes(output)) {
    throw new UsageError(
      `tollgate rules: --output must be one of ${OUTPUTS.join(", ")}, got ${JSON.stringify(output)}`,
    );
  }
  const loaded = await loadConfigAndPolicies(values.config, values.policy ?? []);
  if (loaded.errors.length > 0) {
    for (const error of loaded.errors) {
      process.stderr.write(`tollgate rules: ${describeInputError(error)}\n`);
    }
    return 2;
  }
  const policies = vapRules(loaded.policies);
  if (output === "json")
    process.stdout.write(`${JSON.stringify(fullCatalog(undefined, undefined, policies), null, 2)}\n`);
  else if (output === "markdown") process.stdout.write(renderCatalogMarkdown());
  else process.stdout.write(renderCatalogText(undefined, undefined, policies));
  return 0;
}
