import type { V1MatchResources, V1ParamKind, V1ValidatingAdmissionPolicy } from "@kubernetes/client-node";
import {
  type CompiledExpression,
  compileExpression,
  type ExpressionScope,
  ExpressionError,
  positionIn,
} from "../cel/compile.js";
import { type Reads, unionOf } from "../cel/reads.js";

export type FailurePolicy = "Fail" | "Ignore";

/** The status reasons a validation may deny with, and the HTTP code of each, as the apiserver's. */
export const DENIAL_REASONS: Readonly<Record<string, number>> = {
  Unauthorized: 401,
  Forbidden: 403,
  RequestEntityTooLarge: 413,
  Invalid: 422,
};

export interface CompiledValidation {
  readonly expression: CompiledExpression;
  readonly message: string | undefined;
  readonly messageExpression: CompiledExpression | undefined;
  /** The status reason of a denial; `Invalid` when the policy names none. */
  readonly reason: string;
}

export interface CompiledVariable {
  readonly name: string;
  readonly expression: CompiledExpression;
}

export interface CompiledAuditAnnotation {
  readonly key: string;
  readonly valueExpression: CompiledExpression;
}

export interface CompiledMatchCondition {
  readonly name: string;
  readonly expression: CompiledExpression;
}

/** A ValidatingAdmissionPolicy with every expression compiled, ready to evaluate per request. */
export interface CompiledVap {
  readonly name: string;
  /** Where the policy was read from, for messages. */
  readonly location: Location;
  readonly matchConstraints: V1MatchResources;
  readonly paramKind: V1ParamKind | undefined;
  /** Defaulted as the apiserver defaults it: Fail. */
  readonly failurePolicy: FailurePolicy;
  readonly matchConditions: readonly CompiledMatchCondition[];
  readonly variables: readonly CompiledVariable[];
  readonly validations: readonly CompiledValidation[];
  readonly auditAnnotations: readonly CompiledAuditAnnotation[];
  /** What its expressions read of the request, together (see cel/reads.ts). */
  readonly reads: Reads;
  /** The object as loaded, for `tollgate export vap`. */
  readonly manifest: V1ValidatingAdmissionPolicy;
}

/** Where a field of a policy file is: the file, and the 1-based line when known. */
export interface Location {
  file: string;
  line: number | null;
}

/** Finds the line of a field (`spec.validations[2].expression`) in the file the policy came from. */
export type Locate = (field: string) => Location;

/** A policy or binding that cannot be used: where, which object, which field, and what is wrong. */
export class PolicyError extends Error {
  /** The message without the location: `ValidatingAdmissionPolicy "x": field: detail`. */
  readonly detail: string;
  constructor(
    readonly location: Location,
    object: string,
    readonly field: string,
    problem: string,
  ) {
    const detail = `${object === "" ? "" : `${object}: `}${field}: ${problem}`;
    super(`${location.file}${location.line === null ? "" : `:${location.line}`}: ${detail}`);
    this.detail = detail;
    this.name = "PolicyError";
  }
}

const BOOL = ["bool"];
const STRING = ["string"];
const STRING_OR_NULL = ["string", "null"];
const FAILURE_POLICIES: readonly string[] = ["Fail", "Ignore"];

/**
 * Compiles a ValidatingAdmissionPolicy the way the apiserver does at admission: every expression
 * once, variables in order (each sees those before it), `params` only with a `paramKind`.
 * `locate` finds the file and line of a field, for errors.
 */
export function compileVap(policy: V1ValidatingAdmissionPolicy, locate: Locate): CompiledVap {
  const name = policy.metadata?.name;
  if (typeof name !== "string" || name === "") {
    throw new PolicyError(
      locate("metadata"),
      "ValidatingAdmissionPolicy",
      "metadata.name",
      "a policy needs a name",
    );
  }
  const fail = (field: string, detail: string): never => {
    throw new PolicyError(locate(field), `ValidatingAdmissionPolicy "${name}"`, field, detail);
  };
  const spec = policy.spec;
  if (spec === undefined || spec === null || typeof spec !== "object") return fail("spec", "missing");
  const failurePolicy = spec.failurePolicy ?? "Fail";
  if (!FAILURE_POLICIES.includes(failurePolicy)) {
    fail("spec.failurePolicy", `must be Fail or Ignore, not ${JSON.stringify(failurePolicy)}`);
  }
  if (spec.matchConstraints === undefined) {
    fail("spec.matchConstraints", "required: it says which requests the policy sees");
  }
  const validations = spec.validations ?? [];
  const auditAnnotations = spec.auditAnnotations ?? [];
  if (validations.length === 0 && auditAnnotations.length === 0) {
    fail("spec.validations", "a policy needs at least one validation or audit annotation");
  }

  const declared = new Set<string>();
  const scope = (returns?: readonly string[]): ExpressionScope => ({
    params: spec.paramKind !== undefined,
    variables: new Set(declared),
    ...(returns ? { returns } : {}),
  });
  const compile = (expression: unknown, field: string, within: ExpressionScope): CompiledExpression => {
    if (typeof expression !== "string") return fail(field, "must be a string");
    try {
      return compileExpression(expression, within);
    } catch (error) {
      if (!(error instanceof ExpressionError)) throw error;
      const where = error.offset === undefined ? "" : ` (at ${positionIn(expression, error.offset)})`;
      return fail(field, `${error.message}${where}`);
    }
  };

  const matchConditions = (spec.matchConditions ?? []).map((condition, index) => ({
    name: condition.name,
    expression: compile(condition.expression, `spec.matchConditions[${index}].expression`, scope(BOOL)),
  }));
  const variables: CompiledVariable[] = [];
  for (const [index, variable] of (spec.variables ?? []).entries()) {
    const within = scope();
    variables.push({
      name: variable.name,
      expression: compile(variable.expression, `spec.variables[${index}].expression`, within),
    });
    declared.add(variable.name);
  }
  const reasonOf = (reason: unknown, field: string): string => {
    if (reason === undefined) return "Invalid";
    if (typeof reason === "string" && Object.hasOwn(DENIAL_REASONS, reason)) return reason;
    return fail(
      field,
      `unsupported value ${JSON.stringify(reason)}: supported values: ${Object.keys(DENIAL_REASONS)
        .map((r) => `"${r}"`)
        .join(", ")}`,
    );
  };
  const compiled = {
    name,
    location: locate("metadata"),
    matchConstraints: spec.matchConstraints!,
    paramKind: spec.paramKind,
    failurePolicy: failurePolicy as FailurePolicy,
    matchConditions,
    variables,
    validations: validations.map((validation, index) => ({
      expression: compile(validation.expression, `spec.validations[${index}].expression`, scope(BOOL)),
      message: validation.message,
      messageExpression:
        validation.messageExpression === undefined
          ? undefined
          : compile(
              validation.messageExpression,
              `spec.validations[${index}].messageExpression`,
              scope(STRING),
            ),
      reason: reasonOf(validation.reason, `spec.validations[${index}].reason`),
    })),
    auditAnnotations: auditAnnotations.map((annotation, index) => ({
      key: annotation.key,
      valueExpression: compile(
        annotation.valueExpression,
        `spec.auditAnnotations[${index}].valueExpression`,
        scope(STRING_OR_NULL),
      ),
    })),
    manifest: policy,
  };
  const expressions = [
    ...compiled.matchConditions.map((condition) => condition.expression),
    ...compiled.variables.map((variable) => variable.expression),
    ...compiled.validations.flatMap((validation) =>
      validation.messageExpression
        ? [validation.expression, validation.messageExpression]
        : [validation.expression],
    ),
    ...compiled.auditAnnotations.map((annotation) => annotation.valueExpression),
  ];
  return { ...compiled, reads: unionOf(expressions.map((expression) => expression.reads)) };
}
