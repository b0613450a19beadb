import type { Environment } from "@marcbachmann/cel-js";
import { celError, type Overrides, type MethodOverload, registerNamespace } from "./methods.js";
import { registerFormat } from "./stringFormat.js";

/**
 * cel-go's strings extension at version 2, as the apiserver's base environment has it (ext.Strings(
 * ext.StringsVersion(2))): charAt, indexOf, lastIndexOf, lowerAscii, upperAscii, replace, split,
 * substring, trim, join, format and strings.quote. Indexes count code points, as cel-go's do, not
 * UTF-16 units as JavaScript's; cel-js's own versions of these methods are replaced for that reason
 * (see MethodTable). `reverse` is version 3 and not there.
 */

function outOfRange(index: bigint | number): never {
  throw celError(`index out of range: ${index}`);
}

/** Where `sub` starts in `points` at or after `from`, or -1. */
function find(points: readonly string[], sub: readonly string[], from: number): number {
  for (let at = from; at <= points.length - sub.length; at++) {
    if (sub.every((point, i) => points[at + i] === point)) return at;
  }
  return -1;
}

/** Where `sub` starts in `points` at or before `from`, or -1. */
function findLast(points: readonly string[], sub: readonly string[], from: number): number {
  for (let at = Math.min(from, points.length - sub.length); at >= 0; at--) {
    if (sub.every((point, i) => points[at + i] === point)) return at;
  }
  return -1;
}

const SURROGATE = /[\ud800-\udfff]/;
/** A non-ASCII character: without one, JavaScript's own case mapping is Go's ASCII-only one. */
const NON_ASCII = /[^\p{ASCII}]/u;

function lowerAscii(text: string): string {
  return !NON_ASCII.test(text) ? text.toLowerCase() : text.replace(/[A-Z]+/g, (c) => c.toLowerCase());
}

function upperAscii(text: string): string {
  return !NON_ASCII.test(text) ? text.toUpperCase() : text.replace(/[a-z]+/g, (c) => c.toUpperCase());
}

function indexOf(text: string, sub: string, offset: bigint): bigint {
  if (offset < 0n) outOfRange(offset);
  // Without surrogate pairs a UTF-16 index is a code point index, and the engine's search will do.
  if (!SURROGATE.test(text)) {
    const from = offset > BigInt(text.length) ? text.length : Number(offset);
    if (sub === "") return BigInt(from);
    return offset >= BigInt(text.length) ? -1n : BigInt(text.indexOf(sub, from));
  }
  const points = [...text];
  const length = BigInt(points.length);
  if (sub === "") return offset > length ? length : offset;
  if (offset >= length) return -1n;
  return BigInt(find(points, [...sub], Number(offset)));
}

function lastIndexOf(text: string, sub: string, offset: bigint): bigint {
  if (offset < 0n) outOfRange(offset);
  const points = [...text];
  const length = BigInt(points.length);
  if (sub === "") return offset > length ? length : offset;
  if (offset >= length) return -1n;
  return BigInt(findLast(points, [...sub], Number(offset)));
}

/** Go's unicode.IsSpace, which strings.TrimSpace trims (JavaScript's trim differs on U+0085, U+FEFF). */
const SPACE =
  /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/gu;

/** strings.SplitN: at most `limit` parts (all when negative), the last one holding the rest. */
function split(text: string, separator: string, limit: bigint): string[] {
  if (limit === 0n) return [];
  const parts = separator === "" ? [...text] : text.split(separator);
  if (limit < 0n || BigInt(parts.length) <= limit) return parts;
  const kept = parts.slice(0, Number(limit) - 1);
  kept.push(parts.slice(Number(limit) - 1).join(separator));
  return kept;
}

/** strings.Replace: at most `limit` replacements (all when negative); `""` matches between code points. */
function replace(text: string, from: string, to: string, limit: bigint): string {
  if (limit === 0n) return text;
  if (from === "") {
    // Go matches the empty string before every code point and at the end.
    const points = [...text];
    const slots = points.length + 1;
    const count = limit < 0n || BigInt(slots) <= limit ? slots : Number(limit);
    let out = "";
    for (let i = 0; i < points.length; i++) out += (i < count ? to : "") + points[i];
    return out + (count === slots ? to : "");
  }
  const parts = text.split(from);
  if (limit < 0n || BigInt(parts.length - 1) <= limit) return parts.join(to);
  const replaced = Number(limit) + 1;
  return parts.slice(0, replaced).join(to) + from + parts.slice(replaced).join(from);
}

function quote(text: string): string {
  const escapes: Record<string, string> = {
    "\x07": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    "\\": "\\\\",
    '"': '\\"',
  };
  // A lone surrogate is not a rune: cel-go writes U+FFFD for what is not valid UTF-8.
  const valid = text.replace(/[\ud800-\udfff]/gu, "\ufffd");
  return `"${[...valid].map((c) => escapes[c] ?? c).join("")}"`;
}

function substring(text: string, start: bigint): string {
  const points = [...text];
  if (start < 0n || start > BigInt(points.length)) outOfRange(start);
  return points.slice(Number(start)).join("");
}

function substringRange(text: string, start: bigint, end: bigint): string {
  const points = [...text];
  if (start > end) throw celError(`invalid substring range. start: ${start}, end: ${end}`);
  if (start < 0n || start > BigInt(points.length)) outOfRange(start);
  if (end < 0n || end > BigInt(points.length)) outOfRange(end);
  return points.slice(Number(start), Number(end)).join("");
}

function lastIndexOfAll(text: string, sub: string): bigint {
  const length = [...text].length;
  if (sub === "") return BigInt(length);
  // As cel-go: a byte length check first, so that the empty string gives -1, not an error.
  if (Buffer.byteLength(text) < Buffer.byteLength(sub)) return -1n;
  return lastIndexOf(text, sub, BigInt(length - 1));
}

const method = (receiver: string, args: readonly string[], returns: string, run: MethodOverload["run"]) => ({
  receiver,
  args,
  returns,
  run,
});

/** The methods of the extension that cel-js has too, with cel-go's semantics (see MethodTable). */
export const STRING_METHODS: Overrides = {
  methods: {
    indexOf: [
      method("string", ["string"], "int", (t: string, s: string) => indexOf(t, s, 0n)),
      method("string", ["string", "int"], "int", indexOf),
    ],
    lastIndexOf: [
      method("string", ["string"], "int", lastIndexOfAll),
      method("string", ["string", "int"], "int", lastIndexOf),
    ],
    lowerAscii: [method("string", [], "string", lowerAscii)],
    upperAscii: [method("string", [], "string", upperAscii)],
    trim: [method("string", [], "string", (t: string) => t.replace(SPACE, ""))],
    split: [
      method("string", ["string"], "list<string>", (t: string, s: string) => split(t, s, -1n)),
      method("string", ["string", "int"], "list<string>", split),
    ],
    substring: [
      method("string", ["int"], "string", substring),
      method("string", ["int", "int"], "string", substringRange),
    ],
  },
};

export function registerStrings(env: Environment): void {
  env.registerFunction("string.charAt(int): string", (text: string, index: bigint) => {
    const points = [...text];
    if (index < 0n || index > BigInt(points.length)) outOfRange(index);
    return points[Number(index)] ?? "";
  });
  env.registerFunction("string.replace(string, string): string", (t: string, from: string, to: string) =>
    replace(t, from, to, -1n),
  );
  env.registerFunction("string.replace(string, string, int): string", replace);
  registerFormat(env);
  const strings = registerNamespace(env, "strings");
  env.registerFunction(`${strings}.quote(string): string`, (_: unknown, text: string) => quote(text));
}
