#!/usr/bin/env node
import { UsageError } from "./cli/args.js";
import { ConfigError } from "./config/load.js";
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

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    process.stdout.write(`${HELP}\n`);
    return name === undefined ? 2 : 0;
  }
  if (name === "--version") {
    process.stdout.write(`${toolVersion()}\n`);
    return 0;
  }
  const load = COMMANDS[name];
  if (!load) {
    process.stderr.write(`tollgate: unknown command ${JSON.stringify(name)}\n\n${HELP}\n`);
    return 2;
  }
  return (await load())(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError || error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(
      `tollgate: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
