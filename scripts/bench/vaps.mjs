// What ValidatingAdmissionPolicies cost on the hot path (issue 20): the webhook's per-request work
// (parse, schema check, evaluate, verdict, response) on the Pod body with the built-in rules alone
// and with the ten policies of scripts/bench/vaps/ added, rounds alternating in one process, and
// the cost of one policy with one validation. Run it pinned to one core:
//   npm run build && taskset -c 1 node scripts/bench/vaps.mjs [--seconds 6]
import { readFileSync } from "node:fs";
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
const { loadPolicySetSync } = /** @type {typeof import("../../src/vap/load.js")} */ (
  await built("vap/load.js")
);

const { values } = parseArgs({ options: { seconds: { type: "string", default: "6" } } });
const seconds = Number(values.seconds);
if (!(seconds > 0)) {
  process.stderr.write("usage: node scripts/bench/vaps.mjs [--seconds S]\n");
  process.exit(2);
}

const folder = new URL("vaps/", import.meta.url).pathname;
const all = loadPolicySetSync([folder], new Set(RULES.keys()));
if (all.errors.length > 0) throw new Error(JSON.stringify(all.errors));
const one = loadPolicySetSync([`${folder}no-host-network.yaml`], new Set(RULES.keys()));

const builtIn = compilePolicy(DEFAULT_CONFIG);
const withTen = compilePolicy(DEFAULT_CONFIG, RULES, undefined, all.set);
const withOne = compilePolicy(DEFAULT_CONFIG, RULES, undefined, one.set);

const text = JSON.stringify(
  JSON.parse(readFileSync(new URL("../../test/fixtures/admission/pod-create.json", import.meta.url), "utf8")),
);

/**
 * The webhook's work for one request, as the handler does it (no HTTP, TLS, metrics or log line).
 * @param {import("../../src/engine/policy.js").Policy} policy
 */
const pipeline = (policy) => () => {
  const checked = parseReview(JSON.parse(text));
  if ("error" in checked) throw new Error(checked.error);
  const request = checked.review.request;
  const evaluation = evaluate(
    {
      object: request.object ?? {},
      operation: request.operation,
      namespace: request.namespace,
      userInfo: request.userInfo,
      mode: "enforce",
      source: "admission",
    },
    policy,
  );
  return JSON.stringify(admissionResponse(request.uid, verdictOf(evaluation))).length;
};

const runs = { builtIn: pipeline(builtIn), withTen: pipeline(withTen), withOne: pipeline(withOne) };
for (const fn of Object.values(runs)) rate(fn, 0.5);
/** @type {Record<keyof typeof runs, number[]>} */
const rates = { builtIn: [], withTen: [], withOne: [] };
/** @type {Record<keyof typeof runs, number[]>} */
const cpu = { builtIn: [], withTen: [], withOne: [] };
const rounds = 7;
// The wall clock gives the rates; the process's CPU time (user and system) over the same round gives
// the CPU per request, which on a shared machine leaves out the time other processes took the core.
for (let round = 0; round < rounds; round++) {
  for (const key of /** @type {(keyof typeof runs)[]} */ (Object.keys(runs))) {
    const before = process.cpuUsage();
    const started = process.hrtime.bigint();
    const perSecond = rate(runs[key], seconds / (rounds * 3));
    const wall = Number(process.hrtime.bigint() - started) / 1e9;
    const spent = process.cpuUsage(before);
    rates[key].push(perSecond);
    cpu[key].push((spent.user + spent.system) / (perSecond * wall));
  }
}
/** @param {keyof typeof runs} key */
const perRequestUs = (key) => 1e6 / median(rates[key]);
const base = perRequestUs("builtIn");
const ten = perRequestUs("withTen");
const oneCost = perRequestUs("withOne") - base;
const cpuBase = median(cpu.builtIn);
const cpuTen = median(cpu.withTen);
process.stdout.write(
  `${JSON.stringify(
    {
      body: "pod-create",
      policies: all.set.policies.length,
      perRequestMicroseconds: {
        builtIn: Math.round(base * 10) / 10,
        withTenPolicies: Math.round(ten * 10) / 10,
      },
      cpuIncreaseWithTen: `${Math.round(((ten - base) / base) * 1000) / 10} %`,
      // The same from the process's CPU time per request (user and system), medians of the rounds.
      cpuMicroseconds: {
        builtIn: Math.round(cpuBase * 10) / 10,
        withTenPolicies: Math.round(cpuTen * 10) / 10,
        added: Math.round((cpuTen - cpuBase) * 10) / 10,
      },
      oneValidationMicroseconds: Math.round(oneCost * 100) / 100,
      findingsWithTen: evaluate(
        {
          object: JSON.parse(text).request.object,
          operation: "CREATE",
          mode: "enforce",
          source: "admission",
        },
        withTen,
      ).findings.filter((f) => all.set.policies.some((p) => p.name === f.rule)).length,
    },
    null,
    2,
  )}\n`,
);
