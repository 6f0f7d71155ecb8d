#!/usr/bin/env bash
# Export, signing and verification of a large session, side by side with OpenSSH: a store
# holding one session of 1,000 items and 10,000 events (examples/big_session.rs), exported
# as JSON and signed (relcon export --sign) next to `ssh-keygen -Y sign` of the same file,
# verified (relcon verify) next to `ssh-keygen -Y verify`, and exported as HTML, which headless
# Chromium then opens (a screenshot; Debian's chromium is installed when missing). Each figure is the median of RUNS (default 5) runs of
# the release binary. Targets: export + sign ≤ 300 ms, verify ≤ 200 ms, HTML ≤ 500 ms.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}

cargo build --release --quiet --bin relcon --example big_session
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
relcon="$target_dir/release/relcon"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
store="sqlite://$work/store.sqlite"
session=$("$target_dir/release/examples/big_session" "$store" 1000 10000)
ssh-keygen -q -t ed25519 -N '' -C alice -f "$work/alice"
echo "alice@example.com namespaces=\"relcon-report,relcon-signoff\" $(cat "$work/alice.pub")" >"$work/allowed_signers"

# The median wall time, in ms, of running "$@" RUNS times.
median() {
  local times=()
  for _ in $(seq "$runs"); do
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1
    end=$(date +%s%N)
    times+=($(((end - start) / 1000000)))
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p"
}

export_json() {
  "$relcon" export --store "$store" --session "$session" --format json --out "$work/report.json" \
    --sign "$work/alice" --as alice@example.com
}
keygen_sign() {
  cp "$work/report.json" "$work/copy.json"
  ssh-keygen -q -Y sign -n relcon-report -f "$work/alice" "$work/copy.json"
  rm -f "$work/copy.json" "$work/copy.json.sig"
}
verify() {
  "$relcon" verify "$work/report.json" --allowed-signers "$work/allowed_signers"
}
keygen_verify() {
  ssh-keygen -Y verify -f "$work/allowed_signers" -I alice@example.com -n relcon-report \
    -s "$work/report.json.sig" <"$work/report.json"
}
export_html() {
  "$relcon" export --store "$store" --session "$session" --format html --out "$work/report.html"
}

export_json
verify >/dev/null || { echo "the signed export does not verify" >&2; exit 1; }
keygen_verify >/dev/null 2>&1 || { echo "ssh-keygen does not verify the export" >&2; exit 1; }
size=$(wc -c <"$work/report.json")
json_ms=$(median export_json)
keygen_sign_ms=$(median keygen_sign)
cp "$work/report.json" "$work/copy.json"
ssh-keygen -q -Y sign -n relcon-report -f "$work/alice" "$work/copy.json"
verify_ms=$(median verify)
keygen_verify_ms=$(median keygen_verify)
html_ms=$(median export_html)

if ! command -v chromium >/dev/null; then
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi
opened=no
if command -v chromium >/dev/null; then
  profile=$(mktemp -d)
  chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --user-data-dir="$profile" \
    --screenshot="$work/report.png" --window-size=1280,2000 "file://$work/report.html" >/dev/null 2>&1 &&
    [ -s "$work/report.png" ] && opened=yes
  rm -rf "$profile"
fi

echo "session of 1,000 items and 10,000 events; JSON export $((size / 1024)) KiB; median of $runs runs"
printf '%-44s %8s\n' "export JSON + sign (relcon export --sign)" "$json_ms ms   (target ≤ 300 ms)"
printf '%-44s %8s\n' "  ssh-keygen -Y sign of the same file" "$keygen_sign_ms ms"
printf '%-44s %8s\n' "verify (relcon verify)" "$verify_ms ms   (target ≤ 200 ms)"
printf '%-44s %8s\n' "  ssh-keygen -Y verify of the same file" "$keygen_verify_ms ms"
printf '%-44s %8s\n' "export HTML (relcon export --format html)" "$html_ms ms   (target ≤ 500 ms)"
echo "the HTML opens in Chromium: $opened"
