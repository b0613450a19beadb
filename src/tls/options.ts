/**
 * What the serving socket accepts: TLS 1.2 or newer, forward-secret AEAD suites only. The TLS 1.3
 * suites are all AEAD; for TLS 1.2 only ECDHE with AES-GCM or ChaCha20-Poly1305 remains, so CBC,
 * RSA key exchange, 3DES and SHA-1 MACs are refused. Reuse these when the certificate is swapped
 * (`server.setSecureContext`) or the defaults come back with the new context.
 */
export const TLS_SERVER_OPTIONS = {
  minVersion: "TLSv1.2",
  ciphers: [
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-CHACHA20-POLY1305",
  ].join(":"),
  honorCipherOrder: true,
} as const;
