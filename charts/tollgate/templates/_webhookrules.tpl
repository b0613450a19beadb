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
{{- include "tollgate.podTemplateRules" . }}
{{- end -}}

{{/*
The resources of config.podTemplates by API group, as JSON ({"argoproj.io": ["rollouts"]}): the
resource as given or the kind's plural as the apiserver guesses it (guessResource in
src/objects/kinds.ts). The webhook's rules and the ClusterRole's list/watch rules read it.
*/}}
{{- define "tollgate.podTemplateResources" -}}
{{- $byGroup := dict }}
{{- range .Values.config.podTemplates }}
{{- $resource := .resource }}
{{- if not $resource }}
{{- $singular := lower .kind }}
{{- if hasSuffix "endpoints" $singular }}
{{- $resource = $singular }}
{{- else if hasSuffix "s" $singular }}
{{- $resource = printf "%ses" $singular }}
{{- else if hasSuffix "y" $singular }}
{{- $resource = printf "%sies" (trimSuffix "y" $singular) }}
{{- else }}
{{- $resource = printf "%ss" $singular }}
{{- end }}
{{- end }}
{{- $_ := set $byGroup .group (append (get $byGroup .group | default list) $resource) }}
{{- end }}
{{- toJson $byGroup }}
{{- end -}}

{{/*
The custom resources of config.podTemplates (podTemplateWebhookRules in src/k8s/webhookConfig.ts):
one rule per API group, every version.
*/}}
{{- define "tollgate.podTemplateRules" -}}
{{- $byGroup := include "tollgate.podTemplateResources" . | fromJson }}
{{- range $group := keys $byGroup | sortAlpha }}
- apiGroups: [{{ $group | quote }}]
  apiVersions: ["*"]
  operations: ["CREATE", "UPDATE"]
  resources:
{{- range get $byGroup $group | uniq | sortAlpha }}
    - {{ . }}
{{- end }}
  scope: Namespaced
{{- end }}
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
