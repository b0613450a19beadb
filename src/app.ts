import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from "fastify";
import { answerReview } from "./admission/handler.js";
import type { StandingPicture } from "./audit/scanner.js";
import { parseReview } from "./admission/schema.js";
import type { Policy } from "./engine/policy.js";
import type { Metrics } from "./metrics.js";
import type { ClusterFacts, Mode } from "./rules/types.js";
import { guardConnections } from "./server/connections.js";
import type { Readiness } from "./tls/manager.js";
import { TLS_SERVER_OPTIONS } from "./tls/options.js";
import { decisionWriter } from "./log.js";

/** The apiserver drops idle connections after 90 s; keep ours open longer so it never races us. */
export const KEEP_ALIVE_TIMEOUT_MS = 120_000;
/** Room for object + oldObject of the largest object etcd stores (about 1.5 MiB each) and the envelope. */
export const BODY_LIMIT_BYTES = 8 * 1024 * 1024;
/**
 * Slow clients are cut off before the apiserver's default call timeout (`timeoutSeconds: 3`): the
 * apiserver sends a whole review at once, so a request still arriving after that is abandoned or
 * hostile, and holding its socket only costs memory. Node checks these every
 * CONNECTIONS_CHECK_INTERVAL_MS, so the cut-off comes at most that much later.
 */
export const HEADERS_TIMEOUT_MS = 2_000;
export const REQUEST_TIMEOUT_MS = 2_500;
export const CONNECTIONS_CHECK_INTERVAL_MS = 500;
/** A TCP connection that never finishes the TLS handshake is dropped after this. */
export const HANDSHAKE_TIMEOUT_MS = 2_000;
/**
 * An idle TLS keep-alive connection costs about 60 KiB (RELIABILITY.md), so this bounds them to
 * about 120 MiB; each apiserver pools a few dozen. Past it new connections are dropped and counted.
 */
export const MAX_CONNECTIONS = 2048;
/**
 * One source address holds at most this many, so that one client cannot take every slot. An
 * apiserver keeps a few dozen to about 100 idle connections per webhook, and opens one per
 * concurrent call in a burst (writes are bounded by `--max-mutating-requests-inflight`, 200 by
 * default); 512 covers two apiservers behind one address (a konnectivity agent, SNAT) at full burst,
 * and four such peers still fit under MAX_CONNECTIONS.
 */
export const MAX_CONNECTIONS_PER_PEER = 512;
/**
 * When the server closes, a keep-alive connection used this recently may have its client's next
 * request on the wire: it is kept this long and a request that arrives is answered.
 */
export const CLOSE_IDLE_GRACE_MS = 1_000;
/**
 * Node stops its header and request timeouts when the server closes; a request that began before
 * the close has had REQUEST_TIMEOUT_MS by then, so what is still open is cut.
 */
export const DRAIN_TIMEOUT_MS = REQUEST_TIMEOUT_MS;

/**
 * The timeouts of a server, in milliseconds; the constants above are the production values. Tests
 * pass small ones, so that checking a cut-off does not wait seconds for it.
 */
export interface ServerTimeouts {
  /** HEADERS_TIMEOUT_MS: the headers of a request arrive within this, or 408. */
  headersTimeout: number;
  /** REQUEST_TIMEOUT_MS: the whole request arrives within this, or 408. */
  requestTimeout: number;
  /** CONNECTIONS_CHECK_INTERVAL_MS: how often node checks the two above. */
  connectionsCheckingInterval: number;
  /** HANDSHAKE_TIMEOUT_MS: a connection that has not finished TLS by then is dropped. */
  handshakeTimeout: number;
  /** KEEP_ALIVE_TIMEOUT_MS: an idle connection between requests is closed after this. */
  keepAliveTimeout: number;
  /** CLOSE_IDLE_GRACE_MS: at the close, a connection is kept until idle this long. */
  closeIdleGraceMs: number;
  /** At the close, what is still open this long after is cut; the request timeout when absent. */
  drainTimeoutMs: number;
}

/** `timeouts` with the production value for each one absent. */
export function serverTimeouts(timeouts: Partial<ServerTimeouts> = {}): ServerTimeouts {
  const requestTimeout = timeouts.requestTimeout ?? REQUEST_TIMEOUT_MS;
  return {
    headersTimeout: timeouts.headersTimeout ?? HEADERS_TIMEOUT_MS,
    requestTimeout,
    connectionsCheckingInterval: timeouts.connectionsCheckingInterval ?? CONNECTIONS_CHECK_INTERVAL_MS,
    handshakeTimeout: timeouts.handshakeTimeout ?? HANDSHAKE_TIMEOUT_MS,
    keepAliveTimeout: timeouts.keepAliveTimeout ?? KEEP_ALIVE_TIMEOUT_MS,
    closeIdleGraceMs: timeouts.closeIdleGraceMs ?? CLOSE_IDLE_GRACE_MS,
    drainTimeoutMs: timeouts.drainTimeoutMs ?? requestTimeout,
  };
}

export interface AppOptions {
  /**
   * PEM key and certificate; plain HTTP when absent (tests with inject only). `"later"`: HTTPS
   * with no certificate yet, so that `serve --bootstrap` can hold its port before it reads its
   * certificate from the cluster; handshakes fail until `swapCertificate` gives it one.
   */
  https?: { key: string | Buffer; cert: string | Buffer } | "later" | undefined;
  policy: () => Policy;
  metrics: Metrics;
  logger: FastifyBaseLogger;
  /** Extra readiness checks (certificate expiry, shutdown in progress); ready when absent. */
  readiness?: () => Readiness;
  facts?: () => ClusterFacts | undefined;
  /** The background scanner's picture, for the promotion preview; absent without cluster access. */
  standing?: () => StandingPicture | undefined;
  /** Open connections at most; MAX_CONNECTIONS when absent. */
  maxConnections?: number;
  /** Open connections at most from one source address; MAX_CONNECTIONS_PER_PEER when absent. */
  maxConnectionsPerPeer?: number;
  /** True from SIGTERM on: every answer then says `Connection: close`. */
  shuttingDown?: () => boolean;
  /** The production value (see ServerTimeouts) for each one absent. */
  timeouts?: Partial<ServerTimeouts>;
}

interface HttpError {
  statusCode: number;
  reason: string;
  message: string;
}

/** A request header as an error message quotes it: at most 64 characters, since a client sizes it. */
function headerText(value: string | string[] | undefined): string {
  if (value === undefined) return "none";
  const text = Array.isArray(value) ? value.join(", ") : value;
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text);
}

/** `8 MiB (8388608 bytes)`: the limit as a person reads it, and exactly. */
function limitText(bytes: number): string {
  return `${bytes / (1024 * 1024)} MiB (${bytes} bytes)`;
}

function classify(error: FastifyError, request: FastifyRequest): HttpError {
  switch (error.code) {
    case "TOLLGATE_MALFORMED_JSON":
      return { statusCode: 400, reason: "malformed-json", message: `malformed JSON: ${error.message}` };
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return {
        statusCode: 413,
        reason: "too-large",
        message: `request body larger than the limit of ${limitText(BODY_LIMIT_BYTES)}`,
      };
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return {
        statusCode: 415,
        reason: "media-type",
        message: `Content-Type ${headerText(request.headers["content-type"])} is not accepted: send application/json (an AdmissionReview v1)`,
      };
    case "TOLLGATE_CONTENT_ENCODING":
      return {
        statusCode: 415,
        reason: "media-type",
        message: `Content-Encoding ${headerText(request.headers["content-encoding"])} is not accepted: send the AdmissionReview uncompressed, as the apiserver does`,
      };
  }
  if (error instanceof SyntaxError || error.statusCode === 400) {
    return { statusCode: 400, reason: "malformed-json", message: `malformed JSON: ${error.message}` };
  }
  const status = error.statusCode ?? 500;
  return { statusCode: status, reason: status >= 500 ? "internal" : "bad-request", message: error.message };
}

/**
 * V8 quotes up to a few dozen characters of the input in some syntax errors
 * (`Unexpected token 'h', ..."password": hunter2}" is not valid JSON`); the message is logged
 * and sent back, so the quote goes, and with it any secret value next to the mistake.
 */
export function withoutExcerpt(message: string): string {
  return message.replace(
    /(, )?(\.\.\.)?".*"(\.\.\.)? is not valid JSON$/s,
    (_all, comma: string | undefined) => (comma ? " (not valid JSON)" : "not valid JSON"),
  );
}

/** The admission server: fastify with the validate, health and readiness routes. */
export function buildApp(options: AppOptions): FastifyInstance {
  const timeouts = serverTimeouts(options.timeouts);
  const app = Fastify({
    loggerInstance: options.logger,
    logController: new LogController({ disableRequestLogging: true }),
    // No child logger per request (fastify's default, a pino child with the request id bound):
    // most requests log nothing through it, and making one cost each request more than its metrics.
    // The few lines that do name the request id themselves.
    childLoggerFactory: (logger) => logger,
    bodyLimit: BODY_LIMIT_BYTES,
    keepAliveTimeout: timeouts.keepAliveTimeout,
    requestTimeout: timeouts.requestTimeout,
    // While draining, answer what still arrives on open connections (with `Connection: close`):
    // a 503 would be a failed call to the apiserver, and a denial under `failurePolicy: Fail`.
    return503OnClosing: false,
    ...(options.https
      ? {
          https: {
            ...(options.https === "later" ? {} : options.https),
            ...TLS_SERVER_OPTIONS,
            headersTimeout: timeouts.headersTimeout,
            requestTimeout: timeouts.requestTimeout,
            connectionsCheckingInterval: timeouts.connectionsCheckingInterval,
            handshakeTimeout: timeouts.handshakeTimeout,
          },
        }
      : {}),
  }) as unknown as FastifyInstance;

  const maxConnections = options.maxConnections ?? MAX_CONNECTIONS;
  guardConnections(app.server, {
    maxConnections,
    maxConnectionsPerPeer:
      options.maxConnectionsPerPeer ?? Math.min(MAX_CONNECTIONS_PER_PEER, maxConnections),
    closeIdleGraceMs: timeouts.closeIdleGraceMs,
    drainTimeoutMs: timeouts.drainTimeoutMs,
    onDrop: (reason) => options.metrics.connectionsDropped.inc({ server: "webhook", reason }),
  });

  // From SIGTERM on, every answer (errors and 404s included) tells the client to retire its
  // connection, so that clients move off it during the shutdown delay instead of losing a request
  // when the server closes it. Decided as the answer goes out, by each handler (a hook would run
  // for every request): a request whose body was still arriving at SIGTERM gets it too.
  let draining = false;
  const retireIfDraining = (reply: FastifyReply) => {
    if (draining || options.shuttingDown?.()) void reply.header("connection", "close");
  };

  const deps = {
    policy: options.policy,
    metrics: options.metrics,
    log: app.log,
    facts: options.facts,
    standing: options.standing,
    decision: decisionWriter(app.log),
  };

  // Only JSON is a review: fastify's own text/plain parser would hand a string to the review
  // check, which answers "not an AdmissionReview" about what is a wrong Content-Type.
  app.removeContentTypeParser("text/plain");
  // JSON.parse directly: V8 parses any nesting depth without recursion, and an own `__proto__` key
  // it creates is inert because tollgate never merges request data into other objects.
  app.removeContentTypeParser("application/json");
  // A compressed body is no review either: fastify does not decode it, and JSON.parse would call
  // gzip malformed.
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    const encoding = request.headers["content-encoding"];
    if (encoding !== undefined && encoding.trim().toLowerCase() !== "identity") {
      const failure = new Error("compressed body") as FastifyError;
      failure.code = "TOLLGATE_CONTENT_ENCODING";
      failure.statusCode = 415;
      done(failure, undefined);
      return;
    }
    try {
      done(null, JSON.parse(body as string));
    } catch (error) {
      const failure = new Error(
        (body as string).length === 0 ? "the body is empty" : withoutExcerpt((error as Error).message),
      ) as FastifyError;
      failure.code = "TOLLGATE_MALFORMED_JSON";
      failure.statusCode = 400;
      done(failure, undefined);
    }
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const http = classify(error, request);
    options.metrics.invalidReviews.inc({ reason: http.reason });
    const line = {
      reqId: request.id,
      url: request.url,
      status: http.statusCode,
      reason: http.reason,
      err: error.message,
    };
    if (http.statusCode >= 500) request.log.error(line, "request failed");
    else request.log.warn(line, "request rejected");
    retireIfDraining(reply);
    void reply.code(http.statusCode).send({ error: http.reason, message: http.message });
  });

  app.setNotFoundHandler((request, reply) => {
    retireIfDraining(reply);
    void reply.code(404).send({
      error: "not-found",
      message: `no route ${request.method} ${request.url}; POST AdmissionReviews to /validate, /validate/enforce or /validate/warn`,
    });
  });

  // A request that was already in flight when close() began is answered with `Connection: close`
  // too: on a keep-alive connection node would keep it open until the keep-alive timeout.
  app.addHook("preClose", (done) => {
    draining = true;
    done();
  });

  const validate = (mode: () => Mode) => (request: FastifyRequest, reply: FastifyReply) => {
    retireIfDraining(reply);
    const parsed = parseReview(request.body);
    if ("error" in parsed) {
      options.metrics.invalidReviews.inc({ reason: "not-a-review" });
      request.log.warn(
        { reqId: request.id, status: 400, reason: "not-a-review", err: parsed.error },
        "request rejected",
      );
      void reply.code(400).send({ error: "not-a-review", message: parsed.error });
      return;
    }
    void reply.send(answerReview(parsed.review, mode(), deps));
  };

  app.post(
    "/validate",
    validate(() => options.policy().config.defaultMode),
  );
  app.post(
    "/validate/enforce",
    validate(() => "enforce"),
  );
  app.post(
    "/validate/warn",
    validate(() => "warn"),
  );

  app.get("/healthz", async (_request, reply) => {
    retireIfDraining(reply);
    return { status: "ok" };
  });
  app.get("/readyz", async (_request, reply) => {
    retireIfDraining(reply);
    const readiness = options.readiness?.() ?? { ready: true };
    if (!readiness.ready)
      return reply.code(503).send({ status: "not ready", reason: readiness.reason ?? "" });
    return { status: "ready" };
  });

  return app;
}
