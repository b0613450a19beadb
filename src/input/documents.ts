import type { Dirent, Stats } from "node:fs";
import { readdir, readlink, stat } from "node:fs/promises";
import { extname, join, relative, resolve } from "node:path";
import { load, YAMLException } from "js-yaml";
import { ExcessiveAliasing } from "./aliases.js";
import { type LineTable, lineOfPath, parseYamlDocuments } from "./positions.js";
import { InputTooLarge, readFileBounded } from "./read.js";
import { MANIFEST_SCHEMA } from "./schemas.js";
import { isRecord, type KubeObject } from "../objects/object.js";

/** The name stdin goes by in reports. */
export const STDIN_NAME = "<stdin>";

const EXTENSIONS = new Set([".yaml", ".yml", ".json"]);

/** One Kubernetes object read from a file, with what is needed to point at its lines. */
export interface SourceObject {
  object: KubeObject;
  file: string;
  /** 1-based line where the object starts. */
  line: number;
  /** The line table of the document the object was read from. */
  lines: LineTable;
}

/** Something in the input that could not be checked: unreadable file, broken YAML, no kind. */
export interface InputError {
  file: string;
  /** 1-based, or null when the problem is the whole file. */
  line: number | null;
  message: string;
}

/** An input error as one line: `file:line: message` (or `file: message` for the whole file). */
export function describeInputError(error: InputError): string {
  return `${error.file}${error.line === null ? "" : `:${error.line}`}: ${error.message}`;
}

export interface LoadedInput<T> {
  /** What the caller's `judge` made of each object, in reading order. */
  objects: T[];
  errors: InputError[];
  /** Files read, stdin included. */
  files: number;
  /** Non-empty YAML documents; a `List` is one document of many objects. */
  documents: number;
  /**
   * Documents that are no Kubernetes object at all (a values file, a docker-compose file, a
   * Gatekeeper suite: a mapping with no apiVersion and no kind), when the caller asked to
   * skip them (`skipNonObjects`); absent, they are among the errors.
   */
  nonObjects?: InputError[];
}

/** The line of a finding's field path inside the object it was read from. */
export function lineOf(source: SourceObject, path: string): number {
  return lineOfPath(source.lines, source.object, path, source.line);
}

interface Chunk {
  text: string;
  /** 1-based line of the chunk's first line in its file. */
  line: number;
}

const MARKER = /^---(?=[ \t\r\n]|$)/gm;

/**
 * Cut a stream at its `---` document markers, so that one broken document does not hide the
 * documents after it. A marker at column 0 always starts a document (YAML 1.2, c-forbidden), so
 * the cut never lands inside a block scalar. Directives before a marker stay with its document.
 */
export function splitDocuments(text: string): Chunk[] {
  const starts: number[] = [];
  for (const match of text.matchAll(MARKER)) if (match.index > 0) starts.push(match.index);
  const chunks: Chunk[] = [];
  let begin = 0;
  let line = 1;
  let carried = "";
  let carriedLine = 1;
  for (const end of [...starts, text.length]) {
    const piece = text.slice(begin, end);
    const pieceLine = line;
    line += countLines(piece);
    begin = end;
    if (isDirectivesOnly(piece)) {
      if (!carried) carriedLine = pieceLine;
      carried += piece;
      continue;
    }
    chunks.push(carried ? { text: carried + piece, line: carriedLine } : { text: piece, line: pieceLine });
    carried = "";
  }
  if (carried) chunks.push({ text: carried, line: carriedLine });
  return chunks;
}

/** A piece with `%YAML`/`%TAG` directives and nothing else belongs to the document after it. */
function isDirectivesOnly(piece: string): boolean {
  const lines = piece.split("\n");
  return lines.some((l) => l.startsWith("%")) && lines.every((l) => /^(%[^\n]*|\s*(#[^\n]*)?)$/.test(l));
}

function countLines(text: string): number {
  let count = 0;
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) count++;
  return count;
}

function describeValue(value: unknown): string {
  if (Array.isArray(value)) return "a list";
  if (typeof value === "string") return "a string";
  return `a ${typeof value}`;
}

/** Turn one parsed document into objects (several for a `List`), or input errors. */
function objectsOf<T>(
  value: unknown,
  source: Omit<SourceObject, "object">,
  into: LoadedInput<T>,
  judge: (source: SourceObject) => T,
): void {
  const { file, line, lines } = source;
  if (!isRecord(value)) {
    into.errors.push({
      file,
      line,
      message: `the document is ${describeValue(value)}, not a Kubernetes object (a mapping with apiVersion and kind)`,
    });
    return;
  }
  const kind = value.kind;
  // A mapping with neither is some other tool's YAML (values, docker-compose, a Gatekeeper
  // suite): not a broken manifest, which has one of them.
  if (value.kind === undefined && value.apiVersion === undefined) {
    (into.nonObjects ?? into.errors).push({
      file,
      line,
      message: "the document has no apiVersion and no kind, so no rule can check it",
    });
    return;
  }
  if (typeof kind !== "string" || kind === "") {
    into.errors.push({ file, line, message: "the document has no kind, so no rule can check it" });
    return;
  }
  if (typeof value.apiVersion !== "string" || value.apiVersion === "") {
    into.errors.push({
      file,
      line: lineOfPath(lines, value, "kind", line),
      message: `the ${kind} has no apiVersion, so no rule can check it`,
    });
    return;
  }
  if (kind.endsWith("List") && Array.isArray(value.items)) {
    // `kind: List` holds any kinds; typed lists (`PodList`) may leave the items' kind out.
    const itemKind = kind === "List" ? undefined : kind.slice(0, -"List".length);
    value.items.forEach((item: unknown, index) => {
      const itemLine = lineOfPath(lines, value, `items[${index}]`, line);
      if (isRecord(item) && itemKind !== undefined) {
        if (item.kind === undefined) item.kind = itemKind;
        if (item.apiVersion === undefined) item.apiVersion = value.apiVersion;
      }
      objectsOf(item, { file, line: itemLine, lines }, into, judge);
    });
    return;
  }
  into.objects.push(judge({ object: value, file, line, lines }));
}

/** sigs.k8s.io/yaml hands json.Marshal the float, which has no JSON form for it, and kubectl stops. */
function nonFiniteMessage(value: number): string {
  const yaml = Number.isNaN(value) ? ".nan" : value > 0 ? ".inf" : "-.inf";
  return `${yaml} is not a number JSON can carry, so kubectl cannot send this document (json: unsupported value)`;
}

/** Parse one file's text into objects and input errors, each with its file and line. */
export function parseManifests<T>(
  text: string,
  file: string,
  into: LoadedInput<T>,
  judge: (source: SourceObject) => T,
): void {
  for (const chunk of splitDocuments(text)) {
    let documents: ReturnType<typeof parseYamlDocuments>;
    try {
      documents = parseYamlDocuments(chunk.text, chunk.line, MANIFEST_SCHEMA);
    } catch (error) {
      if (!(error instanceof YAMLException)) throw error;
      into.errors.push({
        file,
        line: chunk.line + error.mark.line,
        message: error instanceof ExcessiveAliasing ? error.reason : `invalid YAML: ${error.reason}`,
      });
      continue;
    }
    for (const document of documents) {
      if (document.value === null || document.value === undefined) continue;
      into.documents++;
      if (document.nonFinite) {
        into.errors.push({
          file,
          line: document.nonFinite.line,
          message: nonFiniteMessage(document.nonFinite.value),
        });
        continue;
      }
      objectsOf(document.value, { file, line: document.line, lines: document.lines }, into, judge);
    }
  }
}

/** An errno code as a reader understands it: `permission denied (EACCES)`. */
function reasonOf(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "EACCES" || code === "EPERM") return `permission denied (${code})`;
  return code ?? "unknown error";
}

function statError(path: string, error: unknown): InputError {
  const code = (error as NodeJS.ErrnoException).code;
  return {
    file: path,
    line: null,
    message: code === "ENOENT" ? "no such file or folder" : `cannot read: ${reasonOf(error)}`,
  };
}

/**
 * Why `path` cannot be read; for a symbolic link, where it points (kubectl opens the link and fails
 * there too, where a folder walk that skipped links read nothing and passed).
 */
async function pathError(path: string, error: unknown): Promise<InputError> {
  const code = (error as NodeJS.ErrnoException).code;
  const target = await readlink(path).catch(() => undefined);
  if (target !== undefined && code === "ENOENT") {
    return { file: path, line: null, message: `a symbolic link to ${target}, which does not exist` };
  }
  if (target !== undefined && code === "ELOOP") {
    return { file: path, line: null, message: `a symbolic link to ${target}, which loops back on itself` };
  }
  return statError(path, error);
}

function isManifestName(name: string): boolean {
  return EXTENSIONS.has(extname(name).toLowerCase());
}

/** The names kustomize reads a kustomization from. */
const KUSTOMIZATION_NAMES = new Set(["kustomization.yaml", "kustomization.yml", "Kustomization"]);

/**
 * The files a kustomization's configMapGenerator and secretGenerator read (`files`, with or
 * without a `key=` prefix, `envs`, `env`), as absolute paths. They are the data of a ConfigMap or
 * a Secret, not manifests: a folder walk leaves them out, or a config file beside the
 * kustomization (tollgate's own base has one) is "a document with no kind". A kustomization that
 * does not parse names none; it is reported when it is read as a manifest.
 */
export function kustomizeGeneratorFiles(folder: string, text: string): string[] {
  let parsed: unknown;
  try {
    parsed = load(text);
  } catch {
    return [];
  }
  if (!isRecord(parsed)) return [];
  const strings = (value: unknown): string[] =>
    Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];
  const paths: string[] = [];
  for (const key of ["configMapGenerator", "secretGenerator"]) {
    const generators = parsed[key];
    if (!Array.isArray(generators)) continue;
    for (const generator of generators) {
      if (!isRecord(generator)) continue;
      for (const file of strings(generator.files)) paths.push(file.slice(file.indexOf("=") + 1));
      paths.push(...strings(generator.envs));
      if (typeof generator.env === "string") paths.push(generator.env);
    }
  }
  return paths.map((path) => resolve(folder, path));
}

/** `skip` plus the generator inputs of the kustomization among `entries`, if there is one. */
async function withGeneratorFiles(
  path: string,
  entries: readonly Dirent[],
  skip: ReadonlySet<string>,
): Promise<ReadonlySet<string>> {
  const kustomization = entries.find((entry) => entry.isFile() && KUSTOMIZATION_NAMES.has(entry.name));
  if (!kustomization) return skip;
  let text: string;
  try {
    text = await readFileBounded(join(path, kustomization.name));
  } catch {
    // Reported when the file is read as a manifest.
    return skip;
  }
  return new Set([...skip, ...kustomizeGeneratorFiles(path, text)]);
}

/**
 * A folder's manifests, recursively, in name order, without the files a kustomization in it
 * generates ConfigMaps and Secrets from (`skip`, see kustomizeGeneratorFiles). A symbolic link to a file is read when its
 * name is a manifest's, as `kubectl apply -f` reads it (a mounted ConfigMap is made of such
 * links); one whose target is missing is then an input error naming it, as kubectl fails on it.
 * A link to a folder is walked too, once: `visited` holds every folder walked (device and
 * inode), so a link back to a parent, or two links to one folder, walk nothing twice or forever.
 */
async function walkFolder<T>(
  path: string,
  into: LoadedInput<T>,
  found: string[],
  visited: Set<string>,
  inherited: ReadonlySet<string>,
  excluded: (path: string) => boolean,
): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await readdir(path, { withFileTypes: true });
  } catch (error) {
    into.errors.push({ file: path, line: null, message: `cannot list the folder: ${reasonOf(error)}` });
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const skip = await withGeneratorFiles(path, entries, inherited);
  for (const entry of entries) {
    // Hidden folders (.git, .github) hold no manifests to ship.
    if (entry.name.startsWith(".")) continue;
    const child = join(path, entry.name);
    if (skip.has(resolve(child)) || excluded(child)) continue;
    if (entry.isDirectory()) await walkOnce(child, into, found, visited, excluded, skip);
    else if (entry.isFile() && isManifestName(entry.name)) found.push(child);
    else if (entry.isSymbolicLink()) {
      let target: Stats;
      try {
        target = await stat(child);
      } catch (error) {
        if (isManifestName(entry.name)) into.errors.push(await pathError(child, error));
        continue;
      }
      if (target.isDirectory()) await walkOnce(child, into, found, visited, excluded, skip);
      else if (target.isFile() && isManifestName(entry.name)) found.push(child);
    }
  }
}

async function walkOnce<T>(
  path: string,
  into: LoadedInput<T>,
  found: string[],
  visited: Set<string>,
  excluded: (path: string) => boolean,
  skip: ReadonlySet<string> = new Set(),
): Promise<void> {
  let info: Stats;
  try {
    info = await stat(path);
  } catch (error) {
    into.errors.push(statError(path, error));
    return;
  }
  const id = `${info.dev}:${info.ino}`;
  if (visited.has(id)) return;
  visited.add(id);
  await walkFolder(path, into, found, visited, skip, excluded);
}

/**
 * A path named on the command line: a folder is walked, without what `exclude` matches (given
 * each path relative to the folder), a file is read whatever its name.
 */
async function walk<T>(
  path: string,
  into: LoadedInput<T>,
  found: string[],
  visited: Set<string>,
  exclude: (relativePath: string) => boolean,
): Promise<void> {
  let info: Stats;
  try {
    info = await stat(path);
  } catch (error) {
    into.errors.push(await pathError(path, error));
    return;
  }
  if (info.isDirectory())
    await walkOnce(path, into, found, visited, (child) => exclude(relative(path, child)));
  else found.push(path);
}

/**
 * Read every manifest named by `paths` (documents that are no Kubernetes object are skipped into
 * `nonObjects` with `skipNonObjects`, else errors): files, folders (recursively, `.yaml`, `.yml`, `.json`,
 * symbolic links followed, without what `exclude` matches), and `-` for stdin, each up to MAX_INPUT_BYTES (`readStdin` is to
 * throw InputTooLarge past it). Unreadable paths and broken documents become input errors; each object read
 * is handed to `judge` at once, and only what `judge` returns is kept: the parsed tree and its
 * line table then die young instead of being promoted (on 10,000 documents, 40 % less time in
 * garbage-collection pauses).
 */
export async function loadManifests<T>(
  paths: readonly string[],
  readStdin: () => Promise<string>,
  judge: (source: SourceObject) => T,
  {
    skipNonObjects = false,
    exclude = () => false,
  }: { skipNonObjects?: boolean; exclude?: (relativePath: string) => boolean } = {},
): Promise<LoadedInput<T>> {
  const loaded: LoadedInput<T> = { objects: [], errors: [], files: 0, documents: 0 };
  if (skipNonObjects) loaded.nonObjects = [];
  const visited = new Set<string>();
  let stdinRead = false;
  for (const path of paths) {
    if (path === "-") {
      if (stdinRead) continue;
      stdinRead = true;
      let text: string;
      try {
        text = await readStdin();
      } catch (error) {
        if (!(error instanceof InputTooLarge)) throw error;
        loaded.errors.push({ file: STDIN_NAME, line: null, message: error.message });
        continue;
      }
      loaded.files++;
      parseManifests(text, STDIN_NAME, loaded, judge);
      continue;
    }
    const found: string[] = [];
    await walk(path, loaded, found, visited, exclude);
    for (const file of found) {
      let text: string;
      try {
        text = await readFileBounded(file);
      } catch (error) {
        if (error instanceof InputTooLarge) {
          loaded.errors.push({ file, line: null, message: error.message });
          continue;
        }
        loaded.errors.push({ file, line: null, message: `cannot read: ${reasonOf(error)}` });
        continue;
      }
      loaded.files++;
      parseManifests(text, file, loaded, judge);
    }
  }
  return loaded;
}
