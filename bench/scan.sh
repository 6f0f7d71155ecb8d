#!/usr/bin/env bash
# The secret scan (the shipped checklist's security.no-committed-secrets) side by side with
# other scanners, on a generated Next.js / Auth.js / Neon monorepo (bench/scan_repo.py,
# seeded): 20,000 text files, about 300 MB, a force-added node_modules/, lock files, a few
# binaries, a 5,000-commit history, and a planted set of secrets (some only in history) and
# look-alikes that are not secrets, listed with path:line in manifest.json.
#
# Timed on the tree, each the median of RUNS (default 3) runs:
#  - relcon with history = false (a copy of the checklist with only that changed);
#  - `git grep -E -n -I` with relcon's rules translated to POSIX ERE (no entropy, look-alike
#    or host judgement: a plain grep has none);
#  - detect-secrets 1.5.0 (PyPI, all default plugins, -n: no network verification);
#  - secretlint 13 with @secretlint/secretlint-rule-preset-recommend (npm), --no-gitignore
#    (since v13 it skips what .gitignore lists, force-added files included).
# Every tool is given the paths relcon skips as vendored (node_modules/, lock files,
# *.min.js, *.min.css, *.map), so each scans the same files. relcon is timed with history too.
# Targets: relcon ≤ 2× git grep on the tree (stretch ≤ 1×); faster than detect-secrets and
# secretlint. Found / missed / false positives are counted against the planted set (a hit
# matches when its path and line do); "other hits" are hits on lines the manifest does not
# list. detect-secrets and secretlint are installed under $TOOLS when missing.
#
# Environment: RUNS (3), DATA (/var/tmp/relcon-bench/scan: the repository, manifest and
# each tool's output, kept for inspection), TOOLS (/var/tmp/relcon-bench/tools),
# REGENERATE=1 to generate the repository again, GEN_ARGS for the generator (e.g.
# "--files 2000 --mb 30 --commits 500" for a quick trial).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
data=${DATA:-/var/tmp/relcon-bench/scan}
tools=${TOOLS:-/var/tmp/relcon-bench/tools}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/relcon-target}

cargo build --release --quiet --bin relcon
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
relcon="$target_dir/release/relcon"

# The repository.
repo="$data/repo"
manifest="$data/manifest.json"
if [ "${REGENERATE:-0}" = 1 ] || [ ! -s "$manifest" ]; then
  rm -rf "$data"
  python3 bench/scan_repo.py generate "$data" ${GEN_ARGS:-}
fi
results="$data/results"
rm -rf "$results"
mkdir -p "$results"

# The tools.
mkdir -p "$tools"
ds="$tools/detect-secrets/bin/detect-secrets"
if [ "$("$ds" --version 2>/dev/null)" != "1.5.0" ]; then
  python3 -m venv "$tools/detect-secrets"
  "$tools/detect-secrets/bin/pip" install --quiet detect-secrets==1.5.0
fi
sl_dir="$tools/secretlint"
sl="$sl_dir/node_modules/.bin/secretlint"
if ! "$sl" --version 2>/dev/null | grep -q '^13\.'; then
  mkdir -p "$sl_dir"
  (cd "$sl_dir" && { [ -f package.json ] || npm init -y >/dev/null; } &&
    npm install --silent --no-audit --no-fund secretlint@13 @secretlint/secretlint-rule-preset-recommend@13 >/dev/null)
fi
echo '{"rules": [{"id": "@secretlint/secretlint-rule-preset-recommend"}]}' >"$sl_dir/.secretlintrc.json"
printf '%s\n' '**/node_modules/**' '**/.next/**' '**/.git/**' '**/.vercel/**' '**/.turbo/**' '**/vendor/**' \
  '**/target/**' '**/package-lock.json' '**/yarn.lock' '**/pnpm-lock.yaml' '**/bun.lockb' '**/Cargo.lock' \
  '**/*.lock' '**/*.min.js' '**/*.min.css' '**/*.map' >"$sl_dir/.secretlintignore"
ds_exclude='(^|/)(node_modules|\.next|\.git|\.vercel|\.turbo|vendor|target)/|(^|/)(package-lock\.json|yarn\.lock|pnpm-lock\.yaml|bun\.lockb|Cargo\.lock)$|\.(lock|min\.js|min\.css|map)$'
gg_exclude=()
for p in '**/node_modules/**' '**/.next/**' '**/.vercel/**' '**/.turbo/**' '**/vendor/**' '**/target/**' \
  '**/package-lock.json' '**/yarn.lock' '**/pnpm-lock.yaml' '**/bun.lockb' '**/Cargo.lock' \
  '**/*.lock' '**/*.min.js' '**/*.min.css' '**/*.map'; do
  gg_exclude+=(":(exclude,glob)$p")
done

work=$(mktemp -d /var/tmp/relcon-scan-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
store="sqlite://$work/store.sqlite"
# The tree-only checklist: the shipped one with the item's history = true turned off.
sed 's/^history = true$/history = false/' checklists/authjs-neon.toml >"$work/tree.toml"
[ "$(diff checklists/authjs-neon.toml "$work/tree.toml" | grep -c '^>')" = 1 ] ||
  { echo "expected one history = true in checklists/authjs-neon.toml" >&2; exit 1; }

# relcon's rules (src/checks/scan/rules.rs, and the item's secret_names) in POSIX ERE: \b as
# a non-word character or the line's edge, (?i) as bracket pairs, no named groups.
cat >"$work/rules.ere" <<'EOF'
-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----([[:space:]]*$|\\n[A-Za-z0-9+/=]{20,})
(^|[^A-Za-z0-9_])((ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,})([^A-Za-z0-9_]|$)
GOCSPX-[A-Za-z0-9_-]{28}
(^|[^A-Za-z0-9_])(AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}([^A-Za-z0-9_]|$)
(^|[^A-Za-z0-9_])xox[abposr]-[A-Za-z0-9-]{10,}
(^|[^A-Za-z0-9_])re_[A-Za-z0-9]{6,}_[A-Za-z0-9]{16,}([^A-Za-z0-9_]|$)
https?://[0-9a-f]{32}:[0-9a-f]{32}@
(^|[^A-Za-z0-9_])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}
(^|[^A-Za-z0-9_])secret[[:space:]]*:[[:space:]]*["'`][^"'`[:space:]]{12,}["'`]
(^|[^A-Za-z0-9_])(postgres(ql)?|mysql|mongodb(\+srv)?|rediss?|amqps?)://[^:/?#[:space:]@'"]+:[^@/?#[:space:]'"]+@
(^|[^A-Za-z0-9_])[A-Za-z0-9_]*([Ss][Ee][Cc][Rr][Ee][Tt]|[Tt][Oo][Kk][Ee][Nn]|[Pp][Aa][Ss][Ss][Ww][Oo][Rr][Dd]|[Pp][Aa][Ss][Ss][Ww][Dd]|_[Kk][Ee][Yy]|[Aa][Pp][Ii][Kk][Ee][Yy])["']?[[:space:]]*[:=][[:space:]]*["']?[A-Za-z0-9+/=_.~!@%^&*-]{12,}([]"'`[:space:],;#)}]|$)
(^|[^A-Za-z0-9_])(AUTH_SECRET|NEXTAUTH_SECRET|AUTH_SECRET_1|AUTH_SECRET_2|AUTH_SECRET_3)["']?[[:space:]]*[:=][[:space:]]*["']?[A-Za-z0-9+/=_.~!@%^&*-]{8,}([]"'`[:space:],;#)}]|$)
EOF

relcon_tree() {
  "$relcon" run "$work/tree.toml" --root "$repo" --only security.no-committed-secrets --headless --json --store "$store" 2>/dev/null || [ $? = 1 ]
}
relcon_history() {
  "$relcon" run checklists/authjs-neon.toml --root "$repo" --only security.no-committed-secrets --headless --json --store "$store" 2>/dev/null || [ $? = 1 ]
}
git_grep() {
  git -C "$repo" grep -E -n -I --no-color -f "$work/rules.ere" -- . "${gg_exclude[@]}" || [ $? = 1 ]
}
detect_secrets() {
  (cd "$repo" && "$ds" scan -n --exclude-files "$ds_exclude")
}
secretlint() {
  (cd "$repo" && "$sl" "**/*" --no-gitignore --no-color --secretlintrc "$sl_dir/.secretlintrc.json" \
    --secretlintignore "$sl_dir/.secretlintignore" --format json) || [ $? = 1 ]
}

# bench NAME FUNCTION TOOL LABEL [--history]: runs FUNCTION RUNS times, its output to
# $results/NAME.out; scores the output as TOOL's and adds a line to the table.
bench() {
  local name=$1 fn=$2 tool=$3 label=$4 times=() start end median
  shift 4
  for _ in $(seq "$runs"); do
    start=$(date +%s%N)
    "$fn" >"$results/$name.out"
    end=$(date +%s%N)
    times+=($(((end - start) / 1000000)))
  done
  median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p")
  python3 bench/scan_repo.py score "$manifest" "$tool" "$results/$name.out" --root "$repo" "$@" >"$results/$name.score.json"
  printf '%s\t%s\t%s\t%s\n' "$label" "$median" "$(IFS=,; echo "${times[*]}")" "$results/$name.score.json" >>"$results/table.tsv"
  echo "$label: median $median ms (runs: ${times[*]})" >&2
}

# A warm-up read of the tree, so that the first tool timed does not pay for the page cache.
git -C "$repo" grep -I -c -e '^$' -- . >/dev/null || true

: >"$results/table.tsv"
bench relcon relcon_tree relcon "relcon (tree)"
bench git-grep git_grep git-grep "git grep -E (same rules)"
bench detect-secrets detect_secrets detect-secrets "detect-secrets $("$ds" --version)"
bench secretlint secretlint secretlint "secretlint $("$sl" --version) (preset-recommend)"
bench relcon-history relcon_history relcon "relcon (tree + history)" --history

python3 - "$results/relcon.out" "$results/relcon-history.out" "$manifest" <<'PY'
import json, sys
def evidence(path):
    for item in json.load(open(path))["items"]:
        if item["id"] == "security.no-committed-secrets":
            return item["evidence"], item["duration_ms"]
m = json.load(open(sys.argv[3]))
print(f"repository: {m['tracked_files']} tracked files ({m['text_files']} text, {m['binary_files']} binary, "
      f"{m['vendored_files']} vendored), {m['tree_bytes'] / 1e6:.0f} MB, {m['commits']} commits; planted "
      f"{sum(p['where'] == 'tree' for p in m['planted'])} secrets in the tree, "
      f"{sum(p['where'] == 'history' for p in m['planted'])} only in history, {len(m['lookalikes'])} look-alikes")
for label, path in [("tree", sys.argv[1]), ("tree + history", sys.argv[2])]:
    e, ms = evidence(path)
    print(f"relcon {label}: {e['files_scanned']} files + {e['blobs_scanned']} history blobs scanned "
          f"(skipped: {e['skipped']}), history {e['history']}, item took {ms} ms")
PY
echo
python3 bench/scan_repo.py table "$results/table.tsv"
