#!/usr/bin/env bash
# A real, single-machine Kubernetes control plane on loopback for integration tests:
# etcd + kube-apiserver + kube-controller-manager (+ optional kube-scheduler and kwok fake node).
# No Docker, no downloaded binaries: everything is compiled from the Go module proxy through the
# wrapper module in scripts/dev/k8s-wrapper and cached outside the checkout.
#
# Usage: scripts/dev/k8s.sh build|up|down|status|kubeconfig|logs|--help   (details: --help)
set -euo pipefail

# ---------------------------------------------------------------- settings
KUBE_VERSION=v1.34.4      # must match scripts/dev/k8s-wrapper/go.mod (checked below)
ETCD_VERSION=v3.6.4       # what k8s.io/kubernetes $KUBE_VERSION requires; built from the same module
KWOK_VERSION=v0.8.0       # optional fake nodes (sigs.k8s.io/kwok, plain go install)

EPHEMERA_CACHE=${EPHEMERA_CACHE:-$HOME/.cache/ephemera}
K8S_BIN=${K8S_BIN:-$EPHEMERA_CACHE/k8s-$KUBE_VERSION/bin}
K8S_RUN=${K8S_RUN:-$EPHEMERA_CACHE/k8s-run}
K8S_API_PORT=${K8S_API_PORT:-6443}        # taken? a free port is picked instead
K8S_KWOK=${K8S_KWOK:-0}                   # 1: also start kube-scheduler + kwok with one fake node
K8S_SCHEDULER=${K8S_SCHEDULER:-$K8S_KWOK} # 1: start kube-scheduler (without kwok: for the real node of pods.sh)
K8S_START_TIMEOUT=${K8S_START_TIMEOUT:-120}

readonly HOST=127.0.0.1
readonly SERVICE_CIDR=10.0.0.0/24
readonly SERVICE_IP=10.0.0.1
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WRAPPER=$REPO_ROOT/scripts/dev/k8s-wrapper
STAMP=$K8S_BIN/.built
PKI=$K8S_RUN/pki
LOGS=$K8S_RUN/logs
KUBECONFIG_ADMIN=$K8S_RUN/admin.kubeconfig
# kubelet, kube-proxy and kubectl: for the node that runs real containers (scripts/dev/pods.sh).
BINARIES=(etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

say()  { printf '==> k8s: %s\n' "$*" >&2; }
die()  { printf '==> k8s: ERROR: %s\n' "$*" >&2; exit 1; }

usage() {
  cat <<EOF
Usage: scripts/dev/k8s.sh <command>

  build       compile etcd $ETCD_VERSION, kube-apiserver, kube-controller-manager, kube-scheduler, and
              for scripts/dev/pods.sh kubelet, kube-proxy and kubectl, $KUBE_VERSION (and kwok
              $KWOK_VERSION) into \$K8S_BIN once; later runs are no-ops.
              First build: ~23 CPU-minutes (~12-15 min on an idle 2-core machine, 49 min measured
              on a busy one), <= 3 GiB RAM, +3.4 GB Go build cache, +0.9 GB modules (see docs/development.md).
  up          build if needed, generate certificates/keys/kubeconfigs, start the control plane on
              $HOST and wait for /readyz. Reuses a healthy running one. K8S_KWOK=1 adds
              kube-scheduler + kwok and a fake Ready node, so Pods get scheduled and "run".
  down        stop everything it started (SIGTERM, then SIGKILL) and delete etcd's data
  status      what runs where (exit 0 ready, 1 partly up, 3 stopped)
  kubeconfig  print the path of the admin kubeconfig (user system:masters)
  logs NAME   last 50 lines of a component's log (etcd, kube-apiserver, ...)
  built       exit 0 when the binaries of this version are cached (for .ci/run)

Environment (defaults):
  EPHEMERA_CACHE     $EPHEMERA_CACHE
  K8S_BIN            $K8S_BIN
  K8S_RUN            $K8S_RUN   (pki, kubeconfigs, logs, pids, etcd data)
  K8S_API_PORT       $K8S_API_PORT
  K8S_KWOK           $K8S_KWOK
  K8S_SCHEDULER      $K8S_SCHEDULER (defaults to K8S_KWOK)
  K8S_START_TIMEOUT  $K8S_START_TIMEOUT s
EOF
}

# ---------------------------------------------------------------- build
ldflags() {
  local minor=${KUBE_VERSION#v1.}; minor=${minor%%.*}
  local v
  for v in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    # Without these the server reports v0.0.0-master and helm's kubeVersion checks fail.
    printf -- "-X '%s.gitVersion=%s' -X '%s.gitMajor=1' -X '%s.gitMinor=%s' -X '%s.gitTreeState=clean' -X '%s.buildDate=1970-01-01T00:00:00Z' " \
      "$v" "$KUBE_VERSION" "$v" "$v" "$minor" "$v" "$v"
  done
  printf -- '-s -w'
}

build_key() { # changes whenever what we would build changes (so go.mod's comments keep their pre-move paths:
  # editing them would force the ~23 CPU-minute rebuild of binaries already cached)
  { echo "$KUBE_VERSION $ETCD_VERSION $KWOK_VERSION $(go env GOVERSION)"; cat "$WRAPPER/go.mod" "$WRAPPER/go.sum" "$WRAPPER/cmd/etcd/main.go"; } |
    sha256sum | cut -c1-16
}

is_built() {
  [[ -f $STAMP && "$(cat "$STAMP")" == "$(build_key)" ]] || return 1
  local b
  for b in "${BINARIES[@]}" kwok; do [[ -x $K8S_BIN/$b ]] || return 1; done
}

check_wrapper() {
  grep -q "^require k8s.io/kubernetes $KUBE_VERSION\$" "$WRAPPER/go.mod" ||
    grep -qE "^\s+k8s.io/kubernetes $KUBE_VERSION\$" "$WRAPPER/go.mod" ||
    die "scripts/dev/k8s-wrapper/go.mod does not require k8s.io/kubernetes $KUBE_VERSION"
  local staging=v0.${KUBE_VERSION#v1.}
  if grep -E '=> k8s.io/' "$WRAPPER/go.mod" | grep -v " $staging\$" >&2; then
    die "every staging replace in scripts/dev/k8s-wrapper/go.mod must point at $staging"
  fi
  grep -qE "go.etcd.io/etcd/server/v3 $ETCD_VERSION\$" "$WRAPPER/go.mod" ||
    die "scripts/dev/k8s-wrapper/go.mod does not pin go.etcd.io/etcd/server/v3 $ETCD_VERSION"
}

# kwok v0.8 ships no built-in stages: take the upstream "fast" node/pod stages (plus the node
# heartbeat, so the node lifecycle controller never marks the node NotReady) from its module.
kwok_stages() {
  [[ -f $K8S_BIN/kwok-stages.yaml ]] && return 0
  local kwok_dir stage
  kwok_dir=$(cd "$K8S_BIN" && go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | jq -r .Dir)
  : >"$K8S_BIN/kwok-stages.yaml.tmp"
  for stage in node/fast/node-initialize node/heartbeat-with-lease/node-heartbeat-with-lease \
    pod/fast/pod-ready pod/fast/pod-complete pod/fast/pod-delete; do
    { echo '---'; cat "$kwok_dir/kustomize/stage/$stage.yaml"; } >>"$K8S_BIN/kwok-stages.yaml.tmp"
  done
  mv -f "$K8S_BIN/kwok-stages.yaml.tmp" "$K8S_BIN/kwok-stages.yaml"
}

cmd_build() {
  mkdir -p "$K8S_BIN"
  exec 8>"$K8S_BIN/.build.lock"
  flock 8
  if is_built; then
    say "cached: $K8S_BIN (kubernetes $KUBE_VERSION, etcd $ETCD_VERSION, kwok $KWOK_VERSION)"
    kwok_stages
    return 0
  fi
  command -v go >/dev/null || die "go is required to build the control plane"
  check_wrapper
  local total=$SECONDS start flags
  flags=$(ldflags)
  rm -f "$STAMP"
  say "building kubernetes $KUBE_VERSION + etcd $ETCD_VERSION from the Go module proxy into $K8S_BIN"
  say "first time: ~0.9 GB of modules, ~23 CPU-minutes of compiling (12-15 min on 2 idle cores), <= 3 GiB RAM"
  start=$SECONDS
  say "go mod download (wrapper module scripts/dev/k8s-wrapper)"
  (cd "$WRAPPER" && go mod download)
  say "modules ready in $((SECONDS - start))s"
  local target pkg
  for target in "${BINARIES[@]}"; do
    case $target in
      etcd) pkg=./cmd/etcd ;;
      *) pkg=k8s.io/kubernetes/cmd/$target ;;
    esac
    start=$SECONDS
    say "go build $target ($pkg)"
    (cd "$WRAPPER" && CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" \
      go build -trimpath -ldflags "$flags" -o "$K8S_BIN/$target.tmp" "$pkg")
    mv -f "$K8S_BIN/$target.tmp" "$K8S_BIN/$target"
    say "$target built in $((SECONDS - start))s"
  done
  start=$SECONDS
  say "go install sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  (cd "$K8S_BIN" && GOBIN=$K8S_BIN CGO_ENABLED=0 GOFLAGS=-buildvcs=false go install -trimpath -ldflags '-s -w' \
    "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION")
  say "kwok built in $((SECONDS - start))s"
  kwok_stages
  build_key >"$STAMP"
  say "built in $((SECONDS - total))s: $(du -sh "$K8S_BIN" | cut -f1) in $K8S_BIN"
}

# ---------------------------------------------------------------- pki and kubeconfigs
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
port_free() {
  python3 -c 'import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null
}

# A CA, the API server's serving certificate, one client certificate per user and the service
# account signing key pair. Generated once per $K8S_RUN (kept by `down`).
gen_pki() {
  [[ -f $PKI/.done ]] && return 0
  say "generating certificates and the service-account key pair in $PKI (openssl)"
  rm -rf "$PKI"; mkdir -p "$PKI"; chmod 700 "$PKI"
  (
    cd "$PKI"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 \
      -subj "/CN=ephemera-test-ca" 2>/dev/null
    cat >apiserver.ext <<EXT
subjectAltName=IP:127.0.0.1,IP:$SERVICE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
extendedKeyUsage=serverAuth
keyUsage=digitalSignature,keyEncipherment
EXT
    printf 'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n' >client.ext
    sign() { # name subject extfile
      openssl req -new -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
      openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
        -extfile "$3" -out "$1.crt" 2>/dev/null
      rm -f "$1.csr"
    }
    sign apiserver "/CN=kube-apiserver" apiserver.ext
    sign admin "/O=system:masters/CN=ephemera-admin" client.ext
    sign controller-manager "/CN=system:kube-controller-manager" client.ext
    sign scheduler "/CN=system:kube-scheduler" client.ext
    sign kwok "/O=system:masters/CN=kwok" client.ext
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    chmod 600 ./*.key
    touch .done
  )
}

# Client certificates added after a $PKI was first generated: signed on demand with its CA.
ensure_client_cert() { # name subject
  [[ -f $PKI/$1.crt ]] && return 0
  (
    cd "$PKI"
    openssl req -new -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
    openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile client.ext -out "$1.crt" 2>/dev/null
    rm -f "$1.csr"; chmod 600 "$1.key"
  )
}

write_kubeconfig() { # file user-cert-name
  local b64='base64 -w0'
  cat >"$1" <<EOF2
apiVersion: v1
kind: Config
clusters:
  - name: ephemera-test
    cluster:
      server: https://$HOST:$API_PORT
      certificate-authority-data: $($b64 <"$PKI/ca.crt")
users:
  - name: $2
    user:
      client-certificate-data: $($b64 <"$PKI/$2.crt")
      client-key-data: $($b64 <"$PKI/$2.key")
contexts:
  - name: ephemera-test
    context:
      cluster: ephemera-test
      user: $2
      namespace: default
current-context: ephemera-test
EOF2
  chmod 600 "$1"
}

# The aggregation layer (APIServices such as custom.metrics.k8s.io served by prometheus-adapter, pods.sh
# metrics): the API server proxies to the extension server with a client certificate from its own CA, and the
# extension trusts the X-Remote-User/Group headers only on connections that present it. A CA of its own, so
# no ordinary client certificate of ca.crt can pass as the proxy and name any user in a header.
ensure_front_proxy_pki() {
  [[ -f $PKI/front-proxy-client.crt ]] && return 0
  (
    cd "$PKI"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout front-proxy-ca.key -out front-proxy-ca.crt -days 3650 \
      -subj "/CN=ephemera-test-front-proxy-ca" 2>/dev/null
    openssl req -new -newkey rsa:2048 -nodes -keyout front-proxy-client.key -out front-proxy-client.csr \
      -subj "/CN=front-proxy-client" 2>/dev/null
    openssl x509 -req -in front-proxy-client.csr -CA front-proxy-ca.crt -CAkey front-proxy-ca.key \
      -CAcreateserial -days 3650 -extfile client.ext -out front-proxy-client.crt 2>/dev/null
    rm -f front-proxy-client.csr; chmod 600 front-proxy-ca.key front-proxy-client.key
  )
}

# ---------------------------------------------------------------- processes
pid_of() { cat "$K8S_RUN/$1.pid" 2>/dev/null || true; }
alive() { # name: the pid file names a live process running our binary
  local pid; pid=$(pid_of "$1")
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null &&
    grep -q "^$K8S_BIN/$1 " < <(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)  # no pipe: SIGPIPE + pipefail
}

start() { # name args...
  local name=$1; shift
  say "starting $name (log: $LOGS/$name.log)"
  # 8>&- 9>&-: the daemons must not inherit (and so keep holding) the build and run locks.
  setsid "$K8S_BIN/$name" "$@" >>"$LOGS/$name.log" 2>&1 </dev/null 8>&- 9>&- &
  echo $! >"$K8S_RUN/$name.pid"
}

stop() { # name
  local pid i; pid=$(pid_of "$1")
  if alive "$1"; then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then say "$1 ($pid) ignored SIGTERM for 10s: SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; fi
    say "stopped $1 ($pid)"
  fi
  rm -f "$K8S_RUN/$1.pid"
}

# shellcheck source=/dev/null
load_env() { [[ -f $K8S_RUN/env ]] && source "$K8S_RUN/env"; }

api() { # curl the API server as admin: api PATH [curl args...]
  local path=$1; shift
  curl -sS --max-time 10 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
    "https://$HOST:$API_PORT$path" "$@"
}

wait_for() { # what timeout command...
  local what=$1 timeout=$2 start=$SECONDS; shift 2
  until "$@" >/dev/null 2>&1; do
    ((SECONDS - start < timeout)) || return 1
    sleep 0.5
  done
  say "$what ready after $((SECONDS - start))s"
}

etcd_healthy() { curl -fsS --max-time 2 "http://$HOST:$ETCD_PORT/health" | grep -q '"health":"true"'; }
api_ready() { [[ "$(api /readyz)" == ok ]]; }
ready() { load_env && alive etcd && alive kube-apiserver && alive kube-controller-manager && api_ready; }

cmd_up() {
  cmd_build
  mkdir -p "$K8S_RUN" "$LOGS"
  exec 9>"$K8S_RUN/.lock"
  flock 9
  if ready && { [[ $K8S_KWOK != 1 ]] || { alive kube-scheduler && alive kwok; }; } &&
    { [[ $K8S_SCHEDULER != 1 ]] || alive kube-scheduler; }; then
    say "already running: https://$HOST:$API_PORT (kubeconfig $KUBECONFIG_ADMIN)"
    return 0
  fi
  stop_all quiet
  gen_pki
  # The API server's identity towards kubelets (logs, exec, port-forward): kubelets then keep Webhook
  # authentication/authorization instead of allowing anonymous callers.
  ensure_client_cert kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
  ensure_front_proxy_pki
  API_PORT=$K8S_API_PORT
  port_free "$API_PORT" || { API_PORT=$(free_port); say "port $K8S_API_PORT is taken: API server on $API_PORT"; }
  ETCD_PORT=$(free_port); ETCD_PEER_PORT=$(free_port); KCM_PORT=$(free_port); SCHED_PORT=$(free_port)
  KWOK_PORT=$(free_port)
  cat >"$K8S_RUN/env" <<EOF2
API_PORT=$API_PORT
ETCD_PORT=$ETCD_PORT
ETCD_PEER_PORT=$ETCD_PEER_PORT
KCM_PORT=$KCM_PORT
SCHED_PORT=$SCHED_PORT
KWOK_PORT=$KWOK_PORT
KWOK=$K8S_KWOK
SCHEDULER=$K8S_SCHEDULER
EOF2
  write_kubeconfig "$KUBECONFIG_ADMIN" admin
  write_kubeconfig "$K8S_RUN/controller-manager.kubeconfig" controller-manager
  write_kubeconfig "$K8S_RUN/scheduler.kubeconfig" scheduler
  write_kubeconfig "$K8S_RUN/kwok.kubeconfig" kwok
  local t0=$SECONDS
  rm -rf "$K8S_RUN/etcd-data"
  : >"$LOGS/etcd.log"; : >"$LOGS/kube-apiserver.log"; : >"$LOGS/kube-controller-manager.log"
  : >"$LOGS/kube-scheduler.log"; : >"$LOGS/kwok.log"

  # Throwaway data: no fsync, small quota.
  start etcd --name ephemera-test --data-dir "$K8S_RUN/etcd-data" \
    --listen-client-urls "http://$HOST:$ETCD_PORT" --advertise-client-urls "http://$HOST:$ETCD_PORT" \
    --listen-peer-urls "http://$HOST:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://$HOST:$ETCD_PEER_PORT" \
    --initial-cluster "ephemera-test=http://$HOST:$ETCD_PEER_PORT" --quota-backend-bytes 1073741824 \
    --unsafe-no-fsync --log-level warn
  wait_for etcd "$K8S_START_TIMEOUT" etcd_healthy || fail_up etcd

  # RBAC + Node authorization, client-certificate users, service-account tokens signed by sa.key.
  # --endpoint-reconciler-type=none: the "kubernetes" Service's endpoint would be 127.0.0.1,
  # which Endpoints validation rejects (nothing in these tests calls it from a pod).
  start kube-apiserver --etcd-servers "http://$HOST:$ETCD_PORT" \
    --bind-address "$HOST" --advertise-address "$HOST" --secure-port "$API_PORT" \
    --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
    --client-ca-file "$PKI/ca.crt" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
    --service-cluster-ip-range "$SERVICE_CIDR" --authorization-mode Node,RBAC \
    --allow-privileged=true --endpoint-reconciler-type none --enable-priority-and-fairness=false \
    --kubelet-client-certificate "$PKI/kubelet-client.crt" --kubelet-client-key "$PKI/kubelet-client.key" \
    --cert-dir "$K8S_RUN/apiserver-certs" \
    --requestheader-client-ca-file "$PKI/front-proxy-ca.crt" --requestheader-allowed-names front-proxy-client \
    --requestheader-username-headers X-Remote-User --requestheader-group-headers X-Remote-Group \
    --requestheader-extra-headers-prefix X-Remote-Extra- \
    --proxy-client-cert-file "$PKI/front-proxy-client.crt" --proxy-client-key-file "$PKI/front-proxy-client.key"
  wait_for "kube-apiserver /readyz" "$K8S_START_TIMEOUT" api_ready || fail_up kube-apiserver

  start kube-controller-manager --kubeconfig "$K8S_RUN/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$K8S_RUN/controller-manager.kubeconfig" \
    --authorization-kubeconfig "$K8S_RUN/controller-manager.kubeconfig" \
    --bind-address "$HOST" --secure-port "$KCM_PORT" --cert-dir "$K8S_RUN/kcm-certs" \
    --leader-elect=false --use-service-account-credentials=true \
    --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
    --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
    --service-cluster-ip-range "$SERVICE_CIDR"
  wait_for kube-controller-manager "$K8S_START_TIMEOUT" \
    curl -fsk --max-time 2 "https://$HOST:$KCM_PORT/healthz" || fail_up kube-controller-manager

  if [[ $K8S_SCHEDULER == 1 || $K8S_KWOK == 1 ]]; then
    start kube-scheduler --kubeconfig "$K8S_RUN/scheduler.kubeconfig" \
      --authentication-kubeconfig "$K8S_RUN/scheduler.kubeconfig" \
      --authorization-kubeconfig "$K8S_RUN/scheduler.kubeconfig" \
      --bind-address "$HOST" --secure-port "$SCHED_PORT" --leader-elect=false
    wait_for kube-scheduler "$K8S_START_TIMEOUT" \
      curl -fsk --max-time 2 "https://$HOST:$SCHED_PORT/healthz" || fail_up kube-scheduler
  fi
  if [[ $K8S_KWOK == 1 ]]; then
    # kwok's default stages: nodes with the annotation become Ready and heartbeat; their Pods
    # become Running/Ready, and Pods owned by a Job complete (Succeeded) right away.
    start kwok --kubeconfig "$K8S_RUN/kwok.kubeconfig" --manage-all-nodes=false \
      --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
      --config "$K8S_BIN/kwok-stages.yaml" --node-lease-duration-seconds=40 \
      --node-ip=10.0.1.1 --cidr=10.0.2.0/24 --server-address "$HOST:$KWOK_PORT"
    create_fake_node
    wait_for "kwok node ephemera-fake-node" "$K8S_START_TIMEOUT" fake_node_ready || fail_up kwok
  fi
  # The default ServiceAccount appears once the serviceaccount controller has run.
  wait_for "default ServiceAccount" "$K8S_START_TIMEOUT" \
    api /api/v1/namespaces/default/serviceaccounts/default -f || fail_up kube-controller-manager
  say "control plane up in $((SECONDS - t0))s: https://$HOST:$API_PORT"
  say "kubeconfig: $KUBECONFIG_ADMIN   (export KUBECONFIG=\$(scripts/dev/k8s.sh kubeconfig))"
}

create_fake_node() {
  api /api/v1/nodes -f -o /dev/null -X POST -H 'Content-Type: application/json' -d @- <<'JSON' ||
{"apiVersion": "v1", "kind": "Node",
 "metadata": {"name": "ephemera-fake-node",
   "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
   "labels": {"kubernetes.io/hostname": "ephemera-fake-node", "kubernetes.io/os": "linux",
     "kubernetes.io/arch": "amd64", "topology.kubernetes.io/zone": "zone-a", "type": "kwok"}},
 "spec": {},
 "status": {"allocatable": {"cpu": "32", "memory": "256Gi", "pods": "110"},
   "capacity": {"cpu": "32", "memory": "256Gi", "pods": "110"}}}
JSON
    die "could not create the fake node"
}
fake_node_ready() {
  api /api/v1/nodes/ephemera-fake-node -f |
    jq -e '.status.conditions[]? | select(.type == "Ready" and .status == "True")'
}

fail_up() {
  say "$1 did not become ready in ${K8S_START_TIMEOUT}s; last lines of $LOGS/$1.log:"
  tail -n 30 "$LOGS/$1.log" >&2 || true
  stop_all quiet
  exit 1
}

stop_all() {
  local i
  for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do stop "${COMPONENTS[i]}"; done
  rm -rf "$K8S_RUN/etcd-data"
  [[ ${1:-} == quiet ]] || say "down (pki and logs kept in $K8S_RUN)"
}

cmd_down() {
  mkdir -p "$K8S_RUN"
  exec 9>"$K8S_RUN/.lock"
  flock 9
  stop_all
}

cmd_status() {
  local c up=0 n=0 rc
  load_env || true
  for c in "${COMPONENTS[@]}"; do
    [[ $c == kwok ]] && [[ ${KWOK:-0} != 1 ]] && continue
    [[ $c == kube-scheduler ]] && [[ ${KWOK:-0} != 1 && ${SCHEDULER:-0} != 1 ]] && continue
    n=$((n + 1))
    if alive "$c"; then up=$((up + 1)); printf '%-24s running (pid %s)\n' "$c" "$(pid_of "$c")"
    else printf '%-24s stopped\n' "$c"; fi
  done
  printf '%-24s %s\n' binaries "$(is_built && echo "cached in $K8S_BIN ($(du -sh "$K8S_BIN" | cut -f1))" || echo "not built (scripts/dev/k8s.sh build)")"
  if ((up == 0)); then echo "control plane: stopped"; return 3; fi
  printf '%-24s https://%s:%s  etcd http://%s:%s\n' endpoints "$HOST" "$API_PORT" "$HOST" "$ETCD_PORT"
  printf '%-24s %s\n' kubeconfig "$KUBECONFIG_ADMIN"
  if ((up == n)) && api_ready; then
    rc=0; echo "control plane: ready ($(api /version | jq -r .gitVersion))"
  else rc=1; echo "control plane: partly up ($up/$n), /readyz: $(api /readyz 2>&1 | tail -1)"; fi
  return $rc
}

cmd_kubeconfig() {
  [[ -f $KUBECONFIG_ADMIN ]] || die "no kubeconfig yet: scripts/dev/k8s.sh up"
  echo "$KUBECONFIG_ADMIN"
}

# ---------------------------------------------------------------- main
case ${1:-} in
  build) cmd_build ;;
  built) is_built ;;
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  kubeconfig) cmd_kubeconfig ;;
  logs) tail -n "${3:-50}" "$LOGS/${2:?logs NAME}.log" ;;
  -h | --help | help) usage ;;
  *) usage; exit 2 ;;
esac
