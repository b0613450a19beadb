import { type ASTNode, Optional } from "@marcbachmann/cel-js";
import { charge, sizeCost } from "./cost.js";
import { policyEnvironment, POLICY_VARIABLES } from "./environment.js";
import { type Evaluator, MethodCall } from "./library/methods.js";

/**
 * A checked expression turned into nested JavaScript closures, one per node of cel-js's tree, for
 * the webhook's hot path. cel-js walks its tree per evaluation: every node goes through its
 * evaluator's `run`, a scope object, a lookup of its variables and, for the comprehensions, a
 * try/catch per element; here each node is a closure over its children, iteration variables are
 * slots of an array and the accumulator a local.
 *
 * It is a fast path, not a second implementation: every operator, field access and call still goes
 * through the handler that cel-js resolved for the node (`node.handle`, with the cost meter's
 * wrappers on it), and the closures charge the meter exactly where cel-js would enter a metered
 * node. What a closure does not do is recover: CEL lets `x || true` be true when `x` fails, and a
 * comprehension keep going past an element that fails; any error here (an error CEL would absorb,
 * or one it would return) abandons the attempt, and the caller evaluates the expression again
 * through cel-js, whose answer is the one given. A correct evaluation that never fails is the same
 * either way: test/cel/closures.test.ts holds the two to the same value and the same cost over
 * every expression of the repository on every fixture object.
 */
export type Closure = (activation: object) => unknown;

/** The variables by name (`object`, `request`…), as cel-js's evaluation is given them. */
type Activation = object;
type Step = (activation: Activation) => unknown;

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

/** cel-js's own string methods of one string argument, as its overloads run them. */
const STRING_TESTS: Readonly<Record<string, (on: string, arg: string) => boolean>> = {
  startsWith: (on, arg) => on.startsWith(arg),
  endsWith: (on, arg) => on.endsWith(arg),
  contains: (on, arg) => on.includes(arg),
};

const ORDER: Readonly<Record<string, (l: string, r: string) => boolean>> = {
  "<": (l, r) => l < r,
  "<=": (l, r) => l <= r,
  ">": (l, r) => l > r,
  ">=": (l, r) => l >= r,
};

function isPlainMap(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object") return false;
  const constructor = (value as { constructor?: unknown }).constructor;
  return constructor === Object || constructor === undefined;
}

class Compiler {
  /** The slot of each iteration variable and accumulator in scope, innermost last. */
  readonly #scope: { name: string; slot: number }[] = [];
  #slots = 0;
  readonly frame: unknown[] = [];

  constructor(
    readonly amounts: ReadonlyMap<unknown, number>,
    readonly ev: unknown,
  ) {}

  node(node: Node): Step {
    const inner = this.#own(node);
    const amount = this.amounts.get(node) ?? 0;
    if (amount === 0) return inner;
    return (a) => {
      charge(amount);
      return inner(a);
    };
  }

  #own(node: Node): Step {
    const { alternate, macro } = node.meta;
    if (alternate !== undefined) return this.node(alternate);
    if (macro !== undefined) return this.#macro(node, macro);
    const ev = this.ev;
    const handle = node.handle;
    switch (node.op) {
      case "value": {
        const value = node.args;
        return () => value;
      }
      case "id":
        return this.#id(node.args as string);
      case ".":
      case ".?": {
        const [leftNode, key] = node.args as [Node, string];
        const left = this.node(leftNode);
        if (handle === undefined) throw new Unsupported();
        // cel-js's own lookup for a field of a dyn map; anything else (a typed value, a missing key,
        // an optional) goes to its handler.
        if (node.op === "." && handle.name === "fieldAccess") {
          return (a) => {
            const value = left(a);
            if (isPlainMap(value) && Object.hasOwn(value, key)) {
              const field = value[key];
              if (field !== undefined) return field;
            }
            return handle(value, key, node, ev);
          };
        }
        return (a) => handle(left(a), key, node, ev);
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
        const [left, right, binary] = this.#binary(node);
        return (a) => {
          const l = left(a);
          return binary(l, right(a), node, ev);
        };
      }
      case "!_": {
        const operand = this.node(node.args as Node);
        if (handle === undefined) throw new Unsupported();
        return (a) => {
          const value = operand(a);
          return typeof value === "boolean" ? !value : handle(value, node, ev);
        };
      }
      case "-_": {
        const operand = this.node(node.args as Node);
        if (handle === undefined) throw new Unsupported();
        return (a) => handle(operand(a), node, ev);
      }
      case "call": {
        const args = (node.args as [string, Node[]])[1].map((arg) => this.node(arg));
        if (handle === undefined) throw new Unsupported();
        return (a) => handle(this.#values(args, a), node, ev);
      }
      case "rcall": {
        const operands = node.receiverWithArgs;
        if (operands === undefined || handle === undefined) throw new Unsupported();
        const compiled = operands.map((operand) => this.node(operand));
        const text = STRING_TESTS[(node.args as [string])[0]];
        if (text !== undefined && compiled.length === 2) {
          const [receiver, argument] = compiled as [Step, Step];
          return (a) => {
            const arg = argument(a);
            const on = receiver(a);
            if (typeof on === "string" && typeof arg === "string") {
              charge(sizeCost(on) + sizeCost(arg));
              return text(on, arg);
            }
            return handle([on, arg], ev, node);
          };
        }
        if ((node.args as [string])[0] === "size" && compiled.length === 1) {
          const receiver = compiled[0]!;
          return (a) => {
            const on = receiver(a);
            if (Array.isArray(on)) {
              charge(sizeCost(on));
              return BigInt(on.length);
            }
            return handle([on], ev, node);
          };
        }
        return (a) => handle(this.#values(compiled, a), ev, node);
      }
      case "?:": {
        const [c, l, r] = (node.args as Node[]).map((part) => this.node(part));
        return (a) => {
          const condition = c!(a);
          if (condition === true) return l!(a);
          if (condition === false) return r!(a);
          throw new TypeError("condition is not a bool");
        };
      }
      case "&&":
      case "||": {
        const [l, r] = (node.args as Node[]).map((part) => this.node(part));
        const decides = node.op === "||";
        return (a) => {
          const left = l!(a);
          if (left === decides) return decides;
          if (left !== !decides) throw new TypeError("operand is not a bool");
          const right = r!(a);
          if (typeof right !== "boolean") throw new TypeError("operand is not a bool");
          return right;
        };
      }
      case "list": {
        const items = (node.args as Node[]).map((item) => this.node(item));
        return (a) => this.#values(items, a);
      }
      case "comprehension":
        return this.#comprehension(node.args as Comprehension);
      case "accuValue": {
        const slot = this.#slotOf("@accu");
        const frame = this.frame;
        return () => frame[slot];
      }
      case "accuInc": {
        const slot = this.#slotOf("@accu");
        const frame = this.frame;
        return () => ((frame[slot] as number) += 1);
      }
      case "accuPush": {
        const item = this.node(node.args as Node);
        const slot = this.#slotOf("@accu");
        const frame = this.frame;
        return (a) => {
          const list = frame[slot] as unknown[];
          list.push(item(a));
          return list;
        };
      }
      default:
        throw new Unsupported();
    }
  }

  /** The two operands of a binary operator, and the handler cel-js resolved for it. */
  #binary(node: Node): [Step, Step, NonNullable<Node["handle"]>] {
    const [leftNode, rightNode] = node.args as [Node, Node];
    const left = this.node(leftNode);
    const right = this.node(rightNode);
    if (node.handle === undefined) throw new Unsupported();
    return [left, right, node.handle];
  }

  /**
   * `==`, `!=` and `in`, which cel-js's handlers (and the meter's size charge on them) decide; two
   * strings, bools or ints compare as cel-js's overloads do (`===`), a string key in a map as its
   * map lookup does, charged as the meter charges the handler.
   */
  #sized(node: Node): Step {
    const [left, right, handle] = this.#binary(node);
    const ev = this.ev;
    const op = node.op;
    return (a) => {
      const l = left(a);
      const r = right(a);
      if (op === "in") {
        if (typeof l === "string" && isPlainMap(r)) {
          charge(sizeCost(l));
          return Object.hasOwn(r, l) ? r[l] !== undefined : false;
        }
      } else if (
        typeof l === typeof r &&
        (typeof l === "string" || typeof l === "boolean" || typeof l === "bigint")
      ) {
        charge(sizeCost(l) + sizeCost(r));
        return op === "==" ? l === r : l !== r;
      }
      return handle(l, r, node, ev);
    };
  }

  /** `<`, `<=`, `>`, `>=` on two ints, doubles or strings, as cel-js's overloads compare them. */
  #ordered(node: Node): Step {
    const [left, right, handle] = this.#binary(node);
    const ev = this.ev;
    const compare = ORDER[node.op]!;
    return (a) => {
      const l = left(a);
      const r = right(a);
      const type = typeof l;
      if (type === typeof r && (type === "bigint" || type === "string" || type === "number"))
        return compare(l as string, r as string);
      return handle(l, r, node, ev);
    };
  }

  /** Operands in cel-js's order: it resolves an argument list from the last to the first. */
  #values(steps: readonly Step[], a: Activation): unknown[] {
    let i = steps.length;
    const values = new Array<unknown>(i);
    while (i--) values[i] = steps[i]!(a);
    return values;
  }

  #slotOf(name: string): number {
    for (let i = this.#scope.length - 1; i >= 0; i--)
      if (this.#scope[i]!.name === name) return this.#scope[i]!.slot;
    throw new Unsupported();
  }

  #id(name: string): Step {
    for (let i = this.#scope.length - 1; i >= 0; i--) {
      if (this.#scope[i]!.name === name) {
        const slot = this.#scope[i]!.slot;
        const frame = this.frame;
        return () => frame[slot];
      }
    }
    if (!ROOT_VARIABLES.has(name)) throw new Unsupported();
    return (a) => {
      const value = (a as Readonly<Record<string, unknown>>)[name];
      if (value === undefined) throw new TypeError(`unknown variable ${name}`);
      return value;
    };
  }

  #macro(node: Node, macro: unknown): Step {
    if (macro instanceof MethodCall) {
      const operands = macro.operands.map((operand) => this.node(operand as unknown as Node));
      const ev = this.ev as Evaluator;
      return (a) => macro.apply(ev, this.#values(operands, a));
    }
    const optional = macro as { functionDesc?: unknown; receiver?: Node; arg?: Node };
    if (
      (optional.functionDesc === "optional.orValue(value)" ||
        optional.functionDesc === "optional.or(optional)") &&
      optional.receiver !== undefined &&
      optional.arg !== undefined
    ) {
      // cel-js's optional macros: the argument is evaluated only when the receiver is empty.
      const receiver = this.node(optional.receiver);
      const fallback = this.node(optional.arg);
      const orValue = optional.functionDesc === "optional.orValue(value)";
      return (a) => {
        const value = receiver(a);
        if (!(value instanceof Optional)) throw new TypeError("receiver is not an optional");
        if (value.hasValue()) return orValue ? value.value() : value;
        const other = fallback(a);
        if (!orValue && !(other instanceof Optional)) throw new TypeError("argument is not an optional");
        return other;
      };
    }
    const props = (macro as { macroHasProps?: Node[] }).macroHasProps;
    if (node.op === "call" && (node.args as [string])[0] === "has" && Array.isArray(props)) {
      if (props.some((prop) => prop !== props[props.length - 1] && prop.op !== ".")) throw new Unsupported();
      const root = this.node(props[props.length - 1]!);
      const keys = props.slice(0, -1).map((prop) => (prop.args as [Node, string])[1]);
      return (a) => {
        let value = root(a);
        for (let i = keys.length - 1; i >= 0; i--) {
          // cel-js's map field lookup; a null has no fields; anything else is left to cel-js.
          if (isPlainMap(value)) value = Object.hasOwn(value, keys[i]!) ? value[keys[i]!] : undefined;
          else if (value === null) value = undefined;
          else throw new TypeError("has() on a value that is not a map");
          if (value === undefined) {
            if (i > 0) throw new TypeError(`no such key: ${keys[i]}`);
            return false;
          }
        }
        return true;
      };
    }
    throw new Unsupported();
  }

  #comprehension(args: Comprehension): Step {
    const iterable = this.node(args.iterable);
    const init = this.node(args.init);
    const iterType = args.iterCtx?.iterType;
    if (iterType === undefined) throw new Unsupported();
    const item = this.#slots++;
    const accu = this.#slots++;
    this.#scope.push({ name: args.iterVarName, slot: item }, { name: "@accu", slot: accu });
    const step = this.node(args.step);
    this.#scope.length -= 2;
    const { condition, result } = args;
    const frame = this.frame;
    const ev = this.ev;
    const checked = iterType.kind !== "dyn";
    return (a) => {
      const range = iterable(a);
      let items: readonly unknown[];
      if (Array.isArray(range)) items = range;
      else if (isPlainMap(range)) items = Object.keys(range);
      else throw new TypeError("range is not a list or map");
      let value = init(a);
      frame[accu] = value;
      for (let i = 0; i < items.length; i++) {
        if (condition !== undefined && !condition(value)) break;
        const element = items[i];
        if (checked && !iterType.matchesValueType(element, ev)) throw new TypeError("element type");
        frame[item] = element;
        value = step(a);
        frame[accu] = value;
      }
      return result(value);
    };
  }
}

/**
 * The closures of a checked, metered expression (`amounts`: what each metered node charges when
 * entered, from meterExpression), or undefined where a node is of a kind this does not cover (a
 * macro of its own, `variables`): that expression is evaluated by cel-js alone.
 */
export function closuresOf(ast: ASTNode, amounts: ReadonlyMap<unknown, number>): Closure | undefined {
  const compiler = new Compiler(amounts, evaluatorOf());
  try {
    return compiler.node(ast as unknown as Node);
  } catch (error) {
    if (error instanceof Unsupported) return undefined;
    throw error;
  }
}
