{{/* Names: <release>-cwcreds unless the release name already holds the chart name.
     At most 47 characters, so the longest derived name (<fullname>-sidecar-example)
     stays a 63-character DNS label and no two derived names collide. */}}
{{- define "cwcreds.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 47 | trimSuffix "-" }}
{{- end }}

{{- define "cwcreds.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 47 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 47 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 47 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "cwcreds.agentName" -}}
{{- printf "%s-agent" (include "cwcreds.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "cwcreds.injectorName" -}}
{{- printf "%s-injector" (include "cwcreds.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "cwcreds.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "cwcreds.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: cwcreds
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels of one component: call with (dict "ctx" $ "component" "agent"). */}}
{{- define "cwcreds.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cwcreds.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "cwcreds.componentLabels" -}}
{{ include "cwcreds.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "cwcreds.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* host:port with brackets around IPv6 addresses. */}}
{{- define "cwcreds.hostPort" -}}
{{- if contains ":" .host }}
{{- printf "[%s]:%v" .host .port }}
{{- else }}
{{- printf "%s:%v" .host .port }}
{{- end }}
{{- end }}

{{/* The credentials URL pods get in agent mode. */}}
{{- define "cwcreds.agentURL" -}}
{{- if .Values.injector.agentURL }}
{{- .Values.injector.agentURL }}
{{- else }}
{{- printf "http://%s/v1/credentials" (include "cwcreds.hostPort" (dict "host" (first .Values.agent.addresses) "port" .Values.agent.port)) }}
{{- end }}
{{- end }}

{{/* Exchange settings every cwcreds process reads from its environment. */}}
{{- define "cwcreds.exchangeEnv" -}}
{{- with .Values.orgId }}
- name: CWCREDS_ORG_ID
  value: {{ . | quote }}
{{- end }}
{{- with .Values.apiEndpoint }}
- name: CWCREDS_API_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- with .Values.s3Endpoint }}
- name: CWCREDS_S3_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- end }}

{{/* Whether the injector's certificate comes from cert-manager. */}}
{{- define "cwcreds.useCertManager" -}}
{{- $want := .Values.injector.certManager.enabled }}
{{- if and (not .Values.injector.tls.existingSecret) (or (eq (toString $want) "true") (and (eq (toString $want) "auto") (.Capabilities.APIVersions.Has "cert-manager.io/v1"))) }}true{{ end }}
{{- end }}

{{- define "cwcreds.injectorTLSSecret" -}}
{{- default (printf "%s-tls" (include "cwcreds.injectorName" .)) .Values.injector.tls.existingSecret }}
{{- end }}

{{/* The restricted container security context every long-running container uses. */}}
{{- define "cwcreds.restrictedSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Pod labels: no chart version, so a chart upgrade that changes nothing in the
pod does not restart every agent. Call with (dict "ctx" $ "component" "agent"). */}}
{{- define "cwcreds.podLabels" -}}
{{ include "cwcreds.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: cwcreds
{{- with .ctx.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}
