import { type ParseArgsConfig, parseArgs } from "node:util";

/** A command-line mistake: exit code 2 and the message, with a pointer to --help. */
export class UsageError extends Error {
  override name = "UsageError";
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** node:util parseArgs with errors turned into UsageErrors that name the command. */
export function parseCommandArgs<T extends Options>(
  command: string,
  argv: string[],
  options: T,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (error) {
    throw new UsageError(`tollgate ${command}: ${error instanceof Error ? error.message : String(error)}`);
  }
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
