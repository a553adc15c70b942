--
-- lsm_dml: UPDATE, DELETE and row locks on lsm tables behave exactly like
-- heap (this file's expected output was produced by running it on heap).
-- Covered: DELETE / UPDATE with and without indexes, RETURNING of old and
-- new values, UPDATE ... FROM, DELETE ... USING, WHERE CURRENT OF, rows
-- written earlier in the same transaction, savepoints and ROLLBACK (rows
-- come back), a row reached twice by one statement through a join,
-- repeated updates of one row, seq / index / index-only / bitmap scans
-- returning only the newest row versions, unique indexes, row triggers
-- with OLD/NEW and transition tables, MERGE, INSERT ... ON CONFLICT DO
-- UPDATE / DO NOTHING, foreign keys with the lsm table on either side
-- (NO ACTION, CASCADE, SET NULL, deferred), deferrable unique constraints,
-- partition-moving updates (lsm -> lsm, lsm <-> heap), VACUUM / ANALYZE /
-- VACUUM FULL / TRUNCATE after deletes, two-phase commit, and every row
-- lock strength (with NOWAIT and SKIP LOCKED) in a single session.
-- Tables get the lsm access method from default_table_access_method;
-- tables created USING heap are heap copies to compare against.
--
SET default_table_access_method = lsm;

-- same(q): q with %1$s replaced by the lsm table and %2$s by its heap copy
-- must return the same multiset of rows (extra / missing rows are counted)
CREATE FUNCTION same(q text, t text, h text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE n bigint; extra bigint; missing bigint;
BEGIN
  EXECUTE format('SELECT count(*) FROM (%s) s', format(q, t)) INTO n;
  EXECUTE format('SELECT count(*) FROM ((%s) EXCEPT ALL (%s)) s', format(q, t), format(q, h)) INTO extra;
  EXECUTE format('SELECT count(*) FROM ((%s) EXCEPT ALL (%s)) s', format(q, h), format(q, t)) INTO missing;
  RETURN format('rows=%s extra=%s missing=%s', n, extra, missing);
END $$;
-- scan_nodes(q): the scan nodes of q's plan, to show which path was forced
CREATE FUNCTION scan_nodes(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE line text; res text := '';
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
    IF line ~ 'Scan' THEN
      res := res || CASE WHEN res = '' THEN '' ELSE ' / ' END
             || trim(regexp_replace(regexp_replace(line, ' on .*$', ''), '->|  +', ' ', 'g'));
    END IF;
  END LOOP;
  RETURN res;
END $$;

--
-- DELETE and UPDATE basics, the same statements on lsm (d) and heap (d_h)
--
CREATE TABLE d (id int, k int, v text, n numeric);
CREATE TABLE d_h (id int, k int, v text, n numeric) USING heap;
INSERT INTO d SELECT g, g % 10, 'v' || g, g * 1.5 FROM generate_series(1, 1000) g;
INSERT INTO d_h SELECT * FROM d;
-- delete some rows (no index: sequential scan)
DELETE FROM d WHERE k = 3;
DELETE FROM d_h WHERE k = 3;
SELECT count(*), sum(id), count(*) FILTER (WHERE k = 3) AS k3 FROM d;
-- update one column, then several, then to NULL
UPDATE d SET v = v || '+' WHERE id % 7 = 0;
UPDATE d_h SET v = v || '+' WHERE id % 7 = 0;
UPDATE d SET n = n * 2, k = k + 100 WHERE id BETWEEN 100 AND 150;
UPDATE d_h SET n = n * 2, k = k + 100 WHERE id BETWEEN 100 AND 150;
UPDATE d SET v = NULL WHERE id IN (5, 6);
UPDATE d_h SET v = NULL WHERE id IN (5, 6);
SELECT id, k, v, n FROM d WHERE id BETWEEN 1 AND 16 OR id BETWEEN 98 AND 103 ORDER BY id;
SELECT same('SELECT * FROM %s', 'd', 'd_h');
-- an UPDATE and a DELETE that match nothing
UPDATE d SET v = 'never' WHERE id > 5000;
DELETE FROM d WHERE id < 0;
-- an UPDATE that sets every column to its own value keeps the row
UPDATE d SET v = v, n = n WHERE id = 1;
SELECT id, k, v, n FROM d WHERE id = 1;
-- a wide value: update a row to a large (toasted on heap) text and back
UPDATE d SET v = repeat('x', 20000) || id WHERE id = 2;
SELECT id, length(v), md5(v) FROM d WHERE id = 2;
UPDATE d SET v = 'v2' WHERE id = 2;
SELECT id, v FROM d WHERE id = 2;
-- a column added later (attmissingval) can be updated
ALTER TABLE d ADD COLUMN extra text DEFAULT 'dflt';
UPDATE d SET extra = 'set' WHERE id IN (1, 4);
SELECT id, extra FROM d WHERE id <= 4 ORDER BY id;
SELECT extra, count(*) FROM d GROUP BY extra ORDER BY extra;
ALTER TABLE d DROP COLUMN extra;

-- RETURNING: old values (DELETE), new values (UPDATE), expressions
DELETE FROM d WHERE id = 10 RETURNING id, k, v, n;
UPDATE d SET n = n + 1000, v = 'r' || id WHERE id = 11 RETURNING id, v, n, n - 1000 AS old_n;
WITH u AS (UPDATE d SET v = upper(v) WHERE id BETWEEN 20 AND 25 RETURNING id, v)
SELECT * FROM u ORDER BY id;
WITH x AS (DELETE FROM d WHERE id BETWEEN 30 AND 35 RETURNING *)
SELECT id, k, v, n FROM x ORDER BY id;
-- the old value is readable in RETURNING through a self-join on the key
UPDATE d SET v = 'new' FROM d AS old WHERE d.id = 12 AND old.id = d.id
  RETURNING d.id, old.v AS old_v, d.v AS new_v;
-- a data-modifying CTE that moves rows into an archive table
CREATE TABLE d_arch (id int, v text);
WITH moved AS (DELETE FROM d WHERE id BETWEEN 40 AND 44 RETURNING id, v)
INSERT INTO d_arch SELECT id, v FROM moved;
SELECT id, v FROM d_arch ORDER BY id;
SELECT count(*) FROM d WHERE id BETWEEN 40 AND 44;

-- UPDATE ... FROM and DELETE ... USING, with a heap and with an lsm source
CREATE TABLE src_h (id int, nv text) USING heap;
INSERT INTO src_h VALUES (50, 'from heap'), (51, 'from heap'), (9999, 'no target');
CREATE TABLE src_l (id int, nv text);
INSERT INTO src_l VALUES (52, 'from lsm'), (53, 'from lsm');
UPDATE d SET v = s.nv FROM src_h s WHERE d.id = s.id;
UPDATE d SET v = s.nv FROM src_l s WHERE d.id = s.id;
SELECT id, v FROM d WHERE id BETWEEN 50 AND 54 ORDER BY id;
DELETE FROM d USING src_h s WHERE d.id = s.id + 10;
DELETE FROM d USING src_l s WHERE d.id = s.id + 10;
SELECT id FROM d WHERE id BETWEEN 59 AND 64 ORDER BY id;
-- a row reached twice through a join is deleted / updated only once
INSERT INTO src_h VALUES (70, 'dup'), (70, 'dup'), (71, 'dup');
WITH x AS (DELETE FROM d USING src_h s WHERE d.id = s.id AND s.nv = 'dup' RETURNING d.id)
SELECT id, count(*) FROM x GROUP BY id ORDER BY id;
INSERT INTO src_h VALUES (72, 'dup2'), (72, 'dup2');
WITH x AS (UPDATE d SET n = n + 1 FROM src_h s WHERE d.id = s.id AND s.nv = 'dup2' RETURNING d.id, d.n)
SELECT id, n, count(*) FROM x GROUP BY id, n ORDER BY id;
SELECT id, n FROM d WHERE id BETWEEN 70 AND 72 ORDER BY id;

-- WHERE CURRENT OF: a plain cursor (index-free single row) and a FOR UPDATE cursor
BEGIN;
DECLARE c1 CURSOR FOR SELECT id, v FROM d WHERE id = 80;
FETCH 1 FROM c1;
UPDATE d SET v = 'current' WHERE CURRENT OF c1 RETURNING id, v;
CLOSE c1;
DECLARE c2 CURSOR FOR SELECT id, v FROM d WHERE id BETWEEN 81 AND 85 ORDER BY id FOR UPDATE;
FETCH 2 FROM c2;
DELETE FROM d WHERE CURRENT OF c2 RETURNING id;
FETCH 1 FROM c2;
UPDATE d SET v = 'cur2' WHERE CURRENT OF c2 RETURNING id, v;
CLOSE c2;
COMMIT;
SELECT id, v FROM d WHERE id BETWEEN 80 AND 85 ORDER BY id;
-- repeated WHERE CURRENT OF through a cursor still on the first version:
-- each statement reaches the newest version (the one in between is
-- deleted for us), as on heap
CREATE TABLE uc (f1 int, f2 text) USING lsm;
INSERT INTO uc VALUES (1, 'one'), (3, 'three');
BEGIN;
DECLARE c3 CURSOR FOR SELECT * FROM uc WHERE f1 = 3;
FETCH c3;
UPDATE uc SET f1 = f1 + 10 WHERE CURRENT OF c3 RETURNING *;
UPDATE uc SET f1 = f1 + 10 WHERE CURRENT OF c3 RETURNING *;
UPDATE uc SET f1 = f1 + 10 WHERE CURRENT OF c3 RETURNING *;
FETCH RELATIVE 0 FROM c3;
DELETE FROM uc WHERE CURRENT OF c3 RETURNING *;
DELETE FROM uc WHERE CURRENT OF c3;  -- no-op
SELECT * FROM uc ORDER BY f1;
ROLLBACK;
SELECT * FROM uc ORDER BY f1;
DROP TABLE uc;

-- after all this, lsm and heap copies still agree (the same statements were
-- applied to d_h only in the first block; replay the rest on d_h)
UPDATE d_h SET v = v, n = n WHERE id = 1;
DELETE FROM d_h WHERE id = 10;
UPDATE d_h SET n = n + 1000, v = 'r' || id WHERE id = 11;
UPDATE d_h SET v = 'new' WHERE id = 12;
UPDATE d_h SET v = upper(v) WHERE id BETWEEN 20 AND 25;
DELETE FROM d_h WHERE id BETWEEN 30 AND 35 OR id BETWEEN 40 AND 44;
UPDATE d_h SET v = s.nv FROM src_h s WHERE d_h.id = s.id AND s.nv = 'from heap';
UPDATE d_h SET v = s.nv FROM src_l s WHERE d_h.id = s.id;
DELETE FROM d_h WHERE id IN (60, 61, 62, 63, 70, 71);
UPDATE d_h SET n = n + 1 WHERE id = 72;
UPDATE d_h SET v = 'current' WHERE id = 80;
DELETE FROM d_h WHERE id = 82;
UPDATE d_h SET v = 'cur2' WHERE id = 84;
SELECT same('SELECT * FROM %s', 'd', 'd_h');

--
-- transactions: own rows, savepoints, rollback
--
CREATE TABLE t (id int, v text);
INSERT INTO t SELECT g, 'base' FROM generate_series(1, 20) g;
-- update and delete rows inserted earlier in the same transaction
BEGIN;
INSERT INTO t SELECT g, 'tx' FROM generate_series(101, 110) g;
UPDATE t SET v = 'tx upd' WHERE id BETWEEN 101 AND 103;
DELETE FROM t WHERE id BETWEEN 104 AND 106;
-- ... including a row updated twice and then deleted
UPDATE t SET v = 'once' WHERE id = 107;
UPDATE t SET v = v || ' twice' WHERE id = 107;
SELECT id, v FROM t WHERE id > 100 ORDER BY id;
DELETE FROM t WHERE id = 107;
COMMIT;
SELECT id, v FROM t WHERE id > 100 ORDER BY id;
-- the same committed row updated twice in one transaction, then once more
BEGIN;
UPDATE t SET v = 'a' WHERE id = 1;
UPDATE t SET v = v || 'b' WHERE id = 1;
SELECT id, v FROM t WHERE id = 1;
COMMIT;
UPDATE t SET v = v || 'c' WHERE id = 1;
SELECT id, v FROM t WHERE id = 1;
-- a statement does not see its own updates: every row is updated exactly once
UPDATE t SET id = id + 1000 WHERE id <= 20;
SELECT count(*), min(id), max(id) FROM t WHERE id > 1000;
UPDATE t SET id = id - 1000 WHERE id > 1000;
-- rolled-back DELETE and UPDATE: the rows come back unchanged
BEGIN;
DELETE FROM t WHERE id <= 10;
UPDATE t SET v = 'rolled back' WHERE id > 10;
SELECT count(*) FROM t WHERE id <= 20;
ROLLBACK;
SELECT id, v FROM t WHERE id <= 20 ORDER BY id;
-- savepoints: a rolled-back savepoint undoes its deletes and updates only
BEGIN;
DELETE FROM t WHERE id = 2;
SAVEPOINT s1;
DELETE FROM t WHERE id = 3;
UPDATE t SET v = 'in s1' WHERE id = 4;
SAVEPOINT s2;
UPDATE t SET v = 'in s2' WHERE id = 4;
DELETE FROM t WHERE id = 5;
SELECT id, v FROM t WHERE id <= 6 ORDER BY id;
ROLLBACK TO SAVEPOINT s2;
SELECT id, v FROM t WHERE id <= 6 ORDER BY id;
ROLLBACK TO SAVEPOINT s1;
SELECT id, v FROM t WHERE id <= 6 ORDER BY id;
SAVEPOINT s3;
UPDATE t SET v = 'in s3' WHERE id = 6;
RELEASE SAVEPOINT s3;
COMMIT;
SELECT id, v FROM t WHERE id <= 6 ORDER BY id;
-- a savepoint that updates a row inserted before it, then is rolled back
BEGIN;
INSERT INTO t VALUES (200, 'ins');
SAVEPOINT s;
UPDATE t SET v = 'upd in sp' WHERE id = 200;
DELETE FROM t WHERE id = 7;
ROLLBACK TO SAVEPOINT s;
SELECT id, v FROM t WHERE id IN (7, 200) ORDER BY id;
COMMIT;
SELECT id, v FROM t WHERE id IN (7, 200) ORDER BY id;
-- an error inside a PL/pgSQL exception block undoes that block's update
DO $$
BEGIN
  UPDATE t SET v = 'outer' WHERE id = 8;
  BEGIN
    UPDATE t SET v = 'inner' WHERE id = 9;
    DELETE FROM t WHERE id = 10;
    PERFORM 1 / 0;
  EXCEPTION WHEN division_by_zero THEN
    RAISE NOTICE 'caught; rows 9, 10 now: %',
      (SELECT string_agg(id || '=' || v, ', ' ORDER BY id) FROM t WHERE id IN (9, 10));
  END;
END $$;
SELECT id, v FROM t WHERE id BETWEEN 8 AND 10 ORDER BY id;
-- a cursor keeps its snapshot across a later DELETE in the same transaction
BEGIN;
DECLARE c CURSOR FOR SELECT id FROM t WHERE id BETWEEN 11 AND 14 ORDER BY id;
FETCH 1 FROM c;
DELETE FROM t WHERE id BETWEEN 11 AND 14;
FETCH ALL FROM c;
SELECT count(*) FROM t WHERE id BETWEEN 11 AND 14;
ROLLBACK;
SELECT count(*) FROM t WHERE id BETWEEN 11 AND 14;

--
-- indexes: every scan type returns only the newest versions
--
CREATE TABLE ix (id int, k int, t text);
CREATE TABLE ix_h (id int, k int, t text) USING heap;
INSERT INTO ix SELECT g, g % 20, 't' || (g % 50) FROM generate_series(1, 2000) g;
INSERT INTO ix_h SELECT * FROM ix;
CREATE UNIQUE INDEX ix_id ON ix (id);    CREATE UNIQUE INDEX ix_h_id ON ix_h (id);
CREATE INDEX ix_k ON ix (k);             CREATE INDEX ix_h_k ON ix_h (k);
CREATE INDEX ix_t ON ix USING hash (t);  CREATE INDEX ix_h_t ON ix_h USING hash (t);
-- update an indexed column, a non-indexed column, delete some rows
UPDATE ix SET k = k + 100 WHERE id % 3 = 0;     UPDATE ix_h SET k = k + 100 WHERE id % 3 = 0;
UPDATE ix SET t = t || 'u' WHERE id % 5 = 0;    UPDATE ix_h SET t = t || 'u' WHERE id % 5 = 0;
UPDATE ix SET id = id + 10000 WHERE id % 11 = 0; UPDATE ix_h SET id = id + 10000 WHERE id % 11 = 0;
DELETE FROM ix WHERE id % 7 = 0;                DELETE FROM ix_h WHERE id % 7 = 0;
-- ... and update a few rows several times
UPDATE ix SET k = k + 1000 WHERE id BETWEEN 1 AND 4;   UPDATE ix_h SET k = k + 1000 WHERE id BETWEEN 1 AND 4;
UPDATE ix SET k = k + 1000 WHERE id BETWEEN 1 AND 4;   UPDATE ix_h SET k = k + 1000 WHERE id BETWEEN 1 AND 4;
ANALYZE ix;
ANALYZE ix_h;
-- sequential scan
SET enable_indexscan = off;
SET enable_bitmapscan = off;
SELECT scan_nodes('SELECT id, k FROM ix WHERE k = 5');
SELECT same('SELECT id, k, t FROM %s WHERE k = 5', 'ix', 'ix_h');
SELECT same('SELECT * FROM %s', 'ix', 'ix_h');
-- index scan (btree, hash)
RESET enable_indexscan;
SET enable_seqscan = off;
SELECT scan_nodes('SELECT id, k FROM ix WHERE k = 5');
SELECT id, k, t FROM ix WHERE k = 5 ORDER BY id LIMIT 5;
SELECT same('SELECT id, k, t FROM %s WHERE k = 5', 'ix', 'ix_h');
SELECT same('SELECT id, k, t FROM %s WHERE k = 105', 'ix', 'ix_h');
SELECT id, k FROM ix WHERE k > 1000 ORDER BY id;
SELECT id, k, t FROM ix WHERE id IN (3, 7, 22, 10022, 10077) ORDER BY id;
SELECT scan_nodes('SELECT id FROM ix WHERE t = ''t10u''');
SELECT same('SELECT id, t FROM %s WHERE t = ''t10u''', 'ix', 'ix_h');
SELECT same('SELECT id, t FROM %s WHERE t = ''t11''', 'ix', 'ix_h');
-- index-only scan (the visibility map is not all-visible after updates)
SELECT scan_nodes('SELECT id FROM ix WHERE id BETWEEN 1 AND 100');
SELECT same('SELECT id FROM %s WHERE id BETWEEN 1 AND 100', 'ix', 'ix_h');
SELECT count(*) FROM ix WHERE id > 10000;
-- bitmap scan
SET enable_indexscan = off;
SET enable_bitmapscan = on;
SELECT scan_nodes('SELECT id, k FROM ix WHERE k IN (5, 105)');
SELECT same('SELECT id, k, t FROM %s WHERE k IN (5, 105)', 'ix', 'ix_h');
SELECT same('SELECT id, k, t FROM %s WHERE k = 7 OR id < 30', 'ix', 'ix_h');
-- UPDATE and DELETE driven by an index scan and by a bitmap scan
SET enable_indexscan = on;
SET enable_bitmapscan = off;
SELECT scan_nodes('UPDATE ix SET t = ''by index'' WHERE id = 5');
UPDATE ix SET t = 'by index' WHERE id = 5 RETURNING id, k, t;
DELETE FROM ix WHERE id = 6 RETURNING id, k, t;
SET enable_indexscan = off;
SET enable_bitmapscan = on;
SELECT scan_nodes('UPDATE ix SET t = ''by bitmap'' WHERE k = 13');
WITH u AS (UPDATE ix SET t = 'by bitmap' WHERE k = 13 RETURNING id) SELECT count(*), sum(id) FROM u;
WITH x AS (DELETE FROM ix WHERE k = 14 RETURNING id) SELECT count(*), sum(id) FROM x;
UPDATE ix_h SET t = 'by index' WHERE id = 5;
DELETE FROM ix_h WHERE id = 6;
UPDATE ix_h SET t = 'by bitmap' WHERE k = 13;
DELETE FROM ix_h WHERE k = 14;
RESET enable_seqscan;
RESET enable_indexscan;
RESET enable_bitmapscan;
SELECT same('SELECT * FROM %s', 'ix', 'ix_h');
-- updated rows inside a transaction are found through the index by their new key only
BEGIN;
UPDATE ix SET k = 555 WHERE id = 8;
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
SELECT id, k FROM ix WHERE k = 555 ORDER BY id;
SELECT id, k FROM ix WHERE id = 8;
SELECT count(*) FROM ix WHERE k = 8 AND id = 8;
ROLLBACK;
SELECT id, k FROM ix WHERE id = 8;

-- unique index: duplicates are refused, keys freed by DELETE / UPDATE can be reused
UPDATE ix SET id = 1 WHERE id = 2;
SELECT id, k FROM ix WHERE id IN (1, 2) ORDER BY id;
BEGIN;
DELETE FROM ix WHERE id = 1;
UPDATE ix SET id = 1 WHERE id = 2;
UPDATE ix SET id = 2 WHERE id = 3;
SELECT id, k, t FROM ix WHERE id IN (1, 2, 3) ORDER BY id;
COMMIT;
SELECT id, k, t FROM ix WHERE id IN (1, 2, 3) ORDER BY id;
BEGIN;
UPDATE ix SET id = 3 WHERE id = 2;
INSERT INTO ix VALUES (2, 0, 'reinserted');
SELECT id, k, t FROM ix WHERE id IN (1, 2, 3) ORDER BY id;
ROLLBACK;
INSERT INTO ix VALUES (1, 0, 'dup');
-- a savepoint that deleted and re-inserted a key is rolled back: the old row
-- is back, so inserting its key again fails
BEGIN;
SAVEPOINT s;
DELETE FROM ix WHERE id = 4;
INSERT INTO ix VALUES (4, 0, 'in sp');
ROLLBACK TO SAVEPOINT s;
INSERT INTO ix VALUES (4, 0, 'after sp');
ROLLBACK;
SELECT id, k, t FROM ix WHERE id = 4;

--
-- triggers: BEFORE / AFTER ROW UPDATE / DELETE see OLD and NEW,
-- statement triggers see transition tables
--
CREATE TABLE tr (id int, v text, n int);
INSERT INTO tr SELECT g, 'v' || g, g FROM generate_series(1, 10) g;
CREATE TABLE tr_log (what text, old_row text, new_row text);
CREATE FUNCTION tr_before() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO tr_log VALUES ('before ' || lower(TG_OP), OLD::text,
                             CASE WHEN TG_OP = 'UPDATE' THEN NEW::text END);
  IF TG_OP = 'DELETE' THEN
    IF OLD.v = 'keep' THEN RETURN NULL; END IF;   -- skip the delete
    RETURN OLD;
  END IF;
  IF NEW.v = 'skip' THEN RETURN NULL; END IF;     -- skip the update
  NEW.n := NEW.n * 10;                            -- change the new row
  RETURN NEW;
END $$;
CREATE FUNCTION tr_after() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO tr_log VALUES ('after ' || lower(TG_OP), OLD::text,
                             CASE WHEN TG_OP = 'UPDATE' THEN NEW::text END);
  RETURN NULL;
END $$;
CREATE FUNCTION tr_upd_stmt() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE NOTICE 'update statement: old %, new %',
    (SELECT string_agg(format('%s/%s/%s', id, v, n), ' ' ORDER BY id) FROM old_rows),
    (SELECT string_agg(format('%s/%s/%s', id, v, n), ' ' ORDER BY id) FROM new_rows);
  RETURN NULL;
END $$;
CREATE FUNCTION tr_del_stmt() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE NOTICE 'delete statement: old %',
    (SELECT string_agg(format('%s/%s/%s', id, v, n), ' ' ORDER BY id) FROM old_rows);
  RETURN NULL;
END $$;
CREATE TRIGGER tr_b BEFORE UPDATE OR DELETE ON tr FOR EACH ROW EXECUTE FUNCTION tr_before();
CREATE TRIGGER tr_a AFTER UPDATE OR DELETE ON tr FOR EACH ROW EXECUTE FUNCTION tr_after();
CREATE TRIGGER tr_us AFTER UPDATE ON tr REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION tr_upd_stmt();
CREATE TRIGGER tr_ds AFTER DELETE ON tr REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION tr_del_stmt();
-- a BEFORE trigger changes NEW (n * 10), RETURNING shows the stored row
WITH u AS (UPDATE tr SET v = 'u' || id WHERE id IN (1, 2) RETURNING id, v, n)
SELECT * FROM u ORDER BY id;
-- a BEFORE trigger skips one of the updates
UPDATE tr SET v = CASE WHEN id = 3 THEN 'skip' ELSE 'w' END WHERE id IN (3, 4);
-- deletes, one skipped by the BEFORE trigger
UPDATE tr SET v = 'keep' WHERE id = 5;
DELETE FROM tr WHERE id IN (5, 6, 7);
-- nothing matched: statement triggers still fire with empty transition tables
UPDATE tr SET v = 'none' WHERE id > 100;
DELETE FROM tr WHERE id > 100;
SELECT what, old_row, new_row FROM tr_log ORDER BY what, old_row, new_row;
SELECT id, v, n FROM tr ORDER BY id;
-- a rolled-back update leaves neither rows nor log entries
TRUNCATE tr_log;
BEGIN;
UPDATE tr SET v = 'rb' WHERE id = 8;
ROLLBACK;
SELECT count(*) FROM tr_log;
SELECT id, v, n FROM tr WHERE id = 8;
-- an AFTER trigger that updates another lsm table (a counter)
CREATE TABLE tr_count (deleted int);
INSERT INTO tr_count VALUES (0);
CREATE FUNCTION tr_counter() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN UPDATE tr_count SET deleted = deleted + 1; RETURN NULL; END $$;
CREATE TRIGGER tr_c AFTER DELETE ON tr FOR EACH ROW EXECUTE FUNCTION tr_counter();
DELETE FROM tr WHERE id >= 8;
SELECT deleted FROM tr_count;
DROP TABLE tr, tr_log, tr_count;
DROP FUNCTION tr_before(), tr_after(), tr_upd_stmt(), tr_del_stmt(), tr_counter();

--
-- MERGE: matched update / delete, not matched insert
--
CREATE TABLE m (id int PRIMARY KEY, v text, n int);
INSERT INTO m SELECT g, 'm' || g, g FROM generate_series(1, 10) g;
CREATE TABLE m_src (id int, v text, op text) USING heap;
INSERT INTO m_src VALUES (1, 'upd', 'u'), (2, 'del', 'd'), (3, 'upd', 'u'),
  (4, 'nothing', 'n'), (20, 'ins', 'i'), (21, 'ins', 'i');
MERGE INTO m USING m_src s ON m.id = s.id
  WHEN MATCHED AND s.op = 'd' THEN DELETE
  WHEN MATCHED AND s.op = 'u' THEN UPDATE SET v = s.v, n = m.n + 100
  WHEN MATCHED THEN DO NOTHING
  WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.v, 0);
SELECT id, v, n FROM m ORDER BY id;
-- MERGE with an lsm source, again over rows it changed before
CREATE TABLE m_src2 (id int, v text);
INSERT INTO m_src2 VALUES (1, 'again'), (2, 'back'), (5, 'again');
MERGE INTO m USING m_src2 s ON m.id = s.id
  WHEN MATCHED THEN UPDATE SET v = s.v
  WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.v, -1);
SELECT id, v, n FROM m WHERE id <= 5 ORDER BY id;
-- MERGE touching a target row twice is an error, and changes nothing
INSERT INTO m_src2 VALUES (5, 'twice');
MERGE INTO m USING m_src2 s ON m.id = s.id
  WHEN MATCHED THEN UPDATE SET v = s.v;
SELECT id, v FROM m WHERE id IN (1, 5) ORDER BY id;
-- MERGE in a transaction after own updates, then rolled back
BEGIN;
UPDATE m SET n = 0 WHERE id = 6;
MERGE INTO m USING (VALUES (6), (7)) s(id) ON m.id = s.id
  WHEN MATCHED AND m.n = 0 THEN DELETE
  WHEN MATCHED THEN UPDATE SET n = m.n + 1;
SELECT id, v, n FROM m WHERE id IN (6, 7) ORDER BY id;
ROLLBACK;
SELECT id, v, n FROM m WHERE id IN (6, 7) ORDER BY id;

--
-- INSERT ... ON CONFLICT
--
CREATE TABLE oc (id int PRIMARY KEY, v text, hits int DEFAULT 1);
INSERT INTO oc VALUES (1, 'a'), (2, 'b'), (3, 'c');
-- DO UPDATE with EXCLUDED and RETURNING
INSERT INTO oc VALUES (1, 'a2'), (4, 'd') ON CONFLICT (id)
  DO UPDATE SET v = oc.v || '+' || excluded.v, hits = oc.hits + 1 RETURNING id, v, hits;
-- DO UPDATE ... WHERE: only rows passing the condition are updated (or returned)
INSERT INTO oc VALUES (1, 'x'), (2, 'x') ON CONFLICT (id)
  DO UPDATE SET v = excluded.v, hits = oc.hits + 1 WHERE oc.hits > 1 RETURNING id, v, hits;
INSERT INTO oc VALUES (3, 'never') ON CONFLICT (id) DO UPDATE SET v = excluded.v WHERE false
  RETURNING id, v;
-- DO NOTHING, with and without a conflict target
INSERT INTO oc VALUES (2, 'nothing'), (5, 'e') ON CONFLICT DO NOTHING RETURNING id, v;
INSERT INTO oc VALUES (2, 'nothing') ON CONFLICT (id) DO NOTHING RETURNING id, v;
-- on a conflict with a constraint name
INSERT INTO oc VALUES (5, 'e2') ON CONFLICT ON CONSTRAINT oc_pkey DO UPDATE SET v = excluded.v
  RETURNING id, v, hits;
-- the same key twice in one command cannot be updated twice
INSERT INTO oc VALUES (6, 'f'), (6, 'g') ON CONFLICT (id) DO UPDATE SET v = excluded.v;
-- against rows inserted and updated earlier in the same transaction
BEGIN;
INSERT INTO oc VALUES (7, 'g');
INSERT INTO oc VALUES (7, 'g2') ON CONFLICT (id) DO UPDATE SET v = excluded.v, hits = oc.hits + 1;
UPDATE oc SET v = 'g3' WHERE id = 7;
INSERT INTO oc VALUES (7, 'g4') ON CONFLICT (id) DO UPDATE SET v = oc.v || excluded.v, hits = oc.hits + 1
  RETURNING id, v, hits;
DELETE FROM oc WHERE id = 7;
INSERT INTO oc VALUES (7, 'g5') ON CONFLICT (id) DO UPDATE SET v = 'not this'
  RETURNING id, v, hits;
COMMIT;
-- the updated key: DO UPDATE can change the conflicting key itself
INSERT INTO oc VALUES (4, 'x') ON CONFLICT (id) DO UPDATE SET id = 40 RETURNING id, v;
INSERT INTO oc VALUES (4, 'new 4') ON CONFLICT (id) DO UPDATE SET v = 'no' RETURNING id, v;
SELECT id, v, hits FROM oc ORDER BY id;
-- an upsert counter: many upserts of a few keys
INSERT INTO oc SELECT 100 + g % 3, 'cnt', 1 FROM generate_series(1, 3) g ON CONFLICT DO NOTHING;
DO $$ BEGIN
  FOR i IN 1 .. 30 LOOP
    INSERT INTO oc VALUES (100 + i % 3, 'cnt') ON CONFLICT (id) DO UPDATE SET hits = oc.hits + 1;
  END LOOP;
END $$;
SELECT id, v, hits FROM oc WHERE id >= 100 ORDER BY id;

--
-- foreign keys with lsm on both sides
--
CREATE TABLE fk_parent (id int PRIMARY KEY, name text);
CREATE TABLE fk_child (cid int PRIMARY KEY, pid int REFERENCES fk_parent (id), note text);
INSERT INTO fk_parent SELECT g, 'p' || g FROM generate_series(1, 5) g;
-- referencing side: inserts and updates of the child are checked
INSERT INTO fk_child VALUES (1, 1, 'ok'), (2, 2, 'ok'), (3, NULL, 'null ok');
INSERT INTO fk_child VALUES (4, 99, 'bad');
UPDATE fk_child SET pid = 3 WHERE cid = 2;
UPDATE fk_child SET pid = 98 WHERE cid = 1;
UPDATE fk_child SET note = 'note only' WHERE cid = 1;
SELECT cid, pid, note FROM fk_child ORDER BY cid;
-- referenced side: deleting / re-keying a referenced parent is refused,
-- unreferenced parents and non-key columns can change
DELETE FROM fk_parent WHERE id = 1;
UPDATE fk_parent SET id = 10 WHERE id = 3;
UPDATE fk_parent SET name = 'renamed' WHERE id = 1;
DELETE FROM fk_parent WHERE id = 5;
UPDATE fk_parent SET id = 50 WHERE id = 4;
SELECT id, name FROM fk_parent ORDER BY id;
-- a parent inserted, referenced and unreferenced in one transaction
BEGIN;
INSERT INTO fk_parent VALUES (6, 'p6');
INSERT INTO fk_child VALUES (6, 6, 'tx');
DELETE FROM fk_child WHERE cid = 6;
DELETE FROM fk_parent WHERE id = 6;
COMMIT;
SELECT count(*) FROM fk_parent WHERE id = 6;
-- an unreferenced parent row deleted and re-inserted, then referenced, in one transaction
BEGIN;
DELETE FROM fk_parent WHERE id = 2;
INSERT INTO fk_parent VALUES (2, 'p2 again');
INSERT INTO fk_child VALUES (7, 2, 'new parent');
COMMIT;
SELECT c.cid, c.pid, p.name FROM fk_child c JOIN fk_parent p ON p.id = c.pid ORDER BY c.cid;
-- ON DELETE CASCADE / ON DELETE SET NULL / ON UPDATE CASCADE
CREATE TABLE fk_casc (cid int, pid int REFERENCES fk_parent (id) ON DELETE CASCADE ON UPDATE CASCADE);
CREATE TABLE fk_setnull (cid int, pid int REFERENCES fk_parent (id) ON DELETE SET NULL);
INSERT INTO fk_parent VALUES (20, 'p20'), (21, 'p21'), (22, 'p22');
INSERT INTO fk_casc VALUES (1, 20), (2, 20), (3, 21), (4, 22);
INSERT INTO fk_setnull VALUES (1, 20), (2, 21);
DELETE FROM fk_parent WHERE id = 20;
SELECT cid, pid FROM fk_casc ORDER BY cid;
SELECT cid, pid FROM fk_setnull ORDER BY cid;
UPDATE fk_parent SET id = 23 WHERE id = 22;
SELECT cid, pid FROM fk_casc ORDER BY cid;
-- ... rolled back, the cascaded changes come back too
BEGIN;
DELETE FROM fk_parent WHERE id = 21;
SELECT count(*) FROM fk_casc WHERE pid = 21;
ROLLBACK;
SELECT cid, pid FROM fk_casc ORDER BY cid;
SELECT cid, pid FROM fk_setnull ORDER BY cid;
-- mixed access methods: heap child of an lsm parent, lsm child of a heap parent
CREATE TABLE fk_hchild (pid int REFERENCES fk_parent (id) ON DELETE CASCADE) USING heap;
CREATE TABLE fk_hparent (id int PRIMARY KEY) USING heap;
CREATE TABLE fk_lchild (pid int REFERENCES fk_hparent (id) ON DELETE SET NULL);
INSERT INTO fk_hchild VALUES (21), (23);
INSERT INTO fk_hparent VALUES (1), (2);
INSERT INTO fk_lchild VALUES (1), (2), (2);
DELETE FROM fk_parent WHERE id = 23;
SELECT pid FROM fk_hchild ORDER BY pid;
DELETE FROM fk_hparent WHERE id = 2;
SELECT pid FROM fk_lchild ORDER BY pid;
-- deferred constraints: checked at commit (or SET CONSTRAINTS IMMEDIATE)
CREATE TABLE fk_dchild (pid int REFERENCES fk_parent (id) DEFERRABLE INITIALLY DEFERRED);
BEGIN;
INSERT INTO fk_dchild VALUES (30);
INSERT INTO fk_parent VALUES (30, 'late');
COMMIT;
BEGIN;
DELETE FROM fk_parent WHERE id = 30;
SELECT count(*) FROM fk_parent WHERE id = 30;
COMMIT;
BEGIN;
DELETE FROM fk_parent WHERE id = 30;
INSERT INTO fk_parent VALUES (30, 're-inserted');
COMMIT;
SELECT id, name FROM fk_parent WHERE id = 30;
BEGIN;
UPDATE fk_dchild SET pid = 31;
SET CONSTRAINTS ALL IMMEDIATE;
ROLLBACK;
SELECT pid FROM fk_dchild ORDER BY pid;
-- a deferrable unique constraint allows a temporary duplicate: shift every key
CREATE TABLE du (id int UNIQUE DEFERRABLE INITIALLY IMMEDIATE, v text);
INSERT INTO du SELECT g, 'd' || g FROM generate_series(1, 10) g;
UPDATE du SET id = id + 1;
SELECT id, v FROM du ORDER BY id;
BEGIN;
SET CONSTRAINTS ALL DEFERRED;
UPDATE du SET id = 2 WHERE id = 3;
SELECT count(*) FROM du WHERE id = 2;
COMMIT;
SELECT id, v FROM du ORDER BY id;
DROP TABLE fk_child, fk_casc, fk_setnull, fk_hchild, fk_lchild, fk_dchild, fk_hparent, fk_parent, du;

--
-- partitioned tables: updates that move rows between partitions
--
CREATE TABLE pt (id int, k int, v text) PARTITION BY RANGE (k);
CREATE TABLE pt_a PARTITION OF pt FOR VALUES FROM (0) TO (10);
CREATE TABLE pt_b PARTITION OF pt FOR VALUES FROM (10) TO (20);
CREATE TABLE pt_h PARTITION OF pt FOR VALUES FROM (20) TO (30) USING heap;
INSERT INTO pt SELECT g, g % 30, 'v' || g FROM generate_series(1, 60) g;
SELECT tableoid::regclass AS part, count(*) FROM pt GROUP BY 1 ORDER BY 1;
-- lsm -> lsm
WITH u AS (UPDATE pt SET k = k + 10 WHERE k = 5 RETURNING tableoid::regclass AS part, id, k)
SELECT * FROM u ORDER BY id;
-- lsm -> heap and heap -> lsm
WITH u AS (UPDATE pt SET k = k + 10 WHERE k = 15 RETURNING tableoid::regclass AS part, id, k)
SELECT * FROM u ORDER BY id;
WITH u AS (UPDATE pt SET k = 1 WHERE k = 29 RETURNING tableoid::regclass AS part, id, k)
SELECT * FROM u ORDER BY id;
-- a move inside the same partition, an update without a move, deletes through the parent
UPDATE pt SET k = 9 WHERE id = 8 RETURNING tableoid::regclass AS part, id, k;
UPDATE pt SET v = 'stays' WHERE id = 12 RETURNING tableoid::regclass AS part, id, k, v;
WITH x AS (DELETE FROM pt WHERE k IN (0, 10, 20) RETURNING tableoid::regclass AS part, id, k)
SELECT * FROM x ORDER BY id;
SELECT tableoid::regclass AS part, id, k, v FROM pt ORDER BY id;
-- a rolled-back move leaves the row where it was
BEGIN;
UPDATE pt SET k = 25 WHERE id = 1;
SELECT tableoid::regclass AS part, id, k FROM pt WHERE id = 1;
ROLLBACK;
SELECT tableoid::regclass AS part, id, k FROM pt WHERE id = 1;
-- a move to no partition is refused
UPDATE pt SET k = 99 WHERE id = 2;
DROP TABLE pt;

--
-- maintenance after deletes: VACUUM, ANALYZE, VACUUM FULL, TRUNCATE
--
CREATE TABLE vac (id int PRIMARY KEY, v text);
INSERT INTO vac SELECT g, 'v' || g FROM generate_series(1, 3000) g;
DELETE FROM vac WHERE id % 3 = 0;
UPDATE vac SET v = 'u' WHERE id % 3 = 1;
VACUUM vac;
SELECT count(*), sum(id), count(*) FILTER (WHERE v = 'u') AS updated FROM vac;
ANALYZE vac;
SELECT count(*) FROM vac;
VACUUM ANALYZE vac;
SET enable_seqscan = off;
SELECT id, v FROM vac WHERE id BETWEEN 1 AND 6 ORDER BY id;
RESET enable_seqscan;
VACUUM FULL vac;
SELECT count(*), sum(id) FROM vac;
SELECT id, v FROM vac WHERE id BETWEEN 1 AND 6 ORDER BY id;
DELETE FROM vac WHERE id < 100;
TRUNCATE vac;
SELECT count(*) FROM vac;
INSERT INTO vac VALUES (3, 'after truncate');
SELECT id, v FROM vac ORDER BY id;
-- TRUNCATE rolled back: the rows as they were after the delete come back
DELETE FROM vac;
INSERT INTO vac SELECT g, 'w' FROM generate_series(1, 10) g;
DELETE FROM vac WHERE id > 5;
BEGIN;
TRUNCATE vac;
ROLLBACK;
SELECT id, v FROM vac ORDER BY id;
DROP TABLE vac;

--
-- two-phase commit: a prepared DELETE / UPDATE takes effect at COMMIT PREPARED
--
CREATE TABLE tp (id int PRIMARY KEY, v text);
INSERT INTO tp SELECT g, 'v' || g FROM generate_series(1, 10) g;
BEGIN;
DELETE FROM tp WHERE id <= 3;
UPDATE tp SET v = 'prepared' WHERE id = 4;
PREPARE TRANSACTION 'lsm_dml_2pc_commit';
SELECT id, v FROM tp WHERE id <= 5 ORDER BY id;
COMMIT PREPARED 'lsm_dml_2pc_commit';
SELECT id, v FROM tp WHERE id <= 5 ORDER BY id;
BEGIN;
DELETE FROM tp WHERE id = 5;
UPDATE tp SET v = 'rolled back' WHERE id = 6;
PREPARE TRANSACTION 'lsm_dml_2pc_rollback';
ROLLBACK PREPARED 'lsm_dml_2pc_rollback';
SELECT id, v FROM tp WHERE id BETWEEN 4 AND 7 ORDER BY id;
-- a prepared transaction that inserted, updated and deleted its own rows
BEGIN;
INSERT INTO tp VALUES (11, 'new'), (12, 'new');
UPDATE tp SET v = 'new upd' WHERE id = 11;
DELETE FROM tp WHERE id = 12;
PREPARE TRANSACTION 'lsm_dml_2pc_own';
COMMIT PREPARED 'lsm_dml_2pc_own';
SELECT id, v FROM tp WHERE id > 10 ORDER BY id;

--
-- row locks in a single session: every strength returns the rows;
-- NOWAIT and SKIP LOCKED never conflict with the session's own locks
--
SELECT id, v FROM tp WHERE id BETWEEN 4 AND 6 ORDER BY id FOR UPDATE;
SELECT id, v FROM tp WHERE id BETWEEN 4 AND 6 ORDER BY id FOR NO KEY UPDATE;
SELECT id, v FROM tp WHERE id BETWEEN 4 AND 6 ORDER BY id FOR SHARE;
SELECT id, v FROM tp WHERE id BETWEEN 4 AND 6 ORDER BY id FOR KEY SHARE;
SELECT id, v FROM tp WHERE id = 7 FOR UPDATE NOWAIT;
SELECT id, v FROM tp ORDER BY id FOR UPDATE SKIP LOCKED;
SELECT id FROM tp WHERE id > 1000 FOR UPDATE;
BEGIN;
-- lock, then lock again with other strengths, then update and delete the locked rows
SELECT id, v FROM tp WHERE id BETWEEN 6 AND 8 ORDER BY id FOR KEY SHARE;
SELECT id, v FROM tp WHERE id BETWEEN 6 AND 8 ORDER BY id FOR SHARE;
SELECT id, v FROM tp WHERE id BETWEEN 6 AND 8 ORDER BY id FOR UPDATE NOWAIT;
SELECT id, v FROM tp WHERE id BETWEEN 6 AND 8 ORDER BY id FOR NO KEY UPDATE SKIP LOCKED;
UPDATE tp SET v = 'locked+updated' WHERE id = 6;
DELETE FROM tp WHERE id = 7;
-- locking rows updated / inserted in this transaction
SELECT id, v FROM tp WHERE id BETWEEN 6 AND 8 ORDER BY id FOR UPDATE;
INSERT INTO tp VALUES (13, 'ins');
SELECT id, v FROM tp WHERE id = 13 FOR SHARE;
COMMIT;
SELECT id, v FROM tp WHERE id BETWEEN 6 AND 8 OR id = 13 ORDER BY id;
-- locks in a savepoint that is rolled back, then the rows are updated
BEGIN;
SAVEPOINT s;
SELECT id FROM tp WHERE id = 8 FOR UPDATE;
ROLLBACK TO SAVEPOINT s;
UPDATE tp SET v = 'after sp lock' WHERE id = 8;
COMMIT;
SELECT id, v FROM tp WHERE id = 8;
-- locking clauses with joins, subqueries, index scans and LIMIT
CREATE TABLE tp_h (id int PRIMARY KEY, w text) USING heap;
INSERT INTO tp_h VALUES (8, 'h8'), (9, 'h9'), (10, 'h10');
SELECT tp.id, tp.v, h.w FROM tp JOIN tp_h h USING (id) ORDER BY tp.id FOR UPDATE OF tp;
SELECT tp.id, tp.v, h.w FROM tp JOIN tp_h h USING (id) ORDER BY tp.id FOR SHARE OF h;
SELECT tp.id, tp.v, h.w FROM tp JOIN tp_h h USING (id) ORDER BY tp.id FOR NO KEY UPDATE;
SELECT id, v FROM tp WHERE id IN (SELECT id FROM tp_h) ORDER BY id FOR KEY SHARE;
SET enable_seqscan = off;
SELECT id, v FROM tp WHERE id = 9 FOR UPDATE;
RESET enable_seqscan;
SELECT id, v FROM tp ORDER BY id LIMIT 2 FOR UPDATE SKIP LOCKED;
-- a locking PL/pgSQL loop that updates each row it locked
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT id FROM tp WHERE id >= 9 ORDER BY id FOR UPDATE LOOP
    UPDATE tp SET v = v || '!' WHERE id = r.id;
  END LOOP;
END $$;
SELECT id, v FROM tp ORDER BY id;
DROP TABLE tp, tp_h;

-- the one-step delete (docs/ARCHITECTURE.md, "UPDATE, DELETE and row
-- locks"): a delete record is inserted with a partial uniqueness check and
-- withdrawn if a live record of the row exists.  A withdrawn record must
-- leave nothing visible behind: lsm.deleted holds exactly one record per
-- changed row, in the transaction and after it.
CREATE TABLE fp (id int PRIMARY KEY, v int) USING lsm;
INSERT INTO fp SELECT g, g FROM generate_series(1, 10) g;
CREATE FUNCTION fp_records() RETURNS bigint LANGUAGE sql AS $$
  SELECT count(*) FROM lsm.deleted WHERE storage_id = (SELECT storage_id FROM lsm.stats('fp')) $$;
BEGIN;
UPDATE fp SET v = v + 100 WHERE id = 1;
-- row 2 joins twice: its second delete meets our own record (withdrawn)
WITH x AS (DELETE FROM fp f USING (VALUES (2), (2), (3)) s(id) WHERE f.id = s.id RETURNING f.id)
SELECT id, count(*) FROM x GROUP BY id ORDER BY id;
-- the new version of row 1, updated again in a later command
UPDATE fp SET v = v + 100 WHERE id = 1;
SELECT fp_records();
-- an update of a row this command already updated is skipped (heap's rule)
UPDATE fp SET v = v + 1 FROM (VALUES (4), (4)) s(id) WHERE fp.id = s.id;
SELECT fp_records();
COMMIT;
SELECT fp_records();
SELECT id, v FROM fp ORDER BY id;
-- deleting rows of a table where another row is locked (the rows are not)
BEGIN;
SELECT id FROM fp WHERE id = 5 FOR UPDATE;
DELETE FROM fp WHERE id IN (6, 7);
UPDATE fp SET v = -v WHERE id = 8;
COMMIT;
SELECT id, v FROM fp ORDER BY id;

-- UPDATE and DELETE read the old row from the block the index scan just
-- decoded.  An index scan left behind by an error in a subtransaction is
-- never used for that: afterwards a sequential-scan UPDATE reads the row
-- itself.
ALTER TABLE fp ADD COLUMN w text DEFAULT 'missing';
BEGIN;
SAVEPOINT a;
SET LOCAL enable_seqscan = off;
SELECT id, v, 1 / (id - 9) FROM fp WHERE id = 9;
ROLLBACK TO SAVEPOINT a;
SET LOCAL enable_indexscan = off;
SET LOCAL enable_bitmapscan = off;
UPDATE fp SET v = v + 1000 WHERE v = 9 RETURNING id, v, w;
COMMIT;
-- by index scan, with a value from attmissingval in the old row
SET enable_seqscan = off;
UPDATE fp SET v = v + 1 WHERE id = 10 RETURNING id, v, w;
DELETE FROM fp WHERE id = 9 RETURNING id, v, w;
RESET enable_seqscan;
SELECT id, v, w FROM fp ORDER BY id;
DROP TABLE fp;
DROP FUNCTION fp_records();

DROP TABLE d, d_h, d_arch, src_h, src_l, t, ix, ix_h, m, m_src, m_src2, oc;
DROP FUNCTION same(text, text, text), scan_nodes(text);

-- RETURNING system columns of new rows, as heap: xmin is ours, xmax 0
CREATE TABLE dml_ret (a int PRIMARY KEY, b text) USING lsm;
INSERT INTO dml_ret VALUES (1, 'x')
  RETURNING tableoid::regclass, xmin = pg_current_xact_id()::xid AS xmin_ok, xmax = 0 AS xmax_ok;
INSERT INTO dml_ret VALUES (1, 'y') ON CONFLICT (a) DO UPDATE SET b = excluded.b
  RETURNING b, xmin = pg_current_xact_id()::xid AS xmin_ok;
UPDATE dml_ret SET b = 'z' RETURNING b, xmin = pg_current_xact_id()::xid AS xmin_ok;
-- documented differences from heap: another transaction's rows read xmin
-- as FrozenTransactionId (2), and cmin/cmax cannot be read
SELECT xmin::text AS committed_xmin FROM dml_ret;
SELECT cmin FROM dml_ret;
DROP TABLE dml_ret;
