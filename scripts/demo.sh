#!/usr/bin/env bash
# scripts/demo.sh — see lsm_am work, in one command, on a fresh Debian 12.
#
# Usage: scripts/demo.sh [rows]            default rows: 1000000
#   --no-deps    do not run scripts/install-deps.sh (also: DEMO_NO_DEPS=1)
#
# It installs the dependencies, builds and installs lsm_am, creates a
# throwaway PostgreSQL cluster (as the postgres OS user, in a temporary
# directory, on a free port on 127.0.0.1 and a unix socket in that
# directory, with shared_preload_libraries = 'lsm_am'), loads the same
# generated "events" data (bench/gen.sql) into a heap table and an lsm table
# with COPY, and prints load times, table sizes, lsm.stats, an EXPLAIN and a
# few query timings.  The cluster is stopped and removed on exit.
# Run as root, or as a user with sudo (for apt-get and make install).
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROWS=1000000
NO_DEPS=${DEMO_NO_DEPS:-0}
for arg in "$@"; do
	case "$arg" in
		--no-deps) NO_DEPS=1 ;;
		-h|--help) sed -n '2,16p' "$0"; exit 0 ;;
		*) [[ $arg =~ ^[0-9]+$ ]] && [ "$arg" -ge 100 ] || lsm_die "rows must be an integer >= 100"
		   ROWS=$arg ;;
	esac
done
RUNS=3

if [ "$NO_DEPS" != 1 ]; then
	"$LSM_ROOT/scripts/install-deps.sh" >&2
fi
lsm_build_install_quiet

trap lsm_cluster_stop EXIT
trap 'exit 130' INT TERM
lsm_cluster_start "shared_buffers = '512MB'" "max_wal_size = '4GB'" "jit = off" \
	"max_parallel_workers_per_gather = 0" "autovacuum = off"

section() { printf '\n== %s\n\n' "$*"; }

lsm_psql -c "CREATE EXTENSION lsm_am"
lsm_psql <"$LSM_ROOT/bench/gen.sql" >/dev/null

section "Data: $ROWS generated rows (bench/gen.sql)"
DATA=$LSM_TMP/events.data
echo "COPY (SELECT * FROM bench.events($ROWS)) TO '$DATA';" | lsm_psql_timings >/dev/null
lsm_psql -c "SELECT * FROM bench.events(5)"

section "Load with COPY"
declare -A LOAD SIZE
for t in heap lsm; do
	lsm_psql -c "SELECT bench.create_events('events_$t', '$t')" >/dev/null
	ms=$(printf 'CHECKPOINT;\nCOPY events_%s FROM %s;\n' "$t" "'$DATA'" | lsm_psql_timings | tail -n 1)
	[ -n "$ms" ] || lsm_die "COPY into events_$t failed"
	LOAD[$t]=$ms
	lsm_psql -c "ANALYZE events_$t"
	SIZE[$t]=$(lsm_psql_value "SELECT pg_table_size('events_$t')")
	printf '  %-12s COPY %s rows in %8.0f ms, pg_table_size = %s\n' "events_$t" "$ROWS" "$ms" \
		"$(lsm_psql_value "SELECT pg_size_pretty(${SIZE[$t]}::bigint)")"
done
awk -v h="${SIZE[heap]}" -v l="${SIZE[lsm]}" -v hl="${LOAD[heap]}" -v ll="${LOAD[lsm]}" 'BEGIN {
	if (l > 0) printf "  size: heap / lsm = %.2f (lsm is %.1f%% of heap)\n", h / l, 100 * l / h;
	if (hl > 0) printf "  load time: lsm / heap = %.2f\n", ll / hl }'

section "SELECT * FROM lsm.stats('events_lsm')"
lsm_psql -x -c "SELECT * FROM lsm.stats('events_lsm')"

section "Segments (SELECT ... FROM lsm.segments('events_lsm'), first 5)"
lsm_psql -c "SELECT segment_id, level, min_rowid, max_rowid, row_count, pg_size_pretty(bytes) AS bytes,
	pg_size_pretty(uncompressed_bytes) AS uncompressed FROM lsm.segments('events_lsm')
	ORDER BY segment_id LIMIT 5"

lo=$((ROWS / 2)); hi=$((lo + (ROWS + 99) / 100))
ts_lo=$(lsm_psql_value "SELECT bench.ts_of($lo)")
ts_hi=$(lsm_psql_value "SELECT bench.ts_of($hi)")
RANGE_Q="SELECT device, count(*), sum(amount) FROM {t} WHERE ts >= '$ts_lo' AND ts < '$ts_hi' GROUP BY device ORDER BY 2 DESC LIMIT 5"

section "EXPLAIN ANALYZE of a 1% time-range query on events_lsm"
lsm_psql -c "EXPLAIN (ANALYZE, COSTS OFF) ${RANGE_Q//\{t\}/events_lsm}"
lsm_psql -c "${RANGE_Q//\{t\}/events_lsm}"

section "Query timings (ms, hot cache, median of $RUNS runs)"
QUERIES=(
	"SELECT count(*) FROM {t}"
	"SELECT sum(user_id) FROM {t}"
	"SELECT avg(amount) FROM {t}"
	"SELECT count(*) FROM {t} WHERE device = 'iphone-app'"
	"SELECT device, count(*), avg(amount) FROM {t} GROUP BY device"
	"$RANGE_Q"
)
printf '  %10s %10s %9s  %s\n' heap lsm lsm/heap query
for q in "${QUERIES[@]}"; do
	h=$(lsm_time_query "$RUNS" "${q//\{t\}/events_heap}")
	l=$(lsm_time_query "$RUNS" "${q//\{t\}/events_lsm}")
	r=$(awk -v h="$h" -v l="$l" 'BEGIN { if (h > 0) printf "%.2f", l / h; else print "n/a" }')
	short=${q//\{t\}/events_X}
	[ ${#short} -gt 70 ] && short="${short:0:67}..."
	printf '  %10s %10s %9s  %s\n' "$h" "$l" "$r" "$short"
done

section "Done"
echo "  For the full comparison (point lookups, more rows): bench/run.sh"
echo "  The throwaway cluster is removed now."
