{{/*
Names, labels and the per-service configuration shared by the templates.
*/}}

{{/* Chart name, overridable. */}}
{{- define "catalog.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Prefix of every resource name: the release name, followed by the chart name unless the release
name already contains it. Truncated so that "<fullname>-<service>" stays within 63 characters.
*/}}
{{- define "catalog.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* "<chart>-<version>" for the helm.sh/chart label. */}}
{{- define "catalog.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Name of one service's resources. Call with (dict "root" $ "name" $name). */}}
{{- define "catalog.serviceName" -}}
{{- printf "%s-%s" (include "catalog.fullname" .root) .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of every resource. */}}
{{- define "catalog.labels" -}}
helm.sh/chart: {{ include "catalog.chart" . }}
app.kubernetes.io/name: {{ include "catalog.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: catalog-normalization
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Labels of one service's resources. Call with (dict "root" $ "name" $name). */}}
{{- define "catalog.serviceLabels" -}}
{{ include "catalog.labels" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{/* Selector labels of one service. Call with (dict "root" $ "name" $name). */}}
{{- define "catalog.selectorLabels" -}}
app.kubernetes.io/name: {{ include "catalog.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{/* Common annotations block body (may be empty). */}}
{{- define "catalog.annotations" -}}
{{- with .Values.commonAnnotations }}
{{- toYaml . }}
{{- end }}
{{- end -}}

{{/* Image reference: registry/repository, then @digest or :tag (default: appVersion). */}}
{{- define "catalog.image" -}}
{{- $repo := .Values.image.repository -}}
{{- if .Values.image.registry -}}
{{- $repo = printf "%s/%s" .Values.image.registry .Values.image.repository -}}
{{- end -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" $repo .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo (default .Chart.AppVersion .Values.image.tag | toString) -}}
{{- end -}}
{{- end -}}

{{/* ServiceAccount of the services. */}}
{{- define "catalog.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "catalog.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Names of the ConfigMap and of the Secret the services read. */}}
{{- define "catalog.configMapName" -}}
{{- printf "%s-config" (include "catalog.fullname" .) -}}
{{- end -}}

{{- define "catalog.secretName" -}}
{{- if .Values.secrets.existingSecret -}}
{{- .Values.secrets.existingSecret -}}
{{- else -}}
{{- printf "%s-secrets" (include "catalog.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/*
Non-secret environment shared by every service and the migration hook, as a YAML map
NAME: "value". The ConfigMap holds it; the hook Job (which runs before the ConfigMap exists)
gets it inline.
*/}}
{{- define "catalog.configEnv" -}}
{{- $c := .Values.config -}}
CATALOG_ENVIRONMENT: {{ $c.environment | quote }}
CATALOG_KAFKA__BOOTSTRAP: {{ $c.kafka.bootstrap | quote }}
CATALOG_KAFKA__PARTITIONS: {{ $c.kafka.partitions | toString | quote }}
CATALOG_POSTGRES__POOL_MAX: {{ $c.postgres.poolMax | toString | quote }}
{{- with $c.redis.sentinelHosts }}
CATALOG_REDIS__SENTINEL_HOSTS: {{ toJson . | quote }}
{{- end }}
CATALOG_REDIS__SENTINEL_MASTER: {{ $c.redis.sentinelMaster | quote }}
CATALOG_LLM__BASE_URL: {{ $c.llm.baseUrl | quote }}
CATALOG_LLM__MINI_MODEL: {{ $c.llm.miniModel | quote }}
CATALOG_LLM__FULL_MODEL: {{ $c.llm.fullModel | quote }}
CATALOG_LLM__FALLBACK_MODEL: {{ $c.llm.fallbackModel | quote }}
CATALOG_LLM__DAILY_BUDGET_USD: {{ $c.llm.dailyBudgetUsd | toString | quote }}
CATALOG_LLM__POLL_INTERVAL_S: {{ $c.llm.pollIntervalS | toString | quote }}
CATALOG_CACHE__EMBEDDING_PROVIDER: {{ $c.cache.embeddingProvider | quote }}
CATALOG_OBSERVABILITY__LOG_JSON: {{ $c.observability.logJson | toString | quote }}
CATALOG_OBSERVABILITY__WEB_HOST: "0.0.0.0"
CATALOG_OBSERVABILITY__WEB_PORT: "8080"
{{- with .Values.otel.endpoint }}
OTEL_EXPORTER_OTLP_ENDPOINT: {{ . | quote }}
OTEL_EXPORTER_OTLP_PROTOCOL: {{ $.Values.otel.protocol | quote }}
{{- end }}
{{- range $k, $v := $c.extraEnv }}
{{ $k }}: {{ $v | toString | quote }}
{{- end }}
{{- end -}}

{{/*
Secret-backed environment variables (a list of EnvVar). Call with (dict "root" $ "secret" NAME).
*/}}
{{- define "catalog.secretEnv" -}}
{{- $keys := .root.Values.secrets.keys -}}
- name: CATALOG_POSTGRES__DSN
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ $keys.postgresDsn }}
- name: CATALOG_REDIS__URL
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ $keys.redisUrl }}
- name: CATALOG_LLM__API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ $keys.llmApiKey }}
{{- end -}}

{{/* Pod identity for OpenTelemetry resource attributes (a list of EnvVar). */}}
{{- define "catalog.otelResourceEnv" -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ printf "service.namespace=catalog-normalization,service.version=%s,k8s.namespace.name=$(POD_NAMESPACE),k8s.pod.name=$(POD_NAME)%s" (default .Chart.AppVersion .Values.image.tag | toString) (ternary (printf ",%s" .Values.otel.resourceAttributes) "" (ne .Values.otel.resourceAttributes "")) | quote }}
{{- end -}}

{{/*
Effective configuration of one service: `defaults` deep-merged with the service's own entry (the
service wins; maps merge, lists and scalars are replaced; see below for the exceptions). Returned as JSON; use with fromJson.
Call with (dict "root" $ "name" $name "svc" $svc).
*/}}
{{- define "catalog.serviceConfig" -}}
{{- $svc := .svc | default dict -}}
{{- $cfg := mergeOverwrite (deepCopy .root.Values.defaults) (deepCopy $svc) -}}
{{- /* Booleans are set explicitly: some Helm versions skip false while merging. */ -}}
{{- range $section := list "autoscaling" "pdb" -}}
{{- $own := get $svc $section | default dict -}}
{{- if hasKey $own "enabled" -}}
{{- $_ := set (get $cfg $section) "enabled" (get $own "enabled") -}}
{{- end -}}
{{- end -}}
{{- /* Where a merge would build an invalid object, the service's value replaces the default whole:
a Recreate strategy (no rollingUpdate), a probe with another handler than httpGet, affinity. */ -}}
{{- $own := get $svc "strategy" | default dict -}}
{{- if eq (get $own "type" | default "") "Recreate" -}}
{{- $_ := set $cfg "strategy" $own -}}
{{- end -}}
{{- range $key := list "startupProbe" "livenessProbe" "readinessProbe" -}}
{{- $probe := get $svc $key | default dict -}}
{{- if or (hasKey $probe "exec") (hasKey $probe "tcpSocket") (hasKey $probe "grpc") -}}
{{- $_ := set $cfg $key $probe -}}
{{- end -}}
{{- end -}}
{{- if hasKey $svc "affinity" -}}
{{- $_ := set $cfg "affinity" (get $svc "affinity") -}}
{{- end -}}
{{- if not $cfg.args -}}
{{- $_ := set $cfg "args" (list (required (printf "services.%s.module is required" .name) $cfg.module)) -}}
{{- end -}}
{{- toJson $cfg -}}
{{- end -}}

{{/*
Fails the render when a service could run more consumers than its topic has partitions (extra
consumers in a group sit idle), or when its settings do not make sense.
Call with (dict "root" $ "name" $name "cfg" $cfg).
*/}}
{{- define "catalog.validateService" -}}
{{- $name := .name -}}
{{- $cfg := .cfg -}}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" $name) -}}
{{- fail (printf "services.%s: the name must be a DNS label (lowercase letters, digits, dashes)" $name) -}}
{{- end -}}
{{- if $cfg.consumes -}}
{{- /* One topic or a list of them (the persister consumes two): the fewest partitions bound it. */ -}}
{{- $topics := $cfg.consumes -}}
{{- if kindIs "string" $topics -}}{{- $topics = list $topics -}}{{- end -}}
{{- $partitions := 0 -}}
{{- $bound := "" -}}
{{- range $topics -}}
{{- $topic := get $.root.Values.topics . -}}
{{- if not $topic -}}
{{- fail (printf "services.%s.consumes: topic %q is not declared under `topics`" $name .) -}}
{{- end -}}
{{- if or (eq $bound "") (lt (int $topic.partitions) $partitions) -}}
{{- $partitions = int $topic.partitions -}}
{{- $bound = . -}}
{{- end -}}
{{- end -}}
{{- if $cfg.autoscaling.enabled -}}
{{- $max := int $cfg.autoscaling.maxReplicas -}}
{{- $min := int $cfg.autoscaling.minReplicas -}}
{{- if gt $max $partitions -}}
{{- fail (printf "services.%s.autoscaling.maxReplicas (%d) exceeds the %d partitions of %s, the topic it consumes" $name $max $partitions $bound) -}}
{{- end -}}
{{- if or (lt $min 1) (gt $min $max) -}}
{{- fail (printf "services.%s.autoscaling: minReplicas (%d) must be between 1 and maxReplicas (%d)" $name $min $max) -}}
{{- end -}}
{{- else -}}
{{- $replicas := int $cfg.replicaCount -}}
{{- if gt $replicas $partitions -}}
{{- fail (printf "services.%s.replicaCount (%d) exceeds the %d partitions of %s, the topic it consumes" $name $replicas $partitions $bound) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
