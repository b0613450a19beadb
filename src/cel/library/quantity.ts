import type { Environment } from "@marcbachmann/cel-js";
import { celError } from "./methods.js";

/**
 * The apiserver's quantity library (k8s.io/apiserver/pkg/cel/library/quantity.go) over a port of
 * resource.Quantity (k8s.io/apimachinery/pkg/api/resource): the same parsing, the same two
 * representations (an int64 with a decimal exponent, or an arbitrary decimal once a value does not
 * fit), because what `isInteger()` and `asApproximateFloat()` give depends on which one a value has,
 * not only on the number: `quantity('1000m').isInteger()` is false there, and so here.
 */

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);
/** Digits an int64 always holds (resource's maxInt64Factors). */
const MAX_INT64_FACTORS = 18;
/** The smallest scale a quantity keeps: nano (10^-9). */
const NANO = -9;

const FORMAT_WRONG =
  "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
const NUMERIC = "unable to parse numeric part of quantity";
const SUFFIX = "unable to parse quantity's suffix";

const DECIMAL_SUFFIXES: Readonly<Record<string, number>> = {
  n: -9,
  u: -6,
  m: -3,
  "": 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};
const BINARY_SUFFIXES: Readonly<Record<string, number>> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };

function inInt64(value: bigint): boolean {
  return value >= INT64_MIN && value <= INT64_MAX;
}

/** base × 10^scale if it fits an int64 (resource's positiveScaleInt64). */
function scaleUp(base: bigint, scale: number): bigint | undefined {
  if (base === 0n) return 0n;
  if (scale > MAX_INT64_FACTORS) return undefined; // 10^19 and more never fit, however large the scale
  const value = base * 10n ** BigInt(scale);
  return inInt64(value) ? value : undefined;
}

/**
 * A resource.Quantity: unscaled × 10^exponent, held as an int64 amount (`decimal` false, the fast
 * path) or as an inf.Dec (`decimal` true). `derived` marks the results of add() and sub(), which the
 * apiserver hands out as pointers, and its Quantity.Equal refuses a pointer on the right.
 */
export class Quantity {
  constructor(
    readonly decimal: boolean,
    readonly unscaled: bigint,
    readonly exponent: number,
    readonly derived = false,
  ) {}

  compare(other: Quantity): number {
    const sign = Number(this.sign);
    if (sign !== Number(other.sign)) return sign > Number(other.sign) ? 1 : -1;
    if (sign === 0) return 0;
    // Different magnitudes decide without scaling (an exponent may be in the millions).
    const magnitude = digits(this.unscaled) + this.exponent - (digits(other.unscaled) + other.exponent);
    if (magnitude !== 0) return magnitude > 0 ? sign : -sign;
    const exponent = Math.min(this.exponent, other.exponent);
    const a = this.unscaled * 10n ** BigInt(this.exponent - exponent);
    const b = other.unscaled * 10n ** BigInt(other.exponent - exponent);
    return a < b ? -1 : a > b ? 1 : 0;
  }

  /** resource.Quantity.Equal, with the apiserver's refusal of a computed quantity on the right. */
  equals(other: Quantity): boolean {
    if (other.derived) throw celError("no such overload");
    return this.compare(other) === 0;
  }

  get sign(): bigint {
    return this.unscaled === 0n ? 0n : this.unscaled > 0n ? 1n : -1n;
  }

  /** Quantity.AsInt64: only an int64 amount at a scale of zero or more that still fits. */
  asInt64(): bigint | undefined {
    if (this.decimal || this.exponent < 0) return undefined;
    if (this.unscaled === 0n) return 0n;
    return this.exponent > MAX_INT64_FACTORS ? undefined : scaleUp(this.unscaled, this.exponent);
  }

  /** Quantity.AsApproximateFloat64: the unscaled value as a double times Go's math.Pow10. */
  asApproximateFloat(): number {
    const base = Number(this.unscaled);
    return this.exponent === 0 ? base : base * pow10(this.exponent);
  }

  /** Quantity.Add (sub: the other negated), keeping an int64 amount while the sum fits one. */
  add(other: Quantity, negate = false): Quantity {
    const b = negate ? -other.unscaled : other.unscaled;
    if (!this.decimal && !other.decimal) {
      const fast = addAmounts(this.unscaled, this.exponent, b, other.exponent);
      if (fast !== undefined) return new Quantity(false, fast[0], fast[1], true);
    }
    // inf.Dec addition: the result has the finer of the two scales.
    const exponent = Math.min(this.exponent, other.exponent);
    checkScale(Math.max(this.exponent, other.exponent) - exponent);
    const unscaled =
      this.unscaled * 10n ** BigInt(this.exponent - exponent) + b * 10n ** BigInt(other.exponent - exponent);
    return new Quantity(true, unscaled, exponent, true);
  }
}

function digits(value: bigint): number {
  return (value < 0n ? -value : value).toString().length;
}

/**
 * The apiserver computes with 10^scale as a big integer too; a scale this large takes it minutes
 * and gigabytes. tollgate gives an error instead.
 */
const MAX_SCALE = 100_000;

function checkScale(scale: number): void {
  if (Math.abs(scale) > MAX_SCALE) throw celError(`quantity out of range: a scale of 10^${scale}`);
}

/** int64Amount.Add: the sum as an int64 amount, or undefined when it would overflow. */
function addAmounts(a: bigint, aScale: number, b: bigint, bScale: number): [bigint, number] | undefined {
  if (b === 0n) return [a, aScale];
  if (a === 0n) return [b, bScale];
  if (aScale === bScale) return inInt64(a + b) ? [a + b, aScale] : undefined;
  if (aScale > bScale) {
    const scaled = scaleUp(a, aScale - bScale);
    return scaled !== undefined && inInt64(scaled + b) ? [scaled + b, bScale] : undefined;
  }
  const scaled = scaleUp(b, bScale - aScale);
  return scaled !== undefined && inInt64(a + scaled) ? [a + scaled, aScale] : undefined;
}

const POW10 = Array.from({ length: 32 }, (_, i) => Number(`1e${i}`));
const POW10_POSITIVE_32 = Array.from({ length: 10 }, (_, i) => Number(`1e${i * 32}`));
const POW10_NEGATIVE_32 = Array.from({ length: 11 }, (_, i) => Number(`1e-${i * 32}`));

/** Go's math.Pow10, with its tables, so that the products round as there. */
function pow10(n: number): number {
  if (n >= 0 && n <= 308) return POW10_POSITIVE_32[Math.floor(n / 32)]! * POW10[n % 32]!;
  if (n < 0 && n >= -323) return POW10_NEGATIVE_32[Math.floor(-n / 32)]! / POW10[-n % 32]!;
  return n > 0 ? Infinity : 0;
}

interface Parts {
  positive: boolean;
  /** The numeric part as written, sign included. */
  value: string;
  num: string;
  denom: string;
  suffix: string;
}

/** resource's parseQuantityString. */
function parts(text: string): Parts {
  let positive = true;
  let at = 0;
  if (text[0] === "-" || text[0] === "+") {
    positive = text[0] === "+";
    at++;
  }
  while (at < text.length && text[at] === "0") at++;
  if (at >= text.length) return { positive, value: "0", num: "0", denom: "", suffix: "" };
  const numStart = at;
  while (at < text.length && /[0-9]/.test(text[at]!)) at++;
  if (at >= text.length) return { positive, value: text, num: text.slice(numStart), denom: "", suffix: "" };
  const num = text.slice(numStart, at) || "0";
  let denom = "";
  if (text[at] === ".") {
    at++;
    const denomStart = at;
    while (at < text.length && /[0-9]/.test(text[at]!)) at++;
    denom = text.slice(denomStart, at);
    if (at >= text.length) return { positive, value: text, num, denom, suffix: "" };
  }
  const value = text.slice(0, at);
  const suffixStart = at;
  while (at < text.length && "eEinumkKMGTP".includes(text[at]!)) at++;
  if (text[at] === "-" || text[at] === "+") at++;
  while (at < text.length && /[0-9]/.test(text[at]!)) at++;
  if (at < text.length) throw celError(FORMAT_WRONG);
  return { positive, value, num, denom, suffix: text.slice(suffixStart) };
}

/** The suffix's base and exponent, and whether it is a binary one. */
function interpret(suffix: string): {
  base: 2 | 10;
  exponent: number;
  binary: boolean;
  exponential: boolean;
} {
  const decimal = DECIMAL_SUFFIXES[suffix];
  if (decimal !== undefined) return { base: 10, exponent: decimal, binary: false, exponential: false };
  const binary = BINARY_SUFFIXES[suffix];
  if (binary !== undefined) return { base: 2, exponent: binary, binary: true, exponential: false };
  if (
    suffix.length > 1 &&
    (suffix[0] === "e" || suffix[0] === "E") &&
    /^[+-]?[0-9]+$/.test(suffix.slice(1))
  ) {
    const exponent = BigInt(suffix.slice(1));
    // Go parses an int64 and keeps its low 32 bits.
    if (inInt64(exponent))
      return { base: 10, exponent: Number(BigInt.asIntN(32, exponent)), binary: false, exponential: true };
  }
  throw celError(SUFFIX);
}

/** resource.ParseQuantity. */
export function parseQuantity(text: string): Quantity {
  if (text === "") throw celError(FORMAT_WRONG);
  if (text === "0") return new Quantity(false, 0n, 0);
  const { positive, value, num, denom, suffix } = parts(text);
  const { base, exponent, binary } = interpret(suffix);

  let precision: number;
  let scale = 0;
  let mantissa = 1n;
  if (!binary) {
    scale = exponent;
    precision = MAX_INT64_FACTORS - (num.length + denom.length);
  } else if (exponent >= 0 && denom.length === 0) {
    mantissa = 1n << BigInt(exponent);
    // 1Mi (2^20) has about 6 decimal digits: exponent*3/10 - 1, as resource estimates it.
    precision = 15 - num.length - Math.trunc((exponent * 3) / 10) - 1;
  } else {
    precision = -1;
  }
  if (precision >= 0) {
    scale -= denom.length;
    if (scale >= NANO) {
      const shifted = BigInt(num + denom);
      if (!inInt64(shifted)) throw celError(NUMERIC);
      const result = shifted * mantissa;
      if (inInt64(result)) return new Quantity(false, positive ? result : -result, scale);
    }
  }

  // The arbitrary-precision path (inf.Dec): the digits as written, then the suffix applied.
  const match = /^([+-]?)([0-9]*)(?:\.([0-9]*))?$/.exec(value);
  const written = match === null ? "" : match[2]! + (match[3] ?? "");
  if (match === null || written === "") throw celError(NUMERIC);
  let unscaled = BigInt(written) * (match[1] === "-" ? -1n : 1n);
  let decimals = (match[3] ?? "").length;
  if (base === 10) decimals -= exponent;
  else unscaled *= 1n << BigInt(exponent);
  checkScale(decimals > 9 ? 0 : 9 - decimals);
  const negative = unscaled < 0n;
  if (negative) unscaled = -unscaled;
  if (unscaled !== 0n) {
    // Rounded up to nano units, and then held at scale 9 (inf.Dec's Round sets the scale).
    if (decimals - 9 > digits(unscaled)) {
      unscaled = 1n; // far below a nano unit: rounded up to one
    } else if (decimals > 9) {
      const divisor = 10n ** BigInt(decimals - 9);
      unscaled = (unscaled + divisor - 1n) / divisor;
    } else {
      unscaled *= 10n ** BigInt(9 - decimals);
    }
    decimals = 9;
  }
  if (binary && unscaled > INT64_MAX * 10n ** BigInt(decimals)) {
    unscaled = INT64_MAX;
    decimals = 0;
  }
  return new Quantity(true, negative ? -unscaled : unscaled, -decimals);
}

/** The most parsed texts kept, and the longest text kept (a quantity is a few characters). */
const MAX_PARSED = 512;
const MAX_PARSED_LENGTH = 64;
const parsed = new Map<string, Quantity>();

/**
 * parseQuantity, remembering what it parsed: a Quantity never changes once made, so a text gives
 * the same value each time, and a policy comparing with `quantity('4Gi')` or reading the same
 * limits on every request need not parse them again. Errors are not kept; they are thrown anew.
 */
function quantityOf(text: string): Quantity {
  const known = parsed.get(text);
  if (known !== undefined) return known;
  const quantity = parseQuantity(text);
  if (text.length <= MAX_PARSED_LENGTH) {
    if (parsed.size >= MAX_PARSED) parsed.clear();
    parsed.set(text, quantity);
  }
  return quantity;
}

export function registerQuantity(env: Environment): void {
  env.registerType("kubernetes.Quantity", Quantity);
  env.registerFunction("quantity(string): kubernetes.Quantity", quantityOf);
  env.registerFunction("isQuantity(string): bool", (text: string) => {
    try {
      quantityOf(text);
      return true;
    } catch {
      return false;
    }
  });
  env.registerFunction("sign(kubernetes.Quantity): int", (q: Quantity) => q.sign);
  env.registerFunction(
    "kubernetes.Quantity.isGreaterThan(kubernetes.Quantity): bool",
    (a: Quantity, b: Quantity) => a.compare(b) === 1,
  );
  env.registerFunction(
    "kubernetes.Quantity.isLessThan(kubernetes.Quantity): bool",
    (a: Quantity, b: Quantity) => a.compare(b) === -1,
  );
  env.registerFunction(
    "kubernetes.Quantity.compareTo(kubernetes.Quantity): int",
    (a: Quantity, b: Quantity) => BigInt(a.compare(b)),
  );
  env.registerFunction("kubernetes.Quantity.asApproximateFloat(): double", (q: Quantity) =>
    q.asApproximateFloat(),
  );
  env.registerFunction("kubernetes.Quantity.asInteger(): int", (q: Quantity) => {
    const value = q.asInt64();
    if (value === undefined) throw celError("cannot convert value to integer");
    return value;
  });
  env.registerFunction("kubernetes.Quantity.isInteger(): bool", (q: Quantity) => q.asInt64() !== undefined);
  env.registerFunction(
    "kubernetes.Quantity.add(kubernetes.Quantity): kubernetes.Quantity",
    (a: Quantity, b: Quantity) => a.add(b),
  );
  env.registerFunction("kubernetes.Quantity.add(int): kubernetes.Quantity", (a: Quantity, b: bigint) =>
    a.add(new Quantity(false, b, 0)),
  );
  env.registerFunction(
    "kubernetes.Quantity.sub(kubernetes.Quantity): kubernetes.Quantity",
    (a: Quantity, b: Quantity) => a.add(b, true),
  );
  env.registerFunction("kubernetes.Quantity.sub(int): kubernetes.Quantity", (a: Quantity, b: bigint) =>
    a.add(new Quantity(false, b, 0), true),
  );
  env.registerOperator("kubernetes.Quantity == kubernetes.Quantity", (a: Quantity, b: Quantity) =>
    a.equals(b),
  );
}
