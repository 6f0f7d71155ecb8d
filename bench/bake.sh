#!/usr/bin/env bash
# The post-deploy bake over time, in the console: 10 http items every second for MINUTES
# (default 10) against a loopback server, run by `relcon run --bake` in a tmux pane. Prints
# the console's CPU share over the first minute and over the last, its resident memory at
# minute 1 and at the end (and its peak), and the bytes the store keeps per round (the
# event row: payload, hashes, actor, time, type, session). Goals: under 2 % CPU, memory
# flat, at most 600 bytes per round of 10 items.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${MINUTES:-10}
items=10

cargo build --release --quiet --bin relcon
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
relcon="$target_dir/release/relcon"
command -v tmux >/dev/null || { echo "bench/bake.sh needs tmux" >&2; exit 2; }
work=$(mktemp -d)
session_name="relcon-bake-$$"
server=""
cleanup() {
  tmux kill-session -t "$session_name" 2>/dev/null || true
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

mkdir "$work/www"
for i in $(seq "$items"); do echo ok > "$work/www/h$i"; done
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# HTTP/1.1 with keep-alive and a listen queue longer than the 10 requests of a round (the
# stock `python3 -m http.server` queues 5, and a refused connection waits a second).
python3 - "$port" "$work/www" >/dev/null 2>&1 <<'PY' &
import functools, http.server, sys
class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args):
        pass
class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 128
    daemon_threads = True
handler = functools.partial(Handler, directory=sys.argv[2])
Server(("127.0.0.1", int(sys.argv[1])), handler).serve_forever()
PY
server=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/h1" >/dev/null && break; sleep 0.1; done

{ printf 'sections = ["Bench"]\n\n[checklist]\nid = "bake-bench"\ntitle = "Bake bench"\nversion = 1\nbase_url = ["APP_URL"]\n\n[inputs]\nAPP_URL = {}\n'
  for i in $(seq "$items"); do
    printf '\n[[item]]\nid = "h%s"\nsection = "Bench"\ntitle = "h%s answers"\nkind = "http"\nhelp = "GET /h%s."\nurl = "${origin}/h%s"\nbake = true\n[item.expect]\nstatus = 200\n' "$i" "$i" "$i" "$i"
  done; } > "$work/c.toml"
echo "APP_URL=http://127.0.0.1:$port" > "$work/app.env"
store="sqlite://$work/store.sqlite"

tmux new-session -d -s "$session_name" -x 160 -y 50 \
  "cd '$work' && RELCON_STORE='$store' XDG_DATA_HOME='$work' '$relcon' run c.toml --env-file app.env --as bench --bake ${minutes}m --bake-every 1s"
pid=""
for _ in $(seq 100); do
  pid=$(pgrep -f "$relcon run c.toml --env-file app.env --as bench" | head -1 || true)
  [ -n "$pid" ] && break
  sleep 0.1
done
[ -n "$pid" ] || { echo "the console did not start" >&2; exit 1; }

ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
hwm_kib() { awk '/^VmHWM/ {print $2}' "/proc/$pid/status"; }
hz=$(getconf CLK_TCK)
share() { # ticks before, ticks after, seconds
  awk -v a="$1" -v b="$2" -v s="$3" -v hz="$hz" 'BEGIN { printf "%.2f", 100 * (b - a) / hz / s }'
}
rounds() { sqlite3 "$work/store.sqlite" "select count(*) from events where type = 'bake_round'"; }

sleep 5 # the run, then the bake's start
t0=$(ticks); sleep 60; t1=$(ticks)
rss1=$(rss_kib)
first_minute=$(share "$t0" "$t1" 60)
rest=$(( minutes * 60 - 125 ))
[ "$rest" -gt 0 ] && sleep "$rest"
t2=$(ticks); sleep 60; t3=$(ticks)
rss_end=$(rss_kib); peak=$(hwm_kib)
last_minute=$(share "$t2" "$t3" 60)
n=$(rounds)
row=$(sqlite3 "$work/store.sqlite" "select avg(length(session_id) + length(cast(seq as text)) + length(at) + length(actor) + length(type) + length(payload) + length(prev_hash) + length(hash)) from events where type = 'bake_round'")
payload=$(sqlite3 "$work/store.sqlite" "select avg(length(payload)) from events where type = 'bake_round'")

echo "bake of $items items every 1s for ${minutes}m in the console (release build, $(nproc) cores):"
echo "  rounds recorded:           $n"
echo "  console CPU, minute 1:     ${first_minute} %"
echo "  console CPU, last minute:  ${last_minute} %"
echo "  resident memory, minute 1: $((rss1 / 1024)) MiB; at the end: $((rss_end / 1024)) MiB (peak $((peak / 1024)) MiB)"
printf '  stored per round:          %.0f bytes (payload %.0f bytes)\n' "$row" "$payload"
