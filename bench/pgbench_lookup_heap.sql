-- pgbench script: point lookup by primary key on the heap table.
-- bench/run.sh runs it with -D rows=<row count>.
\set id random(1, :rows)
SELECT * FROM events_heap WHERE id = :id;
