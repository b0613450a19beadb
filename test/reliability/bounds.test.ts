import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.js";
import { resolveConfig } from "../../src/config/load.js";
import type { ConfigInput } from "../../src/config/schema.js";
import { compilePolicy } from "../../src/engine/policy.js";
import { createMetrics } from "../../src/metrics.js";
import { hostPort } from "../../src/rules/host-port.js";
import { buildRegistry } from "../../src/rules/index.js";
import type { Rule } from "../../src/rules/types.js";
import { review, rootPod } from "../support/reviews.js";

const MIB = 1024 * 1024;
/** What the answer to one request may weigh, whatever the request holds. */
const ANSWER_BOUND = 48 * 1024;

interface Answer {
  uid: string;
  allowed: boolean;
  status?: { code: number; reason: string; message: string };
  warnings?: string[];
}

const apps: FastifyInstance[] = [];
afterAll(async () => {
  for (const app of apps) await app.close();
});

function appWith(config: ConfigInput = {}, registry?: ReadonlyMap<string, Rule>): FastifyInstance {
  const policy = compilePolicy(resolveConfig(config), registry);
  const app = buildApp({ policy: () => policy, metrics: createMetrics(), logger: pino({ level: "silent" }) });
  apps.push(app);
  return app;
}

async function send(
  app: FastifyInstance,
  mode: "enforce" | "warn",
  body: unknown,
): Promise<{ response: Answer; bytes: number }> {
  const res = await app.inject({
    method: "POST",
    url: `/validate/${mode}`,
    headers: { "content-type": "application/json" },
    payload: JSON.stringify(body),
  });
  expect(res.statusCode).toBe(200);
  return { response: (res.json() as { response: Answer }).response, bytes: res.rawPayload.length };
}

/** `text` as tollgate quotes a name it clips: the first 252 characters and an ellipsis. */
const clipped = (text: string) => `${text.slice(0, 252)}…`;

let app: FastifyInstance;
beforeAll(async () => {
  app = appWith();
  await app.ready();
});

describe("a 7 MiB container name", () => {
  const name = "a".repeat(7 * MIB);
  const pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "long-name", namespace: "team-a" },
    spec: { containers: [{ name, image: "a:1" }] },
  };

  it("is clipped in the denial, which keeps its format and stays small", async () => {
    const { response, bytes } = await send(app, "enforce", review(pod, { uid: "long-name" }));
    expect(bytes).toBeLessThan(ANSWER_BOUND);
    const c = clipped(name);
    const q = JSON.stringify(c);
    expect(response.status?.message).toBe(
      [
        'tollgate: Pod "long-name" in namespace "team-a" has 4 violations:',
        `- container-requests-missing: container ${q} has no requests.cpu or requests.memory at spec.containers[name=${c}].resources.requests. Fix: set resources.requests.cpu and resources.requests.memory on container ${q}`,
        `- container-limits-missing: container ${q} has no limits.cpu or limits.memory at spec.containers[name=${c}].resources.limits. Fix: set resources.limits.cpu and resources.limits.memory on container ${q}`,
        `- run-as-root: container ${q} must set securityContext.runAsNonRoot=true at spec.containers[name=${c}].securityContext.runAsNonRoot. Fix: set securityContext.runAsNonRoot: true on container ${q} or on the pod`,
        `- privilege-escalation-allowed: container ${q} must set allowPrivilegeEscalation=false at spec.containers[name=${c}].securityContext.allowPrivilegeEscalation. Fix: set securityContext.allowPrivilegeEscalation: false on container ${q}`,
      ].join("\n"),
    );
    expect(response.warnings).toHaveLength(7);
    for (const warning of response.warnings ?? []) expect(warning.length).toBeLessThanOrEqual(256);
  });

  it("and a 7 MiB hostPath path: each denial line is clipped to 1 KiB", async () => {
    const path = `/${"p".repeat(7 * MIB)}`;
    const { response, bytes } = await send(
      app,
      "enforce",
      review({
        ...rootPod(),
        spec: {
          securityContext: { runAsNonRoot: true },
          volumes: [{ name: "root", hostPath: { path } }],
          containers: [
            {
              name: "web",
              image: "a:1",
              resources: { requests: { cpu: "1", memory: "1" }, limits: { cpu: "1", memory: "1" } },
              securityContext: { allowPrivilegeEscalation: false },
            },
          ],
        },
      }),
    );
    expect(bytes).toBeLessThan(ANSWER_BOUND);
    const lines = response.status?.message.split("\n") ?? [];
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe('tollgate: Pod "web" in namespace "team-a" has 1 violation:');
    const prefix = `- host-path-volume: volume "root" mounts the node's filesystem (/p`;
    expect(lines[1]?.startsWith(prefix)).toBe(true);
    expect(lines[1]).toHaveLength(1024);
    expect(lines[1]?.endsWith("pp…")).toBe(true);
  });
});

describe("an exemption annotation from a policy admin with millions of ids", () => {
  const until = new Date(Date.now() + 10 * 86_400_000).toISOString().slice(0, 10);
  const exempt = (list: string) =>
    review(
      {
        ...rootPod(),
        metadata: {
          name: "web",
          namespace: "team-a",
          annotations: {
            "tollgate.dev/exempt": list,
            "tollgate.dev/exempt-reason": "migration",
            "tollgate.dev/exempt-until": until,
          },
        },
      },
      { uid: "exempt-ids", username: "root", groups: ["system:masters"] },
    );

  it("3.5 million copies of one unknown id: one notice for it and one that the rest was not read", async () => {
    const { response, bytes } = await send(app, "warn", exempt("x,".repeat(3_500_000)));
    expect(bytes).toBeLessThan(ANSWER_BOUND);
    expect(response.warnings?.slice(-2)).toEqual([
      'exemption: "x" in tollgate.dev/exempt is no rule',
      "exemption: tollgate.dev/exempt lists more than 256 ids; only the first 256 were read",
    ]);
  });

  it("500 000 distinct unknown ids: five named, the rest counted, in a bounded answer", async () => {
    const ids = Array.from({ length: 500_000 }, (_, i) => `r${i}`).join(",");
    const { response, bytes } = await send(app, "enforce", exempt(`run-as-root,${ids}`));
    expect(bytes).toBeLessThan(ANSWER_BOUND);
    // run-as-root is exempted: the first id was read and honoured.
    expect(response.status?.message).not.toContain("run-as-root");
    const notices = response.warnings?.filter((w) => w.startsWith("exemption")) ?? [];
    expect(notices).toEqual([
      'exemption: "r0" in tollgate.dev/exempt is no rule',
      'exemption: "r1" in tollgate.dev/exempt is no rule',
      'exemption: "r2" in tollgate.dev/exempt is no rule',
      'exemption: "r3" in tollgate.dev/exempt is no rule',
      'exemption: "r4" in tollgate.dev/exempt is no rule',
      "exemption: 250 more ids in tollgate.dev/exempt are no rule",
      "exemption: tollgate.dev/exempt lists more than 256 ids; only the first 256 were read",
      // Its last day is 10 days ahead: the exemption that holds says so too.
      `exemption ends in 10 days: run-as-root exempted until ${until}; fix the object or renew it`,
    ]);
  });
});

describe("notices", () => {
  it("are deduplicated and at most ten are shown, then a count of the rest", async () => {
    // Twenty expired config exemptions that each match the Pod: twenty distinct notices.
    const exemptions = Array.from({ length: 20 }, (_, i) => ({
      name: `w${"*".repeat(i + 1)}`,
      rules: ["run-as-root"],
      reason: "expired",
      until: "2020-01-01",
    }));
    const { response } = await send(appWith({ exemptions }), "warn", review(rootPod()));
    const notices = response.warnings?.filter((w) => w.includes("exemption")) ?? [];
    expect(notices).toEqual([
      ...Array.from(
        { length: 10 },
        (_, i) => `exemption ignored: config exemption for name w${"*".repeat(i + 1)} expired on 2020-01-01`,
      ),
    ]);
    expect(response.warnings?.at(-1)).toBe("tollgate: 10 more notices not shown");
  });
});

describe("findings of one rule", () => {
  it("past 2000 on one object are counted, not kept, and the object is not judged in full", async () => {
    const volumes = Array.from({ length: 3000 }, (_, i) => ({ name: `v${i}`, hostPath: { path: "/" } }));
    const { response, bytes } = await send(
      app,
      "enforce",
      review({ ...rootPod(), spec: { ...(rootPod().spec as object), volumes } }),
    );
    expect(bytes).toBeLessThan(ANSWER_BOUND);
    expect(response.status?.message.split("\n").at(-1)).toBe(
      "tollgate: could not finish judging the object at rule host-path-volume: the rule found 3000 violations on this object; tollgate keeps at most 2000; it is denied until tollgate can judge it in full",
    );
  });

  it("cut at the bound cannot hide a violation behind exempted ones", async () => {
    // 700 sidecars with three host ports each are exempt by config; the container after them is not.
    const sidecar = (i: number) => ({
      name: "istio-proxy",
      image: "a:1",
      ports: [1, 2, 3].map((p) => ({ containerPort: p, hostPort: 10_000 + i * 3 + p })),
    });
    const containers = [
      ...Array.from({ length: 700 }, (_, i) => sidecar(i)),
      { name: "evil", image: "a:1", ports: [{ containerPort: 22, hostPort: 22 }] },
    ];
    const onlyHostPort = appWith(
      {
        exemptions: [{ container: "istio-proxy", rules: ["host-port"], reason: "mesh", until: "2999-01-01" }],
      },
      buildRegistry([hostPort as unknown as Rule]),
    );
    const { response } = await send(onlyHostPort, "enforce", review({ ...rootPod(), spec: { containers } }));
    expect(response.allowed).toBe(false);
  });
});
