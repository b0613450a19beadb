import { type ASTNode, type Environment, EvaluationError, type TypeDeclaration } from "@marcbachmann/cel-js";

/**
 * What cel-js hands a macro's hooks. cel-js documents macros (overloads whose arguments have type
 * `ast`, README "Custom macros") but types their hooks loosely; these are the members tollgate uses.
 */
export interface Scope {
  forkWithVariable(name: string, type: TypeDeclaration): VariableScope;
}

export interface VariableScope extends Scope {
  setIterValue(value: unknown, evaluator: Evaluator): VariableScope;
}

export interface Checker {
  check(node: ASTNode, scope: Scope): TypeDeclaration;
  getType(name: string): TypeDeclaration;
  createError(code: string, message: string, node?: ASTNode): Error;
  formatType(type: TypeDeclaration): string;
  readonly registry: {
    getListType(type: TypeDeclaration): TypeDeclaration;
    getMapType(key: TypeDeclaration, value: TypeDeclaration): TypeDeclaration;
    getOptionalType(value: TypeDeclaration): TypeDeclaration;
  };
}

export interface Evaluator {
  run(node: ASTNode, scope: Scope): unknown;
  getType(name: string): TypeDeclaration;
  debugType(value: unknown): TypeDeclaration;
  /** The type of a value, a list's or map's from its first element, as cel-go's runtime guards see it. */
  debugTypeDeep(value: unknown): TypeDeclaration;
}

/** What cel-js passes a macro when it parses a call to it. */
export interface MacroCall {
  ast: ASTNode;
  args: ASTNode[];
  receiver?: ASTNode;
}

export interface Macro {
  /** False: the hooks never return a promise (cel-js assumes a macro may, and waits for it else). */
  readonly async: false;
  typeCheck(checker: Checker, macro: this, scope: Scope): TypeDeclaration;
  evaluate(evaluator: Evaluator, macro: this, scope: Scope): unknown;
}

/** An evaluation error, as cel-js raises its own (an `error` in CEL's terms). */
export function celError(message: string): EvaluationError {
  return new EvaluationError(message);
}

/** Registers a macro; cel-js calls `expand` when it parses a call with this name and arity. */
export function registerMacro<M extends Macro>(
  env: Environment,
  signature: string,
  expand: (call: MacroCall) => M,
): void {
  env.registerFunction(signature, (call: MacroCall) => expand(call));
}

/** One typed overload of a method: receiver and argument types as cel-js writes them (`list<A>`). */
export interface MethodOverload {
  receiver: string;
  args: readonly string[];
  returns: string;
  /** Any list or map passes at run time whatever its elements (cel-go's decls.DisableTypeGuards). */
  unguarded?: boolean;
  // The values are what cel-js hands functions; each overload narrows them by its declared types.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  run: (receiver: any, ...args: any[]) => unknown;
}

/**
 * A receiver type no value has. Macros are looked up by name and arity alone, whatever the receiver,
 * so a macro declared on this type takes over every `x.name(...)` call of its arity — the one way
 * cel-js leaves to replace its own methods where they differ from cel-go's (code-point indexes,
 * ASCII-only case mapping, RE2), since a second overload with the same types is refused. Declaring it
 * on a type of its own keeps cel-js's overlap check from seeing it as a duplicate of those methods.
 */
class MethodReceiver {}
const METHOD_RECEIVER = "tollgate.Methods";

interface Resolved {
  overload: MethodOverload;
  returns: TypeDeclaration;
}

/** cel-js's assignability test between types, which its typings leave out. */
function assignable(to: TypeDeclaration, from: TypeDeclaration): boolean {
  return (to as TypeDeclaration & { matches(other: TypeDeclaration): boolean }).matches(from);
}

/**
 * Binds the placeholders of `declared` (`A`) to `actual`; false when the types cannot agree. Without
 * bindings (at run time) a placeholder takes any value, as cel-go's runtime overload guards do.
 */
function bind(
  declared: TypeDeclaration,
  actual: TypeDeclaration,
  bindings: Map<string, TypeDeclaration> | undefined,
): boolean {
  if (actual.kind === "dyn" || actual.kind === "param") return true;
  switch (declared.kind) {
    case "param": {
      if (bindings === undefined) return true;
      const bound = bindings.get(declared.name);
      if (bound === undefined || bound.kind === "dyn" || bound.kind === "param") {
        bindings.set(declared.name, actual);
        return true;
      }
      return assignable(bound, actual) && assignable(actual, bound);
    }
    case "list":
      return actual.kind === "list" && bind(declared.valueType!, actual.valueType!, bindings);
    case "map":
      return (
        actual.kind === "map" &&
        bind(declared.keyType!, actual.keyType!, bindings) &&
        bind(declared.valueType!, actual.valueType!, bindings)
      );
    case "dyn":
      return true;
    default:
      return assignable(declared, actual);
  }
}

/**
 * Methods whose overloads tollgate defines itself, registered once for all libraries: several
 * libraries share a name (`indexOf` on strings and on lists), and a name replaced by a macro must
 * know all its overloads.
 */
export type MethodDefinitions = Readonly<Record<string, readonly MethodOverload[]>>;

export class MethodTable {
  readonly #byName = new Map<string, MethodOverload[]>();

  constructor(...libraries: readonly MethodDefinitions[]) {
    for (const library of libraries) {
      for (const [name, overloads] of Object.entries(library)) {
        this.#byName.set(name, [...(this.#byName.get(name) ?? []), ...overloads]);
      }
    }
  }

  #withArity(name: string, arity: number): MethodOverload[] {
    return (this.#byName.get(name) ?? []).filter((o) => o.args.length === arity);
  }

  register(env: Environment): void {
    env.registerType(METHOD_RECEIVER, MethodReceiver);
    for (const [name, overloads] of this.#byName) {
      for (const arity of new Set(overloads.map((o) => o.args.length))) {
        // Without an `ast` argument there is no macro: those calls are taken over in prepare().
        if (arity === 0) continue;
        const own = this.#withArity(name, arity);
        const signature = `${METHOD_RECEIVER}.${name}(${Array(arity).fill("ast").join(", ")}): dyn`;
        registerMacro(env, signature, (call) => new MethodCall(name, own, call));
      }
    }
  }

  /**
   * Takes over the calls of methods without arguments (`lowerAscii()`, `trim()`) in a parsed
   * expression, before it is checked: cel-js has its own versions of a few of them, and a macro needs
   * an argument to exist. It marks the call nodes as cel-js's parser marks the calls of a macro.
   */
  prepare(ast: ASTNode): void {
    const stack: unknown[] = [ast];
    while (stack.length > 0) {
      const item = stack.pop();
      if (Array.isArray(item)) {
        stack.push(...(item as unknown[]));
        continue;
      }
      if (!isNode(item)) continue;
      if (item.op === "rcall" && item.args[2].length === 0) {
        const own = this.#withArity(item.args[0], 0);
        if (own.length > 0) {
          const call = new MethodCall(item.args[0], own, { ast: item, args: [], receiver: item.args[1] });
          (item as unknown as MarkableNode).setMeta("macro", call).setMeta("async", false);
        }
      }
      stack.push(item.args);
    }
  }
}

/** The parser's own way of marking a node as a macro call (ASTNode.setMeta, not in cel-js's types). */
interface MarkableNode {
  setMeta(key: "macro" | "async", value: unknown): MarkableNode;
}

function isNode(item: unknown): item is ASTNode {
  return typeof item === "object" && item !== null && "op" in item && "args" in item;
}

/** Declared types of an overload, looked up in the environment's registry. */
interface Types {
  getType(name: string): TypeDeclaration;
}

function matching(
  overload: MethodOverload,
  types: Types,
  receiver: TypeDeclaration,
  args: readonly TypeDeclaration[],
): Map<string, TypeDeclaration> | undefined {
  const bindings = new Map<string, TypeDeclaration>();
  if (!bind(types.getType(overload.receiver), receiver, bindings)) return undefined;
  return overload.args.every((arg, i) => bind(types.getType(arg), args[i]!, bindings)) ? bindings : undefined;
}

/** Whether values of these run-time types may be passed to the overload. */
function guardPasses(
  overload: MethodOverload,
  types: Types,
  receiver: TypeDeclaration,
  args: readonly TypeDeclaration[],
): boolean {
  const declared = types.getType(overload.receiver);
  if (overload.unguarded && declared.kind === receiver.kind) return true;
  return (
    bind(declared, receiver, undefined) &&
    overload.args.every((arg, i) => bind(types.getType(arg), args[i]!, undefined))
  );
}

class MethodCall implements Macro {
  readonly async = false;
  readonly #name: string;
  readonly #overloads: readonly MethodOverload[];
  readonly #receiver: ASTNode;
  readonly #args: readonly ASTNode[];
  /** The overload, when the checker could tell it from static types alone. */
  #static: MethodOverload | undefined;

  constructor(name: string, overloads: readonly MethodOverload[], call: MacroCall) {
    this.#name = name;
    this.#overloads = overloads;
    this.#receiver = call.receiver!;
    this.#args = call.args;
  }

  typeCheck(checker: Checker, _macro: this, scope: Scope): TypeDeclaration {
    const receiver = checker.check(this.#receiver, scope);
    const args = this.#args.map((arg) => checker.check(arg, scope));
    const found: Resolved[] = [];
    for (const overload of this.#overloads) {
      const bindings = matching(overload, checker, receiver, args);
      if (bindings === undefined) continue;
      const returns = checker.getType(overload.returns).templated(checker.registry as never, bindings);
      found.push({ overload, returns });
    }
    if (found.length === 0) {
      const argList = args.map((a) => checker.formatType(a)).join(", ");
      throw checker.createError(
        "no_matching_overload",
        `found no matching overload for '${checker.formatType(receiver)}.${this.#name}(${argList})'`,
        this.#receiver,
      );
    }
    const dynamic = receiver.hasDynType || args.some((a) => a.hasDynType);
    this.#static = found.length === 1 && !dynamic ? found[0]!.overload : undefined;
    const first = found[0]!.returns;
    return found.every((f) => f.returns.name === first.name) ? first : checker.getType("dyn");
  }

  evaluate(evaluator: Evaluator, _macro: this, scope: Scope): unknown {
    const receiver = evaluator.run(this.#receiver, scope);
    const args = this.#args.map((arg) => evaluator.run(arg, scope));
    const overload = this.#static ?? this.#runtimeOverload(evaluator, receiver, args);
    return overload.run(receiver, ...args);
  }

  #runtimeOverload(evaluator: Evaluator, receiver: unknown, args: readonly unknown[]): MethodOverload {
    const receiverType = evaluator.debugTypeDeep(receiver);
    const argTypes = args.map((a) => evaluator.debugTypeDeep(a));
    const overload = this.#overloads.find((o) => guardPasses(o, evaluator, receiverType, argTypes));
    if (overload !== undefined) return overload;
    const argList = argTypes.map((t) => t.name).join(", ");
    throw celError(`found no matching overload for '${receiverType.name}.${this.#name}(${argList})'`);
  }
}

/**
 * A namespace of functions (`strings.quote`, `sets.contains`): cel-js resolves `strings.quote(x)` as a
 * method of a constant named `strings`, so each namespace is a constant of a type of its own. Returns
 * the type name, for the functions' signatures (`<type>.quote(string): string`).
 */
export function registerNamespace(env: Environment, name: string): string {
  const typeName = `tollgate.${name}`;
  const Namespace = class {};
  env.registerType(typeName, Namespace);
  env.registerConstant(name, typeName, new Namespace());
  return typeName;
}
