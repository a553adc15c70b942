#!/usr/bin/env bash
# bench/schema.sh — how long the background worker takes to migrate a table
# to its newest schema version after ALTER TABLE, without user action, in a
# throwaway cluster (lsm_am preloaded, the worker on).  Prints a Markdown
# report on stdout (progress goes to stderr).
#
# Usage: bench/schema.sh [rows]             default rows: 1000000
#
# `rows` rows of bench/gen.sql are COPYed into an lsm table (and a heap
# twin), in one transaction, so they form segments of lsm.segment_rows
# rows.  Then, with the worker off, ALTER TABLE adds a column with a
# constant default and drops another (two new schema versions); the worker
# is turned on and the script polls lsm.stats / lsm.schema_versions every
# 0.2 s until the watermark is the current version (every row migrated)
# and until the old versions are evicted.  The times are from the moment
# the worker is enabled; the worker's first round starts within
# lsm.naptime (BENCH_NAPTIME, default 1 s; lsm_am's default is 10 s).
# For comparison: lsm.compact(full) of the same table after one more
# ALTER, in the foreground, and the heap twin's ALTER ... ADD COLUMN with
# a volatile default (a full rewrite).  The lsm and heap tables are then
# compared row by row.
#
# Environment: BENCH_NAPTIME=1, BENCH_SEGMENT_ROWS (lsm.segment_rows; the
# default is lsm_am's), BENCH_NO_BUILD=1, LSM_KEEP=1.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$BENCH_DIR/../scripts/lib.sh"

ROWS=${1:-1000000}
[[ $ROWS =~ ^[0-9]+$ ]] && [ "$ROWS" -ge 1000 ] || lsm_die "rows must be an integer >= 1000"
NAPTIME=${BENCH_NAPTIME:-1}

if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
	lsm_build_install_quiet
fi
lsm_bench_cluster_start 1GB 0
lsm_psql -c "ALTER SYSTEM SET lsm.naptime = $NAPTIME" -c "ALTER SYSTEM SET lsm.log_compactions = on" \
	-c "ALTER SYSTEM SET lsm.enable_worker = off" -c "SELECT pg_reload_conf()" >/dev/null
if [ -n "${BENCH_SEGMENT_ROWS:-}" ]; then
	lsm_psql -c "ALTER SYSTEM SET lsm.segment_rows = $BENCH_SEGMENT_ROWS" -c "SELECT pg_reload_conf()" >/dev/null
fi
lsm_psql -c "CREATE EXTENSION lsm_am" >/dev/null
lsm_psql <"$BENCH_DIR/gen.sql" >/dev/null

now_ms() { date +%s%3N; }

lsm_log "loading $ROWS rows"
lsm_psql -c "COPY (SELECT * FROM bench.events($ROWS)) TO '$LSM_TMP/events.data'" >/dev/null
lsm_psql -c "SELECT bench.create_events('ev', 'lsm')" -c "SELECT bench.create_events('evh', 'heap')" >/dev/null
lsm_psql -c "COPY ev FROM '$LSM_TMP/events.data'" -c "COPY evh FROM '$LSM_TMP/events.data'" >/dev/null
segments=$(lsm_psql_value "SELECT count(*) FROM lsm.segments('ev')")
mb=$(lsm_psql_value "SELECT round(sum(bytes) / 1048576.0, 1) FROM lsm.segments('ev')")

lsm_log "ALTER TABLE: add a column with a default, drop one"
for t in ev evh; do
	lsm_psql -c "ALTER TABLE $t ADD COLUMN region int DEFAULT 7" -c "ALTER TABLE $t DROP COLUMN tags" >/dev/null
done
versions_before=$(lsm_psql_value "SELECT count(*) FROM lsm.schema_versions('ev')")

lsm_log "worker on; waiting for the watermark"
start=$(now_ms)
lsm_psql -c "ALTER SYSTEM SET lsm.enable_worker = on" -c "SELECT pg_reload_conf()" >/dev/null
migrated_ms=""
evicted_ms=""
deadline=$(( start + 1800 * 1000 ))
while [ "$(now_ms)" -lt "$deadline" ]; do
	state=$(lsm_psql_value "SELECT s.watermark = s.schema_version, (SELECT count(*) FROM lsm.schema_versions('ev')) = 1 FROM lsm.stats('ev') s")
	if [ -z "$migrated_ms" ] && [[ $state == t* ]]; then
		migrated_ms=$(( $(now_ms) - start ))
		lsm_log "migrated after $migrated_ms ms"
	fi
	if [[ $state == *"|t" ]]; then
		evicted_ms=$(( $(now_ms) - start ))
		break
	fi
	sleep 0.2
done
[ -n "$evicted_ms" ] || lsm_die "the worker did not advance the watermark within 30 minutes"
passes=$(grep -c 'lsm compaction of "public.ev"' "$LSM_TMP/server.log" 2>/dev/null || true)
lsm_psql -c "ALTER SYSTEM SET lsm.enable_worker = off" -c "SELECT pg_reload_conf()" >/dev/null

diff=$(lsm_psql_value "SELECT count(*) FROM ((SELECT * FROM ev EXCEPT ALL SELECT * FROM evh) UNION ALL (SELECT * FROM evh EXCEPT ALL SELECT * FROM ev)) d")

lsm_log "foreground: lsm.compact(full) after another ALTER; heap rewrite"
lsm_psql -c "ALTER TABLE ev ADD COLUMN flag bool DEFAULT true" >/dev/null
t0=$(now_ms)
lsm_psql -c "SELECT * FROM lsm.compact('ev', true)" >/dev/null
full_ms=$(( $(now_ms) - t0 ))
t0=$(now_ms)
lsm_psql -c "ALTER TABLE evh ADD COLUMN flag bool DEFAULT (random() >= 0)" >/dev/null
heap_rewrite_ms=$(( $(now_ms) - t0 ))

cat <<EOF
## bench/schema.sh $ROWS

| | |
|---|---:|
| rows / segments / compressed MB | $ROWS / $segments / $mb |
| schema versions after the two ALTERs | $versions_before |
| lsm.naptime (s) | $NAPTIME |
| worker enabled → watermark = current version (s) | $(awk -v m="$migrated_ms" 'BEGIN { printf "%.1f", m / 1000 }') |
| worker enabled → old versions evicted (s) | $(awk -v m="$evicted_ms" 'BEGIN { printf "%.1f", m / 1000 }') |
| worker passes over the table (LOG lines) | $passes |
| rows differing from the heap twin afterwards | $diff |
| foreground lsm.compact(full) after one more ALTER (s) | $(awk -v m="$full_ms" 'BEGIN { printf "%.1f", m / 1000 }') |
| heap: ALTER ... ADD COLUMN with a volatile default, a rewrite (s) | $(awk -v m="$heap_rewrite_ms" 'BEGIN { printf "%.1f", m / 1000 }') |
EOF
