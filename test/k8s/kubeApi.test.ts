import { AdmissionregistrationV1Api, CoreV1Api } from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_CONFIG } from "../../src/config/load.js";
import { caBundlePatch, isRegistered, WebhookCaBundle } from "../../src/k8s/caBundle.js";
import { entryPolicies, entryRules } from "../../src/k8s/certificates.js";
import { KubeSecretStore } from "../../src/k8s/certSecret.js";
import { buildWebhookConfiguration } from "../../src/k8s/webhookConfig.js";
import { ALL_RULES } from "../../src/rules/index.js";
import { FakeKubeApi } from "../helpers/fakeKubeApi.js";

const SECRET_PATH = "/api/v1/namespaces/tollgate/secrets";
const VWC_PATH = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations";
const b64 = (text: string) => Buffer.from(text).toString("base64");

let api: FakeKubeApi;

beforeEach(async () => {
  api = new FakeKubeApi();
  await api.start();
});

afterEach(async () => {
  await api.stop();
});

describe("KubeSecretStore", () => {
  it("reads a missing Secret as undefined, creates it, and answers exists to a second create", async () => {
    const store = new KubeSecretStore(api.kubeConfig().makeApiClient(CoreV1Api), "tollgate");
    expect(await store.read()).toBeUndefined();
    const created = await store.create({ "tls.crt": "CERT" });
    expect(created).toEqual({ data: { "tls.crt": "CERT" }, resourceVersion: "101" });
    expect(await store.create({ "tls.crt": "OTHER" })).toBe("exists");
    expect(await store.read()).toEqual({ data: { "tls.crt": "CERT" }, resourceVersion: "101" });
    expect(api.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      `GET ${SECRET_PATH}/tollgate-certs`,
      `POST ${SECRET_PATH}`,
      `POST ${SECRET_PATH}`,
      `GET ${SECRET_PATH}/tollgate-certs`,
    ]);
    expect(api.requests[1]!.authorization).toBe("Bearer fake-token");
    expect(api.requests[1]!.body).toEqual({
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name: "tollgate-certs",
        namespace: "tollgate",
        labels: { "app.kubernetes.io/name": "tollgate" },
      },
      type: "Opaque",
      data: { "tls.crt": b64("CERT") },
    });
  });

  it("updates with the resourceVersion it read and reports a conflict when another writer came first", async () => {
    const store = new KubeSecretStore(api.kubeConfig().makeApiClient(CoreV1Api), "tollgate");
    await store.create({ a: "1" });
    expect(await store.update({ a: "2" }, "101")).toEqual({ data: { a: "2" }, resourceVersion: "102" });
    expect(await store.update({ a: "3" }, "101")).toBe("conflict");
    expect(api.requests.at(-1)).toMatchObject({
      method: "PUT",
      path: `${SECRET_PATH}/tollgate-certs`,
      body: { metadata: { resourceVersion: "101" }, data: { a: b64("3") } },
    });
  });

  it("keeps the labels, annotations and type of the Secret it read, as kubectl apply left them", async () => {
    api.put("secrets/tollgate/tollgate-certs", {
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name: "tollgate-certs",
        namespace: "tollgate",
        labels: { team: "platform" },
        annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{}" },
      },
      type: "Opaque",
    });
    const store = new KubeSecretStore(api.kubeConfig().makeApiClient(CoreV1Api), "tollgate");
    const read = await store.read();
    expect(read).toEqual({ data: {}, resourceVersion: "101" });
    await store.update({ a: "1" }, "101");
    expect(api.requests.at(-1)!.body).toEqual({
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name: "tollgate-certs",
        namespace: "tollgate",
        labels: { team: "platform", "app.kubernetes.io/name": "tollgate" },
        annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{}" },
        resourceVersion: "101",
      },
      type: "Opaque",
      data: { a: b64("1") },
    });
  });

  it("names the Secret and the apiserver's message when a call is refused", async () => {
    const store = new KubeSecretStore(api.kubeConfig().makeApiClient(CoreV1Api), "tollgate");
    await expect(store.update({ a: "1" }, "1")).rejects.toThrow(
      "cannot update Secret tollgate/tollgate-certs: the apiserver answered 404: secrets/tollgate/tollgate-certs not found",
    );
  });
});

describe("WebhookCaBundle", () => {
  const build = (bundle: string) =>
    buildWebhookConfiguration(DEFAULT_CONFIG, { caBundle: bundle, rules: ALL_RULES });

  it("creates the configuration when it does not exist", async () => {
    const publisher = new WebhookCaBundle(
      api.kubeConfig().makeApiClient(AdmissionregistrationV1Api),
      "tollgate",
      build,
    );
    expect(await publisher.read()).toBeUndefined();
    await publisher.publish("PEM-A\n");
    expect(api.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      `GET ${VWC_PATH}/tollgate`,
      `GET ${VWC_PATH}/tollgate`,
      `POST ${VWC_PATH}`,
    ]);
    expect(api.requests[2]!.body).toEqual(JSON.parse(JSON.stringify(build("PEM-A\n"))));
    expect(await publisher.read()).toBe("PEM-A\n");
  });

  it("patches caBundle on every entry with a JSON patch guarded by the resourceVersion", async () => {
    api.put("validatingwebhookconfigurations/tollgate", JSON.parse(JSON.stringify(build("OLD\n"))));
    const publisher = new WebhookCaBundle(
      api.kubeConfig().makeApiClient(AdmissionregistrationV1Api),
      "tollgate",
      build,
    );
    await publisher.publish("NEW\n");
    const patch = api.requests.at(-1)!;
    expect(patch.method).toBe("PATCH");
    expect(patch.path).toBe(`${VWC_PATH}/tollgate`);
    expect(patch.contentType).toBe("application/json-patch+json");
    expect(patch.body).toEqual([
      { op: "test", path: "/metadata/resourceVersion", value: "101" },
      ...[0, 1, 2, 3, 4].map((i) => ({
        op: "add",
        path: `/webhooks/${i}/clientConfig/caBundle`,
        value: b64("NEW\n"),
      })),
    ]);
    expect(await publisher.read()).toBe("NEW\n");
  });

  it("reads again and re-patches when another writer changed the configuration in between", async () => {
    const key = "validatingwebhookconfigurations/tollgate";
    api.put(key, JSON.parse(JSON.stringify(build("OLD\n"))));
    let raced = false;
    api.beforeWrite = (method) => {
      if (method !== "PATCH" || raced) return undefined;
      raced = true;
      api.put(key, api.objects.get(key)!);
      return undefined;
    };
    const publisher = new WebhookCaBundle(
      api.kubeConfig().makeApiClient(AdmissionregistrationV1Api),
      "tollgate",
      build,
    );
    await publisher.publish("NEW\n");
    expect(api.requests.map((r) => r.method)).toEqual(["GET", "PATCH", "GET", "PATCH"]);
    expect(await publisher.read()).toBe("NEW\n");
  });

  it("does not write when the bundle is already published", async () => {
    api.put("validatingwebhookconfigurations/tollgate", JSON.parse(JSON.stringify(build("SAME\n"))));
    const publisher = new WebhookCaBundle(
      api.kubeConfig().makeApiClient(AdmissionregistrationV1Api),
      "tollgate",
      build,
    );
    expect(await publisher.publish("SAME\n")).toBe("unchanged");
    expect(api.requests.map((r) => r.method)).toEqual(["GET"]);
  });
});

describe("WebhookCaBundle with a failurePolicy (tollgate registering itself)", () => {
  const KEY = "validatingwebhookconfigurations/tollgate";
  /** The shipped configuration: fail-open, no caBundle. */
  const shipped = () =>
    JSON.parse(
      JSON.stringify(
        buildWebhookConfiguration(
          { ...DEFAULT_CONFIG, webhook: { ...DEFAULT_CONFIG.webhook, failurePolicy: "Ignore" } },
          { rules: ALL_RULES },
        ),
      ),
    ) as Record<string, unknown>;
  const registrar = () =>
    new WebhookCaBundle(
      api.kubeConfig().makeApiClient(AdmissionregistrationV1Api),
      "tollgate",
      (bundle) => buildWebhookConfiguration(DEFAULT_CONFIG, { caBundle: bundle, rules: ALL_RULES }),
      entryPolicies(buildWebhookConfiguration(DEFAULT_CONFIG, { rules: ALL_RULES }), "Fail"),
    );
  /** Fail on every entry but `namespaces`, which the builder keeps fail-open. */
  const REGISTERED = ["Fail", "Fail", "Fail", "Fail", "Ignore"];
  const entries = () =>
    (api.objects.get(KEY) as { webhooks: { failurePolicy: string; clientConfig: { caBundle?: string } }[] })
      .webhooks;

  it("sets caBundle and each entry's failurePolicy in one guarded patch", async () => {
    api.put(KEY, shipped());
    expect(await registrar().publish("PEM\n")).toBe("patched");
    expect(api.requests.map((r) => r.method)).toEqual(["GET", "PATCH"]);
    expect(api.requests[1]!.body).toEqual([
      { op: "test", path: "/metadata/resourceVersion", value: "101" },
      ...REGISTERED.flatMap((policy, i) => [
        { op: "add", path: `/webhooks/${i}/clientConfig/caBundle`, value: b64("PEM\n") },
        { op: "add", path: `/webhooks/${i}/failurePolicy`, value: policy },
      ]),
    ]);
    expect(entries().map((e) => [e.failurePolicy, e.clientConfig.caBundle])).toEqual(
      REGISTERED.map((policy) => [policy, b64("PEM\n")]),
    );
  });

  it("patches when only the failurePolicy differs (a re-applied manifest), and not once it matches", async () => {
    api.put(KEY, shipped());
    await registrar().publish("PEM\n");
    // kubectl apply of the manifests again: the caBundle stays, the policy is Ignore again.
    const reapplied = structuredClone(api.objects.get(KEY)!) as { webhooks: { failurePolicy: string }[] };
    for (const entry of reapplied.webhooks) entry.failurePolicy = "Ignore";
    api.put(KEY, reapplied as unknown as Record<string, unknown>);
    api.requests.length = 0;
    expect(await registrar().publish("PEM\n")).toBe("patched");
    expect(entries().map((e) => e.failurePolicy)).toEqual(REGISTERED);
    api.requests.length = 0;
    expect(await registrar().publish("PEM\n")).toBe("unchanged");
    expect(api.requests.map((r) => r.method)).toEqual(["GET"]);
  });

  it("leaves a deleted configuration deleted when asked not to create it", async () => {
    expect(await registrar().publish("PEM\n", { create: false })).toBe("absent");
    expect(api.requests.map((r) => r.method)).toEqual(["GET"]);
    expect(api.objects.has(KEY)).toBe(false);
  });

  it("names both fields when the apiserver refuses the patch", async () => {
    api.put(KEY, shipped());
    api.beforeWrite = () => 403;
    await expect(registrar().publish("PEM\n")).rejects.toThrow(
      "cannot patch the caBundle and failurePolicy of ValidatingWebhookConfiguration tollgate: the apiserver answered 403: PATCH validatingwebhookconfigurations/tollgate is forbidden",
    );
  });
});

describe("WebhookCaBundle with rules (serve keeps what its policies select registered)", () => {
  const KEY = "validatingwebhookconfigurations/tollgate";
  const CONFIGMAPS = [
    {
      apiGroups: [""],
      apiVersions: ["v1"],
      operations: ["CREATE", "UPDATE"],
      resources: ["configmaps"],
      scope: "Namespaced" as const,
    },
  ];
  let policyRules: typeof CONFIGMAPS = [];
  const build = (caBundle?: string) =>
    buildWebhookConfiguration(DEFAULT_CONFIG, {
      rules: ALL_RULES,
      policyRules,
      ...(caBundle === undefined ? {} : { caBundle }),
    });
  const registrar = () =>
    new WebhookCaBundle(
      api.kubeConfig().makeApiClient(AdmissionregistrationV1Api),
      "tollgate",
      (bundle) => build(bundle),
      entryPolicies(build(), "Fail"),
      () => entryRules(build()),
    );
  const resources = () =>
    (api.objects.get(KEY) as { webhooks: { name: string; rules: { resources: string[] }[] }[] }).webhooks.map(
      (webhook) => [webhook.name, webhook.rules.flatMap((rule) => rule.resources).includes("configmaps")],
    );

  it("creates the configuration with the policies' rules", async () => {
    policyRules = CONFIGMAPS;
    expect(await registrar().publish("PEM\n")).toBe("created");
    expect(resources()).toEqual([
      ["enforce.tollgate.dev", true],
      ["warn.tollgate.dev", true],
      ["default.tollgate.dev", true],
      ["cluster.tollgate.dev", false],
      ["namespaces.tollgate.dev", false],
    ]);
  });

  it("widens the rules of an existing configuration once a policy selects more, then leaves it alone", async () => {
    policyRules = [];
    await registrar().publish("PEM\n");
    policyRules = CONFIGMAPS;
    api.requests.length = 0;
    expect(await registrar().publish("PEM\n")).toBe("patched");
    const patch = api.requests[1]!.body as { path: string; value: unknown }[];
    expect(patch.filter((op) => op.path.endsWith("/rules")).map((op) => op.path)).toEqual([
      "/webhooks/0/rules",
      "/webhooks/1/rules",
      "/webhooks/2/rules",
    ]);
    expect(patch.find((op) => op.path === "/webhooks/0/rules")!.value).toEqual(build().webhooks![0]!.rules);
    expect(resources().map(([, has]) => has)).toEqual([true, true, true, false, false]);
    api.requests.length = 0;
    expect(await registrar().publish("PEM\n")).toBe("unchanged");
    expect(api.requests.map((r) => r.method)).toEqual(["GET"]);
  });

  it("reads a stored rule without scope as scope *, the apiserver's default", () => {
    const rule = { apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["configmaps"] };
    const stored = {
      metadata: { resourceVersion: "7" },
      webhooks: [
        {
          name: "enforce.tollgate.dev",
          admissionReviewVersions: ["v1"],
          sideEffects: "None",
          clientConfig: { caBundle: b64("PEM\n") },
          rules: [rule],
        },
      ],
    };
    const wanted = (scope: "*" | "Namespaced") => new Map([["enforce.tollgate.dev", [{ ...rule, scope }]]]);
    expect(isRegistered(stored, "PEM\n", undefined, wanted("*"))).toBe(true);
    expect(isRegistered(stored, "PEM\n", undefined, wanted("Namespaced"))).toBe(false);
    expect(caBundlePatch(stored, "PEM\n", undefined, wanted("Namespaced")).at(-1)).toEqual({
      op: "add",
      path: "/webhooks/0/rules",
      value: [{ ...rule, scope: "Namespaced" }],
    });
    // An entry the map does not name keeps its rules.
    expect(isRegistered(stored, "PEM\n", undefined, new Map())).toBe(true);
  });
});
