#!/usr/bin/env bash
# A node that runs real containers, joined to the control plane of scripts/dev/k8s.sh: kubelet and
# kube-proxy (built from scripts/dev/k8s-wrapper), containerd + runc (Debian), CNI bridge/host-local
# (built from the Go module proxy), and a pod network 10.244.0.0/24 that lives in a network namespace
# this script creates. Nothing is changed on the host's network, sysctls or mount table:
#
#   - one "holder" process owns a new network namespace AND a private mount namespace; containerd,
#     kubelet, kube-proxy and the relays run inside both (kubelet and containerd must share a mount
#     namespace for volumes). Overlay/tmpfs/netns mounts, the tmpfs over /run, the files bind-mounted
#     over the /proc/sys entries kubelet writes, the bridge and kube-proxy's iptables rules all vanish
#     with the namespaces when their last process exits.
#   - the only host-visible traces while it runs: processes, cgroup directories under
#     /<PODS_CGROUP> in each hierarchy (removed by `down`), files under $PODS_RUN, and loopback listeners.
#   - the namespace cannot see the host's loopback, and the host never sends to the pod network's
#     private addresses: single ports are relayed through unix sockets in $PODS_RUN (socat), host
#     loopback <-> namespace. Into the namespace: the API server (kubelet, kube-proxy, and pods through
#     the `kubernetes` Service), Cassandra and OpenSearch (pods reach them at 10.244.0.1). Out of it: the
#     kubelet port (logs/exec for the API server) and the release's Service (`url`).
#
# Usage: scripts/dev/pods.sh build|up|down|status|check|install|url|import IMAGE|ns CMD...|snapshot FILE|--help
set -euo pipefail

CNI_VERSION=v1.10.0            # github.com/containernetworking/plugins, built with CGO_ENABLED=0
CRICTL_VERSION=v1.34.0         # sigs.k8s.io/cri-tools (Apache-2.0), built for `check` only
EPHEMERA_CACHE=${EPHEMERA_CACHE:-$HOME/.cache/ephemera}
PODS_BIN=${PODS_BIN:-$EPHEMERA_CACHE/pods-cni-$CNI_VERSION/bin}
PODS_RUN=${PODS_RUN:-$EPHEMERA_CACHE/pods-run}
K8S_RUN=${K8S_RUN:-$EPHEMERA_CACHE/k8s-run}
K8S_BIN=${K8S_BIN:-$EPHEMERA_CACHE/k8s-v1.34.4/bin}
PODS_CGROUP=${PODS_CGROUP:-ephemera-pods}     # cgroupRoot: unique per kubelet (it kills pod cgroups it does not know)
PODS_NAMESPACE=${PODS_NAMESPACE:-ephemera}    # Kubernetes namespace of the release
PODS_RELEASE=${PODS_RELEASE:-ephemera}
PODS_URL_PORT=${PODS_URL_PORT:-18280}         # loopback port of `url` (the release's Service)
PODS_HOT_KEYSPACE=${PODS_HOT_KEYSPACE:-pods_hot}
PODS_COLD_KEYSPACE=${PODS_COLD_KEYSPACE:-pods_cold}
PODS_SEARCH_PREFIX=${PODS_SEARCH_PREFIX:-pods}
PODS_IMAGE=${PODS_IMAGE:-localhost/ephemera:dev}
PODS_TIMEOUT=${PODS_TIMEOUT:-300}
CASSANDRA_PORT=${CASSANDRA_PORT:-9042}
OPENSEARCH_PORT=${OPENSEARCH_PORT:-9200}

readonly POD_CIDR=10.244.0.0/24 GATEWAY=10.244.0.1 BRIDGE=cni0
readonly SERVICE_CIDR=10.0.0.0/24   # k8s.sh's --service-cluster-ip-range
readonly PAUSE_IMAGE=localhost/pause:ephemera
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$REPO_ROOT/scripts/dev/pods
K8S=$REPO_ROOT/scripts/dev/k8s.sh
PKI=$K8S_RUN/pki
LOGS=$PODS_RUN/logs
SOCKS=$PODS_RUN/s                 # relay sockets (short path: unix socket names are limited to 107 bytes)
CTR_SOCK=$PODS_RUN/containerd.sock
HOLDER_PID=$PODS_RUN/holder.pid
CGROUP_HIERARCHIES=(cpu cpuacct cpuset memory devices freezer blkio pids systemd unified)
DAEMONS=(containerd kubelet kube-proxy)

say() { printf '==> pods: %s\n' "$*" >&2; }
die() { printf '==> pods: ERROR: %s\n' "$*" >&2; exit 1; }

usage() {
  cat <<EOF
Usage: scripts/dev/pods.sh <command>

  build        apt-get containerd, runc, iptables, socat, conntrack if missing; build the CNI plugins
               $CNI_VERSION (~20 CPU-s), the pause image and (via k8s.sh build) kubelet + kube-proxy
  up           control plane (k8s.sh up with kube-scheduler) + this node; waits for Node Ready
  install      import $PODS_IMAGE into containerd, helm install the chart (k8s/values-pods.yaml) as
               release $PODS_RELEASE in namespace $PODS_NAMESPACE, wait for the hook Job and Ready pods,
               then relay the Service to http://127.0.0.1:$PODS_URL_PORT
  url          print that URL (starts the relay if needed)
  down         uninstall nothing, stop everything: pods, node, relays, namespaces, cgroups; then k8s.sh down
  status       what runs, the node, pods, memory of the node parts
  import IMG   copy an image from the buildah storage of scripts/dev/image.sh into containerd
  check        without any control plane: the node's namespaces + containerd as \`up\` starts them, then
               a pod sandbox and a container of the pause image through CRI (crictl $CRICTL_VERSION, built
               on first use): runp, create, start, its address from CNI, its oom_score_adj; then stops it all
  metrics up   Prometheus in the node's namespaces (API pods found through the API server) + prometheus-adapter
               serving custom.metrics.k8s.io (for autoscaling.mode=hpa); \`metrics down\` stops both,
               \`metrics build\` only builds Prometheus + the adapter (scripts/dev/pods/metrics.sh, docs/pods.md)
  ns CMD...    run CMD inside the node's network + mount namespaces (e.g. 'ns iptables-save')
  crictl ARGS  crictl on the running node's containerd (e.g. 'crictl ps', 'crictl inspect ID'; built on
               first use like for check): what test/pods/pod-kill.test.ts uses to find a container's pid
  snapshot F   write the host state that down must restore (mounts, links, iptables, sysctls, cgroups)

Environment: EPHEMERA_CACHE PODS_RUN PODS_URL_PORT ($PODS_URL_PORT) PODS_HOT_KEYSPACE ($PODS_HOT_KEYSPACE)
  PODS_COLD_KEYSPACE PODS_SEARCH_PREFIX PODS_NAMESPACE PODS_RELEASE PODS_IMAGE PODS_TIMEOUT ($PODS_TIMEOUT s)
  Cassandra (127.0.0.1:$CASSANDRA_PORT) and OpenSearch (127.0.0.1:$OPENSEARCH_PORT) stay on the host (make
  cassandra-up / search-up): pods reach them at $GATEWAY through relays.
EOF
}

# ---------------------------------------------------------------- build
need_pkgs() {
  local missing=() p
  for p in containerd:containerd runc:runc iptables:iptables socat:socat conntrack:conntrack ip:iproute2 nsenter:util-linux; do
    command -v "${p%%:*}" >/dev/null || missing+=("${p#*:}")
  done
  ((${#missing[@]} == 0)) && return 0
  say "apt-get install ${missing[*]}"
  (exec 7>/tmp/ephemera-apt.lock; flock 7
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null ||
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; })
}

cmd_build() {
  build_runtime
  "$K8S" build
}

# Everything but the Kubernetes binaries: packages, CNI plugins, the pause image (what `check` needs).
build_runtime() {
  need_pkgs
  mkdir -p "$PODS_BIN"
  exec 8>"$PODS_BIN/.build.lock"
  flock 8
  local p dir
  if [[ ! -x $PODS_BIN/bridge || ! -x $PODS_BIN/host-local || ! -x $PODS_BIN/loopback ]]; then
    say "building CNI plugins $CNI_VERSION (bridge, host-local, loopback) from the Go module proxy"
    dir=$(cd "$PODS_BIN" && go mod download -json "github.com/containernetworking/plugins@$CNI_VERSION" | jq -r .Dir)
    for p in main/bridge main/loopback ipam/host-local; do
      (cd "$dir" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath -ldflags '-s -w' \
        -o "$PODS_BIN/$(basename $p).tmp" "./plugins/$p")
      mv -f "$PODS_BIN/$(basename $p).tmp" "$PODS_BIN/$(basename $p)"
    done
  fi
  if [[ ! -f $PODS_BIN/pause.tar || $HERE/pause.c -nt $PODS_BIN/pause.tar ]]; then
    say "pause image $PAUSE_IMAGE (static C, no registry needed)"
    gcc -static -Os -s -o "$PODS_BIN/pause" "$HERE/pause.c"
    python3 "$HERE/docker-archive.py" "$PODS_BIN/pause.tar.tmp" "$PAUSE_IMAGE" /pause "$PODS_BIN/pause"
    mv -f "$PODS_BIN/pause.tar.tmp" "$PODS_BIN/pause.tar"
  fi
  exec 8>&-
}

build_crictl() {
  [[ -x $PODS_BIN/crictl ]] && return 0
  mkdir -p "$PODS_BIN"
  say "building crictl $CRICTL_VERSION from the Go module proxy"
  (cd "$PODS_BIN" && CGO_ENABLED=0 GOBIN=$PODS_BIN/.crictl GOFLAGS=-buildvcs=false \
    go install -trimpath -ldflags '-s -w' "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION")
  mv -f "$PODS_BIN/.crictl/crictl" "$PODS_BIN/crictl"; rmdir "$PODS_BIN/.crictl"
}

# ---------------------------------------------------------------- helpers
holder() { cat "$HOLDER_PID" 2>/dev/null || true; }
holder_alive() { local h; h=$(holder); [[ -n $h ]] && kill -0 "$h" 2>/dev/null && [[ -e /proc/$h/ns/net ]]; }
in_ns() { nsenter -t "$(holder)" -m -n -- "$@"; }
pid_of() { cat "$PODS_RUN/$1.pid" 2>/dev/null || true; }
alive() { local p; p=$(pid_of "$1"); [[ -n $p ]] && kill -0 "$p" 2>/dev/null; }
load_k8s_env() { # shellcheck source=/dev/null
  source "$K8S_RUN/env"; }
kc() { KUBECONFIG=$K8S_RUN/admin.kubeconfig "$K8S_BIN/kubectl" "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for() { # what timeout command...
  local what=$1 timeout=$2 start=$SECONDS; shift 2
  until "$@" >/dev/null 2>&1; do
    ((SECONDS - start < timeout)) || { say "$what: not ready after ${timeout}s"; return 1; }
    sleep 0.5
  done
  say "$what ready after $((SECONDS - start))s"
}

# Daemons run inside the namespaces, in their own session, logs under $LOGS; the pid file names the
# daemon itself (nsenter execs it).
start_in_ns() { # name cmd...
  local name=$1; shift
  : >"$LOGS/$name.log"
  setsid nsenter -t "$(holder)" -m -n -- "$@" >>"$LOGS/$name.log" 2>&1 </dev/null 8>&- 9>&- &
  echo $! >"$PODS_RUN/$name.pid"
}
start_on_host() { # name cmd...
  local name=$1; shift
  setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null 8>&- 9>&- &
  echo $! >"$PODS_RUN/$name.pid"
}

# Relays through a unix socket: the namespace cannot reach the host's loopback, the host never
# dials the pod network. Each is a pair of socat processes (fork: one child per connection).
relay_into_ns() { # name ns-listen-addr port host-port    (clients in the namespace -> host loopback)
  local name=$1 addr=$2 port=$3 hport=$4 sock=$SOCKS/$1
  rm -f "$sock"
  start_on_host "relay-$name-host" socat "UNIX-LISTEN:$sock,fork,mode=600" "TCP:127.0.0.1:$hport"
  start_in_ns "relay-$name-ns" socat "TCP-LISTEN:$port,bind=$addr,fork,reuseaddr" "UNIX-CONNECT:$sock"
}
relay_out_of_ns() { # name host-port ns-target    (clients on the host loopback -> a target in the namespace)
  local name=$1 hport=$2 target=$3 sock=$SOCKS/$1
  rm -f "$sock"
  start_in_ns "relay-$name-ns" socat "UNIX-LISTEN:$sock,fork,mode=600" "TCP:$target"
  start_on_host "relay-$name-host" socat "TCP-LISTEN:$hport,bind=127.0.0.1,fork,reuseaddr" "UNIX-CONNECT:$sock"
}

# ---------------------------------------------------------------- pki, configs
sign_client() { # name subject
  [[ -f $PODS_RUN/pki/$1.crt ]] && return 0
  (
    cd "$PODS_RUN/pki"
    openssl req -new -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
    printf 'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n' >client.ext
    openssl x509 -req -in "$1.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial -CAserial ca.srl \
      -days 3650 -extfile client.ext -out "$1.crt" 2>/dev/null
    rm -f "$1.csr"; chmod 600 "$1.key"
  )
}

node_kubeconfig() { # file cert-name
  local b64='base64 -w0'
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: ephemera-test
    cluster:
      server: https://127.0.0.1:$API_PORT
      certificate-authority-data: $($b64 <"$PKI/ca.crt")
users:
  - name: $2
    user:
      client-certificate-data: $($b64 <"$PODS_RUN/pki/$2.crt")
      client-key-data: $($b64 <"$PODS_RUN/pki/$2.key")
contexts:
  - name: ephemera-test
    context: {cluster: ephemera-test, user: $2}
current-context: ephemera-test
EOF
  chmod 600 "$1"
}

# containerd 1.6 + the CNI conflist: all the runtime needs (`up`, and `check` without a control plane).
write_runtime_configs() {
  mkdir -p "$PODS_RUN/cni/net.d" "$PODS_RUN/cni/ipam"
  # containerd 1.6 (config version 2). Everything under $PODS_RUN; the shim sockets, fixed under
  # /run/containerd/s in 1.6, land on the namespace's own tmpfs over /run.
  cat >"$PODS_RUN/containerd.toml" <<EOF
version = 2
root = "$PODS_RUN/containerd/root"
state = "$PODS_RUN/containerd/state"
[grpc]
  address = "$CTR_SOCK"
[ttrpc]
  address = "$CTR_SOCK.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # Never ask runc for an oom_score_adj below containerd's own (0): the CRI plugin gives every pod
  # sandbox -998 (and kubelet gives a Guaranteed pod's containers -997), and lowering a score needs
  # CAP_SYS_RESOURCE, which this machine's bounding set lacks (CapBnd 000001fffeffffff: bit 24). runc
  # init then dies writing /proc/self/oom_score_adj before it reports its child, and all containerd
  # shows is "can't get final child's PID from pipe: EOF" (docs/pods.md). Right on any machine too:
  # a pod must not become less killable than the host's own services.
  restrict_oom_score_adj = true
  disable_apparmor = true
  netns_mounts_under_state_dir = true
  enable_cdi = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$(command -v runc)"
        SystemdCgroup = false
        Root = "$PODS_RUN/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$PODS_BIN"
    conf_dir = "$PODS_RUN/cni/net.d"
EOF
  # One bridge in the namespace, the node's address as its gateway. hairpinMode: a pod reaching itself
  # through a Service. No ipMasq: nothing beyond the namespace is reachable anyway.
  cat >"$PODS_RUN/cni/net.d/10-ephemera.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "ephemera-pods",
  "plugins": [
    {
      "type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
      "ipam": {
        "type": "host-local", "dataDir": "$PODS_RUN/cni/ipam",
        "ranges": [[{"subnet": "$POD_CIDR", "gateway": "$GATEWAY"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    }
  ]
}
EOF
}

write_configs() {
  mkdir -p "$PODS_RUN/pki"
  # The pki of the control plane may be regenerated (k8s.sh keeps it per K8S_RUN): re-sign when it changes.
  if ! cmp -s "$PKI/ca.crt" "$PODS_RUN/pki/ca.crt"; then rm -f "$PODS_RUN/pki/"*; cp "$PKI/ca.crt" "$PODS_RUN/pki/ca.crt"; fi
  sign_client kubelet "/O=system:nodes/CN=system:node:localhost"   # the Node authorizer's identity
  sign_client kube-proxy "/CN=system:kube-proxy"                    # bound to system:node-proxier by default
  node_kubeconfig "$PODS_RUN/kubelet.kubeconfig" kubelet
  node_kubeconfig "$PODS_RUN/kube-proxy.kubeconfig" kube-proxy

  write_runtime_configs
  cat >"$PODS_RUN/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# The namespace's loopback: the API server reaches it through the relay on the host's 127.0.0.1.
address: 127.0.0.1
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: Webhook}
containerRuntimeEndpoint: unix://$CTR_SOCK
cgroupDriver: cgroupfs
cgroupRoot: /$PODS_CGROUP
failCgroupV1: false
failSwapOn: false
# Would add KUBE-IPTABLES-HINT/KUBE-FIREWALL chains; kube-proxy owns the namespace's tables.
makeIPTablesUtilChains: false
# Leave our own processes' OOM scores alone.
oomScoreAdj: 0
podLogsDir: $PODS_RUN/pod-logs
# No image GC: the only images are the ones imported here (no registry to pull them back from).
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "2%", imagefs.available: "2%"}
serializeImagePulls: false
staticPodPath: ""
resolvConf: ""
EOF
  cat >"$PODS_RUN/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $PODS_RUN/kube-proxy.kubeconfig}
hostnameOverride: localhost
mode: iptables
clusterCIDR: $POD_CIDR
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:$PROXY_HEALTHZ_PORT
metricsBindAddress: 127.0.0.1:$PROXY_METRICS_PORT
# Pod -> Service -> pod on the same bridge: without SNAT the reply would skip the namespace's conntrack.
iptables: {masqueradeAll: true, syncPeriod: 10s, minSyncPeriod: 0s}
# 0: leave the conntrack sysctls alone (nf_conntrack_max is host-wide).
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
EOF
}

# ---------------------------------------------------------------- namespaces and cgroups
# Kubelet refuses a cgroupRoot that does not exist; pods go under /<root>/kubepods/... with limits enforced.
make_cgroups() {
  local h
  for h in "${CGROUP_HIERARCHIES[@]}"; do
    [[ -d /sys/fs/cgroup/$h ]] || continue
    mkdir -p "/sys/fs/cgroup/$h/$PODS_CGROUP"
  done
  if [[ -f /sys/fs/cgroup/cpuset/cpuset.cpus ]]; then
    cat /sys/fs/cgroup/cpuset/cpuset.cpus >"/sys/fs/cgroup/cpuset/$PODS_CGROUP/cpuset.cpus"
    cat /sys/fs/cgroup/cpuset/cpuset.mems >"/sys/fs/cgroup/cpuset/$PODS_CGROUP/cpuset.mems"
  fi
}
cgroup_pids() { # every process in our cgroup subtree
  local h
  for h in pids memory unified; do
    [[ -d /sys/fs/cgroup/$h/$PODS_CGROUP ]] && find "/sys/fs/cgroup/$h/$PODS_CGROUP" -name cgroup.procs -exec cat {} + 2>/dev/null
  done | sort -u
}
remove_cgroups() {
  local h
  for h in "${CGROUP_HIERARCHIES[@]}"; do
    [[ -d /sys/fs/cgroup/$h/$PODS_CGROUP ]] || continue
    find "/sys/fs/cgroup/$h/$PODS_CGROUP" -depth -type d -exec rmdir {} + 2>/dev/null || true
    [[ -d /sys/fs/cgroup/$h/$PODS_CGROUP ]] && say "WARNING: /sys/fs/cgroup/$h/$PODS_CGROUP still there"
  done
  return 0
}

start_holder() {
  # The holder sleeps forever in a new network namespace and a private mount namespace; everything
  # of the node is started inside both with nsenter. Killing it (and them) drops both namespaces.
  setsid unshare --mount --net --propagation private --fork -- \
    bash -c "echo \$\$ >'$HOLDER_PID.tmp'; exec sleep infinity" </dev/null >/dev/null 2>&1 8>&- 9>&- &
  disown $!   # killed by stop_node: no "Killed" job notice from `check`
  local i
  for i in $(seq 1 50); do [[ -s $HOLDER_PID.tmp ]] && break; sleep 0.1; done
  mv -f "$HOLDER_PID.tmp" "$HOLDER_PID"
  holder_alive || die "could not create the namespaces (unshare --mount --net)"
  local sysctl_dir=$PODS_RUN/sysctl
  mkdir -p "$sysctl_dir" "$PODS_RUN/run"
  # kubelet sets vm.overcommit_memory=1, kernel.panic=10, kernel.panic_on_oops=1 at start (host-wide
  # sysctls; protectKernelDefaults=true refuses to start instead): it writes these files instead.
  echo 1 >"$sysctl_dir/overcommit_memory"; echo 10 >"$sysctl_dir/panic"; echo 1 >"$sysctl_dir/panic_on_oops"
  in_ns bash -euc "
    mount --bind '$sysctl_dir/overcommit_memory' /proc/sys/vm/overcommit_memory
    mount --bind '$sysctl_dir/panic' /proc/sys/kernel/panic
    mount --bind '$sysctl_dir/panic_on_oops' /proc/sys/kernel/panic_on_oops
    mount -t tmpfs -o mode=755,size=64m ephemera-pods-run /run
    # Paths kubelet and containerd's CNI code write to no matter the config (/var/log/containers,
    # /var/lib/cni): the namespace's own tmpfs, so the host's stay untouched.
    mount -t tmpfs -o mode=755,size=64m ephemera-pods-log /var/log
    mount -t tmpfs -o mode=755,size=64m ephemera-pods-lib /var/lib
    ip link set lo up
    ip link add $BRIDGE type bridge
    ip addr add $GATEWAY/24 dev $BRIDGE
    ip link set $BRIDGE up
    # The namespace has no default route: without this one a connect() from the node itself (the
    # Service relay of url, kubelet) to a ClusterIP fails at once (ENETUNREACH) before kube-proxy's
    # OUTPUT DNAT is reached. Pods have their default route via $GATEWAY and do not need it.
    ip route add $SERVICE_CIDR dev $BRIDGE
    sysctl -qw net.ipv4.ip_forward=1
  "
}

# ---------------------------------------------------------------- check (no control plane)
crictl_() { in_ns "$PODS_BIN/crictl" --config "$PODS_RUN/crictl.yaml" "$@"; }

# The runtime half of the node alone, started exactly as `up` starts it (same namespaces, tmpfs, cgroup
# root, containerd config), then one pod sandbox and one container through CRI, as kubelet would ask.
cmd_check() {
  build_runtime
  build_crictl
  mkdir -p "$PODS_RUN" "$LOGS" "$SOCKS"
  exec 9>"$PODS_RUN/.lock"
  flock 9
  holder_alive && die "a node is up (scripts/dev/pods.sh down first)"
  stop_node quiet
  local t0=$SECONDS rc=0 dir=$PODS_RUN/check t pod ctr ip pid state out
  write_runtime_configs
  make_cgroups
  start_holder
  mkdir -p "$PODS_RUN/containerd" "$PODS_RUN/runc" "$PODS_RUN/pod-logs" "$dir"
  printf 'runtime-endpoint: unix://%s\nimage-endpoint: unix://%s\ntimeout: 60\n' "$CTR_SOCK" "$CTR_SOCK" >"$PODS_RUN/crictl.yaml"
  start_in_ns containerd containerd --config "$PODS_RUN/containerd.toml"
  wait_for containerd 60 ctr -a "$CTR_SOCK" version || { tail -n 30 "$LOGS/containerd.log" >&2; stop_node quiet; exit 1; }
  in_ns ctr -a "$CTR_SOCK" -n k8s.io images import "$PODS_BIN/pause.tar" >/dev/null
  cat >"$dir/pod.json" <<JSON
{"metadata": {"name": "check", "namespace": "pods-check", "uid": "pods-check-$$", "attempt": 0},
 "hostname": "check", "log_directory": "$PODS_RUN/pod-logs/check",
 "linux": {"cgroup_parent": "/$PODS_CGROUP/check"}}
JSON
  # The score kubelet gives a Guaranteed pod's container (-997), and a memory limit.
  cat >"$dir/container.json" <<JSON
{"metadata": {"name": "pause"}, "image": {"image": "$PAUSE_IMAGE"}, "command": ["/pause"],
 "log_path": "pause.log", "linux": {"resources": {"oom_score_adj": -997, "memory_limit_in_bytes": 67108864}}}
JSON
  t=$SECONDS
  if pod=$(crictl_ runp "$dir/pod.json"); then
    pid=$(crictl_ inspectp -o go-template --template '{{.info.pid}}' "$pod")
    ip=$(crictl_ inspectp -o go-template --template '{{.status.network.ip}}' "$pod")
    say "pod sandbox ${pod:0:12} ready after $((SECONDS - t))s: pid $pid, oom_score_adj $(cat "/proc/$pid/oom_score_adj" 2>/dev/null), address $ip"
    t=$SECONDS
    if ctr=$(crictl_ create "$pod" "$dir/container.json" "$dir/pod.json") && crictl_ start "$ctr" >/dev/null; then
      state=$(crictl_ inspect -o go-template --template '{{.status.state}}' "$ctr")
      pid=$(crictl_ inspect -o go-template --template '{{.info.pid}}' "$ctr")
      say "container ${ctr:0:12}: $state after $((SECONDS - t))s: pid $pid, oom_score_adj $(cat "/proc/$pid/oom_score_adj" 2>/dev/null)"
      [[ $state == CONTAINER_RUNNING ]] || rc=1
    else rc=1; fi
    # pause listens nowhere: a refused connection is the pod's own TCP stack answering over the bridge.
    out=$(in_ns timeout 3 bash -c "exec 3<>/dev/tcp/$ip/9" 2>&1 || true)
    if [[ $out == *refused* ]]; then say "the node reaches the pod at $ip over $BRIDGE (TCP reset from the pod)"
    else say "the node does not reach the pod at $ip: ${out:-timeout}"; rc=1; fi
    crictl_ stopp "$pod" >/dev/null || rc=1
    crictl_ rmp "$pod" >/dev/null || rc=1
  else
    rc=1
    say "the pod sandbox failed; containerd's last errors:"
    grep -E 'level=(error|warning)' "$LOGS/containerd.log" | tail -n 5 >&2 || true
  fi
  stop_node quiet
  rm -rf "$PODS_RUN/crictl.yaml" "$dir"
  if ((rc == 0)); then say "check passed in $((SECONDS - t0))s; namespaces and cgroups removed"
  else say "check FAILED after $((SECONDS - t0))s; namespaces and cgroups removed"; fi
  return $rc
}

# ---------------------------------------------------------------- up
node_ready() {
  kc get node localhost -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null | grep -qx True
}

cmd_up() {
  cmd_build
  K8S_SCHEDULER=1 "$K8S" up
  load_k8s_env
  mkdir -p "$PODS_RUN" "$LOGS" "$SOCKS"
  exec 9>"$PODS_RUN/.lock"
  flock 9
  if holder_alive && alive kubelet && alive containerd && alive kube-proxy && node_ready; then
    say "already running (node localhost Ready)"; return 0
  fi
  stop_node quiet
  local t0=$SECONDS
  KUBELET_PORT=$(free_port); KUBELET_HEALTHZ_PORT=$(free_port)
  PROXY_HEALTHZ_PORT=$(free_port); PROXY_METRICS_PORT=$(free_port)
  printf 'KUBELET_PORT=%s\nKUBELET_HEALTHZ_PORT=%s\n' "$KUBELET_PORT" "$KUBELET_HEALTHZ_PORT" >"$PODS_RUN/env"
  write_configs
  make_cgroups
  start_holder
  say "namespaces ready (holder pid $(holder)): bridge $BRIDGE $GATEWAY/24"

  # Into the namespace: the API server (kubelet, kube-proxy; pods through the kubernetes Service, whose
  # endpoint is set to $GATEWAY below), Cassandra and OpenSearch for the pods.
  relay_into_ns apiserver 0.0.0.0 "$API_PORT" "$API_PORT"
  relay_into_ns cassandra "$GATEWAY" 9042 "$CASSANDRA_PORT"
  relay_into_ns opensearch "$GATEWAY" 9200 "$OPENSEARCH_PORT"
  # Out of it: the kubelet port, for the API server's logs/exec/port-forward calls (it dials the
  # node's Hostname address, localhost).
  relay_out_of_ns kubelet "$KUBELET_PORT" "127.0.0.1:$KUBELET_PORT"

  mkdir -p "$PODS_RUN/containerd" "$PODS_RUN/runc" "$PODS_RUN/pod-logs" "$PODS_RUN/kubelet"
  start_in_ns containerd containerd --config "$PODS_RUN/containerd.toml"
  wait_for containerd 60 ctr -a "$CTR_SOCK" version || fail_up containerd
  in_ns ctr -a "$CTR_SOCK" -n k8s.io images import "$PODS_BIN/pause.tar" >/dev/null
  start_in_ns kubelet "$K8S_BIN/kubelet" --config "$PODS_RUN/kubelet.yaml" \
    --kubeconfig "$PODS_RUN/kubelet.kubeconfig" --root-dir "$PODS_RUN/kubelet" \
    --hostname-override localhost --node-ip "$GATEWAY" --v=1
  start_in_ns kube-proxy "$K8S_BIN/kube-proxy" --config "$PODS_RUN/kube-proxy.yaml" --v=1
  wait_for "node localhost Ready" 120 node_ready || fail_up kubelet
  wait_for kube-proxy 60 in_ns curl -fsS "http://127.0.0.1:$PROXY_HEALTHZ_PORT/healthz" || fail_up kube-proxy
  kubernetes_endpoint
  say "node up in $((SECONDS - t0))s: $(kc get node localhost --no-headers 2>/dev/null | tr -s ' ')"
  say "kubeconfig: $K8S_RUN/admin.kubeconfig  (kubectl: $K8S_BIN/kubectl)"
}

# The control plane runs with --endpoint-reconciler-type=none (127.0.0.1 is no valid endpoint). Pods
# (the archiver's Lease) reach the API server through the kubernetes Service: its endpoint is the
# node's gateway address, where the apiserver relay listens inside the namespace.
kubernetes_endpoint() {
  kc apply -f - >/dev/null <<EOF
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: kubernetes-pods-node
  namespace: default
  labels:
    kubernetes.io/service-name: kubernetes
    endpointslice.kubernetes.io/managed-by: ephemera-pods.sh
addressType: IPv4
ports:
  - {name: https, port: $API_PORT, protocol: TCP}
endpoints:
  - addresses: ["$GATEWAY"]
    conditions: {ready: true}
EOF
}

fail_up() {
  say "$1 did not become ready; last lines of $LOGS/$1.log:"
  tail -n 30 "$LOGS/$1.log" >&2 || true
  stop_node quiet
  exit 1
}

# ---------------------------------------------------------------- images, chart
cmd_import() { # image
  local img=${1:-$PODS_IMAGE} tar=$PODS_RUN/import.tar t0=$SECONDS
  holder_alive || die "the node is not up (scripts/dev/pods.sh up)"
  rm -f "$tar"
  "$REPO_ROOT/scripts/dev/image.sh" buildah push --quiet "$img" "docker-archive:$tar:$img" >/dev/null
  in_ns ctr -a "$CTR_SOCK" -n k8s.io images import "$tar" >/dev/null
  rm -f "$tar"
  say "imported $img into containerd in $((SECONDS - t0))s"
}

helm_() {
  HELM_CACHE_HOME=$EPHEMERA_CACHE/helm-cache HELM_CONFIG_HOME=$EPHEMERA_CACHE/helm-config \
    HELM_DATA_HOME=$EPHEMERA_CACHE/helm-data KUBECONFIG=$K8S_RUN/admin.kubeconfig "$EPHEMERA_CACHE/bin/helm" "$@"
}

cmd_install() {
  holder_alive || die "the node is not up (scripts/dev/pods.sh up)"
  load_k8s_env
  "$REPO_ROOT/scripts/dev/tools.sh" helm >/dev/null
  local repo=${PODS_IMAGE%:*} tag=${PODS_IMAGE##*:} t0=$SECONDS
  kc get ns "$PODS_NAMESPACE" >/dev/null 2>&1 || kc create ns "$PODS_NAMESPACE" >/dev/null
  say "helm upgrade --install $PODS_RELEASE ($PODS_IMAGE; keyspaces $PODS_HOT_KEYSPACE/$PODS_COLD_KEYSPACE)"
  helm_ upgrade --install "$PODS_RELEASE" "$REPO_ROOT/charts/ephemera" -n "$PODS_NAMESPACE" --wait --timeout "${PODS_TIMEOUT}s" \
    -f "$REPO_ROOT/k8s/values-pods.yaml" --set "image.repository=$repo,image.tag=$tag" \
    --set "cassandra.hotKeyspace=$PODS_HOT_KEYSPACE,cassandra.coldKeyspace=$PODS_COLD_KEYSPACE" \
    --set "opensearch.indexPrefix=$PODS_SEARCH_PREFIX" "$@"
  say "release $PODS_RELEASE ready after $((SECONDS - t0))s"
  cmd_url
}

cmd_url() {
  load_k8s_env
  local ip port
  ip=$(kc -n "$PODS_NAMESPACE" get svc "$PODS_RELEASE" -o jsonpath='{.spec.clusterIP}')
  port=$(kc -n "$PODS_NAMESPACE" get svc "$PODS_RELEASE" -o jsonpath='{.spec.ports[0].port}')
  [[ -n $ip && -n $port ]] || die "no Service $PODS_NAMESPACE/$PODS_RELEASE"
  if ! alive relay-service-host || [[ "$(cat "$PODS_RUN/service.target" 2>/dev/null)" != "$ip:$port" ]]; then
    stop_proc relay-service-host; stop_proc relay-service-ns
    # Through the ClusterIP, so kube-proxy spreads connections over every Ready pod (a port-forward to
    # the Service would pin one pod).
    relay_out_of_ns service "$PODS_URL_PORT" "$ip:$port"
    echo "$ip:$port" >"$PODS_RUN/service.target"
    wait_for "Service relay" 30 curl -fsS --max-time 2 "http://127.0.0.1:$PODS_URL_PORT/healthz" || true
  fi
  echo "http://127.0.0.1:$PODS_URL_PORT"
}

# ---------------------------------------------------------------- down
stop_proc() { # name [signal wait-seconds]
  local p; p=$(pid_of "$1")
  if [[ -n $p ]] && kill -0 "$p" 2>/dev/null; then
    kill "-${2:-TERM}" "$p" 2>/dev/null || true
    local i; for i in $(seq 1 $((${3:-10} * 10))); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null || true
  fi
  rm -f "$PODS_RUN/$1.pid"
}

ns_pids() { # every process in the holder's mount namespace (daemons, shims, relays), the holder included
  local h ns p; h=$(holder); [[ -n $h ]] || return 0
  ns=$(readlink "/proc/$h/ns/mnt" 2>/dev/null) || return 0
  for p in /proc/[0-9]*; do
    [[ "$(readlink "$p/ns/mnt" 2>/dev/null)" == "$ns" ]] && echo "${p#/proc/}"
  done
  return 0
}

stop_node() {
  local p pids
  stop_proc kubelet TERM 10
  stop_proc kube-proxy TERM 5
  # Containers: SIGKILL every process in the pod cgroups (kubelet is gone, nobody restarts them).
  for p in $(cgroup_pids); do kill -KILL "$p" 2>/dev/null || true; done
  stop_proc containerd TERM 10
  # Shims (they outlive containerd), relays, the holder: whatever is left in the mount namespace.
  pids=$(ns_pids)
  for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
  stop_proc prometheus-adapter TERM 5   # on the host (metrics.sh); Prometheus went with the namespace
  for p in relay-apiserver-host relay-cassandra-host relay-opensearch-host relay-kubelet-host relay-service-host \
    relay-prometheus-host; do
    stop_proc "$p" TERM 2
  done
  for p in $(seq 1 50); do [[ -z $(cgroup_pids) ]] && break; sleep 0.1; done
  # Killed shims linger as zombies of PID 1 for a second or two (it reaps them, we cannot): wait, so
  # a snapshot right after down does not list them.
  for p in $(seq 1 50); do ps -eo ppid=,stat=,comm= | grep -qE '^ *1 Z.* containerd-shim' || break; sleep 0.1; done
  sleep 0.3
  remove_cgroups
  rm -f "$PODS_RUN"/*.pid "$HOLDER_PID" "$PODS_RUN/service.target" "$SOCKS"/* "$CTR_SOCK" "$CTR_SOCK.ttrpc" 2>/dev/null || true
  # Container filesystems and pod state: throwaway (the images are re-imported on up).
  rm -rf "$PODS_RUN/containerd" "$PODS_RUN/kubelet" "$PODS_RUN/runc" "$PODS_RUN/cni/ipam" "$PODS_RUN/pod-logs"
  [[ ${1:-} == quiet ]] || say "node stopped; namespaces and cgroups removed"
}

cmd_down() {
  mkdir -p "$PODS_RUN"
  exec 9>"$PODS_RUN/.lock"
  flock 9
  if [[ -f $K8S_RUN/env ]] && "$K8S" status >/dev/null 2>&1; then
    load_k8s_env
    kc delete node localhost --wait=false >/dev/null 2>&1 || true
  fi
  stop_node
  "$K8S" down
}

# ---------------------------------------------------------------- status, snapshot
rss_mb() { awk '/^VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$1/status" 2>/dev/null || echo 0; }

cmd_status() {
  local n rc=0 shims=0 shim_mb=0 p
  for n in "${DAEMONS[@]}"; do
    if alive "$n"; then printf '%-12s running (pid %s, %s MB RSS)\n' "$n" "$(pid_of "$n")" "$(rss_mb "$(pid_of "$n")")"
    else printf '%-12s stopped\n' "$n"; rc=3; fi
  done
  for p in $(pgrep -f "containerd-shim-runc-v2 .*-address $CTR_SOCK" || true); do
    shims=$((shims + 1)); shim_mb=$((shim_mb + $(rss_mb "$p")))
  done
  printf '%-12s %s (%s MB RSS)\n' shims "$shims" "$shim_mb"
  if [[ $rc == 0 ]]; then
    load_k8s_env
    kc get node localhost --no-headers 2>/dev/null || true
    kc get pods -A -o wide 2>/dev/null || true
  fi
  return $rc
}

# What `down` must leave as it found it. Volatile numbers (counters, random seeds) are left out.
cmd_snapshot() {
  local out=${1:?snapshot FILE}
  {
    # Other people's image builds (buildah/podman storage) mount and unmount meanwhile: not ours to judge.
    echo '## mounts'; awk '{print $5, $9, $10}' /proc/self/mountinfo | grep -vE "/image/storage|/image/runroot|/containers/storage" | sort
    echo '## links'; ip -o link show | awk '{print $2}' | sort
    echo '## addresses'; ip -o addr show | awk '{print $2, $4}' | sort
    echo '## routes'; ip route show table all | sort
    # scripts/dev/cluster.sh's partition chain comes and goes with the cluster tests that may run meanwhile.
    echo '## iptables'; { iptables-save 2>/dev/null; iptables-legacy-save 2>/dev/null || true; } | grep -v '^#' |
      grep -v EPHEMERA_PARTITION | sed -E 's/\[[0-9]+:[0-9]+\]//' || true
    echo '## sysctls'
    sysctl -e vm.overcommit_memory kernel.panic kernel.panic_on_oops net.ipv4.ip_forward \
      net.ipv4.conf.all.route_localnet net.bridge.bridge-nf-call-iptables net.netfilter.nf_conntrack_max \
      net.netfilter.nf_conntrack_tcp_timeout_established net.netfilter.nf_conntrack_tcp_timeout_close_wait 2>/dev/null || true
    echo '## cgroups'; for h in "${CGROUP_HIERARCHIES[@]}"; do ls -d "/sys/fs/cgroup/$h/$PODS_CGROUP" 2>/dev/null || true; done
    echo '## netns'; ls /run/netns 2>/dev/null || true
    echo '## run'; ls -d /run/containerd /var/lib/cni /var/lib/kubelet /var/log/pods /etc/cni 2>/dev/null || true
    echo '## processes'; pgrep -a -f "$PODS_RUN|$K8S_BIN|containerd-shim" | sed -E 's/^[0-9]+ //' | sort || true
  } >"$out"
}

# shellcheck source=scripts/dev/pods/metrics.sh
source "$HERE/metrics.sh"

# ---------------------------------------------------------------- main
case ${1:-} in
  build) cmd_build ;;
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  check) cmd_check ;;
  install) shift; cmd_install "$@" ;;
  url) cmd_url ;;
  import) shift; cmd_import "$@" ;;
  metrics) shift; cmd_metrics "$@" ;;
  ns) shift; holder_alive || die "the node is not up"; in_ns "$@" ;;
  crictl) shift; holder_alive || die "the node is not up"; build_crictl
    in_ns "$PODS_BIN/crictl" --runtime-endpoint "unix://$CTR_SOCK" --image-endpoint "unix://$CTR_SOCK" "$@" ;;
  snapshot) shift; cmd_snapshot "$@" ;;
  -h | --help | help) usage ;;
  *) usage; exit 2 ;;
esac
