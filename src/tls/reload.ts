import type { Server } from "node:tls";
import type { KeyPair } from "./certs.js";

/** The TLS floor of every context tollgate serves with; kube-apiserver speaks 1.2 and 1.3. */
export const MIN_TLS_VERSION = "TLSv1.2" as const;

/**
 * Serve new handshakes with `pair` from now on. Connections already open keep the certificate
 * they were established with, so nothing in flight is dropped and no restart is needed.
 */
export function swapCertificate(server: Server, pair: KeyPair): void {
  server.setSecureContext({ key: pair.key, cert: pair.cert, minVersion: MIN_TLS_VERSION });
}
