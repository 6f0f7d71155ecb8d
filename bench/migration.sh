#!/usr/bin/env bash
# The Auth.js migration (assets/create_authjs_tables.sql), side by side in one run:
#  - psql -f applying the file once to a fresh database;
#  - relcon verifying it and proving it idempotent on a fresh database (the shipped
#    checklist's migration.apply in verify mode and migration.idempotent: apply, roll back;
#    apply, snapshot, apply again, snapshot, diff, roll back), the whole process timed;
#  - the longest time a lock on an existing table was held while verifying on a database
#    that already has the tables and rows (from the item's evidence).
# Target: relcon ≤ 3× psql. Needs psql and a PostgreSQL server: RELCON_BENCH_PG (default
# postgres://postgres@127.0.0.1:5432/postgres), with rights to create databases.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-10}
server=${RELCON_BENCH_PG:-postgres://postgres@127.0.0.1:5432/postgres}
export PGOPTIONS='-c client_min_messages=warning'

cargo build --release --quiet --bin relcon
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
relcon="$target_dir/release/relcon"
work=$(mktemp -d)
db="relcon_bench_$$"
trap 'psql -q "$server" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
mkdir -p "$work/services/backend/migrations"
cp assets/create_authjs_tables.sql "$work/services/backend/migrations/"
export RELCON_STORE="sqlite://$work/store.sqlite"
db_url=$(python3 -c 'import sys,urllib.parse as u; p=u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/"+sys.argv[2])))' "$server" "$db")

fresh() {
  psql -q "$server" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
}
now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

: > "$work/psql"; : > "$work/relcon"; : > "$work/inside"
for _ in $(seq "$rounds"); do
  fresh
  start=$(now)
  psql -q -v ON_ERROR_STOP=1 "$db_url" -f assets/create_authjs_tables.sql >/dev/null
  echo $(( ($(now) - start) / 1000 )) >> "$work/psql"

  fresh
  start=$(now)
  NEON_PG_CONN="$db_url" "$relcon" run checklists/authjs-neon.toml --root "$work" \
    --only migration.apply,migration.idempotent --json > "$work/report.json" 2>/dev/null
  echo $(( ($(now) - start) / 1000 )) >> "$work/relcon"
  python3 - "$work/report.json" >> "$work/inside" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
items = {i["id"]: i for i in doc["items"]}
assert all(items[i]["status"] == "pass" for i in ("migration.apply", "migration.idempotent")), doc
print(sum(items[i]["duration_ms"] for i in ("migration.apply", "migration.idempotent")))
EOF
done

# Locks: the tables exist with rows, as in a live database, and are verified again: the
# Auth.js migration as it is, and with a column added to users (ALTER TABLE takes an
# ACCESS EXCLUSIVE lock, held until the rollback).
longest_lock() {
  fresh
  psql -q -v ON_ERROR_STOP=1 "$db_url" -f assets/create_authjs_tables.sql \
    -c "INSERT INTO users (name, email) SELECT 'u' || g, 'u' || g || '@example.com' FROM generate_series(1, 10000) g" >/dev/null
  NEON_PG_CONN="$db_url" "$relcon" run checklists/authjs-neon.toml --root "$1" \
    --only migration.apply,migration.idempotent --json > "$work/locks.json" 2>/dev/null || true
  python3 - "$work/locks.json" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
held = []
for item in doc["items"]:
    for lock in (item.get("evidence") or {}).get("locks_on_existing_tables") or []:
        held.append((lock["held_ms"], item["id"], lock["table"], lock["mode"]))
if held:
    ms, item, table, mode = max(held)
    print(f"{ms} ms ({table}, {mode}, in {item})")
else:
    print("0 ms (the migration takes no lock on an existing table)")
EOF
}
locks=$(longest_lock "$work")
altered="$work/altered"
mkdir -p "$altered/services/backend/migrations"
{ cat assets/create_authjs_tables.sql; echo 'ALTER TABLE users ADD COLUMN IF NOT EXISTS locale TEXT;'; } \
  > "$altered/services/backend/migrations/create_authjs_tables.sql"
altered_locks=$(longest_lock "$altered")

psql_us=$(median < "$work/psql")
relcon_us=$(median < "$work/relcon")
inside_ms=$(median < "$work/inside")
echo "rounds: $rounds, medians"
echo "psql -f, apply once to a fresh database:             $((psql_us / 1000)).$(( (psql_us % 1000) / 100 )) ms"
echo "relcon, verify + idempotency proof (whole process):  $((relcon_us / 1000)).$(( (relcon_us % 1000) / 100 )) ms"
echo "  of which the two items themselves:                 $inside_ms ms"
python3 -c "print(f'ratio: {$relcon_us / $psql_us:.2f}x (target <= 3x)')"
echo "longest lock on an existing table during verify:     $locks"
echo "  the same with a column added to users:             $altered_locks"
