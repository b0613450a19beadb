import type { ASTNode } from "@marcbachmann/cel-js";

/**
 * Runtime cost limits on policy expressions, with the apiserver's figures and words
 * (k8s.io/apiserver/pkg/apis/cel/config.go): one evaluation of one expression may cost at most
 * PER_CALL_LIMIT, and the expressions of one policy evaluation (one binding, one param) together at
 * most RUNTIME_BUDGET. The object is written by the requester, so without a bound a policy that
 * loops over a list inside a loop over the same list runs for as long as the requester's list is long.
 *
 * The unit is cel-go's: about one per node evaluated, plus a tenth per element or character that a
 * function or operator walks. tollgate counts from the expression's tree, not from cel-go's
 * interpreter, so its figure for one evaluation is close to the apiserver's, not equal: a branch
 * that is not taken is still counted where it holds no loop (docs/policies-cel.md).
 */
export const PER_CALL_LIMIT = 1_000_000;
export const RUNTIME_BUDGET = 10_000_000;

/** What the evaluation running now has been charged so far (0 outside one). */
export function spentSoFar(): number {
  return current?.used ?? 0;
}

/** cel-go's error when an evaluation passes its limit, which the caller wraps as any other error. */
export class CostLimitExceeded extends Error {
  override name = "CostLimitExceeded";
  constructor() {
    super("operation cancelled: actual cost limit exceeded");
  }
}

class Meter {
  used = 0;
  exceeded = false;
  constructor(readonly limit: number) {}
}

/** The meter of the evaluation running now; evaluation is synchronous, so one at a time. */
let current: Meter | undefined;

/** Charges the evaluation running now, if any; throws once its limit is passed. */
export function charge(amount: number): void {
  const meter = current;
  if (meter === undefined) return;
  meter.used += amount;
  if (meter.used > meter.limit) {
    meter.exceeded = true;
    throw new CostLimitExceeded();
  }
}

/** What one metered evaluation gave: its value or its error, and what it cost either way. */
export type Metered =
  { ok: true; value: unknown; cost: number } | { ok: false; error: unknown; cost: number };

/**
 * Runs one evaluation with a limit. A variable that the evaluation computes on first use is charged
 * to it, as cel-go charges a composited variable to the expression that reads it. CEL lets
 * `x || true` be true when `x` fails, so a cancelled evaluation could still produce a value: once
 * the limit is passed every further step fails too, and the value is refused.
 */
export function metered(limit: number, evaluate: () => unknown): Metered;
/** The same, for an evaluation of `argument` (no closure per call on the hot path). */
export function metered<A>(limit: number, evaluate: (argument: A) => unknown, argument: A): Metered;
export function metered<A>(limit: number, evaluate: (argument?: A) => unknown, argument?: A): Metered {
  const into: MeteredInto = { ok: true, value: undefined, error: undefined, cost: 0 };
  meterInto(into, limit, evaluate as (argument: A | undefined) => unknown, argument);
  return into.ok
    ? { ok: true, value: into.value, cost: into.cost }
    : { ok: false, error: into.error, cost: into.cost };
}

/** What `meterInto` writes: as Metered, in one object that the caller keeps and reuses. */
export interface MeteredInto {
  ok: boolean;
  value: unknown;
  error: unknown;
  cost: number;
}

/**
 * `metered`, writing its answer into `into` rather than into a new object, for the webhook's hot
 * path: an evaluation is synchronous, so one object serves every evaluation of a judge in turn.
 * `spent` is charged before the evaluation starts (what an earlier attempt at it charged for work
 * that is not done again). Returns `into.ok`.
 */
export function meterInto<A>(
  into: MeteredInto,
  limit: number,
  evaluate: (argument: A) => unknown,
  argument: A,
  spent = 0,
): boolean {
  const outer = current;
  const meter = new Meter(Math.max(0, limit));
  meter.used = spent;
  current = meter;
  try {
    const value = evaluate(argument);
    into.ok = !meter.exceeded;
    into.value = meter.exceeded ? undefined : value;
    into.error = meter.exceeded ? new CostLimitExceeded() : undefined;
  } catch (error) {
    into.ok = false;
    into.value = undefined;
    into.error = meter.exceeded ? new CostLimitExceeded() : error;
  } finally {
    current = outer;
    if (outer !== undefined) outer.used += meter.used;
  }
  into.cost = meter.used;
  return into.ok;
}

/** The cost of walking a value: a tenth per element, entry or character, as cel-go's size factor. */
export function sizeCost(value: unknown): number {
  if (typeof value === "string") return Math.ceil(value.length * 0.1);
  if (Array.isArray(value)) return Math.ceil(value.length * 0.1);
  if (value instanceof Map || value instanceof Set) return Math.ceil(value.size * 0.1);
  if (value instanceof Uint8Array) return Math.ceil(value.length * 0.1);
  return 0;
}

/** Charges a function's work on its operands; tollgate's own library functions call it. */
export function chargeOperands(operands: readonly unknown[]): void {
  if (current === undefined) return;
  let amount = 0;
  for (const operand of operands) amount += sizeCost(operand);
  charge(amount);
}

/** The parts of cel-js's node that its typings leave out: the resolved evaluation and handler. */
interface Node {
  op: string;
  args: unknown;
  meta: { alternate?: Node; macro?: unknown; evaluate?: Evaluate };
  evaluate: Evaluate;
  handle?: (...operands: unknown[]) => unknown;
  checkedType?: unknown;
}

type Evaluate = (evaluator: unknown, node: unknown, scope: unknown) => unknown;

function isNode(value: unknown): value is Node {
  return typeof value === "object" && value !== null && "op" in value && "args" in value && "meta" in value;
}

/** The nodes directly below a node: its operands, a macro's expansion, a comprehension's parts. */
function childrenOf(node: Node): Node[] {
  const children: Node[] = [];
  const alternate = node.meta.alternate;
  if (alternate !== undefined) children.push(alternate);
  if (node.op === "comprehension") {
    const { iterable, init, step } = node.args as Record<string, unknown>;
    for (const part of [iterable, init, step]) if (isNode(part)) children.push(part);
    return children;
  }
  const stack: unknown[] = [node.args];
  while (stack.length > 0) {
    const item = stack.pop();
    if (isNode(item)) children.push(item);
    else if (Array.isArray(item)) stack.push(...(item as unknown[]));
  }
  return children;
}

/**
 * Can evaluating the node run some part of it more than once? A comprehension does; so may a macro,
 * unless it says otherwise (tollgate's own method calls evaluate each operand once).
 */
function repeats(node: Node): boolean {
  if (node.op === "comprehension") return true;
  const macro = node.meta.macro as { loops?: boolean } | undefined;
  return macro !== undefined && macro.loops !== false;
}

/** How the node's own evaluation runs, as cel-js's ASTNode.evaluate resolves it on first use. */
function ownEvaluate(node: Node): Evaluate {
  const { alternate, macro, evaluate } = node.meta;
  if (alternate !== undefined)
    return (evaluator, _node, scope) => alternate.evaluate(evaluator, alternate, scope);
  if (macro !== undefined) {
    const expanded = macro as { evaluate: Evaluate };
    return (evaluator, _node, scope) => expanded.evaluate(evaluator, expanded, scope);
  }
  return evaluate!;
}

/** The operators and calls whose work grows with the size of what they are given. */
const SIZED_OPERATORS = new Set(["call", "rcall", "+", "in", "==", "!="]);

/** Charges a node's handler by the size of its operands (for a call, the resolved argument list). */
function chargeSizes(node: Node): void {
  const handle = node.handle;
  if (handle === undefined || !SIZED_OPERATORS.has(node.op)) return;
  // cel-js calls a handler with at most four arguments (operands, then the node and the
  // evaluator): they are passed on as they are, without a rest array and a spread per call.
  if (node.op === "call" || node.op === "rcall") {
    node.handle = (operands, second, third, fourth) => {
      if (Array.isArray(operands)) chargeOperands(operands);
      return handle(operands, second, third, fourth);
    };
  } else {
    node.handle = (left, right, third, fourth) => {
      charge(sizeCost(left) + sizeCost(right));
      return handle(left, right, third, fourth);
    };
  }
}

interface Counted {
  /** Nodes in the subtree, each costing one when evaluated. */
  nodes: number;
  /** Whether some part of the subtree can run more than once. */
  repeats: boolean;
}

/**
 * Installs the charges on a type-checked expression. A subtree that runs each of its nodes at most
 * once is charged once, at its root, for all its nodes; inside a macro or comprehension every node
 * that can run again charges as it runs, so a loop costs what it iterates. Returns what each charging
 * node charges when it is entered, for the expression's closures (closures.ts).
 */
export function meterExpression(ast: ASTNode): ReadonlyMap<unknown, number> {
  const root = ast as unknown as Node;
  const amounts = new Map<unknown, number>();
  const counted = new Map<Node, Counted>();
  const count = (node: Node): Counted => {
    const known = counted.get(node);
    if (known !== undefined) return known;
    const result: Counted = { nodes: node.op === "value" ? 0 : 1, repeats: repeats(node) };
    counted.set(node, result);
    for (const child of childrenOf(node)) {
      const inner = count(child);
      result.nodes += inner.nodes;
      result.repeats ||= inner.repeats;
    }
    return result;
  };
  count(root);
  const installed = new Set<Node>();
  const install = (node: Node, chargeHere: boolean): void => {
    if (installed.has(node)) return;
    installed.add(node);
    chargeSizes(node);
    const { nodes, repeats: loops } = counted.get(node)!;
    if (chargeHere) {
      const amount = loops ? (node.op === "value" ? 0 : 1) : nodes;
      if (amount > 0) {
        amounts.set(node, amount);
        const evaluate = ownEvaluate(node);
        node.evaluate = (evaluator, self, scope) => {
          charge(amount);
          return evaluate(evaluator, self, scope);
        };
      }
    }
    // Below a loop-free node everything was charged with it; below a loop each node charges itself.
    for (const child of childrenOf(node)) install(child, loops);
  };
  install(root, true);
  return amounts;
}
