import type { ASTNode, ParseResult } from "@marcbachmann/cel-js";
import { type Closure, closuresOf } from "./closures.js";
import { meterExpression } from "./cost.js";
import { policyEnvironment, REFUSED_VARIABLES } from "./environment.js";
import { prepareExpression } from "./library/index.js";
import { type Reads, readsOf } from "./reads.js";

/** What an expression may refer to, beyond `object`, `oldObject`, `request` and `namespaceObject`. */
export interface ExpressionScope {
  /** `params` is declared only when the policy has a `paramKind`, as in the apiserver. */
  params: boolean;
  /** The names of the variables declared before this expression. */
  variables: ReadonlySet<string>;
  /**
   * The types the expression must have, as the checker infers them (`bool` for a validation,
   * `string` for a messageExpression); any type when absent. As the apiserver, `dyn` is not `bool`:
   * `object.spec.paused` alone is refused, `object.spec.paused == true` is not.
   */
  returns?: readonly string[];
}

export interface CompiledExpression {
  /** The expression as written, for messages (`failed expression: …`). */
  readonly source: string;
  readonly evaluate: ParseResult;
  /**
   * The same evaluation as closures, for the webhook's hot path, where the expression has only
   * kinds of nodes they cover; one that fails is evaluated again by `evaluate`, whose answer counts.
   */
  readonly closures: Closure | undefined;
  /** What the expression reads of `object`, `oldObject`, `request`, `namespaceObject`, `params`. */
  readonly reads: Reads;
}

/** A compile error: what is wrong and where in the expression (0-based offset), when known. */
export class ExpressionError extends Error {
  constructor(
    message: string,
    readonly offset: number | undefined,
  ) {
    super(message);
    this.name = "ExpressionError";
  }
}

/** The longest expression tollgate compiles, as the apiserver's limit on a validation's expression. */
export const MAX_EXPRESSION_LENGTH = 5 * 1024;

function* nodesOf(node: ASTNode): Generator<ASTNode> {
  yield node;
  const args: unknown = node.args;
  const stack: unknown[] = Array.isArray(args) ? [...args] : [args];
  while (stack.length > 0) {
    const item = stack.pop();
    if (Array.isArray(item)) stack.push(...item);
    else if (item !== null && typeof item === "object" && "op" in item && "args" in item) {
      yield* nodesOf(item as ASTNode);
    }
  }
}

/** The names an expression refers to that its scope does not declare, with where they are. */
function scopeError(ast: ASTNode, scope: ExpressionScope): ExpressionError | undefined {
  for (const node of nodesOf(ast)) {
    if (node.op === "id") {
      const name = node.args;
      const refused = REFUSED_VARIABLES[name];
      if (refused !== undefined)
        return new ExpressionError(`'${name}' is not supported: ${refused}`, node.start);
      if (name === "params" && !scope.params) {
        return new ExpressionError(
          "undeclared reference to 'params' (the policy has no spec.paramKind)",
          node.start,
        );
      }
    }
    if (
      (node.op === "." || node.op === ".?") &&
      node.args[0].op === "id" &&
      node.args[0].args === "variables"
    ) {
      const name = node.args[1];
      if (!scope.variables.has(name)) {
        return new ExpressionError(
          `undeclared reference to 'variables.${name}' (a variable can use only those declared before it)`,
          node.start,
        );
      }
    }
  }
  return undefined;
}

/** The first line of a cel-js message; the rest is its own drawing of the expression. */
function firstLine(message: string): string {
  return message.split("\n")[0]!.trim();
}

function offsetOf(error: unknown): number | undefined {
  const node = (error as { node?: { start?: unknown } }).node;
  return typeof node?.start === "number" ? node.start : undefined;
}

/**
 * Parses and type-checks one expression in the policy environment, once, at load. Errors name the
 * problem and the offset in the expression; the caller adds the file, the policy and the field.
 */
export function compileExpression(source: string, scope: ExpressionScope): CompiledExpression {
  if (source.trim() === "") throw new ExpressionError("the expression is empty", undefined);
  if (source.length > MAX_EXPRESSION_LENGTH) {
    throw new ExpressionError(
      `the expression is ${source.length} characters long, more than ${MAX_EXPRESSION_LENGTH}`,
      undefined,
    );
  }
  let evaluate: ParseResult;
  try {
    evaluate = policyEnvironment().parse(source);
  } catch (error) {
    throw new ExpressionError(`syntax error: ${firstLine((error as Error).message)}`, offsetOf(error));
  }
  prepareExpression(evaluate.ast);
  const unknown = scopeError(evaluate.ast, scope);
  if (unknown) throw unknown;
  const checked = evaluate.check();
  if (!checked.valid) {
    const error = checked.error;
    throw new ExpressionError(
      `type error: ${firstLine(error?.message ?? "the expression does not type-check")}`,
      offsetOf(error),
    );
  }
  const returns = scope.returns;
  if (returns !== undefined && !returns.includes(checked.type ?? "dyn")) {
    const expected = returns.length === 1 ? returns[0] : `one of [${returns.join(", ")}]`;
    throw new ExpressionError(`must evaluate to ${expected} but got ${checked.type ?? "dyn"}`, undefined);
  }
  const amounts = meterExpression(evaluate.ast);
  return { source, evaluate, closures: closuresOf(evaluate.ast, amounts), reads: readsOf(evaluate.ast) };
}

/** `line:column` (1-based) of an offset in a possibly multi-line expression. */
export function positionIn(source: string, offset: number): string {
  const before = source.slice(0, offset).split("\n");
  return `${before.length}:${before[before.length - 1]!.length + 1}`;
}
