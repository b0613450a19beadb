import type { LoggerOptions } from "pino";
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
