import type { PodSpecTarget, RawFinding, Rule } from "./types.js";
import { containersOf, quote } from "./visit.js";
import { POD_SPEC_KINDS } from "../objects/kinds.js";

/**
 * Env var names that hold a credential: the credential word ends the name (DB_PASSWORD,
 * GITHUB_TOKEN, AWS_SECRET_ACCESS_KEY), so PASSWORD_FILE or TOKEN_TTL are not matched.
 */
const CREDENTIAL_NAME =
  /(?:^|[_.-])(?:PASSWORD|PASSWD|PASS|PWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|SECRET_?KEY|PRIVATE_?KEY|CREDENTIALS?)$/i;

export function looksLikeCredential(name: string): boolean {
  // `PWD` alone is the shell's working directory, not a password.
  return name !== "PWD" && CREDENTIAL_NAME.test(name);
}

export const secretInEnvLiteral: Rule<PodSpecTarget> = {
  id: "secret-in-env-literal",
  title: "Credentials do not sit in env literals",
  category: "secrets",
  defaultSeverity: "warn",
  targets: ["podSpec"],
  kinds: POD_SPEC_KINDS,
  description:
    "A password or token written as an env var's literal value is stored in plain text in the manifest, in Git, in etcd without Secret encryption, and in every `kubectl get -o yaml`. Env vars named like credentials (…PASSWORD, …TOKEN, …API_KEY, …SECRET, …PRIVATE_KEY…) must come from a Secret.",
  remediation: `Keep the value in a Secret and reference it:

\`\`\`yaml
env:
  - name: DB_PASSWORD
    valueFrom:
      secretKeyRef:
        name: web-db
        key: password
\`\`\``,
  check(target) {
    const findings: RawFinding[] = [];
    for (const visited of containersOf(target)) {
      for (const variable of visited.container.env ?? []) {
        if (variable.name === undefined || !variable.value || !looksLikeCredential(variable.name)) continue;
        findings.push({
          path: `${visited.path}.env[name=${variable.name}].value`,
          container: visited.name,
          message: `container ${quote(visited.name)} sets ${variable.name} as a literal value`,
          fix: `move ${variable.name} into a Secret and use valueFrom.secretKeyRef`,
        });
      }
    }
    return findings;
  },
};
