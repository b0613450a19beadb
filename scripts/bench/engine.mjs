// Engine micro-benchmark: AdmissionReviews judged per second in this process, no HTTP.
// Run it pinned to one core (run.mjs does, with taskset). Prints one JSON object.
// Usage: node engine.mjs [--seconds S] BODY_FILE...
//   engine:   evaluate() on an already parsed and validated review (the rule pass)
//   pipeline: JSON.parse + schema check + evaluate + verdict + JSON.stringify of the response
//             (everything the server does per request except HTTP, TLS, metrics and the log line)
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { parseArgs } from "node:util";
import { admissionResponse, verdictOf } from "../../dist/src/admission/respond.js";
import { parseReview } from "../../dist/src/admission/schema.js";
import { DEFAULT_CONFIG } from "../../dist/src/config/load.js";
import { evaluate } from "../../dist/src/engine/evaluate.js";
import { compilePolicy } from "../../dist/src/engine/policy.js";
import { RULES } from "../../dist/src/rules/index.js";

const { values, positionals } = parseArgs({
  options: { seconds: { type: "string", default: "2" } },
  allowPositionals: true,
});
const seconds = Number(values.seconds);
const policy = compilePolicy(DEFAULT_CONFIG);

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

/** Calls per second of `fn` over `seconds`, measured in batches so the clock is read rarely. */
function rate(fn, budget) {
  let sink = 0;
  let calls = 0;
  const started = process.hrtime.bigint();
  const deadline = started + BigInt(Math.round(budget * 1e9));
  let now = started;
  while (now < deadline) {
    for (let i = 0; i < 200; i++) sink += fn();
    calls += 200;
    now = process.hrtime.bigint();
  }
  if (sink === -1) process.stdout.write("");
  return calls / (Number(now - started) / 1e9);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

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
    const verdict = verdictOf(evaluation, policy.config.onRuleError, true);
    return JSON.stringify(admissionResponse(checked.review.request.uid, verdict)).length;
  };
  rate(engine, seconds / 2);
  rate(pipeline, seconds / 2);
  const engineRuns = [];
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
