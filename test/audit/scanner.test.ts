import type { KubernetesObject } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import type { ReportContent } from "../../src/audit/policyReport.js";
import { Scanner, type WatchedKind } from "../../src/audit/scanner.js";
import { DEFAULT_CONFIG } from "../../src/config/load.js";
import { compilePolicy } from "../../src/engine/policy.js";
import { createMetrics } from "../../src/metrics.js";
import type { KindName } from "../../src/objects/kinds.js";

/** An informer over an in-memory list: what client-node's ListWatch gives the scanner. */
class MemoryInformer implements WatchedKind {
  private readonly objects = new Map<string, KubernetesObject>();
  private readonly handlers = new Map<string, ((object: never) => void)[]>();
  constructor(initial: KubernetesObject[] = []) {
    for (const object of initial) this.objects.set(this.key(object), object);
  }
  private key(object: KubernetesObject) {
    return `${object.metadata?.namespace}/${object.metadata?.name}`;
  }
  list() {
    return [...this.objects.values()];
  }
  async start() {}
  async stop() {}
  on(event: string, handler: (object: never) => void) {
    this.handlers.set(event, [...(this.handlers.get(event) ?? []), handler]);
  }
  put(object: KubernetesObject) {
    const event = this.objects.has(this.key(object)) ? "update" : "add";
    this.objects.set(this.key(object), object);
    for (const handler of this.handlers.get(event) ?? []) handler(object as never);
  }
  remove(object: KubernetesObject) {
    this.objects.delete(this.key(object));
    for (const handler of this.handlers.get("delete") ?? []) handler(object as never);
  }
}

const namespace = (name: string): KubernetesObject => ({
  apiVersion: "v1",
  kind: "Namespace",
  metadata: { name },
});
const pod = (name: string, ns: string, root: boolean): KubernetesObject =>
  ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: ns },
    spec: {
      automountServiceAccountToken: false,
      securityContext: { runAsNonRoot: !root, seccompProfile: { type: "RuntimeDefault" } },
      containers: [
        {
          name: "web",
          image: "registry.example/web:1.0",
          resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "10m", memory: "16Mi" } },
          securityContext: {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ["ALL"] },
          },
          livenessProbe: { tcpSocket: { port: 80 } },
          readinessProbe: { tcpSocket: { port: 80 } },
        },
      ],
    },
  }) as KubernetesObject;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function setUp(leader: { value: boolean }, failWrites = 0) {
  const informers = new Map<KindName, MemoryInformer>([
    ["Namespace", new MemoryInformer([namespace("shop"), namespace("kube-system")])],
    ["Pod", new MemoryInformer([pod("root", "shop", true), pod("fine", "shop", false)])],
  ]);
  const written: ReportContent[][] = [];
  const metrics = createMetrics();
  const policy = compilePolicy(DEFAULT_CONFIG);
  const scanner = new Scanner({
    watch: (kind) => informers.get(kind) ?? new MemoryInformer(),
    policy: () => policy,
    settings: () => DEFAULT_CONFIG.audit,
    metrics: metrics.audit,
    log: { info: () => undefined, warn: () => undefined },
    isLeader: () => leader.value,
    sink: {
      write: async (contents) => {
        if (failWrites-- > 0) return false;
        written.push([...contents]);
        return true;
      },
    },
    writeRetryMs: 50,
    debounceMs: 20,
    maxWaitMs: 100,
  });
  return { informers, written, metrics, scanner };
}

const failsOf = (content: ReportContent | undefined) =>
  (content?.results ?? [])
    .filter((r) => r.result === "fail")
    .map((r) => `${r.policy} ${r.resources[0]!.name}`);

describe("the background scanner", () => {
  it("judges what is cached, writes only as leader, and follows adds and deletes", async () => {
    const leader = { value: false };
    const { informers, written, metrics, scanner } = setUp(leader);
    await scanner.start();
    // Not the leader: nothing written, but the picture and the gauges are there.
    expect(written).toEqual([]);
    const shop = scanner.contents().find((c) => c.namespace === "shop");
    expect(failsOf(shop)).toEqual(["run-as-root root"]);
    expect(scanner.contents().map((c) => c.namespace)).toEqual([undefined, "shop"]);
    expect(scanner.wouldDeny("shop")?.map((o) => o.name)).toEqual(["root"]);
    const text = await metrics.registry.metrics();
    expect(text).toContain('tollgate_namespace_enforce_ready{namespace="shop"} 0');
    expect(text).toContain('tollgate_audit_findings{namespace="shop",rule="run-as-root",severity="deny"} 1');

    leader.value = true;
    informers.get("Pod")!.put(pod("second", "shop", true));
    await sleep(150);
    expect(written).toHaveLength(1);
    expect(failsOf(written[0]!.find((c) => c.namespace === "shop"))).toEqual([
      "run-as-root root",
      "run-as-root second",
    ]);

    informers.get("Pod")!.remove(pod("root", "shop", true));
    informers.get("Pod")!.remove(pod("second", "shop", true));
    await sleep(150);
    expect(failsOf(written.at(-1)!.find((c) => c.namespace === "shop"))).toEqual([]);
    expect(scanner.wouldDeny("shop")).toEqual([]);
    expect(await metrics.registry.metrics()).toContain(
      'tollgate_namespace_enforce_ready{namespace="shop"} 1',
    );
    await scanner.stop();
  });

  it("a burst of changes is judged once, after it", async () => {
    const leader = { value: true };
    const { informers, written, scanner } = setUp(leader);
    await scanner.start();
    const before = written.length;
    for (let i = 0; i < 50; i++) informers.get("Pod")!.put(pod(`burst-${i}`, "shop", true));
    await sleep(200);
    expect(written.length - before).toBe(1);
    expect(failsOf(written.at(-1)!.find((c) => c.namespace === "shop"))).toHaveLength(51);
    await scanner.stop();
  });

  it("reports that could not be written are written at the next try, though nothing changed", async () => {
    const { written, scanner } = setUp({ value: true }, 2);
    await scanner.start();
    expect(written).toEqual([]);
    await sleep(300);
    expect(written).toHaveLength(1);
    expect(failsOf(written[0]!.find((c) => c.namespace === "shop"))).toEqual(["run-as-root root"]);
    await scanner.stop();
  });
});

describe("the background scanner with podTemplates", () => {
  const rollout = (name: string, root: boolean): KubernetesObject => {
    const template = pod(name, "shop", root) as unknown as { spec: unknown };
    return {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "Rollout",
      metadata: { name, namespace: "shop" },
      spec: { replicas: 1, template: { metadata: { labels: { app: name } }, spec: template.spec } },
    } as KubernetesObject;
  };
  const withRollouts = compilePolicy({
    ...DEFAULT_CONFIG,
    podTemplates: [
      {
        group: "argoproj.io",
        kind: "Rollout",
        path: "spec.template",
        resource: "rollouts",
        like: "Deployment",
      },
    ],
  });
  const without = compilePolicy(DEFAULT_CONFIG);

  it("watches the configured kinds, judges them as the others, and follows a reload that drops or adds one", async () => {
    let current = withRollouts;
    const made: { info: string; informer: MemoryInformer; stopped: boolean }[] = [];
    const scanner = new Scanner({
      watch: (kind) =>
        kind === "Namespace" ? new MemoryInformer([namespace("shop")]) : new MemoryInformer(),
      watchTemplate: (info) => {
        const informer = new MemoryInformer([rollout("canary", true), rollout("stable", false)]);
        const entry = { info: `${info.group}/${info.kind} ${info.resource}`, informer, stopped: false };
        informer.stop = async () => {
          entry.stopped = true;
        };
        made.push(entry);
        return informer;
      },
      policy: () => current,
      settings: () => DEFAULT_CONFIG.audit,
      metrics: createMetrics().audit,
      log: { info: () => undefined, warn: () => undefined },
      isLeader: () => false,
      sink: { write: async () => true },
      debounceMs: 20,
      maxWaitMs: 100,
    });
    await scanner.start();
    expect(made.map((m) => m.info)).toEqual(["argoproj.io/Rollout rollouts"]);
    const shop = () => scanner.contents().find((c) => c.namespace === "shop");
    expect(failsOf(shop())).toEqual(["run-as-root canary"]);
    expect(shop()!.results.find((r) => r.policy === "run-as-root")!.resources[0]).toMatchObject({
      apiVersion: "argoproj.io/v1alpha1",
      kind: "Rollout",
      name: "canary",
      namespace: "shop",
    });
    expect(scanner.wouldDeny("shop")?.map((o) => `${o.kind} ${o.name}`)).toEqual(["Rollout canary"]);

    made[0]!.informer.put(rollout("second", true));
    await sleep(150);
    expect(failsOf(shop())).toEqual(["run-as-root canary", "run-as-root second"]);

    // A reload without podTemplates: the watch stops and its objects leave the report.
    current = without;
    made[0]!.informer.put(rollout("third", true));
    await sleep(150);
    expect(made[0]!.stopped).toBe(true);
    expect(failsOf(shop())).toEqual([]);

    // And back: a new informer, judged at once.
    current = withRollouts;
    made[0]!.informer.put(rollout("fourth", true));
    await sleep(150);
    expect(made).toHaveLength(2);
    expect(failsOf(shop())).toEqual(["run-as-root canary"]);
    await scanner.stop();
  });
});
