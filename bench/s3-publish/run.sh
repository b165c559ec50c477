#!/usr/bin/env bash
# Starts s3rver on a free loopback port with a throw-away data folder, runs the benchmark against
# it, and stops it. Arguments go to the benchmark (--size-mb, --part-mb, --parallel, --rounds, --file).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
s3rver="$root/tests/node_modules/s3rver/bin/s3rver.js"
[ -f "$s3rver" ] || { echo "s3rver is missing: run 'npm install --prefix tests' in $root" >&2; exit 1; }

data=$(mktemp -d "${TMPDIR:-/tmp}/s3rver-bench.XXXXXX")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
node "$s3rver" -d "$data" -a 127.0.0.1 -p "$port" --configure-bucket images --silent &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$data"' EXIT

for _ in $(seq 100); do
  curl -s -o /dev/null "http://127.0.0.1:$port/" && break
  sleep 0.1
done

dotnet run -c Release --project "$root/bench/s3-publish" -- --endpoint "http://127.0.0.1:$port" "$@"
