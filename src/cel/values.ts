/**
 * JSON values as CEL sees them in the apiserver. An unstructured object holds every JSON integer as
 * an int64, so `object.spec.replicas + 1` is int arithmetic and `string(object.spec.replicas)` is
 * "3", not "3.0": integers become bigints, every other number stays a double.
 *
 * The conversion copies only what it changes. Most of an object is strings and nested maps without a
 * number below them, and those are handed through as they are; that keeps the per-request cost to a
 * walk, not a copy, for the requests that a policy matches at all.
 */
export type CelValue =
  null | boolean | bigint | number | string | readonly CelValue[] | { readonly [key: string]: CelValue };

/** Integers beyond int64 are doubles in an unstructured object too (the JSON decoder's rule). */
const INT64_MAX = 2 ** 63;

/**
 * The bigints of the integers 0 to 65535 (ports, counts, seconds: most integers of an object),
 * each made on first use and kept: a bigint is a value, so one made once is the same as a new one.
 */
const SMALL_INTEGERS: (bigint | undefined)[] = new Array<bigint | undefined>(65536);

function convertNumber(value: number): bigint | number {
  if (!Number.isInteger(value)) return value;
  if (value >= 0 && value < 65536) return (SMALL_INTEGERS[value] ??= BigInt(value));
  return Math.abs(value) < INT64_MAX ? BigInt(value) : value;
}

/** The value, or a converted copy where an integer sits somewhere below it. */
export function toCel(value: unknown): CelValue {
  if (typeof value === "number") return convertNumber(value);
  if (value === null || typeof value !== "object") {
    // undefined never comes out of JSON; it reads as null, as an absent value does.
    return (value ?? null) as CelValue;
  }
  if (Array.isArray(value)) {
    let copy: CelValue[] | undefined;
    for (let index = 0; index < value.length; index++) {
      const item: unknown = value[index];
      const converted = toCel(item);
      if (converted !== item && copy === undefined) copy = value.slice(0, index) as CelValue[];
      if (copy !== undefined) copy.push(converted);
    }
    return copy ?? (value as CelValue[]);
  }
  const record = value as Record<string, unknown>;
  let copy: Record<string, CelValue> | undefined;
  // Object.keys, not for…in: own keys only, and V8 keeps this loop monomorphic.
  const keys = Object.keys(record);
  for (let index = 0; index < keys.length; index++) {
    const key = keys[index]!;
    const item = record[key];
    const converted = toCel(item);
    if (converted !== item && copy === undefined) copy = { ...(record as Record<string, CelValue>) };
    if (copy !== undefined) copy[key] = converted;
  }
  return copy ?? (record as Record<string, CelValue>);
}
