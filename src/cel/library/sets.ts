import type { Environment } from "@marcbachmann/cel-js";
import { celEquals, listItems } from "./kinds.js";
import { registerNamespace } from "./methods.js";

/**
 * cel-go's sets extension (ext.Sets(), in the base environment since 1.29): sets.contains,
 * sets.equivalent and sets.intersects on lists, with CEL equality (1 and 1.0 are the same element).
 */

type List = readonly unknown[] | ReadonlySet<unknown>;

function contains(list: List, sublist: List): boolean {
  const items = listItems(list);
  return listItems(sublist).every((item) => items.some((x) => celEquals(x, item)));
}

export function registerSets(env: Environment): void {
  const sets = registerNamespace(env, "sets");
  env.registerFunction(`${sets}.contains(list<T>, list<T>): bool`, (_: unknown, a: List, b: List) =>
    contains(a, b),
  );
  env.registerFunction(
    `${sets}.equivalent(list<T>, list<T>): bool`,
    (_: unknown, a: List, b: List) => contains(a, b) && contains(b, a),
  );
  env.registerFunction(`${sets}.intersects(list<T>, list<T>): bool`, (_: unknown, a: List, b: List) => {
    const items = listItems(b);
    return listItems(a).some((item) => items.some((x) => celEquals(x, item)));
  });
}
