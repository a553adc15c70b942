--
-- lsm_index: every index access method works on lsm tables and returns the
-- same rows as on heap.  btree (index, index-only, bitmap, backward),
-- hash, gist, spgist, gin, brin (lossy bitmap: every matching row),
-- partial and expression indexes, unique / primary key / deferrable
-- constraints (also against rows still buffered in the transaction),
-- exclusion constraints, CREATE INDEX CONCURRENTLY and REINDEX.
--

-- the same data in heap and lsm, the lsm table spread over several segments
CREATE TABLE ix (id int, k int, t text, pt point, bx box, r int4range,
                 arr int[], j jsonb, tsv tsvector, ts timestamp) USING lsm;
CREATE TABLE ix_h (LIKE ix) USING heap;
SET lsm.segment_rows = 1000;
INSERT INTO ix SELECT g, g % 50, 'text' || (g % 700), point(g % 100, g / 100),
  box(point(g % 100, g / 100), point(g % 100 + 2, g / 100 + 2)),
  int4range(g, g + g % 20), ARRAY[g % 10, g % 17, g % 31], jsonb_build_object('a', g % 13, 'b', g % 7),
  to_tsvector('simple', 'w' || (g % 40) || ' x' || (g % 9)), '2020-01-01'::timestamp + g * interval '1 minute'
  FROM generate_series(1, 5000) g;
RESET lsm.segment_rows;
INSERT INTO ix SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL;   -- an all-NULL row
INSERT INTO ix_h SELECT * FROM ix;
SELECT count(*) > 1 AS several_segments FROM lsm.segments('ix');

CREATE UNIQUE INDEX ix_id ON ix (id);          CREATE UNIQUE INDEX ix_h_id ON ix_h (id);
CREATE INDEX ix_k ON ix (k);                   CREATE INDEX ix_h_k ON ix_h (k);
CREATE INDEX ix_t_hash ON ix USING hash (t);   CREATE INDEX ix_h_t_hash ON ix_h USING hash (t);
CREATE INDEX ix_pt ON ix USING gist (pt);      CREATE INDEX ix_h_pt ON ix_h USING gist (pt);
CREATE INDEX ix_bx ON ix USING gist (bx);      CREATE INDEX ix_h_bx ON ix_h USING gist (bx);
CREATE INDEX ix_r ON ix USING gist (r);        CREATE INDEX ix_h_r ON ix_h USING gist (r);
CREATE INDEX ix_pt_sp ON ix USING spgist (pt); CREATE INDEX ix_h_pt_sp ON ix_h USING spgist (pt);
CREATE INDEX ix_arr ON ix USING gin (arr);     CREATE INDEX ix_h_arr ON ix_h USING gin (arr);
CREATE INDEX ix_j ON ix USING gin (j jsonb_path_ops); CREATE INDEX ix_h_j ON ix_h USING gin (j jsonb_path_ops);
CREATE INDEX ix_tsv ON ix USING gin (tsv);     CREATE INDEX ix_h_tsv ON ix_h USING gin (tsv);
CREATE INDEX ix_ts_brin ON ix USING brin (ts) WITH (pages_per_range = 2);
CREATE INDEX ix_h_ts_brin ON ix_h USING brin (ts) WITH (pages_per_range = 2);
CREATE INDEX ix_part ON ix (id) WHERE k = 7;   CREATE INDEX ix_h_part ON ix_h (id) WHERE k = 7;
CREATE INDEX ix_expr ON ix (upper(t));         CREATE INDEX ix_h_expr ON ix_h (upper(t));
ANALYZE ix;
ANALYZE ix_h;

-- same(q): q with %1$s replaced by ix and by ix_h must return the same multiset
CREATE FUNCTION same(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE n bigint; extra bigint; missing bigint;
BEGIN
  EXECUTE format('SELECT count(*) FROM (%s) s', format(q, 'ix')) INTO n;
  EXECUTE format('SELECT count(*) FROM ((%s) EXCEPT ALL (%s)) s', format(q, 'ix'), format(q, 'ix_h')) INTO extra;
  EXECUTE format('SELECT count(*) FROM ((%s) EXCEPT ALL (%s)) s', format(q, 'ix_h'), format(q, 'ix')) INTO missing;
  RETURN format('rows=%s extra=%s missing=%s', n, extra, missing);
END $$;
-- plan(q): the top scan node of q on ix
CREATE FUNCTION plan(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE line text; res text := '';
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || format(q, 'ix') LOOP
    IF line ~ 'Scan|Bitmap(And|Or)' THEN res := res || CASE WHEN res = '' THEN '' ELSE ' / ' END || trim(regexp_replace(line, '->|  +', ' ', 'g')); END IF;
  END LOOP;
  RETURN res;
END $$;

-- plain index scans
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT plan('SELECT id, t FROM %s WHERE id BETWEEN 100 AND 200');
SELECT same('SELECT id, t FROM %s WHERE id BETWEEN 100 AND 200');
SELECT id, k, t FROM ix WHERE id = 4321;
SELECT id FROM ix WHERE id = 999999;
SELECT plan('SELECT id, k FROM %s WHERE k = 3');
SELECT same('SELECT id, k FROM %s WHERE k = 3');
SELECT same('SELECT id FROM %s WHERE k IN (1, 5, 49)');
SELECT same('SELECT id FROM %s WHERE k IS NULL');
SELECT plan('SELECT id FROM %s WHERE id IS NULL'), same('SELECT id FROM %s WHERE id IS NULL');
-- ordered and backward index scans
SELECT plan('SELECT id FROM %s ORDER BY id DESC LIMIT 5');
SELECT id FROM ix ORDER BY id DESC NULLS LAST LIMIT 5;
SELECT id FROM ix WHERE id < 20 ORDER BY id DESC;
BEGIN;
DECLARE ci SCROLL CURSOR FOR SELECT id FROM ix WHERE id BETWEEN 10 AND 15 ORDER BY id;
FETCH LAST FROM ci;
FETCH BACKWARD 2 FROM ci;
FETCH FIRST FROM ci;
COMMIT;
-- index-only scan
SELECT plan('SELECT id FROM %s WHERE id BETWEEN 3000 AND 3010');
SELECT same('SELECT id FROM %s WHERE id BETWEEN 3000 AND 3010');
SELECT count(*), sum(id) FROM ix WHERE id > 4000;
-- hash
SELECT plan('SELECT id FROM %s WHERE t = ''text77''');
SELECT same('SELECT id, t FROM %s WHERE t = ''text77''');
-- gist: points, boxes, ranges; knn ordering
SELECT plan('SELECT id FROM %s WHERE pt <@ box(point(10,10), point(20,20))');
SELECT same('SELECT id FROM %s WHERE pt <@ box(point(10,10), point(20,20))');
SELECT plan('SELECT id FROM %s WHERE bx && box(point(50,5), point(51,6))');
SELECT same('SELECT id FROM %s WHERE bx && box(point(50,5), point(51,6))');
SELECT plan('SELECT id FROM %s WHERE r @> 1234');
SELECT same('SELECT id FROM %s WHERE r @> 1234');
SELECT same('SELECT id FROM %s WHERE r && int4range(100, 110)');
SELECT id, pt FROM ix ORDER BY pt <-> point(33.2, 12.1) LIMIT 3;
-- spgist
SET enable_indexscan = off;
SET enable_bitmapscan = on;
SELECT plan('SELECT id FROM %s WHERE pt << point(3, 0)');
SET enable_indexscan = on;
SET enable_bitmapscan = off;
DROP INDEX ix_pt;
SELECT plan('SELECT id FROM %s WHERE pt >^ point(0, 45)');
SELECT same('SELECT id FROM %s WHERE pt >^ point(0, 45)');
-- gin (bitmap only)
SET enable_bitmapscan = on;
SELECT plan('SELECT id FROM %s WHERE arr @> ''{3,5}''');
SELECT same('SELECT id FROM %s WHERE arr @> ''{3,5}''');
SELECT same('SELECT id FROM %s WHERE arr && ''{16}''');
SELECT plan('SELECT id FROM %s WHERE j @> ''{"a": 4, "b": 2}''');
SELECT same('SELECT id FROM %s WHERE j @> ''{"a": 4, "b": 2}''');
SELECT plan('SELECT id FROM %s WHERE tsv @@ ''w12 & x3''::tsquery');
SELECT same('SELECT id FROM %s WHERE tsv @@ ''w12 & x3''::tsquery');
-- brin: a lossy bitmap scan must still return every matching row
SELECT plan('SELECT id FROM %s WHERE ts BETWEEN ''2020-01-02'' AND ''2020-01-02 12:00''');
SELECT same('SELECT id FROM %s WHERE ts BETWEEN ''2020-01-02'' AND ''2020-01-02 12:00''');
SELECT count(*) FROM ix WHERE ts BETWEEN '2020-01-02' AND '2020-01-02 12:00';
SELECT same('SELECT id FROM %s WHERE ts < ''2020-01-01 00:10''');
SELECT same('SELECT id FROM %s WHERE ts > ''2020-01-04 11:00''');
-- bitmap heap scans over btree, and BitmapAnd / BitmapOr
SET enable_indexscan = off;
SELECT plan('SELECT id FROM %s WHERE k = 3 OR id < 10');
SELECT same('SELECT id FROM %s WHERE k = 3 OR id < 10');
SELECT plan('SELECT id FROM %s WHERE k = 3 AND id BETWEEN 100 AND 4000');
SELECT same('SELECT id FROM %s WHERE k = 3 AND id BETWEEN 100 AND 4000');
-- a bitmap big enough to go lossy
SET work_mem = '64kB';
SELECT same('SELECT id, t FROM %s WHERE k < 40');
RESET work_mem;
RESET enable_indexscan;
-- partial and expression indexes
SELECT plan('SELECT id FROM %s WHERE k = 7 AND id > 100');
SELECT same('SELECT id FROM %s WHERE k = 7 AND id > 100');
SELECT plan('SELECT id FROM %s WHERE upper(t) = ''TEXT5''');
SELECT same('SELECT id FROM %s WHERE upper(t) = ''TEXT5''');

-- indexes see rows inserted later, also rows still buffered in our transaction
BEGIN;
INSERT INTO ix (id, k, t, ts, arr) VALUES (6001, 3, 'text77', '2020-01-02 06:00', '{3,5}');
SET LOCAL enable_bitmapscan = off;
SELECT id FROM ix WHERE id = 6001;
SELECT count(*) FROM ix WHERE t = 'text77';
SET LOCAL enable_bitmapscan = on;
SET LOCAL enable_indexscan = off;
SELECT count(*) FROM ix WHERE arr @> '{3,5}';
SELECT count(*) FROM ix WHERE ts BETWEEN '2020-01-02' AND '2020-01-02 12:00';
ROLLBACK;
SELECT id FROM ix WHERE id = 6001;
INSERT INTO ix (id, k, t) VALUES (6002, 3, 'new');
INSERT INTO ix_h (id, k, t) VALUES (6002, 3, 'new');
SELECT same('SELECT id, t FROM %s WHERE k = 3');
RESET enable_seqscan;
RESET enable_bitmapscan;

-- unique constraint: duplicates are refused, against committed rows,
-- against rows of the same statement and against our buffered rows
INSERT INTO ix (id) VALUES (42);
INSERT INTO ix (id) VALUES (7001), (7001);
BEGIN;
INSERT INTO ix (id) VALUES (7002);
INSERT INTO ix (id) VALUES (7002);
ROLLBACK;
BEGIN;
INSERT INTO ix (id) SELECT g FROM generate_series(8000, 8999) g;
SAVEPOINT s;
INSERT INTO ix (id) VALUES (8500);
ROLLBACK TO SAVEPOINT s;
INSERT INTO ix (id) VALUES (9000);
COMMIT;
SELECT count(*) FROM ix WHERE id BETWEEN 7001 AND 9000;
-- a key from a rolled-back transaction can be inserted again
BEGIN;
INSERT INTO ix (id) VALUES (7003);
ROLLBACK;
INSERT INTO ix (id) VALUES (7003);
-- a key from a rolled-back subtransaction can be inserted again in the same transaction
BEGIN;
SAVEPOINT a;
INSERT INTO ix (id) VALUES (7004);
ROLLBACK TO SAVEPOINT a;
INSERT INTO ix (id) VALUES (7004);
COMMIT;
SELECT id FROM ix WHERE id IN (7001, 7002, 7003, 7004) ORDER BY id;
-- many flushed segments in the transaction, duplicates still found
SET lsm.segment_rows = 64;
BEGIN;
INSERT INTO ix (id) SELECT g FROM generate_series(10000, 10999) g;
INSERT INTO ix (id) VALUES (10001);
ROLLBACK;
RESET lsm.segment_rows;
SELECT count(*) FROM ix WHERE id >= 10000;
-- a unique index can not be built over duplicates
CREATE UNIQUE INDEX ix_k_unique ON ix (k);
-- primary key and UNIQUE NULLS NOT DISTINCT
CREATE TABLE ix_pk (id int PRIMARY KEY, u int UNIQUE NULLS NOT DISTINCT) USING lsm;
INSERT INTO ix_pk VALUES (1, NULL);
INSERT INTO ix_pk VALUES (2, NULL);
INSERT INTO ix_pk VALUES (1, 5);
INSERT INTO ix_pk VALUES (NULL, 5);
INSERT INTO ix_pk VALUES (2, 5);
SELECT * FROM ix_pk ORDER BY id;
-- a deferrable unique constraint is checked at commit
CREATE TABLE ix_def (id int UNIQUE DEFERRABLE INITIALLY DEFERRED) USING lsm;
INSERT INTO ix_def VALUES (1);
BEGIN;
INSERT INTO ix_def VALUES (1);
SELECT count(*) FROM ix_def;
COMMIT;
BEGIN;
INSERT INTO ix_def VALUES (2);
SET CONSTRAINTS ALL IMMEDIATE;
INSERT INTO ix_def VALUES (2);
ROLLBACK;
SELECT * FROM ix_def;

-- exclusion constraint on a range column
CREATE TABLE ix_excl (r int4range, EXCLUDE USING gist (r WITH &&)) USING lsm;
INSERT INTO ix_excl VALUES ('[1,10)'), ('[10,20)');
INSERT INTO ix_excl VALUES ('[5,6)');
INSERT INTO ix_excl VALUES ('[20,30)'), ('[25,26)');
BEGIN;
INSERT INTO ix_excl VALUES ('[30,40)');
INSERT INTO ix_excl VALUES ('[35,36)');
ROLLBACK;
INSERT INTO ix_excl VALUES ('[30,40)');
SELECT * FROM ix_excl ORDER BY r;

-- CREATE INDEX CONCURRENTLY, REINDEX, REINDEX CONCURRENTLY keep the same answers
CREATE INDEX CONCURRENTLY ix_t_conc ON ix (t);
CREATE INDEX CONCURRENTLY ix_h_t_conc ON ix_h (t);
SELECT indisvalid FROM pg_index WHERE indexrelid = 'ix_t_conc'::regclass;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT plan('SELECT id FROM %s WHERE t >= ''text300'' AND t < ''text301''');
SELECT same('SELECT id FROM %s WHERE t >= ''text300'' AND t < ''text301''');
CREATE UNIQUE INDEX CONCURRENTLY ix_k_conc ON ix (k);     -- fails: duplicates
SELECT indisvalid FROM pg_index WHERE indexrelid = 'ix_k_conc'::regclass;
DROP INDEX ix_k_conc;
REINDEX INDEX ix_id;
REINDEX TABLE ix;
REINDEX TABLE CONCURRENTLY ix;
SELECT same('SELECT id, t FROM %s WHERE id BETWEEN 1000 AND 1100');
SELECT same('SELECT id FROM %s WHERE r @> 77');
SET enable_indexscan = off;
SET enable_bitmapscan = on;
SELECT same('SELECT id FROM %s WHERE ts BETWEEN ''2020-01-03'' AND ''2020-01-03 03:00''');
SELECT same('SELECT id FROM %s WHERE arr @> ''{9}''');
-- BRIN summarisation of ranges added after the index was built
INSERT INTO ix (id, ts) SELECT g, '2021-01-01'::timestamp + g * interval '1 second' FROM generate_series(20000, 20999) g;
SELECT brin_summarize_new_values('ix_ts_brin') >= 0 AS summarized;
SELECT count(*) FROM ix WHERE ts >= '2021-01-01';
SELECT brin_desummarize_range('ix_ts_brin', 0);
SELECT count(*) FROM ix WHERE ts < '2020-01-01 01:00';
RESET enable_indexscan;
RESET enable_bitmapscan;
RESET enable_seqscan;
-- indexes and segments agree
SELECT rows_checked = (SELECT count(*) FROM ix) AS verify_ok FROM lsm.verify('ix');

-- point fetches by index decode a row's columns only when something reads
-- them (docs/ARCHITECTURE.md, "Read path"): each row read must still be
-- the row fetched, however the slot is read, copied or kept, with two
-- fetches of the same table alive at once, and with columns added later
CREATE TABLE dd (id int PRIMARY KEY, a text, b int) USING lsm;
INSERT INTO dd SELECT g, repeat(chr(65 + g % 26), 1 + g % 7), g * 10
  FROM generate_series(1, 3000) g;
ALTER TABLE dd ADD COLUMN c text DEFAULT 'added';
INSERT INTO dd VALUES (3001, 'new', 30010, 'own');
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SET enable_hashjoin = off;
SET enable_mergejoin = off;
-- both sides are index fetches of dd, read after each other
SELECT x.id, x.a, x.b, y.id, y.a, y.b, y.c
  FROM dd x JOIN dd y ON y.id = x.id + 1000
 WHERE x.id IN (5, 1500, 2001) ORDER BY x.id;
-- copied into a sort, then read
SELECT id, a, b, c FROM dd WHERE id IN (7, 2999, 3001) ORDER BY a DESC;
-- a row no column of which is read, and one read only for a system column
SELECT count(*) FROM dd WHERE id BETWEEN 100 AND 199;
SELECT ctid = ctid AS same FROM dd WHERE id = 42;
-- DELETE reads no column; UPDATE and DELETE ... RETURNING read them all
DELETE FROM dd WHERE id = 10;
UPDATE dd SET b = b + 1 WHERE id = 11 RETURNING id, a, b, c;
DELETE FROM dd WHERE id = 12 RETURNING id, a, b, c;
BEGIN;
UPDATE dd SET a = a || '!' WHERE id IN (13, 14) RETURNING id, a, b, c;
DELETE FROM dd WHERE id = 3001 RETURNING *;
SELECT id, a, b, c FROM dd WHERE id BETWEEN 9 AND 15 ORDER BY id;
ROLLBACK;
SELECT id, a, b, c FROM dd WHERE id BETWEEN 9 AND 15 ORDER BY id;
RESET enable_seqscan;
RESET enable_bitmapscan;
RESET enable_hashjoin;
RESET enable_mergejoin;
SELECT count(*), sum(b), count(DISTINCT a) FROM dd;
DROP TABLE dd;

-- documented difference from heap: index scans do not mark the entries of
-- rolled-back rows dead (heap's would, and btree would then remove them);
-- the index keeps them, the rows stay invisible, and VACUUM removes them
CREATE TABLE ix_rb (id int PRIMARY KEY) USING lsm;
INSERT INTO ix_rb SELECT generate_series(1, 100);
SELECT pg_relation_size('ix_rb_pkey') AS rb0 \gset
DO $$
BEGIN
  FOR i IN 1..20 LOOP
    BEGIN
      PERFORM count(*) FROM ix_rb WHERE id BETWEEN 1000 AND 1999;
      INSERT INTO ix_rb SELECT g FROM generate_series(1000, 1999) g;
      RAISE reading_sql_data_not_permitted;
    EXCEPTION WHEN reading_sql_data_not_permitted THEN
    END;
  END LOOP;
END $$;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT count(*) FROM ix_rb WHERE id BETWEEN 1000 AND 1999;
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT pg_relation_size('ix_rb_pkey') > :rb0 AS index_grew;
VACUUM (VERBOSE) ix_rb;
SELECT count(*) FROM ix_rb;

DROP TABLE ix, ix_h, ix_pk, ix_def, ix_excl, ix_rb;
DROP FUNCTION same(text), plan(text);
