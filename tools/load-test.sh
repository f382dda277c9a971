#!/usr/bin/env bash
# Bounded load test of `strain-seer serve` on loopback (not part of .ci/run; see docs/reliability.md).
#
#   tools/load-test.sh                      # release build, 128 connections, 10 s per endpoint
#   CONNECTIONS=256 DURATION=20s tools/load-test.sh
#   STRAIN_SEER_BIN=target/debug/strain-seer tools/load-test.sh
#
# Starts the server on 127.0.0.1 (a free port, a temporary data directory), imports the 4 demo
# photos with their annotations (testdata/demo), then runs wrk (Debian package `wrk`; installed
# with apt-get when missing and running as root) against: health, project read, image list,
# analysis, the full-size image file, its thumbnail and the front page. Prints one Markdown table
# row per endpoint (throughput, p50/p99 latency, errors) and exits 1 if any request failed or
# answered with a status other than 2xx/3xx. Only ever talks to 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

CONNECTIONS="${CONNECTIONS:-128}"
THREADS="${THREADS:-2}"
DURATION="${DURATION:-10s}"
DEMO=testdata/demo

if ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk; }
  else
    echo "wrk is missing: apt-get install wrk" >&2
    exit 1
  fi
fi
command -v curl >/dev/null 2>&1 || { echo "curl is missing" >&2; exit 1; }

if [ -z "${STRAIN_SEER_BIN:-}" ]; then
  cargo build --release --locked --bin strain-seer >&2
  STRAIN_SEER_BIN=target/release/strain-seer
fi

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
base="http://127.0.0.1:$port"
RUST_LOG=warn "$STRAIN_SEER_BIN" serve --host 127.0.0.1 --port "$port" --data-dir "$work/data" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 200); do
  curl -fsS "$base/health" >/dev/null 2>&1 && break
  sleep 0.05
done
curl -fsS "$base/health" >/dev/null

# The demo project: 4 photos with every point placed.
import_args=(-F "project=@$DEMO/annotations.json")
for f in "$DEMO"/deformation-*.png; do import_args+=(-F "file=@$f"); done
project_json="$(curl -fsS "${import_args[@]}" "$base/api/import")"
project="$(printf '%s' "$project_json" | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')"
image="$(printf '%s' "$project_json" | python3 -c 'import json, sys; print(json.load(sys.stdin)["images"][0]["id"])')"
curl -fsS "$base/api/projects/$project/analysis" >/dev/null

echo "server: $STRAIN_SEER_BIN on $base (pid $server_pid), demo project $project, image $image"
echo "load: wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency, $(nproc) CPU(s) shared with the load generator"
echo
echo "| endpoint | requests | req/s | transfer/s | p50 | p99 | max | errors |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"

failed=0
run() {
  local name="$1" path="$2" out
  out="$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout 10s --latency "$base$path" 2>&1)"
  printf '%s\n' "$out" >"$work/wrk-$name.txt"
  local requests rps transfer p50 p99 max non2xx socket errors
  requests="$(printf '%s\n' "$out" | awk '/requests in/ { print $1 }')"
  rps="$(printf '%s\n' "$out" | awk '/^Requests\/sec/ { print $2 }')"
  transfer="$(printf '%s\n' "$out" | awk '/^Transfer\/sec/ { print $2 }')"
  p50="$(printf '%s\n' "$out" | awk '$1 == "50%" { print $2 }')"
  p99="$(printf '%s\n' "$out" | awk '$1 == "99%" { print $2 }')"
  max="$(printf '%s\n' "$out" | awk '$1 == "Latency" && NF >= 4 { print $4; exit }')"
  non2xx="$(printf '%s\n' "$out" | awk '/Non-2xx or 3xx responses/ { print $NF }')"
  socket="$(printf '%s\n' "$out" | awk -F'[ ,]+' '/Socket errors/ { print $5 + $7 + $9 + $11 }')"
  errors=$(( ${non2xx:-0} + ${socket:-0} ))
  echo "| $name \`$path\` | $requests | $rps | $transfer | $p50 | $p99 | $max | $errors |"
  if [ "$errors" -ne 0 ]; then
    failed=1
    printf '%s\n' "$out" >&2
  fi
}

run health "/health"
run project "/api/projects/$project"
run images "/api/projects/$project/images"
run analysis "/api/projects/$project/analysis"
run file "/api/projects/$project/images/$image/file"
run thumbnail "/api/projects/$project/images/$image/thumbnail"
run page "/"

rss="$(awk '/VmRSS/ { print $2 " " $3 }' "/proc/$server_pid/status" 2>/dev/null || echo "?")"
hwm="$(awk '/VmHWM/ { print $2 " " $3 }' "/proc/$server_pid/status" 2>/dev/null || echo "?")"
echo
echo "server memory after the run: VmRSS $rss, peak VmHWM $hwm"
curl -fsS "$base/health" >/dev/null && echo "server still healthy"
if [ "$failed" -ne 0 ]; then
  echo "load test: some requests failed (wrk output above)" >&2
  exit 1
fi
