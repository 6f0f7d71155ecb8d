#!/usr/bin/env bash
# How a run grows with the checklist: env-only checklists of 500 to 10,000 items and 1,000
# http items (a loopback server answering at once), each on a fresh SQLite store, at the
# default concurrency. Goal: 10,000 env items in at most 5 s, and linear (time per item
# flat as the checklist grows). Set SIZES to change the env sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=${SIZES:-"500 1000 2000 4000 10000"}
http_items=${HTTP_ITEMS:-1000}

cargo build --release --quiet --bin relcon --example delay_server
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
relcon="$target_dir/release/relcon"
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

header() { printf 'sections = ["Bench"]\n\n[checklist]\nid = "bench"\ntitle = "Bench"\nversion = 1\n\n[inputs]\nVALUE = { description = "a value" }\n'; }
ms() { echo $(( ($2 - $1) / 1000000 )); }
timed() { # name, items, checklist
  rm -f "$work/store.sqlite"*
  local start; start=$(date +%s%N)
  RELCON_STORE="sqlite://$work/store.sqlite" VALUE=x "$relcon" run "$3" --headless --json --env-file "$work/values.env" > "$work/out.json" 2>/dev/null || true
  local took; took=$(ms "$start" "$(date +%s%N)")
  local passed; passed=$(grep -o '"pass": *[0-9]*' "$work/out.json" | head -1 | tr -dc 0-9)
  printf '%-24s %6d items  %7d ms  %6.3f ms/item  (%s passed)\n' "$1" "$2" "$took" "$(awk "BEGIN { print $took / $2 }")" "${passed:-?}"
}

echo "VALUE=x" > "$work/values.env"
for n in $sizes; do
  { header; for i in $(seq "$n"); do
      printf '\n[[item]]\nid = "env.%s"\nsection = "Bench"\ntitle = "VALUE is set"\nkind = "env"\nhelp = "One variable."\none_of = [["VALUE"]]\n' "$i"
    done; } > "$work/env-$n.toml"
  timed "env" "$n" "$work/env-$n.toml"
done

"$target_dir/release/examples/delay_server" 0 > "$work/port" &
server=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
port=$(cat "$work/port")
{ header; for i in $(seq "$http_items"); do
    printf '\n[[item]]\nid = "get.%s"\nsection = "Bench"\ntitle = "GET %s"\nkind = "http"\nhelp = "One request."\nurl = "http://127.0.0.1:%s/item/%s"\n' "$i" "$i" "$port" "$i"
  done; } > "$work/http.toml"
timed "http (concurrency 8)" "$http_items" "$work/http.toml"
