// `tollgate serve ARGS…` with the server timeouts given as JSON before ARGS: the tests that wait for
// a cut-off in a child process shorten them. Exit codes as src/main.ts sets them.
import type { ServerTimeouts } from "../../src/app.js";
import { UsageError } from "../../src/cli/args.js";
import { serve } from "../../src/cli/serve.js";

const [timeouts = "{}", ...argv] = process.argv.slice(2);
serve(argv, { timeouts: JSON.parse(timeouts) as Partial<ServerTimeouts> }).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = error instanceof UsageError ? 2 : 1;
  },
);
