#!/usr/bin/env bash
# Installs what the test suite needs and is missing: Debian packages (when run as root) and the
# npm packages from the committed lock. Safe to run again: it only acts on what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  gearman-job-server   # gearmand 1.1.20, the reference job server
  gearman-tools        # the gearman and gearadmin CLIs
  libgearman-client-perl  # Perl Gearman::Client / Gearman::Worker, an independent peer
  stunnel4             # a real TLS endpoint in front of gearmand
  iproute2             # ss, for port checks in tests
  python3-diskimage-builder debootstrap kpartx sudo qemu-utils  # disk-image-create (it calls sudo even as root)
  glance-api keystone python3-openstackclient qemu-utils sqlite3 curl  # real Glance + Keystone v3 for the uploader's tests and bench
  qemu-user-static libc6-arm64-cross  # runs the linux-arm64 release binary (scripts/check-release.sh)
  chromium fonts-dejavu-core  # a real browser for the dashboard's tests (driven by playwright-core, nothing downloaded)
  prometheus          # promtool check metrics, and a real server scraping /metrics in the tests
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing Debian packages (${missing[*]}); run this script as root once" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  # Packages must not start their own daemons: the tests start every server they need.
  [ -e /usr/sbin/policy-rc.d ] || printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ -L node_modules ]; then
  # A worktree sharing another checkout's install: npm ci would empty the install it points to.
  echo "install-deps: node_modules is a symlink to $(readlink node_modules); npm packages left as they are"
elif [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
