-- Schema versions (issue 5): which ALTER forms make a version, rolled-back
-- ALTERs leave none, rows written under every version read like heap's,
-- compaction migrates them, the watermark advances and old versions are
-- evicted (by lsm.compact and VACUUM).  The long differential ALTER
-- sequences against heap are in lsm_schema_alter; concurrency rules in
-- specs/lsm_schema_*.spec.

CREATE FUNCTION sv(r regclass)
RETURNS TABLE (version int, natts int, is_current boolean, segments bigint,
			   row_count bigint, columns text)
LANGUAGE sql AS $$
	SELECT version, natts, is_current, segments, row_count, columns
	  FROM lsm.schema_versions(r) ORDER BY version
$$;
CREATE FUNCTION wm(r regclass, OUT schema_version int, OUT watermark int)
LANGUAGE sql AS $$ SELECT schema_version, watermark FROM lsm.stats(r) $$;
-- rows of t and h (the heap twin) that the other does not have
CREATE FUNCTION differences(l regclass, h regclass) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
	EXECUTE format('SELECT count(*) FROM ((SELECT * FROM %s EXCEPT ALL SELECT * FROM %s)
					UNION ALL (SELECT * FROM %s EXCEPT ALL SELECT * FROM %s)) d',
				   l, h, h, l) INTO n;
	RETURN n;
END $$;

-- ---------------------------------------------------------------------
-- which changes make a version
-- ---------------------------------------------------------------------
CREATE TABLE sv_t (a int, b varchar(10), c text) USING lsm;
CREATE TABLE sv_h (a int, b varchar(10), c text);
SELECT * FROM sv('sv_t');
SELECT * FROM wm('sv_t');
INSERT INTO sv_t SELECT g, 'b' || g, 'c' || g FROM generate_series(1, 3000) g;
INSERT INTO sv_h SELECT g, 'b' || g, 'c' || g FROM generate_series(1, 3000) g;
SELECT * FROM sv('sv_t');

-- renames, defaults, NOT NULL, statistics, comments: same layout, no version
ALTER TABLE sv_t RENAME COLUMN c TO c2;
ALTER TABLE sv_t RENAME COLUMN c2 TO c;
ALTER TABLE sv_t ALTER COLUMN a SET DEFAULT 42;
ALTER TABLE sv_t ALTER COLUMN a DROP DEFAULT;
ALTER TABLE sv_t ALTER COLUMN a SET NOT NULL;
ALTER TABLE sv_t ALTER COLUMN a DROP NOT NULL;
ALTER TABLE sv_t ALTER COLUMN a SET STATISTICS 200;
COMMENT ON COLUMN sv_t.a IS 'the key';
SELECT count(*) AS versions FROM sv('sv_t');

-- ADD COLUMN with a constant default: a version; old rows read the default
ALTER TABLE sv_t ADD COLUMN d int DEFAULT 7;
ALTER TABLE sv_h ADD COLUMN d int DEFAULT 7;
SELECT * FROM sv('sv_t');
SELECT * FROM wm('sv_t');
INSERT INTO sv_t SELECT g, 'x' || g, NULL, g FROM generate_series(3001, 4000) g;
INSERT INTO sv_h SELECT g, 'x' || g, NULL, g FROM generate_series(3001, 4000) g;
SELECT differences('sv_t', 'sv_h');

-- DROP COLUMN: a version whose column 3 is dropped
ALTER TABLE sv_t DROP COLUMN c;
ALTER TABLE sv_h DROP COLUMN c;
-- binary-compatible type changes: versions, no rewrite (same storage)
SELECT storage_id AS storage_before FROM lsm.stats('sv_t') \gset
ALTER TABLE sv_t ALTER COLUMN b TYPE varchar(20);
ALTER TABLE sv_h ALTER COLUMN b TYPE varchar(20);
ALTER TABLE sv_t ALTER COLUMN b TYPE text;
ALTER TABLE sv_h ALTER COLUMN b TYPE text;
SELECT storage_id = :storage_before AS same_storage FROM lsm.stats('sv_t');
SELECT * FROM sv('sv_t');
SELECT differences('sv_t', 'sv_h');
-- zone maps of the varchar segments still prune the text column
SELECT count(*) FROM sv_t WHERE b = 'b17';
SELECT count(*) FROM sv_t WHERE b IN ('x3500', 'b2999', 'nope');
UPDATE sv_t SET d = -a WHERE a % 100 = 0;
UPDATE sv_h SET d = -a WHERE a % 100 = 0;
DELETE FROM sv_t WHERE a % 7 = 0;
DELETE FROM sv_h WHERE a % 7 = 0;
SELECT differences('sv_t', 'sv_h');
SELECT * FROM lsm.verify('sv_t');

-- ---------------------------------------------------------------------
-- transactions: a version commits or rolls back with its ALTER
-- ---------------------------------------------------------------------
BEGIN;
ALTER TABLE sv_t ADD COLUMN e int;
INSERT INTO sv_t VALUES (9000, 'rolled back', 1, 2);
SELECT count(*) AS versions_inside FROM sv('sv_t');
ROLLBACK;
SELECT count(*) AS versions_after_rollback FROM sv('sv_t');
BEGIN;
SAVEPOINT s1;
ALTER TABLE sv_t ADD COLUMN e int;
INSERT INTO sv_t VALUES (9000, 'rolled back', 1, 2);
ROLLBACK TO SAVEPOINT s1;
INSERT INTO sv_t VALUES (9001, 'kept', 1);
INSERT INTO sv_h VALUES (9001, 'kept', 1);
COMMIT;
SELECT count(*) AS versions_after_savepoint FROM sv('sv_t');
-- rows before and after an ALTER in one transaction: two versions used
BEGIN;
INSERT INTO sv_t VALUES (9002, 'before', 2);
ALTER TABLE sv_t ADD COLUMN e int DEFAULT 5;
INSERT INTO sv_t VALUES (9003, 'after', 3, 33);
UPDATE sv_t SET e = 6 WHERE a = 9002;
COMMIT;
INSERT INTO sv_h VALUES (9002, 'before', 2);
ALTER TABLE sv_h ADD COLUMN e int DEFAULT 5;
INSERT INTO sv_h VALUES (9003, 'after', 3, 33);
UPDATE sv_h SET e = 6 WHERE a = 9002;
SELECT * FROM sv('sv_t');
SELECT differences('sv_t', 'sv_h');
-- an ALTER in a prepared transaction records its version at PREPARE
BEGIN;
ALTER TABLE sv_t ADD COLUMN f text DEFAULT 'p';
PREPARE TRANSACTION 'lsm_schema_prep';
COMMIT PREPARED 'lsm_schema_prep';
ALTER TABLE sv_h ADD COLUMN f text DEFAULT 'p';
SELECT version, natts, is_current, columns FROM sv('sv_t') WHERE is_current;
SELECT * FROM wm('sv_t');
SELECT differences('sv_t', 'sv_h');

-- ---------------------------------------------------------------------
-- ADD COLUMN ... DEFAULT current_date, then DROP DEFAULT: old rows keep
-- the date stored when the column was added, also after migration
-- ---------------------------------------------------------------------
CREATE TABLE sv_d (a int) USING lsm;
INSERT INTO sv_d SELECT generate_series(1, 100);
ALTER TABLE sv_d ADD COLUMN d date DEFAULT current_date;
ALTER TABLE sv_d ALTER COLUMN d DROP DEFAULT;
INSERT INTO sv_d SELECT generate_series(101, 150);
SELECT count(*) FILTER (WHERE d = current_date) AS dated,
	   count(*) FILTER (WHERE d IS NULL) AS undated FROM sv_d;
SELECT segments_in, rows_migrated FROM lsm.compact('sv_d');
SELECT count(*) FILTER (WHERE d = current_date) AS dated,
	   count(*) FILTER (WHERE d IS NULL) AS undated FROM sv_d;
SELECT * FROM sv('sv_d');

-- ---------------------------------------------------------------------
-- migration, watermark, eviction
-- ---------------------------------------------------------------------
SELECT * FROM wm('sv_t');
SELECT segments_in > 0 AS compacted, rows_migrated, versions_evicted
  FROM lsm.compact('sv_t');
-- every segment is at the current version now; the old versions are still
-- listed (the retired segments were visible until the pass committed)
SELECT * FROM sv('sv_t');
SELECT * FROM wm('sv_t');
SELECT differences('sv_t', 'sv_h');
-- the next pass evicts them
SELECT segments_in, rows_migrated, versions_evicted FROM lsm.compact('sv_t');
SELECT * FROM sv('sv_t');
SELECT * FROM wm('sv_t');
SELECT * FROM lsm.verify('sv_t');
SELECT differences('sv_t', 'sv_h');

-- full => true migrates too; VACUUM evicts
ALTER TABLE sv_t DROP COLUMN d;
ALTER TABLE sv_h DROP COLUMN d;
INSERT INTO sv_t VALUES (9100, 'late', 8, 'q');
INSERT INTO sv_h VALUES (9100, 'late', 8, 'q');
SELECT * FROM sv('sv_t');
SELECT rows_migrated FROM lsm.compact('sv_t', full => true);
VACUUM sv_t;
SELECT * FROM sv('sv_t');
SELECT * FROM wm('sv_t');
SELECT differences('sv_t', 'sv_h');

-- a segment written under an old version by a pass that migrates only
-- some segments keeps reading right (several layouts at once)
CREATE TABLE sv_m (a int, b text) USING lsm;
CREATE TABLE sv_mh (a int, b text);
INSERT INTO sv_m SELECT g, 'v1-' || g FROM generate_series(1, 500) g;
ALTER TABLE sv_m ADD COLUMN c numeric DEFAULT 1.5;
INSERT INTO sv_m SELECT g, 'v2-' || g, g / 3.0 FROM generate_series(501, 900) g;
ALTER TABLE sv_m DROP COLUMN b;
INSERT INTO sv_m SELECT g, g * 2.0 FROM generate_series(901, 1000) g;
ALTER TABLE sv_m ADD COLUMN d float8;
INSERT INTO sv_m SELECT g, g, g / 7.0 FROM generate_series(1001, 1100) g;
INSERT INTO sv_mh SELECT g, 'v1-' || g FROM generate_series(1, 500) g;
ALTER TABLE sv_mh ADD COLUMN c numeric DEFAULT 1.5;
INSERT INTO sv_mh SELECT g, 'v2-' || g, g / 3.0 FROM generate_series(501, 900) g;
ALTER TABLE sv_mh DROP COLUMN b;
INSERT INTO sv_mh SELECT g, g * 2.0 FROM generate_series(901, 1000) g;
ALTER TABLE sv_mh ADD COLUMN d float8;
INSERT INTO sv_mh SELECT g, g, g / 7.0 FROM generate_series(1001, 1100) g;
SELECT * FROM sv('sv_m');
SELECT differences('sv_m', 'sv_mh');
SELECT count(*), sum(c), avg(c), min(d), max(d) FROM sv_m;
SELECT count(*), sum(c), avg(c), min(d), max(d) FROM sv_mh;
SELECT count(*) FROM sv_m WHERE c > 100;
SELECT count(*) FROM sv_mh WHERE c > 100;
SELECT rows_migrated FROM lsm.compact('sv_m');
SELECT differences('sv_m', 'sv_mh');
SELECT count(*), sum(c), avg(c), min(d), max(d) FROM sv_m;

-- ---------------------------------------------------------------------
-- rewrites and TRUNCATE give the table a new storage: version 1 again
-- ---------------------------------------------------------------------
ALTER TABLE sv_m ALTER COLUMN a TYPE bigint;
SELECT * FROM sv('sv_m');
SELECT * FROM wm('sv_m');
ALTER TABLE sv_mh ALTER COLUMN a TYPE bigint;
SELECT differences('sv_m', 'sv_mh');
-- a volatile default rewrites the table too
ALTER TABLE sv_m ADD COLUMN r int DEFAULT (random() * 0)::int;
SELECT * FROM sv('sv_m');
TRUNCATE sv_m;
SELECT * FROM sv('sv_m');

-- a table without columns, then with some
CREATE TABLE sv_z () USING lsm;
INSERT INTO sv_z DEFAULT VALUES;
ALTER TABLE sv_z ADD COLUMN a int DEFAULT 3;
INSERT INTO sv_z VALUES (4);
SELECT * FROM sv('sv_z');
SELECT a FROM sv_z ORDER BY a;
SELECT rows_migrated FROM lsm.compact('sv_z');
SELECT a FROM sv_z ORDER BY a;

-- partitions: an ALTER on the parent makes a version in each lsm partition
CREATE TABLE sv_p (k int, v text) PARTITION BY RANGE (k);
CREATE TABLE sv_p1 PARTITION OF sv_p FOR VALUES FROM (0) TO (100) USING lsm;
CREATE TABLE sv_p2 PARTITION OF sv_p FOR VALUES FROM (100) TO (200) USING lsm;
INSERT INTO sv_p SELECT g, 'v' || g FROM generate_series(0, 199) g;
ALTER TABLE sv_p ADD COLUMN w int DEFAULT 1;
ALTER TABLE sv_p ALTER COLUMN v TYPE varchar(30);
SELECT * FROM sv('sv_p1');
SELECT * FROM sv('sv_p2');
SELECT count(*), sum(w), max(v) FROM sv_p;

-- a domain the column no longer uses can be dropped: old segments still
-- read (their zone maps just do not prune), the version lists its type as ???
CREATE DOMAIN sv_dom AS text CHECK (VALUE <> 'zzz');
CREATE TABLE sv_dt (id int, t sv_dom) USING lsm;
INSERT INTO sv_dt SELECT g, 'v' || g FROM generate_series(1, 3000) g;
ALTER TABLE sv_dt ALTER COLUMN t TYPE text;
DROP DOMAIN sv_dom;
SELECT count(*) FROM sv_dt WHERE t = 'v17';
SELECT * FROM sv('sv_dt');
SELECT segments_checked FROM lsm.verify('sv_dt');
SELECT rows_migrated FROM lsm.compact('sv_dt');
SELECT count(*) FROM sv_dt WHERE t = 'v17';
DROP TABLE sv_dt;

-- ---------------------------------------------------------------------
-- bad arguments
-- ---------------------------------------------------------------------
SELECT * FROM lsm.schema_versions(NULL);
SELECT * FROM lsm.schema_versions('sv_h');
SELECT * FROM lsm.schema_versions(0::oid::regclass);
CREATE ROLE lsm_schema_nobody;
SET ROLE lsm_schema_nobody;
SELECT * FROM lsm.schema_versions('sv_t');
RESET ROLE;
DROP ROLE lsm_schema_nobody;

-- DROP TABLE removes the versions with the storage
SELECT storage_id AS sv_t_storage FROM lsm.stats('sv_t') \gset
DROP TABLE sv_t;
SELECT count(*) FROM lsm.schema_version WHERE storage_id = :sv_t_storage;

DROP TABLE sv_h, sv_d, sv_m, sv_mh, sv_z, sv_p;
DROP FUNCTION sv(regclass), wm(regclass), differences(regclass, regclass);
