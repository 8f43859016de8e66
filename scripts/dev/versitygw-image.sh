#!/usr/bin/env bash
# Builds localhost/ephemera-versitygw:<version>, a local stand-in for the official versitygw image (Alpine + the
# binary) where no registry can be reached: the versitygw binary scripts/dev/tools.sh built from the Go module
# proxy (the one `make s3-up` runs; static) plus Debian's busybox-static (sh, mkdir, wget: what the compose
# healthcheck and the bucket's init step use), on an empty root. Entry point: the binary, so arguments are
# versitygw's own (`--port :7070 --health /health posix /data`), as with the official image. Runs as uid
# 10001; /data (a volume) is its, so a fresh named volume starts writable.
#
# Usage: scripts/dev/versitygw-image.sh [build|--force]   (a no-op when the image exists with the same inputs)
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
EPHEMERA_CACHE=${EPHEMERA_CACHE:-$HOME/.cache/ephemera}
VERSITYGW_VERSION=$(sed -nE 's/^VERSITYGW_VERSION=v?([^ ]+).*/\1/p' "$REPO_ROOT/scripts/dev/tools.sh")
VERSITYGW_LOCAL_IMAGE=${VERSITYGW_LOCAL_IMAGE:-localhost/ephemera-versitygw:$VERSITYGW_VERSION}
BIN=$EPHEMERA_CACHE/bin/versitygw
WORK=$EPHEMERA_CACHE/image/work/versitygw
VGW_UID=10001

source "$REPO_ROOT/scripts/dev/lib/local-image.sh"

"$REPO_ROOT/scripts/dev/tools.sh" versitygw
# busybox-static: fetched as a .deb from the machine's apt sources (not installed on the machine).
mkdir -p "$WORK"
deb=$(ls "$WORK"/busybox-static_*.deb 2>/dev/null | head -n1 || true)
if [[ -z $deb ]]; then
  (cd "$WORK" && apt-get download busybox-static >/dev/null 2>&1) || die "apt-get download busybox-static failed"
  deb=$(ls "$WORK"/busybox-static_*.deb | head -n1)
fi

# Inputs: the binary, the busybox package, this script and the shared build steps (lib/local-image.sh).
key=$( { sha256sum "$BIN" "$deb" "${BASH_SOURCE[0]}" "$REPO_ROOT/scripts/dev/lib/local-image.sh"; } | sha256sum | cut -c1-16)
if [[ ${1:-} != --force ]] && image_current "$VERSITYGW_LOCAL_IMAGE" "$key"; then exit 0; fi

say "building $VERSITYGW_LOCAL_IMAGE from $BIN + $(basename "$deb")"
rm -rf "$WORK/deb"; dpkg-deb -x "$deb" "$WORK/deb"
image_begin scratch
mkdir -p "$mnt/bin" "$mnt/usr/local/bin" "$mnt/etc" "$mnt/data" "$mnt/tmp"
chmod 1777 "$mnt/tmp"
install -m 0755 "$WORK/deb/bin/busybox" "$mnt/bin/busybox"
for applet in sh mkdir wget ls cat; do ln -s busybox "$mnt/bin/$applet"; done
install -m 0755 "$BIN" "$mnt/usr/local/bin/versitygw"
printf 'root:x:0:0:root:/:/bin/sh\nversitygw:x:%s:%s:versitygw:/data:/bin/sh\n' "$VGW_UID" "$VGW_UID" >"$mnt/etc/passwd"
printf 'root:x:0:\nversitygw:x:%s:\n' "$VGW_UID" >"$mnt/etc/group"
chown "$VGW_UID:$VGW_UID" "$mnt/data"
out=$(chroot "$mnt" /usr/local/bin/versitygw --version 2>&1) || die "versitygw does not run inside the image: $out"
# scratch has no platform of its own: set the machine's, as the official image has.
image_commit "$VERSITYGW_LOCAL_IMAGE" "$key" \
  --os linux --arch "$(dpkg --print-architecture)" --user "$VGW_UID:$VGW_UID" --workingdir /data \
  --env PATH=/usr/local/bin:/bin \
  --entrypoint '["/usr/local/bin/versitygw"]' --cmd '["--port", ":7070", "--health", "/health", "posix", "/data"]' \
  --stop-signal SIGTERM --port 7070 --volume /data \
  --label org.opencontainers.image.description="versitygw $VERSITYGW_VERSION (Apache-2.0, built from the Go module proxy) + busybox, local stand-in for the official versitygw image"
