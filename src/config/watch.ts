import { type Stats, statSync } from "node:fs";
import type { Metrics } from "../metrics.js";
import { ConfigError, loadConfigFile } from "./load.js";
import type { Config } from "./schema.js";
import { logError } from "../log.js";
import { policyFilePaths } from "../vap/load.js";

export interface ConfigLog {
  info(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface ConfigWatchOptions {
  path: string;
  knownRules?: ReadonlySet<string>;
  /** Put a validated config in force; a throw rejects the config like a schema error does. */
  apply(config: Config): void;
  /** The policy files and folders of the config in force at the start (`policies:`), watched too. */
  policies?: readonly string[];
  metrics: Pick<Metrics, "configReloads" | "configLastReload">;
  log: ConfigLog;
  /** How often the files are polled; polling follows the symlink swap of a mounted ConfigMap. */
  intervalMs?: number;
}

export interface ConfigWatcher {
  /** Read the file now: apply it when valid, else keep the config in force. */
  reload(): "applied" | "rejected";
  close(): void;
}

/** The most files one poll stamps below the policy folders; beyond it, changes to later files go unseen. */
export const MAX_WATCHED_ENTRIES = 4096;

/**
 * What tells a file changed. The inode tells a new file: the kubelet updates a mounted ConfigMap by
 * pointing its `..data` link at a new folder, and the new file can have the old one's size and
 * mtime. The ctime tells a rewrite in place: unlike the mtime, no one can set it back.
 */
function stamp(info: Stats): string {
  return `${info.dev}:${info.ino}:${info.ctimeMs}:${info.mtimeMs}:${info.size}`;
}

/**
 * One line per file that the config and its policies are read from: the config file and the files
 * the policy loader reads below the policy paths (its own walk, so that what is watched is what is
 * loaded; the kubelet's hidden `..data` link is not listed, the links to it are and follow it). A
 * file added or removed changes the list; a path that cannot be read is a line too, so that its
 * coming back is a change.
 */
export function fingerprint(paths: readonly string[]): string {
  const lines: string[] = [];
  const { files, errors } = policyFilePaths(paths);
  for (const file of files.slice(0, MAX_WATCHED_ENTRIES)) {
    let line: string;
    try {
      line = `${file} ${stamp(statSync(file))}`;
    } catch (error) {
      line = `${file} ${(error as NodeJS.ErrnoException).code ?? "error"}`;
    }
    lines.push(line);
  }
  for (const error of errors) lines.push(`${error.file} ${error.message}`);
  return lines.join("\n");
}

/**
 * Watch the config file and the policy files it names. A change to either reloads both; an invalid
 * new set (unreadable, empty, bad YAML, schema, unknown rule, a policy that does not compile) is
 * rejected, logged with the reason and counted, and the last good config stays in force. The policy
 * paths watched are those of the newest config that parsed, in force or not: fixing the policy
 * file that made a reload fail is itself a change that reloads.
 */
export function watchConfig(options: ConfigWatchOptions): ConfigWatcher {
  const { path, metrics, log } = options;
  let policies: readonly string[] = options.policies ?? [];
  // Each stamp is taken before what it stamps is read: a change during a reload is seen next poll.
  const current = (): string => `${fingerprint([path])}\n${fingerprint(policies)}`;
  let last = current();
  const reload = (): "applied" | "rejected" => {
    const configStamp = fingerprint([path]);
    last = `${configStamp}\n${fingerprint(policies)}`;
    try {
      const config = loadConfigFile(path, options.knownRules);
      policies = config.policies;
      last = `${configStamp}\n${fingerprint(policies)}`;
      options.apply(config);
    } catch (error) {
      metrics.configReloads.inc({ result: "rejected" });
      const message = error instanceof ConfigError || error instanceof Error ? error.message : String(error);
      log.error(
        { config: path, err: logError(message) },
        "config rejected; the last good config stays in force",
      );
      return "rejected";
    }
    metrics.configReloads.inc({ result: "applied" });
    metrics.configLastReload.setToCurrentTime();
    log.info({ config: path }, "config reloaded");
    return "applied";
  };
  const timer = setInterval(() => {
    if (current() !== last) reload();
  }, options.intervalMs ?? 2000);
  timer.unref();
  return { reload, close: () => clearInterval(timer) };
}
