--
-- lsm_ddl: DDL on lsm tables keeps data and the lsm catalog consistent.
-- TRUNCATE (also in the creating transaction and rolled back), DROP TABLE
-- and DROP SCHEMA CASCADE remove all lsm catalog rows, ALTER TABLE
-- ADD/DROP/RENAME COLUMN, ALTER COLUMN TYPE (rewrite), VACUUM (FULL),
-- CLUSTER, SET ACCESS METHOD heap <-> lsm, CREATE TABLE AS, SELECT INTO,
-- materialized views USING lsm with REFRESH, partitioned tables with lsm
-- (and mixed heap/lsm) partitions, unlogged and temporary tables, and
-- lsm.collect_garbage().
--
-- storages that are not the current storage of any lsm relation: must stay 0
-- (checked only while no temporary lsm tables exist)
CREATE VIEW orphan_storage AS
  SELECT count(*) AS orphans FROM lsm.storage s
   WHERE s.storage_id NOT IN (
     SELECT (lsm.stats(c.oid)).storage_id FROM pg_class c JOIN pg_am a ON a.oid = c.relam
      WHERE a.amname = 'lsm' AND c.relkind IN ('r', 'm') AND c.relpersistence <> 't');
-- segment rows whose storage row is gone: must stay 0
CREATE VIEW orphan_segments AS
  SELECT count(*) AS orphans FROM lsm.segment g
   WHERE NOT EXISTS (SELECT 1 FROM lsm.storage s WHERE s.storage_id = g.storage_id);
-- storage rows whose relid names no relation: must stay 0
CREATE VIEW stale_relid AS
  SELECT count(*) AS stale FROM lsm.storage s
   WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = s.relid);
SELECT count(*) AS storages_before FROM lsm.storage \gset

-- TRUNCATE: empty afterwards, old storage replaced, inserts work again
CREATE TABLE d1 (a int, b text) USING lsm;
INSERT INTO d1 SELECT g, 'x' || g FROM generate_series(1, 1000) g;
SELECT storage_id AS d1_storage FROM lsm.stats('d1') \gset
TRUNCATE d1;
SELECT count(*) FROM d1;
SELECT storage_id <> :d1_storage AS new_storage, segments, row_count FROM lsm.stats('d1');
SELECT count(*) FROM lsm.segment WHERE storage_id = :d1_storage;
INSERT INTO d1 VALUES (1, 'again');
SELECT * FROM d1;
-- TRUNCATE rolled back keeps the rows and the old storage
BEGIN;
TRUNCATE d1;
INSERT INTO d1 VALUES (2, 'in tx');
SELECT * FROM d1;
ROLLBACK;
SELECT * FROM d1;
SELECT segments FROM lsm.stats('d1');
-- TRUNCATE in the transaction that created the table, with buffered rows
BEGIN;
CREATE TABLE d2 (a int) USING lsm;
INSERT INTO d2 SELECT generate_series(1, 100);
TRUNCATE d2;
SELECT count(*) FROM d2;
INSERT INTO d2 SELECT generate_series(1, 10);
COMMIT;
SELECT count(*), sum(a) FROM d2;
-- TRUNCATE with buffered rows in an older transaction; savepoint rollback of TRUNCATE
BEGIN;
INSERT INTO d2 VALUES (100);
SAVEPOINT s;
TRUNCATE d2;
INSERT INTO d2 VALUES (200);
ROLLBACK TO SAVEPOINT s;
SELECT count(*), sum(a) FROM d2;
COMMIT;
SELECT count(*), sum(a) FROM d2;
-- TRUNCATE of several tables, RESTART IDENTITY
CREATE TABLE d3 (id serial, a int) USING lsm;
INSERT INTO d3 (a) VALUES (1), (2);
TRUNCATE d2, d3 RESTART IDENTITY;
INSERT INTO d3 (a) VALUES (3);
SELECT * FROM d3;
SELECT count(*) FROM d2;
SELECT * FROM orphan_storage, orphan_segments, stale_relid;

-- ALTER TABLE: add columns (with and without defaults), drop, rename
CREATE TABLE d4 (a int, b text) USING lsm;
CREATE TABLE d4_h (a int, b text) USING heap;
INSERT INTO d4 SELECT g, 'b' || g FROM generate_series(1, 500) g;
INSERT INTO d4_h SELECT g, 'b' || g FROM generate_series(1, 500) g;
ALTER TABLE d4 ADD COLUMN c int;
ALTER TABLE d4_h ADD COLUMN c int;
ALTER TABLE d4 ADD COLUMN d text DEFAULT 'dflt';
ALTER TABLE d4_h ADD COLUMN d text DEFAULT 'dflt';
ALTER TABLE d4 ADD COLUMN e timestamptz DEFAULT '2020-01-01 00:00+00';
ALTER TABLE d4_h ADD COLUMN e timestamptz DEFAULT '2020-01-01 00:00+00';
INSERT INTO d4 SELECT g, 'n' || g, g, 'new', NULL FROM generate_series(501, 600) g;
INSERT INTO d4_h SELECT g, 'n' || g, g, 'new', NULL FROM generate_series(501, 600) g;
SELECT * FROM d4 WHERE a IN (1, 600) ORDER BY a;
ALTER TABLE d4 DROP COLUMN b;
ALTER TABLE d4_h DROP COLUMN b;
INSERT INTO d4 VALUES (601, 7, 'after drop');
INSERT INTO d4_h VALUES (601, 7, 'after drop');
ALTER TABLE d4 RENAME COLUMN c TO c2;
ALTER TABLE d4_h RENAME COLUMN c TO c2;
ALTER TABLE d4 RENAME TO d4r;
ALTER TABLE d4_h RENAME TO d4r_h;
SELECT * FROM d4r WHERE a IN (1, 600, 601) ORDER BY a;
SELECT count(*) FROM (SELECT * FROM d4r EXCEPT ALL SELECT * FROM d4r_h) x;
SELECT count(*) FROM (SELECT * FROM d4r_h EXCEPT ALL SELECT * FROM d4r) x;
-- a volatile default forces a rewrite
ALTER TABLE d4r ADD COLUMN f int DEFAULT (random() * 0)::int;
SELECT count(*), count(f), sum(f) FROM d4r;
ALTER TABLE d4r DROP COLUMN f;
-- ALTER COLUMN TYPE rewrites into a new storage; data converted as heap does
CREATE TABLE d4t (a int, b text, c int) USING lsm;
CREATE TABLE d4t_h (a int, b text, c int) USING heap;
INSERT INTO d4t SELECT g, 'b' || g, g FROM generate_series(1, 300) g;
INSERT INTO d4t_h SELECT g, 'b' || g, g FROM generate_series(1, 300) g;
SELECT storage_id AS d4t_storage FROM lsm.stats('d4t') \gset
ALTER TABLE d4t ALTER COLUMN a TYPE bigint;
ALTER TABLE d4t_h ALTER COLUMN a TYPE bigint;
SELECT storage_id <> :d4t_storage AS rewritten FROM lsm.stats('d4t');
SELECT count(*) FROM lsm.segment WHERE storage_id = :d4t_storage;
ALTER TABLE d4t ALTER COLUMN c TYPE text USING (c * 2)::text;
ALTER TABLE d4t_h ALTER COLUMN c TYPE text USING (c * 2)::text;
SELECT pg_typeof(a), pg_typeof(c) FROM d4t LIMIT 1;
SELECT count(*) FROM (SELECT * FROM d4t EXCEPT ALL SELECT * FROM d4t_h) x;
SELECT count(*) FROM (SELECT * FROM d4t_h EXCEPT ALL SELECT * FROM d4t) x;
-- a failing type change leaves the table unchanged
ALTER TABLE d4t ALTER COLUMN b TYPE int USING b::int;
SELECT count(*), count(DISTINCT b) FROM d4t;
-- ALTER TABLE in the same transaction as buffered inserts
BEGIN;
INSERT INTO d4t (a, b, c) VALUES (700, 'tx', 'x');
ALTER TABLE d4t ADD COLUMN g int DEFAULT 5;
INSERT INTO d4t (a, b, c, g) VALUES (701, 'tx', 'y', 6);
ALTER TABLE d4t ALTER COLUMN a TYPE numeric;
SELECT a, b, c, g FROM d4t WHERE b = 'tx' ORDER BY a;
COMMIT;
SELECT a, b, c, g FROM d4t WHERE b = 'tx' ORDER BY a;
SELECT count(*), sum(a) FROM d4t;
SELECT rows_checked FROM lsm.verify('d4t');
-- a binary-compatible type change (varchar -> text) needs no rewrite
CREATE TABLE d4v (a varchar(10)) USING lsm;
INSERT INTO d4v VALUES ('abc'), (NULL);
SELECT storage_id AS d4v_storage FROM lsm.stats('d4v') \gset
ALTER TABLE d4v ALTER COLUMN a TYPE text;
SELECT storage_id = :d4v_storage AS same_storage FROM lsm.stats('d4v');
-- text -> varchar(20) checks lengths: a rewrite, as for heap
ALTER TABLE d4v ALTER COLUMN a TYPE varchar(20);
SELECT a FROM d4v ORDER BY a;
-- constraints added over existing data
ALTER TABLE d4r ADD CONSTRAINT d4r_check CHECK (a > 0);
ALTER TABLE d4r ADD CONSTRAINT d4r_bad CHECK (a > 100);
ALTER TABLE d4r ALTER COLUMN a SET NOT NULL;
ALTER TABLE d4r ADD PRIMARY KEY (a);

-- VACUUM, VACUUM FULL and CLUSTER keep every row
CREATE TABLE d5 (a int, b text) USING lsm;
SET lsm.segment_rows = 200;
INSERT INTO d5 SELECT g, md5(g::text) FROM generate_series(1, 2000) g;
INSERT INTO d5 SELECT g, md5(g::text) FROM generate_series(2001, 2100) g;
RESET lsm.segment_rows;
CREATE INDEX d5_b ON d5 (b);
SELECT count(*), sum(a) FROM d5;
VACUUM d5;
VACUUM (VERBOSE OFF, ANALYZE) d5;
SELECT count(*), sum(a) FROM d5;
SELECT storage_id AS d5_storage FROM lsm.stats('d5') \gset
VACUUM FULL d5;
SELECT storage_id <> :d5_storage AS rewritten FROM lsm.stats('d5');
SELECT count(*), sum(a) FROM d5;
SELECT count(*) FROM lsm.segment WHERE storage_id = :d5_storage;
-- CLUSTER orders the rows by the index
CLUSTER d5 USING d5_b;
SELECT count(*), sum(a) FROM d5;
SELECT bool_and(b >= prev) AS clustered FROM (SELECT b, lag(b) OVER () AS prev FROM d5) s WHERE prev IS NOT NULL;
SET enable_seqscan = off;
SELECT a FROM d5 WHERE b = md5('77');
RESET enable_seqscan;
SELECT rows_checked FROM lsm.verify('d5');
SELECT * FROM orphan_storage, orphan_segments, stale_relid;
-- VACUUM FULL in a transaction block is refused, as for heap
BEGIN;
VACUUM FULL d5;
ROLLBACK;
-- CLUSTER without an index fails, as for heap
CLUSTER d2;

-- SET ACCESS METHOD: lsm -> heap -> lsm keeps every row and index
CREATE TABLE d6 (a int PRIMARY KEY, b text) USING lsm;
BEGIN;
INSERT INTO d6 SELECT g, 'v' || g FROM generate_series(1, 1000) g;
COMMIT;
ALTER TABLE d6 SET ACCESS METHOD heap;
SELECT amname FROM pg_am a JOIN pg_class c ON c.relam = a.oid WHERE c.oid = 'd6'::regclass;
SELECT count(*), sum(a) FROM d6;
SELECT count(*) FROM lsm.storage WHERE relid = 'd6'::regclass;
ALTER TABLE d6 SET ACCESS METHOD lsm;
SELECT amname FROM pg_am a JOIN pg_class c ON c.relam = a.oid WHERE c.oid = 'd6'::regclass;
SELECT count(*), sum(a) FROM d6;
SELECT row_count FROM lsm.stats('d6');
SET enable_seqscan = off;
SELECT b FROM d6 WHERE a = 500;
RESET enable_seqscan;
BEGIN;
INSERT INTO d6 VALUES (1001, 'tx');
ALTER TABLE d6 SET ACCESS METHOD heap;
SELECT count(*) FROM d6;
ROLLBACK;
SELECT amname FROM pg_am a JOIN pg_class c ON c.relam = a.oid WHERE c.oid = 'd6'::regclass;
SELECT count(*) FROM d6;
SELECT * FROM orphan_storage, orphan_segments, stale_relid;

-- CREATE TABLE AS, SELECT INTO, CREATE TABLE ... (LIKE)
CREATE TABLE d7 USING lsm AS SELECT g AS a, g::text AS b FROM generate_series(1, 300) g;
SELECT count(*), sum(a) FROM d7;
CREATE TABLE d7_empty USING lsm AS SELECT * FROM d7 WITH NO DATA;
SELECT count(*) FROM d7_empty;
SET default_table_access_method = lsm;
SELECT a, b INTO d7_into FROM d7 WHERE a <= 100;
CREATE TABLE d7_ctas AS SELECT * FROM d7 WHERE a > 250;
RESET default_table_access_method;
SELECT c.relname, a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam
 WHERE c.relname IN ('d7', 'd7_empty', 'd7_into', 'd7_ctas') ORDER BY 1;
SELECT (SELECT count(*) FROM d7_into), (SELECT count(*) FROM d7_ctas);
-- CTAS into heap from lsm
CREATE TABLE d7_heap USING heap AS SELECT * FROM d7;
SELECT count(*) FROM (SELECT * FROM d7 EXCEPT ALL SELECT * FROM d7_heap) x;

-- materialized views stored as lsm, REFRESH (also CONCURRENTLY)
CREATE MATERIALIZED VIEW d8 USING lsm AS SELECT a % 10 AS k, count(*) AS n FROM d7 GROUP BY 1;
SELECT a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.oid = 'd8'::regclass;
SELECT sum(n) FROM d8;
INSERT INTO d7 SELECT g, g::text FROM generate_series(301, 400) g;
SELECT sum(n) FROM d8;
REFRESH MATERIALIZED VIEW d8;
SELECT sum(n) FROM d8;
CREATE UNIQUE INDEX d8_k ON d8 (k);
INSERT INTO d7 VALUES (401, '401');
-- REFRESH ... CONCURRENTLY applies the difference with DELETE and INSERT
\set VERBOSITY terse
REFRESH MATERIALIZED VIEW CONCURRENTLY d8;
\set VERBOSITY default
SELECT sum(n) FROM d8;
CREATE MATERIALIZED VIEW d8_nodata USING lsm AS SELECT * FROM d7 WITH NO DATA;
SELECT count(*) FROM d8_nodata;
REFRESH MATERIALIZED VIEW d8_nodata;
SELECT count(*) FROM d8_nodata;
SELECT * FROM orphan_storage, orphan_segments, stale_relid;

-- partitioned table with lsm partitions, and mixed heap / lsm partitions
CREATE TABLE d9 (k int, v text) PARTITION BY RANGE (k);
CREATE TABLE d9_1 PARTITION OF d9 FOR VALUES FROM (0) TO (100) USING lsm;
CREATE TABLE d9_2 PARTITION OF d9 FOR VALUES FROM (100) TO (200) USING heap;
CREATE TABLE d9_3 PARTITION OF d9 FOR VALUES FROM (200) TO (300) USING lsm;
INSERT INTO d9 SELECT g, 'v' || g FROM generate_series(0, 299) g;
COPY d9 FROM stdin;
5	copied
150	copied
250	copied
\.
SELECT tableoid::regclass, count(*), sum(k) FROM d9 GROUP BY 1 ORDER BY 1;
SELECT * FROM d9 WHERE v = 'copied' ORDER BY k;
EXPLAIN (COSTS OFF) SELECT * FROM d9 WHERE k = 250;
SELECT * FROM d9 WHERE k = 250 ORDER BY v;
-- partitioned table whose partitions default to lsm (USING on the parent)
CREATE TABLE d10 (k int, v int) PARTITION BY LIST (k) ;
SET default_table_access_method = lsm;
CREATE TABLE d10_a PARTITION OF d10 FOR VALUES IN (1);
CREATE TABLE d10_def PARTITION OF d10 DEFAULT;
RESET default_table_access_method;
INSERT INTO d10 SELECT g % 3, g FROM generate_series(1, 30) g;
SELECT tableoid::regclass, count(*) FROM d10 GROUP BY 1 ORDER BY 1;
-- index on the partitioned table, attach / detach an lsm table
CREATE INDEX d9_k ON d9 (k);
CREATE TABLE d9_4 (k int, v text) USING lsm;
INSERT INTO d9_4 SELECT g, 'att' FROM generate_series(300, 309) g;
ALTER TABLE d9 ATTACH PARTITION d9_4 FOR VALUES FROM (300) TO (400);
SELECT count(*) FROM d9 WHERE k >= 300;
INSERT INTO d9_4 VALUES (500, 'bad');
ALTER TABLE d9 DETACH PARTITION d9_4;
SELECT count(*) FROM d9 WHERE k >= 300;
-- a partition constraint check scans the lsm table and refuses bad rows
INSERT INTO d9_4 VALUES (500, 'bad');
ALTER TABLE d9 ATTACH PARTITION d9_4 FOR VALUES FROM (300) TO (400);
-- TRUNCATE of the partitioned table
TRUNCATE d9;
SELECT count(*) FROM d9;

-- unlogged table
CREATE UNLOGGED TABLE d11 (a int) USING lsm;
INSERT INTO d11 SELECT generate_series(1, 100);
SELECT relpersistence FROM pg_class WHERE oid = 'd11'::regclass;
SELECT count(*), sum(a) FROM d11;
ALTER TABLE d11 SET LOGGED;
SELECT relpersistence FROM pg_class WHERE oid = 'd11'::regclass;
SELECT count(*), sum(a) FROM d11;
ALTER TABLE d11 SET UNLOGGED;
INSERT INTO d11 VALUES (101);
SELECT count(*), sum(a) FROM d11;
SELECT * FROM orphan_storage, orphan_segments, stale_relid;

-- temporary tables, ON COMMIT DELETE ROWS / DROP
CREATE TEMP TABLE d12 (a int) USING lsm;
INSERT INTO d12 SELECT generate_series(1, 50);
SELECT count(*) FROM d12;
CREATE TEMP TABLE d13 (a int) USING lsm ON COMMIT DELETE ROWS;
BEGIN;
INSERT INTO d13 SELECT generate_series(1, 50);
SELECT count(*) FROM d13;
COMMIT;
SELECT count(*) FROM d13;
INSERT INTO d13 VALUES (1);     -- autocommit: deleted at once
SELECT count(*) FROM d13;
BEGIN;
CREATE TEMP TABLE d14 (a int) USING lsm ON COMMIT DROP;
INSERT INTO d14 SELECT generate_series(1, 50);
SELECT count(*) FROM d14;
COMMIT;
SELECT to_regclass('d14');
-- temp table with an index
CREATE TEMP TABLE d15 (a int PRIMARY KEY) USING lsm;
INSERT INTO d15 SELECT generate_series(1, 100);
INSERT INTO d15 VALUES (5);
SELECT count(*) FROM d15;
DROP TABLE d12, d13, d15;
-- ON COMMIT DELETE ROWS and DROP left no catalog rows behind
SELECT * FROM orphan_storage, orphan_segments, stale_relid;

-- DROP TABLE removes its lsm catalog rows, also in a rolled-back CREATE
SELECT count(*) AS before_drop FROM lsm.storage \gset
SELECT storage_id AS d1_storage FROM lsm.stats('d1') \gset
DROP TABLE d1;
SELECT count(*) FROM lsm.storage WHERE storage_id = :d1_storage;
SELECT count(*) FROM lsm.segment WHERE storage_id = :d1_storage;
SELECT :before_drop - count(*) AS dropped FROM lsm.storage;
BEGIN;
CREATE TABLE d16 (a int) USING lsm;
INSERT INTO d16 SELECT generate_series(1, 10);
ROLLBACK;
SELECT :before_drop - 1 = count(*) AS rolled_back_create_left_nothing FROM lsm.storage;
-- DROP rolled back keeps the table and its data
BEGIN;
DROP TABLE d5;
ROLLBACK;
SELECT count(*) FROM d5;
-- DROP SCHEMA CASCADE drops every lsm table in it
CREATE SCHEMA dschema;
CREATE TABLE dschema.t1 (a int) USING lsm;
CREATE TABLE dschema.t2 (a int) USING lsm;
CREATE INDEX ON dschema.t2 (a);
INSERT INTO dschema.t1 SELECT generate_series(1, 10);
INSERT INTO dschema.t2 SELECT generate_series(1, 10);
CREATE MATERIALIZED VIEW dschema.mv USING lsm AS SELECT * FROM dschema.t1;
SELECT count(*) AS before_schema FROM lsm.storage \gset
DROP SCHEMA dschema CASCADE;
SELECT :before_schema - count(*) AS dropped FROM lsm.storage;
SELECT * FROM orphan_storage, orphan_segments, stale_relid;

-- lsm.collect_garbage() finds nothing to do when nothing leaked
SELECT lsm.collect_garbage();
-- ... and removes rows of a storage that belongs to no table
SET client_min_messages = warning;
INSERT INTO lsm.storage (storage_id, relid) VALUES (-42, 0);
INSERT INTO lsm.segment VALUES (-42, 1, 0, 0, 9, 10, 0, 1, 1, 1, 100, 100, '1', 0, 0);
RESET client_min_messages;
SELECT lsm.collect_garbage();
SELECT count(*) FROM lsm.storage WHERE storage_id = -42;
SELECT count(*) FROM lsm.segment WHERE storage_id = -42;
-- ... and leaves live tables alone
SELECT count(*), sum(a) FROM d5;
SELECT count(*), sum(a) FROM d6;

-- drop everything; the lsm catalog is back to its starting size
DROP TABLE d2, d3, d4r, d4r_h, d4t, d4t_h, d4v, d5, d6, d7, d7_empty, d7_into, d7_ctas, d7_heap CASCADE;
DROP TABLE d9, d9_4, d10, d11;
SELECT count(*) = :storages_before AS catalog_back_to_start FROM lsm.storage;
SELECT * FROM orphan_storage, orphan_segments, stale_relid;
DROP VIEW orphan_storage, orphan_segments, stale_relid;

-- TRUNCATE, CLUSTER and VACUUM FULL-style rewrites in a transaction that
-- has updated the table: the replaced storage takes the transaction's
-- rowid reservations with it, and COMMIT succeeds (as on heap)
CREATE TABLE ddl_clu (key int PRIMARY KEY) USING lsm;
INSERT INTO ddl_clu VALUES (10), (20), (30), (40), (50);
BEGIN;
UPDATE ddl_clu SET key = 100 WHERE key = 10;
UPDATE ddl_clu SET key = 35 WHERE key = 40;
CLUSTER ddl_clu_pkey ON ddl_clu;
SELECT * FROM ddl_clu ORDER BY key;
COMMIT;
SELECT * FROM ddl_clu ORDER BY key;
BEGIN;
INSERT INTO ddl_clu VALUES (1);
TRUNCATE ddl_clu;
INSERT INTO ddl_clu VALUES (2);
COMMIT;
SELECT * FROM ddl_clu ORDER BY key;
DROP TABLE ddl_clu;
