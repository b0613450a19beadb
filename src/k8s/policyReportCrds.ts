import type { KubernetesObject } from "@kubernetes/client-node";
import { REPORT_GROUP, REPORT_VERSION } from "../audit/policyReport.js";

/**
 * The CustomResourceDefinitions of the policy-report API (`wgpolicyk8s.io/v1alpha2`), written
 * from the schema the Kubernetes Policy working group publishes, with the severities Kyverno's
 * copy adds (critical, info), so that either copy can already be installed when tollgate's is
 * applied and every report fits both. Served and stored as v1alpha2 only.
 */
/** An OpenAPI v3 schema as the CRD's YAML spells it (client-node's typed model renames `enum`). */
type Schema = Record<string, unknown>;

const reference: Schema = {
  type: "object",
  description: "A reference to a Kubernetes object.",
  properties: {
    apiVersion: { type: "string" },
    kind: { type: "string" },
    namespace: { type: "string" },
    name: { type: "string" },
    uid: { type: "string" },
    resourceVersion: { type: "string" },
    fieldPath: { type: "string" },
  },
};

const labelSelector: Schema = {
  type: "object",
  properties: {
    matchLabels: { type: "object", additionalProperties: { type: "string" } },
    matchExpressions: {
      type: "array",
      items: {
        type: "object",
        required: ["key", "operator"],
        properties: {
          key: { type: "string" },
          operator: { type: "string" },
          values: { type: "array", items: { type: "string" } },
        },
      },
    },
  },
};

const result: Schema = {
  type: "object",
  description: "The outcome of one policy rule on the objects it names.",
  required: ["policy"],
  properties: {
    source: { type: "string", description: "The engine that produced the result." },
    policy: { type: "string", description: "The policy (for tollgate: the rule id)." },
    rule: { type: "string", description: "The rule within the policy." },
    category: { type: "string" },
    severity: { type: "string", enum: ["critical", "high", "low", "medium", "info"] },
    timestamp: {
      type: "object",
      required: ["nanos", "seconds"],
      properties: {
        seconds: { type: "integer", format: "int64" },
        nanos: { type: "integer", format: "int32" },
      },
    },
    result: { type: "string", enum: ["pass", "fail", "warn", "error", "skip"] },
    scored: { type: "boolean" },
    message: { type: "string" },
    resources: { type: "array", items: reference },
    resourceSelector: labelSelector,
    properties: { type: "object", additionalProperties: { type: "string" } },
  },
};

const count = (description: string): Schema => ({ type: "integer", description });

const reportSchema: Schema = {
  type: "object",
  properties: {
    apiVersion: { type: "string" },
    kind: { type: "string" },
    metadata: { type: "object" },
    scope: reference,
    scopeSelector: labelSelector,
    summary: {
      type: "object",
      properties: {
        pass: count("Checks whose requirements were met."),
        fail: count("Checks whose requirements were not met."),
        warn: count("Checks not met that do not fail (unscored)."),
        error: count("Checks that could not be evaluated."),
        skip: count("Checks not applied (for tollgate: exempted findings)."),
      },
    },
    results: { type: "array", items: result },
  },
};

const printerColumns = [
  { name: "Kind", type: "string", jsonPath: ".scope.kind", priority: 1 },
  { name: "Name", type: "string", jsonPath: ".scope.name", priority: 1 },
  { name: "Pass", type: "integer", jsonPath: ".summary.pass" },
  { name: "Fail", type: "integer", jsonPath: ".summary.fail" },
  { name: "Warn", type: "integer", jsonPath: ".summary.warn" },
  { name: "Error", type: "integer", jsonPath: ".summary.error" },
  { name: "Skip", type: "integer", jsonPath: ".summary.skip" },
  { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
];

function crd(
  kind: string,
  plural: string,
  shortName: string,
  scope: "Namespaced" | "Cluster",
): KubernetesObject & { spec: Schema } {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${plural}.${REPORT_GROUP}` },
    spec: {
      group: REPORT_GROUP,
      names: { kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase(), shortNames: [shortName] },
      scope,
      versions: [
        {
          name: REPORT_VERSION,
          served: true,
          storage: true,
          additionalPrinterColumns: printerColumns,
          schema: { openAPIV3Schema: reportSchema },
        },
      ],
    },
  };
}

export function policyReportCrds(): (KubernetesObject & { spec: Schema })[] {
  return [
    crd("PolicyReport", "policyreports", "polr", "Namespaced"),
    crd("ClusterPolicyReport", "clusterpolicyreports", "cpolr", "Cluster"),
  ];
}
