import type { ASTNode, Environment, TypeDeclaration } from "@marcbachmann/cel-js";
import { celEquals, listItems, mapEntries } from "./kinds.js";
import {
  celError,
  type Checker,
  type Evaluator,
  type Macro,
  type MacroCall,
  registerMacro,
  type Scope,
} from "./methods.js";

/**
 * cel-go's two-variable comprehensions (ext.TwoVarComprehensions(), in the base environment since
 * 1.32): all, exists, existsOne (and exists_one), transformList, transformMap and transformMapEntry
 * over a list (index, value) or a map (key, value). cel-js has no such macros, but it has macros:
 * these are registered as functions whose arguments have type `ast` (README, "Custom macros").
 */

type Kind = "all" | "exists" | "existsOne" | "transformList" | "transformMap" | "transformMapEntry";

/** The names cel-go's macros use for the accumulator; an iteration variable may not take them. */
const ACCUMULATORS = new Set(["__result__", "@result"]);

function variableName(node: ASTNode | undefined): string {
  if (node?.op !== "id") throw celError("argument must be a simple name");
  if (ACCUMULATORS.has(node.args)) throw celError("iteration variable overwrites accumulator variable");
  return node.args;
}

/** A CEL error carried as a value while `all`/`exists` look for an element that decides anyway. */
class Failure {
  constructor(readonly error: unknown) {}
}

type Truth = boolean | Failure;

function truth(evaluator: Evaluator, node: ASTNode, scope: Scope): Truth {
  try {
    const value = evaluator.run(node, scope);
    return typeof value === "boolean" ? value : new Failure(celError("no such overload"));
  } catch (error) {
    return new Failure(error);
  }
}

class TwoVariables implements Macro {
  readonly async = false;
  readonly #range: ASTNode;
  readonly #first: string;
  readonly #second: string;
  readonly #filter: ASTNode | undefined;
  readonly #body: ASTNode;
  #firstType: TypeDeclaration | undefined;
  #secondType: TypeDeclaration | undefined;

  constructor(
    private readonly kind: Kind,
    call: MacroCall,
  ) {
    this.#range = call.receiver!;
    const [first, second, ...rest] = call.args;
    this.#first = variableName(first);
    this.#second = variableName(second);
    if (this.#first === this.#second) throw celError(`duplicate variable name: ${this.#first}`);
    this.#filter = rest.length === 2 ? rest[0] : undefined;
    this.#body = rest[rest.length - 1]!;
  }

  #scope(scope: Scope): Scope {
    return scope
      .forkWithVariable(this.#first, this.#firstType!)
      .forkWithVariable(this.#second, this.#secondType!);
  }

  typeCheck(checker: Checker, _macro: this, scope: Scope): TypeDeclaration {
    const range = checker.check(this.#range, scope);
    if (range.kind === "list") {
      this.#firstType = checker.getType("int");
      this.#secondType = range.valueType!;
    } else if (range.kind === "map") {
      this.#firstType = range.keyType!;
      this.#secondType = range.valueType!;
    } else if (range.kind === "dyn") {
      this.#firstType = checker.getType("dyn");
      this.#secondType = checker.getType("dyn");
    } else {
      throw checker.createError(
        "invalid_comprehension_range",
        `expression of type '${checker.formatType(range)}' cannot be the range of a comprehension (must be list, map, or dynamic)`,
        this.#range,
      );
    }
    const inner = this.#scope(scope);
    const bool = (node: ASTNode, what: string): void => {
      const type = checker.check(node, inner);
      if (!type.isDynOrBool()) {
        throw checker.createError(
          "invalid_predicate",
          `${this.kind} ${what} must be bool, got '${checker.formatType(type)}'`,
          node,
        );
      }
    };
    if (this.#filter) bool(this.#filter, "filter");
    switch (this.kind) {
      case "all":
      case "exists":
      case "existsOne":
        bool(this.#body, "predicate");
        return checker.getType("bool");
      case "transformList":
        return checker.registry.getListType(checker.check(this.#body, inner));
      case "transformMap":
        return checker.registry.getMapType(this.#firstType, checker.check(this.#body, inner));
      case "transformMapEntry": {
        const entry = checker.check(this.#body, inner);
        if (entry.kind !== "map" && entry.kind !== "dyn") {
          throw checker.createError(
            "no_matching_overload",
            `found no matching overload for 'cel.@mapInsert' applied to 'map, ${checker.formatType(entry)}'`,
            this.#body,
          );
        }
        return entry.kind === "map" ? entry : checker.getType("map");
      }
    }
  }

  /** The (first, second) pairs of the range: index and value, or key and value. */
  #pairs(evaluator: Evaluator, scope: Scope): [unknown, unknown][] {
    const range = evaluator.run(this.#range, scope);
    if (Array.isArray(range) || range instanceof Set) return listItems(range).map((v, i) => [BigInt(i), v]);
    if (range instanceof Map || (typeof range === "object" && range !== null)) return mapEntries(range);
    throw celError(`expression cannot be the range of a comprehension (must be list, map, or dynamic)`);
  }

  #bound(evaluator: Evaluator, scope: Scope, first: unknown, second: unknown): Scope {
    return scope
      .forkWithVariable(this.#first, this.#firstType!)
      .setIterValue(first, evaluator)
      .forkWithVariable(this.#second, this.#secondType!)
      .setIterValue(second, evaluator);
  }

  evaluate(evaluator: Evaluator, _macro: this, scope: Scope): unknown {
    const pairs = this.#pairs(evaluator, scope);
    switch (this.kind) {
      case "all":
      case "exists":
        return this.#quantify(evaluator, scope, pairs, this.kind === "all");
      case "existsOne": {
        let count = 0n;
        for (const [first, second] of pairs) {
          const value = evaluator.run(this.#body, this.#bound(evaluator, scope, first, second));
          if (typeof value !== "boolean") throw celError("no such overload");
          if (value) count++;
        }
        return count === 1n;
      }
      default:
        return this.#transform(evaluator, scope, pairs);
    }
  }

  /** all (AND over the elements) or exists (OR): an error counts only if no element decides. */
  #quantify(evaluator: Evaluator, scope: Scope, pairs: [unknown, unknown][], all: boolean): boolean {
    let result: Truth = all;
    for (const [first, second] of pairs) {
      if (result === !all) break;
      const value = truth(evaluator, this.#body, this.#bound(evaluator, scope, first, second));
      if (value === !all) result = !all;
      else if (value instanceof Failure && !(result instanceof Failure)) result = value;
    }
    if (result instanceof Failure) throw result.error;
    return result;
  }

  #transform(evaluator: Evaluator, scope: Scope, pairs: [unknown, unknown][]): unknown {
    const list: unknown[] = [];
    const map = new Map<unknown, unknown>();
    const insert = (key: unknown, value: unknown): void => {
      for (const existing of map.keys()) {
        if (celEquals(existing, key)) throw celError(`insert failed: key ${String(key)} already exists`);
      }
      map.set(key, value);
    };
    for (const [first, second] of pairs) {
      const inner = this.#bound(evaluator, scope, first, second);
      if (this.#filter) {
        const keep = evaluator.run(this.#filter, inner);
        if (typeof keep !== "boolean") throw celError("no such overload");
        if (!keep) continue;
      }
      const value = evaluator.run(this.#body, inner);
      if (this.kind === "transformList") list.push(value);
      else if (this.kind === "transformMap") insert(first, value);
      else if (typeof value === "object" && value !== null && !Array.isArray(value)) {
        for (const [key, item] of mapEntries(value)) insert(key, item);
      } else {
        throw celError("no such overload: cel.@mapInsert");
      }
    }
    if (this.kind === "transformList") return list;
    // Keys other than strings (a list's indexes) need a Map; string keys stay a plain object, as
    // cel-js's own maps are.
    return [...map.keys()].every((k) => typeof k === "string") ? Object.fromEntries(map) : map;
  }
}

export function registerComprehensions(env: Environment): void {
  const macros: [string, Kind, number][] = [
    ["all", "all", 3],
    ["exists", "exists", 3],
    ["existsOne", "existsOne", 3],
    ["exists_one", "existsOne", 3],
    ["transformList", "transformList", 3],
    ["transformList", "transformList", 4],
    ["transformMap", "transformMap", 3],
    ["transformMap", "transformMap", 4],
    ["transformMapEntry", "transformMapEntry", 3],
    ["transformMapEntry", "transformMapEntry", 4],
  ];
  for (const [name, kind, arity] of macros) {
    const returns = kind === "transformList" ? "list" : kind.startsWith("transformMap") ? "map" : "bool";
    registerMacro(
      env,
      `dyn.${name}(${Array(arity).fill("ast").join(", ")}): ${returns}`,
      (call) => new TwoVariables(kind, call),
    );
  }
}
