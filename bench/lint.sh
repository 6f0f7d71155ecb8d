#!/usr/bin/env bash
# Wall time of `relcon lint` (the release binary, process start included) on the shipped
# checklist and on a generated 5,000-item checklist. Targets: ≤ 10 ms and ≤ 200 ms.
# In-process figures: `cargo bench --bench lint`.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-30}

cargo build --release --quiet
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
bin="$target_dir/release/relcon"
# The bench writes the generated checklist to target/bench/ (a single test pass is enough).
cargo bench --quiet --bench lint -- --test >/dev/null
generated=target/bench/generated-5000.toml

measure() {
  local file=$1 label=$2
  "$bin" lint "$file" >/dev/null
  if command -v hyperfine >/dev/null; then
    hyperfine --warmup 3 --runs "$runs" --style basic -N "$bin lint $file" | sed -n 's/^ *Time (mean ± σ)://p; s/^ *Range (min … max)://p' | sed "s|^|$label: |"
    return
  fi
  local times=()
  for _ in $(seq "$runs"); do
    local start end
    start=$(date +%s%N)
    "$bin" lint "$file" >/dev/null
    end=$(date +%s%N)
    times+=($(( (end - start) / 1000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk -v label="$label" '
    { t[NR] = $1; sum += $1 }
    END { printf "%s: min %.2f ms, median %.2f ms, mean %.2f ms over %d runs\n", label, t[1] / 1000, t[int((NR + 1) / 2)] / 1000, sum / NR / 1000, NR }'
}

measure checklists/authjs-neon.toml "shipped checklist (31 items, target ≤ 10 ms)"
measure "$generated" "generated checklist (5,000 items, target ≤ 200 ms)"
