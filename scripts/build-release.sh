#!/usr/bin/env bash
# Compiles the release binaries, one per platform, each with a sha256sum-format checksum beside
# it. Bun fetches the runtime of each foreign target from the npm registry on first use (and
# caches it), so cross-compiling needs no toolchain. --bytecode works for every target here: the
# cross-compiled arm64 binary runs under qemu (scripts/check-release.sh checks it).
set -euo pipefail
cd "$(dirname "$0")/.."

BUN=node_modules/.bin/bun
TARGETS=(
  "bun-linux-x64 nodepool-builder-linux-x64"
  "bun-linux-arm64 nodepool-builder-linux-arm64"
  "bun-windows-x64 nodepool-builder-windows-x64.exe"
)

mkdir -p dist
for entry in "${TARGETS[@]}"; do
  read -r target artifact <<<"$entry"
  rm -f "dist/$artifact" "dist/$artifact.sha256"
  echo "build-release: $artifact ($target)"
  "$BUN" build src/cli/main.ts --compile --minify --bytecode --format=esm --target="$target" --outfile "dist/$artifact"
  # Written from inside dist/ so `sha256sum -c` works there with the bare file name.
  (cd dist && sha256sum "$artifact" >"$artifact.sha256")
done
