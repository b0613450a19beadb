import { X509Certificate } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generate } from "selfsigned";

const DAY = 24 * 60 * 60 * 1000;

export interface KeyPair {
  /** PEM certificate. */
  cert: string;
  /** PEM PKCS#8 private key. */
  key: string;
}

export interface ServingCertificates {
  ca: KeyPair;
  serving: KeyPair;
}

export interface CaOptions {
  commonName?: string;
  now?: Date;
  validDays?: number;
}

/** A CA for tollgate's serving certificates: ECDSA P-256, SHA-256, 10 years unless told. */
export async function generateCa(options: CaOptions = {}): Promise<KeyPair> {
  const now = options.now ?? new Date();
  const result = await generate([{ name: "commonName", value: options.commonName ?? "tollgate-ca" }], {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    notBeforeDate: new Date(now.getTime() - 60_000),
    notAfterDate: new Date(now.getTime() + (options.validDays ?? 3650) * DAY),
    extensions: [
      { name: "basicConstraints", cA: true, critical: true },
      { name: "keyUsage", keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  return { cert: result.cert, key: result.private };
}

export interface ServingOptions {
  /** DNS names; the first is the subject's common name. */
  dnsNames: readonly string[];
  ipAddresses?: readonly string[];
  now?: Date;
  validDays?: number;
}

/** A serving certificate signed by `ca`: ECDSA P-256, serverAuth, one year unless told. */
export async function issueServingCert(ca: KeyPair, options: ServingOptions): Promise<KeyPair> {
  const now = options.now ?? new Date();
  const altNames = [
    ...options.dnsNames.map((value) => ({ type: 2 as const, value })),
    ...(options.ipAddresses ?? []).map((ip) => ({ type: 7 as const, ip })),
  ];
  const result = await generate([{ name: "commonName", value: options.dnsNames[0] ?? "tollgate" }], {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    notBeforeDate: new Date(now.getTime() - 60_000),
    notAfterDate: new Date(now.getTime() + (options.validDays ?? 365) * DAY),
    ca: { key: ca.key, cert: ca.cert },
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, critical: true },
      { name: "extKeyUsage", serverAuth: true },
      { name: "subjectAltName", altNames },
    ],
  });
  return { cert: result.cert, key: result.private };
}

/** Does `leaf` chain to `ca` and is it valid from now until `now + marginDays`? */
export function certificateUsable(leaf: string, ca: string, now = new Date(), marginDays = 0): boolean {
  try {
    const leafCert = new X509Certificate(leaf);
    const caCert = new X509Certificate(ca);
    const from = Date.parse(leafCert.validFrom);
    const to = Date.parse(leafCert.validTo);
    return (
      leafCert.checkIssued(caCert) &&
      leafCert.verify(caCert.publicKey) &&
      from <= now.getTime() &&
      to - marginDays * DAY > now.getTime()
    );
  } catch {
    return false;
  }
}

/** `mode` on write applies only to a new file: a key file left readable by others is tightened too. */
function writePrivateKey(path: string, pem: string): void {
  writeFileSync(path, pem, { mode: 0o600 });
  chmodSync(path, 0o600);
}

export const CERT_FILES = { caCert: "ca.crt", caKey: "ca.key", cert: "tls.crt", key: "tls.key" } as const;

function read(dir: string, name: string): string | undefined {
  const path = join(dir, name);
  return existsSync(path) ? readFileSync(path, "utf8") : undefined;
}

export interface LocalCertificates extends ServingCertificates {
  dir: string;
  /** Which files were written now, for the start-up message. */
  created: string[];
}

/**
 * Use the CA and serving certificate in `dir`, creating them when absent, and renewing the
 * serving certificate when it no longer chains to the CA or expires within 30 days.
 * Keys are written 0600. For local use: in a cluster the bootstrapper stores them in a Secret.
 */
export async function ensureLocalCertificates(
  dir: string,
  hosts: { dnsNames: readonly string[]; ipAddresses: readonly string[] } = {
    dnsNames: ["localhost"],
    ipAddresses: ["127.0.0.1", "::1"],
  },
): Promise<LocalCertificates> {
  mkdirSync(dir, { recursive: true });
  const created: string[] = [];
  let caCert = read(dir, CERT_FILES.caCert);
  let caKey = read(dir, CERT_FILES.caKey);
  if (!caCert || !caKey) {
    const ca = await generateCa();
    caCert = ca.cert;
    caKey = ca.key;
    writePrivateKey(join(dir, CERT_FILES.caKey), caKey);
    writeFileSync(join(dir, CERT_FILES.caCert), caCert, { mode: 0o644 });
    created.push(CERT_FILES.caCert, CERT_FILES.caKey);
  }
  let cert = read(dir, CERT_FILES.cert);
  let key = read(dir, CERT_FILES.key);
  if (!cert || !key || !certificateUsable(cert, caCert, new Date(), 30)) {
    const serving = await issueServingCert({ cert: caCert, key: caKey }, hosts);
    cert = serving.cert;
    key = serving.key;
    writePrivateKey(join(dir, CERT_FILES.key), key);
    writeFileSync(join(dir, CERT_FILES.cert), cert, { mode: 0o644 });
    created.push(CERT_FILES.cert, CERT_FILES.key);
  }
  return { dir, created, ca: { cert: caCert, key: caKey }, serving: { cert, key } };
}
