import { ApiException, type V1Lease } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { startLeaderElection } from "../../src/k8s/leader.js";

/**
 * A Lease store with the apiserver's optimistic concurrency: a write whose resourceVersion is not
 * the stored one gets 409, a read of a missing Lease 404, a create of an existing one 409.
 */
function leaseStore() {
  let stored: V1Lease | undefined;
  let version = 0;
  const copy = (lease: V1Lease): V1Lease => structuredClone(lease);
  const fail = (code: number) => new ApiException(code, "refused", { message: `HTTP ${code}` }, {});
  return {
    get: () => stored,
    api: {
      async readNamespacedLease() {
        if (!stored) throw fail(404);
        return copy(stored);
      },
      async createNamespacedLease({ body }: { body: V1Lease }) {
        if (stored) throw fail(409);
        stored = { ...copy(body), metadata: { ...body.metadata, resourceVersion: String(++version) } };
        return copy(stored);
      },
      async replaceNamespacedLease({ body }: { body: V1Lease }) {
        if (!stored) throw fail(404);
        if (body.metadata?.resourceVersion !== stored.metadata?.resourceVersion) throw fail(409);
        stored = { ...copy(body), metadata: { ...body.metadata, resourceVersion: String(++version) } };
        return copy(stored);
      },
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const timings = { leaseDurationMs: 600, renewDeadlineMs: 400, retryPeriodMs: 100 };

describe("leader election on a Lease", () => {
  it("elects exactly one of three candidates, and another after the leader stops renewing", async () => {
    const store = leaseStore();
    const events: string[] = [];
    const candidates = ["a", "b", "c"].map((identity) =>
      startLeaderElection({
        api: store.api as never,
        namespace: "tollgate",
        name: "tollgate-audit",
        identity,
        ...timings,
        onStartedLeading: () => events.push(`${identity} leads`),
        onStoppedLeading: () => events.push(`${identity} stops`),
      }),
    );
    await sleep(500);
    const leaders = candidates.filter((c) => c.isLeader());
    expect(leaders).toHaveLength(1);
    const holder = store.get()?.spec?.holderIdentity;
    expect(events).toEqual([`${holder} leads`]);
    expect(store.get()?.spec?.leaseTransitions).toBe(0);

    // The leader stops cleanly: it releases the Lease and another candidate takes it at its next round.
    const index = ["a", "b", "c"].indexOf(holder!);
    await candidates[index]!.stop();
    await sleep(400);
    const next = candidates.filter((c) => c.isLeader());
    expect(next).toHaveLength(1);
    expect(store.get()?.spec?.holderIdentity).not.toBe(holder);
    expect(store.get()?.spec?.leaseTransitions).toBe(1);
    for (const candidate of candidates) await candidate.stop();
  });

  it("a candidate does not take a Lease whose holder keeps renewing, and takes it once renewals stop", async () => {
    const store = leaseStore();
    let now = 0;
    const holder = startLeaderElection({
      api: store.api as never,
      namespace: "tollgate",
      name: "l",
      identity: "holder",
      ...timings,
      onStartedLeading: () => undefined,
      onStoppedLeading: () => undefined,
    });
    await sleep(150);
    expect(holder.isLeader()).toBe(true);
    // The other candidate's clock: it counts from when it saw the record change, never the holder's clock.
    const waiting = startLeaderElection({
      api: store.api as never,
      namespace: "tollgate",
      name: "l",
      identity: "waiting",
      ...timings,
      now: () => now,
      onStartedLeading: () => undefined,
      onStoppedLeading: () => undefined,
    });
    for (let i = 0; i < 5; i++) {
      now += 300;
      await sleep(120);
    }
    expect(waiting.isLeader()).toBe(false);
    // The holder dies without releasing: after the lease duration on the waiting clock, it takes over.
    await stopWithoutRelease(holder, store);
    await sleep(150);
    expect(waiting.isLeader()).toBe(false);
    // The Lease says 1 s: leaseDurationSeconds is whole seconds.
    now += 1_100;
    await sleep(250);
    expect(waiting.isLeader()).toBe(true);
    expect(store.get()?.spec?.holderIdentity).toBe("waiting");
    await waiting.stop();
  });
});

/** Stops a candidate's loop as a crash would: the Lease keeps naming it. */
async function stopWithoutRelease(
  candidate: { stop(): Promise<void> },
  store: ReturnType<typeof leaseStore>,
) {
  const held = structuredClone(store.get());
  await candidate.stop();
  // stop() released the Lease; a crash would not have: put the holder's record back.
  const api = store.api;
  const current = await api.readNamespacedLease();
  await api.replaceNamespacedLease({ body: { ...held!, metadata: current.metadata } });
}
