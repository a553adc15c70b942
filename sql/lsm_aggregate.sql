--
-- LSM Aggregate: aggregates computed inside the scan of an lsm table, over
-- decoded column batches.  Every result must be PostgreSQL's, bit for bit:
-- each query runs on the lsm table with the node and is compared with heap
-- (and with the node turned off).
--
SET lsm.block_rows = 64;
SET lsm.segment_rows = 700;

CREATE TABLE ag_h (id int, g int2, k text, i8 int8, n numeric, n2 numeric(12,2),
                   f4 float4, f8 float8, d date, ts timestamptz, allnull int);
INSERT INTO ag_h
SELECT x,
       (x % 5)::int2,
       CASE WHEN x % 97 = 0 THEN NULL ELSE 'k' || (x % 7) END,
       CASE WHEN x % 13 = 0 THEN NULL ELSE x::int8 * 1000000007 * (CASE WHEN x % 2 = 0 THEN -1 ELSE 1 END) END,
       CASE WHEN x % 11 = 0 THEN NULL ELSE (x % 1000)::numeric / 7 END,
       (x % 10000) / 100.0,
       CASE WHEN x % 19 = 0 THEN NULL ELSE (x % 300)::float4 / 3 - 50 END,
       CASE WHEN x % 23 = 0 THEN NULL WHEN x = 77 THEN '-0'::float8 ELSE sqrt(x) * (x % 3 - 1) END,
       '2000-01-01'::date + x,
       '2020-01-01 00:00:00+00'::timestamptz + x * interval '1 hour',
       NULL
FROM generate_series(1, 6000) x;
CREATE TABLE ag_l (LIKE ag_h) USING lsm;
INSERT INTO ag_l SELECT * FROM ag_h ORDER BY id;
ANALYZE ag_h;
ANALYZE ag_l;

-- The node replaces the scan and the Agg.
EXPLAIN (COSTS OFF) SELECT count(*) FROM ag_l;
EXPLAIN (COSTS OFF)
SELECT k, count(*), sum(i8), avg(n) FROM ag_l WHERE id > 100 GROUP BY k HAVING count(*) > 10 ORDER BY k;
-- aggregates it does not know keep PostgreSQL's plan
EXPLAIN (COSTS OFF) SELECT count(DISTINCT g) FROM ag_l;
EXPLAIN (COSTS OFF) SELECT string_agg(k, ',') FROM ag_l;
EXPLAIN (COSTS OFF) SELECT sum(id) FILTER (WHERE g = 1) FROM ag_l;
EXPLAIN (COSTS OFF) SELECT count(*) FROM ag_l WHERE ctid > '(3,0)';

-- Compare node, node off, and heap for every aggregate shape.
CREATE FUNCTION ag_check(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	a text;
	b text;
	c text;
BEGIN
	EXECUTE format('SELECT string_agg(x::text, '';'' ORDER BY x::text) FROM (%s) x',
				   format(q, 'ag_l')) INTO a;
	SET LOCAL lsm.enable_aggregate_pushdown = off;
	EXECUTE format('SELECT string_agg(x::text, '';'' ORDER BY x::text) FROM (%s) x',
				   format(q, 'ag_l')) INTO b;
	SET LOCAL lsm.enable_aggregate_pushdown = on;
	EXECUTE format('SELECT string_agg(x::text, '';'' ORDER BY x::text) FROM (%s) x',
				   format(q, 'ag_h')) INTO c;
	IF a IS NOT DISTINCT FROM c AND b IS NOT DISTINCT FROM c THEN
		RETURN 'same: ' || left(coalesce(c, '<null>'), 60);
	END IF;
	RETURN 'DIFFERENT: lsm ' || coalesce(a, '<null>') || ' heap ' || coalesce(c, '<null>');
END $$;

SELECT ag_check(q) FROM (VALUES
  ('SELECT count(*) FROM %s'),
  ('SELECT count(k), count(i8), count(allnull) FROM %s'),
  ('SELECT sum(id), sum(g), avg(id), avg(g) FROM %s'),
  ('SELECT sum(i8), avg(i8), min(i8), max(i8) FROM %s'),
  ('SELECT sum(n), avg(n), sum(n2), avg(n2) FROM %s'),
  ('SELECT round(sum(f4)::numeric, 1), round(avg(f4)::numeric, 6), min(f4), max(f4) FROM %s'),
  ('SELECT round(sum(f8)::numeric, 8), round(avg(f8)::numeric, 12), min(f8), max(f8) FROM %s'),
  ('SELECT min(d), max(d), min(ts), max(ts), min(g), max(g) FROM %s'),
  ('SELECT sum(allnull), avg(allnull), min(allnull), max(allnull) FROM %s'),
  ('SELECT count(*), sum(id) FROM %s WHERE false'),
  ('SELECT count(*), sum(n) FROM %s WHERE id BETWEEN 1000 AND 1999'),
  ('SELECT count(*), round(avg(f8)::numeric, 12) FROM %s WHERE k = ''k3'''),
  ('SELECT count(*) FROM %s WHERE k = ''k3'' AND mod(id, 2) = 0'),
  ('SELECT count(*) FROM %s WHERE k IS NULL OR g = 4'),
  ('SELECT count(*) FROM %s WHERE upper(k) = ''K1'''),
  ('SELECT g, count(*), sum(i8), avg(n), max(f8) FROM %s GROUP BY g'),
  ('SELECT k, count(*), min(ts), round(sum(f4)::numeric, 1) FROM %s GROUP BY k'),
  ('SELECT k, g, count(*) FROM %s GROUP BY k, g'),
  ('SELECT k FROM %s GROUP BY k'),
  ('SELECT k, count(*) FROM %s WHERE id < 3000 GROUP BY k HAVING sum(id) > 600000'),
  ('SELECT g, count(*) * 2 + 1, sum(id) / 3 FROM %s GROUP BY g'),
  ('SELECT count(*) FROM %s GROUP BY g HAVING g > 2'),
  ('SELECT max(n2) FROM %s'),
  ('SELECT avg(n2) FILTER (WHERE g = 1) FROM %s'),
  ('SELECT min(n), max(n), min(n2), max(n2), sum(n2) FROM %s'),
  ('SELECT g, min(n), max(n2), count(*) FROM %s WHERE id > 100 GROUP BY g')
) v(q);
-- min and max of numeric are computed in the node too (compared as
-- numeric_cmp does; of equal values the later one wins, as in
-- numeric_larger), also where the column's sum reads scaled integers
EXPLAIN (COSTS OFF) SELECT min(n), max(n), max(n2), sum(n2) FROM ag_l;

-- Float sums depend on the order rows are added in, which is the table's
-- own order (heap's may differ): the node repeats the scan's order exactly.
CREATE FUNCTION ag_exact(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	a text;
	b text;
BEGIN
	EXECUTE format('SELECT string_agg(x::text, '';'' ORDER BY x::text) FROM (%s) x', q) INTO a;
	SET LOCAL lsm.enable_aggregate_pushdown = off;
	EXECUTE format('SELECT string_agg(x::text, '';'' ORDER BY x::text) FROM (%s) x', q) INTO b;
	SET LOCAL lsm.enable_aggregate_pushdown = on;
	RETURN CASE WHEN a IS NOT DISTINCT FROM b THEN 'same' ELSE 'DIFFERENT: ' || a || ' / ' || b END;
END $$;
SELECT ag_exact('SELECT sum(f4), avg(f4), sum(f8), avg(f8) FROM ag_l');
SELECT ag_exact('SELECT k, sum(f4), avg(f4), sum(f8), avg(f8) FROM ag_l GROUP BY k');
SELECT ag_exact('SELECT g, sum(f8) FROM ag_l WHERE id > 1234 GROUP BY g');

-- numeric edge cases: NaN, infinities, large and small scales, values
-- beyond the 128-bit fast path
CREATE TABLE ag_nh (n numeric, g int);
INSERT INTO ag_nh VALUES
  (1.5, 1), (2.25, 1), (-0.001, 1),
  (1e30, 2), (-1e30, 2), (0.000000000000000001, 2),
  (99999999999999999999999999999999999999, 3), (99999999999999999999999999999999999999, 3), (1, 3),
  ('NaN', 4), (1, 4),
  ('Infinity', 5), (2, 5),
  ('Infinity', 6), ('-Infinity', 6),
  ('-Infinity', 7), (NULL, 7),
  (NULL, 8),
  (123456789.123456789, 9), (1e-20, 9);
CREATE TABLE ag_nl (LIKE ag_nh) USING lsm;
INSERT INTO ag_nl SELECT * FROM ag_nh;
SELECT g, sum(n), avg(n), count(n) FROM ag_nl GROUP BY g ORDER BY g;
SELECT count(*) FROM (
  (SELECT g, sum(n), avg(n) FROM ag_nl GROUP BY g EXCEPT SELECT g, sum(n), avg(n) FROM ag_nh GROUP BY g)
  UNION ALL
  (SELECT g, sum(n), avg(n) FROM ag_nh GROUP BY g EXCEPT SELECT g, sum(n), avg(n) FROM ag_nl GROUP BY g)) d;

-- float overflow raises the same error as heap
CREATE TABLE ag_fl (f float8) USING lsm;
INSERT INTO ag_fl VALUES (1e308), (1e308);
SELECT sum(f) FROM ag_fl;
SELECT avg(f) FROM ag_fl;
-- ... and -0 / 0 keep the value PostgreSQL keeps
TRUNCATE ag_fl;
INSERT INTO ag_fl VALUES ('-0'), (0), ('NaN'), ('-Infinity');
SELECT min(f), max(f), sum(f) FROM ag_fl;
TRUNCATE ag_fl;
INSERT INTO ag_fl VALUES (0), ('-0');
SELECT min(f), max(f) FROM ag_fl;

-- deletes, updates and rows of the current transaction
DELETE FROM ag_l WHERE id % 9 = 0;
DELETE FROM ag_h WHERE id % 9 = 0;
UPDATE ag_l SET n = n + 1, g = 9 WHERE id BETWEEN 100 AND 150;
UPDATE ag_h SET n = n + 1, g = 9 WHERE id BETWEEN 100 AND 150;
SELECT ag_check('SELECT g, count(*), sum(n), avg(i8) FROM %s GROUP BY g');
-- count(*) alone takes a block's row count from the directory unless a
-- delete reaches the block or the transaction wrote it
SELECT ag_check('SELECT count(*) FROM %s');
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT count(*) FROM ag_l WHERE id < 200;
BEGIN;
INSERT INTO ag_l SELECT * FROM ag_h WHERE id <= 50;
INSERT INTO ag_h SELECT * FROM ag_h WHERE id <= 50;
SELECT ag_check('SELECT g, count(*), sum(id), min(ts) FROM %s GROUP BY g');
SELECT ag_check('SELECT count(*) FROM %s');
SET LOCAL lsm.segment_rows = 20;
INSERT INTO ag_l SELECT * FROM ag_h WHERE id BETWEEN 51 AND 99;
INSERT INTO ag_h SELECT * FROM ag_h WHERE id BETWEEN 51 AND 99;
SELECT ag_check('SELECT g, count(*), sum(id), min(ts) FROM %s GROUP BY g');
SELECT ag_check('SELECT count(*) FROM %s');
-- rows of our own segments written after a cursor's snapshot, and our own
-- deletes
DECLARE ag_cc CURSOR FOR SELECT count(*) FROM ag_l;
INSERT INTO ag_l SELECT * FROM ag_h WHERE id BETWEEN 100 AND 160;
DELETE FROM ag_l WHERE id BETWEEN 1000 AND 1010;
FETCH ag_cc;
CLOSE ag_cc;
SELECT count(*) FROM ag_l;
INSERT INTO ag_h SELECT * FROM ag_h WHERE id BETWEEN 100 AND 160;
DELETE FROM ag_h WHERE id BETWEEN 1000 AND 1010;
SELECT ag_check('SELECT count(*) FROM %s');
-- a statement does not count the rows it writes itself, even once they
-- are in segments of their own (20 rows each here) that a later scan in
-- the statement lists
WITH ins AS (INSERT INTO ag_l SELECT * FROM ag_h WHERE id < 300 RETURNING 1)
SELECT (SELECT count(*) FROM ag_l) AS counted, (SELECT count(*) FROM ins) AS inserted;
SELECT count(*) FROM ag_l;
CREATE FUNCTION ag_count() RETURNS bigint STABLE LANGUAGE sql
  AS 'SELECT count(*) FROM ag_l';
INSERT INTO ag_l (id, allnull) SELECT 300000 + i, ag_count() FROM generate_series(1, 100) i;
SELECT min(allnull), max(allnull), count(*) FROM ag_l WHERE id > 300000;
-- a statement does not see its own output
INSERT INTO ag_l SELECT id + 100000, g, k, i8, n, n2, f4, f8, d, ts, (SELECT count(*) FROM ag_l)
  FROM ag_l WHERE id < 10;
SELECT count(*), min(allnull), max(allnull) FROM ag_l WHERE id > 100000;
ROLLBACK;

-- after compaction the answers do not change
SELECT * FROM lsm.compact('ag_l', true) \gset
SELECT ag_check('SELECT g, k, count(*), sum(i8), avg(n2), max(f8) FROM %s GROUP BY g, k');

-- prepared statements with parameters, generic plans included
PREPARE ag_p(int) AS SELECT count(*), sum(n) FROM ag_l WHERE id < $1;
EXECUTE ag_p(10);
EXECUTE ag_p(100);
EXECUTE ag_p(1000);
EXECUTE ag_p(10000);
EXECUTE ag_p(0);
EXECUTE ag_p(500);
EXECUTE ag_p(20);
DEALLOCATE ag_p;

-- rescans: the aggregate in a correlated subquery runs again per row
SELECT o.v, (SELECT count(*) FROM ag_l WHERE g = o.v) FROM generate_series(0, 5) o(v);
-- and in a subquery pulled into a larger range table
SELECT * FROM (SELECT 1 AS one) s, LATERAL (SELECT count(*) FROM ag_l WHERE id < 100) c;
WITH c AS (SELECT g, count(*) AS n FROM ag_l GROUP BY g) SELECT sum(n) FROM c;

-- empty tables: one row without GROUP BY, none with it
CREATE TABLE ag_e (a int, b numeric) USING lsm;
SELECT count(*), sum(a), avg(b), min(a) FROM ag_e;
SELECT a, count(*) FROM ag_e GROUP BY a;
-- a constant side is evaluated only when a row needs it: no row, no error
SELECT count(*) FROM ag_e WHERE a = (SELECT x FROM (VALUES (1), (2)) v(x));
INSERT INTO ag_e VALUES (1, 1);
SELECT count(*) FROM ag_e WHERE a = (SELECT x FROM (VALUES (1), (2)) v(x));

-- numeric sums past the range of the scaled int128 accumulator: a running
-- sum that cannot take a finer scale, a value scaled up to a finer one
CREATE TABLE ag_nb (g int, n numeric) USING lsm;
INSERT INTO ag_nb VALUES (1, 2e35), (1, 0.1),
  (2, 0.000000000000000000000000000001), (2, 340282366);
EXPLAIN (COSTS OFF) SELECT g, sum(n), avg(n) FROM ag_nb GROUP BY g;
SELECT g, sum(n), avg(n) FROM ag_nb GROUP BY g ORDER BY g;

-- rows read count in pg_stat_user_tables.seq_tup_read
SELECT pg_stat_force_next_flush();
SELECT seq_tup_read AS ag_before FROM pg_stat_user_tables WHERE relname = 'ag_nb' \gset
SELECT count(*) FROM ag_nb;
SELECT pg_stat_force_next_flush();
SELECT seq_tup_read - :ag_before AS rows_read FROM pg_stat_user_tables WHERE relname = 'ag_nb';

-- enable_hashagg = off: a sorted GroupAggregate, as with heap
SET enable_hashagg = off;
EXPLAIN (COSTS OFF) SELECT g, count(*) FROM ag_nb GROUP BY g;
RESET enable_hashagg;

-- WHERE quals run in PostgreSQL's order: a leaky operator sees no row that
-- a row-level security policy hides, and a cheap qual runs before a costly
-- one
CREATE FUNCTION ag_leak(int, int) RETURNS bool LANGUAGE plpgsql COST 1000
  AS $$ BEGIN RAISE NOTICE 'ag_leak saw %', $1; RETURN $1 > $2; END $$;
CREATE OPERATOR >>> (PROCEDURE = ag_leak, LEFTARG = int, RIGHTARG = int);
CREATE TABLE ag_rls (a int) USING lsm;
INSERT INTO ag_rls SELECT generate_series(1, 6);
ALTER TABLE ag_rls ENABLE ROW LEVEL SECURITY;
CREATE POLICY ag_rls_p ON ag_rls USING (a % 2 = 0);
CREATE ROLE regress_lsm_ag_rls;
GRANT SELECT ON ag_rls TO regress_lsm_ag_rls;
SET ROLE regress_lsm_ag_rls;
EXPLAIN (COSTS OFF) SELECT count(*) FROM ag_rls WHERE a >>> 0;
SELECT count(*) FROM ag_rls WHERE a >>> 0;
RESET ROLE;
EXPLAIN (COSTS OFF) SELECT count(*) FROM ag_rls WHERE a >>> 0 AND a % 3 = 0;
SELECT count(*) FROM ag_rls WHERE a >>> 0 AND a % 3 = 0;
DROP TABLE ag_rls, ag_nb;
DROP OPERATOR >>> (int, int);
DROP FUNCTION ag_leak(int, int);
DROP ROLE regress_lsm_ag_rls;

DROP FUNCTION ag_check(text);
DROP FUNCTION ag_exact(text);
DROP TABLE ag_h, ag_l, ag_nh, ag_nl, ag_fl, ag_e;
