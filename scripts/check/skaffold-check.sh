#!/usr/bin/env bash
# skaffold.yaml exercised by skaffold itself, offline (make skaffold-check, in make test after test-image):
#   skaffold diagnose --yaml-only            the config as skaffold parses it (defaults applied)
#   skaffold build --dry-run                 the artifact and its inputDigest tag (skaffold reads the base image's
#                                            ONBUILD triggers through the Docker API: podman's, on a private socket)
#   skaffold render (default, -p cassandra)  the manifests `skaffold dev` / `run` would deploy, validated like the
#                                            chart (kubernetes-validate, kubeconform, CRD schemas, invariants)
# skaffold v2 takes ~12 CPU-minutes to build from source, so by default this runs only where scripts/dev/tools.sh
# has built it already (`make skaffold`); SKAFFOLD_CHECKS=build builds it first, SKAFFOLD_CHECKS=off skips.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
SHARED=${EPHEMERA_SHARED:-$(git rev-parse --show-toplevel 2>/dev/null || echo "$ROOT")/../shared}
SCHEMAS=$SHARED/k8s-schemas
CACHE=${EPHEMERA_CACHE:-$HOME/.cache/ephemera}
export PATH=$CACHE/bin:$PATH
KV=${SKAFFOLD_KUBE_VERSION:-1.34.0}
PY=$CACHE/venv/bin/python
VALIDATE="$PY scripts/check/chart-validate.py"

case ${SKAFFOLD_CHECKS:-cached} in
  off) echo "skaffold-check: SKAFFOLD_CHECKS=off"; exit 0 ;;
  build) scripts/dev/tools.sh skaffold ;;
esac
if ! scripts/dev/tools.sh --cached skaffold; then
  echo "skaffold-check: skaffold is not built here, nothing checked (make skaffold builds it once, ~12 CPU-minutes)"
  exit 0
fi
scripts/dev/tools.sh helm kubeconform kubernetes-validate

WORK=$(mktemp -d "${TMPDIR:-/tmp}/skaffold-check.XXXXXX")
SOCK=$WORK/podman.sock
SERVICE_PID=
cleanup() {
  [[ -n $SERVICE_PID ]] && kill -TERM -- "-$SERVICE_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

passed=0
failed=0
ok() { passed=$((passed + 1)); printf '    ok   %s\n' "$*"; }
bad() { failed=$((failed + 1)); printf '    FAIL %s\n' "$*"; }
check() {
  local desc=$1 out
  shift
  if out=$("$@" 2>&1); then ok "$desc"; else bad "$desc"; printf '%s\n' "$out" | sed 's/^/         /' | tail -30; fi
}

# The base image the Dockerfile starts FROM, behind podman's Docker API (skaffold's inputDigest tagger reads
# its ONBUILD triggers there; without a daemon it would ask Docker Hub, unreachable here).
scripts/dev/image.sh base >/dev/null
setsid scripts/dev/image.sh podman system service --time=0 "unix://$SOCK" >"$WORK/podman.log" 2>&1 &
SERVICE_PID=$!
for _ in $(seq 1 100); do curl -fsS --unix-socket "$SOCK" http://d/_ping >/dev/null 2>&1 && break; sleep 0.2; done

# Never a real cluster: an empty kubeconfig (without one, helm/kubectl would probe localhost:8080, which is
# the API's port), a private global skaffold config (no metrics, no update check).
printf 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\ncurrent-context: ""\n' >"$WORK/kubeconfig"
# skaffold render runs helm template without --kube-version (it drops deploy.helm flags when rendering), and a
# go-installed helm v3 assumes Kubernetes 1.20: this wrapper adds the version the chart targets.
mkdir -p "$WORK/bin"
cat >"$WORK/bin/helm" <<EOF
#!/usr/bin/env bash
# skaffold runs: helm --kube-context "" template ...; any "template" argument marks a render.
for a in "\$@"; do [[ \$a == template ]] && exec "$(command -v helm)" "\$@" --kube-version "$KV"; done
exec "$(command -v helm)" "\$@"
EOF
chmod +x "$WORK/bin/helm"
sk=(env PATH="$WORK/bin:$PATH" KUBECONFIG="$WORK/kubeconfig" DOCKER_HOST="unix://$SOCK" SKAFFOLD_UPDATE_CHECK=false
    SKAFFOLD_CONFIG="$WORK/skaffold-global.yaml" skaffold)
"${sk[@]}" config set --global collect-metrics false >/dev/null

echo "==> skaffold $(skaffold version): diagnose, build --dry-run, render (Kubernetes $KV)"
check "skaffold diagnose --yaml-only" "${sk[@]}" diagnose --yaml-only
"${sk[@]}" diagnose --yaml-only >"$WORK/diagnose.yaml" 2>&1 || true
check "diagnose: local build without buildkit (no buildx plugin with podman)" grep -q 'useBuildkit: false' "$WORK/diagnose.yaml"
check "skaffold build --dry-run" "${sk[@]}" build --dry-run --file-output="$WORK/build.json"
# The inputDigest tagger worked (its fall-back would be ephemera:latest).
check "build --dry-run: ephemera tagged with its input digest" \
  grep -qE '"imageName":"ephemera","tag":"ephemera:[0-9a-f]{64}"' "$WORK/build.json"

native=$("$PY" -c 'import kubernetes_validate, os; print(os.path.join(os.path.dirname(kubernetes_validate.__file__), "kubernetes-json-schema"))')
for profile in default cassandra; do
  out=$WORK/render-$profile.yaml
  args=(render --offline=true --digest-source=tag --build-artifacts "$WORK/build.json" --output "$out")
  [[ $profile == default ]] || args+=(--profile "$profile")
  check "skaffold render ($profile)" "${sk[@]}" "${args[@]}"
  [[ -s $out ]] || continue
  check "render ($profile): $(grep -c '^kind:' "$out") objects, kubernetes-validate --strict $KV" \
    kubernetes-validate --strict --quiet -k "$KV" "$out"
  check "render ($profile): schemas for kubeconform" $VALIDATE native-schemas "$native" "$WORK/native" "$KV" "$out"
  $VALIDATE crd-schemas "$SCHEMAS/crds" "$WORK/crd" >/dev/null 2>&1 || true
  check "render ($profile): kubeconform -strict" kubeconform -strict -summary -kubernetes-version "$KV" \
    -schema-location "$WORK/crd/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json" \
    -schema-location "$WORK/native/{{ .NormalizedKubernetesVersion }}/{{ .ResourceKind }}{{ .KindSuffix }}.json" "$out"
  check "render ($profile): CRD jsonschema" $VALIDATE crds "$SCHEMAS/crds" "$out"
  check "render ($profile): invariants" $VALIDATE invariants "$out"
  check "render ($profile): the Deployment runs the built artifact's tag" \
    grep -qE "image: \"?$(sed -nE 's/.*"tag":"([^"]+)".*/\1/p' "$WORK/build.json")\"?$" "$out"
done
check "render (cassandra) adds the dev Cassandra StatefulSet" grep -q '^kind: StatefulSet' "$WORK/render-cassandra.yaml"

# Negative control: skaffold itself must refuse a misspelt field.
sed 's/^portForward:/portForwards:/' skaffold.yaml >"$WORK/bad-skaffold.yaml"
if out=$("${sk[@]}" diagnose --yaml-only -f "$WORK/bad-skaffold.yaml" 2>&1); then
  bad "skaffold diagnose rejects an unknown field (was accepted)"
elif grep -q portForwards <<<"$out"; then
  ok "skaffold diagnose rejects an unknown field"
else
  bad "skaffold diagnose rejects an unknown field (failed without naming it)"; printf '%s\n' "$out" | tail -5
fi

echo "skaffold-check: $passed passed, $failed failed"
((failed == 0))
