import { Optional } from "@marcbachmann/cel-js";
import { Duration, UnsignedInt } from "@marcbachmann/cel-js/evaluator";
import type { Evaluator } from "./methods.js";

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
