import { describe, expect, test } from "vitest";
import { extractTargets } from "../../src/engine/targets.js";
import { duplicateContainerName } from "../../src/engine/duplicates.js";

const pod = (spec: Record<string, unknown>) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "p" },
  spec,
});

describe("duplicateContainerName: the apiserver's Duplicate value for container names", () => {
  test("unique names across the three lists: nothing", () => {
    const spec = {
      initContainers: [{ name: "a" }],
      containers: [{ name: "b" }],
      ephemeralContainers: [{ name: "c" }],
    };
    expect(duplicateContainerName(extractTargets(pod(spec)))).toBeUndefined();
  });

  test.each([
    [{ containers: [{ name: "web" }, { name: "web" }] }, 'spec.containers[1].name: Duplicate value: "web"'],
    [
      { initContainers: [{ name: "web" }], containers: [{ name: "web" }] },
      'spec.containers[0].name: Duplicate value: "web"',
    ],
    [
      { containers: [{ name: "web" }], ephemeralContainers: [{ name: "debug" }, { name: "web" }] },
      'spec.ephemeralContainers[1].name: Duplicate value: "web"',
    ],
  ])("%j is refused, at the second use", (spec, message) => {
    expect(duplicateContainerName(extractTargets(pod(spec)))?.message).toBe(message);
  });

  test("in a workload's template, the path is the template's", () => {
    const deployment = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "d" },
      spec: { template: { spec: { containers: [{ name: "x" }, { name: "x" }] } } },
    };
    expect(duplicateContainerName(extractTargets(deployment))).toEqual({
      path: "spec.template.spec.containers[1].name",
      message: 'spec.template.spec.containers[1].name: Duplicate value: "x"',
    });
  });

  test("entries without a name are left to the rules (the apiserver says Required, not Duplicate)", () => {
    expect(
      duplicateContainerName(extractTargets(pod({ containers: [{}, {}, { name: "" }, { name: "" }] }))),
    ).toBeUndefined();
  });
});
