#!/usr/bin/env bash
# The whole test suite: installs what is missing, then typecheck, unit and e2e tests (the e2e
# tests start their own gearmand on random ports), the codec fuzz run, and the compiled binary.
# Ends with one summary line "tests: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh || exit 1

BUN=node_modules/.bin/bun
passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

step() { # name, command...
  local name=$1; shift
  echo "== $name"
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "!! $name failed"; fi
}

step typecheck npx tsc --noEmit -p tsconfig.json
# Built before the tests: spec/e2e/binary.test.ts drives the product through this binary.
step "build the binary" npm run -s build
step "smoke-run the binary" bash scripts/smoke-binary.sh dist/nodepool-builder
step "release binaries" bash scripts/check-release.sh
# README command 1: Glance, the scheduler with its job server and a builder, until an image is active.
step "quickstart (README command 1)" bash scripts/quickstart.sh
export NODEPOOL_BUILDER_BIN=dist/nodepool-builder

echo "== bun test"
$BUN test --timeout 180000 spec 2>&1 | tee "$log"
bun_status=${PIPESTATUS[0]}
bun_pass=$(grep -Eo '^ *[0-9]+ pass$' "$log" | tail -1 | grep -Eo '[0-9]+' || echo 0)
bun_fail=$(grep -Eo '^ *[0-9]+ fail$' "$log" | tail -1 | grep -Eo '[0-9]+' || echo 0)
passed=$((passed + bun_pass))
failed=$((failed + bun_fail))
[ "$bun_status" -ne 0 ] && [ "$bun_fail" -eq 0 ] && failed=$((failed + 1))

step "fuzz (1,000,000 inputs)" $BUN run spec/fuzz/robustness.ts --inputs "${FUZZ_INPUTS:-1000000}"

echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
