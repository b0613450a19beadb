import { type ASTNode, type Environment, Optional, type TypeDeclaration } from "@marcbachmann/cel-js";
import { Duration, UnsignedInt } from "@marcbachmann/cel-js/evaluator";
import { listItems, mapEntries } from "./kinds.js";
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
 * What cel-go's optional types library (cel.OptionalTypes(), its newest version in the apiserver)
 * has beyond cel-js's optional.of, optional.none, value, hasValue, or and orValue: optMap and
 * optFlatMap, list.first() and list.last(), optional.ofNonZeroValue, optional.unwrap and unwrapOpt.
 */

type List = readonly unknown[] | ReadonlySet<unknown>;

/** cel-go's IsZeroValue: the value a field of this type holds when it is not set. */
function isZero(value: unknown): boolean {
  if (value === null || value === false || value === 0n || value === 0 || value === "") return true;
  if (value instanceof UnsignedInt) return value.valueOf() === 0n;
  if (value instanceof Uint8Array) return value.length === 0;
  if (value instanceof Duration) return value.seconds === 0n && value.nanos === 0;
  if (value instanceof Date) return value.getTime() === 0;
  if (Array.isArray(value) || value instanceof Set) return listItems(value).length === 0;
  if (
    value instanceof Map ||
    (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype)
  ) {
    return mapEntries(value).length === 0;
  }
  return false;
}

function unwrap(list: List): unknown[] {
  return listItems(list).flatMap((item) => {
    if (!(item instanceof Optional)) throw celError("no such overload: unwrap");
    return item.hasValue() ? [item.value()] : [];
  });
}

/** `opt.optMap(x, expr)` (flat: false) and `opt.optFlatMap(x, expr)` (flat: true). */
class OptionalMap implements Macro {
  readonly async = false;
  readonly #receiver: ASTNode;
  readonly #variable: string;
  readonly #body: ASTNode;
  #valueType: TypeDeclaration | undefined;

  constructor(
    private readonly name: string,
    private readonly flat: boolean,
    call: MacroCall,
  ) {
    this.#receiver = call.receiver!;
    const [variable, body] = call.args as [ASTNode, ASTNode];
    if (variable.op !== "id") throw celError(`${name}() variable name must be a simple identifier`);
    this.#variable = variable.args;
    this.#body = body;
  }

  typeCheck(checker: Checker, _macro: this, scope: Scope): TypeDeclaration {
    const receiver = checker.check(this.#receiver, scope);
    if (receiver.kind !== "optional" && receiver.kind !== "dyn") {
      throw checker.createError(
        "no_matching_overload",
        `found no matching overload for '${checker.formatType(receiver)}.${this.name}()'`,
        this.#receiver,
      );
    }
    this.#valueType = receiver.kind === "optional" ? receiver.valueType! : checker.getType("dyn");
    const body = checker.check(this.#body, scope.forkWithVariable(this.#variable, this.#valueType));
    if (!this.flat) return checker.registry.getOptionalType(body);
    if (body.kind === "optional" || body.kind === "dyn")
      return body.kind === "dyn" ? checker.getType("optional") : body;
    throw checker.createError(
      "no_matching_overload",
      `${this.name}() expression must return an optional, got '${checker.formatType(body)}'`,
      this.#body,
    );
  }

  evaluate(evaluator: Evaluator, _macro: this, scope: Scope): unknown {
    const optional = evaluator.run(this.#receiver, scope);
    if (!(optional instanceof Optional)) throw celError(`no such overload: ${this.name}`);
    if (!optional.hasValue()) return Optional.none();
    const inner = scope
      .forkWithVariable(this.#variable, this.#valueType!)
      .setIterValue(optional.value(), evaluator);
    const result = evaluator.run(this.#body, inner);
    if (!this.flat) return Optional.of(result);
    if (!(result instanceof Optional)) throw celError(`no such overload: ${this.name}`);
    return result;
  }
}

export function registerOptionals(env: Environment): void {
  env.registerFunction("list<T>.first(): optional<T>", (list: List) => {
    const items = listItems(list);
    return items.length > 0 ? Optional.of(items[0]) : Optional.none();
  });
  env.registerFunction("list<T>.last(): optional<T>", (list: List) => {
    const items = listItems(list);
    return items.length > 0 ? Optional.of(items[items.length - 1]) : Optional.none();
  });
  env.registerFunction("OptionalNamespace.ofNonZeroValue(A): optional<A>", (_: unknown, value: unknown) =>
    isZero(value) ? Optional.none() : Optional.of(value),
  );
  env.registerFunction("OptionalNamespace.unwrap(list<optional<T>>): list<T>", (_: unknown, list: List) =>
    unwrap(list),
  );
  env.registerFunction("list<optional<T>>.unwrapOpt(): list<T>", unwrap);
  registerMacro(env, "optional.optMap(ast, ast): optional", (call) => new OptionalMap("optMap", false, call));
  registerMacro(
    env,
    "optional.optFlatMap(ast, ast): optional",
    (call) => new OptionalMap("optFlatMap", true, call),
  );
}
