import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { CertificatesRefused } from "../tls/certs.js";

/**
 * `tollgate serve` could not start for a reason the user can fix (a file, a folder, the config):
 * main.ts prints the message as it is, `tollgate serve: …`, on one line (one line per problem of a
 * config), without a stack or a pointer to --help, and exits 2.
 */
export class StartupError extends Error {
  override name = "StartupError";
}

/** The errno code and the text of a failed file operation, or undefined for any other error. */
function fileFailure(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === "string" && error instanceof Error ? error.message : undefined;
}

function readFlagFile(flag: string, path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "unreadable";
    throw new StartupError(`--${flag} ${path}: cannot read it (${code}); check the path and its permissions`);
  }
}

/** The first line of a crypto error, without the OpenSSL code: `PEM routines::no start line`. */
function cryptoReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0]!.replace(/^error:[0-9A-F]+:/, "");
}

/**
 * The serving pair from `--tls-cert` and `--tls-key`, once both read, parse and belong together;
 * else a StartupError that names the file: a garbage key made OpenSSL's "no start line", naming
 * neither flag nor file.
 */
export function readTlsPair(certPath: string, keyPath: string): { cert: string; key: string } {
  const cert = readFlagFile("tls-cert", certPath);
  const key = readFlagFile("tls-key", keyPath);
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch (error) {
    throw new StartupError(
      `--tls-cert ${certPath} holds no PEM certificate (${cryptoReason(error)}); give the serving certificate in PEM`,
    );
  }
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(key);
  } catch (error) {
    throw new StartupError(
      `--tls-key ${keyPath} holds no PEM private key (${cryptoReason(error)}); give the serving certificate's key in PEM`,
    );
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new StartupError(
      `--tls-key ${keyPath} is not the key of --tls-cert ${certPath}; give the key the certificate was issued for`,
    );
  }
  return { cert, key };
}

/**
 * A failure of --certs-dir as a StartupError: a pair tollgate will not touch (its message says what
 * to do), or a folder it cannot create or write. Any other error is returned as it is.
 */
export function certsDirFailure(dir: string, error: unknown): unknown {
  if (error instanceof CertificatesRefused) return new StartupError(error.message.replace(/^tollgate: /, ""));
  const failure = fileFailure(error);
  if (failure === undefined) return error;
  return new StartupError(
    `--certs-dir ${dir}: cannot create or write the certificates there (${failure}); give a folder tollgate can write, or --tls-cert/--tls-key`,
  );
}

const RESTART = "tollgate did not start: fix the file (or --config) and start it again";

/**
 * A config that does not load at start-up (unreadable, bad YAML, a schema error, an unknown rule, a
 * policy that does not compile) as a StartupError that says what to do: one line for one problem,
 * a line per problem under a header for several. Any other error is returned as it is.
 */
export function configFailure(error: unknown): unknown {
  if (!(error instanceof Error) || error.name !== "ConfigError") return error;
  const [head, ...problems] = error.message.split("\n");
  if (problems.length === 0) return new StartupError(`${head}; ${RESTART}`);
  if (problems.length === 1) return new StartupError(`${head} ${problems[0]!.trim()}; ${RESTART}`);
  const header = `${head!.replace(/:$/, "")} (tollgate did not start; fix these and start it again):`;
  return new StartupError(`${header}\n${problems.join("\n")}`);
}
