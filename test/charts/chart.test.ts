/**
 * The Helm chart (charts/tollgate/) against the builder behind `tollgate manifests`
 * (installManifests() in src/k8s/manifests.ts): rendered with `helm template` through the real helm
 * (built by scripts/helm.sh on first use), every object must equal the builder's, apart from the
 * differences listed in CHART_DIFFERENCES. So the chart and the builder cannot drift apart.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { KubernetesObject, V1ValidatingWebhookConfiguration } from "@kubernetes/client-node";
import { load, loadAll } from "js-yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { configSchema } from "../../src/config/schema.js";
import { buildWebhookConfiguration } from "../../src/k8s/webhookConfig.js";
import { installManifests, podTemplateReadRules } from "../../src/k8s/manifests.js";
import { createMetrics } from "../../src/metrics.js";
import { RULES } from "../../src/rules/index.js";
import { CHART_DIR, type Helm, HELM_BUILD_TIMEOUT_MS, helmRunner, REPO_ROOT } from "./helm.js";

type Json = Record<string, unknown>;

const RELEASE = "tollgate";
const NAMESPACE = "tollgate";
/** Labels and annotations helm charts add by convention, which the builder has no use for. */
const HELM_LABELS = [
  "app.kubernetes.io/instance",
  "app.kubernetes.io/version",
  "app.kubernetes.io/managed-by",
  "helm.sh/chart",
];
const CHECKSUM_ANNOTATION = "checksum/config";

let helm: Helm;

beforeAll(async () => {
  helm = await helmRunner();
  return () => helm.cleanup();
}, HELM_BUILD_TIMEOUT_MS);

/** `helm template` of the chart with `args`, as plain objects (null documents dropped). */
async function render(
  args: readonly string[] = [],
  release = RELEASE,
  namespace = NAMESPACE,
): Promise<Json[]> {
  const result = await helm(["template", release, CHART_DIR, "--namespace", namespace, ...args]);
  if (result.code !== 0) throw new Error(`helm template failed (${result.code}):\n${result.stderr}`);
  return (loadAll(result.stdout) as unknown[]).filter((o): o is Json => o !== null && typeof o === "object");
}

const keyOf = (o: Json): string => {
  const metadata = o.metadata as Json;
  return `${String(o.kind)} ${String(metadata.namespace ?? "")}/${String(metadata.name)}`;
};

function byKey(objects: readonly Json[]): Map<string, Json> {
  return new Map(objects.map((o) => [keyOf(o), o]));
}

/** A deep copy through JSON, which also drops the builder's undefined fields. */
function plain<T>(value: T): Json {
  return JSON.parse(JSON.stringify(value)) as Json;
}

function dropKeys(map: unknown, keys: readonly string[]): void {
  if (map === null || typeof map !== "object") return;
  for (const key of keys) delete (map as Json)[key];
}

/** The chart's object without what helm conventions add; config files parsed, so layout does not count. */
function normaliseChart(object: Json): Json {
  const o = plain(object);
  const metadata = o.metadata as Json;
  dropKeys(metadata.labels, HELM_LABELS);
  const template = (o.spec as Json | undefined)?.template as Json | undefined;
  if (template) {
    const templateMeta = template.metadata as Json;
    dropKeys(templateMeta.labels, HELM_LABELS);
    dropKeys(templateMeta.annotations, [CHECKSUM_ANNOTATION]);
    if (Object.keys((templateMeta.annotations as Json | undefined) ?? {}).length === 0) {
      delete templateMeta.annotations;
    }
  }
  parseConfigData(o);
  return o;
}

function parseConfigData(o: Json): void {
  if (o.kind !== "ConfigMap" || o.data === undefined) return;
  const data = o.data as Record<string, string>;
  for (const key of ["tollgate.yaml", "config.yaml"]) {
    if (typeof data[key] === "string") (data as Record<string, unknown>)[key] = load(data[key]);
  }
}

/**
 * What the chart renders on purpose unlike the builder, applied to the builder's objects.
 *
 * For good:
 * - no Namespace: helm keeps its release record in the release namespace, so that namespace exists
 *   before the chart's objects (`--create-namespace`); a chart that also renders it cannot install.
 *
 * While issue 15 lands in the builder too (branch `install`); each is a no-op once the builder does
 * the same, and then goes:
 * - the config in ConfigMap key tollgate.yaml (was config.yaml), with defaultMode warn;
 * - every webhook entry ships with failurePolicy Ignore and no caBundle (tollgate sets both once ready);
 * - the Deployment has priorityClassName system-cluster-critical.
 */
function chartTarget(builder: readonly KubernetesObject[]): Json[] {
  return builder
    .filter((o) => o.kind !== "Namespace")
    .map((object) => {
      const o = plain(object);
      if (o.kind === "ConfigMap" && (o.metadata as Json).name === "tollgate-config") {
        const data = o.data as Record<string, string>;
        if (data["config.yaml"] !== undefined) {
          data["tollgate.yaml"] = data["config.yaml"];
          delete data["config.yaml"];
        }
        parseConfigData(o);
        (data as Record<string, unknown>)["tollgate.yaml"] = {
          ...((data as Record<string, unknown>)["tollgate.yaml"] as Json),
          defaultMode: "warn",
        };
      }
      if (o.kind === "Deployment") {
        const podSpec = ((o.spec as Json).template as Json).spec as Json;
        podSpec.priorityClassName = "system-cluster-critical";
        for (const container of podSpec.containers as Json[]) {
          container.args = (container.args as string[]).map((arg) =>
            arg === "/etc/tollgate/config.yaml" ? "/etc/tollgate/tollgate.yaml" : arg,
          );
        }
      }
      if (o.kind === "ValidatingWebhookConfiguration") shipUnregistered(o);
      return o;
    });
}

/** A webhook configuration as shipped before tollgate runs: Ignore everywhere, no caBundle. */
function shipUnregistered(o: Json): Json {
  for (const entry of (o.webhooks as Json[] | undefined) ?? []) {
    entry.failurePolicy = "Ignore";
    delete (entry.clientConfig as Json).caBundle;
  }
  return o;
}

function only(objects: readonly Json[], kind: string): Json {
  const found = objects.filter((o) => o.kind === kind);
  expect(found.map(keyOf)).toHaveLength(1);
  return found[0] as Json;
}

function podSpecOf(objects: readonly Json[]): Json {
  return ((only(objects, "Deployment").spec as Json).template as Json).spec as Json;
}

function configOf(objects: readonly Json[]): string {
  // The config's ConfigMap, not the policies' (`<fullname>-policies`).
  const configMaps = objects.filter(
    (o) => o.kind === "ConfigMap" && String((o.metadata as Json).name).endsWith("-config"),
  );
  const data = only(configMaps, "ConfigMap").data as Record<string, string>;
  return data["tollgate.yaml"] ?? "";
}

describe("charts/tollgate with default values", () => {
  it("renders every object installManifests() builds, equal field for field (differences: chartTarget)", async () => {
    // The policy-report CRDs sit in crds/, which helm installs first and renders on request only.
    const chart = byKey((await render(["--include-crds"])).map(normaliseChart));
    const expected = byKey(chartTarget(installManifests({ namespace: NAMESPACE })));
    expect([...chart.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [key, object] of expected) {
      expect({ key, object: chart.get(key) }).toEqual({ key, object });
    }
  });

  it("carries the config's checksum on the pod template, so a config change rolls the Pods", async () => {
    const objects = await render();
    const annotations = (((only(objects, "Deployment").spec as Json).template as Json).metadata as Json)
      .annotations as Record<string, string>;
    expect(annotations[CHECKSUM_ANNOTATION]).toMatch(/^[0-9a-f]{64}$/);
    const changed = await render(["--set", "config.defaultMode=enforce"]);
    const changedAnnotations = (
      ((only(changed, "Deployment").spec as Json).template as Json).metadata as Json
    ).annotations as Record<string, string>;
    expect(changedAnnotations[CHECKSUM_ANNOTATION]).toMatch(/^[0-9a-f]{64}$/);
    expect(changedAnnotations[CHECKSUM_ANNOTATION]).not.toBe(annotations[CHECKSUM_ANNOTATION]);
  });

  it("has the version of package.json as chart version and appVersion, and the image tag follows it", async () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string };
    const chart = load(readFileSync(join(CHART_DIR, "Chart.yaml"), "utf8")) as Json;
    expect({ version: chart.version, appVersion: chart.appVersion }).toEqual({
      version: pkg.version,
      appVersion: pkg.version,
    });
    const [container] = podSpecOf(await render()).containers as Json[];
    expect(container?.image).toBe(`ghcr.io/tollgate-dev/tollgate:${pkg.version}`);
  });
});

describe("charts/tollgate with values set", () => {
  it("builds the webhook configuration that tollgate would build from the config it renders", async () => {
    const objects = await render(
      [
        "--set-json",
        'config.excludedNamespaces=["legacy","batch-jobs"]',
        "--set-json",
        `config.workloadControllers=["system:serviceaccount:ci:it's-me","system:kube-controller-manager"]`,
        "--set-json",
        'config.podTemplates=[{"group":"argoproj.io","kind":"Rollout","path":"spec.template"},' +
          '{"group":"apps.kruise.io","kind":"CloneSet","path":"spec.template"},' +
          '{"group":"apps.kruise.io","kind":"Policy","path":"spec.template"},' +
          '{"group":"apps.kruise.io","kind":"Address","path":"spec.template"},' +
          '{"group":"example.com","kind":"Endpoints","path":"spec.template"},' +
          '{"group":"serving.knative.dev","kind":"Service","path":"spec.template","resource":"ksvc"}]',
        "--set",
        "webhook.timeoutSeconds=7",
        "--set",
        "webhook.failurePolicy=Ignore",
        "--set",
        "webhook.port=8444",
      ],
      "platform",
      "policy",
    );
    // tollgate's own loader must accept the file, and the webhook entries follow from it.
    const config = parseConfig(configOf(objects), "tollgate.yaml", new Set(RULES.keys()));
    expect(config.excludedNamespaces).toEqual([
      "kube-system",
      "kube-node-lease",
      "kube-public",
      "legacy",
      "batch-jobs",
      "policy",
    ]);
    expect(config.webhook).toEqual({
      name: "platform-tollgate",
      namespace: "policy",
      service: "platform-tollgate",
      port: 8444,
      failurePolicy: "Ignore",
      timeoutSeconds: 7,
    });
    const service = only(objects, "Service");
    expect((service.metadata as Json).name).toBe("platform-tollgate");
    expect(((service.spec as Json).ports as Json[])[0]).toEqual({
      name: "https",
      port: 8444,
      targetPort: "https",
      protocol: "TCP",
    });
    // The chart guesses each kind's plural as tollgate does (policies, addresses, endpoints).
    expect(config.podTemplates.map((t) => t.resource)).toEqual([
      "rollouts",
      "clonesets",
      "policies",
      "addresses",
      "endpoints",
      "ksvc",
    ]);
    const built = shipUnregistered(plain(buildWebhookConfiguration(config)));
    expect(normaliseChart(only(objects, "ValidatingWebhookConfiguration"))).toEqual({
      ...built,
      metadata: { ...(built.metadata as Json), name: "platform-tollgate" },
    });
    // The ClusterRole lists and watches them, for `tollgate audit` and the scanner: the builder's
    // rules with one per API group before the policy reports'.
    const rules = only(objects, "ClusterRole").rules as Json[];
    const readRules = podTemplateReadRules(config.podTemplates);
    expect(readRules).toEqual([
      {
        apiGroups: ["apps.kruise.io"],
        resources: ["addresses", "clonesets", "policies"],
        verbs: ["list", "watch"],
      },
      { apiGroups: ["argoproj.io"], resources: ["rollouts"], verbs: ["list", "watch"] },
      { apiGroups: ["example.com"], resources: ["endpoints"], verbs: ["list", "watch"] },
      { apiGroups: ["serving.knative.dev"], resources: ["ksvc"], verbs: ["list", "watch"] },
    ]);
    const builderRules = (
      installManifests({ namespace: "policy" }).find((o) => o.kind === "ClusterRole") as unknown as {
        rules: Json[];
      }
    ).rules.map((rule) =>
      // The builder names its own webhook configuration; this release is platform-tollgate.
      rule.resourceNames === undefined ? rule : { ...rule, resourceNames: ["platform-tollgate"] },
    );
    expect(rules).toEqual([...builderRules.slice(0, -1), ...readRules, builderRules.at(-1)]);
  });

  it("drops the owned-Pod condition with skipOwnedPods false, as the builder does", async () => {
    const objects = await render(["--set", "config.skipOwnedPods=false"]);
    const config = parseConfig(configOf(objects), "tollgate.yaml", new Set(RULES.keys()));
    expect(config.skipOwnedPods).toBe(false);
    expect(normaliseChart(only(objects, "ValidatingWebhookConfiguration"))).toEqual(
      shipUnregistered(plain(buildWebhookConfiguration(config))),
    );
  });

  it("keeps the system namespaces and its own excluded even when the values list others", async () => {
    const objects = await render(["--set-json", 'config.excludedNamespaces=["kube-system","legacy"]']);
    const webhook = only(objects, "ValidatingWebhookConfiguration") as V1ValidatingWebhookConfiguration;
    for (const entry of webhook.webhooks ?? []) {
      const byName = entry.namespaceSelector?.matchExpressions?.find(
        (e) => e.key === "kubernetes.io/metadata.name",
      );
      expect(byName).toEqual({
        key: "kubernetes.io/metadata.name",
        operator: "NotIn",
        values: ["kube-node-lease", "kube-public", "kube-system", "legacy", "tollgate"],
      });
    }
  });

  it("pulls by digest when one is given, and leaves out an empty priorityClassName", async () => {
    const digest = `sha256:${"ab".repeat(32)}`;
    const spec = podSpecOf(
      await render([
        "--set",
        `image.digest=${digest}`,
        "--set",
        "image.tag=9.9.9",
        "--set",
        "priorityClassName=",
      ]),
    );
    const [container] = spec.containers as Json[];
    expect(container?.image).toBe(`ghcr.io/tollgate-dev/tollgate@${digest}`);
    expect(spec).not.toHaveProperty("priorityClassName");
    const tagged = podSpecOf(await render(["--set", "image.tag=9.9.9"]));
    expect((tagged.containers as Json[])[0]?.image).toBe("ghcr.io/tollgate-dev/tollgate:9.9.9");
  });

  it("renders no PodDisruptionBudget or NetworkPolicy when they are disabled", async () => {
    const kinds = (
      await render(["--set", "podDisruptionBudget.enabled=false", "--set", "networkPolicy.enabled=false"])
    ).map((o) => o.kind);
    expect(kinds).not.toContain("PodDisruptionBudget");
    expect(kinds).not.toContain("NetworkPolicy");
    expect(kinds).toContain("Deployment");
  });

  it("renders ServiceMonitor, PrometheusRule and dashboard only when enabled", async () => {
    const kindsOff = (await render()).map((o) => o.kind);
    expect(kindsOff).not.toContain("ServiceMonitor");
    expect(kindsOff).not.toContain("PrometheusRule");
    const on = await render([
      "--set",
      "serviceMonitor.enabled=true,prometheusRule.enabled=true,grafanaDashboard.enabled=true",
    ]);
    const monitor = only(on, "ServiceMonitor");
    expect((monitor.spec as Json).endpoints).toEqual([
      { port: "metrics", path: "/metrics", scheme: "http", interval: "30s", scrapeTimeout: "10s" },
    ]);
    const rule = only(on, "PrometheusRule");
    const alerts = ((rule.spec as Json).groups as Json[]).flatMap((g) => g.rules as Json[]);
    expect(alerts.map((a) => a.alert)).toEqual([
      "TollgateWebhookDown",
      "TollgateErrorRate",
      "TollgateLatencyHigh",
      "TollgateCertificateExpiringSoon",
    ]);
    const dashboard = on.find((o) => keyOf(o) === `ConfigMap ${NAMESPACE}/tollgate-dashboard`);
    expect((dashboard?.metadata as Json).labels).toMatchObject({ grafana_dashboard: "1" });
    expect(JSON.parse((dashboard?.data as Record<string, string>)["tollgate.json"] ?? "")).toMatchObject({
      uid: "tollgate",
    });
  });
});

describe("charts/tollgate monitoring", () => {
  /** Every metric name a PromQL text uses that looks like one of tollgate's or the process's. */
  function metricNames(promql: string): string[] {
    const names = promql.match(/\b(?:tollgate|process|nodejs)_[a-z_]+\b/g) ?? [];
    return [...new Set(names)].sort();
  }

  async function exported(): Promise<Set<string>> {
    const { registry } = createMetrics({ processMetrics: true });
    const names = new Set<string>();
    for (const metric of await registry.getMetricsAsJSON()) {
      names.add(metric.name);
      if (String(metric.type) === "histogram") {
        for (const suffix of ["_bucket", "_sum", "_count"]) names.add(`${metric.name}${suffix}`);
      }
    }
    return names;
  }

  it("alerts and dashboard use only metrics src/metrics.ts exports", async () => {
    const known = await exported();
    const on = await render(["--set", "prometheusRule.enabled=true,grafanaDashboard.enabled=true"]);
    const rule = only(on, "PrometheusRule");
    const expressions = ((rule.spec as Json).groups as Json[])
      .flatMap((g) => g.rules as Json[])
      .map((a) => String(a.expr));
    const dashboard = readFileSync(join(CHART_DIR, "files", "grafana-dashboard.json"), "utf8");
    const used = metricNames([...expressions, dashboard].join("\n"));
    expect(used.length).toBeGreaterThan(5);
    expect(used.filter((name) => !known.has(name))).toEqual([]);
    // Every tollgate metric has a place on the dashboard.
    const tollgateMetrics = [...known].filter(
      (n) => n.startsWith("tollgate_") && !/_(bucket|sum|count)$/.test(n),
    );
    expect(tollgateMetrics.filter((n) => !dashboard.includes(n))).toEqual([]);
  });
});

describe("charts/tollgate policyFiles", () => {
  const POLICY = join(import.meta.dirname, "..", "fixtures", "policies", "team-label", "policy.yaml");

  it("ships the files in <release>-policies, mounted at /etc/tollgate-policies, which the config lists", async () => {
    const objects = await render(["--set-file", `policyFiles.team-label\\.yaml=${POLICY}`], "platform");
    const policies = objects.find((o) => keyOf(o) === `ConfigMap ${NAMESPACE}/platform-tollgate-policies`);
    expect(policies?.data).toEqual({ "team-label.yaml": readFileSync(POLICY, "utf8") });
    const config = parseConfig(configOf(objects), "tollgate.yaml", new Set(RULES.keys()), true);
    expect(config.policies).toEqual(["/etc/tollgate-policies"]);
    const template = (only(objects, "Deployment").spec as Json).template as Json;
    const annotations = (template.metadata as Json).annotations as Record<string, string>;
    expect(annotations["checksum/policies"]).toMatch(/^[0-9a-f]{64}$/);
    const podSpec = template.spec as Json;
    expect((podSpec.volumes as Json[]).find((v) => v.name === "policies")).toEqual({
      name: "policies",
      configMap: { name: "platform-tollgate-policies" },
    });
    expect(
      ((podSpec.containers as Json[])[0]!.volumeMounts as Json[]).find((m) => m.name === "policies"),
    ).toEqual({
      name: "policies",
      mountPath: "/etc/tollgate-policies",
      readOnly: true,
    });
    // Without files: the ConfigMap is there, empty, and the config names no folder.
    const plainRender = await render([], "platform");
    expect(
      plainRender.find((o) => keyOf(o) === `ConfigMap ${NAMESPACE}/platform-tollgate-policies`)?.data,
    ).toBeUndefined();
    expect(parseConfig(configOf(plainRender), "tollgate.yaml", new Set(RULES.keys())).policies).toEqual([]);
  });

  it("keeps the operator's own policies: entries and adds the folder after them", async () => {
    const objects = await render([
      "--set-json",
      'config.policies=["/opt/more-policies"]',
      "--set-file",
      `policyFiles.team-label\\.yaml=${POLICY}`,
    ]);
    const config = load(configOf(objects)) as { policies: string[] };
    expect(config.policies).toEqual(["/opt/more-policies", "/etc/tollgate-policies"]);
  });

  it("refuses a file name that a ConfigMap key cannot be", async () => {
    const result = await helm(["template", RELEASE, CHART_DIR, "--set", "policyFiles.my\\ policy=x"]);
    expect(result.code).toBe(1);
    // helm names the key and the pattern (the location it prints, oddly, is another property's).
    expect(result.stderr).toContain("invalid propertyName 'my policy'");
    expect(result.stderr).toContain("'my policy' does not match pattern");
  });
});

describe("charts/tollgate values.schema.json", () => {
  it("refuses a misspelt key with helm's schema error", async () => {
    const result = await helm(["template", RELEASE, CHART_DIR, "--set", "replica=3"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      "Error: values don't meet the specifications of the schema(s) in the following chart(s):\n" +
        "tollgate:\n- at '': additional properties 'replica' not allowed\n\n",
    );
    const nested = await helm(["template", RELEASE, CHART_DIR, "--set", "config.defaultMod=warn"]);
    expect(nested.code).toBe(1);
    expect(nested.stderr).toContain("- at '/config': additional properties 'defaultMod' not allowed");
  });

  it("knows every key of tollgate's config schema but webhook, which the chart sets", () => {
    const schema = JSON.parse(readFileSync(join(CHART_DIR, "values.schema.json"), "utf8")) as {
      properties: { config: { properties: Json } };
    };
    const tollgateKeys = Object.keys(configSchema.properties ?? {}).filter((k) => k !== "webhook");
    expect(Object.keys(schema.properties.config.properties).sort()).toEqual(tollgateKeys.sort());
  });

  it("says no to additional properties at every level it defines", () => {
    const schema = JSON.parse(readFileSync(join(CHART_DIR, "values.schema.json"), "utf8")) as Json;
    const open: string[] = [];
    const visit = (node: unknown, at: string): void => {
      if (node === null || typeof node !== "object") return;
      const n = node as Json;
      if (n.properties !== undefined && n.additionalProperties !== false) open.push(at || "/");
      for (const [key, child] of Object.entries(n)) visit(child, `${at}/${key}`);
    };
    visit(schema, "");
    expect(open).toEqual([]);
  });
});
