import { createServer, type Server, type ServerOptions } from "node:http";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { toolVersion } from "./version.js";

/**
 * The `kind` label of a decision. A label value is a series kept for the life of the process, and
 * `request.kind.kind` is whatever the caller wrote: 20 000 made-up kinds were 20 000 series, and a
 * few 3.5 MiB kinds a 22 MB scrape. Only kinds that some rule names keep their name.
 */
export const OTHER_KIND = "other";

export function kindLabel(kind: string, known: ReadonlySet<string>): string {
  return known.has(kind) ? kind : OTHER_KIND;
}

/**
 * Every metric tollgate exports. Every label value comes from a fixed set or from the config (rule
 * ids), never from the request as it is (see `kindLabel`). On a registry of its own so that tests
 * can build many apps.
 */
export interface Metrics {
  registry: Registry;
  /** Read it for the counts; count with `countDecision`, which it takes in when it is read. */
  decisions: Counter<"verdict" | "kind" | "mode">;
  /** Read it for the counts; count with `countFinding`, which it takes in when it is read. */
  findings: Counter<"rule" | "mode" | "severity">;
  /** One admission decision, for `decisions`: per request, so counted without prom-client's label work. */
  countDecision(verdict: string, kind: string, mode: string): void;
  /** One finding of an admission decision, for `findings`. */
  countFinding(rule: string, mode: string, severity: string): void;
  duration: Histogram<"mode">;
  ruleErrors: Counter<"rule">;
  ruleSlow: Counter<"rule">;
  invalidReviews: Counter<"reason">;
  configReloads: Counter<"result">;
  /** When the config in force was loaded: at start-up, then at each applied reload. */
  configLastReload: Gauge;
  connectionsDropped: Counter<"server" | "reason">;
  certificateExpiry: Gauge<"certificate">;
  /** 1, labelled with what runs: which tollgate on which Node.js (alerts and dashboards join on it). */
  buildInfo: Gauge<"version" | "node">;
  /** The standing picture of the background scanner: current state, not events. */
  audit: AuditMetrics;
}

/**
 * The scanner's gauges. Their namespace label comes from the cluster's own Namespaces, their rule
 * label from the rule registry: no label value is written by a requester as such.
 */
export interface AuditMetrics {
  findings: Gauge<"namespace" | "rule" | "severity">;
  enforceReady: Gauge<"namespace">;
  exemptions: Gauge<"namespace" | "rule">;
  exemptionExpiry: Gauge<"namespace" | "rule">;
  objects: Gauge;
  lastScan: Gauge;
  reportWrites: Counter<"result">;
  leader: Gauge;
}

function auditMetrics(registry: Registry): AuditMetrics {
  const registers = [registry];
  return {
    findings: new Gauge({
      name: "tollgate_audit_findings",
      help: "Findings on what runs now, by namespace, rule and severity (enforce mode; exempted findings not counted)",
      labelNames: ["namespace", "rule", "severity"],
      registers,
    }),
    enforceReady: new Gauge({
      name: "tollgate_namespace_enforce_ready",
      help: "1 when nothing that runs in the namespace now would be denied in enforce mode, else 0",
      labelNames: ["namespace"],
      registers,
    }),
    exemptions: new Gauge({
      name: "tollgate_exemptions",
      help: "Findings an exemption covers now, by namespace and rule",
      labelNames: ["namespace", "rule"],
      registers,
    }),
    exemptionExpiry: new Gauge({
      name: "tollgate_exemption_expiry_timestamp_seconds",
      help: "When the first exemption in force for a namespace and rule ends, as a Unix time",
      labelNames: ["namespace", "rule"],
      registers,
    }),
    objects: new Gauge({
      name: "tollgate_audit_objects",
      help: "Objects the background scanner holds and judges",
      registers,
    }),
    lastScan: new Gauge({
      name: "tollgate_audit_last_scan_timestamp_seconds",
      help: "When the scanner last brought its picture up to date, as a Unix time",
      registers,
    }),
    reportWrites: new Counter({
      name: "tollgate_audit_report_writes_total",
      help: "Policy reports written by this replica (only the leader writes), by result (written, failed, unserved)",
      labelNames: ["result"],
      registers,
    }),
    leader: new Gauge({
      name: "tollgate_audit_leader",
      help: "1 while this replica holds the audit Lease and writes the reports",
      registers,
    }),
  };
}

/**
 * Counts by three label values, kept on the hot path in nested maps (no label object, no key
 * string, no validation) and handed to a prom-client counter when it is read. prom-client's own
 * `inc` hashes and checks the labels on every call, which under load cost the server more per
 * request than the histogram and the decision line together (BENCHMARKS.md).
 */
class Tally {
  private readonly counts = new Map<string, Map<string, Map<string, number>>>();

  add(a: string, b: string, c: string): void {
    let byB = this.counts.get(a);
    if (byB === undefined) {
      byB = new Map();
      this.counts.set(a, byB);
    }
    let byC = byB.get(b);
    if (byC === undefined) {
      byC = new Map();
      byB.set(b, byC);
    }
    byC.set(c, (byC.get(c) ?? 0) + 1);
  }

  /** Each count since the last drain to `into`, and every count back to zero. */
  drain(into: (a: string, b: string, c: string, n: number) => void): void {
    for (const [a, byB] of this.counts) {
      for (const [b, byC] of byB) {
        for (const [c, n] of byC) {
          if (n === 0) continue;
          into(a, b, c, n);
          byC.set(c, 0);
        }
      }
    }
  }
}

export function createMetrics(options: { processMetrics?: boolean } = {}): Metrics {
  const decided = new Tally();
  const found = new Tally();
  const registry = new Registry();
  if (options.processMetrics) collectDefaultMetrics({ register: registry });
  const buildInfo = new Gauge({
    name: "tollgate_build_info",
    help: "Always 1; the labels say which tollgate version runs on which Node.js version",
    labelNames: ["version", "node"],
    registers: [registry],
  });
  buildInfo.set({ version: toolVersion(), node: process.version }, 1);
  return {
    registry,
    decisions: new Counter({
      name: "tollgate_decisions_total",
      help: "Admission decisions by verdict (allowed, warned, denied, skipped), kind (other for kinds no rule names) and mode",
      labelNames: ["verdict", "kind", "mode"],
      registers: [registry],
      collect() {
        decided.drain((verdict, kind, mode, n) => this.inc({ verdict, kind, mode }, n));
      },
    }),
    findings: new Counter({
      name: "tollgate_findings_total",
      help: "Findings by rule, mode and the severity they ended with",
      labelNames: ["rule", "mode", "severity"],
      registers: [registry],
      collect() {
        found.drain((rule, mode, severity, n) => this.inc({ rule, mode, severity }, n));
      },
    }),
    countDecision: (verdict, kind, mode) => decided.add(verdict, kind, mode),
    countFinding: (rule, mode, severity) => found.add(rule, mode, severity),
    duration: new Histogram({
      name: "tollgate_admission_duration_seconds",
      help: "Time to answer an AdmissionReview, from parsed body to response",
      labelNames: ["mode"],
      // Up to and past the webhook timeout (3 s by default, at most 30 s as the apiserver allows):
      // an answer the apiserver gave up on lands in a bucket of its own, not in +Inf with 1 s ones.
      buckets: [
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 3, 5, 10,
      ],
      registers: [registry],
    }),
    ruleErrors: new Counter({
      name: "tollgate_rule_errors_total",
      help: "Rules that threw on an object (the request was still answered)",
      labelNames: ["rule"],
      registers: [registry],
    }),
    ruleSlow: new Counter({
      name: "tollgate_rule_slow_total",
      help: "Rule runs over the slow threshold, and rules at which an evaluation ran out of time",
      labelNames: ["rule"],
      registers: [registry],
    }),
    invalidReviews: new Counter({
      name: "tollgate_invalid_requests_total",
      help: "Requests answered 4xx: malformed JSON, not an AdmissionReview, too large",
      labelNames: ["reason"],
      registers: [registry],
    }),
    configReloads: new Counter({
      name: "tollgate_config_reloads_total",
      help: "Config reloads by result (applied, rejected)",
      labelNames: ["result"],
      registers: [registry],
    }),
    configLastReload: new Gauge({
      name: "tollgate_config_last_reload_success_timestamp_seconds",
      help: "When the config in force was loaded (at start-up or by the last applied reload), as a Unix time",
      registers: [registry],
    }),
    connectionsDropped: new Counter({
      name: "tollgate_connections_dropped_total",
      help: "Connections tollgate closed to keep room, by server (webhook, metrics) and reason (max-connections, per-peer, idle-shed, drain-timeout)",
      labelNames: ["server", "reason"],
      registers: [registry],
    }),
    certificateExpiry: new Gauge({
      name: "tollgate_certificate_expiry_timestamp_seconds",
      help: "Expiry of the certificates tollgate serves with and trusts, as a Unix time",
      labelNames: ["certificate"],
      registers: [registry],
    }),
    buildInfo,
    audit: auditMetrics(registry),
  };
}

/** A plain-HTTP server that answers GET /metrics and nothing else. */
export function createMetricsServer(metrics: Metrics, options: ServerOptions = {}): Server {
  return createServer(options, (req, res) => {
    if (req.method === "GET" && (req.url === "/metrics" || req.url?.startsWith("/metrics?"))) {
      metrics.registry.metrics().then(
        (body) => {
          res.writeHead(200, { "content-type": metrics.registry.contentType });
          res.end(body);
        },
        (error: unknown) => {
          res.writeHead(500, { "content-type": "text/plain" });
          res.end(`cannot collect metrics: ${error instanceof Error ? error.message : String(error)}\n`);
        },
      );
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("not found: metrics are served at GET /metrics\n");
  });
}
