#!/usr/bin/env node
// Hot-path speed of each candidate CEL implementation (issue 20): ten expressions of the kind real
// ValidatingAdmissionPolicies hold, compiled once, evaluated many times over the Deployment of
// test/fixtures/admission/deployment-create.json. Usage: node scripts/cel-speed.mjs [--seconds 1]
import { readFileSync } from "node:fs";
import * as buf from "@bufbuild/cel";
import { strings as bufStrings } from "@bufbuild/cel/ext";
import { Environment } from "@marcbachmann/cel-js";

const seconds = process.argv.includes("--seconds")
  ? Number(process.argv[process.argv.indexOf("--seconds") + 1])
  : 1;
const review =
  /** @type {{ request: { object: { spec: { template: { spec: { containers: { name: string; env?: unknown[] }[] } } } } } }} */ (
    JSON.parse(
      readFileSync(new URL("../test/fixtures/admission/deployment-create.json", import.meta.url), "utf8"),
    )
  );
// The fixture's Deployment, grown to about 10 KB with environment variables, as real ones are.
const deployment = review.request.object;
for (const c of deployment.spec.template.spec.containers)
  c.env = Array.from({ length: 60 }, (_, i) => ({ name: `SETTING_${i}`, value: `value-${i}-${c.name}` }));

// CEL has int and double where JSON has one number: integers become bigint, as the apiserver's
// unstructured objects hold int64. Both candidates get the same converted object.
/**
 * @param {unknown} v
 * @returns {unknown}
 */
function toCel(v) {
  if (typeof v === "number") return Number.isInteger(v) ? BigInt(v) : v;
  if (Array.isArray(v)) return v.map(toCel);
  if (v !== null && typeof v === "object") {
    /** @type {Record<string, unknown>} */
    const out = {};
    for (const [k, x] of Object.entries(v)) out[k] = toCel(x);
    return out;
  }
  return v;
}

const expressions = [
  "object.spec.replicas <= 5",
  "object.metadata.labels.exists(k, k == 'app')",
  "has(object.metadata.labels) && 'app' in object.metadata.labels",
  "object.spec.template.spec.containers.all(c, c.image.startsWith('registry.example.com/'))",
  "object.spec.template.spec.containers.all(c, has(c.resources) && has(c.resources.limits) && has(c.resources.limits.memory))",
  "object.metadata.name.matches('^[a-z][a-z0-9-]*$')",
  "object.spec.template.spec.containers.map(c, c.name).size() == object.spec.template.spec.containers.size()",
  "!has(object.spec.template.spec.hostNetwork) || object.spec.template.spec.hostNetwork == false",
  "object.spec.template.spec.containers.exists(c, c.ports.exists(p, p.containerPort == 8080))",
  "object.metadata.namespace.endsWith('-b') && object.metadata.name.size() < 64 && object.kind.contains('Deploy')",
];

/**
 * Calls of `fn` per second, after a warm-up.
 * @param {string} _label what is measured, for the reader of the call
 * @param {() => unknown} fn
 */
function bench(_label, fn) {
  for (let i = 0; i < 2000; i++) fn();
  let n = 0;
  const end = performance.now() + seconds * 1000;
  const start = performance.now();
  while (performance.now() < end) {
    for (let i = 0; i < 200; i++) fn();
    n += 200;
  }
  return Math.round(n / ((performance.now() - start) / 1000));
}

const celJsEnv = new Environment({ enableOptionalTypes: true }).registerVariable("object", "map");
const bufEnv = buf.celEnv({ funcs: bufStrings });

/**
 * The converted object, and for @bufbuild/cel's best case the same object as a CelMap.
 * @typedef {Record<string, unknown> & { celMap?: import("@bufbuild/cel").CelMap }} Input
 */
/** @type {Record<string, (expr: string) => (object: Input) => unknown>} */
const candidates = {
  "@bufbuild/cel": (expr) => {
    const run = buf.plan(bufEnv, buf.parse(expr));
    return (object) => {
      const r = run({ object: /** @type {import("@bufbuild/cel").CelInput} */ (object) });
      if (buf.isCelError(r)) throw new Error(r.message);
      return r;
    };
  },
  // Given plain objects, @bufbuild/cel wraps each map it reaches on every access; a CelMap built once
  // per request avoids that, so this is its best case.
  "@bufbuild/cel (CelMap input)": (expr) => {
    const run = buf.plan(bufEnv, buf.parse(expr));
    return (object) => {
      if (object.celMap === undefined) throw new Error("the object has no CelMap");
      const r = run({ object: object.celMap });
      if (buf.isCelError(r)) throw new Error(r.message);
      return r;
    };
  },
  "@marcbachmann/cel-js": (expr) => {
    const run = celJsEnv.parse(expr);
    return (object) => run({ object });
  },
};

console.log(
  `object: ${JSON.stringify(deployment).length} bytes of JSON; ${seconds}s per figure; node ${process.version}`,
);
const convert = bench("convert", () => toCel(deployment));
console.log(`JSON -> CEL values (bigint ints), once per request: ${convert.toLocaleString("en")} ops/s`);
const object = /** @type {Input} */ (toCel(deployment));
/**
 * The object with every JSON object turned into a Map, as celMap takes it.
 * @param {unknown} v
 * @returns {unknown}
 */
const toMap = (v) =>
  Array.isArray(v)
    ? v.map(toMap)
    : v !== null && typeof v === "object"
      ? new Map(Object.entries(v).map(([k, x]) => [k, toMap(x)]))
      : v;
const asMap = /** @type {Parameters<typeof buf.celMap>[0]} */ (toMap(object));
Object.defineProperty(object, "celMap", { value: buf.celMap(asMap), enumerable: false });
/** @type {Record<string, { compileOps: number; per: number[]; all: number; values: unknown[] }>} */
const results = {};
for (const [name, compile] of Object.entries(candidates)) {
  const compileOps = bench("compile", () => expressions.map(compile));
  const compiled = expressions.map(compile);
  const values = compiled.map((run) => run(object));
  const per = compiled.map((run) => bench("eval", () => run(object)));
  const all = bench("all", () => {
    for (const run of compiled) run(object);
  });
  results[name] = { compileOps, per, all, values };
}
const names = Object.keys(results);
/** @param {string} name */
const resultOf = (name) => /** @type {(typeof results)[string]} */ (results[name]);
/** @param {unknown} s @param {number} n */
const pad = (s, n) => String(s).padEnd(n);
console.log(`\n${pad("expression", 70)}${names.map((n) => pad(`${n} ops/s`, 28)).join("")}`);
expressions.forEach((e, i) => {
  const shown = e.length > 66 ? `${e.slice(0, 63)}...` : e;
  console.log(
    `${pad(shown, 70)}${names.map((n) => pad(`${resultOf(n).per[i]?.toLocaleString("en")} (${String(resultOf(n).values[i])})`, 28)).join("")}`,
  );
});
console.log(
  `${pad("all ten, one after the other", 70)}${names.map((n) => pad(resultOf(n).all.toLocaleString("en"), 28)).join("")}`,
);
console.log(
  `${pad("compile all ten", 70)}${names.map((n) => pad(resultOf(n).compileOps.toLocaleString("en"), 28)).join("")}`,
);
