--
-- lsm_shared_directory_cache: parsed segment directories in shared memory
-- (lsm.shared_directory_cache_size), found by every session and parallel
-- worker instead of each parsing its own copy.  lsm.shared_directory_cache()
-- counts since the server started, so the checks look at the changes of
-- its counters.  Eviction, bypasses and damaged directories are tested in
-- t/006_shared_directory_cache.pl, which can size the cache.
--
\set orig_db :DBNAME
SET lsm.segment_rows = 3000;
CREATE TABLE sdc (id int PRIMARY KEY, grp int, val text, amount numeric(10,2)) USING lsm;
CREATE TABLE sdc_heap (id int PRIMARY KEY, grp int, val text, amount numeric(10,2));
INSERT INTO sdc SELECT g, g % 7, repeat(chr(65 + g % 26), 1 + g % 30), g / 4.0
  FROM generate_series(1, 15000) g;
INSERT INTO sdc_heap SELECT * FROM sdc;
RESET lsm.segment_rows;
SELECT count(*) AS segments FROM lsm.segments('sdc');
SHOW lsm.shared_directory_cache_size;
SHOW lsm.enable_shared_directory_cache;
SELECT size AS ring_bytes, used_bytes <= size AS fits FROM lsm.shared_directory_cache();

CREATE TABLE sdc_counters (step text, hits bigint, loads bigint, bypasses bigint);
CREATE FUNCTION sdc_mark(step text) RETURNS void LANGUAGE sql AS
$$ INSERT INTO sdc_counters SELECT step, hits, loads, bypasses FROM lsm.shared_directory_cache() $$;
CREATE FUNCTION sdc_since(step text, OUT hits bigint, OUT loads bigint, OUT bypasses bigint)
LANGUAGE sql AS
$$ SELECT s.hits - c.hits, s.loads - c.loads, s.bypasses - c.bypasses
     FROM lsm.shared_directory_cache() s, sdc_counters c WHERE c.step = $1 $$;

-- one scan puts every directory of the table in the shared cache (or finds
-- it there: the INSERT's key checks may have read some already)
SELECT sdc_mark('first');
SELECT count(*), sum(amount), sum(length(val)) FROM sdc;
SELECT count(*), sum(amount), sum(length(val)) FROM sdc_heap;
SELECT hits + loads = 5 AS each_segment_once, bypasses FROM sdc_since('first');

-- a new session finds them all there: it parses nothing, and its own cache
-- stays empty
\c
SELECT sdc_mark('second');
SELECT count(*), sum(amount), sum(length(val)) FROM sdc;
SELECT hits, loads, bypasses FROM sdc_since('second');
SELECT segments AS private_cached FROM lsm.directory_cache();
-- pinned for the transaction: a second scan in it looks nothing up again
BEGIN;
SELECT sdc_mark('in_tx');
SELECT count(*) FROM sdc WHERE grp = 2;
SELECT id, val, amount FROM sdc WHERE id IN (1, 2999, 3000, 3001, 9000, 15000) ORDER BY id;
SELECT hits, loads FROM sdc_since('in_tx');
COMMIT;

-- parallel workers find them too, and read the same rows as heap
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET lsm.parallel_cold_start_factor = 0;
SET max_parallel_workers_per_gather = 2;
SELECT sdc_mark('parallel');
EXPLAIN (COSTS OFF) SELECT grp, count(*), sum(amount) FROM sdc GROUP BY grp;
SELECT grp, count(*), sum(amount), max(length(val)) FROM sdc GROUP BY grp
EXCEPT
SELECT grp, count(*), sum(amount), max(length(val)) FROM sdc_heap GROUP BY grp;
SELECT loads AS parallel_loads, bypasses AS parallel_bypasses FROM sdc_since('parallel');
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET lsm.parallel_cold_start_factor;
RESET max_parallel_workers_per_gather;

-- a new segment is parsed once, then found
INSERT INTO sdc SELECT g, g % 7, 'new', 1 FROM generate_series(20001, 20100) g;
INSERT INTO sdc_heap SELECT g, g % 7, 'new', 1 FROM generate_series(20001, 20100) g;
SELECT sdc_mark('new_segment');
SELECT (SELECT count(*) FROM sdc WHERE val = 'new') = (SELECT count(*) FROM sdc_heap WHERE val = 'new') AS same_new;
SELECT (SELECT sum(amount) FROM sdc) = (SELECT sum(amount) FROM sdc_heap) AS same_sum;
SELECT loads AS new_segment_loads FROM sdc_since('new_segment');

-- a new session whose first read of the table is a btree vacuum asking
-- which index entries are dead: the rows of segments that compaction
-- rewrote without their deleted rows are looked up in the segments, so the
-- first directory the session pins is pinned inside the index AM's
-- error-cleanup block
DELETE FROM sdc WHERE id % 97 = 0;
DELETE FROM sdc_heap WHERE id % 97 = 0;
SELECT rows_out < rows_in AS dropped_deleted FROM lsm.compact('sdc', true);
\c
VACUUM sdc;
SET enable_seqscan = off;
SELECT (SELECT count(*) FROM sdc WHERE id > 0) = (SELECT count(*) FROM sdc_heap) AS same_after_vacuum;
RESET enable_seqscan;

-- a session may keep to its own cache: the shared one is not touched
SET lsm.enable_shared_directory_cache = off;
SELECT sdc_mark('off');
SELECT count(*), sum(amount) FROM sdc;
SELECT hits, loads, bypasses FROM sdc_since('off');
SELECT segments AS private_cached FROM lsm.directory_cache();
RESET lsm.enable_shared_directory_cache;

-- the setting needs a restart; bad values change nothing
SET lsm.shared_directory_cache_size = '1MB';
SET lsm.enable_shared_directory_cache = 'sometimes';

-- segment ids start over when the extension is created again; a segment of
-- the new catalog must not be mistaken for the old one with the same ids
CREATE DATABASE lsm_sdc_db;
\c lsm_sdc_db
CREATE EXTENSION lsm_am;
CREATE TABLE t1 (v text) USING lsm;
INSERT INTO t1 SELECT 'first catalog ' || g FROM generate_series(1, 3) g;
SELECT string_agg(v, ', ' ORDER BY v) FROM t1;
SELECT segment_id AS old_segment FROM lsm.segments('t1');
DROP EXTENSION lsm_am CASCADE;
CREATE EXTENSION lsm_am;
CREATE TABLE t2 (v text) USING lsm;
INSERT INTO t2 SELECT 'second catalog ' || g FROM generate_series(1, 3) g;
SELECT segment_id AS new_segment FROM lsm.segments('t2');
SELECT string_agg(v, ', ' ORDER BY v) FROM t2;
\c lsm_sdc_db
SELECT string_agg(v, ', ' ORDER BY v) FROM t2;
\c :orig_db
DROP DATABASE lsm_sdc_db;

DROP TABLE sdc, sdc_heap, sdc_counters;
DROP FUNCTION sdc_mark(text), sdc_since(text);
