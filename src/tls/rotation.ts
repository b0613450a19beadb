import { createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import { generateCa, issueServingCert, type KeyPair } from "./certs.js";

const DAY = 24 * 60 * 60 * 1000;

/**
 * Everything tollgate keeps in its Secret. A CA rotation goes through two phases:
 * `nextCa` set (published beside `ca`, not yet signing), then `previousCa` set (the old CA,
 * still published while replicas move to the leaf signed by the new `ca`).
 */
export interface CertState {
  /** The CA that signed `leaf`. */
  ca: KeyPair;
  /** The serving certificate every replica uses. */
  leaf: KeyPair;
  /** A new CA, already in `caBundle`, that will sign the next leaf. */
  nextCa?: KeyPair | undefined;
  /** The CA before `ca`, kept in `caBundle` until every replica serves from the new one. */
  previousCa?: string | undefined;
  /** When the current phase of a CA rotation began. */
  phaseSince?: Date | undefined;
}

export interface Hosts {
  dnsNames: readonly string[];
  ipAddresses: readonly string[];
}

export interface RotationPolicy {
  /** Names the serving certificate must carry. */
  hosts: Hosts;
  caValidityDays: number;
  leafValidityDays: number;
  /** Renew a certificate when less than this fraction of its life is left. */
  renewWhenLeft: number;
  /**
   * How long each CA rotation phase lasts: long enough for every apiserver to see the new
   * `caBundle`, and for every replica to re-read the Secret (it does so each check interval).
   */
  phaseMs: number;
}

export const DEFAULT_ROTATION: Omit<RotationPolicy, "hosts"> = {
  caValidityDays: 5 * 365,
  leafValidityDays: 90,
  renewWhenLeft: 1 / 3,
  phaseMs: DAY,
};

/** The DNS names a Service is reached by from the apiserver. */
export function serviceHosts(service: string, namespace: string): Hosts {
  return {
    dnsNames: [
      `${service}.${namespace}.svc`,
      `${service}.${namespace}.svc.cluster.local`,
      `${service}.${namespace}`,
      service,
    ],
    ipAddresses: [],
  };
}

/** Keys of the Secret's `data`. `tls.crt`/`tls.key`/`ca.crt` follow the kubernetes.io/tls convention. */
export const SECRET_KEYS = {
  caCert: "ca.crt",
  caKey: "ca.key",
  cert: "tls.crt",
  key: "tls.key",
  nextCaCert: "next-ca.crt",
  nextCaKey: "next-ca.key",
  previousCaCert: "previous-ca.crt",
  phaseSince: "ca-rotation-phase-since",
} as const;

/** The state in a Secret's decoded `data`; undefined when incomplete, so a fresh one is made. */
export function stateFromSecretData(data: Readonly<Record<string, string>>): CertState | undefined {
  const ca = { cert: data[SECRET_KEYS.caCert] ?? "", key: data[SECRET_KEYS.caKey] ?? "" };
  const leaf = { cert: data[SECRET_KEYS.cert] ?? "", key: data[SECRET_KEYS.key] ?? "" };
  if (!ca.cert || !ca.key || !leaf.cert || !leaf.key) return undefined;
  const nextCert = data[SECRET_KEYS.nextCaCert];
  const nextKey = data[SECRET_KEYS.nextCaKey];
  const since = data[SECRET_KEYS.phaseSince];
  const phaseSince = since ? new Date(since) : undefined;
  return {
    ca,
    leaf,
    nextCa: nextCert && nextKey ? { cert: nextCert, key: nextKey } : undefined,
    previousCa: data[SECRET_KEYS.previousCaCert] || undefined,
    phaseSince: phaseSince && !Number.isNaN(phaseSince.getTime()) ? phaseSince : undefined,
  };
}

export function secretDataFromState(state: CertState): Record<string, string> {
  const data: Record<string, string> = {
    [SECRET_KEYS.caCert]: state.ca.cert,
    [SECRET_KEYS.caKey]: state.ca.key,
    [SECRET_KEYS.cert]: state.leaf.cert,
    [SECRET_KEYS.key]: state.leaf.key,
  };
  if (state.nextCa) {
    data[SECRET_KEYS.nextCaCert] = state.nextCa.cert;
    data[SECRET_KEYS.nextCaKey] = state.nextCa.key;
  }
  if (state.previousCa) data[SECRET_KEYS.previousCaCert] = state.previousCa;
  if (state.phaseSince) data[SECRET_KEYS.phaseSince] = state.phaseSince.toISOString();
  return data;
}

/** The PEM bundle the apiserver must trust: the signing CA, then the next, then the previous one. */
export function publishedBundle(state: CertState): string {
  return [state.ca.cert, state.nextCa?.cert, state.previousCa]
    .filter((pem): pem is string => pem !== undefined)
    .map((pem) => `${pem.trim()}\n`)
    .join("");
}

/** The certificates of a PEM bundle; unparseable blocks are left out. */
export function bundleCertificates(bundle: string): X509Certificate[] {
  const blocks = bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const certs: X509Certificate[] = [];
  for (const block of blocks) {
    try {
      certs.push(new X509Certificate(block));
    } catch {
      // A damaged block is not a CA anyone can use; the others still count.
    }
  }
  return certs;
}

export function bundleContains(bundle: string | undefined, pem: string): boolean {
  if (bundle === undefined) return false;
  const wanted = new X509Certificate(pem).fingerprint256;
  return bundleCertificates(bundle).some((cert) => cert.fingerprint256 === wanted);
}

/** Is `leaf` signed by one of the CAs in `bundle`, and valid at `now`? */
export function chainsToBundle(leaf: string, bundle: string, now: Date): boolean {
  try {
    const cert = new X509Certificate(leaf);
    if (Date.parse(cert.validFrom) > now.getTime() || Date.parse(cert.validTo) <= now.getTime()) return false;
    return bundleCertificates(bundle).some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey));
  } catch {
    return false;
  }
}

export function expiryOf(pem: string): Date {
  return new Date(new X509Certificate(pem).validTo);
}

/** Less than `fraction` of the certificate's life left at `now` (or already expired)? */
function nearEnd(pem: string, now: Date, fraction: number): boolean {
  const cert = new X509Certificate(pem);
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  return to - now.getTime() <= (to - from) * fraction;
}

function keyMatches(pair: KeyPair): boolean {
  try {
    const fromKey = createPublicKey(createPrivateKey(pair.key)).export({ type: "spki", format: "der" });
    const fromCert = new X509Certificate(pair.cert).publicKey.export({ type: "spki", format: "der" });
    return fromKey.equals(fromCert);
  } catch {
    return false;
  }
}

function coversHosts(pem: string, hosts: Hosts): boolean {
  const cert = new X509Certificate(pem);
  return (
    hosts.dnsNames.every((name) => cert.checkHost(name, { wildcards: false }) !== undefined) &&
    hosts.ipAddresses.every((ip) => cert.checkIP(ip) !== undefined)
  );
}

export type RotationStep =
  | { action: "create"; reason: string }
  | { action: "renew-leaf"; reason: string }
  | { action: "start-ca-rotation"; reason: string }
  | { action: "switch-to-next-ca"; reason: string }
  | { action: "drop-previous-ca"; reason: string }
  | { action: "none"; reason: string };

export interface PlanInput {
  now: Date;
  /** The `caBundle` the apiserver uses now (PEM); undefined when none is published. */
  published: string | undefined;
  policy: RotationPolicy;
  /** `leaf` renews the leaf now; `ca` starts a CA rotation now when none is under way. */
  force?: "leaf" | "ca" | undefined;
}

/** What to do next with the certificates: pure, given the stored state, the live bundle and the time. */
export function planRotation(state: CertState | undefined, input: PlanInput): RotationStep {
  const { now, policy, published } = input;
  if (!state) return { action: "create", reason: "no certificates are stored yet" };
  const caUsable = keyMatches(state.ca) && expiryOf(state.ca.cert).getTime() > now.getTime();
  if (!caUsable) return { action: "create", reason: "the stored CA is expired or does not match its key" };
  if (state.nextCa && !keyMatches(state.nextCa)) {
    return { action: "create", reason: "the stored next CA does not match its key" };
  }
  const phaseEnd = (state.phaseSince?.getTime() ?? 0) + policy.phaseMs;
  if (state.previousCa && now.getTime() >= phaseEnd) {
    return { action: "drop-previous-ca", reason: "every replica has had a phase to load the new leaf" };
  }
  if (state.nextCa && now.getTime() >= phaseEnd) {
    if (bundleContains(published, state.nextCa.cert)) {
      return { action: "switch-to-next-ca", reason: "the next CA has been published for a whole phase" };
    }
  }
  const rotating = state.nextCa !== undefined || state.previousCa !== undefined;
  if (!rotating && (input.force === "ca" || nearEnd(state.ca.cert, now, policy.renewWhenLeft))) {
    return {
      action: "start-ca-rotation",
      reason: input.force === "ca" ? "a CA rotation was asked for" : "the CA has a third of its life left",
    };
  }
  if (!keyMatches(state.leaf) || !chainsToBundle(state.leaf.cert, state.ca.cert, now)) {
    return { action: "renew-leaf", reason: "the serving certificate is not valid for the CA or its key" };
  }
  if (!coversHosts(state.leaf.cert, policy.hosts)) {
    return { action: "renew-leaf", reason: "the serving certificate does not name every host" };
  }
  if (nearEnd(state.leaf.cert, now, policy.renewWhenLeft)) {
    return { action: "renew-leaf", reason: "the serving certificate has a third of its life left" };
  }
  if (input.force === "leaf") return { action: "renew-leaf", reason: "a leaf renewal was asked for" };
  if (state.nextCa) {
    return {
      action: "none",
      reason: bundleContains(published, state.nextCa.cert)
        ? `the next CA signs from ${new Date(phaseEnd).toISOString()}`
        : "the next CA is not in the published caBundle yet",
    };
  }
  if (state.previousCa) {
    return { action: "none", reason: `the previous CA is dropped at ${new Date(phaseEnd).toISOString()}` };
  }
  return { action: "none", reason: "the certificates are valid" };
}

async function issueLeaf(ca: KeyPair, now: Date, policy: RotationPolicy): Promise<KeyPair> {
  // Never outlive the CA: a leaf past its issuer's expiry fails verification anyway.
  const caLeft = (expiryOf(ca.cert).getTime() - now.getTime()) / DAY;
  return issueServingCert(ca, {
    dnsNames: policy.hosts.dnsNames,
    ipAddresses: policy.hosts.ipAddresses,
    now,
    validDays: Math.min(policy.leafValidityDays, caLeft),
  });
}

/** Carry out one planned step: makes keys, no I/O. */
export async function applyStep(
  state: CertState | undefined,
  step: RotationStep,
  now: Date,
  policy: RotationPolicy,
): Promise<CertState | undefined> {
  // A distinct subject per CA, as kube-apiserver names its own (`name@unixtime`), so that the
  // two CAs published during a rotation are told apart in logs and by chain builders.
  const newCa = () =>
    generateCa({
      now,
      validDays: policy.caValidityDays,
      commonName: `tollgate-ca@${Math.floor(now.getTime() / 1000)}`,
    });
  switch (step.action) {
    case "none":
      return state;
    case "create": {
      const ca = await newCa();
      return { ca, leaf: await issueLeaf(ca, now, policy) };
    }
  }
  if (!state) throw new Error(`cannot ${step.action} without stored certificates`);
  switch (step.action) {
    case "renew-leaf":
      return { ...state, leaf: await issueLeaf(state.ca, now, policy) };
    case "start-ca-rotation":
      return { ...state, nextCa: await newCa(), previousCa: undefined, phaseSince: now };
    case "switch-to-next-ca": {
      const next = state.nextCa!;
      return {
        ca: next,
        leaf: await issueLeaf(next, now, policy),
        previousCa: state.ca.cert,
        phaseSince: now,
      };
    }
    case "drop-previous-ca":
      return { ca: state.ca, leaf: state.leaf, nextCa: state.nextCa };
  }
}

export interface RotationResult {
  state: CertState;
  /** The steps carried out, in order; empty when nothing changed. */
  steps: RotationStep[];
  /** Why nothing more is done now. */
  waiting: string;
}

/** Plan and apply steps until none is due (at most a few: each phase waits for time to pass). */
export async function rotate(state: CertState | undefined, input: PlanInput): Promise<RotationResult> {
  const steps: RotationStep[] = [];
  let current = state;
  let force = input.force;
  for (let round = 0; round < 5; round++) {
    const step = planRotation(current, { ...input, force });
    if (step.action === "none") {
      return { state: current!, steps, waiting: step.reason };
    }
    current = await applyStep(current, step, input.now, input.policy);
    steps.push(step);
    force = undefined;
  }
  throw new Error(`certificate rotation did not settle: ${steps.map((s) => s.action).join(", ")}`);
}
