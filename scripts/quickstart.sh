#!/usr/bin/env bash
# Builds one image on this machine, the way an operator meets the product: installs what is
# missing, builds the single binary, runs the builder on the embedded job server with
# fixtures/config/quickstart.toml, asks for an image with the binary's own client, lists the
# repository, and stops the builder.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
npm run -s build

bin=./dist/nodepool-builder
port=${QUICKSTART_PORT:-47300}
server=127.0.0.1:$port
log=$(mktemp /tmp/nodepool-builder-quickstart.XXXXXX.log)
"$bin" run -c fixtures/config/quickstart.toml --geard-listen "$server" 2>"$log" &
builder=$!
trap 'kill -TERM $builder 2>/dev/null || true; wait $builder 2>/dev/null || true' EXIT

echo "builder started (pid $builder, log $log); waiting for it to register image-build:tiny"
for _ in $(seq 1 100); do
  "$bin" status -s "$server" 2>/dev/null | grep -q '^image-build:tiny' && break
  sleep 0.2
done
"$bin" status -s "$server"
echo "building image tiny ..."
"$bin" image-build tiny -s "$server" --id "quickstart-$(date +%s)"
"$bin" dib-image-list -c fixtures/config/quickstart.toml
"$bin" status -s "$server"
