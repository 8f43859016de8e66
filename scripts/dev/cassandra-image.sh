#!/usr/bin/env bash
# Builds localhost/ephemera-cassandra:<version>, a local stand-in for the official cassandra:5.0 image, where
# no registry can be reached: the Ephemera base image (Debian bookworm minbase, scripts/dev/image.sh base) plus
# this machine's JDK 17, the Cassandra server jars scripts/dev/cassandra.sh resolved from Maven Central
# ($EPHEMERA_CACHE/cassandra-<version>/lib) and scripts/dev/cassandra.sh itself, whose `foreground` command is
# the entry point (same cassandra.yaml and JVM options as the local node). Data in /var/lib/cassandra.
# Environment honoured at run time: CASSANDRA_LISTEN_ADDRESS (127.0.0.1: meant for host networking),
# CASSANDRA_PORT / CASSANDRA_STORAGE_PORT / CASSANDRA_JMX_PORT, CASSANDRA_HEAP, JVM_EXTRA_OPTS.
#
# Usage: scripts/dev/cassandra-image.sh [build|--force]   (a no-op when the image exists with the same inputs)
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
EPHEMERA_CACHE=${EPHEMERA_CACHE:-$HOME/.cache/ephemera}
CASSANDRA_VERSION=${CASSANDRA_VERSION:-5.0.8}
CASSANDRA_LOCAL_IMAGE=${CASSANDRA_LOCAL_IMAGE:-localhost/ephemera-cassandra:$CASSANDRA_VERSION}
BASE_IMAGE=${BASE_IMAGE:-localhost/ephemera-base:20}
LIB_DIR=$EPHEMERA_CACHE/cassandra-$CASSANDRA_VERSION/lib
IMAGE_SH=$REPO_ROOT/scripts/dev/image.sh
# The official image's cassandra user (uid/gid 999): the data volume is owned by it.
CASSANDRA_UID=999

say() { printf '==> cassandra-image: %s\n' "$*" >&2; }
die() { printf '==> cassandra-image: ERROR: %s\n' "$*" >&2; exit 1; }
bb() { "$IMAGE_SH" buildah "$@"; }

[[ $EUID -eq 0 ]] || die "buildah here needs root"
[[ -f $LIB_DIR/cassandra-all-$CASSANDRA_VERSION.jar ]] \
  || die "Cassandra jars not in $LIB_DIR: run scripts/dev/cassandra.sh up once (it resolves them from Maven Central)"
java_home=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
"$java_home/bin/java" -version 2>&1 | grep -q 'version "17' || die "the machine's java ($java_home) is not JDK 17"

# Inputs: the jar list, cassandra.sh, its lib and templates, this script and the JDK build; a changed input rebuilds.
key=$( { ls "$LIB_DIR"; cat "$REPO_ROOT/scripts/dev/cassandra.sh" "$REPO_ROOT"/scripts/dev/lib/*.sh \
  "$REPO_ROOT"/scripts/dev/cassandra/* "${BASH_SOURCE[0]}"; "$java_home/bin/java" -version 2>&1; } | sha256sum | cut -c1-16)
have=$(bb inspect --type image --format '{{index .OCIv1.Config.Labels "ephemera.inputs"}}' "$CASSANDRA_LOCAL_IMAGE" 2>/dev/null || true)
if [[ ${1:-} != --force && $have == "$key" ]]; then
  say "$CASSANDRA_LOCAL_IMAGE present (inputs $key)"
  exit 0
fi

"$IMAGE_SH" base >/dev/null
t0=$EPOCHREALTIME
say "building $CASSANDRA_LOCAL_IMAGE from $BASE_IMAGE + $(basename "$java_home") + $(ls "$LIB_DIR" | wc -l) jars"
ctr=$(bb from --pull=never --quiet "$BASE_IMAGE")
trap 'bb rm "$ctr" >/dev/null 2>&1 || true' EXIT
mnt=$(bb mount "$ctr")
mkdir -p "$mnt/opt/java" "$mnt/opt/ephemera/scripts/dev" "$mnt/opt/ephemera-cache/cassandra-$CASSANDRA_VERSION" "$mnt/var/lib/cassandra"
# -L: Debian's JDK links its conf and security files into /etc; the image gets the files themselves.
# (Its lib/src.zip link dangles when the JDK sources are not installed: that one error is expected; the
# java -version below proves the copy runs.)
cp -rL "$java_home/." "$mnt/opt/java/" 2>/dev/null || true
cp -r "$LIB_DIR" "$mnt/opt/ephemera-cache/cassandra-$CASSANDRA_VERSION/lib"
touch "$mnt/opt/ephemera-cache/cassandra-$CASSANDRA_VERSION/.resolved"
install -m 0755 "$REPO_ROOT/scripts/dev/cassandra.sh" "$mnt/opt/ephemera/scripts/dev/cassandra.sh"
# cassandra.sh sources the node configuration it shares with scripts/dev/cluster.sh (lib/), which renders
# cassandra.yaml and logback.xml from the templates in cassandra/: the same layout as the checkout.
install -D -m 0644 -t "$mnt/opt/ephemera/scripts/dev/lib" "$REPO_ROOT"/scripts/dev/lib/*.sh
install -D -m 0644 -t "$mnt/opt/ephemera/scripts/dev/cassandra" "$REPO_ROOT"/scripts/dev/cassandra/*
chown -R "$CASSANDRA_UID:$CASSANDRA_UID" "$mnt/var/lib/cassandra"
# (LD_LIBRARY_PATH: java finds libjli through $ORIGIN, which needs /proc, absent in a bare chroot.)
out=$(chroot "$mnt" /usr/bin/env LD_LIBRARY_PATH=/opt/java/lib /opt/java/bin/java -version 2>&1) || die "java does not run inside the image: $out"
bb umount "$ctr" >/dev/null
bb config --user "$CASSANDRA_UID:$CASSANDRA_UID" --workingdir /var/lib/cassandra \
  --env JAVA_HOME=/opt/java --env EPHEMERA_CACHE=/opt/ephemera-cache --env CASSANDRA_HOME_DIR=/var/lib/cassandra \
  --env CASSANDRA_VERSION="$CASSANDRA_VERSION" --env PATH=/opt/java/bin:/usr/local/bin:/usr/bin:/bin \
  --entrypoint '["/opt/ephemera/scripts/dev/cassandra.sh", "foreground"]' --cmd '[]' \
  --stop-signal SIGTERM --port 9042 --volume /var/lib/cassandra \
  --label ephemera.inputs="$key" \
  --label org.opencontainers.image.description="Apache Cassandra $CASSANDRA_VERSION (Maven Central jars) on Debian bookworm, local stand-in for cassandra:5.0" \
  "$ctr"
bb commit --quiet --rm "$ctr" "$CASSANDRA_LOCAL_IMAGE" >/dev/null
trap - EXIT
say "$CASSANDRA_LOCAL_IMAGE built in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }') s"
