import { DEFAULT_IMAGE, DEFAULT_NAMESPACE, installYaml } from "../k8s/manifests.js";
import { parseCommandArgs, UsageError } from "./args.js";

export const MANIFESTS_HELP = `Usage: tollgate manifests [--namespace N] [--image IMAGE]

Prints the YAML that installs tollgate in a cluster (namespace, RBAC, config, Deployment,
PodDisruptionBudget, Service, NetworkPolicies, ValidatingWebhookConfiguration):

  tollgate manifests | kubectl apply -f -

--namespace  where tollgate runs (default ${DEFAULT_NAMESPACE}); it is excluded from admission
--image      the container image (default ${DEFAULT_IMAGE})`;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export async function manifests(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs("manifests", argv, {
    namespace: { type: "string" },
    image: { type: "string" },
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
  process.stdout.write(installYaml({ namespace: values.namespace, image: values.image }));
  return 0;
}
