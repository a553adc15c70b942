-- lsm.compact: arguments, policy, delete folding, schema changes, VACUUM
SET client_min_messages = notice;

-- bad arguments change nothing
CREATE TABLE cmp_heap (id int);
SELECT * FROM lsm.compact(NULL);
SELECT * FROM lsm.compact('cmp_heap');
SELECT * FROM lsm.compact(0::oid::regclass);
CREATE TABLE cmp_a (id int PRIMARY KEY, v text) USING lsm;
SELECT * FROM lsm.compact('cmp_a', NULL);
BEGIN;
SELECT * FROM lsm.compact('cmp_a');
ROLLBACK;
CREATE ROLE lsm_cmp_other;
GRANT USAGE ON SCHEMA lsm TO lsm_cmp_other;
SET ROLE lsm_cmp_other;
SELECT * FROM lsm.compact('cmp_a');
RESET ROLE;
REVOKE USAGE ON SCHEMA lsm FROM lsm_cmp_other;
DROP ROLE lsm_cmp_other;

-- an empty table: nothing to do
SELECT * FROM lsm.compact('cmp_a');

-- ten single-row transactions: ten level-0 segments
DO $$
BEGIN
	FOR i IN 1..10 LOOP
		INSERT INTO cmp_a VALUES (i, 'v' || i);
		COMMIT;
	END LOOP;
END $$;
SELECT level, count(*), sum(row_count) FROM lsm.segments('cmp_a') GROUP BY level ORDER BY level;

-- below the trigger nothing is merged
SET lsm.compact_l0_trigger = 20;
SELECT segments_in, segments_out, rows_in, rows_out FROM lsm.compact('cmp_a');
-- above it the level-0 segments become one level-1 segment
SET lsm.compact_l0_trigger = 8;
SELECT segments_in, segments_out, rows_in, rows_out, deletes_folded FROM lsm.compact('cmp_a');
SELECT level, count(*), sum(row_count) FROM lsm.segments('cmp_a') GROUP BY level ORDER BY level;
SELECT count(*), sum(id), string_agg(v, ',' ORDER BY id) FROM cmp_a;
SELECT compactions, rows_dropped FROM lsm.compaction
 WHERE storage_id = (SELECT storage_id FROM lsm.stats('cmp_a'));
SELECT segments_checked, rows_checked FROM lsm.verify('cmp_a');

-- deletes: a segment with few settled deletes is relocated (same pages, the
-- deleted rows go into its persisted delete map), one with many is
-- rewritten without the deleted rows; another table is not touched
CREATE TABLE cmp_b (id int PRIMARY KEY, grp int, note text, amount numeric) USING lsm;
INSERT INTO cmp_b SELECT g, g % 7, repeat('n', g % 13), g * 0.5 FROM generate_series(1, 3000) g;
CREATE TABLE cmp_c (id int PRIMARY KEY) USING lsm;
INSERT INTO cmp_c SELECT generate_series(1, 100);
DELETE FROM cmp_c WHERE id <= 50;
SELECT segment_id AS c_segment FROM lsm.segments('cmp_c') \gset
DELETE FROM cmp_b WHERE id % 50 = 0;           -- 2%
SELECT segments_in, segments_out, rows_in, rows_out, deletes_folded FROM lsm.compact('cmp_b');
SELECT row_count, deleted_count FROM lsm.segments('cmp_b');
SELECT count(*) AS delete_records_left FROM lsm.deleted
 WHERE storage_id = (SELECT storage_id FROM lsm.stats('cmp_b'));
SELECT count(*), sum(amount) FROM cmp_b;
SELECT id FROM cmp_b WHERE id BETWEEN 48 AND 52 ORDER BY id;
SELECT live_rows, delete_records FROM lsm.stats('cmp_b');
DELETE FROM cmp_b WHERE id % 3 = 0;            -- a third more
SELECT count(*), sum(amount), sum(length(note)) FROM cmp_b;
SELECT segments_in, segments_out, rows_in, rows_out, deletes_folded FROM lsm.compact('cmp_b');
SELECT count(*), sum(amount), sum(length(note)) FROM cmp_b;
SELECT count(*) AS delete_records_left FROM lsm.deleted
 WHERE storage_id = (SELECT storage_id FROM lsm.stats('cmp_b'));
SELECT level, min_rowid, max_rowid, row_count FROM lsm.segments('cmp_b');
-- cmp_c still has its segment and its delete records
SELECT segment_id = :c_segment AS same_segment, row_count FROM lsm.segments('cmp_c');
SELECT count(*) FROM cmp_c;
-- the index still finds every row, by the same TIDs
SET enable_seqscan = off;
SELECT count(*), sum(amount) FROM cmp_b WHERE id > 0;
SELECT id, grp, note, amount FROM cmp_b WHERE id IN (1, 2, 3, 4, 5, 2999, 3000) ORDER BY id;
RESET enable_seqscan;

-- VACUUM removes the index entries of the dropped rows
VACUUM (VERBOSE) cmp_b;

-- rows that are all deleted leave no segment behind
CREATE TABLE cmp_d (id int) USING lsm;
INSERT INTO cmp_d SELECT generate_series(1, 500);
INSERT INTO cmp_d SELECT generate_series(501, 600);
DELETE FROM cmp_d WHERE id <= 500;
SELECT segments_in, segments_out, rows_in, rows_out, deletes_folded FROM lsm.compact('cmp_d');
SELECT min_rowid, max_rowid, row_count FROM lsm.segments('cmp_d');
SELECT count(*), min(id), max(id) FROM cmp_d;

-- full: every segment, at the current schema (added and dropped columns)
ALTER TABLE cmp_b ADD COLUMN flag bool DEFAULT true;
ALTER TABLE cmp_b DROP COLUMN grp;
INSERT INTO cmp_b (id, note, amount, flag) VALUES (5001, 'late', 1, false);
SELECT segments_in, segments_out, rows_in, rows_out, deletes_folded FROM lsm.compact('cmp_b', full => true);
SELECT count(*), sum(amount), count(*) FILTER (WHERE flag), count(*) FILTER (WHERE NOT flag) FROM cmp_b;
SELECT id, note, amount, flag FROM cmp_b WHERE id IN (1, 2, 5001) ORDER BY id;
SELECT count(*) AS segments, min(level) FROM lsm.segments('cmp_b');
SELECT rows_checked FROM lsm.verify('cmp_b');

-- lsm.segment_rows bounds the output segments
SET lsm.segment_rows = 1000;
SELECT segments_in, segments_out, rows_in, rows_out FROM lsm.compact('cmp_b', full => true);
SELECT count(*), max(row_count) FROM lsm.segments('cmp_b');
RESET lsm.segment_rows;
SELECT count(*), sum(amount) FROM cmp_b;

-- temporary and unlogged tables
CREATE TEMP TABLE cmp_t (id int) USING lsm;
INSERT INTO cmp_t SELECT generate_series(1, 10);
INSERT INTO cmp_t SELECT generate_series(11, 20);
DELETE FROM cmp_t WHERE id % 2 = 0;
SELECT segments_in, segments_out, rows_in, rows_out FROM lsm.compact('cmp_t', true);
SELECT count(*), sum(id) FROM cmp_t;
CREATE UNLOGGED TABLE cmp_u (id int) USING lsm;
INSERT INTO cmp_u SELECT generate_series(1, 10);
INSERT INTO cmp_u SELECT generate_series(11, 20);
SELECT segments_in, segments_out, rows_in, rows_out FROM lsm.compact('cmp_u', true);
SELECT count(*), sum(id) FROM cmp_u;

-- a transaction that rolls back its own rows leaves them out too
BEGIN;
INSERT INTO cmp_u SELECT generate_series(100, 199);
ROLLBACK;
SELECT segments_in, segments_out, rows_in, rows_out FROM lsm.compact('cmp_u', true);
SELECT count(*), sum(id) FROM cmp_u;

-- space: extents of retired segments are reused once their catalog tuples
-- are gone (VACUUM of lsm.segment; the worker does it after compacting)
CREATE TABLE cmp_s (id int PRIMARY KEY, v text) USING lsm;
INSERT INTO cmp_s SELECT g, repeat('s', 40) || g FROM generate_series(1, 20000) g;
SELECT relation_bytes AS s0 FROM lsm.stats('cmp_s') \gset
UPDATE cmp_s SET v = v || 'u';
SELECT segments_in, segments_out FROM lsm.compact('cmp_s', true);
VACUUM lsm.segment;
UPDATE cmp_s SET v = v || 'w';
SELECT segments_in, segments_out FROM lsm.compact('cmp_s', true);
VACUUM lsm.segment;
UPDATE cmp_s SET v = v || 'x';
SELECT segments_in, segments_out FROM lsm.compact('cmp_s', true);
VACUUM lsm.segment;
-- seven copies were written; without reuse the file would hold them all
SELECT relation_bytes < 4 * :s0 AS reused FROM lsm.stats('cmp_s');
SELECT count(*), sum(length(v)) FROM cmp_s;
SELECT rows_checked FROM lsm.verify('cmp_s');
SET enable_seqscan = off;
SELECT count(*) FROM cmp_s WHERE id > 0;
RESET enable_seqscan;

-- VACUUM gives free pages at the end of the file back
CREATE TABLE cmp_v (id int, v text) USING lsm;
INSERT INTO cmp_v SELECT g, repeat('a', 30) || g FROM generate_series(1, 10000) g;
SELECT relation_bytes AS v0 FROM lsm.stats('cmp_v') \gset
INSERT INTO cmp_v SELECT g, repeat('b', 30) || g FROM generate_series(10001, 40000) g;
DELETE FROM cmp_v WHERE id > 10000;
SELECT segments_in, segments_out, rows_out FROM lsm.compact('cmp_v');
VACUUM lsm.segment;
SELECT relation_bytes > :v0 AS grown FROM lsm.stats('cmp_v');
-- not with TRUNCATE false, as for heap
VACUUM (TRUNCATE false) cmp_v;
SELECT relation_bytes > :v0 AS still_grown FROM lsm.stats('cmp_v');
VACUUM cmp_v;
SELECT relation_bytes = :v0 AS truncated FROM lsm.stats('cmp_v');
SELECT count(*), max(id) FROM cmp_v;
-- and a later insert goes after the kept segment
INSERT INTO cmp_v VALUES (50000, 'new');
SELECT count(*), max(id) FROM cmp_v;
SELECT rows_checked FROM lsm.verify('cmp_v');

-- a segment larger than every free extent is split over several of them
-- (listed in order in lsm.segments.extents) before the file is extended
SET lsm.segment_rows = 1000;
CREATE TABLE cmp_x (id int, v text) USING lsm;
INSERT INTO cmp_x SELECT g, md5(g::text) FROM generate_series(1, 3000) g;
INSERT INTO cmp_x SELECT g, 'keep' FROM generate_series(100001, 100600) g;
INSERT INTO cmp_x SELECT g, md5(g::text) FROM generate_series(3001, 6000) g;
INSERT INTO cmp_x SELECT g, 'keep' FROM generate_series(100601, 101200) g;
DELETE FROM cmp_x WHERE id <= 6000;
-- the md5 segments go (all rows deleted), the 'keep' ones stay between them
SELECT segments_in, segments_out, rows_in, rows_out FROM lsm.compact('cmp_x');
VACUUM lsm.segment;
RESET lsm.segment_rows;
SELECT count(*) AS kept, max(array_length(extents, 1)) / 2 AS runs FROM lsm.segments('cmp_x');
SELECT relation_bytes AS x0 FROM lsm.stats('cmp_x') \gset
INSERT INTO cmp_x SELECT g, md5(g::text) FROM generate_series(200001, 205000) g;
SELECT relation_bytes = :x0 AS not_extended FROM lsm.stats('cmp_x');
SELECT row_count, array_length(extents, 1) / 2 AS runs, extents[1] AS first_block,
       nblocks = (SELECT sum(e) FROM unnest(extents) WITH ORDINALITY u(e, k) WHERE k % 2 = 0) AS pages_add_up
  FROM lsm.segments('cmp_x') WHERE row_count = 5000;
SELECT count(*), sum(id), count(DISTINCT v) FROM cmp_x;
SELECT rows_checked FROM lsm.verify('cmp_x');
CREATE INDEX cmp_x_id ON cmp_x (id);
SET enable_seqscan = off;
SELECT v = md5('204321') AS same FROM cmp_x WHERE id = 204321;
RESET enable_seqscan;
-- a damaged extent list is reported, not followed
BEGIN;
UPDATE lsm.segment SET extents = '{1,2,3}'
 WHERE storage_id = (SELECT storage_id FROM lsm.stats('cmp_x')) AND extents IS NOT NULL;
DO $$
BEGIN
  PERFORM count(*) FROM cmp_x;
EXCEPTION WHEN data_corrupted THEN
  RAISE NOTICE '%', regexp_replace(SQLERRM, 'segment [0-9]+', 'segment N');
END $$;
ROLLBACK;
SELECT segments_in, segments_out, rows_out FROM lsm.compact('cmp_x', true);
SELECT count(*), sum(id), count(DISTINCT v) FROM cmp_x;
SELECT rows_checked FROM lsm.verify('cmp_x');

-- a segment larger than the free extent ending the file fills it and
-- continues at the end: one run of pages, the file grows by the rest only
SET lsm.segment_rows = 1000;
CREATE TABLE cmp_y (id int, v text) USING lsm;
INSERT INTO cmp_y SELECT g, 'keep' FROM generate_series(100001, 100600) g;
INSERT INTO cmp_y SELECT g, md5(g::text) FROM generate_series(1, 3000) g;
DELETE FROM cmp_y WHERE id <= 3000;
SELECT segments_in, segments_out FROM lsm.compact('cmp_y');
VACUUM lsm.segment;
RESET lsm.segment_rows;
SELECT start_block + nblocks AS y_free, relation_bytes / 8192 AS y_pages
  FROM lsm.segments('cmp_y'), lsm.stats('cmp_y') \gset
SELECT :y_pages > :y_free AS free_tail;
INSERT INTO cmp_y SELECT g, md5(g::text) FROM generate_series(200001, 205000) g;
SELECT array_length(extents, 1) / 2 AS runs, start_block = :y_free AS in_the_free_tail,
       (SELECT relation_bytes / 8192 FROM lsm.stats('cmp_y')) = start_block + nblocks AS file_ends_with_it
  FROM lsm.segments('cmp_y') WHERE row_count = 5000;
SELECT count(*), sum(id) FROM cmp_y;
SELECT rows_checked FROM lsm.verify('cmp_y');

-- level-0 segments of at least half of lsm.segment_rows rows (a bulk
-- load's) are not merged and do not count against the trigger: with a
-- trigger of 2, the two small ones after them are not merged ...
SET lsm.segment_rows = 1000;
CREATE TABLE cmp_z (id int) USING lsm;
INSERT INTO cmp_z SELECT generate_series(1, 2400);
INSERT INTO cmp_z VALUES (0);
SELECT level, row_count FROM lsm.segments('cmp_z') ORDER BY min_rowid;
SET lsm.compact_l0_trigger = 2;
SELECT segments_in FROM lsm.compact('cmp_z');
-- ... until a third comes (size tiering leaves the 400-row one out: it
-- holds more rows than the two after it together)
INSERT INTO cmp_z VALUES (-1);
SELECT segments_in, segments_out, rows_out FROM lsm.compact('cmp_z');
RESET lsm.compact_l0_trigger;
RESET lsm.segment_rows;
SELECT level, row_count FROM lsm.segments('cmp_z') ORDER BY min_rowid;
SELECT count(*), sum(id) FROM cmp_z;

-- trimming: a segment to rewrite with over 1.5 times the pass's target in
-- live rows (lsm.segment_rows, but at most a sixteenth of the table's live
-- rows and at least 8192) is rewritten a piece per pass: its first blocks,
-- up to the target's live rows, go into a new segment, the rest of its
-- image stays under a new catalog row whose extent list has a hole
-- ({0, pages}) over the pages only the rewritten blocks used
SET lsm.segment_rows = 40000;
CREATE TABLE cmp_w (id int PRIMARY KEY, v text) USING lsm;
INSERT INTO cmp_w SELECT g, md5(g::text) FROM generate_series(1, 50000) g;
CREATE TABLE cmp_wh (id int PRIMARY KEY, v text);
INSERT INTO cmp_wh SELECT * FROM cmp_w;
DELETE FROM cmp_w WHERE id % 4 = 0;
DELETE FROM cmp_wh WHERE id % 4 = 0;
SELECT segments_in, segments_out, rows_out FROM lsm.compact('cmp_w');
SELECT level, min_rowid, max_rowid, row_count, deleted_count,
       EXISTS (SELECT 1 FROM unnest(extents) WITH ORDINALITY e(v, k)
                WHERE k % 2 = 1 AND v = 0) AS has_hole
  FROM lsm.segments('cmp_w') ORDER BY min_rowid;
-- the same rows, by every path, and verify reads only the kept blocks
SELECT (SELECT count(*) FROM cmp_w) = (SELECT count(*) FROM cmp_wh) AS same_count,
       NOT EXISTS (SELECT * FROM cmp_w EXCEPT SELECT * FROM cmp_wh) AS same_rows;
SET enable_seqscan = off;
SELECT v = md5('30001') AS same FROM cmp_w WHERE id = 30001;
SELECT count(*) FROM cmp_w WHERE id BETWEEN 20000 AND 30000;
RESET enable_seqscan;
SELECT segments_checked, rows_checked FROM lsm.verify('cmp_w');
-- a catalog row whose range reaches back over its hole is damage: the
-- pages of the hole are not read (a new session: a backend keeps the
-- directories of segments it has read)
UPDATE lsm.segment SET min_rowid = 0, row_count = row_count + 10240
 WHERE storage_id = (SELECT storage_id FROM lsm.stats('cmp_w'))
   AND 0 = ANY (extents);
\c
DO $$
BEGIN
  PERFORM sum(length(v)) FROM cmp_w;
EXCEPTION WHEN data_corrupted THEN
  RAISE NOTICE '%', regexp_replace(SQLERRM, '[0-9]+', 'N', 'g');
END $$;
UPDATE lsm.segment SET min_rowid = 10240, row_count = row_count - 10240
 WHERE storage_id = (SELECT storage_id FROM lsm.stats('cmp_w'))
   AND 0 = ANY (extents);
\c
SET lsm.segment_rows = 40000;
-- a unique check finds a kept row
INSERT INTO cmp_w VALUES (39999, 'x');
UPDATE cmp_w SET v = 'moved' WHERE id = 39001;
UPDATE cmp_wh SET v = 'moved' WHERE id = 39001;
-- every pass trims a piece more, into the pages the last one freed (once
-- no snapshot can read them: VACUUM prunes the retired rows), until the
-- rest is small enough to be rewritten whole: the file does not grow
VACUUM lsm.segment;
SELECT relation_bytes / 8192 AS w_pages1 FROM lsm.stats('cmp_w') \gset
SELECT segments_in, segments_out FROM lsm.compact('cmp_w');
VACUUM lsm.segment;
SELECT segments_in, segments_out FROM lsm.compact('cmp_w');
VACUUM lsm.segment;
SELECT segments_in, segments_out FROM lsm.compact('cmp_w');
VACUUM lsm.segment;
SELECT segments_in, segments_out FROM lsm.compact('cmp_w');
SELECT level, row_count, deleted_count, 0 = ANY (extents) AS has_hole
  FROM lsm.segments('cmp_w') ORDER BY min_rowid;
SELECT relation_bytes / 8192 <= :w_pages1 AS no_growth FROM lsm.stats('cmp_w');
SELECT (SELECT count(*) FROM cmp_w) = (SELECT count(*) FROM cmp_wh) AS same_count,
       NOT EXISTS (SELECT * FROM cmp_w EXCEPT SELECT * FROM cmp_wh) AS same_rows;
SELECT segments_checked, rows_checked FROM lsm.verify('cmp_w');
-- a hole first in the extent list is damage
BEGIN;
UPDATE lsm.segment SET extents = '{0,5,1,1}', start_block = 0, nblocks = 6
 WHERE storage_id = (SELECT storage_id FROM lsm.stats('cmp_w'))
   AND segment_id = (SELECT max(segment_id) FROM lsm.segments('cmp_w'));
DO $$
BEGIN
  PERFORM count(*) FROM cmp_w;
EXCEPTION WHEN data_corrupted THEN
  RAISE NOTICE '%', regexp_replace(SQLERRM, 'segment [0-9]+', 'segment N');
END $$;
ROLLBACK;
-- lsm.compact(full) rewrites everything whole, into segments of the target
SELECT segments_out FROM lsm.compact('cmp_w', true);
SELECT count(*) AS with_holes FROM lsm.segments('cmp_w') WHERE 0 = ANY (extents);
RESET lsm.segment_rows;
SELECT (SELECT count(*) FROM cmp_w) = (SELECT count(*) FROM cmp_wh) AS same_count,
       NOT EXISTS (SELECT * FROM cmp_w EXCEPT SELECT * FROM cmp_wh) AS same_rows;

-- per-table settings: lsm.set_compaction_options(rel, l0_trigger,
-- delete_fraction) overrides lsm.compact_l0_trigger and
-- lsm.compact_delete_fraction for one table; NULL means the lsm.* setting
CREATE TABLE cmp_o (id int PRIMARY KEY, v text) USING lsm;
SELECT * FROM lsm.compaction_options('cmp_o');
-- bad arguments change nothing
SELECT lsm.set_compaction_options(NULL, 2);
SELECT lsm.set_compaction_options('cmp_heap', 2);
SELECT lsm.set_compaction_options('cmp_o', 0);
SELECT lsm.set_compaction_options('cmp_o', 100001);
SELECT lsm.set_compaction_options('cmp_o', NULL, 1.5);
SELECT lsm.set_compaction_options('cmp_o', NULL, 'NaN');
SELECT * FROM lsm.compaction_options('cmp_heap');
CREATE ROLE lsm_opt_other;
GRANT USAGE ON SCHEMA lsm TO lsm_opt_other;
SET ROLE lsm_opt_other;
SELECT lsm.set_compaction_options('cmp_o', 2);
RESET ROLE;
REVOKE USAGE ON SCHEMA lsm FROM lsm_opt_other;
DROP ROLE lsm_opt_other;
SELECT * FROM lsm.compaction_options('cmp_o');
-- three level-0 segments stay below the trigger of 8 ...
DO $$
BEGIN
	FOR i IN 1..3 LOOP
		INSERT INTO cmp_o VALUES (i, 'v' || i);
		COMMIT;
	END LOOP;
END $$;
SELECT segments_in FROM lsm.compact('cmp_o');
-- ... and are merged under the table's own trigger of 2
SELECT lsm.set_compaction_options('cmp_o', l0_trigger => 2);
SELECT * FROM lsm.compaction_options('cmp_o');
SELECT segments_in, segments_out FROM lsm.compact('cmp_o');
-- 10% settled deletes: a segment is relocated under the setting's 0.2 ...
INSERT INTO cmp_o SELECT g, 'w' || g FROM generate_series(101, 1100) g;
DELETE FROM cmp_o WHERE id % 10 = 1 AND id > 100;
SELECT segments_in, segments_out, rows_out, deletes_folded FROM lsm.compact('cmp_o');
SELECT level, row_count, deleted_count FROM lsm.segments('cmp_o') ORDER BY min_rowid;
-- ... and rewritten without its deleted rows under the table's own 0.05
-- (each call sets both: the trigger goes back to the setting)
SELECT lsm.set_compaction_options('cmp_o', delete_fraction => 0.05);
SELECT * FROM lsm.compaction_options('cmp_o');
SELECT segments_in, segments_out, rows_out FROM lsm.compact('cmp_o');
SELECT level, row_count, deleted_count FROM lsm.segments('cmp_o') ORDER BY min_rowid;
SELECT count(*), sum(id) FROM cmp_o;
-- the settings belong to the table: TRUNCATE keeps them
TRUNCATE cmp_o;
SELECT * FROM lsm.compaction_options('cmp_o');
-- no arguments: back to the lsm.* settings
SELECT lsm.set_compaction_options('cmp_o');
SELECT * FROM lsm.compaction_options('cmp_o');
-- a dropped table's settings go with lsm.collect_garbage()
SELECT lsm.set_compaction_options('cmp_o', 3, 0.5);
SELECT count(*) FROM lsm.table_option WHERE relid = 'cmp_o'::regclass;
SELECT 'cmp_o'::regclass::oid AS o_oid \gset
DROP TABLE cmp_o;
SELECT lsm.collect_garbage() >= 0 AS collected;
SELECT count(*) FROM lsm.table_option WHERE relid = :o_oid;

-- per-table compression: lsm.set_compression_level(rel, level) is the zstd
-- level of the table's new segments whoever writes them (every session's
-- flushes, compaction); NULL: the writing session's lsm.compression_level.
-- Kept apart from the compaction settings, which share the row.
CREATE TABLE cmp_lvl (id int, v text) USING lsm;
SELECT * FROM lsm.compression_level('cmp_lvl');
-- bad arguments change nothing
SELECT lsm.set_compression_level('cmp_lvl', -1);
SELECT lsm.set_compression_level('cmp_lvl', 20);
SELECT lsm.set_compression_level('cmp_heap', 0);
SELECT lsm.set_compression_level(NULL, 0);
CREATE ROLE lsm_lvl_other;
GRANT USAGE ON SCHEMA lsm TO lsm_lvl_other;
SET ROLE lsm_lvl_other;
SELECT lsm.set_compression_level('cmp_lvl', 0);
RESET ROLE;
REVOKE USAGE ON SCHEMA lsm FROM lsm_lvl_other;
DROP ROLE lsm_lvl_other;
SELECT * FROM lsm.compression_level('cmp_lvl');
SELECT lsm.set_compaction_options('cmp_lvl', 3);
SELECT lsm.set_compression_level('cmp_lvl', 0);
SELECT * FROM lsm.compression_level('cmp_lvl');
SELECT l0_trigger, l0_trigger_is_own FROM lsm.compaction_options('cmp_lvl');
-- rows this session writes (lsm.compression_level 1) are stored as
-- encoded: no smaller than their chunks (uncompressed_bytes)
INSERT INTO cmp_lvl SELECT g, repeat('abcdefgh', 20) || g FROM generate_series(1, 5000) g;
SELECT count(*) AS segments, bool_and(bytes >= uncompressed_bytes) AS not_compressed
FROM lsm.segments('cmp_lvl');
-- ... and so does compaction; under the table's level 3 it compresses
SELECT segments_out FROM lsm.compact('cmp_lvl', true);
SELECT bool_and(bytes >= uncompressed_bytes) AS not_compressed FROM lsm.segments('cmp_lvl');
SELECT lsm.set_compression_level('cmp_lvl', 3);
SELECT segments_out FROM lsm.compact('cmp_lvl', true);
SELECT bool_and(bytes < uncompressed_bytes / 2) AS compressed FROM lsm.segments('cmp_lvl');
-- changing the compaction settings keeps the level
SELECT lsm.set_compaction_options('cmp_lvl', 4);
SELECT * FROM lsm.compression_level('cmp_lvl');
-- a rolled-back change leaves the level
BEGIN;
SELECT lsm.set_compression_level('cmp_lvl', 0);
SELECT * FROM lsm.compression_level('cmp_lvl');
ROLLBACK;
SELECT * FROM lsm.compression_level('cmp_lvl');
-- NULL: the session's setting again; the compaction settings stay
SELECT lsm.set_compression_level('cmp_lvl');
SET lsm.compression_level = 0;
SELECT * FROM lsm.compression_level('cmp_lvl');
RESET lsm.compression_level;
SELECT l0_trigger, l0_trigger_is_own FROM lsm.compaction_options('cmp_lvl');
SELECT count(*), sum(length(v)), sum(id) FROM cmp_lvl;
DROP TABLE cmp_lvl;

DROP TABLE cmp_heap, cmp_a, cmp_b, cmp_c, cmp_d, cmp_u, cmp_s, cmp_v, cmp_x, cmp_y, cmp_z, cmp_w, cmp_wh;
SELECT count(*) FROM lsm.compaction c
 WHERE NOT EXISTS (SELECT 1 FROM lsm.storage s WHERE s.storage_id = c.storage_id);
