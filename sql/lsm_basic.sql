--
-- lsm_basic: an lsm table stores and returns exactly what a heap table does.
-- Covers CREATE TABLE USING lsm, default_table_access_method, NULLs,
-- zero-column and 1600-column tables, every common built-in data type,
-- user-defined types (composite, range, enum, domain), values from 0 bytes
-- to 20 MB, and toasted/compressed input copied from a heap table.
--

-- CREATE TABLE ... USING lsm, and the catalog says lsm
CREATE TABLE b_lsm (id int, t text) USING lsm;
SELECT a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam
 WHERE c.oid = 'b_lsm'::regclass;

-- default_table_access_method = lsm makes plain CREATE TABLE use lsm
SET default_table_access_method = lsm;
CREATE TABLE b_default (x int);
RESET default_table_access_method;
CREATE TABLE b_heap_default (x int);
SELECT c.relname, a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam
 WHERE c.relname IN ('b_default', 'b_heap_default') ORDER BY 1;

-- empty table
SELECT count(*) FROM b_lsm;
SELECT * FROM b_lsm;

-- simple insert / select, including NULLs in every position
INSERT INTO b_lsm VALUES (1, 'one'), (2, NULL), (NULL, 'three'), (NULL, NULL);
INSERT INTO b_lsm SELECT g, 'row ' || g FROM generate_series(5, 1000) g;
SELECT count(*), count(id), count(t), sum(id) FROM b_lsm;
SELECT * FROM b_lsm WHERE id < 6 OR id IS NULL ORDER BY id, t;
-- a query with RETURNING
INSERT INTO b_lsm VALUES (1001, 'ret') RETURNING *, id * 2 AS dbl;
SELECT * FROM b_lsm WHERE id = 1001;

-- zero-column table
CREATE TABLE b_zero () USING lsm;
INSERT INTO b_zero DEFAULT VALUES;
INSERT INTO b_zero SELECT FROM generate_series(1, 99);
SELECT count(*) FROM b_zero;
SELECT * FROM b_zero LIMIT 2;
-- adding a column later: old rows read it as NULL
ALTER TABLE b_zero ADD COLUMN a int;
INSERT INTO b_zero VALUES (7);
SELECT count(*), count(a), sum(a) FROM b_zero;

-- 1600-column table (the maximum), same rows as heap
DO $$
DECLARE cols text;
BEGIN
  SELECT string_agg(format('c%s int', i), ', ' ORDER BY i) INTO cols
    FROM generate_series(1, 1600) i;
  EXECUTE format('CREATE TABLE b_wide_lsm (%s) USING lsm', cols);
  EXECUTE format('CREATE TABLE b_wide_heap (%s) USING heap', cols);
END $$;
DO $$
DECLARE vals text;
BEGIN
  SELECT string_agg(CASE WHEN i % 7 = 0 THEN 'NULL' ELSE format('g + %s', i) END, ', ' ORDER BY i)
    INTO vals FROM generate_series(1, 1600) i;
  EXECUTE format('INSERT INTO b_wide_lsm SELECT %s FROM generate_series(1, 20) g', vals);
  EXECUTE format('INSERT INTO b_wide_heap SELECT %s FROM generate_series(1, 20) g', vals);
END $$;
SELECT count(*), sum(c1), sum(c800), sum(c1600), count(c1596) FROM b_wide_lsm;
SELECT count(*) FROM (SELECT * FROM b_wide_lsm EXCEPT ALL SELECT * FROM b_wide_heap) d;
SELECT count(*) FROM (SELECT * FROM b_wide_heap EXCEPT ALL SELECT * FROM b_wide_lsm) d;
-- one column too many is refused as for heap
\set VERBOSITY terse
DO $$
BEGIN
  EXECUTE format('CREATE TABLE b_toowide (%s) USING lsm',
    (SELECT string_agg(format('c%s int', i), ', ') FROM generate_series(1, 1601) i));
END $$;
\set VERBOSITY default

-- user-defined types
CREATE TYPE b_mood AS ENUM ('sad', 'ok', 'happy');
CREATE TYPE b_pair AS (a int, b text);
CREATE DOMAIN b_posint AS int CHECK (VALUE > 0);
CREATE TYPE b_floatrange AS RANGE (subtype = float8);

-- every common built-in type, same rows in heap and lsm
CREATE TABLE b_types_heap (
  i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, num numeric, nbig numeric(40,10),
  bo bool, ch char(5), vc varchar(10), tx text, by bytea, uu uuid,
  d date, tm time, ttz timetz, ts timestamp, tstz timestamptz, iv interval,
  ip inet, ci cidr, mac macaddr, mac8 macaddr8, jb jsonb, js json,
  ia int[], ta text[], i2d int[][], comp b_pair, r int4range, tr tstzrange, fr b_floatrange,
  mo b_mood, dom b_posint, nm name, o oid, mn money, pt point, bx box, tid_ tid,
  bits bit(4), vb varbit, x xml, tsv tsvector, ch1 "char", ln line, cir circle
) USING heap;
CREATE TABLE b_types_lsm (LIKE b_types_heap) USING lsm;
INSERT INTO b_types_heap
SELECT g::int2, g * 1000, g::int8 * 1000000000000, g / 3.0, g / 7.0,
       g * 1.5, (g::numeric * 123456789.123456789),
       g % 2 = 0, 'c' || g, 'v' || g, repeat('t', g), decode(repeat('ab', g), 'hex'),
       ('00000000-0000-0000-0000-' || lpad(g::text, 12, '0'))::uuid,
       '2000-01-01'::date + g, '00:00'::time + g * interval '1 minute',
       ('12:00+0' || (g % 9))::timetz,
       '2020-02-29 12:00'::timestamp + g * interval '1 hour',
       '2020-02-29 12:00+00'::timestamptz + g * interval '1 day',
       g * interval '1 day 2 hours',
       ('10.0.' || g / 256 || '.' || g % 256)::inet, ('10.' || g % 256 || '.0.0/16')::cidr,
       ('08:00:2b:01:02:' || lpad(to_hex(g), 2, '0'))::macaddr,
       ('08:00:2b:01:02:03:04:' || lpad(to_hex(g), 2, '0'))::macaddr8,
       jsonb_build_object('k', g, 'arr', jsonb_build_array(g, g + 1)),
       json_build_object('k', g),
       ARRAY[g, g + 1, NULL], ARRAY['a' || g, NULL, ''], ARRAY[[g, 1], [2, g]],
       ROW(g, 'p' || g)::b_pair, int4range(g, g + 10), tstzrange('2020-01-01', '2020-01-01'::timestamptz + g * interval '1 day'),
       b_floatrange(g, g + 0.5),
       (ARRAY['sad', 'ok', 'happy'])[g % 3 + 1]::b_mood, g, 'name' || g, g::oid,
       (g * 1.25)::numeric::money, point(g, -g), box(point(g, g), point(0, 0)),
       ('(' || g || ',' || g % 291 || ')')::tid,
       (g % 16)::bit(4), (g::bit(8))::varbit, ('<x>' || g || '</x>')::xml,
       to_tsvector('simple', 'word' || g || ' other'), chr(65 + g % 26)::"char",
       line(point(0, 0), point(1, g)), circle(point(g, g), g)
  FROM generate_series(1, 300) g;
-- special values and a row of NULLs
INSERT INTO b_types_heap (i2, i4, i8, f4, f8, num, ch, vc, tx, by, d, ts, tstz, iv, jb, ia, r)
VALUES (-32768, -2147483648, -9223372036854775808, 'NaN', '-Infinity', 'NaN', '', '', '', '\x',
        '-infinity', 'infinity', '-infinity', '-178000000 years', 'null', '{}', 'empty'),
       (32767, 2147483647, 9223372036854775807, '-0', 'Infinity', '-0.000001', ' a ', 'é', E'\t\n', '\x00',
        'infinity', '-infinity', 'infinity', '0', '{}', '{NULL}', '(,)');
INSERT INTO b_types_heap DEFAULT VALUES;
INSERT INTO b_types_lsm SELECT * FROM b_types_heap;
SELECT count(*) FROM b_types_lsm;
-- compare by text form (xml, point, box, line, circle have no equality operator)
SELECT count(*) FROM (SELECT t::text FROM b_types_lsm t EXCEPT ALL SELECT t::text FROM b_types_heap t) d;
SELECT count(*) FROM (SELECT t::text FROM b_types_heap t EXCEPT ALL SELECT t::text FROM b_types_lsm t) d;
-- a few values shown, and typed operations still work on the read values
SELECT i2, i8, f4, f8, num, ch, vc, length(tx), by, d, ts, tstz, iv, jb, ia, r
  FROM b_types_lsm WHERE i2 IN (-32768, 32767, 3) ORDER BY i2;
SELECT sum(i4), sum(num), max(tstz), min(mo), count(DISTINCT mac),
       sum((comp).a), sum(upper(r)), count(*) FILTER (WHERE jb @> '{"k": 5}'),
       count(*) FILTER (WHERE tsv @@ 'word7'::tsquery), count(*) FILTER (WHERE pt <@ box(point(0,-10), point(10, 0)))
  FROM b_types_lsm;
-- the domain is still enforced on insert
INSERT INTO b_types_lsm (dom) VALUES (0);

-- values from 0 bytes to large: lsm returns the same bytes as heap
CREATE TABLE b_big_heap (id int, t text, b bytea) USING heap;
CREATE TABLE b_big_lsm (id int, t text, b bytea) USING lsm;
INSERT INTO b_big_heap VALUES
  (1, '', ''::bytea),
  (2, 'x', '\x01'),
  (3, repeat('a', 126), decode(repeat('ff', 126), 'hex')),
  (4, repeat('b', 127), decode(repeat('fe', 127), 'hex')),
  (5, repeat('c', 2000), decode(repeat('0102', 1000), 'hex')),
  (6, repeat('d', 8200), decode(repeat('03', 8200), 'hex')),
  (7, repeat('0123456789abcdef', 65536), decode(repeat('0123456789abcdef', 65536), 'hex')),  -- 1 MB / 512 kB
  (8, repeat('z', 20 * 1024 * 1024), NULL);                                                  -- 20 MB
-- incompressible large value
INSERT INTO b_big_heap
  SELECT 9, string_agg(md5(g::text), ''), NULL FROM generate_series(1, 40000) g;
INSERT INTO b_big_lsm SELECT * FROM b_big_heap;
SELECT id, length(t), octet_length(b), md5(t) = (SELECT md5(h.t) FROM b_big_heap h WHERE h.id = l.id) AS t_same,
       md5(b) IS NOT DISTINCT FROM (SELECT md5(h.b) FROM b_big_heap h WHERE h.id = l.id) AS b_same
  FROM b_big_lsm l ORDER BY id;
SELECT count(*) FROM (SELECT * FROM b_big_lsm EXCEPT ALL SELECT * FROM b_big_heap) d;

-- toasted (compressed and out-of-line) input read from a heap table
CREATE TABLE b_toast_src (id int, t text, j jsonb) USING heap;
ALTER TABLE b_toast_src ALTER COLUMN t SET STORAGE main;
INSERT INTO b_toast_src
  SELECT g, repeat('compress me ' || g, 5000), jsonb_build_object('a', repeat('q', 10000 + g))
  FROM generate_series(1, 20) g;
-- the heap source really holds compressed data
SELECT count(*) FROM b_toast_src WHERE pg_column_size(t) < octet_length(t);
CREATE TABLE b_toast_lsm (id int, t text, j jsonb) USING lsm;
INSERT INTO b_toast_lsm SELECT * FROM b_toast_src;
SELECT count(*) FROM (SELECT * FROM b_toast_lsm EXCEPT ALL SELECT * FROM b_toast_src) d;
SELECT count(*) FROM (SELECT * FROM b_toast_src EXCEPT ALL SELECT * FROM b_toast_lsm) d;
SELECT sum(length(t)), sum(length(j->>'a')) FROM b_toast_lsm;

-- COPY in and out
CREATE TABLE b_copy (a int, b text, c float8) USING lsm;
COPY b_copy FROM stdin;
1	one	1.5
2	\N	2.5
3	three	\N
\.
COPY b_copy TO stdout;
COPY (SELECT g, g::text, g / 2.0 FROM generate_series(1, 5000) g) TO '/dev/null';
INSERT INTO b_copy SELECT g, g::text, g / 2.0 FROM generate_series(4, 5000) g;
SELECT count(*), sum(a), sum(c) FROM b_copy;

-- a CHECK constraint, NOT NULL and defaults behave as for heap
CREATE TABLE b_cons (id int NOT NULL, v int DEFAULT 42 CHECK (v > 0), s serial) USING lsm;
INSERT INTO b_cons (id) VALUES (1);
INSERT INTO b_cons (id, v) VALUES (2, 0);
INSERT INTO b_cons (id) VALUES (NULL);
INSERT INTO b_cons (id, v) VALUES (3, 3);
SELECT * FROM b_cons ORDER BY id;

-- generated columns
CREATE TABLE b_gen (a int, b int GENERATED ALWAYS AS (a * 2) STORED) USING lsm;
INSERT INTO b_gen (a) SELECT generate_series(1, 5);
SELECT * FROM b_gen ORDER BY a;

-- triggers fire (BEFORE ROW can change the row, AFTER ROW sees it)
CREATE TABLE b_trig (a int, note text) USING lsm;
CREATE FUNCTION b_trig_before() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN NEW.note := 'before:' || NEW.a; RETURN NEW; END $$;
CREATE FUNCTION b_trig_after() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN RAISE NOTICE 'after row % %', NEW.a, NEW.note; RETURN NULL; END $$;
CREATE TRIGGER b_trig_b BEFORE INSERT ON b_trig FOR EACH ROW EXECUTE FUNCTION b_trig_before();
CREATE TRIGGER b_trig_a AFTER INSERT ON b_trig FOR EACH ROW EXECUTE FUNCTION b_trig_after();
INSERT INTO b_trig (a) VALUES (1), (2);
SELECT * FROM b_trig ORDER BY a;

-- views, joins with heap and aggregates over lsm
CREATE VIEW b_view AS SELECT id, t FROM b_lsm WHERE id <= 10;
SELECT count(*) FROM b_view;
SELECT count(*) FROM b_lsm l JOIN b_copy c ON c.a = l.id;

DROP TABLE b_lsm, b_default, b_heap_default, b_zero, b_wide_lsm, b_wide_heap,
  b_types_heap, b_types_lsm, b_big_heap, b_big_lsm, b_toast_src, b_toast_lsm,
  b_copy, b_cons, b_gen, b_trig CASCADE;
DROP TYPE b_mood, b_pair, b_floatrange;
DROP DOMAIN b_posint;
