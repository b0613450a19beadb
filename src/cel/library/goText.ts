/**
 * Text as Go writes it, for the functions whose output the apiserver's cel-go takes from Go's
 * formatting: `%q` quoting (strconv.Quote), shortest float formatting (strconv.FormatFloat 'g' and 'f'
 * with precision -1), exact fixed-point digits (fmt `%.Nf`), and the en-US number formatting of
 * golang.org/x/text/message that strings.format's `%f` and `%e` go through.
 */

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

/** strconv.Quote: `"…"` with Go's escapes; printable characters (unicode.IsPrint) stay as they are. */
export function goQuote(text: string): string {
  let out = '"';
  for (const char of text) {
    const code = char.codePointAt(0)!;
    switch (char) {
      case '"':
        out += '\\"';
        continue;
      case "\\":
        out += "\\\\";
        continue;
      case "\x07":
        out += "\\a";
        continue;
      case "\b":
        out += "\\b";
        continue;
      case "\f":
        out += "\\f";
        continue;
      case "\n":
        out += "\\n";
        continue;
      case "\r":
        out += "\\r";
        continue;
      case "\t":
        out += "\\t";
        continue;
      case "\v":
        out += "\\v";
        continue;
    }
    if (PRINTABLE.test(char)) out += char;
    else if (code < 0x80) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else if (code < 0x10000) out += `\\u${code.toString(16).padStart(4, "0")}`;
    else out += `\\U${code.toString(16).padStart(8, "0")}`;
  }
  return `${out}"`;
}

/** Compares strings by code point, which is Go's (UTF-8 byte) order; JS compares UTF-16 units. */
export function compareCodePoints(a: string, b: string): number {
  const left = a[Symbol.iterator]();
  const right = b[Symbol.iterator]();
  for (;;) {
    const x = left.next();
    const y = right.next();
    if (x.done || y.done) return x.done === y.done ? 0 : x.done ? -1 : 1;
    const difference = x.value.codePointAt(0)! - y.value.codePointAt(0)!;
    if (difference !== 0) return difference;
  }
}

/** The shortest digits that identify `x` (> 0) and the position of the decimal point after the first. */
function shortestDigits(x: number): { digits: string; exponent: number } {
  const [mantissa, exponent] = x.toExponential().split("e") as [string, string];
  return { digits: mantissa.replace(".", ""), exponent: Number(exponent) };
}

function positional(digits: string, exponent: number): string {
  const point = exponent + 1;
  if (point <= 0) return `0.${"0".repeat(-point)}${digits}`;
  if (point >= digits.length) return digits + "0".repeat(point - digits.length);
  return `${digits.slice(0, point)}.${digits.slice(point)}`;
}

function goExponent(exponent: number): string {
  const sign = exponent < 0 ? "-" : "+";
  return `e${sign}${String(Math.abs(exponent)).padStart(2, "0")}`;
}

/** strconv.FormatFloat(x, 'g', -1, 64), which is how cel-go turns a double into a string. */
export function goFormatG(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "+Inf";
  if (x === -Infinity) return "-Inf";
  const sign = x < 0 || Object.is(x, -0) ? "-" : "";
  if (x === 0) return `${sign}0`;
  const { digits, exponent } = shortestDigits(Math.abs(x));
  // Go switches to the exponent form from 1e6 on (precision -1 decides as precision 6 would).
  if (exponent < -4 || exponent >= 6) {
    const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${mantissa}${goExponent(exponent)}`;
  }
  return sign + positional(digits, exponent);
}

/** strconv.FormatFloat(x, 'f', -1, 64): the shortest digits, never an exponent. */
export function goFormatShortestFixed(x: number): string {
  if (x === 0) return Object.is(x, -0) ? "-0" : "0";
  const { digits, exponent } = shortestDigits(Math.abs(x));
  return (x < 0 ? "-" : "") + positional(digits, exponent);
}

/** |x| exactly, as digits / 10^scale: every finite double has a finite decimal expansion. */
function exactDecimal(x: number): { digits: bigint; scale: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, Math.abs(x));
  const bits = view.getBigUint64(0);
  const biased = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  const mantissa = biased === 0 ? fraction : fraction | (1n << 52n);
  const exponent = (biased === 0 ? 1 : biased) - 1075;
  if (exponent >= 0) return { digits: mantissa << BigInt(exponent), scale: 0 };
  return { digits: mantissa * 5n ** BigInt(-exponent), scale: -exponent };
}

/** digits / 10^drop, rounded half to even (the exact value decides, as Go's conversions do). */
function roundDrop(digits: bigint, drop: number): bigint {
  if (drop <= 0) return digits * 10n ** BigInt(-drop);
  const divisor = 10n ** BigInt(drop);
  const quotient = digits / divisor;
  const twice = (digits % divisor) * 2n;
  return twice > divisor || (twice === divisor && quotient % 2n === 1n) ? quotient + 1n : quotient;
}

/** The integer and fraction digits of |x| rounded to `precision` decimals. */
function fixedParts(x: number, precision: number): { whole: string; fraction: string } {
  const { digits, scale } = exactDecimal(x);
  const rounded = roundDrop(digits, scale - precision)
    .toString()
    .padStart(precision + 1, "0");
  return {
    whole: rounded.slice(0, rounded.length - precision),
    fraction: rounded.slice(rounded.length - precision),
  };
}

/** fmt's `%.Nf`: exact digits, `+Inf`, `-Inf`, `NaN`, and a sign on negative zero. */
export function goFixed(x: number, precision: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "+Inf" : "-Inf";
  const { whole, fraction } = fixedParts(x, precision);
  const sign = x < 0 || Object.is(x, -0) ? "-" : "";
  return precision === 0 ? sign + whole : `${sign}${whole}.${fraction}`;
}

function grouped(whole: string): string {
  return whole.replace(/\B(?=(\d{3})+$)/g, ",");
}

/** x/text writes a sign for every negative value, even one shown as zero, but not for -0.0. */
function localizedSign(x: number): string {
  return x < 0 ? "-" : "";
}

/** x/text/message's en-US `%.Nf`: digit grouping, `∞` for infinities. */
export function localizedFixed(x: number, precision: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "∞" : "-∞";
  const { whole, fraction } = fixedParts(x, precision);
  const sign = localizedSign(x);
  return precision === 0 ? sign + grouped(whole) : `${sign}${grouped(whole)}.${fraction}`;
}

const SUPERSCRIPT: Record<string, string> = {
  "0": "⁰",
  "1": "¹",
  "2": "²",
  "3": "³",
  "4": "⁴",
  "5": "⁵",
  "6": "⁶",
  "7": "⁷",
  "8": "⁸",
  "9": "⁹",
};

/**
 * x/text/message's en-US rendering of cel-go's `%6e` (cel-go writes the width where it means the
 * precision, so the precision is always 6): `1.234567×10⁰⁶`, padded to six characters.
 */
export function localizedScientific(x: number): string {
  let text: string;
  if (Number.isNaN(x)) text = "NaN";
  else if (!Number.isFinite(x)) text = x > 0 ? "∞" : "-∞";
  else {
    const { digits, scale } = exactDecimal(x);
    let mantissa = "0000000";
    let exponent = 0;
    if (digits !== 0n) {
      const length = digits.toString().length;
      exponent = length - 1 - scale;
      let rounded = roundDrop(digits, length - 7);
      if (rounded === 10_000_000n) {
        rounded = 1_000_000n;
        exponent += 1;
      }
      mantissa = rounded.toString();
    }
    const power = String(Math.abs(exponent))
      .padStart(2, "0")
      .replace(/\d/g, (d) => SUPERSCRIPT[d]!);
    text = `${localizedSign(x)}${mantissa[0]}.${mantissa.slice(1)}×10${exponent < 0 ? "⁻" : ""}${power}`;
  }
  return [...text].length >= 6 ? text : text.padStart(6 - [...text].length + text.length, " ");
}
