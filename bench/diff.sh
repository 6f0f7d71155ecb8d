#!/usr/bin/env bash
# relcon diff of two 1,000-item sessions in one SQLite store (goal: at most 100 ms), the
# second release changing every item's evidence (a value each item shows), so the diff has
# 1,000 changes to find and print. Beside it, for scale, relcon export of one of the two
# sessions (both open the store, verify the chain and fold the session). Median of RUNS
# (default 7). Set ITEMS to change the size.
set -euo pipefail
cd "$(dirname "$0")/.."
items=${ITEMS:-1000}
runs=${RUNS:-7}

cargo build --release --quiet --bin relcon
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
relcon="$target_dir/release/relcon"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export RELCON_STORE="sqlite://$work/store.sqlite"

{ printf 'sections = ["Bench"]\n\n[checklist]\nid = "bench"\ntitle = "Bench"\nversion = 1\n\n[inputs]\nRELEASE = { description = "the release" }\n'
  for i in $(seq "$items"); do
    printf '\n[[item]]\nid = "env.%s"\nsection = "Bench"\ntitle = "RELEASE is set"\nkind = "env"\nhelp = "One variable."\none_of = [["RELEASE"]]\n' "$i"
  done; } > "$work/c.toml"

session() { # release
  echo "RELEASE=$1" > "$work/values.env"
  "$relcon" run "$work/c.toml" --headless --json --env-file "$work/values.env" 2>/dev/null \
    | sed -n 's/.*"id": *"\([0-9a-f-]\{36\}\)".*/\1/p' | head -1
}
first=$(session r1)
# A run that reaches go closes its session; one that does not is closed here.
"$relcon" close --session "$first" 2>/dev/null || true
second=$(session r2)

median() { # command…
  local times=()
  for _ in $(seq "$runs"); do
    local start; start=$(date +%s%N)
    "$@" > /dev/null 2>&1 || true
    times+=($(( ($(date +%s%N) - start) / 1000000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p"
}
changes=$("$relcon" diff --session "$second" --json | grep -c '"path"' || true)
diff_ms=$(median "$relcon" diff --session "$second")
json_ms=$(median "$relcon" diff --session "$second" --json)
export_ms=$(median "$relcon" export --session "$second" --format json --out "$work/r.json")
printf 'relcon diff, %d items each side, %d evidence changes:  %4d ms (text)  %4d ms (--json)  goal <= 100 ms\n' "$items" "$changes" "$diff_ms" "$json_ms"
printf 'relcon export --format json of one session (for scale):      %4d ms\n' "$export_ms"
