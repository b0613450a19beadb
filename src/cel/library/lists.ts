import { Duration, UnsignedInt } from "@marcbachmann/cel-js/evaluator";
import { celCompare, celEquals, isComparable, listItems } from "./kinds.js";
import { celError, type Overrides, type MethodOverload } from "./methods.js";

/**
 * The apiserver's own list library (k8s.io/apiserver/pkg/cel/library/lists.go) at version 0, the one
 * a new expression gets in 1.37 (version 1's `includes` is for stored expressions only until 1.38):
 * isSorted, sum, min, max on lists of comparable (sum: numeric and duration) elements, indexOf and
 * lastIndexOf on any list.
 */

type List = readonly unknown[] | ReadonlySet<unknown>;

/** The element types cel-go orders (its comparableTypes), as cel-js names them. */
export const COMPARABLE_TYPES = [
  "int",
  "uint",
  "double",
  "bool",
  "google.protobuf.Duration",
  "google.protobuf.Timestamp",
  "string",
  "bytes",
] as const;

/** An element cel-go cannot order at all is an error; two it cannot order together are skipped. */
function order(a: unknown, b: unknown): number {
  if (!isComparable(b)) throw celError("no such overload");
  try {
    return celCompare(a, b);
  } catch {
    return NaN;
  }
}

function isSorted(list: List): boolean {
  const items = listItems(list);
  for (let i = 0; i < items.length; i++) {
    if (!isComparable(items[i])) throw celError("no such overload");
    if (i > 0 && order(items[i - 1], items[i]) === 1) return false;
  }
  return true;
}

/** min (prefer = 1: replace the result when it is greater) or max (prefer = -1). */
function extreme(name: string, prefer: number): (list: List) => unknown {
  return (list) => {
    let result: unknown;
    let first = true;
    for (const item of listItems(list)) {
      if (first) {
        if (!isComparable(item)) throw celError("no such overload");
        result = item;
        first = false;
      } else if (order(result, item) === prefer) {
        result = item;
      }
    }
    if (first) throw celError(`${name} called on empty list`);
    return result;
  };
}

const INT64_MAX = 2n ** 63n - 1n;

/** The sum of a list, starting from its type's zero as cel-go does; int overflow is an error. */
function sum(zero: unknown): (list: List) => unknown {
  return (list) => {
    let total = zero;
    for (const item of listItems(list)) total = add(total, item);
    return total;
  };
}

function add(a: unknown, b: unknown): unknown {
  if (typeof a === "bigint" && typeof b === "bigint") {
    const total = a + b;
    if (total > INT64_MAX || total < -INT64_MAX - 1n) throw celError("integer overflow");
    return total;
  }
  if (a instanceof UnsignedInt && b instanceof UnsignedInt) {
    try {
      return new UnsignedInt(a.valueOf() + b.valueOf());
    } catch {
      throw celError("unsigned integer overflow");
    }
  }
  if (typeof a === "number" && typeof b === "number") return a + b;
  if (a instanceof Duration && b instanceof Duration) return a.addDuration(b);
  throw celError("no such overload");
}

function indexOf(list: List, item: unknown): bigint {
  return BigInt(listItems(list).findIndex((x) => celEquals(x, item)));
}

function lastIndexOf(list: List, item: unknown): bigint {
  return BigInt(listItems(list).findLastIndex((x) => celEquals(x, item)));
}

const ZERO: Readonly<Record<string, unknown>> = {
  int: 0n,
  uint: new UnsignedInt(0n),
  double: 0,
  "google.protobuf.Duration": new Duration(0n, 0),
};

function perType(
  types: readonly string[],
  returns: (t: string) => string,
  run: (t: string) => MethodOverload["run"],
) {
  return types.map((t) => ({ receiver: `list<${t}>`, args: [], returns: returns(t), run: run(t) }));
}

export const LIST_METHODS: Overrides = {
  methods: {
    isSorted: perType(
      COMPARABLE_TYPES,
      () => "bool",
      () => isSorted,
    ),
    sum: perType(
      Object.keys(ZERO),
      (t) => t,
      (t) => sum(ZERO[t]),
    ),
    min: perType(
      COMPARABLE_TYPES,
      (t) => t,
      () => extreme("min", 1),
    ),
    max: perType(
      COMPARABLE_TYPES,
      (t) => t,
      () => extreme("max", -1),
    ),
    indexOf: [{ receiver: "list<A>", args: ["A"], returns: "int", run: indexOf }],
    lastIndexOf: [{ receiver: "list<A>", args: ["A"], returns: "int", run: lastIndexOf }],
  },
};
