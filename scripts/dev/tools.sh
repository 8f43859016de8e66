#!/usr/bin/env bash
# Install the Kubernetes packaging tools and the load generator into ${EPHEMERA_CACHE:-$HOME/.cache/ephemera}/bin.
#
#   scripts/dev/tools.sh [helm] [kubeconform] [helm-unittest] [kubernetes-validate] [vegeta] [versitygw] [docker-compose] [skaffold] | all
#
# `all` is the chart tools and vegeta; docker-compose (~2 min) and skaffold (~12 CPU-minutes) are asked for by name.
# `scripts/dev/tools.sh --cached NAME` exits 0 when NAME is already built (for checks that only run when it is).
#
# Everything comes from the Go module proxy (go install) or PyPI (pip into a venv under the
# cache). Each tool is installed once per pinned version (a stamp file records it), so a second
# run is a no-op. No step downloads a prebuilt binary from anywhere else.
set -euo pipefail

HELM_MODULE=helm.sh/helm/v3/cmd/helm
HELM_VERSION=v3.21.4                 # go-installed v3: pass --kube-version to lint/template
KUBECONFORM_VERSION=v0.7.0
HELM_UNITTEST_VERSION=v1.0.1         # v1.0.2+ carries replace directives (go install refuses)
# The checksum database does not answer for helm-unittest v1.0.1, so the module is fetched with
# GONOSUMDB and its zip hash is checked against this pin instead (go.sum's h1: format).
HELM_UNITTEST_ZIPHASH=h1:Mqb7hxZ7TTzSEFi2T5BVPbdKDm4sHWEaWSDBO2SHGdg=
# Built as main modules (go install refuses their replace/exclude directives): the module source is
# downloaded from the module proxy, copied out of the read-only module cache and built there.
COMPOSE_MODULE=github.com/docker/compose/v2
COMPOSE_VERSION=v2.40.3
SKAFFOLD_MODULE=github.com/GoogleContainerTools/skaffold/v2
SKAFFOLD_VERSION=v2.24.0
KUBERNETES_VALIDATE_VERSION=1.37.0   # bundles Kubernetes schemas 1.25-1.36
JSONSCHEMA_VERSION=4.26.0
VEGETA_VERSION=v12.13.0              # MIT; the load generator of `make loadtest` / loadtest-smoke / bench
VERSITYGW_VERSION=v1.8.0             # Apache-2.0; the local S3 server (make s3-up); the only version the proxy lists

CACHE=${EPHEMERA_CACHE:-$HOME/.cache/ephemera}
BIN=$CACHE/bin
STAMPS=$CACHE/stamps
VENV=$CACHE/venv
mkdir -p "$BIN" "$STAMPS"

log() { printf '==> tools: %s\n' "$*" >&2; }

have_stamp() { [[ -f $STAMPS/$1 && -x $BIN/$2 ]]; }

go_tool() { # name module version binary [pinned-ziphash]
  local name=$1 module=$2 version=$3 binary=$4 pin=${5:-} stamp="$1@$3" start env=()
  if have_stamp "$stamp" "$binary"; then
    log "$name $version: cached ($BIN/$binary)"
    return 0
  fi
  command -v go >/dev/null || { log "go is required to build $name"; return 1; }
  log "$name $version: go install $module@$version (first time: downloads modules and compiles, takes minutes)"
  start=$SECONDS
  rm -f "$STAMPS/$name"@*
  local root=${module%/cmd/*}
  if [[ -n $pin ]]; then
    env=("GONOSUMDB=$root")
    # Download first and check the pin before anything is compiled from it.
    (cd "$CACHE" && env "${env[@]}" go mod download "$root@$version")
    local hashfile
    hashfile="$(go env GOMODCACHE)/cache/download/$(echo "$root" | sed -E 's/([A-Z])/!\L\1/g')/@v/$version.ziphash"
    if [[ "$(cat "$hashfile" 2>/dev/null)" != "$pin" ]]; then
      log "$name $version: module hash $(cat "$hashfile" 2>/dev/null || echo missing) != pinned $pin"
      return 1
    fi
    log "$name $version: module hash matches the pin"
  fi
  env ${env[@]+"${env[@]}"} GOBIN=$BIN CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -buildvcs=false" go install "$module@$version"
  touch "$STAMPS/$stamp"
  log "$name $version: built in $((SECONDS - start))s"
}

install_helm() { go_tool helm "$HELM_MODULE" "$HELM_VERSION" helm; }
install_kubeconform() {
  go_tool kubeconform github.com/yannh/kubeconform/cmd/kubeconform "$KUBECONFORM_VERSION" kubeconform
}
install_helm_unittest() {
  go_tool helm-unittest github.com/helm-unittest/helm-unittest/cmd/helm-unittest "$HELM_UNITTEST_VERSION" \
    helm-unittest "$HELM_UNITTEST_ZIPHASH"
}

install_vegeta() { go_tool vegeta github.com/tsenart/vegeta/v12 "$VEGETA_VERSION" vegeta; }
# ~3 CPU-minutes, ~0.7 GB peak RAM, 84 MB binary (../shared/notes/object-storage.md).
install_versitygw() { go_tool versitygw github.com/versity/versitygw/cmd/versitygw "$VERSITYGW_VERSION" versitygw; }

# main_module NAME MODULE VERSION PACKAGE BINARY [LDFLAGS]: build PACKAGE of MODULE@VERSION with the
# module's own go.mod/go.sum (its replace directives apply), into $BIN/BINARY.
main_module() {
  local name=$1 module=$2 version=$3 pkg=$4 binary=$5 ldflags=${6:-} stamp="$1@$3" start dir src
  if have_stamp "$stamp" "$binary"; then
    log "$name $version: cached ($BIN/$binary)"
    return 0
  fi
  command -v go >/dev/null || { log "go is required to build $name"; return 1; }
  start=$SECONDS
  rm -f "$STAMPS/$name"@*
  log "$name $version: go mod download $module@$version, go build $pkg as the main module (takes minutes)"
  dir=$(cd "$CACHE" && go mod download -json "$module@$version" | sed -nE 's/^\t"Dir": "(.*)",?$/\1/p')
  [[ -n $dir && -f $dir/go.mod ]] || { log "$name: module download failed"; return 1; }
  src=$CACHE/src/$name-$version
  rm -rf "$src"; mkdir -p "$CACHE/src"
  cp -r "$dir" "$src"; chmod -R u+w "$src"
  (cd "$src" && CGO_ENABLED=0 GOFLAGS="-buildvcs=false -mod=mod" go build -trimpath -ldflags "-s -w $ldflags" \
     -o "$BIN/$binary.tmp" "$pkg")
  mv "$BIN/$binary.tmp" "$BIN/$binary"
  rm -rf "$src"
  touch "$STAMPS/$stamp"
  log "$name $version: built in $((SECONDS - start))s"
}

install_compose() {
  main_module docker-compose "$COMPOSE_MODULE" "$COMPOSE_VERSION" ./cmd docker-compose \
    "-X github.com/docker/compose/v2/internal.Version=$COMPOSE_VERSION"
}
install_skaffold() {
  main_module skaffold "$SKAFFOLD_MODULE" "$SKAFFOLD_VERSION" ./cmd/skaffold skaffold \
    "-X github.com/GoogleContainerTools/skaffold/v2/pkg/skaffold/version.version=$SKAFFOLD_VERSION"
}

install_kubernetes_validate() {
  local stamp="kubernetes-validate@$KUBERNETES_VALIDATE_VERSION+jsonschema@$JSONSCHEMA_VERSION" start
  if have_stamp "$stamp" kubernetes-validate && [[ -x $VENV/bin/python ]]; then
    log "kubernetes-validate $KUBERNETES_VALIDATE_VERSION: cached ($VENV)"
    return 0
  fi
  start=$SECONDS
  rm -f "$STAMPS"/kubernetes-validate@*
  if [[ ! -x $VENV/bin/python ]]; then
    log "creating Python venv $VENV"
    python3 -m venv "$VENV"
  fi
  log "kubernetes-validate $KUBERNETES_VALIDATE_VERSION + jsonschema $JSONSCHEMA_VERSION: pip install"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" "jsonschema==$JSONSCHEMA_VERSION" PyYAML
  ln -sf "$VENV/bin/kubernetes-validate" "$BIN/kubernetes-validate"
  touch "$STAMPS/$stamp"
  log "kubernetes-validate: installed in $((SECONDS - start))s"
}

usage() {
  echo "usage: $0 [helm] [kubeconform] [helm-unittest] [kubernetes-validate] [vegeta] [versitygw] [docker-compose] [skaffold] | all" >&2
  echo "       $0 --cached docker-compose|skaffold   (exit 0 if already built)" >&2
  exit 2
}

[[ $# -gt 0 ]] || usage
if [[ $1 == --cached ]]; then
  case ${2:-} in
    docker-compose) have_stamp "docker-compose@$COMPOSE_VERSION" docker-compose ;;
    skaffold) have_stamp "skaffold@$SKAFFOLD_VERSION" skaffold ;;
    *) usage ;;
  esac
  exit
fi
tools=()
for arg in "$@"; do
  case $arg in
    all) tools+=(helm kubeconform helm-unittest kubernetes-validate vegeta) ;;
    helm | kubeconform | helm-unittest | kubernetes-validate | vegeta | versitygw | docker-compose | skaffold) tools+=("$arg") ;;
    -h | --help) usage ;;
    *) log "unknown tool: $arg"; usage ;;
  esac
done

# One installer per tool at a time (parallel make targets, two checkouts sharing the cache); different
# tools may build at once (a long skaffold build must not hold up the chart tools).
locked() { # tool command...
  local tool=$1; shift
  if command -v flock >/dev/null; then
    ( exec 9>"$STAMPS/.$tool.lock"; flock 9; "$@" )
  else
    "$@"
  fi
}

total=$SECONDS
for tool in "${tools[@]}"; do
  case $tool in
    helm) locked helm install_helm ;;
    kubeconform) locked kubeconform install_kubeconform ;;
    helm-unittest) locked helm-unittest install_helm_unittest ;;
    kubernetes-validate) locked kubernetes-validate install_kubernetes_validate ;;
    vegeta) locked vegeta install_vegeta ;;
    versitygw) locked versitygw install_versitygw ;;
    docker-compose) locked docker-compose install_compose ;;
    skaffold) locked skaffold install_skaffold ;;
  esac
done
log "ready in $((SECONDS - total))s: $BIN (add it to PATH)"
