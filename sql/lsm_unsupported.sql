--
-- lsm_unsupported: what lsm tables do not support yet fails cleanly with
-- ERROR feature_not_supported (SQLSTATE 0A000) and changes nothing:
-- UPDATE, DELETE, SELECT FOR UPDATE/SHARE (all strengths, NOWAIT, SKIP
-- LOCKED), MERGE that updates or deletes, foreign keys referencing an lsm
-- table, ON CONFLICT DO UPDATE when a conflict happens.  What does work:
-- ON CONFLICT DO NOTHING (speculative insertion), MERGE that only inserts,
-- foreign keys from an lsm table to a heap table.
--
CREATE TABLE u (id int PRIMARY KEY, v text) USING lsm;
INSERT INTO u SELECT g, 'v' || g FROM generate_series(1, 100) g;
CREATE TABLE u_noidx (id int, v text) USING lsm;
INSERT INTO u_noidx SELECT g, 'v' || g FROM generate_series(1, 100) g;
-- errors of unsupported operations carry SQLSTATE 0A000 (feature_not_supported)
CREATE FUNCTION sqlstate_of(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN EXECUTE q; RETURN 'no error';
EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || ': ' || SQLERRM; END $$;
SELECT sqlstate_of('UPDATE u SET v = ''x''');
SELECT sqlstate_of('DELETE FROM u');
SELECT sqlstate_of('SELECT * FROM u FOR UPDATE');
SELECT sqlstate_of('INSERT INTO u VALUES (1, ''x'') ON CONFLICT (id) DO UPDATE SET v = ''y''');

-- UPDATE and DELETE (with and without matching rows, with an index scan)
UPDATE u SET v = 'x' WHERE id = 1;
UPDATE u SET v = 'x';
UPDATE u_noidx SET v = 'x' WHERE id > 50;
DELETE FROM u WHERE id = 1;
DELETE FROM u;
DELETE FROM u_noidx WHERE v = 'v3';
UPDATE u SET v = 'x' WHERE id = 1000;      -- matches nothing
DELETE FROM u WHERE id = 1000;             -- matches nothing
-- in a transaction: the error aborts it, the earlier insert is rolled back too
BEGIN;
INSERT INTO u VALUES (500, 'in tx');
UPDATE u SET v = 'x' WHERE id = 500;
ROLLBACK;
-- a rolled-back savepoint lets the transaction go on
BEGIN;
INSERT INTO u VALUES (501, 'kept');
SAVEPOINT s;
DELETE FROM u WHERE id = 501;
ROLLBACK TO SAVEPOINT s;
COMMIT;
-- UPDATE / DELETE through a view, with RETURNING, in a CTE
CREATE VIEW u_view AS SELECT * FROM u;
UPDATE u_view SET v = 'x' WHERE id = 2;
DELETE FROM u_view WHERE id = 2 RETURNING *;
WITH d AS (DELETE FROM u WHERE id = 3 RETURNING *) SELECT count(*) FROM d;
-- cursor-based UPDATE/DELETE WHERE CURRENT OF
BEGIN;
DECLARE uc CURSOR FOR SELECT * FROM u;
FETCH 1 FROM uc;
UPDATE u SET v = 'x' WHERE CURRENT OF uc;
ROLLBACK;

-- row locks: every strength, NOWAIT and SKIP LOCKED
SELECT * FROM u WHERE id = 1 FOR UPDATE;
SELECT * FROM u WHERE id = 1 FOR NO KEY UPDATE;
SELECT * FROM u WHERE id = 1 FOR SHARE;
SELECT * FROM u WHERE id = 1 FOR KEY SHARE;
SELECT * FROM u FOR UPDATE NOWAIT;
SELECT * FROM u FOR UPDATE SKIP LOCKED;
SELECT * FROM u_noidx LIMIT 1 FOR SHARE;
-- a lock on a join with a heap table: locking only the heap side works
CREATE TABLE u_heap (id int PRIMARY KEY) USING heap;
INSERT INTO u_heap VALUES (1), (2);
SELECT h.id, u.v FROM u_heap h JOIN u USING (id) ORDER BY h.id FOR UPDATE OF h;
SELECT h.id, u.v FROM u_heap h JOIN u USING (id) ORDER BY h.id FOR UPDATE OF u;
-- FOR UPDATE matching no rows
SELECT * FROM u WHERE id = 1000 FOR UPDATE;

-- MERGE: inserting only works, anything that updates or deletes fails
CREATE TABLE u_src (id int, v text) USING heap;
INSERT INTO u_src VALUES (1, 'm1'), (1000, 'm1000');
MERGE INTO u USING u_src s ON u.id = s.id
  WHEN MATCHED THEN UPDATE SET v = s.v
  WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.v);
MERGE INTO u USING u_src s ON u.id = s.id
  WHEN MATCHED THEN DELETE;
MERGE INTO u USING u_src s ON u.id = s.id
  WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.v);
MERGE INTO u USING u_src s ON u.id = s.id
  WHEN MATCHED THEN DO NOTHING
  WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.v || 'again');
SELECT * FROM u WHERE id >= 1000 ORDER BY id;

-- ON CONFLICT DO NOTHING works (speculative insertion), with and without a target
INSERT INTO u VALUES (1, 'conflict') ON CONFLICT DO NOTHING;
INSERT INTO u VALUES (1, 'conflict') ON CONFLICT (id) DO NOTHING;
INSERT INTO u VALUES (1, 'c'), (2001, 'new'), (2001, 'dup in stmt'), (2002, 'new')
  ON CONFLICT (id) DO NOTHING RETURNING *;
-- ... also against rows inserted earlier in the same transaction
BEGIN;
INSERT INTO u VALUES (2003, 'tx');
INSERT INTO u VALUES (2003, 'tx again') ON CONFLICT DO NOTHING RETURNING *;
COMMIT;
SELECT * FROM u WHERE id = 1 OR id > 2000 ORDER BY id;
-- ON CONFLICT DO UPDATE: fine without a conflict, clean error with one
INSERT INTO u VALUES (2010, 'no conflict') ON CONFLICT (id) DO UPDATE SET v = 'updated';
INSERT INTO u VALUES (2010, 'conflict') ON CONFLICT (id) DO UPDATE SET v = 'updated';
INSERT INTO u VALUES (2010, 'conflict') ON CONFLICT (id) DO UPDATE SET v = 'updated' WHERE false;
SELECT * FROM u WHERE id = 2010;

-- foreign keys referencing an lsm table: the constraint can be declared,
-- but every check of a referencing row needs a row lock on the lsm table
CREATE TABLE u_child (pid int REFERENCES u (id)) USING heap;
INSERT INTO u_child VALUES (1);
INSERT INTO u_child VALUES (NULL);      -- no check needed
CREATE TABLE u_child2 (pid int) USING heap;
ALTER TABLE u_child2 ADD FOREIGN KEY (pid) REFERENCES u (id);
INSERT INTO u_child2 VALUES (2);
SELECT count(*) FROM u_child;
SELECT count(*) FROM u_child2;
-- an lsm table referencing a heap table: inserts are checked
CREATE TABLE u_ref (hid int REFERENCES u_heap (id)) USING lsm;
INSERT INTO u_ref VALUES (1), (2);
INSERT INTO u_ref VALUES (3);
SELECT * FROM u_ref ORDER BY hid;
-- ... deleting a referenced heap row needs a row lock on the lsm table: refused
DELETE FROM u_heap WHERE id = 1;
-- ... deleting an unreferenced heap row works
INSERT INTO u_heap VALUES (3), (5);
DELETE FROM u_heap WHERE id = 3;
-- ... ON DELETE CASCADE would need DELETE on the lsm table: refused
CREATE TABLE u_ref2 (hid int REFERENCES u_heap (id) ON DELETE CASCADE) USING lsm;
INSERT INTO u_ref2 VALUES (5);
DELETE FROM u_heap WHERE id = 5;
SELECT id FROM u_heap ORDER BY id;
SELECT * FROM u_ref2;

-- TRUNCATE works where DELETE does not
TRUNCATE u_noidx;
SELECT count(*) FROM u_noidx;

-- nothing above changed u: the original 100 rows plus the successful inserts
SELECT count(*), sum(id), count(*) FILTER (WHERE v <> 'v' || id) AS changed FROM u;
SELECT id, v FROM u WHERE v <> 'v' || id ORDER BY id;
SELECT rows_checked FROM lsm.verify('u');

DROP TABLE u, u_noidx, u_heap, u_src, u_child, u_child2, u_ref, u_ref2 CASCADE;
DROP FUNCTION sqlstate_of(text);
