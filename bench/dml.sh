#!/usr/bin/env bash
# bench/dml.sh — UPDATE and DELETE on the same generated "events" data in a
# heap table and an lsm table, in a throwaway cluster.  Prints a Markdown
# report on stdout (progress goes to stderr).
#
# Usage: bench/dml.sh [rows]                 default rows: 2000000
#
# Phases (see bench/README.md):
#   A. fresh load; pgbench single-row UPDATE by id (1 and 8 clients), then
#      single-row DELETE by id (1 and 8 clients), random ids
#   B. fresh reload; full scan; UPDATE of 1% in one statement; full scan;
#      DELETE of 10% in one statement; full scan
# heap and lsm results (count, sums) are compared after each step.
#
# Environment:
#   BENCH_RUNS=5               timed runs per full scan (after one warm-up run); median reported
#   BENCH_PGBENCH_SECONDS=10   duration of each pgbench run (8 runs in all)
#   BENCH_PGBENCH_CLIENTS="1 8"  client counts of the pgbench runs
#   BENCH_SHARED_BUFFERS=2GB   shared_buffers of the throwaway cluster
#   BENCH_PARALLEL=0           max_parallel_workers_per_gather
#   BENCH_NO_BUILD=1           do not run make && make install first
#   LSM_KEEP=1                 keep the cluster directory afterwards (its server.log
#                              has a line per background compaction: lsm.log_compactions)
#
# Run as root (the cluster runs as the postgres OS user) or as a user that
# can run initdb and, unless BENCH_NO_BUILD=1, sudo make install.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$BENCH_DIR/../scripts/lib.sh"

ROWS=${1:-2000000}
[[ $ROWS =~ ^[0-9]+$ ]] && [ "$ROWS" -ge 1000 ] || lsm_die "rows must be an integer >= 1000"
RUNS=${BENCH_RUNS:-5}
PGBENCH_SECONDS=${BENCH_PGBENCH_SECONDS:-10}
read -r -a CLIENTS <<<"${BENCH_PGBENCH_CLIENTS:-1 8}"
SHARED_BUFFERS=${BENCH_SHARED_BUFFERS:-2GB}
PARALLEL=${BENCH_PARALLEL:-0}
TABLES=(heap lsm)
NCPU=$(nproc 2>/dev/null || echo 2)
T_START=$SECONDS

if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
	lsm_build_install_quiet
fi

lsm_bench_cluster_start "$SHARED_BUFFERS" "$PARALLEL"

lsm_psql -c "CREATE EXTENSION lsm_am"
lsm_psql -c "ALTER SYSTEM SET lsm.log_compactions = on" -c "SELECT pg_reload_conf()" >/dev/null
# the library the server has loaded (a later make install does not change it)
SO_DATE=$(date -r "$("$PG_CONFIG" --pkglibdir)/lsm_am.so" '+%Y-%m-%d %H:%M:%S' 2>/dev/null || echo '?')
lsm_psql <"$BENCH_DIR/gen.sql" >/dev/null

# ------------------------------------------------------------------ data
DATA=$LSM_TMP/events.data
lsm_log "generating $ROWS rows into $DATA"
gen_ms=$(echo "COPY (SELECT * FROM bench.events($ROWS)) TO '$DATA';" | lsm_psql_timings)
data_mb=$(du -m "$DATA" | cut -f1)

# (Re)create events_$1 from the generated file, as bench/run.sh does:
# COPY, primary key on id, VACUUM ANALYZE (heap) / ANALYZE (lsm).
load_table()
{
	local t=$1 ms
	lsm_log "loading events_$t (COPY, primary key)"
	lsm_psql -c "SELECT bench.create_events('events_$t', '$t')" >/dev/null
	ms=$(printf 'CHECKPOINT;\nCOPY events_%s FROM %s;\n' "$t" "'$DATA'" | lsm_psql_timings | tail -n 1)
	[ -n "$ms" ] || lsm_die "COPY into events_$t failed"
	lsm_psql -c "ALTER TABLE events_$t ADD PRIMARY KEY (id)"
	if [ "$t" = heap ]; then
		lsm_psql -c "VACUUM (ANALYZE) events_$t"
	else
		lsm_psql -c "ANALYZE events_$t" || lsm_log "ANALYZE events_$t failed (continuing)"
	fi
}

# Results compared between heap and lsm.
SUMS_SQL="SELECT count(*), sum(amount), sum(id) FROM {t}"
# The same through the primary key (index scan), to check that the index and
# the table agree after updates and deletes.
IDX_SQL="SET enable_seqscan = off; SET enable_bitmapscan = off;
SELECT count(*), sum(amount), sum(id) FROM {t} WHERE id BETWEEN 1 AND $ROWS"

sums() { lsm_psql -At -F ' ' -c "${SUMS_SQL//\{t\}/events_$1}" 2>&1 | tr '\n' ' ' | sed 's/ *$//'; }
isums() { lsm_psql -At -F ' ' -c "${IDX_SQL//\{t\}/events_$1}" 2>&1 | tr '\n' ' ' | sed 's/ *$//'; }

# CHECKS: Markdown rows for failed checks, printed under the table.
CHECKS=()
NCHECKS=0
# check_equal STEP: heap and lsm give the same count/sums (seq scan), and each
# table gives the same through its primary key.
check_equal()
{
	local step=$1 h l hi li
	h=$(sums heap); l=$(sums lsm)
	hi=$(isums heap); li=$(isums lsm)
	NCHECKS=$((NCHECKS + 1))
	lsm_log "check after $step: heap [$h] lsm [$l]"
	if [ "$h" != "$l" ]; then
		CHECKS+=("| **WARNING: heap and lsm differ after $step** (count, sum(amount), sum(id)) | $h | $l | |")
	fi
	if [ "$h" != "$hi" ] || [ "$l" != "$li" ]; then
		CHECKS+=("| **WARNING: seq scan and index scan differ after $step** (index scan) | $hi | $li | |")
	fi
}
# check_self STEP EXPECTED_COUNT: the tables differ after pgbench (each ran
# its own random ids), so check each on its own: seq scan = index scan, no
# duplicate ids, and the row count if EXPECTED_COUNT is given.
check_self()
{
	local step=$1 want=${2:-} t s i n d bad=()
	NCHECKS=$((NCHECKS + 1))
	for t in "${TABLES[@]}"; do
		s=$(sums "$t"); i=$(isums "$t")
		d=$(lsm_psql_value "SELECT count(*) - count(DISTINCT id) FROM events_$t" 2>&1)
		n=${s%% *}
		lsm_log "check after $step: $t [$s] index [$i] duplicate ids $d"
		if [ "$s" != "$i" ]; then bad+=("$t: seq scan [$s] index scan [$i]"); fi
		if [ "$d" != 0 ]; then bad+=("$t: $d duplicate ids"); fi
		if [ -n "$want" ] && [ "$n" != "$want" ]; then bad+=("$t: $n rows, expected $want"); fi
	done
	if [ ${#bad[@]} -gt 0 ]; then
		local IFS=';'
		CHECKS+=("| **WARNING: inconsistent after $step**: ${bad[*]} | | | |")
	fi
}

# ============================================= phase A: pgbench, fresh load
for t in "${TABLES[@]}"; do load_table "$t"; done
check_equal "load"
ORIG_SUMS=$(sums heap)
ORIG_AMOUNT=$(echo "$ORIG_SUMS" | cut -d' ' -f2)

declare -A TPS LAT
# run_pgbench KIND T CLIENTS: pgbench with the script $LSM_TMP/KIND_T.sql.
run_pgbench()
{
	local kind=$1 t=$2 c=$3 j out
	j=$((c < NCPU ? c : NCPU))
	lsm_log "pgbench $kind on events_$t (${PGBENCH_SECONDS}s, $c client(s))"
	lsm_psql -c "CHECKPOINT"
	if out=$(lsm_as_pg "$(lsm_pgbin)/pgbench" -n -M prepared -c "$c" -j "$j" -T "$PGBENCH_SECONDS" \
		-D rows="$ROWS" -f "$LSM_TMP/${kind}_$t.sql" \
		-h "$LSM_PGHOST" -p "$LSM_PGPORT" -U postgres postgres 2>&1); then
		TPS[$kind,$t,$c]=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | tail -n 1)
		TPS[$kind,$t,$c]=$(awk -v x="${TPS[$kind,$t,$c]}" 'BEGIN { printf "%.0f", x }')
		LAT[$kind,$t,$c]=$(echo "$out" | sed -n 's/^latency average = \([0-9.]*\) ms.*/\1/p')
	else
		echo "$out" >&2
		lsm_log "pgbench $kind on events_$t with $c client(s) failed (continuing)"
		TPS[$kind,$t,$c]=failed
		LAT[$kind,$t,$c]=failed
	fi
}

for t in "${TABLES[@]}"; do
	printf '\\set id random(1, :rows)\nUPDATE events_%s SET amount = amount + 1 WHERE id = :id;\n' "$t" \
		>"$LSM_TMP/update_$t.sql"
	printf '\\set id random(1, :rows)\nDELETE FROM events_%s WHERE id = :id;\n' "$t" \
		>"$LSM_TMP/delete_$t.sql"
	chmod 644 "$LSM_TMP/update_$t.sql" "$LSM_TMP/delete_$t.sql"
done

for t in "${TABLES[@]}"; do
	for c in "${CLIENTS[@]}"; do run_pgbench update "$t" "$c"; done
done
check_self "pgbench UPDATE" "$ROWS"
declare -A UPDATED
for t in "${TABLES[@]}"; do
	# each UPDATE of a row with a non-NULL amount adds 1 to sum(amount)
	UPDATED[$t]=$(lsm_psql_value "SELECT (sum(amount) - $ORIG_AMOUNT)::bigint FROM events_$t" 2>&1 || echo "n/a")
done
for t in "${TABLES[@]}"; do
	for c in "${CLIENTS[@]}"; do run_pgbench delete "$t" "$c"; done
done
check_self "pgbench DELETE"
declare -A LEFT
for t in "${TABLES[@]}"; do LEFT[$t]=$(lsm_psql_value "SELECT count(*) FROM events_$t"); done
LSM_STATS_A=$(lsm_psql -c "SELECT * FROM lsm.stats('events_lsm')" 2>&1 || true)

# ================================ phase B: bulk UPDATE / DELETE, fresh reload
SCAN_SQL="SELECT count(*), sum(amount) FROM {t}"
UPD_SQL="UPDATE {t} SET amount = amount + 1 WHERE id % 100 = 0"
DEL_SQL="DELETE FROM {t} WHERE id % 10 = 1"

for t in "${TABLES[@]}"; do load_table "$t"; done
check_equal "reload"
[ "$(sums heap)" = "$ORIG_SUMS" ] ||
	CHECKS+=("| **WARNING: reloaded heap table differs from the first load** | $(sums heap) | $ORIG_SUMS | |")

declare -A SCAN0 SCAN1 SCAN2 UPD_MS DEL_MS
# timed STATEMENT: CHECKPOINT, then the statement alone, timed by psql.
timed()
{
	printf 'CHECKPOINT;\n%s;\n' "$1" | lsm_psql_timings | tail -n 1
}
for t in "${TABLES[@]}"; do
	lsm_log "full scan of events_$t (fresh)"
	SCAN0[$t]=$(lsm_time_query "$RUNS" "${SCAN_SQL//\{t\}/events_$t}")
done
for t in "${TABLES[@]}"; do
	lsm_log "UPDATE 1% of events_$t"
	UPD_MS[$t]=$(timed "${UPD_SQL//\{t\}/events_$t}")
done
check_equal "1% UPDATE"
for t in "${TABLES[@]}"; do
	lsm_log "full scan of events_$t (before the 10% DELETE)"
	SCAN1[$t]=$(lsm_time_query "$RUNS" "${SCAN_SQL//\{t\}/events_$t}")
done
for t in "${TABLES[@]}"; do
	lsm_log "DELETE 10% of events_$t"
	DEL_MS[$t]=$(timed "${DEL_SQL//\{t\}/events_$t}")
done
check_equal "10% DELETE"
for t in "${TABLES[@]}"; do
	lsm_log "full scan of events_$t (after the 10% DELETE)"
	SCAN2[$t]=$(lsm_time_query "$RUNS" "${SCAN_SQL//\{t\}/events_$t}")
done
FINAL_SUMS=$(sums heap)

LSM_STATS=$(lsm_psql -c "SELECT * FROM lsm.stats('events_lsm')" 2>&1 || true)

# ---------------------------------------------------------------- report
val() { [ -n "${1:-}" ] && echo "$1" || echo "n/a"; }
num() { [[ ${1:-} =~ ^[0-9.]+$ ]]; }
ratio()
{
	if num "${1:-}" && num "${2:-}"; then
		awk -v h="$1" -v l="$2" 'BEGIN { if (h + 0 == 0) print "n/a"; else printf "%.2f\n", l / h }'
	else
		echo "n/a"
	fi
}
row() { printf '| %s | %s | %s | %s |\n' "$1" "$(val "${2:-}")" "$(val "${3:-}")" "$(ratio "${2:-}" "${3:-}")"; }
ms() { num "${1:-}" && awk -v m="$1" 'BEGIN { printf "%.1f", m }' || val "${1:-}"; }

commit=$(git -C "$LSM_ROOT" rev-parse --short HEAD 2>/dev/null || echo "unknown")
if [ -n "$(git -C "$LSM_ROOT" status --porcelain -- src 2>/dev/null)" ]; then commit="$commit + uncommitted changes in src/"; fi
if [ "${BENCH_NO_BUILD:-0}" = 1 ]; then
	commit="$commit (BENCH_NO_BUILD=1: installed lsm_am.so of $SO_DATE)"
fi
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
pgver=$(lsm_psql_value "SHOW server_version")

declare -A RATIO
for t in "${TABLES[@]}"; do RATIO[$t]=$(ratio "${SCAN1[$t]:-}" "${SCAN2[$t]:-}"); done
target="not met"
if num "${RATIO[lsm]}" && awk -v r="${RATIO[lsm]}" 'BEGIN { exit !(r <= 1.10) }'; then target=met; fi

cat <<EOF
# lsm_am DML benchmark: $ROWS rows

- lsm_am commit: $commit; PostgreSQL $pgver
- machine: $NCPU CPUs (${cpu:-unknown}), $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo) RAM
- settings: shared_buffers = $SHARED_BUFFERS, max_parallel_workers_per_gather = $PARALLEL, jit = off, autovacuum = off
- data: bench/gen.sql, $ROWS rows, ${data_mb} MB as COPY text (generated in $(awk -v m="$gen_ms" 'BEGIN { printf "%.1f", m / 1000 }') s), primary key on id
- pgbench: -M prepared, ${PGBENCH_SECONDS} s per run, random id in 1..$ROWS, on a fresh load; UPDATE runs first, then DELETE runs on the same tables
- bulk statements: on a fresh reload, one statement each (CHECKPOINT before, psql \\timing, commit included)
- full scans: \`SELECT count(*), sum(amount) FROM events_X\`, hot cache, median of $RUNS runs after one warm-up run
- total run time: $((SECONDS - T_START)) s

| measure | heap | lsm | lsm/heap |
|---|---:|---:|---:|
EOF
for c in "${CLIENTS[@]}"; do
	row "pgbench UPDATE by id, $c client(s) (TPS)" "${TPS[update,heap,$c]:-}" "${TPS[update,lsm,$c]:-}"
	row "pgbench UPDATE by id, $c client(s): latency avg (ms)" "${LAT[update,heap,$c]:-}" "${LAT[update,lsm,$c]:-}"
done
for c in "${CLIENTS[@]}"; do
	row "pgbench DELETE by id, $c client(s) (TPS)" "${TPS[delete,heap,$c]:-}" "${TPS[delete,lsm,$c]:-}"
done
row "sum(amount) increase after the pgbench UPDATEs (= UPDATEs of non-NULL amounts)" "${UPDATED[heap]:-}" "${UPDATED[lsm]:-}"
row "rows left after the pgbench DELETEs" "${LEFT[heap]:-}" "${LEFT[lsm]:-}"
row "full scan, fresh reload (ms)" "$(ms "${SCAN0[heap]:-}")" "$(ms "${SCAN0[lsm]:-}")"
row "UPDATE 1% (id % 100 = 0) in one statement (ms)" "$(ms "${UPD_MS[heap]:-}")" "$(ms "${UPD_MS[lsm]:-}")"
row "full scan before the 10% DELETE (ms)" "$(ms "${SCAN1[heap]:-}")" "$(ms "${SCAN1[lsm]:-}")"
row "DELETE 10% (id % 10 = 1) in one statement (ms)" "$(ms "${DEL_MS[heap]:-}")" "$(ms "${DEL_MS[lsm]:-}")"
row "full scan after the 10% DELETE (ms)" "$(ms "${SCAN2[heap]:-}")" "$(ms "${SCAN2[lsm]:-}")"
row "full scan after/before the 10% DELETE (target lsm ≤ 1.10: $target)" "${RATIO[heap]}" "${RATIO[lsm]}"
row "full scan after the 10% DELETE / fresh" "$(ratio "${SCAN0[heap]:-}" "${SCAN2[heap]:-}")" \
	"$(ratio "${SCAN0[lsm]:-}" "${SCAN2[lsm]:-}")"
for r in "${CHECKS[@]+"${CHECKS[@]}"}"; do echo "$r"; done

echo
if [ ${#CHECKS[@]} -eq 0 ]; then
	echo "Checks: heap and lsm returned the same count(*), sum(amount), sum(id) after the load,"
	echo "the reload, the 1% UPDATE and the 10% DELETE (final: $FINAL_SUMS); after the pgbench runs"
	echo "(different random ids per table) each table's seq scan matched its index scan, with no"
	echo "duplicate ids and $ROWS rows after the UPDATEs. $NCHECKS checks, all passed."
else
	echo "Checks: ${#CHECKS[@]} of $NCHECKS failed (WARNING rows above); details on stderr."
fi
echo
echo "Statements (events_X is events_heap or events_lsm):"
echo
echo "- pgbench UPDATE: \`\\set id random(1, :rows)\` then \`UPDATE events_X SET amount = amount + 1 WHERE id = :id\`"
echo "- pgbench DELETE: \`\\set id random(1, :rows)\` then \`DELETE FROM events_X WHERE id = :id\`"
echo "- 1% UPDATE: \`${UPD_SQL//\{t\}/events_X}\`"
echo "- 10% DELETE: \`${DEL_SQL//\{t\}/events_X}\`"
echo "- full scan: \`${SCAN_SQL//\{t\}/events_X}\`"
echo
echo "lsm.stats('events_lsm') after the pgbench runs:"
echo
echo '```'
echo "$LSM_STATS_A"
echo '```'
echo
echo "lsm.stats('events_lsm') at the end:"
echo
echo '```'
echo "$LSM_STATS"
echo '```'
