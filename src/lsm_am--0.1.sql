/* lsm_am extension script, version 0.1 */

\echo Use "CREATE EXTENSION lsm_am" to load this file. \quit

-- The schema "lsm" is created by CREATE EXTENSION (schema = lsm in the
-- control file).  It holds the lsm catalog: ordinary heap tables whose
-- MVCC visibility and WAL give segment visibility, atomic replacement and
-- crash safety.  All rows are keyed by storage id, a 64-bit number kept in
-- the metapage of each relfilenode of an lsm table.

CREATE SEQUENCE lsm.storage_id_seq;
CREATE SEQUENCE lsm.segment_id_seq;

-- One row per storage (relfilenode) of an lsm table.
CREATE TABLE lsm.storage (
	storage_id	bigint		NOT NULL PRIMARY KEY,
	relid		oid			NOT NULL,
	created_at	timestamptz	NOT NULL DEFAULT now()
) USING heap;
CREATE INDEX storage_relid_idx ON lsm.storage (relid);

-- One row per segment.  The row is inserted by the (sub)transaction that
-- wrote the segment, so the segment becomes visible exactly when it commits.
CREATE TABLE lsm.segment (
	storage_id		bigint	NOT NULL,
	segment_id		bigint	NOT NULL,
	level			int4	NOT NULL,
	min_rowid		bigint	NOT NULL,
	max_rowid		bigint	NOT NULL,
	row_count		bigint	NOT NULL,
	deleted_count	bigint	NOT NULL,
	schema_version	int4	NOT NULL,
	start_block		bigint	NOT NULL,
	nblocks			int4	NOT NULL,
	total_bytes		bigint	NOT NULL,
	raw_bytes		bigint	NOT NULL,
	written_xid		xid8	NOT NULL,
	-- the persisted delete map (docs/FORMAT.md): rows a compaction folded
	-- settled deletes into; delmap_bytes = 0 when there is none
	delmap_start	bigint	NOT NULL,
	delmap_bytes	int4	NOT NULL,
	-- the runs of pages holding the segment, in the order of its bytes, as
	-- {start, pages, start, pages, ...} (docs/FORMAT.md); NULL when it lies
	-- in one run (start_block, nblocks); a run starting at 0 is a hole
	-- (pages of blocks a trimming compaction rewrote elsewhere)
	extents			int8[],
	PRIMARY KEY (storage_id, segment_id)
) USING heap;
CREATE INDEX segment_rowid_idx ON lsm.segment (storage_id, min_rowid);
-- a writer counts a table's level-0 segments before adding one
-- (lsm.compact_l0_stop)
CREATE INDEX segment_level_idx ON lsm.segment (storage_id, level);

-- Rowid ranges reserved by transactions that may still hold rows of them in
-- their write buffers.  A unique-index check in another session that meets
-- such a rowid learns the inserting transaction from this row's xmin and
-- waits for it, as it would for an in-progress heap tuple.
CREATE TABLE lsm.inflight (
	storage_id	bigint	NOT NULL,
	min_rowid	bigint	NOT NULL,
	max_rowid	bigint	NOT NULL
) USING heap;
CREATE INDEX inflight_rowid_idx ON lsm.inflight (storage_id, min_rowid);

-- Delete records: one row per deleted or updated row version, inserted by
-- the deleting (sub)transaction, so its visibility is the delete's
-- visibility (merge-on-read).  successor: the new version's rowid for an
-- UPDATE, -1 for a DELETE, -2 for a row moved to another partition.
-- lockmode: the row lock the change implies while it is in progress (3 for
-- DELETE and key-changing UPDATE, 2 for other UPDATEs).  The primary key
-- serialises competing deleters of one row.
CREATE TABLE lsm.deleted (
	storage_id	bigint	NOT NULL,
	rowid		bigint	NOT NULL,
	successor	bigint	NOT NULL,
	lockmode	int4	NOT NULL,
	PRIMARY KEY (storage_id, rowid)
) USING heap;
-- backwards along update chains: locks on an older version that a key-keeping
-- UPDATE (lockmode 2) did not conflict with still hold on the newer versions;
-- partial, so a DELETE writes one index entry (inserted by hand in
-- lsm_catalog_insert_delete)
CREATE INDEX deleted_successor_idx ON lsm.deleted (storage_id, successor)
	WHERE lockmode = 2;

-- Row locks (SELECT FOR UPDATE/NO KEY UPDATE/SHARE/KEY SHARE, foreign-key
-- checks): one row per lock taken, inserted by the locking (sub)transaction.
-- A lock is held while its inserter is in progress.  mode is the
-- LockTupleMode (0 key share, 1 share, 2 no key update, 3 update).
CREATE TABLE lsm.rowlock (
	storage_id	bigint	NOT NULL,
	rowid		bigint	NOT NULL,
	mode		int4	NOT NULL
) USING heap;
CREATE INDEX rowlock_rowid_idx ON lsm.rowlock (storage_id, rowid);

-- Compaction bookkeeping, one row per storage that was compacted.
-- rowid_watermark: every rowid below it was handed out to a transaction
-- that has ended, so a rowid below it that no segment holds is gone for
-- good (VACUUM removes its index entries).
CREATE TABLE lsm.compaction (
	storage_id		bigint		NOT NULL PRIMARY KEY,
	rowid_watermark	bigint		NOT NULL,
	compactions		bigint		NOT NULL,
	last_compaction	timestamptz	NOT NULL,
	rows_dropped	bigint		NOT NULL
) USING heap;

-- Per-table settings (lsm.set_compaction_options,
-- lsm.set_compression_level): NULL means the lsm.* setting.  Keyed by the
-- table's OID (a TRUNCATE or rewrite keeps them); rows of dropped tables go
-- with lsm.collect_garbage().
CREATE TABLE lsm.table_option (
	relid					oid		NOT NULL PRIMARY KEY,
	compact_l0_trigger		int4,
	compact_delete_fraction	float8,
	compression_level		int4
) USING heap;

-- Schema versions (docs/ARCHITECTURE.md, "Schema versions"): the column
-- layouts a storage's segments are written with, one row per layout.
-- Element i of each array describes attribute number i + 1 as the rows were
-- encoded: type, typmod, length, by-value, alignment, dropped.  A row is
-- inserted by the transaction whose ALTER TABLE makes the layout (or by the
-- first write under it), so a rolled-back ALTER leaves none; versions no
-- segment any snapshot can see still needs are evicted (watermark).
CREATE TABLE lsm.schema_version (
	storage_id	bigint		NOT NULL,
	version		int4		NOT NULL,
	natts		int4		NOT NULL,
	atttypids	oid[]		NOT NULL,
	atttypmods	int4[]		NOT NULL,
	attlens		int2[]		NOT NULL,
	attbyvals	bool[]		NOT NULL,
	attaligns	"char"[]	NOT NULL,
	attdropped	bool[]		NOT NULL,
	created_at	timestamptz	NOT NULL,
	PRIMARY KEY (storage_id, version)
) USING heap;

CREATE FUNCTION lsm.lsm_tableam_handler(internal)
RETURNS table_am_handler
AS 'MODULE_PATHNAME', 'lsm_tableam_handler'
LANGUAGE C STRICT;

CREATE ACCESS METHOD lsm TYPE TABLE HANDLER lsm.lsm_tableam_handler;
COMMENT ON ACCESS METHOD lsm IS 'log-structured, columnar table access method';

CREATE FUNCTION lsm.segments(rel regclass,
	OUT segment_id bigint, OUT level int4, OUT min_rowid bigint, OUT max_rowid bigint,
	OUT row_count bigint, OUT deleted_count bigint, OUT schema_version int4,
	OUT start_block bigint, OUT nblocks int4, OUT bytes bigint, OUT uncompressed_bytes bigint,
	OUT extents bigint[])
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'lsm_segments'
LANGUAGE C;

CREATE FUNCTION lsm.stats(rel regclass,
	OUT storage_id bigint, OUT segments bigint, OUT l0_segments bigint,
	OUT row_count bigint, OUT live_rows bigint, OUT buffered_rows bigint,
	OUT bytes bigint, OUT uncompressed_bytes bigint, OUT relation_bytes bigint,
	OUT delete_records bigint, OUT rows_dropped bigint, OUT compactions bigint,
	OUT last_compaction timestamptz, OUT schema_version int4, OUT watermark int4)
RETURNS record
AS 'MODULE_PATHNAME', 'lsm_stats'
LANGUAGE C;

-- The schema versions the table keeps (oldest first): how many segments
-- (visible to your snapshot) and stored rows each holds, and which one new
-- rows are written under.  columns: attnum:type per attribute, "dropped"
-- for dropped ones.
CREATE FUNCTION lsm.schema_versions(rel regclass,
	OUT version int4, OUT natts int4, OUT is_current boolean,
	OUT segments bigint, OUT row_count bigint, OUT columns text,
	OUT created_at timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'lsm_schema_versions'
LANGUAGE C;

CREATE FUNCTION lsm.verify(rel regclass,
	OUT segments_checked bigint, OUT blocks_checked bigint, OUT chunks_checked bigint,
	OUT rows_checked bigint)
RETURNS record
AS 'MODULE_PATHNAME', 'lsm_verify'
LANGUAGE C;

-- What this backend caches of segment directories and delete maps between
-- scans (bounded by lsm.directory_cache_size at transaction end).
CREATE FUNCTION lsm.directory_cache(
	OUT segments bigint, OUT bytes bigint, OUT mapped_bytes bigint,
	OUT delete_maps bigint, OUT delete_map_bytes bigint)
RETURNS record
AS 'MODULE_PATHNAME', 'lsm_directory_cache'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

-- The shared segment directory cache (lsm.shared_directory_cache_size): its
-- ring's size and use, the directories it holds, and since the server started
-- the directories found there, parsed into it, evicted from it, and parsed
-- privately instead (no room, or too large).  No row when there is none.
CREATE FUNCTION lsm.shared_directory_cache(
	OUT size bigint, OUT used_bytes bigint, OUT segments bigint,
	OUT hits bigint, OUT loads bigint, OUT evictions bigint,
	OUT bypasses bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'lsm_shared_directory_cache'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

-- Remove lsm catalog rows whose storage no longer belongs to any lsm table
-- (left behind by a DROP in a session that had not loaded the library).
CREATE FUNCTION lsm.collect_garbage()
RETURNS bigint
AS 'MODULE_PATHNAME', 'lsm_collect_garbage'
LANGUAGE C;

-- Run one compaction pass on an lsm table now (docs/ARCHITECTURE.md,
-- "Compaction"): merge small and level-0 segments, rewrite segments with
-- many settled deletes, drop the deleted rows and their delete records.
-- full => true rewrites every segment.  Not inside a transaction block.
CREATE FUNCTION lsm.compact(rel regclass, full boolean DEFAULT false,
	OUT segments_in bigint, OUT segments_out bigint,
	OUT rows_in bigint, OUT rows_out bigint,
	OUT bytes_in bigint, OUT bytes_out bigint,
	OUT deletes_folded bigint, OUT rows_migrated bigint,
	OUT versions_evicted bigint)
RETURNS record
AS 'MODULE_PATHNAME', 'lsm_compact'
LANGUAGE C;

-- The table's own lsm.compact_l0_trigger and lsm.compact_delete_fraction
-- (NULL: the lsm.* setting); each call sets both.  Owner only.
CREATE FUNCTION lsm.set_compaction_options(rel regclass,
	l0_trigger int4 DEFAULT NULL, delete_fraction float8 DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'lsm_set_compaction_options'
LANGUAGE C;

-- The values compaction uses for the table, and whether each is its own.
CREATE FUNCTION lsm.compaction_options(rel regclass,
	OUT l0_trigger int4, OUT l0_trigger_is_own boolean,
	OUT delete_fraction float8, OUT delete_fraction_is_own boolean)
RETURNS record
AS 'MODULE_PATHNAME', 'lsm_compaction_options'
LANGUAGE C;

-- The table's own lsm.compression_level (NULL: the lsm.* setting of the
-- session that writes), used by every session's writes and by compaction
-- of the table.  Owner only.
CREATE FUNCTION lsm.set_compression_level(rel regclass, level int4 DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'lsm_set_compression_level'
LANGUAGE C;

-- The zstd level the table's segments are written with now (in this
-- session), and whether it is the table's own.
CREATE FUNCTION lsm.compression_level(rel regclass,
	OUT level int4, OUT is_own boolean)
RETURNS record
AS 'MODULE_PATHNAME', 'lsm_get_compression_level'
LANGUAGE C;

-- Compactions running now (manual and background), with their progress.
-- Needs lsm_am in shared_preload_libraries; empty otherwise.
CREATE FUNCTION lsm.compaction_progress(
	OUT pid int4, OUT datid oid, OUT relid oid, OUT phase text,
	OUT segments_done bigint, OUT segments_total bigint,
	OUT rows_done bigint, OUT rows_total bigint,
	OUT bytes_done bigint, OUT bytes_total bigint, OUT started timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'lsm_compaction_progress'
LANGUAGE C;
CREATE VIEW lsm.compaction_progress AS
	SELECT p.pid, p.datid, d.datname, p.relid, p.relid::regclass AS relation,
		   p.phase, p.segments_done, p.segments_total, p.rows_done,
		   p.rows_total, p.bytes_done, p.bytes_total, p.started
	  FROM lsm.compaction_progress() p
	  LEFT JOIN pg_catalog.pg_database d ON d.oid = p.datid;

-- Logical decoding sees nothing of an lsm table (it writes no heap WAL), so
-- any command that would leave a permanent lsm table in a publication is
-- refused: publication changes, and table changes (a new table in a
-- published schema or under FOR ALL TABLES, SET ACCESS METHOD, ATTACH).
CREATE FUNCTION lsm.refuse_publication() RETURNS event_trigger
AS 'MODULE_PATHNAME', 'lsm_refuse_publication'
LANGUAGE C;
CREATE EVENT TRIGGER lsm_refuse_publication ON ddl_command_end
	WHEN TAG IN ('CREATE PUBLICATION', 'ALTER PUBLICATION', 'CREATE TABLE',
				 'CREATE TABLE AS', 'SELECT INTO', 'ALTER TABLE',
				 'CREATE MATERIALIZED VIEW')
	EXECUTE FUNCTION lsm.refuse_publication();

-- The catalog tables hold no user data of their own: pg_dump must not dump
-- their rows (a restored lsm table gets new storage and new segments).
REVOKE ALL ON lsm.storage, lsm.segment, lsm.inflight, lsm.deleted, lsm.rowlock,
	lsm.schema_version, lsm.table_option FROM PUBLIC;
