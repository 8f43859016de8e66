#!/usr/bin/env bash
# make test-skaffold-dev: `skaffold dev -p pods` against the real-pods node (docs/pods.md), one cycle:
#   1. podman's Docker API on a private socket (skaffold reads the built image's ID there; no Docker engine here)
#   2. skaffold dev in the background: build (scripts/dev/pods/skaffold-build.sh: buildah + containerd import),
#      helm deploy of charts/ephemera with k8s/values-pods.yaml, until "Watching for changes"
#   3. an edit of what an endpoint answers (GET /healthz gets a field with a fresh value in
#      src/http/health-routes.ts, put back at the end: the tree is left as it was), then: the answer THROUGH THE
#      SERVICE (the loopback URL of pods.sh url) carries the new value, the Deployment rolled to a new image tag and
#      is Ready, and every answer through the Service is the new one; prints the seconds from the edit to the first
#      new answer and to Ready
# Uses the node of `make pods-up` when one runs (and leaves it running); otherwise brings one up itself (pods.sh up,
# no install: skaffold deploys the release) and takes it down at the end (what .ci/run does).
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
scripts/dev/tools.sh --cached skaffold || { say "ERROR: skaffold is not built (make skaffold)"; exit 1; }
EDITED=src/http/health-routes.ts
ANSWER="ctx.body = { status: 'ok' };"
grep -qF "$ANSWER" "$EDITED" || { say "ERROR: $EDITED no longer has: $ANSWER (the line this test edits)"; exit 1; }
WORK=$(mktemp -d /tmp/skaffold-dev.XXXXXX)
cp -p "$EDITED" "$WORK/edited.orig"
PODMAN_PID= SKAFFOLD_PID= OWN_NODE=0
cleanup() {
  local rc=$?
  [[ -n $SKAFFOLD_PID ]] && kill -INT "$SKAFFOLD_PID" 2>/dev/null && wait "$SKAFFOLD_PID" 2>/dev/null || true
  [[ -n $PODMAN_PID ]] && kill -TERM -- "-$PODMAN_PID" 2>/dev/null || true
  # Put the edited file back only once skaffold is stopped (it would rebuild for the restore too).
  cp -p "$WORK/edited.orig" "$EDITED"
  cmp -s "$WORK/edited.orig" "$EDITED" || { say "ERROR: could not restore $EDITED (copy in $WORK)"; exit 1; }
  rm -rf "$WORK"
  if [[ $OWN_NODE == 1 ]]; then scripts/dev/pods.sh down || rc=1; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
if ! scripts/dev/pods.sh status >/dev/null 2>&1; then
  say "no node up: pods.sh up (taken down at the end)"
  OWN_NODE=1
  scripts/dev/pods.sh up
fi
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
URL=$(scripts/dev/pods.sh url)
healthz() { curl -sS --max-time 3 "$URL/healthz" 2>/dev/null || true; }
say "through the Service before the edit: $URL/healthz -> $(healthz)"
# The edit: /healthz also answers a field with a value that no earlier build had.
STAMP="skaffold-dev-$(date +%s%N)"
t1=$(date +%s%N)
sed -i "s|$ANSWER|ctx.body = { status: 'ok', build: '$STAMP' };|" "$EDITED"
grep -qF "$STAMP" "$EDITED"
# The first answer through the Service with the new value (connection by connection: kube-proxy spreads them).
answered= got=
for _ in $(seq 1 1200); do
  got=$(healthz)
  if grep -qF "$STAMP" <<<"$got"; then answered=$(date +%s%N); break; fi
  kill -0 "$SKAFFOLD_PID" 2>/dev/null || { tail -30 "$WORK/skaffold.log" >&2; exit 1; }
  sleep 0.5
done
[[ -n $answered ]] || { say "ERROR: no new answer through the Service within 600 s"; tail -30 "$WORK/skaffold.log" >&2; exit 1; }
say "edit -> new answer through the Service in $(((answered - t1) / 1000000)) ms: $got"
wait_log 'Watching for changes' 2 600
after=$(image)
$KUBECTL -n ephemera rollout status deployment/ephemera --timeout=120s >/dev/null
ready=$(date +%s%N)
say "edit -> rebuilt, imported, redeployed, every API pod Ready in $(((ready - t1) / 1000000)) ms: $after"
[[ $after != "$before" ]] || { say "ERROR: the image did not change"; exit 1; }
pods=$($KUBECTL -n ephemera get pods -l app.kubernetes.io/component=server -o jsonpath='{range .items[*]}{.spec.containers[0].image} {.status.containerStatuses[0].ready}{"\n"}{end}')
echo "$pods" >&2
grep -q "^$after true" <<<"$pods" || { say "ERROR: no Ready pod runs $after"; exit 1; }
# `rollout status` is done once the new pods are available, while the old ones still drain (preStop, then the
# graceful shutdown) and kube-proxy may not have synced their removal yet: 3 of 20 answers came from old pods in
# one CI run. So first every old pod is gone, then one kube-proxy sync period passes (1 s), then all 20 must be new.
for _ in $(seq 1 120); do
  pods=$($KUBECTL -n ephemera get pods -l app.kubernetes.io/component=server -o jsonpath='{range .items[*]}{.spec.containers[0].image}{"\n"}{end}')
  grep -qxF "$before" <<<"$pods" || break
  sleep 1
done
! grep -qxF "$before" <<<"$pods" || { say "ERROR: pods of the old image still run 120 s after the rollout"; exit 1; }
gone=$(date +%s%N)
say "old pods gone $(((gone - ready) / 1000000)) ms after the rollout was done"
sleep 1
old=0
for _ in $(seq 1 20); do grep -qF "$STAMP" <<<"$(healthz)" || old=$((old + 1)); done
((old == 0)) || { say "ERROR: $old of 20 answers through the Service after the rollout are not the new one"; exit 1; }
say "ok: 20 of 20 answers through the Service after the rollout are the new one"
