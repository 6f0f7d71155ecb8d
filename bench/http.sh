#!/usr/bin/env bash
# Smoke fan-out, side by side in one run: independent GET items against a loopback server
# that answers each request after 200 ms, run by relcon (every result committed to its
# store before it is printed), hurl `--test --jobs 64` (one .hurl file per item), curl's
# parallel mode (no store at all: the floor) and a sequential `curl -f` loop (the way a
# wiki page of commands runs them).
#
# Prints: the disk's fsync latency; the 40-item row with relcon's store on disk and on
# tmpfs, with when relcon's requests left and how spread out they were; the 1,000-item
# row at --concurrency 64; one item end to end (process start to exit) on an existing
# store and on a new one; the fsyncs per run and per printed result. Each 40-item figure
# follows one round of every tool that is not counted (a warm page cache for each, and
# relcon's stores made). Wall times are read from bash's clock, not a `date` process.
#
#   RUNS=5 bench/http.sh      (runs per figure; the median is shown, with the range)
#
# hurl is installed with `cargo install hurl --version 8.0.1 --locked` when missing
# (HURL_INSTALL=0 skips its column instead).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
delay_ms=200

if ! command -v hurl >/dev/null && [ "${HURL_INSTALL:-1}" = 1 ]; then
  echo "installing hurl 8.0.1 (once; a few minutes)" >&2
  if command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
      libcurl4-openssl-dev libxml2-dev libclang-dev pkg-config >/dev/null 2>&1 || true
  fi
  cargo install hurl --version 8.0.1 --locked --quiet || echo "hurl did not install" >&2
fi
have_hurl=$(command -v hurl >/dev/null && echo 1 || echo 0)

cargo build --release --quiet --bin relcon --example delay_server
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
relcon="$target_dir/release/relcon"
work=$(mktemp -d)
shm=$(mktemp -d -p /dev/shm)
servers=()
trap 'kill "${servers[@]}" 2>/dev/null || true; rm -rf "$work" "$shm"' EXIT

# serve DELAY_MS NAME: starts a delay server logging arrivals to $work/NAME.arrivals; its
# port is in $work/NAME.port.
serve() {
  "$target_dir/release/examples/delay_server" "$1" "$work/$2.arrivals" > "$work/$2.port" &
  servers+=("$!")
  for _ in $(seq 100); do [ -s "$work/$2.port" ] && break; sleep 0.05; done
}
serve "$delay_ms" slow
serve 0 fast
port=$(cat "$work/slow.port")
fast_port=$(cat "$work/fast.port")

# checklist FILE N PORT: N independent GET items.
checklist() {
  {
    printf 'sections = ["Bench"]\n\n[checklist]\nid = "bench-%s"\ntitle = "Bench"\nversion = 1\n' "$2"
    for i in $(seq "$2"); do
      printf '\n[[item]]\nid = "get.%s"\nsection = "Bench"\ntitle = "GET %s"\nkind = "http"\nhelp = "One request."\nurl = "http://127.0.0.1:%s/item/%s"\n' "$i" "$i" "$3" "$i"
    done
  } > "$1"
  "$relcon" lint "$1" >/dev/null
}
# hurl_files DIR N: one .hurl file per item.
hurl_files() {
  mkdir -p "$1"
  for i in $(seq "$2"); do
    printf 'GET http://127.0.0.1:%s/item/%s\nHTTP 200\n' "$port" "$i" > "$1/get-$i.hurl"
  done
}
checklist "$work/40.toml" 40 "$port"
checklist "$work/1000.toml" 1000 "$port"
checklist "$work/one.toml" 1 "$fast_port"
hurl_files "$work/hurl40" 40
hurl_files "$work/hurl1000" 1000
curl_args=()
for i in $(seq 40); do curl_args+=(-o /dev/null "http://127.0.0.1:$port/item/$i"); done

# The clock in microseconds, read without starting a process (a `date` would add its own
# start-up to every figure).
now_us() { now=${EPOCHREALTIME//[!0-9]/}; }
# timed VAR CMD...: runs CMD, appends its wall time in ms to the array VAR.
timed() {
  local -n into=$1
  shift
  local start
  now_us
  start=$now
  "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
  now_us
  into+=($(( (now - start) / 1000 )))
}
# summary NAME CRITICAL_MS TIMES...: median, range and ratio to the critical path.
summary() {
  local name=$1 critical=$2
  shift 2
  local sorted median
  sorted=$(printf '%s\n' "$@" | sort -n)
  median=$(echo "$sorted" | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2) }')
  printf '| %s | %s ms | %s–%s ms | %s× |\n' "$name" "$median" "$(echo "$sorted" | head -1)" \
    "$(echo "$sorted" | tail -1)" "$(awk "BEGIN { printf \"%.2f\", $median / $critical }")"
}

echo "machine: $(nproc) cores, $(uname -r); disk: $(df --output=source,fstype "$work" | tail -1 | xargs)"
sync_ms=$(cd "$work" && dd if=/dev/zero of=fsync.probe bs=4k count=200 oflag=dsync 2>&1 \
  | awk '/copied/ { printf "%.2f", $(NF-3) * 1000 / 200 }')
rm -f "$work/fsync.probe"
echo "disk fsync latency (4 KiB write + fdatasync, dd oflag=dsync): ${sync_ms} ms"
echo

# The 40-item row: each tool once per round, rounds interleaved, after one round that is
# not counted (it warms the page cache for every tool, and makes relcon's stores: the
# first run on a new store is the one-item table's last row).
disk=() tmpfs=() hurl40=() curlp=() starts=() spreads=() warm=()
timed warm "$relcon" run "$work/40.toml" --concurrency 64 --store "sqlite://$work/store.sqlite"
timed warm "$relcon" run "$work/40.toml" --concurrency 64 --store "sqlite://$shm/store.sqlite"
if [ "$have_hurl" = 1 ]; then timed warm hurl --test --jobs 64 "$work"/hurl40/*.hurl; fi
timed warm curl -sf --parallel --parallel-immediate --parallel-max 64 "${curl_args[@]}"
for r in $(seq "$runs"); do
  : > "$work/slow.arrivals"
  now_us
  start=$(( now * 1000 ))
  timed disk "$relcon" run "$work/40.toml" --concurrency 64 --store "sqlite://$work/store.sqlite"
  starts+=($(( ($(sort -n "$work/slow.arrivals" | head -1) - start) / 1000000 )))
  spreads+=($(( ($(sort -n "$work/slow.arrivals" | tail -1) - $(sort -n "$work/slow.arrivals" | head -1)) / 1000000 )))
  timed tmpfs "$relcon" run "$work/40.toml" --concurrency 64 --store "sqlite://$shm/store.sqlite"
  if [ "$have_hurl" = 1 ]; then timed hurl40 hurl --test --jobs 64 "$work"/hurl40/*.hurl; fi
  timed curlp curl -sf --parallel --parallel-immediate --parallel-max 64 "${curl_args[@]}"
done
seq_loop() { for i in $(seq 40); do curl -sf -o /dev/null "http://127.0.0.1:$port/item/$i"; done; }
sequential=()
timed sequential seq_loop

echo "## 40 items, each answered after ${delay_ms} ms (critical path ${delay_ms} ms), ${runs} runs"
echo
echo "| tool | median | range | × critical path |"
echo "|---|---|---|---|"
summary "relcon run --concurrency 64, SQLite store on disk" "$delay_ms" "${disk[@]}"
summary "relcon run --concurrency 64, SQLite store on tmpfs" "$delay_ms" "${tmpfs[@]}"
if [ "$have_hurl" = 1 ]; then
  summary "$(hurl --version | head -1 | cut -d' ' -f1-2) --test --jobs 64" "$delay_ms" "${hurl40[@]}"
else
  echo "| hurl | not installed (HURL_INSTALL=0, or the install failed) | | |"
fi
summary "curl --parallel --parallel-immediate (no store)" "$delay_ms" "${curlp[@]}"
summary "sequential curl -f loop (1 run)" "$delay_ms" "${sequential[@]}"
echo
echo "relcon's requests (store on disk): the first left $(printf '%s\n' "${starts[@]}" | sort -n | paste -sd' ') ms after the process started; the 40 left within $(printf '%s\n' "${spreads[@]}" | sort -n | paste -sd' ') ms of each other"

# fsyncs: one traced run of each (tracing slows it; not timed).
if command -v strace >/dev/null; then
  strace -f -qq -e trace=fsync,fdatasync -o "$work/fsyncs" \
    "$relcon" run "$work/40.toml" --concurrency 64 --store "sqlite://$work/store.sqlite" > "$work/printed" 2>&1
  fsyncs=$(grep -cE '^[0-9]+ +f(data)?sync\(' "$work/fsyncs" || true)
  printed=$(grep -E ' get\.[0-9]+ ' "$work/printed" | grep -cv 'start' || true)
  echo "fsyncs per 40-item run: ${fsyncs}, for ${printed} printed results ($(awk "BEGIN { printf \"%.2f\", $fsyncs / ($printed ? $printed : 1) }") per printed result)"
fi
echo

# The 1,000-item row.
critical=$(( (1000 + 63) / 64 * delay_ms ))
big=() hurl1000=()
for r in $(seq "$(( runs < 3 ? runs : 3 ))"); do
  timed big "$relcon" run "$work/1000.toml" --concurrency 64 --store "sqlite://$work/store.sqlite"
  if [ "$have_hurl" = 1 ]; then timed hurl1000 hurl --test --jobs 64 "$work"/hurl1000/*.hurl; fi
done
echo "## 1,000 items at 64 at once (critical path 16 rounds × ${delay_ms} ms = ${critical} ms)"
echo
echo "| tool | median | range | × critical path |"
echo "|---|---|---|---|"
summary "relcon run --concurrency 64, SQLite store on disk" "$critical" "${big[@]}"
if [ "$have_hurl" = 1 ]; then
  summary "hurl --test --jobs 64" "$critical" "${hurl1000[@]}"
  echo
  echo "relcon / hurl: $(awk -v a="$(printf '%s\n' "${big[@]}" | sort -n | sed -n "$(( (${#big[@]} + 1) / 2 ))p")" \
    -v b="$(printf '%s\n' "${hurl1000[@]}" | sort -n | sed -n "$(( (${#hurl1000[@]} + 1) / 2 ))p")" 'BEGIN { printf "%.2f", a / b }')×"
fi
echo

# One item end to end, against a server that answers at once.
existing=() fresh=()
"$relcon" run "$work/one.toml" --store "sqlite://$work/one.sqlite" >/dev/null 2>&1
for r in $(seq 20); do
  timed existing "$relcon" run "$work/one.toml" --store "sqlite://$work/one.sqlite"
done
for r in $(seq 5); do
  timed fresh "$relcon" run "$work/one.toml" --store "sqlite://$work/new-$r.sqlite"
done
echo "## One item end to end (process start to exit; the server answers at once)"
echo
echo "| case | median | range |"
echo "|---|---|---|"
summary "existing store, 20 runs" 1 "${existing[@]}" | cut -d'|' -f1-4 | sed 's/$/ |/'
summary "new store, 5 runs" 1 "${fresh[@]}" | cut -d'|' -f1-4 | sed 's/$/ |/'
