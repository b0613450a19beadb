import type { ASTNode } from "@marcbachmann/cel-js";
import { type CelValue, toCel } from "./values.js";

/**
 * What expressions read of the variables a policy hands them, so that a request converts only that
 * to CEL values (`toCel` walks and copies; the Pod body is 4 KB, the expressions read a few fields).
 *
 * A read is a static chain of field selections from a variable (`object.spec.containers`,
 * `object.metadata.labels['app']`, `object.?spec.?x`): the value at its end is converted whole,
 * and its ancestors are maps holding only the fields read. An ancestor is only ever selected from,
 * by a field name that is itself collected, so it answers every selection as the whole value would.
 * Anything else an expression does with a value (pass it to a function or a macro, compare it,
 * test membership, iterate it, index it by a computed key) takes that value whole; a variable used
 * other than through a chain is read whole. `has(a.b)` reads only whether `b` is there.
 */
export const READ_ROOTS = ["object", "oldObject", "request", "namespaceObject", "params"] as const;

export type ReadRoot = (typeof READ_ROOTS)[number];

/** What is read below one value: all of it, or some of its fields (none: only that it is there). */
export interface ReadTree {
  whole: boolean;
  readonly fields: Map<string, ReadTree>;
}

/** The reads of each variable; a variable that no expression reads is absent. */
export type Reads = Partial<Record<ReadRoot, ReadTree>>;

const ROOTS: ReadonlySet<string> = new Set(READ_ROOTS);

/** Every variable read whole: what converting everything gives. */
export const WHOLE_READS: Reads = Object.fromEntries(
  READ_ROOTS.map((root) => [root, { whole: true, fields: new Map() }]),
);

/**
 * The operators of cel-js's parsed tree that the walk knows. A node of any other kind makes every
 * variable read whole, so that a new cel-js operator cannot hide a read.
 */
const KNOWN = new Set([
  "value",
  "id",
  ".",
  ".?",
  "[]",
  "[?]",
  "call",
  "rcall",
  "list",
  "map",
  "?:",
  "||",
  "&&",
  "!_",
  "-_",
  "!=",
  "==",
  "in",
  "+",
  "-",
  "*",
  "/",
  "%",
  "<",
  "<=",
  ">",
  ">=",
]);

function isNode(item: unknown): item is ASTNode {
  return typeof item === "object" && item !== null && "op" in item && "args" in item;
}

/** A selection or a string-literal index: what it selects from, and the field; else undefined. */
function accessOf(node: ASTNode): { from: ASTNode; field: string } | undefined {
  let field: unknown;
  if (node.op === "." || node.op === ".?") field = node.args[1];
  else if ((node.op === "[]" || node.op === "[?]") && node.args[1].op === "value") field = node.args[1].args;
  else return undefined;
  // `__proto__` would not survive being set on a fresh map: the value holding it is read whole.
  return typeof field === "string" && field !== "__proto__" ? { from: node.args[0], field } : undefined;
}

/** `object.a.b` as `{root: "object", path: ["a", "b"]}`; undefined when the node is not such a chain. */
function chainOf(node: ASTNode): { root: ReadRoot; path: string[] } | undefined {
  const path: string[] = [];
  let at = node;
  for (;;) {
    if (at.op === "id") {
      if (!ROOTS.has(at.args)) return undefined;
      return { root: at.args as ReadRoot, path: path.reverse() };
    }
    const access = accessOf(at);
    if (access === undefined) return undefined;
    path.push(access.field);
    at = access.from;
  }
}

function treeAt(reads: Reads, root: ReadRoot, path: readonly string[]): ReadTree {
  let tree = (reads[root] ??= { whole: false, fields: new Map() });
  for (const field of path) {
    let next = tree.fields.get(field);
    if (next === undefined) tree.fields.set(field, (next = { whole: false, fields: new Map() }));
    tree = next;
  }
  return tree;
}

function readAll(reads: Reads): void {
  for (const root of READ_ROOTS) treeAt(reads, root, []).whole = true;
}

function visit(node: ASTNode, reads: Reads, presenceOnly: boolean): void {
  if (!KNOWN.has(node.op)) {
    readAll(reads);
    return;
  }
  const chain = chainOf(node);
  if (chain !== undefined) {
    const tree = treeAt(reads, chain.root, chain.path);
    if (!presenceOnly) tree.whole = true;
    return;
  }
  if (node.op === "call" && node.args[0] === "has" && node.args[1].length === 1) {
    visit(node.args[1][0]!, reads, true);
    return;
  }
  // The operands of anything else are used as values: a chain among them is read whole.
  const stack: unknown[] = [node.args];
  while (stack.length > 0) {
    const item = stack.pop();
    if (isNode(item)) visit(item, reads, false);
    else if (Array.isArray(item)) stack.push(...(item as unknown[]));
  }
}

/** What one parsed expression reads of the policy's variables. */
export function readsOf(ast: ASTNode): Reads {
  const reads: Reads = {};
  visit(ast, reads, false);
  return reads;
}

function mergeInto(into: ReadTree, from: ReadTree): void {
  into.whole ||= from.whole;
  for (const [field, tree] of from.fields) {
    let target = into.fields.get(field);
    if (target === undefined) into.fields.set(field, (target = { whole: false, fields: new Map() }));
    mergeInto(target, tree);
  }
}

/** What a set of expressions reads together. */
export function unionOf(all: Iterable<Reads>): Reads {
  const union: Reads = {};
  for (const reads of all) {
    for (const root of READ_ROOTS) {
      const tree = reads[root];
      if (tree !== undefined) mergeInto(treeAt(union, root, []), tree);
    }
  }
  return union;
}

/**
 * A value as CEL sees it, converted only where `tree` reads it: what is read whole is `toCel` of
 * it, a map read in part holds only the fields read that it has, and a map or list whose presence
 * alone is read is an empty one. Scalars are converted as they are.
 */
export function celViewOf(value: unknown, tree: ReadTree): CelValue {
  if (tree.whole || value === null || typeof value !== "object") return toCel(value);
  if (Array.isArray(value)) return tree.fields.size === 0 ? [] : toCel(value);
  const record = value as Readonly<Record<string, unknown>>;
  const view: Record<string, CelValue> = {};
  for (const [field, below] of tree.fields) {
    if (Object.hasOwn(record, field)) view[field] = celViewOf(record[field], below);
  }
  return view;
}
