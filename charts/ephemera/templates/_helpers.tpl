{{/*
Names. fullname is truncated to 63 characters (DNS label); suffixed names stay under that
because the chart only appends short suffixes ("-archiver", "-migrate", "-cassandra").
*/}}
{{- define "ephemera.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "ephemera.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "ephemera.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels. Call with (dict "ctx" $ "component" "server").
*/}}
{{- define "ephemera.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ephemera.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "ephemera.labels" -}}
helm.sh/chart: {{ include "ephemera.chart" .ctx }}
{{ include "ephemera.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: {{ .ctx.Values.partOf }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
{{- with .ctx.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Image reference: repository:tag or repository@digest. */}}
{{- define "ephemera.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{- define "ephemera.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "ephemera.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "ephemera.archiverServiceAccountName" -}}
{{- if .Values.archiver.serviceAccount.create }}
{{- default (printf "%s-archiver" (include "ephemera.fullname" .)) .Values.archiver.serviceAccount.name }}
{{- else }}
{{- required "archiver.serviceAccount.name is required when archiver.serviceAccount.create is false" .Values.archiver.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "ephemera.leaseName" -}}
{{- default (printf "%s-archiver" (include "ephemera.fullname" .)) .Values.archiver.leaseName }}
{{- end }}

{{/*
Cassandra credentials: a chart-managed Secret (cassandra.username/password), an existing
Secret (cassandra.existingSecret), or none (no authentication).
*/}}
{{- define "ephemera.cassandraAuth" -}}
{{- if or .Values.cassandra.existingSecret .Values.cassandra.username }}true{{- end }}
{{- end }}

{{- define "ephemera.cassandraSecretName" -}}
{{- default (printf "%s-cassandra" (include "ephemera.fullname" .)) .Values.cassandra.existingSecret }}
{{- end }}

{{/*
OpenSearch credentials, the same three ways: chart-managed Secret, existing Secret, or none.
*/}}
{{- define "ephemera.opensearchAuth" -}}
{{- if or .Values.opensearch.existingSecret .Values.opensearch.username }}true{{- end }}
{{- end }}

{{- define "ephemera.opensearchSecretName" -}}
{{- default (printf "%s-opensearch" (include "ephemera.fullname" .)) .Values.opensearch.existingSecret }}
{{- end }}

{{/* The Secret holding AUTH_JWT_SECRET: chart-managed (auth.jwtSecret) or existing (auth.existingSecret). */}}
{{- define "ephemera.authSecretName" -}}
{{- default (printf "%s-auth" (include "ephemera.fullname" .)) .Values.auth.existingSecret }}
{{- end }}

{{/* AUTH_JWT_SECRET as a secretKeyRef env entry: only the API container gets it, only in jwt mode. */}}
{{- define "ephemera.authEnv" -}}
{{- if eq .Values.auth.mode "jwt" }}
- name: AUTH_JWT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ include "ephemera.authSecretName" . }}
      key: {{ .Values.auth.existingSecretKey }}
{{- end }}
{{- end }}

{{/* The Secret holding ADMIN_TOKEN: chart-managed (admin.token) or existing (admin.existingSecret). */}}
{{- define "ephemera.adminSecretName" -}}
{{- default (printf "%s-admin" (include "ephemera.fullname" .)) .Values.admin.existingSecret }}
{{- end }}

{{/* ADMIN_TOKEN as a secretKeyRef env entry, API container only; none configured: GET /applications is 401. */}}
{{- define "ephemera.adminEnv" -}}
{{- if or .Values.admin.token .Values.admin.existingSecret }}
- name: ADMIN_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "ephemera.adminSecretName" . }}
      key: {{ .Values.admin.existingSecretKey }}
{{- end }}
{{- end }}

{{/* Environment from docs/interfaces.md, as a flat YAML map of strings (ConfigMap data). */}}
{{- define "ephemera.configData" -}}
{{- $c := .Values.cassandra }}
{{- $cfg := .Values.config }}
{{- /* keep */ -}}
PORT: {{ .Values.containerPort | quote }}
HOST: {{ $cfg.host | quote }}
METRICS_PORT: {{ $cfg.metricsPort | quote }}
LOG_LEVEL: {{ $cfg.logLevel | quote }}
SHUTDOWN_TIMEOUT_MS: {{ $cfg.shutdownTimeoutMs | quote }}
CASSANDRA_CONTACT_POINTS: {{ join "," $c.contactPoints | quote }}
CASSANDRA_LOCAL_DC: {{ $c.localDc | quote }}
CASSANDRA_HOT_KEYSPACE: {{ $c.hotKeyspace | quote }}
CASSANDRA_COLD_KEYSPACE: {{ $c.coldKeyspace | quote }}
CASSANDRA_REPLICATION: {{ $c.replication | quote }}
CASSANDRA_CONSISTENCY: {{ $c.consistency | quote }}
CASSANDRA_SERIAL_CONSISTENCY: {{ $c.serialConsistency | quote }}
CASSANDRA_REQUEST_TIMEOUT_MS: {{ $c.requestTimeoutMs | quote }}
CASSANDRA_DEFUNCT_READ_TIMEOUTS: {{ $c.defunctReadTimeouts | quote }}
{{- $os := .Values.opensearch }}
OPENSEARCH_URL: {{ $os.url | quote }}
OPENSEARCH_INDEX_PREFIX: {{ $os.indexPrefix | quote }}
OPENSEARCH_REQUEST_TIMEOUT_MS: {{ $os.requestTimeoutMs | quote }}
OPENSEARCH_BULK_TIMEOUT_MS: {{ $os.bulkTimeoutMs | quote }}
OPENSEARCH_SHARDS: {{ $os.shards | quote }}
OPENSEARCH_REPLICAS: {{ $os.replicas | quote }}
SEARCH_QUERY_MAX_CHARS: {{ $os.queryMaxChars | quote }}
{{- $b := .Values.bodyStore }}
CHAT_BODY_STORE: {{ $b.kind | quote }}
BODY_STORE_PREFIX: {{ $b.prefix | quote }}
CHAT_BODY_INLINE_BYTES: {{ $b.inlineBytes | quote }}
CHAT_HISTORY_MAX_VERSIONS: {{ $b.historyMaxVersions | quote }}
CHAT_HISTORY_MAX_AGE_SECONDS: {{ $b.historyMaxAgeSeconds | quote }}
BODY_ORPHAN_GRACE_SECONDS: {{ $b.orphanGraceSeconds | quote }}
{{- if eq $b.kind "s3" }}
S3_ENDPOINT: {{ include "ephemera.s3Endpoint" . | quote }}
S3_REGION: {{ $b.s3.region | quote }}
S3_BUCKET: {{ $b.s3.bucket | quote }}
S3_PATH_STYLE: {{ or $b.s3.pathStyle .Values.versitygw.enabled | toString | quote }}
S3_REQUEST_TIMEOUT_MS: {{ $b.s3.requestTimeoutMs | quote }}
{{- else if eq $b.kind "fs" }}
BODY_STORE_DIR: {{ $b.fs.dir | quote }}
{{- end }}
RATE_LIMIT_APPLICATION_CREATES_PER_MINUTE: {{ $cfg.applicationCreates.perMinute | quote }}
RATE_LIMIT_APPLICATION_CREATES_BURST: {{ $cfg.applicationCreates.burst | quote }}
AUTH_MODE: {{ .Values.auth.mode | quote }}
{{- with .Values.auth.issuer }}
AUTH_JWT_ISSUER: {{ . | quote }}
{{- end }}
{{- with .Values.auth.audience }}
AUTH_JWT_AUDIENCE: {{ . | quote }}
{{- end }}
HOT_GRACE_SECONDS: {{ $cfg.hotGraceSeconds | quote }}
MAX_TIMEOUT_SECONDS: {{ $cfg.maxTimeoutSeconds | quote }}
ARCHIVER_LOCK: {{ .Values.archiver.lock | quote }}
LEASE_NAME: {{ include "ephemera.leaseName" . | quote }}
{{- with .Values.archiver.pushgatewayUrl }}
PUSHGATEWAY_URL: {{ . | quote }}
{{- end }}
{{- with $cfg.otel.endpoint }}
OTEL_EXPORTER_OTLP_ENDPOINT: {{ . | quote }}
OTEL_SERVICE_NAME: {{ $cfg.otel.serviceName | default (include "ephemera.fullname" $) | quote }}
{{- end }}
{{- with $cfg.nodeOptions }}
NODE_OPTIONS: {{ . | quote }}
{{- end }}
{{- range $k, $v := $cfg.extraEnv }}
{{ $k }}: {{ $v | quote }}
{{- end }}
{{- end }}

{{/* Downward API identity (lease holder) and namespace (lease namespace). */}}
{{- define "ephemera.downwardEnv" -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
{{- end }}

{{/*
Credentials as secretKeyRef env entries. Call with (dict "ctx" $ "secretName" NAME), plus "bodies" true for the
processes that read or write message bodies (the server and the sweeper): only they get the S3 keys. (The
migration hook must not: it runs before a chart-made versitygw Secret exists.)
*/}}
{{- define "ephemera.secretEnv" -}}
{{- if include "ephemera.cassandraAuth" .ctx }}
- name: CASSANDRA_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: {{ .ctx.Values.cassandra.existingSecretUsernameKey }}
- name: CASSANDRA_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: {{ .ctx.Values.cassandra.existingSecretPasswordKey }}
{{- end }}
{{- $b := .ctx.Values.bodyStore }}
{{- $s3secret := include "ephemera.s3SecretName" .ctx }}
{{- if and .bodies (eq $b.kind "s3") $s3secret }}
- name: AWS_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ $s3secret }}
      key: {{ $b.s3.accessKeyIdKey }}
- name: AWS_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $s3secret }}
      key: {{ $b.s3.secretAccessKeyKey }}
{{- with $b.s3.sessionTokenKey }}
- name: AWS_SESSION_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ $s3secret }}
      key: {{ . }}
      optional: true
{{- end }}
{{- end }}
{{- if include "ephemera.opensearchAuth" .ctx }}
{{- $os := .ctx.Values.opensearch }}
- name: OPENSEARCH_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ include "ephemera.opensearchSecretName" .ctx }}
      key: {{ $os.existingSecretUsernameKey }}
- name: OPENSEARCH_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "ephemera.opensearchSecretName" .ctx }}
      key: {{ $os.existingSecretPasswordKey }}
{{- end }}
{{- end }}

{{- define "ephemera.podSecurityContext" -}}
{{- toYaml .Values.podSecurityContext }}
{{- end }}

{{- define "ephemera.containerSecurityContext" -}}
{{- toYaml .Values.securityContext }}
{{- end }}

{{/* The writable scratch directory (the root filesystem is read-only). */}}
{{- define "ephemera.tmpVolume" -}}
- name: tmp
  emptyDir:
    {{- with .Values.tmpVolume.medium }}
    medium: {{ . }}
    {{- end }}
    sizeLimit: {{ .Values.tmpVolume.sizeLimit }}
{{- end }}

{{- define "ephemera.tmpVolumeMount" -}}
- name: tmp
  mountPath: /tmp
{{- end }}

{{/*
Message bodies (docs/file-storage.md). The S3 endpoint: the in-cluster versitygw's Service when it is enabled,
else bodyStore.s3.endpoint.
*/}}
{{- define "ephemera.versitygwName" -}}
{{- printf "%s-versitygw" (include "ephemera.fullname" .) }}
{{- end }}

{{- define "ephemera.s3Endpoint" -}}
{{- if .Values.versitygw.enabled }}
{{- printf "http://%s.%s.svc:%v" (include "ephemera.versitygwName" .) .Release.Namespace .Values.versitygw.port }}
{{- else }}
{{- .Values.bodyStore.s3.endpoint }}
{{- end }}
{{- end }}

{{/* The Secret with the S3 keys: bodyStore.s3.existingSecret, else the versitygw one the chart makes, else none. */}}
{{- define "ephemera.s3SecretName" -}}
{{- if .Values.bodyStore.s3.existingSecret }}
{{- .Values.bodyStore.s3.existingSecret }}
{{- else if .Values.versitygw.enabled }}
{{- include "ephemera.versitygwName" . }}
{{- end }}
{{- end }}

{{/* The fs backend's directory, from bodyStore.fs.existingClaim: server pods and the sweeper mount it. */}}
{{- define "ephemera.bodiesVolume" -}}
{{- if eq .Values.bodyStore.kind "fs" }}
- name: bodies
  persistentVolumeClaim:
    claimName: {{ .Values.bodyStore.fs.existingClaim }}
{{- end }}
{{- end }}

{{- define "ephemera.bodiesVolumeMount" -}}
{{- if eq .Values.bodyStore.kind "fs" }}
- name: bodies
  mountPath: {{ .Values.bodyStore.fs.dir }}
{{- end }}
{{- end }}

{{/* Pod placement shared by every workload. */}}
{{- define "ephemera.scheduling" -}}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* Validate combinations the JSON schema cannot express. */}}
{{- define "ephemera.validate" -}}
{{- if not (has .Values.autoscaling.mode (list "hpa" "keda" "cpu" "none")) }}
{{- fail (printf "autoscaling.mode must be one of hpa, keda, cpu, none (got %q)" .Values.autoscaling.mode) }}
{{- end }}
{{- if and .Values.cassandra.username (not .Values.cassandra.existingSecret) (not .Values.cassandra.password) }}
{{- fail "cassandra.password is required when cassandra.username is set (or use cassandra.existingSecret)" }}
{{- end }}
{{- if and .Values.opensearch.username (not .Values.opensearch.existingSecret) (not .Values.opensearch.password) }}
{{- fail "opensearch.password is required when opensearch.username is set (or use opensearch.existingSecret)" }}
{{- end }}
{{- if and (eq .Values.auth.mode "jwt") (not .Values.auth.existingSecret) (lt (len .Values.auth.jwtSecret) 32) }}
{{- fail "auth.jwtSecret (at least 32 characters) or auth.existingSecret is required when auth.mode is jwt" }}
{{- end }}
{{- if and (eq .Values.bodyStore.kind "fs") (not .Values.bodyStore.fs.existingClaim) }}
{{- fail "bodyStore.fs.existingClaim is required when bodyStore.kind is fs (every server pod and the sweeper mount it)" }}
{{- end }}
{{- if and .Values.versitygw.enabled (ne .Values.bodyStore.kind "s3") }}
{{- fail "versitygw.enabled runs an S3 server for bodyStore.kind s3 (it is not s3)" }}
{{- end }}
{{- range $k, $_ := .Values.config.extraEnv }}
{{- if regexMatch "(SECRET|PASSWORD|TOKEN|USERNAME)" $k }}
{{- fail (printf "config.extraEnv.%s looks secret-like: it would land in the ConfigMap; use the chart's Secret-backed values" $k) }}
{{- end }}
{{- end }}
{{- if and (eq .Values.autoscaling.mode "cpu") (le (int .Values.autoscaling.targetCPUUtilizationPercentage) 0) }}
{{- fail "autoscaling.targetCPUUtilizationPercentage must be > 0 in cpu mode" }}
{{- end }}
{{- if and (ne .Values.autoscaling.mode "none") (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) }}
{{- fail "autoscaling.minReplicas must not exceed autoscaling.maxReplicas" }}
{{- end }}
{{- end }}
