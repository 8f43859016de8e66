# Sourced by scripts/chart-test.sh (uses its step/check/bad/ok, $WORK, $CHART, $KC_LOCATIONS, $VALIDATE):
# skaffold.yaml exercised by skaffold itself, offline:
#   skaffold diagnose --yaml-only          the config as skaffold parses it (defaults applied)
#   skaffold build --dry-run               the artifacts and tags it would build
#   skaffold render (default + cassandra)  the manifests `skaffold dev`/`run` would deploy, validated like the chart
# skaffold (v2, ~12 CPU-minutes to build from source, 208 MB) is only used where scripts/tools.sh has built it
# already (`scripts/tools.sh skaffold`, or SKAFFOLD_CHECKS=build to build it here first); otherwise this
# step says so and checks nothing. SKAFFOLD_CHECKS=off skips it.

skaffold_checks() {
  local mode=${SKAFFOLD_CHECKS:-cached} kv=${KUBE_VERSIONS##* }
  step "skaffold diagnose / build --dry-run / render (skaffold.yaml)"
  case $mode in
    off) echo "    (SKAFFOLD_CHECKS=off)"; return 0 ;;
    build) scripts/tools.sh skaffold ;;
  esac
  if ! scripts/tools.sh --cached skaffold; then
    echo "    skaffold not built here: checks not run (scripts/tools.sh skaffold builds it once, ~12 CPU-minutes)"
    return 0
  fi
  # Never a real cluster: an empty kubeconfig (without one, helm/kubectl would probe localhost:8080, which
  # is the API's port), a private global skaffold config (no metrics, no update check).
  local kube=$WORK/skaffold-kubeconfig wrap=$WORK/skaffold-bin
  printf 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\ncurrent-context: ""\n' >"$kube"
  # skaffold render runs `helm template` without --kube-version (it drops deploy.helm flags when rendering),
  # and a go-installed helm v3 assumes Kubernetes 1.20: this wrapper adds the version the chart targets.
  mkdir -p "$wrap"
  cat >"$wrap/helm" <<EOF
#!/usr/bin/env bash
if [[ \${1:-} == template ]]; then exec "$(command -v helm)" "\$@" --kube-version "$kv"; fi
exec "$(command -v helm)" "\$@"
EOF
  chmod +x "$wrap/helm"
  local sk=(env PATH="$wrap:$PATH" KUBECONFIG="$kube" SKAFFOLD_UPDATE_CHECK=false
            SKAFFOLD_CONFIG="$WORK/skaffold-global.yaml" skaffold)
  "${sk[@]}" config set --global collect-metrics false >/dev/null

  check "skaffold diagnose --yaml-only" "${sk[@]}" diagnose --yaml-only
  "${sk[@]}" diagnose --yaml-only >"$WORK/skaffold-diagnose.yaml" 2>&1 || true
  check "skaffold build --dry-run" "${sk[@]}" build --dry-run --output "$WORK/skaffold-build.json"
  check "skaffold build --dry-run names the ephemera artifact" grep -q '"imageName":"ephemera"' "$WORK/skaffold-build.json"

  local profile out
  for profile in default cassandra; do
    out=$WORK/skaffold-render-$profile.yaml
    local args=(render --offline=true --digest-source=tag --build-artifacts "$WORK/skaffold-build.json" --output "$out")
    [[ $profile == default ]] || args+=(--profile "$profile")
    check "skaffold render ($profile)" "${sk[@]}" "${args[@]}"
    [[ -s $out ]] || continue
    check "skaffold render ($profile): kubernetes-validate --strict k8s $kv" kubernetes-validate --strict --quiet -k "$kv" "$out"
    check "skaffold render ($profile): kubeconform -strict k8s $kv" \
      kubeconform -strict -summary -kubernetes-version "$kv" "${KC_LOCATIONS[@]}" "$out"
    check "skaffold render ($profile): CRD jsonschema" $VALIDATE crds "$SCHEMAS/crds" "$out"
    check "skaffold render ($profile): invariants" $VALIDATE invariants "$out"
    check "skaffold render ($profile): image is the built artifact's tag" grep -qE 'image: "?ephemera:' "$out"
  done
}
skaffold_checks
