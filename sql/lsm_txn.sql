--
-- lsm_txn: transactional behaviour of lsm writes matches heap.
-- A transaction sees its own rows, commands do not see their own output,
-- ROLLBACK / ROLLBACK TO SAVEPOINT / failed subtransactions drop exactly
-- their rows (also rows already flushed to segments mid-transaction when
-- lsm.segment_rows or lsm.memtable_limit is small), cursors keep their
-- snapshot, and two-phase commit works.
--
CREATE TABLE tx (id int, tag text) USING lsm;
CREATE TABLE tx_heap (id int, tag text) USING heap;

-- own rows are visible inside the transaction, and after commit
BEGIN;
INSERT INTO tx SELECT g, 'a' FROM generate_series(1, 10) g;
SELECT count(*) FROM tx;
INSERT INTO tx SELECT g, 'b' FROM generate_series(11, 20) g;
SELECT count(*), min(id), max(id) FROM tx;
COMMIT;
SELECT count(*), sum(id) FROM tx;

-- a rolled-back transaction leaves nothing
BEGIN;
INSERT INTO tx SELECT g, 'rb' FROM generate_series(100, 200) g;
SELECT count(*) FROM tx;
ROLLBACK;
SELECT count(*) FROM tx WHERE tag = 'rb';

-- a statement does not see its own output: INSERT ... SELECT from itself doubles
INSERT INTO tx SELECT id + 20, 'dbl' FROM tx;
SELECT count(*), count(DISTINCT id) FROM tx;
BEGIN;
INSERT INTO tx SELECT id + 40, 'dbl2' FROM tx;
INSERT INTO tx SELECT id + 80, 'dbl3' FROM tx;
SELECT count(*), count(DISTINCT id) FROM tx;
ROLLBACK;
SELECT count(*) FROM tx;

-- a data-modifying CTE: the outer query uses the statement's snapshot
WITH ins AS (INSERT INTO tx VALUES (1000, 'cte') RETURNING id)
SELECT (SELECT count(*) FROM tx) AS before_rows, (SELECT count(*) FROM ins) AS inserted;
SELECT count(*) FROM tx;

-- savepoints: ROLLBACK TO drops only the later rows, RELEASE keeps them
BEGIN;
INSERT INTO tx VALUES (2001, 'sp0');
SAVEPOINT s1;
INSERT INTO tx VALUES (2002, 'sp1');
SAVEPOINT s2;
INSERT INTO tx VALUES (2003, 'sp2');
SELECT id FROM tx WHERE id > 2000 ORDER BY id;
ROLLBACK TO SAVEPOINT s2;
SELECT id FROM tx WHERE id > 2000 ORDER BY id;
INSERT INTO tx VALUES (2004, 'sp2b');
RELEASE SAVEPOINT s2;
SAVEPOINT s3;
INSERT INTO tx VALUES (2005, 'sp3');
SAVEPOINT s4;
INSERT INTO tx VALUES (2006, 'sp4');
RELEASE SAVEPOINT s4;
ROLLBACK TO SAVEPOINT s3;       -- drops 2005 and the released s4's 2006
SELECT id FROM tx WHERE id > 2000 ORDER BY id;
ROLLBACK TO SAVEPOINT s1;       -- drops 2002 and 2004
INSERT INTO tx VALUES (2007, 'after s1');
COMMIT;
SELECT id, tag FROM tx WHERE id > 2000 ORDER BY id;

-- an error inside a PL/pgSQL exception block rolls back that block's rows only
DO $$
BEGIN
  INSERT INTO tx VALUES (3001, 'outer');
  BEGIN
    INSERT INTO tx SELECT g, 'inner' FROM generate_series(3002, 3100) g;
    PERFORM 1 / 0;
  EXCEPTION WHEN division_by_zero THEN
    RAISE NOTICE 'caught; inner rows seen in the handler: %',
      (SELECT count(*) FROM tx WHERE tag = 'inner');
  END;
  RAISE NOTICE 'inner rows after rollback: %', (SELECT count(*) FROM tx WHERE tag = 'inner');
END $$;
SELECT id, tag FROM tx WHERE id > 3000 ORDER BY id;

-- a failed statement inside a transaction block with a savepoint
BEGIN;
SAVEPOINT a;
INSERT INTO tx SELECT g, CASE WHEN g = 4050 THEN (1/0)::text ELSE 'fail' END FROM generate_series(4001, 4100) g;
ROLLBACK TO SAVEPOINT a;
INSERT INTO tx VALUES (4200, 'ok');
COMMIT;
SELECT count(*) FILTER (WHERE tag = 'fail') AS failed, count(*) FILTER (WHERE tag = 'ok') AS ok FROM tx;

-- cursors keep their snapshot: rows inserted after DECLARE are not returned
BEGIN;
DECLARE c1 CURSOR FOR SELECT id FROM tx WHERE id BETWEEN 1 AND 5 ORDER BY id;
DECLARE c2 CURSOR FOR SELECT count(*) FROM tx;
INSERT INTO tx SELECT g, 'later' FROM generate_series(1, 5) g;
FETCH ALL FROM c1;
FETCH ALL FROM c2;
SELECT count(*) FROM tx WHERE id BETWEEN 1 AND 5;
-- a plain (non-ordered) cursor reading while we insert
DECLARE c3 CURSOR FOR SELECT id FROM tx WHERE tag = 'later';
FETCH 2 FROM c3;
INSERT INTO tx VALUES (5, 'later');
FETCH ALL FROM c3;
COMMIT;
-- WITH HOLD cursor survives the commit with its rows
BEGIN;
DECLARE ch CURSOR WITH HOLD FOR SELECT count(*) FROM tx WHERE tag = 'hold';
INSERT INTO tx VALUES (1, 'hold');
COMMIT;
FETCH ALL FROM ch;
CLOSE ch;

-- small lsm.segment_rows: buffers flush into segments mid-transaction
TRUNCATE tx;
SET lsm.segment_rows = 100;
BEGIN;
INSERT INTO tx SELECT g, 'seg' FROM generate_series(1, 1050) g;
-- rows are already in segments (visible only to us), the rest is buffered
SELECT count(*) > 1 AS flushed_segments FROM lsm.segments('tx');
SELECT buffered_rows < 1050 AS some_flushed FROM lsm.stats('tx');
SELECT count(*), sum(id) FROM tx;
-- the statement-does-not-see-itself rule holds across flushes
INSERT INTO tx SELECT id + 1050, 'seg2' FROM tx;
SELECT count(*), count(DISTINCT id), sum(id) FROM tx;
SAVEPOINT s;
INSERT INTO tx SELECT g, 'segsp' FROM generate_series(1, 777) g;
SELECT count(*) FROM tx;
ROLLBACK TO SAVEPOINT s;
SELECT count(*), count(*) FILTER (WHERE tag = 'segsp') FROM tx;
SAVEPOINT s5;
INSERT INTO tx SELECT g, 'segrel' FROM generate_series(1, 333) g;
RELEASE SAVEPOINT s5;
COMMIT;
SELECT count(*), count(*) FILTER (WHERE tag = 'segrel'), sum(id) FROM tx;
SELECT count(*) > 1 AS many_segments, sum(row_count) FROM lsm.segments('tx');
SELECT rows_checked FROM lsm.verify('tx');
-- the same data in heap gives the same answer
INSERT INTO tx_heap SELECT g, 'seg' FROM generate_series(1, 1050) g;
INSERT INTO tx_heap SELECT id + 1050, 'seg2' FROM tx_heap;
INSERT INTO tx_heap SELECT g, 'segrel' FROM generate_series(1, 333) g;
SELECT count(*) FROM (SELECT * FROM tx EXCEPT ALL SELECT * FROM tx_heap) d;
SELECT count(*) FROM (SELECT * FROM tx_heap EXCEPT ALL SELECT * FROM tx) d;

-- a rolled-back transaction whose rows were flushed leaves no segments
TRUNCATE tx;
BEGIN;
INSERT INTO tx SELECT g, 'gone' FROM generate_series(1, 1000) g;
SELECT count(*) >= 9 AS flushed FROM lsm.segments('tx');
ROLLBACK;
SELECT count(*) FROM tx;
SELECT count(*) FROM lsm.segments('tx');
SELECT segments, row_count, buffered_rows FROM lsm.stats('tx');
RESET lsm.segment_rows;

-- small lsm.memtable_limit: wide rows flush by size
SET lsm.memtable_limit = '64kB';
BEGIN;
INSERT INTO tx SELECT g, repeat(md5(g::text), 50) FROM generate_series(1, 500) g;
SELECT count(*) >= 10 AS flushed_by_size FROM lsm.segments('tx');   -- 800 kB in 64 kB buffers
SELECT count(*), sum(length(tag)) FROM tx;
COMMIT;
SELECT count(*), sum(length(tag)), count(DISTINCT tag) FROM tx;
RESET lsm.memtable_limit;

-- two-phase commit
TRUNCATE tx;
BEGIN;
INSERT INTO tx SELECT g, '2pc' FROM generate_series(1, 300) g;
PREPARE TRANSACTION 'lsm_2pc_commit';
-- not visible until COMMIT PREPARED
SELECT count(*) FROM tx;
COMMIT PREPARED 'lsm_2pc_commit';
SELECT count(*), sum(id) FROM tx;
BEGIN;
INSERT INTO tx SELECT g, '2pc-rb' FROM generate_series(1, 300) g;
SAVEPOINT p;
INSERT INTO tx VALUES (-1, '2pc-rb');
PREPARE TRANSACTION 'lsm_2pc_rollback';
SELECT count(*) FROM tx;
ROLLBACK PREPARED 'lsm_2pc_rollback';
SELECT count(*), count(*) FILTER (WHERE tag = '2pc-rb') FROM tx;
-- prepared with small segment_rows (flushed before prepare) then committed
SET lsm.segment_rows = 50;
BEGIN;
INSERT INTO tx SELECT g, '2pc-seg' FROM generate_series(1, 420) g;
PREPARE TRANSACTION 'lsm_2pc_seg';
RESET lsm.segment_rows;
SELECT count(*) FILTER (WHERE tag = '2pc-seg') FROM tx;
COMMIT PREPARED 'lsm_2pc_seg';
SELECT count(*) FILTER (WHERE tag = '2pc-seg'), sum(id) FILTER (WHERE tag = '2pc-seg') FROM tx;
SELECT rows_checked FROM lsm.verify('tx');

-- a table created and filled in the same transaction, then rolled back
BEGIN;
CREATE TABLE tx_new (a int) USING lsm;
INSERT INTO tx_new SELECT generate_series(1, 100);
SELECT count(*) FROM tx_new;
ROLLBACK;
SELECT to_regclass('tx_new');
-- ... and committed
BEGIN;
CREATE TABLE tx_new (a int) USING lsm;
INSERT INTO tx_new SELECT generate_series(1, 100);
COMMIT;
SELECT count(*), sum(a) FROM tx_new;

-- subtransaction commit then outer rollback drops everything
BEGIN;
INSERT INTO tx_new VALUES (-1);
SAVEPOINT x;
INSERT INTO tx_new VALUES (-2);
RELEASE SAVEPOINT x;
ROLLBACK;
SELECT count(*) FILTER (WHERE a < 0) FROM tx_new;

-- many subtransactions each inserting (PL/pgSQL loop with exception blocks)
DO $$
BEGIN
  FOR i IN 1..50 LOOP
    BEGIN
      INSERT INTO tx_new VALUES (1000 + i);
      IF i % 2 = 0 THEN RAISE EXCEPTION 'even'; END IF;
    EXCEPTION WHEN raise_exception THEN NULL;
    END;
  END LOOP;
END $$;
SELECT count(*), sum(a) FROM tx_new WHERE a > 1000;

-- serializable / repeatable read transactions that only insert commit fine
BEGIN ISOLATION LEVEL SERIALIZABLE;
INSERT INTO tx_new VALUES (5000);
SELECT count(*) FROM tx_new WHERE a = 5000;
COMMIT;
SELECT count(*) FROM tx_new WHERE a = 5000;

DROP TABLE tx, tx_heap, tx_new;
