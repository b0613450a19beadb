import { createPrivateKey, randomBytes, X509Certificate } from "node:crypto";
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";

/**
 * selfsigned and the X.509 libraries under it hold about 4 MB of heap once loaded; a server given
 * its certificate (or reading them from the Secret another replica wrote) never needs them.
 */
async function generate(...args: Parameters<typeof import("selfsigned").generate>) {
  const { generate: make } = await import("selfsigned");
  return make(...args);
}

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

/** Was `leaf` issued and signed by `ca`? */
export function signedBy(leaf: string, ca: string): boolean {
  try {
    const leafCert = new X509Certificate(leaf);
    const caCert = new X509Certificate(ca);
    return leafCert.checkIssued(caCert) && leafCert.verify(caCert.publicKey);
  } catch {
    return false;
  }
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

/**
 * The certificate folder holds something tollgate will not touch on its own: a serving pair it
 * cannot show it made, half a CA, an empty or unreadable file. The message says what to do.
 */
export class CertificatesRefused extends Error {}

/**
 * Write `contents` to `path` so that a reader (or a crash, or a full disk) sees the old file or the
 * whole new one, never a part: a temporary file beside it, created with `mode`, written, synced,
 * renamed over `path`, and the folder synced. `mode` holds whatever umask or older file was there.
 */
export function writeFileAtomic(path: string, contents: string, mode: number): void {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  const fd = openSync(temp, "wx", mode);
  try {
    try {
      const bytes = Buffer.from(contents);
      let written = 0;
      while (written < bytes.length) written += writeSync(fd, bytes, written);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  try {
    const dirFd = openSync(dirname(path), "r");
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  } catch {
    // Some file systems refuse to sync a folder; the rename itself is already atomic.
  }
}

export const CERT_FILES = { caCert: "ca.crt", caKey: "ca.key", cert: "tls.crt", key: "tls.key" } as const;

/** The file's text, or undefined when absent; an empty or unreadable file is refused, never taken as absent. */
function read(dir: string, name: string): string | undefined {
  const path = join(dir, name);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new CertificatesRefused(`tollgate: cannot read ${path}: ${(error as Error).message}`);
  }
  if (text.trim() === "") {
    throw new CertificatesRefused(
      `tollgate: ${path} is empty (a write cut short, a full disk?); tollgate will not replace it on its own. ` +
        `Restore it, or remove ${dir} to start with a new CA (then trust the new ${CERT_FILES.caCert}).`,
    );
  }
  return text;
}

/** Does `cert` belong with `key`? */
function pairMatches(cert: string, key: string): boolean {
  try {
    return new X509Certificate(cert).checkPrivateKey(createPrivateKey(key));
  } catch {
    return false;
  }
}

export interface LocalCertificates extends ServingCertificates {
  dir: string;
  /** Which files were written now, for the start-up message. */
  created: string[];
  /** Why the serving pair was written, when it was renewed rather than created. */
  renewed?: string;
}

/**
 * Use the CA and serving certificate in `dir`, creating them when absent, and renewing the
 * serving certificate when it is tollgate's own (signed by the CA in `dir`) and expires within
 * 30 days. Anything else found there is refused rather than overwritten: a serving pair with no CA
 * beside it or not signed by it (someone else's certificate), half a CA, an empty file, a key
 * that does not match its certificate. Files are written atomically; keys 0600.
 * For local use: in a cluster the bootstrapper stores them in a Secret.
 */
export async function ensureLocalCertificates(
  dir: string,
  hosts: { dnsNames: readonly string[]; ipAddresses: readonly string[] } = {
    dnsNames: ["localhost"],
    ipAddresses: ["127.0.0.1", "::1"],
  },
  now = new Date(),
): Promise<LocalCertificates> {
  mkdirSync(dir, { recursive: true });
  const created: string[] = [];
  let caCert = read(dir, CERT_FILES.caCert);
  let caKey = read(dir, CERT_FILES.caKey);
  let cert = read(dir, CERT_FILES.cert);
  let key = read(dir, CERT_FILES.key);
  const path = (name: string) => join(dir, name);
  const useOwn = `Pass your own pair with --tls-cert/--tls-key, or move it out of ${dir}.`;

  if ((caCert === undefined) !== (caKey === undefined)) {
    const missing = caCert === undefined ? CERT_FILES.caCert : CERT_FILES.caKey;
    throw new CertificatesRefused(
      `tollgate: ${path(missing)} is missing beside ${path(missing === CERT_FILES.caCert ? CERT_FILES.caKey : CERT_FILES.caCert)}; ` +
        `tollgate will not replace half a CA. Restore it, or remove ${dir} to start with a new CA.`,
    );
  }
  if (caCert !== undefined && caKey !== undefined && !pairMatches(caCert, caKey)) {
    throw new CertificatesRefused(
      `tollgate: ${path(CERT_FILES.caCert)} and ${path(CERT_FILES.caKey)} are not a certificate and its key; ` +
        `restore them, or remove ${dir} to start with a new CA.`,
    );
  }
  if (caCert === undefined && (cert !== undefined || key !== undefined)) {
    throw new CertificatesRefused(
      `tollgate: ${dir} holds ${[cert && CERT_FILES.cert, key && CERT_FILES.key].filter(Boolean).join(" and ")} ` +
        `but no CA (${CERT_FILES.caCert}, ${CERT_FILES.caKey}); tollgate will not overwrite a serving pair it did not make. ${useOwn}`,
    );
  }
  if (cert !== undefined && caCert !== undefined && !signedBy(cert, caCert)) {
    throw new CertificatesRefused(
      `tollgate: ${path(CERT_FILES.cert)} is not signed by ${path(CERT_FILES.caCert)}; ` +
        `tollgate will not overwrite a serving certificate it did not make. ${useOwn}`,
    );
  }
  if (cert !== undefined && key !== undefined && !pairMatches(cert, key)) {
    throw new CertificatesRefused(
      `tollgate: ${path(CERT_FILES.key)} is not the key of ${path(CERT_FILES.cert)}; restore it, or remove both to have tollgate issue a new pair.`,
    );
  }

  if (caCert === undefined || caKey === undefined) {
    const ca = await generateCa({ now });
    caCert = ca.cert;
    caKey = ca.key;
    writeFileAtomic(path(CERT_FILES.caKey), caKey, 0o600);
    try {
      writeFileAtomic(path(CERT_FILES.caCert), caCert, 0o644);
    } catch (error) {
      // Leave no half CA behind (which the next start would refuse): this key was made just now.
      rmSync(path(CERT_FILES.caKey), { force: true });
      throw error;
    }
    created.push(CERT_FILES.caCert, CERT_FILES.caKey);
  }
  let renewed: string | undefined;
  if (cert === undefined || key === undefined || !certificateUsable(cert, caCert, now, 30)) {
    if (cert !== undefined && key !== undefined) {
      renewed = `${CERT_FILES.cert} expires ${new X509Certificate(cert).validTo}, within 30 days`;
    }
    const serving = await issueServingCert({ cert: caCert, key: caKey }, { ...hosts, now });
    cert = serving.cert;
    key = serving.key;
    writeFileAtomic(path(CERT_FILES.key), key, 0o600);
    writeFileAtomic(path(CERT_FILES.cert), cert, 0o644);
    created.push(CERT_FILES.cert, CERT_FILES.key);
  }
  return { dir, created, renewed, ca: { cert: caCert, key: caKey }, serving: { cert, key } };
}
