--
-- lsm_publication: logical decoding does not see lsm tables, so an event
-- trigger refuses publications that would contain one: CREATE / ALTER
-- PUBLICATION ... FOR TABLE and FOR TABLES IN SCHEMA.  Heap tables are
-- unaffected, and a refused command changes nothing.
--
SET client_min_messages = error;   -- no "wal_level is insufficient" warnings
CREATE SCHEMA pub_lsm;
CREATE SCHEMA pub_heap;
CREATE SCHEMA pub_part;
CREATE TABLE pub_lsm.l (a int) USING lsm;
CREATE TABLE pub_lsm.h (a int) USING heap;
CREATE TABLE pub_heap.h1 (a int) USING heap;
CREATE TABLE pub_heap.h2 (a int) USING heap;

-- CREATE PUBLICATION FOR TABLE with an lsm table: refused
CREATE PUBLICATION p1 FOR TABLE pub_lsm.l;
CREATE PUBLICATION p1 FOR TABLE pub_heap.h1, pub_lsm.l;
SELECT count(*) FROM pg_publication WHERE pubname = 'p1';
-- with a column list or a row filter: refused too
CREATE PUBLICATION p1 FOR TABLE pub_lsm.l (a) WHERE (a > 0);
-- FOR TABLES IN SCHEMA of a schema holding an lsm table: refused
CREATE PUBLICATION p2 FOR TABLES IN SCHEMA pub_lsm;
SELECT count(*) FROM pg_publication WHERE pubname = 'p2';
-- with several lsm tables the error names the first created (lowest OID)
CREATE SCHEMA pub_two;
CREATE TABLE pub_two.z (a int) USING lsm;
CREATE TABLE pub_two.a (a int) USING lsm;
CREATE PUBLICATION p2 FOR TABLES IN SCHEMA pub_two;
CREATE PUBLICATION p2 FOR TABLE pub_two.a, pub_two.z;
DROP SCHEMA pub_two CASCADE;
-- heap tables and heap-only schemas are fine
CREATE PUBLICATION p3 FOR TABLE pub_heap.h1, pub_lsm.h;
CREATE PUBLICATION p4 FOR TABLES IN SCHEMA pub_heap;
SELECT pubname FROM pg_publication ORDER BY 1;
-- ALTER PUBLICATION ADD TABLE / SET TABLE / ADD TABLES IN SCHEMA with lsm: refused, nothing changes
ALTER PUBLICATION p3 ADD TABLE pub_lsm.l;
ALTER PUBLICATION p3 SET TABLE pub_lsm.l;
ALTER PUBLICATION p3 ADD TABLES IN SCHEMA pub_lsm;
ALTER PUBLICATION p4 ADD TABLES IN SCHEMA pub_lsm;
SELECT pubname, schemaname, tablename FROM pg_publication_tables
 WHERE pubname IN ('p3', 'p4') ORDER BY 1, 2, 3;
-- ALTER PUBLICATION with heap tables still works
ALTER PUBLICATION p3 ADD TABLE pub_heap.h2;
ALTER PUBLICATION p3 DROP TABLE pub_heap.h2;
ALTER PUBLICATION p3 SET (publish = 'insert');
SELECT pubname, schemaname, tablename FROM pg_publication_tables
 WHERE pubname = 'p3' ORDER BY 1, 2, 3;
-- a refused command inside a transaction aborts it; a savepoint recovers
BEGIN;
ALTER PUBLICATION p3 ADD TABLE pub_heap.h2;
SAVEPOINT s;
ALTER PUBLICATION p3 ADD TABLE pub_lsm.l;
ROLLBACK TO SAVEPOINT s;
COMMIT;
SELECT tablename FROM pg_publication_tables WHERE pubname = 'p3' ORDER BY 1;
-- partitioned table with an lsm partition
CREATE TABLE pub_part.parted (a int) PARTITION BY RANGE (a);
CREATE TABLE pub_part.parted_1 PARTITION OF pub_part.parted FOR VALUES FROM (0) TO (10) USING lsm;
CREATE PUBLICATION p5 FOR TABLE pub_part.parted_1;

-- The trigger also runs at the end of table commands, so every other way
-- of getting an lsm table into a publication is refused as well:
--   FOR ALL TABLES while an lsm table exists,
CREATE PUBLICATION p_all FOR ALL TABLES;
SELECT count(*) AS created FROM pg_publication WHERE pubname = 'p_all';
--   a partitioned table whose partition is lsm (publish_via_partition_root),
CREATE PUBLICATION p6 FOR TABLE pub_part.parted WITH (publish_via_partition_root);
SELECT count(*) AS created FROM pg_publication WHERE pubname = 'p6';
--   a new lsm table created in a schema that is already published,
CREATE TABLE pub_heap.l_new (a int) USING lsm;
SELECT count(*) AS created FROM pg_class WHERE relname = 'l_new';
--   a published heap table switched to lsm (it stays heap).
ALTER TABLE pub_heap.h1 SET ACCESS METHOD lsm;
SELECT a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam
 WHERE c.oid = 'pub_heap.h1'::regclass;
-- an unlogged or temporary lsm table is never published: allowed
CREATE UNLOGGED TABLE pub_heap.l_unlogged (a int) USING lsm;
DROP TABLE pub_heap.l_unlogged;

DROP PUBLICATION p3, p4;
DROP SCHEMA pub_lsm, pub_heap, pub_part CASCADE;
RESET client_min_messages;
