import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadAll } from "js-yaml";
import { runChecklist, type ChecklistResult } from "../../src/audit/checklist.js";
import type { Check } from "../../src/audit/checks/types.js";
import type { ClusterSnapshot, ServerVersion, Unavailable } from "../../src/audit/snapshot.js";
import { resolveConfig } from "../../src/config/load.js";
import type { ConfigInput } from "../../src/config/schema.js";
import { type KindName, KINDS } from "../../src/objects/kinds.js";
import { isRecord, type KubeObject } from "../../src/objects/object.js";

/**
 * Check fixtures live in test/fixtures/checks/<check-id>/{pass,fail}-<what>.yaml: a small cluster
 * snapshot as multi-document YAML, every document an object as the audit lists it (with apiVersion
 * and kind). Every kind of the kinds table not named otherwise is listed, empty when no document
 * has it. A first document without `kind` is a header, all keys optional:
 *   version:     the server version, {major, minor, gitVersion}; absent: it could not be read
 *   unavailable: {<Kind>: forbidden | not served | not listed}, kinds whose list failed
 *   namespace:   the namespace the audit was limited to (`audit --namespace`)
 *   now:         the clock (default FIXTURE_NOW)
 *   config:      config keys (as in the config file) merged over the defaults
 * A fail fixture lists the exact findings the check must report, in order, as comment lines
 * `# expect: <Kind namespace/name, or Kind name> | <field path> | <message>` (the object as
 * `objectLabel` writes it); any fixture lists the
 * notes the audit must add as `# note: <text>`.
 */
export interface CheckFixture {
  file: string;
  snapshot: ClusterSnapshot;
  now: Date;
  config: ConfigInput;
  expected: string[];
  notes: string[];
}

export const CHECK_FIXTURES_DIR = fileURLToPath(new URL("../fixtures/checks/", import.meta.url));

/** The clock fixtures run at: 48 days after test/fixtures/audit/ca-short.crt was made, 12 before it expires. */
export const FIXTURE_NOW = new Date("2027-01-10T00:00:00Z");
/** Pinned, so that a bump of NEWEST_KUBERNETES_MINOR does not rewrite the fixtures' messages. */
export const FIXTURE_NEWEST_MINOR = 37;

function isKindName(kind: unknown): kind is KindName {
  return typeof kind === "string" && Object.hasOwn(KINDS, kind);
}

function commented(text: string, prefix: string): string[] {
  return text
    .split("\n")
    .filter((line) => line.startsWith(prefix))
    .map((line) => line.slice(prefix.length));
}

export function loadCheckFixture(file: string): CheckFixture {
  const text = readFileSync(file, "utf8");
  const documents = loadAll(text).filter((doc) => doc !== null && doc !== undefined);
  const header =
    documents[0] !== undefined && isRecord(documents[0]) && !("kind" in documents[0])
      ? (documents.shift() as Record<string, unknown>)
      : {};
  const unavailable = (header.unavailable ?? {}) as Partial<Record<KindName, Unavailable>>;
  const objects: Partial<Record<KindName, KubeObject[]>> = {};
  for (const kind of Object.keys(KINDS) as KindName[]) {
    if (unavailable[kind] === undefined) objects[kind] = [];
  }
  for (const doc of documents) {
    const kind = isRecord(doc) ? doc.kind : undefined;
    if (!isKindName(kind)) throw new Error(`${file}: a document of unknown kind ${JSON.stringify(kind)}`);
    const listed = objects[kind];
    if (listed === undefined) throw new Error(`${file}: ${kind} is unavailable but has objects`);
    listed.push(doc as KubeObject);
  }
  const snapshot: ClusterSnapshot = { objects, unavailable };
  if (header.version !== undefined) snapshot.version = header.version as ServerVersion;
  if (typeof header.namespace === "string") snapshot.namespace = header.namespace;
  const now = header.now === undefined ? FIXTURE_NOW : new Date(header.now as string | Date);
  return {
    file,
    snapshot,
    now,
    config: (header.config ?? {}) as ConfigInput,
    expected: commented(text, "# expect: "),
    notes: commented(text, "# note: "),
  };
}

/** The fixture files of one check, by kind. */
export function checkFixturesOf(id: string): { pass: string[]; fail: string[] } {
  let names: string[];
  try {
    names = readdirSync(join(CHECK_FIXTURES_DIR, id)).sort();
  } catch {
    names = [];
  }
  const full = (name: string) => join(CHECK_FIXTURES_DIR, id, name);
  return {
    pass: names.filter((n) => n.startsWith("pass-") && n.endsWith(".yaml")).map(full),
    fail: names.filter((n) => n.startsWith("fail-") && n.endsWith(".yaml")).map(full),
  };
}

/** Run one check over a fixture's snapshot, as the audit runs the checklist. */
export function runCheckFixture(check: Check, fixture: CheckFixture): ChecklistResult {
  return runChecklist(
    fixture.snapshot,
    { now: fixture.now, config: resolveConfig(fixture.config), newestMinor: FIXTURE_NEWEST_MINOR },
    [check],
  );
}
