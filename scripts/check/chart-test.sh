#!/usr/bin/env bash
# Offline checks of the Kubernetes packaging (make chart-test):
#   1. helm lint --strict for every value set (charts/ephemera/ci/*.yaml, k8s/values-dev.yaml)
#   2. helm template for each value set and each supported Kubernetes version
#   3. every rendered object (and k8s/cassandra.yaml) validated strictly:
#        kubernetes-validate --strict (built-in kinds, bundled schemas)
#        kubeconform -strict with local schemas only (built-in kinds + strict schemas generated
#        from the CRDs in the shared k8s-schemas dir)
#        python jsonschema against the same CRDs, and cross-object invariants
#   4. skaffold.yaml against the shared skaffold JSON schema
#   4b. files/dashboard.json against Grafana's dashboard model (scripts/check/dashboard-check: Apache-2.0
#       grafana-foundation-sdk, strict decoding + Validate())
#   (skaffold's own checks of skaffold.yaml: scripts/check/skaffold-check.sh, make skaffold-check)
#   5. negative controls: each validator must reject a deliberately broken input
#   6. helm-unittest suites in charts/ephemera/tests
# Needs scripts/dev/tools.sh (run here; cached). Exits non-zero on any failure.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
SHARED=${EPHEMERA_SHARED:-$(git rev-parse --show-toplevel 2>/dev/null || echo "$ROOT")/../shared}
SCHEMAS=$SHARED/k8s-schemas
CACHE=${EPHEMERA_CACHE:-$HOME/.cache/ephemera}
export PATH=$CACHE/bin:$PATH
CHART=charts/ephemera
RELEASE=ephemera
NAMESPACE=ephemera
# Kubernetes versions the chart supports and is validated against.
KUBE_VERSIONS=${KUBE_VERSIONS:-"1.31.0 1.32.0 1.33.0 1.34.0"}
# Secrets the production-like value set expects to exist (cassandra, opensearch, bodyStore.s3 existingSecret).
export EXTERNAL_SECRETS=ephemera-superuser,ephemera-search-admin,ephemera-bodies-hmac

[[ -d $SCHEMAS/crds && -f $SCHEMAS/skaffold/v4beta14.json ]] || {
  echo "chart-test: shared schemas not found at $SCHEMAS (set EPHEMERA_SHARED)" >&2
  exit 1
}

scripts/dev/tools.sh helm kubeconform helm-unittest kubernetes-validate
PY=$CACHE/venv/bin/python
VALIDATE="$PY scripts/check/chart-validate.py"
NATIVE_SCHEMAS=$("$PY" -c 'import kubernetes_validate, os; print(os.path.join(os.path.dirname(kubernetes_validate.__file__), "kubernetes-json-schema"))')

WORK=$(mktemp -d "${TMPDIR:-/tmp}/chart-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

passed=0
failed=0
failures=()
step() { printf '\n==> chart-test [%ss]: %s\n' "$SECONDS" "$*"; }
ok() { passed=$((passed + 1)); printf '    ok   %s\n' "$*"; }
bad() { failed=$((failed + 1)); failures+=("$*"); printf '    FAIL %s\n' "$*"; }
# check DESCRIPTION CMD...: run, show output only on failure.
check() {
  local desc=$1 out
  shift
  if out=$("$@" 2>&1); then ok "$desc"; else bad "$desc"; printf '%s\n' "$out" | sed 's/^/         /' | tail -40; fi
}
# expect_fail DESCRIPTION REGEX CMD...: the command must fail, saying REGEX (a negative control that
# fails for an unrelated reason, e.g. a broken tool set-up, does not count).
expect_fail() {
  local desc=$1 want=$2 out
  shift 2
  if out=$("$@" 2>&1); then
    bad "$desc (was accepted)"
  elif grep -qE -- "$want" <<<"$out"; then
    ok "$desc"
  else
    bad "$desc (failed without mentioning /$want/)"; printf '%s\n' "$out" | sed 's/^/         /' | tail -20
  fi
}

value_sets=()
for f in "$CHART"/ci/*-values.yaml; do value_sets+=("$f"); done
value_sets+=(k8s/values-dev.yaml)
set_name() { local b; b=$(basename "$1" .yaml); [[ $1 == k8s/* ]] && echo "dev" || echo "${b%-values}"; }

# kubeconform reads local schemas only: CRD-generated ones first, then the built-in kinds.
KC_LOCATIONS=(
  -schema-location "$WORK/crd-schemas/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json"
  -schema-location "$WORK/native-schemas/{{ .NormalizedKubernetesVersion }}/{{ .ResourceKind }}{{ .KindSuffix }}.json"
)

step "generating strict JSON schemas from $SCHEMAS/crds"
check "CRD schemas" $VALIDATE crd-schemas "$SCHEMAS/crds" "$WORK/crd-schemas"

lowest=${KUBE_VERSIONS%% *}
highest=${KUBE_VERSIONS##* }

step "helm lint --strict ($((${#value_sets[@]})) value sets, Kubernetes $lowest and $highest)"
for values in "${value_sets[@]}"; do
  for kv in "$lowest" "$highest"; do
    check "lint $(set_name "$values") k8s $kv" helm lint --strict --kube-version "$kv" "$CHART" -f "$values"
  done
done

step "helm template ($((${#value_sets[@]})) value sets x Kubernetes $KUBE_VERSIONS)"
for values in "${value_sets[@]}"; do
  name=$(set_name "$values")
  for kv in $KUBE_VERSIONS; do
    out=$WORK/rendered-$name-$kv.yaml
    if helm template "$RELEASE" "$CHART" -n "$NAMESPACE" --kube-version "$kv" -f "$values" >"$out" 2>"$out.err"; then
      ok "template $name k8s $kv ($(grep -c '^kind:' "$out" || true) objects)"
    else
      bad "template $name k8s $kv"; sed 's/^/         /' "$out.err"; rm -f "$out"
    fi
  done
done
shopt -s nullglob
rendered=("$WORK"/rendered-*.yaml)
shopt -u nullglob
check "self-contained built-in schemas for kubeconform" $VALIDATE native-schemas "$NATIVE_SCHEMAS" \
  "$WORK/native-schemas" "$(echo $KUBE_VERSIONS | tr ' ' ',')" ${rendered[@]+"${rendered[@]}"} k8s/cassandra.yaml

step "validation of the rendered objects (and k8s/cassandra.yaml)"
for kv in $KUBE_VERSIONS; do
  files=("$WORK"/rendered-*-"$kv".yaml k8s/cassandra.yaml)
  objects=$(cat "${files[@]}" | grep -c '^kind:' || true)
  check "kubernetes-validate --strict k8s $kv ($objects objects in ${#files[@]} files)" \
    kubernetes-validate --strict --quiet -k "$kv" "${files[@]}"
  check "kubeconform -strict k8s $kv (built-in + CRD kinds)" \
    kubeconform -strict -summary -kubernetes-version "$kv" "${KC_LOCATIONS[@]}" "${files[@]}"
done
for values in "${value_sets[@]}"; do
  name=$(set_name "$values")
  out=$WORK/rendered-$name-$highest.yaml
  [[ -f $out ]] || continue
  check "CRD jsonschema $name" $VALIDATE crds "$SCHEMAS/crds" "$out"
  check "invariants $name" $VALIDATE invariants "$out"
done
check "invariants k8s/cassandra.yaml" $VALIDATE invariants k8s/cassandra.yaml

step "skaffold.yaml against $SCHEMAS/skaffold/v4beta14.json"
check "skaffold.yaml schema" $VALIDATE schema "$SCHEMAS/skaffold/v4beta14.json" skaffold.yaml

step "dashboard.json against Grafana's dashboard model (grafana-foundation-sdk v0.0.22)"
DASHBOARD_CHECK=$WORK/dashboard-check
if (cd scripts/check/dashboard-check && CGO_ENABLED=0 go build -o "$DASHBOARD_CHECK" .) >"$WORK/dashboard-build.log" 2>&1; then
  check "dashboard.json strict decode + Validate()" "$DASHBOARD_CHECK" "$CHART/files/dashboard.json"
else
  bad "build scripts/check/dashboard-check"; sed 's/^/         /' "$WORK/dashboard-build.log" | tail -20
fi

step "negative controls (each must be rejected)"
prod=$WORK/rendered-production-$highest.yaml
# A ServiceMonitor endpoint with a misspelt field.
sed 's/^      scrapeTimeout:/      scrapeTimeoutt:/' "$prod" >"$WORK/bad-sm.yaml"
grep -q scrapeTimeoutt "$WORK/bad-sm.yaml" || bad "negative control setup: no ServiceMonitor endpoint found"
expect_fail "CRD jsonschema rejects an unknown ServiceMonitor field" scrapeTimeoutt $VALIDATE crds "$SCHEMAS/crds" "$WORK/bad-sm.yaml"
expect_fail "kubeconform rejects an unknown ServiceMonitor field" scrapeTimeoutt \
  kubeconform -strict -kubernetes-version "$highest" "${KC_LOCATIONS[@]}" "$WORK/bad-sm.yaml"
# A KEDA trigger without its type, and a custom kind without a CRD.
sed 's/^    - type: prometheus$/    - typo: prometheus/' "$prod" >"$WORK/bad-so.yaml"
expect_fail "CRD jsonschema rejects a ScaledObject trigger without type" "typo|'type' is a required" $VALIDATE crds "$SCHEMAS/crds" "$WORK/bad-so.yaml"
printf 'apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n' >"$WORK/bad-kind.yaml"
expect_fail "CRD jsonschema rejects a kind without a CRD" "Widget" $VALIDATE crds "$SCHEMAS/crds" "$WORK/bad-kind.yaml"
expect_fail "kubeconform rejects a kind without a schema" "could not find schema for Widget" \
  kubeconform -strict -kubernetes-version "$highest" "${KC_LOCATIONS[@]}" "$WORK/bad-kind.yaml"
# A Deployment container with a misspelt field.
sed 's/^          imagePullPolicy:/          imagePullPolicyy:/' "$prod" >"$WORK/bad-deploy.yaml"
expect_fail "kubernetes-validate rejects an unknown Deployment field" imagePullPolicyy \
  kubernetes-validate --strict --quiet -k "$highest" "$WORK/bad-deploy.yaml"
expect_fail "kubeconform rejects an unknown Deployment field" imagePullPolicyy \
  kubeconform -strict -kubernetes-version "$highest" "${KC_LOCATIONS[@]}" "$WORK/bad-deploy.yaml"
# Both autoscalers on one Deployment.
helm template "$RELEASE" "$CHART" -n "$NAMESPACE" --kube-version "$highest" --set autoscaling.mode=hpa >"$WORK/both.yaml"
helm template "$RELEASE" "$CHART" -n "$NAMESPACE" --kube-version "$highest" --set autoscaling.mode=keda \
  --show-only templates/scaledobject.yaml >>"$WORK/both.yaml"
expect_fail "invariants reject an HPA and a ScaledObject on one Deployment" "more than one autoscaler" $VALIDATE invariants "$WORK/both.yaml"
# Values outside the schema, and the skaffold schema.
expect_fail "values.schema.json rejects autoscaling.mode=vpa" "autoscaling.*mode|mode.*vpa|vpa" \
  helm template "$RELEASE" "$CHART" --kube-version "$highest" --set autoscaling.mode=vpa
expect_fail "values.schema.json rejects an unknown top-level key" "replicas" \
  helm template "$RELEASE" "$CHART" --kube-version "$highest" --set replicas=3
expect_fail "chart rejects a username without password" "cassandra.password is required" \
  helm template "$RELEASE" "$CHART" --kube-version "$highest" --set cassandra.username=u
sed 's/^portForward:/portForwards:/' skaffold.yaml >"$WORK/bad-skaffold.yaml"
expect_fail "skaffold schema rejects an unknown top-level field" "portForwards" \
  $VALIDATE schema "$SCHEMAS/skaffold/v4beta14.json" "$WORK/bad-skaffold.yaml"

# A stat panel option Grafana does not know, and a dashboard without its required title.
"$PY" - "$CHART/files/dashboard.json" "$WORK" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
stat = next(p for p in d["panels"] if p["type"] == "stat")
stat["options"]["colorModee"] = stat["options"].pop("colorMode")
json.dump(d, open(sys.argv[2] + "/bad-dashboard-field.json", "w"))
d = json.load(open(sys.argv[1]))
d["panels"][1]["gridPos"]["h"] = "8"
json.dump(d, open(sys.argv[2] + "/bad-dashboard-type.json", "w"))
PYEOF
expect_fail "dashboard-check rejects an unknown stat panel option" "unexpected field 'colorModee'" \
  "$DASHBOARD_CHECK" "$WORK/bad-dashboard-field.json"
expect_fail "dashboard-check rejects a mistyped gridPos" "gridPos" "$DASHBOARD_CHECK" "$WORK/bad-dashboard-type.json"

step "helm-unittest ($CHART/tests)"
if helm-unittest --strict --color=false "$CHART" 2>&1 | tee "$WORK/unittest.log" | grep -Ev '^\s*$'; then
  if grep -qE '^Tests:.*failed' "$WORK/unittest.log" || ! grep -qE '^Tests:.*passed' "$WORK/unittest.log"; then
    bad "helm-unittest"
  else
    ok "helm-unittest ($(grep -E '^Tests:' "$WORK/unittest.log" | sed 's/^Tests: *//'))"
  fi
else
  bad "helm-unittest"
fi

echo
if ((failed)); then
  printf 'chart-test FAILED:\n' >&2
  printf '  - %s\n' "${failures[@]}" >&2
fi
echo "chart-test: $passed passed, $failed failed"
((failed == 0))
