import type { V1LabelSelector, V1MatchResources, V1ParamKind, V1ParamRef } from "@kubernetes/client-node";
import { type CelValue } from "../cel/values.js";
import { celViewOf, type Reads, type ReadTree, unionOf } from "../cel/reads.js";
import { type CompiledExpression } from "../cel/compile.js";
import { meterInto, type MeteredInto, PER_CALL_LIMIT, RUNTIME_BUDGET, spentSoFar } from "../cel/cost.js";
import { isRecord, metadataMap } from "../objects/object.js";
import { selectorMatches } from "../objects/selectors.js";
import type { CompiledVap, FailurePolicy } from "./compile.js";
import type { VapRequest } from "../objects/request.js";
import {
  MatchError,
  matchesResources,
  namesResources,
  resourceKeyOf,
  sameResourceKey,
  resourceRulesMatch,
  selectorsMatch,
} from "./match.js";

export type { VapRequest } from "../objects/request.js";

export type ValidationAction = "Deny" | "Warn" | "Audit";

/** A binding as tollgate holds it; a policy loaded without one gets an implicit `[Deny]` binding. */
export interface VapBinding {
  /** undefined for the implicit binding of a policy that has none in the files. */
  name: string | undefined;
  policyName: string;
  validationActions: readonly ValidationAction[];
  matchResources: V1MatchResources | undefined;
  paramRef: V1ParamRef | undefined;
}

/** Where param objects come from: the loaded files offline, the informer cache in the webhook. */
export interface ParamSource {
  /** Is the param kind namespaced? undefined when tollgate does not know the kind. */
  namespaced(kind: V1ParamKind): boolean | undefined;
  get(kind: V1ParamKind, namespace: string, name: string): unknown;
  list(kind: V1ParamKind, namespace: string): readonly unknown[];
}

/** What one policy, through one binding, says of one request (one entry per failed validation). */
export type VapOutcome =
  | {
      kind: "violation";
      /** The index in `spec.validations`. */
      validation: number;
      message: string;
      reason: string;
    }
  | {
      /** The policy could not be evaluated: the request is refused when its failurePolicy is Fail. */
      kind: "error";
      message: string;
    };

export interface VapVerdict {
  policy: CompiledVap;
  binding: VapBinding;
  outcomes: VapOutcome[];
  /** Values of the policy's auditAnnotations, by key, where they evaluated to a string. */
  auditAnnotations: Record<string, string>;
}

/** The largest messageExpression result the apiserver keeps (celconfig.MaxEvaluatedMessageExpressionSizeBytes). */
const MAX_MESSAGE_BYTES = 5 * 1024;

/** Is the text at most MAX_MESSAGE_BYTES in UTF-8? A UTF-16 unit takes at most 3 bytes: most are measured without a walk. */
function fitsMessageBytes(text: string): boolean {
  return text.length * 3 <= MAX_MESSAGE_BYTES || Buffer.byteLength(text) <= MAX_MESSAGE_BYTES;
}

function messageOf(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0]!;
}

interface Activation {
  object: CelValue;
  oldObject: CelValue;
  request: CelValue;
  params: CelValue;
  namespaceObject: CelValue;
  variables: Record<string, CelValue>;
}

class ExpressionFailed extends Error {
  override name = "ExpressionFailed";
}

/**
 * What the expressions of one pass (the match conditions, the validations with their messages, the
 * audit annotations) may still spend, as the apiserver's remainingBudget in its CEL filter.
 */
interface Budget {
  remaining: number;
}

/** The apiserver's words when a pass has spent its budget; the pass stops there. */
class BudgetSpent extends Error {
  override name = "BudgetSpent";
  constructor() {
    super("validation failed due to running out of cost budget, no further validation rules will be run");
  }
}

/** What the evaluation running now gave; evaluations run one at a time, so one object serves all. */
const result: MeteredInto = { ok: true, value: undefined, error: undefined, cost: 0 };

/**
 * What the variables computed during the evaluation running now were charged (see lazyVariables),
 * and how deep in variables that read variables the computation is.
 */
const variableCharges = { spent: 0, depth: 0 };

function run(expression: CompiledExpression, activation: Activation, budget: Budget): unknown {
  const closures = expression.closures;
  // The closures give up on any error, even one CEL would absorb; cel-js then has the last word.
  // A variable the attempt computed is kept and not charged again: the retry starts with its cost.
  variableCharges.spent = 0;
  if (closures === undefined || !meterInto(result, PER_CALL_LIMIT, closures, activation))
    meterInto(result, PER_CALL_LIMIT, expression.evaluate, activation, variableCharges.spent);
  budget.remaining -= result.cost;
  if (budget.remaining < 0) throw new BudgetSpent();
  if (!result.ok) {
    throw new ExpressionFailed(
      `expression '${expression.source}' resulted in error: ${messageOf(result.error)}`,
    );
  }
  const value = result.value;
  result.value = undefined;
  return value;
}

/**
 * `variables.<name>`, each computed on first use and at most once, as the apiserver's composition.
 * A variable that fails fails the expression that reads it with the apiserver's words
 * (`composited variable "x" fails to evaluate: ...`), which that expression's own error then wraps.
 */
function lazyVariables(policy: CompiledVap, activation: Activation): Record<string, CelValue> {
  const values: Record<string, CelValue> = {};
  for (const variable of policy.variables) {
    let state: { value: CelValue } | { error: Error } | undefined;
    Object.defineProperty(values, variable.name, {
      enumerable: true,
      get(): CelValue {
        if (state === undefined) {
          const before = spentSoFar();
          variableCharges.depth++;
          try {
            state = { value: variable.expression.evaluate(activation) as CelValue };
          } catch (error) {
            state = {
              error: new ExpressionFailed(
                `composited variable ${JSON.stringify(variable.name)} fails to evaluate: ${messageOf(error)}`,
              ),
            };
          } finally {
            // A variable read inside another is part of the outer one's charge.
            if (--variableCharges.depth === 0) variableCharges.spent += spentSoFar() - before;
          }
        }
        if ("error" in state) throw state.error;
        return state.value;
      },
    });
  }
  return values;
}

function failure(policy: FailurePolicy, message: string): VapOutcome[] {
  return policy === "Fail" ? [{ kind: "error", message }] : [];
}

/**
 * The params a binding names, as the apiserver's CollectParams: none without a paramKind or
 * paramRef (the policy runs once with `params` null), one by name, any number by selector.
 * Returns an error message where the apiserver fails the binding.
 */
export function collectParams(
  kind: V1ParamKind | undefined,
  ref: V1ParamRef | undefined,
  requestNamespace: string,
  source: ParamSource,
): { params: unknown[] } | { error: string } {
  if (kind === undefined || ref === undefined) return { params: [null] };
  const namespaced = source.namespaced(kind);
  if (namespaced === undefined)
    return {
      error: `failed to configure binding: paramKind kind \`${kind.apiVersion}, Kind=${kind.kind}\` not known`,
    };
  let namespace = "";
  if (namespaced) {
    namespace = ref.namespace || requestNamespace;
    if (namespace === "") {
      return {
        error:
          "failed to configure binding: cannot use namespaced paramRef in policy binding that matches cluster-scoped resources",
      };
    }
  } else if (ref.namespace) {
    return {
      error:
        "failed to configure binding: paramRef.namespace must not be provided for a cluster-scoped `paramKind`",
    };
  }
  let params: unknown[];
  if (ref.name) {
    const param = source.get(kind, namespace, ref.name);
    params = param === undefined ? [] : [param];
  } else {
    const selector: V1LabelSelector = ref.selector ?? {};
    params = source
      .list(kind, namespace)
      .filter((param) =>
        selectorMatches(
          selector,
          metadataMap(isRecord(param) ? param : undefined, "labels") as Readonly<Record<string, string>>,
        ),
      );
  }
  if (params.length === 0 && ref.parameterNotFoundAction === "Deny") {
    return {
      error:
        "failed to configure binding: no params found for policy binding with `Deny` parameterNotFoundAction",
    };
  }
  return { params };
}

/**
 * One policy with one param, in the apiserver's passes: the match conditions; the validations, then
 * the messageExpressions of those that failed with what the validations left of the budget; the
 * audit annotations. A pass that spends its budget fails the policy as a whole, per failurePolicy.
 */
function validate(policy: CompiledVap, activation: Activation, verdict: VapVerdict): void {
  const matchConditions = policy.matchConditions;
  if (matchConditions.length > 0) {
    const conditions: Budget = { remaining: RUNTIME_BUDGET };
    for (const condition of matchConditions) {
      let matched: unknown;
      try {
        matched = run(condition.expression, activation, conditions);
      } catch (error) {
        verdict.outcomes.push(...failure(policy.failurePolicy, messageOf(error)));
        return;
      }
      if (matched !== true) return;
    }
  }
  const budget: Budget = { remaining: RUNTIME_BUDGET };
  // What the validations say, kept apart until they all ran: a pass that spends its budget
  // answers with that failure alone.
  let outcomes: VapOutcome[] | undefined;
  let failed: number[] | undefined;
  const validations = policy.validations;
  for (let index = 0; index < validations.length; index++) {
    const validation = validations[index]!;
    let passed: unknown;
    try {
      passed = run(validation.expression, activation, budget);
    } catch (error) {
      if (error instanceof BudgetSpent) {
        verdict.outcomes.push(...failure(policy.failurePolicy, error.message));
        return;
      }
      (outcomes ??= []).push(...failure(policy.failurePolicy, messageOf(error)));
      continue;
    }
    if (passed !== true) (failed ??= []).push(index);
  }
  if (outcomes !== undefined) verdict.outcomes.push(...outcomes);
  if (failed !== undefined) {
    for (const index of failed) {
      const validation = validations[index]!;
      verdict.outcomes.push({
        kind: "violation",
        validation: index,
        message: failureMessage(validation, activation, budget),
        reason: validation.reason,
      });
    }
  }
  if (policy.auditAnnotations.length === 0) return;
  const annotations: Budget = { remaining: RUNTIME_BUDGET };
  for (const annotation of policy.auditAnnotations) {
    try {
      const value = run(annotation.valueExpression, activation, annotations);
      if (typeof value === "string") verdict.auditAnnotations[annotation.key] = value;
    } catch (error) {
      verdict.outcomes.push(...failure(policy.failurePolicy, messageOf(error)));
      if (error instanceof BudgetSpent) return;
    }
  }
}

/**
 * The message of a failed validation, as the apiserver picks it: the messageExpression's value when
 * it is a non-blank single-line string of at most 5 KiB, else `message`, else the expression.
 */
function failureMessage(
  validation: CompiledVap["validations"][number],
  activation: Activation,
  budget: Budget,
): string {
  if (validation.messageExpression) {
    try {
      const value = run(validation.messageExpression, activation, budget);
      if (typeof value === "string") {
        const message = value.trim();
        if (message !== "" && fitsMessageBytes(message) && !message.includes("\n")) {
          return message;
        }
      }
    } catch {
      // The apiserver only logs a failing messageExpression and falls back, as here.
    }
  }
  const message = validation.message?.trim() ?? "";
  return message !== "" ? message : `failed expression: ${validation.expression.source.trim()}`;
}

const viewOf = (value: unknown, tree: ReadTree | undefined): CelValue =>
  tree === undefined ? null : celViewOf(value, tree);

/** The variables of a policy that declares none. */
const NO_VARIABLES: Record<string, CelValue> = Object.freeze({});

/**
 * The activation the policies of one request share: the request's values as CEL sees them,
 * converted once however many policies run, and only as far as `reads` says their expressions
 * read them (a variable no expression reads is null); each evaluation sets `params` and `variables`.
 */
function activationOf(input: VapRequest, reads: Reads): Activation {
  return {
    object: viewOf(input.object, reads.object),
    oldObject: viewOf(input.oldObject, reads.oldObject),
    request: viewOf(input.request, reads.request),
    params: null,
    namespaceObject: viewOf(input.namespaceObject, reads.namespaceObject),
    variables: NO_VARIABLES,
  };
}

/** The params a binding is run with when its policy has no paramKind or it has no paramRef. */
const NO_PARAMS: { params: unknown[] } = { params: [null] };

/**
 * What a policy whose match constraints select the request (or failed to: `matched` is then the
 * error) says through one binding, into `verdict` (empty, naming the policy and the binding);
 * false when the binding's match resources do not select the request.
 */
function judgeBinding(
  verdict: VapVerdict,
  input: VapRequest,
  params: ParamSource,
  reads: Reads,
  activation: Activation,
  matched: true | MatchError,
): boolean {
  const { policy, binding } = verdict;
  try {
    if (matched !== true) throw matched;
    if (binding.matchResources && !matchesResources(binding.matchResources, input.attributes)) return false;
  } catch (error) {
    if (!(error instanceof MatchError)) throw error;
    verdict.outcomes.push(...failure(policy.failurePolicy, error.message));
    return true;
  }
  const collected =
    policy.paramKind === undefined || binding.paramRef === undefined
      ? NO_PARAMS
      : collectParams(policy.paramKind, binding.paramRef, input.attributes.namespace, params);
  if ("error" in collected) {
    verdict.outcomes.push(...failure(policy.failurePolicy, collected.error));
    return true;
  }
  for (const param of collected.params) {
    activation.params = param === null ? null : viewOf(param, reads.params);
    activation.variables = policy.variables.length === 0 ? NO_VARIABLES : lazyVariables(policy, activation);
    validate(policy, activation, verdict);
  }
  return true;
}

const newVerdict = (policy: CompiledVap, binding: VapBinding): VapVerdict => ({
  policy,
  binding,
  outcomes: [],
  auditAnnotations: {},
});

/** Does the policy's match select the request: true, false, or the error the apiserver answers. */
function policyMatches(policy: CompiledVap, attributes: VapRequest["attributes"]): boolean | MatchError {
  try {
    return matchesResources(policy.matchConstraints, attributes);
  } catch (error) {
    if (!(error instanceof MatchError)) throw error;
    return error;
  }
}

/**
 * What a policy, through a binding, says of a request; undefined when it does not apply (its match
 * constraints or the binding's match resources do not select the request). `reads` says what to
 * convert of the request: the policy's own reads, or more (WHOLE_READS converts everything); it
 * must hold the policy's reads. It converts the request on each call: the webhook and the CLI
 * judge through a PolicySetJudge, which converts it once for all the policies of a set.
 */
export function evaluateVap(
  policy: CompiledVap,
  binding: VapBinding,
  input: VapRequest,
  params: ParamSource,
  reads: Reads = policy.reads,
): VapVerdict | undefined {
  const matched = policyMatches(policy, input.attributes);
  if (matched === false) return undefined;
  const verdict = newVerdict(policy, binding);
  return judgeBinding(verdict, input, params, reads, activationOf(input, reads), matched)
    ? verdict
    : undefined;
}

/** What a PolicySetJudge judges with: a PolicySet's (vap/load.ts) policies, bindings and params. */
export interface JudgedSet {
  policies: readonly CompiledVap[];
  bindings: readonly VapBinding[];
  params: ParamSource;
}

/** What a PolicySetJudge keeps of one request while its policies judge it. */
interface RequestState {
  activation: Activation;
  /** For each policy, whether its resource rules select the request (1) or not (0). */
  selected: Uint8Array;
}

/** The most request shapes (operation, resource, scope) a judge remembers the resource rules' answer for. */
const MAX_RESOURCE_KEYS = 256;

/**
 * The policies of a set, ready to judge requests together: what every policy reads is converted
 * once per request (see cel/reads.ts) into one activation they share, and which policies' resource
 * rules select a request is worked out once per request shape, not once per policy and request.
 */
export class PolicySetJudge {
  readonly #policies: readonly CompiledVap[];
  readonly #bindings: readonly (readonly VapBinding[])[];
  readonly #params: ParamSource;
  readonly #reads: Reads;
  /** Policies whose resource rules name resources: they read the request's name, and are matched per request. */
  readonly #named: readonly boolean[];
  readonly #byResource = new Map<string, Uint8Array>();
  /** The shape `#selected` answered last, and its answer. */
  #lastShape: { attributes: VapRequest["attributes"]; selected: Uint8Array } | undefined;
  /**
   * The request being judged. The engine runs the policies of a request one after another, so a
   * policy is asked either about the request the one before it judged or about a new one: one
   * request is kept, until the next (a WeakMap per request cost more than all of its lookups saved).
   */
  #last: { input: VapRequest; state: RequestState } | undefined;
  /** The verdict `outcomes` judges each binding into, emptied each time (one allocation per judge, not per binding). */
  #scratch: VapVerdict | undefined;

  constructor(set: JudgedSet) {
    this.#policies = set.policies;
    this.#bindings = set.policies.map((policy) =>
      set.bindings.filter((binding) => binding.policyName === policy.name),
    );
    this.#params = set.params;
    this.#reads = unionOf(set.policies.map((policy) => policy.reads));
    this.#named = set.policies.map((policy) => namesResources(policy.matchConstraints));
  }

  #stateOf(input: VapRequest): RequestState {
    const last = this.#last;
    if (last !== undefined && last.input === input) return last.state;
    const state = {
      activation: activationOf(input, this.#reads),
      selected: this.#selected(input.attributes),
    };
    this.#last = { input, state };
    return state;
  }

  #selected(attributes: VapRequest["attributes"]): Uint8Array {
    // Requests come in runs of one shape (a Deployment's Pods, a CI's applies): the last shape's
    // answer is found by comparing its parts, without making the key and hashing it.
    const last = this.#lastShape;
    if (last !== undefined && sameResourceKey(last.attributes, attributes)) return last.selected;
    const key = resourceKeyOf(attributes);
    let selected = this.#byResource.get(key);
    if (selected === undefined) {
      selected = new Uint8Array(this.#policies.length);
      for (const [index, policy] of this.#policies.entries()) {
        if (!this.#named[index] && resourceRulesMatch(policy.matchConstraints, attributes))
          selected[index] = 1;
      }
      if (this.#byResource.size >= MAX_RESOURCE_KEYS) this.#byResource.clear();
      this.#byResource.set(key, selected);
    }
    this.#lastShape = { attributes, selected };
    return selected;
  }

  /**
   * Whether the match constraints of the policy at `index` select the request: true, false, or
   * the error the apiserver answers.
   */
  #matched(index: number, input: VapRequest, state: RequestState): boolean | MatchError {
    const policy = this.#policies[index]!;
    const attributes = input.attributes;
    const rules = this.#named[index]
      ? resourceRulesMatch(policy.matchConstraints, attributes)
      : state.selected[index] === 1;
    return rules && selectorsMatch(policy.matchConstraints, attributes);
  }

  /** What the policy at `index` of the set says of a request through each of its bindings that applies. */
  verdicts(index: number, input: VapRequest): VapVerdict[] {
    const state = this.#stateOf(input);
    const matched = this.#matched(index, input, state);
    if (matched === false) return [];
    const policy = this.#policies[index]!;
    const verdicts: VapVerdict[] = [];
    for (const binding of this.#bindings[index]!) {
      const verdict = newVerdict(policy, binding);
      if (judgeBinding(verdict, input, this.#params, this.#reads, state.activation, matched))
        verdicts.push(verdict);
    }
    return verdicts;
  }

  /**
   * The outcomes of `verdicts`, each made into what `make` makes of it with its binding, in the same
   * order, without keeping a verdict per binding (the engine needs the findings only). The audit
   * annotations are left out.
   */
  outcomes<T>(
    index: number,
    input: VapRequest,
    make: (policy: CompiledVap, binding: VapBinding, outcome: VapOutcome) => T,
  ): T[] {
    // Most policies find nothing; one that does mostly finds one thing: an array of exactly what was
    // made, not the room a push on an empty array reserves.
    let made: T[] | undefined;
    const state = this.#stateOf(input);
    const matched = this.#matched(index, input, state);
    if (matched === false) return [];
    const policy = this.#policies[index]!;
    for (const binding of this.#bindings[index]!) {
      const verdict = (this.#scratch ??= newVerdict(policy, binding));
      verdict.policy = policy;
      verdict.binding = binding;
      // Setting an array's length is a call into the runtime: only when there is something to drop.
      if (verdict.outcomes.length > 0) verdict.outcomes.length = 0;
      if (policy.auditAnnotations.length > 0) verdict.auditAnnotations = {};
      if (!judgeBinding(verdict, input, this.#params, this.#reads, state.activation, matched)) continue;
      for (const outcome of verdict.outcomes) {
        const one = make(policy, binding, outcome);
        if (made === undefined) made = [one];
        else made.push(one);
      }
      if (verdict.outcomes.length > 0) verdict.outcomes.length = 0;
    }
    return made ?? [];
  }
}
