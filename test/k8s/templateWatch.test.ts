import { afterEach, describe, expect, test } from "vitest";
import { classifyApiError } from "../../src/k8s/client.js";
import { apiTemplateWatchFactory } from "../../src/k8s/standing.js";
import { templateKinds } from "../../src/objects/kinds.js";
import { type FakeApiserver, startFakeApiserver } from "../audit/fakeApiserver.js";

const rollouts = templateKinds([
  { group: "argoproj.io", kind: "Rollout", path: "spec.template", resource: "rollouts", like: "Deployment" },
]).get("argoproj.io/Rollout")!;

let fake: FakeApiserver | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

describe("the scanner's informer of a configured pod template", () => {
  test("a group discovery does not list fails the start as a 404 (the scanner's 'not served'), before any list", async () => {
    fake = await startFakeApiserver({
      "/apis": { body: { kind: "APIGroupList", apiVersion: "v1", groups: [] } },
    });
    const informer = apiTemplateWatchFactory(fake.kubeConfig())(rollouts);
    const error = await informer.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(classifyApiError(error)).toEqual({
      type: "not found",
      message: "the API group argoproj.io is not served",
    });
    expect(fake.requests).toEqual(["/apis"]);
    expect(informer.list()).toEqual([]);
  });

  test("a refused discovery is forbidden, as a refused list is", async () => {
    fake = await startFakeApiserver({
      "/apis": {
        status: 403,
        body: { kind: "Status", apiVersion: "v1", code: 403, message: "forbidden: /apis" },
      },
    });
    const error = await apiTemplateWatchFactory(fake.kubeConfig())(rollouts)
      .start()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(classifyApiError(error).type).toBe("forbidden");
  });
});
