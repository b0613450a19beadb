import { refOf } from "../../objects/object.js";
import { CLUSTER, finding, labelsOf, list } from "./shared.js";
import type { Check } from "./types.js";

export const monitoringMissing: Check = {
  id: "monitoring-missing",
  title: "The cluster is monitored",
  category: "cluster",
  defaultSeverity: "warn",
  sources: ["audit"],
  description:
    "Without the Prometheus operator (or kube-prometheus-stack) nothing scrapes the workloads' metrics or alerts on them.",
  remediation:
    "Install kube-prometheus-stack (`helm install monitoring prometheus-community/kube-prometheus-stack`).",
  needs: ["Deployment"],
  optional: ["Prometheus"],
  namespaceScoped: false,
  run(snapshot) {
    if (list(snapshot, "Prometheus").length > 0) return [];
    const operator = list(snapshot, "Deployment").some((deployment) =>
      /prometheus-operator|kube-prometheus/.test(
        JSON.stringify([refOf(deployment).name, labelsOf(deployment), deployment.spec ?? {}]),
      ),
    );
    if (operator) return [];
    const crd =
      snapshot.unavailable.Prometheus === "not served"
        ? "monitoring.coreos.com/v1 Prometheus is not served"
        : "no Prometheus resource exists";
    return [
      finding(
        monitoringMissing,
        CLUSTER,
        "",
        `no Prometheus operator found: ${crd} and no prometheus-operator Deployment runs`,
        "install kube-prometheus-stack or the Prometheus operator",
      ),
    ];
  },
};
