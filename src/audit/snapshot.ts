import type { KubeObject } from "../objects/object.js";
import type { KindName, TemplateKey } from "../objects/kinds.js";

/** Why a kind has no listing: the API refused it, or does not serve it (CRD not installed). */
export type Unavailable = "forbidden" | "not served" | "not listed";

export interface ServerVersion {
  major: string;
  minor: string;
  gitVersion: string;
}

/** What the lister read from the cluster; the checklist and the rules run over it, without I/O. */
export interface ClusterSnapshot {
  objects: Partial<Record<KindName, KubeObject[]>>;
  unavailable: Partial<Record<KindName, Unavailable>>;
  /**
   * The custom resources of the config's `podTemplates` by `<group>/<kind>`, as listed (the rules
   * judge them; the checklist does not read them). A kind that could not be listed is absent.
   */
  templates?: ReadonlyMap<TemplateKey, readonly KubeObject[]>;
  version?: ServerVersion;
  /** The namespace the audit was limited to (`--namespace`), if any. */
  namespace?: string;
}
