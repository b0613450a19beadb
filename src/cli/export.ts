import { resolve } from "node:path";
import { DEFAULT_CONFIG, loadConfigFile } from "../config/load.js";
import { RULES } from "../rules/index.js";
import { exportVap, exportYaml } from "../vap/export.js";
import { loadPolicySet } from "../vap/load.js";
import { describeInputError } from "../input/documents.js";
import { parseCommandArgs, UsageError } from "./args.js";

export const EXPORT_HELP = `Usage: tollgate export vap [--config FILE] [--policy PATH...]

Prints the ValidatingAdmissionPolicies of --policy and of the config's \`policies:\` with bindings
that carry tollgate's rollout into the apiserver, so that it enforces them without tollgate:

  tollgate export vap --config tollgate.yaml | kubectl apply -f -

Each binding becomes one per mode: namespaces labelled tollgate.dev/mode=enforce get its actions
as written, =warn gets Deny turned into Warn, unlabelled namespaces and cluster-scoped objects
follow the config's defaultMode, and \`off\` and excluded namespaces match none. Config exemptions
of whole namespaces, names and kinds become selectors and match conditions; what a binding cannot
hold (an expiry date, a container) is said in a comment above the object.`;

export async function exportCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    "export",
    argv,
    {
      config: { type: "string" },
      policy: { type: "string", multiple: true },
      help: { type: "boolean", short: "h" },
    },
    true,
  );
  if (values.help) {
    process.stdout.write(`${EXPORT_HELP}\n`);
    return 0;
  }
  if (positionals.length !== 1 || positionals[0] !== "vap") {
    throw new UsageError(
      `tollgate export: say what to export: \`tollgate export vap\` (got ${JSON.stringify(positionals.join(" "))})`,
    );
  }
  const config = values.config
    ? loadConfigFile(resolve(values.config), new Set(RULES.keys()))
    : DEFAULT_CONFIG;
  const paths = [...config.policies, ...(values.policy ?? []).map((path) => resolve(path))];
  if (paths.length === 0) {
    throw new UsageError("tollgate export vap: no policies: give --policy PATH or a config with `policies:`");
  }
  const { set, errors } = await loadPolicySet(paths, new Set(RULES.keys()));
  if (errors.length > 0) {
    for (const error of errors) {
      process.stderr.write(`tollgate export: ${describeInputError(error)}\n`);
    }
    return 2;
  }
  process.stdout.write(exportYaml(exportVap(set, config)));
  return 0;
}
