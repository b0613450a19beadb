import { type EventType, loadAll, type State } from "js-yaml";

/** Where a mapping's keys or a sequence's items start, 1-based lines. */
interface NodeLines {
  line: number;
  /** For mappings: the line of each key. */
  keys?: Map<string, number>;
  /** For sequences: the line of each item. */
  items?: number[];
}

interface Frame {
  line: number;
  children: { line: number; result: unknown }[];
}

/** One YAML document of a text, its value and a way to find the line of any field in it. */
export interface ParsedDocument {
  value: unknown;
  /** 1-based line where the document's content starts. */
  line: number;
}

/** Line tables of every mapping and sequence parsed by `parseYamlDocuments`, keyed by the value itself. */
const LINES = new WeakMap<object, NodeLines>();

function isContainer(value: unknown): value is object {
  return typeof value === "object" && value !== null && !(value instanceof Date);
}

/**
 * Parse every document of a YAML (or JSON) text and remember where each key and item sits.
 * `firstLine` is the 1-based line of the text's first line in its file. Throws js-yaml's
 * YAMLException, whose `mark.line` is 0-based within `text`.
 *
 * tollgate's one YAML parser is js-yaml: `tollgate check` must read 10,000 documents in well under
 * two seconds, and the `yaml` package builds a full AST at about 300 µs a document (3.0 s for
 * 10,000 Deployments against js-yaml's 0.25 s, measured side by side); js-yaml's `listener` gives
 * the positions this needs at a fraction of that cost.
 */
export function parseYamlDocuments(text: string, firstLine: number): ParsedDocument[] {
  const stack: Frame[] = [];
  const roots: { line: number; result: unknown }[] = [];
  const offset = firstLine;
  const listener = (event: EventType, state: State): void => {
    if (event === "open") {
      stack.push({ line: state.line + offset, children: [] });
      return;
    }
    const frame = stack.pop()!;
    const result: unknown = state.result;
    let line = frame.line;
    if (isContainer(result) && !LINES.has(result)) {
      const children = frame.children;
      if (Array.isArray(result)) {
        LINES.set(result, { line, items: children.map((child) => child.line) });
      } else {
        const keys = new Map<string, number>();
        for (let i = 0; i + 1 < children.length; i += 2) {
          const key = children[i]!;
          if (typeof key.result === "string" || typeof key.result === "number") {
            keys.set(String(key.result), key.line);
          }
        }
        // A block mapping opens where its first key is; the key's line is the more precise one.
        const first = children[0];
        if (first) line = first.line;
        LINES.set(result, { line, keys });
      }
    }
    const parent = stack[stack.length - 1];
    if (parent) parent.children.push({ line, result });
    else roots.push({ line, result });
  };
  const values: unknown[] = [];
  loadAll(text, (doc) => values.push(doc), { listener });
  return values.map((value, index) => ({
    value,
    line: isContainer(value) ? (LINES.get(value)?.line ?? firstLine) : (roots[index]?.line ?? firstLine),
  }));
}

/** The line where a mapping or sequence parsed by `parseYamlDocuments` starts. */
export function lineOfValue(value: unknown): number | undefined {
  return isContainer(value) ? LINES.get(value)?.line : undefined;
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
 * The line of the deepest node of `path` that exists under `root`: the field's own key when it
 * is there, else its nearest existing ancestor, else `fallback`. Keys that contain dots
 * (`pod-security.kubernetes.io/enforce`) are matched by joining segments.
 */
export function lineOfPath(root: unknown, path: string, fallback: number): number {
  const segments = splitPath(path);
  let current: unknown = root;
  let line = lineOfValue(root) ?? fallback;
  for (let i = 0; i < segments.length; i++) {
    const lines = isContainer(current) ? LINES.get(current) : undefined;
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
