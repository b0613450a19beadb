import { describe, expect, it } from "vitest";
import {
  apiVersionOf,
  KINDS,
  type KindInfo,
  kindInGroup,
  LONG_RUNNING_KINDS,
  POD_CONTROLLER_KINDS,
  POD_SPEC_KINDS,
  REPLICATED_KINDS,
  WORKLOAD_KINDS,
} from "../../src/objects/kinds.js";
import { controllerOf, replicasOf } from "../../src/objects/object.js";

const TABLE = Object.entries(KINDS) as [string, KindInfo][];

describe("the kinds table", () => {
  it("is keyed by each entry's own kind, and names each resource once", () => {
    for (const [key, info] of TABLE) expect(info.kind).toBe(key);
    const resources = TABLE.map(([, info]) => `${info.group}/${info.resource}`);
    expect(new Set(resources).size).toBe(resources.length);
  });

  it("lists as pod-spec kinds exactly those with a pod spec path", () => {
    const withPath = TABLE.filter(([, info]) => info.podSpecPath !== undefined).map(([kind]) => kind);
    expect([...POD_SPEC_KINDS].sort()).toEqual(withPath.sort());
  });

  it("derives the workload lists from the table", () => {
    expect(LONG_RUNNING_KINDS).toEqual([
      "Pod",
      "Deployment",
      "StatefulSet",
      "DaemonSet",
      "ReplicaSet",
      "ReplicationController",
      "PodTemplate",
    ]);
    expect(WORKLOAD_KINDS).toEqual(POD_SPEC_KINDS.filter((kind) => kind !== "PodTemplate"));
    expect(REPLICATED_KINDS).toEqual(["Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"]);
    expect([...POD_CONTROLLER_KINDS].sort()).toEqual([
      "CronJob",
      "DaemonSet",
      "Deployment",
      "Job",
      "ReplicaSet",
      "ReplicationController",
      "StatefulSet",
    ]);
  });

  it("finds a kind only in its own group", () => {
    expect(kindInGroup("apps", "Deployment")).toBe(KINDS.Deployment);
    expect(kindInGroup("evil.example.com", "Deployment")).toBeUndefined();
    expect(kindInGroup("", "Deployment")).toBeUndefined();
    expect(kindInGroup("", "Pod")).toBe(KINDS.Pod);
    expect(apiVersionOf(KINDS.Pod)).toBe("v1");
    expect(apiVersionOf(KINDS.CronJob)).toBe("batch/v1");
  });
});

describe("object basics read from the table", () => {
  it("counts replicas as the apiserver defaults them", () => {
    expect(replicasOf({ apiVersion: "v1", kind: "Pod" })).toBe(1);
    expect(replicasOf({ apiVersion: "apps/v1", kind: "Deployment", spec: {} })).toBe(1);
    expect(replicasOf({ apiVersion: "apps/v1", kind: "StatefulSet", spec: { replicas: 3 } })).toBe(3);
    expect(replicasOf({ apiVersion: "apps/v1", kind: "DaemonSet", spec: { replicas: 3 } })).toBeUndefined();
    expect(replicasOf({ apiVersion: "batch/v1", kind: "Job" })).toBeUndefined();
    expect(
      replicasOf({ apiVersion: "example.com/v1", kind: "Deployment", spec: { replicas: 5 } }),
    ).toBeUndefined();
  });

  it("names a controller owner only for a kind of the table in its own group", () => {
    const owned = (apiVersion: string, kind: string, controller: unknown = true) => ({
      metadata: { ownerReferences: [{ apiVersion, kind, name: "x", uid: "u", controller }] },
    });
    expect(controllerOf(owned("apps/v1", "ReplicaSet"))).toBe("ReplicaSet");
    expect(controllerOf(owned("v1", "ReplicationController"))).toBe("ReplicationController");
    expect(controllerOf(owned("batch/v1", "Job"))).toBe("Job");
    expect(controllerOf(owned("evil.example.com/v1", "Deployment"))).toBeUndefined();
    expect(controllerOf(owned("apps/v1/extra", "ReplicaSet"))).toBeUndefined();
    expect(controllerOf(owned("apps/v1", "ReplicaSet", "true"))).toBeUndefined();
    expect(controllerOf(owned("v1", "Pod"))).toBeUndefined();
    expect(controllerOf({ metadata: { ownerReferences: "x" } })).toBeUndefined();
  });
});

describe("guessResource: the apiserver's guess for a kind outside the table", () => {
  it("follows meta.UnsafeGuessKindToResource", async () => {
    const { guessResource } = await import("../../src/objects/kinds.js");
    expect(
      ["Ingress", "NetworkPolicy", "Service", "ConfigMap", "Gateway", "Endpoints"].map(guessResource),
    ).toEqual([
      "ingresses",
      "networkpolicies",
      "services",
      "configmaps",
      // As the apiserver guesses it; the Gateway API's CRD says "gateways", which only a cluster knows.
      "gatewaies",
      "endpoints",
    ]);
  });
});
