--
-- lsm_parallel: parallel plans over lsm tables return what heap returns.
-- A Parallel Seq Scan hands out runs of segment blocks to the leader and
-- the workers.  Workers cannot see rows the leader holds in its write
-- buffers, so a parallel query first flushes them into segments (which the
-- workers see, sharing the leader's transaction); rows of an outer
-- subtransaction level cannot be flushed by an inner one, and then the
-- query runs without workers.  Covers aggregates and GROUP BY, workers
-- alone and single-copy Gather, deletes and updates, own rows (also in
-- subtransactions), cursors, rescans, partitions, CREATE TABLE AS and
-- REFRESH writing lsm while workers scan, parallel index builds and
-- parallel index scans; bitmap, TID range and sample scans stay serial.
--
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET min_parallel_index_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
-- the table AM's Parallel Seq Scan first; the LSM Scan's parallel plans at
-- the end
SET lsm.enable_custom_scan = off;

-- segments of 40000, 40000 and 20000 rows: several work units each
SET lsm.segment_rows = 40000;
CREATE TABLE par (id int, grp int, v text, n numeric) USING lsm;
INSERT INTO par SELECT g, g % 7, 'v' || g, g / 4.0 FROM generate_series(1, 100000) g;
RESET lsm.segment_rows;
CREATE TABLE par_heap (id int, grp int, v text, n numeric) USING heap;
INSERT INTO par_heap SELECT * FROM par;
ANALYZE par;
ANALYZE par_heap;
SELECT count(*) AS segments, sum(row_count) AS rows FROM lsm.segments('par');

-- EXPLAIN ANALYZE reduced to the plan shape and the workers launched
CREATE FUNCTION par_explain(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	ln text;
BEGIN
	FOR ln IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || q
	LOOP
		IF ln !~ '^\s*(Rows Removed|Filter|Worker \d|Sort Method|Batches|Memory|Heap Fetches)' THEN
			RETURN NEXT regexp_replace(ln, ' \(actual rows=\d+ loops=\d+\)', '');
		END IF;
	END LOOP;
END
$$;

-- the plan: Gather over a Parallel Seq Scan
EXPLAIN (COSTS OFF) SELECT count(*), sum(id) FROM par;
EXPLAIN (COSTS OFF) SELECT grp, count(*) FROM par GROUP BY grp;

-- aggregates and GROUP BY give heap's answers
SELECT 'lsm' AS t, count(*), sum(id), sum(n), min(v), max(v) FROM par
UNION ALL
SELECT 'heap', count(*), sum(id), sum(n), min(v), max(v) FROM par_heap
ORDER BY 1;
SELECT grp, count(*), sum(id), avg(n) FROM par GROUP BY grp ORDER BY grp;
SELECT grp, count(*), sum(id), avg(n) FROM par_heap GROUP BY grp ORDER BY grp;
SELECT count(*) FROM (SELECT id FROM par EXCEPT ALL SELECT id FROM par_heap) d;
SELECT count(*) FROM (SELECT * FROM par_heap EXCEPT ALL SELECT * FROM par) d;

-- the workers alone (the leader does not scan): they find every row
SET parallel_leader_participation = off;
SELECT * FROM par_explain('SELECT count(*), sum(id) FROM par');
SELECT count(*), sum(id), sum(n) FROM par;
RESET parallel_leader_participation;

-- single-copy Gather above a whole plan run by one worker
SET force_parallel_mode = regress;
SELECT count(*), sum(id) FROM par WHERE grp = 3;
SELECT count(*), sum(id) FROM par_heap WHERE grp = 3;
RESET force_parallel_mode;

-- deletes and updates are applied by every participant (merge-on-read)
DELETE FROM par WHERE id % 10 = 0;
DELETE FROM par_heap WHERE id % 10 = 0;
UPDATE par SET v = 'upd', n = -n WHERE id % 13 = 0;
UPDATE par_heap SET v = 'upd', n = -n WHERE id % 13 = 0;
SELECT 'lsm' AS t, count(*), sum(id), sum(n), count(*) FILTER (WHERE v = 'upd') FROM par
UNION ALL
SELECT 'heap', count(*), sum(id), sum(n), count(*) FILTER (WHERE v = 'upd') FROM par_heap
ORDER BY 1;

-- own deletes and updates, not committed yet
BEGIN;
DELETE FROM par WHERE id % 10 = 1;
DELETE FROM par_heap WHERE id % 10 = 1;
UPDATE par SET n = 0 WHERE id % 10 = 2;
UPDATE par_heap SET n = 0 WHERE id % 10 = 2;
SET LOCAL parallel_leader_participation = off;
SELECT * FROM par_explain('SELECT count(*), sum(n) FROM par');
SELECT 'lsm' AS t, count(*), sum(id), sum(n) FROM par
UNION ALL
SELECT 'heap', count(*), sum(id), sum(n) FROM par_heap
ORDER BY 1;
ROLLBACK;

-- rows inserted earlier in the same transaction are seen exactly once:
-- the parallel query flushes them into a segment of this transaction
BEGIN;
INSERT INTO par SELECT -g, -1, 'own', g FROM generate_series(1, 1500) g;
INSERT INTO par_heap SELECT -g, -1, 'own', g FROM generate_series(1, 1500) g;
SELECT buffered_rows FROM lsm.stats('par');
SELECT 'lsm' AS t, count(*), sum(id), sum(n) FROM par
UNION ALL
SELECT 'heap', count(*), sum(id), sum(n) FROM par_heap
ORDER BY 1;
SELECT buffered_rows FROM lsm.stats('par');
-- the workers alone see them too
INSERT INTO par VALUES (-5000, -1, 'own', 1);
INSERT INTO par_heap VALUES (-5000, -1, 'own', 1);
SET LOCAL parallel_leader_participation = off;
SELECT * FROM par_explain('SELECT count(*) FROM par WHERE id < 0');
SELECT count(*), sum(id) FROM par WHERE id < 0;
SELECT count(*), sum(id) FROM par_heap WHERE id < 0;
ROLLBACK;
SELECT count(*) FROM par WHERE id < 0;

-- a volatile function that the leader runs inside a parallel query plans
-- and runs its own commands (here over a table never analyzed): the flush
-- before the query must leave no command id in use, and planning must not
-- take a new snapshot
CREATE TABLE par_fresh (id int) USING lsm;
INSERT INTO par_fresh VALUES (1), (2);
CREATE FUNCTION par_fresh_count() RETURNS bigint LANGUAGE sql VOLATILE PARALLEL RESTRICTED
AS 'SELECT count(*) FROM par_fresh';
BEGIN;
INSERT INTO par_fresh VALUES (3);
EXPLAIN (COSTS OFF) SELECT par_fresh_count(), count(*) FROM par_heap;
SELECT par_fresh_count(), count(*) FROM par_heap;
ROLLBACK;
-- rows of temporary tables stay buffered (workers never read them); the
-- leader reads them in parallel mode, where no xid can be assigned
CREATE TEMP TABLE par_temp (id int) USING lsm;
CREATE FUNCTION par_temp_count() RETURNS bigint LANGUAGE sql VOLATILE PARALLEL RESTRICTED
AS 'SELECT count(*) FROM par_temp';
BEGIN;
INSERT INTO par_temp VALUES (1), (2);
SELECT par_temp_count(), count(*) FROM par_heap;
ROLLBACK;

-- subtransactions: rows of the current level are flushed (by that level,
-- so rolling it back removes them) ...
BEGIN;
SAVEPOINT a;
INSERT INTO par SELECT -g, -1, 'sub', g FROM generate_series(1, 100) g;
SELECT * FROM par_explain('SELECT count(*) FROM par WHERE id < 0');
SELECT count(*), sum(id) FROM par WHERE id < 0;
ROLLBACK TO a;
SELECT count(*), sum(id) FROM par WHERE id < 0;
SAVEPOINT b;
INSERT INTO par SELECT -g, -1, 'sub', g FROM generate_series(1, 100) g;
SELECT count(*), sum(id) FROM par WHERE id < 0;
RELEASE b;
SELECT count(*), sum(id) FROM par WHERE id < 0;
ROLLBACK;

-- ... but rows an outer level buffered cannot be: no parallel plan, and a
-- parallel plan made earlier runs without workers, with the same rows
SET plan_cache_mode = force_generic_plan;
PREPARE par_count AS SELECT count(*), sum(id) FROM par WHERE id < 100;
SELECT * FROM par_explain('EXECUTE par_count');
BEGIN;
INSERT INTO par SELECT -g, -1, 'outer', g FROM generate_series(1, 100) g;
SAVEPOINT c;
INSERT INTO par SELECT -g, -1, 'inner', g FROM generate_series(101, 150) g;
EXPLAIN (COSTS OFF) SELECT count(*) FROM par;
SELECT * FROM par_explain('EXECUTE par_count');
EXECUTE par_count;
ROLLBACK TO c;
EXECUTE par_count;
RELEASE c;
-- back at the outer level: flushed, parallel again
SELECT * FROM par_explain('EXECUTE par_count');
EXECUTE par_count;
ROLLBACK;
DEALLOCATE par_count;
RESET plan_cache_mode;

-- a cursor reading buffered rows keeps reading them when a parallel query
-- flushes the buffer under it: every row once
BEGIN;
INSERT INTO par SELECT -g, -1, 'cur', g FROM generate_series(1, 5) g;
DECLARE cur CURSOR FOR SELECT id FROM par WHERE id < 0;
FETCH 2 FROM cur;
SELECT count(*), sum(id) FROM par WHERE id < 0;
SELECT buffered_rows FROM lsm.stats('par');
FETCH ALL FROM cur;
CLOSE cur;
-- RETURN QUERY runs its query in parallel too
CREATE FUNCTION par_neg() RETURNS TABLE (id int) LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY SELECT p.id FROM par p WHERE p.id < 0;
END
$$;
INSERT INTO par VALUES (-6, -1, 'cur', 6);
SELECT count(*), sum(id) FROM par_neg();
ROLLBACK;

-- rescans: a Gather on the inner side of a nested loop runs (and hands
-- out every unit) once per outer row
SET enable_material = off;
EXPLAIN (COSTS OFF)
SELECT * FROM (SELECT count(*), sum(id) FROM par WHERE grp > 3) s
  RIGHT JOIN (VALUES (1), (2), (3)) v(x) ON true;
SELECT * FROM (SELECT count(*), sum(id) FROM par WHERE grp > 3) s
  RIGHT JOIN (VALUES (1), (2), (3)) v(x) ON true;
SELECT * FROM (SELECT count(*), sum(id) FROM par_heap WHERE grp > 3) s
  RIGHT JOIN (VALUES (1), (2), (3)) v(x) ON true;
SELECT * FROM par_explain('SELECT * FROM (SELECT count(*), sum(id) FROM par WHERE grp > 3) s
  RIGHT JOIN (VALUES (1), (2), (3)) v(x) ON true');
RESET enable_material;

-- a parallel hash join of two lsm scans
SET enable_mergejoin = off;
SET enable_nestloop = off;
EXPLAIN (COSTS OFF)
SELECT count(*), sum(a.id) FROM par a JOIN par b ON a.id = b.id + 1;
SELECT count(*), sum(a.id) FROM par a JOIN par b ON a.id = b.id + 1;
SELECT count(*), sum(a.id) FROM par_heap a JOIN par_heap b ON a.id = b.id + 1;
RESET enable_mergejoin;
RESET enable_nestloop;

-- partitions: Parallel Append over lsm partitions
CREATE TABLE par_part (id int, grp int) PARTITION BY RANGE (id);
CREATE TABLE par_part1 PARTITION OF par_part FOR VALUES FROM (0) TO (50000) USING lsm;
CREATE TABLE par_part2 PARTITION OF par_part FOR VALUES FROM (50000) TO (200000) USING lsm;
INSERT INTO par_part SELECT id, grp FROM par;
ANALYZE par_part;
EXPLAIN (COSTS OFF) SELECT count(*), sum(id) FROM par_part;
SELECT count(*), sum(id) FROM par_part;
SELECT count(*), sum(id) FROM par_heap;

-- the leader of a parallel CREATE TABLE AS or REFRESH writes lsm segments
-- while the workers scan (segment ids set aside beforehand)
SET lsm.segment_rows = 10000;
EXPLAIN (COSTS OFF) CREATE TABLE par_ctas USING lsm AS SELECT * FROM par WHERE grp <> 0;
CREATE TABLE par_ctas USING lsm AS SELECT * FROM par WHERE grp <> 0;
SELECT count(*) > 1 AS several_segments FROM lsm.segments('par_ctas');
SELECT count(*), sum(id) FROM par_ctas;
SELECT count(*), sum(id) FROM par_heap WHERE grp <> 0;
CREATE MATERIALIZED VIEW par_mv USING lsm AS SELECT id, v FROM par WHERE grp = 1;
REFRESH MATERIALIZED VIEW par_mv;
SELECT count(*), sum(id) FROM par_mv;
SELECT count(*), sum(id) FROM par_heap WHERE grp = 1;
RESET lsm.segment_rows;

-- parallel index builds: every participant scans a part of the table.  Old
-- row versions (same key, updated in this transaction) and deleted rows
-- are left out, so the unique index builds; buffered rows are indexed.
SET max_parallel_maintenance_workers = 2;
SET maintenance_work_mem = '64MB';
BEGIN;
UPDATE par SET n = n + 1 WHERE id % 3 = 0;
UPDATE par_heap SET n = n + 1 WHERE id % 3 = 0;
DELETE FROM par WHERE id % 10 = 5;
DELETE FROM par_heap WHERE id % 10 = 5;
INSERT INTO par VALUES (200001, 1, 'new', 1), (200002, 2, 'new', 2);
INSERT INTO par_heap VALUES (200001, 1, 'new', 1), (200002, 2, 'new', 2);
CREATE UNIQUE INDEX par_id ON par (id);
CREATE INDEX par_v ON par (v);
COMMIT;
CREATE INDEX par_n ON par (n);
RESET maintenance_work_mem;
RESET max_parallel_maintenance_workers;
-- what the indexes hold is what a sequential scan reads
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT count(*), sum(id) FROM par WHERE id > 0;
SELECT count(*), sum(id) FROM par WHERE id > 0;
SELECT count(*), sum(id) FROM par WHERE v >= 'v';
SELECT count(*), sum(n) FROM par WHERE n > -1000000;
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT count(*), sum(id), sum(n) FROM par;
SELECT count(*), sum(id), sum(n) FROM par_heap;
SELECT count(*) FROM par_heap WHERE v >= 'v';

-- bitmap heap scans, TID range scans and TABLESAMPLE are never parallel
SET enable_indexscan = off;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM par WHERE id < 50000;
SELECT count(*) FROM par WHERE id < 50000;
RESET enable_indexscan;
RESET enable_seqscan;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM par WHERE ctid < '(100,1)';
SELECT count(*) FROM par WHERE ctid < '(100,1)';
RESET enable_seqscan;
EXPLAIN (COSTS OFF) SELECT count(*) FROM par TABLESAMPLE SYSTEM (50);

-- the parallel-aware LSM Scan: the same work units, only the needed
-- columns, zone maps; aggregates computed by Partial/Finalize Aggregate
SET lsm.enable_custom_scan = on;
SET lsm.enable_aggregate_pushdown = off;
SELECT * FROM par_explain('SELECT count(*), sum(id), sum(n) FROM par');
SELECT count(*), sum(id), sum(n) FROM par;
SELECT * FROM par_explain('SELECT grp, count(*), sum(n) FROM par WHERE id > 5000 GROUP BY grp ORDER BY grp');
SELECT grp, count(*), sum(n) FROM par WHERE id > 5000 GROUP BY grp ORDER BY grp;
SELECT grp, count(*), sum(n) FROM par_heap WHERE id > 5000 GROUP BY grp ORDER BY grp;
SET parallel_leader_participation = off;
SELECT count(*), sum(id), min(v), max(v) FROM par WHERE id % 3 = 0;
SELECT count(*), sum(id), min(v), max(v) FROM par_heap WHERE id % 3 = 0;
RESET parallel_leader_participation;
-- own rows of the transaction are flushed first and seen once
BEGIN;
INSERT INTO par SELECT -g, -2, 'own2', g FROM generate_series(1, 500) g;
SELECT count(*), sum(id) FROM par WHERE id < 0;
ROLLBACK;
RESET lsm.enable_aggregate_pushdown;

-- EXPLAIN ANALYZE of a parallel scan counts every participant's share:
-- segments and blocks the zone maps skipped (of all) and rows removed by
-- deletes are the serial plan's, whichever process claimed which units;
-- with workers alone too, and summed over the rescans of a Gather under a
-- nested loop (three runs: three times the serial counts)
CREATE FUNCTION par_counters(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	ln text;
BEGIN
	FOR ln IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || q
	LOOP
		IF ln ~ '(Skipped|Removed by Deletes|Workers Launched|Custom Scan)' THEN
			RETURN NEXT regexp_replace(ln, ' \(actual rows=\d+ loops=\d+\)', '');
		END IF;
	END LOOP;
END
$$;
SET lsm.enable_aggregate_pushdown = off;
SET enable_indexscan = off;
SET enable_indexonlyscan = off;
SET enable_bitmapscan = off;
SELECT * FROM par_counters('SELECT count(*), sum(n) FROM par WHERE id > 70000');
SET max_parallel_workers_per_gather = 0;
SELECT * FROM par_counters('SELECT count(*), sum(n) FROM par WHERE id > 70000');
RESET max_parallel_workers_per_gather;
RESET enable_indexscan;
RESET enable_indexonlyscan;
RESET enable_bitmapscan;
RESET lsm.enable_aggregate_pushdown;
SELECT * FROM par_counters('SELECT count(*), sum(n) FROM par WHERE id > 70000');
SET parallel_leader_participation = off;
SELECT * FROM par_counters('SELECT count(*), sum(n) FROM par WHERE id > 70000');
RESET parallel_leader_participation;
SET max_parallel_workers_per_gather = 0;
SELECT * FROM par_counters('SELECT count(*), sum(n) FROM par WHERE id > 70000');
RESET max_parallel_workers_per_gather;
SET enable_material = off;
SELECT * FROM par_counters('SELECT * FROM (SELECT count(*), sum(id) FROM par WHERE id > 70000) s
  RIGHT JOIN (VALUES (1), (2), (3)) v(x) ON true');
RESET enable_material;

-- the workers take the leader's listing (segments and delete set) from the
-- parallel scan instead of reading the lsm catalog: one probe of the
-- segment catalog's index per query, the leader's, whatever the workers
-- (the first query only warms the caches; statistics are read after a
-- flush; no workers launched would show the same)
CREATE FUNCTION par_segment_probes() RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_stat_clear_snapshot();
	RETURN (SELECT idx_scan FROM pg_stat_all_indexes
			WHERE indexrelid = 'lsm.segment_rowid_idx'::regclass);
END
$$;
SET parallel_leader_participation = off;
SELECT count(*), sum(id) FROM par WHERE v <> 'x';
SELECT pg_stat_force_next_flush();
SELECT par_segment_probes() AS before \gset
SELECT count(*), sum(id) FROM par WHERE v <> 'x';
SELECT pg_stat_force_next_flush();
SELECT par_segment_probes() - :before AS segment_listings;
SELECT * FROM par_explain('SELECT count(*), sum(id) FROM par WHERE v <> ''x''');
RESET parallel_leader_participation;

DROP FUNCTION par_explain(text), par_fresh_count(), par_temp_count(),
	par_segment_probes(), par_counters(text);
DROP MATERIALIZED VIEW par_mv;
DROP TABLE par, par_heap, par_part, par_ctas, par_fresh, par_temp;
