import { refOf } from "../../objects/object.js";
import { CLUSTER, finding, labelsOf, list } from "./shared.js";
import type { Check } from "./types.js";

export const autoscalerMissing: Check = {
  id: "autoscaler-missing",
  title: "The cluster scales its nodes",
  category: "cluster",
  defaultSeverity: "warn",
  sources: ["audit"],
  description:
    "Informational: the checklist recommends a node autoscaler, so that Pods pending for lack of room get nodes and idle nodes go. Passes when a Karpenter NodePool (karpenter.sh/v1) exists or a cluster-autoscaler Deployment runs (by name, `app.kubernetes.io/name` label or image). Autoscaling a provider runs outside the cluster (GKE, AKS node pools with autoscaling on) is not visible from the API: set this check's severity to off there.",
  remediation:
    "Install Karpenter and create a NodePool (`helm install karpenter oci://public.ecr.aws/karpenter/karpenter -n kube-system`), or the cluster autoscaler for your provider (`helm install cluster-autoscaler autoscaler/cluster-autoscaler -n kube-system --set autoDiscovery.clusterName=<cluster>`).",
  needs: ["Deployment"],
  optional: ["NodePool"],
  namespaceScoped: false,
  run(snapshot) {
    if (list(snapshot, "NodePool").length > 0) return [];
    const autoscaler = list(snapshot, "Deployment").some((deployment) =>
      /cluster-autoscaler/.test(
        JSON.stringify([
          refOf(deployment).name,
          labelsOf(deployment)["app.kubernetes.io/name"] ?? "",
          deployment.spec ?? {},
        ]),
      ),
    );
    if (autoscaler) return [];
    const karpenter =
      snapshot.unavailable.NodePool === "not served"
        ? "Karpenter is not installed (karpenter.sh/v1 NodePool is not served)"
        : "no Karpenter NodePool exists";
    return [
      finding(
        autoscalerMissing,
        CLUSTER,
        "",
        `no node autoscaler found: ${karpenter} and no cluster-autoscaler Deployment runs`,
        "install Karpenter with a NodePool, or the cluster autoscaler",
      ),
    ];
  },
};
