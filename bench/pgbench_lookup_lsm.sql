-- pgbench script: point lookup by primary key on the lsm table.
-- bench/run.sh runs it with -D rows=<row count>.
\set id random(1, :rows)
SELECT * FROM events_lsm WHERE id = :id;
