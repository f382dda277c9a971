#!/usr/bin/env bash
# The idle memory of `strain-seer serve` (docs/reliability.md, "Idle memory"): VmRSS at start,
# after 15 requests, right after uploading the 4 demo photos (with the peak, VmHWM), and 3 s after
# an analysis. The binary is first evicted from the page cache, as on a fresh container start.
#
#   tools/idle_rss.sh [BINARY] [PORT]      (defaults: target/release/strain-seer, 18611)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release/strain-seer}
port=${2:-18611}
demo=testdata/demo
data=$(mktemp -d)
python3 -c 'import os, sys; fd = os.open(sys.argv[1], os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)' "$bin"
"$bin" serve --port "$port" --data-dir "$data" >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 50); do curl -sf "localhost:$port/health" >/dev/null && break; sleep 0.1; done
sleep 1
rss() { awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$pid/status"; }
start=$(rss)
for _ in $(seq 5); do
  for path in /api/projects / /api/rules; do curl -s "localhost:$port$path" >/dev/null; done
done
sleep 1
requests=$(rss)
id=$(curl -s -X POST -H 'content-type: application/json' -d '{"name":"rss"}' "localhost:$port/api/projects" \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
files=()
for f in "$demo"/deformation-*.png; do files+=(-F "file=@$f"); done
curl -s -o /dev/null "${files[@]}" "localhost:$port/api/projects/$id/images"
sleep 1
upload=$(rss)
peak=$(awk '/^VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$pid/status")
curl -s -o /dev/null "localhost:$port/api/projects/$id/analysis"
sleep 3
analysis=$(rss)
anon=$(awk '/^RssAnon/ { printf "%.1f", $2 / 1024 }' "/proc/$pid/status")
echo "VmRSS MiB: start $start, after requests $requests, after the upload $upload (peak $peak), after an analysis $analysis (anonymous $anon)"
