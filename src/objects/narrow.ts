import { isRecord } from "./object.js";

/**
 * Narrows a raw JSON value to `T`: returns the value itself when it already is one, and otherwise
 * what it reads as. Never throws and never changes the value it is given.
 */
export type Narrow<T> = (value: unknown) => T;

/** One narrower per field of `T`, so that no field a type declares goes unchecked. */
export type FieldsOf<T> = { readonly [K in keyof Required<T>]: Narrow<T[K]> };

export const bool: Narrow<boolean | undefined> = (value) => (typeof value === "boolean" ? value : undefined);
export const num: Narrow<number | undefined> = (value) => (typeof value === "number" ? value : undefined);
export const str: Narrow<string | undefined> = (value) => (typeof value === "string" ? value : undefined);

/** Any value, kept as it came: for fields judged whatever their type. */
export const asIs: Narrow<unknown> = (value) => value;

/** Any object; its fields are not looked at. */
export const record: Narrow<Readonly<Record<string, unknown>> | undefined> = (value) =>
  isRecord(value) ? value : undefined;

/** Any list; its entries are not looked at. */
export const list: Narrow<readonly unknown[] | undefined> = (value) =>
  Array.isArray(value) ? value : undefined;

/** A list of strings; entries of another type are left out. */
export const strings: Narrow<readonly string[] | undefined> = (value) => {
  if (!Array.isArray(value)) return undefined;
  for (const entry of value) {
    if (typeof entry !== "string") return value.filter((e): e is string => typeof e === "string");
  }
  return value as string[];
};

/** A map of strings (labels, annotations, a node selector); values of another type are left out. */
export const stringMap: Narrow<Readonly<Record<string, string>> | undefined> = (value) => {
  if (!isRecord(value)) return undefined;
  for (const key in value) {
    // fromEntries, not assignment: a `__proto__` key stays a key.
    if (typeof value[key] !== "string") {
      const kept = Object.entries(value).filter(
        (entry): entry is [string, string] => typeof entry[1] === "string",
      );
      return Object.fromEntries(kept);
    }
  }
  return value as Record<string, string>;
};

/**
 * An object with the fields `fields` declares: undefined when the value is not an object. When
 * every field already has its type, the value itself is returned (typed, not copied: fields not
 * declared stay on it, out of the type's sight); otherwise a copy with the declared fields narrowed.
 */
export function shape<T extends object>(fields: FieldsOf<T>): Narrow<T | undefined> {
  const keys = Object.keys(fields) as (keyof T & string)[];
  return (value) => {
    if (!isRecord(value)) return undefined;
    let copy: Record<string, unknown> | undefined;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const raw = value[key];
      const narrowed = fields[key](raw);
      if (copy) copy[key] = narrowed;
      else if (narrowed !== raw) {
        copy = {};
        for (let j = 0; j < i; j++) copy[keys[j]!] = value[keys[j]!];
        copy[key] = narrowed;
      }
    }
    // Every field T declares was narrowed above: the value (or its copy) is a T.
    return (copy ?? value) as T;
  };
}

/**
 * A list of objects. An entry that is not an object reads as `empty`, an entry with no fields
 * set, so that every entry keeps its index: field paths name entries by it (`ports[2]`).
 */
export function listOf<T extends object>(
  entry: Narrow<T | undefined>,
  empty: T,
): Narrow<readonly T[] | undefined> {
  return (value) => {
    if (!Array.isArray(value)) return undefined;
    let copy: T[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const raw: unknown = value[i];
      const narrowed = entry(raw) ?? empty;
      if (copy) copy.push(narrowed);
      else if (narrowed !== raw) {
        copy = value.slice(0, i) as T[];
        copy.push(narrowed);
      }
    }
    return copy ?? (value as T[]);
  };
}
