--
-- lsm_schema_alter: long sequences of ALTER TABLE interleaved with writes,
-- checked against heap at every step (issue 5 item 2).
--
-- A heap table m_heap and an lsm table m_lsm go through the same statements:
-- ADD COLUMN without a default, with a constant default (attmissingval), with
-- volatile defaults (a rewrite), DROP COLUMN and ADD again (attnum gaps),
-- RENAME, SET/DROP DEFAULT, binary-compatible ALTER TYPE (no rewrite: the
-- segments written before are read by attnum with their old type), rewriting
-- ALTER TYPE, SET/DROP NOT NULL, constraints and indexes on changed columns,
-- ALTERs inside transactions with writes around them, committed and rolled
-- back (ROLLBACK and ROLLBACK TO SAVEPOINT), UPDATE and DELETE of rows
-- written under old layouts, and lsm.compact (merging, and full => true,
-- which rewrites every segment under the current layout) at several points.
-- Every INSERT is its own transaction (a segment) unless inside BEGIN, and
-- lsm.block_rows = 64 gives several blocks per segment, so zone maps of old
-- segments are consulted by the filters below.
--
-- After every step chk() compares the two tables with queries generated
-- from the current columns: whole rows; for every column its aggregates
-- (count, sum, avg, min, max; GROUP BY grp with a filter, GROUP BY the
-- column); and for the columns the step changed (all columns at steps
-- marked full, chk(..., true), and after compactions) its filters (=, <,
-- >=, BETWEEN, IN, IS NULL, COLLATE "C" ranges for strings).  lsm runs them
-- through the LSM Scan and LSM Aggregate nodes (zone maps of old segments
-- prune), and the whole rows also with lsm.enable_custom_scan and
-- lsm.enable_aggregate_pushdown off (plain sequential scan); at full steps
-- also the filters with the custom nodes off, and the filters on indexed
-- columns with enable_seqscan off (index scans, then bitmap scans).  Rows
-- are compared as text multisets (so 1.5 vs 1.50 would differ).  chk()
-- prints one line: queries run, rows heap returned, queries that differ;
-- then, for each differing query, rows only one side returned.
--
-- Sections: 1 helpers; 2 the main sequence (m_heap / m_lsm), 40-odd ALTER
-- steps over up to 25 columns; 3 binary-coercible ALTER TYPE
-- text/varchar -> bpchar, whose btree order differs (zone maps of old
-- segments must not be compared in the new type's order).
--
SET lsm.block_rows = 64;
SET lsm.compact_l0_trigger = 2;

--
-- 1. Helpers.  {T} in a statement stands for the table; pair p means the
-- tables p_heap and p_lsm.
--

-- run stmt on the heap table, then on the lsm table
CREATE PROCEDURE run2(stmt text, pair text DEFAULT 'm')
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE replace(stmt, '{T}', pair || '_heap');
  EXECUTE replace(stmt, '{T}', pair || '_lsm');
END $$;

-- run a DDL statement on both tables; report whether each was rewritten
-- (new relfilenode).  {S} stands for a sequence of the table (p_heap_seq,
-- p_lsm_seq).
CREATE FUNCTION alter2(stmt text, pair text DEFAULT 'm',
                       OUT heap_rewritten boolean, OUT lsm_rewritten boolean)
LANGUAGE plpgsql AS $$
DECLARE
  t text;
  f oid;
BEGIN
  FOREACH t IN ARRAY ARRAY[pair || '_heap', pair || '_lsm'] LOOP
    f := pg_relation_filenode(t::regclass);
    EXECUTE replace(replace(stmt, '{T}', t), '{S}', t || '_seq');
    IF t LIKE '%_heap' THEN
      heap_rewritten := f <> pg_relation_filenode(t::regclass);
    ELSE
      lsm_rewritten := f <> pg_relation_filenode(t::regclass);
    END IF;
  END LOOP;
END $$;

-- generated rows: the expression of each column (by name) in terms of g;
-- columns not listed get their default
CREATE TABLE gen_expr (pair text, col text, expr text, PRIMARY KEY (pair, col));

-- insert rows g = lo..hi into both tables, every listed column cast to its
-- current type
CREATE PROCEDURE ins(lo int, hi int, pair text DEFAULT 'm')
LANGUAGE plpgsql AS $$
DECLARE
  cols text;
  exprs text;
BEGIN
  SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum),
         string_agg(format('(%s)::%s', e.expr, format_type(a.atttypid, a.atttypmod)), ', ' ORDER BY a.attnum)
    INTO cols, exprs
    FROM pg_attribute a JOIN gen_expr e ON e.pair = ins.pair AND e.col = a.attname
   WHERE a.attrelid = (ins.pair || '_heap')::regclass AND a.attnum > 0 AND NOT a.attisdropped;
  CALL run2(format('INSERT INTO {T} (%s) SELECT %s FROM generate_series(%s, %s) g',
                   cols, exprs, lo, hi), pair);
END $$;

-- the queries chk() runs for the current columns of pair's heap table.
-- kind 'row': all rows, all columns; per column, 'filter': its filters and
-- 'agg': its aggregates, each a UNION ALL of tagged arms (every arm is a
-- scan of its own, with its own zone filter); 'index': the filters again
-- for the leading column of an index of the lsm table; then the queries
-- in extra_queries for the pair
CREATE TABLE extra_queries (pair text, q text);
CREATE FUNCTION chk_queries(pair text)
RETURNS TABLE (kind text, col name, q text)
LANGUAGE plpgsql AS $$
DECLARE
  ht text := pair || '_heap';
  attr record;
  n bigint;
  vals text[];
  c text;
  lo text;
  mid text;
  hi text;
  agg text;
  arms text[];
BEGIN
  kind := 'row';
  q := 'SELECT * FROM {T}';
  RETURN NEXT;
  FOR attr IN
    SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS ft, t.typcategory AS cat,
           format_type(CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END, NULL) AS basetype,
           EXISTS (SELECT 1 FROM pg_index i
                    WHERE i.indrelid = (pair || '_lsm')::regclass AND i.indkey[0] = a.attnum) AS indexed
      FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
     WHERE a.attrelid = ht::regclass AND a.attnum > 0 AND NOT a.attisdropped
     ORDER BY a.attnum
  LOOP
    col := attr.attname;
    c := quote_ident(attr.attname);
    -- constants: the values at 1/8, 1/4 and 7/8 of the column's sorted values
    EXECUTE format('SELECT count(%1$s), (SELECT array_agg(format(%3$L, x) ORDER BY o) FROM unnest(
                      percentile_disc(ARRAY[0.125, 0.25, 0.875]) WITHIN GROUP (ORDER BY %1$s)) WITH ORDINALITY u(x, o))
                      FROM %2$I', c, ht, '%s') INTO n, vals;
    arms := ARRAY[format($f$SELECT 'is null' AS k, id, %s FROM {T} WHERE %s IS NULL$f$, c, c)];
    IF n > 0 THEN
      lo := quote_literal(vals[1]) || '::' || attr.ft;
      mid := quote_literal(vals[2]) || '::' || attr.ft;
      hi := quote_literal(vals[3]) || '::' || attr.ft;
      arms := arms || ARRAY[
        format($f$SELECT '= %s', id, %s FROM {T} WHERE %s = %s$f$, vals[2], c, c, mid),
        format($f$SELECT '< %s', id, %s FROM {T} WHERE %s < %s$f$, vals[1], c, c, lo),
        format($f$SELECT '>= %s', id, %s FROM {T} WHERE %s >= %s$f$, vals[3], c, c, hi),
        format($f$SELECT 'between', id, %s FROM {T} WHERE %s BETWEEN %s AND %s$f$, c, c, lo, mid),
        format($f$SELECT 'in', id, %s FROM {T} WHERE %s IN (%s, %s) AND grp = 1$f$, c, c, lo, hi)];
    END IF;
    q := array_to_string(arms, ' UNION ALL ');
    IF attr.indexed THEN
      kind := 'index';
      RETURN NEXT;
    END IF;
    IF n > 0 AND attr.cat = 'S' THEN
      q := q || format($f$ UNION ALL SELECT '< C', id, %s FROM {T} WHERE %s < %s COLLATE "C"$f$, c, c, mid)
             || format($f$ UNION ALL SELECT '>= C', id, %s FROM {T} WHERE %s >= %s COLLATE "C"$f$, c, c, hi);
    END IF;
    kind := 'filter';
    RETURN NEXT;
    -- aggregates: count, sum/avg of numbers, min/max (all pushed down into
    -- LSM Aggregate for int, float, date and timestamp types; for numeric
    -- all but min/max; min/max of the other types in an arm of their own),
    -- GROUP BY grp with a filter, GROUP BY the column
    agg := format('count(*), count(%s)', c);
    IF attr.basetype IN ('smallint', 'integer', 'bigint', 'real', 'double precision', 'numeric') THEN
      agg := agg || format(', sum(%s), avg(%s)', c, c);
    END IF;
    IF attr.basetype IN ('smallint', 'integer', 'bigint', 'real', 'double precision', 'date',
                        'timestamp without time zone', 'timestamp with time zone') THEN
      agg := agg || format(', min(%s), max(%s)', c, c);
    END IF;
    arms := ARRAY[format($f$SELECT 'total', null::int AS grp, x::text FROM (SELECT %s FROM {T}) x$f$, agg),
                  format($f$SELECT 'by grp', grp, x::text FROM (SELECT grp, %s FROM {T} WHERE %s >= %s GROUP BY grp) x$f$,
                         agg, c, coalesce(lo, 'NULL'))];
    IF attr.basetype IN ('numeric', 'text', 'character varying', 'character', 'oid', 'inet', 'cidr') THEN
      arms := arms || format($f$SELECT 'min/max', null, x::text FROM (SELECT min(%s), max(%s) FROM {T}) x$f$, c, c);
    END IF;
    arms := arms || format($f$SELECT 'by value', null, x::text FROM (SELECT %s, count(*) FROM {T} GROUP BY %s HAVING count(*) > 1) x$f$, c, c);
    kind := 'agg';
    q := array_to_string(arms, ' UNION ALL ');
    RETURN NEXT;
  END LOOP;
  kind := 'filter';
  col := NULL;
  FOR q IN SELECT e.q FROM extra_queries e WHERE e.pair = chk_queries.pair ORDER BY e.q LOOP
    RETURN NEXT;
  END LOOP;
END $$;

-- compare pair's tables: the first line counts queries, rows (as heap
-- returns them) and queries where lsm differs; then the differences.  A
-- query's result is compared by row count and a sum of hashes of the rows
-- as text (a multiset fingerprint); when they differ, both results are
-- fetched and the rows only one side returned are printed (10 at most).
-- lsm runs the queries with its custom nodes (LSM Scan, LSM Aggregate), and
-- the whole rows also with them off (plain sequential scan).  Filters run
-- for the columns in cols (NULL: all), the step's changed columns; with
-- full, for all columns, also with the custom nodes off, and those on
-- indexed columns with enable_seqscan off (index scans), then also
-- enable_indexscan off (bitmap scans).  Whole rows and the aggregates of
-- every column run at every step.
CREATE FUNCTION chk(label text, full_check boolean DEFAULT false, pair text DEFAULT 'm',
                    cols text[] DEFAULT '{}')
RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
  r record;
  m text;
  modes text[];
  a text[];
  b text[];
  fa text;
  fb text;
  ha bigint;
  nq int := 0;
  nrows bigint := 0;
  ndiff int := 0;
  lines text[] := '{}';
  fp text := 'SELECT count(*), count(*) || '' '' || coalesce(sum(hashtext(r::text)), 0) FROM (%s) r';
  wrap text := 'SELECT array_agg(r::text ORDER BY r::text COLLATE "C") FROM (%s) r';
  s_cs text := current_setting('lsm.enable_custom_scan');
  s_agg text := current_setting('lsm.enable_aggregate_pushdown');
  s_seq text := current_setting('enable_seqscan');
  s_idx text := current_setting('enable_indexscan');
BEGIN
  modes := CASE WHEN full_check THEN ARRAY['lsm nodes', 'seqscan', 'indexscan', 'bitmapscan']
                ELSE ARRAY['lsm nodes', 'seqscan'] END;
  FOR r IN SELECT * FROM chk_queries(pair) LOOP
    CONTINUE WHEN r.kind = 'index' AND NOT full_check;
    CONTINUE WHEN r.kind = 'filter' AND NOT full_check AND r.col <> ALL (cols);
    -- heap: the caller's settings
    PERFORM set_config('lsm.enable_custom_scan', s_cs, true);
    PERFORM set_config('lsm.enable_aggregate_pushdown', s_agg, true);
    PERFORM set_config('enable_seqscan', s_seq, true);
    PERFORM set_config('enable_indexscan', s_idx, true);
    EXECUTE format(fp, replace(r.q, '{T}', pair || '_heap')) INTO ha, fa;
    FOREACH m IN ARRAY modes LOOP
      CONTINUE WHEN CASE m WHEN 'lsm nodes' THEN r.kind = 'index'
                           WHEN 'seqscan' THEN r.kind NOT IN ('row', 'filter')
                                               OR (r.kind = 'filter' AND NOT full_check)
                           ELSE r.kind <> 'index' END;
      PERFORM set_config('lsm.enable_custom_scan', (m = 'lsm nodes')::text, true);
      PERFORM set_config('lsm.enable_aggregate_pushdown', (m = 'lsm nodes')::text, true);
      PERFORM set_config('enable_seqscan', (m NOT IN ('indexscan', 'bitmapscan'))::text, true);
      PERFORM set_config('enable_indexscan', (m <> 'bitmapscan')::text, true);
      EXECUTE format(fp, replace(r.q, '{T}', pair || '_lsm')) INTO STRICT fb, fb;
      nq := nq + 1;
      nrows := nrows + ha;
      CONTINUE WHEN fa = fb;
      ndiff := ndiff + 1;
      EXECUTE format(wrap, replace(r.q, '{T}', pair || '_lsm')) INTO b;
      PERFORM set_config('enable_seqscan', s_seq, true);
      PERFORM set_config('enable_indexscan', s_idx, true);
      EXECUTE format(wrap, replace(r.q, '{T}', pair || '_heap')) INTO a;
      lines := lines || format('  DIFF [%s] %s: heap %s rows, lsm %s rows', m, r.q,
                               coalesce(cardinality(a), 0), coalesce(cardinality(b), 0));
      lines := lines || ARRAY(
        SELECT '    ' || x.side || ' ' || x.v FROM (
          (SELECT 'heap only:' AS side, v FROM unnest(a) v EXCEPT ALL SELECT 'heap only:', v FROM unnest(b) v)
          UNION ALL
          (SELECT 'lsm only: ', v FROM unnest(b) v EXCEPT ALL SELECT 'lsm only: ', v FROM unnest(a) v)) x
        ORDER BY x.side, x.v COLLATE "C" LIMIT 10);
    END LOOP;
  END LOOP;
  PERFORM set_config('lsm.enable_custom_scan', s_cs, true);
  PERFORM set_config('lsm.enable_aggregate_pushdown', s_agg, true);
  PERFORM set_config('enable_seqscan', s_seq, true);
  PERFORM set_config('enable_indexscan', s_idx, true);
  RETURN NEXT format('%s: %s queries, %s rows, %s differ', label, nq, nrows, ndiff);
  RETURN QUERY SELECT unnest(lines);
END $$;

-- same columns, types, defaults (table names replaced by {T}), NOT NULL
-- and missing values on both tables
CREATE FUNCTION layout_rows(rel text)
RETURNS TABLE (attnum int2, attname name, atttypid oid, atttypmod int4, attnotnull boolean,
               attisdropped boolean, atthasmissing boolean, missing text, dflt text)
LANGUAGE sql AS $$
  SELECT a.attnum, a.attname, a.atttypid, a.atttypmod, a.attnotnull, a.attisdropped,
         a.atthasmissing, a.attmissingval::text, replace(pg_get_expr(d.adbin, d.adrelid), rel, '{T}')
    FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
   WHERE a.attrelid = rel::regclass AND a.attnum > 0
$$;
CREATE FUNCTION same_layout(pair text DEFAULT 'm') RETURNS boolean
LANGUAGE sql AS $$
  SELECT NOT EXISTS ((SELECT * FROM layout_rows(pair || '_heap') EXCEPT SELECT * FROM layout_rows(pair || '_lsm'))
                     UNION ALL
                     (SELECT * FROM layout_rows(pair || '_lsm') EXCEPT SELECT * FROM layout_rows(pair || '_heap')))
$$;

-- the current layout of pair's lsm table (attnum gaps show dropped columns)
CREATE FUNCTION layout(pair text DEFAULT 'm') RETURNS text
LANGUAGE sql AS $$
  SELECT string_agg(format('%s:%s %s%s', attnum, attname, format_type(atttypid, atttypmod),
                           CASE WHEN attnotnull THEN ' not null' ELSE '' END), ', ' ORDER BY attnum)
    FROM pg_attribute WHERE attrelid = (pair || '_lsm')::regclass AND attnum > 0 AND NOT attisdropped
$$;

--
-- 2. The main sequence.  Columns start as below; comments say what each
-- step proves.  id stays unique and grp stays a small int (chk uses both).
--
CREATE TABLE m_heap (id int4, grp int4, i4 int4, n numeric(10,2), f8 float8, f4 float4,
                     v varchar(10), t text, ts timestamp(3), o oid, d date, b bool,
                     ip cidr, s int2) USING heap;
CREATE TABLE m_lsm (LIKE m_heap) USING lsm;
CREATE SEQUENCE m_heap_seq;
CREATE SEQUENCE m_lsm_seq;
-- floats are multiples of 1/4 (exact sums in any order); o crosses 2^31 at g = 500
INSERT INTO gen_expr VALUES
  ('m', 'id', 'g'),
  ('m', 'grp', 'g % 5'),
  ('m', 'i4', 'CASE WHEN g % 19 = 0 THEN NULL ELSE g * 10 - 5000 END'),
  ('m', 'n', 'CASE WHEN g % 23 = 0 THEN NULL ELSE round((g % 997) * 1.25 - 300.5, 2) END'),
  ('m', 'f8', 'CASE WHEN g % 29 = 0 THEN NULL ELSE ((g * 7) % 400 - 200) * 0.25 END'),
  ('m', 'f4', '(g % 64) * 0.5'),
  ('m', 'v', $$CASE WHEN g % 31 = 0 THEN NULL ELSE 'v' || lpad((g % 300)::text, 4, '0') END$$),
  ('m', 't', 'CASE WHEN g % 37 = 0 THEN NULL ELSE ((g * 13) % 1000)::text END'),
  ('m', 'ts', $$timestamp '2024-01-01' + g * interval '1 hour 0.123 sec'$$),
  ('m', 'o', '(2147482648::int8 + g * 2)::oid'),
  ('m', 'd', $$CASE WHEN g % 41 = 0 THEN NULL ELSE date '2023-01-01' + g END$$),
  ('m', 'b', 'CASE WHEN g % 43 = 0 THEN NULL ELSE g % 3 = 0 END'),
  ('m', 'ip', $$('10.' || (g / 256) % 256 || '.' || g % 256 || '.0/24')::cidr$$),
  ('m', 's', 'g % 100 - 50');
CALL run2('CREATE UNIQUE INDEX ON {T} (id)');
CALL run2('CREATE INDEX ON {T} (i4)');
CALL run2('CREATE INDEX ON {T} (o)');
-- two transactions: two segments of four blocks
CALL ins(1, 130);
CALL ins(131, 260);
SELECT layout();
SELECT chk('0 initial', true);

-- 1. ADD COLUMN without a default: rows of older segments read NULL
SELECT * FROM alter2('ALTER TABLE {T} ADD COLUMN a1 int');
INSERT INTO gen_expr VALUES ('m', 'a1', 'CASE WHEN g % 7 = 0 THEN NULL ELSE g % 13 END');
CALL ins(261, 350);
CALL ins(351, 430);
SELECT chk('1 add a1 int', cols => '{a1}');

-- 2. volatile defaults rewrite the table.  nextval of a sequence per table
-- (both fresh): no row was updated or deleted yet, so heap and lsm scan in
-- insertion order and number the rows alike
SELECT * FROM alter2($$ALTER TABLE {T} ADD COLUMN vq bigint DEFAULT nextval('{S}')$$);
SELECT chk('2 add vq bigint default nextval', cols => '{vq}');
CALL ins(431, 520);
-- clock_timestamp() and random(): a value for every row, then dropped
SELECT * FROM alter2('ALTER TABLE {T} ADD COLUMN ct timestamptz DEFAULT clock_timestamp()');
SELECT * FROM alter2('ALTER TABLE {T} ADD COLUMN r float8 DEFAULT random()');
SELECT count(*), count(ct), count(*) FILTER (WHERE r >= 0 AND r < 1) FROM m_heap;
SELECT count(*), count(ct), count(*) FILTER (WHERE r >= 0 AND r < 1) FROM m_lsm;
SELECT count(*), count(ct), count(*) FILTER (WHERE r >= 0 AND r < 1) FROM m_lsm WHERE ct IS NOT NULL AND r < 2;
SELECT * FROM alter2('ALTER TABLE {T} DROP COLUMN ct, DROP COLUMN r');
-- a volatile expression with a constant value: rewritten, same values
SELECT * FROM alter2('ALTER TABLE {T} ADD COLUMN vz int DEFAULT (random() * 0)::int + 7');
SELECT chk('2 add vz volatile constant', cols => '{vq,vz}');

-- 3. constant defaults: attmissingval, no rewrite; new rows written with
-- the default (a2, a4) or a value (a3)
SELECT * FROM alter2($$ALTER TABLE {T} ADD COLUMN a2 text DEFAULT 'dflt', ADD COLUMN a3 numeric DEFAULT 1.50,
                       ADD COLUMN a4 int4 DEFAULT 42$$);
INSERT INTO gen_expr VALUES ('m', 'a3', 'CASE WHEN g % 3 = 0 THEN NULL ELSE g / 8.0 END');
CALL ins(521, 610);
SELECT same_layout();
SELECT chk('3 add a2, a3, a4 with defaults', cols => '{a2,a3,a4}');

-- 4. DEFAULT current_date (stable: attmissingval), then DROP DEFAULT: old
-- rows keep the date, new rows get NULL
SELECT * FROM alter2('ALTER TABLE {T} ADD COLUMN d2 date DEFAULT current_date');
CALL ins(611, 680);
SELECT * FROM alter2('ALTER TABLE {T} ALTER COLUMN d2 DROP DEFAULT');
CALL ins(681, 750);
SELECT count(d2), count(DISTINCT d2) FROM m_heap;
SELECT count(d2), count(DISTINCT d2) FROM m_lsm;
SELECT same_layout();
SELECT chk('4 d2 default current_date, drop default', cols => '{d2}');

-- 5. UPDATE and DELETE of rows written under every older layout
CALL run2($$UPDATE {T} SET a1 = id % 11, a2 = 'upd' WHERE id % 10 = 3$$);
CALL run2('UPDATE {T} SET i4 = -i4, a4 = a4 + 1 WHERE id BETWEEN 100 AND 180');
CALL run2('UPDATE {T} SET a3 = a3 * 2, d2 = NULL WHERE id % 13 = 1');
CALL run2('DELETE FROM {T} WHERE id % 17 = 5');
SELECT chk('5 update, delete old rows', true);

-- 6. compaction: segments of every layout merged, then all rewritten
-- under the current layout
SELECT rows_out <= rows_in AS compacted FROM lsm.compact('m_lsm');
SELECT chk('6 compact', cols => NULL);
SELECT rows_out <= rows_in AS compacted FROM lsm.compact('m_lsm', full => true);
SELECT chk('6 compact full', cols => NULL);

-- 7. DROP COLUMN, then a column of the same name again (a new attnum):
-- rows written while it was dropped read its default
SELECT * FROM alter2('ALTER TABLE {T} DROP COLUMN a1');
CALL ins(751, 840);
SELECT chk('7 drop a1');
SELECT * FROM alter2('ALTER TABLE {T} ADD COLUMN a1 int DEFAULT -1');
CALL ins(841, 910);
SELECT layout();
SELECT chk('7 add a1 again', cols => '{a1}');

-- 8. RENAME COLUMN
SELECT * FROM alter2('ALTER TABLE {T} RENAME COLUMN v TO vname');
SELECT * FROM alter2('ALTER TABLE {T} RENAME COLUMN a2 TO note');
INSERT INTO gen_expr VALUES ('m', 'vname', $$CASE WHEN g % 31 = 0 THEN NULL ELSE 'w' || lpad((g % 300)::text, 4, '0') END$$);
CALL ins(911, 980);
SELECT chk('8 rename v, a2', cols => '{vname,note}');

-- 9. SET / DROP DEFAULT: only rows inserted later see the change
SELECT * FROM alter2('ALTER TABLE {T} ALTER COLUMN a4 SET DEFAULT 43');
CALL ins(981, 1020);
SELECT * FROM alter2('ALTER TABLE {T} ALTER COLUMN note DROP DEFAULT');
CALL ins(1021, 1060);
SELECT * FROM alter2($$ALTER TABLE {T} ALTER COLUMN note SET DEFAULT 'later'$$);
CALL ins(1061, 1100);
SELECT chk('9 set/drop default', cols => '{a4,note}');

-- 10. binary-compatible ALTER TYPE (no rewrite): older segments keep their
-- bytes and are read under the new type
SELECT * FROM alter2('ALTER TABLE {T} ALTER COLUMN vname TYPE varchar(20)');
CALL run2($$UPDATE {T} SET vname = vname || '-longer' WHERE id % 9 = 0$$);
UPDATE gen_expr SET expr = $$'x' || lpad((g % 300)::text, 12, '0')$$ WHERE pair = 'm' AND col = 'vname';
CALL ins(1101, 1135);
CALL ins(1136, 1170);
SELECT * FROM alter2('ALTER TABLE {T} ALTER COLUMN n TYPE numeric(12,2)');
UPDATE gen_expr SET expr = 'round((g % 997) * 12345.67 - 300.5, 2)' WHERE pair = 'm' AND col = 'n';
CALL ins(1171, 1205);
CALL ins(1206, 1240);
SELECT * FROM alter2('ALTER TABLE {T} ALTER COLUMN ts TYPE timestamp(6)');
UPDATE gen_expr SET expr = $$timestamp '2024-01-01' + g * interval '1 hour 0.123456 sec'$$ WHERE pair = 'm' AND col = 'ts';
CALL ins(1241, 1310);
SELECT chk('10 varchar(20), numeric(12,2), timestamp(6)', cols => '{vname,n,ts}');
SELECT * FROM alter2('ALTER TABLE {T} ALTER COLUMN vname TYPE text');
SELECT * FROM alter2('ALTER TABLE {T} ALTER COLUMN note TYPE varchar');
CALL ins(1311, 1380);
SELECT same_layout();
SELECT chk('10 varchar -> text, text -> varchar', cols => '{vname,note}');

-- 11. oid -> int4 and back: binary coercible, but the values above 2^31
-- read as negative int4 (and the index on o is rebuilt with int4 order)
SELECT * FROM alter2('ALTER TABLE {T} ALTER COLUMN o TYPE int4');
SELECT count(*) FILTER (WHERE o < 0) AS negative, min(o), max(o) FROM m_heap;
SELECT count(*) FILTER (WHERE o < 0) AS negative, min(o), max(o) FROM m_lsm;
SELECT count(*), min(id), max(id) FROM m_heap WHERE o < -2147483000;
SELECT count(*), min(id), max(id) FROM m_lsm WHERE o < -2147483000;
CALL ins(1381, 1415);
CALL ins(1416, 1450);
SELECT chk('11 oid -> int4', true);
SELECT * FROM alter2('ALTER TABLE {T} ALTER COLUMN o TYPE oid');
SELECT count(*), min(id), max(id) FROM m_heap WHERE o > 2147483648;
SELECT count(*), min(id), max(id) FROM m_lsm WHERE o > 2147483648;
SELECT chk('11 int4 -> oid', cols => '{o}');

-- what the LSM nodes do with old segments: the zone filter skips blocks of
-- segments written under earlier layouts; aggregates run inside the scan
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT id, i4 FROM m_lsm WHERE i4 BETWEEN 1000 AND 1500;
EXPLAIN (COSTS OFF)
SELECT grp, count(a4), sum(s), avg(i4), min(ts), max(d) FROM m_lsm WHERE o > 2147483648 GROUP BY grp;

-- 12. cidr -> inet (binary coercible, same order); inet host values after
SELECT * FROM alter2('ALTER TABLE {T} ALTER COLUMN ip TYPE inet');
UPDATE gen_expr SET expr = $$('10.' || (g / 256) % 256 || '.' || g % 256 || '.' || g % 7 || '/24')::inet$$
 WHERE pair = 'm' AND col = 'ip';
CALL ins(1451, 1485);
CALL ins(1486, 1520);
SELECT chk('12 cidr -> inet', cols => '{ip}');

-- 13. SET NOT NULL scans the table (missing values count as present);
-- refused while old rows hold NULLs; DROP NOT NULL
SELECT * FROM alter2('ALTER TABLE {T} ALTER COLUMN a4 SET NOT NULL');
ALTER TABLE m_heap ALTER COLUMN i4 SET NOT NULL;
ALTER TABLE m_lsm ALTER COLUMN i4 SET NOT NULL;
CALL run2('UPDATE {T} SET i4 = 0 WHERE i4 IS NULL');
SELECT * FROM alter2('ALTER TABLE {T} ALTER COLUMN i4 SET NOT NULL');
INSERT INTO m_heap (id, grp) VALUES (9999, 1);
INSERT INTO m_lsm (id, grp) VALUES (9999, 1);
UPDATE gen_expr SET expr = 'g * 10 - 5000' WHERE pair = 'm' AND col = 'i4';
CALL ins(1521, 1590);
SELECT * FROM alter2('ALTER TABLE {T} ALTER COLUMN i4 DROP NOT NULL');
UPDATE gen_expr SET expr = 'CASE WHEN g % 19 = 0 THEN NULL ELSE g * 10 - 5000 END' WHERE pair = 'm' AND col = 'i4';
CALL ins(1591, 1660);
SELECT layout();
SELECT chk('13 set/drop not null', cols => '{a4,i4}');

-- 14. constraints and indexes on changed columns: CHECK validated over
-- old segments (missing values, binary-compatible types), refused the
-- same way, NOT VALID + VALIDATE, UNIQUE over a column with attmissingval,
-- indexes on added / retyped / renamed columns (index scans in chk full)
SELECT * FROM alter2('ALTER TABLE {T} ADD CONSTRAINT {T}_a4_pos CHECK (a4 > 0)');
ALTER TABLE m_heap ADD CONSTRAINT m_heap_n_neg CHECK (n < 0);
ALTER TABLE m_lsm ADD CONSTRAINT m_lsm_n_neg CHECK (n < 0);
SELECT * FROM alter2($$ALTER TABLE {T} ADD CONSTRAINT {T}_note CHECK (note <> 'zzz') NOT VALID$$);
SELECT * FROM alter2('ALTER TABLE {T} VALIDATE CONSTRAINT {T}_note');
SELECT * FROM alter2('ALTER TABLE {T} ADD CONSTRAINT {T}_id_a4 UNIQUE (id, a4)');
CALL run2('CREATE INDEX ON {T} (a3)');
CALL run2('CREATE INDEX ON {T} (d2)');
CALL run2('CREATE INDEX ON {T} (vname)');
CALL run2('CREATE INDEX ON {T} (note)');
CALL run2('CREATE INDEX ON {T} (ts)');
CALL run2('CREATE INDEX ON {T} (n)');
CALL run2('CREATE INDEX ON {T} (ip)');
INSERT INTO m_heap (id, grp, a4) VALUES (10000, 1, 0);
INSERT INTO m_lsm (id, grp, a4) VALUES (10000, 1, 0);
SELECT * FROM alter2('ALTER TABLE {T} DROP CONSTRAINT {T}_a4_pos');
CALL run2('INSERT INTO {T} (id, grp, a4) VALUES (10000, 1, 0)');
SELECT chk('14 constraints, indexes', true);

-- 15. rewriting ALTER TYPE: int4 -> int8, text -> int USING; indexes rebuilt
SELECT * FROM alter2('ALTER TABLE {T} ALTER COLUMN i4 TYPE int8');
SELECT * FROM alter2('ALTER TABLE {T} ALTER COLUMN t TYPE int USING t::int');
CALL run2('CREATE INDEX ON {T} (t)');
CALL ins(1661, 1730);
SELECT same_layout();
SELECT chk('15 int4 -> int8, text -> int', true);

-- 16. writes in the same transaction as ALTERs (buffered rows of the old
-- layout, then of the new one; updates of both; a binary-compatible ALTER
-- TYPE and a DROP COLUMN with buffered rows), checked before and after
-- COMMIT
INSERT INTO gen_expr VALUES ('m', 'tx', 'g % 4');
BEGIN;
CALL ins(1731, 1800);
SELECT * FROM alter2('ALTER TABLE {T} ADD COLUMN tx int DEFAULT 9');
CALL ins(1801, 1870);
CALL run2('UPDATE {T} SET tx = tx + 100 WHERE id % 5 = 0 AND id > 1700');
SELECT * FROM alter2('ALTER TABLE {T} ALTER COLUMN n TYPE numeric(14,2)');
SELECT * FROM alter2('ALTER TABLE {T} DROP COLUMN vz');
CALL run2('DELETE FROM {T} WHERE id % 50 = 7 AND id > 1700');
CALL run2('UPDATE {T} SET n = n * 100 WHERE id % 3 = 0 AND id > 1650');
SELECT chk('16 inside the transaction', cols => '{tx,n}');
COMMIT;
SELECT chk('16 committed', cols => '{tx,n}');

-- 17. ALTERs rolled back, with writes around them
-- ROLLBACK: the column and the rows written with it vanish; a column added
-- later takes the same attnum with another type
BEGIN;
CALL ins(1871, 1910);
SELECT * FROM alter2('ALTER TABLE {T} ADD COLUMN rb int DEFAULT 1');
CALL ins(1911, 1950);
CALL run2('UPDATE {T} SET rb = 2 WHERE id % 3 = 0');
ROLLBACK;
SELECT chk('17 rollback');
SELECT * FROM alter2($$ALTER TABLE {T} ADD COLUMN rb2 text DEFAULT 'rb2'$$);
CALL ins(1951, 1990);
SELECT chk('17 rb2 on the attnum of rb', cols => '{rb2}');
-- savepoints: a dropped column restored, an added one kept, a rewrite
-- undone, an added column replaced by another on its attnum
BEGIN;
CALL ins(1991, 2030);
SAVEPOINT s1;
SELECT * FROM alter2('ALTER TABLE {T} DROP COLUMN a3');
CALL ins(2031, 2070);
ROLLBACK TO SAVEPOINT s1;
CALL ins(2071, 2110);
SAVEPOINT s2;
SELECT * FROM alter2($$ALTER TABLE {T} ADD COLUMN sp text DEFAULT 'sp'$$);
CALL run2($$UPDATE {T} SET sp = 'x' || id WHERE id % 7 = 0$$);
RELEASE SAVEPOINT s2;
SAVEPOINT s3;
SELECT * FROM alter2('ALTER TABLE {T} ALTER COLUMN s TYPE int4');
CALL ins(2111, 2150);
CALL run2('UPDATE {T} SET s = s + 1000 WHERE id % 4 = 0');
ROLLBACK TO SAVEPOINT s3;
CALL ins(2151, 2190);
SAVEPOINT s4;
SELECT * FROM alter2('ALTER TABLE {T} ADD COLUMN z1 int DEFAULT 5');
CALL ins(2191, 2230);
ROLLBACK TO SAVEPOINT s4;
SELECT * FROM alter2($$ALTER TABLE {T} ADD COLUMN z2 text DEFAULT 'z'$$);
CALL ins(2231, 2270);
SELECT chk('17 savepoints, inside', cols => '{sp,z2,a3,s}');
COMMIT;
SELECT layout();
SELECT same_layout();
SELECT chk('17 savepoints, committed', true);

-- 18. compaction after all that: merge, then full (which reads the merged
-- segments)
SELECT rows_out <= rows_in AS compacted FROM lsm.compact('m_lsm');
SELECT rows_out <= rows_in AS compacted FROM lsm.compact('m_lsm', full => true);
SELECT chk('18 compact full', cols => NULL);

-- 19. more rounds: drop and re-add with another type, rewrites with USING,
-- a stored generated column (rewrite), a domain and timestamp ->
-- timestamptz (no rewrite), a column dropped with its index, ALTER TYPE
-- refused the same way
CREATE DOMAIN dom_int AS int4;
SELECT * FROM alter2('ALTER TABLE {T} DROP COLUMN f4');
CALL ins(2271, 2340);
SELECT * FROM alter2('ALTER TABLE {T} ADD COLUMN f4 numeric DEFAULT 0.5');
SELECT * FROM alter2('ALTER TABLE {T} ALTER COLUMN s TYPE int4');
SELECT * FROM alter2($$ALTER TABLE {T} ALTER COLUMN d TYPE timestamp USING d + time '12:00'$$);
CALL ins(2341, 2375);
CALL ins(2376, 2410);
SELECT chk('19 f4 float4 -> dropped -> numeric, int2 -> int4, date -> timestamp', cols => '{f4,s,d}');
SELECT * FROM alter2('ALTER TABLE {T} DROP COLUMN b');
SELECT * FROM alter2('ALTER TABLE {T} ADD COLUMN b2 bool DEFAULT true');
SELECT * FROM alter2('ALTER TABLE {T} ALTER COLUMN a4 TYPE dom_int');
-- timestamp -> timestamptz needs no rewrite when the session time zone is UTC
SET timezone = 'UTC';
SELECT * FROM alter2('ALTER TABLE {T} ALTER COLUMN ts TYPE timestamptz');
RESET timezone;
CALL ins(2411, 2480);
SELECT chk('19 drop b, add b2, a4 -> domain, ts -> timestamptz', cols => '{b2,a4,ts}');
SELECT * FROM alter2('ALTER TABLE {T} ALTER COLUMN vname TYPE varchar(30) USING upper(vname)');
SELECT * FROM alter2('ALTER TABLE {T} ADD COLUMN gen int GENERATED ALWAYS AS (grp * 2 + 1) STORED');
ALTER TABLE m_heap ALTER COLUMN note TYPE varchar(3);
ALTER TABLE m_lsm ALTER COLUMN note TYPE varchar(3);
SELECT * FROM alter2('ALTER TABLE {T} DROP COLUMN a3');
CALL ins(2481, 2550);
SELECT layout();
SELECT same_layout();
SELECT chk('19 vname USING upper, generated column, drop a3', cols => '{vname,gen,note}');
CALL run2('UPDATE {T} SET grp = (grp + 1) % 5, n = n + 1 WHERE id % 6 = 0');
CALL run2('DELETE FROM {T} WHERE id BETWEEN 2000 AND 2080');
SELECT chk('19 update, delete', cols => '{grp,n}');

-- 20. final compaction; lsm.verify reads every segment
SELECT rows_out <= rows_in AS compacted FROM lsm.compact('m_lsm', full => true);
SELECT segments_checked > 0 AS verified FROM lsm.verify('m_lsm');
SELECT chk('20 final', true);

--
-- 3. Binary-coercible ALTER TYPE to a type whose btree order differs from
-- the old one (found by this test).  text -> bpchar and varchar -> bpchar
-- need no rewrite, so segments written before keep zone maps (min/max per
-- block) computed in text order, while bpchar's comparison ignores
-- trailing spaces: 'a ' = 'a' in bpchar, and E'a\t' < 'a ' in text but
-- E'a\t' > 'a ' (= 'a') in bpchar.  A block holding only 'a ' and E'a\t'
-- has text zone [E'a\t', 'a '], which bpchar would read as "all values >
-- 'a'", so WHERE t = 'a' would skip it although its 'a ' rows match.  The
-- LSM Scan and LSM Aggregate use a segment column's zone maps only while
-- the column's type orders values as the type the segment recorded
-- (src/scan/lsm_segread.c, lsm_zone_order_compatible): every chk line
-- below must say "0 differ".  A full compaction rewrites the segments with
-- bpchar zone maps.
--
CREATE TABLE c_heap (id int4, grp int4, t text, v varchar(10), tc text COLLATE "C") USING heap;
CREATE TABLE c_lsm (LIKE c_heap) USING lsm;
-- blocks of 64 rows: rows 1..128 only 'a ' and E'a\t', rows 129..256 only
-- 'b', 'b  ' and E'b\n', then ordinary values
INSERT INTO gen_expr VALUES
  ('c', 'id', 'g'),
  ('c', 'grp', 'g % 5'),
  ('c', 't', $$CASE WHEN g <= 128 THEN CASE WHEN g % 2 = 0 THEN 'a ' ELSE E'a\t' END
                  WHEN g <= 256 THEN (ARRAY['b', 'b  ', E'b\n'])[g % 3 + 1]
                  ELSE chr(99 + g % 20) || repeat(' ', g % 3) END$$),
  ('c', 'v', $$CASE WHEN g <= 128 THEN CASE WHEN g % 2 = 0 THEN 'a ' ELSE E'a\t' END
                  WHEN g <= 256 THEN (ARRAY['b', 'b  ', E'b\n'])[g % 3 + 1]
                  ELSE chr(99 + g % 20) || repeat(' ', g % 3) END$$),
  ('c', 'tc', $$CASE WHEN g <= 128 THEN CASE WHEN g % 2 = 0 THEN 'a ' ELSE E'a\t' END
                   WHEN g <= 256 THEN (ARRAY['b', 'b  ', E'b\n'])[g % 3 + 1]
                   ELSE chr(99 + g % 20) || repeat(' ', g % 3) END$$);
INSERT INTO extra_queries VALUES
  ('c', $$SELECT 't = a', id, t FROM {T} WHERE t = 'a'$$),
  ('c', $$SELECT 't in', id, t FROM {T} WHERE t IN ('a', 'b')$$),
  ('c', $$SELECT 'v = b', id, v FROM {T} WHERE v = 'b'$$),
  ('c', $$SELECT 'tc <= a', id, tc FROM {T} WHERE tc <= 'a'$$),
  ('c', $$SELECT 'tc < b', id, tc FROM {T} WHERE tc < 'b'$$),
  ('c', $$SELECT 'count t = a', count(*), null::int FROM {T} WHERE t = 'a'$$),
  ('c', $$SELECT 'count tc <= b', count(*), null::int FROM {T} WHERE tc <= 'b'$$);
CALL ins(1, 128, 'c');
CALL ins(129, 256, 'c');
CALL ins(257, 400, 'c');
CALL run2('CREATE INDEX ON {T} (t)', 'c');
SELECT chk('c text', true, 'c');
SELECT * FROM alter2('ALTER TABLE {T} ALTER COLUMN t TYPE bpchar', 'c');
SELECT * FROM alter2('ALTER TABLE {T} ALTER COLUMN v TYPE bpchar', 'c');
SELECT * FROM alter2('ALTER TABLE {T} ALTER COLUMN tc TYPE bpchar', 'c');
SELECT layout('c');
-- the 'a ' rows (block zone [E'a\t', 'a ']) and the 'b  ' rows (block
-- zone [E'b\n', 'b  ']) must be found by the filters and counts
\pset format unaligned
SELECT chk('c bpchar', true, 'c');
SELECT count(*) FROM c_heap WHERE t = 'a';
SELECT count(*) FROM c_lsm WHERE t = 'a';
SET lsm.enable_custom_scan = off;
SELECT count(*) FROM c_lsm WHERE t = 'a';
RESET lsm.enable_custom_scan;
-- rows written after the ALTER get bpchar zone maps, the old ones keep text's
CALL ins(401, 528, 'c');
SELECT chk('c bpchar, new rows', false, 'c', '{t,v,tc}');
\pset format aligned
-- a full compaction rewrites every segment with bpchar zone maps
SELECT rows_out <= rows_in AS compacted FROM lsm.compact('c_lsm', full => true);
SELECT chk('c bpchar, compacted', true, 'c');
