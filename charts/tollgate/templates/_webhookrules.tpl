{{/*
What each webhook entry receives: the kinds of every rule that runs at admission, whatever its
severity in the config (webhookRules and admissionKinds in src/k8s/webhookConfig.ts).
test/charts/chart.test.ts compares them to the builder's; when a rule adds a kind, copy the rules
that `tollgate manifests` prints for the entries here.
*/}}
{{- define "tollgate.namespacedRules" -}}
- apiGroups: [""]
  apiVersions: ["v1"]
  operations: ["CREATE", "UPDATE"]
  resources:
    - pods
    - pods/ephemeralcontainers
    - pods/status
    - podtemplates
    - replicationcontrollers
    - replicationcontrollers/status
    - serviceaccounts
  scope: Namespaced
- apiGroups: ["apps"]
  apiVersions: ["v1"]
  operations: ["CREATE", "UPDATE"]
  resources:
    - daemonsets
    - daemonsets/status
    - deployments
    - deployments/status
    - replicasets
    - replicasets/status
    - statefulsets
    - statefulsets/status
  scope: Namespaced
- apiGroups: ["batch"]
  apiVersions: ["v1"]
  operations: ["CREATE", "UPDATE"]
  resources:
    - cronjobs
    - cronjobs/status
    - jobs
    - jobs/status
  scope: Namespaced
- apiGroups: ["rbac.authorization.k8s.io"]
  apiVersions: ["v1"]
  operations: ["CREATE", "UPDATE"]
  resources:
    - rolebindings
    - roles
  scope: Namespaced
{{- end -}}

{{- define "tollgate.clusterRules" -}}
- apiGroups: [""]
  apiVersions: ["v1"]
  operations: ["CREATE", "UPDATE"]
  resources:
    - namespaces
    - namespaces/finalize
    - namespaces/status
  scope: Cluster
- apiGroups: ["rbac.authorization.k8s.io"]
  apiVersions: ["v1"]
  operations: ["CREATE", "UPDATE"]
  resources:
    - clusterrolebindings
    - clusterroles
  scope: Cluster
{{- end -}}
