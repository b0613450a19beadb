import { type Stats, type StatsListener, unwatchFile, watchFile } from "node:fs";
import type { Metrics } from "../metrics.js";
import { ConfigError, loadConfigFile } from "./load.js";
import type { Config } from "./schema.js";
import { logError } from "../log.js";

export interface ConfigLog {
  info(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface ConfigWatchOptions {
  path: string;
  knownRules?: ReadonlySet<string>;
  /** Put a validated config in force; a throw rejects the config like a schema error does. */
  apply(config: Config): void;
  metrics: Pick<Metrics, "configReloads" | "configLastReload">;
  log: ConfigLog;
  /** How often the file is polled; polling follows the symlink swap of a mounted ConfigMap. */
  intervalMs?: number;
}

export interface ConfigWatcher {
  /** Read the file now: apply it when valid, else keep the config in force. */
  reload(): "applied" | "rejected";
  close(): void;
}

/**
 * Is it the same file, unchanged? The inode tells a new file: the kubelet updates a mounted
 * ConfigMap by pointing its `..data` link at a new folder, and the new file can have the old one's
 * size and mtime. The ctime tells a rewrite in place: unlike the mtime, no one can set it back.
 */
function sameFile(a: Stats, b: Stats): boolean {
  return (
    a.ino === b.ino &&
    a.dev === b.dev &&
    a.ctimeMs === b.ctimeMs &&
    a.mtimeMs === b.mtimeMs &&
    a.size === b.size
  );
}

/**
 * Watch the config file. An invalid new file (unreadable, empty, bad YAML, schema or unknown
 * rule) is rejected, logged with the reason and counted, and the last good config stays in force.
 */
export function watchConfig(options: ConfigWatchOptions): ConfigWatcher {
  const { path, metrics, log } = options;
  const reload = (): "applied" | "rejected" => {
    try {
      options.apply(loadConfigFile(path, options.knownRules));
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
  const listener: StatsListener = (current, previous) => {
    if (sameFile(current, previous)) return;
    reload();
  };
  watchFile(path, { interval: options.intervalMs ?? 2000 }, listener);
  return { reload, close: () => unwatchFile(path, listener) };
}
