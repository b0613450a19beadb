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

/** Does `narrow` keep `value` as it is, that is, has the value its type already? */
export function is<T>(narrow: Narrow<T>, value: unknown): boolean {
  return narrow(value) === value;
}

/** A narrower of objects, with the narrowers of their fields (a test walks them). */
export type ShapeNarrow<T> = Narrow<T | undefined> & { readonly fields: FieldsOf<T> };

/** A narrower of lists, with the narrower of their entries (a test walks it). */
export type ListNarrow<T> = Narrow<readonly T[] | undefined> & { readonly entry: Narrow<T | undefined> };

/**
 * An object with the fields `fields` declares; undefined when the value is not an object. When
 * `holds` finds that every field already has its type, the value itself is returned (typed, not
 * copied: fields not declared stay on it, out of the type's sight); otherwise a copy with each
 * declared field narrowed. `holds` is that test written out field by field (`is(bool,
 * v.privileged) && …`; fields kept as they came need none), so that V8 reads each field by name:
 * a loop over the names made narrowing a Pod four times slower.
 */
export function shape<T extends object>(
  fields: FieldsOf<T>,
  holds: (value: Readonly<Record<string, unknown>>) => boolean,
): ShapeNarrow<T> {
  const keys = Object.keys(fields) as (keyof T & string)[];
  const narrow = (value: unknown): T | undefined => {
    if (!isRecord(value)) return undefined;
    // `holds` checked every field T declares: the value is a T.
    if (holds(value)) return value as T;
    const copy: Partial<T> = {};
    for (const key of keys) copy[key] = fields[key](value[key]);
    return copy as T;
  };
  return Object.assign(narrow, { fields });
}

/**
 * A list of objects. An entry that is not an object reads as `empty`, an entry with no fields
 * set, so that every entry keeps its index: field paths name entries by it (`ports[2]`).
 */
export function listOf<T extends object>(entry: Narrow<T | undefined>, empty: T): ListNarrow<T> {
  const narrow = (value: unknown): readonly T[] | undefined => {
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
  return Object.assign(narrow, { entry });
}
