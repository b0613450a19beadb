import { Ajv, type ErrorObject } from "ajv";

/**
 * The shape of an AdmissionReview v1 request, as far as tollgate relies on it. The object
 * itself is left open: rules read it defensively, and the apiserver has validated it already.
 */
export const admissionReviewSchema = {
  type: "object",
  required: ["apiVersion", "kind", "request"],
  properties: {
    apiVersion: { const: "admission.k8s.io/v1" },
    kind: { const: "AdmissionReview" },
    request: {
      type: "object",
      required: ["uid", "kind", "operation"],
      properties: {
        uid: { type: "string", minLength: 1 },
        kind: {
          type: "object",
          required: ["kind"],
          properties: {
            group: { type: "string" },
            version: { type: "string" },
            kind: { type: "string", minLength: 1 },
          },
        },
        resource: {
          type: "object",
          properties: {
            group: { type: "string" },
            version: { type: "string" },
            resource: { type: "string" },
          },
        },
        requestKind: {
          type: "object",
          required: ["kind"],
          properties: {
            group: { type: "string" },
            version: { type: "string" },
            kind: { type: "string", minLength: 1 },
          },
        },
        requestResource: {
          type: "object",
          properties: {
            group: { type: "string" },
            version: { type: "string" },
            resource: { type: "string" },
          },
        },
        subResource: { type: "string" },
        name: { type: "string" },
        namespace: { type: "string" },
        operation: { enum: ["CREATE", "UPDATE", "DELETE", "CONNECT"] },
        userInfo: {
          type: "object",
          properties: {
            username: { type: "string" },
            groups: { type: "array", items: { type: "string" } },
          },
        },
        object: { type: ["object", "null"] },
        oldObject: { type: ["object", "null"] },
        dryRun: { type: "boolean" },
      },
    },
  },
} as const;

export interface AdmissionRequest {
  uid: string;
  kind: { group?: string; version?: string; kind: string };
  resource?: { group?: string; version?: string; resource?: string };
  /** What the requester asked for, before the apiserver converted it to the webhook's version. */
  requestKind?: { group?: string; version?: string; kind: string };
  requestResource?: { group?: string; version?: string; resource?: string };
  subResource?: string;
  name?: string;
  namespace?: string;
  operation: "CREATE" | "UPDATE" | "DELETE" | "CONNECT";
  userInfo?: { username?: string; groups?: string[] };
  object?: Record<string, unknown> | null;
  oldObject?: Record<string, unknown> | null;
  dryRun?: boolean;
}

export interface AdmissionReview {
  apiVersion: "admission.k8s.io/v1";
  kind: "AdmissionReview";
  request: AdmissionRequest;
}

const ajv = new Ajv({ allErrors: false, strict: true, allowUnionTypes: true });
const validate = ajv.compile<AdmissionReview>(admissionReviewSchema);

function describe(error: ErrorObject): string {
  const field = error.instancePath.replace(/^\//, "").replaceAll("/", ".");
  if (error.keyword === "required") {
    const missing = (error.params as { missingProperty: string }).missingProperty;
    return `${field ? `${field}.` : ""}${missing} is required`;
  }
  if (error.keyword === "const") {
    const allowed = (error.params as { allowedValue: unknown }).allowedValue;
    return `${field} must be ${JSON.stringify(allowed)}`;
  }
  if (error.keyword === "enum") {
    const allowed = (error.params as { allowedValues: unknown[] }).allowedValues;
    return `${field} must be one of ${allowed.map((v) => JSON.stringify(v)).join(", ")}`;
  }
  return `${field || "body"} ${error.message ?? "is invalid"}`;
}

/** Narrow a parsed body to an AdmissionReview, or say what is wrong with it. */
export function parseReview(body: unknown): { review: AdmissionReview } | { error: string } {
  if (validate(body)) return { review: body };
  const error = validate.errors?.[0];
  return { error: `not an AdmissionReview v1: ${error ? describe(error) : "invalid"}` };
}
