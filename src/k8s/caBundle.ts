import {
  type AdmissionregistrationV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1RuleWithOperations,
  type V1ValidatingWebhookConfiguration,
} from "@kubernetes/client-node";
import type { Config } from "../config/schema.js";
import type { BundlePublisher, PublishResult } from "../tls/manager.js";
import { describeApiError, statusOf } from "./client.js";

type FailurePolicy = Config["webhook"]["failurePolicy"];

/** The failurePolicy tollgate registers each entry with, by the entry's name. */
export type EntryPolicies = (entry: string) => FailurePolicy;

/**
 * The resource rules tollgate registers each entry with, by the entry's name; an entry not in the
 * map keeps its rules. `serve` gives them so that the resources its loaded policies select reach
 * it, also after a reload that adds a policy.
 */
export type EntryRules = ReadonlyMap<string, readonly V1RuleWithOperations[]>;

/** Rules as the apiserver stores them (`scope` defaults to `*`), as one comparable string. */
function rulesKey(rules: readonly V1RuleWithOperations[] | undefined): string {
  return JSON.stringify((rules ?? []).map((rule) => ({ ...rule, scope: rule.scope ?? "*" })));
}

/** The rules `rules` wants for the entry, when they differ from what it has. */
function changedRules(
  webhook: { name: string; rules?: V1RuleWithOperations[] },
  rules: EntryRules | undefined,
): readonly V1RuleWithOperations[] | undefined {
  const wanted = rules?.get(webhook.name);
  return wanted !== undefined && rulesKey(wanted) !== rulesKey(webhook.rules) ? wanted : undefined;
}

interface JsonPatchOp {
  op: "add" | "test";
  path: string;
  value: unknown;
}

/**
 * The JSON patch that registers tollgate on every entry: the `caBundle`, and each entry's
 * `failurePolicy` when `policies` is given, and its `rules` where `rules` wants others, guarded by
 * the resourceVersion read. One patch, so the apiserver never holds a fail-closed entry without the
 * CA that lets it reach tollgate.
 */
export function caBundlePatch(
  current: V1ValidatingWebhookConfiguration,
  bundle: string,
  policies?: EntryPolicies,
  rules?: EntryRules,
): JsonPatchOp[] {
  const encoded = Buffer.from(bundle).toString("base64");
  return [
    { op: "test", path: "/metadata/resourceVersion", value: current.metadata?.resourceVersion ?? "" },
    ...(current.webhooks ?? []).flatMap((webhook, index): JsonPatchOp[] => {
      const ops: JsonPatchOp[] = [
        { op: "add", path: `/webhooks/${index}/clientConfig/caBundle`, value: encoded },
      ];
      if (policies !== undefined) {
        ops.push({ op: "add", path: `/webhooks/${index}/failurePolicy`, value: policies(webhook.name) });
      }
      const wanted = changedRules(webhook, rules);
      if (wanted !== undefined) ops.push({ op: "add", path: `/webhooks/${index}/rules`, value: wanted });
      return ops;
    }),
  ];
}

/** The bundle the entries of `configuration` agree on; undefined when absent or when they differ. */
export function bundleOf(configuration: V1ValidatingWebhookConfiguration): string | undefined {
  const bundles = new Set(
    (configuration.webhooks ?? []).map((webhook) => webhook.clientConfig.caBundle ?? ""),
  );
  if (bundles.size !== 1) return undefined;
  const [encoded] = [...bundles];
  return encoded ? Buffer.from(encoded, "base64").toString("utf8") : undefined;
}

/**
 * Whether every entry already carries `bundle`, its failurePolicy from `policies` (any policy
 * when undefined) and its rules from `rules` (any when undefined). The bundle alone is not enough:
 * a re-applied manifest keeps the caBundle but puts `Ignore` back.
 */
export function isRegistered(
  configuration: V1ValidatingWebhookConfiguration,
  bundle: string,
  policies?: EntryPolicies,
  rules?: EntryRules,
): boolean {
  if (bundleOf(configuration) !== bundle) return false;
  return (configuration.webhooks ?? []).every(
    (webhook) =>
      (policies === undefined || webhook.failurePolicy === policies(webhook.name)) &&
      changedRules(webhook, rules) === undefined,
  );
}

const ATTEMPTS = 3;
/**
 * The field manager tollgate writes as: a server-side apply of the manifests that meets tollgate's
 * failurePolicy then reports a conflict "with tollgate" (client-node would otherwise send none, and
 * the apiserver names the HTTP library).
 */
export const FIELD_MANAGER = "tollgate";

/**
 * tollgate's registration in its ValidatingWebhookConfiguration: the `caBundle`, and the
 * `failurePolicy` of each entry. Publishing patches them (JSON patch, so nothing else in the
 * object is touched), or creates the configuration from `build` when it does not exist and
 * creating is allowed.
 *
 * `policies` undefined (`tollgate certs`, which runs where tollgate may not be serving) leaves the
 * entries' policy as it is: only a running, ready tollgate makes the webhook fail closed. `rules`
 * (`serve`) also keeps each entry's resource rules those of the loaded rules and policies.
 */
export class WebhookCaBundle implements BundlePublisher {
  constructor(
    private readonly api: AdmissionregistrationV1Api,
    readonly name: string,
    private readonly build: (caBundle: string) => V1ValidatingWebhookConfiguration,
    private readonly policies?: EntryPolicies,
    private readonly rules?: () => EntryRules,
  ) {}

  private async fetch(): Promise<V1ValidatingWebhookConfiguration | undefined> {
    try {
      return await this.api.readValidatingWebhookConfiguration({ name: this.name });
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw describeApiError(error, `cannot read ValidatingWebhookConfiguration ${this.name}`);
    }
  }

  async read(): Promise<string | undefined> {
    const configuration = await this.fetch();
    return configuration ? bundleOf(configuration) : undefined;
  }

  async publish(bundle: string, options: { create?: boolean } = {}): Promise<PublishResult> {
    const create = options.create ?? true;
    const rules = this.rules?.();
    for (let attempt = 1; ; attempt++) {
      const current = await this.fetch();
      if (!current) {
        if (!create) return "absent";
        try {
          await this.api.createValidatingWebhookConfiguration({
            body: this.build(bundle),
            fieldManager: FIELD_MANAGER,
          });
          return "created";
        } catch (error) {
          if (statusOf(error) === 409 && attempt < ATTEMPTS) continue;
          throw describeApiError(error, `cannot create ValidatingWebhookConfiguration ${this.name}`);
        }
      }
      if (isRegistered(current, bundle, this.policies, rules)) return "unchanged";
      try {
        await this.api.patchValidatingWebhookConfiguration(
          {
            name: this.name,
            body: caBundlePatch(current, bundle, this.policies, rules),
            fieldManager: FIELD_MANAGER,
          },
          setHeaderOptions("Content-Type", PatchStrategy.JsonPatch),
        );
        return "patched";
      } catch (error) {
        // 422: the resourceVersion test failed, someone else wrote in between: read again.
        const status = statusOf(error);
        if ((status === 409 || status === 422) && attempt < ATTEMPTS) continue;
        const what = this.policies === undefined ? "caBundle" : "caBundle and failurePolicy";
        throw describeApiError(
          error,
          `cannot patch the ${what} of ValidatingWebhookConfiguration ${this.name}`,
        );
      }
    }
  }
}
