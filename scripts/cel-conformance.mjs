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
import { anyUnpack, AnySchema } from "@bufbuild/protobuf/wkt";
import * as buf from "@bufbuild/cel";
import { strings as bufStrings } from "@bufbuild/cel/ext";
import { Environment, Optional } from "@marcbachmann/cel-js";

const registry = getTestRegistry();
const showFailures = process.argv.includes("--failures")
  ? process.argv[process.argv.indexOf("--failures") + 1]
  : undefined;

// A neutral value: every candidate's output is converted to this before comparing with the expectation.
// { t: "int"|"uint"|"double"|"string"|"bytes"|"bool"|"null"|"list"|"map"|"type"|"message", v }
function fromExpected(value) {
  if ("nullValue" in value) return { t: "null", v: null };
  if ("boolValue" in value) return { t: "bool", v: value.boolValue };
  if ("int64Value" in value) return { t: "int", v: BigInt(value.int64Value) };
  if ("uint64Value" in value) return { t: "uint", v: BigInt(value.uint64Value) };
  if ("doubleValue" in value) return { t: "double", v: Number(value.doubleValue) };
  if ("stringValue" in value) return { t: "string", v: value.stringValue };
  if ("bytesValue" in value)
    return { t: "bytes", v: Buffer.from(value.bytesValue, "base64").toString("hex") };
  if ("listValue" in value) return { t: "list", v: (value.listValue.values ?? []).map(fromExpected) };
  if ("mapValue" in value)
    return {
      t: "map",
      v: (value.mapValue.entries ?? []).map((e) => [fromExpected(e.key), fromExpected(e.value)]),
    };
  if ("typeValue" in value) return { t: "type", v: value.typeValue };
  if ("enumValue" in value) return { t: "int", v: BigInt(value.enumValue.value ?? 0) };
  if ("objectValue" in value) return fromAnyJson(value.objectValue);
  throw new Error(`unknown expected value ${JSON.stringify(value)}`);
}

function fromAnyJson(any) {
  const type = any["@type"].replace("type.googleapis.com/", "");
  const wrapper = {
    "google.protobuf.Int64Value": "int",
    "google.protobuf.Int32Value": "int",
    "google.protobuf.UInt64Value": "uint",
    "google.protobuf.UInt32Value": "uint",
    "google.protobuf.DoubleValue": "double",
    "google.protobuf.FloatValue": "double",
    "google.protobuf.StringValue": "string",
    "google.protobuf.BoolValue": "bool",
  }[type];
  if (wrapper === "int" || wrapper === "uint") return { t: wrapper, v: BigInt(any.value ?? 0) };
  if (wrapper === "double") return { t: "double", v: Number(any.value ?? 0) };
  if (wrapper) return { t: wrapper, v: any.value ?? (wrapper === "bool" ? false : "") };
  if (type === "google.protobuf.BytesValue")
    return { t: "bytes", v: Buffer.from(any.value ?? "", "base64").toString("hex") };
  if (type === "google.protobuf.Timestamp") return { t: "timestamp", v: normaliseTimestamp(any.value) };
  if (type === "google.protobuf.Duration") return { t: "duration", v: normaliseDuration(any.value) };
  const message = anyUnpack(fromJson(AnySchema, any, { registry }), registry);
  return {
    t: "message",
    v: JSON.stringify(toJson(message.$typeName ? messageSchema(message) : null, message)),
  };
}

function messageSchema(message) {
  return registry.getMessage(message.$typeName);
}

function normaliseTimestamp(s) {
  return new Date(s).toISOString();
}

function normaliseDuration(s) {
  return Number(String(s).replace(/s$/, ""));
}

function neutralEqual(a, b) {
  if (a.t !== b.t) return false;
  switch (a.t) {
    case "double":
      return Number.isNaN(a.v) ? Number.isNaN(b.v) : a.v === b.v;
    case "list":
      return a.v.length === b.v.length && a.v.every((x, i) => neutralEqual(x, b.v[i]));
    case "map":
      return (
        a.v.length === b.v.length &&
        a.v.every(([k, v]) => b.v.some(([k2, v2]) => neutralEqual(k, k2) && neutralEqual(v, v2)))
      );
    default:
      return a.v === b.v;
  }
}

function show(n) {
  return JSON.stringify(n, (_k, v) => (typeof v === "bigint" ? `${v}n` : v));
}

// Does the test depend on protobuf messages (irrelevant to Kubernetes, which binds JSON objects)?
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

function celJsTypeName(type) {
  if (!type) return "dyn";
  if (type.primitive)
    return { BOOL: "bool", INT64: "int", UINT64: "uint", DOUBLE: "double", STRING: "string", BYTES: "bytes" }[
      type.primitive
    ];
  if (type.listType) return `list<${celJsTypeName(type.listType.elemType)}>`;
  if (type.mapType)
    return `map<${celJsTypeName(type.mapType.keyType)}, ${celJsTypeName(type.mapType.valueType)}>`;
  if (type.null !== undefined) return "null";
  if (type.wellKnown === "TIMESTAMP" || type.messageType === "google.protobuf.Timestamp") return "timestamp";
  if (type.wellKnown === "DURATION" || type.messageType === "google.protobuf.Duration") return "duration";
  return "dyn";
}

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

let celJsUintCtor;
function celJsUint(v) {
  celJsUintCtor ??= celJsBase.evaluate("1u").constructor;
  return new celJsUintCtor(v);
}

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
  const ctor = v.constructor?.name;
  if (ctor === "UnsignedInt") return { t: "uint", v: BigInt(v.valueOf()) };
  if (ctor === "Duration")
    return { t: "duration", v: Number(v.getSeconds?.() ?? 0) + Number(v.getNanos?.() ?? 0) / 1e9 };
  if (ctor === "Type") return { t: "type", v: celJsTypeValue(v.name) };
  if (typeof v === "object")
    return { t: "map", v: Object.entries(v).map(([k, x]) => [{ t: "string", v: k }, celJsOutput(x)]) };
  return { t: "unknown", v: String(v) };
}

function celJsTypeValue(name) {
  return { timestamp: "google.protobuf.Timestamp", duration: "google.protobuf.Duration" }[name] ?? name;
}

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
  const ctx = {};
  for (const [name, b] of Object.entries(test.bindings ?? {})) {
    if (!declared.has(name)) env.registerVariable(name, "dyn");
    ctx[name] = celJsInput(fromExpected(b.value));
  }
  return celJsOutput(env.evaluate(test.expr, ctx));
}

// ---------------------------------------------------------------------------------------------------
// @bufbuild/cel

function bufInput(n) {
  switch (n.t) {
    case "uint":
      return buf.celUint(n.v);
    case "bytes":
      return new Uint8Array(Buffer.from(n.v, "hex"));
    case "list":
      return n.v.map(bufInput);
    case "map":
      return new Map(n.v.map(([k, v]) => [bufInput(k), bufInput(v)]));
    case "timestamp":
    case "duration":
      return n.proto;
    default:
      return n.v;
  }
}

function bufBinding(value) {
  if ("objectValue" in value) {
    const message = anyUnpack(fromJson(AnySchema, value.objectValue, { registry }), registry);
    const wrapper = fromAnyJson(value.objectValue);
    if (["timestamp", "duration", "message"].includes(wrapper.t)) return message;
    return bufInput(wrapper);
  }
  return bufInput(fromExpected(value));
}

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
  const message = isMessage(v) ? v : v.message;
  if (message && isMessage(message)) {
    const json = toJson(registry.getMessage(message.$typeName), message, { registry });
    if (message.$typeName === "google.protobuf.Timestamp")
      return { t: "timestamp", v: normaliseTimestamp(json) };
    if (message.$typeName === "google.protobuf.Duration")
      return { t: "duration", v: normaliseDuration(json) };
    return { t: "message", v: JSON.stringify(json) };
  }
  return { t: "unknown", v: String(v) };
}

function runBuf(test) {
  const env = buf.celEnv({ registry, namespace: test.container ?? "", funcs: bufStrings });
  const ctx = {};
  for (const [name, b] of Object.entries(test.bindings ?? {})) ctx[name] = bufBinding(b.value);
  const parsed = buf.parse(test.expr);
  return bufOutput(buf.plan(env, parsed)(ctx));
}

// ---------------------------------------------------------------------------------------------------

const candidates = { "@bufbuild/cel": runBuf, "@marcbachmann/cel-js": runCelJs };

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
      : { pass: false, why: `error: ${String(error.message).split("\n")[0]}` };
  }
}

const rows = [];
const totals = Object.fromEntries(Object.keys(candidates).map((c) => [c, { all: 0, k8s: 0 }]));
let totalAll = 0;
let totalK8s = 0;
for (const section of conformance.suites) {
  const simple = [];
  for (const suite of section.suites ?? []) for (const t of suite.tests ?? []) simple.push(t.original);
  const runnable = simple.filter((t) => !t.checkOnly);
  const k8s = runnable.filter((t) => !needsProto(t, section.name));
  const row = { section: section.name, tests: runnable.length, k8s: k8s.length };
  for (const [name, run] of Object.entries(candidates)) {
    let pass = 0;
    let passK8s = 0;
    for (const t of runnable) {
      const o = outcome(run, t);
      if (o.pass) pass++;
      if (o.pass && k8s.includes(t)) passK8s++;
      if (!o.pass && showFailures === section.name) console.log(`${name} ${t.name}: ${t.expr}\n    ${o.why}`);
    }
    row[name] = `${pass} (${passK8s}/${k8s.length})`;
    totals[name].all += pass;
    totals[name].k8s += passK8s;
  }
  totalAll += runnable.length;
  totalK8s += k8s.length;
  rows.push(row);
}

const names = Object.keys(candidates);
const pad = (s, n) => String(s).padEnd(n);
console.log(
  `${pad("section", 16)}${pad("tests", 7)}${names.map((n) => pad(`${n} pass (k8s-relevant)`, 40)).join("")}`,
);
for (const r of rows)
  console.log(`${pad(r.section, 16)}${pad(r.tests, 7)}${names.map((n) => pad(r[n], 40)).join("")}`);
console.log(
  `${pad("TOTAL", 16)}${pad(totalAll, 7)}${names
    .map((n) => pad(`${totals[n].all}/${totalAll} (${totals[n].k8s}/${totalK8s})`, 40))
    .join("")}`,
);
