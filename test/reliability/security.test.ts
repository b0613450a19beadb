import { chmodSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ConnectionOptions, connect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withoutExcerpt } from "../../src/app.js";
import { CERT_FILES, ensureLocalCertificates } from "../../src/tls/certs.js";
import { review } from "../support/reviews.js";
import { post, type RunningServer, startServer } from "../support/server.js";

let server: RunningServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

/** The protocol and cipher a handshake ends with, or the error that ended it. */
function handshake(
  options: ConnectionOptions,
): Promise<{ protocol?: string; cipher?: string; error?: string }> {
  return new Promise((resolve) => {
    const socket = connect(
      { host: "127.0.0.1", port: server.port, ca: server.ca, servername: "localhost", ...options },
      () => {
        resolve({ protocol: socket.getProtocol() ?? "", cipher: socket.getCipher().name });
        socket.end();
      },
    );
    socket.on("error", (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
  });
}

describe("TLS", () => {
  it("negotiates TLS 1.3 with a current client", async () => {
    expect(await handshake({})).toEqual({ protocol: "TLSv1.3", cipher: "TLS_AES_128_GCM_SHA256" });
  });

  it("accepts TLS 1.2 with ECDHE and an AEAD cipher", async () => {
    expect(await handshake({ maxVersion: "TLSv1.2" })).toEqual({
      protocol: "TLSv1.2",
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
    });
    expect(await handshake({ maxVersion: "TLSv1.2", ciphers: "ECDHE-ECDSA-CHACHA20-POLY1305" })).toEqual({
      protocol: "TLSv1.2",
      cipher: "ECDHE-ECDSA-CHACHA20-POLY1305",
    });
  });

  it("refuses TLS 1.1 and TLS 1.0 clients", async () => {
    for (const version of ["TLSv1.1", "TLSv1"] as const) {
      const result = await handshake({
        minVersion: version,
        maxVersion: version,
        ciphers: "DEFAULT@SECLEVEL=0",
      });
      expect(result.error).toMatch(
        /^(ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION|ERR_SSL_UNSUPPORTED_PROTOCOL|ECONNRESET|ERR_SSL_NO_PROTOCOLS_AVAILABLE)$/,
      );
    }
  });

  it("refuses TLS 1.2 clients that offer only CBC or non-forward-secret ciphers", async () => {
    for (const ciphers of [
      "ECDHE-ECDSA-AES128-SHA",
      "ECDHE-ECDSA-AES256-SHA384",
      "AES128-GCM-SHA256",
      "AES256-SHA",
    ]) {
      const result = await handshake({ maxVersion: "TLSv1.2", ciphers });
      // The same alert: OpenSSL 3.0 (Node 20) names it SSLV3_ALERT, OpenSSL 3.5 (Node 24) SSL/TLS_ALERT.
      expect(result.error, ciphers).toMatch(/^ERR_SSL_(SSLV3|SSL\/TLS)_ALERT_HANDSHAKE_FAILURE$/);
    }
  });
});

describe("local certificates", () => {
  const dir = mkdtempSync(join(tmpdir(), "tollgate-certs-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const mode = (name: string) => statSync(join(dir, name)).mode & 0o777;

  it("writes private keys 0600 and certificates 0644", async () => {
    await ensureLocalCertificates(dir);
    expect(mode(CERT_FILES.caKey)).toBe(0o600);
    expect(mode(CERT_FILES.key)).toBe(0o600);
    expect(mode(CERT_FILES.caCert)).toBe(0o644);
    expect(mode(CERT_FILES.cert)).toBe(0o644);
  });

  it("tightens a serving key left readable by others when it renews it", async () => {
    chmodSync(join(dir, CERT_FILES.key), 0o644);
    rmSync(join(dir, CERT_FILES.cert));
    const result = await ensureLocalCertificates(dir);
    expect(result.created).toEqual([CERT_FILES.cert, CERT_FILES.key]);
    expect(mode(CERT_FILES.key)).toBe(0o600);
  });
});

describe("secrets stay out of the logs", () => {
  const SECRET_VALUES = ["hunter2-s3cr3t", "aHVudGVyMi1zM2NyM3Q=", "sk_live_ABCDEF123456", "tok-987654321"];

  it("logs nothing of a Secret, a Pod with credentials in env, or a malformed body around a password", async () => {
    const before = server.logs.length;
    const secret = {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "db", namespace: "team-a", annotations: { note: SECRET_VALUES[3] } },
      data: { password: SECRET_VALUES[1] },
      stringData: { password: SECRET_VALUES[0] },
    };
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "api", namespace: "team-a" },
      spec: {
        containers: [
          {
            name: "api",
            image: "registry.example.com/api:1.0.0",
            env: [
              { name: "DB_PASSWORD", value: SECRET_VALUES[0] },
              { name: "API_KEY", value: SECRET_VALUES[2] },
            ],
            args: [`--token=${SECRET_VALUES[3]}`],
          },
        ],
      },
    };
    for (const [path, object] of [
      ["/validate/enforce", secret],
      ["/validate/warn", pod],
      ["/validate/enforce", pod],
    ] as const) {
      const res = await post(server, path, JSON.stringify(review(object, { uid: `secret-${path}` })));
      expect(res.status).toBe(200);
    }
    const update = await post(
      server,
      "/validate",
      JSON.stringify(review(secret, { uid: "secret-update", operation: "UPDATE", oldObject: secret })),
    );
    expect(update.status).toBe(200);

    const malformed = await post(
      server,
      "/validate",
      `{"request": {"object": {"data": {"password": ${SECRET_VALUES[0]}}}}}`,
    );
    expect(malformed.status).toBe(400);
    expect(malformed.body).not.toContain(SECRET_VALUES[0]);
    const truncated = await post(server, "/validate", `{"stringData": {"password": "${SECRET_VALUES[0]}"`);
    expect(truncated.status).toBe(400);
    const notReview = await post(server, "/validate", JSON.stringify({ ...secret, request: { uid: 7 } }));
    expect(notReview.status).toBe(400);

    const written = server.logs.slice(before);
    expect(written.map((l) => l.msg)).toEqual([
      "decision",
      "decision",
      "decision",
      "decision",
      "request rejected",
      "request rejected",
      "request rejected",
    ]);
    const text = JSON.stringify(written);
    for (const value of SECRET_VALUES) expect(text).not.toContain(value);
  });

  it("drops the input excerpt V8 puts in JSON syntax errors", () => {
    const messageOf = (text: string) => {
      try {
        JSON.parse(text);
      } catch (error) {
        return withoutExcerpt((error as Error).message);
      }
      return "parsed";
    };
    expect(messageOf('{"password": hunter2}')).toBe("Unexpected token 'h' (not valid JSON)");
    expect(messageOf(`{"x": "${"a".repeat(50)}", "password": s3cr3t, "y": 1}`)).toBe(
      "Unexpected token 's' (not valid JSON)",
    );
    // Node 24's V8 adds the line and column; neither carries any of the input.
    expect(messageOf('{"a":1,"password":"hunter2"')).toMatch(
      /^Expected ',' or '}' after property value in JSON at position 27( \(line 1 column 28\))?$/,
    );
    expect(messageOf("undefined")).toBe("not valid JSON");
  });
});
