import { type ASTNode, Optional } from "@marcbachmann/cel-js";
import { charge, sizeCost } from "./cost.js";
import { policyEnvironment, POLICY_VARIABLES } from "./environment.js";
import { MethodCall } from "./library/methods.js";

/**
 * A checked expression turned into one JavaScript function, for the webhook's hot path. cel-js
 * walks its tree per evaluation: every node goes through its evaluator's `run`, a scope object, a
 * lookup of its variables and, for the comprehensions, a try/catch per element. Here the tree is
 * written out once as the body of a function (`new Function`), each node's value a local,
 * iteration variables and the accumulator locals of a loop, so that V8 optimises the expression
 * as a whole. (A closure per node, the first form of this, left V8 a call per node that it could
 * not inline, each call site seeing every kind of node: the bench's ten policies added 13.5 µs to
 * a Pod request in process that way, 8.8 µs this way; BENCHMARKS.md.)
 *
 * It is a fast path, not a second implementation: every operator, field access and call still goes
 * through the handler that cel-js resolved for the node (`node.handle`, with the cost meter's
 * wrappers on it), except for the few whose answer on plain values is written out as cel-js's
 * overloads compute it, and the function charges the meter exactly where cel-js would enter a
 * metered node. What it does not do is recover: CEL lets `x || true` be true when `x` fails, and a
 * comprehension keep going past an element that fails; any error here (an error CEL would absorb,
 * or one it would return) abandons the attempt, and the caller evaluates the expression again
 * through cel-js, whose answer is the one given. A correct evaluation that never fails is the same
 * either way: test/cel/closures.test.ts holds the two to the same value and the same cost over
 * every expression of the repository on every fixture object.
 */
export type Closure = (activation: object) => unknown;

/** The parts of cel-js's node that its typings leave out (as in cost.ts). */
interface Node {
  op: string;
  args: unknown;
  meta: { alternate?: Node; macro?: unknown; evaluate?: unknown };
  handle?: (...operands: unknown[]) => unknown;
  checkedType?: { kind: string };
  receiverWithArgs?: Node[];
  left?: Node;
  right?: Node;
}

interface Comprehension {
  kind?: string;
  errorsAreFatal: boolean;
  iterable: Node;
  iterVarName: string;
  init: Node;
  step: Node;
  condition?: (accu: unknown) => boolean;
  result: (accu: unknown) => unknown;
  iterCtx?: { iterType?: { kind: string; matchesValueType(value: unknown, evaluator: unknown): boolean } };
}

/** The evaluator cel-js hands every node, which its handlers take as an argument. */
let evaluator: unknown;

function evaluatorOf(): unknown {
  if (evaluator !== undefined) return evaluator;
  const probe = policyEnvironment().parse("true");
  probe.check();
  const node = probe.ast as unknown as { evaluate: (ev: unknown) => unknown };
  node.evaluate = (ev) => {
    evaluator = ev;
    return true;
  };
  probe({});
  return evaluator;
}

// `variables.x` is computed on first use and charged to the expression that reads it; the judge
// charges what an attempt given up after that spent on it to the retry (vap/evaluate.ts).
const ROOT_VARIABLES: ReadonlySet<string> = new Set(POLICY_VARIABLES);

/** Nothing to compile: the expression is evaluated by cel-js alone. */
class Unsupported extends Error {}

/** cel-js's own string methods of one string argument, as its overloads run them: the JS method of each. */
const STRING_TESTS: Readonly<Record<string, string>> = {
  startsWith: "startsWith",
  endsWith: "endsWith",
  contains: "includes",
};

function isPlainMap(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object") return false;
  const constructor = (value as { constructor?: unknown }).constructor;
  return constructor === Object || constructor === undefined;
}

/** A string as a JavaScript string literal: JSON's quoting is valid JavaScript for every string. */
const literal = (text: string): string => JSON.stringify(text);

/**
 * Writes one function's body: each node's value is computed by statements into a fresh local
 * (`v1`, `v2`…), nested blocks where CEL evaluates a part only on a condition. Nothing the policy
 * wrote is pasted in as code: a key or a string is a JSON literal, anything else (a value, a node,
 * a handler) an entry of the constants `k`.
 */
class Generator {
  readonly constants: unknown[] = [];
  #lines: string[] = [];
  #locals = 0;
  /** The local of each iteration variable and accumulator in scope, innermost last. */
  readonly #scope: { name: string; local: string }[] = [];

  constructor(
    readonly amounts: ReadonlyMap<unknown, number>,
    readonly ev: unknown,
  ) {}

  /** The function: `(activation) => value`, with its constants bound. */
  build(root: Node): Closure {
    const result = this.node(root);
    const body = `"use strict";\nreturn function evaluate(a) {\n${this.#lines.join("\n")}\nreturn ${result};\n};`;
    const factory = new Function("k", "ev", "charge", "sizeCost", "isPlainMap", body) as (
      ...parts: unknown[]
    ) => Closure;
    return factory(this.constants, this.ev, charge, sizeCost, isPlainMap);
  }

  #emit(line: string): void {
    this.#lines.push(line);
  }

  /** A name for a local no other part of the function uses. */
  #fresh(): string {
    return `v${++this.#locals}`;
  }

  /** A local declared here, to be assigned on the branches that follow. */
  #local(): string {
    const name = this.#fresh();
    this.#emit(`let ${name};`);
    return name;
  }

  /** A local holding `expression`'s value. */
  #bind(expression: string): string {
    const name = this.#fresh();
    this.#emit(`const ${name} = ${expression};`);
    return name;
  }

  #constant(value: unknown): string {
    let index = this.constants.indexOf(value);
    if (index < 0) index = this.constants.push(value) - 1;
    return `k[${index}]`;
  }

  /** The statements of `write`, as a block of their own (the branch of an `if`, a loop's body). */
  #block(write: () => void): string {
    const outer = this.#lines;
    this.#lines = [];
    try {
      write();
      return `{\n${this.#lines.join("\n")}\n}`;
    } finally {
      this.#lines = outer;
    }
  }

  /** The node's value as a local (or a literal), charged as cel-js's meter charges entering it. */
  node(node: Node): string {
    const amount = this.amounts.get(node) ?? 0;
    if (amount !== 0) this.#emit(`charge(${amount});`);
    return this.#own(node);
  }

  #handle(node: Node): string {
    if (node.handle === undefined) throw new Unsupported();
    return this.#constant(node.handle);
  }

  #own(node: Node): string {
    const { alternate, macro } = node.meta;
    if (alternate !== undefined) return this.node(alternate);
    if (macro !== undefined) return this.#macro(node, macro);
    switch (node.op) {
      case "value":
        return this.#value(node.args);
      case "id":
        return this.#id(node.args as string);
      case ".":
      case ".?": {
        const [leftNode, key] = node.args as [Node, string];
        const value = this.node(leftNode);
        const handle = this.#handle(node);
        const out = this.#local();
        const call = `${out} = ${handle}(${value}, ${literal(key)}, ${this.#constant(node)}, ev);`;
        // cel-js's own lookup for a field of a dyn map; anything else (a typed value, a missing key,
        // an optional) goes to its handler.
        if (node.op === "." && node.handle!.name === "fieldAccess") {
          this.#emit(
            `if (!isPlainMap(${value}) || !Object.hasOwn(${value}, ${literal(key)}) || (${out} = ${value}[${literal(key)}]) === undefined) ${call}`,
          );
        } else this.#emit(call);
        return out;
      }
      case "==":
      case "!=":
      case "in":
        return this.#sized(node);
      case "<":
      case "<=":
      case ">":
      case ">=":
        return this.#ordered(node);
      case "[]":
      case "[?]":
      case "+":
      case "-":
      case "*":
      case "/":
      case "%": {
        const [left, right, handle] = this.#binary(node);
        return this.#bind(`${handle}(${left}, ${right}, ${this.#constant(node)}, ev)`);
      }
      case "!_": {
        const operand = this.node(node.args as Node);
        const handle = this.#handle(node);
        return this.#bind(
          `typeof ${operand} === "boolean" ? !${operand} : ${handle}(${operand}, ${this.#constant(node)}, ev)`,
        );
      }
      case "-_": {
        const operand = this.node(node.args as Node);
        const handle = this.#handle(node);
        return this.#bind(`${handle}(${operand}, ${this.#constant(node)}, ev)`);
      }
      case "call": {
        const args = this.#values((node.args as [string, Node[]])[1]);
        const handle = this.#handle(node);
        return this.#bind(`${handle}([${args.join(", ")}], ${this.#constant(node)}, ev)`);
      }
      case "rcall":
        return this.#rcall(node);
      case "?:": {
        const [condition, then, otherwise] = node.args as [Node, Node, Node];
        const test = this.node(condition);
        const out = this.#local();
        const left = this.#block(() => this.#emit(`${out} = ${this.node(then)};`));
        const right = this.#block(() => this.#emit(`${out} = ${this.node(otherwise)};`));
        this.#emit(
          `if (${test} === true) ${left} else if (${test} === false) ${right} else throw new TypeError("condition is not a bool");`,
        );
        return out;
      }
      case "&&":
      case "||": {
        const [leftNode, rightNode] = node.args as [Node, Node];
        const decides = node.op === "||";
        const left = this.node(leftNode);
        const out = this.#local();
        const right = this.#block(() => {
          const value = this.node(rightNode);
          this.#emit(`if (typeof ${value} !== "boolean") throw new TypeError("operand is not a bool");`);
          this.#emit(`${out} = ${value};`);
        });
        this.#emit(
          `if (${left} === ${decides}) ${out} = ${decides}; else if (${left} !== ${!decides}) throw new TypeError("operand is not a bool"); else ${right}`,
        );
        return out;
      }
      case "list": {
        return this.#bind(`[${this.#values(node.args as Node[]).join(", ")}]`);
      }
      case "comprehension":
        return this.#comprehension(node.args as Comprehension);
      case "accuValue":
        return this.#scoped("@accu");
      case "accuInc":
        return this.#bind(`${this.#scoped("@accu")} += 1`);
      case "accuPush": {
        const item = this.node(node.args as Node);
        const accu = this.#scoped("@accu");
        this.#emit(`${accu}.push(${item});`);
        return accu;
      }
      default:
        throw new Unsupported();
    }
  }

  #value(value: unknown): string {
    if (typeof value === "boolean") return String(value);
    if (typeof value === "string") return literal(value);
    if (typeof value === "bigint") return `${value}n`;
    return this.#constant(value);
  }

  /** The two operands of a binary operator, and the handler cel-js resolved for it. */
  #binary(node: Node): [string, string, string] {
    const [leftNode, rightNode] = node.args as [Node, Node];
    const left = this.node(leftNode);
    const right = this.node(rightNode);
    return [left, right, this.#handle(node)];
  }

  /**
   * `==`, `!=` and `in`, which cel-js's handlers (and the meter's size charge on them) decide; two
   * strings, bools or ints compare as cel-js's overloads do (`===`), a string key in a map as its
   * map lookup does, charged as the meter charges the handler.
   */
  #sized(node: Node): string {
    const [l, r, handle] = this.#binary(node);
    const out = this.#local();
    const call = `${out} = ${handle}(${l}, ${r}, ${this.#constant(node)}, ev);`;
    if (node.op === "in") {
      this.#emit(
        `if (typeof ${l} === "string" && isPlainMap(${r})) { charge(sizeCost(${l})); ${out} = Object.hasOwn(${r}, ${l}) ? ${r}[${l}] !== undefined : false; } else ${call}`,
      );
    } else {
      this.#emit(
        `if (typeof ${l} === typeof ${r} && (typeof ${l} === "string" || typeof ${l} === "boolean" || typeof ${l} === "bigint")) { charge(sizeCost(${l}) + sizeCost(${r})); ${out} = ${l} ${node.op === "==" ? "===" : "!=="} ${r}; } else ${call}`,
      );
    }
    return out;
  }

  /** `<`, `<=`, `>`, `>=` on two ints, doubles or strings, as cel-js's overloads compare them. */
  #ordered(node: Node): string {
    const [l, r, handle] = this.#binary(node);
    const out = this.#local();
    this.#emit(
      `if (typeof ${l} === typeof ${r} && (typeof ${l} === "bigint" || typeof ${l} === "string" || typeof ${l} === "number")) ${out} = ${l} ${node.op} ${r}; else ${out} = ${handle}(${l}, ${r}, ${this.#constant(node)}, ev);`,
    );
    return out;
  }

  #rcall(node: Node): string {
    const operands = node.receiverWithArgs;
    if (operands === undefined) throw new Unsupported();
    const handle = this.#handle(node);
    const name = (node.args as [string])[0];
    const values = this.#values(operands);
    const out = this.#local();
    const method = STRING_TESTS[name];
    if (method !== undefined && values.length === 2) {
      const [on, arg] = values as [string, string];
      this.#emit(
        `if (typeof ${on} === "string" && typeof ${arg} === "string") { charge(sizeCost(${on}) + sizeCost(${arg})); ${out} = ${on}.${method}(${arg}); } else ${out} = ${handle}([${on}, ${arg}], ev, ${this.#constant(node)});`,
      );
    } else if (name === "size" && values.length === 1) {
      const [on] = values as [string];
      this.#emit(
        `if (Array.isArray(${on})) { charge(sizeCost(${on})); ${out} = BigInt(${on}.length); } else ${out} = ${handle}([${on}], ev, ${this.#constant(node)});`,
      );
    } else {
      this.#emit(`${out} = ${handle}([${values.join(", ")}], ev, ${this.#constant(node)});`);
    }
    return out;
  }

  /** Operands in cel-js's order: it resolves an argument list from the last to the first. */
  #values(nodes: readonly Node[]): string[] {
    const values = new Array<string>(nodes.length);
    for (let i = nodes.length - 1; i >= 0; i--) values[i] = this.node(nodes[i]!);
    return values;
  }

  /** The local of the innermost iteration variable or accumulator of that name, if any. */
  #inScope(name: string): string | undefined {
    for (let i = this.#scope.length - 1; i >= 0; i--)
      if (this.#scope[i]!.name === name) return this.#scope[i]!.local;
    return undefined;
  }

  #scoped(name: string): string {
    const local = this.#inScope(name);
    if (local === undefined) throw new Unsupported();
    return local;
  }

  #id(name: string): string {
    const local = this.#inScope(name);
    if (local !== undefined) return local;
    if (!ROOT_VARIABLES.has(name)) throw new Unsupported();
    const out = this.#bind(`a[${literal(name)}]`);
    this.#emit(`if (${out} === undefined) throw new TypeError(${literal(`unknown variable ${name}`)});`);
    return out;
  }

  #macro(node: Node, macro: unknown): string {
    if (macro instanceof MethodCall) {
      const operands = this.#values(macro.operands as unknown as Node[]);
      return this.#bind(`${this.#constant(macro)}.apply(ev, [${operands.join(", ")}])`);
    }
    const optional = macro as { functionDesc?: unknown; receiver?: Node; arg?: Node };
    if (
      (optional.functionDesc === "optional.orValue(value)" ||
        optional.functionDesc === "optional.or(optional)") &&
      optional.receiver !== undefined &&
      optional.arg !== undefined
    ) {
      // cel-js's optional macros: the argument is evaluated only when the receiver is empty.
      const orValue = optional.functionDesc === "optional.orValue(value)";
      const receiver = this.node(optional.receiver);
      const kind = this.#constant(Optional);
      const out = this.#local();
      const fallback = optional.arg;
      const otherwise = this.#block(() => {
        const other = this.node(fallback);
        if (!orValue)
          this.#emit(
            `if (!(${other} instanceof ${kind})) throw new TypeError("argument is not an optional");`,
          );
        this.#emit(`${out} = ${other};`);
      });
      this.#emit(
        `if (!(${receiver} instanceof ${kind})) throw new TypeError("receiver is not an optional");`,
      );
      this.#emit(
        `if (${receiver}.hasValue()) ${out} = ${orValue ? `${receiver}.value()` : receiver}; else ${otherwise}`,
      );
      return out;
    }
    const props = (macro as { macroHasProps?: Node[] }).macroHasProps;
    if (node.op === "call" && (node.args as [string])[0] === "has" && Array.isArray(props)) {
      if (props.some((prop) => prop !== props[props.length - 1] && prop.op !== ".")) throw new Unsupported();
      const keys = props.slice(0, -1).map((prop) => (prop.args as [Node, string])[1]);
      let value = this.node(props[props.length - 1]!);
      const out = this.#local();
      // cel-js's map field lookup; a null has no fields; anything else is left to cel-js.
      const steps: string[] = [];
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = literal(keys[i]!);
        const next = this.#fresh();
        steps.push(
          `let ${next};`,
          `if (isPlainMap(${value})) ${next} = Object.hasOwn(${value}, ${key}) ? ${value}[${key}] : undefined; else if (${value} === null) ${next} = undefined; else throw new TypeError("has() on a value that is not a map");`,
          i > 0
            ? `if (${next} === undefined) throw new TypeError(${literal(`no such key: ${keys[i]!}`)});`
            : `${out} = ${next} !== undefined;`,
        );
        value = next;
      }
      this.#emit(`{\n${steps.join("\n")}\n}`);
      return out;
    }
    throw new Unsupported();
  }

  #comprehension(args: Comprehension): string {
    const iterType = args.iterCtx?.iterType;
    if (iterType === undefined) throw new Unsupported();
    const iterable = this.node(args.iterable);
    const items = this.#local();
    this.#emit(
      `if (Array.isArray(${iterable})) ${items} = ${iterable}; else if (isPlainMap(${iterable})) ${items} = Object.keys(${iterable}); else throw new TypeError("range is not a list or map");`,
    );
    const init = this.node(args.init);
    // Reassigned by the loop, as cel-js's accumulator.
    const accu = this.#local();
    this.#emit(`${accu} = ${init};`);
    const item = this.#fresh();
    const index = this.#fresh();
    const condition = args.condition === undefined ? undefined : this.#constant(args.condition);
    const type = iterType.kind === "dyn" ? undefined : this.#constant(iterType);
    this.#scope.push({ name: args.iterVarName, local: item }, { name: "@accu", local: accu });
    const body = this.#block(() => {
      if (condition !== undefined) this.#emit(`if (!${condition}(${accu})) break;`);
      this.#emit(`const ${item} = ${items}[${index}];`);
      if (type !== undefined)
        this.#emit(`if (!${type}.matchesValueType(${item}, ev)) throw new TypeError("element type");`);
      this.#emit(`${accu} = ${this.node(args.step)};`);
    });
    this.#scope.length -= 2;
    this.#emit(`for (let ${index} = 0; ${index} < ${items}.length; ${index}++) ${body}`);
    return this.#bind(`${this.#constant(args.result)}(${accu})`);
  }
}

/**
 * The function of a checked, metered expression (`amounts`: what each metered node charges when
 * entered, from meterExpression), or undefined where a node is of a kind this does not cover (a
 * macro of its own, `variables`): that expression is evaluated by cel-js alone.
 */
export function closuresOf(ast: ASTNode, amounts: ReadonlyMap<unknown, number>): Closure | undefined {
  try {
    return new Generator(amounts, evaluatorOf()).build(ast as unknown as Node);
  } catch (error) {
    if (error instanceof Unsupported) return undefined;
    throw error;
  }
}
