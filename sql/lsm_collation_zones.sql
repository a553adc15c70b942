--
-- lsm_collation_zones: zone-map pruning of collatable columns under their
-- own collation.  A text-like column whose collation does not sort like
-- "C" gets, next to its "C"-ordered zone map, an ordered zone per block:
-- min/max under the column's collation, with the collation (provider,
-- locale, determinism, version) recorded in the segment (format version
-- 3).  Range quals in a collation that sorts like the recorded one prune
-- by it; equality in any deterministic collation and ranges in "C" /
-- "POSIX" still prune by the "C" zone maps; anything else reads every
-- block.
--
-- A heap table cz_h and an lsm table cz_l hold the same rows; every
-- predicate runs on heap, on lsm through the LSM Scan (and the LSM
-- Aggregate for count(*)) and on lsm with lsm.enable_custom_scan = off,
-- and all must agree.  Columns: the database's default collation, "C",
-- "POSIX", ICU "en-x-icu", a case-insensitive and an accent-insensitive
-- nondeterministic ICU collation, varchar, char(n) (trailing blanks do not
-- count), name and a domain with its own collation.  The data sorts one
-- way under ICU (case and accents are secondary) and another way in byte
-- order (upper case first, accents after 'z'); NULLs in every column, a
-- block of NULLs only, a 300-byte value (its block gets no zone maps).
-- Sections: 1 the predicate matrix, 2 parameters and prepared statements,
-- 3 EXPLAIN, 4 segments without ordered zones, ALTER COLUMN ... COLLATE
-- without a rewrite, compaction, 5 a database whose default collation is
-- ICU.
--
SET lsm.block_rows = 64;
SET lsm.segment_rows = 1000;
SELECT current_database() AS regress_db \gset

-- the collations used (ICU collations ship with libicu)
SELECT collname, collprovider, collisdeterministic FROM pg_collation
 WHERE collname IN ('C', 'POSIX', 'en-x-icu', 'und-x-icu', 'de-x-icu') ORDER BY collname COLLATE "C";
CREATE COLLATION cz_ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE COLLATION cz_ai (provider = icu, locale = 'und-u-ks-level1', deterministic = false);
CREATE DOMAIN cz_dom AS text COLLATE "und-x-icu";

-- the word of row id: two letters that grow with id (48 rows each), in six
-- variants: lower, UPPER, Initcap-x, with an accent, with trailing blanks,
-- with a 'z'; NULL in every 24th row and in rows 1601..1700
CREATE FUNCTION cz_word(id int) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN id BETWEEN 1601 AND 1700 OR id % 24 = 17 THEN NULL
              WHEN id = 1000 THEN repeat('x', 300)
              ELSE CASE id % 6 WHEN 0 THEN b WHEN 1 THEN upper(b) WHEN 2 THEN initcap(b) || '-x'
                                WHEN 3 THEN b || 'é' WHEN 4 THEN b || '  ' ELSE b || 'z' END END
    FROM (SELECT chr(97 + (id - 1) / 48 / 26 % 26) || chr(97 + (id - 1) / 48 % 26) AS b) x
$$;
CREATE TABLE cz_h (id int4, t text, tc text COLLATE "C", tp text COLLATE "POSIX",
                   ti text COLLATE "en-x-icu", tn text COLLATE cz_ci, ta text COLLATE cz_ai,
                   vc varchar(24) COLLATE "en-x-icu", bp char(10) COLLATE "en-x-icu",
                   nm name COLLATE "en-x-icu", dm cz_dom) USING heap;
CREATE TABLE cz_l (LIKE cz_h) USING lsm;
CREATE FUNCTION cz_rows(lo int, hi int) RETURNS SETOF cz_h LANGUAGE sql AS $$
  SELECT id, w, w, w, w, w, w, w::varchar(24), w::char(10), w::name, w
    FROM generate_series(lo, hi) id, cz_word(id) w
$$;
INSERT INTO cz_h SELECT * FROM cz_rows(1, 2000);
-- two segments of 1000 rows
INSERT INTO cz_l SELECT * FROM cz_rows(1, 1000);
INSERT INTO cz_l SELECT * FROM cz_rows(1001, 2000);
SELECT count(*) AS segments, sum(row_count) AS rows FROM lsm.segments('cz_l');
-- same columns, same collations
SELECT count(*) AS different_columns FROM (
  SELECT attname, atttypid, attcollation FROM pg_attribute WHERE attrelid = 'cz_h'::regclass AND attnum > 0
  EXCEPT
  SELECT attname, atttypid, attcollation FROM pg_attribute WHERE attrelid = 'cz_l'::regclass AND attnum > 0) c;

--
-- 1. The predicate matrix: every column x every comparison operator x
-- constants around the data (case and accent variants, trailing blanks,
-- beyond both ends), BETWEEN, IN / ANY / ALL, IS NULL, ORs, and the
-- column under other collations.  Per column: predicates, rows heap
-- returns in all, predicates whose LSM Scan skipped blocks, and how many
-- differ from heap through the LSM Scan, through the LSM Aggregate
-- (count(*)) and with the custom scans off.
--
CREATE TABLE cz_cols (col text);
INSERT INTO cz_cols VALUES ('t'), ('tc'), ('tp'), ('ti'), ('tn'), ('ta'), ('vc'), ('bp'), ('nm'), ('dm');
CREATE TABLE cz_preds (n serial, col text, pred text);
-- {c} is the column, {x} / {xa} the cast of the constants: none, but text
-- for name (a name constant has collation "C", which would conflict)
INSERT INTO cz_preds (col, pred)
  SELECT col, replace(replace(replace(p, '{c}', quote_ident(col)), '{xa}', xa), '{x}', x)
    FROM (
      SELECT c.col, format('{c} %s %L{x}', o.op, v.v) AS p, 1 AS grp, o.op, v.v
        FROM cz_cols c,
             unnest('{<,<=,=,>=,>}'::text[]) o(op),
             unnest(ARRAY['', 'a', 'AB', 'ab', 'ab  ', 'Ab-x', 'abé', 'b', 'BC', 'bc', 'é',
                          'zz']) v(v)
      UNION ALL
      SELECT c.col, p, 2, '', p
        FROM cz_cols c,
             unnest(ARRAY['{c} BETWEEN ''ab''{x} AND ''bc''{x}', '{c} BETWEEN ''B''{x} AND ''b''{x}',
                          '{c} NOT BETWEEN ''ab''{x} AND ''bk''{x}', '{c} IN (''AB''{x}, ''bcz''{x}, ''é''{x})',
                          '{c} = ANY (''{ab,BC,Bc-x}''{xa})', '{c} <> ALL (''{ab,AB}''{xa})',
                          '{c} > ANY (''{bc,ab}''{xa})', '{c} < ALL (''{bc,b}''{xa})', '{c} IS NULL',
                          '{c} < ''ab''{x} OR {c} > ''bm''{x}', '{c} = ''ab''{x} OR id > 1900',
                          '{c} >= ''ba''{x} AND {c} < ''bb''{x}',
                          '{c} COLLATE "C" < ''b''', '{c} COLLATE "C" >= ''bc''',
                          '{c} COLLATE "POSIX" BETWEEN ''B'' AND ''bd''',
                          '{c} COLLATE "en-x-icu" >= ''bc''', '{c} COLLATE "und-x-icu" < ''B''',
                          '{c} COLLATE cz_ci = ''AB''', '{c} COLLATE cz_ai BETWEEN ''abe'' AND ''abe''']) p) y,
      LATERAL (SELECT CASE WHEN col = 'nm' THEN '::text' ELSE '' END AS x,
                      CASE WHEN col = 'nm' THEN '::text[]' ELSE '' END AS xa) z
   ORDER BY col COLLATE "C", grp, op COLLATE "C", v COLLATE "C";
CREATE TABLE cz_res (col text, pred text, heap_rows bigint, skipped boolean,
                     same_scan boolean, same_agg boolean, same_off boolean);
-- run_preds(cols): the predicates of those columns on cz_h and cz_l.  Heap
-- and lsm with the custom scans off evaluate a column's predicates in one
-- scan each (as FILTER clauses); the LSM Scan (ids, and EXPLAIN ANALYZE for
-- the blocks it skipped) and the LSM Aggregate (count(*)) run each one.
CREATE FUNCTION run_preds(cols text[] DEFAULT NULL)
RETURNS TABLE (col text, predicates bigint, rows bigint, pruning bigint,
               differ_scan bigint, differ_agg bigint, differ_off bigint)
LANGUAGE plpgsql AS $$
DECLARE
  c text;
  preds text[];
  ha text[];
  oa text[];
  s text;
  ac bigint;
  plan json;
  skipped bigint;
  all_filters text;
BEGIN
  DELETE FROM cz_res;
  FOR c IN SELECT x.col FROM cz_cols x WHERE cols IS NULL OR x.col = ANY (cols) ORDER BY x.col COLLATE "C" LOOP
    SELECT array_agg(p.pred ORDER BY p.n) INTO preds FROM cz_preds p WHERE p.col = c;
    all_filters := 'SELECT ARRAY[' ||
      (SELECT string_agg(format('(array_agg(id ORDER BY id) FILTER (WHERE %s))::text', p), ', ')
         FROM unnest(preds) p) || '] FROM ';
    EXECUTE all_filters || 'cz_h' INTO ha;
    SET LOCAL lsm.enable_custom_scan = off;
    SET LOCAL lsm.enable_aggregate_pushdown = off;
    EXECUTE all_filters || 'cz_l' INTO oa;
    RESET lsm.enable_custom_scan;
    RESET lsm.enable_aggregate_pushdown;
    FOR i IN 1 .. cardinality(preds) LOOP
      EXECUTE format('SELECT array_agg(id ORDER BY id)::text FROM cz_l WHERE %s', preds[i]) INTO s;
      EXECUTE format('SELECT count(*) FROM cz_l WHERE %s', preds[i]) INTO ac;
      EXECUTE format('EXPLAIN (ANALYZE, FORMAT JSON) SELECT id FROM cz_l WHERE %s', preds[i]) INTO plan;
      SELECT coalesce(sum(v::text::bigint), 0) INTO skipped
        FROM jsonb_path_query(plan::jsonb, 'strict $.**."Blocks Skipped"') v;
      INSERT INTO cz_res VALUES (c, preds[i], coalesce(cardinality(ha[i]::int[]), 0), skipped > 0,
                                 ha[i] IS NOT DISTINCT FROM s,
                                 coalesce(cardinality(ha[i]::int[]), 0) = ac,
                                 ha[i] IS NOT DISTINCT FROM oa[i]);
    END LOOP;
  END LOOP;
  RETURN QUERY SELECT r.col, count(*), sum(r.heap_rows)::bigint, count(*) FILTER (WHERE r.skipped),
                      count(*) FILTER (WHERE NOT r.same_scan), count(*) FILTER (WHERE NOT r.same_agg),
                      count(*) FILTER (WHERE NOT r.same_off)
    FROM cz_res r GROUP BY r.col ORDER BY r.col COLLATE "C";
END $$;
SELECT * FROM run_preds();
SELECT col, pred FROM cz_res WHERE NOT (same_scan AND same_agg AND same_off);
-- Which predicates of the ICU column prune, and which not (none of the
-- "C" column's ranges under ICU can, nor the ICU column's under "und")
SELECT pred, heap_rows, skipped FROM cz_res WHERE col IN ('ti', 'tc') AND pred ~ '(COLLATE|BETWEEN|< ''b''|>= ''bc'')'
 ORDER BY col COLLATE "C", pred COLLATE "C";

--
-- 2. Parameters: prepared statements (custom and generic plans), EXECUTE
-- ... USING, correlated subqueries
--
PREPARE cz_p(text, text) AS
  SELECT (SELECT array_agg(id ORDER BY id) FROM cz_h WHERE ti BETWEEN $1 AND $2 OR tn = $1 OR bp = $2) IS NOT DISTINCT FROM
         (SELECT array_agg(id ORDER BY id) FROM cz_l WHERE ti BETWEEN $1 AND $2 OR tn = $1 OR bp = $2) AS same,
         (SELECT count(*) FROM cz_h WHERE ti BETWEEN $1 AND $2 OR tn = $1 OR bp = $2) AS heap_rows;
EXECUTE cz_p('ab', 'ac');
EXECUTE cz_p('BC', 'bd');
EXECUTE cz_p('', 'a');
EXECUTE cz_p(NULL, 'bc');
EXECUTE cz_p('Bm-x', 'zz');
EXECUTE cz_p('é', 'e');
SET plan_cache_mode = force_generic_plan;
EXECUTE cz_p('ab', 'ac');
EXECUTE cz_p('bk', 'bl  ');
EXECUTE cz_p('AZ', NULL);
PREPARE cz_ids(text, text) AS SELECT id FROM cz_l WHERE ti >= $1 AND ti < $2;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) EXECUTE cz_ids('bc', 'bd');
CREATE TEMP TABLE cz_got AS EXECUTE cz_ids('bc', 'bcz');
SELECT (SELECT count(*) FROM cz_got) AS rows,
       (SELECT array_agg(id ORDER BY id) FROM cz_got) =
       (SELECT array_agg(id ORDER BY id) FROM cz_h WHERE ti >= 'bc' AND ti < 'bcz') AS same;
DROP TABLE cz_got;
RESET plan_cache_mode;
SELECT name, generic_plans > 0 AS used_generic_plan FROM pg_prepared_statements ORDER BY name;
DEALLOCATE ALL;
-- PL/pgSQL's EXECUTE ... USING passes its values as Params
CREATE FUNCTION cz_count(tab regclass, lo text, hi text) RETURNS bigint LANGUAGE plpgsql STABLE AS $$
DECLARE n bigint;
BEGIN
  EXECUTE format('SELECT count(*) FROM %s WHERE tn >= $1 AND tn <= $2', tab) INTO n USING lo, hi;
  RETURN n;
END $$;
SELECT count(*) AS calls, count(*) FILTER (WHERE cz_count('cz_h', lo, hi) = cz_count('cz_l', lo, hi)) AS same
  FROM (SELECT chr(97 + g % 3) || chr(97 + g % 26) AS lo, chr(97 + g % 3) || chr(98 + g % 25) AS hi
          FROM generate_series(1, 12) g) v;
-- correlated subqueries: each rescan takes the outer row's values
SELECT v.x, (SELECT count(*) FROM cz_h WHERE ti >= v.x AND ti < v.x || 'z') AS heap_rows,
       (SELECT count(*) FROM cz_h WHERE ti >= v.x AND ti < v.x || 'z') =
       (SELECT count(*) FROM cz_l WHERE ti >= v.x AND ti < v.x || 'z') AS same
  FROM (VALUES ('AB'), ('bc'), ('Bm'), ('zz')) v(x) ORDER BY v.x COLLATE "C";

--
-- 3. EXPLAIN: which quals prune, and how much
--
-- a range under the database's default collation
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT id FROM cz_l WHERE t BETWEEN 'bc' AND 'bd';
-- the ICU column: both ends prune (case and accents do not spread blocks)
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT id FROM cz_l WHERE ti BETWEEN 'bc' AND 'bd';
-- ... and under "C" through the "C" zone maps
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT id FROM cz_l WHERE ti COLLATE "C" BETWEEN 'bc' AND 'bd';
-- a "C" column compared under ICU: no zone map sorts like that
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT id FROM cz_l WHERE tc COLLATE "en-x-icu" BETWEEN 'bc' AND 'bd';
-- nondeterministic collations: equality and ranges prune by their zones
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT id, tn FROM cz_l WHERE tn = 'BC';
SELECT tn, count(*) FROM cz_l WHERE tn = 'BC' GROUP BY tn ORDER BY tn COLLATE "C";
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT id FROM cz_l WHERE ta = 'BCE';
SELECT ta, count(*) FROM cz_l WHERE ta = 'BCE' GROUP BY ta ORDER BY ta COLLATE "C";
-- char(n): trailing blanks do not count
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT id FROM cz_l WHERE bp = 'bc';
SELECT count(*) FROM cz_l WHERE bp = 'bc';
-- the LSM Aggregate prunes the same way
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT count(*) FROM cz_l WHERE vc >= 'bm' OR nm < 'AB'::text;

--
-- 4. Segments without ordered zones (lsm.collation_zone_maps = off, as
-- segments written before format version 3), ALTER COLUMN ... COLLATE
-- (no rewrite: existing segments keep zones of the old collation, which
-- the new one does not use) and compaction (rewrites them in the new one)
--
SET lsm.collation_zone_maps = off;
INSERT INTO cz_h SELECT * FROM cz_rows(2001, 2200);
INSERT INTO cz_l SELECT * FROM cz_rows(2001, 2200);
RESET lsm.collation_zone_maps;
-- under ICU the third segment's blocks are all read, under "C" its plain
-- zone maps still prune
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT id FROM cz_l WHERE ti > 'bz';
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT id FROM cz_l WHERE ti COLLATE "C" > 'bz';
SELECT * FROM run_preds('{t,ti,tn,ta,bp}') WHERE differ_scan + differ_agg + differ_off > 0;

SELECT pg_relation_filenode('cz_l') AS filenode \gset
ALTER TABLE cz_h ALTER COLUMN ti TYPE text COLLATE "de-x-icu", ALTER COLUMN tc TYPE text COLLATE "en-x-icu";
ALTER TABLE cz_l ALTER COLUMN ti TYPE text COLLATE "de-x-icu", ALTER COLUMN tc TYPE text COLLATE "en-x-icu";
SELECT pg_relation_filenode('cz_l') = :filenode AS not_rewritten;
-- the zones of "en-x-icu" do not serve "de-x-icu" (nor does "C" serve ICU)
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT id FROM cz_l WHERE ti BETWEEN 'bc' AND 'bd';
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT id FROM cz_l WHERE tc BETWEEN 'bc' AND 'bd';
-- new rows are written in the new collations
INSERT INTO cz_h SELECT * FROM cz_rows(2201, 2400);
INSERT INTO cz_l SELECT * FROM cz_rows(2201, 2400);
SELECT * FROM run_preds('{t,ti,tc,tn}') WHERE differ_scan + differ_agg + differ_off > 0;
SELECT rows_out FROM lsm.compact('cz_l', true);
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT id FROM cz_l WHERE ti BETWEEN 'bc' AND 'bd';
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT id FROM cz_l WHERE tc BETWEEN 'bc' AND 'bd';
SELECT * FROM run_preds('{ti,tc,tn,vc}');
SELECT col, pred FROM cz_res WHERE NOT (same_scan AND same_agg AND same_off);

--
-- 5. A database whose default collation is ICU: the default collation's
-- zones serve an explicit collation of the same locale, not another one
--
CREATE DATABASE lsm_cz_icu LOCALE_PROVIDER icu ICU_LOCALE 'en' TEMPLATE template0;
\c lsm_cz_icu
CREATE EXTENSION lsm_am;
SET lsm.block_rows = 64;
CREATE TABLE d_h (id int, t text) USING heap;
CREATE TABLE d_l (id int, t text) USING lsm;
-- upper case sorts first in byte order, not in ICU's
INSERT INTO d_h SELECT g, CASE g % 3 WHEN 0 THEN 'w' || lpad(g::text, 5, '0') WHEN 1 THEN 'W' || lpad(g::text, 5, '0')
                          ELSE 'w' || lpad(g::text, 5, '0') || 'é' END
  FROM generate_series(1, 2000) g;
INSERT INTO d_l SELECT * FROM d_h ORDER BY id;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT id FROM d_l WHERE t BETWEEN 'w00500' AND 'w00600';
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT id FROM d_l WHERE t COLLATE "en-x-icu" > 'W01900';
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT id FROM d_l WHERE t COLLATE "und-x-icu" > 'W01900';
SELECT q, (SELECT count(*) FROM d_h WHERE t BETWEEN q AND q || 'z') AS heap_rows,
       (SELECT array_agg(id ORDER BY id) FROM d_h WHERE t BETWEEN q AND q || 'z') IS NOT DISTINCT FROM
       (SELECT array_agg(id ORDER BY id) FROM d_l WHERE t BETWEEN q AND q || 'z') AS same
  FROM (VALUES ('w0050'), ('W0190'), ('w0001é'), ('x')) v(q) ORDER BY q COLLATE "C";
\c :regress_db
DROP DATABASE lsm_cz_icu;

DROP FUNCTION run_preds, cz_rows, cz_word, cz_count;
DROP TABLE cz_h, cz_l, cz_cols, cz_preds, cz_res;
DROP DOMAIN cz_dom;
DROP COLLATION cz_ci;
DROP COLLATION cz_ai;
