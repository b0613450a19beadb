// js-yaml exports its built-in types for building schemas ("in case user wants to create custom
// schema", its index.js), but @types/js-yaml 4.0.9 does not declare them.
import type { Type } from "js-yaml";

declare module "js-yaml" {
  export const types: Readonly<
    Record<
      | "binary"
      | "bool"
      | "float"
      | "int"
      | "map"
      | "merge"
      | "null"
      | "omap"
      | "pairs"
      | "seq"
      | "set"
      | "str"
      | "timestamp",
      Type
    >
  >;
}
