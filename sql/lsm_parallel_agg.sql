--
-- lsm_parallel_agg: the parallel LSM Aggregate.  With parallel workers the
-- aggregate runs as Finalize Aggregate over Gather over a "Parallel Custom
-- Scan (LSM Partial Aggregate)": every participant aggregates the work
-- units (runs of segment blocks) it claims and emits PostgreSQL's own
-- partial states, which the Finalize Aggregate combines.  Every aggregate
-- kind and type is compared with heap and with the serial LSM Aggregate:
-- GROUP BY, HAVING, WHERE (vector quals, other quals, zone maps), deletes,
-- all-deleted segments, empty tables, the transaction's own rows, rescans,
-- plans made earlier that run without workers, costing and settings.
--
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
-- errors raised in a worker carry a CONTEXT line; whether the leader or a
-- worker meets the bad row first is a race
\set VERBOSITY terse

-- four segments of 25000 rows: many work units.  Values: small integers,
-- floats that are exact binary fractions (so that sums do not depend on the
-- order of addition), numerics of several scales, NULLs in every column.
SET lsm.segment_rows = 25000;
CREATE TABLE pa (id int, g int, s text, i2 int2, i4 int4, i8 int8,
				 f4 float4, f8 float8, n numeric, nsc numeric(12,3),
				 d date, tm time, ts timestamp, tz timestamptz, m money)
	USING lsm;
INSERT INTO pa
SELECT x, x % 20, 's' || (x % 7),
	   CASE WHEN x % 11 = 0 THEN NULL ELSE (x % 3000 - 1500)::int2 END,
	   CASE WHEN x % 13 = 0 THEN NULL ELSE x * 17 - 800000 END,
	   CASE WHEN x % 17 = 0 THEN NULL ELSE x::int8 * 123456789 END,
	   CASE WHEN x % 19 = 0 THEN NULL ELSE (x % 40) / 4.0 END,
	   CASE WHEN x % 23 = 0 THEN NULL ELSE (x % 1000 - 300) / 8.0 END,
	   CASE WHEN x % 29 = 0 THEN NULL ELSE (x % 997) / 7.0 END,
	   CASE WHEN x % 31 = 0 THEN NULL ELSE (x % 100000) / 1000.0 END,
	   CASE WHEN x % 37 = 0 THEN NULL ELSE date '2000-01-01' + x % 5000 END,
	   CASE WHEN x % 41 = 0 THEN NULL ELSE time '00:00' + x * interval '1 s' END,
	   CASE WHEN x % 43 = 0 THEN NULL ELSE timestamp '2020-01-01' + x * interval '7 min' END,
	   CASE WHEN x % 47 = 0 THEN NULL ELSE timestamptz '2020-01-01 00:00+00' + x * interval '13 min' END,
	   CASE WHEN x % 53 = 0 THEN NULL ELSE (x % 5000)::money END
FROM generate_series(1, 100000) x;
RESET lsm.segment_rows;
CREATE TABLE pa_heap USING heap AS SELECT * FROM pa;
ANALYZE pa;
ANALYZE pa_heap;
SELECT count(*) AS segments, sum(row_count) AS rows FROM lsm.segments('pa');

-- pa_check(q, t): q over {t} runs on lsm table t with the plan shown (its
-- LSM node), on t with the serial LSM Aggregate, and on the heap table
-- t_heap; reports whether the three answers (rows as text, sorted) agree
CREATE FUNCTION pa_check(q text, t text DEFAULT 'pa')
RETURNS TABLE (plan text, result text)
LANGUAGE plpgsql AS $$
DECLARE
	wrap text := 'SELECT string_agg(x::text, '' | '' ORDER BY x::text) FROM (%s) x';
	lq text := format(wrap, replace(q, '{t}', t));
	hq text := format(wrap, replace(q, '{t}', t || '_heap'));
	ln text;
	node text := 'no LSM Aggregate';
	par text;
	ser text;
	hp text;
BEGIN
	FOR ln IN EXECUTE 'EXPLAIN (COSTS OFF) ' || lq LOOP
		IF ln ~ 'Parallel Custom Scan \(LSM Partial Aggregate\)' THEN
			node := 'parallel';
		ELSIF ln ~ 'Custom Scan \(LSM Aggregate\)' THEN
			node := 'serial';
		END IF;
	END LOOP;
	EXECUTE lq INTO par;
	SET LOCAL max_parallel_workers_per_gather = 0;
	EXECUTE lq INTO ser;
	EXECUTE hq INTO hp;
	SET LOCAL max_parallel_workers_per_gather = 2;
	plan := node;
	IF par IS NOT DISTINCT FROM hp AND ser IS NOT DISTINCT FROM hp THEN
		result := 'same as heap';
	ELSE
		result := format('parallel: %s; serial: %s; heap: %s', par, ser, hp);
	END IF;
	RETURN NEXT;
END
$$;

-- EXPLAIN ANALYZE reduced to the plan shape and the workers launched
CREATE FUNCTION pa_explain(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	ln text;
BEGIN
	FOR ln IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || q
	LOOP
		IF ln !~ '^\s*(Rows Removed|Worker \d|Sort Method|Batches|Memory)' THEN
			RETURN NEXT regexp_replace(ln, ' \(actual rows=\d+ loops=\d+\)', '');
		END IF;
	END LOOP;
END
$$;

-- the plans: Finalize Aggregate (or HashAggregate for GROUP BY, which also
-- applies HAVING) over Gather over the partial node
EXPLAIN (COSTS OFF) SELECT count(*), sum(i4), avg(n) FROM pa;
EXPLAIN (COSTS OFF)
SELECT g, count(*), sum(i8) FROM pa WHERE s = 's3' GROUP BY g HAVING sum(i2) > 0 ORDER BY g;
EXPLAIN (COSTS OFF, VERBOSE) SELECT g, avg(i4), max(ts) FROM pa GROUP BY g;
SELECT * FROM pa_explain('SELECT count(*), sum(i4), avg(n) FROM pa');

-- every aggregate kind and type, whole table: the answers themselves ...
SELECT count(*), count(i2), sum(i2), avg(i2), sum(i4), avg(i4) FROM pa;
SELECT sum(i8), avg(i8), sum(f4), avg(f4), sum(f8), avg(f8) FROM pa;
SELECT sum(n), avg(n), sum(nsc), avg(nsc) FROM pa;
SELECT min(i2), max(i2), min(i4), max(i4), min(i8), max(i8), min(f4), max(f4),
	   min(f8), max(f8) FROM pa;
SELECT min(d), max(d), min(tm), max(tm), min(ts), max(ts), min(tz), max(tz),
	   min(m), max(m) FROM pa;
-- ... and compared with the serial node and heap
SELECT * FROM pa_check('SELECT count(*), count(i2), count(f8), count(n), count(m) FROM {t}');
SELECT * FROM pa_check('SELECT sum(i2), avg(i2), sum(i4), avg(i4), sum(i8), avg(i8) FROM {t}');
SELECT * FROM pa_check('SELECT sum(f4), avg(f4), sum(f8), avg(f8) FROM {t}');
SELECT * FROM pa_check('SELECT sum(n), avg(n), sum(nsc), avg(nsc) FROM {t}');
SELECT * FROM pa_check('SELECT min(i2), max(i2), min(i4), max(i4), min(i8), max(i8) FROM {t}');
SELECT * FROM pa_check('SELECT min(f4), max(f4), min(f8), max(f8) FROM {t}');
SELECT * FROM pa_check('SELECT min(d), max(d), min(tm), max(tm), min(ts), max(ts), min(tz), max(tz), min(m), max(m) FROM {t}');

-- GROUP BY (int, text, two columns, NULL keys), HAVING, ORDER BY, LIMIT
SELECT * FROM pa_check('SELECT g, count(*), sum(i4), avg(n), min(f8), max(d) FROM {t} GROUP BY g');
SELECT * FROM pa_check('SELECT s, count(i8), sum(i8), avg(i8), sum(f4), avg(f8), sum(nsc) FROM {t} GROUP BY s');
SELECT * FROM pa_check('SELECT s, g, count(*), avg(i2), max(m), min(tz) FROM {t} GROUP BY s, g');
SELECT * FROM pa_check('SELECT i2 % 5 AS k, count(*) FROM {t} GROUP BY i2 % 5');
SELECT * FROM pa_check('SELECT f4, count(*), sum(n) FROM {t} GROUP BY f4');
SELECT * FROM pa_check('SELECT g, sum(i4) FROM {t} GROUP BY g HAVING avg(n) > 71 AND count(*) > 10');
SELECT * FROM pa_check('SELECT s FROM {t} GROUP BY s');
SELECT g, count(*), sum(i4), avg(n) FROM pa GROUP BY g HAVING sum(i2) > -40000 ORDER BY g LIMIT 5;
SELECT g, count(*), sum(i4), avg(n) FROM pa_heap GROUP BY g HAVING sum(i2) > -40000 ORDER BY g LIMIT 5;

-- WHERE: vector quals, evaluator quals, quals that match nothing, zone maps
SELECT * FROM pa_check('SELECT count(*), sum(i4), avg(nsc) FROM {t} WHERE s = ''s2''');
SELECT * FROM pa_check('SELECT g, count(*), sum(f8) FROM {t} WHERE i4 % 3 = 1 AND s <> ''s0'' GROUP BY g');
SELECT * FROM pa_check('SELECT count(*), sum(i8) FROM {t} WHERE s = ''nothing''');
SELECT * FROM pa_check('SELECT g, count(*) FROM {t} WHERE s = ''nothing'' GROUP BY g');
SELECT * FROM pa_check('SELECT count(*), sum(i4), min(ts) FROM {t} WHERE id BETWEEN 30000 AND 42000');
SELECT * FROM pa_explain('SELECT count(*), sum(i4) FROM pa WHERE id BETWEEN 30000 AND 42000');

-- numerics beyond the scaled sums: NaN, infinities, large scales, values
-- past int128, int8 sums past int64; float NaN and infinities
CREATE TABLE pa_special (id int, k int, n numeric, i8 int8, f8 float8) USING lsm;
INSERT INTO pa_special
SELECT x, x % 3, CASE x % 5 WHEN 0 THEN 1e40 + x WHEN 1 THEN 0.000000000000000000000000000000000000001 * x
				   WHEN 2 THEN -x / 3.0 ELSE x END,
	   9223372036854775807 - x, x / 2.0
FROM generate_series(1, 30000) x;
CREATE TABLE pa_special_heap USING heap AS SELECT * FROM pa_special;
ANALYZE pa_special;
ANALYZE pa_special_heap;
SELECT * FROM pa_check('SELECT sum(n), avg(n), sum(i8), avg(i8), count(*) FROM {t}', 'pa_special');
SELECT * FROM pa_check('SELECT k, sum(n), avg(n), sum(i8), avg(i8) FROM {t} GROUP BY k', 'pa_special');
SELECT sum(n), avg(n), sum(i8) FROM pa_special;
BEGIN;
INSERT INTO pa_special VALUES (-1, 1, 'NaN', 0, 'NaN'), (-2, 2, 'Infinity', 0, 'Infinity');
INSERT INTO pa_special_heap VALUES (-1, 1, 'NaN', 0, 'NaN'), (-2, 2, 'Infinity', 0, 'Infinity');
SELECT * FROM pa_check('SELECT sum(n), avg(n), sum(f8), avg(f8) FROM {t}', 'pa_special');
SELECT * FROM pa_check('SELECT k, sum(n), avg(n), sum(f8), max(f8) FROM {t} GROUP BY k', 'pa_special');
ROLLBACK;
BEGIN;
INSERT INTO pa_special VALUES (-3, 1, 'Infinity', 0, 1), (-4, 1, '-Infinity', 0, 1);
INSERT INTO pa_special_heap VALUES (-3, 1, 'Infinity', 0, 1), (-4, 1, '-Infinity', 0, 1);
SELECT * FROM pa_check('SELECT sum(n), avg(n) FROM {t}', 'pa_special');
ROLLBACK;
-- numerics of scale 40: summed exactly, scale kept
CREATE TABLE pa_scale (n numeric) USING lsm;
INSERT INTO pa_scale SELECT round(x / 7.0, 40) FROM generate_series(1, 20000) x;
CREATE TABLE pa_scale_heap USING heap AS SELECT * FROM pa_scale;
ANALYZE pa_scale;
ANALYZE pa_scale_heap;
SELECT * FROM pa_check('SELECT sum(n), avg(n), count(n) FROM {t}', 'pa_scale');
SELECT sum(n), avg(n) FROM pa_scale;

-- overflow errors as PostgreSQL's own: float sums
CREATE TABLE pa_big (f8 float8) USING lsm;
INSERT INTO pa_big SELECT 1e308 FROM generate_series(1, 20000);
ANALYZE pa_big;
EXPLAIN (COSTS OFF) SELECT sum(f8) FROM pa_big;
SELECT sum(f8) FROM pa_big;
SELECT avg(f8) FROM pa_big;

-- floats that are not exact fractions: the sum depends on the order of
-- addition, in parallel as in PostgreSQL's own parallel aggregation
-- (compared within a relative tolerance)
CREATE TABLE pa_float (g int, f float8, r float4) USING lsm;
INSERT INTO pa_float SELECT x % 3, 1.0 / x, 1.0 / (x + 1) FROM generate_series(1, 50000) x;
CREATE TABLE pa_float_heap USING heap AS SELECT * FROM pa_float;
ANALYZE pa_float;
ANALYZE pa_float_heap;
EXPLAIN (COSTS OFF) SELECT g, sum(f), avg(f), sum(r), avg(r) FROM pa_float GROUP BY g;
SELECT l.g, abs(l.sf - h.sf) < 1e-12 * abs(h.sf) AS sum_f, abs(l.af - h.af) < 1e-12 * abs(h.af) AS avg_f,
	   abs(l.sr - h.sr) < 1e-5 * abs(h.sr) AS sum_r, abs(l.ar - h.ar) < 1e-12 * abs(h.ar) AS avg_r
FROM (SELECT g, sum(f) sf, avg(f) af, sum(r) sr, avg(r) ar FROM pa_float GROUP BY g) l
JOIN (SELECT g, sum(f) sf, avg(f) af, sum(r) sr, avg(r) ar FROM pa_float_heap GROUP BY g) h USING (g)
ORDER BY g;

-- deletes and updates, applied by every participant; a segment whose rows
-- are all deleted; an empty table
DELETE FROM pa WHERE id % 10 = 3;
DELETE FROM pa_heap WHERE id % 10 = 3;
UPDATE pa SET i4 = -i4, n = n + 1 WHERE id % 9 = 0;
UPDATE pa_heap SET i4 = -i4, n = n + 1 WHERE id % 9 = 0;
DELETE FROM pa WHERE id <= 25000;
DELETE FROM pa_heap WHERE id <= 25000;
SELECT * FROM pa_check('SELECT count(*), sum(i4), avg(n), sum(i8), max(ts) FROM {t}');
SELECT * FROM pa_check('SELECT g, count(*), sum(i4), avg(n) FROM {t} GROUP BY g');
SELECT * FROM pa_check('SELECT count(*), sum(i4) FROM {t} WHERE id <= 25000');
SELECT * FROM pa_explain('SELECT count(*), sum(i4) FROM pa WHERE id <= 25000');
CREATE TABLE pa_empty (g int, v int, n numeric) USING lsm;
ANALYZE pa_empty;
EXPLAIN (COSTS OFF) SELECT count(*), sum(v), avg(n) FROM pa_empty;
SELECT count(*), sum(v), avg(n), min(v) FROM pa_empty;
SELECT g, count(*) FROM pa_empty GROUP BY g;

-- the transaction's own rows, deletes and updates: flushed before the
-- parallel query and seen once
BEGIN;
INSERT INTO pa (id, g, s, i4, n) SELECT -x, x % 4, 'own', x, x / 2.0 FROM generate_series(1, 3000) x;
INSERT INTO pa_heap (id, g, s, i4, n) SELECT -x, x % 4, 'own', x, x / 2.0 FROM generate_series(1, 3000) x;
DELETE FROM pa WHERE id % 10 = 4;
DELETE FROM pa_heap WHERE id % 10 = 4;
UPDATE pa SET i4 = 0 WHERE id % 10 = 5;
UPDATE pa_heap SET i4 = 0 WHERE id % 10 = 5;
SELECT * FROM pa_check('SELECT count(*), sum(i4), avg(n) FROM {t}');
SELECT * FROM pa_check('SELECT g, count(*), sum(i4) FROM {t} WHERE s = ''own'' GROUP BY g');
SET LOCAL parallel_leader_participation = off;
SELECT * FROM pa_explain('SELECT count(*), sum(i4) FROM pa WHERE id < 0');
SELECT count(*), sum(i4) FROM pa WHERE id < 0;
ROLLBACK;

-- the workers alone, and the leader alone (no worker could start)
SET parallel_leader_participation = off;
SELECT * FROM pa_check('SELECT g, count(*), sum(i4), avg(n) FROM {t} GROUP BY g');
RESET parallel_leader_participation;
SET max_parallel_workers = 0;
SELECT * FROM pa_explain('SELECT count(*), sum(i4) FROM pa');
SELECT * FROM pa_check('SELECT g, count(*), sum(i4), avg(n) FROM {t} GROUP BY g');
RESET max_parallel_workers;

-- a parallel plan made earlier runs without workers when rows an outer
-- subtransaction buffered cannot be flushed: the partial node then reads
-- the whole table, buffered rows included, in the leader
SET plan_cache_mode = force_generic_plan;
PREPARE pa_sum AS SELECT count(*), sum(i4) FROM pa WHERE id < 100;
SELECT * FROM pa_explain('EXECUTE pa_sum');
BEGIN;
INSERT INTO pa (id, i4) SELECT -x, x FROM generate_series(1, 100) x;
SAVEPOINT sp;
INSERT INTO pa (id, i4) SELECT -x, x FROM generate_series(101, 150) x;
SELECT * FROM pa_explain('EXECUTE pa_sum');
EXECUTE pa_sum;
ROLLBACK TO sp;
EXECUTE pa_sum;
ROLLBACK;
EXECUTE pa_sum;
DEALLOCATE pa_sum;
RESET plan_cache_mode;

-- rescans: a Gather on the inner side of a nested loop runs once per
-- outer row, handing out every work unit again
SET enable_material = off;
EXPLAIN (COSTS OFF)
SELECT * FROM (SELECT count(*), sum(i4), avg(n) FROM pa WHERE g > 3) s
  RIGHT JOIN (VALUES (1), (2), (3)) v(x) ON true;
SELECT * FROM (SELECT count(*), sum(i4), avg(n) FROM pa WHERE g > 3) s
  RIGHT JOIN (VALUES (1), (2), (3)) v(x) ON true;
SELECT * FROM (SELECT count(*), sum(i4), avg(n) FROM pa_heap WHERE g > 3) s
  RIGHT JOIN (VALUES (1), (2), (3)) v(x) ON true;
RESET enable_material;

-- settings and costs: no workers, the pushdown switched off, hash
-- aggregation switched off; with the default costs a small table stays
-- serial and a large one goes parallel
SET max_parallel_workers_per_gather = 0;
EXPLAIN (COSTS OFF) SELECT count(*), sum(i4) FROM pa;
RESET max_parallel_workers_per_gather;
SET max_parallel_workers_per_gather = 2;
SET lsm.enable_aggregate_pushdown = off;
EXPLAIN (COSTS OFF) SELECT count(*), sum(i4) FROM pa;
RESET lsm.enable_aggregate_pushdown;
SET enable_hashagg = off;
EXPLAIN (COSTS OFF) SELECT g, count(*) FROM pa GROUP BY g;
RESET enable_hashagg;
-- a parallel-unsafe function in WHERE or HAVING: no parallel plan
CREATE FUNCTION pa_unsafe(int) RETURNS int LANGUAGE plpgsql PARALLEL UNSAFE
AS 'BEGIN RETURN $1; END';
EXPLAIN (COSTS OFF) SELECT count(*), sum(i4) FROM pa WHERE pa_unsafe(g) > 3;
EXPLAIN (COSTS OFF) SELECT g, count(*) FROM pa GROUP BY g HAVING pa_unsafe(g) > 3;
-- aggregates the node does not compute: PostgreSQL's own plan
EXPLAIN (COSTS OFF) SELECT count(DISTINCT g), sum(i4) FROM pa;
EXPLAIN (COSTS OFF) SELECT string_agg(s, ',') FROM pa;
-- with the default parallel costs: a light aggregate (count) or a small
-- table stays serial, since starting workers costs more than the work
-- they would share.  So does a heavier one over 500,000 rows (13 ms
-- serial, the same with two workers on the 2-core machine that set the
-- workers' start-up estimate); where workers start for less (a lower
-- parallel_setup_cost) it goes parallel, and count(*) still does not
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
EXPLAIN (COSTS OFF) SELECT g, count(*), sum(i4), avg(n) FROM pa GROUP BY g;
CREATE TABLE pa_large (id int, g int, v int, n numeric(10,2)) USING lsm;
INSERT INTO pa_large SELECT x, x % 20, x % 1000, x % 100000 / 100.0
FROM generate_series(1, 500000) x;
ANALYZE pa_large;
EXPLAIN (COSTS OFF) SELECT count(*) FROM pa_large;
EXPLAIN (COSTS OFF)
SELECT g, count(*), sum(v), avg(n), sum(id), avg(v), min(id), max(id) FROM pa_large GROUP BY g;
SET parallel_setup_cost = 100;
EXPLAIN (COSTS OFF) SELECT count(*) FROM pa_large;
EXPLAIN (COSTS OFF)
SELECT g, count(*), sum(v), avg(n), sum(id), avg(v), min(id), max(id) FROM pa_large GROUP BY g;
RESET parallel_setup_cost;
SELECT g, count(*), sum(v), avg(n), sum(id), avg(v), min(id), max(id)
FROM pa_large GROUP BY g ORDER BY g LIMIT 3;
-- without the workers' cold start in the estimate, count(*) goes parallel
-- too
SET lsm.parallel_cold_start_factor = 0;
SET parallel_setup_cost = 0;
EXPLAIN (COSTS OFF) SELECT count(*) FROM pa_large;
SELECT count(*) FROM pa_large;
RESET parallel_setup_cost;
RESET lsm.parallel_cold_start_factor;
RESET min_parallel_table_scan_size;
-- (and the table's compressed size must reach min_parallel_table_scan_size)
EXPLAIN (COSTS OFF)
SELECT g, count(*), sum(v), avg(n), sum(id), avg(v), min(id), max(id) FROM pa_large GROUP BY g;

-- workers and processors.  The test configuration sets lsm.parallel_cpus =
-- 4, so that the plans above do not depend on the machine.  With fewer
-- processors an LSM Aggregate gets no more workers than there are beside
-- the leader, and at least one; without the leader's participation one per
-- processor; a row-returning LSM Scan keeps PostgreSQL's count.  Answers
-- stay heap's.
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 4;
SHOW lsm.parallel_cpus;
EXPLAIN (COSTS OFF) SELECT count(*), sum(i4), avg(n) FROM pa;
SET lsm.parallel_cpus = 2;
SELECT * FROM pa_explain('SELECT count(*), sum(i4), avg(n) FROM pa');
SELECT * FROM pa_check('SELECT g, count(*), sum(i8), avg(nsc) FROM {t} GROUP BY g');
SET lsm.parallel_cpus = 1;
EXPLAIN (COSTS OFF) SELECT count(*), sum(i4) FROM pa;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF) SELECT count(*), sum(i4) FROM pa;
SET lsm.parallel_cpus = 2;
EXPLAIN (COSTS OFF) SELECT count(*), sum(i4), avg(n) FROM pa;
SELECT * FROM pa_check('SELECT s, min(i2), max(f8), sum(i4) FROM {t} GROUP BY s');
RESET parallel_leader_participation;
EXPLAIN (COSTS OFF) SELECT id, i4 FROM pa WHERE i4 > 899800;
SELECT id, i4 FROM pa WHERE i4 > 899800 ORDER BY id;
-- 0: the processors this server may run on (at least one worker)
CREATE FUNCTION pa_plan(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY EXECUTE 'EXPLAIN (COSTS OFF) ' || q;
END
$$;
SET lsm.parallel_cpus = 0;
SELECT count(*) AS gathers, min(w) >= 1 AND max(w) <= 4 AS workers_in_range
FROM (SELECT (regexp_match(p, 'Workers Planned: (\d+)'))[1]::int AS w
	  FROM pa_plan('SELECT count(*), sum(i4), avg(n) FROM pa') AS l(p)
	  WHERE p ~ 'Workers Planned') x;
SELECT * FROM pa_check('SELECT count(*), sum(i4), avg(n), min(d), max(tz) FROM {t}');
RESET lsm.parallel_cpus;

-- the tail: a worker of an LSM Aggregate stops taking work units once those
-- left would keep a leader that scans to the end busy for no longer than
-- lsm.parallel_worker_exit_time; the leader scans them while the worker
-- exits.  At the maximum a worker stops after its first few units.  Without
-- the leader's participation no worker leaves anything.  Either way every
-- unit is scanned once (pa_large: 31 units).
SET lsm.parallel_cpus = 3;
SET lsm.parallel_worker_exit_time = 10000;
SELECT * FROM pa_explain('SELECT count(*), sum(id), sum(v), avg(n) FROM pa_large');
SELECT count(*), sum(id), sum(v), avg(n) FROM pa_large;
SELECT g, count(*), sum(id) FROM pa_large GROUP BY g ORDER BY g LIMIT 2;
SET parallel_leader_participation = off;
SELECT * FROM pa_explain('SELECT count(*), sum(id), sum(v), avg(n) FROM pa_large');
SELECT count(*), sum(id), sum(v), avg(n) FROM pa_large;
RESET parallel_leader_participation;
SET lsm.parallel_worker_exit_time = 0;
SELECT count(*), sum(id), sum(v), avg(n) FROM pa_large;
RESET lsm.parallel_worker_exit_time;
RESET lsm.parallel_cpus;
RESET min_parallel_table_scan_size;
RESET parallel_tuple_cost;
RESET parallel_setup_cost;
RESET max_parallel_workers_per_gather;

DROP FUNCTION pa_check(text, text), pa_explain(text), pa_unsafe(int), pa_plan(text);
DROP TABLE pa, pa_heap, pa_special, pa_special_heap, pa_scale, pa_scale_heap,
	pa_big, pa_float, pa_float_heap, pa_empty, pa_large;
