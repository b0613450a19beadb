{{/*
Names. A release called tollgate (or anything containing it) keeps its name; others get a
"-tollgate" suffix. The Service, the webhook configuration and the RBAC objects share it.
*/}}
{{- define "tollgate.fullname" -}}
{{- if contains "tollgate" .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-tollgate" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* tollgate reads its certificates from a Secret of this fixed name (src/k8s/certSecret.ts). */}}
{{- define "tollgate.certSecretName" -}}tollgate-certs{{- end -}}

{{- define "tollgate.configMapName" -}}{{ include "tollgate.fullname" . }}-config{{- end -}}
{{- define "tollgate.policiesConfigMapName" -}}{{ include "tollgate.fullname" . }}-policies{{- end -}}

{{/* What the Deployment and PDB select. Only the name, as `tollgate manifests` selects. */}}
{{- define "tollgate.selectorLabels" -}}
app.kubernetes.io/name: tollgate
{{- end -}}

{{- define "tollgate.labels" -}}
{{ include "tollgate.selectorLabels" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "tollgate.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{/*
Namespaces left out of every webhook entry: the system ones and the release namespace always, so
the cluster can heal while tollgate is down, then those the values add.
*/}}
{{- define "tollgate.excludedNamespaces" -}}
{{- $system := list "kube-system" "kube-node-lease" "kube-public" -}}
{{- toJson (concat $system .Values.config.excludedNamespaces (list .Release.Namespace) | uniq) -}}
{{- end -}}

{{/*
The config file: the values' config, with the excluded namespaces above and the webhook settings
tollgate needs to find and register itself (as installConfig in src/k8s/manifests.ts).
*/}}
{{- define "tollgate.config" -}}
{{- $config := deepCopy .Values.config -}}
{{- $_ := set $config "excludedNamespaces" (include "tollgate.excludedNamespaces" . | fromJsonArray) -}}
{{- $webhook := dict
      "name" (include "tollgate.fullname" .)
      "namespace" .Release.Namespace
      "service" (include "tollgate.fullname" .)
      "port" .Values.webhook.port
      "failurePolicy" .Values.webhook.failurePolicy
      "timeoutSeconds" .Values.webhook.timeoutSeconds -}}
{{- $_ := set $config "webhook" $webhook -}}
{{- if .Values.policyFiles -}}
{{- $_ := set $config "policies" (append (default (list) $config.policies) "/etc/tollgate-policies") -}}
{{- end -}}
{{- toYaml $config -}}
{{- end -}}

{{/* The Prometheus series of this release's tollgate, as a ServiceMonitor scrapes them. */}}
{{- define "tollgate.promSelector" -}}
job="{{ include "tollgate.fullname" . }}",namespace="{{ .Release.Namespace }}"
{{- end -}}
