import { type ParseArgsConfig, parseArgs } from "node:util";
import { nearest } from "../suggest.js";

/** A command-line mistake: exit code 2 and the message, with a pointer to --help. */
export class UsageError extends Error {
  override name = "UsageError";
}

/**
 * The errors a user can act on, by class name: their message is the whole story. By name, so that
 * main.ts need not load the config schema and the Kubernetes client to recognise them.
 */
const USER_ERRORS = new Set(["UsageError", "ConfigError", "ClusterError", "StartupError"]);

/**
 * What stderr says for an error the user can act on, in the one style of every command
 * (`tollgate check: …`, then where to read the usage for a usage error), or undefined for a defect.
 */
export function userErrorText(command: string, error: unknown): string | undefined {
  if (!(error instanceof Error) || !USER_ERRORS.has(error.name)) return undefined;
  const prefix = `tollgate ${command}`;
  const message =
    error.message.startsWith(`${prefix}:`) || error.message.startsWith(`${prefix} `)
      ? error.message
      : `${prefix}: ${error.message}`;
  const usage = error.name === "UsageError" ? `Run 'tollgate ${command} --help' for usage.\n` : "";
  return `${message}\n${usage}`;
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** How a flag is written in messages: `--output`, or `-o` when it was given short and is unknown. */
function flagName(name: string, raw: string): string {
  return raw.startsWith("--") ? `--${name}` : raw;
}

/**
 * The first mistake in `argv` as a sentence, or undefined. Node's own messages
 * ("Option '-o, --output <value>' argument missing", "To specify a positional argument starting
 * with a '-', place it at the end…") describe the parser, not the command; these say which flag
 * and what to do.
 */
function mistakeIn(argv: string[], options: Options, allowPositionals: boolean): string | undefined {
  const { tokens } = parseArgs({ args: argv, options, allowPositionals: true, strict: false, tokens: true });
  for (const token of tokens) {
    if (token.kind === "positional") {
      if (!allowPositionals) return `unexpected argument ${JSON.stringify(token.value)}`;
      continue;
    }
    if (token.kind !== "option") continue;
    const option = options[token.name];
    if (option === undefined) {
      // A one-letter flag is too short to guess from.
      const match = token.rawName.startsWith("--") ? nearest(token.name, Object.keys(options)) : undefined;
      return `unknown option ${token.rawName}${match === undefined ? "" : ` (did you mean --${match}?)`}`;
    }
    const flag = flagName(token.name, token.rawName);
    if (option.type === "boolean" && token.inlineValue === true) return `${flag} takes no value`;
    if (option.type === "string") {
      // As node's strict mode: `--output --mode warn` is a forgotten value, not the value "--mode".
      if (token.value === undefined || (token.inlineValue === false && /^-./.test(token.value))) {
        return `${flag} needs a value`;
      }
    }
  }
  return undefined;
}

/**
 * node:util parseArgs, with every mistake a UsageError that names the command and the flag, and
 * the nearest known flag for an unknown one. When `--help` (or `-h`) is among the arguments, the
 * other arguments are not judged: asking for help is never an error.
 */
export function parseCommandArgs<T extends Options>(
  command: string,
  argv: string[],
  options: T,
  allowPositionals = false,
) {
  const asksHelp =
    options.help !== undefined &&
    argv.some((arg, index) => (arg === "--help" || arg === "-h") && !argv.slice(0, index).includes("--"));
  const args = asksHelp ? ["--help"] : argv;
  const mistake = asksHelp ? undefined : mistakeIn(args, options, allowPositionals);
  if (mistake !== undefined) throw new UsageError(`tollgate ${command}: ${mistake}`);
  return parseArgs({ args, options, allowPositionals, strict: true });
}

/** A port number from a flag, or a UsageError naming the flag. */
export function portFrom(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--${flag} must be a port number from 0 to 65535, got ${JSON.stringify(value)}`);
  }
  return port;
}
