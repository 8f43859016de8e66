# Sourced by scripts/dev/pods.sh (`pods.sh metrics up|down|status|build`): the custom-metrics path of the
# chart's HPA (autoscaling.mode=hpa) on the real node.
#
#   Prometheus $PROM_VERSION (github.com/prometheus/prometheus $PROM_MODULE_VERSION, Apache-2.0, built from the Go module
#     proxy with only the kubernetes service discovery: Debian's 2.42 binary is built without it, "field
#     kubernetes_sd_configs not found in type config.ScrapeConfig") runs INSIDE the node's network + mount namespaces, like kubelet: the pods'
#     addresses (10.244.0.x) exist only there, and the host never dials them. It finds the API pods through
#     the API server (kubernetes_sd_configs, role endpointslice: the chart's ServiceMonitor as a scrape job)
#     and its web port is relayed out to 127.0.0.1:$PODS_PROM_PORT.
#   prometheus-adapter (sigs.k8s.io/prometheus-adapter $ADAPTER_VERSION, Apache-2.0, built from the Go module
#     proxy) runs on the HOST loopback: the API server, which must call it for custom.metrics.k8s.io, runs
#     on the host too. The APIService names a Service of type ExternalName `localhost`: the aggregator dials
#     https://localhost:$PODS_ADAPTER_PORT and checks the serving certificate against the APIService's
#     caBundle for <service>.<namespace>.svc. It queries Prometheus through the relay, with the chart's own
#     rule (values.yaml prometheusAdapter.rules.custom).
#   The API server's aggregation layer (front-proxy CA and client certificate) is set up by k8s.sh.
# shellcheck shell=bash

ADAPTER_VERSION=v0.12.0
PROM_MODULE_VERSION=v0.316.0   # Prometheus 3.16.0 (the module's versions are v0.<major><minor>.<patch>)
PROM_VERSION=3.16.0
PROM_BIN=${PROM_BIN:-$EPHEMERA_CACHE/prometheus-$PROM_MODULE_VERSION/bin}
ADAPTER_BIN=${ADAPTER_BIN:-$EPHEMERA_CACHE/prometheus-adapter-$ADAPTER_VERSION/bin}
PODS_PROM_PORT=${PODS_PROM_PORT:-18290}        # Prometheus, relayed out of the namespace
PODS_ADAPTER_PORT=${PODS_ADAPTER_PORT:-18291}  # prometheus-adapter (host loopback)
readonly METRICS_NS=ephemera-monitoring ADAPTER_SVC=prometheus-adapter
# Scrape and relist every 5 s: the rule's rate() spans 1m, so a 5 s scrape gives it 12 samples per pod.
readonly SCRAPE_INTERVAL=5s

build_adapter() {
  [[ -x $ADAPTER_BIN/adapter ]] && return 0
  mkdir -p "$ADAPTER_BIN"
  say "building prometheus-adapter $ADAPTER_VERSION from the Go module proxy (~3 CPU-minutes once)"
  local dir build=$ADAPTER_BIN/../build
  # `go install mod@version` also asks the proxy for the module's version list (its deprecation check), which
  # the proxy refuses for this module (403). A throwaway main module that requires exactly $ADAPTER_VERSION, with
  # the adapter's own go.sum, builds the same 91 modules and records the adapter's version in the binary (the
  # license gate reads it; a build inside the module directory would record "(devel)").
  dir=$(cd "$ADAPTER_BIN" && go mod download -json "sigs.k8s.io/prometheus-adapter@$ADAPTER_VERSION" | jq -r .Dir)
  rm -rf "$build"; mkdir -p "$build"
  printf 'module ephemera.local/prometheus-adapter-build\n\ngo 1.22.1\n\nrequire sigs.k8s.io/prometheus-adapter %s\n' \
    "$ADAPTER_VERSION" >"$build/go.mod"
  install -m 644 "$dir/go.sum" "$build/go.sum"
  (cd "$build" && CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false" \
    go build -trimpath -ldflags '-s -w' -o "$ADAPTER_BIN/adapter.tmp" sigs.k8s.io/prometheus-adapter/cmd/adapter)
  mv -f "$ADAPTER_BIN/adapter.tmp" "$ADAPTER_BIN/adapter"
  rm -rf "$build"
}

# Tags remove_all_sd + enable_kubernetes_sd: of the ~25 discovery plugins only kubernetes (plus file/http/static,
# always in), which keeps the cloud SDKs out of the build. No web UI assets (the API is all we use).
build_prometheus() {
  [[ -x $PROM_BIN/prometheus ]] && return 0
  mkdir -p "$PROM_BIN"
  say "building Prometheus $PROM_VERSION (kubernetes discovery only) from the Go module proxy once"
  local dir build=$PROM_BIN/../build
  dir=$(cd "$PROM_BIN" && go mod download -json "github.com/prometheus/prometheus@$PROM_MODULE_VERSION" | jq -r .Dir)
  rm -rf "$build"; mkdir -p "$build"
  printf 'module ephemera.local/prometheus-build\n\ngo %s\n\nrequire github.com/prometheus/prometheus %s\n' \
    "$(awk '/^go /{print $2}' "$dir/go.mod")" "$PROM_MODULE_VERSION" >"$build/go.mod"
  install -m 644 "$dir/go.sum" "$build/go.sum"
  (cd "$build" && CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false" go build -tags remove_all_sd,enable_kubernetes_sd \
    -trimpath -ldflags "-s -w -X github.com/prometheus/common/version.Version=$PROM_VERSION" \
    -o "$PROM_BIN/prometheus.tmp" github.com/prometheus/prometheus/cmd/prometheus)
  mv -f "$PROM_BIN/prometheus.tmp" "$PROM_BIN/prometheus"
  rm -rf "$build"
}

# The adapter's serving certificate, signed by the control plane's CA (the APIService's caBundle).
sign_adapter_serving() {
  local f=$PODS_RUN/pki/adapter-serving
  [[ -f $f.crt ]] && return 0
  printf 'subjectAltName=DNS:%s.%s.svc,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n' \
    "$ADAPTER_SVC" "$METRICS_NS" >"$f.ext"
  openssl req -new -newkey rsa:2048 -nodes -keyout "$f.key" -out "$f.csr" -subj "/CN=$ADAPTER_SVC" 2>/dev/null
  openssl x509 -req -in "$f.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial -CAserial "$PODS_RUN/pki/ca.srl" \
    -days 3650 -extfile "$f.ext" -out "$f.crt" 2>/dev/null
  rm -f "$f.csr" "$f.ext"; chmod 600 "$f.key"
}

write_prometheus_config() {
  # The chart's ServiceMonitor as a plain scrape job: the release's server Service, port "http", /metrics;
  # namespace and pod labels as the adapter rule's resource overrides expect them.
  cat >"$PODS_RUN/prometheus.yml" <<EOF
global:
  scrape_interval: $SCRAPE_INTERVAL
  scrape_timeout: 4s
  evaluation_interval: $SCRAPE_INTERVAL
scrape_configs:
  - job_name: ephemera
    metrics_path: /metrics
    kubernetes_sd_configs:
      - role: endpointslice
        kubeconfig_file: $PODS_RUN/prometheus.kubeconfig
        namespaces: {names: [$PODS_NAMESPACE]}
    relabel_configs:
      - action: keep
        source_labels: [__meta_kubernetes_service_label_app_kubernetes_io_name, __meta_kubernetes_service_label_app_kubernetes_io_instance, __meta_kubernetes_service_label_app_kubernetes_io_component, __meta_kubernetes_endpointslice_port_name]
        regex: ephemera;$PODS_RELEASE;server;http
      - {source_labels: [__meta_kubernetes_namespace], target_label: namespace}
      - {source_labels: [__meta_kubernetes_pod_name], target_label: pod}
      - {source_labels: [__meta_kubernetes_service_name], target_label: service}
EOF
  # The adapter's rules: the chart's own (values.yaml), so the HPA scales on exactly what the chart documents.
  (cd "$REPO_ROOT" && node --input-type=module -e "
    import { readFileSync, writeFileSync } from 'node:fs';
    import YAML from 'yaml';
    const v = YAML.parse(readFileSync('charts/ephemera/values.yaml', 'utf8'));
    writeFileSync(process.argv[1], YAML.stringify({ rules: v.prometheusAdapter.rules.custom }));
  " "$PODS_RUN/adapter-rules.yaml")
}

# Identities (client certificates of the control plane's CA) and what they may do.
apply_metrics_rbac() {
  local ca_b64; ca_b64=$(base64 -w0 <"$PKI/ca.crt")
  kc apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Namespace
metadata: {name: $METRICS_NS}
---
# Prometheus' service discovery.
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: ephemera-prometheus}
rules:
  - {apiGroups: [""], resources: [pods, services, endpoints, namespaces], verbs: [get, list, watch]}
  - {apiGroups: [discovery.k8s.io], resources: [endpointslices], verbs: [get, list, watch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ephemera-prometheus}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: ephemera-prometheus}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: ephemera-prometheus}]
---
# The adapter: delegated authentication (TokenReview) and authorization (SubjectAccessReview) of the callers
# the API server forwards (the HPA controller), the requestheader CA from kube-system, and the objects its
# resource mapping reads.
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ephemera-prometheus-adapter:auth-delegator}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:auth-delegator}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: ephemera-prometheus-adapter}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: ephemera-prometheus-adapter:auth-reader, namespace: kube-system}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: extension-apiserver-authentication-reader}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: ephemera-prometheus-adapter}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ephemera-prometheus-adapter:read}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: ephemera-prometheus}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: ephemera-prometheus-adapter}]
---
apiVersion: v1
kind: Service
metadata: {name: $ADAPTER_SVC, namespace: $METRICS_NS}
spec:
  type: ExternalName
  externalName: localhost
  ports: [{name: https, port: $PODS_ADAPTER_PORT}]
EOF
  local v
  for v in v1beta1 v1beta2; do
    kc apply -f - >/dev/null <<EOF
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: $v.custom.metrics.k8s.io}
spec:
  group: custom.metrics.k8s.io
  version: $v
  service: {namespace: $METRICS_NS, name: $ADAPTER_SVC, port: $PODS_ADAPTER_PORT}
  caBundle: $ca_b64
  groupPriorityMinimum: 100
  versionPriority: $([[ $v == v1beta2 ]] && echo 200 || echo 100)
EOF
  done
}

apiservice_available() {
  kc get apiservice v1beta2.custom.metrics.k8s.io -o jsonpath='{.status.conditions[?(@.type=="Available")].status}' | grep -qx True
}

metrics_up() {
  holder_alive || die "the node is not up (scripts/dev/pods.sh up)"
  load_k8s_env
  build_prometheus
  build_adapter
  local t0=$SECONDS
  mkdir -p "$PODS_RUN/pki"
  sign_client prometheus "/CN=ephemera-prometheus"
  sign_client prometheus-adapter "/CN=ephemera-prometheus-adapter"
  sign_adapter_serving
  node_kubeconfig "$PODS_RUN/prometheus.kubeconfig" prometheus
  node_kubeconfig "$PODS_RUN/adapter.kubeconfig" prometheus-adapter
  write_prometheus_config
  apply_metrics_rbac

  stop_metrics
  rm -rf "$PODS_RUN/prometheus-data"
  start_in_ns prometheus "$PROM_BIN/prometheus" --config.file "$PODS_RUN/prometheus.yml" \
    --storage.tsdb.path "$PODS_RUN/prometheus-data" --storage.tsdb.retention.time 2h \
    --web.listen-address 127.0.0.1:9090 --log.level warn
  relay_out_of_ns prometheus "$PODS_PROM_PORT" 127.0.0.1:9090
  wait_for prometheus 60 curl -fsS --max-time 2 "http://127.0.0.1:$PODS_PROM_PORT/-/ready" || fail_metrics prometheus

  : >"$LOGS/prometheus-adapter.log"
  start_on_host prometheus-adapter "$ADAPTER_BIN/adapter" \
    --prometheus-url "http://127.0.0.1:$PODS_PROM_PORT" --config "$PODS_RUN/adapter-rules.yaml" \
    --metrics-relist-interval 10s \
    --secure-port "$PODS_ADAPTER_PORT" --bind-address 127.0.0.1 \
    --tls-cert-file "$PODS_RUN/pki/adapter-serving.crt" --tls-private-key-file "$PODS_RUN/pki/adapter-serving.key" \
    --lister-kubeconfig "$PODS_RUN/adapter.kubeconfig" \
    --authentication-kubeconfig "$PODS_RUN/adapter.kubeconfig" \
    --authorization-kubeconfig "$PODS_RUN/adapter.kubeconfig" --v=1
  wait_for "APIService custom.metrics.k8s.io Available" 120 apiservice_available || fail_metrics prometheus-adapter
  say "metrics up in $((SECONDS - t0))s: Prometheus http://127.0.0.1:$PODS_PROM_PORT, custom.metrics.k8s.io served by prometheus-adapter"
}

fail_metrics() {
  say "$1 did not become ready; last lines of $LOGS/$1.log:"
  tail -n 30 "$LOGS/$1.log" >&2 || true
  kc get apiservice v1beta2.custom.metrics.k8s.io -o jsonpath='{.status.conditions}' >&2 2>/dev/null || true
  exit 1
}

stop_metrics() {
  stop_proc prometheus-adapter TERM 5
  stop_proc relay-prometheus-host TERM 2
  stop_proc relay-prometheus-ns TERM 2
  stop_proc prometheus TERM 10
}

cmd_metrics() {
  case ${1:-} in
    build) build_prometheus; build_adapter ;;
    up) metrics_up ;;
    down) stop_metrics; say "Prometheus and prometheus-adapter stopped" ;;
    url) echo "http://127.0.0.1:$PODS_PROM_PORT" ;;
    *) echo "Usage: scripts/dev/pods.sh metrics build|up|down|url" >&2; return 2 ;;
  esac
}
