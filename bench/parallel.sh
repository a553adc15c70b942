#!/usr/bin/env bash
# bench/parallel.sh — parallel queries: load the same generated "events"
# data into a heap table and an lsm table in a throwaway cluster, then time
# the analytic queries of bench/run.sh with max_parallel_workers_per_gather
# = 0 and = N (default settings otherwise: on lsm the serial LSM Aggregate
# against whatever the planner picks with N workers, normally the parallel
# LSM Aggregate), the lsm queries once more with the parallel plan made free
# (parallel_setup_cost = parallel_tuple_cost = lsm.parallel_cold_start_factor
# = 0, to time the parallel LSM Aggregate where the planner keeps the serial
# one) and with all N workers (lsm.parallel_cpus = N + 1: by default the
# planner gives an LSM Aggregate no more workers than there are processors
# beside the leader), and a CREATE INDEX with
# max_parallel_maintenance_workers = 0 and = N.  Prints a Markdown report
# on stdout (progress goes to stderr).
#
# Usage: bench/parallel.sh [rows]            default rows: 5000000
#
# Environment:
#   BENCH_RUNS=5               timed runs per query and setting (after one
#                              warm-up run); the median is reported
#   BENCH_WORKERS=2            workers per Gather (and per index build)
#   BENCH_SHARED_BUFFERS=2GB   shared_buffers of the throwaway cluster
#   BENCH_SKIP_INDEX=1         do not time CREATE INDEX
#   BENCH_NO_BUILD=1           do not run make && make install first
#   LSM_KEEP=1                 keep the cluster directory afterwards
#
# Serial and parallel runs of a query alternate (0, N, 0, N, ...), so that
# other load on the machine affects both alike.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$BENCH_DIR/../scripts/lib.sh"

ROWS=${1:-5000000}
[[ $ROWS =~ ^[0-9]+$ ]] && [ "$ROWS" -ge 100 ] || lsm_die "rows must be an integer >= 100"
RUNS=${BENCH_RUNS:-5}
WORKERS=${BENCH_WORKERS:-2}
SHARED_BUFFERS=${BENCH_SHARED_BUFFERS:-2GB}
TABLES=(heap lsm)

if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
	lsm_build_install_quiet
fi
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

lsm_bench_cluster_start "$SHARED_BUFFERS" "$WORKERS"
printf 'max_parallel_maintenance_workers = %s\nmax_worker_processes = %s\nmax_parallel_workers = %s\n' \
	"$WORKERS" $((WORKERS + 8)) $((WORKERS + 4)) |
	lsm_as_pg tee -a "$LSM_PGDATA/postgresql.conf" >/dev/null
lsm_as_pg "$(lsm_pgbin)/pg_ctl" -D "$LSM_PGDATA" -l "$LSM_PGLOG" -w restart >/dev/null

lsm_psql -c "CREATE EXTENSION lsm_am"
lsm_psql <"$BENCH_DIR/gen.sql" >/dev/null

DATA=$LSM_TMP/events.data
lsm_log "generating $ROWS rows into $DATA"
echo "COPY (SELECT * FROM bench.events($ROWS)) TO '$DATA';" | lsm_psql >/dev/null
declare -A SIZE_MB
for t in "${TABLES[@]}"; do
	lsm_log "loading events_$t (COPY)"
	lsm_psql -c "SELECT bench.create_events('events_$t', '$t')" >/dev/null
	lsm_psql -c "COPY events_$t FROM '$DATA'" >/dev/null
	if [ "$t" = heap ]; then
		lsm_psql -c "VACUUM (ANALYZE) events_$t"
	else
		lsm_psql -c "ANALYZE events_$t"
	fi
	SIZE_MB[$t]=$(lsm_psql_value "SELECT round(pg_table_size('events_$t') / 1048576.0, 1)")
done
# "Hot cache" means shared buffers: COPY leaves most of a large heap table
# only in the kernel's page cache (its bulk-write ring), and a sequential
# scan of a table over a quarter of shared_buffers reads through a small
# ring, so without this every heap scan would copy the table from the
# kernel, which scales worse with workers than reading shared buffers.
# The block range is the file's: an lsm table's reported size is its
# virtual block space (README, known gaps).
lsm_psql -c "CREATE EXTENSION pg_prewarm" >/dev/null
for t in "${TABLES[@]}"; do
	lsm_log "prewarming events_$t"
	lsm_psql -c "SELECT pg_prewarm('events_$t', 'buffer', 'main', 0,
		pg_relation_size('events_$t') / current_setting('block_size')::int - 1)" >/dev/null
done
SB_MB=$(lsm_psql_value "SELECT setting::bigint * 8192 / 1048576 FROM pg_settings WHERE name = 'shared_buffers'")

# time_once SETTINGS SQL [UNDO]: elapsed ms of one run of SQL in a fresh
# session after "SET s" for each s of SETTINGS (a ";"-separated list) and an
# untimed warm-up run (each run followed by UNDO, untimed, if given)
time_once()
{
	local set=$1 sql=$2 undo=${3:-} line
	line=$(($(tr -cd ';' <<<"$set" | wc -c) + 3))
	[ -z "$undo" ] || line=$((line + 1))
	{
		echo "SET ${set//;/; SET };"
		echo "$sql;"
		[ -z "$undo" ] || echo "$undo;"
		echo "$sql;"
	} | lsm_psql_timings | sed -n "${line}p"
	[ -z "$undo" ] || lsm_psql -c "$undo" >/dev/null
}

# time_pair GUC SQL [UNDO [EXTRA]]: medians (serial, parallel) of RUNS
# alternating runs with GUC = 0 and GUC = WORKERS, both with the settings
# EXTRA (as for time_once) if given
time_pair()
{
	local guc=$1 sql=$2 undo=${3:-} extra=${4:-} i s=() p=()
	for ((i = 0; i < RUNS; i++)); do
		s+=("$(time_once "$guc = 0${extra:+;$extra}" "$sql" "$undo")")
		p+=("$(time_once "$guc = $WORKERS${extra:+;$extra}" "$sql" "$undo")")
	done
	echo "$(printf '%s\n' "${s[@]}" | lsm_median) $(printf '%s\n' "${p[@]}" | lsm_median)"
}

# plan_of SETTINGS SQL: the aggregating node of SQL's plan under SETTINGS
# and the workers it launched, e.g. "LSM Partial Aggregate, 2 workers"
plan_of()
{
	local out node workers
	out=$(printf 'SET %s;\nEXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) %s;\n' "${1//;/; SET }" "$2" | lsm_psql -At)
	node=$(grep -o 'LSM Partial Aggregate\|LSM Aggregate\|Partial [A-Za-z]*Aggregate\|HashAggregate\|GroupAggregate\|Aggregate' <<<"$out" | tail -n 1)
	workers=$(sed -n 's/^ *Workers Launched: //p' <<<"$out" | head -n 1)
	echo "${node:-?}, ${workers:-no} workers"
}

FREE="parallel_setup_cost = 0;parallel_tuple_cost = 0;lsm.parallel_cold_start_factor = 0;lsm.parallel_cpus = $((WORKERS + 1))"
QNAMES=(
	"count(*)"
	"sum(user_id)"
	"avg(amount)"
	"count(*) WHERE device = 'iphone-app'"
	"GROUP BY device (20 groups)"
)
QSQL=(
	"SELECT count(*) FROM {t}"
	"SELECT sum(user_id) FROM {t}"
	"SELECT avg(amount) FROM {t}"
	"SELECT count(*) FROM {t} WHERE device = 'iphone-app'"
	"SELECT device, count(*), avg(amount), max(duration) FROM {t} GROUP BY device ORDER BY device"
)

declare -A SER PAR DIFF PLAN FSER FPAR FPLAN
for i in "${!QSQL[@]}"; do
	for t in "${TABLES[@]}"; do
		sql=${QSQL[$i]//\{t\}/events_$t}
		lsm_log "query $((i + 1))/${#QSQL[@]} on $t: $sql"
		a=$(printf 'SET max_parallel_workers_per_gather = 0;\n%s;\n' "$sql" | lsm_psql -At | md5sum)
		b=$(printf 'SET max_parallel_workers_per_gather = %s;\n%s;\n' "$WORKERS" "$sql" | lsm_psql -At | md5sum)
		[ "$a" = "$b" ] || DIFF[$i,$t]=1
		PLAN[$i,$t]=$(plan_of "max_parallel_workers_per_gather = $WORKERS" "$sql")
		read -r SER[$i,$t] PAR[$i,$t] < <(time_pair max_parallel_workers_per_gather "$sql")
		if [ "$t" = lsm ]; then
			c=$(printf 'SET max_parallel_workers_per_gather = %s;\nSET %s;\n%s;\n' "$WORKERS" \
				"${FREE//;/; SET }" "$sql" | lsm_psql -At | md5sum)
			[ "$a" = "$c" ] || DIFF[$i,$t]=1
			FPLAN[$i]=$(plan_of "max_parallel_workers_per_gather = $WORKERS;$FREE" "$sql")
			read -r FSER[$i] FPAR[$i] < <(time_pair max_parallel_workers_per_gather "$sql" "" "$FREE")
		fi
	done
done

if [ "${BENCH_SKIP_INDEX:-0}" != 1 ]; then
	lsm_log "CREATE INDEX on (user_id, ts)"
	for t in "${TABLES[@]}"; do
		read -r SER[idx,$t] PAR[idx,$t] < <(time_pair max_parallel_maintenance_workers \
			"CREATE INDEX events_${t}_ut ON events_$t (user_id, ts)" "DROP INDEX events_${t}_ut")
	done
fi

speedup() { awk -v s="$1" -v p="$2" 'BEGIN { if (p + 0 == 0) print "n/a"; else printf "%.2f", s / p }'; }

commit=$(git -C "$LSM_ROOT" rev-parse --short HEAD 2>/dev/null || echo "uncommitted")
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
cat <<EOF
# lsm_am parallel queries: $ROWS rows, $WORKERS workers

- lsm_am commit: $commit; PostgreSQL $(lsm_psql_value "SHOW server_version") ($(lsm_pgbin))
- machine: $(nproc) CPUs (${cpu:-unknown}); load average at the start: $LOAD_START, at the end: $(cut -d' ' -f1-3 /proc/loadavg)
- data: bench/gen.sql events, pg_table_size heap ${SIZE_MB[heap]} MB, lsm ${SIZE_MB[lsm]} MB
- hot cache: both tables read into shared buffers (${SB_MB} MB) with pg_prewarm after loading; median of $RUNS runs per setting, serial and parallel runs alternating, each in a fresh session after a warm-up run
- serial: max_parallel_workers_per_gather = 0; parallel: = $WORKERS (leader participates); all other settings default
- speedup: serial time / parallel time; lsm/heap: lsm time / heap time, both parallel

| query | heap serial (ms) | heap parallel (ms) | heap speedup | lsm serial (ms) | lsm parallel (ms) | lsm speedup | lsm/heap, parallel |
|---|---:|---:|---:|---:|---:|---:|---:|
EOF
for i in "${!QSQL[@]}"; do
	name=${QNAMES[$i]}
	for t in "${TABLES[@]}"; do
		[ -z "${DIFF[$i,$t]:-}" ] || name="$name **$t results differ**"
	done
	printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$name" \
		"${SER[$i,heap]}" "${PAR[$i,heap]}" "$(speedup "${SER[$i,heap]}" "${PAR[$i,heap]}")" \
		"${SER[$i,lsm]}" "${PAR[$i,lsm]}" "$(speedup "${SER[$i,lsm]}" "${PAR[$i,lsm]}")" \
		"$(speedup "${PAR[$i,lsm]}" "${PAR[$i,heap]}")"
done
[ "${BENCH_SKIP_INDEX:-0}" = 1 ] ||
	printf '| CREATE INDEX (user_id, ts), max_parallel_maintenance_workers 0 / %s | %s | %s | %s | %s | %s | %s | |\n' \
		"$WORKERS" "${SER[idx,heap]}" "${PAR[idx,heap]}" "$(speedup "${SER[idx,heap]}" "${PAR[idx,heap]}")" \
		"${SER[idx,lsm]}" "${PAR[idx,lsm]}" "$(speedup "${SER[idx,lsm]}" "${PAR[idx,lsm]}")"

cat <<EOF

Plans with max_parallel_workers_per_gather = $WORKERS (the aggregating node,
workers launched), and the lsm queries timed again with the parallel plan
made free and given all $WORKERS workers whatever the processors
(${FREE//;/, }; serial and parallel runs alternating as above):

| query | heap plan | lsm plan | lsm plan, parallel free | lsm serial (ms) | lsm parallel, free (ms) | speedup |
|---|---|---|---|---:|---:|---:|
EOF
for i in "${!QSQL[@]}"; do
	printf '| %s | %s | %s | %s | %s | %s | %s |\n' "${QNAMES[$i]}" "${PLAN[$i,heap]}" \
		"${PLAN[$i,lsm]}" "${FPLAN[$i]}" "${FSER[$i]}" "${FPAR[$i]}" \
		"$(speedup "${FSER[$i]}" "${FPAR[$i]}")"
done
echo
echo "Queries (events_X is events_heap or events_lsm):"
echo
for i in "${!QSQL[@]}"; do
	echo "$((i + 1)). \`${QSQL[$i]//\{t\}/events_X}\`"
done
