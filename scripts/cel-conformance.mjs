#!/usr/bin/env node
// Runs the CEL specification's simple conformance tests (the data in @bufbuild/cel-spec) through each
// candidate CEL implementation and prints pass/fail counts per section, so the choice of library for
// tollgate's ValidatingAdmissionPolicies rests on figures (issue 20). Usage:
//   node scripts/cel-conformance.mjs [--failures SECTION]
// "k8s-relevant" leaves out tests that need protobuf messages (TestAllTypes, enums, proto wrappers built
// from a message, a container): Kubernetes binds JSON-like objects only, so those never reach a VAP.
import { tests as conformance } from "@bufbuild/cel-spec/testdata/conformance.js";
import { getTestRegistry } from "@bufbuild/cel-spec/testdata/registry.js";
import { fromJson, toJson, isMessage } from "@bufbuild/protobuf";
import { anyUnpack, AnySchema, durationFromMs, timestampFromDate } from "@bufbuild/protobuf/wkt";
import * as buf from "@bufbuild/cel";
import { strings as bufStrings } from "@bufbuild/cel/ext";
import { Environment, Optional } from "@marcbachmann/cel-js";

/**
 * A CEL value as the conformance data writes it (cel.expr.Value in JSON): the fields read here.
 * @typedef {object} ValueJson
 * @property {null} [nullValue]
 * @property {boolean} [boolValue]
 * @property {string} [int64Value]
 * @property {string} [uint64Value]
 * @property {number | string} [doubleValue]
 * @property {string} [stringValue]
 * @property {string} [bytesValue] base64
 * @property {{ values?: ValueJson[] }} [listValue]
 * @property {{ entries?: { key: ValueJson; value: ValueJson }[] }} [mapValue]
 * @property {string} [typeValue]
 * @property {{ value?: number }} [enumValue]
 * @property {AnyJson} [objectValue]
 */
/** @typedef {import("@bufbuild/protobuf").JsonObject & { "@type": string; value?: string | number | boolean }} AnyJson a google.protobuf.Any in JSON */
/**
 * A type in a test's environment (cel.expr.Type in JSON).
 * @typedef {object} TypeJson
 * @property {string} [primitive]
 * @property {{ elemType?: TypeJson }} [listType]
 * @property {{ keyType?: TypeJson; valueType?: TypeJson }} [mapType]
 * @property {null} [null]
 * @property {string} [wellKnown]
 * @property {string} [messageType]
 */
/**
 * One conformance test (cel.expr.conformance.test.SimpleTest in JSON): the fields read here.
 * @typedef {object} TestJson
 * @property {string} [name]
 * @property {string} expr
 * @property {boolean} [disableCheck]
 * @property {boolean} [checkOnly]
 * @property {string} [container]
 * @property {Record<string, { value: ValueJson }>} [bindings]
 * @property {{ name: string; ident?: { type?: TypeJson } }[]} [typeEnv]
 * @property {ValueJson} [value]
 * @property {unknown} [evalError]
 * @property {unknown} [anyEvalErrors]
 */
/**
 * The neutral value that every candidate's output and every expectation is converted to.
 * @typedef {{ t: "int" | "uint"; v: bigint }
 *   | { t: "double" | "duration"; v: number }
 *   | { t: "string" | "bytes" | "type" | "message" | "timestamp" | "unknown"; v: string }
 *   | { t: "bool"; v: boolean }
 *   | { t: "null"; v: null }
 *   | { t: "list"; v: Neutral[] }
 *   | { t: "map"; v: [Neutral, Neutral][] }
 *   | { t: "optional"; v: string | null }} Neutral
 */
/** @typedef {{ pass: boolean; why?: string }} Outcome */

const registry = getTestRegistry();
const showFailures = process.argv.includes("--failures")
  ? process.argv[process.argv.indexOf("--failures") + 1]
  : undefined;

/**
 * An expected value as a neutral one.
 * @param {ValueJson} value
 * @returns {Neutral}
 */
function fromExpected(value) {
  if ("nullValue" in value) return { t: "null", v: null };
  if (value.boolValue !== undefined) return { t: "bool", v: value.boolValue };
  if (value.int64Value !== undefined) return { t: "int", v: BigInt(value.int64Value) };
  if (value.uint64Value !== undefined) return { t: "uint", v: BigInt(value.uint64Value) };
  if (value.doubleValue !== undefined) return { t: "double", v: Number(value.doubleValue) };
  if (value.stringValue !== undefined) return { t: "string", v: value.stringValue };
  if (value.bytesValue !== undefined)
    return { t: "bytes", v: Buffer.from(value.bytesValue, "base64").toString("hex") };
  if (value.listValue !== undefined)
    return { t: "list", v: (value.listValue.values ?? []).map(fromExpected) };
  if (value.mapValue !== undefined)
    return {
      t: "map",
      v: (value.mapValue.entries ?? []).map((e) => [fromExpected(e.key), fromExpected(e.value)]),
    };
  if (value.typeValue !== undefined) return { t: "type", v: value.typeValue };
  if (value.enumValue !== undefined) return { t: "int", v: BigInt(value.enumValue.value ?? 0) };
  if (value.objectValue !== undefined) return fromAnyJson(value.objectValue);
  throw new Error(`unknown expected value ${JSON.stringify(value)}`);
}

/**
 * A google.protobuf.Any as a neutral value: wrappers, timestamps and durations as CEL sees them,
 * any other message as its JSON.
 * @param {AnyJson} any
 * @returns {Neutral}
 */
function fromAnyJson(any) {
  const type = any["@type"].replace("type.googleapis.com/", "");
  /** @type {Record<string, "int" | "uint" | "double" | "string" | "bool" | undefined>} */
  const wrappers = {
    "google.protobuf.Int64Value": "int",
    "google.protobuf.Int32Value": "int",
    "google.protobuf.UInt64Value": "uint",
    "google.protobuf.UInt32Value": "uint",
    "google.protobuf.DoubleValue": "double",
    "google.protobuf.FloatValue": "double",
    "google.protobuf.StringValue": "string",
    "google.protobuf.BoolValue": "bool",
  };
  const wrapper = wrappers[type];
  if (wrapper === "int" || wrapper === "uint") return { t: wrapper, v: BigInt(any.value ?? 0) };
  if (wrapper === "double") return { t: "double", v: Number(any.value ?? 0) };
  if (wrapper === "bool") return { t: "bool", v: Boolean(any.value ?? false) };
  if (wrapper === "string") return { t: "string", v: String(any.value ?? "") };
  if (type === "google.protobuf.BytesValue")
    return { t: "bytes", v: Buffer.from(String(any.value ?? ""), "base64").toString("hex") };
  if (type === "google.protobuf.Timestamp") return { t: "timestamp", v: normaliseTimestamp(any.value) };
  if (type === "google.protobuf.Duration") return { t: "duration", v: normaliseDuration(any.value) };
  return { t: "message", v: JSON.stringify(toJson(messageSchema(unpack(any)), unpack(any))) };
}

/**
 * The message an Any holds, which the test registry knows.
 * @param {AnyJson} any
 * @returns {import("@bufbuild/protobuf").Message}
 */
function unpack(any) {
  const message = anyUnpack(fromJson(AnySchema, any, { registry }), registry);
  if (message === undefined) throw new Error(`no message type ${any["@type"]} in the test registry`);
  return message;
}

/** @param {import("@bufbuild/protobuf").Message} message */
function messageSchema(message) {
  const schema = registry.getMessage(message.$typeName);
  if (schema === undefined) throw new Error(`no message type ${message.$typeName} in the test registry`);
  return schema;
}

/** @param {unknown} s a timestamp in JSON (RFC 3339) */
function normaliseTimestamp(s) {
  return new Date(String(s)).toISOString();
}

/** @param {unknown} s a duration in JSON ("1.5s") */
function normaliseDuration(s) {
  return Number(String(s).replace(/s$/, ""));
}

/**
 * @param {Neutral} a
 * @param {Neutral} b
 * @returns {boolean}
 */
function neutralEqual(a, b) {
  if (a.t !== b.t) return false;
  switch (a.t) {
    case "double":
      return Number.isNaN(a.v) ? Number.isNaN(b.v) : a.v === b.v;
    case "list": {
      const other = /** @type {Neutral[]} */ (b.v);
      return (
        a.v.length === other.length && a.v.every((x, i) => neutralEqual(x, /** @type {Neutral} */ (other[i])))
      );
    }
    case "map": {
      const other = /** @type {[Neutral, Neutral][]} */ (b.v);
      return (
        a.v.length === other.length &&
        a.v.every(([k, v]) => other.some(([k2, v2]) => neutralEqual(k, k2) && neutralEqual(v, v2)))
      );
    }
    default:
      return a.v === b.v;
  }
}

/** @param {unknown} n */
function show(n) {
  return JSON.stringify(n, (_k, v) => (typeof v === "bigint" ? `${v}n` : v));
}

/**
 * Does the test depend on protobuf messages (irrelevant to Kubernetes, which binds JSON objects)?
 * @param {TestJson} test
 * @param {string} section
 */
function needsProto(test, section) {
  if (["proto2", "proto3", "proto2_ext", "enums", "wrappers"].includes(section)) return true;
  if (test.container) return true;
  if (/TestAllTypes|NestedTestAllTypes|google\.protobuf\.|proto\.|GlobalEnum|NestedEnum/.test(test.expr))
    return true;
  const text = JSON.stringify([test.bindings ?? {}, test.value ?? {}, test.typeEnv ?? []]);
  return /conformance\.proto|messageType":"(?!google\.protobuf\.(Timestamp|Duration))/.test(text);
}

// ---------------------------------------------------------------------------------------------------
// @marcbachmann/cel-js

const celJsBase = new Environment({ enableOptionalTypes: true, homogeneousAggregateLiterals: false });

/** @type {Record<string, string | undefined>} */
const CEL_JS_PRIMITIVES = {
  BOOL: "bool",
  INT64: "int",
  UINT64: "uint",
  DOUBLE: "double",
  STRING: "string",
  BYTES: "bytes",
};

/**
 * @param {TypeJson | undefined} type
 * @returns {string}
 */
function celJsTypeName(type) {
  if (!type) return "dyn";
  if (type.primitive) return CEL_JS_PRIMITIVES[type.primitive] ?? "dyn";
  if (type.listType) return `list<${celJsTypeName(type.listType.elemType)}>`;
  if (type.mapType)
    return `map<${celJsTypeName(type.mapType.keyType)}, ${celJsTypeName(type.mapType.valueType)}>`;
  if (type.null !== undefined) return "null";
  if (type.wellKnown === "TIMESTAMP" || type.messageType === "google.protobuf.Timestamp") return "timestamp";
  if (type.wellKnown === "DURATION" || type.messageType === "google.protobuf.Duration") return "duration";
  return "dyn";
}

/**
 * @param {Neutral} n
 * @returns {unknown}
 */
function celJsInput(n) {
  switch (n.t) {
    case "int":
      return n.v;
    case "uint":
      return celJsUint(n.v);
    case "double":
      return n.v;
    case "bytes":
      return new Uint8Array(Buffer.from(n.v, "hex"));
    case "list":
      return n.v.map(celJsInput);
    case "map":
      return new Map(n.v.map(([k, v]) => [celJsInput(k), celJsInput(v)]));
    case "timestamp":
      return new Date(n.v);
    case "duration":
      return celJsBase.evaluate(`duration("${n.v}s")`);
    case "message":
      throw new Error("cel-js: protobuf messages are not supported");
    default:
      return n.v;
  }
}

/** @type {(new (v: bigint) => unknown) | undefined} */
let celJsUintCtor;
/** cel-js's unsigned int, whose class it does not export. @param {bigint} v */
function celJsUint(v) {
  celJsUintCtor ??= celJsBase.evaluate("1u").constructor;
  return new /** @type {new (v: bigint) => unknown} */ (celJsUintCtor)(v);
}

/**
 * @param {unknown} v
 * @returns {Neutral}
 */
function celJsOutput(v) {
  if (v === null || v === undefined) return { t: "null", v: null };
  if (typeof v === "boolean") return { t: "bool", v };
  if (typeof v === "bigint") return { t: "int", v };
  if (typeof v === "number") return { t: "double", v };
  if (typeof v === "string") return { t: "string", v };
  if (v instanceof Uint8Array) return { t: "bytes", v: Buffer.from(v).toString("hex") };
  if (Array.isArray(v)) return { t: "list", v: v.map(celJsOutput) };
  if (v instanceof Date) return { t: "timestamp", v: v.toISOString() };
  if (v instanceof Map) return { t: "map", v: [...v].map(([k, x]) => [celJsOutput(k), celJsOutput(x)]) };
  if (v instanceof Optional) return { t: "optional", v: v.hasValue() ? show(celJsOutput(v.value())) : null };
  if (typeof v !== "object") return { t: "unknown", v: String(v) };
  // cel-js does not export these classes: they are told by name.
  const other =
    /** @type {{ valueOf(): unknown; getSeconds?(): unknown; getNanos?(): unknown; name?: unknown }} */ (v);
  const ctor = v.constructor?.name;
  if (ctor === "UnsignedInt") return { t: "uint", v: BigInt(/** @type {bigint} */ (other.valueOf())) };
  if (ctor === "Duration")
    return { t: "duration", v: Number(other.getSeconds?.() ?? 0) + Number(other.getNanos?.() ?? 0) / 1e9 };
  if (ctor === "Type") return { t: "type", v: celJsTypeValue(String(other.name)) };
  return { t: "map", v: Object.entries(v).map(([k, x]) => [{ t: "string", v: k }, celJsOutput(x)]) };
}

/** @param {string} name */
function celJsTypeValue(name) {
  return name === "timestamp"
    ? "google.protobuf.Timestamp"
    : name === "duration"
      ? "google.protobuf.Duration"
      : name;
}

/** @param {TestJson} test */
function runCelJs(test) {
  const env = celJsBase.clone({
    enableOptionalTypes: true,
    homogeneousAggregateLiterals: false,
    unlistedVariablesAreDyn: test.disableCheck === true,
  });
  const declared = new Set();
  for (const decl of test.typeEnv ?? []) {
    if (!decl.ident) continue;
    env.registerVariable(decl.name, celJsTypeName(decl.ident.type));
    declared.add(decl.name);
  }
  /** @type {Record<string, unknown>} */
  const ctx = {};
  for (const [name, b] of Object.entries(test.bindings ?? {})) {
    if (!declared.has(name)) env.registerVariable(name, "dyn");
    ctx[name] = celJsInput(fromExpected(b.value));
  }
  return celJsOutput(env.evaluate(test.expr, ctx));
}

// ---------------------------------------------------------------------------------------------------
// @bufbuild/cel

/**
 * @param {Neutral} n
 * @returns {BufInput}
 */
function bufInput(n) {
  switch (n.t) {
    case "uint":
      return buf.celUint(n.v);
    case "bytes":
      return new Uint8Array(Buffer.from(n.v, "hex"));
    case "list":
      return n.v.map(bufInput);
    case "map":
      return new Map(n.v.map(([k, v]) => [/** @type {BufKey} */ (bufInput(k)), bufInput(v)]));
    // A timestamp or duration inside a list or map: a top-level one is bound as its message.
    case "timestamp":
      return timestampFromDate(new Date(n.v));
    case "duration":
      return durationFromMs(n.v * 1000);
    case "optional":
    case "message":
      throw new Error(`@bufbuild/cel: cannot bind a ${n.t} inside a list or map`);
    default:
      return n.v;
  }
}

/** @typedef {import("@bufbuild/cel").CelInput} BufInput */
/** @typedef {bigint | string | boolean | import("@bufbuild/cel").CelUint} BufKey the keys a CEL map can have */

/** @param {ValueJson} value */
function bufBinding(value) {
  if (value.objectValue !== undefined) {
    const wrapper = fromAnyJson(value.objectValue);
    if (["timestamp", "duration", "message"].includes(wrapper.t))
      return /** @type {BufInput} */ (unpack(value.objectValue));
    return bufInput(wrapper);
  }
  return bufInput(fromExpected(value));
}

/**
 * @param {unknown} v
 * @returns {Neutral}
 */
function bufOutput(v) {
  if (buf.isCelError(v)) throw new Error(v.message);
  if (v === null) return { t: "null", v: null };
  if (typeof v === "boolean") return { t: "bool", v };
  if (typeof v === "bigint") return { t: "int", v };
  if (typeof v === "number") return { t: "double", v };
  if (typeof v === "string") return { t: "string", v };
  if (v instanceof Uint8Array) return { t: "bytes", v: Buffer.from(v).toString("hex") };
  if (buf.isCelUint(v)) return { t: "uint", v: v.value };
  if (buf.isCelList(v)) return { t: "list", v: [...v].map(bufOutput) };
  if (buf.isCelMap(v)) return { t: "map", v: [...v].map(([k, x]) => [bufOutput(k), bufOutput(x)]) };
  if (buf.isCelType(v)) return { t: "type", v: v.name };
  // A CelObject holds its message in `message`.
  const message = isMessage(v) ? v : /** @type {{ message?: unknown }} */ (v)?.message;
  if (message && isMessage(message)) {
    const json = toJson(messageSchema(message), message, { registry });
    if (message.$typeName === "google.protobuf.Timestamp")
      return { t: "timestamp", v: normaliseTimestamp(json) };
    if (message.$typeName === "google.protobuf.Duration")
      return { t: "duration", v: normaliseDuration(json) };
    return { t: "message", v: JSON.stringify(json) };
  }
  return { t: "unknown", v: String(v) };
}

/** @param {TestJson} test */
function runBuf(test) {
  const env = buf.celEnv({ registry, namespace: test.container ?? "", funcs: bufStrings });
  /** @type {Record<string, BufInput>} */
  const ctx = {};
  for (const [name, b] of Object.entries(test.bindings ?? {})) ctx[name] = bufBinding(b.value);
  const parsed = buf.parse(test.expr);
  return bufOutput(buf.plan(env, parsed)(ctx));
}

// ---------------------------------------------------------------------------------------------------

/** @type {Record<string, (test: TestJson) => Neutral>} */
const candidates = { "@bufbuild/cel": runBuf, "@marcbachmann/cel-js": runCelJs };

/**
 * @param {(test: TestJson) => Neutral} run
 * @param {TestJson} test
 * @returns {Outcome}
 */
function outcome(run, test) {
  const expectsError = test.evalError !== undefined || test.anyEvalErrors !== undefined;
  try {
    const got = run(test);
    if (expectsError) return { pass: false, why: `expected an error, got ${show(got)}` };
    if (test.value === undefined) return { pass: got.t === "bool" ? got.v === true : true };
    const want = fromExpected(test.value);
    return neutralEqual(got, want)
      ? { pass: true }
      : { pass: false, why: `want ${show(want)} got ${show(got)}` };
  } catch (error) {
    return expectsError
      ? { pass: true }
      : {
          pass: false,
          why: `error: ${String(error instanceof Error ? error.message : error).split("\n")[0]}`,
        };
  }
}

/** @type {{ section: string; tests: number; k8s: number; passed: Record<string, string> }[]} */
const rows = [];
/** @type {Record<string, { all: number; k8s: number }>} */
const totals = Object.fromEntries(Object.keys(candidates).map((c) => [c, { all: 0, k8s: 0 }]));
/** @param {string} name */
const totalOf = (name) => /** @type {{ all: number; k8s: number }} */ (totals[name]);
let totalAll = 0;
let totalK8s = 0;
for (const section of conformance.suites ?? []) {
  /** @type {TestJson[]} */
  const simple = [];
  for (const suite of section.suites ?? [])
    for (const t of suite.tests ?? [])
      simple.push(/** @type {TestJson} */ (/** @type {unknown} */ (t.original)));
  const runnable = simple.filter((t) => !t.checkOnly);
  const k8s = runnable.filter((t) => !needsProto(t, section.name));
  const row = { section: section.name, tests: runnable.length, k8s: k8s.length, passed: {} };
  /** @type {Record<string, string>} */
  const passed = row.passed;
  for (const [name, run] of Object.entries(candidates)) {
    let pass = 0;
    let passK8s = 0;
    for (const t of runnable) {
      const o = outcome(run, t);
      if (o.pass) pass++;
      if (o.pass && k8s.includes(t)) passK8s++;
      if (!o.pass && showFailures === section.name) console.log(`${name} ${t.name}: ${t.expr}\n    ${o.why}`);
    }
    passed[name] = `${pass} (${passK8s}/${k8s.length})`;
    totalOf(name).all += pass;
    totalOf(name).k8s += passK8s;
  }
  totalAll += runnable.length;
  totalK8s += k8s.length;
  rows.push(row);
}

const names = Object.keys(candidates);
/** @param {unknown} s @param {number} n */
const pad = (s, n) => String(s).padEnd(n);
console.log(
  `${pad("section", 16)}${pad("tests", 7)}${names.map((n) => pad(`${n} pass (k8s-relevant)`, 40)).join("")}`,
);
for (const r of rows)
  console.log(`${pad(r.section, 16)}${pad(r.tests, 7)}${names.map((n) => pad(r.passed[n], 40)).join("")}`);
console.log(
  `${pad("TOTAL", 16)}${pad(totalAll, 7)}${names
    .map((n) => pad(`${totalOf(n).all}/${totalAll} (${totalOf(n).k8s}/${totalK8s})`, 40))
    .join("")}`,
);
