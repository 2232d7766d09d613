#!/usr/bin/env bash
# A compiled binary can be written broken while bun still exits 0 (e.g. --bytecode without
# --format=esm), so every build is run before it is trusted.
set -euo pipefail
bin=${1:-dist/nodepool-builder}
expected=$(node -p 'require("./package.json").version')
got=$("$bin" --version)
[ "$got" = "$expected" ] || { echo "smoke: $bin --version printed '$got', expected '$expected'" >&2; exit 1; }
"$bin" --help | grep -q 'nodepool-builder' || { echo "smoke: $bin --help does not name the program" >&2; exit 1; }
echo "smoke: $bin $got ($(du -h "$bin" | cut -f1))"
