--
-- lsm_directory_cache: each backend caches the parsed directories of the
-- segments it reads that the shared directory cache does not take (all of
-- them here: lsm.enable_shared_directory_cache is off; the shared cache has
-- its own test, lsm_shared_directory_cache), in memory mapped outside
-- memory contexts (see src/scan/lsm_arena.c), and the decoded delete maps,
-- and empties both at
-- transaction end once they hold more than lsm.directory_cache_size.
-- lsm.directory_cache() shows what the backend holds.  Scans read the same
-- rows whether the cache is kept, emptied at every transaction end, or
-- emptied in the middle of a session's work.
--
SET lsm.segment_rows = 2000;
CREATE TABLE dc (id int PRIMARY KEY, grp int, val text, amount numeric(10,2)) USING lsm;
CREATE TABLE dc_heap (id int PRIMARY KEY, grp int, val text, amount numeric(10,2));
INSERT INTO dc SELECT g, g % 7, repeat(chr(65 + g % 26), 1 + g % 40), g / 3.0
  FROM generate_series(1, 12000) g;
INSERT INTO dc_heap SELECT * FROM dc;
SELECT segments_in > 0 AS compacted FROM lsm.compact('dc', true);
DELETE FROM dc WHERE id % 11 = 0;
DELETE FROM dc_heap WHERE id % 11 = 0;
-- fold the delete records into delete maps, so that scans read those too
SELECT deletes_folded FROM lsm.compact('dc');
SELECT count(*) AS segments, sum(deleted_count) AS deleted FROM lsm.segments('dc');
-- count(*) alone counts blocks from their directories unless a delete
-- (here: a delete map) reaches them
SELECT (SELECT count(*) FROM dc) AS lsm_count, (SELECT count(*) FROM dc_heap) AS heap_count;
RESET lsm.segment_rows;

-- a new session starts with an empty cache
\c
SET lsm.enable_shared_directory_cache = off;
SELECT * FROM lsm.directory_cache();

-- one scan caches every segment's directory and delete map, kept across
-- transactions under the default size
SELECT count(*), sum(amount) FROM dc;
SELECT segments AS cached, bytes > 0 AS has_bytes, mapped_bytes >= bytes AS mapped_ok,
       delete_maps AS maps, delete_map_bytes > 0 AS has_map_bytes
  FROM lsm.directory_cache();
SELECT segments = (SELECT count(*) FROM lsm.segments('dc')) AS all_cached
  FROM lsm.directory_cache();
SHOW lsm.directory_cache_size;

-- the same rows as heap with the cache emptied at every transaction end
-- (the SET's own transaction already empties it)
SET lsm.directory_cache_size = 0;
SELECT segments AS cached_after_set FROM lsm.directory_cache();
SELECT count(*), sum(amount), sum(length(val)) FROM dc;
SELECT count(*), sum(amount), sum(length(val)) FROM dc_heap;
SELECT segments AS cached FROM lsm.directory_cache();
-- within one transaction the cache stays: handles point into it
BEGIN;
SELECT count(*) FROM dc WHERE grp = 3;
SELECT segments > 0 AS cached_in_tx FROM lsm.directory_cache();
SELECT id, val, amount FROM dc WHERE id IN (5, 1999, 2000, 2001, 7777, 11999, 12000) ORDER BY id;
COMMIT;
SELECT segments AS cached_after_commit FROM lsm.directory_cache();
-- an error ends the transaction too
BEGIN;
SELECT count(*) FROM dc;
SELECT 1 / 0;
ROLLBACK;
SELECT segments AS cached_after_abort FROM lsm.directory_cache();

-- every kind of read against heap, each in a transaction of its own that
-- empties the cache: sequential, index, point, aggregate, cursor
SET enable_seqscan = off;
SELECT (SELECT array_agg(id ORDER BY id) FROM dc WHERE id BETWEEN 3990 AND 4010) =
       (SELECT array_agg(id ORDER BY id) FROM dc_heap WHERE id BETWEEN 3990 AND 4010) AS index_same;
RESET enable_seqscan;
SELECT (SELECT string_agg(id || ':' || val || ':' || amount, ',' ORDER BY id) FROM dc) =
       (SELECT string_agg(id || ':' || val || ':' || amount, ',' ORDER BY id) FROM dc_heap) AS seq_same;
SELECT grp, count(*), sum(amount), max(length(val)) FROM dc GROUP BY grp
EXCEPT
SELECT grp, count(*), sum(amount), max(length(val)) FROM dc_heap GROUP BY grp;
SELECT (SELECT count(*) FROM dc d JOIN dc_heap h USING (id)
         WHERE d.val = h.val AND d.amount = h.amount) AS joined,
       (SELECT count(*) FROM dc_heap) AS heap_rows;
BEGIN;
DECLARE c CURSOR WITH HOLD FOR SELECT id, val FROM dc ORDER BY id;
FETCH 3 FROM c;
COMMIT;
SELECT segments AS cached_with_held_cursor FROM lsm.directory_cache();
FETCH 3 FROM c;
CLOSE c;

-- a small bound: the cache is emptied once it holds more than 1 kB, and
-- refills on the next scan
SET lsm.directory_cache_size = '1kB';
SELECT count(*) FROM dc;
SELECT segments AS cached_over_bound FROM lsm.directory_cache();
-- a large one keeps everything
SET lsm.directory_cache_size = '1GB';
SELECT count(*) FROM dc;
SELECT segments = (SELECT count(*) FROM lsm.segments('dc')) AS all_cached
  FROM lsm.directory_cache();
-- new segments and rows written and read in the same session
INSERT INTO dc SELECT g, g % 7, 'new', 1 FROM generate_series(20001, 20100) g;
INSERT INTO dc_heap SELECT g, g % 7, 'new', 1 FROM generate_series(20001, 20100) g;
SELECT (SELECT count(*) FROM dc) = (SELECT count(*) FROM dc_heap) AS same_count;
RESET lsm.directory_cache_size;

-- bad values change nothing
SET lsm.directory_cache_size = -1;
SET lsm.directory_cache_size = 'lots';
SHOW lsm.directory_cache_size;

DROP TABLE dc, dc_heap;
