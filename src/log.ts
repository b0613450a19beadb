import type { FastifyBaseLogger } from "fastify";
import { type LoggerOptions, symbols } from "pino";
import { clipText } from "./rules/visit.js";

/**
 * The longest string a log line takes from a request or the cluster (a name is at most 253
 * characters): a 7 MiB object name made a 7 MB line, and anyone who reaches the webhook port
 * chooses every field.
 */
export const MAX_LOG_FIELD = 256;

/**
 * The longest error text a log line takes (the `err` field): an apiserver's answer or a config file's
 * list of errors needs more room than a name, but an error can quote a whole object back.
 */
export const MAX_LOG_ERROR = 4_096;

/** `text` (or "" when absent) clipped to MAX_LOG_FIELD, for a field a request or the cluster chose. */
export function logText(text: string | undefined): string {
  return clipText(text ?? "", MAX_LOG_FIELD);
}

/** `String(error)` clipped to MAX_LOG_ERROR: what an `err` field holds. */
export function logError(error: unknown): string {
  return clipText(String(error), MAX_LOG_ERROR);
}

/**
 * A log line's fields with every string clipped (`err` to MAX_LOG_ERROR, the others to
 * MAX_LOG_FIELD) and an Error as its clipped text: the bound holds even for a call site that
 * forgot logText. The message itself is never clipped; tollgate's messages are constants.
 */
export function clipLogFields(fields: Record<string, unknown>): Record<string, unknown> {
  let clipped: Record<string, unknown> | undefined;
  for (const key of Object.keys(fields)) {
    const value = fields[key];
    const max = key === "err" ? MAX_LOG_ERROR : MAX_LOG_FIELD;
    let next = value;
    if (typeof value === "string") next = clipText(value, max);
    else if (value instanceof Error) next = clipText(String(value), max);
    if (next !== value) {
      clipped ??= { ...fields };
      clipped[key] = next;
    }
  }
  return clipped ?? fields;
}

/**
 * The options of every logger tollgate makes: the level as a word (`"level":"info"`, what a
 * person and a log query read), the service named, and each line's fields clipped.
 */
export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    base: { service: "tollgate" },
    formatters: {
      level: (label) => ({ level: label }),
      log: clipLogFields,
    },
  };
}

/** The fields of the one line per decision, in the order the line has them. */
export interface DecisionFields {
  uid: string;
  operation: string;
  kind: string;
  namespace: string;
  name: string;
  user: string;
  mode: string;
  dryRun: boolean;
  verdict: string;
  rules: readonly string[];
  /** Absent, as pino leaves out an undefined field, unless the request was skipped. */
  skipped: string | undefined;
  durationMs: number;
}

/** The part of pino's logger that the decision line needs; pino exports the symbols for integrations. */
interface PinoInternals {
  isLevelEnabled?: (level: string) => boolean;
  [symbols.chindingsSym]?: unknown;
  [symbols.streamSym]?: { write(line: string): unknown };
}

const quoteJson: (text: string) => string = JSON.stringify;

/**
 * Writes one decision line: the text `logger.info(fields, "decision")` writes with loggerOptions
 * (the same keys in the same order, the logger's bindings, each field already clipped by the
 * caller), built by one template instead of pino's generic walk over the fields. The line is
 * written for every admission request, and under load pino's formatting of it cost the server
 * more than its rules did (BENCHMARKS.md). A logger that is not pino's gets `info` itself.
 */
export function decisionWriter(logger: FastifyBaseLogger): (fields: DecisionFields) => void {
  const internals = logger as unknown as PinoInternals;
  const stream = internals[symbols.streamSym];
  const enabled = internals.isLevelEnabled?.bind(logger);
  if (stream === undefined || enabled === undefined || typeof internals[symbols.chindingsSym] !== "string") {
    return (fields) => logger.info(fields, "decision");
  }
  return (fields) => {
    if (!enabled("info")) return;
    const skipped = fields.skipped === undefined ? "" : `,"skipped":${quoteJson(fields.skipped)}`;
    stream.write(
      `{"level":"info","time":${Date.now()}${internals[symbols.chindingsSym] as string},"uid":${quoteJson(fields.uid)},"operation":${quoteJson(fields.operation)},"kind":${quoteJson(fields.kind)},"namespace":${quoteJson(fields.namespace)},"name":${quoteJson(fields.name)},"user":${quoteJson(fields.user)},"mode":${quoteJson(fields.mode)},"dryRun":${fields.dryRun},"verdict":${quoteJson(fields.verdict)},"rules":${JSON.stringify(fields.rules)}${skipped},"durationMs":${fields.durationMs},"msg":"decision"}\n`,
    );
  };
}
