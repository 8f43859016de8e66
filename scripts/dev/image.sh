#!/usr/bin/env bash
# Builds the Ephemera container image offline with buildah (as root: chroot isolation, overlay or
# vfs storage kept under $EPHEMERA_CACHE/image) from a base image made here: a Debian bookworm
# minbase rootfs (debootstrap from the machine's apt mirror) plus the machine's Node 20 and npm,
# tagged as the Dockerfile's BASE_IMAGE. No registry is needed; npm ci inside the build is.
#
# Usage: scripts/dev/image.sh [build|base|test|size|prune|clean|buildah ARGS...|--help]   (details: --help)
set -euo pipefail

# ---------------------------------------------------------------- settings
EPHEMERA_CACHE=${EPHEMERA_CACHE:-$HOME/.cache/ephemera}
IMAGE_CACHE=${IMAGE_CACHE:-$EPHEMERA_CACHE/image}
BASE_IMAGE=${BASE_IMAGE:-localhost/ephemera-base:20}
IMAGE=${IMAGE:-localhost/ephemera:dev}
DEBIAN_SUITE=${DEBIAN_SUITE:-bookworm}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-}       # default: the bookworm mirror in /etc/apt/sources.list*
NODE_MAJOR=20
# auto: overlay where this kernel/filesystem can mount it here (then layer caching makes rebuilds cheap),
# else vfs (works anywhere, but every step is a full copy of the root filesystem, so no layer cache).
STORAGE_DRIVER=${IMAGE_STORAGE_DRIVER:-auto}

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LOG_DIR=$IMAGE_CACHE/logs
ARCH=$(dpkg --print-architecture 2>/dev/null || echo amd64)
ROOTFS_TAR=$IMAGE_CACHE/rootfs-$DEBIAN_SUITE-minbase-$ARCH.tar

# ---------------------------------------------------------------- helpers
# Picks the storage driver and its storage: buildah --root (layers, images) and --runroot (locks, mounts).
resolve_storage() {
  if [[ $STORAGE_DRIVER == auto ]]; then
    STORAGE_DRIVER=vfs
    local d; d=$(mktemp -d "$IMAGE_CACHE/.overlay-probe.XXXXXX")
    mkdir -p "$d/l" "$d/u" "$d/w" "$d/m"
    if mount -t overlay overlay -o "lowerdir=$d/l,upperdir=$d/u,workdir=$d/w" "$d/m" 2>/dev/null; then
      umount "$d/m"; STORAGE_DRIVER=overlay
    fi
    rm -rf "$d"
  fi
  [[ $STORAGE_DRIVER == overlay || $STORAGE_DRIVER == vfs ]] || die "IMAGE_STORAGE_DRIVER must be auto, overlay or vfs"
  STORAGE_ROOT=$IMAGE_CACHE/storage-$STORAGE_DRIVER
  RUN_ROOT=$IMAGE_CACHE/runroot-$STORAGE_DRIVER
  # Layer cache: cheap with overlay; with vfs each cached step would be another full copy (minutes).
  if [[ -z ${IMAGE_LAYERS:-} ]]; then [[ $STORAGE_DRIVER == overlay ]] && IMAGE_LAYERS=1 || IMAGE_LAYERS=0; fi
}

say()  { printf '==> %s\n' "$*" >&2; }
die()  { printf '==> ERROR: %s\n' "$*" >&2; exit 1; }
bb()   { buildah --root "$STORAGE_ROOT" --runroot "$RUN_ROOT" --storage-driver "$STORAGE_DRIVER" "$@"; }
# podman on the same storage, with the project's containers.conf/storage.conf (runc, cgroupfs, host network,
# the ulimit workaround) instead of the machine's /etc/containers.
pm()   {
  CONTAINERS_CONF=${CONTAINERS_CONF:-$REPO_ROOT/scripts/dev/podman/containers.conf} \
  CONTAINERS_STORAGE_CONF=${CONTAINERS_STORAGE_CONF:-$REPO_ROOT/scripts/dev/podman/storage.conf} \
    podman --root "$STORAGE_ROOT" --runroot "$RUN_ROOT" --storage-driver "$STORAGE_DRIVER" \
      --tmpdir "$IMAGE_CACHE/podman-tmp" "$@"
}
now()  { echo "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

usage() {
  cat <<EOF
Usage: scripts/dev/image.sh <command>

Builds $IMAGE from the repository's Dockerfile with buildah, offline (no registry), as root:
chroot isolation, overlay (or vfs) storage kept under $IMAGE_CACHE.

Commands:
  build (default)  install buildah/debootstrap if missing, build $BASE_IMAGE if absent
                   (or if the machine's Node version changed), then build $IMAGE
  base [--force]   only the base image: Debian $DEBIAN_SUITE minbase rootfs (debootstrap from the
                   machine's apt mirror, tarball cached) + the machine's node $NODE_MAJOR.x and npm
  test             run test/image/*.test.ts: the image under podman (runc, --read-only, --user 10001,
                   --cap-drop=ALL, host network): 'migrate', then 'serve' against the local Cassandra,
                   /healthz, /readyz, a create/read/list round trip, SIGTERM -> exit 0
  podman ARGS...   run podman with this storage and scripts/dev/podman/*.conf (e.g. 'podman ps -a')
  size             image and base sizes (uncompressed, and gzip-compressed layers)
  prune            remove stray containers and untagged images (this drops the layer cache)
  clean            remove all buildah storage (keeps the rootfs tarball)
  buildah ARGS...  run buildah with this storage (e.g. 'scripts/dev/image.sh buildah images')

Environment: EPHEMERA_CACHE ($EPHEMERA_CACHE), IMAGE ($IMAGE),
BASE_IMAGE ($BASE_IMAGE),
DEBIAN_MIRROR (default: from /etc/apt/sources.list*), IMAGE_STORAGE_DRIVER (auto|overlay|vfs;
auto = overlay if it can be mounted here, else vfs), IMAGE_LAYERS (0|1; default 1 with overlay,
0 with vfs), NO_CACHE=1 (ignore the layer cache).
Logs of the last runs: $LOG_DIR/
EOF
}

ensure_podman() {
  command -v podman >/dev/null && command -v runc >/dev/null && return 0
  say "installing podman and runc (apt-get)"
  mkdir -p "$LOG_DIR"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
           podman runc conmon catatonit containernetworking-plugins uidmap fuse-overlayfs slirp4netns; } \
      >"$LOG_DIR/apt-podman.log" 2>&1; then
    tail -n 30 "$LOG_DIR/apt-podman.log" >&2
    die "apt-get install podman failed (log: $LOG_DIR/apt-podman.log)"
  fi
}

need_root() { [[ $EUID -eq 0 ]] || die "buildah with vfs storage and chroot isolation needs root here (run as root)"; }

ensure_tools() {
  local missing=()
  command -v buildah >/dev/null || missing+=(buildah)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  [[ ${#missing[@]} -eq 0 ]] && return 0
  say "installing ${missing[*]} (apt-get)"
  mkdir -p "$LOG_DIR"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
      >"$LOG_DIR/apt.log" 2>&1; then
    tail -n 30 "$LOG_DIR/apt.log" >&2
    die "apt-get install ${missing[*]} failed (log: $LOG_DIR/apt.log)"
  fi
}

# The machine's Debian mirror for $DEBIAN_SUITE: deb822 (*.sources) or one-line (*.list) entries.
debian_mirror() {
  [[ -n $DEBIAN_MIRROR ]] && { echo "$DEBIAN_MIRROR"; return; }
  local f url
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    url=$(awk -v suite="$DEBIAN_SUITE" '
      function flush() { if (uris != "" && (" " suites " ") ~ (" " suite " ") && (" " comps " ") ~ / main /) { split(uris, u, " "); print u[1]; uris = ""; exit } uris = suites = comps = "" }
      /^[ \t]*$/ { flush(); next }
      /^URIs:/ { sub(/^URIs:[ \t]*/, ""); uris = $0 }
      /^Suites:/ { sub(/^Suites:[ \t]*/, ""); suites = $0 }
      /^Components:/ { sub(/^Components:[ \t]*/, ""); comps = $0 }
      END { flush() }' "$f")
    [[ -n $url ]] && { echo "$url"; return; }
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f $f ]] || continue
    url=$(awk -v suite="$DEBIAN_SUITE" '
      $1 == "deb" { i = 2; if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                    if ($(i + 1) == suite) { for (j = i + 2; j <= NF; j++) if ($j == "main") { print $i; exit } } }' "$f")
    [[ -n $url ]] && { echo "$url"; return; }
  done
  echo http://deb.debian.org/debian
}

# Node and npm of this machine (the base image gets exactly these, like node:20-bookworm-slim's /usr/local).
host_node() { readlink -f "$(command -v node)"; }
host_node_version() { "$(host_node)" --version; }
host_npm_dir() { local d; d=$(npm root -g 2>/dev/null)/npm; [[ -f $d/bin/npm-cli.js ]] || die "npm not found (npm root -g: $d)"; echo "$d"; }

# The CA bundle npm uses on this machine (empty if none is configured beyond Node's built-in CAs).
host_ca_bundle() {
  local f
  for f in "${NODE_EXTRA_CA_CERTS:-}" "$(npm config get cafile 2>/dev/null)" "${SSL_CERT_FILE:-}"; do
    [[ -n $f && $f != null && $f != undefined && -s $f ]] && { readlink -f "$f"; return; }
  done
}

# ---------------------------------------------------------------- base image
build_rootfs() {
  [[ -s $ROOTFS_TAR ]] && { say "rootfs: cached $(basename "$ROOTFS_TAR") ($(du -h "$ROOTFS_TAR" | cut -f1))"; return; }
  local mirror work t0
  mirror=$(debian_mirror)
  work=$IMAGE_CACHE/work/rootfs
  t0=$(now)
  say "rootfs: debootstrap --variant=minbase $DEBIAN_SUITE from $mirror"
  rm -rf "$work"; mkdir -p "$work" "$LOG_DIR"
  if ! debootstrap --variant=minbase --arch="$ARCH" "$DEBIAN_SUITE" "$work" "$mirror" >"$LOG_DIR/debootstrap.log" 2>&1; then
    tail -n 30 "$LOG_DIR/debootstrap.log" >&2
    die "debootstrap failed (log: $LOG_DIR/debootstrap.log)"
  fi
  # Slim it the way debian:*-slim does: no docs, man pages, locales, apt lists or logs.
  rm -rf "${work:?}"/usr/share/{doc,man,info,locale,lintian,linda}/* "${work:?}"/var/lib/apt/lists/* \
         "${work:?}"/var/cache/apt/* "${work:?}"/var/cache/debconf/*-old "${work:?}"/var/log/* "${work:?}"/dev/* \
         "${work:?}"/proc/* "${work:?}"/sys/* "${work:?}"/run/* "${work:?}"/tmp/* "${work:?}"/root/.bash_history
  # The apt sources the image will have (the same mirror), and no leftover host identity.
  printf 'deb %s %s main\n' "$mirror" "$DEBIAN_SUITE" >"$work/etc/apt/sources.list"
  : >"$work/etc/machine-id"; : >"$work/etc/hostname"
  tar --numeric-owner --xattrs -C "$work" -cf "$ROOTFS_TAR.tmp" .
  mv "$ROOTFS_TAR.tmp" "$ROOTFS_TAR"
  rm -rf "$work"
  say "rootfs: $(du -h "$ROOTFS_TAR" | cut -f1) tarball in $(since "$t0")"
}

base_node_version() { bb inspect --type image --format '{{index .OCIv1.Config.Labels "ephemera.base.node"}}' "$BASE_IMAGE" 2>/dev/null || true; }

build_base() {
  local force=${1:-} node_version t0 ctr mnt npm_dir out
  node_version=$(host_node_version)
  [[ $node_version == v$NODE_MAJOR.* ]] || die "the machine's node is $node_version; the base image needs node $NODE_MAJOR.x"
  if [[ $force != --force ]] && bb inspect --type image "$BASE_IMAGE" >/dev/null 2>&1; then
    local have; have=$(base_node_version)
    if [[ $have == "$node_version" ]]; then say "base: $BASE_IMAGE present (node $have)"; return; fi
    say "base: $BASE_IMAGE has node ${have:-?}, the machine has $node_version: rebuilding"
  fi
  t0=$(now)
  build_rootfs
  say "base: assembling $BASE_IMAGE (rootfs + node $node_version + npm $(npm --version))"
  npm_dir=$(host_npm_dir)
  ctr=$(bb from --pull=never scratch)
  CLEANUP_CONTAINERS+=("$ctr")
  mnt=$(bb mount "$ctr")
  tar --numeric-owner --xattrs -C "$mnt" -xpf "$ROOTFS_TAR"
  install -D -m 0755 "$(host_node)" "$mnt/usr/local/bin/node"
  mkdir -p "$mnt/usr/local/lib/node_modules"
  cp -a "$npm_dir" "$mnt/usr/local/lib/node_modules/npm"
  rm -f "$mnt/usr/local/lib/node_modules/npm/npmrc"   # the distribution's builtin config (host CA path), not npm's
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$mnt/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$mnt/usr/local/bin/npx"
  # The copied binary must find all its shared libraries in the rootfs, and npm must run there.
  out=$(chroot "$mnt" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root \
        sh -c 'node --version && npm --version --no-update-notifier' 2>&1) \
    || die "node/npm do not run inside the base rootfs: $out"
  [[ $(head -n1 <<<"$out") == "$node_version" ]] || die "unexpected node in the base rootfs: $out"
  if chroot "$mnt" /usr/bin/ldd /usr/local/bin/node | grep -q 'not found'; then
    die "node's shared libraries missing in the rootfs: $(chroot "$mnt" /usr/bin/ldd /usr/local/bin/node | grep 'not found')"
  fi
  bb umount "$ctr" >/dev/null
  bb config --os linux --arch "$ARCH" --workingdir / \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env NODE_VERSION="${node_version#v}" \
    --cmd '["node"]' \
    --label ephemera.base.node="$node_version" \
    --label org.opencontainers.image.description="Debian $DEBIAN_SUITE minbase + node $node_version (local stand-in for node:$NODE_MAJOR-$DEBIAN_SUITE-slim)" \
    "$ctr"
  bb commit --quiet --rm "$ctr" "$BASE_IMAGE" >/dev/null
  CLEANUP_CONTAINERS=()
  say "base: $BASE_IMAGE built in $(since "$t0") ($(image_size "$BASE_IMAGE"))"
}

# ---------------------------------------------------------------- app image
# Step lines of a buildah log as progress lines, with the seconds since $1.
progress() {
  local t0=$1 line
  while IFS= read -r line; do
    [[ $line =~ ^(\[[0-9]+/[0-9]+\]\ )?STEP\ [0-9]+/[0-9]+: ]] || continue
    printf '==>   %6.1fs  %s\n' "$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')" "${line:0:100}" >&2
  done
}

image_size() { bb images --format '{{.Size}}' --filter reference="$1" 2>/dev/null | head -n1; }

build_image() {
  local t0 log steps cached rc
  t0=$(now)
  log=$LOG_DIR/build.log
  mkdir -p "$LOG_DIR"
  say "image: buildah bud $IMAGE ($STORAGE_DRIVER storage, layer cache $([[ $IMAGE_LAYERS == 1 ]] && echo on || echo off); log: $log)"
  local args=(bud --isolation chroot --pull-never --network host --format oci
              --build-arg "BASE_IMAGE=$BASE_IMAGE" -t "$IMAGE" -f Dockerfile)
  [[ $IMAGE_LAYERS == 1 ]] && args+=(--layers)
  [[ ${NO_CACHE:-0} == 1 ]] && args+=(--no-cache)
  # npm in the RUN steps must trust what this machine trusts (egress may go through a TLS-inspecting
  # proxy). npm's global config dir ($PREFIX/etc = /usr/local/etc, present and empty in the base) is
  # bind-mounted over for RUN steps only, with an npmrc naming the machine's CA bundle: nothing of it
  # lands in a layer, and the Dockerfile stays the one a normal engine builds from node:20.
  local ca etc=$IMAGE_CACHE/build-etc; ca=$(host_ca_bundle)
  rm -rf "$etc"; mkdir -p "$etc"
  if [[ -n $ca ]]; then
    cp "$ca" "$etc/ca-certificates.crt"
    printf 'cafile=/usr/local/etc/ca-certificates.crt\n' >"$etc/npmrc"
  fi
  args+=(--volume "$etc:/usr/local/etc:ro")
  # buildah 1.28 sometimes leaves a stage's working container behind: whatever this build adds is removed.
  local before; before=$(bb containers --quiet --notruncate | sort)
  set +e
  (cd "$REPO_ROOT" && bb "${args[@]}" .) 2>&1 | tee "$log" | progress "$t0"
  rc=${PIPESTATUS[0]}
  set -e
  mapfile -t CLEANUP_CONTAINERS < <(comm -13 <(echo "$before") <(bb containers --quiet --notruncate | sort))
  remove_containers
  if [[ $rc -ne 0 ]]; then
    tail -n 40 "$log" >&2
    die "image build failed (exit $rc; log: $log)"
  fi
  # Without a layer cache, untagged images (the previous build, the deps stage) are only dead weight.
  [[ $IMAGE_LAYERS == 1 ]] || bb rmi --prune >/dev/null 2>&1 || true
  steps=$(grep -cE 'STEP [0-9]+/[0-9]+:' "$log" || true)
  cached=$(grep -c '^--> Using cache' "$log" || true)
  say "image: $IMAGE built in $(since "$t0") ($steps steps, $cached from cache; $(image_size "$IMAGE"))"
}

show_size() {
  local img tmp
  for img in "$BASE_IMAGE" "$IMAGE"; do
    bb inspect --type image "$img" >/dev/null 2>&1 || { say "$img: not built"; continue; }
    tmp=$(mktemp -d "$IMAGE_CACHE/size.XXXXXX")
    bb push --quiet --compression-format gzip --format oci "$img" "oci:$tmp/oci" >/dev/null 2>&1
    local gz; gz=$(find "$tmp/oci/blobs" -type f -size +4k -printf '%s\n' | awk '{ s += $1 } END { printf "%.1f MB", s / 1e6 }')
    rm -rf "$tmp"
    say "$img: $(image_size "$img") uncompressed, $gz gzip-compressed layers"
  done
}

run_tests() {
  command -v node >/dev/null || die "node is needed to run the test"
  [[ -d $REPO_ROOT/node_modules/tsx ]] || die "run 'make deps' first (the test runs with tsx)"
  bb inspect --type image "$IMAGE" >/dev/null 2>&1 || die "$IMAGE is not built: run 'scripts/dev/image.sh build' first"
  say "test: $IMAGE under podman (runc, read-only, uid 10001, no capabilities) against the local Cassandra"
  cd "$REPO_ROOT"
  IMAGE="$IMAGE" IMAGE_SCRIPT="$REPO_ROOT/scripts/dev/image.sh" \
    node --import tsx --test --test-concurrency=1 --test-reporter=spec test/image/*.test.ts
}

# ---------------------------------------------------------------- main
CLEANUP_CONTAINERS=()
remove_containers() {
  local c
  for c in "${CLEANUP_CONTAINERS[@]}"; do [[ -n $c ]] && { bb rm "$c" >/dev/null 2>&1 || true; }; done
  CLEANUP_CONTAINERS=()
}
trap remove_containers EXIT

cmd=${1:-build}
case $cmd in
  -h|--help|help) usage; exit 0 ;;
esac
need_root
mkdir -p "$IMAGE_CACHE" "$LOG_DIR"
resolve_storage
case $cmd in
  build)   ensure_tools; build_base; build_image ;;
  base)    ensure_tools; build_base "${2:-}" ;;
  test)    ensure_tools; ensure_podman; mkdir -p "$IMAGE_CACHE/podman-tmp"; run_tests ;;
  podman)  ensure_podman; mkdir -p "$IMAGE_CACHE/podman-tmp"; shift; pm "$@" ;;
  size)    ensure_tools; show_size ;;
  prune)   ensure_tools; bb rm --all >/dev/null; bb rmi --prune >/dev/null || true; say "pruned ($(du -sh "$STORAGE_ROOT" | cut -f1) in $STORAGE_ROOT)" ;;
  clean)   if command -v buildah >/dev/null; then bb rm --all >/dev/null 2>&1 || true; fi
           rm -rf "$STORAGE_ROOT" "$RUN_ROOT" "$IMAGE_CACHE/work"; say "removed $STORAGE_DRIVER storage under $IMAGE_CACHE" ;;
  buildah) ensure_tools; shift; bb "$@" ;;
  *) usage >&2; exit 64 ;;
esac
