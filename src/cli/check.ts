import { compilePolicy } from "../engine/policy.js";
import { type LoadedInput, lineOf, loadManifests, type SourceObject } from "../input/documents.js";
import { type KubeObject, namespaceFor, namespacesIn } from "../objects/object.js";
import { MAX_INPUT_BYTES, readStreamBounded } from "../input/read.js";
import { judgeObject } from "../report/judge.js";
import {
  describeRule,
  exitCodeOf,
  type Report,
  type ReportError,
  type ReportObject,
} from "../report/model.js";
import { filterReport } from "../report/filter.js";
import { pathMatcher } from "../input/pathGlob.js";
import { OUTPUTS, type Output, render } from "../report/render.js";
import { textOptionsFor } from "../report/text.js";
import { RULES } from "../rules/index.js";
import type { Mode } from "../rules/types.js";
import { parseCommandArgs, UsageError, userErrorText } from "./args.js";
import { findingFilterFrom, RULE_FLAGS, RULE_FLAGS_HELP } from "./ruleFlags.js";
import { type CliIO, processIO } from "./io.js";
import { loadConfigAndPolicies } from "./policies.js";

export const CHECK_HELP = `Usage: tollgate check [PATH... | -] [--output text|json|sarif|junit|html]
                      [--mode enforce|warn] [--config FILE] [--policy PATH...]

Checks Kubernetes manifests offline with the webhook's rules, as the webhook would judge them on
CREATE. PATH is a file (any extension), a folder (searched recursively for .yaml, .yml and .json;
hidden folders are passed over) or - for stdin:

  helm template . | tollgate check -
  kustomize build overlays/prod | tollgate check - --output sarif > tollgate.sarif

Multi-document YAML and List kinds are read; every finding names its file, line and field path.

Options:
  --output FORMAT  text (default; colour on a terminal, NO_COLOR/FORCE_COLOR respected, fitted
                   to the terminal's width, else $COLUMNS, else 100), json, sarif (2.1.0, for
                   code scanning), junit, or html (one self-contained page: scores per
                   namespace, findings by rule and namespace, a filter)
  --explain        text: each finding's field path and fix under it (default: one fix per rule)
  --mode MODE      enforce or warn; default: defaultMode from the config (enforce). In warn mode
                   every finding is a warning.
  --config FILE    the webhook's config file (rule severities, options, exemptions)
  --policy PATH    ValidatingAdmissionPolicies (with their bindings and params) to run as rules
                   beside the built-in ones; a file or folder, repeatable; adds to the config's
                   \`policies:\`
${RULE_FLAGS_HELP}
  --exclude GLOB   in the folders given, leave out the files and folders GLOB matches, relative
                   to the folder (repeatable): \`charts/**\`, \`**/crds/*.yaml\`; a GLOB without a /
                   matches a name at any depth (\`tests\`, \`*.values.yaml\`)

YAML is read as kubectl reads it (YAML 1.1: yes/no/on/off booleans, 0_0, 0644, 0x50 numbers),
symbolic links are followed, and each file or stdin is read up to ${MAX_INPUT_BYTES / (1024 * 1024)} MiB.

Exit codes:
  0  no deny finding
  1  deny findings
  2  usage error, or an input that could not be checked (unreadable file, a dangling symbolic
     link, broken YAML, excessive aliasing, a document with kind or apiVersion but not both, an object
     the apiserver refuses (two containers of one name), an input with no object at all),
     whatever the findings in the rest: the other files are still checked and reported`;

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/** A flag's value, checked against the values it may take. */
export function oneOf<T extends string>(
  flag: string,
  value: string | undefined,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`--${flag} must be one of ${allowed.join(", ")}, got ${JSON.stringify(value)}`);
}

/** `tollgate check`, with its streams injected so tests drive it without a process. */
export async function runCheck(argv: string[], io: CliIO): Promise<number> {
  try {
    return await checkCommand(argv, io);
  } catch (error) {
    const text = userErrorText("check", error);
    if (text === undefined) throw error;
    io.stderr.write(text);
    return 2;
  }
}

async function checkCommand(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    "check",
    argv,
    {
      output: { type: "string", short: "o" },
      mode: { type: "string" },
      config: { type: "string" },
      policy: { type: "string", multiple: true },
      explain: { type: "boolean" },
      ...RULE_FLAGS,
      exclude: { type: "string", multiple: true },
      help: { type: "boolean", short: "h" },
    },
    true,
  );
  if (values.help) {
    io.stdout.write(`${CHECK_HELP}\n`);
    return 0;
  }
  const output = oneOf<Output>("output", values.output, OUTPUTS, "text");
  if (positionals.length === 0) {
    throw new UsageError("tollgate check: give files, folders, or - to read stdin");
  }
  const loaded = await loadConfigAndPolicies(values.config, values.policy ?? []);
  const { config, policies } = loaded;
  const mode = oneOf<Mode>("mode", values.mode, ["enforce", "warn"], config.defaultMode);
  const policy = compilePolicy(config, RULES, undefined, policies);
  const filter = findingFilterFrom(values, policy.registry.keys());
  const exclude = pathMatcher(values.exclude ?? []);

  // Rules that throw are reported after the input errors, in the order of the objects.
  const ruleErrors: ReportError[] = [];
  const judge = (source: SourceObject, namespaceObject?: KubeObject | null) =>
    judgeObject(
      source.object,
      policy,
      mode,
      "check",
      { file: source.file, line: source.line, lineOf: (path) => lineOf(source, path) },
      ruleErrors,
      namespaceObject,
    );
  let input: LoadedInput<ReportObject>;
  if (policies.policies.length === 0) {
    input = await loadManifests(
      positionals,
      () => readStreamBounded(io.stdin),
      (source) => judge(source),
      { skipNonObjects: true, exclude },
    );
  } else {
    // Policies may select by namespace labels and read `namespaceObject`: the Namespaces among the
    // inputs are known only once every file is read, so the objects are judged after reading.
    const read = await loadManifests(
      positionals,
      () => readStreamBounded(io.stdin),
      (source) => source,
      { skipNonObjects: true, exclude },
    );
    const namespaces = namespacesIn(read.objects.map((source) => source.object));
    input = {
      ...read,
      objects: read.objects.map((source) => judge(source, namespaceFor(source.object, namespaces))),
    };
  }
  const errors: ReportError[] = [
    ...loaded.errors.map((e) => ({ file: e.file, line: e.line, message: e.message })),
    ...input.errors.map((e) => ({ file: e.file, line: e.line, message: e.message })),
  ];
  if (input.objects.length === 0 && errors.length === 0) {
    // An empty stream is what `helm template … | tollgate check -` gets when helm failed: a
    // check of nothing must not pass. A report for a file (json, sarif, junit) says it too, and
    // so does stderr, which a CI log shows.
    const message = `no Kubernetes object in the input (${plural(input.files, "file")}, ${plural(input.documents, "document")}); nothing was checked`;
    if (output !== "text") io.stderr.write(`tollgate check: ${message}\n`);
    errors.push({ file: null, line: null, message });
  }
  const report: Report = filterReport(
    {
      command: "check",
      mode,
      objects: input.objects,
      errors: [...errors, ...ruleErrors],
      notes: policies.implicitlyBound.map(
        (name) =>
          `ValidatingAdmissionPolicy "${name}" has no binding in the policy files: it applies as if bound with validationActions [Deny] to everything it matches`,
      ),
      files: input.files,
      documents: input.documents,
      nonObjects: input.nonObjects ?? [],
    },
    filter,
  );
  const rules = [...policy.registry.values()].map(describeRule);
  for (const chunk of render(
    report,
    output,
    textOptionsFor(io.stdout, io.env, values.explain === true),
    rules,
  ))
    io.stdout.write(chunk);
  return exitCodeOf(report);
}

/** The command as `main.ts` runs it, on the process's own streams. */
export function check(argv: string[]): Promise<number> {
  return runCheck(argv, processIO());
}
