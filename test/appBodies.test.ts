import { gzipSync } from "node:zlib";
import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { BODY_LIMIT_BYTES, buildApp } from "../src/app.js";
import { resolveConfig } from "../src/config/load.js";
import { compilePolicy } from "../src/engine/policy.js";
import { createMetrics } from "../src/metrics.js";
import { review, rootPod } from "./support/reviews.js";

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

function start() {
  const policy = compilePolicy(resolveConfig({}));
  const lines: string[] = [];
  app = buildApp({
    policy: () => policy,
    metrics: createMetrics(),
    logger: pino({ level: "info" }, { write: (line: string) => lines.push(line) }),
  });
  const send = (payload: string | Buffer, headers: Record<string, string>) =>
    app!.inject({ method: "POST", url: "/validate/warn", headers, payload });
  return { send, lines };
}

const BODY = JSON.stringify(review(rootPod(), { uid: "u" }));

describe("bodies that are no AdmissionReview in JSON", () => {
  it("text/plain is 415 naming the Content-Type, not a 400 about the review", async () => {
    const res = await start().send(BODY, { "content-type": "text/plain" });
    expect(res.statusCode).toBe(415);
    expect(res.json()).toEqual({
      error: "media-type",
      message: 'Content-Type "text/plain" is not accepted: send application/json (an AdmissionReview v1)',
    });
  });

  it("no Content-Type at all is 415 too", async () => {
    const res = await start().send(BODY, {});
    expect(res.statusCode).toBe(415);
    expect(res.json()).toMatchObject({
      message: expect.stringMatching(/^Content-Type none is not accepted/),
    });
  });

  it("a gzip body is 415 naming the Content-Encoding, not malformed JSON", async () => {
    const { send, lines } = start();
    const res = await send(gzipSync(BODY), {
      "content-type": "application/json",
      "content-encoding": "gzip",
    });
    expect(res.statusCode).toBe(415);
    expect(res.json()).toEqual({
      error: "media-type",
      message:
        'Content-Encoding "gzip" is not accepted: send the AdmissionReview uncompressed, as the apiserver does',
    });
    // The line names the request it is about, though no child logger is made per request.
    const rejected = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(rejected.find((line) => line.reason === "media-type")).toMatchObject({
      reqId: expect.stringMatching(/^req-/),
      msg: "request rejected",
    });
  });

  it("a header a client sizes is quoted clipped", async () => {
    const res = await start().send(BODY, {
      "content-type": "application/json",
      "content-encoding": "x".repeat(5000),
    });
    expect(res.statusCode).toBe(415);
    expect((res.json() as { message: string }).message).toBe(
      `Content-Encoding "${"x".repeat(64)}…" is not accepted: send the AdmissionReview uncompressed, as the apiserver does`,
    );
  });

  it("Content-Encoding identity and application/json with a charset are a review like any", async () => {
    const { send } = start();
    const identity = await send(BODY, { "content-type": "application/json", "content-encoding": "identity" });
    expect(identity.statusCode).toBe(200);
    const charset = await send(BODY, { "content-type": "application/json; charset=utf-8" });
    expect(charset.statusCode).toBe(200);
  });

  it("a review over the body limit is 413 whose message says the limit", async () => {
    const res = await start().send(" ".repeat(BODY_LIMIT_BYTES + 1), { "content-type": "application/json" });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toEqual({
      error: "too-large",
      message: "request body larger than the limit of 8 MiB (8388608 bytes)",
    });
  });
});
