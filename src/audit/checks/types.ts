import type { Config } from "../../config/schema.js";
import type { KindName } from "../../objects/kinds.js";
import type { ReportFinding } from "../../report/model.js";
import type { Severity, Source } from "../../rules/types.js";
import type { ClusterSnapshot } from "../snapshot.js";

/** What a check reads besides the snapshot: the clock, the config, the newest Kubernetes minor known. */
export interface CheckContext {
  now: Date;
  config: Config;
  newestMinor: number;
  /**
   * Adds a note to the report, for what the check can neither pass nor fail from the API (a managed
   * control plane shows no kube-apiserver Pod) or could not read (a release it cannot decode).
   */
  note(text: string): void;
}

/**
 * One item of the audit's cluster checklist: the metadata of a rule (id, title, category, default
 * severity, where it runs, description, remediation) and a pure function over a cluster snapshot.
 * Where a rule judges one object, a check judges how objects stand together (a namespace and its
 * NetworkPolicies, a binding and the role it names) or what the cluster lacks (backups, monitoring).
 */
export interface Check {
  id: string;
  title: string;
  category: "cluster";
  defaultSeverity: Severity;
  /** Where it runs: only `audit` lists a cluster. */
  sources: readonly Source[];
  description: string;
  /** How to fix. */
  remediation: string;
  /** The kinds the check reads; when one could not be listed the check is skipped with a note. */
  needs: readonly KindName[];
  /** Kinds served by CRDs whose absence is itself the answer (no Velero means no Velero schedule). */
  optional?: readonly KindName[];
  /** Reads the server version (`snapshot.version`); without one it finds nothing. */
  readsVersion?: boolean;
  /** A rule that reports the same thing on the same object; its finding wins over the check's. */
  coveredBy?: string;
  /** Whether the check makes sense when the audit is limited to one namespace. */
  namespaceScoped: boolean;
  run(snapshot: ClusterSnapshot, ctx: CheckContext): ReportFinding[];
}
