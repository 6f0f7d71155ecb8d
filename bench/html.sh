#!/usr/bin/env bash
# The HTML report in a real browser: builds relcon and the sample report (release), writes a
# sample page (a failure with long evidence, warnings, manual sign-offs, hostile text in
# every field) and a generated 1,000-item one, and has headless Chromium screenshot them
# (PNG) and print the sample (PDF), so a person can look at both. The browser's log must
# hold no Content-Security-Policy refusal (the inline stylesheet's hash must match), and the
# printed PDF must hold the text of closed evidence panes. Installs Debian's chromium when
# missing. Writes to OUT_DIR (default: the target dir's bench/html), never the repository.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --quiet --bin relcon --example report_sample
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
out=${OUT_DIR:-$target_dir/bench/html}
mkdir -p "$out"
out=$(cd "$out" && pwd)
"$target_dir/release/examples/report_sample" "$out" >/dev/null
"$target_dir/release/examples/report_sample" "$out" 1000 >/dev/null

if ! command -v chromium >/dev/null; then
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
browse() {
  chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --enable-logging=stderr --v=0 \
    --user-data-dir="$profile" "$@" 2>>"$out/chromium.log" >/dev/null
}
: >"$out/chromium.log"
browse --screenshot="$out/sample.png" --window-size=1280,2000 "file://$out/sample.html"
browse --screenshot="$out/large.png" --window-size=1280,2000 "file://$out/large.html"
browse --print-to-pdf="$out/sample.pdf" --no-pdf-header-footer "file://$out/sample.html"

status=0
if grep -i "content security policy" "$out/chromium.log"; then
  echo "the browser refused something under the page's policy (above)" >&2
  status=1
fi
if command -v pdftotext >/dev/null; then
  # The passing build item's evidence sits only in a closed pane of the item table.
  pdftotext "$out/sample.pdf" "$out/sample.txt"
  if ! grep -q 'output_lines' "$out/sample.txt"; then
    echo "the printed page lacks the evidence of closed panes" >&2
    status=1
  fi
else
  echo "(pdftotext missing: apt-get install poppler-utils to check the printed text)"
fi
ls -l "$out"/sample.html "$out"/sample.md "$out"/sample.png "$out"/sample.pdf "$out"/large.html "$out"/large.png
exit "$status"
