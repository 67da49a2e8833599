{{/* names and labels shared by the templates */}}

{{- define "tdf.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* the release's full name, at most 63 characters (a DNS label) */}}
{{- define "tdf.fullname" -}}
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

{{- define "tdf.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "tdf.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tdf.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "tdf.labels" -}}
helm.sh/chart: {{ include "tdf.chart" . }}
{{ include "tdf.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "tdf.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tdf.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* the Secret holding the Datadog API key: an existing one, or the one this chart creates */}}
{{- define "tdf.apiKeySecretName" -}}
{{- if .Values.datadog.apiKey.existingSecret }}
{{- .Values.datadog.apiKey.existingSecret }}
{{- else }}
{{- printf "%s-datadog" (include "tdf.fullname" .) }}
{{- end }}
{{- end }}

{{- define "tdf.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* where things are inside the container; the image's TDF_STORAGE points at the same volume path */}}
{{- define "tdf.storagePath" -}}/var/lib/teleport-datadog-forwarder{{- end }}
{{- define "tdf.configDir" -}}/etc/teleport-datadog-forwarder{{- end }}
{{- define "tdf.ingestTlsDir" -}}/etc/teleport-datadog-forwarder/ingest-tls{{- end }}
{{- define "tdf.identityDir" -}}/var/run/teleport-datadog-forwarder/identity{{- end }}

{{/* settings that cannot work: fail the install with a message that says what to set */}}
{{- define "tdf.validate" -}}
{{- if and (not .Values.ingest.enabled) (not .Values.teleport.enabled) }}
{{- fail "nothing to forward: set ingest.enabled (with ingest.tls.secretName) or teleport.enabled (with teleport.identitySecret.name)" }}
{{- end }}
{{- if and (not .Values.datadog.apiKey.existingSecret) (not .Values.datadog.apiKey.value) }}
{{- fail "no Datadog API key: set datadog.apiKey.existingSecret (a Secret with key datadog.apiKey.secretKey) or datadog.apiKey.value" }}
{{- end }}
{{- if and .Values.ingest.enabled (not .Values.ingest.tls.secretName) }}
{{- fail "ingest.enabled needs ingest.tls.secretName: a Secret with the CA, server certificate and key" }}
{{- end }}
{{- if lt (int .Values.replicas) 1 }}
{{- fail "replicas must be 1 or more" }}
{{- end }}
{{- if and (gt (int .Values.replicas) 1) (not .Values.ingest.enabled) }}
{{- fail "replicas > 1 needs ingest.enabled: the poller runs on pod 0 only, so the other pods would have nothing to forward" }}
{{- end }}
{{- if and .Values.teleport.enabled (not .Values.teleport.identitySecret.name) }}
{{- fail "teleport.enabled needs teleport.identitySecret.name: the Secret tbot writes the identity file to" }}
{{- end }}
{{- end }}
