import type { ASTNode, Environment, TypeDeclaration } from "@marcbachmann/cel-js";
import { celCompare, celEquals, isComparable, listItems } from "./kinds.js";
import { COMPARABLE_TYPES } from "./lists.js";
import {
  celError,
  type Checker,
  type Evaluator,
  type Macro,
  type MacroCall,
  type Overrides,
  registerMacro,
  registerNamespace,
  type Scope,
} from "./methods.js";

/**
 * cel-go's list extension at version 3 (ext.Lists(ext.ListsVersion(3)), in the base environment since
 * 1.34): slice, flatten, sort, sortBy, lists.range, reverse, distinct. (`first` and `last` belong to
 * the optional types library, see optionals.ts.)
 */

type List = readonly unknown[] | ReadonlySet<unknown>;

const MAX_RANGE = 1_000_000n;

function slice(list: List, start: bigint, end: bigint): unknown[] {
  const items = listItems(list);
  if (start < 0n || end < 0n)
    throw celError(`cannot slice(${start}, ${end}), negative indexes not supported`);
  if (start > end) {
    throw celError(`cannot slice(${start}, ${end}), start index must be less than or equal to end index`);
  }
  if (BigInt(items.length) < end)
    throw celError(`cannot slice(${start}, ${end}), list is length ${items.length}`);
  return items.slice(Number(start), Number(end));
}

function flatten(list: List, depth: bigint): unknown[] {
  if (depth < 0n) throw celError("level must be non-negative");
  const out: unknown[] = [];
  for (const item of listItems(list)) {
    if ((Array.isArray(item) || item instanceof Set) && depth > 0n) out.push(...flatten(item, depth - 1n));
    else out.push(item);
  }
  return out;
}

function range(count: bigint): bigint[] {
  if (count < 0n) throw celError(`lists.range: size must be non-negative, got ${count}`);
  if (count > MAX_RANGE) throw celError(`lists.range: size ${count} exceeds maximum allowed (${MAX_RANGE})`);
  return Array.from({ length: Number(count) }, (_, i) => BigInt(i));
}

function distinct(list: List): unknown[] {
  const out: unknown[] = [];
  for (const item of listItems(list)) if (!out.some((seen) => celEquals(seen, item))) out.push(item);
  return out;
}

/** The type of a sort key as cel-go tells types apart (int and double are different types). */
function keyKind(value: unknown): string {
  if (typeof value === "bigint") return "int";
  if (typeof value === "number") return "double";
  return Object.prototype.toString.call(value);
}

/**
 * cel-go's @sortByAssociatedKeys: `items` in the order of `keys`, which must be of one comparable
 * type. Go sorts with pdqsort, stable for up to 12 elements (insertion sort); this sort is stable.
 */
function sortByKeys(items: readonly unknown[], keys: readonly unknown[]): readonly unknown[] {
  if (items.length === 0) return items;
  if (!isComparable(keys[0])) throw celError("list elements must be comparable");
  const kind = keyKind(keys[0]);
  if (items.length > 1 && keys.some((key) => keyKind(key) !== kind)) {
    throw celError("list elements must have the same type");
  }
  const order = items.map((_, i) => i).sort((i, j) => celCompare(keys[i], keys[j]));
  return order.map((i) => items[i]);
}

export const EXT_LIST_METHODS: Overrides = {
  methods: {
    // Unguarded as in cel-go, so that a list of `dyn` may hold lists and other values alike.
    flatten: [
      {
        receiver: "list<list<T>>",
        args: [],
        returns: "list<T>",
        unguarded: true,
        run: (list: List) => flatten(list, 1n),
      },
    ],
    sort: COMPARABLE_TYPES.map((t) => ({
      receiver: `list<${t}>`,
      args: [],
      returns: `list<${t}>`,
      run: (list: List) => sortByKeys(listItems(list), listItems(list)),
    })),
  },
};

/** `list.sortBy(e, key)`: the list ordered by `key` of each element. */
class SortBy implements Macro {
  readonly async = false;
  readonly #receiver: ASTNode;
  readonly #variable: string;
  readonly #key: ASTNode;
  #elementType: TypeDeclaration | undefined;

  constructor(call: MacroCall) {
    this.#receiver = call.receiver!;
    const [variable, key] = call.args as [ASTNode, ASTNode];
    // cel-go's macro refuses a literal receiver when it expands, that is when it parses.
    if (this.#receiver.op === "value" || this.#receiver.op === "map") {
      throw celError(
        "sortBy can only be applied to a list, identifier, comprehension, call or select expression",
      );
    }
    if (variable.op !== "id")
      throw celError("sortBy(var, key) invalid variable: it must be a simple identifier");
    this.#variable = variable.args;
    this.#key = key;
  }

  typeCheck(checker: Checker, _macro: this, scope: Scope): TypeDeclaration {
    const listType = checker.check(this.#receiver, scope);
    if (listType.kind !== "list" && listType.kind !== "dyn") {
      throw checker.createError(
        "no_matching_overload",
        `found no matching overload for '${checker.formatType(listType)}.sortBy()'`,
        this.#receiver,
      );
    }
    this.#elementType = listType.kind === "list" ? listType.valueType! : checker.getType("dyn");
    const keyType = checker.check(this.#key, scope.forkWithVariable(this.#variable, this.#elementType));
    const comparable =
      keyType.kind === "dyn" ||
      keyType.kind === "param" ||
      (COMPARABLE_TYPES as readonly string[]).includes(keyType.name);
    if (!comparable) {
      throw checker.createError(
        "no_matching_overload",
        `found no matching overload for '@sortByAssociatedKeys' applied to 'list(${checker.formatType(keyType)})'`,
        this.#key,
      );
    }
    return listType.kind === "list" ? listType : checker.getType("list");
  }

  evaluate(evaluator: Evaluator, _macro: this, scope: Scope): unknown {
    const list = evaluator.run(this.#receiver, scope);
    if (!(Array.isArray(list) || list instanceof Set)) throw celError("no such overload: sortBy");
    const items = listItems(list);
    const keys = items.map((item) =>
      evaluator.run(
        this.#key,
        scope.forkWithVariable(this.#variable, this.#elementType!).setIterValue(item, evaluator),
      ),
    );
    return sortByKeys(items, keys);
  }
}

export function registerExtLists(env: Environment): void {
  env.registerFunction("list<T>.slice(int, int): list<T>", slice);
  env.registerFunction("list.flatten(int): list", flatten);
  env.registerFunction("list<T>.reverse(): list<T>", (list: List) => [...listItems(list)].reverse());
  env.registerFunction("list<T>.distinct(): list<T>", distinct);
  registerMacro(env, "list.sortBy(ast, ast): list", (call) => new SortBy(call));
  const lists = registerNamespace(env, "lists");
  env.registerFunction(`${lists}.range(int): list<int>`, (_: unknown, count: bigint) => range(count));
}
