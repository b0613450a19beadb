import type { JSONSchemaType } from "ajv";

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
}

/** The config as a user writes it: every key optional. */
export type ConfigInput = Partial<Omit<Config, "policyAdmins" | "webhook">> & {
  policyAdmins?: Partial<PolicyAdmins>;
  webhook?: Partial<WebhookSettings>;
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
  },
};
