import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  CERT_FILES,
  CertificatesRefused,
  ensureLocalCertificates,
  generateCa,
  issueServingCert,
  writeFileAtomic,
} from "../../src/tls/certs.js";
import { runTollgate } from "../cli/run.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "tollgate-certs-dir-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const file = (name: string) => join(dir, name);
const contents = () =>
  Object.fromEntries(readdirSync(dir).map((name) => [name, readFileSync(file(name), "utf8")]));

/** A serving pair from some other CA, as a user who already had certificates would keep them. */
async function foreignPair() {
  const otherCa = await generateCa({ commonName: "someone-else" });
  return issueServingCert(otherCa, { dnsNames: ["webhook.example.com"] });
}

describe("--certs-dir never overwrites what tollgate did not make", () => {
  it("refuses a serving pair with no CA beside it and leaves both files as they were", async () => {
    const pair = await foreignPair();
    writeFileSync(file(CERT_FILES.cert), pair.cert);
    writeFileSync(file(CERT_FILES.key), pair.key, { mode: 0o600 });
    const before = contents();
    await expect(ensureLocalCertificates(dir)).rejects.toThrow(CertificatesRefused);
    await expect(ensureLocalCertificates(dir)).rejects.toThrow(
      /holds tls\.crt and tls\.key but no CA .* will not overwrite .* --tls-cert\/--tls-key/,
    );
    expect(contents()).toEqual(before);
  });

  it("refuses a serving certificate that its CA did not sign", async () => {
    await ensureLocalCertificates(dir);
    const pair = await foreignPair();
    writeFileSync(file(CERT_FILES.cert), pair.cert);
    writeFileSync(file(CERT_FILES.key), pair.key);
    const before = contents();
    await expect(ensureLocalCertificates(dir)).rejects.toThrow(/tls\.crt is not signed by .*ca\.crt/);
    expect(contents()).toEqual(before);
  });

  it("refuses a key that is not its certificate's", async () => {
    await ensureLocalCertificates(dir);
    const other = await ensureLocalCertificates(mkdtempSync(join(tmpdir(), "tollgate-other-")));
    writeFileSync(file(CERT_FILES.key), other.serving.key);
    await expect(ensureLocalCertificates(dir)).rejects.toThrow(/tls\.key is not the key of .*tls\.crt/);
    rmSync(other.dir, { recursive: true, force: true });
  });

  it("refuses an empty CA key (a write cut short) instead of making a new CA", async () => {
    await ensureLocalCertificates(dir);
    writeFileSync(file(CERT_FILES.caKey), "");
    const before = contents();
    await expect(ensureLocalCertificates(dir)).rejects.toThrow(/ca\.key is empty/);
    expect(contents()).toEqual(before);
  });

  it("refuses half a CA", async () => {
    await ensureLocalCertificates(dir);
    rmSync(file(CERT_FILES.caKey));
    const before = contents();
    await expect(ensureLocalCertificates(dir)).rejects.toThrow(/ca\.key is missing beside .*ca\.crt/);
    expect(contents()).toEqual(before);
  });

  it("renews its own serving pair when it expires within 30 days, keeps the CA, and says why", async () => {
    const first = await ensureLocalCertificates(dir);
    expect(first.created).toEqual([CERT_FILES.caCert, CERT_FILES.caKey, CERT_FILES.cert, CERT_FILES.key]);
    expect(first.renewed).toBeUndefined();

    const sameDay = await ensureLocalCertificates(dir);
    expect(sameDay.created).toEqual([]);
    expect(sameDay.serving).toEqual(first.serving);

    const later = new Date(Date.now() + 340 * 24 * 3600 * 1000);
    const renewed = await ensureLocalCertificates(dir, undefined, later);
    expect(renewed.created).toEqual([CERT_FILES.cert, CERT_FILES.key]);
    expect(renewed.renewed).toMatch(/^tls\.crt expires .* within 30 days$/);
    expect(renewed.ca).toEqual(first.ca);
    expect(renewed.serving.cert).not.toBe(first.serving.cert);
  });

  it("tollgate serve exits 2 with the reason and leaves the pair alone", async () => {
    const pair = await foreignPair();
    writeFileSync(file(CERT_FILES.cert), pair.cert);
    writeFileSync(file(CERT_FILES.key), pair.key);
    const ran = await runTollgate(["serve", "--certs-dir", dir, "--port", "0", "--metrics-port", "0"]);
    expect(ran.code).toBe(2);
    expect(ran.stderr).toMatch(/will not overwrite a serving pair it did not make/);
    expect(readFileSync(file(CERT_FILES.cert), "utf8")).toBe(pair.cert);
    expect(readFileSync(file(CERT_FILES.key), "utf8")).toBe(pair.key);
  });
});

describe("writeFileAtomic", () => {
  it("replaces the file whole, with the mode asked for, and leaves no temporary file", () => {
    const path = file("tls.key");
    writeFileSync(path, "old", { mode: 0o644 });
    writeFileAtomic(path, "new key", 0o600);
    expect(readFileSync(path, "utf8")).toBe("new key");
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(["tls.key"]);
  });

  it("on a failed write leaves the old file untouched and no temporary file", () => {
    // The rename fails (a folder stands where the file goes) after the data was written.
    const path = file("ca.key");
    mkdirSync(path);
    writeFileSync(join(path, "inside"), "x");
    expect(() => writeFileAtomic(path, "key", 0o600)).toThrow();
    expect(readdirSync(dir)).toEqual(["ca.key"]);
    expect(readdirSync(path)).toEqual(["inside"]);
  });
});
