#!/usr/bin/env bash
# Builds localhost/ephemera-opensearch:<version>, a local stand-in for the official opensearchproject/opensearch
# image where no registry can be reached: the Ephemera base image (Debian bookworm minbase, scripts/dev/image.sh
# base) plus this machine's JDK 17, the OpenSearch jars scripts/dev/opensearch.sh resolved from Maven Central
# ($EPHEMERA_CACHE/opensearch-<version>) and scripts/dev/opensearch.sh itself, whose `foreground` command is the
# entry point (same opensearch.yml and JVM options as the local node: single node, no security plugin).
# Data in /usr/share/opensearch/data, as in the official image. Runs as uid 1000 (the official image's user).
# Environment honoured at run time: OPENSEARCH_NETWORK_HOST (127.0.0.1; 0.0.0.0 on a bridge network),
# OPENSEARCH_HTTP_PORT / OPENSEARCH_TRANSPORT_PORT, OPENSEARCH_HEAP, OPENSEARCH_JAVA_OPTS.
#
# Usage: scripts/dev/opensearch-image.sh [build|--force]   (a no-op when the image exists with the same inputs)
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
EPHEMERA_CACHE=${EPHEMERA_CACHE:-$HOME/.cache/ephemera}
OPENSEARCH_VERSION=$(awk -F'[: ]' '$1 == "org.opensearch" && $2 == "opensearch" { print $3 }' "$REPO_ROOT/scripts/dev/opensearch/artifacts.txt")
OPENSEARCH_LOCAL_IMAGE=${OPENSEARCH_LOCAL_IMAGE:-localhost/ephemera-opensearch:$OPENSEARCH_VERSION}
BASE_IMAGE=${BASE_IMAGE:-localhost/ephemera-base:20}
DIST_DIR=$EPHEMERA_CACHE/opensearch-$OPENSEARCH_VERSION
IMAGE_SH=$REPO_ROOT/scripts/dev/image.sh
HOME_DIR=/usr/share/opensearch
OPENSEARCH_UID=1000

say() { printf '==> opensearch-image: %s\n' "$*" >&2; }
die() { printf '==> opensearch-image: ERROR: %s\n' "$*" >&2; exit 1; }
bb() { "$IMAGE_SH" buildah "$@"; }

[[ $EUID -eq 0 ]] || die "buildah here needs root"
[[ -f $DIST_DIR/.resolved ]] \
  || die "OpenSearch jars not in $DIST_DIR: run scripts/dev/opensearch.sh up once (it resolves them from Maven Central)"
java_home=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
"$java_home/bin/java" -version 2>&1 | grep -q 'version "17' || die "the machine's java ($java_home) is not JDK 17"

# Inputs: the resolved closure, opensearch.sh, its lib and templates, this script and the JDK build.
key=$( { cat "$DIST_DIR"/closure-*.txt; cat "$REPO_ROOT/scripts/dev/opensearch.sh" "$REPO_ROOT"/scripts/dev/lib/*.sh \
  "$REPO_ROOT"/scripts/dev/opensearch/* "${BASH_SOURCE[0]}"; "$java_home/bin/java" -version 2>&1; } | sha256sum | cut -c1-16)
have=$(bb inspect --type image --format '{{index .OCIv1.Config.Labels "ephemera.inputs"}}' "$OPENSEARCH_LOCAL_IMAGE" 2>/dev/null || true)
if [[ ${1:-} != --force && $have == "$key" ]]; then
  say "$OPENSEARCH_LOCAL_IMAGE present (inputs $key)"
  exit 0
fi

"$IMAGE_SH" base >/dev/null
t0=$EPOCHREALTIME
say "building $OPENSEARCH_LOCAL_IMAGE from $BASE_IMAGE + $(basename "$java_home") + $(find "$DIST_DIR" -name '*.jar' | wc -l) jars"
ctr=$(bb from --pull=never --quiet "$BASE_IMAGE")
trap 'bb rm "$ctr" >/dev/null 2>&1 || true' EXIT
mnt=$(bb mount "$ctr")
mkdir -p "$mnt/opt/java" "$mnt/opt/ephemera/scripts/dev" "$mnt/opt/ephemera-cache" "$mnt$HOME_DIR/data"
# -L: Debian's JDK links its conf and security files into /etc; the image gets the files themselves (the
# dangling lib/src.zip link is the one expected error; java -version below proves the copy runs).
cp -rL "$java_home/." "$mnt/opt/java/" 2>/dev/null || true
cp -r "$DIST_DIR" "$mnt/opt/ephemera-cache/opensearch-$OPENSEARCH_VERSION"
rm -f "$mnt/opt/ephemera-cache/opensearch-$OPENSEARCH_VERSION"/resolve-*.log
install -m 0755 "$REPO_ROOT/scripts/dev/opensearch.sh" "$mnt/opt/ephemera/scripts/dev/opensearch.sh"
install -D -m 0644 -t "$mnt/opt/ephemera/scripts/dev/lib" "$REPO_ROOT"/scripts/dev/lib/*.sh
install -D -m 0644 -t "$mnt/opt/ephemera/scripts/dev/opensearch" "$REPO_ROOT"/scripts/dev/opensearch/*
# The node writes its config, logs and temp files beside its data: the whole home is the node's.
chown -R "$OPENSEARCH_UID:$OPENSEARCH_UID" "$mnt$HOME_DIR"
out=$(chroot "$mnt" /usr/bin/env LD_LIBRARY_PATH=/opt/java/lib /opt/java/bin/java -version 2>&1) || die "java does not run inside the image: $out"
bb umount "$ctr" >/dev/null
bb config --user "$OPENSEARCH_UID:$OPENSEARCH_UID" --workingdir "$HOME_DIR" \
  --env JAVA_HOME=/opt/java --env EPHEMERA_CACHE=/opt/ephemera-cache --env OPENSEARCH_RUN_DIR="$HOME_DIR" \
  --env PATH=/opt/java/bin:/usr/local/bin:/usr/bin:/bin \
  --entrypoint '["/opt/ephemera/scripts/dev/opensearch.sh", "foreground"]' --cmd '[]' \
  --stop-signal SIGTERM --port 9200 --volume "$HOME_DIR/data" \
  --label ephemera.inputs="$key" \
  --label org.opencontainers.image.description="OpenSearch $OPENSEARCH_VERSION (Maven Central jars, no security plugin) on Debian bookworm, local stand-in for opensearchproject/opensearch" \
  "$ctr"
bb commit --quiet --rm "$ctr" "$OPENSEARCH_LOCAL_IMAGE" >/dev/null
trap - EXIT
say "$OPENSEARCH_LOCAL_IMAGE built in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }') s"
