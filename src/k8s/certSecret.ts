import type { CoreV1Api, V1Secret } from "@kubernetes/client-node";
import type { SecretStore, StoredSecret } from "../tls/manager.js";
import { describeApiError, statusOf } from "./client.js";

/** The Secret that holds tollgate's CA and serving certificate, shared by every replica. */
export const CERT_SECRET_NAME = "tollgate-certs";

function decode(secret: V1Secret): StoredSecret {
  const data: Record<string, string> = {};
  for (const [key, value] of Object.entries(secret.data ?? {})) {
    data[key] = Buffer.from(value, "base64").toString("utf8");
  }
  return { data, resourceVersion: secret.metadata?.resourceVersion ?? "" };
}

function encode(data: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(data).map(([key, value]) => [key, Buffer.from(value).toString("base64")]),
  );
}

/**
 * The Secret through client-node. Writes carry the resourceVersion read, so two replicas that
 * rotate at once cannot both win: the loser gets 409 and re-reads.
 */
export class KubeSecretStore implements SecretStore {
  constructor(
    private readonly api: CoreV1Api,
    readonly namespace: string,
    readonly name: string = CERT_SECRET_NAME,
  ) {}

  private get where(): string {
    return `Secret ${this.namespace}/${this.name}`;
  }

  /** The Secret as last read: an update keeps its labels, annotations and type (which is immutable). */
  private lastRead: V1Secret | undefined;

  private body(data: Record<string, string>, resourceVersion?: string): V1Secret {
    const previous = resourceVersion === undefined ? undefined : this.lastRead;
    return {
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name: this.name,
        namespace: this.namespace,
        labels: { ...(previous?.metadata?.labels ?? {}), "app.kubernetes.io/name": "tollgate" },
        ...(previous?.metadata?.annotations ? { annotations: previous.metadata.annotations } : {}),
        ...(resourceVersion === undefined ? {} : { resourceVersion }),
      },
      type: previous?.type ?? "Opaque",
      data: encode(data),
    };
  }

  async read(): Promise<StoredSecret | undefined> {
    try {
      this.lastRead = await this.api.readNamespacedSecret({ name: this.name, namespace: this.namespace });
      return decode(this.lastRead);
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw describeApiError(error, `cannot read ${this.where}`);
    }
  }

  async create(data: Record<string, string>): Promise<StoredSecret | "exists"> {
    try {
      return decode(
        await this.api.createNamespacedSecret({ namespace: this.namespace, body: this.body(data) }),
      );
    } catch (error) {
      if (statusOf(error) === 409) return "exists";
      throw describeApiError(error, `cannot create ${this.where}`);
    }
  }

  async update(data: Record<string, string>, resourceVersion: string): Promise<StoredSecret | "conflict"> {
    try {
      return decode(
        await this.api.replaceNamespacedSecret({
          name: this.name,
          namespace: this.namespace,
          body: this.body(data, resourceVersion),
        }),
      );
    } catch (error) {
      if (statusOf(error) === 409) return "conflict";
      throw describeApiError(error, `cannot update ${this.where}`);
    }
  }
}
