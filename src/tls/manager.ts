import { X509Certificate } from "node:crypto";
import type { Metrics } from "../metrics.js";

/** Whether the server should get traffic, and why not. */
export interface Readiness {
  ready: boolean;
  reason?: string;
}
import type { KeyPair } from "./certs.js";
import {
  type CertState,
  chainsToBundle,
  expiryOf,
  planRotation,
  publishedBundle,
  type RotationPolicy,
  type RotationStep,
  rotate,
  secretDataFromState,
  stateFromSecretData,
} from "./rotation.js";
import { logError as errorText } from "../log.js";

/** `/readyz` fails when the serving certificate expires sooner than this. */
export const READY_MARGIN_MS = 7 * 24 * 60 * 60 * 1000;

export interface StoredSecret {
  /** Decoded `data`. */
  data: Record<string, string>;
  resourceVersion: string;
}

/** Where replicas share their certificates (a Secret in a cluster). */
export interface SecretStore {
  /** undefined when the Secret does not exist. */
  read(): Promise<StoredSecret | undefined>;
  /** `exists` when another replica created it first. */
  create(data: Record<string, string>): Promise<StoredSecret | "exists">;
  /** `conflict` when another replica wrote since `resourceVersion`. */
  update(data: Record<string, string>, resourceVersion: string): Promise<StoredSecret | "conflict">;
}

/** What a publish did: `absent` when there is no configuration and it was not to be created. */
export type PublishResult = "created" | "patched" | "unchanged" | "absent";

/**
 * Where the apiserver reads the CAs it trusts for tollgate (the webhook configuration's `caBundle`),
 * and whatever else registers tollgate there (its `failurePolicy`).
 */
export interface BundlePublisher {
  /** The PEM bundle in force; undefined when there is none (or no configuration). */
  read(): Promise<string | undefined>;
  /** Write `bundle` where it differs; create the configuration when absent unless `create` is false. */
  publish(bundle: string, options?: { create?: boolean }): Promise<PublishResult>;
}

export interface CertLogger {
  info(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface ManagerOptions {
  store: SecretStore;
  publisher: BundlePublisher;
  policy: RotationPolicy;
  clock?: () => Date;
  metrics?: Metrics;
  logger?: CertLogger;
}

export interface ReconcileResult {
  steps: RotationStep[];
  waiting: string;
  bundle: string;
  /** Whether this call wrote the caBundle. */
  published: boolean;
}

export interface ReconcileOptions {
  /**
   * Publish the bundle when it differs (default true). `serve` reconciles without publishing at
   * start-up and registers once it serves the certificate (`register()`).
   */
  publish?: boolean;
  /** Create the configuration when it does not exist (default true). */
  create?: boolean;
}

export interface StartOptions {
  /** The certificate check: Secret, rotation, caBundle. */
  checkIntervalMs: number;
  /** The registration check (`register()`), cheap when nothing changed; none when absent. */
  registerIntervalMs?: number;
}

/**
 * Readiness of a serving certificate: not ready when it expires within 7 days, or when it does
 * not chain to the CA bundle the apiserver trusts (when that bundle is known).
 */
export function servingReadiness(leaf: string | undefined, bundle: string | undefined, now: Date): Readiness {
  if (!leaf) return { ready: false, reason: "no serving certificate loaded yet" };
  const expiry = expiryOf(leaf);
  if (expiry.getTime() - now.getTime() < READY_MARGIN_MS) {
    return {
      ready: false,
      reason: `the serving certificate expires at ${expiry.toISOString()}, within 7 days`,
    };
  }
  if (bundle !== undefined && !chainsToBundle(leaf, bundle, now)) {
    return { ready: false, reason: "the serving certificate does not chain to the published caBundle" };
  }
  return { ready: true };
}

const ATTEMPTS = 5;

/**
 * Holds the serving certificate of this replica and keeps it, the shared Secret and the
 * published `caBundle` in step. I/O goes through the store and the publisher; time through the clock.
 */
export class CertificateManager {
  private readonly clock: () => Date;
  private serving: KeyPair | undefined;
  private state: CertState | undefined;
  private bundle: string | undefined;
  private readonly listeners: ((pair: KeyPair) => void)[] = [];
  private timers: NodeJS.Timeout[] = [];
  private lastRegistration: PublishResult | undefined;

  constructor(private readonly options: ManagerOptions) {
    this.clock = options.clock ?? (() => new Date());
  }

  /** The key pair to serve with; throws before the first reconcile. */
  get current(): KeyPair {
    if (!this.serving) throw new Error("no serving certificate: reconcile() has not succeeded yet");
    return this.serving;
  }

  /** The stored state as last read or written. */
  get stored(): CertState | undefined {
    return this.state;
  }

  /** The caBundle as last read or published. */
  get publishedBundle(): string | undefined {
    return this.bundle;
  }

  /** Called with the new key pair each time the serving certificate changes. */
  onChange(listener: (pair: KeyPair) => void): void {
    this.listeners.push(listener);
  }

  readiness(): Readiness {
    return servingReadiness(this.serving?.cert, this.bundle, this.clock());
  }

  /**
   * Read the Secret, rotate what is due, write it back (create-if-absent; a conflict means another
   * replica wrote first: read again and use its state), publish the bundle, load the leaf.
   */
  async reconcile(force?: "leaf" | "ca", options: ReconcileOptions = {}): Promise<ReconcileResult> {
    const { store, publisher, policy } = this.options;
    const { publish = true, create = true } = options;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const now = this.clock();
      const stored = await store.read();
      const before = stored ? stateFromSecretData(stored.data) : undefined;
      let live = await publisher.read();
      // Readiness follows what the apiserver trusts now, even if publishing below fails.
      this.bundle = live;
      const result = await rotate(before, { now, published: live, policy, force });
      if (result.steps.length > 0) {
        const data = secretDataFromState(result.state);
        const written = stored ? await store.update(data, stored.resourceVersion) : await store.create(data);
        if (written === "conflict" || written === "exists") {
          this.options.logger?.info({ attempt }, "another replica wrote the certificate Secret; reading it");
          continue;
        }
      }
      // The Secret is written before the bundle: a CA enters the bundle before any leaf uses it,
      // and leaves the bundle only after the stored leaf stopped using it.
      const bundle = publishedBundle(result.state);
      let publishing = publish && live !== bundle;
      if (publishing) {
        const written = await publisher.publish(bundle, { create });
        if (written === "absent") publishing = false;
        else live = bundle;
      }
      this.load(result.state, live);
      // What waits now depends on the bundle just published (the next CA's phase has begun).
      const waiting = publishing
        ? planRotation(result.state, { now, published: live, policy }).reason
        : result.waiting;
      for (const step of result.steps) {
        this.options.logger?.info({ action: step.action, reason: step.reason }, "certificate rotation step");
      }
      return { steps: result.steps, waiting, bundle, published: publishing };
    }
    throw new Error(
      `the certificate Secret changed under every one of ${ATTEMPTS} attempts; another writer keeps replacing it`,
    );
  }

  private load(state: CertState, bundle: string | undefined): void {
    this.state = state;
    this.bundle = bundle;
    const changed = this.serving?.cert !== state.leaf.cert;
    this.serving = state.leaf;
    const gauge = this.options.metrics?.certificateExpiry;
    gauge?.set({ certificate: "serving" }, expiryOf(state.leaf.cert).getTime() / 1000);
    gauge?.set({ certificate: "ca" }, expiryOf(state.ca.cert).getTime() / 1000);
    if (changed) {
      const serial = new X509Certificate(state.leaf.cert).serialNumber;
      this.options.logger?.info(
        { serial, expires: expiryOf(state.leaf.cert).toISOString() },
        "serving certificate loaded",
      );
      for (const listener of this.listeners) listener(state.leaf);
    }
  }

  /**
   * Whether the bundle of the stored state would make this replica ready: its serving certificate
   * chains to it and is not near expiry. Registering before that would point the apiserver at a
   * server it cannot trust.
   */
  registrationReadiness(): Readiness {
    if (!this.state) return { ready: false, reason: "no serving certificate loaded yet" };
    return servingReadiness(this.state.leaf.cert, publishedBundle(this.state), this.clock());
  }

  /**
   * Register this replica: publish the stored state's bundle (and the publisher's failurePolicy)
   * wherever the live configuration differs; one GET when nothing changed. Refuses while
   * `registrationReadiness()` is not ready. `create: false` (the periodic check) does not re-create
   * a configuration someone deleted: deleting it is the way to switch tollgate off in an emergency.
   */
  async register(options: { create?: boolean } = {}): Promise<PublishResult> {
    const readiness = this.registrationReadiness();
    if (!readiness.ready || !this.state) {
      throw new Error(`not registering in the webhook configuration: ${readiness.reason ?? "no state"}`);
    }
    const bundle = publishedBundle(this.state);
    const result = await this.options.publisher.publish(bundle, options);
    if (result !== "absent") this.bundle = bundle;
    this.lastRegistration = result;
    return result;
  }

  /** The outcome of the last `register()`; undefined before the first one succeeded. */
  get registration(): PublishResult | undefined {
    return this.lastRegistration;
  }

  /**
   * Run the certificate check and the registration check on their intervals until stop(); failures
   * are logged and retried next time. Neither re-creates a deleted configuration.
   */
  start(options: StartOptions): void {
    this.stop();
    const logError = (message: string) => (error: unknown) => {
      this.options.logger?.error({ err: errorText(error instanceof Error ? error.message : error) }, message);
    };
    this.every(options.checkIntervalMs, () =>
      this.reconcile(undefined, { create: false }).catch(
        logError("certificate check failed; the current certificate stays in use"),
      ),
    );
    const { registerIntervalMs } = options;
    if (registerIntervalMs === undefined) return;
    this.every(registerIntervalMs, async () => {
      const before = this.lastRegistration;
      const result = await this.register({ create: false }).catch(
        logError("webhook registration check failed; retrying at the next check"),
      );
      if (result === "patched") {
        this.options.logger?.info(
          { result },
          "webhook registration restored: the configuration differed (manifests applied again?)",
        );
      } else if (result === "absent" && before !== "absent") {
        this.options.logger?.error(
          {},
          "the webhook configuration is gone: tollgate does not re-create it while running (apply the manifests or restart tollgate to register again)",
        );
      }
    });
  }

  private every(intervalMs: number, run: () => Promise<unknown>): void {
    const timer = setInterval(() => void run(), intervalMs);
    timer.unref();
    this.timers.push(timer);
  }

  stop(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
  }
}
