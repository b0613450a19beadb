import { type CoordinationV1Api, type V1Lease, type V1LeaseSpec, V1MicroTime } from "@kubernetes/client-node";
import { statusOf } from "./client.js";
import { logError } from "../log.js";

/**
 * Leader election on a `coordination.k8s.io/v1` Lease, as client-go's leaderelection package does
 * it (no maintained Node library does: the one npm package found is a thin, unmaintained wrapper).
 *
 * - A candidate reads the Lease every `retryPeriodMs`. It takes a Lease that does not exist, that
 *   has no holder, or whose record has not changed for `leaseDurationMs` as measured on the
 *   candidate's own clock since it last saw the record change (client-go's observedTime: a skewed
 *   clock on the holder cannot keep or lose the Lease).
 * - Every write carries the resourceVersion that was read, so two candidates that try at once get
 *   one 409 Conflict and one Lease: never two leaders from the apiserver's point of view.
 * - The leader renews every `retryPeriodMs`; when it has not renewed for `renewDeadlineMs` (less
 *   than the lease duration) it stops leading before anyone else may take over.
 * - `stop()` releases the Lease (empty holder, 1 s duration), so a replica that shuts down cleanly
 *   hands over at the next retry instead of after a whole lease duration.
 */
export interface LeaderElectionOptions {
  api: Pick<CoordinationV1Api, "readNamespacedLease" | "createNamespacedLease" | "replaceNamespacedLease">;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
  log?: { warn(object: object, message: string): void; info(object: object, message: string): void };
  /** The clock, for tests. */
  now?: () => number;
}

export const LEASE_DURATION_MS = 15_000;
export const RENEW_DEADLINE_MS = 10_000;
export const RETRY_PERIOD_MS = 2_000;

export interface LeaderElection {
  isLeader(): boolean;
  /** Stops the loop and, when leading, releases the Lease. */
  stop(): Promise<void>;
}

/**
 * The spec with its times as MicroTime: the apiserver refuses a Lease whose times are not written
 * with six fractional digits, and client-node writes a plain Date with three (one read back too).
 */
function micro(spec: V1LeaseSpec): V1LeaseSpec {
  const out: V1LeaseSpec = { ...spec };
  if (spec.acquireTime !== undefined) out.acquireTime = new V1MicroTime(spec.acquireTime);
  if (spec.renewTime !== undefined) out.renewTime = new V1MicroTime(spec.renewTime);
  return out;
}

function secondsOf(ms: number): number {
  return Math.max(1, Math.round(ms / 1000));
}

/** A value that changes whenever the holder writes the record, to tell a live holder from a dead one. */
function recordOf(lease: V1Lease): string {
  const spec = lease.spec ?? {};
  return JSON.stringify([
    spec.holderIdentity ?? "",
    spec.leaseTransitions ?? 0,
    spec.renewTime === undefined ? "" : String(spec.renewTime),
    lease.metadata?.resourceVersion ?? "",
  ]);
}

export function startLeaderElection(options: LeaderElectionOptions): LeaderElection {
  const leaseDurationMs = options.leaseDurationMs ?? LEASE_DURATION_MS;
  const renewDeadlineMs = options.renewDeadlineMs ?? RENEW_DEADLINE_MS;
  const retryPeriodMs = options.retryPeriodMs ?? RETRY_PERIOD_MS;
  if (!(retryPeriodMs < renewDeadlineMs && renewDeadlineMs < leaseDurationMs)) {
    throw new Error("leader election needs retryPeriod < renewDeadline < leaseDuration");
  }
  const now = options.now ?? Date.now;
  const { api, namespace, name, identity } = options;
  let leading = false;
  let stopped = false;
  let lastRenew = 0;
  let lastFailure: string | undefined;
  let observed: { record: string; at: number } | undefined;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const setLeading = (next: boolean) => {
    if (next === leading) return;
    leading = next;
    options.log?.info(
      { lease: `${namespace}/${name}`, identity },
      next ? "became the leader" : "stopped leading",
    );
    if (next) options.onStartedLeading();
    else options.onStoppedLeading();
  };

  const spec = (transitions: number, acquired: Date) => ({
    holderIdentity: identity,
    leaseDurationSeconds: secondsOf(leaseDurationMs),
    acquireTime: acquired,
    renewTime: new Date(now()),
    leaseTransitions: transitions,
  });

  /** One round: true when this candidate holds the Lease after it. */
  async function tryAcquireOrRenew(): Promise<boolean> {
    let lease: V1Lease;
    try {
      lease = await api.readNamespacedLease({ name, namespace });
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
      const created = new Date(now());
      await api.createNamespacedLease({
        namespace,
        body: {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name, namespace },
          spec: micro(spec(0, created)),
        },
      });
      observed = undefined;
      return true;
    }
    const held = lease.spec ?? {};
    const holder = held.holderIdentity ?? "";
    const record = recordOf(lease);
    if (observed?.record !== record) observed = { record, at: now() };
    const duration = (held.leaseDurationSeconds ?? secondsOf(leaseDurationMs)) * 1000;
    const mine = holder === identity;
    if (!mine && holder !== "" && now() - observed.at < duration) return false;
    const transitions = (held.leaseTransitions ?? 0) + (mine ? 0 : 1);
    const acquired = mine && held.acquireTime !== undefined ? new Date(held.acquireTime) : new Date(now());
    const replaced = await api.replaceNamespacedLease({
      name,
      namespace,
      body: { ...lease, spec: micro({ ...held, ...spec(transitions, acquired) }) },
    });
    observed = { record: recordOf(replaced), at: now() };
    return true;
  }

  async function round(): Promise<void> {
    try {
      const holds = await tryAcquireOrRenew();
      lastFailure = undefined;
      if (holds) lastRenew = now();
      if (stopped) return;
      setLeading(holds);
    } catch (error) {
      // A conflict means someone else wrote first: not the leader this round. Anything else
      // (the apiserver unreachable) keeps a leader leading until its renew deadline passes.
      // Logged when the failure changes, not every round: an unreachable apiserver is one line.
      // (Keyed on the status or the first line: an API error's text carries a fresh audit id.)
      const message = String(error).slice(0, 1_000);
      const key = String(statusOf(error) ?? message.split("\n")[0]);
      if (statusOf(error) !== 409 && key !== lastFailure) {
        lastFailure = key;
        options.log?.warn(
          { lease: `${namespace}/${name}`, err: logError(message) },
          "leader election round failed",
        );
      }
      if (stopped) return;
      if (statusOf(error) === 409 || now() - lastRenew >= renewDeadlineMs) setLeading(false);
    }
  }

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = round().finally(schedule);
    }, retryPeriodMs);
    timer.unref();
  };
  running = round().finally(schedule);

  return {
    isLeader: () => leading,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running.catch(() => undefined);
      if (!leading) return;
      leading = false;
      options.onStoppedLeading();
      try {
        const lease = await api.readNamespacedLease({ name, namespace });
        if (lease.spec?.holderIdentity !== identity) return;
        await api.replaceNamespacedLease({
          name,
          namespace,
          body: { ...lease, spec: micro({ ...lease.spec, holderIdentity: "", leaseDurationSeconds: 1 }) },
        });
      } catch (error) {
        options.log?.warn(
          { lease: `${namespace}/${name}`, err: logError(error) },
          "could not release the Lease",
        );
      }
    },
  };
}
