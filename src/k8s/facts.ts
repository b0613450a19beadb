import { selectorMatches } from "../objects/selectors.js";
import { isDefaultDeny } from "./selectors.js";
import type {
  Informer,
  KubeConfig,
  ObjectCache,
  V1Namespace,
  V1NetworkPolicy,
  V1PodDisruptionBudget,
} from "@kubernetes/client-node";
import type { KubeObject } from "../objects/object.js";
import type { ClusterFacts } from "../rules/types.js";
import { logError } from "../log.js";

/** An informer and the cache it fills, as @kubernetes/client-node's makeInformer returns them. */
export type CachedInformer<T extends { metadata?: object }> = Informer<T> & ObjectCache<T>;

/** A NetworkPolicy that selects every Pod of its namespace and admits no ingress. */
export function isDefaultDenyIngress(policy: V1NetworkPolicy): boolean {
  return isDefaultDeny(policy, "Ingress");
}

/** ClusterFacts answered from in-memory caches; undefined until the caches have synced. */
export class CachedClusterFacts implements ClusterFacts {
  constructor(
    private readonly networkPolicies: ObjectCache<V1NetworkPolicy>,
    private readonly disruptionBudgets: ObjectCache<V1PodDisruptionBudget>,
    private readonly synced: () => boolean,
    private readonly namespaces?: ObjectCache<V1Namespace>,
  ) {}

  /** The Namespace, for ValidatingAdmissionPolicies (namespace selectors, `namespaceObject`). */
  namespace(name: string): KubeObject | undefined {
    if (!this.synced() || !this.namespaces) return undefined;
    return this.namespaces.get(name) as KubeObject | undefined;
  }

  hasDefaultDenyIngress(namespace: string): boolean | undefined {
    if (!this.synced()) return undefined;
    return this.networkPolicies.list(namespace).some(isDefaultDenyIngress);
  }

  pdbSelects(namespace: string, podLabels: Readonly<Record<string, string>>): boolean | undefined {
    if (!this.synced()) return undefined;
    return this.disruptionBudgets
      .list(namespace)
      .some((pdb) => selectorMatches(pdb.spec?.selector, podLabels));
  }
}

export interface ClusterFactsHandle {
  facts: ClusterFacts;
  /** Resolves when both caches have listed once; rejects when a first list fails. */
  synced: Promise<void>;
  stop(): Promise<void>;
}

/** What the handle needs to report trouble; pino's logger fits. */
export interface FactsLog {
  warn(object: object, message: string): void;
}

const RESTART_DELAY_MS = 5_000;

/**
 * Start the two informers and answer ClusterFacts from their caches. A watch that fails is
 * restarted after a pause; the caches keep their last content meanwhile (the rules that read
 * them only warn). Nothing here is on the admission path: until the caches sync, the rules are
 * silent, and readiness never waits for them.
 */
export function watchClusterFacts(
  networkPolicies: CachedInformer<V1NetworkPolicy>,
  disruptionBudgets: CachedInformer<V1PodDisruptionBudget>,
  log?: FactsLog,
  namespaces?: CachedInformer<V1Namespace>,
): ClusterFactsHandle {
  let ready = false;
  let stopped = false;
  const timers = new Set<NodeJS.Timeout>();
  const informers: [
    string,
    CachedInformer<V1NetworkPolicy> | CachedInformer<V1PodDisruptionBudget> | CachedInformer<V1Namespace>,
  ][] = [
    ["networkpolicies", networkPolicies],
    ["poddisruptionbudgets", disruptionBudgets],
    ...(namespaces ? [["namespaces", namespaces] as [string, CachedInformer<V1Namespace>]] : []),
  ];
  for (const [name, informer] of informers) {
    informer.on("error", (error: unknown) => {
      if (stopped) return;
      log?.warn({ informer: name, err: logError(error) }, "informer failed; restarting");
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (!stopped) informer.start().catch(() => undefined);
      }, RESTART_DELAY_MS);
      timer.unref();
      timers.add(timer);
    });
  }
  const synced = Promise.all(informers.map(([, informer]) => informer.start())).then(() => {
    ready = true;
  });
  synced.catch((error: unknown) => log?.warn({ err: logError(error) }, "informer cache did not sync"));
  return {
    facts: new CachedClusterFacts(networkPolicies, disruptionBudgets, () => ready, namespaces),
    synced,
    async stop() {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      await Promise.all(informers.map(([, informer]) => informer.stop()));
    },
  };
}

/** Informers for NetworkPolicies and PodDisruptionBudgets of all namespaces, and Namespaces, from a kubeconfig. */
export async function startClusterFacts(kubeConfig: KubeConfig, log?: FactsLog): Promise<ClusterFactsHandle> {
  const k8s = await import("@kubernetes/client-node");
  const networking = kubeConfig.makeApiClient(k8s.NetworkingV1Api);
  const policy = kubeConfig.makeApiClient(k8s.PolicyV1Api);
  const networkPolicies = k8s.makeInformer<V1NetworkPolicy>(
    kubeConfig,
    "/apis/networking.k8s.io/v1/networkpolicies",
    () => networking.listNetworkPolicyForAllNamespaces(),
  );
  const disruptionBudgets = k8s.makeInformer<V1PodDisruptionBudget>(
    kubeConfig,
    "/apis/policy/v1/poddisruptionbudgets",
    () => policy.listPodDisruptionBudgetForAllNamespaces(),
  );
  const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
  // Namespaces, for ValidatingAdmissionPolicies' namespace selectors and namespaceObject.
  const namespaces = k8s.makeInformer<V1Namespace>(kubeConfig, "/api/v1/namespaces", () =>
    core.listNamespace(),
  );
  return watchClusterFacts(networkPolicies, disruptionBudgets, log, namespaces);
}
