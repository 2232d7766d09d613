#!/usr/bin/env bash
# Builds the release binaries and checks each one as far as this machine can: the linux-x64
# binary runs natively, the linux-arm64 one under qemu user-mode emulation, the Windows one is
# checked to be a PE file; every checksum file must verify.
set -euo pipefail
cd "$(dirname "$0")/.."

npm run -s build:release

expected=$(node -p 'require("./package.json").version')
fail() { echo "check-release: $*" >&2; exit 1; }

got=$(dist/nodepool-builder-linux-x64 --version)
[ "$got" = "$expected" ] || fail "linux-x64 --version printed '$got', expected '$expected'"

# qemu-user-static brings the emulator; the arm64 glibc it loads comes from libc6-arm64-cross.
got=$(qemu-aarch64-static -L /usr/aarch64-linux-gnu dist/nodepool-builder-linux-arm64 --version)
[ "$got" = "$expected" ] || fail "linux-arm64 --version printed '$got', expected '$expected'"

[ "$(head -c 2 dist/nodepool-builder-windows-x64.exe)" = "MZ" ] || fail "nodepool-builder-windows-x64.exe is not a PE file"

for artifact in nodepool-builder-linux-x64 nodepool-builder-linux-arm64 nodepool-builder-windows-x64.exe; do
  (cd dist && sha256sum --quiet -c "$artifact.sha256") || fail "$artifact does not match $artifact.sha256"
  echo "check-release: $artifact $expected $(du -h "dist/$artifact" | cut -f1) ($(stat -c %s "dist/$artifact") bytes)"
done
