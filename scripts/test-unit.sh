#!/usr/bin/env bash
# `npm run test:unit`: every test that needs no external server, from every spec folder. Our
# embedded job server runs inside the test process; local tools (qemu-img, short-lived child
# processes) are fine. spec/e2e and spec/faults drive real peers (gearmand, Glance, Keystone,
# disk-image-create) and are left out, and so are the files named in NEEDS_A_SERVER.
# Extra arguments go to `bun test` (e.g. --timeout 60000).
set -euo pipefail
cd "$(dirname "$0")/.."
FOLDERS=(spec/layers.test.ts spec/errors spec/util spec/protocol spec/fuzz spec/images spec/worker spec/config spec/builders spec/uploaders spec/cli spec/scheduler spec/api)
NEEDS_A_SERVER=(
  spec/worker/builder-worker-uploads.test.ts # a real gearmand
  spec/scheduler/runner.test.ts # a real gearmand
  spec/cli/scheduler-command.test.ts # a real gearmand
)
mapfile -t files < <(find "${FOLDERS[@]}" -name '*.test.ts' | sort | grep -vxF -f <(printf '%s\n' "${NEEDS_A_SERVER[@]}"))
exec node_modules/.bin/bun test "$@" "${files[@]/#/./}"
