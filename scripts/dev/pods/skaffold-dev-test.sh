#!/usr/bin/env bash
# make test-skaffold-dev: `skaffold dev -p pods` against the node of `make pods-up` (docs/pods.md), one cycle:
#   1. podman's Docker API on a private socket (skaffold reads the built image's ID there; no Docker engine here)
#   2. skaffold dev in the background: build (scripts/dev/pods/skaffold-build.sh: buildah + containerd import),
#      helm deploy of charts/ephemera with k8s/values-pods.yaml, until "Watching for changes"
#   3. a source change (a new file under src/, removed at the end), then the Deployment must roll to a new image
#      tag and be Ready; prints the seconds from the change to Ready
# skaffold is stopped by its own pid (SIGINT, --cleanup=false: the release stays for pods-down).
set -euo pipefail
cd "$(dirname "$0")/../../.."
CACHE=${EPHEMERA_CACHE:-$HOME/.cache/ephemera}
export PATH=$CACHE/bin:$PATH KUBECONFIG=${K8S_RUN:-$CACHE/k8s-run}/admin.kubeconfig
export HELM_CACHE_HOME=$CACHE/helm-cache HELM_CONFIG_HOME=$CACHE/helm-config HELM_DATA_HOME=$CACHE/helm-data
export PODS_HOT_KEYSPACE=${PODS_HOT_KEYSPACE:-t_pods_hot} PODS_COLD_KEYSPACE=${PODS_COLD_KEYSPACE:-t_pods_cold}
export PODS_SEARCH_PREFIX=${PODS_SEARCH_PREFIX:-t_pods}
KUBECTL=$CACHE/k8s-v1.34.4/bin/kubectl
say() { printf '==> skaffold-dev: %s\n' "$*" >&2; }
scripts/dev/pods.sh status >/dev/null 2>&1 || { say "ERROR: the node is not up (make pods-up)"; exit 1; }
scripts/dev/tools.sh --cached skaffold || { say "ERROR: skaffold is not built (make skaffold)"; exit 1; }
WORK=$(mktemp -d /tmp/skaffold-dev.XXXXXX)
PROBE=src/skaffold-dev-probe.ts
PODMAN_PID= SKAFFOLD_PID=
cleanup() {
  [[ -n $SKAFFOLD_PID ]] && kill -INT "$SKAFFOLD_PID" 2>/dev/null && wait "$SKAFFOLD_PID" 2>/dev/null || true
  [[ -n $PODMAN_PID ]] && kill -TERM -- "-$PODMAN_PID" 2>/dev/null || true
  rm -f "$PROBE"
  rm -rf "$WORK"
}
trap cleanup EXIT
setsid scripts/dev/image.sh podman system service --time=0 "unix://$WORK/podman.sock" >"$WORK/podman.log" 2>&1 &
PODMAN_PID=$!
export DOCKER_HOST=unix://$WORK/podman.sock
for _ in $(seq 1 100); do [[ -S $WORK/podman.sock ]] && break; sleep 0.2; done
image() { $KUBECTL -n ephemera get deployment ephemera -o jsonpath='{.spec.template.spec.containers[0].image}'; }
wait_log() { # pattern count seconds
  local i; for i in $(seq 1 "$3"); do
    [[ $(grep -c "$1" "$WORK/skaffold.log" || true) -ge $2 ]] && return 0
    kill -0 "$SKAFFOLD_PID" 2>/dev/null || { tail -30 "$WORK/skaffold.log" >&2; return 1; }
    sleep 1
  done
  tail -30 "$WORK/skaffold.log" >&2; return 1
}
t0=$SECONDS
nice -n 10 skaffold dev -p pods --port-forward=false --cleanup=false --status-check=true >"$WORK/skaffold.log" 2>&1 &
SKAFFOLD_PID=$!
wait_log 'Watching for changes' 1 600
before=$(image)
say "first deploy in $((SECONDS - t0)) s: $before"
t1=$SECONDS
printf '// skaffold dev probe %s: a source change for make test-skaffold-dev (deleted at its end)\nexport {};\n' "$(date +%s%N)" >"$PROBE"
wait_log 'Watching for changes' 2 600
after=$(image)
$KUBECTL -n ephemera rollout status deployment/ephemera --timeout=120s >/dev/null
ready=$SECONDS
say "change -> rebuilt, imported, redeployed, Ready in $((ready - t1)) s: $after"
[[ $after != "$before" ]] || { say "ERROR: the image did not change"; exit 1; }
pods=$($KUBECTL -n ephemera get pods -l app.kubernetes.io/component=server -o jsonpath='{range .items[*]}{.spec.containers[0].image} {.status.containerStatuses[0].ready}{"\n"}{end}')
echo "$pods" >&2
grep -q "^$after true" <<<"$pods" || { say "ERROR: no Ready pod runs $after"; exit 1; }
curl -fsS --max-time 5 "$(scripts/dev/pods.sh url)/readyz" >&2; echo >&2
say "ok"
