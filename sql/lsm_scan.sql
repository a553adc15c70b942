--
-- lsm_scan: every read path other than index scans returns what heap would.
-- Sequential scans in both directions (scrollable cursors, also over rows
-- still buffered in the transaction and over many segments), TID scans,
-- TID range scans (including odd bounds), TABLESAMPLE SYSTEM / BERNOULLI
-- (REPEATABLE gives the same sample twice), and ANALYZE statistics.
-- TIDs are virtual: ctid = (rowid / 291, rowid % 291 + 1).
--
SET lsm.segment_rows = 500;
CREATE TABLE sc (id int, v text) USING lsm;
INSERT INTO sc SELECT g, 'v' || g FROM generate_series(1, 3000) g;
RESET lsm.segment_rows;
-- several segments
SELECT count(*) > 1 AS several_segments FROM lsm.segments('sc');

-- rows come back in TID order, which is insertion order here
SELECT bool_and(id = rn) AS in_order FROM (SELECT id, row_number() OVER () AS rn FROM sc) s;
SELECT count(*) FROM (SELECT ctid, lag(ctid) OVER () AS prev FROM sc) s WHERE prev >= ctid;
-- the first rows of a fresh table get TIDs (0,1), (0,2), ... and block 1 starts at row 292
SELECT ctid, id FROM sc WHERE id IN (1, 2, 291, 292, 582, 583) ORDER BY id;

-- scrollable cursor over a multi-segment table: every direction
BEGIN;
DECLARE cur SCROLL CURSOR FOR SELECT id FROM sc;
FETCH FIRST FROM cur;
FETCH LAST FROM cur;
FETCH PRIOR FROM cur;
FETCH BACKWARD 3 FROM cur;
FETCH ABSOLUTE 500 FROM cur;
FETCH ABSOLUTE 501 FROM cur;
FETCH RELATIVE -2 FROM cur;
FETCH ABSOLUTE -1 FROM cur;
MOVE ABSOLUTE 0 IN cur;
FETCH NEXT FROM cur;
MOVE LAST IN cur;
FETCH NEXT FROM cur;        -- past the end: no row
FETCH PRIOR FROM cur;       -- back onto the last row
MOVE BACKWARD ALL IN cur;
FETCH PRIOR FROM cur;       -- before the start: no row
FETCH 2 FROM cur;
CLOSE cur;
COMMIT;
-- from the end backwards to the start
BEGIN;
DECLARE cur3 SCROLL CURSOR FOR SELECT id FROM sc;
MOVE FORWARD ALL IN cur3;
FETCH BACKWARD 5 FROM cur3;
MOVE BACKWARD 2990 IN cur3;
FETCH BACKWARD ALL FROM cur3;
COMMIT;
-- a full backward scan returns every row exactly in reverse TID order
CREATE FUNCTION backward_ids(q text) RETURNS int[] LANGUAGE plpgsql AS $$
DECLARE c refcursor; r record; res int[] := '{}';
BEGIN
  OPEN c SCROLL FOR EXECUTE q;
  MOVE FORWARD ALL FROM c;
  FETCH PRIOR FROM c INTO r;
  LOOP
    EXIT WHEN NOT FOUND;
    res := res || r.id;
    FETCH PRIOR FROM c INTO r;
  END LOOP;
  CLOSE c;
  RETURN res;
END $$;
SELECT backward_ids('SELECT id FROM sc') =
       (SELECT array_agg(id ORDER BY ctid DESC) FROM sc) AS reverse_order,
       cardinality(backward_ids('SELECT id FROM sc')) AS n;
-- a backward seq scan also stops at the start of each segment correctly
BEGIN;
DECLARE cur4 SCROLL CURSOR FOR SELECT id FROM sc;
FETCH ABSOLUTE 1001 FROM cur4;   -- first row of a segment
FETCH PRIOR FROM cur4;           -- last row of the previous one
FETCH PRIOR FROM cur4;
FETCH NEXT FROM cur4;
FETCH NEXT FROM cur4;
COMMIT;

-- backward scan over own buffered rows plus committed segments
BEGIN;
INSERT INTO sc SELECT g, 'buf' FROM generate_series(3001, 3010) g;
DECLARE cb SCROLL CURSOR FOR SELECT id FROM sc;
FETCH LAST FROM cb;
FETCH BACKWARD 11 FROM cb;
FETCH ABSOLUTE 3000 FROM cb;
FETCH NEXT FROM cb;
ROLLBACK;

-- an empty table in every direction
CREATE TABLE sc_empty (a int) USING lsm;
BEGIN;
DECLARE ce SCROLL CURSOR FOR SELECT * FROM sc_empty;
FETCH LAST FROM ce;
FETCH PRIOR FROM ce;
FETCH FIRST FROM ce;
COMMIT;

-- TID scans (Tid Scan plan)
EXPLAIN (COSTS OFF) SELECT id FROM sc WHERE ctid = '(0,5)';
SELECT id FROM sc WHERE ctid = '(0,5)';
SELECT id FROM sc WHERE ctid = '(1,1)';
SELECT id FROM sc WHERE ctid = '(0,0)';            -- offset 0 is invalid: no row
SELECT id FROM sc WHERE ctid = '(0,292)';          -- beyond MaxHeapTuplesPerPage: no row
SELECT id FROM sc WHERE ctid = '(10,291)';         -- last row number 3000 is (10,90)
SELECT id FROM sc WHERE ctid = '(10,90)';
SELECT id FROM sc WHERE ctid = '(10,91)';          -- beyond the end: no row
SELECT id FROM sc WHERE ctid = '(4294967295,1)';
SELECT id FROM sc WHERE ctid = ANY (ARRAY['(0,1)', '(2,7)', '(0,1)', '(99,1)']::tid[]) ORDER BY id;
SELECT id FROM sc WHERE ctid IN ('(5,5)', '(6,6)') ORDER BY id;
-- every row is found by its own ctid
SELECT count(*) FROM sc a WHERE (SELECT b.id FROM sc b WHERE b.ctid = a.ctid) = a.id;
-- currtid-style lookup of the latest version of a TID
SELECT currtid2('sc', '(0,3)');
-- TID scan over own buffered rows
BEGIN;
INSERT INTO sc VALUES (-7, 'mine');
SELECT id FROM sc WHERE ctid = (SELECT ctid FROM sc WHERE id = -7);
ROLLBACK;
SELECT id FROM sc WHERE id = -7;

-- TID range scans: the Tid Range Scan plan must give the same rows as a
-- sequential scan filtering on ctid
EXPLAIN (COSTS OFF) SELECT count(*) FROM sc WHERE ctid > '(0,300)';
CREATE TEMP TABLE tid_bounds (q text);
INSERT INTO tid_bounds VALUES
  ('ctid > ''(0,300)'''), ('ctid >= ''(0,291)'''), ('ctid < ''(0,0)'''), ('ctid <= ''(0,0)'''),
  ('ctid < ''(0,1)'''), ('ctid <= ''(0,1)'''), ('ctid > ''(10,89)'''), ('ctid >= ''(10,90)'''),
  ('ctid > ''(10,90)'''), ('ctid > ''(11,0)'''), ('ctid > ''(500,1)'''), ('ctid < ''(500,1)'''),
  ('ctid >= ''(3,0)'' AND ctid < ''(4,0)'''), ('ctid > ''(3,291)'' AND ctid <= ''(5,1)'''),
  ('ctid > ''(5,1)'' AND ctid < ''(5,1)'''), ('ctid >= ''(1,1)'' AND ctid <= ''(1,1)'''),
  ('ctid > ''(4294967295,65535)'''), ('ctid >= ''(0,0)''');
CREATE FUNCTION tid_count(q text, OUT n bigint, OUT s bigint) LANGUAGE plpgsql AS
$$ BEGIN EXECUTE 'SELECT count(*), sum(id) FROM sc WHERE ' || q INTO n, s; END $$;
SET enable_tidscan = on;
CREATE TEMP TABLE tid_on AS SELECT q, (tid_count(q)).* FROM tid_bounds;
SET enable_tidscan = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM sc WHERE ctid > '(0,300)';
CREATE TEMP TABLE tid_off AS SELECT q, (tid_count(q)).* FROM tid_bounds;
RESET enable_tidscan;
SELECT a.q, a.n, a.s, a.n = b.n AND a.s IS NOT DISTINCT FROM b.s AS same_as_seqscan
  FROM tid_on a JOIN tid_off b USING (q) ORDER BY a.q;
-- a TID range scan backwards (cursor) and with LIMIT
BEGIN;
DECLARE ct SCROLL CURSOR FOR SELECT id FROM sc WHERE ctid > '(9,280)' AND ctid < '(10,3)';
FETCH ALL FROM ct;
FETCH BACKWARD ALL FROM ct;
COMMIT;
SELECT id FROM sc WHERE ctid >= '(2,1)' LIMIT 3;

-- TABLESAMPLE: REPEATABLE with the same seed gives the same sample
SELECT count(*) AS n1 FROM sc TABLESAMPLE SYSTEM (50) REPEATABLE (42) \gset
SELECT count(*) = :n1 AS same_count, count(*) BETWEEN 1 AND 2999 AS partial
  FROM sc TABLESAMPLE SYSTEM (50) REPEATABLE (42);
SELECT (SELECT array_agg(id ORDER BY id) FROM sc TABLESAMPLE SYSTEM (30) REPEATABLE (7)) =
       (SELECT array_agg(id ORDER BY id) FROM sc TABLESAMPLE SYSTEM (30) REPEATABLE (7)) AS same_rows;
SELECT count(*) AS n2 FROM sc TABLESAMPLE BERNOULLI (40) REPEATABLE (3) \gset
SELECT count(*) = :n2 AS same_count, count(*) BETWEEN 1 AND 2999 AS partial
  FROM sc TABLESAMPLE BERNOULLI (40) REPEATABLE (3);
SELECT (SELECT array_agg(id ORDER BY id) FROM sc TABLESAMPLE BERNOULLI (10) REPEATABLE (99)) =
       (SELECT array_agg(id ORDER BY id) FROM sc TABLESAMPLE BERNOULLI (10) REPEATABLE (99)) AS same_rows;
-- 100 percent returns every row, 0 percent none, and sampled rows are real rows
SELECT count(*), sum(id) FROM sc TABLESAMPLE SYSTEM (100);
SELECT count(*), sum(id) FROM sc TABLESAMPLE BERNOULLI (100);
SELECT count(*) FROM sc TABLESAMPLE SYSTEM (0);
SELECT count(*) FROM sc TABLESAMPLE BERNOULLI (0);
SELECT count(*) FROM sc s TABLESAMPLE BERNOULLI (50) REPEATABLE (1) WHERE s.v <> 'v' || s.id;
SELECT count(*) FROM sc_empty TABLESAMPLE SYSTEM (50);
-- SYSTEM samples whole virtual blocks: each sampled block is complete
SELECT bool_and(n = CASE WHEN blk = 10 THEN 90 ELSE 291 END) AS whole_blocks
  FROM (SELECT (ctid::text::point)[0] AS blk, count(*) AS n
          FROM sc TABLESAMPLE SYSTEM (50) REPEATABLE (5) GROUP BY 1) b;
-- a sample inside the inserting transaction sees our buffered rows
BEGIN;
INSERT INTO sc SELECT g, 'tx' FROM generate_series(3001, 3100) g;
SELECT count(*) FROM sc TABLESAMPLE SYSTEM (100) WHERE v = 'tx';
ROLLBACK;

-- ANALYZE: reltuples and pg_stats as heap would have them
ANALYZE sc;
SELECT reltuples FROM pg_class WHERE oid = 'sc'::regclass;
SELECT attname, null_frac, n_distinct FROM pg_stats
 WHERE tablename = 'sc' ORDER BY attname;
SELECT array_length(histogram_bounds, 1) > 10 AS has_histogram FROM pg_stats
 WHERE tablename = 'sc' AND attname = 'id';
-- the planner's estimates follow the statistics
CREATE FUNCTION est_rows(q text) RETURNS float8 LANGUAGE plpgsql AS
$$ DECLARE j json; BEGIN EXECUTE 'EXPLAIN (FORMAT JSON) ' || q INTO j; RETURN (j->0->'Plan'->>'Plan Rows')::float8; END $$;
SELECT est_rows('SELECT * FROM sc') AS all_rows,
       est_rows('SELECT * FROM sc WHERE id < 100') BETWEEN 50 AND 200 AS lt100_ok;
-- a heap table with the same rows gets the same statistics
CREATE TABLE sc_heap (id int, v text) USING heap;
INSERT INTO sc_heap SELECT * FROM sc;
ANALYZE sc_heap;
SELECT count(*) FROM (
  SELECT attname, null_frac, n_distinct, avg_width FROM pg_stats WHERE tablename = 'sc'
  EXCEPT
  SELECT attname, null_frac, n_distinct, avg_width FROM pg_stats WHERE tablename = 'sc_heap') d;
-- ANALYZE of a larger table samples (only 300 * statistics_target rows)
SET default_statistics_target = 10;
CREATE TABLE sc_big (id int, grp int) USING lsm;
INSERT INTO sc_big SELECT g, g % 10 FROM generate_series(1, 20000) g;
ANALYZE sc_big;
SELECT reltuples BETWEEN 19000 AND 21000 AS reltuples_ok FROM pg_class WHERE oid = 'sc_big'::regclass;
SELECT n_distinct FROM pg_stats WHERE tablename = 'sc_big' AND attname = 'grp';
RESET default_statistics_target;
-- ANALYZE of an empty table, and VACUUM ANALYZE
ANALYZE sc_empty;
SELECT reltuples FROM pg_class WHERE oid = 'sc_empty'::regclass;
VACUUM ANALYZE sc;
SELECT reltuples FROM pg_class WHERE oid = 'sc'::regclass;
SELECT count(*) FROM sc;

-- a forced parallel plan gives the same answers (details: lsm_parallel)
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET lsm.parallel_cold_start_factor = 0;
EXPLAIN (COSTS OFF) SELECT count(*), sum(id) FROM sc_big;
SELECT count(*), sum(id) FROM sc_big;
-- a join of lsm with a parallel-scanned heap table is still right
CREATE TABLE sc_big_heap AS SELECT * FROM sc_big;
SELECT count(*) FROM sc_big b JOIN sc_big_heap h USING (id);
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET lsm.parallel_cold_start_factor;

DROP TABLE sc, sc_empty, sc_heap, sc_big, sc_big_heap;
DROP FUNCTION tid_count(text), est_rows(text), backward_ids(text);
