// The ceiling: a bare Node HTTPS server that reads the body, parses it and answers allowed=true.
// Same certificate, TLS floor and keep-alive as tollgate, nothing else.
// Usage: node bare-server.mjs PORT HOST CERT KEY
import { readFileSync } from "node:fs";
import { createServer } from "node:https";

const [port, host, certFile, keyFile] = process.argv.slice(2);
if (port === undefined || host === undefined || certFile === undefined || keyFile === undefined) {
  console.error("usage: node scripts/bench/bare-server.mjs PORT HOST CERT KEY");
  process.exit(2);
}
const server = createServer(
  { cert: readFileSync(certFile), key: readFileSync(keyFile), minVersion: "TLSv1.2" },
  (req, res) => {
    if (req.method === "GET") {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
      return;
    }
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk) => {
      body += chunk;
    });
    req.on("end", () => {
      /** @type {unknown} */
      let uid;
      try {
        uid = /** @type {{ request?: { uid?: unknown } }} */ (JSON.parse(body)).request?.uid ?? "";
      } catch {
        res.writeHead(400).end();
        return;
      }
      const answer = JSON.stringify({
        apiVersion: "admission.k8s.io/v1",
        kind: "AdmissionReview",
        response: { uid, allowed: true },
      });
      res
        .writeHead(200, {
          "content-type": "application/json; charset=utf-8",
          "content-length": Buffer.byteLength(answer),
        })
        .end(answer);
    });
  },
);
server.keepAliveTimeout = 120_000;
server.listen(Number(port), host, () => process.stdout.write(`bare listening on ${host}:${port}\n`));
process.once("SIGTERM", () => server.close(() => process.exit(0)));
