#!/usr/bin/env bash
# Steps shared by the local stand-in image builds (cassandra-image.sh, opensearch-image.sh, versitygw-image.sh):
# buildah on scripts/dev/image.sh's storage, the "same inputs, no rebuild" check, the working container, the
# JDK copy and the commit. What each image holds and how it runs (paths, user, entry point, labels) stays in its
# script. Sourced, never run; the caller sets REPO_ROOT first. Build-time only: not copied into the images.

IMAGE_SH=$REPO_ROOT/scripts/dev/image.sh
# image.sh's base image (same variable and default there): what the Java images start from.
BASE_IMAGE=${BASE_IMAGE:-localhost/ephemera-base:20}
# Messages name the script ("==> cassandra-image: ..."): three builds can run in one `make` line.
IMAGE_TOOL=$(basename "$0" .sh)

say() { printf '==> %s: %s\n' "$IMAGE_TOOL" "$*" >&2; }
die() { printf '==> %s: ERROR: %s\n' "$IMAGE_TOOL" "$*" >&2; exit 1; }
# image.sh picks the storage (overlay or vfs under $EPHEMERA_CACHE/image) that podman and compose read too.
bb() { "$IMAGE_SH" buildah "$@"; }

# buildah's chroot isolation and mounts need root on this machine; fail before any work.
[[ $EUID -eq 0 ]] || die "buildah here needs root"

# The machine's JDK 17 home (what `java` on PATH resolves to), printed; dies when it is another major version,
# since the Cassandra 5.0 and OpenSearch 2.x jars cached here were resolved for 17.
image_host_jdk() {
  local java_home
  java_home=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
  "$java_home/bin/java" -version 2>&1 | grep -q 'version "17' || die "the machine's java ($java_home) is not JDK 17"
  printf '%s\n' "$java_home"
}

# image_current IMAGE KEY: true (and says so) when IMAGE exists with the label ephemera.inputs=KEY, i.e. built
# from the same inputs; the caller skips this check for --force.
image_current() {
  local image=$1 key=$2 have
  have=$(bb inspect --type image --format '{{index .OCIv1.Config.Labels "ephemera.inputs"}}' "$image" 2>/dev/null || true)
  [[ $have == "$key" ]] || return 1
  say "$image present (inputs $key)"
}

# image_begin FROM: a working container from FROM (a local image, or scratch), mounted. Sets the globals ctr
# and mnt (two values: a function cannot return both) and t0, the build's start for image_commit's timing;
# the EXIT trap drops the container if the build fails.
image_begin() {
  t0=$EPOCHREALTIME
  ctr=$(bb from --pull=never --quiet "$1")
  trap 'bb rm "$ctr" >/dev/null 2>&1 || true' EXIT
  mnt=$(bb mount "$ctr")
}

# image_begin_java IMAGE JAVA_HOME JARS: image_begin for a Java node (Cassandra, OpenSearch): the Ephemera base
# image (Debian bookworm minbase; image.sh builds it when absent, before the timing starts) with the JDK in
# /opt/java. JARS is only for the message.
image_begin_java() {
  "$IMAGE_SH" base >/dev/null
  say "building $1 from $BASE_IMAGE + $(basename "$2") + $3 jars"
  image_begin "$BASE_IMAGE"
  image_copy_jdk "$mnt" "$2"
}

# image_copy_jdk MNT JAVA_HOME: the JDK into MNT/opt/java, proven to run there.
image_copy_jdk() {
  local mnt=$1 java_home=$2 out
  mkdir -p "$mnt/opt/java"
  # -L: Debian's JDK links its conf and security files into /etc; the image gets the files themselves. (Its
  # lib/src.zip link dangles when the JDK sources are not installed: that one error is expected, so errors are
  # ignored here and the java -version below proves the copy runs.)
  cp -rL "$java_home/." "$mnt/opt/java/" 2>/dev/null || true
  # (LD_LIBRARY_PATH: java finds libjli through $ORIGIN, which needs /proc, absent in a bare chroot.)
  out=$(chroot "$mnt" /usr/bin/env LD_LIBRARY_PATH=/opt/java/lib /opt/java/bin/java -version 2>&1) \
    || die "java does not run inside the image: $out"
}

# image_copy_node_script MNT NAME: scripts/dev/NAME.sh (the entry point), the lib/ it sources and its templates
# in scripts/dev/NAME/, under MNT/opt/ephemera with the same layout as the checkout, so the script finds them
# as it does here. This file is left out: only the build uses it.
image_copy_node_script() {
  local mnt=$1 name=$2 dev=$REPO_ROOT/scripts/dev lib libs=()
  for lib in "$dev"/lib/*.sh; do [[ $lib -ef ${BASH_SOURCE[0]} ]] || libs+=("$lib"); done
  mkdir -p "$mnt/opt/ephemera/scripts/dev"
  install -m 0755 "$dev/$name.sh" "$mnt/opt/ephemera/scripts/dev/$name.sh"
  install -D -m 0644 -t "$mnt/opt/ephemera/scripts/dev/lib" "${libs[@]}"
  install -D -m 0644 -t "$mnt/opt/ephemera/scripts/dev/$name" "$dev/$name"/*
}

# image_node_inputs NAME JAVA_HOME: what an image made with image_copy_node_script depends on besides its
# jars and its own script, for the inputs key: NAME.sh, lib/ (this file included, so a changed build step
# rebuilds), the templates and the JDK build.
image_node_inputs() {
  local dev=$REPO_ROOT/scripts/dev
  cat "$dev/$1.sh" "$dev"/lib/*.sh "$dev/$1"/*
  "$2/bin/java" -version 2>&1
}

# image_commit IMAGE KEY CONFIG_OPTION...: unmounts the working container, applies the caller's buildah config
# options plus the ephemera.inputs=KEY label (what image_current compares), commits it as IMAGE and says how
# long the build took since image_begin.
image_commit() {
  local image=$1 key=$2
  shift 2
  bb umount "$ctr" >/dev/null
  bb config "$@" --label ephemera.inputs="$key" "$ctr"
  bb commit --quiet --rm "$ctr" "$image" >/dev/null
  trap - EXIT
  say "$image built in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }') s"
}
