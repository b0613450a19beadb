import type { Environment } from "@marcbachmann/cel-js";

type Comparable = bigint | number | string | boolean;

function compare(a: Comparable, b: Comparable): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The apiserver's own list library (k8s.io/apiserver/pkg/cel/library/lists.go): isSorted, sum, min,
 * max, indexOf, lastIndexOf. `min` and `max` of an empty list are errors there, and here.
 */
export function registerLists(env: Environment): void {
  env.registerFunction("list<V>.isSorted(): bool", (list: Comparable[]) => {
    for (let index = 1; index < list.length; index++) {
      if (compare(list[index - 1]!, list[index]!) > 0) return false;
    }
    return true;
  });
  env.registerFunction("list<V>.min(): V", (list: Comparable[]) => {
    if (list.length === 0) throw new Error("min called on empty list");
    return list.reduce((low, item) => (compare(item, low) < 0 ? item : low));
  });
  env.registerFunction("list<V>.max(): V", (list: Comparable[]) => {
    if (list.length === 0) throw new Error("max called on empty list");
    return list.reduce((high, item) => (compare(item, high) > 0 ? item : high));
  });
}
