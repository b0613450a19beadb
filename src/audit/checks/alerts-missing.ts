import { isRecord } from "../../objects/object.js";
import { CLUSTER, finding, list } from "./shared.js";
import type { Check } from "./types.js";

/** One must-have alert: what it watches, the alert names that stand for it, the metrics an expr may use instead. */
export interface MustHaveAlert {
  what: string;
  names: readonly string[];
  metrics: readonly string[];
}

/** The checklist's must-have alerts, named as kube-prometheus (kubernetes-mixin, etcd-mixin) names them. */
export const MUST_HAVE_ALERTS: readonly MustHaveAlert[] = [
  {
    what: "crash-looping containers",
    names: ["KubePodCrashLooping"],
    metrics: ["kube_pod_container_status_waiting_reason", "kube_pod_container_status_restarts_total"],
  },
  {
    what: "Pods not ready",
    names: ["KubePodNotReady"],
    metrics: ["kube_pod_status_ready", "kube_pod_status_phase"],
  },
  {
    what: "workloads short of replicas",
    names: ["KubeDeploymentReplicasMismatch", "KubeStatefulSetReplicasMismatch"],
    metrics: ["kube_deployment_status_replicas_available", "kube_statefulset_status_replicas_ready"],
  },
  { what: "nodes not ready", names: ["KubeNodeNotReady"], metrics: ["kube_node_status_condition"] },
  {
    what: "exceeded resource quotas",
    names: ["KubeQuotaExceeded", "KubeQuotaFullyUsed"],
    metrics: ["kube_resourcequota"],
  },
  {
    what: "etcd leader changes",
    names: ["etcdHighNumberOfLeaderChanges"],
    metrics: ["etcd_server_leader_changes_seen_total"],
  },
  {
    what: "CPU throttling",
    names: ["CPUThrottlingHigh"],
    metrics: ["container_cpu_cfs_throttled_periods_total"],
  },
];

interface AlertRule {
  alert: string;
  expr: string;
}

/** The alerting rules (`spec.groups[].rules[]` with an `alert`) of every PrometheusRule. */
function alertRules(rules: readonly unknown[]): AlertRule[] {
  const alerts: AlertRule[] = [];
  for (const object of rules) {
    const spec = isRecord(object) && isRecord(object.spec) ? object.spec : {};
    for (const group of Array.isArray(spec.groups) ? spec.groups : []) {
      const items = isRecord(group) && Array.isArray(group.rules) ? group.rules : [];
      for (const rule of items) {
        if (!isRecord(rule) || typeof rule.alert !== "string") continue;
        alerts.push({
          alert: rule.alert,
          expr: typeof rule.expr === "string" ? rule.expr : String(rule.expr ?? ""),
        });
      }
    }
  }
  return alerts;
}

/** Whether `expr` uses `metric` as a whole name (not `kube_resourcequota_created`). */
function usesMetric(expr: string, metric: string): boolean {
  return new RegExp(`(?<![A-Za-z0-9_:])${metric}(?![A-Za-z0-9_:])`).test(expr);
}

/** Whether some alert stands for `wanted`: by one of its names, or by an expr on one of its metrics. */
export function defines(alerts: readonly AlertRule[], wanted: MustHaveAlert): boolean {
  return alerts.some(
    (rule) =>
      wanted.names.includes(rule.alert) || wanted.metrics.some((metric) => usesMetric(rule.expr, metric)),
  );
}

export const alertsMissing: Check = {
  id: "alerts-missing",
  title: "The alerts that matter are defined",
  category: "cluster",
  defaultSeverity: "warn",
  sources: ["audit"],
  description: `Where the Prometheus operator is installed (its PrometheusRule resource is served), each of the checklist's must-have alerts is defined by some PrometheusRule: ${MUST_HAVE_ALERTS.map(
    (a) => `${a.what} (${a.names.join(" or ")})`,
  ).join(
    ", ",
  )}. An alert counts when its name is one of those, as kube-prometheus-stack names them, or when its expr uses one of the metrics they alert on (${MUST_HAVE_ALERTS.flatMap(
    (a) => a.metrics,
  )
    .map((m) => `\`${m}\``)
    .join(
      ", ",
    )}), so renamed alerts count too. Without the operator there is nothing to check: monitoring-missing reports that.`,
  remediation: `Install kube-prometheus-stack with its default rules (\`helm install monitoring prometheus-community/kube-prometheus-stack\`, \`defaultRules.create: true\`), or define the missing alerts:

\`\`\`yaml
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: workload-alerts
  namespace: monitoring
spec:
  groups:
    - name: workloads
      rules:
        - alert: KubePodCrashLooping
          expr: max_over_time(kube_pod_container_status_waiting_reason{reason="CrashLoopBackOff"}[5m]) >= 1
          for: 15m
          labels: { severity: warning }
\`\`\``,
  needs: [],
  optional: ["PrometheusRule"],
  namespaceScoped: false,
  run(snapshot) {
    if (snapshot.unavailable.PrometheusRule === "not served") return [];
    const alerts = alertRules(list(snapshot, "PrometheusRule"));
    return MUST_HAVE_ALERTS.filter((wanted) => !defines(alerts, wanted)).map((wanted) =>
      finding(
        alertsMissing,
        CLUSTER,
        "",
        `no PrometheusRule alerts on ${wanted.what} (${wanted.names.join(" or ")}, or an expr on ${wanted.metrics.join(" or ")})`,
        `define ${wanted.names[0]} in a PrometheusRule`,
      ),
    );
  },
};
