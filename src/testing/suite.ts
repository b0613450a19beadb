import { dirname, isAbsolute, resolve } from "node:path";
import { Ajv, type ErrorObject, type JSONSchemaType } from "ajv";
import { YAMLException } from "js-yaml";
import { type InputError, loadManifests } from "../input/documents.js";
import { lineOfPath, parseYamlDocuments } from "../input/positions.js";
import { readFileBounded } from "../input/read.js";
import { CONFIG_SCHEMA } from "../input/schemas.js";
import { isRecord, type KubeObject, type UserInfo } from "../objects/object.js";

/** The name test files go by; a folder argument is searched for it. */
export const SUITE_FILE = "tollgate-test.yaml";

export type Verdict = "allowed" | "denied" | "warned";

interface CaseInput {
  name: string;
  object?: string;
  oldObject?: string;
  operation?: "CREATE" | "UPDATE" | "DELETE";
  namespace?: string;
  userInfo?: { username?: string; uid?: string; groups?: string[] };
  mode?: "enforce" | "warn";
  expect: { verdict: Verdict; rules?: string[]; message?: string };
}

interface SuiteInput {
  policies?: string[];
  resources?: string[];
  config?: string;
  cases: CaseInput[];
}

const stringList = { type: "array", items: { type: "string", minLength: 1 } } as const;

const suiteSchema: JSONSchemaType<SuiteInput> = {
  type: "object",
  additionalProperties: false,
  required: ["cases"],
  properties: {
    policies: { ...stringList, nullable: true },
    resources: { ...stringList, nullable: true },
    config: { type: "string", minLength: 1, nullable: true },
    cases: {
      type: "array",
      minItems: 1,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["name", "expect"],
        properties: {
          name: { type: "string", minLength: 1 },
          object: { type: "string", minLength: 1, nullable: true },
          oldObject: { type: "string", minLength: 1, nullable: true },
          operation: { type: "string", enum: ["CREATE", "UPDATE", "DELETE"], nullable: true },
          namespace: { type: "string", minLength: 1, nullable: true },
          userInfo: {
            type: "object",
            nullable: true,
            additionalProperties: false,
            properties: {
              username: { type: "string", nullable: true },
              uid: { type: "string", nullable: true },
              groups: { ...stringList, nullable: true },
            },
          },
          mode: { type: "string", enum: ["enforce", "warn"], nullable: true },
          expect: {
            type: "object",
            additionalProperties: false,
            required: ["verdict"],
            properties: {
              verdict: { type: "string", enum: ["allowed", "denied", "warned"] },
              rules: { ...stringList, nullable: true },
              message: { type: "string", minLength: 1, nullable: true },
            },
          },
        },
      },
    },
  },
};

let validator: ReturnType<Ajv["compile"]> | undefined;

function describe(error: ErrorObject): string {
  const field = error.instancePath.replace(/^\//, "").replaceAll("/", ".") || "(top level)";
  if (error.keyword === "additionalProperties") {
    return `${field === "(top level)" ? "" : `${field}.`}${(error.params as { additionalProperty: string }).additionalProperty}: unknown key`;
  }
  if (error.keyword === "enum") {
    return `${field}: must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(", ")}`;
  }
  return `${field}: ${error.message ?? "is invalid"}`;
}

export interface TestCase {
  name: string;
  /** `file:line` of the case in its suite, for reports. */
  at: string;
  object: KubeObject | undefined;
  oldObject: KubeObject | undefined;
  operation: "CREATE" | "UPDATE" | "DELETE";
  namespace: string | undefined;
  userInfo: UserInfo;
  mode: "enforce" | "warn";
  expect: CaseInput["expect"];
}

export interface TestSuite {
  file: string;
  /** Absolute paths. */
  policies: string[];
  resources: string[];
  config: string | undefined;
  cases: TestCase[];
}

/** Who a case's request comes from unless it says: an ordinary authenticated user. */
export const DEFAULT_TEST_USER: UserInfo = { username: "tollgate-test", groups: ["system:authenticated"] };

/** The one object of a case file; a file with none or several is an error naming it. */
async function objectIn(path: string): Promise<{ object: KubeObject } | { error: InputError }> {
  const loaded = await loadManifests(
    [path],
    () => Promise.reject(new Error("no stdin here")),
    (source) => source.object,
  );
  if (loaded.errors.length > 0) return { error: loaded.errors[0]! };
  if (loaded.objects.length !== 1) {
    return {
      error: {
        file: path,
        line: null,
        message: `a case's object file holds exactly one object, this one ${loaded.objects.length}`,
      },
    };
  }
  return { object: loaded.objects[0]! };
}

/**
 * Reads one tollgate-test.yaml: its schema checked (errors name the line and field), paths resolved
 * against its folder, each case's object files read. Returns the suite, or the errors.
 */
export async function loadSuite(file: string): Promise<{ suite: TestSuite } | { errors: InputError[] }> {
  let text: string;
  try {
    text = await readFileBounded(file);
  } catch (error) {
    return {
      errors: [
        {
          file,
          line: null,
          message: `cannot read the test file (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
        },
      ],
    };
  }
  let documents;
  try {
    documents = parseYamlDocuments(text, 1, CONFIG_SCHEMA);
  } catch (error) {
    if (!(error instanceof YAMLException)) throw error;
    return { errors: [{ file, line: error.mark.line + 1, message: `invalid YAML: ${error.reason}` }] };
  }
  const document = documents[0];
  if (documents.length !== 1 || document === undefined || !isRecord(document.value)) {
    return { errors: [{ file, line: null, message: "a test file is one YAML mapping with `cases:`" }] };
  }
  validator ??= new Ajv({ allErrors: true, strict: true }).compile(suiteSchema);
  const value = document.value;
  if (!validator(value)) {
    return {
      errors: (validator.errors ?? []).map((error) => {
        const segments = error.instancePath.split("/").slice(1);
        const path = segments
          .map((segment) => (/^\d+$/.test(segment) ? `[${segment}]` : `["${segment}"]`))
          .join("");
        const line = lineOfPath(document.lines, value, path, 0);
        return { file, line: line || null, message: describe(error) };
      }),
    };
  }
  const input = value as unknown as SuiteInput;
  const base = dirname(file);
  const at = (path: string) => (isAbsolute(path) ? path : resolve(base, path));
  const errors: InputError[] = [];
  const cases: TestCase[] = [];
  for (const [index, entry] of input.cases.entries()) {
    const line = lineOfPath(document.lines, value, `["cases"][${index}]`, 0);
    const read = async (field: "object" | "oldObject") => {
      const path = entry[field];
      if (path === undefined) return undefined;
      const read = await objectIn(at(path));
      if ("error" in read) {
        errors.push(read.error);
        return undefined;
      }
      return read.object;
    };
    const object = await read("object");
    const oldObject = await read("oldObject");
    if (entry.object === undefined && entry.oldObject === undefined) {
      errors.push({
        file,
        line: line || null,
        message: `cases[${index}] "${entry.name}": needs an object (or an oldObject for a DELETE)`,
      });
      continue;
    }
    const operation =
      entry.operation ??
      (entry.oldObject !== undefined ? (entry.object === undefined ? "DELETE" : "UPDATE") : "CREATE");
    cases.push({
      name: entry.name,
      at: `${file}:${line}`,
      object,
      oldObject,
      operation,
      namespace: entry.namespace,
      userInfo: entry.userInfo ? { ...DEFAULT_TEST_USER, ...entry.userInfo } : DEFAULT_TEST_USER,
      mode: entry.mode ?? "enforce",
      expect: entry.expect,
    });
  }
  if (errors.length > 0) return { errors };
  return {
    suite: {
      file,
      policies: (input.policies ?? []).map(at),
      resources: (input.resources ?? []).map(at),
      config: input.config === undefined ? undefined : at(input.config),
      cases,
    },
  };
}
