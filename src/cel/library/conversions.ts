import type { ASTNode, Environment, TypeDeclaration } from "@marcbachmann/cel-js";
import { Duration, UnsignedInt } from "@marcbachmann/cel-js/evaluator";
import { goFormatG, goFormatShortestFixed } from "./goText.js";
import {
  celError,
  type Checker,
  type Macro,
  type MarkableNode,
  type MethodOverload,
  type Overrides,
} from "./methods.js";

/**
 * CEL's type conversions as cel-go has them, where cel-js's own differ: string(double) as Go prints
 * a double (`1.234567e+06`), string() of timestamps and durations, int() and uint() of strings as
 * strconv parses them (no `0x`, no spaces, `+1` yes), double() of strings as strconv.ParseFloat,
 * bool() of strings as strconv.ParseBool, int() of timestamps, durations and uints, duration() as
 * time.ParseDuration and timestamp() as time.Parse(RFC3339). The apiserver evaluates a conversion of
 * a literal when it compiles the expression, so an invalid one (`int('')`, `duration('1d')`) is a
 * compile error there; so here.
 */

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;
/** Year 1 and 9999-12-31T23:59:59, the range of a CEL timestamp, in Unix seconds. */
const MIN_UNIX = -62135596800;
const MAX_UNIX = 253402300799;

function conversionError(from: string, to: string): never {
  throw celError(`type conversion error from '${from}' to '${to}'`);
}

function parseInt64(text: string): bigint {
  if (!/^[+-]?[0-9]+$/.test(text)) conversionError("string", "int");
  const value = BigInt(text);
  if (value > INT64_MAX || value < INT64_MIN) conversionError("string", "int");
  return value;
}

function parseUint64(text: string): UnsignedInt {
  if (!/^[0-9]+$/.test(text)) conversionError("string", "uint");
  const value = BigInt(text);
  if (value > UINT64_MAX) conversionError("string", "uint");
  return new UnsignedInt(value);
}

/** strconv's underscoreOK: underscores only between digits. */
function underscoresOk(text: string): boolean {
  return !/(^|[^0-9a-fA-F])_|_($|[^0-9a-fA-F])/.test(text.replace(/^[+-]/, ""));
}

/** strconv.ParseFloat(text, 64): decimal and hexadecimal literals, inf and nan; out of range is an error. */
function parseFloat64(text: string): number {
  const special = /^([+-]?)(inf|infinity)$/i.exec(text);
  if (special) return special[1] === "-" ? -Infinity : Infinity;
  if (/^nan$/i.test(text)) return NaN;
  if (text.includes("_") && !underscoresOk(text)) conversionError("string", "double");
  const plain = text.replaceAll("_", "");
  let value: number;
  const hexFloat = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?[pP]([+-]?[0-9]+)$/.exec(plain);
  if (hexFloat) {
    const digits = `${hexFloat[2]}${hexFloat[3] ?? ""}`;
    if (digits === "") conversionError("string", "double");
    const exponent = Number(hexFloat[4]) - 4 * (hexFloat[3] ?? "").length;
    value = Number(BigInt(`0x${digits}`)) * 2 ** exponent * (hexFloat[1] === "-" ? -1 : 1);
  } else if (/^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/.test(plain)) {
    value = Number(plain);
  } else {
    conversionError("string", "double");
  }
  if (!Number.isFinite(value)) conversionError("string", "double");
  return value;
}

const TRUE = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const FALSE = new Set(["0", "f", "F", "FALSE", "false", "False"]);

function parseBool(text: string): boolean {
  if (TRUE.has(text)) return true;
  if (FALSE.has(text)) return false;
  return conversionError("string", "bool");
}

function doubleToInt(value: number): bigint {
  // Go compares against float64(MinInt64) and float64(MaxInt64), which is 2^63: both ends refused.
  if (!Number.isFinite(value) || value <= -(2 ** 63) || value >= 2 ** 63) throw celError("integer overflow");
  return BigInt(Math.trunc(value));
}

function doubleToUint(value: number): UnsignedInt {
  if (!Number.isFinite(value) || value < 0 || value >= 2 ** 64) throw celError("unsigned integer overflow");
  return new UnsignedInt(BigInt(Math.trunc(value)));
}

function nanosOf(duration: Duration): bigint {
  return duration.seconds * 1_000_000_000n + BigInt(duration.nanos);
}

function durationOf(nanos: bigint): Duration {
  // cel-js keeps seconds and nanos with the same sign.
  return new Duration(nanos / 1_000_000_000n, Number(nanos % 1_000_000_000n));
}

const UNITS: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n,
  μs: 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

const TWO_63 = 2n ** 63n;

/** time.ParseDuration. */
function parseDuration(text: string): Duration {
  let rest = text;
  let negative = false;
  if (rest[0] === "-" || rest[0] === "+") {
    negative = rest[0] === "-";
    rest = rest.slice(1);
  }
  if (rest === "0") return new Duration(0n, 0);
  if (rest === "") conversionError("string", "google.protobuf.Duration");
  let total = 0n;
  while (rest !== "") {
    const part = /^([0-9]*)(\.([0-9]*))?/.exec(rest)!;
    const whole = part[1]!;
    const fraction = part[3];
    if (whole === "" && (fraction === undefined || fraction === ""))
      conversionError("string", "google.protobuf.Duration");
    rest = rest.slice(part[0].length);
    const unitText = /^[^0-9.]*/.exec(rest)![0];
    const unit = UNITS[unitText];
    if (unit === undefined) conversionError("string", "google.protobuf.Duration");
    rest = rest.slice(unitText.length);
    let value = whole === "" ? 0n : BigInt(whole);
    if (value > TWO_63 / unit) conversionError("string", "google.protobuf.Duration");
    value *= unit;
    if (fraction !== undefined && fraction !== "") {
      // As Go: the fraction's first 19 digits or so, scaled in float64.
      const digits = fraction.slice(0, 18);
      const f = BigInt(digits);
      if (f > 0n) value += BigInt(Math.trunc(Number(f) * (Number(unit) / 10 ** digits.length)));
      if (value > TWO_63) conversionError("string", "google.protobuf.Duration");
    }
    total += value;
    if (total > TWO_63) conversionError("string", "google.protobuf.Duration");
  }
  if (!negative && total > TWO_63 - 1n) conversionError("string", "google.protobuf.Duration");
  return durationOf(negative ? -total : total);
}

function daysIn(month: number, year: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
}

/** time.Parse(time.RFC3339, text) (its fast path), in the range of CEL timestamps. */
function parseTimestamp(text: string): Date {
  const match =
    /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?(Z|([+-])([0-9]{2}):([0-9]{2}))$/.exec(
      text,
    );
  if (!match) conversionError("string", "google.protobuf.Timestamp");
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const valid =
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysIn(month, year) &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59;
  const offsetHours = match[10] === undefined ? 0 : Number(match[10]);
  const offsetMinutes = match[11] === undefined ? 0 : Number(match[11]);
  if (!valid || offsetHours > 23 || offsetMinutes > 59)
    conversionError("string", "google.protobuf.Timestamp");
  const offset = (match[9] === "-" ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * 60;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  const seconds = Math.floor(date.getTime() / 1000) - offset;
  if (seconds < MIN_UNIX || seconds > MAX_UNIX) throw celError("timestamp overflow");
  const millis = match[7] === undefined ? 0 : Math.floor(Number(`0${match[7]}`) * 1000);
  return new Date(seconds * 1000 + millis);
}

function timestampOfUnix(seconds: bigint): Date {
  if (seconds < BigInt(MIN_UNIX) || seconds > BigInt(MAX_UNIX)) throw celError("timestamp overflow");
  return new Date(Number(seconds) * 1000);
}

function timestampText(value: Date): string {
  return value.toISOString().replace(/\.?0*Z$/, "Z");
}

function bytesToString(bytes: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw celError("invalid UTF-8 in bytes, cannot convert to string");
  }
}

/** The runtime type name of a constant, as the conversions' overloads name their argument types. */
function constantType(value: unknown): string | undefined {
  if (typeof value === "string") return "string";
  if (typeof value === "bigint") return "int";
  if (typeof value === "number") return "double";
  if (typeof value === "boolean") return "bool";
  if (value instanceof UnsignedInt) return "uint";
  if (value instanceof Uint8Array) return "bytes";
  if (value instanceof Date) return "google.protobuf.Timestamp";
  if (value instanceof Duration) return "google.protobuf.Duration";
  return undefined;
}

/**
 * The value of an expression made of literals, negations and conversions only (`int(-1.5)`,
 * `int(double('nan'))`), which cel-go's planner computes when it compiles; undefined for anything
 * else. An error of the computation is thrown.
 */
function constantOf(node: ASTNode): { value: unknown } | undefined {
  if (node.op === "value") return { value: node.args };
  if (node.op === "-_") {
    const inner = constantOf(node.args);
    if (inner === undefined) return undefined;
    if (typeof inner.value === "bigint" || typeof inner.value === "number") return { value: -inner.value };
    return undefined;
  }
  if (node.op !== "call" || node.args[1].length !== 1) return undefined;
  const overloads = CONVERSIONS.functions?.[node.args[0]];
  const argument = constantOf(node.args[1][0]!);
  if (overloads === undefined || argument === undefined) return undefined;
  const type = constantType(argument.value);
  const chosen = overloads.find((o) => o.args[0] === type);
  return chosen === undefined ? undefined : { value: chosen.run(argument.value) };
}

/**
 * The compile-time check of a conversion: applied to constant arguments, it runs when the expression
 * is compiled (cel-go's planner does), so that its error is a compile error. `message` words it.
 */
function atCompile(
  run: MethodOverload["run"],
  message: (error: Error) => string = (e) => `program instantiation failed: ${e.message}`,
): (nodes: readonly ASTNode[]) => string | undefined {
  return (nodes) => {
    try {
      const values = nodes.map(constantOf);
      if (values.some((v) => v === undefined)) return undefined;
      run(...values.map((v) => v!.value));
      return undefined;
    } catch (error) {
      return message(error as Error);
    }
  };
}

function overload(args: readonly string[], returns: string, run: MethodOverload["run"]): MethodOverload {
  return { args, returns, run, validate: atCompile(run) };
}

const identity = (value: unknown): unknown => value;

export const CONVERSIONS: Overrides = {
  functions: {
    string: [
      overload(["string"], "string", identity),
      overload(["bool"], "string", (b: boolean) => String(b)),
      overload(["int"], "string", (i: bigint) => i.toString()),
      overload(["uint"], "string", (u: UnsignedInt) => u.valueOf().toString()),
      overload(["double"], "string", goFormatG),
      overload(["bytes"], "string", bytesToString),
      overload(["google.protobuf.Timestamp"], "string", timestampText),
      overload(
        ["google.protobuf.Duration"],
        "string",
        (d: Duration) => `${goFormatShortestFixed(Number(nanosOf(d)) / 1e9)}s`,
      ),
    ],
    int: [
      overload(["int"], "int", identity),
      overload(["uint"], "int", (u: UnsignedInt) => {
        if (u.valueOf() > INT64_MAX) throw celError("integer overflow");
        return u.valueOf();
      }),
      overload(["double"], "int", doubleToInt),
      overload(["string"], "int", parseInt64),
      overload(["google.protobuf.Timestamp"], "int", (t: Date) => BigInt(Math.floor(t.getTime() / 1000))),
      overload(["google.protobuf.Duration"], "int", nanosOf),
    ],
    uint: [
      overload(["uint"], "uint", identity),
      overload(["int"], "uint", (i: bigint) => {
        if (i < 0n) throw celError("unsigned integer overflow");
        return new UnsignedInt(i);
      }),
      overload(["double"], "uint", doubleToUint),
      overload(["string"], "uint", parseUint64),
    ],
    double: [
      overload(["double"], "double", identity),
      overload(["int"], "double", (i: bigint) => Number(i)),
      overload(["uint"], "double", (u: UnsignedInt) => Number(u.valueOf())),
      overload(["string"], "double", parseFloat64),
    ],
    bool: [overload(["bool"], "bool", identity), overload(["string"], "bool", parseBool)],
    duration: [
      overload(["google.protobuf.Duration"], "google.protobuf.Duration", identity),
      // cel-go's ValidateDurationLiterals words a bad literal its own way.
      {
        args: ["string"],
        returns: "google.protobuf.Duration",
        run: parseDuration,
        validate: literal(parseDuration, "duration"),
      },
    ],
    timestamp: [
      overload(["google.protobuf.Timestamp"], "google.protobuf.Timestamp", identity),
      overload(["int"], "google.protobuf.Timestamp", timestampOfUnix),
      {
        args: ["string"],
        returns: "google.protobuf.Timestamp",
        run: parseTimestamp,
        validate: literal(parseTimestamp, "timestamp"),
      },
    ],
  },
};

/** cel-go's ValidateDurationLiterals and ValidateTimestampLiterals word a bad literal their own way. */
function literal(
  run: (text: string) => unknown,
  name: string,
): (nodes: readonly ASTNode[]) => string | undefined {
  return atCompile(run, () => `invalid ${name} argument`);
}

/** Orders bytes as cel-go does (cel-js has no `<` on bytes). */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

export function registerConversions(env: Environment): void {
  env.registerOperator("bytes < bytes", (a: Uint8Array, b: Uint8Array) => compareBytes(a, b) < 0);
  env.registerOperator("bytes <= bytes", (a: Uint8Array, b: Uint8Array) => compareBytes(a, b) <= 0);
  env.registerOperator("bytes > bytes", (a: Uint8Array, b: Uint8Array) => compareBytes(a, b) > 0);
  env.registerOperator("bytes >= bytes", (a: Uint8Array, b: Uint8Array) => compareBytes(a, b) >= 0);
}

/** An int literal beyond int64, which cel-go's parser refuses (only 2^63 under a minus is one). */
class InvalidLiteral implements Macro {
  readonly async = false;

  constructor(private readonly node: ASTNode) {}

  typeCheck(checker: Checker): TypeDeclaration {
    throw checker.createError("invalid_literal", "invalid int literal", this.node);
  }

  evaluate(): unknown {
    throw celError("invalid int literal");
  }
}

/** Marks the int literals out of int64's range in a parsed expression (see MethodTable.prepare). */
export function markInvalidLiterals(ast: ASTNode): void {
  const stack: [unknown, unknown][] = [[ast, undefined]];
  while (stack.length > 0) {
    const [item, parent] = stack.pop()!;
    if (Array.isArray(item)) {
      for (const child of item as unknown[]) stack.push([child, parent]);
      continue;
    }
    if (typeof item !== "object" || item === null || !("op" in item) || !("args" in item)) continue;
    const node = item as ASTNode;
    if (node.op === "value" && typeof node.args === "bigint" && node.args > INT64_MAX) {
      const negated = (parent as ASTNode | undefined)?.op === "-_" && node.args === INT64_MAX + 1n;
      if (!negated)
        (node as unknown as MarkableNode).setMeta("macro", new InvalidLiteral(node)).setMeta("async", false);
    }
    stack.push([node.args, node]);
  }
}
