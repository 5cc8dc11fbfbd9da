#!/usr/bin/env bash
# Runs the benchmarks quoted in docs/BENCHMARKS.md and prints their results.
# PostGIS is installed here for the point-location baseline only; tests never need it.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT="${COUNT:-5}"
PG="${PG:-postgres://postgres@127.0.0.1:5432}"

echo "# machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; $(go version)"
echo "# date: $(date -u +%Y-%m-%dT%H:%MZ)"

if ! ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1; then
  echo "# installing PostGIS for the baseline"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "postgresql-$(ls /etc/postgresql | head -n1)-postgis-3" >/dev/null
fi
psql "$PG/postgres?sslmode=disable" -qc "DROP DATABASE IF EXISTS whistle_postgis_bench" -c "CREATE DATABASE whistle_postgis_bench"

echo "## point location (one core)"
go test -run '^$' -bench 'Locate' -benchmem -count "$COUNT" ./internal/geo/
WHISTLE_BENCH_POSTGIS="$PG/whistle_postgis_bench?sslmode=disable" \
  go test -run '^$' -bench 'Locator|PostGISContains' -benchmem -count "$COUNT" ./internal/region/

echo "## working calendar"
go test -run '^$' -bench . -benchmem -count "$COUNT" ./internal/sla/calendar/

echo "## intake through HTTP"
go build -o bin/whistle ./cmd/whistle
for i in $(seq 1 "$COUNT"); do ./bin/whistle bench intake --duration 10s --concurrency 32; done
psql "$PG/postgres?sslmode=disable" -qc "DROP DATABASE IF EXISTS whistle_intake_bench" -c "CREATE DATABASE whistle_intake_bench"
for i in $(seq 1 "$COUNT"); do
  psql "$PG/postgres?sslmode=disable" -qc "DROP DATABASE IF EXISTS whistle_intake_bench" -c "CREATE DATABASE whistle_intake_bench"
  ./bin/whistle bench intake --duration 10s --concurrency 32 --db "$PG/whistle_intake_bench?sslmode=disable"
done
