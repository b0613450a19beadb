import type { KubeConfig } from "@kubernetes/client-node";
import { CHECKLIST, isOwnedWorkload, runChecklist, withoutCovered } from "../audit/checklist.js";
import { type ListRequest, listCluster } from "../audit/list.js";
import { type ClusterSnapshot } from "../audit/snapshot.js";
import { ConfigError, DEFAULT_CONFIG, loadConfigFile } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { compilePolicy, type Policy } from "../engine/policy.js";
import { ClusterError, loadKubeConfig } from "../k8s/client.js";
import { judgeObject } from "../report/judge.js";
import {
  describeRule,
  exitCodeOf,
  type Report,
  type ReportError,
  type ReportFinding,
  type ReportObject,
  type RuleDescriptor,
} from "../report/model.js";
import { render } from "../report/render.js";
import { colorWanted } from "../report/text.js";
import { RULES } from "../rules/index.js";
import type { TargetType } from "../rules/types.js";
import { parseCommandArgs, UsageError } from "./args.js";
import { oneOf } from "./check.js";
import { type CliIO, processIO } from "./io.js";
import { BINDING_KINDS, type KindName, KINDS, POD_SPEC_KINDS, ROLE_KINDS } from "../objects/kinds.js";
import { type KubeObject, metadataOf, refOf } from "../objects/object.js";

export const AUDIT_HELP = `Usage: tollgate audit [--kubeconfig FILE] [--context NAME] [--namespace NS]
                      [--output text|json|sarif] [--config FILE]

Lists every object of the kinds tollgate's rules cover (all namespaces, or one with --namespace),
runs the rules on them in enforce mode, and adds the cluster checklist:
${CHECKLIST.map((item) => `  ${item.id.padEnd(31)} ${item.title}`).join("\n")}

Needs list permission on those resources (a read-only ClusterRole such as \`view\` plus
secrets, RBAC and webhook configurations). A missing CRD (Velero, Prometheus operator) is noted.

Options:
  --kubeconfig FILE  kubeconfig to use (default: $KUBECONFIG, ~/.kube/config, or in-cluster)
  --context NAME     context to use (default: the current context)
  --namespace NS     audit one namespace; cluster-wide checklist items are skipped
  --output FORMAT    text (default), json or sarif
  --config FILE      the webhook's config file (rule severities, options, excluded namespaces)

Exit codes: 0 no deny finding; 1 deny findings; 2 usage error, unreachable cluster, or a list the
cluster refused (the report still shows everything that could be read).`;

/** Which target types the active rules read in audit, to list only the kinds that matter. */
function activeTargets(policy: Policy): Set<TargetType> {
  const types = new Set<TargetType>();
  for (const type of policy.bySource.audit.byTarget.keys()) types.add(type);
  return types;
}

const KINDS_BY_TARGET: Record<TargetType, readonly KindName[]> = {
  podSpec: POD_SPEC_KINDS,
  rbacRules: ROLE_KINDS,
  binding: BINDING_KINDS,
  namespace: ["Namespace"],
  serviceAccount: ["ServiceAccount"],
  secret: ["Secret"],
};

/** The kinds the rules judge, and the list requests for them plus the checklist's inputs. */
export function planAudit(policy: Policy, namespace: string | undefined) {
  const targets = activeTargets(policy);
  const judged = new Set<KindName>([...targets].flatMap((type) => KINDS_BY_TARGET[type]));
  const wanted = new Set<KindName>(judged);
  for (const item of CHECKLIST) {
    if (namespace !== undefined && !item.namespaceScoped) continue;
    for (const kind of [...item.needs, ...(item.optional ?? [])]) wanted.add(kind);
  }
  const requests: ListRequest[] = [];
  for (const kind of Object.keys(KINDS) as KindName[]) {
    if (!wanted.has(kind)) continue;
    if (namespace !== undefined && !KINDS[kind].namespaced) {
      if (kind === "Namespace") requests.push({ kind, fieldSelector: `metadata.name=${namespace}` });
      continue;
    }
    // Without a rule on Secrets, only TLS Secrets are read (for their expiry), not every credential.
    if (kind === "Secret" && !targets.has("secret")) {
      requests.push({ kind, fieldSelector: "type=kubernetes.io/tls" });
      continue;
    }
    requests.push({ kind });
  }
  return { judged, requests };
}

/**
 * Objects audit does not judge, though the webhook might see them: a Deployment's ReplicaSets and a
 * CronJob's Jobs (their template was judged on the owner, as for owned Pods), and the RBAC objects
 * the apiserver itself creates and reconciles (`cluster-admin`, `system:*`), which nobody can fix.
 */
function skipReason(kind: KindName, object: KubeObject, policy: Policy): string | undefined {
  if (kind !== "Pod" && policy.config.skipOwnedPods && isOwnedWorkload(object)) {
    return "controlled by a workload whose template is checked";
  }
  if (metadataOf(object).labels?.["kubernetes.io/bootstrapping"] === "rbac-defaults") {
    return "built-in RBAC object (kubernetes.io/bootstrapping=rbac-defaults)";
  }
  return undefined;
}

function key(object: { kind: string; namespace: string; name: string }): string {
  return `${object.kind}\u0000${object.namespace}\u0000${object.name}`;
}

export interface AuditInput {
  snapshot: ClusterSnapshot;
  problems: { message: string; error: boolean }[];
  judged: ReadonlySet<KindName>;
  policy: Policy;
  now: Date;
  newestMinor?: number;
  /** The namespace the lists were limited to, if any. */
  namespace?: string | undefined;
}

/** Everything after the listing, pure: rules on each object, the checklist, errors and notes. */
export function auditReport(input: AuditInput): Report {
  const { snapshot, policy } = input;
  const errors: ReportError[] = input.problems
    .filter((p) => p.error)
    .map((p) => ({ file: null, line: null, message: p.message }));
  const notes = input.problems.filter((p) => !p.error).map((p) => p.message);
  const objects: ReportObject[] = [];
  let listed = 0;
  for (const kind of Object.keys(KINDS) as KindName[]) {
    if (!input.judged.has(kind)) continue;
    for (const object of snapshot.objects[kind] ?? []) {
      listed++;
      const skipped = skipReason(kind, object, policy);
      if (skipped !== undefined) {
        const ref = refOf(object);
        objects.push({
          kind: ref.kind,
          namespace: ref.namespace,
          name: ref.name,
          file: null,
          line: null,
          rules: [],
          skipped,
          findings: [],
        });
        continue;
      }
      objects.push(judgeObject(object, policy, "enforce", "audit", { file: null, line: null }, errors));
    }
  }
  const ruleFindings = objects.flatMap((o) => o.findings);
  const checklist = runChecklist(snapshot, {
    now: input.now,
    config: policy.config,
    ...(input.newestMinor === undefined ? {} : { newestMinor: input.newestMinor }),
  });
  notes.push(...checklist.notes);
  const byKey = new Map(objects.map((o) => [key(o), o]));
  for (const finding of withoutCovered(checklist.findings, ruleFindings)) {
    let object = byKey.get(key(finding));
    if (!object) {
      object = { ...pick(finding), file: null, line: null, rules: [], findings: [] };
      byKey.set(key(finding), object);
      objects.push(object);
    }
    object.findings.push(finding);
    if (!object.rules.includes(finding.rule)) object.rules.push(finding.rule);
  }
  return {
    command: "audit",
    mode: "enforce",
    objects,
    errors,
    notes,
    files: 0,
    documents: listed,
    namespace: input.namespace,
  };
}

function pick(finding: ReportFinding) {
  return { kind: finding.kind, namespace: finding.namespace, name: finding.name };
}

/** Rules and checklist items, as SARIF describes them. */
export function auditDescriptors(): RuleDescriptor[] {
  return [...[...RULES.values()].map(describeRule), ...CHECKLIST.map(({ run: _run, needs: _n, ...d }) => d)];
}

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
    if (error instanceof UsageError || error instanceof ConfigError || error instanceof ClusterError) {
      io.stderr.write(`tollgate audit: ${error.message.replace(/^tollgate audit: /, "")}\n`);
      return 2;
    }
    throw error;
  }
}

async function auditCommand(argv: string[], io: CliIO, deps: AuditDeps): Promise<number> {
  const { values } = parseCommandArgs("audit", argv, {
    kubeconfig: { type: "string" },
    context: { type: "string" },
    namespace: { type: "string", short: "n" },
    output: { type: "string", short: "o" },
    config: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.stdout.write(`${AUDIT_HELP}\n`);
    return 0;
  }
  const output = oneOf("output", values.output, ["text", "json", "sarif"] as const, "text");
  const config: Config = values.config
    ? loadConfigFile(values.config, new Set(RULES.keys()))
    : DEFAULT_CONFIG;
  const policy = compilePolicy(config);
  const kc = (deps.kubeConfig ?? loadKubeConfig)({ kubeconfig: values.kubeconfig, context: values.context });
  const { judged, requests } = planAudit(policy, values.namespace);

  const progress = io.stderr.isTTY === true;
  const { snapshot, problems } = await listCluster(kc, requests, {
    namespace: values.namespace,
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
  const report = auditReport({
    snapshot,
    problems,
    judged,
    policy,
    now: (deps.now ?? (() => new Date()))(),
    namespace: values.namespace,
  });
  for (const chunk of render(report, output, colorWanted(io.stdout, io.env), auditDescriptors())) {
    io.stdout.write(chunk);
  }
  return exitCodeOf(report);
}

/** The command as `main.ts` runs it, on the process's own streams. */
export function audit(argv: string[]): Promise<number> {
  return runAudit(argv, processIO());
}
