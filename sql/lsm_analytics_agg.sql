--
-- lsm_analytics_agg: differential tests for aggregates over lsm tables.  A
-- heap table ha and an lsm table la hold the same rows; every query runs on
-- both and must return exactly the same result, compared as text, so that
-- the type and scale of sum/avg (sum(int4) is bigint, sum(int8) and
-- avg(int) are numeric with a fixed scale), -0 vs 0, 1.5 vs 1.50 and
-- '1 mon' vs '30 days' all count.  Any aggregate fast path (count(*),
-- count/sum/avg/min/max pushed into the scan, zone maps used as min/max,
-- grouping on low-cardinality columns) must pass these.  The heap's answer
-- is printed for results of up to three rows, so a wrong answer on both
-- sides shows too.
--
-- Covered: count(*) / count(col) of every type, sum / avg / min / max of
-- int2, int4, int8 (sums beyond the int8 range), numeric (scales, NaN,
-- +-1e100), float4 / float8 (NaN, +-Infinity, -0; values are multiples of
-- 1/8 so sums are exact in any order), date, timestamp, timestamptz
-- (+-infinity), interval, text under three collations, bool_and/bool_or,
-- aggregates with WHERE and FILTER, DISTINCT aggregates, GROUP BY (also
-- GROUPING SETS / ROLLUP / CUBE), HAVING, ORDER BY ... LIMIT, empty tables,
-- NULL-only columns and blocks, parameters and generic plans, rescans; after
-- deletes in the current transaction, committed DELETE and UPDATE,
-- lsm.compact, lsm.compact(full), ADD COLUMN ... DEFAULT and DROP COLUMN.
--
-- Ties: max() and min() return the *last* of equal values in scan order
-- (max over 1.5 and 1.50 returns whichever comes later).  The heap table is
-- made with CREATE TABLE AS (no free-space reuse), so its scan order is
-- insertion order, the same as the lsm table's rowid order; a zone map or a
-- per-block partial aggregate must keep that choice.  The 'ties' checks are
-- only run while no row has moved (UPDATE moves rows differently in heap).
--
SET lsm.block_rows = 64;
SET lsm.segment_rows = 1000;

CREATE FUNCTION agen(lo int, hi int)
RETURNS TABLE (id int4, g int4, k int2, grp text, b bool, i2 int2, i4 int4, i8 int8,
               n numeric, n2 numeric, f4 float4, f8 float8, fc float8, d date,
               ts timestamp, tz timestamptz, t text, iv interval, nb int4, nul int4)
LANGUAGE sql IMMUTABLE AS $$
SELECT id, id % 7, (id % 3)::int2,
  CASE WHEN id % 11 = 0 THEN NULL ELSE (ARRAY['alpha', 'beta', 'gamma', 'delta', 'Epsilon'])[id % 5 + 1] END,
  CASE WHEN id BETWEEN 641 AND 768 THEN true WHEN id % 5 = 0 THEN NULL ELSE id % 3 = 0 END,
  -- i2 scattered; i4 ascending; both with their extremes (int4 max twice)
  CASE id WHEN 17 THEN -32768 WHEN 18 THEN 32767
    ELSE CASE WHEN id % 23 = 0 THEN NULL ELSE ((id * 37) % 2001 - 1000) * 16 END END,
  CASE id WHEN 1501 THEN -2147483648 WHEN 1502 THEN 2147483647 WHEN 2222 THEN 2147483647
    ELSE CASE WHEN id % 29 = 0 THEN NULL ELSE id * 1000 - 1500000 END END,
  -- i8: scattered; int8 max three times, so sums leave the int8 range
  CASE id WHEN 1234 THEN 9223372036854775807 WHEN 1845 THEN 9223372036854775807
          WHEN 2500 THEN 9223372036854775807 WHEN 1235 THEN -9223372036854775808
    ELSE CASE WHEN id % 31 = 0 THEN NULL ELSE ((id * 7919) % 10007 - 5000) * 1000000000000::int8 END END,
  -- n: scales 0..3 (so equal values print differently), NaN, +-1e100, 1e100.00,
  -- 1.5 / 1.50 / 1.500 in three segments
  CASE id WHEN 500 THEN 1e100 WHEN 1500 THEN 1e100::numeric(200, 2) WHEN 501 THEN -1e100
          WHEN 510 THEN 1.5 WHEN 1511 THEN 1.50 WHEN 2511 THEN 1.500
    ELSE CASE WHEN id % 97 = 0 THEN 'NaN' WHEN id % 43 = 0 THEN NULL
              ELSE round(((id * 37) % 1000 - 500) / 7.0, id % 4) END END,
  CASE WHEN (id - 1) % 1000 / 64 = 5 THEN NULL ELSE id * 1.125 - 1500 END,
  -- f4, f8: multiples of 1/4, 1/8; NaN, +-Infinity, -0 and 0 in several blocks, one huge value
  CASE id WHEN 100 THEN 'NaN' WHEN 101 THEN 'Infinity' WHEN 102 THEN '-Infinity'
          WHEN 103 THEN '-0' WHEN 104 THEN 1e30 WHEN 105 THEN 0 WHEN 2105 THEN '-0'
    ELSE CASE WHEN id % 19 = 0 THEN NULL ELSE ((id * 13) % 2001 - 1000) * 0.25 END END,
  CASE id WHEN 200 THEN 'NaN' WHEN 201 THEN 'Infinity' WHEN 202 THEN '-Infinity'
          WHEN 203 THEN '-0' WHEN 204 THEN 1e150 WHEN 205 THEN 0 WHEN 2205 THEN '-0'
    ELSE CASE WHEN id % 37 = 0 THEN NULL ELSE ((id * 31) % 4001 - 2000) * 0.125 END END,
  -- fc: small multiples of 1/2, no special values
  CASE WHEN id % 13 = 0 THEN NULL ELSE (id % 100 - 50) * 0.5 END,
  CASE id WHEN 300 THEN 'infinity' WHEN 301 THEN '-infinity'
    ELSE CASE WHEN id % 41 = 0 THEN NULL ELSE date '2000-01-01' + id END END,
  CASE id WHEN 310 THEN 'infinity' WHEN 311 THEN '-infinity'
    ELSE CASE WHEN id % 47 = 0 THEN NULL
              ELSE timestamp '2020-01-01' + ((id * 7919) % 4001) * interval '37 minutes 13.5 seconds' END END,
  CASE id WHEN 320 THEN 'infinity' WHEN 321 THEN '-infinity'
    ELSE CASE WHEN id % 53 = 0 THEN NULL
              ELSE timestamptz '2021-03-14 01:00:00+00' + id * interval '17 minutes' END END,
  CASE WHEN id % 71 = 0 THEN NULL
       WHEN id % 10 = 1 THEN (ARRAY['', 'Abc', 'abc', 'ABC', 'b', 'B', 'é', 'Z', 'a b', 'a-b'])[id % 100 / 10 + 1]
       ELSE (ARRAY['k', 'K', 'm'])[id % 3 + 1] || lpad(((id * 7919) % 4001)::text, 5, '0') END,
  -- iv: '1 year' = '360 days' and '-5 days' = '-120:00:00', in different segments
  CASE id WHEN 400 THEN '1 mon' WHEN 401 THEN '30 days' WHEN 402 THEN '1 year'
          WHEN 2403 THEN '360 days' WHEN 404 THEN '-5 days' WHEN 1404 THEN '-120 hours'
    ELSE CASE WHEN id % 67 = 0 THEN NULL
              ELSE (id % 50) * interval '1 day' + (id % 7) * interval '1 hour' END END,
  -- nb: NULL in every third block of a segment
  CASE WHEN (id - 1) % 1000 / 64 % 3 = 0 THEN NULL ELSE id END,
  NULL::int4
FROM generate_series(lo, hi) id
$$;

-- heap: CREATE TABLE AS fills pages in order, so heap scans in id order
CREATE TABLE ha AS
  SELECT id, g, k, grp, b, i2, i4, i8, n, n2::numeric(12,3) AS n2, f4, f8, fc, d, ts, tz,
         t, t COLLATE "C" AS tc, t COLLATE "en-x-icu" AS ti, iv, nb, nul
    FROM agen(1, 3000);
CREATE TABLE la (LIKE ha) USING lsm;
INSERT INTO la SELECT id, g, k, grp, b, i2, i4, i8, n, n2, f4, f8, fc, d, ts, tz, t, t, t, iv, nb, nul
  FROM agen(1, 2900);
INSERT INTO la SELECT id, g, k, grp, b, i2, i4, i8, n, n2, f4, f8, fc, d, ts, tz, t, t, t, iv, nb, nul
  FROM agen(2901, 3000);
SELECT count(*) AS segments, sum(row_count) AS rows FROM lsm.segments('la');
SELECT bool_and(id = rn) AS heap_in_id_order
  FROM (SELECT id, row_number() OVER () AS rn FROM ha) s;
SELECT bool_and(id = rn) AS lsm_in_id_order
  FROM (SELECT id, row_number() OVER () AS rn FROM la) s;
CREATE TABLE ha_empty (LIKE ha) USING heap;
CREATE TABLE la_empty (LIKE ha) USING lsm;

-- lsm_cmp(q): q names its table {T}; it runs with {T} = ha and {T} = la.
-- same: lsm returned the same multiset of rows as heap, compared as text
-- (ordered => true: in the same order); result: heap's rows as text, or
-- their number if there are more than three.
CREATE FUNCTION lsm_cmp(q text, ordered boolean DEFAULT false,
                        OUT same boolean, OUT result text)
LANGUAGE plpgsql AS $$
DECLARE
  wrap text := CASE WHEN ordered THEN 'SELECT array_agg(r::text) FROM (%s) r'
                    ELSE 'SELECT array_agg(r::text ORDER BY r::text COLLATE "C") FROM (%s) r' END;
  a text[];
  b text[];
BEGIN
  EXECUTE format(wrap, replace(q, '{T}', 'ha')) INTO a;
  EXECUTE format(wrap, replace(q, '{T}', 'la')) INTO b;
  same := a IS NOT DISTINCT FROM b;
  result := CASE WHEN coalesce(cardinality(a), 0) <= 3 THEN coalesce(array_to_string(a, ' '), '(no rows)')
                 ELSE cardinality(a) || ' rows' END;
END $$;
CREATE TABLE checks (n serial, sect text, q text, ordered boolean DEFAULT false);
CREATE FUNCTION run_checks(s text) RETURNS TABLE (same boolean, result text, q text)
LANGUAGE sql AS $$
  SELECT r.same, r.result, c.q FROM checks c, lsm_cmp(c.q, c.ordered) r
   WHERE c.sect = s ORDER BY c.n
$$;
-- all sections but those named in skip again (and but the queries that
-- contain skip_q): one line per section, then the queries that differ
-- (none expected)
CREATE TABLE rerun (sect text, q text, same boolean, result text);
CREATE FUNCTION rerun_checks(skip text[] DEFAULT '{}', skip_q text DEFAULT '$none$')
RETURNS TABLE (sect text, queries bigint, differ bigint)
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM rerun;
  INSERT INTO rerun SELECT c.sect, c.q, r.same, r.result
    FROM checks c, lsm_cmp(c.q, c.ordered) r
   WHERE c.sect <> ALL (skip) AND strpos(c.q, skip_q) = 0;
  RETURN QUERY SELECT x.sect, count(*), count(*) FILTER (WHERE NOT x.same)
    FROM rerun x GROUP BY x.sect ORDER BY x.sect;
END $$;

--
-- 1. count
--
INSERT INTO checks (sect, q) VALUES
  ('count', $$SELECT count(*) FROM {T}$$),
  ('count', $$SELECT count(id), count(g), count(k), count(grp), count(b), count(i2), count(i4), count(i8), count(n), count(n2) FROM {T}$$),
  ('count', $$SELECT count(f4), count(f8), count(fc), count(d), count(ts), count(tz), count(t), count(ti), count(iv), count(nb), count(nul) FROM {T}$$),
  ('count', $$SELECT count(*) FROM {T} WHERE i4 > 0$$),
  ('count', $$SELECT count(*) FROM {T} WHERE i4 > 3000000000$$),
  ('count', $$SELECT count(*) FROM {T} WHERE i4 >= -1500000$$),
  ('count', $$SELECT count(*), count(nb) FROM {T} WHERE nb IS NULL$$),
  ('count', $$SELECT count(*), count(nb), count(i4) FROM {T} WHERE id BETWEEN 1 AND 64$$),
  ('count', $$SELECT count(*) FROM {T} WHERE f8 = 'NaN'$$),
  ('count', $$SELECT count(*) FROM {T} WHERE f8 = 0$$),
  ('count', $$SELECT count(*) FROM {T} WHERE f8 > 0$$),
  ('count', $$SELECT count(*) FROM {T} WHERE n = 1.5$$),
  ('count', $$SELECT count(*) FROM {T} WHERE iv = '30 days'$$),
  ('count', $$SELECT count(*) FILTER (WHERE i4 > 0), count(*) FILTER (WHERE f8 IS NULL), count(i8) FILTER (WHERE b) FROM {T}$$),
  ('count', $$SELECT count(DISTINCT grp), count(DISTINCT g), count(DISTINCT n), count(DISTINCT f8), count(DISTINCT iv) FROM {T}$$),
  ('count', $$SELECT count(DISTINCT t), count(DISTINCT tc), count(DISTINCT ti), count(DISTINCT (g, k)) FROM {T}$$),
  ('count', $$SELECT count(*) FROM {T} WHERE t LIKE 'k%'$$),
  ('count', $$SELECT count(1), count(NULL::int), count(id > 0), count(i4 / 1000) FROM {T}$$),
  ('count', $$SELECT count(*) FROM {T} x WHERE x IS NOT NULL$$),
  ('count', $$SELECT count(x) FROM {T} x$$),
  ('count', $$SELECT count(*) FROM {T} WHERE b$$),
  ('count', $$SELECT count(*) FROM {T} WHERE grp IS NULL OR grp = 'beta'$$);
SELECT * FROM run_checks('count');

--
-- 2. sum and avg: result types and scales, overflow of the input type,
-- NaN and infinities, FILTER
--
INSERT INTO checks (sect, q) VALUES
  ('sum', $$SELECT pg_typeof(sum(i2)), pg_typeof(sum(i4)), pg_typeof(sum(i8)), pg_typeof(sum(f4)), pg_typeof(avg(i4)), pg_typeof(avg(f4)) FROM {T}$$),
  ('sum', $$SELECT sum(i2), sum(i4), sum(i8) FROM {T}$$),
  ('sum', $$SELECT avg(i2), avg(i4), avg(i8) FROM {T}$$),
  ('sum', $$SELECT sum(i4), avg(i4) FROM {T} WHERE i4 BETWEEN -1000000 AND 1000000$$),
  ('sum', $$SELECT sum(i4) FROM {T} WHERE i4 > 2147483646$$),
  ('sum', $$SELECT sum(i8), avg(i8) FROM {T} WHERE i8 > 9000000000000000000$$),
  ('sum', $$SELECT sum(i8), avg(i8) FROM {T} WHERE i8 < 0$$),
  ('sum', $$SELECT sum(n), avg(n) FROM {T}$$),
  ('sum', $$SELECT sum(n), avg(n) FROM {T} WHERE n <> 'NaN'$$),
  ('sum', $$SELECT sum(n), avg(n) FROM {T} WHERE n BETWEEN -100 AND 100$$),
  ('sum', $$SELECT sum(n2), avg(n2) FROM {T}$$),
  ('sum', $$SELECT sum(f4), sum(f8), avg(f4), avg(f8) FROM {T}$$),
  ('sum', $$SELECT sum(f4), sum(f8), avg(f4), avg(f8) FROM {T} WHERE f4 BETWEEN -1000 AND 1000 AND f8 BETWEEN -1000 AND 1000$$),
  ('sum', $$SELECT sum(f4), avg(f4) FROM {T} WHERE f4 <> 'NaN'$$),
  ('sum', $$SELECT sum(f8), avg(f8) FROM {T} WHERE f8 > 0$$),
  ('sum', $$SELECT sum(f8), avg(f8) FROM {T} WHERE f8 < 'Infinity' AND f8 > '-Infinity'$$),
  ('sum', $$SELECT sum(f8) FROM {T} WHERE f8 = 0$$),
  ('sum', $$SELECT sum(fc), avg(fc) FROM {T}$$),
  ('sum', $$SELECT sum(iv), avg(iv) FROM {T}$$),
  ('sum', $$SELECT sum(iv), avg(iv) FROM {T} WHERE iv >= '1 mon'$$),
  ('sum', $$SELECT sum(i4) FILTER (WHERE i4 < 0), sum(i8) FILTER (WHERE g = 3), avg(n2) FILTER (WHERE b), sum(fc) FILTER (WHERE grp = 'beta') FROM {T}$$),
  ('sum', $$SELECT sum(i4 + 0), sum(i4::int8), sum(i4) * 2, sum(i2 * 2), avg(i2::numeric) FROM {T}$$),
  ('sum', $$SELECT sum(nul), avg(nul), count(nul) FROM {T}$$),
  ('sum', $$SELECT sum(nb), avg(nb), count(*) FROM {T} WHERE id <= 64$$),
  ('sum', $$SELECT sum(nb), avg(nb) FROM {T}$$),
  ('sum', $$SELECT stddev(i4), variance(i2), stddev_pop(i8) FROM {T} WHERE i4 BETWEEN -1000000 AND 1000000$$),
  ('sum', $$SELECT sum(DISTINCT g), avg(DISTINCT i2), sum(DISTINCT n) FROM {T}$$),
  ('sum', $$SELECT sum(id), avg(id) FROM {T}$$),
  ('sum', $$SELECT sum(CASE WHEN b THEN 1 ELSE 0 END), sum(length(t)) FROM {T}$$),
  ('sum', $$SELECT bool_and(b), bool_or(b), every(i4 > -3000000000) FROM {T}$$),
  ('sum', $$SELECT bool_and(b), bool_or(NOT b), count(*) FROM {T} WHERE id BETWEEN 641 AND 768$$);
SELECT * FROM run_checks('sum');

--
-- 3. min and max: NaN is the greatest float and numeric, -Infinity the
-- least float, infinite dates and timestamps, text under three collations
--
INSERT INTO checks (sect, q) VALUES
  ('minmax', $$SELECT min(i2), max(i2), min(i4), max(i4), min(i8), max(i8) FROM {T}$$),
  ('minmax', $$SELECT min(n), max(n), min(n2), max(n2) FROM {T}$$),
  ('minmax', $$SELECT min(f4), max(f4), min(f8), max(f8), min(fc), max(fc) FROM {T}$$),
  ('minmax', $$SELECT min(f4), max(f4), min(f8), max(f8) FROM {T} WHERE f4 <> 'NaN' AND f8 <> 'NaN'$$),
  ('minmax', $$SELECT min(f8), max(f8) FROM {T} WHERE f8 > '-Infinity' AND f8 < 1e100$$),
  ('minmax', $$SELECT min(d), max(d), min(ts), max(ts), min(tz), max(tz) FROM {T}$$),
  ('minmax', $$SELECT min(d), max(d), min(ts), max(ts) FROM {T} WHERE d > '-infinity' AND d < 'infinity' AND ts > '-infinity' AND ts < 'infinity'$$),
  ('minmax', $$SELECT min(tz), max(tz) FROM {T} WHERE tz BETWEEN '2021-03-14' AND '2021-03-15'$$),
  ('minmax', $$SELECT min(tc), max(tc), min(ti), max(ti) FROM {T}$$),
  ('minmax', $$SELECT min(t COLLATE "C"), max(ti COLLATE "C"), min(tc COLLATE "en-x-icu") FROM {T}$$),
  ('minmax', $$SELECT min(tc), max(tc), min(ti), max(ti) FROM {T} WHERE ti BETWEEN 'a' AND 'l'$$),
  ('minmax', $$SELECT min(iv), max(iv) FROM {T} WHERE iv BETWEEN '1 day' AND '40 days'$$),
  ('minmax', $$SELECT min(i4), max(i4) FROM {T} WHERE i4 < 2147483647 AND i4 > -2147483648$$),
  ('minmax', $$SELECT max(i4), min(i8) FROM {T} WHERE i4 < 0$$),
  ('minmax', $$SELECT min(i4), max(i8) FROM {T} WHERE i4 > 0$$),
  ('minmax', $$SELECT min(nb), max(nb), min(nul), max(nul) FROM {T}$$),
  ('minmax', $$SELECT min(nb), max(nb) FROM {T} WHERE id <= 64 OR id > 2990$$),
  ('minmax', $$SELECT min(id), max(id) FROM {T} WHERE grp = 'beta'$$),
  ('minmax', $$SELECT max(length(t)), min(abs(i4::int8)), max(i4 / 1000), min(-i2::int4) FROM {T}$$),
  ('minmax', $$SELECT min(i4) FILTER (WHERE b), max(d) FILTER (WHERE d < 'infinity'), min(n) FILTER (WHERE n > 0) FROM {T}$$),
  ('minmax', $$SELECT max(b::int), min(k), max(k) FROM {T}$$);
SELECT * FROM run_checks('minmax');

-- equal values that print differently: the last one in scan order wins
INSERT INTO checks (sect, q) VALUES
  ('ties', $$SELECT max(n) FILTER (WHERE n <> 'NaN'), min(n) FILTER (WHERE n > 1e99) FROM {T}$$),
  ('ties', $$SELECT max(n) FILTER (WHERE n < 1.6), min(n) FILTER (WHERE n >= 1.5) FROM {T} WHERE n BETWEEN 1.49 AND 1.51$$),
  ('ties', $$SELECT max(f8) FILTER (WHERE f8 <= 0), min(f8) FILTER (WHERE f8 >= 0) FROM {T}$$),
  ('ties', $$SELECT max(f4) FILTER (WHERE f4 <= 0), min(f4) FILTER (WHERE f4 >= 0) FROM {T}$$),
  ('ties', $$SELECT max(f8), min(f8) FROM {T} WHERE f8 = 0$$),
  ('ties', $$SELECT max(iv), min(iv) FROM {T}$$),
  ('ties', $$SELECT max(iv) FROM {T} WHERE iv <= '30 days'$$),
  ('ties', $$SELECT g, max(n), min(n) FROM {T} WHERE n <> 'NaN' AND n BETWEEN -5 AND 5 GROUP BY g$$),
  ('ties', $$SELECT k, max(f8) FILTER (WHERE f8 <= 0), max(iv) FROM {T} GROUP BY k$$);
SELECT * FROM run_checks('ties');

--
-- 4. GROUP BY, HAVING, DISTINCT, ORDER BY ... LIMIT, grouping sets
--
INSERT INTO checks (sect, q, ordered) VALUES
  ('group', $$SELECT g, count(*), sum(i4), avg(i2), min(f8), max(d) FROM {T} GROUP BY g$$, false),
  ('group', $$SELECT grp, count(*), sum(i8), min(tc), max(ti), avg(n2) FROM {T} GROUP BY grp$$, false),
  ('group', $$SELECT b, count(*), sum(n2), avg(fc), max(tz) FROM {T} GROUP BY b$$, false),
  ('group', $$SELECT k, g, count(*), sum(i4), avg(i8) FROM {T} GROUP BY k, g$$, false),
  ('group', $$SELECT grp, g, count(*) FROM {T} WHERE i4 > 0 GROUP BY grp, g HAVING count(*) > 20$$, false),
  ('group', $$SELECT g, sum(i4) FROM {T} GROUP BY g HAVING sum(i4) > 0$$, false),
  ('group', $$SELECT grp, sum(f8), avg(f4) FROM {T} WHERE f8 BETWEEN -100 AND 100 GROUP BY grp HAVING avg(f4) < 0$$, false),
  ('group', $$SELECT g, count(*) FILTER (WHERE f8 > 0), sum(fc) FILTER (WHERE b), max(i2) FILTER (WHERE k = 1) FROM {T} GROUP BY g$$, false),
  ('group', $$SELECT grp, count(DISTINCT g), count(DISTINCT t), sum(DISTINCT k) FROM {T} GROUP BY grp$$, false),
  ('group', $$SELECT g, count(*) FROM {T} GROUP BY g ORDER BY count(*) DESC, g LIMIT 3$$, true),
  ('group', $$SELECT grp, sum(i4) FROM {T} GROUP BY grp ORDER BY 2 DESC NULLS LAST LIMIT 2$$, true),
  ('group', $$SELECT DISTINCT grp FROM {T}$$, false),
  ('group', $$SELECT DISTINCT g, b FROM {T} WHERE f4 > 0$$, false),
  ('group', $$SELECT DISTINCT ON (g) g, id, i4 FROM {T} WHERE i4 IS NOT NULL ORDER BY g, i4 DESC$$, true),
  ('group', $$SELECT g, grp, count(*), sum(i4) FROM {T} GROUP BY GROUPING SETS ((g), (grp), ())$$, false),
  ('group', $$SELECT g, b, count(*), max(n2) FROM {T} GROUP BY ROLLUP (g, b)$$, false),
  ('group', $$SELECT k, b, sum(i2), min(ts) FROM {T} GROUP BY CUBE (k, b)$$, false),
  ('group', $$SELECT id / 500, count(*), min(i4), max(i4), sum(i8) FROM {T} GROUP BY 1$$, false),
  ('group', $$SELECT date_trunc('year', d), count(*), max(tz) FROM {T} GROUP BY 1$$, false),
  ('group', $$SELECT nul, count(*), sum(nb) FROM {T} GROUP BY nul$$, false),
  ('group', $$SELECT ti, count(*) FROM {T} WHERE ti < 'b' GROUP BY ti$$, false),
  ('group', $$SELECT tc, count(*) FROM {T} WHERE tc < 'b' GROUP BY tc$$, false),
  ('group', $$SELECT g, array_agg(id ORDER BY id) FILTER (WHERE f8 = 'NaN' OR f4 = '-Infinity') FROM {T} GROUP BY g$$, false),
  ('group', $$SELECT count(*) FROM (SELECT DISTINCT t FROM {T}) s$$, false),
  ('group', $$SELECT grp, count(*) FROM {T} WHERE nb IS NULL GROUP BY grp$$, false);
SELECT * FROM run_checks('group');

--
-- 5. Aggregates under WHERE clauses of every shape (what a pushed-down
-- aggregate must filter, or prune by zone maps, exactly)
--
INSERT INTO checks (sect, q) VALUES
  ('where', $$SELECT count(*), sum(i4), min(i8), max(f8) FROM {T} WHERE i4 BETWEEN -500000 AND 500000$$),
  ('where', $$SELECT count(*), sum(i2), max(d) FROM {T} WHERE d >= '2007-01-01'$$),
  ('where', $$SELECT count(*), sum(n2) FROM {T} WHERE tz < '2021-03-15 00:00+00'$$),
  ('where', $$SELECT count(*), avg(i4) FROM {T} WHERE grp IN ('alpha', 'beta') AND NOT b$$),
  ('where', $$SELECT count(*), min(ts) FROM {T} WHERE ts > '2020-02-01' OR ts IS NULL$$),
  ('where', $$SELECT count(*), sum(fc) FROM {T} WHERE f8 = ANY ('{NaN,-0,Infinity}')$$),
  ('where', $$SELECT count(*), max(t) FROM {T} WHERE ti BETWEEN 'a' AND 'c'$$),
  ('where', $$SELECT count(*), sum(i8) FROM {T} WHERE i4 > 2147483646$$),
  ('where', $$SELECT count(*), sum(i4) FROM {T} WHERE i4 < 5.5$$),
  ('where', $$SELECT count(*), sum(i4) FROM {T} WHERE i4 >= 2147483647::int8$$),
  ('where', $$SELECT count(*), sum(i4) FROM {T} WHERE i4 > 2147483647::int8$$),
  ('where', $$SELECT count(*), sum(i2) FROM {T} WHERE i2 < 40000 AND i2 > -40000$$),
  ('where', $$SELECT count(*), sum(i4) FROM {T} WHERE nb IS NULL AND i4 > 0$$),
  ('where', $$SELECT count(*), sum(iv), max(iv) FROM {T} WHERE iv = '30 days'$$),
  ('where', $$SELECT count(*), sum(n), max(n) FROM {T} WHERE n = 1.5$$),
  ('where', $$SELECT count(*), min(d) FROM {T} WHERE d > '2001-01-01'::timestamptz$$),
  ('where', $$SELECT count(*), sum(f4) FROM {T} WHERE f4 < 0.1::float8$$),
  ('where', $$SELECT count(*), avg(fc) FROM {T} WHERE i4 % 3 = 0 AND fc > 0$$),
  ('where', $$SELECT count(*), sum(i4) FROM {T} WHERE i4 IN (1000, 2000, 3000, 2147483647)$$),
  ('where', $$SELECT count(*), sum(i4) FROM {T} WHERE i4 <> ALL ('{1000,2000}') AND i4 < 0$$),
  ('where', $$SELECT count(*), max(tc) FROM {T} WHERE tc LIKE 'K%' OR tc < 'B'$$),
  ('where', $$SELECT count(*), sum(i8) FROM {T} WHERE (i8 > 0) IS NOT TRUE$$),
  ('where', $$SELECT count(*), sum(i4) FROM {T} WHERE i4 < -1000000 OR i4 > 1000000$$),
  ('where', $$SELECT count(*) FROM {T} WHERE i4 > (SELECT avg(i4) FROM {T})$$);
SELECT * FROM run_checks('where');

--
-- 6. Empty inputs: empty tables, filters that match nothing, NULL-only
-- columns (count 0, sum / avg / min / max NULL; no groups)
--
INSERT INTO checks (sect, q) VALUES
  ('empty', $$SELECT count(*), count(i4), sum(i4), avg(i4), min(i4), max(i4), sum(n), sum(f8), min(d), max(t), bool_and(b) FROM {T}_empty$$),
  ('empty', $$SELECT g, count(*) FROM {T}_empty GROUP BY g$$),
  ('empty', $$SELECT count(*) FROM {T}_empty HAVING count(*) > 0$$),
  ('empty', $$SELECT count(*), sum(i4), max(t) FROM {T} WHERE false$$),
  ('empty', $$SELECT count(*), sum(i4), max(t), avg(f8) FROM {T} WHERE i4 > 2147483647$$),
  ('empty', $$SELECT g, count(*) FROM {T} WHERE i4 < -2147483648 GROUP BY g$$),
  ('empty', $$SELECT sum(i4) FROM {T} HAVING false$$),
  ('empty', $$SELECT count(*), sum(nb), max(nb) FROM {T} WHERE nb IS NULL$$);
SELECT * FROM run_checks('empty');

--
-- 7. Rescans (the aggregate over lsm is recomputed for every outer row)
--
INSERT INTO checks (sect, q) VALUES
  ('rescan', $$SELECT v, (SELECT sum(i4) FROM {T} WHERE g = v), (SELECT max(d) FROM {T} WHERE g = v AND b) FROM generate_series(0, 7) v$$),
  ('rescan', $$SELECT v, x.* FROM generate_series(1, 3000, 400) v, LATERAL (SELECT count(*), sum(i8), max(f8) FROM {T} WHERE id BETWEEN v AND v + 100) x$$),
  ('rescan', $$SELECT s.grp, (SELECT count(*) FROM {T} t2 WHERE t2.grp = s.grp) FROM (VALUES ('alpha'), ('beta'), (NULL)) s(grp)$$),
  ('rescan', $$SELECT v, (SELECT count(*) FROM {T} WHERE i4 < v) FROM unnest('{-2147483648,0,1000000,2147483647}'::int4[]) v$$);
SELECT * FROM run_checks('rescan');

--
-- 8. Parameters: prepared statements (generic plans after five executions,
-- and forced), PL/pgSQL
--
PREPARE pa(int8, date, text) AS
  SELECT (SELECT ROW(count(*), sum(i4), avg(i2), min(f8), max(n), sum(i8))::text FROM ha
           WHERE i4 > $1 AND d < $2 AND (grp = $3 OR $3 IS NULL)) =
         (SELECT ROW(count(*), sum(i4), avg(i2), min(f8), max(n), sum(i8))::text FROM la
           WHERE i4 > $1 AND d < $2 AND (grp = $3 OR $3 IS NULL)) AS same,
         (SELECT ROW(count(*), sum(i4), avg(i2))::text FROM ha
           WHERE i4 > $1 AND d < $2 AND (grp = $3 OR $3 IS NULL)) AS heap;
EXECUTE pa(0, '2010-01-01', 'alpha');
EXECUTE pa(-3000000000, 'infinity', NULL);
EXECUTE pa(1400000, '2020-01-01', 'beta');
EXECUTE pa(2147483647, 'infinity', NULL);
EXECUTE pa(-1, '2000-06-01', 'gamma');
EXECUTE pa(NULL, '2004-01-01', NULL);
EXECUTE pa(-1500000, '2005-01-01', 'Epsilon');
PREPARE pg(float8, int4) AS
  SELECT (SELECT array_agg(r::text ORDER BY r.g) FROM (SELECT g, count(*), sum(fc), max(f4), min(iv) FROM ha WHERE f8 < $1 AND k <> $2 GROUP BY g) r) =
         (SELECT array_agg(r::text ORDER BY r.g) FROM (SELECT g, count(*), sum(fc), max(f4), min(iv) FROM la WHERE f8 < $1 AND k <> $2 GROUP BY g) r) AS same,
         (SELECT count(*) FROM ha WHERE f8 < $1 AND k <> $2) AS heap_rows;
EXECUTE pg(0, 0);
EXECUTE pg('NaN', 1);
EXECUTE pg('Infinity', 2);
EXECUTE pg(-0.0, 3);
EXECUTE pg(100, NULL);
EXECUTE pg(-250, 1);
EXECUTE pg(1e300, 0);
SET plan_cache_mode = force_generic_plan;
EXECUTE pa(500000, '2008-08-08', 'delta');
EXECUTE pg(50, 2);
RESET plan_cache_mode;
SELECT name, generic_plans > 0 AS used_generic_plan FROM pg_prepared_statements ORDER BY name;
DEALLOCATE ALL;
CREATE FUNCTION agg_same(lo int4, grp_in text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE a text; b text;
BEGIN
  SELECT ROW(count(*), sum(i8), avg(i4), max(t), min(tz), sum(iv))::text INTO a FROM ha WHERE i4 >= lo AND grp IS NOT DISTINCT FROM grp_in;
  SELECT ROW(count(*), sum(i8), avg(i4), max(t), min(tz), sum(iv))::text INTO b FROM la WHERE i4 >= lo AND grp IS NOT DISTINCT FROM grp_in;
  RETURN a = b;
END $$;
SELECT count(*) AS calls,
       count(*) FILTER (WHERE agg_same(v * 100000, (ARRAY['alpha', 'beta', 'Epsilon', NULL])[v % 4 + 1])) AS same
  FROM generate_series(-16, 16) v;

--
-- 9. A float8 sum that overflows fails the same way on both
--
CREATE TABLE ho (x float8) USING heap;
CREATE TABLE lo (x float8) USING lsm;
INSERT INTO ho VALUES (1e308), (1e308);
INSERT INTO lo VALUES (1e308), (1e308);
SELECT sum(x) FROM ho;
SELECT sum(x) FROM lo;
SELECT max(x), count(*) FROM lo;
DROP TABLE ho, lo;

--
-- 10. Rows of the current transaction (two own segments of 1000 rows and
-- 300 buffered, own deletes), rolled back
--
BEGIN;
INSERT INTO ha SELECT id, g, k, grp, b, i2, i4, i8, n, n2, f4, f8, fc, d, ts, tz, t, t, t, iv, nb, nul FROM agen(3001, 5300);
INSERT INTO la SELECT id, g, k, grp, b, i2, i4, i8, n, n2, f4, f8, fc, d, ts, tz, t, t, t, iv, nb, nul FROM agen(3001, 5300);
SELECT buffered_rows FROM lsm.stats('la');
DELETE FROM ha WHERE id BETWEEN 2900 AND 3100 OR id % 50 = 7;
DELETE FROM la WHERE id BETWEEN 2900 AND 3100 OR id % 50 = 7;
SELECT * FROM rerun_checks('{ties}');
SELECT sect, q FROM rerun WHERE NOT same;
SELECT count(*), sum(i4), sum(i8), max(n), min(tz) FROM la;
ROLLBACK;

--
-- 11. Committed deletes: a whole segment (rows 1001..2000), every 17th row,
-- the rows holding the greatest i2, i4 (one of two), i8 (one of three) and
-- n, the least i4 and the infinite dates; zone maps of their blocks still
-- hold the deleted values.  Then compaction (folds the deletes).
--
DELETE FROM ha WHERE id BETWEEN 1001 AND 2000;
DELETE FROM la WHERE id BETWEEN 1001 AND 2000;
DELETE FROM ha WHERE id % 17 = 0 OR id IN (18, 2222, 2500, 500, 300, 310, 320, 201);
DELETE FROM la WHERE id % 17 = 0 OR id IN (18, 2222, 2500, 500, 300, 310, 320, 201);
SELECT count(*), sum(i4), max(i2), max(i4), max(i8), min(i4), max(n) FILTER (WHERE n <> 'NaN'), max(d), max(f8)
  FROM la;
SELECT * FROM rerun_checks();
SELECT sect, q FROM rerun WHERE NOT same;
SELECT rows_out <= rows_in AS compacted FROM lsm.compact('la');
SELECT * FROM rerun_checks();
SELECT sect, q FROM rerun WHERE NOT same;

--
-- 12. Committed UPDATEs (new versions in a new segment, values beyond the
-- old ranges, NULLs), then a full compaction
--
UPDATE ha SET i4 = i4 + 3000000, d = d + 5000, t = t || '!', n2 = -n2 WHERE id % 13 = 0;
UPDATE la SET i4 = i4 + 3000000, d = d + 5000, t = t || '!', n2 = -n2 WHERE id % 13 = 0;
UPDATE ha SET i2 = NULL, i8 = 9223372036854775807, fc = NULL WHERE id BETWEEN 2001 AND 2064;
UPDATE la SET i2 = NULL, i8 = 9223372036854775807, fc = NULL WHERE id BETWEEN 2001 AND 2064;
SELECT count(*), sum(i4), sum(i8), max(i4), max(d), count(i2), count(fc) FROM la;
SELECT * FROM rerun_checks('{ties}');
SELECT sect, q FROM rerun WHERE NOT same;
SELECT rows_out FROM lsm.compact('la', true);
SELECT * FROM rerun_checks('{ties}');
SELECT sect, q FROM rerun WHERE NOT same;

--
-- 13. ADD COLUMN with defaults after loading: old rows count and sum the
-- attmissingval (not NULL); DROP COLUMN
--
ALTER TABLE ha ADD COLUMN c_def int4 DEFAULT 42, ADD COLUMN c_num numeric DEFAULT 1.50,
  ADD COLUMN c_null int8, ADD COLUMN c_d date DEFAULT '2024-02-29';
ALTER TABLE la ADD COLUMN c_def int4 DEFAULT 42, ADD COLUMN c_num numeric DEFAULT 1.50,
  ADD COLUMN c_null int8, ADD COLUMN c_d date DEFAULT '2024-02-29';
ALTER TABLE ha DROP COLUMN i2;
ALTER TABLE la DROP COLUMN i2;
INSERT INTO ha (id, g, k, grp, i4, i8, n, c_def, c_num, c_null, c_d)
  SELECT id, g, k, grp, i4, i8, n, id % 10, 2.5, id, NULL FROM agen(6001, 6200);
INSERT INTO la (id, g, k, grp, i4, i8, n, c_def, c_num, c_null, c_d)
  SELECT id, g, k, grp, i4, i8, n, id % 10, 2.5, id, NULL FROM agen(6001, 6200);
INSERT INTO checks (sect, q) VALUES
  ('alter', $$SELECT count(*), count(c_def), sum(c_def), avg(c_def), min(c_def), max(c_def) FROM {T}$$),
  ('alter', $$SELECT count(c_num), sum(c_num), avg(c_num), min(c_num), max(c_num) FROM {T}$$),
  ('alter', $$SELECT count(c_null), sum(c_null), min(c_d), max(c_d), count(c_d) FROM {T}$$),
  ('alter', $$SELECT count(*), sum(c_def) FROM {T} WHERE c_def = 42$$),
  ('alter', $$SELECT count(*), sum(i4) FROM {T} WHERE c_def < 42$$),
  ('alter', $$SELECT count(*) FROM {T} WHERE c_d IS NULL$$),
  ('alter', $$SELECT c_def, count(*), sum(c_num) FROM {T} GROUP BY c_def$$),
  ('alter', $$SELECT g, count(*), sum(c_def), max(c_num) FROM {T} GROUP BY g$$);
SELECT * FROM run_checks('alter');
SELECT * FROM rerun_checks('{ties}', 'i2');
SELECT sect, q FROM rerun WHERE NOT same;
SELECT rows_out FROM lsm.compact('la', true);
SELECT * FROM run_checks('alter');
SELECT * FROM rerun_checks('{ties}', 'i2');
SELECT sect, q FROM rerun WHERE NOT same;

DROP TABLE ha, la, ha_empty, la_empty, checks, rerun;
DROP FUNCTION agen(int, int), lsm_cmp(text, boolean), run_checks(text), rerun_checks(text[], text),
  agg_same(int4, text);
