#!/usr/bin/env node
// The long fuzz run: the properties of test/reliability/fuzz.test.ts with many more cases.
// Usage: npm run fuzz -- [--runs N per property (20000)] [--seed S (random; printed to replay)]
import { spawnSync } from "node:child_process";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: { runs: { type: "string", default: "20000" }, seed: { type: "string" } },
});
const runs = Number(values.runs);
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
if (!Number.isInteger(runs) || runs < 1 || runs > 1_000_000 || !Number.isInteger(seed)) {
  console.error("--runs must be 1..1000000 and --seed an integer");
  process.exit(2);
}
console.log(
  `fuzz: ${runs} runs per property, seed ${seed} (replay: npm run fuzz -- --runs ${runs} --seed ${seed})`,
);
const started = Date.now();
const result = spawnSync(
  process.execPath,
  ["node_modules/vitest/vitest.mjs", "run", "--project", "unit", "test/reliability/fuzz.test.ts"],
  { stdio: "inherit", env: { ...process.env, FUZZ_RUNS: String(runs), FUZZ_SEED: String(seed) } },
);
console.log(`fuzz: finished in ${Math.round((Date.now() - started) / 1000)} s, exit ${result.status}`);
process.exitCode = result.status ?? 1;
