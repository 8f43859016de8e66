#!/usr/bin/env bash
# make test-k8s: the chart, the CronJob controller and the archiver's Lease lock against a real
# control plane (scripts/dev/k8s.sh). Builds it on first use (slow: see docs/development.md), starts it unless it
# already runs (and then leaves it running), runs test/k8s/*.test.ts, stops what it started.
#
#   K8S_KWOK=0    no kube-scheduler/kwok: installs use --no-hooks (the hook Job is still
#                 checked by a server-side dry run) and do not --wait
#   K8S_KEEP=1    leave the control plane running afterwards
set -euo pipefail
cd "$(dirname "$0")/../.."
export EPHEMERA_CACHE=${EPHEMERA_CACHE:-$HOME/.cache/ephemera}
export K8S_KWOK=${K8S_KWOK:-1}

scripts/dev/tools.sh helm
started=0
if scripts/dev/k8s.sh status >/dev/null 2>&1 && { [[ $K8S_KWOK != 1 ]] || grep -q '^KWOK=1$' "$EPHEMERA_CACHE/k8s-run/env"; }; then
  echo "==> test-k8s: reusing the running control plane"
else
  started=1
  scripts/dev/k8s.sh up
fi
if [[ $started == 1 && ${K8S_KEEP:-0} != 1 ]]; then trap 'scripts/dev/k8s.sh down' EXIT; fi

export EPHEMERA_K8S_KUBECONFIG EPHEMERA_K8S_KWOK=$K8S_KWOK
EPHEMERA_K8S_KUBECONFIG=$(scripts/dev/k8s.sh kubeconfig)
echo "==> test-k8s: node --test test/k8s/*.test.ts (about 2-3 minutes: the CronJob test waits for the next minute)"
node --import tsx --test --test-concurrency=3 --test-reporter=spec test/k8s/*.test.ts
