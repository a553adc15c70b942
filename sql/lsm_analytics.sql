--
-- lsm_analytics: differential tests for the analytic read path (filters).
-- A heap table h and an lsm table l hold the same rows; every query below
-- runs on both and must return exactly the same rows.  Any read path for
-- lsm tables (sequential scan, a custom scan that decodes only referenced
-- columns and prunes segments and blocks by zone maps) must pass these.
--
-- The data is deterministic (no random()) and made to trap zone-map logic:
-- extremes of every type placed inside blocks, NaN / Infinity / -0 in floats
-- (stored by their bits: integer order is wrong for them), NaN and 1e100 in
-- numeric, infinite dates and timestamps, values that are equal but look
-- different (numeric 1.5 = 1.50, interval '1 mon' = '30 days', float
-- 0 = -0), text under the default collation, "C" and an ICU collation, a
-- column that is always NULL and one that is NULL in whole blocks.
-- lsm.block_rows = 64 and lsm.segment_rows = 500 give 5 segments and
-- 33 blocks.
--
-- Results are compared as text (so -0 vs 0, 1.5 vs 1.50, '1 mon' vs
-- '30 days' count as different) and printed small: the number of rows heap
-- returns and whether lsm returned the same ones.  Phases: freshly loaded;
-- rows inserted, updated and deleted inside the current transaction
-- (buffered and own uncommitted segments, savepoints); committed DELETE of a
-- whole segment, of rows spread over blocks and of the rows holding
-- extremes, and UPDATEs; after lsm.compact(l) and lsm.compact(l, true);
-- after ADD COLUMN ... DEFAULT (attmissingval), DROP COLUMN and a
-- binary-compatible ALTER TYPE.  Sections: 1 operator matrix (every column
-- x every comparison operator x constants at block / segment edges, beyond
-- the data, special values, other types), 2 ranges / lists / NULL tests,
-- 3 AND/OR/NOT, LIKE, collations, expressions, edges, 4 whole rows, system
-- columns, ORDER BY ... LIMIT, rescans, empty tables, 5 parameters (generic
-- plans, functions), 6 scrollable cursors, 7 current transaction, 8 DML
-- and compaction, 9 ALTER TABLE, 10 more types (char(n), timetz, inet...).
-- Row order is never compared unless the query orders the rows totally:
-- heap reuses free space, so its scan order is not insertion order.
-- Aggregates: lsm_analytics_agg.
--
SET lsm.block_rows = 64;
SET lsm.segment_rows = 500;

-- the rows of ids lo..hi; special values sit at fixed ids
CREATE FUNCTION gen(lo int, hi int)
RETURNS TABLE (id int4, g int4, grp text, i2 int2, i4 int4, i8 int8, n numeric,
               n2 numeric, f4 float4, f8 float8, d date, ts timestamp,
               tz timestamptz, b bool, t text, tc text, ti text, vc varchar,
               u uuid, iv interval, nb int4, nul int4)
LANGUAGE sql IMMUTABLE AS $$
SELECT id, id % 7,
  CASE WHEN id % 11 = 0 THEN NULL ELSE (ARRAY['alpha', 'beta', 'gamma', 'delta', 'Epsilon'])[id % 5 + 1] END,
  -- i2, i4: ascending with the row (zone maps can prune), extremes inside a block
  CASE id WHEN 17 THEN -32768 WHEN 18 THEN 32767
    ELSE CASE WHEN id % 23 = 0 THEN NULL ELSE ((id % 2001) - 1000) * 16 END END,
  CASE id WHEN 1501 THEN -2147483648 WHEN 1502 THEN 2147483647
    ELSE CASE WHEN id % 29 = 0 THEN NULL ELSE id * 2000 - 2000000 END END,
  -- i8: scattered, with both extremes (the greatest twice)
  CASE id WHEN 1234 THEN 9223372036854775807 WHEN 1235 THEN -9223372036854775808
          WHEN 1845 THEN 9223372036854775807
    ELSE CASE WHEN id % 31 = 0 THEN NULL ELSE ((id * 7919) % 10007 - 5000) * 1000000000000::int8 END END,
  -- n: scattered, several scales, NaN, +-1e100 (1e100 twice: scale 0 and 2)
  CASE id WHEN 500 THEN 1e100 WHEN 1500 THEN 1e100::numeric(200, 2) WHEN 501 THEN -1e100
          WHEN 502 THEN 0.000000000001 WHEN 510 THEN 1.5 WHEN 511 THEN 1.50
    ELSE CASE WHEN id % 97 = 0 THEN 'NaN' WHEN id % 43 = 0 THEN NULL
              ELSE round(((id * 37) % 1000 - 500) / 7.0, id % 4) END END,
  -- n2: ascending, NULL in one whole block of every segment
  CASE WHEN (id - 1) % 500 / 64 = 5 THEN NULL ELSE id * 1.125 - 1000 END,
  -- f4, f8: scattered multiples of 1/4 and 1/8, plus NaN, +-Infinity, -0, huge
  CASE id WHEN 100 THEN 'NaN' WHEN 101 THEN 'Infinity' WHEN 102 THEN '-Infinity'
          WHEN 103 THEN '-0' WHEN 104 THEN 1e30
    ELSE CASE WHEN id % 19 = 0 THEN NULL ELSE ((id * 13) % 2001 - 1000) * 0.25 END END,
  CASE id WHEN 200 THEN 'NaN' WHEN 201 THEN 'Infinity' WHEN 202 THEN '-Infinity'
          WHEN 203 THEN '-0' WHEN 204 THEN 1e300 WHEN 205 THEN 0
    ELSE CASE WHEN id % 37 = 0 THEN NULL ELSE ((id * 31) % 4001 - 2000) * 0.125 END END,
  -- d ascending; ts scattered; tz ascending across a DST change; all with +-infinity
  CASE id WHEN 300 THEN 'infinity' WHEN 301 THEN '-infinity'
    ELSE CASE WHEN id % 41 = 0 THEN NULL ELSE date '2000-01-01' + id END END,
  CASE id WHEN 310 THEN 'infinity' WHEN 311 THEN '-infinity'
    ELSE CASE WHEN id % 47 = 0 THEN NULL
              ELSE timestamp '2020-01-01' + ((id * 7919) % 4001) * interval '37 minutes 13.5 seconds' END END,
  CASE id WHEN 320 THEN 'infinity' WHEN 321 THEN '-infinity'
    ELSE CASE WHEN id % 53 = 0 THEN NULL
              ELSE timestamptz '2021-03-14 01:00:00+00' + id * interval '17 minutes' END END,
  -- b: rows 641..768 (two blocks) all true
  CASE WHEN id BETWEEN 641 AND 768 THEN true WHEN id % 5 = 0 THEN NULL ELSE id % 3 = 0 END,
  x.s, x.s, x.s,
  CASE WHEN id % 59 = 0 THEN NULL ELSE 'v' || (id % 200) END,
  CASE WHEN id % 61 = 0 THEN NULL ELSE md5(id::text)::uuid END,
  -- iv: equal pairs that print differently ('1 mon' = '30 days', '1 year' = '360 days')
  CASE id WHEN 400 THEN '1 mon' WHEN 401 THEN '30 days' WHEN 402 THEN '1 year'
          WHEN 403 THEN '360 days' WHEN 404 THEN '-5 days'
    ELSE CASE WHEN id % 67 = 0 THEN NULL
              ELSE (id % 50) * interval '1 day' + (id % 7) * interval '1 hour' END END,
  -- nb: NULL in every third block of a segment (blocks 0, 3, 6, ...)
  CASE WHEN (id - 1) % 500 / 64 % 3 = 0 THEN NULL ELSE id END,
  NULL::int4
FROM generate_series(lo, hi) id,
  LATERAL (SELECT CASE WHEN id % 71 = 0 THEN NULL
                       WHEN id = 777 THEN repeat('long', 1000)
                       WHEN id % 10 = 1 THEN (ARRAY['', 'Abc', 'abc', 'ABC', 'b', 'B', 'é', 'Z', 'a b', 'a-b'])[id % 100 / 10 + 1]
                       ELSE (ARRAY['k', 'K', 'm'])[id % 3 + 1] || lpad(((id * 7919) % 4001)::text, 5, '0')
                  END AS s) x
$$;

CREATE TABLE h (
  id int4, g int4, grp text,
  i2 int2, i4 int4, i8 int8, n numeric, n2 numeric(12,3),
  f4 float4, f8 float8, d date, ts timestamp, tz timestamptz, b bool,
  t text, tc text COLLATE "C", ti text COLLATE "en-x-icu", vc varchar(12),
  u uuid, iv interval, nb int4, nul int4
) USING heap;
CREATE TABLE l (LIKE h) USING lsm;
INSERT INTO h SELECT * FROM gen(1, 2000);
-- lsm: one statement writes four segments of up to 500 rows, a second one a fifth
INSERT INTO l SELECT * FROM gen(1, 1900);
INSERT INTO l SELECT * FROM gen(1901, 2000);
SELECT count(*) AS segments, sum(row_count) AS rows, min(min_rowid), max(max_rowid)
  FROM lsm.segments('l');
-- the same columns with the same collations
SELECT count(*) AS different_columns FROM (
  SELECT attname, atttypid, atttypmod, attcollation FROM pg_attribute WHERE attrelid = 'h'::regclass AND attnum > 0
  EXCEPT
  SELECT attname, atttypid, atttypmod, attcollation FROM pg_attribute WHERE attrelid = 'l'::regclass AND attnum > 0) c;
-- empty tables of the same shape
CREATE TABLE h_empty (LIKE h) USING heap;
CREATE TABLE l_empty (LIKE h) USING lsm;

-- lsm_cmp(q): q names its table {T}; it runs with {T} = h and with {T} = l.
-- heap_rows: the rows heap returns; same: lsm returned the same multiset of
-- rows, compared as text (with ordered => true: in the same order).
CREATE FUNCTION lsm_cmp(q text, ordered boolean DEFAULT false,
                        OUT heap_rows bigint, OUT same boolean)
LANGUAGE plpgsql AS $$
DECLARE
  wrap text := CASE WHEN ordered THEN 'SELECT array_agg(r::text) FROM (%s) r'
                    ELSE 'SELECT array_agg(r::text ORDER BY r::text COLLATE "C") FROM (%s) r' END;
  a text[];
  b text[];
BEGIN
  EXECUTE format(wrap, replace(q, '{T}', 'h')) INTO a;
  EXECUTE format(wrap, replace(q, '{T}', 'l')) INTO b;
  heap_rows := coalesce(cardinality(a), 0);
  same := a IS NOT DISTINCT FROM b;
END $$;

-- checks: the hand-written queries, by section; run_checks shows a section
CREATE TABLE checks (n serial, sect text, q text, ordered boolean DEFAULT false);
CREATE FUNCTION run_checks(s text) RETURNS TABLE (heap_rows bigint, same boolean, q text)
LANGUAGE sql AS $$
  SELECT r.heap_rows, r.same, c.q FROM checks c, lsm_cmp(c.q, c.ordered) r
   WHERE c.sect = s ORDER BY c.n
$$;
-- rerun_checks(skip_sects, skip_q): all sections again but those in
-- skip_sects and the queries that contain skip_q (after DML, compaction,
-- ALTER TABLE); one line per section, then the queries that differ (none
-- expected)
CREATE TABLE rerun (sect text, q text, heap_rows bigint, same boolean);
CREATE FUNCTION rerun_checks(skip_sects text[] DEFAULT '{}', skip_q text DEFAULT '$none$')
RETURNS TABLE (sect text, queries bigint, rows bigint, differ bigint)
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM rerun;
  INSERT INTO rerun SELECT c.sect, c.q, r.heap_rows, r.same
    FROM checks c, lsm_cmp(c.q, c.ordered) r
   WHERE c.sect <> ALL (skip_sects) AND strpos(c.q, skip_q) = 0;
  RETURN QUERY SELECT x.sect, count(*), sum(x.heap_rows)::bigint, count(*) FILTER (WHERE NOT x.same)
    FROM rerun x GROUP BY x.sect ORDER BY x.sect;
END $$;

--
-- 1. The operator matrix: column op constant for every column, every
-- comparison operator, constants taken from the data (values at the edges
-- of blocks 1|2 and segments 1|2, least and greatest value) plus constants
-- beyond the data and special values, also of another type than the column
-- (cross-type operators; these also with the constant on the left).
--
CREATE TABLE mcols (col text, typ text);
INSERT INTO mcols VALUES
  ('g', 'int4'), ('i2', 'int2'), ('i4', 'int4'), ('i8', 'int8'), ('n', 'numeric'),
  ('n2', 'numeric'), ('f4', 'float4'), ('f8', 'float8'), ('d', 'date'),
  ('ts', 'timestamp'), ('tz', 'timestamptz'), ('b', 'bool'), ('t', 'text'),
  ('tc', 'text'), ('ti', 'text'), ('vc', 'varchar'), ('u', 'uuid'),
  ('iv', 'interval'), ('nb', 'int4'), ('nul', 'int4');
CREATE TABLE mconst (col text, ctyp text, val text);
DO $$
DECLARE c record;
BEGIN
  FOR c IN SELECT * FROM mcols LOOP
    EXECUTE format($f$
      INSERT INTO mconst SELECT DISTINCT %1$L, %2$L, v::text FROM (
          SELECT %1$I AS v FROM h WHERE id IN (64, 65, 501)
          UNION ALL (SELECT %1$I FROM h WHERE %1$I IS NOT NULL ORDER BY 1 LIMIT 1)
          UNION ALL (SELECT %1$I FROM h WHERE %1$I IS NOT NULL ORDER BY 1 DESC LIMIT 1)) s
       WHERE v IS NOT NULL$f$, c.col, c.typ);
  END LOOP;
END $$;
INSERT INTO mconst VALUES
  ('g', 'int4', '7'), ('g', 'int8', '-1'),
  ('i2', 'int2', '0'), ('i2', 'int4', '32768'), ('i2', 'int4', '-32769'), ('i2', 'int8', '-9000000000'),
  ('i4', 'int4', '0'), ('i4', 'int8', '2147483648'), ('i4', 'int8', '-2147483649'),
  ('i4', 'int8', '2147483647'), ('i4', 'int2', '-32768'),
  ('i8', 'int8', '0'), ('i8', 'int8', '9223372036854775806'), ('i8', 'int4', '-2147483648'),
  ('i8', 'int2', '32767'),
  ('n', 'numeric', 'NaN'), ('n', 'numeric', '1e101'), ('n', 'numeric', '-1e101'), ('n', 'numeric', '0'),
  ('n', 'numeric', '1.5'), ('n', 'numeric', '1.50000'), ('n', 'numeric', '1e100'), ('n', 'int4', '5'),
  ('n2', 'numeric', '2.0005'), ('n2', 'numeric', '-2000.1'), ('n2', 'numeric', 'NaN'), ('n2', 'int8', '100'),
  ('f4', 'float4', 'NaN'), ('f4', 'float4', 'Infinity'), ('f4', 'float4', '-Infinity'), ('f4', 'float4', '-0'),
  ('f4', 'float4', '0'), ('f4', 'float4', '0.1'), ('f4', 'float4', '1e30'),
  ('f4', 'float8', '0.1'), ('f4', 'float8', '1e300'), ('f4', 'float8', 'NaN'), ('f4', 'float8', '-0'),
  ('f4', 'float8', '1e30'),
  ('f8', 'float8', 'NaN'), ('f8', 'float8', 'Infinity'), ('f8', 'float8', '-Infinity'), ('f8', 'float8', '-0'),
  ('f8', 'float8', '0'), ('f8', 'float8', '1e308'), ('f8', 'float8', '-1e-300'),
  ('f8', 'float4', '0.1'), ('f8', 'float4', 'NaN'), ('f8', 'float4', '-0'),
  ('d', 'date', 'infinity'), ('d', 'date', '-infinity'), ('d', 'date', '2000-01-01'),
  ('d', 'timestamp', '2000-02-10 12:00'), ('d', 'timestamptz', '2000-02-10 12:00+00'),
  ('d', 'timestamptz', 'infinity'),
  ('ts', 'timestamp', 'infinity'), ('ts', 'timestamp', '-infinity'), ('ts', 'timestamp', '2019-12-31'),
  ('ts', 'date', '2020-02-01'), ('ts', 'timestamptz', '2020-02-01 00:00+00'),
  ('tz', 'timestamptz', 'infinity'), ('tz', 'timestamptz', '-infinity'),
  ('tz', 'timestamptz', '2021-03-14 10:00:00+00'), ('tz', 'date', '2021-03-20'),
  ('tz', 'timestamp', '2021-03-20 00:00'),
  ('b', 'bool', 'true'), ('b', 'bool', 'false'),
  ('t', 'text', ''), ('t', 'text', 'a'), ('t', 'text', 'abc'), ('t', 'text', 'B'), ('t', 'text', 'k02000'),
  ('t', 'text', 'zzz'), ('t', 'varchar', 'K'),
  ('tc', 'text', ''), ('tc', 'text', 'a'), ('tc', 'text', 'abc'), ('tc', 'text', 'B'), ('tc', 'text', 'k02000'),
  ('tc', 'text', 'zzz'), ('tc', 'varchar', 'K'),
  ('ti', 'text', ''), ('ti', 'text', 'a'), ('ti', 'text', 'abc'), ('ti', 'text', 'B'), ('ti', 'text', 'k02000'),
  ('ti', 'text', 'zzz'), ('ti', 'varchar', 'K'),
  ('vc', 'varchar', 'v1'), ('vc', 'varchar', 'v10'), ('vc', 'varchar', 'w'), ('vc', 'varchar', ''),
  ('vc', 'text', 'v5'),
  ('u', 'uuid', '00000000-0000-0000-0000-000000000000'), ('u', 'uuid', 'ffffffff-ffff-ffff-ffff-ffffffffffff'),
  ('iv', 'interval', '30 days'), ('iv', 'interval', '1 mon'), ('iv', 'interval', '360 days'),
  ('iv', 'interval', '-5 days'), ('iv', 'interval', '0'), ('iv', 'interval', '1 mon 1 day'),
  ('nb', 'int4', '0'), ('nb', 'int4', '1'), ('nul', 'int4', '1');
CREATE TABLE matrix (m serial, col text, pred text);
INSERT INTO matrix (col, pred)
  SELECT col, pred FROM (
    SELECT c.col, format('%I %s %L::%s', c.col, o.op, c.val, c.ctyp) AS pred
      FROM mconst c, unnest('{<,<=,=,>=,>,<>}'::text[]) o(op)
    UNION ALL
    SELECT c.col, format('%L::%s %s %I', c.val, c.ctyp, o.op, c.col)
      FROM mconst c JOIN mcols USING (col), unnest('{<,>=}'::text[]) o(op)
     WHERE c.ctyp <> mcols.typ) p
  ORDER BY col COLLATE "C", pred COLLATE "C";
-- run_matrix(k, off): the predicates m with m % k = off (k = 1: all); per
-- column: predicates, how many return no row / every row, rows returned in
-- all, and how many differ from heap (compared: the ids, in order); the
-- differing predicates are kept in mres.  (Heap evaluates a column's
-- predicates in one scan, as FILTER clauses; lsm runs each as a WHERE.)
CREATE TABLE mres (col text, pred text, heap_rows bigint, same boolean);
CREATE FUNCTION run_matrix(k int, off int DEFAULT 0)
RETURNS TABLE (col text, predicates bigint, no_rows bigint, all_rows bigint, rows bigint, differ bigint)
LANGUAGE plpgsql AS $$
DECLARE
  total bigint;
  c text;
  preds text[];
  ha text[];
  lb text;
BEGIN
  SELECT count(*) INTO total FROM h;
  DELETE FROM mres;
  FOR c IN SELECT DISTINCT x.col FROM matrix x WHERE x.m % k = off ORDER BY 1 LOOP
    SELECT array_agg(x.pred ORDER BY x.m) INTO preds FROM matrix x WHERE x.col = c AND x.m % k = off;
    EXECUTE 'SELECT ARRAY[' ||
      (SELECT string_agg(format('(array_agg(id ORDER BY id) FILTER (WHERE %s))::text', p), ', ')
         FROM unnest(preds) p) || '] FROM h' INTO ha;
    FOR i IN 1 .. cardinality(preds) LOOP
      EXECUTE 'SELECT (array_agg(id ORDER BY id))::text FROM l WHERE ' || preds[i] INTO lb;
      INSERT INTO mres VALUES (c, preds[i], coalesce(cardinality(ha[i]::int[]), 0),
                               ha[i] IS NOT DISTINCT FROM lb);
    END LOOP;
  END LOOP;
  RETURN QUERY SELECT r.col, count(*), count(*) FILTER (WHERE r.heap_rows = 0),
                      count(*) FILTER (WHERE r.heap_rows = total), sum(r.heap_rows)::bigint,
                      count(*) FILTER (WHERE NOT r.same)
    FROM mres r GROUP BY r.col ORDER BY r.col;
END $$;
SELECT * FROM run_matrix(1);
SELECT pred FROM mres WHERE NOT same;

--
-- 2. Range, list and NULL predicates
--
INSERT INTO checks (sect, q) VALUES
  ('lists', $$SELECT id FROM {T} WHERE i4 BETWEEN -1000000 AND 1000000$$),
  ('lists', $$SELECT id FROM {T} WHERE i4 NOT BETWEEN -1000000 AND 1000000$$),
  ('lists', $$SELECT id FROM {T} WHERE i4 BETWEEN SYMMETRIC 1000000 AND -1000000$$),
  ('lists', $$SELECT id FROM {T} WHERE i4 BETWEEN 1000000 AND -1000000$$),
  ('lists', $$SELECT id FROM {T} WHERE i2 BETWEEN -40000 AND -15000$$),
  ('lists', $$SELECT id FROM {T} WHERE d BETWEEN '2000-03-01' AND '2000-03-31'$$),
  ('lists', $$SELECT id FROM {T} WHERE ts BETWEEN '2020-01-02' AND 'infinity'$$),
  ('lists', $$SELECT id FROM {T} WHERE tz BETWEEN '2021-03-14 09:00:00+00' AND '2021-03-14 11:00:00+00'$$),
  ('lists', $$SELECT id, f8 FROM {T} WHERE f8 BETWEEN -0.0 AND 0.0$$),
  ('lists', $$SELECT id, f8 FROM {T} WHERE f8 BETWEEN 200 AND 'NaN'$$),
  ('lists', $$SELECT id, f4 FROM {T} WHERE f4 BETWEEN '-Infinity' AND -249$$),
  ('lists', $$SELECT id, n FROM {T} WHERE n BETWEEN 1.5 AND 1.5$$),
  ('lists', $$SELECT id FROM {T} WHERE t BETWEEN 'a' AND 'b'$$),
  ('lists', $$SELECT id FROM {T} WHERE tc BETWEEN 'a' AND 'b'$$),
  ('lists', $$SELECT id FROM {T} WHERE ti BETWEEN 'a' AND 'b'$$),
  ('lists', $$SELECT id, iv FROM {T} WHERE iv BETWEEN '29 days 23 hours' AND '30 days'$$),
  ('lists', $$SELECT id FROM {T} WHERE i4 IN (-1998000, 0, 2000, 2147483647, 12345)$$),
  ('lists', $$SELECT id FROM {T} WHERE i4 IN (2000, NULL)$$),
  ('lists', $$SELECT id FROM {T} WHERE i4 NOT IN (2000, NULL)$$),
  ('lists', $$SELECT id FROM {T} WHERE i4 NOT IN (2000, 4000)$$),
  ('lists', $$SELECT id FROM {T} WHERE i4 = ANY ('{2000,4000,-2147483648}')$$),
  ('lists', $$SELECT id FROM {T} WHERE i4 = ANY ('{}'::int4[])$$),
  ('lists', $$SELECT id FROM {T} WHERE i4 <> ALL ('{}'::int4[])$$),
  ('lists', $$SELECT id FROM {T} WHERE i4 = ANY (ARRAY[NULL::int4])$$),
  ('lists', $$SELECT id FROM {T} WHERE i4 = ANY (NULL::int4[])$$),
  ('lists', $$SELECT id FROM {T} WHERE i4 <> ALL ('{2000,4000}')$$),
  ('lists', $$SELECT id FROM {T} WHERE i4 < ANY ('{-1990000,-1980000}')$$),
  ('lists', $$SELECT id FROM {T} WHERE i4 > ALL ('{1990000,-5}')$$),
  ('lists', $$SELECT id FROM {T} WHERE i4 >= ALL ('{1990000,NULL}')$$),
  ('lists', $$SELECT id FROM {T} WHERE i4 = ANY ('{5000000000,2000,-2147483649}'::int8[])$$),
  ('lists', $$SELECT id FROM {T} WHERE i2 IN (32767, -32768, 40000)$$),
  ('lists', $$SELECT id FROM {T} WHERE i8 IN (9223372036854775807, -9223372036854775808)$$),
  ('lists', $$SELECT id, n FROM {T} WHERE n IN (1.5, 'NaN', 1e100)$$),
  ('lists', $$SELECT id, n FROM {T} WHERE n = ANY ('{1.50,-1e100}')$$),
  ('lists', $$SELECT id FROM {T} WHERE n NOT IN (1.5, 'NaN')$$),
  ('lists', $$SELECT id, f4 FROM {T} WHERE f4 IN ('-0', 'NaN', 'Infinity')$$),
  ('lists', $$SELECT id, f8 FROM {T} WHERE f8 = ANY ('{NaN,-0,-Infinity}')$$),
  ('lists', $$SELECT id FROM {T} WHERE f8 <> ALL ('{NaN,0}')$$),
  ('lists', $$SELECT id FROM {T} WHERE f4 = ANY ('{0.1,0.25}'::float8[])$$),
  ('lists', $$SELECT id FROM {T} WHERE d IN ('infinity', '2000-01-05', '2000-01-06')$$),
  ('lists', $$SELECT id FROM {T} WHERE d = ANY ('{2000-02-01 00:00:00}'::timestamp[])$$),
  ('lists', $$SELECT id FROM {T} WHERE tz = ANY (ARRAY['infinity'::timestamptz, '2021-03-14 01:17:00+00'])$$),
  ('lists', $$SELECT id FROM {T} WHERE t IN ('Abc', 'abc', '')$$),
  ('lists', $$SELECT id FROM {T} WHERE tc = ANY ('{a b,a-b,é}')$$),
  ('lists', $$SELECT id FROM {T} WHERE ti IN ('ABC', 'Z')$$),
  ('lists', $$SELECT id FROM {T} WHERE vc IN ('v1', 'v199')$$),
  ('lists', $$SELECT id FROM {T} WHERE u IN (md5('5')::uuid, md5('1999')::uuid)$$),
  ('lists', $$SELECT id, iv FROM {T} WHERE iv IN ('30 days', '1 year')$$),
  ('lists', $$SELECT id FROM {T} WHERE grp IN ('alpha', 'Epsilon')$$),
  ('lists', $$SELECT id FROM {T} WHERE b IN (true)$$),
  ('lists', $$SELECT id FROM {T} WHERE g = ANY ('{1,3}') AND grp = ANY ('{beta,delta}')$$),
  ('nulls', $$SELECT id FROM {T} WHERE nb IS NULL$$),
  ('nulls', $$SELECT id FROM {T} WHERE nb IS NOT NULL$$),
  ('nulls', $$SELECT id FROM {T} WHERE nul IS NULL$$),
  ('nulls', $$SELECT id FROM {T} WHERE nul IS NOT NULL$$),
  ('nulls', $$SELECT id FROM {T} WHERE n2 IS NULL$$),
  ('nulls', $$SELECT id FROM {T} WHERE t IS NULL OR f8 IS NULL$$),
  ('nulls', $$SELECT id FROM {T} WHERE nb IS NULL AND i4 > 0$$),
  ('nulls', $$SELECT id FROM {T} WHERE nb IS DISTINCT FROM 100$$),
  ('nulls', $$SELECT id FROM {T} WHERE nb IS NOT DISTINCT FROM NULL$$),
  ('nulls', $$SELECT id FROM {T} WHERE i4 IS NOT DISTINCT FROM 2000$$),
  ('nulls', $$SELECT id FROM {T} WHERE (i4, nb) IS NULL$$),
  ('nulls', $$SELECT id FROM {T} WHERE (i4, nb) IS NOT NULL$$),
  ('nulls', $$SELECT id FROM {T} WHERE b IS TRUE$$),
  ('nulls', $$SELECT id FROM {T} WHERE b IS NOT TRUE$$),
  ('nulls', $$SELECT id FROM {T} WHERE b IS FALSE$$),
  ('nulls', $$SELECT id FROM {T} WHERE b IS NOT FALSE$$),
  ('nulls', $$SELECT id FROM {T} WHERE b IS UNKNOWN$$),
  ('nulls', $$SELECT id FROM {T} WHERE b IS NOT UNKNOWN$$),
  ('nulls', $$SELECT id FROM {T} WHERE b$$),
  ('nulls', $$SELECT id FROM {T} WHERE NOT b$$),
  ('nulls', $$SELECT id FROM {T} WHERE b = (i4 > 0)$$),
  ('nulls', $$SELECT id FROM {T} WHERE i4 < NULL$$),
  ('nulls', $$SELECT id FROM {T} WHERE i4 = NULL::int8$$),
  ('nulls', $$SELECT id FROM {T} WHERE t = NULL$$),
  ('nulls', $$SELECT id FROM {T} WHERE i4 BETWEEN NULL AND 5$$),
  ('nulls', $$SELECT id FROM {T} WHERE i4 > 0 OR NULL$$),
  ('nulls', $$SELECT id FROM {T} WHERE NOT (i4 > 0 AND NULL)$$),
  ('nulls', $$SELECT id FROM {T} WHERE coalesce(nb, -1) < 0$$),
  ('nulls', $$SELECT id FROM {T} WHERE nullif(i4, 1000) IS NULL$$);
SELECT * FROM run_checks('lists');
SELECT * FROM run_checks('nulls');

--
-- 3. AND / OR / NOT, LIKE, collations, expressions on columns, constants
-- beyond the data
--
INSERT INTO checks (sect, q) VALUES
  ('bool', $$SELECT id FROM {T} WHERE i4 < -1990000 OR i4 > 1990000$$),
  ('bool', $$SELECT id FROM {T} WHERE i4 > 0 AND d < '2005-01-01'$$),
  ('bool', $$SELECT id FROM {T} WHERE (i4 < 0 OR f8 > 0) AND NOT (grp = 'beta' OR b)$$),
  ('bool', $$SELECT id FROM {T} WHERE NOT (i4 >= -1000000)$$),
  ('bool', $$SELECT id FROM {T} WHERE NOT (i4 >= -1000000 AND i4 <= 1000000)$$),
  ('bool', $$SELECT id FROM {T} WHERE NOT (i4 < -1000000 OR i4 > 1000000)$$),
  ('bool', $$SELECT id FROM {T} WHERE i4 > 1000000 AND i4 < -1000000$$),
  ('bool', $$SELECT id FROM {T} WHERE (i2 > 0 AND i4 < 0) OR (i8 > 0 AND nb IS NULL)$$),
  ('bool', $$SELECT id FROM {T} WHERE i4 > 0 AND (t LIKE 'k%' OR t IS NULL)$$),
  ('bool', $$SELECT id FROM {T} WHERE nb = 5 OR nb IS NULL$$),
  ('bool', $$SELECT id FROM {T} WHERE NOT (nb <> 5)$$),
  ('bool', $$SELECT id FROM {T} WHERE (f8 > 0) IS NOT TRUE$$),
  ('bool', $$SELECT id FROM {T} WHERE CASE WHEN i4 > 0 THEN f8 > 0 ELSE f8 < 0 END$$),
  ('bool', $$SELECT id FROM {T} WHERE i4 > 1900000 OR d > '2005-05-01' OR f4 = 'NaN' OR t = 'é'$$),
  ('bool', $$SELECT id FROM {T} WHERE d >= '2000-06-01' AND d < '2000-07-01' AND tz > '2021-03-15' AND i8 < 0$$),
  ('bool', $$SELECT id FROM {T} WHERE (nb IS NULL) = (n2 IS NULL)$$),
  ('like', $$SELECT id FROM {T} WHERE t LIKE 'k0%'$$),
  ('like', $$SELECT id FROM {T} WHERE tc LIKE 'K%'$$),
  ('like', $$SELECT id FROM {T} WHERE t NOT LIKE '%1%'$$),
  ('like', $$SELECT id FROM {T} WHERE t ILIKE 'abc'$$),
  ('like', $$SELECT id FROM {T} WHERE t ~ '^[ab]'$$),
  ('like', $$SELECT id FROM {T} WHERE vc LIKE 'v1_'$$),
  ('like', $$SELECT id FROM {T} WHERE t LIKE 'long%'$$),
  ('like', $$SELECT id FROM {T} WHERE t SIMILAR TO 'm0%'$$),
  ('like', $$SELECT id FROM {T} WHERE t LIKE ''$$),
  ('like', $$SELECT id FROM {T} WHERE t ^@ 'k'$$),
  ('like', $$SELECT id FROM {T} WHERE tc LIKE 'a%' OR ti LIKE 'A%'$$),
  ('collate', $$SELECT id FROM {T} WHERE t < 'a' COLLATE "C"$$),
  ('collate', $$SELECT id FROM {T} WHERE ti < 'b'$$),
  ('collate', $$SELECT id FROM {T} WHERE ti < 'b' COLLATE "C"$$),
  ('collate', $$SELECT id FROM {T} WHERE tc < 'b' COLLATE "en-x-icu"$$),
  ('collate', $$SELECT id FROM {T} WHERE tc COLLATE "en-x-icu" BETWEEN 'a' AND 'c'$$),
  ('collate', $$SELECT id FROM {T} WHERE ti > 'Z'$$),
  ('collate', $$SELECT id FROM {T} WHERE ti > 'Z' COLLATE "C"$$),
  ('collate', $$SELECT id FROM {T} WHERE t = 'ABC' COLLATE "en-x-icu"$$),
  ('collate', $$SELECT id FROM {T} WHERE ti IN ('abc', 'B') OR tc > 'l'$$),
  ('expr', $$SELECT id FROM {T} WHERE i4 / 2 > 500000$$),
  ('expr', $$SELECT id FROM {T} WHERE i4::int8 * -1 < -1990000$$),
  ('expr', $$SELECT id FROM {T} WHERE i4 % 3000 <> 0$$),
  ('expr', $$SELECT id FROM {T} WHERE abs(f8) < 1$$),
  ('expr', $$SELECT id FROM {T} WHERE f8 * 0 = 0$$),
  ('expr', $$SELECT id FROM {T} WHERE i4::numeric < 5.5$$),
  ('expr', $$SELECT id FROM {T} WHERE i4 < 5.5$$),
  ('expr', $$SELECT id FROM {T} WHERE i8 > 1.5e18$$),
  ('expr', $$SELECT id FROM {T} WHERE i2 = 16.0$$),
  ('expr', $$SELECT id FROM {T} WHERE f4 < 0.1$$),
  ('expr', $$SELECT id FROM {T} WHERE n::float8 > 1e50$$),
  ('expr', $$SELECT id FROM {T} WHERE round(n) = 1$$),
  ('expr', $$SELECT id FROM {T} WHERE n > 10$$),
  ('expr', $$SELECT id FROM {T} WHERE n2 < 0.5$$),
  ('expr', $$SELECT id FROM {T} WHERE lower(t) = 'abc'$$),
  ('expr', $$SELECT id FROM {T} WHERE length(t) > 10$$),
  ('expr', $$SELECT id FROM {T} WHERE d + 30 < '2000-03-01'$$),
  ('expr', $$SELECT id FROM {T} WHERE date_trunc('day', ts) = '2020-01-02'$$),
  ('expr', $$SELECT id FROM {T} WHERE extract(hour FROM tz) = 3$$),
  ('expr', $$SELECT id FROM {T} WHERE tz::date = '2021-03-15'$$),
  ('expr', $$SELECT id FROM {T} WHERE vc::text > 'v5'$$),
  ('expr', $$SELECT id FROM {T} WHERE u::text LIKE 'a%'$$),
  ('expr', $$SELECT id FROM {T} WHERE iv > '1 mon'::interval - '1 day'$$),
  ('expr', $$SELECT id FROM {T} WHERE i4 < i8$$),
  ('expr', $$SELECT id FROM {T} WHERE i2 % 7 = g$$),
  ('expr', $$SELECT id FROM {T} WHERE d::timestamp < ts$$),
  ('expr', $$SELECT id FROM {T} WHERE t = tc$$),
  ('expr', $$SELECT id FROM {T} WHERE f4 < f8$$),
  ('expr', $$SELECT id FROM {T} WHERE i4 > (SELECT 1000000)$$),
  ('expr', $$SELECT id FROM {T} WHERE i4 > (SELECT max(i4) / 2 FROM {T} WHERE i4 < 2000000000)$$),
  ('expr', $$SELECT id FROM {T} WHERE i4 = ANY (SELECT i4 FROM {T} WHERE id % 100 = 0)$$),
  ('expr', $$SELECT id FROM {T} WHERE d < current_date$$),
  ('expr', $$SELECT id FROM {T} WHERE tz < statement_timestamp()$$),
  ('expr', $$SELECT id FROM {T} WHERE i4 > 0 AND random() >= 0$$),
  ('expr', $$SELECT id, i4::int8 * 2, f8 / 2, upper(t), d - 1, iv * 2, n * 2 FROM {T} WHERE i4 > 1500000$$),
  ('edges', $$SELECT id FROM {T} WHERE i2 > 32766$$),
  ('edges', $$SELECT id FROM {T} WHERE i2 >= 32767$$),
  ('edges', $$SELECT id FROM {T} WHERE i2 < -32767$$),
  ('edges', $$SELECT id FROM {T} WHERE i2 <= -32768$$),
  ('edges', $$SELECT id FROM {T} WHERE i4 > 2147483646$$),
  ('edges', $$SELECT id FROM {T} WHERE i4 < -2147483647$$),
  ('edges', $$SELECT id FROM {T} WHERE i8 >= 9223372036854775807$$),
  ('edges', $$SELECT id FROM {T} WHERE i8 < -9223372036854775807$$),
  ('edges', $$SELECT id FROM {T} WHERE i8 > 9223372036854775807::numeric$$),
  ('edges', $$SELECT id FROM {T} WHERE d > '5874897-12-31'$$),
  ('edges', $$SELECT id FROM {T} WHERE d < '4713-01-01 BC'$$),
  ('edges', $$SELECT id FROM {T} WHERE ts > '294276-12-31 23:59:59'$$),
  ('edges', $$SELECT id FROM {T} WHERE tz < '-infinity'$$),
  ('edges', $$SELECT id FROM {T} WHERE tz <= '-infinity'$$),
  ('edges', $$SELECT id FROM {T} WHERE f8 > 'Infinity'$$),
  ('edges', $$SELECT id FROM {T} WHERE f8 >= 'NaN'$$),
  ('edges', $$SELECT id FROM {T} WHERE f8 < '-Infinity'$$),
  ('edges', $$SELECT id FROM {T} WHERE f8 > 1e299 AND f8 < 'Infinity'$$),
  ('edges', $$SELECT id FROM {T} WHERE f4 > 3.4e38$$),
  ('edges', $$SELECT id FROM {T} WHERE f4 < -3.4e38$$),
  ('edges', $$SELECT id FROM {T} WHERE n > 'NaN'$$),
  ('edges', $$SELECT id FROM {T} WHERE n < -1e100$$),
  ('edges', $$SELECT id FROM {T} WHERE n <= -1e100$$),
  ('edges', $$SELECT id FROM {T} WHERE n > 9e99 AND n <> 'NaN'$$),
  ('edges', $$SELECT id FROM {T} WHERE n > 0 AND n < 0.000000000002$$),
  ('edges', $$SELECT id FROM {T} WHERE t > repeat('long', 999)$$),
  ('edges', $$SELECT id FROM {T} WHERE t >= repeat('long', 1000)$$),
  ('edges', $$SELECT id FROM {T} WHERE t < ''$$),
  ('edges', $$SELECT id FROM {T} WHERE t <= ''$$),
  ('edges', $$SELECT id FROM {T} WHERE u > 'ffffffff-ffff-ffff-ffff-fffffffffffe'$$),
  ('edges', $$SELECT id FROM {T} WHERE iv < '-178000000 years'$$);
SELECT * FROM run_checks('bool');
SELECT * FROM run_checks('like');
SELECT * FROM run_checks('collate');
SELECT * FROM run_checks('expr');
SELECT * FROM run_checks('edges');

--
-- 4. Whole rows, system columns, DISTINCT / ORDER BY / LIMIT, joins and
-- rescans of the lsm table with changing parameters, the empty tables
--
INSERT INTO checks (sect, q, ordered) VALUES
  ('rows', $$SELECT x FROM {T} x WHERE id % 50 = 0$$, false),
  ('rows', $$SELECT x.* FROM {T} x$$, false),
  ('rows', $$SELECT row_to_json(x) FROM {T} x WHERE i4 > 1900000$$, false),
  ('rows', $$SELECT to_jsonb(x) - 'id' FROM {T} x WHERE i4 < -1990000 OR f8 = 'NaN'$$, false),
  ('rows', $$SELECT (x).t, (x).f8 FROM {T} x WHERE x IS NOT NULL$$, false),
  ('rows', $$SELECT id FROM {T} x WHERE x IS DISTINCT FROM NULL AND x::text LIKE '%Epsilon%'$$, false),
  ('rows', $$SELECT id, tableoid = '{T}'::regclass FROM {T} WHERE id < 5 OR i4 IS NULL$$, false),
  ('rows', $$SELECT count(DISTINCT ctid) = count(*) FROM {T} WHERE nb > 0$$, false),
  ('rows', $$SELECT a.id, b.id FROM {T} a JOIN {T} b ON a.ctid = b.ctid WHERE a.i4 > 1900000 OR a.f8 = 'NaN'$$, false),
  ('rows', $$SELECT x.id FROM {T} x WHERE x.ctid = (SELECT y.ctid FROM {T} y WHERE y.id = x.id) AND x.i4 < -1990000$$, false),
  ('rows', $$SELECT id, i4 FROM {T} WHERE i4 > 1900000 OR (nb IS NULL AND id < 70) FOR SHARE$$, false),
  ('rows', $$SELECT id FROM {T} WHERE i4 < -1990000 UNION ALL SELECT id FROM {T} WHERE d > '2005-06-01' UNION SELECT id FROM {T} WHERE t = 'é'$$, false),
  ('rows', $$SELECT DISTINCT grp, g FROM {T} WHERE i4 > 0$$, false),
  ('rows', $$SELECT count(*) FROM (SELECT DISTINCT iv FROM {T} WHERE iv >= '1 mon') s$$, false),
  ('rows', $$SELECT id, t FROM {T} WHERE t IS NOT NULL ORDER BY t COLLATE "C" DESC, id LIMIT 7$$, true),
  ('rows', $$SELECT id, ti FROM {T} WHERE ti IS NOT NULL ORDER BY ti, id LIMIT 7$$, true),
  ('rows', $$SELECT id, f8 FROM {T} ORDER BY f8 DESC NULLS LAST, id LIMIT 6$$, true),
  ('rows', $$SELECT id, f4 FROM {T} ORDER BY f4 NULLS FIRST, id LIMIT 50$$, true),
  ('rows', $$SELECT id, n FROM {T} WHERE n > 1 ORDER BY n DESC, id LIMIT 5 OFFSET 1$$, true),
  ('rows', $$SELECT id FROM {T} WHERE i4 > 0 ORDER BY i8 DESC NULLS LAST, id LIMIT 3$$, true),
  ('rows', $$SELECT id FROM {T} ORDER BY d DESC NULLS FIRST, id FETCH FIRST 3 ROWS WITH TIES$$, true),
  ('join', $$SELECT v, (SELECT count(*) FROM {T} WHERE i4 < v) FROM generate_series(-2000000, 2000000, 250000) v$$, false),
  ('join', $$SELECT v, (SELECT max(id) FROM {T} WHERE d = v) FROM generate_series(date '1999-12-30', date '2000-01-20', interval '1 day') v$$, false),
  ('join', $$SELECT v, x.id FROM generate_series(0, 2000, 150) v, LATERAL (SELECT id FROM {T} WHERE id > v AND i4 IS NOT NULL ORDER BY id LIMIT 2) x$$, false),
  ('join', $$SELECT v, x.* FROM unnest('{NaN,Infinity,-0,1e300,0.125}'::float8[]) v, LATERAL (SELECT count(*), min(id) FROM {T} WHERE f8 = v) x$$, false),
  ('join', $$SELECT v, x.* FROM unnest('{a,abc,k02000,z}'::text[]) v, LATERAL (SELECT count(*) FROM {T} WHERE ti < v) x$$, false),
  ('join', $$SELECT s.v FROM generate_series(-1998000, 2000000, 149000) s(v) WHERE EXISTS (SELECT 1 FROM {T} WHERE i4 = s.v)$$, false),
  ('join', $$SELECT s.v FROM generate_series(-1998000, 2000000, 149000) s(v) WHERE NOT EXISTS (SELECT 1 FROM {T} WHERE i4 = s.v)$$, false),
  ('join', $$SELECT a.id, b.id FROM {T} a JOIN {T} b ON a.i4 = b.i4 + 1000 WHERE a.id < 30 AND b.id < 30$$, false),
  ('join', $$SELECT a.id, b.id FROM {T} a LEFT JOIN {T} b ON b.i4 = a.i4 AND b.id <> a.id WHERE a.id < 20$$, false),
  ('join', $$SELECT count(*) FROM {T} a JOIN {T} b ON a.grp = b.grp AND a.g = b.g WHERE a.id < 20 AND b.id < 200$$, false),
  ('empty', $$SELECT * FROM {T}_empty$$, false),
  ('empty', $$SELECT id FROM {T}_empty WHERE i4 > 0 OR nb IS NULL$$, false),
  ('empty', $$SELECT x FROM {T}_empty x ORDER BY id LIMIT 1$$, true),
  ('empty', $$SELECT v, (SELECT count(*) FROM {T}_empty WHERE i4 < v) FROM generate_series(1, 3) v$$, false);
SELECT * FROM run_checks('rows');
-- rescans: correlated subqueries, LATERAL, EXISTS, also as nested loops
SELECT * FROM run_checks('join');
SET enable_hashjoin = off;
SET enable_mergejoin = off;
SET enable_material = off;
SET enable_memoize = off;
SELECT * FROM run_checks('join');
RESET enable_hashjoin;
RESET enable_mergejoin;
RESET enable_material;
RESET enable_memoize;
SELECT * FROM run_checks('empty');


--
-- 5. Parameters: prepared statements (the plan cache switches to a generic
-- plan after five executions, so later executions see Params, not
-- constants), cross-type and array parameters, NULL parameters, SQL and
-- PL/pgSQL functions, forced generic plans.  Each statement reads h and l
-- with the same parameters.
--
PREPARE p_range(int8, int8) AS
  SELECT (SELECT array_agg(id ORDER BY id) FROM h WHERE i4 BETWEEN $1 AND $2) IS NOT DISTINCT FROM
         (SELECT array_agg(id ORDER BY id) FROM l WHERE i4 BETWEEN $1 AND $2) AS same,
         (SELECT count(*) FROM h WHERE i4 BETWEEN $1 AND $2) AS heap_rows;
EXECUTE p_range(-2000000, -1990000);
EXECUTE p_range(0, 5000);
EXECUTE p_range(1999000, 3000000000);
EXECUTE p_range(-3000000000, -2000000000);
EXECUTE p_range(2147483647, 2147483648);
EXECUTE p_range(NULL, 5);
EXECUTE p_range(500000, 400000);
EXECUTE p_range(-9223372036854775808, 9223372036854775807);
PREPARE p_mixed(float8, numeric, text, timestamptz, interval) AS
  SELECT (SELECT array_agg(id ORDER BY id) FROM h WHERE f4 < $1 AND (n >= $2 OR t > $3) AND d < $4 AND iv <= $5) IS NOT DISTINCT FROM
         (SELECT array_agg(id ORDER BY id) FROM l WHERE f4 < $1 AND (n >= $2 OR t > $3) AND d < $4 AND iv <= $5) AS same,
         (SELECT count(*) FROM h WHERE f4 < $1 AND (n >= $2 OR t > $3) AND d < $4 AND iv <= $5) AS heap_rows;
EXECUTE p_mixed(0, 0, 'k', '2005-01-01', '20 days');
EXECUTE p_mixed('Infinity', 'NaN', 'm', 'infinity', '1 year');
EXECUTE p_mixed('NaN', -1e100, '', '2000-06-01 12:00+00', '30 days');
EXECUTE p_mixed(-0.0, 1.5, 'é', '2011-01-01', '1 mon');
EXECUTE p_mixed(0.1, 1e100, NULL, '2003-01-01', '49 days');
EXECUTE p_mixed(100, 0, 'Z', '2002-02-02', '10 days');
EXECUTE p_mixed(-250, -71, 'a', '2001-01-01', '45 days');
PREPARE p_any(int4[], text[], float8[]) AS
  SELECT (SELECT array_agg(id ORDER BY id) FROM h WHERE i4 = ANY ($1) OR tc = ANY ($2) OR f8 = ANY ($3)) IS NOT DISTINCT FROM
         (SELECT array_agg(id ORDER BY id) FROM l WHERE i4 = ANY ($1) OR tc = ANY ($2) OR f8 = ANY ($3)) AS same,
         (SELECT count(*) FROM h WHERE i4 = ANY ($1) OR tc = ANY ($2) OR f8 = ANY ($3)) AS heap_rows;
EXECUTE p_any('{2000,4000}', '{Abc}', '{NaN}');
EXECUTE p_any('{}', '{}', '{-0}');
EXECUTE p_any(NULL, NULL, NULL);
EXECUTE p_any('{NULL,-2147483648}', '{NULL,é}', '{NULL,Infinity,-Infinity}');
EXECUTE p_any('{2147483647}', '{a b}', '{1e300}');
EXECUTE p_any('{-1998000,-1996000,-1995000}', '{"",Z}', '{0.125,-0.125}');
EXECUTE p_any('{3000}', '{k00001}', '{250}');
-- forced generic plans (for p_is from its first execution on)
SET plan_cache_mode = force_generic_plan;
EXECUTE p_range(-1000, 1000000);
EXECUTE p_mixed(50, 10, 'K', '2009-09-09', '3 days');
EXECUTE p_any('{6000,-6000}', '{b,B}', '{-250}');
PREPARE p_is(bool, int4) AS
  SELECT (SELECT array_agg(id ORDER BY id) FROM h WHERE b = $1 AND (nb > $2 OR nb IS NULL)) IS NOT DISTINCT FROM
         (SELECT array_agg(id ORDER BY id) FROM l WHERE b = $1 AND (nb > $2 OR nb IS NULL)) AS same,
         (SELECT count(*) FROM h WHERE b = $1 AND (nb > $2 OR nb IS NULL)) AS heap_rows;
EXECUTE p_is(true, 1500);
EXECUTE p_is(false, NULL);
RESET plan_cache_mode;
SELECT name, generic_plans > 0 AS used_generic_plan FROM pg_prepared_statements ORDER BY name;
DEALLOCATE ALL;

-- PL/pgSQL (cached plans, generic after five calls) and SQL functions
CREATE FUNCTION plpgsql_same(lo int8, hi int8, tlo text, fmax float8) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE a int[]; b int[];
BEGIN
  SELECT array_agg(id ORDER BY id) INTO a FROM h WHERE i4 BETWEEN lo AND hi AND (t >= tlo OR f8 < fmax);
  SELECT array_agg(id ORDER BY id) INTO b FROM l WHERE i4 BETWEEN lo AND hi AND (t >= tlo OR f8 < fmax);
  RETURN a IS NOT DISTINCT FROM b;
END $$;
SELECT count(*) AS calls, count(*) FILTER (WHERE plpgsql_same(v * 100000, v * 100000 + 300000,
                                          (ARRAY['a', 'k', 'm', NULL])[v % 4 + 1], v * 10.0)) AS same
  FROM generate_series(-25, 25) v;
-- a SQL function with a SET clause is not inlined: its query runs with Params
CREATE FUNCTION sql_ids_h(lo int4, d0 date) RETURNS int[] LANGUAGE sql STABLE SET enable_seqscan = on
  AS $$ SELECT array_agg(id ORDER BY id) FROM h WHERE i4 > lo AND d >= d0 $$;
CREATE FUNCTION sql_ids_l(lo int4, d0 date) RETURNS int[] LANGUAGE sql STABLE SET enable_seqscan = on
  AS $$ SELECT array_agg(id ORDER BY id) FROM l WHERE i4 > lo AND d >= d0 $$;
SELECT count(*) AS calls,
       count(*) FILTER (WHERE sql_ids_h(v * 100000, date '2000-01-01' + v * 150) IS NOT DISTINCT FROM
                              sql_ids_l(v * 100000, date '2000-01-01' + v * 150)) AS same
  FROM generate_series(-21, 21) v;
-- a set-returning SQL function is inlined: its arguments become lateral references
CREATE FUNCTION srf_ids(tab regclass, lo int4, hi int4) RETURNS SETOF int LANGUAGE sql STABLE
  AS $$ SELECT id FROM l WHERE tab = 'l'::regclass AND i4 BETWEEN lo AND hi
        UNION ALL SELECT id FROM h WHERE tab = 'h'::regclass AND i4 BETWEEN lo AND hi $$;
SELECT * FROM lsm_cmp($$SELECT v, x FROM generate_series(-2000000, 2000000, 400000) v, srf_ids('{T}', v, v + 50000) x$$);

--
-- 6. Scrollable cursors over filtered scans: forward, backward, MOVE,
-- absolute and relative positioning, for h and l alike
--
CREATE FUNCTION cursor_walk(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE c refcursor; r record; res text := '';
BEGIN
  OPEN c SCROLL FOR EXECUTE q;
  LOOP FETCH NEXT FROM c INTO r; EXIT WHEN NOT FOUND; res := res || r.id || ','; END LOOP;
  res := res || '|';
  LOOP FETCH PRIOR FROM c INTO r; EXIT WHEN NOT FOUND; res := res || r.id || ','; END LOOP;
  MOVE ABSOLUTE 3 FROM c;
  FETCH RELATIVE 2 FROM c INTO r; res := res || '|' || coalesce(r.id::text, '-');
  FETCH ABSOLUTE -2 FROM c INTO r; res := res || '|' || coalesce(r.id::text, '-');
  MOVE BACKWARD 4 FROM c;
  FETCH PRIOR FROM c INTO r; res := res || '|' || coalesce(r.id::text, '-');
  MOVE LAST FROM c;
  FETCH NEXT FROM c INTO r; res := res || '|' || coalesce(r.id::text, '-');
  FETCH PRIOR FROM c INTO r; res := res || '|' || coalesce(r.id::text, '-');
  CLOSE c;
  RETURN res;
END $$;
CREATE TABLE cursor_q (q text);
INSERT INTO cursor_q VALUES
  ($$SELECT id FROM {T} WHERE i4 < -1900000 OR i4 > 1900000$$),
  ($$SELECT id FROM {T} WHERE nb IS NULL AND f8 > 0$$),
  ($$SELECT id FROM {T} WHERE ti >= 'm' AND d < '2010-01-01'$$),
  ($$SELECT id FROM {T} WHERE f8 = 'NaN' OR f4 = '-0'$$),
  ($$SELECT id FROM {T} WHERE i4 > 2147483647$$);
CREATE FUNCTION cursor_cmp() RETURNS TABLE (q text, rows int, same boolean) LANGUAGE sql AS $$
  SELECT c.q, length(regexp_replace(split_part(cursor_walk(replace(c.q, '{T}', 'h')), '|', 1), '[^,]', '', 'g')),
         cursor_walk(replace(c.q, '{T}', 'h')) = cursor_walk(replace(c.q, '{T}', 'l'))
    FROM cursor_q c
$$;
SELECT * FROM cursor_cmp();
-- the same by hand on l: ids 1, 2, 3, 4, 1501, 1502, 1998, 1999, 2000
BEGIN;
DECLARE cl SCROLL CURSOR FOR SELECT id, i4 FROM l WHERE i4 < -1990000 OR i4 > 1995000;
FETCH 3 FROM cl;
FETCH LAST FROM cl;
FETCH BACKWARD 2 FROM cl;
MOVE ABSOLUTE 9 IN cl;
FETCH NEXT FROM cl;
FETCH RELATIVE -9 FROM cl;
FETCH PRIOR FROM cl;
COMMIT;

--
-- 7. Rows of the current transaction: 1200 rows inserted (two own segments
-- written at 500 rows each, 200 rows still buffered), own UPDATE and DELETE of
-- committed and of own rows, a savepoint rolled back and one released
--
BEGIN;
INSERT INTO h SELECT * FROM gen(2001, 3200);
INSERT INTO l SELECT * FROM gen(2001, 3200);
SELECT buffered_rows FROM lsm.stats('l');
UPDATE h SET i4 = i4 + 1, f8 = -f8, t = upper(t), nb = NULL WHERE id % 10 = 3 AND id > 1500;
UPDATE l SET i4 = i4 + 1, f8 = -f8, t = upper(t), nb = NULL WHERE id % 10 = 3 AND id > 1500;
DELETE FROM h WHERE id BETWEEN 2400 AND 2450 OR id BETWEEN 1950 AND 1960 OR id > 3190;
DELETE FROM l WHERE id BETWEEN 2400 AND 2450 OR id BETWEEN 1950 AND 1960 OR id > 3190;
SELECT * FROM rerun_checks('{join,rows}');
SELECT sect, q FROM rerun WHERE NOT same;
SELECT * FROM run_matrix(12, 1);
SELECT pred FROM mres WHERE NOT same;
SAVEPOINT s1;
INSERT INTO h SELECT * FROM gen(6001, 6100);
INSERT INTO l SELECT * FROM gen(6001, 6100);
DELETE FROM h WHERE id BETWEEN 1 AND 100;
DELETE FROM l WHERE id BETWEEN 1 AND 100;
SELECT * FROM run_checks('lists') WHERE NOT same;
ROLLBACK TO SAVEPOINT s1;
SAVEPOINT s2;
UPDATE h SET i8 = -i8 WHERE id BETWEEN 2500 AND 2600;
UPDATE l SET i8 = -i8 WHERE id BETWEEN 2500 AND 2600;
RELEASE SAVEPOINT s2;
SELECT count(*), sum(id) FROM l;
SELECT * FROM lsm_cmp('SELECT x FROM {T} x');
SELECT * FROM run_checks('edges') WHERE NOT same;
ROLLBACK;
SELECT count(*), sum(id) FROM l;

--
-- 8. Committed DELETE and UPDATE: all of segment 2 (rows 501..1000),
-- every 17th row, the rows that hold the extremes (zone maps of their
-- blocks still name the deleted values), and UPDATEs that move values
-- into a new segment beyond the old ranges or to NULL
--
DELETE FROM h WHERE id BETWEEN 501 AND 1000;
DELETE FROM l WHERE id BETWEEN 501 AND 1000;
DELETE FROM h WHERE id % 17 = 0 OR id IN (18, 1501, 1235, 201, 101, 300, 311, 320, 403);
DELETE FROM l WHERE id % 17 = 0 OR id IN (18, 1501, 1235, 201, 101, 300, 311, 320, 403);
UPDATE h SET i4 = i4 + 7, f8 = -f8, t = t || '!', d = d + 1000, n2 = n2 * 2, iv = iv * 2 WHERE id % 13 = 0;
UPDATE l SET i4 = i4 + 7, f8 = -f8, t = t || '!', d = d + 1000, n2 = n2 * 2, iv = iv * 2 WHERE id % 13 = 0;
UPDATE h SET i2 = 32767, i4 = NULL, f4 = 'Infinity' WHERE id = 1999;
UPDATE l SET i2 = 32767, i4 = NULL, f4 = 'Infinity' WHERE id = 1999;
UPDATE h SET nb = -id WHERE id BETWEEN 1 AND 40;
UPDATE l SET nb = -id WHERE id BETWEEN 1 AND 40;
SELECT count(*), sum(id) FROM l;
SELECT * FROM rerun_checks();
SELECT sect, q FROM rerun WHERE NOT same;
SELECT * FROM run_matrix(12, 2);
SELECT pred FROM mres WHERE NOT same;

-- after a compaction pass (segment 2 disappears; the others are rewritten
-- or relocated with a delete map) and after a full compaction
SELECT rows_out <= rows_in AS compacted FROM lsm.compact('l');
SELECT count(*), sum(id) FROM l;
SELECT * FROM rerun_checks('{join}');
SELECT sect, q FROM rerun WHERE NOT same;
SELECT * FROM run_matrix(12, 3);
SELECT pred FROM mres WHERE NOT same;
SELECT rows_out FROM lsm.compact('l', true);
SELECT sum(row_count) AS rows, sum(deleted_count) AS deleted FROM lsm.segments('l');
SELECT * FROM rerun_checks('{join,like,collate,bool,expr}');
SELECT sect, q FROM rerun WHERE NOT same;
SELECT * FROM run_matrix(12, 4);
SELECT pred FROM mres WHERE NOT same;

--
-- 9. Schema changes after loading: ADD COLUMN with a constant default
-- (old rows read the attmissingval: zone maps of old segments have no such
-- column), with a non-constant default evaluated once (now()), without
-- default; DROP COLUMN; ALTER TYPE varchar(12) -> varchar(30) (no rewrite)
--
BEGIN;
ALTER TABLE h ADD COLUMN c_def int4 DEFAULT 42, ADD COLUMN c_txt text DEFAULT 'dflt',
  ADD COLUMN c_ts timestamptz DEFAULT now(), ADD COLUMN c_null int4, ADD COLUMN c_f8 float8 DEFAULT '-0';
ALTER TABLE l ADD COLUMN c_def int4 DEFAULT 42, ADD COLUMN c_txt text DEFAULT 'dflt',
  ADD COLUMN c_ts timestamptz DEFAULT now(), ADD COLUMN c_null int4, ADD COLUMN c_f8 float8 DEFAULT '-0';
COMMIT;
SELECT * FROM lsm_cmp('SELECT c_ts = (SELECT min(c_ts) FROM {T}) FROM {T}');
ALTER TABLE h DROP COLUMN i2;
ALTER TABLE l DROP COLUMN i2;
ALTER TABLE h ALTER COLUMN vc TYPE varchar(30);
ALTER TABLE l ALTER COLUMN vc TYPE varchar(30);
-- new rows with other values in the new columns
INSERT INTO h (id, g, grp, i4, i8, n, n2, f4, f8, d, ts, tz, b, t, tc, ti, vc, u, iv, nb, nul,
               c_def, c_txt, c_ts, c_null, c_f8)
  SELECT id, g, grp, i4, i8, n, n2, f4, f8, d, ts, tz, b, t, tc, ti, vc || '-long-name', u, iv, nb, nul,
         id % 100, 'new' || (id % 3), timestamptz '2030-01-01 00:00+00' + id * interval '1 hour', id, id * 0.5
    FROM gen(7001, 7300);
INSERT INTO l (id, g, grp, i4, i8, n, n2, f4, f8, d, ts, tz, b, t, tc, ti, vc, u, iv, nb, nul,
               c_def, c_txt, c_ts, c_null, c_f8)
  SELECT id, g, grp, i4, i8, n, n2, f4, f8, d, ts, tz, b, t, tc, ti, vc || '-long-name', u, iv, nb, nul,
         id % 100, 'new' || (id % 3), timestamptz '2030-01-01 00:00+00' + id * interval '1 hour', id, id * 0.5
    FROM gen(7001, 7300);
UPDATE h SET c_def = -1, c_txt = NULL WHERE id % 19 = 0;
UPDATE l SET c_def = -1, c_txt = NULL WHERE id % 19 = 0;
INSERT INTO checks (sect, q) VALUES
  ('alter', $$SELECT id FROM {T} WHERE c_def = 42$$),
  ('alter', $$SELECT id FROM {T} WHERE c_def > 41 AND c_def < 43$$),
  ('alter', $$SELECT id FROM {T} WHERE c_def <> 42$$),
  ('alter', $$SELECT id FROM {T} WHERE c_def < 42$$),
  ('alter', $$SELECT id FROM {T} WHERE c_def >= 50$$),
  ('alter', $$SELECT id FROM {T} WHERE c_def IN (42, 7)$$),
  ('alter', $$SELECT id FROM {T} WHERE c_def IS NULL$$),
  ('alter', $$SELECT id FROM {T} WHERE c_def IS NOT NULL$$),
  ('alter', $$SELECT id FROM {T} WHERE c_txt = 'dflt'$$),
  ('alter', $$SELECT id FROM {T} WHERE c_txt > 'e'$$),
  ('alter', $$SELECT id FROM {T} WHERE c_txt IS NULL$$),
  ('alter', $$SELECT id FROM {T} WHERE c_ts < '2000-01-01'$$),
  ('alter', $$SELECT id FROM {T} WHERE c_ts >= '2030-01-01' AND c_ts < '2030-01-13'$$),
  ('alter', $$SELECT id FROM {T} WHERE c_ts = (SELECT min(c_ts) FROM {T})$$),
  ('alter', $$SELECT id FROM {T} WHERE c_null IS NULL$$),
  ('alter', $$SELECT id FROM {T} WHERE c_null > 7100$$),
  ('alter', $$SELECT id, c_f8 FROM {T} WHERE c_f8 = 0$$),
  ('alter', $$SELECT id, c_f8 FROM {T} WHERE c_f8 < 0$$),
  ('alter', $$SELECT id, c_f8 FROM {T} WHERE c_f8 >= '-0'$$),
  ('alter', $$SELECT id FROM {T} WHERE vc LIKE '%-long-name'$$),
  ('alter', $$SELECT id FROM {T} WHERE vc > 'v50'$$),
  ('alter', $$SELECT x FROM {T} x WHERE id % 20 = 0$$),
  ('alter', $$SELECT row_to_json(x) FROM {T} x WHERE c_def <> 42 OR id < 10$$),
  ('alter', $$SELECT c_def, c_txt, count(*) FROM {T} GROUP BY 1, 2$$);
SELECT * FROM run_checks('alter');
SELECT * FROM rerun_checks('{join,alter,like,collate}', 'i2');
SELECT sect, q FROM rerun WHERE NOT same;
-- a full compaction rewrites every row at the current schema
SELECT rows_out FROM lsm.compact('l', true);
SELECT * FROM run_checks('alter') WHERE NOT same;
SELECT * FROM rerun_checks('{join,alter,like,collate,bool,lists,expr,empty}', 'i2');
SELECT sect, q FROM rerun WHERE NOT same;

--
-- 10. More types, each with its own comparison rules: char(n) ignores
-- trailing blanks ('a' = 'a  '), name (fixed 64 bytes), "char", timetz
-- (compares the UTC instant first), money, macaddr, inet (network order),
-- oid (unsigned: 4294967295 > 1), bytea, arrays and jsonb; in a fresh table,
-- after deletes and after a full compaction
--
CREATE TABLE h2 (id int4, bp char(5), nm name, ch "char", tt timetz, mo money, mac macaddr,
                 ip inet, oi oid, ba bytea, arr int4[], js jsonb) USING heap;
CREATE TABLE l2 (LIKE h2) USING lsm;
INSERT INTO h2
SELECT id, CASE id % 5 WHEN 0 THEN 'a' WHEN 1 THEN 'a  ' WHEN 2 THEN NULL WHEN 3 THEN 'ab' ELSE ' a' END,
  ('n' || id % 17)::name, chr(65 + id % 26)::"char", ('12:00+0' || id % 9)::timetz,
  CASE WHEN id % 7 = 0 THEN -id * 1.25 ELSE id * 1.25 END::money,
  ('08:00:2b:01:' || lpad(to_hex(id / 256), 2, '0') || ':' || lpad(to_hex(id % 256), 2, '0'))::macaddr,
  ('10.' || id % 3 || '.' || id % 256 || '.1/' || (8 + id % 25))::inet,
  CASE id WHEN 7 THEN 4294967295 WHEN 8 THEN 0 ELSE id END::oid,
  decode(repeat(to_hex(id % 16), id % 7 * 2), 'hex'),
  CASE WHEN id % 9 = 0 THEN NULL ELSE ARRAY[id % 10, NULL, -id] END,
  jsonb_build_object('a', id % 10, 'b', id % 3 = 0)
FROM generate_series(1, 1000) id;
INSERT INTO l2 SELECT * FROM h2;
INSERT INTO checks (sect, q) VALUES
  ('types', $$SELECT x FROM {T}2 x$$),
  ('types', $$SELECT id FROM {T}2 WHERE bp = 'a'$$),
  ('types', $$SELECT id FROM {T}2 WHERE bp = 'a    '::char(5)$$),
  ('types', $$SELECT id FROM {T}2 WHERE bp < 'ab'$$),
  ('types', $$SELECT id FROM {T}2 WHERE bp >= ' a'$$),
  ('types', $$SELECT id FROM {T}2 WHERE bp::text = 'a'$$),
  ('types', $$SELECT id FROM {T}2 WHERE bp IN ('ab', 'zz')$$),
  ('types', $$SELECT id FROM {T}2 WHERE nm > 'n5'$$),
  ('types', $$SELECT id FROM {T}2 WHERE nm = 'n16'$$),
  ('types', $$SELECT id FROM {T}2 WHERE ch < 'C'$$),
  ('types', $$SELECT id FROM {T}2 WHERE tt > '12:00+05'$$),
  ('types', $$SELECT id FROM {T}2 WHERE tt = '12:00+05'$$),
  ('types', $$SELECT id FROM {T}2 WHERE tt < '07:00:01+00'$$),
  ('types', $$SELECT id FROM {T}2 WHERE mo < '0'$$),
  ('types', $$SELECT id FROM {T}2 WHERE mo BETWEEN '$10' AND '$20'$$),
  ('types', $$SELECT id FROM {T}2 WHERE mac > '08:00:2b:01:02:00'$$),
  ('types', $$SELECT id FROM {T}2 WHERE ip < '10.1.0.0/8'$$),
  ('types', $$SELECT id FROM {T}2 WHERE ip << '10.2.0.0/16'$$),
  ('types', $$SELECT id FROM {T}2 WHERE oi > 999$$),
  ('types', $$SELECT id FROM {T}2 WHERE oi < 2$$),
  ('types', $$SELECT id FROM {T}2 WHERE ba > '\x5555'$$),
  ('types', $$SELECT id FROM {T}2 WHERE ba = ''$$),
  ('types', $$SELECT id FROM {T}2 WHERE arr = ARRAY[3, NULL, -13]$$),
  ('types', $$SELECT id FROM {T}2 WHERE arr < '{1}'$$),
  ('types', $$SELECT id FROM {T}2 WHERE 5 = ANY (arr)$$),
  ('types', $$SELECT id FROM {T}2 WHERE js @> '{"b": true}'$$),
  ('types', $$SELECT id FROM {T}2 WHERE js > '{"a": 5, "b": false}'$$),
  ('types', $$SELECT bp, nm, count(*), min(tt), max(mo), sum(mo), max(ip), max(oi) FROM {T}2 GROUP BY bp, nm$$);
SELECT * FROM run_checks('types');
DELETE FROM h2 WHERE id % 4 = 1 OR id BETWEEN 300 AND 700;
DELETE FROM l2 WHERE id % 4 = 1 OR id BETWEEN 300 AND 700;
SELECT * FROM run_checks('types') WHERE NOT same;
SELECT rows_out FROM lsm.compact('l2', true);
SELECT * FROM run_checks('types') WHERE NOT same;

DROP TABLE h2, l2;
DROP TABLE h, l, h_empty, l_empty, checks, rerun, mcols, mconst, matrix, mres, cursor_q;
DROP FUNCTION gen(int, int), lsm_cmp(text, boolean), run_checks(text), rerun_checks(text[], text),
  run_matrix(int, int), plpgsql_same(int8, int8, text, float8), sql_ids_h(int4, date),
  sql_ids_l(int4, date), srf_ids(regclass, int4, int4), cursor_walk(text), cursor_cmp();
