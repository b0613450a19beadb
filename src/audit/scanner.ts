import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { KubernetesObject } from "@kubernetes/client-node";
import type { AuditSettings } from "../config/schema.js";
import { resyncMs } from "../config/schema.js";
import type { Policy } from "../engine/policy.js";
import { classifyApiError } from "../k8s/client.js";
import type { AuditMetrics } from "../metrics.js";
import {
  apiVersionOf,
  isTemplateKey,
  type KindName,
  KINDS,
  type TemplateKey,
  type TemplateKindInfo,
  templateKey,
} from "../objects/kinds.js";
import { type KubeObject, namespacesIn } from "../objects/object.js";
import { describeRule, type Report, type ReportObject, type RuleDescriptor } from "../report/model.js";
import { ALL_CHECKS } from "./checks/index.js";
import { planAudit } from "./plan.js";
import { deniedInEnforce, type ReportContent, policyReports } from "./policyReport.js";
import { assembleAuditReport, type JudgedObject, judgeListed } from "./report.js";
import type { ClusterSnapshot, Unavailable } from "./snapshot.js";
import { logError } from "../log.js";

/** What the scanner logs through; pino's logger fits. */
export interface ScannerLog {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
}

/** One informer's cache and its events, as client-node's ListWatch gives them. */
export interface WatchedKind {
  list(): readonly KubernetesObject[];
  start(): Promise<void>;
  stop(): Promise<void>;
  on(event: "add" | "update" | "delete", handler: (object: KubernetesObject) => void): void;
  on(event: "error", handler: (error: unknown) => void): void;
}

/** Makes the informer of one kind: in serve, a ListWatch on the apiserver. */
export type WatchFactory = (kind: KindName) => WatchedKind;

/**
 * Makes the informer of a configured pod template's kind: in serve, a ListWatch at the version
 * discovery prefers, found when it starts (a start that finds the group unserved fails as a 404).
 */
export type TemplateWatchFactory = (info: TemplateKindInfo) => WatchedKind;

/** What the scanner watches: a kind of the table, or a configured pod template's `<group>/<kind>`. */
type WatchKey = KindName | TemplateKey;

/** Writes the reports (the leader only): see reportWriter.ts. */
export interface ReportSink {
  /**
   * Writes the contents that changed since the last write. Resolves true when every one is in the
   * cluster, false when something could not be written (the scanner then tries again shortly).
   */
  write(contents: readonly ReportContent[]): Promise<boolean>;
}

export interface ScannerOptions {
  watch: WatchFactory;
  /** The informers of the config's `podTemplates` kinds; none are watched without it. */
  watchTemplate?: TemplateWatchFactory;
  policy: () => Policy;
  settings: () => AuditSettings;
  metrics: AuditMetrics;
  log: ScannerLog;
  /** Whether this replica writes the reports now (it holds the Lease). */
  isLeader: () => boolean;
  sink: ReportSink;
  /** A change is judged this long after the last one, at most `maxWaitMs` after the first. */
  debounceMs?: number;
  maxWaitMs?: number;
  /** Reports that could not be written are tried again after this long (5 s unless told). */
  writeRetryMs?: number;
  now?: () => Date;
}

/** Objects judged between two yields to the event loop, so that admission requests are never held up. */
const CHUNK = 100;
/** A watch that failed is started again after this pause; a refused or unserved kind at resync. */
const RESTART_DELAY_MS = 5_000;
/** Reports that could not be written (the apiserver busy, a CRD just created) are tried again after this. */
const WRITE_RETRY_MS = 5_000;

function keyOf(kind: string, object: KubernetesObject): string {
  return `${kind}\u0000${object.metadata?.namespace ?? ""}\u0000${object.metadata?.name ?? ""}`;
}

/** What the admission path reads from the scanner: the standing picture, never waited for. */
export interface StandingPicture {
  /**
   * The objects in `namespace` that enforce mode would deny now (deny findings of admission rules,
   * exemptions honoured), or undefined until the scanner has judged the cluster once.
   */
  wouldDeny(namespace: string): ReportObject[] | undefined;
}

/**
 * The continuous audit of `tollgate serve`: an informer per kind that the rules and the checklist
 * read (Secrets left out: the scanner needs no access to credentials), each object judged as
 * `tollgate audit` judges it and kept until it changes, the checklist re-run over the caches, the
 * reports' contents and the gauges recomputed after every burst of changes and at every resync,
 * and the reports written by the leader only, when their content changed.
 */
export class Scanner implements StandingPicture {
  private readonly informers = new Map<WatchKey, WatchedKind>();
  private readonly unavailable = new Map<WatchKey, Unavailable>();
  private readonly judged = new Map<string, { kind: WatchKey; result: JudgedObject }>();
  private readonly dirty = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private judgedKinds = new Set<WatchKey>();
  /** The pod-template kinds watched now, with the resource their informer lists. */
  private readonly templates = new Map<TemplateKey, TemplateKindInfo>();
  private policyJudged: Policy | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private firstChange: number | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private synced = false;
  private lastContents: ReportContent[] = [];
  private denied = new Map<string, ReportObject[]>();
  private resyncTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ScannerOptions) {}

  /** Starts the informers and judges the cluster once; resolves when the first picture is complete. */
  async start(): Promise<void> {
    const policy = this.options.policy();
    const { judged, requests, templates } = planAudit(policy, undefined);
    this.judgedKinds = new Set<WatchKey>(judged);
    // The namespaces always: reports are per namespace, and policies select by their labels.
    const kinds = new Set<KindName>(["Namespace", ...requests.map((request) => request.kind)]);
    kinds.delete("Secret");
    this.unavailable.set("Secret", "not listed");
    for (const kind of kinds) this.informers.set(kind, this.watchKind(kind, this.options.watch(kind)));
    if (this.options.watchTemplate) {
      for (const info of templates) this.addTemplate(info, this.options.watchTemplate);
    }
    await Promise.all([...this.informers.keys()].map((kind) => this.startKind(kind)));
    this.synced = true;
    this.scheduleResync();
    await this.recompute();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    if (this.debounce) clearTimeout(this.debounce);
    if (this.resyncTimer) clearTimeout(this.resyncTimer);
    await Promise.all([...this.informers.values()].map((informer) => informer.stop().catch(() => undefined)));
    await this.running?.catch(() => undefined);
  }

  /** The reports as last computed (the leader writes them; a new leader writes what changed). */
  contents(): readonly ReportContent[] {
    return this.lastContents;
  }

  wouldDeny(namespace: string): ReportObject[] | undefined {
    if (!this.synced || this.policyJudged === undefined) return undefined;
    return this.denied.get(namespace) ?? [];
  }

  /** Called when this replica becomes the leader: it writes what differs from the cluster now. */
  leadershipChanged(): void {
    this.changed();
  }

  private addTemplate(info: TemplateKindInfo, factory: TemplateWatchFactory): TemplateKey {
    const key = templateKey(info);
    this.templates.set(key, info);
    this.judgedKinds.add(key);
    this.informers.set(key, this.watchKind(key, factory(info)));
    return key;
  }

  /**
   * A reloaded config: the pod-template kinds it names are watched from now on, and those it no
   * longer names are stopped and their objects forgotten (a changed resource is watched anew).
   * The kinds of the table stay as they started.
   */
  private syncTemplates(policy: Policy): void {
    const factory = this.options.watchTemplate;
    if (!factory) return;
    const wanted = new Map(planAudit(policy, undefined).templates.map((info) => [templateKey(info), info]));
    for (const [key, info] of this.templates) {
      if (wanted.get(key)?.resource === info.resource) continue;
      const informer = this.informers.get(key);
      this.informers.delete(key);
      this.templates.delete(key);
      this.unavailable.delete(key);
      this.judgedKinds.delete(key);
      void informer?.stop().catch(() => undefined);
      for (const [entry, { kind }] of this.judged) if (kind === key) this.judged.delete(entry);
    }
    for (const [key, info] of wanted) {
      if (this.templates.has(key)) continue;
      this.addTemplate(info, factory);
      void this.startKind(key).then(() => this.changed());
    }
  }

  private watchKind(kind: WatchKey, informer: WatchedKind): WatchedKind {
    const mark = (object: KubernetesObject) => {
      const key = keyOf(kind, object);
      this.dirty.add(key);
      // Policies read the labels of an object's Namespace: its objects are judged again.
      if (kind === "Namespace" && (this.options.policy().policies?.policies.length ?? 0) > 0) {
        const name = object.metadata?.name ?? "";
        for (const [other, entry] of this.judged) {
          if (entry.result.object.namespace === name) this.dirty.add(other);
        }
      }
      this.changed();
    };
    informer.on("add", mark);
    informer.on("update", mark);
    informer.on("delete", (object) => {
      const key = keyOf(kind, object);
      this.judged.delete(key);
      this.dirty.delete(key);
      this.changed();
    });
    informer.on("error", (error) => this.failed(kind, error));
    return informer;
  }

  /**
   * A list or watch failed (client-node's ListWatch then stops): a refused or unserved kind is
   * marked unavailable, so that the checklist items that read it say so, and tried again at the
   * next resync; anything else is restarted after a pause, the cache keeping its content meanwhile.
   */
  private failed(kind: WatchKey, error: unknown): void {
    // A pod-template kind a reload dropped: its informer is stopped, its failures are no news.
    if (this.stopped || !this.informers.has(kind)) return;
    const failure = classifyApiError(error);
    const refused = failure.type === "forbidden" || failure.type === "not found";
    if (refused) this.unavailable.set(kind, failure.type === "forbidden" ? "forbidden" : "not served");
    this.options.log.warn(
      { kind, err: logError(failure.message) },
      refused ? "cannot watch this kind; trying again at the next resync" : "watch failed; restarting",
    );
    if (!refused) this.restartLater(kind, RESTART_DELAY_MS);
  }

  /** Lists the kind and starts its watch; failures arrive through `failed`. */
  private async startKind(kind: WatchKey): Promise<void> {
    const informer = this.informers.get(kind);
    if (!informer) return;
    this.unavailable.delete(kind);
    try {
      await informer.start();
    } catch (error) {
      this.failed(kind, error);
    }
  }

  private restartLater(kind: WatchKey, delayMs: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.stopped) void this.startKind(kind).then(() => this.changed());
    }, delayMs);
    timer.unref();
    this.timers.add(timer);
  }

  private scheduleResync(): void {
    if (this.stopped) return;
    this.resyncTimer = setTimeout(() => {
      // Everything again: exemptions expire and checklist items read the clock.
      for (const key of this.judged.keys()) this.dirty.add(key);
      for (const [kind, why] of this.unavailable) {
        if (kind !== "Secret" && why !== "not listed") void this.startKind(kind).then(() => this.changed());
      }
      this.changed();
      this.scheduleResync();
    }, resyncMs(this.options.settings().resync));
    this.resyncTimer.unref();
  }

  /** A change arrived: recompute once the burst is over (debounced, with a cap on the wait). */
  private changed(): void {
    if (this.stopped || !this.synced) return;
    const now = Date.now();
    this.firstChange ??= now;
    if (this.debounce) clearTimeout(this.debounce);
    const wait = Math.min(
      this.options.debounceMs ?? 500,
      Math.max(0, this.firstChange + (this.options.maxWaitMs ?? 2_000) - now),
    );
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      this.firstChange = undefined;
      void this.recompute();
    }, wait);
    this.debounce.unref();
  }

  /** Judge what changed, assemble the report, set the gauges, and (leader) write what changed. */
  private recompute(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.pass()
      .catch((error: unknown) => this.options.log.warn({ err: logError(error) }, "audit pass failed"))
      .finally(() => {
        this.running = undefined;
        if (this.again && !this.stopped) {
          this.again = false;
          void this.recompute();
        }
      });
    return this.running;
  }

  private async pass(): Promise<void> {
    const policy = this.options.policy();
    if (policy !== this.policyJudged) {
      // A reloaded config or policy set: every object is judged again under it.
      if (this.policyJudged !== undefined) this.syncTemplates(policy);
      this.judged.clear();
      this.dirty.clear();
      for (const [kind, informer] of this.informers) {
        if (!this.judgedKinds.has(kind)) continue;
        for (const object of informer.list()) this.dirty.add(keyOf(kind, object));
      }
      this.policyJudged = policy;
    }
    const cached = this.cached();
    const snapshot = this.snapshot(cached);
    const namespaces = namespacesIn(snapshot.objects.Namespace ?? []);
    const index = this.index(cached);
    let done = 0;
    for (const key of [...this.dirty]) {
      this.dirty.delete(key);
      const found = index.get(key);
      if (!found) continue;
      this.judged.set(key, {
        kind: found.kind,
        result: judgeListed(found.kind, found.object, policy, namespaces),
      });
      if (++done % CHUNK === 0) await yieldToEventLoop();
      if (this.stopped) return;
    }
    const judged = [...this.judged.values()].map((entry) => entry.result);
    const now = (this.options.now ?? (() => new Date()))();
    const problems = [...this.unavailable].map(([kind, why]) => ({
      message:
        kind === "Secret"
          ? "Secrets are not read by the scanner (it holds no access to credentials): run `tollgate audit` for the items that read them"
          : `${this.describe(kind)}: ${why === "forbidden" ? "cannot watch (forbidden)" : why === "not served" ? "not served by this cluster" : "not listed"}`,
      error: false,
    }));
    const report = assembleAuditReport({ snapshot, problems, judged: this.judgedKinds, policy, now }, judged);
    this.publish(report, policy, namespaces);
    if (this.options.isLeader() && !(await this.options.sink.write(this.lastContents))) this.retryWrite();
  }

  /** Another pass in a while: nothing may have changed by then, and the reports must still be written. */
  private retryWrite(): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.stopped) void this.recompute();
    }, this.options.writeRetryMs ?? WRITE_RETRY_MS);
    timer.unref();
    this.timers.add(timer);
  }

  /** `velero.io/v1 Schedule`, `argoproj.io Rollout` (a pod template's version is discovery's). */
  private describe(kind: WatchKey): string {
    if (!isTemplateKey(kind)) return `${apiVersionOf(KINDS[kind])} ${kind}`;
    const info = this.templates.get(kind);
    return info ? `${info.group} ${info.kind}` : kind;
  }

  /** Every cached object, with its apiVersion and kind, once per pass: the snapshot and the index read it. */
  private cached(): Map<WatchKey, KubeObject[]> {
    const cached = new Map<WatchKey, KubeObject[]>();
    for (const [kind, informer] of this.informers) {
      cached.set(
        kind,
        informer.list().map((object) => withType(kind, object)),
      );
    }
    return cached;
  }

  /** Every cached object by key, of the kinds audit judges. */
  private index(
    cached: ReadonlyMap<WatchKey, KubeObject[]>,
  ): Map<string, { kind: WatchKey; object: KubeObject }> {
    const index = new Map<string, { kind: WatchKey; object: KubeObject }>();
    for (const [kind, objects] of cached) {
      if (!this.judgedKinds.has(kind)) continue;
      for (const object of objects) index.set(keyOf(kind, object), { kind, object });
    }
    return index;
  }

  /** The checklist's input: the cached objects of every kind that could be watched. */
  private snapshot(cached: ReadonlyMap<WatchKey, KubeObject[]>): ClusterSnapshot {
    const unavailable: ClusterSnapshot["unavailable"] = {};
    for (const [kind, why] of this.unavailable) if (!isTemplateKey(kind)) unavailable[kind] = why;
    const templates = new Map<TemplateKey, KubeObject[]>();
    const snapshot: ClusterSnapshot = { objects: {}, unavailable, templates };
    for (const [kind, objects] of cached) {
      if (this.unavailable.has(kind)) continue;
      if (isTemplateKey(kind)) templates.set(kind, objects);
      else snapshot.objects[kind] = objects;
    }
    return snapshot;
  }

  /** The report's contents, the gauges and the preview index, from one assembled report. */
  private publish(report: Report, policy: Policy, namespaces: ReadonlyMap<string, KubeObject>): void {
    const { config, registry } = policy;
    const excluded = new Set(config.excludedNamespaces);
    const isAdmissionRule = (id: string) => registry.has(id);
    const descriptors = new Map<string, RuleDescriptor>();
    for (const rule of registry.values()) descriptors.set(rule.id, describeRule(rule));
    for (const check of ALL_CHECKS) descriptors.set(check.id, { ...check });
    const kept = { ...report, objects: report.objects.filter((o) => !excluded.has(o.namespace)) };
    this.lastContents = policyReports(kept, {
      maxResults: this.options.settings().maxResults,
      descriptors,
      namespaces: [...namespaces.keys()].filter((name) => !excluded.has(name)),
      isAdmissionRule,
    }).filter((content) => content.namespace === undefined || !excluded.has(content.namespace));

    const denied = new Map<string, ReportObject[]>();
    const { metrics } = this.options;
    metrics.findings.reset();
    metrics.exemptions.reset();
    metrics.exemptionExpiry.reset();
    metrics.enforceReady.reset();
    const counts = new Map<string, number>();
    const exempt = new Map<string, { count: number; endsAt: number }>();
    for (const object of kept.objects) {
      if (object.skipped !== undefined) continue;
      const namespace = object.kind === "Namespace" ? object.name : object.namespace;
      for (const finding of object.findings) {
        const label = `${namespace}\u0000${finding.rule}\u0000${finding.severity}`;
        counts.set(label, (counts.get(label) ?? 0) + 1);
      }
      if (deniedInEnforce(object, isAdmissionRule)) {
        const list = denied.get(object.namespace) ?? [];
        list.push(object);
        denied.set(object.namespace, list);
      }
      for (const finding of object.exempted ?? []) {
        const label = `${namespace}\u0000${finding.rule}`;
        const endsAt = Date.parse(`${finding.exemption?.until ?? ""}T00:00:00Z`) / 1000 + 86_400;
        const entry = exempt.get(label) ?? { count: 0, endsAt };
        entry.count++;
        if (Number.isFinite(endsAt)) entry.endsAt = Math.min(entry.endsAt, endsAt);
        exempt.set(label, entry);
      }
    }
    for (const [label, count] of counts) {
      const [namespace, rule, severity] = label.split("\u0000") as [string, string, string];
      metrics.findings.set({ namespace, rule, severity }, count);
    }
    for (const [label, { count, endsAt }] of exempt) {
      const [namespace, rule] = label.split("\u0000") as [string, string];
      metrics.exemptions.set({ namespace, rule }, count);
      if (Number.isFinite(endsAt)) metrics.exemptionExpiry.set({ namespace, rule }, endsAt);
    }
    for (const content of this.lastContents) {
      if (content.namespace !== undefined) {
        metrics.enforceReady.set({ namespace: content.namespace }, content.enforceReady ? 1 : 0);
      }
    }
    metrics.objects.set(this.judged.size);
    metrics.lastScan.set(Date.now() / 1000);
    this.denied = denied;
  }
}

/**
 * List items come without apiVersion and kind; the rules need both. A pod template's informer
 * gives them (its version is the one discovery found).
 */
function withType(kind: WatchKey, object: KubernetesObject): KubeObject {
  if (isTemplateKey(kind)) return object as KubeObject;
  if (object.kind === kind && object.apiVersion !== undefined) return object as KubeObject;
  return { ...(object as Record<string, unknown>), apiVersion: apiVersionOf(KINDS[kind]), kind };
}
