--
-- lsm_functions: the SQL API of schema lsm.  lsm.segments, lsm.stats and
-- lsm.verify return well-formed rows that agree with each other and with
-- the table; bad arguments (NULL, heap table, index, view, missing OID)
-- and missing privileges give clear errors and change nothing.
--
CREATE TABLE f1 (a int, b text) USING lsm;

-- an empty table
SELECT count(*) FROM lsm.segments('f1');
SELECT segments, l0_segments, row_count, live_rows, buffered_rows, bytes, uncompressed_bytes,
       storage_id > 0 AS has_storage, relation_bytes > 0 AS has_metapage
  FROM lsm.stats('f1');
SELECT * FROM lsm.verify('f1');

-- three committed inserts: at least three level-0 segments, dense in rowid
-- (how many segments one insert makes depends on rowid batching)
INSERT INTO f1 SELECT g, repeat('x', g % 50) FROM generate_series(1, 1000) g;
INSERT INTO f1 SELECT g, NULL FROM generate_series(1001, 1500) g;
INSERT INTO f1 VALUES (1501, 'last');
SELECT count(*) >= 3 AS segments, sum(row_count) AS rows, bool_and(level = 0) AS all_level0,
       sum(deleted_count) AS deleted, bool_and(max_rowid - min_rowid + 1 = row_count) AS dense,
       bool_and(schema_version > 0) AS has_version, bool_and(start_block > 0) AS after_metapage,
       bool_and(nblocks > 0) AS has_blocks, bool_and(bytes > 0) AS has_bytes,
       bool_and(uncompressed_bytes > 0) AS has_raw
  FROM lsm.segments('f1');
-- the last segment holds the single row of the last insert
SELECT row_count, min_rowid = max_rowid AS one_rowid FROM lsm.segments('f1') ORDER BY min_rowid DESC LIMIT 1;
-- rowid ranges do not overlap and increase with segment order
SELECT count(*) FROM (SELECT min_rowid, lag(max_rowid) OVER (ORDER BY min_rowid) AS prev_max
                        FROM lsm.segments('f1')) s WHERE min_rowid <= prev_max;
-- ctid = (rowid / 291, rowid % 291 + 1): the first and last rows of each segment exist
SELECT count(*) FROM lsm.segments('f1') s
 WHERE NOT EXISTS (SELECT 1 FROM f1 WHERE ctid = format('(%s,%s)', s.min_rowid / 291, s.min_rowid % 291 + 1)::tid)
    OR NOT EXISTS (SELECT 1 FROM f1 WHERE ctid = format('(%s,%s)', s.max_rowid / 291, s.max_rowid % 291 + 1)::tid);
-- stats agree with segments and with count(*)
SELECT st.segments = (SELECT count(*) FROM lsm.segments('f1')) AS seg_ok,
       st.l0_segments = st.segments AS all_l0,
       st.row_count = 1501 AS rows_ok, st.live_rows = 1501 AS live_ok, st.buffered_rows,
       st.bytes = (SELECT sum(bytes) FROM lsm.segments('f1')) AS bytes_ok,
       st.uncompressed_bytes = (SELECT sum(uncompressed_bytes) FROM lsm.segments('f1')) AS raw_ok,
       st.relation_bytes = pg_relation_size('f1') AS relsize_ok
  FROM lsm.stats('f1') st;
-- verify reads every segment, block and row
SELECT segments_checked, blocks_checked >= segments_checked AS blocks_ok,
       chunks_checked >= blocks_checked AS chunks_ok, rows_checked
  FROM lsm.verify('f1');
-- the result row types
SELECT pg_typeof(s) FROM lsm.stats('f1') s;
SELECT proname, pg_get_function_result(oid) FROM pg_proc
 WHERE pronamespace = 'lsm'::regnamespace AND proname IN ('segments', 'stats', 'verify', 'collect_garbage')
 ORDER BY proname;

-- buffered rows of our own transaction: counted as buffered, not in segments
BEGIN;
INSERT INTO f1 VALUES (2000, 'buffered'), (2001, 'buffered');
SELECT segments, buffered_rows FROM lsm.stats('f1');
SELECT rows_checked FROM lsm.verify('f1');
ROLLBACK;
-- a smaller lsm.block_rows gives more blocks per segment
SELECT blocks_checked AS blocks_before FROM lsm.verify('f1') \gset
SET lsm.block_rows = 64;
INSERT INTO f1 SELECT g, 'b' FROM generate_series(1, 640) g;
RESET lsm.block_rows;
SELECT blocks_checked - :blocks_before >= 10 AS ten_more_blocks, rows_checked FROM lsm.verify('f1');
-- GUC ranges are enforced
SET lsm.block_rows = 10;
SET lsm.segment_rows = 0;
SET lsm.compression_level = 20;
SET lsm.memtable_limit = '1kB';
SET lsm.no_such_setting = 1;
-- compression off still round-trips
SET lsm.compression_level = 0;
INSERT INTO f1 SELECT g, repeat('z', 100) FROM generate_series(1, 100) g;
RESET lsm.compression_level;
SELECT count(*), sum(length(b)) FILTER (WHERE b ~ '^z+$') FROM f1;
SELECT rows_checked FROM lsm.verify('f1');

-- a materialized view and a partition are lsm relations too
CREATE MATERIALIZED VIEW f1_mv USING lsm AS SELECT * FROM f1 WHERE a < 10;
SELECT row_count FROM lsm.stats('f1_mv');
SELECT rows_checked FROM lsm.verify('f1_mv');

-- bad arguments: clear errors
\set VERBOSITY default
SELECT * FROM lsm.segments(NULL);
SELECT * FROM lsm.stats(NULL);
SELECT * FROM lsm.verify(NULL);
CREATE TABLE f_heap (a int) USING heap;
CREATE INDEX f_heap_idx ON f_heap (a);
CREATE INDEX f1_idx ON f1 (a);
CREATE VIEW f_view AS SELECT * FROM f1;
CREATE SEQUENCE f_seq;
SELECT * FROM lsm.segments('f_heap');
SELECT * FROM lsm.stats('f_heap');
SELECT * FROM lsm.verify('f_heap');
SELECT * FROM lsm.stats('f1_idx');
SELECT * FROM lsm.stats('f_heap_idx');
SELECT * FROM lsm.stats('f_view');
SELECT * FROM lsm.stats('f_seq');
SELECT * FROM lsm.stats('pg_class');
SELECT * FROM lsm.stats('lsm.segment');
SELECT * FROM lsm.segments(0::regclass);
SELECT * FROM lsm.verify(0::oid::regclass);
SELECT * FROM lsm.stats(99999999::oid::regclass);
SELECT * FROM lsm.stats('no_such_table');
-- a partitioned table has no storage of its own
CREATE TABLE f_part (a int) PARTITION BY RANGE (a);
CREATE TABLE f_part_1 PARTITION OF f_part FOR VALUES FROM (0) TO (10) USING lsm;
SELECT * FROM lsm.stats('f_part');
SELECT row_count FROM lsm.stats('f_part_1');
-- the event trigger function is not callable directly
SELECT lsm.refuse_publication();

-- privileges.  Schema lsm is not usable by PUBLIC (the extension script
-- grants nothing on it), so an ordinary role gets "permission denied for
-- schema lsm" before the functions' own checks.
CREATE ROLE regress_lsm_fn_user;
SET ROLE regress_lsm_fn_user;
SELECT * FROM lsm.stats('f1');
SELECT count(*) FROM lsm.segment;
RESET ROLE;
-- with USAGE on the schema: SELECT on the table is required, the catalog
-- tables stay private
GRANT USAGE ON SCHEMA lsm TO regress_lsm_fn_user;
SET ROLE regress_lsm_fn_user;
SELECT * FROM lsm.stats('f1');
SELECT * FROM lsm.segments('f1');
SELECT * FROM lsm.verify('f1');
SELECT count(*) FROM lsm.segment;
SELECT count(*) FROM lsm.storage;
SELECT count(*) FROM lsm.inflight;
RESET ROLE;
GRANT SELECT ON f1 TO regress_lsm_fn_user;
SET ROLE regress_lsm_fn_user;
SELECT row_count FROM lsm.stats('f1');
SELECT count(*) > 0 AS visible FROM lsm.segments('f1');
SELECT rows_checked FROM lsm.verify('f1');
RESET ROLE;
REVOKE SELECT ON f1 FROM regress_lsm_fn_user;
REVOKE USAGE ON SCHEMA lsm FROM regress_lsm_fn_user;
-- an ordinary role can own and use lsm tables (no access to schema lsm needed)
CREATE SCHEMA f_own AUTHORIZATION regress_lsm_fn_user;
SET ROLE regress_lsm_fn_user;
CREATE TABLE f_own.t (a int PRIMARY KEY, b text) USING lsm;
INSERT INTO f_own.t SELECT g, 'r' || g FROM generate_series(1, 100) g;
BEGIN;
INSERT INTO f_own.t VALUES (101, 'tx');
SAVEPOINT s;
INSERT INTO f_own.t VALUES (102, 'rolled back');
ROLLBACK TO SAVEPOINT s;
COMMIT;
SELECT count(*), sum(a) FROM f_own.t;
INSERT INTO f_own.t VALUES (1, 'dup');
CREATE INDEX ON f_own.t (b);
TRUNCATE f_own.t;
INSERT INTO f_own.t VALUES (1, 'after truncate');
VACUUM FULL f_own.t;
SELECT * FROM f_own.t;
DROP TABLE f_own.t;
RESET ROLE;
DROP SCHEMA f_own;
DROP ROLE regress_lsm_fn_user;

-- nothing above changed the table
SELECT count(*) FROM f1;
SELECT rows_checked FROM lsm.verify('f1');

DROP TABLE f1, f_heap, f_part CASCADE;
DROP SEQUENCE f_seq;
