--
-- lsm_contrib: contrib modules that read a table's blocks themselves.  The
-- size an lsm table reports through the table AM is its virtual block
-- space (291 rows per block: what ctid, ANALYZE, BRIN and TABLESAMPLE
-- address), not the pages of its file, which hold the metapage and segment
-- images.  Modules written for heap pages refuse lsm tables with an error
-- and change nothing; pg_prewarm needs the file's block range.
--
CREATE TABLE ct (id int PRIMARY KEY, v text) USING lsm;
INSERT INTO ct SELECT g, md5(g::text) FROM generate_series(1, 30000) g;
-- the virtual block space is larger than the file here
SELECT (SELECT max((ctid::text::point)[0]) FROM ct) + 1 >
       pg_relation_size('ct') / current_setting('block_size')::int AS virtual_beyond_file;

CREATE EXTENSION pg_prewarm;
-- the default range is the reported size, past the end of the file
DO $$
BEGIN
  PERFORM pg_prewarm('ct');
EXCEPTION WHEN data_corrupted THEN
  RAISE NOTICE 'pg_prewarm(rel): %',
    regexp_replace(regexp_replace(SQLERRM, '"[^"]*"', '"F"'), 'block [0-9]+', 'block N');
END $$;
-- the file's blocks, every one of them
SELECT pg_prewarm('ct', 'buffer', 'main', 0,
                  pg_relation_size('ct') / current_setting('block_size')::int - 1)
       = pg_relation_size('ct') / current_setting('block_size')::int AS prewarmed_file;
SELECT pg_prewarm('ct_pkey') > 0 AS prewarmed_index;

CREATE EXTENSION pgstattuple;
SELECT * FROM pgstattuple('ct');
SELECT * FROM pgstattuple_approx('ct');
-- its index functions work on the table's btree indexes
SELECT version, tree_level, leaf_pages > 0 AS has_leaves FROM pgstatindex('ct_pkey');

CREATE EXTENSION amcheck;
SELECT * FROM verify_heapam('ct');
-- btree checks, with the heap-all-indexed option reading the table
-- through the table AM
SELECT bt_index_check('ct_pkey', true);
SELECT bt_index_parent_check('ct_pkey', true);

CREATE EXTENSION pageinspect;
-- raw pages of the file are readable (block 0 is the metapage)
SELECT length(get_raw_page('ct', 0)) = current_setting('block_size')::int AS metapage;

-- nothing changed
SELECT count(*), sum(id), count(DISTINCT v) FROM ct;
SELECT segments_checked > 0 AS verified FROM lsm.verify('ct');
DROP TABLE ct;
DROP EXTENSION pg_prewarm;
DROP EXTENSION pgstattuple;
DROP EXTENSION amcheck;
DROP EXTENSION pageinspect;
