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
DIST_DIR=$EPHEMERA_CACHE/opensearch-$OPENSEARCH_VERSION
HOME_DIR=/usr/share/opensearch
OPENSEARCH_UID=1000

source "$REPO_ROOT/scripts/dev/lib/local-image.sh"

[[ -f $DIST_DIR/.resolved ]] \
  || die "OpenSearch jars not in $DIST_DIR: run scripts/dev/opensearch.sh up once (it resolves them from Maven Central)"
java_home=$(image_host_jdk)

# Inputs: the resolved closure, this script, opensearch.sh, its lib and templates and the JDK build.
key=$( { cat "$DIST_DIR"/closure-*.txt "${BASH_SOURCE[0]}"; image_node_inputs opensearch "$java_home"; } | sha256sum | cut -c1-16)
if [[ ${1:-} != --force ]] && image_current "$OPENSEARCH_LOCAL_IMAGE" "$key"; then exit 0; fi

image_begin_java "$OPENSEARCH_LOCAL_IMAGE" "$java_home" "$(find "$DIST_DIR" -name '*.jar' | wc -l)"
mkdir -p "$mnt/opt/ephemera-cache" "$mnt$HOME_DIR/data"
cp -r "$DIST_DIR" "$mnt/opt/ephemera-cache/opensearch-$OPENSEARCH_VERSION"
rm -f "$mnt/opt/ephemera-cache/opensearch-$OPENSEARCH_VERSION"/resolve-*.log
image_copy_node_script "$mnt" opensearch
# The node writes its config, logs and temp files beside its data: the whole home is the node's.
chown -R "$OPENSEARCH_UID:$OPENSEARCH_UID" "$mnt$HOME_DIR"
image_commit "$OPENSEARCH_LOCAL_IMAGE" "$key" \
  --user "$OPENSEARCH_UID:$OPENSEARCH_UID" --workingdir "$HOME_DIR" \
  --env JAVA_HOME=/opt/java --env EPHEMERA_CACHE=/opt/ephemera-cache --env OPENSEARCH_RUN_DIR="$HOME_DIR" \
  --env PATH=/opt/java/bin:/usr/local/bin:/usr/bin:/bin \
  --entrypoint '["/opt/ephemera/scripts/dev/opensearch.sh", "foreground"]' --cmd '[]' \
  --stop-signal SIGTERM --port 9200 --volume "$HOME_DIR/data" \
  --label org.opencontainers.image.description="OpenSearch $OPENSEARCH_VERSION (Maven Central jars, no security plugin) on Debian bookworm, local stand-in for opensearchproject/opensearch"
