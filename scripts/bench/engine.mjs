// Engine micro-benchmark: AdmissionReviews judged per second in this process, no HTTP.
// Run it pinned to one core (run.mjs does, with taskset). Prints one JSON object.
// Usage: node engine.mjs [--seconds S] BODY_FILE...
//   engine:   evaluate() on an already parsed and validated review (the rule pass)
//   pipeline: JSON.parse + schema check + evaluate + verdict + JSON.stringify of the response
//             (everything the server does per request except HTTP, TLS, metrics and the log line)
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { parseArgs } from "node:util";
import { built, median, rate } from "./measure.mjs";

const { admissionResponse, verdictOf } = /** @type {typeof import("../../src/admission/respond.js")} */ (
  await built("admission/respond.js")
);
const { parseReview } = /** @type {typeof import("../../src/admission/schema.js")} */ (
  await built("admission/schema.js")
);
const { DEFAULT_CONFIG } = /** @type {typeof import("../../src/config/load.js")} */ (
  await built("config/load.js")
);
const { evaluate } = /** @type {typeof import("../../src/engine/evaluate.js")} */ (
  await built("engine/evaluate.js")
);
const { compilePolicy } = /** @type {typeof import("../../src/engine/policy.js")} */ (
  await built("engine/policy.js")
);
const { RULES } = /** @type {typeof import("../../src/rules/index.js")} */ (await built("rules/index.js"));

const { values, positionals } = parseArgs({
  options: { seconds: { type: "string", default: "2" } },
  allowPositionals: true,
});
const seconds = Number(values.seconds);
const policy = compilePolicy(DEFAULT_CONFIG);

/**
 * The engine's input for a review, as the admission handler builds it.
 * @param {import("../../src/admission/schema.js").AdmissionReview} review
 * @returns {import("../../src/engine/evaluate.js").EvaluationInput}
 */
function inputOf(review) {
  const request = review.request;
  return {
    object: request.object ?? request.oldObject ?? {},
    oldObject: request.oldObject ?? undefined,
    operation: request.operation,
    namespace: request.namespace,
    subResource: request.subResource,
    userInfo: request.userInfo,
    mode: "enforce",
    source: "admission",
    facts: undefined,
  };
}

/** @type {{ body: string; findings: number; engine: number; pipeline: number }[]} */
const results = [];
for (const file of positionals) {
  const text = JSON.stringify(JSON.parse(readFileSync(file, "utf8")));
  const parsed = parseReview(JSON.parse(text));
  if ("error" in parsed) throw new Error(`${file}: ${parsed.error}`);
  const input = inputOf(parsed.review);
  const engine = () => evaluate(input, policy).findings.length;
  const pipeline = () => {
    const checked = parseReview(JSON.parse(text));
    if ("error" in checked) throw new Error(checked.error);
    const evaluation = evaluate(inputOf(checked.review), policy);
    const verdict = verdictOf(evaluation);
    return JSON.stringify(admissionResponse(checked.review.request.uid, verdict)).length;
  };
  rate(engine, seconds / 2);
  rate(pipeline, seconds / 2);
  /** @type {number[]} */
  const engineRuns = [];
  /** @type {number[]} */
  const pipelineRuns = [];
  for (let round = 0; round < 3; round++) {
    engineRuns.push(rate(engine, seconds / 3));
    pipelineRuns.push(rate(pipeline, seconds / 3));
  }
  results.push({
    body: basename(file, ".json"),
    findings: evaluate(input, policy).findings.length,
    engine: Math.round(median(engineRuns)),
    pipeline: Math.round(median(pipelineRuns)),
  });
}
process.stdout.write(`${JSON.stringify({ rules: RULES.size, results })}\n`);
