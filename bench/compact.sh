#!/usr/bin/env bash
# bench/compact.sh — compaction figures in a throwaway cluster (the
# background worker runs: lsm_am is preloaded).  Prints a Markdown report on
# stdout (progress goes to stderr).
#
# Usage: bench/compact.sh [rows]            default rows: 2000000
#
# Phases:
#   A. throughput: `rows` rows of bench/gen.sql loaded as 20 level-0
#      segments with 10% of them deleted; lsm.compact(full) timed
#      (rows/s and MB/s of input, one core)
#   B. scans: rows/20 rows loaded as 100 single-COPY level-0 segments
#      (worker off); count/sum scan timed; compacted; timed again; and the
#      same rows bulk-loaded fresh into one table, timed; heap timed too
#   C. trickle: 8 pgbench clients inserting one row per transaction for
#      BENCH_SECONDS with the worker on (lsm.naptime = 1); the level-0
#      count is sampled every 0.2 s; write amplification = bytes written by
#      compactions / bytes written by flushes
#   D. UPDATE workload: pgbench single-row UPDATE by id for BENCH_SECONDS
#      with the worker on; space amplification = live segment bytes (and
#      the relation file) / bytes after lsm.compact(full)
#
# Environment: BENCH_SECONDS=20, BENCH_RUNS=5, BENCH_NO_BUILD=1, LSM_KEEP=1
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$BENCH_DIR/../scripts/lib.sh"

ROWS=${1:-2000000}
[[ $ROWS =~ ^[0-9]+$ ]] && [ "$ROWS" -ge 20000 ] || lsm_die "rows must be an integer >= 20000"
SECONDS_RUN=${BENCH_SECONDS:-20}
RUNS=${BENCH_RUNS:-5}
TRIGGER=8

if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
	lsm_build_install_quiet
fi
lsm_bench_cluster_start 1GB 0
lsm_psql -c "ALTER SYSTEM SET lsm.naptime = 1" -c "ALTER SYSTEM SET lsm.log_compactions = on" \
	-c "ALTER SYSTEM SET lsm.compact_l0_trigger = $TRIGGER" -c "ALTER SYSTEM SET lsm.enable_worker = off" \
	-c "SELECT pg_reload_conf()" >/dev/null
lsm_psql -c "CREATE EXTENSION lsm_am" >/dev/null
lsm_psql <"$BENCH_DIR/gen.sql" >/dev/null
worker() { lsm_psql -c "ALTER SYSTEM SET lsm.enable_worker = $1" -c "SELECT pg_reload_conf()" >/dev/null; }

# ------------------------------------------------------------ A. throughput
lsm_log "A: loading $ROWS rows as 20 level-0 segments"
lsm_psql -c "SELECT bench.create_events('ev_a', 'lsm')" >/dev/null
per=$((ROWS / 20))
for ((k = 0; k < 20; k++)); do
	lsm_psql -c "INSERT INTO ev_a SELECT * FROM bench.events($per, $((k * per + 1)))"
done
lsm_psql -c "DELETE FROM ev_a WHERE id % 10 = 0" >/dev/null
A_OUT=$(lsm_psql -At -F ' ' -c "\\timing on" -c "SELECT segments_in, segments_out, rows_in, rows_out, bytes_in, bytes_out, deletes_folded FROM lsm.compact('ev_a', full => true)")
read -r A_SIN A_SOUT A_RIN A_ROUT A_BIN A_BOUT A_DF <<<"$(echo "$A_OUT" | head -n 1)"
A_MS=$(echo "$A_OUT" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p')
lsm_psql -At -c "SELECT rows_checked FROM lsm.verify('ev_a')" >/dev/null

# ----------------------------------------------------------------- B. scans
BROWS=$((ROWS / 2))
lsm_log "B: $BROWS rows as 100 level-0 segments"
lsm_psql -c "SELECT bench.create_events('ev_b', 'lsm')" >/dev/null
per=$((BROWS / 100))
for ((k = 0; k < 100; k++)); do
	lsm_psql -c "INSERT INTO ev_b SELECT * FROM bench.events($per, $((k * per + 1)))"
done
lsm_psql -c "SELECT bench.create_events('ev_fresh', 'lsm')" \
	-c "INSERT INTO ev_fresh SELECT * FROM bench.events($((per * 100)))" >/dev/null
lsm_psql -c "SELECT bench.create_events('ev_heap', 'heap')" \
	-c "INSERT INTO ev_heap SELECT * FROM bench.events($((per * 100)))" -c "VACUUM ANALYZE ev_heap" >/dev/null
SCAN="SELECT count(*), sum(amount), sum(duration), count(DISTINCT device) FROM"
B_L0=$(lsm_psql_value "SELECT count(*) FROM lsm.segments('ev_b') WHERE level = 0")
B_BEFORE=$(lsm_time_query "$RUNS" "$SCAN ev_b")
lsm_psql -c "SELECT * FROM lsm.compact('ev_b')" >/dev/null
B_SEGS_AFTER=$(lsm_psql_value "SELECT count(*) FROM lsm.segments('ev_b')")
B_AFTER=$(lsm_time_query "$RUNS" "$SCAN ev_b")
B_FRESH=$(lsm_time_query "$RUNS" "$SCAN ev_fresh")
B_HEAP=$(lsm_time_query "$RUNS" "$SCAN ev_heap")
[ "$(lsm_psql_value "$SCAN ev_b")" = "$(lsm_psql_value "$SCAN ev_fresh")" ] || lsm_die "ev_b and ev_fresh differ"

# --------------------------------------------------------------- C. trickle
lsm_log "C: 8 clients inserting single rows for ${SECONDS_RUN}s with the worker on"
lsm_psql -c "CREATE TABLE trickle (id bigserial PRIMARY KEY, ts timestamptz DEFAULT now(), v int) USING lsm" >/dev/null
echo "INSERT INTO trickle (v) VALUES (1);" >"$LSM_TMP/trickle.sql"
chmod 644 "$LSM_TMP/trickle.sql"
worker on
: >"$LSM_TMP/l0.samples"
(
	end=$((SECONDS + SECONDS_RUN + 1))
	while [ $SECONDS -lt $end ]; do
		lsm_psql_value "SELECT count(*) FROM lsm.segments('trickle') WHERE level = 0" >>"$LSM_TMP/l0.samples" 2>/dev/null || true
		sleep 0.2
	done
) &
SAMPLER=$!
C_TPS=$(lsm_as_pg "$(lsm_pgbin)/pgbench" -n -c 8 -j 2 -T "$SECONDS_RUN" -f "$LSM_TMP/trickle.sql" \
	-h "$LSM_PGHOST" -p "$LSM_PGPORT" -U postgres postgres 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
wait "$SAMPLER" || true
C_MAXL0=$(sort -n "$LSM_TMP/l0.samples" | tail -n 1)
C_ROWS=$(lsm_psql_value "SELECT count(*) FROM trickle")
C_COMPACTED=$(grep -o 'lsm compaction of "public.trickle": .* bytes into [0-9]*' "$LSM_PGLOG" |
	sed 's/.* bytes into \([0-9]*\)$/\1/' | awk '{s += $1} END {print s + 0}')
C_FILE=$(lsm_psql_value "SELECT relation_bytes FROM lsm.stats('trickle')")
# the relation file holds every byte ever written (pages are not reused yet):
# flushes + compactions (+ the metapage)
C_FLUSHED=$((C_FILE - 8192 - C_COMPACTED))
C_WA=$(awk -v c="$C_COMPACTED" -v f="$C_FLUSHED" 'BEGIN { if (f > 0) printf "%.2f", c / f; else print "n/a" }')
worker off

# ------------------------------------------------------------------ D. UPDATE
DROWS=$((ROWS / 4))
lsm_log "D: single-row UPDATEs on $DROWS rows for ${SECONDS_RUN}s with the worker on"
lsm_psql -c "SELECT bench.create_events('ev_d', 'lsm')" \
	-c "INSERT INTO ev_d SELECT * FROM bench.events($DROWS)" -c "ALTER TABLE ev_d ADD PRIMARY KEY (id)" >/dev/null
D_START=$(lsm_psql_value "SELECT bytes FROM lsm.stats('ev_d')")
printf '\\set id random(1, %s)\nUPDATE ev_d SET amount = amount + 1 WHERE id = :id;\n' "$DROWS" >"$LSM_TMP/upd.sql"
chmod 644 "$LSM_TMP/upd.sql"
worker on
D_TPS=$(lsm_as_pg "$(lsm_pgbin)/pgbench" -n -M prepared -c 4 -j 2 -T "$SECONDS_RUN" -f "$LSM_TMP/upd.sql" \
	-h "$LSM_PGHOST" -p "$LSM_PGPORT" -U postgres postgres 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
sleep 3
worker off
read -r D_SEGS D_L0 D_BYTES D_FILE D_DELS <<<"$(lsm_psql -At -F ' ' -c "SELECT segments, l0_segments, bytes, relation_bytes, delete_records FROM lsm.stats('ev_d')")"
lsm_psql -c "SELECT * FROM lsm.compact('ev_d', full => true)" >/dev/null
D_FULL=$(lsm_psql_value "SELECT bytes FROM lsm.stats('ev_d')")
D_AMP=$(awk -v a="$D_BYTES" -v b="$D_FULL" 'BEGIN { printf "%.2f", a / b }')
D_FAMP=$(awk -v a="$D_FILE" -v b="$D_FULL" 'BEGIN { printf "%.2f", a / b }')

# ----------------------------------------------------------------- report
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
echo "## bench/compact.sh $ROWS"
echo
echo "- machine: $(nproc) cores; PostgreSQL $(lsm_psql_value 'SHOW server_version'); lsm.compact_l0_trigger = $TRIGGER, lsm.naptime = 1 s"
echo
echo "| measure | value |"
echo "|---|---:|"
echo "| A. lsm.compact(full): $A_SIN segments, $A_RIN rows, $A_BIN bytes in -> $A_SOUT segments, $A_ROUT rows, $A_BOUT bytes ($A_DF delete records folded) | $(awk -v m="$A_MS" 'BEGIN { printf "%.2f s", m / 1000 }') |"
echo "| A. compaction throughput, rows/s (one core) | $(awk -v r="$A_RIN" -v m="$A_MS" 'BEGIN { printf "%.0f", r / (m / 1000) }') |"
echo "| A. compaction throughput, input MB/s (one core) | $(awk -v b="$A_BIN" -v m="$A_MS" 'BEGIN { printf "%.1f", b / 1048576 / (m / 1000) }') |"
echo "| B. scan, $B_L0 level-0 segments (ms) | $B_BEFORE |"
echo "| B. scan after lsm.compact ($B_SEGS_AFTER segments) (ms) | $B_AFTER |"
echo "| B. scan, same rows bulk-loaded (ms) | $B_FRESH |"
echo "| B. scan, heap (ms) | $B_HEAP |"
echo "| B. after compaction / bulk-loaded | $(ratio "$B_AFTER" "$B_FRESH") |"
echo "| B. 100 level-0 segments / bulk-loaded | $(ratio "$B_BEFORE" "$B_FRESH") |"
echo "| C. trickle insert TPS (8 clients, single-row transactions) | $C_TPS |"
echo "| C. rows inserted | $C_ROWS |"
echo "| C. largest level-0 count sampled (trigger $TRIGGER) | $C_MAXL0 |"
echo "| C. write amplification (compaction bytes / flushed bytes) | $C_WA |"
echo "| D. UPDATE TPS (4 clients) | $D_TPS |"
echo "| D. after the run: segments / level-0 / delete records | $D_SEGS / $D_L0 / $D_DELS |"
echo "| D. space amplification, live segment bytes / after lsm.compact(full) | $D_AMP |"
echo "| D. space amplification, relation file / after lsm.compact(full) (extents are not reused yet) | $D_FAMP |"
echo "| D. bytes at start / after the run / after full compaction | $D_START / $D_BYTES / $D_FULL |"
echo
echo "Reproduce: \`bench/compact.sh $ROWS\` (BENCH_SECONDS=$SECONDS_RUN, BENCH_RUNS=$RUNS)."
