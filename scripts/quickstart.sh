#!/usr/bin/env bash
# README command 1: the whole product on this machine. Installs what is missing, builds the
# single binary, then (scripts/quickstart.ts) starts a local no-auth Glance, the scheduler with
# its embedded job server, and a builder; waits until the scheduler's first image (the tiny one
# of fixtures/config/quickstart.toml) is active in Glance, prints image-list, and stops
# everything. With --stay it keeps running until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
for arg in "$@"; do
  [ "$arg" = --stay ] || { echo "usage: bash scripts/quickstart.sh [--stay]" >&2; exit 2; }
done
bash scripts/install-deps.sh
npm run -s build
exec node_modules/.bin/bun scripts/quickstart.ts ./dist/nodepool-builder "$@"
