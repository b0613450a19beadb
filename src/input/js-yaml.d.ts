// js-yaml exports its built-in types for building schemas ("in case user wants to create custom
// schema", its index.js), but @types/js-yaml 4.0.9 does not declare them.
import type { Type } from "js-yaml";

declare module "js-yaml" {
  // The loader's state as a listener sees it: the node's tag and anchor are there too, null when
  // it has none (an alias has neither, and no kind).
  interface State {
    tag: string | null;
    anchor: string | null;
    lineStart: number;
  }

  // js-yaml 4.3's caps, which @types/js-yaml 4.0.9 does not know (-1 lifts the merge cap).
  interface LoadOptions {
    maxDepth?: number;
    maxTotalMergeKeys?: number;
  }

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
