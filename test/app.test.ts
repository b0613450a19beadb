import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMetricsServer } from "../src/metrics.js";
import { CORE_RULES } from "./support/core-rules.js";
import { compliantPod, review, rootPod } from "./support/reviews.js";
import { post, type RunningServer, startServer } from "./support/server.js";

const ROOT_POD_DENIAL = [
  'tollgate: Pod "web" in namespace "team-a" has 3 violations:',
  '- container-requests-missing: container "web" has no requests.cpu or requests.memory at spec.containers[name=web].resources.requests. Fix: set resources.requests.cpu and resources.requests.memory on container "web"',
  '- container-limits-missing: container "web" has no limits.cpu or limits.memory at spec.containers[name=web].resources.limits. Fix: set resources.limits.cpu and resources.limits.memory on container "web"',
  '- run-as-root: container "web" must set securityContext.runAsNonRoot=true at spec.containers[name=web].securityContext.runAsNonRoot. Fix: set securityContext.runAsNonRoot: true on container "web" or on the pod',
].join("\n");

describe("admission server over TLS", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({}, CORE_RULES);
  });
  afterAll(async () => {
    await server.close();
  });

  const send = (path: string, body: unknown) => post(server, path, JSON.stringify(body));

  it("denies a root Pod without resources in enforce mode, listing every deny finding with its fix", async () => {
    const res = await send("/validate/enforce", review(rootPod(), { uid: "uid-enforce-1" }));
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      response: {
        uid: "uid-enforce-1",
        allowed: false,
        status: { code: 403, reason: "Forbidden", message: ROOT_POD_DENIAL },
        warnings: [
          "default-service-account: pod uses the default ServiceAccount (none named) (spec.serviceAccountName)",
        ],
      },
    });
  });

  it("allows the same Pod in warn mode with one warning per finding", async () => {
    const res = await send("/validate/warn", review(rootPod(), { uid: "uid-warn-1" }));
    expect(res.json).toEqual({
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      response: {
        uid: "uid-warn-1",
        allowed: true,
        warnings: [
          'container-requests-missing: container "web" has no requests.cpu or requests.memory (spec.containers[name=web])',
          'container-limits-missing: container "web" has no limits.cpu or limits.memory (spec.containers[name=web])',
          'run-as-root: container "web" must set securityContext.runAsNonRoot=true (spec.containers[name=web])',
          "default-service-account: pod uses the default ServiceAccount (none named) (spec.serviceAccountName)",
        ],
      },
    });
    const response = (res.json as { response: { warnings: string[] } }).response;
    for (const warning of response.warnings) expect(warning.length).toBeLessThan(120);
  });

  it("allows a compliant Pod with no warnings", async () => {
    const res = await send("/validate/enforce", review(compliantPod(), { uid: "uid-ok" }));
    expect(res.json).toEqual({
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      response: { uid: "uid-ok", allowed: true },
    });
  });

  it("uses defaultMode on /validate", async () => {
    const res = await send("/validate", review(rootPod()));
    expect((res.json as { response: { allowed: boolean } }).response.allowed).toBe(false);
    const warnServer = await startServer({ defaultMode: "warn" }, CORE_RULES);
    try {
      const warned = await post(warnServer, "/validate", JSON.stringify(review(rootPod())));
      expect((warned.json as { response: { allowed: boolean; warnings: string[] } }).response).toMatchObject({
        allowed: true,
      });
    } finally {
      await warnServer.close();
    }
  });

  it("checks a Deployment's pod template", async () => {
    const deployment = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "api", namespace: "team-a" },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: "api" } },
        template: {
          metadata: { labels: { app: "api" } },
          spec: {
            serviceAccountName: "api",
            securityContext: { runAsNonRoot: true },
            containers: [
              {
                name: "api",
                image: "registry.example.com/api:2.0.0",
                securityContext: { privileged: true },
                resources: { requests: { cpu: "1", memory: "1Gi" }, limits: { cpu: "1", memory: "1Gi" } },
              },
            ],
          },
        },
      },
    };
    const res = await send("/validate/enforce", review(deployment, { uid: "uid-deploy" }));
    expect(res.json).toEqual({
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      response: {
        uid: "uid-deploy",
        allowed: false,
        status: {
          code: 403,
          reason: "Forbidden",
          message: [
            'tollgate: Deployment "api" in namespace "team-a" has 1 violation:',
            '- privileged-container: container "api" sets securityContext.privileged=true at spec.template.spec.containers[name=api].securityContext.privileged. Fix: remove securityContext.privileged from container "api"; add only the capabilities it needs',
          ].join("\n"),
        },
      },
    });
  });

  it("skips a Pod owned by a ReplicaSet: its template was judged at apply", async () => {
    const pod = rootPod("api-7d9f-abcde");
    (pod.metadata as Record<string, unknown>).ownerReferences = [
      { apiVersion: "apps/v1", kind: "ReplicaSet", name: "api-7d9f", uid: "1", controller: true },
    ];
    const res = await send(
      "/validate/enforce",
      review(pod, {
        uid: "uid-owned",
        username: "system:serviceaccount:kube-system:replicaset-controller",
        groups: ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"],
      }),
    );
    expect(res.json).toEqual({
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      response: { uid: "uid-owned", allowed: true },
    });
    const line = server.logs.find((l) => l.uid === "uid-owned");
    expect(line).toMatchObject({
      verdict: "skipped",
      skipped: "Pod is controlled by a ReplicaSet, whose template was checked",
    });
  });

  it("judges a Pod with a controller owner that a user creates: anyone can write ownerReferences", async () => {
    const pod = rootPod("api-7d9f-forged");
    (pod.metadata as Record<string, unknown>).ownerReferences = [
      { apiVersion: "apps/v1", kind: "ReplicaSet", name: "does-not-exist", uid: "x", controller: true },
    ];
    const res = await send("/validate/enforce", review(pod, { uid: "uid-forged" }));
    expect((res.json as { response: { allowed: boolean } }).response.allowed).toBe(false);
    expect(server.logs.find((l) => l.uid === "uid-forged")).toMatchObject({ verdict: "denied" });
  });

  it("denies a ClusterRole with verbs: ['*']", async () => {
    const role = {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: "ops" },
      rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["*"] }],
    };
    const res = await send("/validate/enforce", review(role, { uid: "uid-role" }));
    expect(res.json).toEqual({
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      response: {
        uid: "uid-role",
        allowed: false,
        status: {
          code: 403,
          reason: "Forbidden",
          message:
            'tollgate: ClusterRole "ops" has 1 violation:\n- rbac-wildcard: rule 0 grants "*" in verbs at rules[0].verbs. Fix: list the verbs the subject needs instead of "*" in rules[0]',
        },
      },
    });
  });

  it("gives the same answer to a dryRun request", async () => {
    const res = await send("/validate/enforce", review(rootPod(), { uid: "uid-dry", dryRun: true }));
    const response = (res.json as { response: { allowed: boolean; status: { message: string } } }).response;
    expect(response.allowed).toBe(false);
    expect(response.status.message).toBe(ROOT_POD_DENIAL);
  });

  it("allows DELETE untouched", async () => {
    const res = await send(
      "/validate/enforce",
      review(null, { uid: "uid-del", operation: "DELETE", oldObject: rootPod() }),
    );
    expect(res.json).toEqual({
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      response: { uid: "uid-del", allowed: true },
    });
  });

  it("answers malformed JSON with 400 and says where", async () => {
    const res = await post(server, "/validate/enforce", '{"apiVersion": "admission.k8s.io/v1",');
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: "malformed-json" });
    expect((res.json as { message: string }).message).toMatch(/^malformed JSON: .*JSON/);
  });

  it("answers an empty body with 400", async () => {
    const res = await post(server, "/validate/enforce", "");
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ error: "malformed-json", message: "malformed JSON: the body is empty" });
  });

  it("answers JSON that is not an AdmissionReview with 400 naming the field", async () => {
    const noUid = review(rootPod()) as { request: Record<string, unknown> };
    delete noUid.request.uid;
    const res = await send("/validate/enforce", noUid);
    expect(res.status).toBe(400);
    expect(res.json).toEqual({
      error: "not-a-review",
      message: "not an AdmissionReview v1: request.uid is required",
    });

    const wrongKind = await send("/validate/enforce", {
      apiVersion: "admission.k8s.io/v1",
      kind: "Pod",
      request: {},
    });
    expect(wrongKind.json).toEqual({
      error: "not-a-review",
      message: 'not an AdmissionReview v1: kind must be "AdmissionReview"',
    });

    const v1beta1 = await send("/validate", { ...review(rootPod()), apiVersion: "admission.k8s.io/v1beta1" });
    expect(v1beta1.json).toEqual({
      error: "not-a-review",
      message: 'not an AdmissionReview v1: apiVersion must be "admission.k8s.io/v1"',
    });
  });

  it("answers a body that is not JSON with 415", async () => {
    const res = await post(server, "/validate", "uid: 1", { "content-type": "application/yaml" });
    expect(res.status).toBe(415);
    expect(res.json).toEqual({
      error: "media-type",
      message:
        'Content-Type "application/yaml" is not accepted: send application/json (an AdmissionReview v1)',
    });
  });

  it("serves health and readiness", async () => {
    expect((await post(server, "/healthz", "", {}, "GET")).json).toEqual({ status: "ok" });
    expect((await post(server, "/readyz", "", {}, "GET")).json).toEqual({ status: "ready" });
  });

  it("logs one line per decision with who and what, never the object", async () => {
    await send("/validate/warn", review(rootPod("logged"), { uid: "uid-log", username: "bob" }));
    const lines = server.logs.filter((l) => l.uid === "uid-log");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      msg: "decision",
      uid: "uid-log",
      kind: "Pod",
      namespace: "team-a",
      name: "logged",
      user: "bob",
      mode: "warn",
      verdict: "warned",
      rules: [
        "container-requests-missing",
        "container-limits-missing",
        "run-as-root",
        "default-service-account",
      ],
    });
    expect(typeof lines[0]!.durationMs).toBe("number");
    expect(JSON.stringify(lines[0])).not.toContain("registry.example.com");
  });

  it("counts decisions and findings on the /metrics endpoint", async () => {
    const metricsServer = createMetricsServer(server.metrics);
    await new Promise<void>((done) => metricsServer.listen(0, "127.0.0.1", () => done()));
    const url = `http://127.0.0.1:${(metricsServer.address() as AddressInfo).port}/metrics`;
    const denied = async () => {
      const text = await (await fetch(url)).text();
      const line = text
        .split("\n")
        .find((l) => l.startsWith('tollgate_decisions_total{verdict="denied",kind="Pod",mode="enforce"}'));
      return { count: Number(line?.split(" ")[1] ?? 0), text };
    };
    try {
      const before = await denied();
      await send("/validate/enforce", review(rootPod(), { uid: "uid-count" }));
      const after = await denied();
      expect(after.count).toBe(before.count + 1);
      expect(after.text).toContain(
        'tollgate_findings_total{rule="run-as-root",mode="enforce",severity="deny"}',
      );
      expect(after.text).toContain('tollgate_admission_duration_seconds_bucket{le="0.005",mode="enforce"}');
      expect((await fetch(url.replace("/metrics", "/other"))).status).toBe(404);
    } finally {
      await new Promise<void>((done) => metricsServer.close(() => done()));
    }
  });
});
