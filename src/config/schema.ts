import type { JSONSchemaType } from "ajv";
import { type KindName, POD_CONTROLLER_KINDS } from "../objects/kinds.js";

export type ModeName = "enforce" | "warn";
export type SeverityName = "deny" | "warn" | "off";

export interface RuleConfig {
  severity?: SeverityName;
  options?: Record<string, unknown>;
}

export interface ConfigExemption {
  /** Namespace the exemption applies to; all namespaces when absent. */
  namespace?: string;
  /** Object name glob (`*` and `?`); all names when absent. */
  name?: string;
  /** Object kind; all kinds when absent. */
  kind?: string;
  /** Container name, for sidecars such as `istio-proxy`; the whole object when absent. */
  container?: string;
  /** Rule ids the exemption covers; `["*"]` for every rule. */
  rules: string[];
  reason: string;
  /** Last day the exemption holds, `YYYY-MM-DD`. */
  until: string;
}

export interface PolicyAdmins {
  users: string[];
  groups: string[];
  /** `namespace/name` of ServiceAccounts. */
  serviceAccounts: string[];
}

export interface WebhookSettings {
  /** Name of the ValidatingWebhookConfiguration. */
  name: string;
  /** Namespace tollgate runs in; excluded from admission. */
  namespace: string;
  service: string;
  port: number;
  failurePolicy: "Fail" | "Ignore";
  timeoutSeconds: number;
}

/**
 * A custom resource that carries a pod template (Argo Rollouts' Rollout, OpenKruise's CloneSet…):
 * its template is judged as a template of the built-in kind it is `like`.
 */
export interface PodTemplateConfig {
  /** The custom resource's API group (`argoproj.io`). */
  group: string;
  kind: string;
  /** Dotted path from the object's root to a PodTemplateSpec (`spec.template`: `metadata` and a pod `spec`). */
  path: string;
  /** The plural resource name, for the webhook's rules; the kind's plural as the apiserver guesses it when absent. */
  resource: string;
  /** The built-in kind whose rules and traits (replicas, runs to completion) the template takes; Deployment when absent. */
  like: KindName;
}

/** A `podTemplates` entry as a user writes it. */
export type PodTemplateInput = Omit<PodTemplateConfig, "resource" | "like"> & {
  resource?: string;
  like?: KindName;
};

/** The most `podTemplates` entries a config may hold, and the bounds of one entry's path. */
export const MAX_POD_TEMPLATES = 50;
export const MAX_TEMPLATE_PATH_LENGTH = 253;
export const MAX_TEMPLATE_PATH_SEGMENTS = 10;

/** The background scanner of `tollgate serve` (continuous audit and policy reports). */
export interface AuditSettings {
  /** On by default when serve runs with cluster access (`--bootstrap`). */
  enabled: boolean;
  /** How often every object is re-judged although nothing changed (expiries, clock): `30s`, `10m`, `1h`. */
  resync: string;
  /** Results listed per report; the summary counts all of them. */
  maxResults: number;
}

export interface Config {
  defaultMode: ModeName;
  rules: Record<string, RuleConfig>;
  exemptions: ConfigExemption[];
  maxExemptionDays: number;
  policyAdmins: PolicyAdmins;
  excludedNamespaces: string[];
  skipOwnedPods: boolean;
  /**
   * Usernames of the controllers that create Pods from checked templates. `skipOwnedPods` skips a
   * controlled Pod only when one of these creates it: anyone can write an `ownerReferences` entry.
   */
  workloadControllers: string[];
  ratchet: boolean;
  allowedRegistries: string[];
  nodePoolKeys: string[];
  /** The audit's bound on the revisions a Helm release keeps (helm-release-hygiene). */
  helmMaxRevisions: number;
  /** The audit's shortest acceptable validity of a serving certificate, in days (tls-secret-short-lived). */
  minCertificateValidityDays: number;
  /** What a rule that throws does to the verdict: `allow` answers with a warning, `deny` denies. */
  onRuleError: "allow" | "deny";
  webhook: WebhookSettings;
  /**
   * ValidatingAdmissionPolicy files and folders (policies, bindings, params) that become rules; as
   * loaded, relative paths are resolved against the config file's folder.
   */
  policies: string[];
  audit: AuditSettings;
  /** Custom resources whose pod templates are judged (`resource` and `like` filled in). */
  podTemplates: PodTemplateConfig[];
}

/** The config as a user writes it: every key optional. */
export type ConfigInput = Partial<Omit<Config, "policyAdmins" | "webhook" | "audit" | "podTemplates">> & {
  podTemplates?: PodTemplateInput[];
  policyAdmins?: Partial<PolicyAdmins>;
  webhook?: Partial<WebhookSettings>;
  audit?: Partial<AuditSettings>;
};

const stringList = { type: "array", items: { type: "string", minLength: 1 } } as const;

export const configSchema: JSONSchemaType<ConfigInput> = {
  type: "object",
  additionalProperties: false,
  properties: {
    defaultMode: { type: "string", enum: ["enforce", "warn"], nullable: true },
    rules: {
      type: "object",
      nullable: true,
      required: [],
      additionalProperties: {
        type: "object",
        additionalProperties: false,
        properties: {
          severity: { type: "string", enum: ["deny", "warn", "off"], nullable: true },
          options: { type: "object", nullable: true },
        },
      },
    },
    exemptions: {
      type: "array",
      nullable: true,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["rules", "reason", "until"],
        properties: {
          namespace: { type: "string", nullable: true, minLength: 1 },
          name: { type: "string", nullable: true, minLength: 1 },
          kind: { type: "string", nullable: true, minLength: 1 },
          container: { type: "string", nullable: true, minLength: 1 },
          rules: { ...stringList, minItems: 1 },
          reason: { type: "string", minLength: 1 },
          until: { type: "string", pattern: "^\\d{4}-\\d{2}-\\d{2}$" },
        },
      },
    },
    maxExemptionDays: { type: "integer", minimum: 1, maximum: 3650, nullable: true },
    policyAdmins: {
      type: "object",
      nullable: true,
      additionalProperties: false,
      properties: {
        users: { ...stringList, nullable: true },
        groups: { ...stringList, nullable: true },
        serviceAccounts: {
          type: "array",
          nullable: true,
          items: {
            type: "string",
            pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-.a-z0-9]*[a-z0-9])?$",
          },
        },
      },
    },
    excludedNamespaces: { ...stringList, nullable: true },
    skipOwnedPods: { type: "boolean", nullable: true },
    workloadControllers: { ...stringList, nullable: true },
    ratchet: { type: "boolean", nullable: true },
    allowedRegistries: { ...stringList, nullable: true },
    nodePoolKeys: { ...stringList, nullable: true },
    helmMaxRevisions: { type: "integer", minimum: 1, maximum: 1000, nullable: true },
    minCertificateValidityDays: { type: "integer", minimum: 1, maximum: 3650, nullable: true },
    onRuleError: { type: "string", enum: ["allow", "deny"], nullable: true },
    policies: { ...stringList, nullable: true },
    webhook: {
      type: "object",
      nullable: true,
      additionalProperties: false,
      properties: {
        name: { type: "string", nullable: true, minLength: 1 },
        namespace: { type: "string", nullable: true, minLength: 1 },
        service: { type: "string", nullable: true, minLength: 1 },
        port: { type: "integer", nullable: true, minimum: 1, maximum: 65535 },
        failurePolicy: { type: "string", enum: ["Fail", "Ignore"], nullable: true },
        timeoutSeconds: { type: "integer", nullable: true, minimum: 1, maximum: 30 },
      },
    },
    podTemplates: {
      type: "array",
      nullable: true,
      maxItems: MAX_POD_TEMPLATES,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["group", "kind", "path"],
        properties: {
          group: { type: "string", minLength: 1, maxLength: 253 },
          kind: { type: "string", minLength: 1, maxLength: 63 },
          path: { type: "string", minLength: 1, maxLength: MAX_TEMPLATE_PATH_LENGTH },
          resource: { type: "string", nullable: true, minLength: 1, maxLength: 63 },
          like: { type: "string", nullable: true, enum: [...POD_CONTROLLER_KINDS].sort() },
        },
      },
    },
    audit: {
      type: "object",
      nullable: true,
      additionalProperties: false,
      properties: {
        enabled: { type: "boolean", nullable: true },
        resync: { type: "string", nullable: true, pattern: "^[1-9][0-9]{0,5}(s|m|h)$" },
        maxResults: { type: "integer", nullable: true, minimum: 1, maximum: 5000 },
      },
    },
  },
};

/** `audit.resync` in milliseconds: `90s`, `10m`, `1h`; at least 30 s (the schema checked the form). */
export function resyncMs(text: string): number {
  const unit = { s: 1_000, m: 60_000, h: 3_600_000 }[text.slice(-1) as "s" | "m" | "h"];
  return Math.max(30_000, Number(text.slice(0, -1)) * unit);
}
