import { resolveConfig } from "../../src/config/load.js";
import type { ConfigInput } from "../../src/config/schema.js";
import { type Evaluation, type EvaluationInput, evaluate } from "../../src/engine/evaluate.js";
import { compilePolicy } from "../../src/engine/policy.js";
import type { KubeObject } from "../../src/objects/object.js";

export const NOW = new Date("2026-06-01T12:00:00Z");
export const ADMIN = { username: "carol", groups: ["system:masters", "system:authenticated"] };
export const DEVELOPER = { username: "alice", groups: ["team-a", "system:authenticated"] };

/** A Pod that only run-as-root finds fault with, among the deny rules (name: web, container: web). */
export function rootPod(
  annotations?: Record<string, string>,
  extra: Record<string, unknown> = {},
): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "web", namespace: "team-a", ...(annotations ? { annotations } : {}) },
    spec: {
      containers: [
        {
          name: "web",
          image: "nginx:1.27",
          resources: { requests: { cpu: "100m", memory: "64Mi" }, limits: { cpu: "1", memory: "128Mi" } },
          securityContext: { allowPrivilegeEscalation: false },
          ...extra,
        },
      ],
    },
  };
}

/** Evaluate with only the deny rules that matter and the fixed clock; config merged over the defaults. */
export function judge(
  input: Partial<EvaluationInput> & { object: KubeObject },
  config: ConfigInput = {},
): Evaluation {
  return evaluate(
    { operation: "CREATE", mode: "enforce", source: "admission", now: NOW, userInfo: DEVELOPER, ...input },
    compilePolicy(resolveConfig(config)),
  );
}

/** `rule path` of each finding, for compact exact expectations. */
export function ids(findings: readonly { rule: string; path: string; severity?: string }[]): string[] {
  return findings.map((f) => `${f.rule} ${f.severity ?? ""} ${f.path}`.replace("  ", " "));
}
