import { spawn } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureLocalCertificates } from "../../src/tls/certs.js";
import { runTollgate } from "./run.js";

let dir: string;
/** A certs dir tollgate made: ca.crt, ca.key, tls.crt, tls.key. */
let certs: string;
const AGAIN = "tollgate did not start: fix the file (or --config) and start it again";

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "tollgate-startup-"));
  certs = join(dir, "certs");
  await ensureLocalCertificates(certs);
  writeFileSync(join(dir, "garbage.pem"), "not a key\n");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `tollgate serve` on free ports of 127.0.0.1 with `args`, to its exit. */
function serve(args: string[]) {
  return runTollgate(["serve", "--host", "127.0.0.1", "--port", "0", "--metrics-port", "0", ...args]);
}

/** Each start-up failure: one line on stderr (one per config problem), no stack, nothing on stdout. */
function expectRefused(ran: { code: number | null; stdout: string; stderr: string }, stderr: string) {
  expect({ code: ran.code, stdout: ran.stdout, stderr: ran.stderr }).toEqual({ code: 2, stdout: "", stderr });
}

describe("tollgate serve: start-up failures say what and what to do, in one line, exit 2", () => {
  it("a garbage --tls-key names the flag and the file", async () => {
    const key = join(dir, "garbage.pem");
    expectRefused(
      await serve(["--tls-cert", join(certs, "tls.crt"), "--tls-key", key]),
      `tollgate serve: --tls-key ${key} holds no PEM private key (DECODER routines::unsupported); give the serving certificate's key in PEM\n`,
    );
  });

  it("a garbage --tls-cert names the flag and the file", async () => {
    const cert = join(dir, "garbage.pem");
    expectRefused(
      await serve(["--tls-cert", cert, "--tls-key", join(certs, "tls.key")]),
      `tollgate serve: --tls-cert ${cert} holds no PEM certificate (PEM routines::no start line); give the serving certificate in PEM\n`,
    );
  });

  it("a key that is not the certificate's", async () => {
    const [cert, key] = [join(certs, "tls.crt"), join(certs, "ca.key")];
    expectRefused(
      await serve(["--tls-cert", cert, "--tls-key", key]),
      `tollgate serve: --tls-key ${key} is not the key of --tls-cert ${cert}; give the key the certificate was issued for\n`,
    );
  });

  it("a missing --tls-cert file", async () => {
    const cert = join(dir, "absent.crt");
    expectRefused(
      await serve(["--tls-cert", cert, "--tls-key", join(certs, "tls.key")]),
      `tollgate serve: --tls-cert ${cert}: cannot read it (ENOENT); check the path and its permissions\n`,
    );
  });

  it("a garbage tls.key in --certs-dir names the file", async () => {
    const copy = join(dir, "certs-garbage-key");
    cpSync(certs, copy, { recursive: true });
    writeFileSync(join(copy, "tls.key"), "not a key\n");
    expectRefused(
      await serve(["--certs-dir", copy]),
      `tollgate serve: ${copy}/tls.key is not the key of ${copy}/tls.crt; restore it, or remove both to have tollgate issue a new pair.\n`,
    );
  });

  it("a --certs-dir that cannot be made", async () => {
    const where = join(dir, "garbage.pem", "certs");
    expectRefused(
      await serve(["--certs-dir", where]),
      `tollgate serve: --certs-dir ${where}: cannot create or write the certificates there (ENOTDIR: not a directory, mkdir '${where}'); give a folder tollgate can write, or --tls-cert/--tls-key\n`,
    );
  });

  it("a missing config file", async () => {
    const config = join(dir, "absent.yaml");
    expectRefused(
      await serve(["--config", config, "--certs-dir", certs]),
      `tollgate serve: ${config}: cannot read the config file (ENOENT); ${AGAIN}\n`,
    );
  });

  it("an invalid config: one problem on one line, several a line each", async () => {
    const config = join(dir, "invalid.yaml");
    writeFileSync(config, "defaultMode: maybe\n");
    expectRefused(
      await serve(["--config", config, "--certs-dir", certs]),
      `tollgate serve: invalid config: ${config}:1: defaultMode: must be one of "enforce", "warn"; ${AGAIN}\n`,
    );
    writeFileSync(config, "defaultMode: maybe\nfailurePolicy: Fail\n");
    expectRefused(
      await serve(["--config", config, "--certs-dir", certs]),
      "tollgate serve: invalid config (tollgate did not start; fix these and start it again):\n" +
        `  ${config}:1: defaultMode: must be one of "enforce", "warn"\n` +
        `  ${config}:2: failurePolicy: unknown key\n`,
    );
  });

  it("a config that is not YAML", async () => {
    const config = join(dir, "broken.yaml");
    writeFileSync(config, "defaultMode: [enforce\n");
    expectRefused(
      await serve(["--config", config, "--certs-dir", certs]),
      `tollgate serve: ${config}:2:1: invalid YAML: unexpected end of the stream within a flow collection; ${AGAIN}\n`,
    );
  });

  it("a port in use: one line naming the port and its flag, exit 1", async () => {
    const taken: Server = createServer();
    await new Promise<void>((done) => taken.listen(0, "127.0.0.1", () => done()));
    const port = (taken.address() as { port: number }).port;
    try {
      const ran = await runTollgate([
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        String(port),
        "--metrics-port",
        "0",
      ]);
      expect(ran).toMatchObject({
        code: 1,
        stdout: "",
        stderr: `tollgate serve: cannot listen on 127.0.0.1:${port} (--port): the port is already in use (EADDRINUSE); stop what holds it or choose another --port.\n`,
      });
    } finally {
      taken.close();
    }
  });
});

describe("tollgate serve: a good start", () => {
  it("logs the level as a word and exports when its config was loaded", async () => {
    const started = Date.now() / 1000;
    const child = spawn(
      process.execPath,
      [
        "--import",
        "./test/reliability/ts-register.mjs",
        "src/main.ts",
        ...["serve", "--host", "127.0.0.1", "--port", "0", "--metrics-port", "0", "--certs-dir", certs],
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const exited = new Promise<number | null>((done) => child.on("close", (code) => done(code)));
    try {
      let stdout = "";
      const listening = await new Promise<Record<string, unknown>>((done, fail) => {
        child.stdout.on("data", (chunk: Buffer) => {
          stdout += chunk.toString();
          const line = stdout.split("\n").find((l) => l.includes('"msg":"tollgate listening"'));
          if (line) done(JSON.parse(line) as Record<string, unknown>);
        });
        child.on("close", () => fail(new Error(`serve exited before it listened: ${stdout}`)));
      });
      expect(listening).toMatchObject({ level: "info", service: "tollgate", msg: "tollgate listening" });
      const metrics = await (await fetch(`http://127.0.0.1:${String(listening.metricsPort)}/metrics`)).text();
      const loaded = Number(
        /^tollgate_config_last_reload_success_timestamp_seconds (\S+)$/m.exec(metrics)?.[1],
      );
      expect(loaded).toBeGreaterThanOrEqual(Math.floor(started));
      expect(loaded).toBeLessThanOrEqual(Date.now() / 1000);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
  });
});
