/**
 * Plain scalars read as numbers the way kubectl reads them: go-yaml v2's `resolve()` (resolve.go
 * in go.yaml.in/yaml/v2 2.4.2, the YAML 1.1 parser under sigs.k8s.io/yaml 1.6.0's YAMLToJSON),
 * rule for rule:
 *
 * 1. The first character gives the hint: a digit or a sign may start a number, `.` a float;
 *    anything else is never a number here.
 * 2. `.nan`, `.inf`, `+.inf`, `-.inf` (each in lower, capitalised and upper case) are NaN and the
 *    infinities. kubectl then fails on them: JSON has neither (`json: unsupported value: NaN`).
 * 3. After `.`: strconv.ParseFloat of the text as it is, underscores allowed only between digits
 *    (`.5_0` is 0.5, `._5` is a string); out of range (`.5e400`) it is a string.
 * 4. After a digit or a sign (a date such as `2027-01-31` stays a string, and is never a number
 *    anyway), every `_` is dropped, then in this order:
 *    - strconv.ParseInt(s, 0, 64): a sign, then `0x`/`0X` hex, `0o`/`0O` or a leading `0` octal
 *      (`0644` is 420, `08` is not octal), `0b`/`0B` binary, or decimal; signed 64 bits;
 *    - strconv.ParseUint(s, 0, 64): the same without a sign, up to 2^64 - 1;
 *    - a float if the regular expression below matches and ParseFloat is in range (`08` is 8,
 *      `99999999999999999999` is 1e20, `1e400` is a string);
 *    - `0b` then ParseInt(rest, 2) (`0b-101` is -5), then ParseUint(rest, 2).
 * 5. Anything else is a string. In particular there is no base 60: go-yaml v2 dropped YAML 1.1's
 *    sexagesimal numbers, so `1:30` stays the string "1:30", and so it does here.
 *
 * kubectl sends what it read as JSON and the apiserver hands the webhook that JSON, so a JS
 * number (a double) holds what the webhook sees: 64-bit integers round as JSON.parse rounds them.
 * test/fixtures/yaml11/kubectl-scalars.json holds kubectl's own answers (scripts/kubectl-yaml).
 */

/** go-yaml's `yamlStyleFloat`, matched once the underscores are gone. */
const YAML_STYLE_FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;

/** What strconv.ParseFloat accepts after a leading `.`: `_` only between two digits. */
const DOT_FLOAT = /^\.[0-9](?:_?[0-9])*(?:[eE][-+]?[0-9](?:_?[0-9])*)?$/;

const SPECIAL: ReadonlyMap<string, number> = new Map([
  ...[".nan", ".NaN", ".NAN"].map((s) => [s, Number.NaN] as const),
  ...[".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"].map((s) => [s, Number.POSITIVE_INFINITY] as const),
  ...["-.inf", "-.Inf", "-.INF"].map((s) => [s, Number.NEGATIVE_INFINITY] as const),
]);

const MAX_INT64 = (1n << 63n) - 1n;
const MAX_UINT64 = (1n << 64n) - 1n;

/** The common case, a plain decimal that no rule above reads otherwise, without BigInt. */
const SHORT_DECIMAL = /^(?:0|[1-9][0-9]{0,14})$/;

/** A number as go-yaml resolves it, and whether its tag is `!!int` (else `!!float`). */
export interface Yaml11Number {
  value: number;
  int: boolean;
  /** An integer only ParseUint read (2^63 to 2^64 - 1): go-yaml refuses it as `!!float`. */
  unsigned?: true;
}

function digitValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  const lower = code | 0x20;
  if (lower >= 0x61 && lower <= 0x7a) return lower - 0x61 + 10;
  return 99;
}

/** strconv.ParseUint's digit loop: every character a digit below `base`, at least one unless allowed. */
function digitsOf(text: string, base: number, emptyIsZero: boolean): bigint | undefined {
  if (text === "") return emptyIsZero ? 0n : undefined;
  const radix = BigInt(base);
  let n = 0n;
  for (let i = 0; i < text.length; i++) {
    const d = digitValue(text.charCodeAt(i));
    if (d >= base) return undefined;
    n = n * radix + BigInt(d);
  }
  return n;
}

/** strconv.ParseUint(text, base, 64); base 0 reads the prefix. undefined on any error. */
function parseUint(text: string, base: 0 | 2): bigint | undefined {
  if (text === "") return undefined;
  let value: bigint | undefined;
  if (base === 2) value = digitsOf(text, 2, false);
  else if (text[0] !== "0") value = digitsOf(text, 10, false);
  else {
    const prefix = text.length >= 3 ? text[1]!.toLowerCase() : "";
    if (prefix === "b") value = digitsOf(text.slice(2), 2, false);
    else if (prefix === "o") value = digitsOf(text.slice(2), 8, false);
    else if (prefix === "x") value = digitsOf(text.slice(2), 16, false);
    // `0` alone leaves no digit after the octal `0`, and is zero.
    else value = digitsOf(text.slice(1), 8, true);
  }
  return value !== undefined && value <= MAX_UINT64 ? value : undefined;
}

/** strconv.ParseInt(text, base, 64): one optional sign, then ParseUint, within int64. */
function parseInt64(text: string, base: 0 | 2): bigint | undefined {
  if (text === "") return undefined;
  const sign = text[0];
  const negative = sign === "-";
  const magnitude = parseUint(sign === "+" || sign === "-" ? text.slice(1) : text, base);
  if (magnitude === undefined) return undefined;
  if (negative) return magnitude <= MAX_INT64 + 1n ? -magnitude : undefined;
  return magnitude <= MAX_INT64 ? magnitude : undefined;
}

function finiteFloat(text: string): Yaml11Number | undefined {
  const value = Number(text);
  // ParseFloat's range error (`1e400`) leaves the scalar a string; underflow is 0, as in JS.
  return Number.isFinite(value) ? { value, int: false } : undefined;
}

/** The number go-yaml v2 reads from a plain scalar, or undefined when it reads something else. */
export function yaml11Number(scalar: string): Yaml11Number | undefined {
  const first = scalar.charCodeAt(0);
  const digit = first >= 0x30 && first <= 0x39;
  if (!digit && first !== 0x2b /* + */ && first !== 0x2d /* - */ && first !== 0x2e /* . */) return undefined;
  if (digit && SHORT_DECIMAL.test(scalar)) return { value: Number(scalar), int: true };
  const special = SPECIAL.get(scalar);
  if (special !== undefined) return { value: special, int: false };
  if (first === 0x2e) return DOT_FLOAT.test(scalar) ? finiteFloat(scalar.replaceAll("_", "")) : undefined;
  const plain = scalar.includes("_") ? scalar.replaceAll("_", "") : scalar;
  const int = parseInt64(plain, 0);
  if (int !== undefined) return { value: Number(int), int: true };
  const uint = parseUint(plain, 0);
  if (uint !== undefined) return { value: Number(uint), int: true, unsigned: true };
  if (YAML_STYLE_FLOAT.test(plain)) {
    const float = finiteFloat(plain);
    if (float) return float;
  }
  if (plain.startsWith("0b")) {
    const binary = parseInt64(plain.slice(2), 2);
    if (binary !== undefined) return { value: Number(binary), int: true };
    const ubinary = parseUint(plain.slice(2), 2);
    if (ubinary !== undefined) return { value: Number(ubinary), int: true, unsigned: true };
  }
  // go-yaml's `-0b` branch reads nothing that ParseInt(s, 0) did not already read.
  return undefined;
}
