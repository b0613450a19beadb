import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { generateCa, issueServingCert } from "../../src/tls/certs.js";

/** One request as the fake apiserver saw it. */
export interface RecordedRequest {
  method: string;
  path: string;
  contentType: string | undefined;
  authorization: string | undefined;
  body: unknown;
}

type Json = Record<string, unknown>;

interface PatchOp {
  op: string;
  path: string;
  value?: unknown;
}

function pointer(path: string): string[] {
  return path
    .split("/")
    .slice(1)
    .map((part) => part.replaceAll("~1", "/").replaceAll("~0", "~"));
}

/** RFC 6902 add, replace, remove and test: enough for what tollgate sends. Throws on a failed test. */
export function applyJsonPatch(document: Json, ops: readonly PatchOp[]): Json {
  const result = structuredClone(document);
  for (const op of ops) {
    const parts = pointer(op.path);
    const last = parts.pop()!;
    let parent: unknown = result;
    for (const part of parts) {
      parent = (parent as Json)[part];
      if (parent === undefined || parent === null) throw new Error(`path ${op.path} does not exist`);
    }
    const container = parent as Json;
    switch (op.op) {
      case "test":
        if (JSON.stringify(container[last]) !== JSON.stringify(op.value)) {
          throw new Error(`test failed at ${op.path}`);
        }
        break;
      case "add":
      case "replace":
        container[last] = op.value;
        break;
      case "remove":
        delete container[last];
        break;
      default:
        throw new Error(`unsupported op ${op.op}`);
    }
  }
  return result;
}

const SECRET = /^\/api\/v1\/namespaces\/([^/]+)\/secrets(?:\/([^/?]+))?$/;
const VWC = /^\/apis\/admissionregistration\.k8s\.io\/v1\/validatingwebhookconfigurations(?:\/([^/?]+))?$/;

/**
 * A tiny stand-in for kube-apiserver over HTTPS: Secrets and ValidatingWebhookConfigurations,
 * with resourceVersions, 404/409/422 like the real one, and a record of every request.
 */
export class FakeKubeApi {
  readonly requests: RecordedRequest[] = [];
  readonly objects = new Map<string, Json>();
  /**
   * Runs before a write is applied: tests use it to let "another replica" write first, or return
   * an HTTP status to refuse the write with (403 for missing RBAC).
   */
  beforeWrite: ((method: string, key: string) => number | undefined) | undefined;
  private version = 100;
  private server: Server | undefined;
  private caPem = "";

  async start(): Promise<void> {
    const ca = await generateCa({ commonName: "fake-apiserver-ca" });
    const serving = await issueServingCert(ca, { dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] });
    this.caPem = ca.cert;
    this.server = createServer({ key: serving.key, cert: serving.cert }, (req, res) => {
      let raw = "";
      req.setEncoding("utf8");
      req.on("data", (chunk: string) => {
        raw += chunk;
      });
      req.on("end", () => {
        const body: unknown = raw ? JSON.parse(raw) : undefined;
        const path = (req.url ?? "").split("?")[0]!;
        this.requests.push({
          method: req.method ?? "",
          path,
          contentType: req.headers["content-type"],
          authorization: req.headers.authorization,
          body,
        });
        const [status, answer] = this.handle(req.method ?? "", path, body, req.headers["content-type"]);
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(answer));
      });
    });
    await new Promise<void>((done) => this.server!.listen(0, "127.0.0.1", done));
  }

  async stop(): Promise<void> {
    await new Promise<void>((done) => this.server?.close(() => done()));
  }

  get url(): string {
    return `https://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  /** A kubeconfig file for the fake, for commands that take --kubeconfig. */
  writeKubeconfig(dir: string): string {
    const path = join(dir, "kubeconfig");
    writeFileSync(path, this.kubeConfig().exportConfig());
    return path;
  }

  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: "fake", server: this.url, caData: Buffer.from(this.caPem).toString("base64") }],
      users: [{ name: "tollgate", token: "fake-token" }],
      contexts: [{ name: "fake", cluster: "fake", user: "tollgate" }],
      currentContext: "fake",
    });
    return kc;
  }

  /** Store an object as if another client wrote it; returns its new resourceVersion. */
  put(key: string, object: Json): string {
    const resourceVersion = String(++this.version);
    const metadata = { ...((object.metadata as Json | undefined) ?? {}), resourceVersion };
    this.objects.set(key, { ...object, metadata });
    return resourceVersion;
  }

  private status(code: number, reason: string, message: string): [number, Json] {
    return [code, { kind: "Status", apiVersion: "v1", status: "Failure", reason, message, code }];
  }

  private handle(
    method: string,
    path: string,
    body: unknown,
    contentType: string | undefined,
  ): [number, Json] {
    const secret = SECRET.exec(path);
    const vwc = VWC.exec(path);
    let key: string;
    let collection: boolean;
    if (secret) {
      collection = secret[2] === undefined;
      key = `secrets/${secret[1]}/${secret[2] ?? ((body as Json | undefined)?.metadata as Json | undefined)?.name}`;
    } else if (vwc) {
      collection = vwc[1] === undefined;
      key = `validatingwebhookconfigurations/${vwc[1] ?? ((body as Json | undefined)?.metadata as Json | undefined)?.name}`;
    } else {
      return this.status(404, "NotFound", `no route ${path}`);
    }
    const existing = this.objects.get(key);
    if (method === "GET" && !collection) {
      return existing ? [200, existing] : this.status(404, "NotFound", `${key} not found`);
    }
    if (method === "POST" && collection) {
      const refused = this.beforeWrite?.(method, key);
      if (refused) return this.status(refused, "Forbidden", `${method} ${key} is forbidden`);
      if (this.objects.has(key)) return this.status(409, "AlreadyExists", `${key} already exists`);
      this.put(key, body as Json);
      return [201, this.objects.get(key)!];
    }
    if (method === "PUT" && !collection) {
      const refused = this.beforeWrite?.(method, key);
      if (refused) return this.status(refused, "Forbidden", `${method} ${key} is forbidden`);
      const current = this.objects.get(key);
      if (!current) return this.status(404, "NotFound", `${key} not found`);
      const sent = ((body as Json).metadata as Json).resourceVersion;
      if (sent !== (current.metadata as Json).resourceVersion) {
        return this.status(409, "Conflict", `the object has been modified; resourceVersion ${String(sent)}`);
      }
      this.put(key, body as Json);
      return [200, this.objects.get(key)!];
    }
    if (method === "PATCH" && !collection) {
      if (contentType !== "application/json-patch+json") {
        return this.status(415, "UnsupportedMediaType", `unsupported patch type ${String(contentType)}`);
      }
      const refused = this.beforeWrite?.(method, key);
      if (refused) return this.status(refused, "Forbidden", `${method} ${key} is forbidden`);
      const current = this.objects.get(key);
      if (!current) return this.status(404, "NotFound", `${key} not found`);
      try {
        this.put(key, applyJsonPatch(current, body as PatchOp[]));
      } catch (error) {
        return this.status(422, "Invalid", (error as Error).message);
      }
      return [200, this.objects.get(key)!];
    }
    return this.status(405, "MethodNotAllowed", `${method} ${path}`);
  }
}
