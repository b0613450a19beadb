import { type EventType, loadAll, type Schema, type State } from "js-yaml";
import { AliasCounter } from "./aliases.js";

/** Where a mapping's keys or a sequence's items start, 1-based lines. */
interface NodeLines {
  line: number;
  /** For mappings: the line of each key. */
  keys?: Map<string, number>;
  /** For sequences: the line of each item. */
  items?: number[];
}

/**
 * The line tables of one parse, keyed by each mapping and sequence it produced. It belongs to the
 * documents of that parse and is dropped with them: a module-level WeakMap keyed by every parsed
 * node made V8 keep those nodes' entries in one ever-growing ephemeron table, which the garbage
 * collector had to walk on every collection.
 */
export type LineTable = ReadonlyMap<object, NodeLines>;

/** A node being read: where it opened, and the line and value of each child closed so far. */
interface Frame {
  line: number;
  /** How many children have closed; entries past it in `lines` and `results` are stale. */
  count: number;
  lines: number[];
  results: unknown[];
}

/** One YAML document of a text, its value and a way to find the line of any field in it. */
export interface ParsedDocument {
  value: unknown;
  /** 1-based line where the document's content starts. */
  line: number;
  /** Where the document's mappings and sequences sit, for `lineOfPath`. */
  lines: LineTable;
  /** The first `.nan` or `.inf` value and its line: JSON has no such number, so kubectl fails there. */
  nonFinite?: { value: number; line: number };
}

function isContainer(value: unknown): value is object {
  return typeof value === "object" && value !== null;
}

/**
 * Parse every document of a YAML (or JSON) text and remember where each key and item sits.
 * `firstLine` is the 1-based line of the text's first line in its file; `schema` says how plain
 * scalars resolve (see schemas.ts). Throws js-yaml's YAMLException, whose `mark.line` is 0-based
 * within `text`, or its subclass ExcessiveAliasing (aliases.ts) where go-yaml v2, and so kubectl,
 * would give up on the aliases.
 *
 * tollgate's one YAML parser is js-yaml: `tollgate check` must read 10,000 documents in well under
 * two seconds, and the `yaml` package builds a full AST at about 300 µs a document (3.0 s for
 * 10,000 Deployments against js-yaml's 0.25 s, measured side by side); js-yaml's `listener` gives
 * the positions this needs at a fraction of that cost.
 */
export function parseYamlDocuments(text: string, firstLine: number, schema: Schema): ParsedDocument[] {
  const table = new Map<object, NodeLines>();
  // One frame per depth, reused by every node at that depth: a node's children are all closed
  // before its next sibling opens, so scalars (most nodes) cost no allocation here.
  const frames: Frame[] = [];
  const roots: Frame = { line: firstLine, count: 0, lines: [], results: [] };
  let depth = 0;
  const aliases = new AliasCounter();
  const nonFinite: ParsedDocument["nonFinite"][] = [];
  let documentIndex = -1;
  const listener = (event: EventType, state: State): void => {
    if (event === "open") {
      if (depth === 0) documentIndex++;
      aliases.open(state);
      let frame = frames[depth];
      if (frame === undefined) {
        frame = { line: 0, count: 0, lines: [], results: [] };
        frames[depth] = frame;
      }
      frame.line = state.line + firstLine;
      frame.count = 0;
      depth++;
      return;
    }
    aliases.close(state);
    depth--;
    const frame = frames[depth]!;
    const result: unknown = state.result;
    let line = frame.line;
    if (typeof result === "number" && !Number.isFinite(result)) {
      nonFinite[documentIndex] ??= { value: result, line };
    }
    if (isContainer(result) && !table.has(result)) {
      if (Array.isArray(result)) {
        table.set(result, { line, items: frame.lines.slice(0, frame.count) });
      } else {
        const keys = new Map<string, number>();
        const { count, lines, results } = frame;
        for (let i = 0; i + 1 < count; i += 2) {
          const key = results[i];
          // js-yaml names a property after String(key), so `on:` (YAML 1.1 true) is "true".
          if (typeof key === "string" || typeof key === "number" || typeof key === "boolean") {
            keys.set(String(key), lines[i]!);
          }
        }
        // A block mapping opens where its first key is; the key's line is the more precise one.
        if (count > 0) line = lines[0]!;
        table.set(result, { line, keys });
      }
    }
    const parent = depth > 0 ? frames[depth - 1]! : roots;
    parent.lines[parent.count] = line;
    parent.results[parent.count] = result;
    parent.count++;
  };
  const values: unknown[] = [];
  // js-yaml's own cap of 10,000 merged keys refused documents kubectl takes; the alias budget
  // bounds what merges copy as go-yaml bounds it.
  loadAll(text, (doc) => values.push(doc), { listener, schema, maxTotalMergeKeys: -1 });
  return values.map((value, index) => {
    const document: ParsedDocument = {
      value,
      line: isContainer(value) ? (table.get(value)?.line ?? firstLine) : (roots.lines[index] ?? firstLine),
      lines: table,
    };
    const found = nonFinite[index];
    if (found) document.nonFinite = found;
    return document;
  });
}

/** The line where a mapping or sequence of a parsed document starts. */
export function lineOfValue(lines: LineTable, value: unknown): number | undefined {
  return isContainer(value) ? lines.get(value)?.line : undefined;
}

type Segment = { key: string } | { index: number } | { field: string; equals: string };

const SPLIT_CACHE = new Map<string, readonly Segment[]>();
const SPLIT_CACHE_LIMIT = 10_000;

/**
 * Split a finding's field path: `spec.containers[name=web].ports[0].hostPort`. Memoised: a run
 * over thousands of similar manifests asks for the same few hundred paths again and again.
 */
export function splitPath(path: string): readonly Segment[] {
  const cached = SPLIT_CACHE.get(path);
  if (cached) return cached;
  if (SPLIT_CACHE.size >= SPLIT_CACHE_LIMIT) SPLIT_CACHE.clear();
  const segments = splitUncached(path);
  SPLIT_CACHE.set(path, segments);
  return segments;
}

function splitUncached(path: string): Segment[] {
  const segments: Segment[] = [];
  const pattern = /([^.[\]]+)|\[([^\]]*)\]/g;
  for (const match of path.matchAll(pattern)) {
    if (match[1] !== undefined) {
      segments.push({ key: match[1] });
      continue;
    }
    const inner = match[2] ?? "";
    const eq = inner.indexOf("=");
    if (/^\d+$/.test(inner)) segments.push({ index: Number(inner) });
    else if (eq > 0) segments.push({ field: inner.slice(0, eq), equals: inner.slice(eq + 1) });
    else segments.push({ key: inner.replace(/^["']|["']$/g, "") });
  }
  return segments;
}

/**
 * The line of the deepest node of `path` that exists under `root` (a value from the parse that
 * made `table`): the field's own key when it is there, else its nearest existing ancestor, else
 * `fallback`. Keys that contain dots (`pod-security.kubernetes.io/enforce`) are matched by
 * joining segments.
 */
export function lineOfPath(table: LineTable, root: unknown, path: string, fallback: number): number {
  const segments = splitPath(path);
  let current: unknown = root;
  let line = lineOfValue(table, root) ?? fallback;
  for (let i = 0; i < segments.length; i++) {
    const lines = isContainer(current) ? table.get(current) : undefined;
    const segment = segments[i]!;
    if (Array.isArray(current)) {
      let index = -1;
      if ("index" in segment) index = segment.index;
      else if ("field" in segment) {
        index = current.findIndex(
          (item: unknown) =>
            isContainer(item) && String((item as Record<string, unknown>)[segment.field]) === segment.equals,
        );
      }
      if (index < 0 || index >= current.length) return line;
      line = lines?.items?.[index] ?? line;
      current = current[index];
      continue;
    }
    if (!isContainer(current) || !("key" in segment)) return line;
    const record = current as Record<string, unknown>;
    let key = segment.key;
    let j = i;
    while (!Object.hasOwn(record, key) && j + 1 < segments.length) {
      const next = segments[j + 1]!;
      if (!("key" in next)) break;
      j++;
      key = `${key}.${next.key}`;
    }
    if (!Object.hasOwn(record, key)) return line;
    i = j;
    line = lines?.keys?.get(key) ?? line;
    current = record[key];
  }
  return line;
}
