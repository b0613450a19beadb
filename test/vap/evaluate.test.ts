import { describe, expect, it } from "vitest";
import { evaluateVap, PolicySetJudge, type VapOutcome } from "../../src/vap/evaluate.js";
import type { PolicySet } from "../../src/vap/load.js";
import { policySetOf, requestFor } from "./support.js";

const REPLICAS = `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: max-replicas}
spec:
  matchConstraints:
    resourceRules:
      - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [deployments]}
  validations:
    - expression: "object.spec.replicas <= 5"
      message: "at most 5 replicas"
    - expression: "object.spec.replicas % 2 == 1"
      messageExpression: "'replicas must be odd, got ' + string(object.spec.replicas)"
    - expression: "has(object.metadata.labels) && 'team' in object.metadata.labels"
`;

function deployment(replicas: number, labels?: Record<string, string>) {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "team-a", ...(labels ? { labels } : {}) },
    spec: { replicas },
  };
}

/** Every outcome of every binding of the set for one request, as `policy/binding: outcome` lines. */
function outcomesOf(set: PolicySet, request: ReturnType<typeof requestFor>): string[] {
  return set.bindings.flatMap((binding) => {
    const policy = set.policies.find((candidate) => candidate.name === binding.policyName)!;
    const verdict = evaluateVap(policy, binding, request, set.params);
    return (verdict?.outcomes ?? []).map(
      (outcome: VapOutcome) =>
        `${policy.name}/${binding.name ?? "-"}: ${outcome.kind === "violation" ? `#${outcome.validation} ${outcome.reason} ` : "error "}${outcome.message}`,
    );
  });
}

describe("a ValidatingAdmissionPolicy evaluated as the apiserver does", () => {
  it("reports each failed validation with message, messageExpression or the expression", () => {
    const { set, errors } = policySetOf(REPLICAS);
    expect(errors).toEqual([]);
    expect(set.implicitlyBound).toEqual(["max-replicas"]);
    expect(outcomesOf(set, requestFor(deployment(8)))).toEqual([
      "max-replicas/-: #0 Invalid at most 5 replicas",
      "max-replicas/-: #1 Invalid replicas must be odd, got 8",
      "max-replicas/-: #2 Invalid failed expression: has(object.metadata.labels) && 'team' in object.metadata.labels",
    ]);
    expect(outcomesOf(set, requestFor(deployment(3, { team: "a" })))).toEqual([]);
  });

  it('sees JSON integers as CEL ints: string(3) is "3" and 3 % 2 is int arithmetic', () => {
    const { set } = policySetOf(REPLICAS);
    expect(outcomesOf(set, requestFor(deployment(4, { team: "a" })))).toEqual([
      "max-replicas/-: #1 Invalid replicas must be odd, got 4",
    ]);
  });

  it("falls back to message when the messageExpression fails, is blank or spans lines", () => {
    const { set, errors } = policySetOf(`
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: fallbacks}
spec:
  matchConstraints: {resourceRules: [{apiGroups: ["*"], apiVersions: ["*"], operations: ["*"], resources: ["*"]}]}
  validations:
    - {expression: "false", message: "  fixed message  ", messageExpression: "string(object.nope)"}
    - {expression: "false", message: "second", messageExpression: "'   '"}
    - {expression: "false", message: "third", messageExpression: "'two\\\\nlines'"}
    - {expression: "false", messageExpression: "''"}
`);
    expect(errors).toEqual([]);
    expect(outcomesOf(set, requestFor(deployment(1)))).toEqual([
      "fallbacks/-: #0 Invalid fixed message",
      "fallbacks/-: #1 Invalid second",
      "fallbacks/-: #2 Invalid third",
      "fallbacks/-: #3 Invalid failed expression: false",
    ]);
  });

  it("keeps a messageExpression of at most 5 KiB in UTF-8 and falls back past it", () => {
    // 'é' is 2 bytes and '€' 3: the limit counts bytes, not characters.
    const texts = {
      asciiOver: "a".repeat(5121),
      twoByteOver: "é".repeat(2561),
      twoByteAt: "é".repeat(2560),
      threeByteAt: "€".repeat(1706),
      threeByteOver: "€".repeat(1707),
    };
    const { set, errors } = policySetOf(`
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: long-messages}
spec:
  matchConstraints: {resourceRules: [{apiGroups: ["*"], apiVersions: ["*"], operations: ["*"], resources: ["*"]}]}
  validations:
${Object.keys(texts)
  .map(
    (key) =>
      `    - {expression: "false", message: "${key}", messageExpression: "string(object.metadata.labels.${key})"}\n`,
  )
  .join("")}`);
    expect(errors).toEqual([]);
    const messages = outcomesOf(set, requestFor(deployment(1, texts))).map((line) =>
      line.length > 60 ? `${line.slice(0, 29)}…(${line.length})` : line,
    );
    const prefix = (index: number) => `long-messages/-: #${index} Invalid `;
    expect(messages).toEqual([
      `${prefix(0)}asciiOver`,
      `${prefix(1)}twoByteOver`,
      `${prefix(2)}é…(${prefix(2).length + 2560})`,
      `${prefix(3)}€…(${prefix(3).length + 1706})`,
      `${prefix(4)}threeByteOver`,
    ]);
  });

  it("skips a policy whose matchConditions are false, and fails per failurePolicy on errors", () => {
    const { set, errors } = policySetOf(`
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: conditional}
spec:
  failurePolicy: Fail
  matchConstraints: {resourceRules: [{apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments]}]}
  matchConditions:
    - {name: only-big, expression: "object.spec.replicas > 2"}
  validations:
    - {expression: "object.spec.template.spec.containers.size() > 0", message: "needs containers"}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: ignored}
spec:
  failurePolicy: Ignore
  matchConstraints: {resourceRules: [{apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments]}]}
  validations:
    - {expression: "object.spec.template.spec.containers.size() > 0"}
`);
    expect(errors).toEqual([]);
    expect(outcomesOf(set, requestFor(deployment(1)))).toEqual([]);
    const [failed] = outcomesOf(set, requestFor(deployment(3)));
    expect(failed).toMatch(
      /^conditional\/-: error expression 'object\.spec\.template\.spec\.containers\.size\(\) > 0' resulted in error: /,
    );
    expect(outcomesOf(set, requestFor(deployment(3)))).toHaveLength(1);
  });

  it("computes variables once, in order, and lets a later one use an earlier one", () => {
    const { set, errors } = policySetOf(`
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: vars}
spec:
  matchConstraints: {resourceRules: [{apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments]}]}
  variables:
    - {name: replicas, expression: "object.spec.replicas"}
    - {name: doubled, expression: "variables.replicas * 2"}
  validations:
    - {expression: "variables.doubled < 10", messageExpression: "'doubled is ' + string(variables.doubled)"}
`);
    expect(errors).toEqual([]);
    expect(outcomesOf(set, requestFor(deployment(6)))).toEqual(["vars/-: #0 Invalid doubled is 12"]);
  });

  it("fails an expression that reads a failing variable with the apiserver's words for it", () => {
    const { set, errors } = policySetOf(`
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: var-error}
spec:
  matchConstraints: {resourceRules: [{apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments]}]}
  variables:
    - {name: owner, expression: "object.metadata.labels['owner']"}
    - {name: shout, expression: "variables.owner.upperAscii()"}
  validations:
    - {expression: "variables.owner != 'nobody'"}
    - {expression: "variables.shout != 'NOBODY'"}
`);
    expect(errors).toEqual([]);
    // As k8s.io/apiserver's composition: the variable's error, wrapped once by each reader.
    expect(outcomesOf(set, requestFor(deployment(1)))).toEqual([
      `var-error/-: error expression 'variables.owner != 'nobody'' resulted in error: composited variable "owner" fails to evaluate: No such key: labels`,
      `var-error/-: error expression 'variables.shout != 'NOBODY'' resulted in error: composited variable "shout" fails to evaluate: composited variable "owner" fails to evaluate: No such key: labels`,
    ]);
    expect(outcomesOf(set, requestFor(deployment(1, { owner: "nobody" })))).toEqual([
      "var-error/-: #0 Invalid failed expression: variables.owner != 'nobody'",
      "var-error/-: #1 Invalid failed expression: variables.shout != 'NOBODY'",
    ]);
  });

  it("runs a binding's actions, match resources and params by name and by selector", () => {
    const policies = `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: limit}
spec:
  paramKind: {apiVersion: v1, kind: ConfigMap}
  matchConstraints: {resourceRules: [{apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments]}]}
  validations:
    - {expression: "object.spec.replicas <= int(params.data.max)", messageExpression: "'more than ' + params.data.max"}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: by-name}
spec:
  policyName: limit
  validationActions: [Deny]
  paramRef: {name: limits, namespace: policy, parameterNotFoundAction: Deny}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: by-selector}
spec:
  policyName: limit
  validationActions: [Warn, Audit]
  matchResources: {namespaceSelector: {matchLabels: {tier: prod}}}
  paramRef: {selector: {matchLabels: {kind: limit}}, parameterNotFoundAction: Allow}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: limits, namespace: policy}
data: {max: "4"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: strict, namespace: team-a, labels: {kind: limit}}
data: {max: "2"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: lax, namespace: team-a, labels: {kind: limit}}
data: {max: "9"}
`;
    const { set, errors } = policySetOf(policies);
    expect(errors).toEqual([]);
    expect(set.implicitlyBound).toEqual([]);
    expect(set.bindings.map((binding) => [binding.name, binding.validationActions])).toEqual([
      ["by-name", ["Deny"]],
      ["by-selector", ["Warn", "Audit"]],
    ]);
    expect(outcomesOf(set, requestFor(deployment(5), { namespaceLabels: { tier: "prod" } }))).toEqual([
      "limit/by-name: #0 Invalid more than 4",
      "limit/by-selector: #0 Invalid more than 2",
    ]);
    // Outside prod the selector binding does not apply at all.
    expect(outcomesOf(set, requestFor(deployment(3)))).toEqual([]);

    const missing = policySetOf(
      policies.replace("name: limits, namespace: policy", "name: gone, namespace: policy"),
    );
    expect(outcomesOf(missing.set, requestFor(deployment(1)))).toEqual([
      "limit/by-name: error failed to configure binding: no params found for policy binding with `Deny` parameterNotFoundAction",
    ]);
  });

  it("does not apply to requests outside matchConstraints or inside excludeResourceRules", () => {
    const { set } = policySetOf(
      REPLICAS.replace(
        "  validations:",
        '    excludeResourceRules:\n      - {apiGroups: [apps], apiVersions: [v1], operations: ["*"], resources: [deployments], resourceNames: [legacy]}\n  validations:',
      ),
    );
    const legacy = deployment(9);
    legacy.metadata.name = "legacy";
    expect(outcomesOf(set, requestFor(legacy))).toEqual([]);
    expect(
      outcomesOf(set, requestFor({ apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, spec: {} })),
    ).toEqual([]);
    expect(outcomesOf(set, requestFor(deployment(9)))).toHaveLength(2);
  });
});

describe("loading policies: one clear error per problem, with file, line, policy and field", () => {
  const policy = (body: string, name = "p") => `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: ${name}}
spec:
  matchConstraints: {resourceRules: [{apiGroups: ["*"], apiVersions: ["*"], operations: ["*"], resources: ["*"]}]}
${body}`;

  it("names the position of a syntax error", () => {
    const { errors, set } = policySetOf(policy('  validations:\n    - expression: "object.spec =="'));
    expect(set.policies).toEqual([]);
    expect(errors).toEqual([
      {
        file: "policies.yaml",
        line: 7,
        message:
          'ValidatingAdmissionPolicy "p": spec.validations[0].expression: syntax error: Unexpected token: EOF (at 1:15)',
      },
    ]);
  });

  it("refuses an unknown function, a non-bool validation, params without paramKind and authorizer", () => {
    const { errors } = policySetOf(
      [
        policy('  validations:\n    - expression: "object.metadata.name.shout()"', "unknown-fn"),
        policy('  validations:\n    - expression: "object.spec.paused"', "not-bool"),
        policy('  validations:\n    - expression: "params.max > 1"', "no-param-kind"),
        policy(
          "  validations:\n    - expression: \"authorizer.group('').resource('pods').check('get').allowed()\"",
          "authz",
        ),
        policy(
          '  variables: [{name: a, expression: "variables.b"}, {name: b, expression: "1"}]\n  validations:\n    - expression: "true"',
          "later-var",
        ),
      ].join("\n---\n"),
    );
    expect(errors.map((error) => `${error.line}: ${error.message}`)).toEqual([
      "7: ValidatingAdmissionPolicy \"unknown-fn\": spec.validations[0].expression: type error: found no matching overload for 'dyn.shout()' (at 1:1)",
      '15: ValidatingAdmissionPolicy "not-bool": spec.validations[0].expression: must evaluate to bool but got dyn',
      "23: ValidatingAdmissionPolicy \"no-param-kind\": spec.validations[0].expression: undeclared reference to 'params' (the policy has no spec.paramKind) (at 1:1)",
      "31: ValidatingAdmissionPolicy \"authz\": spec.validations[0].expression: 'authorizer' is not supported: tollgate cannot run the apiserver's authorization checks outside the apiserver; keep this policy in the apiserver (tollgate export vap) (at 1:1)",
      "38: ValidatingAdmissionPolicy \"later-var\": spec.variables[0].expression: undeclared reference to 'variables.b' (a variable can use only those declared before it) (at 1:1)",
    ]);
  });

  it("refuses a wrong apiVersion, a binding to a missing policy, a built-in id and Deny with Warn", () => {
    const { errors } = policySetOf(
      [
        policy('  validations: [{expression: "true"}]').replace("/v1\n", "/v1beta1\n"),
        `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: b}
spec: {policyName: nowhere, validationActions: [Deny]}`,
        policy('  validations: [{expression: "true"}]', "run-as-root"),
        `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: both}
spec: {policyName: p, validationActions: [Deny, Warn]}`,
      ].join("\n---\n"),
      ["run-as-root"],
    );
    expect(errors.map((error) => `${error.line}: ${error.message}`)).toEqual([
      '1: ValidatingAdmissionPolicy: apiVersion must be admissionregistration.k8s.io/v1, not "admissionregistration.k8s.io/v1beta1"',
      '15: ValidatingAdmissionPolicy "run-as-root": metadata.name: is the id of a built-in rule; rename the policy',
      '23: ValidatingAdmissionPolicyBinding "both": spec.validationActions: Deny and Warn may not be used together (Deny already shows the message)',
      '11: ValidatingAdmissionPolicyBinding "b": spec.policyName: no ValidatingAdmissionPolicy "nowhere" in the policy files',
    ]);
  });
});

describe("DELETE: judged by the policies that match it, by nothing else", () => {
  it("runs a policy on DELETE with object null and oldObject the object deleted", async () => {
    const { compilePolicy } = await import("../../src/engine/policy.js");
    const { evaluate } = await import("../../src/engine/evaluate.js");
    const { DEFAULT_CONFIG } = await import("../../src/config/load.js");
    const { RULES } = await import("../../src/rules/index.js");
    const { set, errors } = policySetOf(`
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: keep-protected}
spec:
  matchConstraints:
    resourceRules:
      - {apiGroups: [apps], apiVersions: [v1], operations: [DELETE], resources: [deployments]}
  validations:
    - expression: "object == null && !(has(oldObject.metadata.labels) && 'protected' in oldObject.metadata.labels)"
      message: "a protected Deployment is not deleted"
`);
    expect(errors).toEqual([]);
    const policy = compilePolicy(DEFAULT_CONFIG, RULES, undefined, set);
    const old = deployment(3, { protected: "yes" });
    const denied = evaluate(
      {
        object: old,
        oldObject: old,
        operation: "DELETE",
        mode: "enforce",
        source: "admission",
        userInfo: { username: "alice" },
      },
      policy,
    );
    expect(denied.denials.map((finding) => [finding.rule, finding.message])).toEqual([
      ["keep-protected", "a protected Deployment is not deleted"],
    ]);
    const plain = deployment(3);
    const allowed = evaluate(
      { object: plain, oldObject: plain, operation: "DELETE", mode: "enforce", source: "admission" },
      policy,
    );
    expect(allowed.findings).toEqual([]);
    expect(allowed.skipped).toBeUndefined();
    // Without policies a DELETE is not judged at all.
    expect(
      evaluate(
        { object: old, oldObject: old, operation: "DELETE", mode: "enforce", source: "admission" },
        compilePolicy(DEFAULT_CONFIG),
      ).skipped,
    ).toBe("DELETE is not checked");
  });
});

describe("the apiserver's cost limits on a policy", () => {
  const PAIRS =
    "object.spec.template.spec.containers.all(a, object.spec.template.spec.containers.all(b, a.name == b.name || a.name != b.name))";
  const policy = (failurePolicy: string, validations: number) => `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: pairs}
spec:
  failurePolicy: ${failurePolicy}
  matchConstraints:
    resourceRules:
      - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments]}
  validations:
${Array.from({ length: validations }, () => `    - expression: "${PAIRS}"\n      message: never\n`).join("")}`;
  const withContainers = (n: number) => ({
    ...deployment(1),
    spec: {
      template: {
        spec: { containers: Array.from({ length: n }, (_, i) => ({ name: `c${i}`, image: "x" })) },
      },
    },
  });

  it("fails an expression that passes the per-call limit, per failurePolicy", () => {
    const { set } = policySetOf(policy("Fail", 1));
    expect(outcomesOf(set, requestFor(withContainers(600)))).toEqual([
      `pairs/-: error expression '${PAIRS}' resulted in error: operation cancelled: actual cost limit exceeded`,
    ]);
    expect(outcomesOf(set, requestFor(withContainers(20)))).toEqual([]);
    expect(outcomesOf(policySetOf(policy("Ignore", 1)).set, requestFor(withContainers(600)))).toEqual([]);
  });

  it("fails the policy as a whole once its validations together pass the budget", () => {
    // Each validation costs about 500,000 on 200 containers: 25 of them pass 10,000,000, 2 do not.
    const { set } = policySetOf(policy("Fail", 25));
    expect(outcomesOf(set, requestFor(withContainers(200)))).toEqual([
      "pairs/-: error validation failed due to running out of cost budget, no further validation rules will be run",
    ]);
    expect(outcomesOf(policySetOf(policy("Fail", 2)).set, requestFor(withContainers(200)))).toEqual([]);
  });
});

describe("a policy set judged together (PolicySetJudge, as the webhook runs it)", () => {
  const SET = `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: web-only}
spec:
  matchConstraints:
    resourceRules:
      - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments], resourceNames: [web]}
  validations:
    - {expression: "object.spec.replicas <= 2", message: "web: at most 2"}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: all-deployments}
spec:
  matchConstraints:
    resourceRules:
      - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [deployments]}
  validations:
    - {expression: "object.spec.replicas <= 5", message: "at most 5"}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: labelled-prod}
spec:
  matchConstraints:
    namespaceSelector: {matchLabels: {env: prod}}
    resourceRules:
      - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments]}
  validations:
    - {expression: "has(object.metadata.labels)", message: "labelled"}
`;
  const named = (name: string, replicas: number) => ({
    ...deployment(replicas),
    metadata: { name, namespace: "team-a" },
  });
  const judged = (judge: PolicySetJudge, set: PolicySet, request: ReturnType<typeof requestFor>) =>
    set.policies.flatMap((policy, index) =>
      judge
        .verdicts(index, request)
        .flatMap((verdict) =>
          verdict.outcomes.map(
            (o) => `${policy.name}: ${o.kind === "violation" ? o.message : `error ${o.message}`}`,
          ),
        ),
    );

  it("matches by name per request, not by the first request of the same resource", () => {
    const { set, errors } = policySetOf(SET);
    expect(errors).toEqual([]);
    const judge = new PolicySetJudge(set);
    expect(judged(judge, set, requestFor(named("api", 9)))).toEqual(["all-deployments: at most 5"]);
    expect(judged(judge, set, requestFor(named("web", 9)))).toEqual([
      "web-only: web: at most 2",
      "all-deployments: at most 5",
    ]);
    expect(judged(judge, set, requestFor(named("api", 9)))).toEqual(["all-deployments: at most 5"]);
  });

  it("tells the operations apart, and applies each policy's selectors per request", () => {
    const { set } = policySetOf(SET);
    const judge = new PolicySetJudge(set);
    const update = requestFor(named("web", 9), { oldObject: named("web", 1) });
    expect(judged(judge, set, update)).toEqual(["all-deployments: at most 5"]);
    const prod = requestFor(named("api", 1), { namespaceLabels: { env: "prod" } });
    expect(judged(judge, set, prod)).toEqual(["labelled-prod: labelled"]);
    expect(judged(judge, set, requestFor(named("api", 1)))).toEqual([]);
    const unknown = { ...requestFor(named("api", 1)) };
    unknown.attributes = { ...unknown.attributes, namespaceLabels: undefined };
    expect(judged(judge, set, unknown)).toEqual([
      'labelled-prod: error the labels of namespace "team-a" are not known',
    ]);
  });

  it("gives each request its own values, policy after policy", () => {
    const { set } = policySetOf(SET);
    const judge = new PolicySetJudge(set);
    expect(judged(judge, set, requestFor(named("web", 3)))).toEqual(["web-only: web: at most 2"]);
    expect(judged(judge, set, requestFor(named("web", 2)))).toEqual([]);
  });
});
