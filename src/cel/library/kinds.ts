import { Optional } from "@marcbachmann/cel-js";
import { Duration, UnsignedInt } from "@marcbachmann/cel-js/evaluator";
import { compareCodePoints } from "./goText.js";
import { celError, type Evaluator } from "./methods.js";

/** A `type` value of cel-js: its name, except that cel-js calls null's type `null`. */
export function typeValueName(type: { name: string }): string {
  if (type.name === "null") return "null_type";
  if (type.name === "optional") return "optional_type";
  return type.name;
}

/** The cel-go name of a value's type; a registered object type (Quantity, URL…) by its own name. */
export function typeNameOf(value: unknown, evaluator: Evaluator): string {
  switch (typeof value) {
    case "string":
      return "string";
    case "bigint":
      return "int";
    case "number":
      return "double";
    case "boolean":
      return "bool";
  }
  if (value === null) return "null_type";
  if (value instanceof Uint8Array) return "bytes";
  if (value instanceof UnsignedInt) return "uint";
  if (Array.isArray(value) || value instanceof Set) return "list";
  if (value instanceof Date) return "google.protobuf.Timestamp";
  if (value instanceof Duration) return "google.protobuf.Duration";
  if (value instanceof Optional) return "optional_type";
  if (value instanceof Map || Object.getPrototypeOf(value) === Object.prototype) return "map";
  const type = evaluator.debugType(value);
  return type.name === "type" ? "type" : type.name;
}

/** The entries of a CEL map, whether cel-js holds it as a Map or as a plain object. */
export function mapEntries(value: object): [unknown, unknown][] {
  return value instanceof Map ? [...(value as Map<unknown, unknown>).entries()] : Object.entries(value);
}

/** The items of a CEL list, whether cel-js holds it as an array or as a Set. */
export function listItems(value: readonly unknown[] | ReadonlySet<unknown>): readonly unknown[] {
  return Array.isArray(value) ? value : [...(value as ReadonlySet<unknown>)];
}

function isNumber(value: unknown): value is bigint | number | UnsignedInt {
  return typeof value === "bigint" || typeof value === "number" || value instanceof UnsignedInt;
}

function numeric(value: bigint | number | UnsignedInt): bigint | number {
  return value instanceof UnsignedInt ? value.valueOf() : value;
}

function isMap(value: unknown): value is Map<unknown, unknown> | Record<string, unknown> {
  return (
    value instanceof Map ||
    (typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype)
  );
}

function isList(value: unknown): value is readonly unknown[] | ReadonlySet<unknown> {
  return Array.isArray(value) || value instanceof Set;
}

/**
 * CEL's `==` between two values of any types: numbers equal across int, uint and double, lists and
 * maps element by element, values of different types unequal (cel-go's heterogeneous equality).
 * Kubernetes' own types (Quantity, URL…) compare with their `equals`.
 */
export function celEquals(a: unknown, b: unknown): boolean {
  if (isNumber(a) && isNumber(b)) {
    // == between a bigint and a number compares their exact values.
    return numeric(a) == numeric(b);
  }
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return (
      a instanceof Uint8Array &&
      b instanceof Uint8Array &&
      a.length === b.length &&
      a.every((x, i) => x === b[i])
    );
  }
  if (a instanceof Date || b instanceof Date)
    return a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
  if (a instanceof Duration || b instanceof Duration) {
    return a instanceof Duration && b instanceof Duration && a.seconds === b.seconds && a.nanos === b.nanos;
  }
  if (a instanceof Optional || b instanceof Optional) {
    if (!(a instanceof Optional && b instanceof Optional)) return false;
    return a.hasValue() === b.hasValue() && (!a.hasValue() || celEquals(a.value(), b.value()));
  }
  if (isList(a) || isList(b)) {
    if (!(isList(a) && isList(b))) return false;
    const left = listItems(a);
    const right = listItems(b);
    return left.length === right.length && left.every((item, i) => celEquals(item, right[i]));
  }
  if (isMap(a) || isMap(b)) {
    if (!(isMap(a) && isMap(b))) return false;
    const left = mapEntries(a);
    const right = new Map(mapEntries(b));
    return (
      left.length === right.size &&
      left.every(([key, item]) => right.has(key) && celEquals(item, right.get(key)))
    );
  }
  const equals = (a as { equals?: unknown }).equals;
  return typeof equals === "function" && a.constructor === b.constructor && equals.call(a, b) === true;
}

/** The order of two values of one comparable type (cel-go's Compare); an error for anything else. */
export function celCompare(a: unknown, b: unknown): number {
  if (isNumber(a) && isNumber(b)) {
    const x = numeric(a);
    const y = numeric(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (typeof a === "string" && typeof b === "string") return Math.sign(compareCodePoints(a, b));
  if (typeof a === "boolean" && typeof b === "boolean") return a === b ? 0 : a ? 1 : -1;
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
    return Math.sign(a.length - b.length);
  }
  if (a instanceof Date && b instanceof Date) return Math.sign(a.getTime() - b.getTime());
  if (a instanceof Duration && b instanceof Duration) {
    if (a.seconds !== b.seconds) return a.seconds < b.seconds ? -1 : 1;
    return Math.sign(a.nanos - b.nanos);
  }
  throw celError("no such overload");
}

/** Whether cel-go can order values of this type at all (its traits.Comparer). */
export function isComparable(value: unknown): boolean {
  return (
    isNumber(value) ||
    typeof value === "string" ||
    typeof value === "boolean" ||
    value instanceof Uint8Array ||
    value instanceof Date ||
    value instanceof Duration
  );
}
