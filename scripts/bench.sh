#!/usr/bin/env bash
# Runs the benchmarks of docs/BENCHMARKS.md COUNT times each, saves every
# run's raw output in bench-out/ (one file per run), then writes the
# document from them with `whistle bench report`: medians, spreads, and
# each figure beside its baseline. PostGIS is installed here for the
# point-location baseline only; tests never need it.
#
#   COUNT=5                        runs of each benchmark
#   BENCH_ONLY="intake point calendar timers queue scale"
#                                  the sections to run; the others are written
#                                  as "not measured in this run"
#   TIMERS_COUNT=1                 runs of the timer scheduler (TestFireRate), which
#                                  takes many minutes a run, instead of COUNT
#   WHISTLE_BENCH_TIMERS, WHISTLE_BENCH_DUE
#                                  when set, the pending and the due timers of
#                                  TestFireRate (default 1000000 and 10000)
#   BENCH_CASES="1000000 10000000" the scales of the console, statistics and
#                                  memory measurements (each generated once
#                                  per store, then measured COUNT times)
#   BENCH_OUT=docs/BENCHMARKS.md   the document to write
#   BENCH_DIR=bench-out            where the raw outputs go (its old outputs are removed)
#   BENCH_GEN_TIMEOUT=21600        seconds to wait for `demo --cases N` to generate and serve
#   INTAKE_BEFORE=PATH             a whistle binary built from an earlier revision:
#                                  the intake section also runs it on PostgreSQL,
#                                  alternately with ./bin/whistle (intake-postgres_before.*),
#                                  so that before and after share the machine's load
#   INTAKE_BEFORE_DESC="main 839da70"
#                                  what INTAKE_BEFORE was built from, for the report
#   PG=postgres://postgres@127.0.0.1:5432
#                                  the PostgreSQL server; its parts are skipped
#                                  when it does not answer
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT="${COUNT:-5}"
PG="${PG:-postgres://postgres@127.0.0.1:5432}"
BENCH_ONLY="${BENCH_ONLY:-intake point calendar timers queue scale}"
TIMERS_COUNT="${TIMERS_COUNT:-1}"
BENCH_CASES="${BENCH_CASES:-1000000 10000000}"
BENCH_OUT="${BENCH_OUT:-docs/BENCHMARKS.md}"
OUT="${BENCH_DIR:-bench-out}"
GEN_TIMEOUT="${BENCH_GEN_TIMEOUT:-21600}"
INTAKE_BEFORE="${INTAKE_BEFORE:-}"
INTAKE_BEFORE_DESC="${INTAKE_BEFORE_DESC:-$INTAKE_BEFORE}"

want() { [[ " $BENCH_ONLY " == *" $1 "* ]]; }
pgurl() { echo "$PG/$1?sslmode=disable"; }
psql_admin() { psql "$(pgurl postgres)" -qX -v ON_ERROR_STOP=1 "$@"; }
fresh_db() { psql_admin -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1"; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
# cmd SECTION LINE…: record the exact commands of a section for the report.
cmd() { local s=$1; shift; printf '%s\n' "$@" >>"$OUT/$s.commands"; }

# save FILE COMMAND…: run a command, showing its output and keeping it in
# $OUT/FILE. A failed run is kept as FILE.failed, which the report skips;
# the script goes on and fails at the end.
failures=0
save() {
  local f=$1
  shift
  if "$@" | tee "$OUT/$f"; then
    return 0
  fi
  echo "bench: FAILED: $*" >&2
  mv "$OUT/$f" "$OUT/$f.failed"
  failures=$((failures + 1))
}

# The demo server of the scale section, stopped whatever happens.
server_pid=""
server_dir=""
url=""
stop_server() {
  if [ -n "$server_pid" ]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}
cleanup() {
  stop_server
  if [ -n "$server_dir" ]; then
    rm -rf "$server_dir"
    server_dir=""
  fi
}
trap cleanup EXIT

# serve ARG…: start `whistle demo --data $server_dir ARG…` on a free port and
# wait until it answers /readyz (generating many cases takes a long time:
# progress every minute); sets url. Fails when the server exits or does
# not answer within GEN_TIMEOUT.
serve() {
  local started now last
  url=""
  started=$(date +%s)
  last=$started
  ./bin/whistle demo --data "$server_dir" "$@" --addr 127.0.0.1:0 --log-level warn \
    >"$server_dir/server.out" 2>"$server_dir/server.err" &
  server_pid=$!
  until [ -n "$url" ] && curl -fsS -o /dev/null "$url/readyz" 2>/dev/null; do
    now=$(date +%s)
    if ! kill -0 "$server_pid" 2>/dev/null; then
      echo "bench: FAILED: whistle demo $* exited:" >&2
      tail -c 2000 "$server_dir/server.err" | tr '\r' '\n' | tail -n 20 >&2
      wait "$server_pid" 2>/dev/null || true
      server_pid=""
      return 1
    fi
    if ((now - started > GEN_TIMEOUT)); then
      echo "bench: FAILED: whistle demo $* did not answer within ${GEN_TIMEOUT}s" >&2
      return 1
    fi
    if ((now - last >= 60)); then
      last=$now
      echo "  $((now - started))s: $(tail -c 300 "$server_dir/server.err" | tr '\r' '\n' | grep -v '^[[:space:]]*$' | tail -n 1)"
    fi
    url=$(sed -n 's/^whistle: listening on \(http:[^ ]*\).*/\1/p' "$server_dir/server.out" | head -n 1)
    sleep 2
  done
}

mkdir -p "$OUT"
rm -f "$OUT"/env.txt "$OUT"/{point,calendar,timers,intake,queue,scale}[-.]*.txt* "$OUT"/*.commands

have_pg=false
if psql_admin -tAc 'SELECT 1' >/dev/null 2>&1; then
  have_pg=true
else
  echo "# PostgreSQL does not answer at $PG: its parts are skipped"
fi

{
  echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "cores: $(nproc)"
  echo "memory: $(awk '/^MemTotal:/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
  echo "os: $(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "go: $(go version | awk '{ sub(/^go/, "Go ", $3); print $3 }')"
  echo "sqlite: $(go list -m -f '{{.Version}}' modernc.org/sqlite)"
  if $have_pg; then echo "postgres: $(psql_admin -tAc 'SHOW server_version' | cut -d' ' -f1)"; fi
  # The file systems under the durable figures, with their mount options:
  # the temp directories SQLite runs in, and PostgreSQL's data directory.
  echo "fs_sqlite: $(findmnt -no TARGET,FSTYPE,OPTIONS -T "${TMPDIR:-/tmp}" 2>/dev/null | tr -s ' ')"
  if $have_pg; then
    pgdata=$(psql_admin -tAc 'SHOW data_directory' 2>/dev/null || true)
    if [ -n "$pgdata" ] && [ -d "$pgdata" ]; then
      echo "fs_postgres: $(findmnt -no TARGET,FSTYPE,OPTIONS -T "$pgdata" | tr -s ' ')"
    fi
  fi
  echo "count: $COUNT"
  echo "timers_count: $TIMERS_COUNT"
  echo "only: $BENCH_ONLY"
  echo "cases: $BENCH_CASES"
  if [ -n "$INTAKE_BEFORE" ]; then echo "intake_before: $INTAKE_BEFORE_DESC"; fi
  echo "load_start: $(loadavg)"
} >"$OUT/env.txt"
cat "$OUT/env.txt"

go build -ldflags "-X main.version=$(git describe --always --dirty 2>/dev/null || echo dev)" -o bin/whistle ./cmd/whistle

if want point; then
  echo "## point location (one core)"
  postgis=""
  if $have_pg; then
    if ! ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1; then
      echo "# installing PostGIS for the baseline"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "postgresql-$(ls /etc/postgresql | head -n1)-postgis-3" >/dev/null ||
        echo "# could not install PostGIS: the baseline is skipped"
    fi
    if ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1; then
      fresh_db whistle_postgis_bench
      postgis="$(pgurl whistle_postgis_bench)"
    fi
  fi
  cmd point "# each command $COUNT times, one output file per run" \
    "go test -run '^\$' -bench 'Locate' -benchmem -count 1 ./internal/geo/   # Whistle and the R-tree baseline" \
    "WHISTLE_BENCH_POSTGIS='${postgis:-unset: no PostgreSQL with PostGIS}' \\" \
    "  go test -run '^\$' -bench 'Locator|LocateRTree|PostGIS' -benchmem -count 1 ./internal/region/   # region.Locator, the R-tree and PostGIS on the same grids and points"
  for i in $(seq 1 "$COUNT"); do
    save "point-geo.$i.txt" go test -run '^$' -bench 'Locate' -benchmem -count 1 ./internal/geo/
    save "point-region.$i.txt" env WHISTLE_BENCH_POSTGIS="$postgis" \
      go test -run '^$' -bench 'Locator|LocateRTree|PostGIS' -benchmem -count 1 ./internal/region/
  done
fi

if want calendar; then
  echo "## working calendar"
  cmd calendar "# $COUNT times, one output file per run" \
    "go test -run '^\$' -bench . -benchmem -count 1 ./internal/sla/calendar/ ./internal/sla/"
  for i in $(seq 1 "$COUNT"); do
    save "calendar.$i.txt" go test -run '^$' -bench . -benchmem -count 1 ./internal/sla/calendar/ ./internal/sla/
  done
fi

if want timers; then
  echo "## timer scheduler"
  # The sizes, passed through when set.
  sizes=()
  for v in WHISTLE_BENCH_TIMERS WHISTLE_BENCH_DUE; do
    if [ -n "${!v:-}" ]; then sizes+=("$v=${!v}"); fi
  done
  timers_pg=""
  if $have_pg; then timers_pg="$(pgurl whistle_timers_bench)"; fi
  cmd timers "# $TIMERS_COUNT run(s) (TIMERS_COUNT, not COUNT: one run takes many minutes), one output file per run; PostgreSQL in a fresh database each run" \
    "WHISTLE_BENCH=1 WHISTLE_TEST_POSTGRES='${timers_pg}'${sizes[*]:+ ${sizes[*]}} \\" \
    "  go test -count 1 -run '^TestFireRate\$' -v -timeout 90m ./internal/sla/"
  if ! $have_pg; then cmd timers "# WHISTLE_TEST_POSTGRES is empty: PostgreSQL did not answer, so its half is skipped"; fi
  for i in $(seq 1 "$TIMERS_COUNT"); do
    if $have_pg; then fresh_db whistle_timers_bench; fi
    save "timers.$i.txt" env WHISTLE_BENCH=1 WHISTLE_TEST_POSTGRES="$timers_pg" "${sizes[@]}" \
      go test -count 1 -run '^TestFireRate$' -v -timeout 90m ./internal/sla/
  done
  if $have_pg; then psql_admin -c "DROP DATABASE IF EXISTS whistle_timers_bench"; fi
fi

if want intake; then
  echo "## intake through HTTP"
  cmd intake "# each $COUNT times, one output file per run" \
    "./bin/whistle bench intake --duration 10s --concurrency 32"
  if [ -n "$INTAKE_BEFORE" ]; then
    cmd intake "$INTAKE_BEFORE bench intake --duration 10s --concurrency 32   # the binary of $INTAKE_BEFORE_DESC, before each run of ./bin/whistle"
  fi
  for i in $(seq 1 "$COUNT"); do
    if [ -n "$INTAKE_BEFORE" ]; then
      save "intake-sqlite_before.$i.txt" "$INTAKE_BEFORE" bench intake --duration 10s --concurrency 32
    fi
    save "intake-sqlite.$i.txt" ./bin/whistle bench intake --duration 10s --concurrency 32
  done
  if $have_pg; then
    # The baseline of PostgreSQL intake: pgbench, 32 clients, transactions
    # of four INSERTs into an indexed table (scripts/pgbench-intake.sql), on
    # a fresh database, run alternately with Whistle so both see the same
    # load on the machine.
    if ! command -v pgbench >/dev/null; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-client >/dev/null
      command -v pgbench >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-contrib >/dev/null
    fi
    pgbench_schema="CREATE TABLE intake (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, k INTEGER NOT NULL, v TEXT NOT NULL, at TIMESTAMPTZ NOT NULL DEFAULT now()); CREATE INDEX intake_k ON intake (k);"
    cmd intake "# each of the $COUNT rounds runs, in this order, on fresh databases:" \
      "psql '$(pgurl whistle_pgbench)' -c '$pgbench_schema'   # after DROP and CREATE DATABASE whistle_pgbench" \
      "pgbench -n -c 32 -j 2 -T 10 -f scripts/pgbench-intake.sql '$(pgurl whistle_pgbench)'"
    if [ -n "$INTAKE_BEFORE" ]; then
      cmd intake "$INTAKE_BEFORE bench intake --duration 10s --concurrency 32 --db '$(pgurl whistle_intake_bench)'   # the binary of $INTAKE_BEFORE_DESC, after DROP and CREATE DATABASE whistle_intake_bench"
    fi
    cmd intake "./bin/whistle bench intake --duration 10s --concurrency 32 --db '$(pgurl whistle_intake_bench)'   # after DROP and CREATE DATABASE whistle_intake_bench"
    for i in $(seq 1 "$COUNT"); do
      fresh_db whistle_pgbench
      psql "$(pgurl whistle_pgbench)" -qX -v ON_ERROR_STOP=1 -c "$pgbench_schema"
      save "intake-pgbench.$i.txt" pgbench -n -c 32 -j 2 -T 10 -f scripts/pgbench-intake.sql "$(pgurl whistle_pgbench)"
      if [ -n "$INTAKE_BEFORE" ]; then
        fresh_db whistle_intake_bench
        save "intake-postgres_before.$i.txt" "$INTAKE_BEFORE" bench intake --duration 10s --concurrency 32 --db "$(pgurl whistle_intake_bench)"
      fi
      fresh_db whistle_intake_bench
      save "intake-postgres.$i.txt" ./bin/whistle bench intake --duration 10s --concurrency 32 --db "$(pgurl whistle_intake_bench)"
    done
  fi
fi

if want queue; then
  echo "## staff queue page (100,000 cases)"
  cmd queue "# $COUNT times, one output file per run" \
    "go test -run '^\$' -bench 'QueuePage|QueueCounts' -benchtime 20x -count 1 ./internal/web/"
  for i in $(seq 1 "$COUNT"); do
    save "queue.$i.txt" go test -run '^$' -bench 'QueuePage|QueueCounts' -benchtime 20x -count 1 ./internal/web/
  done
fi

# scale STORE N: generate N cases into a fresh database, restart the
# server on them (so that its memory is a server's, not the generator's),
# and measure the statistics and the console COUNT times.
scale() {
  local store=$1 n=$2 tag="scale-$1-$2" token started gen start size
  local dbargs=()
  server_dir=$(mktemp -d "${TMPDIR:-/tmp}/whistle-bench-XXXXXX")
  if [ "$store" = postgres ]; then
    fresh_db whistle_scale_bench
    dbargs=(--db "$(pgurl whistle_scale_bench)")
  fi
  echo "### $n cases on $store: generating"
  started=$(date +%s)
  if ! serve "${dbargs[@]}" --cases "$n"; then
    failures=$((failures + 1))
    cleanup
    return 0
  fi
  gen=$(($(date +%s) - started))
  stop_server
  started=$(date +%s)
  if ! serve "${dbargs[@]}"; then
    failures=$((failures + 1))
    cleanup
    return 0
  fi
  start=$(($(date +%s) - started))
  if [ "$store" = postgres ]; then
    size=$(psql_admin -tAc "SELECT pg_database_size('whistle_scale_bench')")
  else
    size=$(du -cb "$server_dir"/whistle.db* | tail -n 1 | cut -f1)
  fi
  printf 'cases: %s\nstore: %s\ngenerate_seconds: %s\nstart_seconds: %s\ndb_bytes: %s\n' "$n" "$store" "$gen" "$start" "$size" |
    tee "$OUT/$tag.meta.txt"
  token=$(curl -fsS -X POST "$url/api/v1/session" -H 'Content-Type: application/json' \
    -d '{"username":"demo-leader","password":"whistle-demo"}' | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
  if [ -z "$token" ]; then
    echo "bench: FAILED: could not log in as demo-leader at $url" >&2
    failures=$((failures + 1))
    cleanup
    return 0
  fi
  for i in $(seq 1 "$COUNT"); do
    save "$tag.rollup.$i.txt" ./bin/whistle rollup bench --data "$server_dir" "${dbargs[@]}" --url "$url" --token "$token"
    save "$tag.console.$i.txt" ./bin/whistle bench console --url "$url" --token "$token"
  done
  cleanup
  if [ "$store" = postgres ]; then
    psql_admin -c "DROP DATABASE IF EXISTS whistle_scale_bench"
  fi
}

if want scale; then
  stores="sqlite"
  if $have_pg; then stores="sqlite postgres"; fi
  cmd scale "# for each N in $BENCH_CASES and each store ($stores): a fresh data dir DIR (and DROP and CREATE DATABASE whistle_scale_bench), then" \
    "./bin/whistle demo --data \"\$DIR\" [--db '$(pgurl whistle_scale_bench)'] --cases \"\$N\" --addr 127.0.0.1:0 --log-level warn &   # generate; poll /readyz, then stop it" \
    "./bin/whistle demo --data \"\$DIR\" [--db '$(pgurl whistle_scale_bench)'] --addr 127.0.0.1:0 --log-level warn &   # serve the same data; poll /readyz" \
    "TOKEN=\$(curl -fsS -X POST \"\$URL/api/v1/session\" -H 'Content-Type: application/json' -d '{\"username\":\"demo-leader\",\"password\":\"whistle-demo\"}' | sed -n 's/.*\"token\":\"\\([^\"]*\\)\".*/\\1/p')" \
    "# then $COUNT times, one output file per run:" \
    "./bin/whistle rollup bench --data \"\$DIR\" [--db '$(pgurl whistle_scale_bench)'] --url \"\$URL\" --token \"\$TOKEN\"" \
    "./bin/whistle bench console --url \"\$URL\" --token \"\$TOKEN\""
  for n in $BENCH_CASES; do
    for store in $stores; do
      scale "$store" "$n"
    done
  done
fi

echo "load_end: $(loadavg)" >>"$OUT/env.txt"
./bin/whistle bench report --in "$OUT" --out "$BENCH_OUT"
if ((failures > 0)); then
  echo "bench: $failures run(s) failed (kept as $OUT/*.failed); the report leaves them out" >&2
  exit 1
fi
