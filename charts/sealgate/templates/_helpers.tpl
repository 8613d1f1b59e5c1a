{{/* Names and labels, in the shape `helm create` gives. */}}

{{/* The chart name, or nameOverride. */}}
{{- define "sealgate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name, used for every resource: fullnameOverride, or "<release>-<chart>" (just the
release name when it already contains the chart name). Cut to 63 characters for DNS names.
*/}}
{{- define "sealgate.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* chart-version, for the helm.sh/chart label. */}}
{{- define "sealgate.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every resource. */}}
{{- define "sealgate.labels" -}}
helm.sh/chart: {{ include "sealgate.chart" . }}
{{ include "sealgate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels that select the pods; never change them between versions (selectors are immutable). */}}
{{- define "sealgate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sealgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The ServiceAccount name. */}}
{{- define "sealgate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "sealgate.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret holding the serving certificate (tls.crt, tls.key, ca.crt), in both TLS modes. */}}
{{- define "sealgate.tlsSecretName" -}}
{{- printf "%s-tls" (include "sealgate.fullname" .) }}
{{- end }}

{{/* The serving Certificate's name (cert-manager mode), as inject-ca-from names it. */}}
{{- define "sealgate.certificateName" -}}
{{- printf "%s-serving" (include "sealgate.fullname" .) }}
{{- end }}

{{/* The DNS names the apiserver may use to reach the Service. */}}
{{- define "sealgate.dnsNames" -}}
{{- $svc := include "sealgate.fullname" . }}
{{- list $svc (printf "%s.%s" $svc .Release.Namespace) (printf "%s.%s.svc" $svc .Release.Namespace) (printf "%s.%s.svc.cluster.local" $svc .Release.Namespace) | toJson }}
{{- end }}

{{/* The image reference: repository:tag, the tag defaulting to the appVersion. */}}
{{- define "sealgate.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* Whether custom rules are mounted (inline or from an existing ConfigMap). */}}
{{- define "sealgate.customRules" -}}
{{- if or .Values.rules.custom.inline .Values.rules.custom.existingConfigMap }}true{{ end }}
{{- end }}

{{/* Whether trust files are mounted (inline or from an existing ConfigMap). */}}
{{- define "sealgate.trustFiles" -}}
{{- if and .Values.repo.enabled (or .Values.repo.trust.inline .Values.repo.trust.existingConfigMap) }}true{{ end }}
{{- end }}
