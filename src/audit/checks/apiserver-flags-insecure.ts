import type { V1Container, V1Pod } from "@kubernetes/client-node";
import { type KubeObject, refOf } from "../../objects/object.js";
import type { ReportFinding } from "../../report/model.js";
import { finding, labelsOf, list } from "./shared.js";
import type { Check } from "./types.js";

const APISERVER = "kube-apiserver";

/** The kube-apiserver static Pods (kubeadm, kind): in kube-system, by kubeadm's label or mirror Pod name. */
function apiserverPods(pods: readonly KubeObject[]): KubeObject[] {
  return pods.filter((pod) => {
    const { namespace, name } = refOf(pod);
    return (
      namespace === "kube-system" &&
      (labelsOf(pod).component === APISERVER || name.startsWith(`${APISERVER}-`))
    );
  });
}

/** The Pod's kube-apiserver container: the one so named, else the one whose command runs it. */
function apiserverContainer(pod: KubeObject): V1Container | undefined {
  const containers = (pod as V1Pod).spec?.containers ?? [];
  return (
    containers.find((c) => c.name === APISERVER) ??
    containers.find((c) => [...(c.command ?? []), ...(c.args ?? [])].some((word) => word.endsWith(APISERVER)))
  );
}

/**
 * The container's flags, from command and args together: `--name=value` and `--name value` both give
 * name → value; a flag alone gives "true" (as pflag reads a boolean flag without a value).
 */
export function flagsOf(container: V1Container): Map<string, string> {
  const words = [...(container.command ?? []), ...(container.args ?? [])];
  const flags = new Map<string, string>();
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (!word.startsWith("--")) continue;
    const equals = word.indexOf("=");
    if (equals !== -1) {
      flags.set(word.slice(2, equals), word.slice(equals + 1));
    } else if (i + 1 < words.length && !words[i + 1]!.startsWith("--")) {
      flags.set(word.slice(2), words[++i]!);
    } else {
      flags.set(word.slice(2), "true");
    }
  }
  return flags;
}

export const apiserverFlagsInsecure: Check = {
  id: "apiserver-flags-insecure",
  title: "The API server encrypts Secrets, keeps an audit log and refuses anonymous requests",
  category: "cluster",
  defaultSeverity: "warn",
  sources: ["audit"],
  description:
    "Where the control plane runs as static Pods (kubeadm, kind), the kube-apiserver Pod in kube-system shows its flags. Without `--encryption-provider-config` Secrets are stored in etcd in plain text; without an audit backend (`--audit-log-path` or `--audit-webhook-config-file`) and an `--audit-policy-file` nobody can tell who read or changed what; unless `--anonymous-auth=false`, requests without credentials reach the authorizer as `system:anonymous`. On managed clusters no such Pod is visible: the report says so in a note, neither passing nor failing (check the provider's settings for encryption at rest and audit logs).",
  remediation: `Set the flags in the static Pod manifest (kubeadm: \`/etc/kubernetes/manifests/kube-apiserver.yaml\`, or \`apiServer.extraArgs\` in the ClusterConfiguration), with the files mounted into the Pod:

\`\`\`yaml
# /etc/kubernetes/enc/encryption.yaml, passed as --encryption-provider-config
apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: [secrets]
    providers:
      - aescbc:
          keys:
            - name: key1
              secret: <32 random bytes, base64: head -c 32 /dev/urandom | base64>
      - identity: {}
---
# /etc/kubernetes/audit/policy.yaml, passed as --audit-policy-file
apiVersion: audit.k8s.io/v1
kind: Policy
rules:
  - level: Metadata
\`\`\`

and \`--audit-log-path=/var/log/kubernetes/audit.log --audit-log-maxage=30 --anonymous-auth=false\`
(health probes then need credentials, or an AuthenticationConfiguration that allows anonymous access to
\`/livez\`, \`/readyz\` and \`/healthz\` only). Re-encrypt the existing Secrets afterwards:
\`kubectl get secrets -A -o json | kubectl replace -f -\`.`,
  needs: ["Pod"],
  namespaceScoped: false,
  run(snapshot, { note }) {
    const pods = apiserverPods(list(snapshot, "Pod"));
    if (pods.length === 0) {
      note("the kube-apiserver flags are not visible from the API (managed control plane?)");
      return [];
    }
    const findings: ReportFinding[] = [];
    for (const pod of pods) {
      const container = apiserverContainer(pod);
      const ref = refOf(pod);
      if (container === undefined) {
        note(`Pod ${ref.namespace}/${ref.name} runs no kube-apiserver container: its flags are not visible`);
        continue;
      }
      const flags = flagsOf(container);
      const path = `spec.containers[name=${container.name}].command`;
      const report = (message: string, fix: string) =>
        findings.push(finding(apiserverFlagsInsecure, ref, path, message, fix));
      if (!flags.get("encryption-provider-config")) {
        report(
          "kube-apiserver runs without --encryption-provider-config: Secrets are stored unencrypted in etcd",
          "set --encryption-provider-config to an EncryptionConfiguration that encrypts secrets",
        );
      }
      if (!flags.get("audit-log-path") && !flags.get("audit-webhook-config-file")) {
        report(
          "kube-apiserver keeps no audit log: neither --audit-log-path nor --audit-webhook-config-file is set",
          "set --audit-log-path (or --audit-webhook-config-file) and --audit-policy-file",
        );
      } else if (!flags.get("audit-policy-file")) {
        report(
          "kube-apiserver has an audit backend but no --audit-policy-file, so it audits no request",
          "set --audit-policy-file to an audit Policy",
        );
      }
      const anonymous = flags.get("anonymous-auth");
      if (anonymous === undefined && flags.get("authentication-config")) {
        note(
          `Pod ${ref.namespace}/${ref.name} sets anonymous authentication in its --authentication-config file, which is not visible from the API`,
        );
      } else if (anonymous !== "false") {
        report(
          anonymous === undefined
            ? "kube-apiserver accepts anonymous requests: --anonymous-auth is not set (it defaults to true)"
            : `kube-apiserver accepts anonymous requests: --anonymous-auth=${anonymous}`,
          "set --anonymous-auth=false, or limit anonymous access to the health endpoints in an AuthenticationConfiguration",
        );
      }
    }
    return findings;
  },
};
