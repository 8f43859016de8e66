#!/usr/bin/env bash
# skaffold's custom builder for the pods node (skaffold.yaml profile `pods`): the project's offline buildah build
# (scripts/dev/image.sh), tagged as skaffold asks ($IMAGE), then imported into the node's containerd (there is no
# registry; the chart runs it with pullPolicy Never). With push: false skaffold then deploys the tag
# <repository>:<image ID> (it reads the ID through the Docker API, podman's here: make test-skaffold-dev), so that
# tag is the one imported.
set -euo pipefail
cd "$(dirname "$0")/../../.."
: "${IMAGE:?skaffold sets IMAGE}"
IMAGE=$IMAGE scripts/dev/image.sh build >&2
id=$(scripts/dev/image.sh buildah inspect --type image --format '{{.FromImageID}}' "$IMAGE")
scripts/dev/image.sh buildah tag "$IMAGE" "${IMAGE%:*}:$id"
scripts/dev/pods.sh import "${IMAGE%:*}:$id" >&2
