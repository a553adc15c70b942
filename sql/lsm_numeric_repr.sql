--
-- Numeric columns stored as scaled integers: a block whose non-null
-- numerics are all finite, of one display scale s and within int64 once
-- multiplied by 10^s is stored with the integer encodings and
-- representation tag 1 + s (docs/FORMAT.md, src/scan/lsm_numeric.c); other
-- blocks keep the varlenas.  Whatever a block holds, every value must read
-- back as the very numeric heap returns (numeric_send shows digits,
-- weight, sign and display scale), and sum/avg must equal heap's.
--
SET lsm.block_rows = 64;
SET lsm.segment_rows = 640;

CREATE TABLE nr_h (id int, u numeric, p numeric(12,2), w numeric(38,10),
                   big numeric(20,2), s30 numeric(40,30));
-- Each block of 64 rows (ids 64k .. 64k+63) is one case for u (and
-- sometimes p); p, w, big and s30 vary along.
INSERT INTO nr_h
SELECT x,
       CASE x / 64
         -- 0: one scale (3), positive and negative: integers
         WHEN 0 THEN ((x * 7919) % 100000 - 50000) / 1000.000
         -- 1: mixed scales: varlenas
         WHEN 1 THEN round(x / 7.0, x % 5)
         -- 2: a NaN among scale-2 values: varlenas
         WHEN 2 THEN CASE WHEN x = 150 THEN 'NaN'::numeric ELSE x / 100.00 END
         -- 3: infinities: varlenas
         WHEN 3 THEN CASE x % 3 WHEN 0 THEN 'Infinity'::numeric
                                WHEN 1 THEN '-Infinity'::numeric ELSE x END
         -- 4: beyond int64 once scaled: varlenas
         WHEN 4 THEN CASE WHEN x = 290 THEN 92233720368547758.08
                          ELSE x::numeric(20,2) END
         -- 5: all NULL
         WHEN 5 THEN NULL
         -- 6: zeros with a scale, -0, and NULLs
         WHEN 6 THEN CASE x % 4 WHEN 0 THEN 0.000 WHEN 1 THEN '-0.000'::numeric
                                WHEN 2 THEN NULL ELSE -0.001 END
         -- 7: scale 17, small values: integers
         WHEN 7 THEN round(((x * 104729) % 1000003)::numeric / 1e7, 17)
         -- 8: scale 15 at the edge of int64
         WHEN 8 THEN CASE WHEN x % 2 = 0 THEN 9223.372036854775807
                          ELSE -9223.372036854775808 END
         -- 9: the int64 extremes themselves at scale 0, and huge scales of 0
         WHEN 9 THEN CASE x % 3 WHEN 0 THEN 9223372036854775807
                                WHEN 1 THEN -9223372036854775808
                                ELSE 0.000000000000000000000000000000000000000000000000000000000000000 END
         -- 10: a scale above 63: varlenas
         WHEN 10 THEN round(x::numeric / 3, 70)
         -- 11: unconstrained integers and values like 1e20: mixed
         WHEN 11 THEN CASE WHEN x % 10 = 0 THEN 1e20 ELSE x END
         -- 12: one scale, every digit group: 0.0001, 0.001, 1000, 10000 ...
         ELSE (10::numeric ^ (x % 16 - 4))::numeric(30,4)
       END,
       CASE WHEN x % 17 = 0 THEN NULL WHEN x / 64 = 2 THEN -(x * 31 % 10000) / 100.0
            ELSE (x * 7919 % 10000000) / 100.0 END,
       (x * 7919 % 1000000007)::numeric / 1000000.0,
       CASE WHEN x / 64 = 4 THEN 92233720368547758.07 * (x % 2 * 2 - 1)
            ELSE x * 1000000000::numeric END,
       CASE WHEN x / 64 = 7 THEN x * 1e-30 ELSE x::numeric / 1e10 END
FROM generate_series(0, 831) x;
CREATE TABLE nr_l (LIKE nr_h) USING lsm;
INSERT INTO nr_l SELECT * FROM nr_h ORDER BY id;

-- Every value, through the plain scan and the LSM Scan, exactly as heap has
-- it.
CREATE FUNCTION nr_diff(q text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
BEGIN
	EXECUTE format('SELECT count(*) FROM ((%1$s EXCEPT ALL %2$s) UNION ALL (%2$s EXCEPT ALL %1$s)) d',
				   format(q, 'nr_l'), format(q, 'nr_h')) INTO n;
	RETURN n;
END $$;
SELECT nr_diff('SELECT id, numeric_send(u) AS u, numeric_send(p) AS p, numeric_send(w) AS w,
                       numeric_send(big) AS big, numeric_send(s30) AS s30 FROM %s');
SELECT nr_diff('SELECT id, u::text, p::text, w::text, big::text, s30::text FROM %s');
-- even the stored size (the varlena header heap would give the value)
SELECT nr_diff('SELECT id, pg_column_size(u), pg_column_size(p), pg_column_size(w),
                       pg_column_size(big), pg_column_size(s30) FROM %s');
SET lsm.enable_custom_scan = off;
SELECT nr_diff('SELECT id, numeric_send(u) AS u, numeric_send(p) AS p, numeric_send(w) AS w,
                       numeric_send(big) AS big, numeric_send(s30) AS s30 FROM %s');
RESET lsm.enable_custom_scan;
-- the values compare, hash and sort as heap's do
SELECT nr_diff('SELECT id FROM %s WHERE p > 500 AND u < 10');
SELECT nr_diff('SELECT u, count(*) FROM %s GROUP BY u');
SELECT nr_diff('SELECT DISTINCT w FROM %s');
SELECT (SELECT array_agg(id ORDER BY p, id) FROM nr_l) = (SELECT array_agg(id ORDER BY p, id) FROM nr_h) AS same_order;
SELECT nr_diff('SELECT id, u + p, p * 2, w - big, round(s30, 3) FROM %s');
-- zone maps still prune on numeric ranges
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT count(*) FROM nr_l WHERE p BETWEEN 1000 AND 1100;
SELECT nr_diff('SELECT count(*) FROM %s WHERE p BETWEEN 1000 AND 1100');

-- sum and avg: per block of cases, and overall, with and without the node
CREATE FUNCTION nr_agg(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	a text;
	b text;
	c text;
BEGIN
	EXECUTE format('SELECT string_agg(x::text, '';'' ORDER BY x::text) FROM (%s) x',
				   format(q, 'nr_l')) INTO a;
	SET LOCAL lsm.enable_aggregate_pushdown = off;
	EXECUTE format('SELECT string_agg(x::text, '';'' ORDER BY x::text) FROM (%s) x',
				   format(q, 'nr_l')) INTO b;
	SET LOCAL lsm.enable_aggregate_pushdown = on;
	EXECUTE format('SELECT string_agg(x::text, '';'' ORDER BY x::text) FROM (%s) x',
				   format(q, 'nr_h')) INTO c;
	IF a IS NOT DISTINCT FROM c AND b IS NOT DISTINCT FROM c THEN
		RETURN 'same: ' || left(coalesce(c, '<null>'), 70);
	END IF;
	RETURN 'DIFFERENT: lsm ' || coalesce(a, '<null>') || ' heap ' || coalesce(c, '<null>');
END $$;
EXPLAIN (COSTS OFF) SELECT sum(p), avg(p), sum(u) FROM nr_l;
SELECT nr_agg('SELECT sum(p), avg(p), sum(w), avg(w), sum(big), avg(big), sum(s30), avg(s30) FROM %s');
SELECT nr_agg('SELECT id / 64 AS b, sum(u), avg(u), count(u) FROM %s GROUP BY 1');
SELECT nr_agg('SELECT id / 64 AS b, sum(p), avg(p), sum(w), avg(big), avg(s30) FROM %s GROUP BY 1');
SELECT nr_agg('SELECT sum(u), avg(u) FROM %s WHERE id / 64 NOT IN (2, 3)');
SELECT nr_agg('SELECT sum(u), avg(u) FROM %s WHERE id < 128 OR id >= 448');
-- blocks mixing the two representations under one sum, scales rising
-- from 0 to 17 and back
SELECT nr_agg('SELECT sum(u), avg(u) FROM %s WHERE id / 64 IN (0, 7, 8, 9, 12)');
SELECT nr_agg('SELECT sum(u), avg(u) FROM %s WHERE id / 64 IN (9, 0, 4)');
-- quals on the summed column itself, on another column, and grouping by it
SELECT nr_agg('SELECT sum(p), avg(p) FROM %s WHERE p > 300');
SELECT nr_agg('SELECT sum(p), avg(p) FROM %s WHERE w > 1 AND id %% 3 = 1');
SELECT nr_agg('SELECT p, sum(p), avg(w) FROM %s WHERE id < 260 GROUP BY p');
SELECT nr_agg('SELECT sum(u), avg(p) FROM %s WHERE u::text <> ''0''');

-- Storage: a numeric(12,2) column takes a fraction of what the same values
-- take as text (integers bit-packed instead of varlenas).
CREATE TABLE nr_size_n (v numeric(12,2)) USING lsm;
CREATE TABLE nr_size_t (v text) USING lsm;
INSERT INTO nr_size_n SELECT (x * 7919 % 100000) / 100.0 FROM generate_series(1, 5000) x;
INSERT INTO nr_size_t SELECT v::text FROM nr_size_n;
SELECT (SELECT uncompressed_bytes FROM lsm.stats('nr_size_n')) * 2 <
       (SELECT uncompressed_bytes FROM lsm.stats('nr_size_t')) AS numeric_smaller;
SELECT (SELECT sum(v) FROM nr_size_n) = (SELECT sum(v::numeric) FROM nr_size_t) AS same_sum;

-- Deletes: an all-deleted block, some rows of others, rows updated to
-- values of another scale (new segments of the transaction's own).
DELETE FROM nr_l WHERE id / 64 = 1 OR id % 7 = 0;
DELETE FROM nr_h WHERE id / 64 = 1 OR id % 7 = 0;
UPDATE nr_l SET p = p / 3, u = u * 2 WHERE id % 11 = 0;
UPDATE nr_h SET p = p / 3, u = u * 2 WHERE id % 11 = 0;
SELECT nr_agg('SELECT id / 64 AS b, count(*), sum(u), avg(p), sum(w) FROM %s GROUP BY 1');
BEGIN;
INSERT INTO nr_l SELECT id + 1000, u * 3, p, w, big, s30 FROM nr_h WHERE id < 150;
INSERT INTO nr_h SELECT id + 1000, u * 3, p, w, big, s30 FROM nr_h WHERE id < 150;
SELECT nr_agg('SELECT sum(u), avg(u), sum(p), avg(p) FROM %s');
SELECT nr_diff('SELECT id, numeric_send(u), numeric_send(p) FROM %s');
COMMIT;

-- ALTER TYPE numeric(12,2) -> numeric(14,2) is binary compatible: the old
-- segments (tagged chunks included) are read as they are ...
SELECT count(*) AS segments_before FROM lsm.segments('nr_l') \gset
ALTER TABLE nr_l ALTER COLUMN p TYPE numeric(14,2);
ALTER TABLE nr_h ALTER COLUMN p TYPE numeric(14,2);
SELECT count(*) = :segments_before AS not_rewritten FROM lsm.segments('nr_l');
INSERT INTO nr_l VALUES (5000, 1.5, 123456789012.34, 1, 1, 1);
INSERT INTO nr_h VALUES (5000, 1.5, 123456789012.34, 1, 1, 1);
SELECT nr_diff('SELECT id, numeric_send(p) FROM %s');
SELECT nr_agg('SELECT sum(p), avg(p) FROM %s');
-- ... and compaction rewrites everything under the new layout
SELECT segments_in > 0 AS compacted FROM lsm.compact('nr_l', true);
SELECT nr_diff('SELECT id, numeric_send(u) AS u, numeric_send(p) AS p, numeric_send(w) AS w,
                       numeric_send(big) AS big, numeric_send(s30) AS s30 FROM %s');
SELECT nr_agg('SELECT id / 64 AS b, sum(u), avg(u), sum(p), avg(p), sum(s30) FROM %s GROUP BY 1');
SELECT segments_checked > 0 AS verified FROM lsm.verify('nr_l');

-- Scales above the aggregate's 30-place fast path: blocks of scale 40 and
-- 63 stored as integers, summed alone, with each other and with scale 2.
CREATE TABLE nr_fine_h (id int, v numeric);
INSERT INTO nr_fine_h
SELECT x, CASE x / 64
            WHEN 0 THEN (x * 1e-40)::numeric(50,40)
            WHEN 1 THEN (x * 1e-63)::numeric(70,63)
            WHEN 2 THEN x / 100.00
            ELSE -(x * 7e-40)::numeric(50,40) END
FROM generate_series(0, 255) x;
CREATE TABLE nr_fine_l (LIKE nr_fine_h) USING lsm;
INSERT INTO nr_fine_l SELECT * FROM nr_fine_h ORDER BY id;
SELECT (SELECT array_agg(numeric_send(v) ORDER BY id) FROM nr_fine_l) =
       (SELECT array_agg(numeric_send(v) ORDER BY id) FROM nr_fine_h) AS same_values;
SELECT id / 64 AS b, sum(v), avg(v) FROM nr_fine_l GROUP BY 1 ORDER BY 1;
SELECT (SELECT array_agg(x ORDER BY b) FROM (SELECT id / 64 AS b, (sum(v), avg(v))::text AS x FROM nr_fine_l GROUP BY 1) s) =
       (SELECT array_agg(x ORDER BY b) FROM (SELECT id / 64 AS b, (sum(v), avg(v))::text AS x FROM nr_fine_h GROUP BY 1) s) AS same_groups;
SELECT (SELECT (sum(v), avg(v))::text FROM nr_fine_l) = (SELECT (sum(v), avg(v))::text FROM nr_fine_h) AS same_total,
       (SELECT (sum(v), avg(v))::text FROM nr_fine_l WHERE id >= 64) = (SELECT (sum(v), avg(v))::text FROM nr_fine_h WHERE id >= 64) AS same_without_first,
       (SELECT (sum(v), avg(v))::text FROM nr_fine_l WHERE id / 64 IN (1, 2)) = (SELECT (sum(v), avg(v))::text FROM nr_fine_h WHERE id / 64 IN (1, 2)) AS same_63_and_2;
SELECT sum(v) FROM nr_fine_l;
DROP TABLE nr_fine_h, nr_fine_l;

-- A domain over numeric is stored as varlenas; its sums agree too.
CREATE DOMAIN nr_money AS numeric(10,2) CHECK (VALUE > -1000000);
CREATE TABLE nr_d (v nr_money) USING lsm;
INSERT INTO nr_d SELECT x / 4.0 FROM generate_series(1, 300) x;
SELECT sum(v), avg(v), min(v::numeric), max(v::numeric) FROM nr_d;

DROP TABLE nr_h, nr_l, nr_size_n, nr_size_t, nr_d;
DROP DOMAIN nr_money;
DROP FUNCTION nr_diff(text), nr_agg(text);
