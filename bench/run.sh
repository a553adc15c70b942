#!/usr/bin/env bash
# bench/run.sh — load the same generated "events" data into a heap table and
# an lsm table in a throwaway cluster and compare them.  Prints a Markdown
# report on stdout (progress goes to stderr).
#
# Usage: bench/run.sh [rows]                 default rows: 5000000
#
# Environment:
#   BENCH_RUNS=5               timed runs per query (after one warm-up run); median reported
#   BENCH_PGBENCH_SECONDS=15   duration of each point-lookup pgbench run
#   BENCH_SHARED_BUFFERS=2GB   shared_buffers of the throwaway cluster
#   BENCH_PARALLEL=0           max_parallel_workers_per_gather (0 compares one
#                              process against one; bench/parallel.sh compares 0 with N)
#   BENCH_SEGMENT_ROWS         lsm.segment_rows of the cluster (default: lsm_am's)
#   BENCH_NO_BUILD=1           do not run make && make install first
#   BENCH_SKIP_LSM=1           heap only (to test the script without lsm_am)
#   LSM_KEEP=1                 keep the cluster directory afterwards
#
# Run as root (the cluster runs as the postgres OS user) or as a user that
# can run initdb and, unless BENCH_NO_BUILD=1, sudo make install.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$BENCH_DIR/../scripts/lib.sh"

ROWS=${1:-5000000}
[[ $ROWS =~ ^[0-9]+$ ]] && [ "$ROWS" -ge 100 ] || lsm_die "rows must be an integer >= 100"
RUNS=${BENCH_RUNS:-5}
PGBENCH_SECONDS=${BENCH_PGBENCH_SECONDS:-15}
SHARED_BUFFERS=${BENCH_SHARED_BUFFERS:-2GB}
PARALLEL=${BENCH_PARALLEL:-0}
SKIP_LSM=${BENCH_SKIP_LSM:-0}

TABLES=(heap)
[ "$SKIP_LSM" = 1 ] || TABLES+=(lsm)
if [ "$SKIP_LSM" = 1 ]; then export LSM_NO_PRELOAD=1; fi

if [ "$SKIP_LSM" != 1 ] && [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
	lsm_build_install_quiet
fi

lsm_bench_cluster_start "$SHARED_BUFFERS" "$PARALLEL"

[ "$SKIP_LSM" = 1 ] || lsm_psql -c "CREATE EXTENSION lsm_am"
if [ "$SKIP_LSM" != 1 ] && [ -n "${BENCH_SEGMENT_ROWS:-}" ]; then
	lsm_psql -c "ALTER SYSTEM SET lsm.segment_rows = $BENCH_SEGMENT_ROWS" -c "SELECT pg_reload_conf()" >/dev/null
fi
lsm_psql <"$BENCH_DIR/gen.sql" >/dev/null

# ------------------------------------------------------------------ data
DATA=$LSM_TMP/events.data
lsm_log "generating $ROWS rows into $DATA"
gen_ms=$(echo "COPY (SELECT * FROM bench.events($ROWS)) TO '$DATA';" | lsm_psql_timings)
data_mb=$(du -m "$DATA" | cut -f1)

declare -A LOAD_S PK_S SIZE_MB IDX_MB
for t in "${TABLES[@]}"; do
	lsm_log "loading events_$t (COPY)"
	lsm_psql -c "SELECT bench.create_events('events_$t', '$t')" >/dev/null
	ms=$(printf 'CHECKPOINT;\nCOPY events_%s FROM %s;\n' "$t" "'$DATA'" | lsm_psql_timings | tail -n 1)
	[ -n "$ms" ] || lsm_die "COPY into events_$t failed"
	LOAD_S[$t]=$(awk -v m="$ms" 'BEGIN { printf "%.2f", m / 1000 }')
	lsm_log "events_$t: adding primary key"
	ms=$(echo "ALTER TABLE events_$t ADD PRIMARY KEY (id);" | lsm_psql_timings)
	PK_S[$t]=$(awk -v m="$ms" 'BEGIN { printf "%.2f", m / 1000 }')
	if [ "$t" = heap ]; then
		lsm_psql -c "VACUUM (ANALYZE) events_$t"
	else
		lsm_psql -c "ANALYZE events_$t" || lsm_log "ANALYZE events_$t failed (continuing)"
	fi
	SIZE_MB[$t]=$(lsm_psql_value "SELECT round(pg_table_size('events_$t') / 1048576.0, 1)")
	IDX_MB[$t]=$(lsm_psql_value "SELECT round(pg_indexes_size('events_$t') / 1048576.0, 1)")
done

# --------------------------------------------------------------- queries
lo=$((ROWS / 2)); hi=$((lo + (ROWS + 99) / 100))
ts_lo=$(lsm_psql_value "SELECT bench.ts_of($lo)")
ts_hi=$(lsm_psql_value "SELECT bench.ts_of($hi)")

QNAMES=(
	"count(*)"
	"sum(user_id)"
	"avg(amount)"
	"count(*) WHERE device = 'iphone-app'"
	"GROUP BY device (20 groups)"
	"1% time range: count(*), sum(amount)"
)
QSQL=(
	"SELECT count(*) FROM {t}"
	"SELECT sum(user_id) FROM {t}"
	"SELECT avg(amount) FROM {t}"
	"SELECT count(*) FROM {t} WHERE device = 'iphone-app'"
	"SELECT device, count(*), avg(amount), max(duration) FROM {t} GROUP BY device ORDER BY device"
	"SELECT count(*), sum(amount) FROM {t} WHERE ts >= '$ts_lo' AND ts < '$ts_hi'"
)

declare -A QMS QOUT QPLAN QPLAIN
for i in "${!QSQL[@]}"; do
	for t in "${TABLES[@]}"; do
		sql=${QSQL[$i]//\{t\}/events_$t}
		lsm_log "query $((i + 1))/${#QSQL[@]} on $t: $sql"
		QOUT[$i,$t]=$(lsm_psql -At -c "$sql" | md5sum | cut -c1-32)
		QMS[$i,$t]=$(lsm_time_query "$RUNS" "$sql")
		if [ "$t" = lsm ]; then
			QPLAN[$i]=$(lsm_psql -At -c "EXPLAIN (COSTS OFF) $sql" | grep -o 'Custom Scan ([A-Za-z ]*)\|Seq Scan\|Index[A-Za-z ]*Scan' | head -n 1)
			# the same query through the plain table AM scan, for comparison
			QPLAIN[$i]=$(lsm_time_query "$RUNS" "$sql" "SET lsm.enable_custom_scan = off")
		fi
	done
done

# ------------------------------------------------------ point lookups
declare -A TPS LAT
for t in "${TABLES[@]}"; do
	lsm_log "pgbench point lookups on events_$t (${PGBENCH_SECONDS}s, 1 client)"
	cp "$BENCH_DIR/pgbench_lookup_$t.sql" "$LSM_TMP/"
	chmod 644 "$LSM_TMP/pgbench_lookup_$t.sql"
	out=$(lsm_as_pg "$(lsm_pgbin)/pgbench" -n -M prepared -c 1 -j 1 -T "$PGBENCH_SECONDS" \
		-D rows="$ROWS" -f "$LSM_TMP/pgbench_lookup_$t.sql" \
		-h "$LSM_PGHOST" -p "$LSM_PGPORT" -U postgres postgres 2>&1) || {
		echo "$out" >&2; lsm_die "pgbench on events_$t failed"; }
	TPS[$t]=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | tail -n 1)
	LAT[$t]=$(echo "$out" | sed -n 's/^latency average = \([0-9.]*\) ms.*/\1/p')
	TPS[$t]=$(awk -v x="${TPS[$t]}" 'BEGIN { printf "%.0f", x }')
done

LSM_STATS=""
if [ "$SKIP_LSM" != 1 ]; then
	LSM_STATS=$(lsm_psql -c "SELECT * FROM lsm.stats('events_lsm')" 2>&1 || true)
fi

# ---------------------------------------------------------------- report
val() { [ -n "${1:-}" ] && echo "$1" || echo "n/a"; }
ratio()
{
	awk -v h="${1:-}" -v l="${2:-}" 'BEGIN {
		if (h == "" || l == "" || h + 0 == 0) print "n/a"; else printf "%.2f\n", l / h }'
}
row() { printf '| %s | %s | %s | %s |\n' "$1" "$(val "${2:-}")" "$(val "${3:-}")" "$(ratio "${2:-}" "${3:-}")"; }

commit=$(git -C "$LSM_ROOT" rev-parse --short HEAD 2>/dev/null || echo "uncommitted")
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
pgver=$(lsm_psql_value "SHOW server_version")

cat <<EOF
# lsm_am benchmark: $ROWS rows

- lsm_am commit: $commit; PostgreSQL $pgver
- machine: $(nproc) CPUs (${cpu:-unknown}), $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo) RAM
- settings: shared_buffers = $SHARED_BUFFERS, max_parallel_workers_per_gather = $PARALLEL, jit = off, autovacuum = off
- data: bench/gen.sql, $ROWS rows, ${data_mb} MB as COPY text (generated in $(awk -v m="$gen_ms" 'BEGIN { printf "%.1f", m / 1000 }') s)
- queries: hot cache, median of $RUNS runs after one warm-up run
- point lookups: pgbench -M prepared, 1 client, ${PGBENCH_SECONDS} s, random id in 1..$ROWS

| measure | heap | lsm | lsm/heap |
|---|---:|---:|---:|
EOF
row "load: COPY $ROWS rows (s)" "${LOAD_S[heap]:-}" "${LOAD_S[lsm]:-}"
row "primary key build (s)" "${PK_S[heap]:-}" "${PK_S[lsm]:-}"
row "pg_table_size (MB)" "${SIZE_MB[heap]:-}" "${SIZE_MB[lsm]:-}"
row "primary key index size (MB)" "${IDX_MB[heap]:-}" "${IDX_MB[lsm]:-}"
for i in "${!QSQL[@]}"; do
	name="${QNAMES[$i]} (ms)"
	if [ "$SKIP_LSM" != 1 ] && [ "${QOUT[$i,heap]}" != "${QOUT[$i,lsm]}" ]; then
		name="$name **results differ**"
	fi
	row "$name" "${QMS[$i,heap]:-}" "${QMS[$i,lsm]:-}"
done
row "point lookup by id (TPS)" "${TPS[heap]:-}" "${TPS[lsm]:-}"
row "point lookup latency avg (ms)" "${LAT[heap]:-}" "${LAT[lsm]:-}"

if [ "$SKIP_LSM" != 1 ]; then
	echo
	echo "lsm plans and speed (rows of the table per second and per process; heap/lsm: times faster than heap):"
	echo
	echo "| query | lsm plan node | heap M rows/s | lsm M rows/s | heap/lsm | lsm with lsm.enable_custom_scan = off (ms) |"
	echo "|---|---|---:|---:|---:|---:|"
	for i in "${!QSQL[@]}"; do
		printf '| %s | %s | %s | %s | %s | %s |\n' "${QNAMES[$i]}" "${QPLAN[$i]:-n/a}" \
			"$(awk -v r="$ROWS" -v m="${QMS[$i,heap]:-0}" 'BEGIN { if (m > 0) printf "%.1f", r / m / 1000; else print "n/a" }')" \
			"$(awk -v r="$ROWS" -v m="${QMS[$i,lsm]:-0}" 'BEGIN { if (m > 0) printf "%.1f", r / m / 1000; else print "n/a" }')" \
			"$(awk -v h="${QMS[$i,heap]:-0}" -v l="${QMS[$i,lsm]:-0}" 'BEGIN { if (l > 0) printf "%.1f", h / l; else print "n/a" }')" \
			"$(val "${QPLAIN[$i]:-}")"
	done
fi

echo
echo "Queries (events_X is events_heap or events_lsm):"
echo
for i in "${!QSQL[@]}"; do
	echo "$((i + 1)). \`${QSQL[$i]//\{t\}/events_X}\`"
done
if [ -n "$LSM_STATS" ]; then
	echo
	echo "lsm.stats('events_lsm'):"
	echo
	echo '```'
	echo "$LSM_STATS"
	echo '```'
fi
