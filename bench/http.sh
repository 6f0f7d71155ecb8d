#!/usr/bin/env bash
# 40 independent http items against a loopback server that answers each request after
# 200 ms: relcon at --concurrency 64, the critical path (one request, 200 ms) and a
# sequential `curl -f` loop over the same URLs. Target: relcon ≤ 1.25× the critical path.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
items=40
delay_ms=200

cargo build --release --quiet --bin relcon --example delay_server
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
export RELCON_STORE="sqlite://$work/store.sqlite"
"$target_dir/release/examples/delay_server" "$delay_ms" > "$work/port" &
server=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
port=$(cat "$work/port")

{
  printf 'sections = ["Bench"]\n\n[checklist]\nid = "bench"\ntitle = "Bench"\nversion = 1\n'
  for i in $(seq "$items"); do
    printf '\n[[item]]\nid = "get.%s"\nsection = "Bench"\ntitle = "GET %s"\nkind = "http"\nhelp = "One request."\nurl = "http://127.0.0.1:%s/item/%s"\n' "$i" "$i" "$port" "$i"
  done
} > "$work/bench.toml"
"$target_dir/release/relcon" lint "$work/bench.toml" >/dev/null

ms() { echo $(( ($2 - $1) / 1000000 )); }
best() { sort -n | head -1; }

relcon_times=()
for _ in $(seq "$runs"); do
  start=$(date +%s%N)
  "$target_dir/release/relcon" run "$work/bench.toml" --concurrency 64 2>/dev/null
  relcon_times+=("$(ms "$start" "$(date +%s%N)")")
done
curl_times=()
for _ in $(seq "$runs"); do
  start=$(date +%s%N)
  for i in $(seq "$items"); do curl -sf -o /dev/null "http://127.0.0.1:$port/item/$i"; done
  curl_times+=("$(ms "$start" "$(date +%s%N)")")
done
relcon_best=$(printf '%s\n' "${relcon_times[@]}" | best)
curl_best=$(printf '%s\n' "${curl_times[@]}" | best)
echo "critical path: ${delay_ms} ms"
echo "relcon --concurrency 64: best ${relcon_best} ms of ${runs} (runs: ${relcon_times[*]}) = $(awk "BEGIN { printf \"%.2f\", $relcon_best / $delay_ms }")× the critical path"
echo "sequential curl -f loop: best ${curl_best} ms of ${runs} (runs: ${curl_times[*]}) = $(awk "BEGIN { printf \"%.2f\", $curl_best / $delay_ms }")× the critical path"
