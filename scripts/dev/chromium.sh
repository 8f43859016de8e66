#!/usr/bin/env bash
# Install Debian's headless-capable Chromium (and one font, so pages render text) for the /docs page test.
# Idempotent: nothing is done when /usr/bin/chromium exists. playwright-core drives this binary; its own
# browser downloads are not used (they fetch from outside the package registries).
set -euo pipefail

if [[ -x /usr/bin/chromium ]]; then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "==> chromium: /usr/bin/chromium is missing; run as root: apt-get install -y chromium fonts-dejavu-core" >&2
  exit 1
fi
echo "==> chromium: installing chromium and fonts-dejavu-core with apt-get (once)" >&2
export DEBIAN_FRONTEND=noninteractive
# Other jobs on a shared machine may hold the dpkg lock: wait for it (up to 10 minutes) instead of failing.
apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
/usr/bin/chromium --version >&2
