import type { KubeConfig } from "@kubernetes/client-node";
import { ALL_CHECKS } from "../audit/checks/index.js";
import { listCluster } from "../audit/list.js";
import { planAudit } from "../audit/plan.js";
import { auditDescriptors, auditReport } from "../audit/report.js";
import { compilePolicy } from "../engine/policy.js";
import { describeRule, exitCodeOf } from "../report/model.js";
import { render } from "../report/render.js";
import { textOptionsFor } from "../report/text.js";
import { RULES } from "../rules/index.js";
import { describeInputError } from "../input/documents.js";
import { previewLines, wouldDenyIn } from "../admission/preview.js";
import { parseCommandArgs, UsageError, userErrorText } from "./args.js";
import { findingFilterFrom, RULE_FLAGS } from "./ruleFlags.js";
import { filterReport } from "../report/filter.js";
import { oneOf } from "./check.js";
import { type CliIO, processIO } from "./io.js";
import { kubeConfigFrom } from "./kubeconfig.js";
import { loadConfigAndPolicies } from "./policies.js";

export const AUDIT_HELP = `Usage: tollgate audit [--kubeconfig FILE] [--context NAME] [--namespace NS]
                      [--output text|json|sarif|html] [--config FILE] [--policy PATH...]

Lists every object of the kinds tollgate's rules cover and of the config's podTemplates (all
namespaces, or one with --namespace), runs the rules (and the ValidatingAdmissionPolicies of
--policy or the config's policies:) on them in enforce mode, and adds the cluster checklist:
${ALL_CHECKS.map((item) => `  ${item.id.padEnd(31)} ${item.title}`).join("\n")}

Needs list permission on those resources (a read-only ClusterRole such as \`view\` plus
TLS and Helm release secrets, nodes, RBAC and webhook configurations). A missing CRD (Velero,
Prometheus operator, Karpenter, cert-manager) is noted.

Options:
  --kubeconfig FILE  kubeconfig to use (default: $KUBECONFIG, ~/.kube/config, or in-cluster)
  --context NAME     context to use (default: the current context)
  --namespace NS     audit one namespace; cluster-wide checklist items are skipped
  --output FORMAT    text (default), json, sarif or html (one self-contained page)
  --explain          text: each finding's field path and fix under it (default: one fix per rule)
  --config FILE      the webhook's config file (rule severities, options, excluded namespaces)
  --rule ID          report only this rule or checklist item (repeatable)
  --skip-rule ID     leave this rule or checklist item out (repeatable)
  --min-severity S   warn (default) or deny: deny leaves warnings out
  --preview enforce  with --namespace: only say what enforce mode would deny there now, as the
                     webhook warns a policy admin who switches the namespace to enforce (exit 1
                     when something would be denied)

Exit codes: 0 no deny finding; 1 deny findings; 2 usage error, unreachable cluster, or a list the
cluster refused (the report still shows everything that could be read).`;

export interface AuditDeps {
  /** Defaults to loading the kubeconfig from the flags; tests hand in their own. */
  kubeConfig?: (options: { kubeconfig?: string | undefined; context?: string | undefined }) => KubeConfig;
  now?: () => Date;
}

/** `tollgate audit`, with its streams and cluster connection injectable. */
export async function runAudit(argv: string[], io: CliIO, deps: AuditDeps = {}): Promise<number> {
  try {
    return await auditCommand(argv, io, deps);
  } catch (error) {
    const text = userErrorText("audit", error);
    if (text === undefined) throw error;
    io.stderr.write(text);
    return 2;
  }
}

async function auditCommand(argv: string[], io: CliIO, deps: AuditDeps): Promise<number> {
  const { values } = parseCommandArgs("audit", argv, {
    kubeconfig: { type: "string" },
    context: { type: "string" },
    namespace: { type: "string", short: "n" },
    output: { type: "string", short: "o" },
    config: { type: "string" },
    policy: { type: "string", multiple: true },
    preview: { type: "string" },
    explain: { type: "boolean" },
    ...RULE_FLAGS,
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.stdout.write(`${AUDIT_HELP}\n`);
    return 0;
  }
  const output = oneOf("output", values.output, ["text", "json", "sarif", "html"] as const, "text");
  const preview =
    values.preview === undefined
      ? undefined
      : oneOf("preview", values.preview, ["enforce"] as const, "enforce");
  if (preview !== undefined && values.namespace === undefined) {
    throw new UsageError(
      "--preview enforce needs --namespace NS: the namespace that would switch to enforce",
    );
  }
  const loaded = await loadConfigAndPolicies(values.config, values.policy ?? []);
  if (loaded.errors.length > 0) {
    for (const error of loaded.errors) {
      io.stderr.write(`tollgate audit: ${describeInputError(error)}\n`);
    }
    return 2;
  }
  const policy = compilePolicy(loaded.config, RULES, undefined, loaded.policies);
  const descriptors = [...auditDescriptors(), ...[...policy.registry.values()].map(describeRule)];
  const filter = findingFilterFrom(values, new Set(descriptors.map((d) => d.id)));
  const target = { kubeconfig: values.kubeconfig, context: values.context };
  const kc = deps.kubeConfig ? deps.kubeConfig(target) : kubeConfigFrom(target, io.env);
  const { judged, requests, templates } = planAudit(policy, values.namespace);

  const progress = io.stderr.isTTY === true;
  const { snapshot, problems } = await listCluster(kc, requests, {
    namespace: values.namespace,
    templates,
    onProgress: progress
      ? (done, total, kind, count) => {
          const width = 20;
          const filled = Math.round((done / total) * width);
          const bar = `${"#".repeat(filled)}${".".repeat(width - filled)}`;
          const what = done === total ? "done" : `listing ${kind.resource}${count > 0 ? ` (${count})` : ""}`;
          io.stderr.write(`\r\u001b[K[${bar}] ${done}/${total} ${what}`);
          if (done === total) io.stderr.write("\r\u001b[K");
        }
      : undefined,
  });
  const now = (deps.now ?? (() => new Date()))();
  const unfiltered = auditReport({
    snapshot,
    problems,
    judged,
    policy,
    now,
    namespace: values.namespace,
  });
  if (preview !== undefined && values.namespace !== undefined) {
    // What enforce would deny, whatever --rule or --min-severity leave out of a report.
    const denied = wouldDenyIn(unfiltered, values.namespace, (id) => policy.registry.has(id));
    const lines = previewLines(values.namespace, denied);
    io.stdout.write(
      lines.length > 0
        ? `${lines.join("\n")}\n`
        : `enforce would deny nothing that runs in ${values.namespace} now\n`,
    );
    return unfiltered.errors.length > 0 ? 2 : denied.length > 0 ? 1 : 0;
  }
  const report = filterReport(unfiltered, filter);
  for (const chunk of render(
    report,
    output,
    textOptionsFor(io.stdout, io.env, values.explain === true),
    auditDescriptors(),
    now,
  )) {
    io.stdout.write(chunk);
  }
  return exitCodeOf(report);
}

/** The command as `main.ts` runs it, on the process's own streams. */
export function audit(argv: string[]): Promise<number> {
  return runAudit(argv, processIO());
}
