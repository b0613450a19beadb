import { request } from "node:https";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import { buildApp, type ServerTimeouts } from "../../src/app.js";
import { DEFAULT_CONFIG, resolveConfig } from "../../src/config/load.js";
import type { ConfigInput } from "../../src/config/schema.js";
import { compilePolicy } from "../../src/engine/policy.js";
import { createMetrics, type Metrics } from "../../src/metrics.js";
import type { Rule } from "../../src/rules/types.js";
import { generateCa, issueServingCert, type KeyPair } from "../../src/tls/certs.js";

let certificates: Promise<{ ca: KeyPair; serving: KeyPair }> | undefined;

/** One CA and serving certificate for 127.0.0.1, generated once per test file. */
export function testCertificates(): Promise<{ ca: KeyPair; serving: KeyPair }> {
  certificates ??= (async () => {
    const ca = await generateCa({ commonName: "tollgate-test-ca" });
    const serving = await issueServingCert(ca, { dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] });
    return { ca, serving };
  })();
  return certificates;
}

export interface RunningServer {
  app: FastifyInstance;
  metrics: Metrics;
  port: number;
  ca: string;
  /** Every log line the server wrote, parsed. */
  logs: Record<string, unknown>[];
  close(): Promise<void>;
}

/**
 * The real app over real TLS on 127.0.0.1, on a free port. It closes idle connections at once
 * unless `timeouts` says otherwise: no test of this server is about the close, and the grace would
 * hold each file's close for a second.
 */
export async function startServer(
  config: ConfigInput = {},
  registry?: ReadonlyMap<string, Rule>,
  timeouts: Partial<ServerTimeouts> = {},
): Promise<RunningServer> {
  const { ca, serving } = await testCertificates();
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (line.trim() !== "") logs.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  const metrics = createMetrics();
  const policy = compilePolicy(resolveConfig(config), registry);
  const app = buildApp({
    https: serving,
    policy: () => policy,
    metrics,
    logger: pino({ level: "info" }, sink),
    timeouts: { closeIdleGraceMs: 0, ...timeouts },
  });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const port = (app.server.address() as AddressInfo).port;
  return { app, metrics, port, ca: ca.cert, logs, close: () => app.close() };
}

export interface HttpResult {
  status: number;
  body: string;
  json: unknown;
}

/** A request over TLS that trusts only the test CA. */
export function post(
  server: RunningServer,
  path: string,
  body: string,
  headers: Record<string, string> = { "content-type": "application/json" },
  method = "POST",
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port: server.port, path, method, ca: server.ca, servername: "localhost", headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body: text, json });
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

export { DEFAULT_CONFIG };
