#!/usr/bin/env bash
# make test-pods: the chart on a node that runs real containers (scripts/dev/pods.sh).
#   1. snapshot the host state that pods-down must restore
#   2. pods.sh up (control plane + node), make image, import it, helm install (hook Job, Ready pods)
#   3. the inbox and chat-application API suites THROUGH the Service (TEST_BASE_URL = pods.sh url),
#      then test/pods/*.test.ts (pods and Service, the archiver CronJob as a real pod)
#   4. pods.sh down, then test/pods/teardown.test.ts compares the host with the snapshot
# Uses the shared Cassandra/OpenSearch (make cassandra-up / search-up), keyspaces t_pods_* unless set.
# PODS_KEEP=1 leaves everything running (and skips the teardown check).
# PODS_ROLLOUT=1 (make test-rollout): only test/pods/rollout.test.ts (a helm upgrade replacing every API pod under
# 200 req/s; make test-pods runs it too, after the four suites).
# PODS_KILL=1 (make test-pod-kill): only test/pods/pod-kill.test.ts (one API pod's server SIGKILLed under 200 req/s;
# make test-pods runs it too, before the rollout).
# PODS_AUTOSCALE=1 (make test-autoscale): Prometheus + prometheus-adapter too (pods.sh metrics up), the chart with
# k8s/values-autoscale.yaml (HPA on the request rate) and test/pods/autoscale.test.ts instead of the four suites.
set -euo pipefail
cd "$(dirname "$0")/../.."
export EPHEMERA_CACHE=${EPHEMERA_CACHE:-$HOME/.cache/ephemera}
export TEST_HOT_KEYSPACE=${TEST_HOT_KEYSPACE:-t_pods_hot} TEST_COLD_KEYSPACE=${TEST_COLD_KEYSPACE:-t_pods_cold}
export TEST_SEARCH_PREFIX=${TEST_SEARCH_PREFIX:-t_pods}
export PODS_HOT_KEYSPACE=$TEST_HOT_KEYSPACE PODS_COLD_KEYSPACE=$TEST_COLD_KEYSPACE PODS_SEARCH_PREFIX=$TEST_SEARCH_PREFIX
say() { printf '==> test-pods: %s\n' "$*" >&2; }

PODS=scripts/dev/pods.sh
t0=$SECONDS
if scripts/dev/k8s.sh status >/dev/null 2>&1 || $PODS status >/dev/null 2>&1; then
  echo "==> test-pods: ERROR: a control plane or node already runs (make pods-down first): this suite owns both" >&2
  exit 1
fi
SNAP=$(mktemp -d /tmp/ephemera-pods-test.XXXXXX)
$PODS snapshot "$SNAP/before"
rc=0
teardown() {
  [[ ${PODS_KEEP:-0} == 1 ]] && { say "PODS_KEEP=1: left running"; return; }
  $PODS down || rc=1
  $PODS snapshot "$SNAP/after"
  PODS_SNAPSHOT_DIR=$SNAP node --import tsx --test --test-reporter=spec test/pods/teardown.test.ts || rc=1
  rm -rf "$SNAP"
  say "done in $((SECONDS - t0)) s (rc $rc)"
  exit $rc
}
trap teardown EXIT

scripts/dev/image.sh build
$PODS up
$PODS import "${PODS_IMAGE:-localhost/ephemera:dev}"
# The chat-application suite lists applications as the administrator: the pods get the same token.
export ADMIN_TOKEN
ADMIN_TOKEN=$(openssl rand -hex 24)
if [[ ${PODS_AUTOSCALE:-0} == 1 ]]; then
  scripts/dev/tools.sh vegeta >/dev/null
  $PODS metrics up
  $PODS install --set-string "admin.token=$ADMIN_TOKEN" -f k8s/values-autoscale.yaml
  SUITES=(test/pods/autoscale.test.ts)
elif [[ ${PODS_ROLLOUT:-0} == 1 ]]; then
  $PODS install --set-string "admin.token=$ADMIN_TOKEN"
  SUITES=(test/pods/rollout.test.ts)
elif [[ ${PODS_KILL:-0} == 1 ]]; then
  $PODS install --set-string "admin.token=$ADMIN_TOKEN"
  SUITES=(test/pods/pod-kill.test.ts)
else
  $PODS install --set-string "admin.token=$ADMIN_TOKEN"
  # The SIGKILLed pod, then the rollout last: it replaces the pods the others ran on.
  SUITES=(test/inbox/api.test.ts test/chats/api.test.ts test/pods/node.test.ts test/pods/archiver.test.ts
    test/pods/pod-kill.test.ts test/pods/rollout.test.ts)
fi
export TEST_BASE_URL
TEST_BASE_URL=$($PODS url)
export EPHEMERA_K8S_KUBECONFIG=${K8S_RUN:-$EPHEMERA_CACHE/k8s-run}/admin.kubeconfig EPHEMERA_K8S_KWOK=0
say "suites through the Service: TEST_BASE_URL=$TEST_BASE_URL"
node --import tsx --test --test-concurrency=1 --test-reporter=spec "${SUITES[@]}" || rc=1
