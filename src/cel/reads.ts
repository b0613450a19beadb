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
 *
 * The list macros `all`, `exists`, `exists_one` and `map` whose receiver is a chain read each element
 * only as their body reads the loop variable (`object.spec.containers.all(c, c.image != '')` reads the
 * containers' images): the chain's tree keeps an `items` tree for its elements. That holds for a list
 * alone; a map is iterated by its keys, so a map found where an `items` tree is read is taken whole.
 * `size()` of a chain reads its elements' presence alone (a list of empty ones, as long).
 */
export const READ_ROOTS = ["object", "oldObject", "request", "namespaceObject", "params"] as const;

export type ReadRoot = (typeof READ_ROOTS)[number];

/** What is read below one value: all of it, or some of its fields (none: only that it is there). */
export interface ReadTree {
  whole: boolean;
  readonly fields: Map<string, ReadTree>;
  /** What is read of each element, where the value is a list that a macro iterates. */
  items?: ReadTree;
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

/** `object.a.b` as `{name: "object", path: ["a", "b"]}`; undefined when the node is not such a chain. */
function chainOf(node: ASTNode): { name: string; path: string[] } | undefined {
  const path: string[] = [];
  let at = node;
  for (;;) {
    if (at.op === "id")
      return typeof at.args === "string" ? { name: at.args, path: path.reverse() } : undefined;
    const access = accessOf(at);
    if (access === undefined) return undefined;
    path.push(access.field);
    at = access.from;
  }
}

const newTree = (): ReadTree => ({ whole: false, fields: new Map() });

function below(tree: ReadTree, path: readonly string[]): ReadTree {
  let at = tree;
  for (const field of path) {
    let next = at.fields.get(field);
    if (next === undefined) at.fields.set(field, (next = newTree()));
    at = next;
  }
  return at;
}

/**
 * The loop variables in scope, innermost last: each names the `items` tree of the list it ranges
 * over, or undefined when that list is no chain (its reads are counted where it is made).
 */
type Scope = readonly { name: string; items: ReadTree | undefined }[];

/**
 * The tree a chain reads into: below a loop variable's items, or below a root; null when the chain
 * starts at a name that is neither (an expression's own names, `variables`), which reads nothing.
 */
function treeOfChain(chain: { name: string; path: string[] }, reads: Reads, scope: Scope): ReadTree | null {
  for (let index = scope.length - 1; index >= 0; index--) {
    const bound = scope[index]!;
    if (bound.name !== chain.name) continue;
    return bound.items === undefined ? null : below(bound.items, chain.path);
  }
  return ROOTS.has(chain.name) ? treeAt(reads, chain.name as ReadRoot, chain.path) : null;
}

/** The list macros whose loop variable stands for one element at a time, by their count of arguments. */
const ELEMENT_MACROS: Readonly<Record<string, readonly number[]>> = {
  all: [2],
  exists: [2],
  exists_one: [2],
  map: [2, 3],
};

/** The operand of `size(x)` or `x.size()`; else undefined. */
function sizeOperandOf(node: ASTNode): ASTNode | undefined {
  if (node.op === "call" && node.args[0] === "size" && node.args[1].length === 1) return node.args[1][0];
  if (node.op === "rcall" && node.args[0] === "size" && node.args[2].length === 0) return node.args[1];
  return undefined;
}

/** `list.all(x, …)` and its kind: the receiver, the loop variable and the body; else undefined. */
function elementMacroOf(node: ASTNode): { receiver: ASTNode; name: string; body: ASTNode[] } | undefined {
  if (node.op !== "rcall") return undefined;
  const [method, receiver, args] = node.args as [unknown, ASTNode, ASTNode[]];
  if (typeof method !== "string" || !Object.hasOwn(ELEMENT_MACROS, method)) return undefined;
  if (!Array.isArray(args) || !ELEMENT_MACROS[method]!.includes(args.length)) return undefined;
  const variable = args[0]!;
  if (variable.op !== "id" || typeof variable.args !== "string") return undefined;
  return { receiver, name: variable.args, body: args.slice(1) };
}

function treeAt(reads: Reads, root: ReadRoot, path: readonly string[]): ReadTree {
  return below((reads[root] ??= newTree()), path);
}

function readAll(reads: Reads): void {
  for (const root of READ_ROOTS) treeAt(reads, root, []).whole = true;
}

/**
 * The tree of a list whose elements are read apart (a macro's receiver, size()'s operand), when it
 * is a chain; anything else is visited as a value, its elements read where it is made, and gives null.
 */
function listTreeOf(node: ASTNode, reads: Reads, scope: Scope): ReadTree | null {
  const chain = chainOf(node);
  if (chain !== undefined) return treeOfChain(chain, reads, scope);
  visit(node, reads, false, scope);
  return null;
}

function visit(node: ASTNode, reads: Reads, presenceOnly: boolean, scope: Scope): void {
  if (!KNOWN.has(node.op)) {
    readAll(reads);
    return;
  }
  const chain = chainOf(node);
  if (chain !== undefined) {
    const tree = treeOfChain(chain, reads, scope);
    if (tree !== null && !presenceOnly) tree.whole = true;
    return;
  }
  if (node.op === "call" && node.args[0] === "has" && node.args[1].length === 1) {
    visit(node.args[1][0]!, reads, true, scope);
    return;
  }
  // size() of a list counts its elements and reads none of them: each element is there, empty.
  const sized = sizeOperandOf(node);
  if (sized !== undefined) {
    const tree = listTreeOf(sized, reads, scope);
    if (tree !== null) tree.items ??= newTree();
    return;
  }
  const macro = elementMacroOf(node);
  if (macro !== undefined) {
    const tree = listTreeOf(macro.receiver, reads, scope);
    const items = tree === null ? undefined : (tree.items ??= newTree());
    const inner = [...scope, { name: macro.name, items }];
    for (const part of macro.body) visit(part, reads, false, inner);
    return;
  }
  // The operands of anything else are used as values: a chain among them is read whole.
  const stack: unknown[] = [node.args];
  while (stack.length > 0) {
    const item = stack.pop();
    if (isNode(item)) visit(item, reads, false, scope);
    else if (Array.isArray(item)) stack.push(...(item as unknown[]));
  }
}

/** What one parsed expression reads of the policy's variables. */
export function readsOf(ast: ASTNode): Reads {
  const reads: Reads = {};
  visit(ast, reads, false, []);
  return reads;
}

function mergeInto(into: ReadTree, from: ReadTree): void {
  into.whole ||= from.whole;
  for (const [field, tree] of from.fields) {
    let target = into.fields.get(field);
    if (target === undefined) into.fields.set(field, (target = newTree()));
    mergeInto(target, tree);
  }
  if (from.items !== undefined) mergeInto((into.items ??= newTree()), from.items);
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
 * it, a map read in part holds only the fields read that it has, a list whose elements are read in
 * part holds each element's view, and a map or list whose presence alone is read is an empty one.
 * Scalars are converted as they are.
 */
export function celViewOf(value: unknown, tree: ReadTree): CelValue {
  if (tree.whole || value === null || typeof value !== "object") return toCel(value);
  const items = tree.items;
  if (Array.isArray(value)) {
    // A list is never selected from: one that is, is read whole and fails as it would.
    if (tree.fields.size > 0) return toCel(value);
    if (items === undefined) return [];
    const view: CelValue[] = [];
    for (let index = 0; index < value.length; index++) view.push(celViewOf(value[index], items));
    return view;
  }
  // A map a macro iterates gives its keys, all of them: whole.
  if (items !== undefined) return toCel(value);
  const record = value as Readonly<Record<string, unknown>>;
  const view: Record<string, CelValue> = {};
  for (const [field, below] of tree.fields) {
    if (Object.hasOwn(record, field)) view[field] = celViewOf(record[field], below);
  }
  return view;
}
