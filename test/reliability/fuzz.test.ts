import type { V1Container } from "@kubernetes/client-node";
import fc from "fast-check";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verdictOf } from "../../src/admission/respond.js";
import { buildApp } from "../../src/app.js";
import { DEFAULT_CONFIG, resolveConfig } from "../../src/config/load.js";
import { evaluate } from "../../src/engine/evaluate.js";
import { compilePolicy, type Policy } from "../../src/engine/policy.js";
import { createMetrics } from "../../src/metrics.js";
import { buildRegistry } from "../../src/rules/index.js";
import type { PodSpecTarget, Rule } from "../../src/rules/types.js";
import {
  mutatedReview,
  reviewWithMutatedObject,
  seedObjects,
  toJsonText,
  weirdValue,
} from "./arbitraries.js";

/** `npm test` runs a fixed seed; `npm run fuzz` sets FUZZ_RUNS and FUZZ_SEED for a long run. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 0);
const SEED = Number(process.env.FUZZ_SEED ?? 20_260_101);
const runs = (fast: number) => (RUNS > 0 ? RUNS : fast);
/** Counterexamples can be megabytes or too deep to print: report the seed, path and a short excerpt. */
function reporter<T>(details: fc.RunDetails<T>): void {
  if (!details.failed) return;
  let shown: string;
  try {
    shown = JSON.stringify(details.counterexample)?.slice(0, 1500) ?? "undefined";
  } catch {
    shown = "(too deep to print; replay it with the seed and path)";
  }
  const error = details.errorInstance;
  const cause =
    error instanceof Error
      ? `${error.name}: ${error.message} ${error.stack?.split("\n").slice(1, 4).join(" ") ?? ""}`
      : String(error);
  throw new Error(
    `property failed: seed ${details.seed}, path ${JSON.stringify(details.counterexamplePath)}\n${cause.slice(0, 1500)}\ncounterexample: ${shown}`,
  );
}
function params<T>(fast: number): fc.Parameters<T> {
  return { seed: SEED, numRuns: runs(fast), endOnFailure: true, reporter: reporter<T> };
}
const timeout = (fast: number) => Math.max(20_000, runs(fast) * 20);

const policies = [
  compilePolicy(DEFAULT_CONFIG),
  compilePolicy(resolveConfig({ onRuleError: "deny", ratchet: false, skipOwnedPods: false })),
];

function expectValidResponse(json: unknown, uid: unknown): void {
  expect(json).toMatchObject({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview" });
  const response = (json as { response: Record<string, unknown> }).response;
  expect(response.uid).toBe(uid);
  expect(typeof response.allowed).toBe("boolean");
  if (response.allowed === false) {
    expect(response.status).toMatchObject({ code: 403, reason: "Forbidden" });
    expect(typeof (response.status as { message: unknown }).message).toBe("string");
  }
  if (response.warnings !== undefined) {
    expect(Array.isArray(response.warnings)).toBe(true);
    for (const warning of response.warnings as unknown[]) {
      expect(typeof warning).toBe("string");
      expect((warning as string).length).toBeLessThanOrEqual(256);
    }
  }
}

/** The engine property, for a set of policies: no throw, no rule error, well-formed findings. */
function engineProperty(against: readonly Policy[]) {
  return fc.property(
    reviewWithMutatedObject,
    fc.constantFrom("CREATE" as const, "UPDATE" as const),
    fc.constantFrom("enforce" as const, "warn" as const),
    fc.nat(),
    (body, operation, mode, which) => {
      const request = body.request as { object: Record<string, unknown> };
      const policy = against[which % against.length]!;
      const evaluation = evaluate(
        {
          object: request.object,
          oldObject: operation === "UPDATE" ? request.object : undefined,
          operation,
          namespace: "team-a",
          mode,
          source: "admission",
        },
        policy,
      );
      expect(evaluation.ruleErrors).toEqual([]);
      for (const finding of evaluation.findings) {
        for (const field of ["rule", "kind", "namespace", "name", "path", "message", "fix"] as const) {
          expect(typeof finding[field]).toBe("string");
        }
      }
      const verdict = verdictOf(evaluation);
      for (const warning of verdict.warnings) expect(warning.length).toBeLessThanOrEqual(256);
    },
  );
}

describe("the engine on mutated objects", () => {
  it(
    "never throws, no rule throws, and every finding is well-formed",
    () => {
      fc.assert(engineProperty(policies), params(400));
    },
    timeout(400),
  );

  it("catches a rule that trusts the shape of the object (the property can fail)", () => {
    const naive: Rule<PodSpecTarget> = {
      id: "naive-rule",
      title: "Reads containers without checking",
      category: "resources",
      defaultSeverity: "warn",
      targets: ["podSpec"],
      kinds: ["Pod"],
      description: "Assumes every container has a string name, casting past the narrowing containersOf does.",
      remediation: "```yaml\n{}\n```",
      check: (target) =>
        ((target.spec.containers ?? []) as V1Container[]).flatMap((c) =>
          c.name.toUpperCase() === "" ? [] : [],
        ),
    };
    const policy = compilePolicy(DEFAULT_CONFIG, buildRegistry([naive as unknown as Rule]));
    const result = fc.check(engineProperty([policy]), { seed: SEED, numRuns: 400 });
    expect(result.failed).toBe(true);
  });

  it(
    "never throws on any value at all in place of the object",
    () => {
      const kinds = seedObjects().map((o) => [o.apiVersion, o.kind] as const);
      fc.assert(
        fc.property(fc.nat(), fc.oneof(fc.anything(), weirdValue), (pick, spec) => {
          const [apiVersion, kind] = kinds[pick % kinds.length]!;
          const object = { apiVersion, kind, metadata: { name: "x" }, spec, rules: spec, template: spec };
          const evaluation = evaluate(
            { object, operation: "CREATE", mode: "enforce", source: "admission" },
            policies[0]!,
          );
          expect(evaluation.ruleErrors).toEqual([]);
        }),
        params(300),
      );
    },
    timeout(300),
  );
});

describe("the HTTP handler on mutated reviews", () => {
  const app = buildApp({
    policy: () => policies[0]!,
    metrics: createMetrics(),
    logger: pino({ level: "silent" }),
  });
  beforeAll(() => app.ready());
  afterAll(() => app.close());

  const send = (url: string, payload: string) =>
    app.inject({ method: "POST", url, payload, headers: { "content-type": "application/json" } });

  it(
    "answers every review with a valid AdmissionReview for its uid, or a 400 with a message",
    async () => {
      await fc.assert(
        fc.asyncProperty(
          mutatedReview,
          fc.constantFrom("/validate", "/validate/enforce", "/validate/warn"),
          async (body, url) => {
            const text = toJsonText(body);
            const res = await send(url, text);
            const sent = JSON.parse(text) as { request?: { uid?: unknown } };
            if (res.statusCode === 200) {
              expectValidResponse(res.json(), sent.request?.uid);
            } else {
              // 413 when the mutations grew the body past the limit.
              expect([400, 413]).toContain(res.statusCode);
              const json = res.json() as { error: unknown; message: unknown };
              expect(json.error).toMatch(/^(malformed-json|not-a-review|too-large)$/);
              expect(typeof json.message).toBe("string");
              expect((json.message as string).length).toBeGreaterThan(0);
            }
          },
        ),
        params(400),
      );
    },
    timeout(400),
  );

  it(
    "always answers 200 when only the object is mutated",
    async () => {
      await fc.assert(
        fc.asyncProperty(reviewWithMutatedObject, async (body) => {
          const res = await send("/validate/enforce", toJsonText(body));
          expect(res.statusCode).toBe(200);
          expectValidResponse(res.json(), (body.request as { uid: string }).uid);
        }),
        params(300),
      );
    },
    timeout(300),
  );

  it(
    "answers a truncated or byte-flipped body with a 200 or a 400, never anything else",
    async () => {
      const valid = seedObjects().map((object, i) =>
        JSON.stringify({
          apiVersion: "admission.k8s.io/v1",
          kind: "AdmissionReview",
          request: { uid: `flip-${i}`, kind: { kind: object.kind }, operation: "CREATE", object },
        }),
      );
      await fc.assert(
        fc.asyncProperty(
          fc.nat(),
          fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
          fc.option(fc.nat()),
          async (pick, flips, cut) => {
            const bytes = Buffer.from(valid[pick % valid.length]!, "utf8");
            for (const [at, byte] of flips) bytes[at % bytes.length] = byte;
            const payload = cut === null ? bytes : bytes.subarray(0, cut % bytes.length);
            const res = await app.inject({
              method: "POST",
              url: "/validate",
              payload,
              headers: { "content-type": "application/json" },
            });
            expect([200, 400]).toContain(res.statusCode);
            if (res.statusCode === 200) {
              const sent = JSON.parse(payload.toString("utf8")) as { request: { uid: unknown } };
              expectValidResponse(res.json(), sent.request.uid);
            } else {
              expect(typeof (res.json() as { message: unknown }).message).toBe("string");
            }
          },
        ),
        params(300),
      );
    },
    timeout(300),
  );
});
