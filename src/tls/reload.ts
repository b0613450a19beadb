import type { Server } from "node:tls";
import type { KeyPair } from "./certs.js";
import { TLS_SERVER_OPTIONS } from "./options.js";

/**
 * Serve new handshakes with `pair` from now on. Connections already open keep the certificate
 * they were established with, so nothing in flight is dropped and no restart is needed.
 */
export function swapCertificate(server: Server, pair: KeyPair): void {
  // The protocol floor and cipher list go with every new context, or Node's defaults come back.
  server.setSecureContext({ ...TLS_SERVER_OPTIONS, key: pair.key, cert: pair.cert });
}
