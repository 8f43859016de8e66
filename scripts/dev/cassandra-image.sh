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
LIB_DIR=$EPHEMERA_CACHE/cassandra-$CASSANDRA_VERSION/lib
# The official image's cassandra user (uid/gid 999): the data volume is owned by it.
CASSANDRA_UID=999

source "$REPO_ROOT/scripts/dev/lib/local-image.sh"

[[ -f $LIB_DIR/cassandra-all-$CASSANDRA_VERSION.jar ]] \
  || die "Cassandra jars not in $LIB_DIR: run scripts/dev/cassandra.sh up once (it resolves them from Maven Central)"
java_home=$(image_host_jdk)

# Inputs: the jar list, this script, cassandra.sh, its lib and templates and the JDK build; a changed input rebuilds.
key=$( { ls "$LIB_DIR"; cat "${BASH_SOURCE[0]}"; image_node_inputs cassandra "$java_home"; } | sha256sum | cut -c1-16)
if [[ ${1:-} != --force ]] && image_current "$CASSANDRA_LOCAL_IMAGE" "$key"; then exit 0; fi

image_begin_java "$CASSANDRA_LOCAL_IMAGE" "$java_home" "$(ls "$LIB_DIR" | wc -l)"
mkdir -p "$mnt/opt/ephemera-cache/cassandra-$CASSANDRA_VERSION" "$mnt/var/lib/cassandra"
cp -r "$LIB_DIR" "$mnt/opt/ephemera-cache/cassandra-$CASSANDRA_VERSION/lib"
touch "$mnt/opt/ephemera-cache/cassandra-$CASSANDRA_VERSION/.resolved"
# cassandra.sh sources the node configuration it shares with scripts/dev/cluster.sh (lib/), which renders
# cassandra.yaml and logback.xml from the templates in cassandra/.
image_copy_node_script "$mnt" cassandra
chown -R "$CASSANDRA_UID:$CASSANDRA_UID" "$mnt/var/lib/cassandra"
image_commit "$CASSANDRA_LOCAL_IMAGE" "$key" \
  --user "$CASSANDRA_UID:$CASSANDRA_UID" --workingdir /var/lib/cassandra \
  --env JAVA_HOME=/opt/java --env EPHEMERA_CACHE=/opt/ephemera-cache --env CASSANDRA_HOME_DIR=/var/lib/cassandra \
  --env CASSANDRA_VERSION="$CASSANDRA_VERSION" --env PATH=/opt/java/bin:/usr/local/bin:/usr/bin:/bin \
  --entrypoint '["/opt/ephemera/scripts/dev/cassandra.sh", "foreground"]' --cmd '[]' \
  --stop-signal SIGTERM --port 9042 --volume /var/lib/cassandra \
  --label org.opencontainers.image.description="Apache Cassandra $CASSANDRA_VERSION (Maven Central jars) on Debian bookworm, local stand-in for cassandra:5.0"
