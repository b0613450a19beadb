import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import {
  ApiException,
  ApisApi,
  CoordinationV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  KubernetesObjectApi,
  ListWatch,
  PatchStrategy,
  Watch,
} from "@kubernetes/client-node";
import type { ReportContent } from "../audit/policyReport.js";
import {
  CLUSTER_REPORT_NAME,
  policyReportObject,
  REPORT_GROUP,
  REPORT_LABELS,
  REPORT_NAME,
  REPORT_VERSION,
} from "../audit/policyReport.js";
import {
  type ReportSink,
  Scanner,
  type ScannerLog,
  type StandingPicture,
  type TemplateWatchFactory,
  type WatchedKind,
  type WatchFactory,
} from "../audit/scanner.js";
import type { Policy } from "../engine/policy.js";
import { AUDIT_LEASE_NAME } from "../audit/lease.js";
import { type LeaderElection, startLeaderElection } from "./leader.js";
import type { AuditMetrics } from "../metrics.js";
import { apiVersionOf, type KindName, KINDS, type TemplateKindInfo } from "../objects/kinds.js";
import { statusOf } from "./client.js";
import { logError } from "../log.js";

const PAGE_SIZE = 500;
/** The field manager of tollgate's server-side applies. */
export const FIELD_MANAGER = "tollgate";

/** The URL path of a kind's collection across all namespaces. */
export function collectionPath(kind: KindName): string {
  const info = KINDS[kind];
  const base = info.group === "" ? `/api/${info.version}` : `/apis/${info.group}/${info.version}`;
  return `${base}/${info.resource}`;
}

/**
 * Informers over the apiserver: client-node's ListWatch on each kind's collection, listed page by
 * page (`limit`/`continue`, one consistent resourceVersion) so that a 5,000-Pod cluster is never
 * one response in memory twice.
 */
export function apiWatchFactory(kubeConfig: KubeConfig): WatchFactory {
  const objects = KubernetesObjectApi.makeApiClient(kubeConfig);
  const watch = new Watch(kubeConfig);
  return (kind: KindName): WatchedKind =>
    new ListWatch(collectionPath(kind), watch, pagedList(objects, apiVersionOf(KINDS[kind]), kind), false);
}

/** Lists a collection page by page (`limit`/`continue`, one resourceVersion), each item with its apiVersion and kind. */
function pagedList(
  objects: KubernetesObjectApi,
  apiVersion: string,
  kind: string,
): () => Promise<KubernetesListObject<KubernetesObject>> {
  return async () => {
    const items: KubernetesObject[] = [];
    let token: string | undefined;
    let resourceVersion: string | undefined;
    do {
      const page = await objects.list(
        apiVersion,
        kind,
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
        PAGE_SIZE,
        token,
      );
      resourceVersion ??= page.metadata?.resourceVersion;
      for (const item of page.items) items.push({ ...item, apiVersion, kind });
      token = page.metadata?._continue || undefined;
    } while (token !== undefined);
    return { apiVersion, kind: `${kind}List`, metadata: { resourceVersion }, items };
  };
}

type ObjectEvent = "add" | "update" | "delete";

/**
 * The informer of a configured pod template's kind: each start asks discovery (GET /apis) for the
 * version its group prefers, then lists and watches `/apis/<group>/<version>/<resource>`. A group
 * the cluster does not serve fails the start as a 404 (the scanner says "not served" and tries again
 * at resync); a version that changed (a CRD upgraded) is watched anew, the old objects deleted.
 */
class DiscoveredListWatch implements WatchedKind {
  private inner: ListWatch<KubernetesObject> | undefined;
  private version: string | undefined;
  private readonly handlers: { event: ObjectEvent; handler: (object: KubernetesObject) => void }[] = [];
  private readonly errorHandlers: ((error: unknown) => void)[] = [];

  constructor(
    private readonly info: TemplateKindInfo,
    private readonly apis: ApisApi,
    private readonly objects: KubernetesObjectApi,
    private readonly watch: Watch,
  ) {}

  list(): readonly KubernetesObject[] {
    return this.inner?.list() ?? [];
  }

  on(event: ObjectEvent, handler: (object: KubernetesObject) => void): void;
  on(event: "error", handler: (error: unknown) => void): void;
  on(event: ObjectEvent | "error", handler: (value: never) => void): void {
    if (event === "error") {
      const onError = handler as (error: unknown) => void;
      this.errorHandlers.push(onError);
      this.inner?.on("error", onError);
    } else {
      const onObject = handler as (object: KubernetesObject) => void;
      this.handlers.push({ event, handler: onObject });
      this.inner?.on(event, onObject);
    }
  }

  async start(): Promise<void> {
    const { group, kind, resource } = this.info;
    const groups = await this.apis.getAPIVersions();
    const served = (groups.groups ?? []).find((candidate) => candidate.name === group);
    const version = served?.preferredVersion?.version ?? served?.versions?.[0]?.version;
    if (version === undefined) {
      throw new ApiException(
        404,
        `${group} is not served`,
        { message: `the API group ${group} is not served` },
        {},
      );
    }
    if (this.inner === undefined || version !== this.version) {
      const old = this.inner;
      if (old !== undefined) {
        await old.stop();
        for (const object of old.list())
          for (const h of this.handlers) if (h.event === "delete") h.handler(object);
      }
      const apiVersion = `${group}/${version}`;
      const inner = new ListWatch<KubernetesObject>(
        `/apis/${apiVersion}/${resource}`,
        this.watch,
        pagedList(this.objects, apiVersion, kind),
        false,
      );
      for (const { event, handler } of this.handlers) inner.on(event, handler);
      for (const handler of this.errorHandlers) inner.on("error", handler);
      this.inner = inner;
      this.version = version;
    }
    await this.inner.start();
  }

  async stop(): Promise<void> {
    await this.inner?.stop();
  }
}

/** Informers of the config's pod-template kinds over the apiserver, at the version discovery prefers. */
export function apiTemplateWatchFactory(kubeConfig: KubeConfig): TemplateWatchFactory {
  const apis = kubeConfig.makeApiClient(ApisApi);
  const objects = KubernetesObjectApi.makeApiClient(kubeConfig);
  const watch = new Watch(kubeConfig);
  return (info) => new DiscoveredListWatch(info, apis, objects, watch);
}

/**
 * Writes policy reports by server-side apply, only those whose content digest differs from what
 * was last written (or, for a new leader, from the digest annotation of the report in the cluster).
 * Without the CRDs it says so once, counts `unserved`, and tries again after `retryMs`.
 */
export class ReportWriter implements ReportSink {
  private readonly objects: KubernetesObjectApi;
  private readonly custom: CustomObjectsApi;
  private written = new Map<string, string>();
  private primed = false;
  private unservedUntil = 0;
  private toldUnserved = false;

  constructor(
    kubeConfig: KubeConfig,
    private readonly metrics: AuditMetrics,
    private readonly log: ScannerLog,
    private readonly retryMs = 60_000,
  ) {
    this.objects = KubernetesObjectApi.makeApiClient(kubeConfig);
    this.custom = kubeConfig.makeApiClient(CustomObjectsApi);
  }

  /** A new leader: forget what this replica wrote and read what the cluster holds before writing. */
  reset(): void {
    this.written = new Map();
    this.primed = false;
  }

  async write(contents: readonly ReportContent[]): Promise<boolean> {
    if (Date.now() < this.unservedUntil) return false;
    if (!this.primed && !(await this.prime())) return false;
    let all = true;
    const now = new Date();
    for (const content of contents) {
      const where = content.namespace ?? "";
      if (this.written.get(where) === content.digest) continue;
      try {
        await this.objects.patch(
          policyReportObject(content, now) as unknown as KubernetesObject,
          undefined,
          undefined,
          FIELD_MANAGER,
          true,
          PatchStrategy.ServerSideApply,
        );
        this.written.set(where, content.digest);
        this.metrics.reportWrites.inc({ result: "written" });
      } catch (error) {
        if (statusOf(error) === 404 && content.namespace === undefined) {
          this.unserved();
          return false;
        }
        // A namespace being deleted refuses new objects, a busy apiserver answers 429: counted,
        // and tried again by the scanner.
        all = false;
        this.metrics.reportWrites.inc({ result: "failed" });
        this.log.warn({ namespace: where, err: logError(error) }, "policy report write failed");
      }
    }
    return all;
  }

  /** Reads the digests of the reports tollgate wrote before (another leader, an earlier run). */
  private async prime(): Promise<boolean> {
    const labelSelector = Object.entries(REPORT_LABELS)
      .map(([key, value]) => `${key}=${value}`)
      .join(",");
    try {
      const [namespaced, cluster] = await Promise.all(
        ["policyreports", "clusterpolicyreports"].map((plural) =>
          this.custom.listClusterCustomObject({
            group: REPORT_GROUP,
            version: REPORT_VERSION,
            plural,
            labelSelector,
          }),
        ),
      );
      for (const [list, name] of [
        [namespaced, REPORT_NAME],
        [cluster, CLUSTER_REPORT_NAME],
      ] as const) {
        const items = (list as { items?: KubernetesObject[] }).items ?? [];
        for (const item of items) {
          const digest = item.metadata?.annotations?.["tollgate.dev/digest"];
          if (item.metadata?.name === name && digest !== undefined) {
            this.written.set(item.metadata.namespace ?? "", digest);
          }
        }
      }
      this.primed = true;
      return true;
    } catch (error) {
      if (statusOf(error) === 404) this.unserved();
      else this.log.warn({ err: logError(error) }, "cannot read the existing policy reports; trying again");
      return false;
    }
  }

  private unserved(): void {
    this.metrics.reportWrites.inc({ result: "unserved" });
    this.unservedUntil = Date.now() + this.retryMs;
    if (this.toldUnserved) return;
    this.toldUnserved = true;
    this.log.warn(
      { crd: `policyreports.${REPORT_GROUP}, clusterpolicyreports.${REPORT_GROUP}` },
      "the policy report CRDs are not installed: reports are not written (the audit metrics are kept); install them from the manifests",
    );
  }
}

export interface StandingAudit {
  picture: StandingPicture;
  /** Resolves once the first picture is complete (or the scanner gave up starting). */
  started: Promise<void>;
  stop(): Promise<void>;
}

export interface StandingAuditOptions {
  kubeConfig: KubeConfig;
  policy: () => Policy;
  metrics: AuditMetrics;
  log: ScannerLog;
  /** Where the Lease lives: tollgate's namespace. */
  namespace: string;
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

/**
 * The continuous audit of `serve`: the scanner on every replica (the admission path reads its
 * picture for the promotion preview), the reports written by whichever replica holds the Lease.
 */
export function startStandingAudit(options: StandingAuditOptions): StandingAudit {
  const { kubeConfig, metrics, log } = options;
  const writer = new ReportWriter(kubeConfig, metrics, log);
  const identity = options.identity ?? `${process.env.POD_NAME ?? hostname()}_${randomUUID().slice(0, 8)}`;
  const holder: { election?: LeaderElection } = {};
  const scanner = new Scanner({
    watch: apiWatchFactory(kubeConfig),
    watchTemplate: apiTemplateWatchFactory(kubeConfig),
    policy: options.policy,
    settings: () => options.policy().config.audit,
    metrics,
    log,
    isLeader: () => holder.election?.isLeader() === true,
    sink: writer,
  });
  const election = startLeaderElection({
    api: kubeConfig.makeApiClient(CoordinationV1Api),
    namespace: options.namespace,
    name: AUDIT_LEASE_NAME,
    identity,
    ...(options.leaseDurationMs === undefined ? {} : { leaseDurationMs: options.leaseDurationMs }),
    ...(options.renewDeadlineMs === undefined ? {} : { renewDeadlineMs: options.renewDeadlineMs }),
    ...(options.retryPeriodMs === undefined ? {} : { retryPeriodMs: options.retryPeriodMs }),
    onStartedLeading: () => {
      metrics.leader.set(1);
      writer.reset();
      scanner.leadershipChanged();
    },
    onStoppedLeading: () => metrics.leader.set(0),
    log,
  });
  holder.election = election;
  const started = scanner.start().catch((error: unknown) => {
    log.warn({ err: logError(error) }, "the audit scanner did not start");
  });
  return {
    picture: scanner,
    started,
    async stop() {
      await election.stop();
      await scanner.stop();
    },
  };
}
