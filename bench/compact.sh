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
#      (rows/s and MB/s of input, compressed and uncompressed, one core)
#   B. scans: rows/2 rows loaded as 100 level-0 segments (worker off),
#      and bulk-loaded into another lsm table and a heap table; a
#      count/sum scan of the three timed in interleaved rounds; the first
#      table compacted; timed again the same way
#   C. trickle: 8 pgbench clients inserting one row per transaction for
#      BENCH_SECONDS with the worker on (lsm.naptime = 1); the level-0
#      count is sampled every 0.2 s; write amplification = bytes written by
#      the worker's compactions (its LOG lines) / bytes written by the
#      clients' flushes (one single-row level-0 segment per transaction,
#      of the sampled size), and / bytes of the rows after lsm.compact(full);
#      then the same clients on a heap table, for the TPS ratio
#   D. UPDATE workload: rows/4 rows bulk-loaded in BENCH_D_SEGMENTS (16)
#      segments (lsm.segment_rows set for the phase, unless
#      BENCH_SEGMENT_ROWS is given), 4 pgbench clients updating one row by
#      id per transaction for BENCH_SECONDS with the worker on; the
#      relation size is sampled every 2 s; space amplification = relation
#      file (and live segment bytes) / live segment bytes after
#      lsm.compact(full); then the same workload on a heap table: its file
#      / its file after VACUUM FULL
#
# Environment: BENCH_SECONDS=20, BENCH_RUNS=5, BENCH_PHASES="A B C D" (the
# phases to run), BENCH_SEGMENT_ROWS (lsm.segment_rows of the cluster; the
# default is lsm_am's), BENCH_D_SEGMENTS (16), BENCH_L0_STOP (lsm.compact_l0_stop of the cluster;
# 0 = twice the trigger, the default; -1 = no stall), BENCH_NO_BUILD=1, LSM_KEEP=1.  pgbench outputs
# and samples are written to the cluster directory, which LSM_KEEP=1 keeps
# (with the server log).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$BENCH_DIR/../scripts/lib.sh"

ROWS=${1:-2000000}
[[ $ROWS =~ ^[0-9]+$ ]] && [ "$ROWS" -ge 20000 ] || lsm_die "rows must be an integer >= 20000"
SECONDS_RUN=${BENCH_SECONDS:-20}
RUNS=${BENCH_RUNS:-5}
PHASES=${BENCH_PHASES:-A B C D}
phase() { [[ " $PHASES " == *" $1 "* ]]; }
TRIGGER=8

if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
	lsm_build_install_quiet
fi
lsm_bench_cluster_start 1GB 0
lsm_psql -c "ALTER SYSTEM SET lsm.naptime = 1" -c "ALTER SYSTEM SET lsm.log_compactions = on" \
	-c "ALTER SYSTEM SET lsm.compact_l0_trigger = $TRIGGER" -c "ALTER SYSTEM SET lsm.enable_worker = off" \
	-c "SELECT pg_reload_conf()" >/dev/null
if [ -n "${BENCH_L0_STOP:-}" ]; then
	lsm_psql -c "ALTER SYSTEM SET lsm.compact_l0_stop = $BENCH_L0_STOP" -c "SELECT pg_reload_conf()" >/dev/null
fi
if [ -n "${BENCH_SEGMENT_ROWS:-}" ]; then
	lsm_psql -c "ALTER SYSTEM SET lsm.segment_rows = $BENCH_SEGMENT_ROWS" -c "SELECT pg_reload_conf()" >/dev/null
fi
lsm_psql -c "CREATE EXTENSION lsm_am" >/dev/null
lsm_psql <"$BENCH_DIR/gen.sql" >/dev/null
worker() { lsm_psql -c "ALTER SYSTEM SET lsm.enable_worker = $1" -c "SELECT pg_reload_conf()" >/dev/null; }

# time_rounds RUNS SQL...: one warm-up round, then RUNS rounds that each run
# every SQL once, in one session; prints each one's median milliseconds
time_rounds()
{
	local runs=$1 n i k sql
	shift
	n=$#
	for ((i = 0; i <= runs; i++)); do
		for sql in "$@"; do echo "$sql;"; done
	done | lsm_psql_timings | tail -n +$((n + 1)) >"$LSM_TMP/rounds.ms"
	for ((k = 0; k < n; k++)); do
		awk -v n="$n" -v k="$k" '(NR - 1) % n == k' "$LSM_TMP/rounds.ms" | lsm_median
	done | tr '\n' ' '
}

# run_pgbench NAME ARGS...: pgbench against the cluster, output kept in
# $LSM_TMP/NAME.pgbench; prints the TPS, and warns on stderr if a client
# failed (the run still counts: its TPS is what the others did)
run_pgbench()
{
	local name=$1 out
	shift
	out=$LSM_TMP/$name.pgbench
	lsm_as_pg "$(lsm_pgbin)/pgbench" -n "$@" -h "$LSM_PGHOST" -p "$LSM_PGPORT" -U postgres postgres \
		>"$out" 2>&1 || lsm_log "pgbench $name exited with $? (see $out): $(grep -m 3 -i 'error\|abort' "$out" | tr '\n' ' ')"
	sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$out" | head -n 1
}

# ------------------------------------------------------------ A. throughput
if phase A; then
	lsm_log "A: loading $ROWS rows as 20 level-0 segments"
	lsm_psql -c "SELECT bench.create_events('ev_a', 'lsm')" >/dev/null
	per=$((ROWS / 20))
	for ((k = 0; k < 20; k++)); do
		lsm_psql -c "INSERT INTO ev_a SELECT * FROM bench.events($per, $((k * per + 1)))"
	done
	lsm_psql -c "DELETE FROM ev_a WHERE id % 10 = 0" >/dev/null
	A_RAW=$(lsm_psql_value "SELECT sum(uncompressed_bytes) FROM lsm.segments('ev_a')")
	A_OUT=$(lsm_psql -At -F ' ' -c "\\timing on" -c "SELECT segments_in, segments_out, rows_in, rows_out, bytes_in, bytes_out, deletes_folded FROM lsm.compact('ev_a', full => true)")
	read -r A_SIN A_SOUT A_RIN A_ROUT A_BIN A_BOUT A_DF <<<"$(echo "$A_OUT" | head -n 1)"
	A_MS=$(echo "$A_OUT" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p')
	lsm_psql -At -c "SELECT rows_checked FROM lsm.verify('ev_a')" >/dev/null

fi

# ----------------------------------------------------------------- B. scans
if phase B; then
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
	# the timings of ev_b before and after its compaction are taken
	# interleaved with the bulk-loaded table and heap (one of each per round),
	# so that the ratios hold even when the machine's load changes
	read -r B_BEFORE B_FRESH1 B_HEAP1 <<<"$(time_rounds "$RUNS" "$SCAN ev_b" "$SCAN ev_fresh" "$SCAN ev_heap")"
	lsm_psql -c "SELECT * FROM lsm.compact('ev_b')" >/dev/null
	B_SEGS_AFTER=$(lsm_psql_value "SELECT count(*) FROM lsm.segments('ev_b')")
	read -r B_AFTER B_FRESH B_HEAP <<<"$(time_rounds "$RUNS" "$SCAN ev_b" "$SCAN ev_fresh" "$SCAN ev_heap")"
	[ "$(lsm_psql_value "$SCAN ev_b")" = "$(lsm_psql_value "$SCAN ev_fresh")" ] || lsm_die "ev_b and ev_fresh differ"

fi

# --------------------------------------------------------------- C. trickle
if phase C; then
	lsm_log "C: 8 clients inserting single rows for ${SECONDS_RUN}s with the worker on"
	C_STOP=$(lsm_psql_value "SHOW lsm.compact_l0_stop")
	lsm_psql -c "CREATE TABLE trickle (id bigserial PRIMARY KEY, ts timestamptz DEFAULT now(), v int) USING lsm" >/dev/null
	echo "INSERT INTO trickle (v) VALUES (1);" >"$LSM_TMP/trickle.sql"
	chmod 644 "$LSM_TMP/trickle.sql"
	worker on
	: >"$LSM_TMP/l0.samples"
	(
		end=$((SECONDS + SECONDS_RUN + 1))
		while [ $SECONDS -lt $end ]; do
			lsm_psql -At -F ' ' -c "SELECT count(*), coalesce(min(bytes), 0), coalesce(max(bytes), 0) FROM lsm.segments('trickle') WHERE level = 0" \
				>>"$LSM_TMP/l0.samples" 2>/dev/null || true
			sleep 0.2
		done
	) &
	SAMPLER=$!
	C_TPS=$(run_pgbench trickle -c 8 -j 2 -T "$SECONDS_RUN" -f "$LSM_TMP/trickle.sql")
	wait "$SAMPLER" || true
	worker off
	read -r C_NS C_MAXL0 C_P95 C_MEANL0 C_OVER <<<"$(awk '{ print $1 }' "$LSM_TMP/l0.samples" | sort -n |
		awk -v lim=$((2 * TRIGGER)) '{ v[NR] = $1; s += $1; if ($1 > lim) o++ }
		END { p = int(NR * 0.95); if (p < 1) p = 1; printf "%d %d %d %.1f %.0f", NR, v[NR], v[p], s / NR, 100 * o / NR }')"
	# single-row level-0 segments all have about the same size: take the
	# samples' range (they are reported too)
	read -r C_SEGMIN C_SEGMAX <<<"$(awk '$1 > 0 { if (!mn || $2 < mn) mn = $2; if ($3 > mx) mx = $3 } END { print mn + 0, mx + 0 }' "$LSM_TMP/l0.samples")"
	C_ROWS=$(lsm_psql_value "SELECT count(*) FROM trickle")
	C_COMPACTED=$(grep -o 'lsm compaction of "public.trickle": .* bytes into [0-9]*' "$LSM_PGLOG" |
		sed 's/.* bytes into \([0-9]*\)$/\1/' | awk '{s += $1} END {print s + 0}')
	C_PASSES=$(grep -c 'lsm compaction of "public.trickle"' "$LSM_PGLOG" || true)
	# every transaction flushed one single-row segment
	C_FLUSHED=$(awk -v r="$C_ROWS" -v a="$C_SEGMIN" -v b="$C_SEGMAX" 'BEGIN { printf "%.0f", r * (a + b) / 2 }')
	C_WA=$(awk -v c="$C_COMPACTED" -v f="$C_FLUSHED" 'BEGIN { if (f > 0) printf "%.2f", c / f; else print "n/a" }')
	lsm_psql -c "SELECT * FROM lsm.compact('trickle', full => true)" >/dev/null
	C_DATA=$(lsm_psql_value "SELECT bytes FROM lsm.stats('trickle')")
	C_WAD=$(awk -v c="$C_COMPACTED" -v f="$C_DATA" 'BEGIN { if (f > 0) printf "%.1f", c / f; else print "n/a" }')

	# the same workload on a heap table, for the throughput ratio
	lsm_log "C: the same on heap"
	lsm_psql -c "CREATE TABLE trickle_heap (id bigserial PRIMARY KEY, ts timestamptz DEFAULT now(), v int) USING heap" >/dev/null
	echo "INSERT INTO trickle_heap (v) VALUES (1);" >"$LSM_TMP/trickle_heap.sql"
	chmod 644 "$LSM_TMP/trickle_heap.sql"
	C_HEAP_TPS=$(run_pgbench trickle_heap -c 8 -j 2 -T "$SECONDS_RUN" -f "$LSM_TMP/trickle_heap.sql")
	C_RATIO=$(awk -v l="$C_TPS" -v h="$C_HEAP_TPS" 'BEGIN { if (h > 0) printf "%.2f", l / h; else print "n/a" }')

fi

# ------------------------------------------------------------------ D. UPDATE
if phase D; then
	DROWS=$((ROWS / 4))
	D_SEGMENTS=${BENCH_D_SEGMENTS:-16}
	if [ -z "${BENCH_SEGMENT_ROWS:-}" ]; then
		# the table spans D_SEGMENTS segments, as a table of D_SEGMENTS x
		# lsm.segment_rows rows does under the default
		lsm_psql -c "ALTER SYSTEM SET lsm.segment_rows = $(((DROWS + D_SEGMENTS - 1) / D_SEGMENTS))" -c "SELECT pg_reload_conf()" >/dev/null
	fi
	D_SEGROWS=$(lsm_psql_value "SHOW lsm.segment_rows")
	lsm_log "D: single-row UPDATEs on $DROWS rows (segments of $D_SEGROWS rows) for ${SECONDS_RUN}s with the worker on"
	lsm_psql -c "SELECT bench.create_events('ev_d', 'lsm')" \
		-c "INSERT INTO ev_d SELECT * FROM bench.events($DROWS)" -c "ALTER TABLE ev_d ADD PRIMARY KEY (id)" >/dev/null
	D_START=$(lsm_psql_value "SELECT bytes FROM lsm.stats('ev_d')")
	printf '\\set id random(1, %s)\nUPDATE ev_d SET amount = amount + 1 WHERE id = :id;\n' "$DROWS" >"$LSM_TMP/upd.sql"
	chmod 644 "$LSM_TMP/upd.sql"
	worker on
	: >"$LSM_TMP/d.samples"
	(
		end=$((SECONDS + SECONDS_RUN + 1))
		while [ $SECONDS -lt $end ]; do
			# relation file, pages of the segments a fresh snapshot sees (not
			# their holes), their bytes
			lsm_psql -At -F ' ' -c "SELECT s.relation_bytes, (SELECT sum(ceil(bytes / 8168.0)) * 8192 FROM lsm.segments('ev_d')), s.bytes FROM lsm.stats('ev_d') s" >>"$LSM_TMP/d.samples" 2>/dev/null || true
			sleep 2
		done
	) &
	SAMPLER=$!
	D_TPS=$(run_pgbench update -M prepared -c 4 -j 2 -T "$SECONDS_RUN" -f "$LSM_TMP/upd.sql")
	wait "$SAMPLER" || true
	sleep 3
	worker off
	read -r D_SEGS D_L0 D_BYTES D_FILE D_DELS <<<"$(lsm_psql -At -F ' ' -c "SELECT segments, l0_segments, bytes, relation_bytes, delete_records FROM lsm.stats('ev_d')")"
	D_MAXFILE=$(sort -n "$LSM_TMP/d.samples" | tail -n 1 | cut -d ' ' -f 1)
	D_MAXFILE=$((D_MAXFILE > D_FILE ? D_MAXFILE : D_FILE))
	D_HALF=$(awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] + 0 }' "$LSM_TMP/d.samples")
	lsm_psql -c "SELECT * FROM lsm.compact('ev_d', full => true)" >/dev/null
	D_FULL=$(lsm_psql_value "SELECT bytes FROM lsm.stats('ev_d')")
	D_AMP=$(awk -v a="$D_BYTES" -v b="$D_FULL" 'BEGIN { printf "%.2f", a / b }')
	D_FAMP=$(awk -v a="$D_FILE" -v b="$D_FULL" 'BEGIN { printf "%.2f", a / b }')
	D_MAXAMP=$(awk -v a="$D_MAXFILE" -v b="$D_FULL" 'BEGIN { printf "%.2f", a / b }')
	D_HALFAMP=$(awk -v a="$D_HALF" -v b="$D_FULL" 'BEGIN { printf "%.2f", a / b }')
	if [ -z "${BENCH_SEGMENT_ROWS:-}" ]; then
		lsm_psql -c "ALTER SYSTEM RESET lsm.segment_rows" -c "SELECT pg_reload_conf()" >/dev/null
	fi

	# heap under the same workload: its file at the end against the file
	# after VACUUM FULL (autovacuum is off in benchmark clusters; heap's
	# single-row UPDATEs are HOT and pruned on the page)
	lsm_log "D: the same on heap"
	lsm_psql -c "SELECT bench.create_events('ev_dh', 'heap')" \
		-c "INSERT INTO ev_dh SELECT * FROM bench.events($DROWS)" -c "ALTER TABLE ev_dh ADD PRIMARY KEY (id)" \
		-c "VACUUM ANALYZE ev_dh" >/dev/null
	sed 's/ev_d /ev_dh /' "$LSM_TMP/upd.sql" >"$LSM_TMP/updh.sql"
	chmod 644 "$LSM_TMP/updh.sql"
	D_HTPS=$(run_pgbench updateh -M prepared -c 4 -j 2 -T "$SECONDS_RUN" -f "$LSM_TMP/updh.sql")
	sleep 3
	D_HFILE=$(lsm_psql_value "SELECT pg_relation_size('ev_dh')")
	lsm_psql -c "VACUUM FULL ev_dh" >/dev/null
	D_HFULL=$(lsm_psql_value "SELECT pg_relation_size('ev_dh')")
	D_HAMP=$(awk -v a="$D_HFILE" -v b="$D_HFULL" 'BEGIN { printf "%.2f", a / b }')

fi

# ----------------------------------------------------------------- report
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
echo "## bench/compact.sh $ROWS"
echo
echo "- machine: $(nproc) cores; PostgreSQL $(lsm_psql_value 'SHOW server_version'); lsm.compact_l0_trigger = $TRIGGER, lsm.naptime = 1 s, lsm.segment_rows = $(lsm_psql_value 'SHOW lsm.segment_rows'), lsm.compact_l0_stop = $(lsm_psql_value 'SHOW lsm.compact_l0_stop')"
echo
echo "| measure | value |"
echo "|---|---:|"
if phase A; then
	echo "| A. lsm.compact(full): $A_SIN segments, $A_RIN rows, $A_BIN bytes in -> $A_SOUT segments, $A_ROUT rows, $A_BOUT bytes ($A_DF delete records folded) | $(awk -v m="$A_MS" 'BEGIN { printf "%.2f s", m / 1000 }') |"
	echo "| A. compaction throughput, rows/s (one core) | $(awk -v r="$A_RIN" -v m="$A_MS" 'BEGIN { printf "%.0f", r / (m / 1000) }') |"
	echo "| A. compaction throughput, input MB/s (compressed, one core) | $(awk -v b="$A_BIN" -v m="$A_MS" 'BEGIN { printf "%.1f", b / 1048576 / (m / 1000) }') |"
	echo "| A. compaction throughput, input MB/s (uncompressed, one core) | $(awk -v b="$A_RAW" -v m="$A_MS" 'BEGIN { printf "%.1f", b / 1048576 / (m / 1000) }') |"
fi
if phase B; then
	echo "| B. scan, $B_L0 level-0 segments; bulk-loaded; heap (ms, same rounds) | $B_BEFORE; $B_FRESH1; $B_HEAP1 |"
	echo "| B. scan after lsm.compact ($B_SEGS_AFTER segments); bulk-loaded; heap (ms, same rounds) | $B_AFTER; $B_FRESH; $B_HEAP |"
	echo "| B. after compaction / bulk-loaded | $(ratio "$B_AFTER" "$B_FRESH") |"
	echo "| B. $B_L0 level-0 segments / bulk-loaded | $(ratio "$B_BEFORE" "$B_FRESH1") |"
	echo "| B. heap / bulk-loaded lsm | $(ratio "$B_HEAP" "$B_FRESH") |"
fi
if phase C; then
	echo "| C. trickle insert TPS (8 clients, single-row transactions; lsm.compact_l0_stop = $C_STOP) | $C_TPS |"
	echo "| C. heap, the same workload after it: TPS; lsm / heap | $C_HEAP_TPS; $C_RATIO |"
	echo "| C. rows inserted; worker passes over the table | $C_ROWS; $C_PASSES |"
	echo "| C. level-0 count over $C_NS samples: max / 95th percentile / mean (trigger $TRIGGER) | $C_MAXL0 / $C_P95 / $C_MEANL0 |"
	echo "| C. samples above 2 x trigger | $C_OVER% |"
	echo "| C. single-row level-0 segment (bytes) | $C_SEGMIN-$C_SEGMAX |"
	echo "| C. write amplification, compaction bytes / flushed bytes | $C_WA ($C_COMPACTED / $C_FLUSHED) |"
	echo "| C. compaction bytes / bytes of the rows after lsm.compact(full) | $C_WAD ($C_COMPACTED / $C_DATA) |"
fi
if phase D; then
	echo "| D. table: $DROWS rows bulk-loaded in segments of $D_SEGROWS rows | |"
	echo "| D. UPDATE TPS (4 clients): lsm; heap | $D_TPS; $D_HTPS |"
	echo "| D. after the run: segments / level-0 / delete records | $D_SEGS / $D_L0 / $D_DELS |"
	echo "| D. space amplification, relation file at the end / live bytes after lsm.compact(full) | $D_FAMP |"
	echo "| D. space amplification, largest relation file sampled / after full; at mid-run | $D_MAXAMP; $D_HALFAMP |"
	echo "| D. live segment bytes at the end / after lsm.compact(full) | $D_AMP |"
	echo "| D. heap, same workload: file at the end / after VACUUM FULL ($D_HFILE / $D_HFULL bytes) | $D_HAMP |"
	echo "| D. bytes at start / live after the run / relation file / after full compaction | $D_START / $D_BYTES / $D_FILE / $D_FULL |"
fi
echo
echo "Reproduce: \`BENCH_SECONDS=$SECONDS_RUN BENCH_RUNS=$RUNS BENCH_PHASES=\"$PHASES\" bench/compact.sh $ROWS\`."
