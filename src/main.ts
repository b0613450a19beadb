#!/usr/bin/env node
import nodeModule from "node:module";
import { userErrorText } from "./cli/args.js";
import { didYouMean } from "./suggest.js";
import { toolVersion } from "./version.js";

const HELP = `Usage: tollgate <command> [options]

Commands:
  serve      run the admission webhook (HTTPS) and its metrics endpoint
  check      check manifest files (or stdin) with the webhook's rules, offline
  audit      check what runs in a cluster, plus the cluster checklist
  test       run tollgate-test.yaml cases through the webhook's engine path
  rules      list the rule catalog (--output text|json|markdown)
  certs      bootstrap or rotate the CA and serving certificate in a cluster
  manifests  print the YAML that installs tollgate in a cluster (or write a kustomize base)
  export     print your ValidatingAdmissionPolicies with bindings per mode, for the apiserver
  help       show this help

Run 'tollgate <command> --help' for a command's options, 'tollgate --version' for the version.`;

type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, () => Promise<Command>> = {
  serve: async () => (await import("./cli/serve.js")).serve,
  check: async () => (await import("./cli/check.js")).check,
  audit: async () => (await import("./cli/audit.js")).audit,
  test: async () => (await import("./cli/test.js")).test,
  rules: async () => (await import("./cli/rules.js")).rules,
  certs: async () => (await import("./cli/certs.js")).certs,
  manifests: async () => (await import("./cli/manifests.js")).manifests,
  export: async () => (await import("./cli/export.js")).exportCommand,
};

function unknownCommand(where: string, name: string): number {
  process.stderr.write(
    `${where}: unknown command ${JSON.stringify(name)}${didYouMean(name, Object.keys(COMMANDS))}\n` +
      "Run 'tollgate help' for the list of commands.\n",
  );
  return 2;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || (name === "help" && rest.length === 0)) {
    process.stdout.write(`${HELP}\n`);
    return name === undefined ? 2 : 0;
  }
  if (name === "--version") {
    process.stdout.write(`${toolVersion()}\n`);
    return 0;
  }
  if (name === "help") {
    const [topic, ...extra] = rest as [string, ...string[]];
    if (extra.length > 0) {
      process.stderr.write(`tollgate help: give one command, not ${rest.length}\n`);
      return 2;
    }
    if (!COMMANDS[topic]) return unknownCommand("tollgate help", topic);
    return run(topic, ["--help"]);
  }
  if (!COMMANDS[name]) return unknownCommand("tollgate", name);
  return run(name, rest);
}

/**
 * Node 22.1 and newer keep the code it compiled for a command's modules in a cache on disk (the
 * temporary folder, or NODE_COMPILE_CACHE; NODE_DISABLE_COMPILE_CACHE=1 turns it off), so that the
 * next run loads its few hundred modules without compiling them again: about a tenth of a second
 * of every `tollgate check` (BENCHMARKS.md). Where the folder cannot be written nothing changes.
 * Not for `serve`: the webhook starts once, and writes nothing to disk but its certificates (a
 * cache folder under /proc made Node 24's enableCompileCache spin).
 */
function cacheCompiledCode(command: string): void {
  if (command === "serve") return;
  const { enableCompileCache } = nodeModule as { enableCompileCache?: () => unknown };
  enableCompileCache?.();
}

async function run(name: string, argv: string[]): Promise<number> {
  cacheCompiledCode(name);
  try {
    return await (
      await COMMANDS[name]!()
    )(argv);
  } catch (error) {
    const text = userErrorText(name, error);
    if (text !== undefined) {
      process.stderr.write(text);
      return 2;
    }
    // A defect, not a mistake of the user's: one line, and the stack only when asked for.
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`tollgate ${name}: internal error: ${message}\n`);
    if (process.env.TOLLGATE_DEBUG && error instanceof Error && error.stack) {
      process.stderr.write(`${error.stack}\n`);
    } else {
      process.stderr.write("Set TOLLGATE_DEBUG=1 to see where it happened, and report it.\n");
    }
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
