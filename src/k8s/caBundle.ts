import {
  type AdmissionregistrationV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1ValidatingWebhookConfiguration,
} from "@kubernetes/client-node";
import type { BundlePublisher } from "../tls/manager.js";
import { describeApiError, statusOf } from "./client.js";

interface JsonPatchOp {
  op: "add" | "test";
  path: string;
  value: unknown;
}

/** The JSON patch that sets `caBundle` on every entry, guarded by the resourceVersion read. */
export function caBundlePatch(current: V1ValidatingWebhookConfiguration, bundle: string): JsonPatchOp[] {
  const encoded = Buffer.from(bundle).toString("base64");
  return [
    { op: "test", path: "/metadata/resourceVersion", value: current.metadata?.resourceVersion ?? "" },
    ...(current.webhooks ?? []).map((_, index): JsonPatchOp => ({
      op: "add",
      path: `/webhooks/${index}/clientConfig/caBundle`,
      value: encoded,
    })),
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

const ATTEMPTS = 3;

/**
 * The `caBundle` of tollgate's ValidatingWebhookConfiguration. Publishing patches it (JSON patch,
 * so nothing else in the object is touched), or creates the configuration from `build` when it
 * does not exist.
 */
export class WebhookCaBundle implements BundlePublisher {
  constructor(
    private readonly api: AdmissionregistrationV1Api,
    readonly name: string,
    private readonly build: (caBundle: string) => V1ValidatingWebhookConfiguration,
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

  async publish(bundle: string): Promise<void> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const current = await this.fetch();
      if (!current) {
        try {
          await this.api.createValidatingWebhookConfiguration({ body: this.build(bundle) });
          return;
        } catch (error) {
          if (statusOf(error) === 409 && attempt < ATTEMPTS - 1) continue;
          throw describeApiError(error, `cannot create ValidatingWebhookConfiguration ${this.name}`);
        }
      }
      if (bundleOf(current) === bundle) return;
      try {
        await this.api.patchValidatingWebhookConfiguration(
          { name: this.name, body: caBundlePatch(current, bundle) },
          setHeaderOptions("Content-Type", PatchStrategy.JsonPatch),
        );
        return;
      } catch (error) {
        // 422: the resourceVersion test failed, someone else wrote in between: read again.
        const status = statusOf(error);
        if ((status === 409 || status === 422) && attempt < ATTEMPTS - 1) continue;
        throw describeApiError(
          error,
          `cannot patch the caBundle of ValidatingWebhookConfiguration ${this.name}`,
        );
      }
    }
  }
}
