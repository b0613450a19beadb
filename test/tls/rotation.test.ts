import { X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import { generateCa, issueServingCert } from "../../src/tls/certs.js";
import { servingReadiness } from "../../src/tls/manager.js";
import {
  bundleCertificates,
  type CertState,
  chainsToBundle,
  DEFAULT_ROTATION,
  planRotation,
  publishedBundle,
  type RotationPolicy,
  rotate,
  secretDataFromState,
  serviceHosts,
  stateFromSecretData,
} from "../../src/tls/rotation.js";

const DAY = 24 * 60 * 60 * 1000;
const T0 = new Date("2030-01-01T00:00:00Z");
const at = (days: number) => new Date(T0.getTime() + days * DAY);
const POLICY: RotationPolicy = { ...DEFAULT_ROTATION, hosts: serviceHosts("tollgate", "tollgate") };

function subjects(bundle: string): string[] {
  return bundleCertificates(bundle).map((cert) => cert.fingerprint256);
}

function signedBy(leaf: string, ca: string): boolean {
  return new X509Certificate(leaf).verify(new X509Certificate(ca).publicKey);
}

describe("rotation over five years of a fake clock", () => {
  it("renews the leaf at a third of its life, rotates the CA in three phases, and never breaks the chain", async () => {
    let state: CertState | undefined;
    let published: string | undefined;
    const log: string[] = [];
    const ticks = [
      ...Array.from({ length: 41 }, (_, i) => i * 30),
      ...Array.from({ length: 31 }, (_, i) => 1200 + i),
    ];
    const caAtStart: string[] = [];
    for (const day of [...new Set(ticks)].sort((a, b) => a - b)) {
      const now = at(day);
      const result = await rotate(state, { now, published, policy: POLICY });
      state = result.state;
      for (const step of result.steps) log.push(`${day} ${step.action}`);
      // The apiserver still has the old bundle when the new leaf is first served: it must already chain.
      if (published !== undefined) expect(chainsToBundle(state.leaf.cert, published, now)).toBe(true);
      published = publishedBundle(state);
      expect(chainsToBundle(state.leaf.cert, published, now)).toBe(true);
      expect(servingReadiness(state.leaf.cert, published, now)).toEqual({ ready: true });
      if (day === 0) caAtStart.push(state.ca.cert);
      if (day === 1217) {
        expect(subjects(published)).toEqual(subjects(state.ca.cert + state.nextCa!.cert));
        expect(signedBy(state.leaf.cert, caAtStart[0]!)).toBe(true);
      }
      if (day === 1218) {
        expect(subjects(published)).toEqual(subjects(state.ca.cert + caAtStart[0]!));
        expect(signedBy(state.leaf.cert, caAtStart[0]!)).toBe(false);
        expect(signedBy(state.leaf.cert, state.ca.cert)).toBe(true);
      }
      if (day === 1219) expect(subjects(published)).toEqual(subjects(state.ca.cert));
    }
    expect(log).toEqual([
      "0 create",
      ...[
        60, 120, 180, 240, 300, 360, 420, 480, 540, 600, 660, 720, 780, 840, 900, 960, 1020, 1080, 1140, 1200,
      ].map((day) => `${day} renew-leaf`),
      "1217 start-ca-rotation",
      "1218 switch-to-next-ca",
      "1219 drop-previous-ca",
    ]);
  });

  it("waits to switch to the next CA until the apiserver's bundle holds it", async () => {
    const created = await rotate(undefined, { now: T0, published: undefined, policy: POLICY });
    const { state, steps } = await rotate(created.state, {
      now: T0,
      published: publishedBundle(created.state),
      policy: POLICY,
      force: "ca",
    });
    expect(steps.map((s) => s.action)).toEqual(["start-ca-rotation"]);
    const step = planRotation(state, { now: at(5), published: state.ca.cert, policy: POLICY });
    expect(step).toEqual({ action: "none", reason: "the next CA is not in the published caBundle yet" });
    expect(planRotation(state, { now: at(5), published: publishedBundle(state), policy: POLICY })).toEqual({
      action: "switch-to-next-ca",
      reason: "the next CA has been published for a whole phase",
    });
  });
});

describe("planRotation", () => {
  it("creates when nothing is stored and does nothing while the certificates are fresh", async () => {
    expect(planRotation(undefined, { now: T0, published: undefined, policy: POLICY })).toEqual({
      action: "create",
      reason: "no certificates are stored yet",
    });
    const { state, steps } = await rotate(undefined, { now: T0, published: undefined, policy: POLICY });
    expect(steps.map((s) => s.action)).toEqual(["create"]);
    expect(planRotation(state, { now: at(59), published: publishedBundle(state), policy: POLICY })).toEqual({
      action: "none",
      reason: "the certificates are valid",
    });
  });

  it("renews a leaf that does not name every host, or when asked", async () => {
    const { state } = await rotate(undefined, { now: T0, published: undefined, policy: POLICY });
    const moved = { ...POLICY, hosts: serviceHosts("tollgate", "policy") };
    expect(planRotation(state, { now: T0, published: undefined, policy: moved }).reason).toBe(
      "the serving certificate does not name every host",
    );
    expect(planRotation(state, { now: T0, published: undefined, policy: POLICY, force: "leaf" })).toEqual({
      action: "renew-leaf",
      reason: "a leaf renewal was asked for",
    });
  });

  it("renews a leaf signed by another CA and starts afresh when the CA key does not match", async () => {
    const { state } = await rotate(undefined, { now: T0, published: undefined, policy: POLICY });
    const stranger = await generateCa({ now: T0 });
    const foreignLeaf = await issueServingCert(stranger, { dnsNames: POLICY.hosts.dnsNames, now: T0 });
    expect(
      planRotation({ ...state, leaf: foreignLeaf }, { now: T0, published: undefined, policy: POLICY }),
    ).toEqual({
      action: "renew-leaf",
      reason: "the serving certificate is not valid for the CA or its key",
    });
    expect(
      planRotation(
        { ...state, ca: { cert: state.ca.cert, key: stranger.key } },
        { now: T0, published: undefined, policy: POLICY },
      ),
    ).toEqual({ action: "create", reason: "the stored CA is expired or does not match its key" });
  });

  it("never issues a leaf that outlives its CA", async () => {
    const short = { ...POLICY, caValidityDays: 30 };
    const { state } = await rotate(undefined, { now: T0, published: undefined, policy: short });
    expect(new X509Certificate(state.leaf.cert).validTo).toBe(new X509Certificate(state.ca.cert).validTo);
  });
});

describe("Secret data", () => {
  it("round-trips every field and reads incomplete data as nothing stored", async () => {
    const created = await rotate(undefined, { now: T0, published: undefined, policy: POLICY });
    const { state } = await rotate(created.state, {
      now: T0,
      published: undefined,
      policy: POLICY,
      force: "ca",
    });
    const data = secretDataFromState(state);
    expect(Object.keys(data).sort()).toEqual([
      "ca-rotation-phase-since",
      "ca.crt",
      "ca.key",
      "next-ca.crt",
      "next-ca.key",
      "tls.crt",
      "tls.key",
    ]);
    expect(stateFromSecretData(data)).toEqual({ ...state, previousCa: undefined });
    expect(stateFromSecretData({ "ca.crt": state.ca.cert })).toBeUndefined();
    expect(stateFromSecretData({})).toBeUndefined();
  });
});

describe("servingReadiness", () => {
  it("fails within 7 days of expiry and when the leaf does not chain to the bundle", async () => {
    const { state } = await rotate(undefined, { now: T0, published: undefined, policy: POLICY });
    const expiry = new X509Certificate(state.leaf.cert).validTo;
    expect(servingReadiness(state.leaf.cert, state.ca.cert, at(83))).toEqual({ ready: true });
    expect(servingReadiness(state.leaf.cert, state.ca.cert, at(84))).toEqual({
      ready: false,
      reason: `the serving certificate expires at ${new Date(expiry).toISOString()}, within 7 days`,
    });
    const other = await generateCa({ now: T0 });
    expect(servingReadiness(state.leaf.cert, other.cert, T0)).toEqual({
      ready: false,
      reason: "the serving certificate does not chain to the published caBundle",
    });
    expect(servingReadiness(undefined, undefined, T0)).toEqual({
      ready: false,
      reason: "no serving certificate loaded yet",
    });
  });
});
