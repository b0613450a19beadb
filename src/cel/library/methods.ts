import { type ASTNode, type Environment, EvaluationError, type TypeDeclaration } from "@marcbachmann/cel-js";
import { chargeOperands } from "../cost.js";

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

/**
 * One typed overload of a method, or of a global function when it has no receiver: the types as
 * cel-js writes them (`list<A>`).
 */
export interface MethodOverload {
  receiver?: string;
  args: readonly string[];
  returns: string;
  /** Any list or map passes at run time whatever its elements (cel-go's decls.DisableTypeGuards). */
  unguarded?: boolean;
  /** A compile-time check of the argument expressions (a literal regex); the error message, if any. */
  validate?: (args: readonly ASTNode[]) => string | undefined;
  /** The receiver first (for a method), then the arguments. */
  // The values are what cel-js hands functions; each overload narrows them by its declared types.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  run: (...operands: any[]) => unknown;
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

/** Overloads by name: several libraries share a name (`indexOf` on strings and on lists). */
export type MethodDefinitions = Readonly<Record<string, readonly MethodOverload[]>>;

/** What a library defines itself over cel-js's own: methods, and global functions. */
export interface Overrides {
  methods?: MethodDefinitions;
  functions?: MethodDefinitions;
}

function merge(into: Map<string, MethodOverload[]>, definitions: MethodDefinitions | undefined): void {
  for (const [name, overloads] of Object.entries(definitions ?? {})) {
    into.set(name, [...(into.get(name) ?? []), ...overloads]);
  }
}

function withArity(
  table: ReadonlyMap<string, MethodOverload[]>,
  name: string,
  arity: number,
): MethodOverload[] {
  return (table.get(name) ?? []).filter((o) => o.args.length === arity);
}

/**
 * The methods and functions whose overloads tollgate defines itself, for all libraries at once: a
 * name taken over from cel-js must know all its overloads. Methods with arguments are macros on
 * their own receiver type (see MethodReceiver); methods without arguments and global functions
 * (`string(double)`, `matches(s, re)`) cannot be macros beside cel-js's own, so prepare() marks their
 * calls in each parsed expression.
 */
export class MethodTable {
  readonly #methods = new Map<string, MethodOverload[]>();
  readonly #functions = new Map<string, MethodOverload[]>();

  constructor(...libraries: readonly Overrides[]) {
    for (const library of libraries) {
      merge(this.#methods, library.methods);
      merge(this.#functions, library.functions);
    }
  }

  register(env: Environment): void {
    env.registerType(METHOD_RECEIVER, MethodReceiver);
    for (const [name, overloads] of this.#methods) {
      for (const arity of new Set(overloads.map((o) => o.args.length))) {
        if (arity === 0) continue;
        const own = withArity(this.#methods, name, arity);
        const signature = `${METHOD_RECEIVER}.${name}(${Array(arity).fill("ast").join(", ")}): dyn`;
        registerMacro(env, signature, (call) => new MethodCall(name, own, call));
      }
    }
  }

  /**
   * Takes over, in a parsed expression before it is checked, the calls that cannot be macros: it
   * marks their nodes as cel-js's parser marks the calls of a macro.
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
      let call: MethodCall | undefined;
      if (item.op === "rcall" && item.args[2].length === 0) {
        const own = withArity(this.#methods, item.args[0], 0);
        if (own.length > 0)
          call = new MethodCall(item.args[0], own, { ast: item, args: [], receiver: item.args[1] });
      } else if (item.op === "call") {
        const own = withArity(this.#functions, item.args[0], item.args[1].length);
        if (own.length > 0) call = new MethodCall(item.args[0], own, { ast: item, args: item.args[1] });
      }
      if (call !== undefined)
        (item as unknown as MarkableNode).setMeta("macro", call).setMeta("async", false);
      stack.push(item.args);
    }
  }
}

/** The parser's own way of marking a node as a macro call (ASTNode.setMeta, not in cel-js's types). */
export interface MarkableNode {
  setMeta(key: "macro" | "async", value: unknown): MarkableNode;
}

function isNode(item: unknown): item is ASTNode {
  return typeof item === "object" && item !== null && "op" in item && "args" in item;
}

/** Declared types of an overload, looked up in the environment's registry. */
interface Types {
  getType(name: string): TypeDeclaration;
}

/** The declared types of the receiver (for a method) and the arguments. */
function declaredTypes(overload: MethodOverload, types: Types): TypeDeclaration[] {
  const names = overload.receiver === undefined ? overload.args : [overload.receiver, ...overload.args];
  return names.map((name) => types.getType(name));
}

function matching(
  overload: MethodOverload,
  types: Types,
  operands: readonly TypeDeclaration[],
): Map<string, TypeDeclaration> | undefined {
  const bindings = new Map<string, TypeDeclaration>();
  const declared = declaredTypes(overload, types);
  return declared.every((type, i) => bind(type, operands[i]!, bindings)) ? bindings : undefined;
}

/** Whether values of these run-time types may be passed to the overload. */
function guardPasses(overload: MethodOverload, types: Types, operands: readonly TypeDeclaration[]): boolean {
  const declared = declaredTypes(overload, types);
  if (overload.unguarded && declared[0]!.kind === operands[0]!.kind) return true;
  return declared.every((type, i) => bind(type, operands[i]!, undefined));
}

type Guard = (value: unknown) => boolean;

const PRIMITIVE_GUARDS: Readonly<Record<string, Guard>> = {
  string: (v) => typeof v === "string",
  int: (v) => typeof v === "bigint",
  double: (v) => typeof v === "number",
  bool: (v) => typeof v === "boolean",
  dyn: () => true,
};

/**
 * A plain JavaScript test for a declared type, where one is as exact as the type-based one: the hot
 * path of a call whose operands are `dyn` (every field of `object` is) skips the type lookups. A list
 * is judged by its first element, as cel-go's runtime guards are. Undefined: use the type-based test.
 */
function guardFor(name: string): Guard | undefined {
  if (/^[A-Z]$/.test(name)) return () => true;
  const primitive = PRIMITIVE_GUARDS[name];
  if (primitive !== undefined) return primitive;
  const list = /^list<(.+)>$/.exec(name);
  if (list === null) return undefined;
  const element = guardFor(list[1]!);
  if (element === undefined) return undefined;
  return (v) => Array.isArray(v) && (v.length === 0 || element(v[0]));
}

export class MethodCall implements Macro {
  readonly async = false;
  /** Each operand is evaluated once (see meterExpression). */
  readonly loops = false;
  readonly #name: string;
  readonly #overloads: readonly MethodOverload[];
  /** The receiver (for a method) and the arguments. */
  readonly #operands: readonly ASTNode[];
  readonly #args: readonly ASTNode[];
  readonly #method: boolean;
  /** The overload, when the checker could tell it from static types alone. */
  #static: MethodOverload | undefined;

  /**
   * The plain tests of each overload's operands, in order, as far as every overload before has them
   * (an overload without them stops the fast path, so that the order of the overloads still decides).
   */
  readonly #guards: (readonly Guard[] | undefined)[];

  constructor(name: string, overloads: readonly MethodOverload[], call: MacroCall) {
    this.#name = name;
    this.#overloads = overloads;
    this.#guards = overloads.map((o) => {
      if (o.unguarded) return undefined;
      const names = o.receiver === undefined ? o.args : [o.receiver, ...o.args];
      const guards = names.map(guardFor);
      return guards.every((g) => g !== undefined) ? (guards as Guard[]) : undefined;
    });
    this.#method = call.receiver !== undefined;
    this.#args = call.args;
    this.#operands = call.receiver === undefined ? call.args : [call.receiver, ...call.args];
  }

  #signature(types: readonly TypeDeclaration[], format: (t: TypeDeclaration) => string): string {
    const names = types.map(format);
    return this.#method
      ? `${names[0]}.${this.#name}(${names.slice(1).join(", ")})`
      : `${this.#name}(${names.join(", ")})`;
  }

  typeCheck(checker: Checker, _macro: this, scope: Scope): TypeDeclaration {
    const operands = this.#operands.map((node) => checker.check(node, scope));
    const found: Resolved[] = [];
    for (const overload of this.#overloads) {
      const bindings = matching(overload, checker, operands);
      if (bindings === undefined) continue;
      const returns = checker.getType(overload.returns).templated(checker.registry as never, bindings);
      found.push({ overload, returns });
    }
    if (found.length === 0) {
      throw checker.createError(
        "no_matching_overload",
        `found no matching overload for '${this.#signature(operands, (t) => checker.formatType(t))}'`,
        this.#operands[0],
      );
    }
    for (const { overload } of found) {
      const invalid = overload.validate?.(this.#args);
      if (invalid !== undefined) throw checker.createError("invalid_argument", invalid, this.#args[0]);
    }
    const dynamic = operands.some((t) => t.hasDynType);
    this.#static = found.length === 1 && !dynamic ? found[0]!.overload : undefined;
    const first = found[0]!.returns;
    return found.every((f) => f.returns.name === first.name) ? first : checker.getType("dyn");
  }

  /** The receiver (for a method), then the arguments, as the call evaluates them. */
  get operands(): readonly ASTNode[] {
    return this.#operands;
  }

  evaluate(evaluator: Evaluator, _macro: this, scope: Scope): unknown {
    return this.apply(
      evaluator,
      this.#operands.map((node) => evaluator.run(node, scope)),
    );
  }

  /** The call on its evaluated operands. */
  apply(evaluator: Evaluator, values: readonly unknown[]): unknown {
    chargeOperands(values);
    const overload = this.#static ?? this.#runtimeOverload(evaluator, values);
    return overload.run(...values);
  }

  #runtimeOverload(evaluator: Evaluator, values: readonly unknown[]): MethodOverload {
    for (let i = 0; i < this.#guards.length; i++) {
      const guards = this.#guards[i];
      if (guards === undefined) break;
      if (guards.every((guard, j) => guard(values[j]))) return this.#overloads[i]!;
    }
    return this.#typedOverload(evaluator, values);
  }

  #typedOverload(evaluator: Evaluator, values: readonly unknown[]): MethodOverload {
    const types = values.map((v) => evaluator.debugTypeDeep(v));
    const overload = this.#overloads.find((o) => guardPasses(o, evaluator, types));
    if (overload !== undefined) return overload;
    throw celError(`found no matching overload for '${this.#signature(types, (t) => t.name)}'`);
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
