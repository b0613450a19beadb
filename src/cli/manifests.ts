import { mkdirSync, writeFileSync } from "node:fs";
import { isIPv4, isIPv6 } from "node:net";
import { dirname, join, resolve } from "node:path";
import { describeInputError } from "../input/documents.js";
import type { V1NamedRuleWithOperations } from "@kubernetes/client-node";
import {
  DEFAULT_IMAGE,
  DEFAULT_NAMESPACE,
  installBase,
  installYaml,
  type PolicyFile,
  POLICIES_CONFIG_MAP_NAME,
  POLICIES_MOUNT,
  policyConfigMapFiles,
} from "../k8s/manifests.js";
import { policyResourceRules } from "../k8s/webhookConfig.js";
import { RULES } from "../rules/index.js";
import { loadPolicySetSync } from "../vap/load.js";
import { parseCommandArgs, UsageError } from "./args.js";

export const MANIFESTS_HELP = `Usage: tollgate manifests [--namespace N] [--image IMAGE] [--apiserver-cidr CIDR...]
                          [--output-dir DIR] [--policy PATH...]

Prints the YAML that installs tollgate in a cluster (namespace, RBAC, config, Deployment,
PodDisruptionBudget, Service, NetworkPolicies, ValidatingWebhookConfiguration):

  tollgate manifests | kubectl apply -f -

--output-dir writes a kustomize base to DIR instead (what manifests/ ships): one file per object,
a kustomization.yaml, and the config as tollgate.yaml, which a configMapGenerator turns into the
ConfigMap tollgate-config; replace it in an overlay (docs/install.md):

  tollgate manifests --output-dir base/ && kubectl apply -k base/

The webhook configuration fails open (failurePolicy: Ignore, no caBundle) until a running
tollgate has registered itself in it with its caBundle and the config's failurePolicy.

--namespace  where tollgate runs (default ${DEFAULT_NAMESPACE}); it is excluded from admission
--image      the container image (default ${DEFAULT_IMAGE})
--apiserver-cidr
             where the apiserver calls tollgate from (repeat, or separate with commas); only these
             may reach the webhook port. Without it the port is open to every source, so any Pod
             in the cluster can send tollgate reviews: find the apiserver's addresses with
             \`kubectl get endpoints kubernetes -n default\` (a managed control plane may call from
             another range; see its documentation)
--policy     ValidatingAdmissionPolicies tollgate will run (a file or folder, repeatable): their
             files go into the ConfigMap ${POLICIES_CONFIG_MAP_NAME} (with --output-dir, into DIR/policies/,
             which its generator reads), mounted at ${POLICIES_MOUNT}, which the config names in
             \`policies:\`; the webhook configuration also sends tollgate what their
             matchConstraints select`;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** An IPv4 or IPv6 CIDR as a NetworkPolicy's ipBlock takes it. */
function isCidr(text: string): boolean {
  const slash = text.indexOf("/");
  if (slash === -1) return false;
  const address = text.slice(0, slash);
  const prefix = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefix)) return false;
  if (isIPv4(address)) return Number(prefix) <= 32;
  return isIPv6(address) && Number(prefix) <= 128;
}

export async function manifests(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs("manifests", argv, {
    namespace: { type: "string" },
    image: { type: "string" },
    "apiserver-cidr": { type: "string", multiple: true },
    "output-dir": { type: "string" },
    policy: { type: "string", multiple: true },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    process.stdout.write(`${MANIFESTS_HELP}\n`);
    return 0;
  }
  if (values.namespace !== undefined && !DNS_LABEL.test(values.namespace)) {
    throw new UsageError(
      `--namespace ${JSON.stringify(values.namespace)} is not a valid namespace name (lower-case letters, digits and '-', at most 63)`,
    );
  }
  if (values.image !== undefined && (values.image === "" || /\s/.test(values.image))) {
    throw new UsageError(`--image ${JSON.stringify(values.image)} is not an image reference`);
  }
  const apiserverCidrs = (values["apiserver-cidr"] ?? []).flatMap((value) => value.split(","));
  for (const cidr of apiserverCidrs) {
    if (!isCidr(cidr)) {
      throw new UsageError(
        `--apiserver-cidr ${JSON.stringify(cidr)} is not a CIDR (an IPv4 or IPv6 address, a slash and a prefix length: 10.0.0.0/24)`,
      );
    }
  }
  let policyRules: V1NamedRuleWithOperations[] = [];
  let policyFiles: PolicyFile[] = [];
  if (values.policy !== undefined) {
    const paths = values.policy.map((path) => resolve(path));
    // Read as `serve` will read them from the ConfigMap: the same walk, the same files.
    const { set, errors, texts } = loadPolicySetSync(paths, new Set(RULES.keys()));
    if (errors.length > 0) {
      const lines = errors.map(describeInputError);
      throw new UsageError(`--policy: ${lines.join("\n  ")}`);
    }
    policyRules = policyResourceRules(set);
    try {
      // The files as written (comments kept).
      policyFiles = policyConfigMapFiles(texts);
    } catch (error) {
      throw new UsageError(`--policy: ${(error as Error).message}`);
    }
  }
  const options = {
    namespace: values.namespace,
    image: values.image,
    apiserverCidrs,
    policyRules,
    policyFiles,
  };
  const dir = values["output-dir"];
  if (dir === undefined) {
    process.stdout.write(installYaml(options));
    return 0;
  }
  if (dir === "") throw new UsageError("--output-dir needs a folder");
  const files = installBase(options);
  for (const file of files) {
    const path = join(dir, file.path);
    try {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, file.content);
    } catch (error) {
      throw new UsageError(
        `--output-dir ${dir}: cannot write ${path} (${(error as NodeJS.ErrnoException).code ?? "unknown error"})`,
      );
    }
  }
  process.stdout.write(`wrote ${files.length} files to ${dir}: kubectl apply -k ${dir}\n`);
  return 0;
}
