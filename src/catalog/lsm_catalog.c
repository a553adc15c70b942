/*-------------------------------------------------------------------------
 *
 * lsm_catalog.c
 *	  Reading and writing the lsm catalog tables (schema "lsm").
 *
 * NOTES
 *	  The catalog tables are ordinary heap tables created by the extension
 *	  script.  We access them with the heap and index routines directly (no
 *	  SPI): inserts through CatalogTupleInsert so their indexes are
 *	  maintained, scans through systable_beginscan with the caller's
 *	  snapshot, so that segment visibility is exactly the visibility of the
 *	  catalog row describing it.
 *
 *	  A transaction must see its own segments whatever command wrote them:
 *	  per-row command ids inside the segment decide which of their rows a
 *	  scan sees.  So for an MVCC snapshot we scan the catalog with a copy
 *	  whose curcid is raised past every command, and flag the segments our
 *	  transaction wrote (own_xact) for per-row filtering.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/sdir.h"
#include "access/relation.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "storage/procarray.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/syscache.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/xid8.h"

#include "lsm_am.h"
#include "catalog/lsm_catalog.h"
#include "scan/lsm_scan.h"
#include "storage/lsm_storage.h"

/* column numbers of lsm.segment */
#define Anum_seg_storage_id		1
#define Anum_seg_segment_id		2
#define Anum_seg_level			3
#define Anum_seg_min_rowid		4
#define Anum_seg_max_rowid		5
#define Anum_seg_row_count		6
#define Anum_seg_deleted_count	7
#define Anum_seg_schema_version 8
#define Anum_seg_start_block	9
#define Anum_seg_nblocks		10
#define Anum_seg_total_bytes	11
#define Anum_seg_raw_bytes		12
#define Anum_seg_written_xid	13
#define Anum_seg_delmap_start	14
#define Anum_seg_delmap_bytes	15
#define Anum_seg_extents		16
#define Natts_seg				16

static Oid
lsm_namespace(bool missing_ok)
{
	return get_namespace_oid("lsm", missing_ok);
}

/*
 * OIDs of the catalog tables and indexes, looked up by name once and then
 * remembered until pg_class changes (a syscache invalidation callback
 * forgets them), since every row written or deleted needs several.
 */
#define LSM_RELID_CACHE		16

typedef struct LsmRelidCacheEntry
{
	const char *name;			/* callers pass string literals */
	Oid			relid;
} LsmRelidCacheEntry;

static LsmRelidCacheEntry relid_cache[LSM_RELID_CACHE];
static int	relid_cache_n = 0;
static bool relid_cache_registered = false;

static void
lsm_relid_cache_reset(Datum arg, int cacheid, uint32 hashvalue)
{
	relid_cache_n = 0;
}

Oid
lsm_catalog_relid(const char *name)
{
	Oid			nsp;
	Oid			relid = InvalidOid;
	int			i;

	for (i = 0; i < relid_cache_n; i++)
		if (strcmp(relid_cache[i].name, name) == 0)
			return relid_cache[i].relid;

	nsp = lsm_namespace(true);
	if (OidIsValid(nsp))
		relid = get_relname_relid(name, nsp);
	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("lsm catalog table \"lsm.%s\" does not exist", name),
				 errhint("Run CREATE EXTENSION lsm_am.")));
	if (!relid_cache_registered)
	{
		CacheRegisterSyscacheCallback(RELNAMENSP, lsm_relid_cache_reset, (Datum) 0);
		CacheRegisterSyscacheCallback(NAMESPACEOID, lsm_relid_cache_reset, (Datum) 0);
		relid_cache_registered = true;
	}
	if (relid_cache_n < LSM_RELID_CACHE)
	{
		relid_cache[relid_cache_n].name = name;
		relid_cache[relid_cache_n].relid = relid;
		relid_cache_n++;
	}
	return relid;
}

/*
 * Probes: index lookups of a few catalog rows that run once or more per row
 * a statement reads or changes.  A DELETE or UPDATE probes lsm.deleted and
 * lsm.rowlock for every row it changes (the row's delete record, the locks
 * on it), and a point fetch probes lsm.deleted and lsm.segment, so the index
 * scans stay open for the rest of the transaction once used and each probe
 * is a rescan: opening the relations and beginning a scan per row cost
 * more than the index descent.
 *
 * A dirty snapshot does not depend on the command id, so one scan serves
 * every command of the transaction; its SnapshotData is re-initialised
 * before each probe (the scan keeps a pointer to it).  No buffer pin is
 * kept between probes (lsm_probe_end rescans, which drops it), so VACUUM of
 * the catalogs never waits for an idle transaction of ours.
 *
 * Everything the scans hold (relation references, locks, pins) belongs to
 * a resource owner of their own under the top transaction's, and their
 * memory to a context of their own under TopTransactionContext (index AMs
 * allocate lazily during a scan: btree its killed-items array).  Pre-commit
 * closes them (lsm_catalog_close_xact); a transaction abort releases and
 * frees them with the transaction's.  If a subtransaction aborts while a
 * probe is under way, the scans' state cannot be trusted any more: they are
 * abandoned, their resource owner released (as PostgreSQL does for a
 * failed portal), and opened afresh by the next probe.
 */
typedef enum LsmProbeKind
{
	LSM_PROBE_DELETED,			/* lsm.deleted by (storage, rowid) */
	LSM_PROBE_SUCCESSOR,		/* lsm.deleted by (storage, successor) */
	LSM_PROBE_ROWLOCK,			/* lsm.rowlock by (storage, rowid) */
	LSM_PROBE_ROWLOCK_ANY,		/* lsm.rowlock by storage */
	LSM_PROBE_DELETED_SNAP,		/* lsm.deleted by (storage, rowid), with the
								 * caller's snapshot */
	LSM_PROBE_SEGMENT,			/* lsm.segment by (storage, min_rowid <=),
								 * with the caller's snapshot */
	LSM_NUM_PROBES
} LsmProbeKind;

typedef struct LsmProbeScan
{
	const char *relname;
	const char *indexname;
	int			nkeys;
	Relation	heap;
	Relation	index;
	IndexScanDesc scan;
	TupleTableSlot *slot;
	SnapshotData dirty;
	Snapshot	judge;			/* MVCC snapshot applied here, not by the scan */
} LsmProbeScan;

static LsmProbeScan probe_scans[LSM_NUM_PROBES] = {
	{"deleted", "deleted_pkey", 2},
	{"deleted", "deleted_successor_idx", 2},
	{"rowlock", "rowlock_rowid_idx", 2},
	{"rowlock", "rowlock_rowid_idx", 1},
	{"deleted", "deleted_pkey", 2},
	{"segment", "segment_rowid_idx", 2},
};

static LsmProbeScan *lsm_probe_begin_snapshot(LsmProbeKind kind, ScanKey key,
											  Snapshot snapshot);

static MemoryContext probe_cxt = NULL;
static ResourceOwner probe_owner = NULL;
static bool probe_active = false;	/* between lsm_probe_begin and _end */

/* Run probe code in the scans' memory context and resource owner. */
#define PROBE_ENTER() \
	MemoryContext probe_oldcxt = MemoryContextSwitchTo(probe_cxt); \
	ResourceOwner probe_oldowner = CurrentResourceOwner; \
	CurrentResourceOwner = probe_owner
#define PROBE_LEAVE() \
	do { \
		CurrentResourceOwner = probe_oldowner; \
		MemoryContextSwitchTo(probe_oldcxt); \
	} while (0)

/*
 * Start a probe: position probe `kind` on `key` (heap attribute numbers in
 * sk_attno, as for systable scans; converted here to index columns, which
 * are the leading ones in order).  Read the tuples with lsm_probe_next and
 * finish with lsm_probe_end.
 */
static LsmProbeScan *
lsm_probe_begin(LsmProbeKind kind, ScanKey key)
{
	return lsm_probe_begin_snapshot(kind, key, NULL);
}

/*
 * The same with the caller's snapshot instead of a dirty one (NULL: dirty).
 * A scan reads its snapshot only while it runs, so the probe's scan takes
 * the caller's for the time of the probe.
 */
static LsmProbeScan *
lsm_probe_begin_snapshot(LsmProbeKind kind, ScanKey key, Snapshot snapshot)
{
	LsmProbeScan *p = &probe_scans[kind];
	ScanKeyData ikey[2];
	int			i;

	Assert(!probe_active);
	Assert(p->nkeys <= lengthof(ikey));
	for (i = 0; i < p->nkeys; i++)
	{
		ikey[i] = key[i];
		ikey[i].sk_attno = i + 1;
	}
	if (probe_cxt == NULL)
	{
		probe_cxt = AllocSetContextCreate(TopTransactionContext,
										  "lsm catalog probes",
										  ALLOCSET_SMALL_SIZES);
		probe_owner = ResourceOwnerCreate(TopTransactionResourceOwner,
										  "lsm catalog probes");
	}
	probe_active = true;
	{
		PROBE_ENTER();
		if (p->scan == NULL)
		{
			p->heap = table_open(lsm_catalog_relid(p->relname), AccessShareLock);
			p->index = index_open(lsm_catalog_relid(p->indexname), AccessShareLock);
			p->slot = table_slot_create(p->heap, NULL);
			InitDirtySnapshot(p->dirty);
			p->scan = index_beginscan(p->heap, p->index, &p->dirty, p->nkeys, 0);
		}
		InitDirtySnapshot(p->dirty);
		p->scan->xs_snapshot = snapshot ? snapshot : &p->dirty;
		p->judge = NULL;

		/*
		 * Under SERIALIZABLE an MVCC scan of a catalog would take SIREAD
		 * locks on its pages, and every flush that inserts into the same
		 * pages would then count as a rw-conflict with every such reader:
		 * PostgreSQL's SSI exempts only its own catalogs.  So the probe
		 * scans with SnapshotAny, which takes no predicate locks, and
		 * applies the snapshot itself (lsm_probe_next_dir).  lsm_am
		 * reports the conflicts of the user's table on its own.
		 */
		if (snapshot != NULL && IsMVCCSnapshot(snapshot) &&
			IsolationIsSerializable())
		{
			p->judge = snapshot;
			p->scan->xs_snapshot = SnapshotAny;
		}
		index_rescan(p->scan, ikey, p->nkeys, NULL, 0);
		PROBE_LEAVE();
	}
	return p;
}

/* Next tuple of the probe that its snapshot sees, or NULL. */
static HeapTuple
lsm_probe_next_dir(LsmProbeScan *p, ScanDirection dir)
{
	bool		shouldfree;
	bool		found;
	HeapTuple	tup;

	for (;;)
	{
		{
			PROBE_ENTER();
			found = index_getnext_slot(p->scan, dir, p->slot);
			PROBE_LEAVE();
		}
		if (!found)
			return NULL;
		/* a buffer heap slot: the tuple stays valid until the slot is cleared */
		tup = ExecFetchSlotHeapTuple(p->slot, false, &shouldfree);
		if (p->judge != NULL)
		{
			Buffer		buf = ((BufferHeapTupleTableSlot *) p->slot)->buffer;
			bool		visible;

			LockBuffer(buf, BUFFER_LOCK_SHARE);
			visible = HeapTupleSatisfiesVisibility(tup, p->judge, buf);
			LockBuffer(buf, BUFFER_LOCK_UNLOCK);
			if (!visible)
				continue;
		}
		return tup;
	}
}

static HeapTuple
lsm_probe_next(LsmProbeScan *p)
{
	return lsm_probe_next_dir(p, ForwardScanDirection);
}

/* Finish a probe: drop the slot's and the index scan's buffer pins. */
static void
lsm_probe_end(LsmProbeScan *p)
{
	PROBE_ENTER();
	ExecClearTuple(p->slot);
	index_rescan(p->scan, p->scan->keyData, p->nkeys, NULL, 0);
	PROBE_LEAVE();
	p->scan->xs_snapshot = &p->dirty;	/* the caller's may go away */
	p->judge = NULL;
	probe_active = false;
}

static void
lsm_probe_forget(void)
{
	int			i;

	for (i = 0; i < LSM_NUM_PROBES; i++)
	{
		probe_scans[i].scan = NULL;
		probe_scans[i].slot = NULL;
		probe_scans[i].index = NULL;
		probe_scans[i].heap = NULL;
	}
	probe_cxt = NULL;
	probe_owner = NULL;
	probe_active = false;
}

/* Release the scans' resource owner and memory, then forget them. */
static void
lsm_probe_release(bool isCommit)
{
	ResourceOwnerRelease(probe_owner, RESOURCE_RELEASE_BEFORE_LOCKS,
						 isCommit, false);
	/* at commit, the locks move to the top transaction's owner */
	ResourceOwnerRelease(probe_owner, RESOURCE_RELEASE_LOCKS, isCommit, false);
	ResourceOwnerRelease(probe_owner, RESOURCE_RELEASE_AFTER_LOCKS,
						 isCommit, false);
	ResourceOwnerDelete(probe_owner);
	MemoryContextDelete(probe_cxt);
	lsm_probe_forget();
}

/* Pre-commit: close the probe scans. */
static void
lsm_probe_close_all(void)
{
	int			i;

	if (probe_cxt == NULL)
		return;
	for (i = 0; i < LSM_NUM_PROBES; i++)
	{
		LsmProbeScan *p = &probe_scans[i];

		if (p->scan != NULL)
		{
			PROBE_ENTER();
			index_endscan(p->scan);
			ExecDropSingleTupleTableSlot(p->slot);
			index_close(p->index, NoLock);
			table_close(p->heap, NoLock);
			PROBE_LEAVE();
			p->scan = NULL;
		}
	}
	lsm_probe_release(true);
}

/*
 * Subtransaction abort: abandon the probe scans if the error interrupted a
 * probe (see above).
 */
void
lsm_catalog_subxact_abort(void)
{
	if (probe_cxt != NULL && probe_active)
		lsm_probe_release(false);
}

/* Is the lsm catalog there (it is not while DROP EXTENSION runs)? */
bool
lsm_catalog_available(void)
{
	Oid			nsp = lsm_namespace(true);

	return OidIsValid(nsp) &&
		OidIsValid(get_relname_relid("segment", nsp)) &&
		OidIsValid(get_relname_relid("segment_level_idx", nsp)) &&
		OidIsValid(get_relname_relid("deleted", nsp)) &&
		OidIsValid(get_relname_relid("rowlock", nsp)) &&
		OidIsValid(get_relname_relid("storage", nsp)) &&
		OidIsValid(get_relname_relid("inflight", nsp));
}

/* Allocate a storage id and record it.  The row is transactional. */
uint64
lsm_catalog_new_storage(Oid relid)
{
	int64		id;
	Relation	rel;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	HeapTuple	tup;

	id = nextval_internal(lsm_catalog_relid("storage_id_seq"), false);
	rel = table_open(lsm_catalog_relid("storage"), RowExclusiveLock);
	values[0] = Int64GetDatum(id);
	values[1] = ObjectIdGetDatum(relid);
	values[2] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	tup = heap_form_tuple(RelationGetDescr(rel), values, nulls);
	CatalogTupleInsert(rel, tup);
	heap_freetuple(tup);
	table_close(rel, RowExclusiveLock);
	return (uint64) id;
}

/*
 * Segment ids set aside for writes in parallel mode, where nextval() is not
 * allowed (the leader of a parallel CREATE TABLE AS writes its target while
 * workers scan).  Sequence values are never handed out twice, so the ids
 * stay good across transactions; they live in TopMemoryContext and are used
 * first.
 */
static int64 *reserved_seg_ids = NULL;
static int	reserved_seg_first = 0;
static int	reserved_seg_end = 0;
static int	reserved_seg_cap = 0;
static Oid	reserved_seg_catalog = InvalidOid;	/* the sequence they came from */

/*
 * The instance of the extension's catalog: the OID of lsm.segment_id_seq.
 * Storage and segment ids are unique only within one instance (a DROP and
 * CREATE EXTENSION starts them over), so caches of segments key by it too.
 */
Oid
lsm_catalog_instance(void)
{
	return lsm_catalog_relid("segment_id_seq");
}

int64
lsm_catalog_next_segment_id(void)
{
	/* ids set aside from an earlier instance of the catalog are void */
	if (reserved_seg_first < reserved_seg_end &&
		reserved_seg_catalog != lsm_catalog_instance())
		reserved_seg_first = reserved_seg_end = 0;
	if (reserved_seg_first < reserved_seg_end)
		return reserved_seg_ids[reserved_seg_first++];
	return nextval_internal(lsm_catalog_instance(), false);
}

/* Set segment ids aside until at least n are (not in parallel mode). */
void
lsm_catalog_reserve_segment_ids(int n)
{
	int			have;

	if (reserved_seg_catalog != lsm_catalog_instance())
	{
		reserved_seg_first = reserved_seg_end = 0;
		reserved_seg_catalog = lsm_catalog_instance();
	}
	have = reserved_seg_end - reserved_seg_first;
	if (have >= n)
		return;
	if (reserved_seg_cap < n)
	{
		int64	   *ids = MemoryContextAlloc(TopMemoryContext, sizeof(int64) * n);

		if (have > 0)
			memcpy(ids, reserved_seg_ids + reserved_seg_first, sizeof(int64) * have);
		if (reserved_seg_ids)
			pfree(reserved_seg_ids);
		reserved_seg_ids = ids;
		reserved_seg_cap = n;
	}
	else if (reserved_seg_first > 0)
		memmove(reserved_seg_ids, reserved_seg_ids + reserved_seg_first,
				sizeof(int64) * have);
	reserved_seg_first = 0;
	reserved_seg_end = have;
	while (reserved_seg_end < n)
		reserved_seg_ids[reserved_seg_end++] =
			nextval_internal(lsm_catalog_instance(), false);
}

int
lsm_catalog_reserved_segment_ids(void)
{
	if (reserved_seg_catalog != lsm_catalog_instance())
		return 0;
	return reserved_seg_end - reserved_seg_first;
}

/*
 * Set the pages of `seg`: the runs `extents` (in the order of its bytes),
 * and from them its first block and page count.
 */
void
lsm_segment_set_pages(LsmSegmentEntry *seg, const LsmExtent *extents, int n)
{
	int			i;

	Assert(n >= 1 && n <= LSM_SEG_MAX_EXTENTS);
	seg->nextents = n;
	seg->nblocks = 0;
	for (i = 0; i < n; i++)
	{
		seg->extents[i] = extents[i];
		seg->nblocks += extents[i].nblocks;
	}
	seg->start_block = extents[0].start;
}

/*
 * The bytes of its image a segment holds: all of them but those on the
 * pages of its holes (trimming, lsm_compact.c).
 */
int64
lsm_segment_held_bytes(const LsmSegmentEntry *seg)
{
	int64		bytes = seg->total_bytes;
	int			i;

	for (i = 0; i < seg->nextents; i++)
		if (LSM_EXTENT_IS_HOLE(seg->extents[i]))
			bytes -= (int64) seg->extents[i].nblocks * LSM_PAGE_PAYLOAD;
	return Max(bytes, 0);
}

/*
 * The runs of pages an lsm.segment tuple lists in its extents column (NULL
 * when the segment lies in one run: start_block, nblocks), into ext[];
 * returns their count.  Errors out on a malformed list.
 */
static int
lsm_extents_from_datum(Datum d, bool isnull, BlockNumber start, uint32 nblocks,
					   int64 segment_id, LsmExtent *ext)
{
	ArrayType  *arr;
	Datum	   *elems;
	bool	   *enulls;
	int			nelems;
	int			n;
	int			i;
	uint64		total = 0;

	if (isnull)
	{
		ext[0].start = start;
		ext[0].nblocks = nblocks;
		return 1;
	}
	arr = DatumGetArrayTypeP(d);
	deconstruct_array(arr, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elems, &enulls, &nelems);
	n = nelems / 2;
	if (ARR_NDIM(arr) != 1 || nelems % 2 != 0 || n < 1 ||
		n > LSM_SEG_MAX_EXTENTS)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("lsm segment " INT64_FORMAT " has a malformed extent list in lsm.segment",
						segment_id)));
	for (i = 0; i < n; i++)
	{
		int64		s = DatumGetInt64(elems[2 * i]);
		int64		len = DatumGetInt64(elems[2 * i + 1]);

		/* a hole (start at the metapage) only between two runs of pages */
		if (enulls[2 * i] || enulls[2 * i + 1] || s < LSM_METAPAGE_BLKNO ||
			(s == LSM_METAPAGE_BLKNO &&
			 (i == 0 || i == n - 1 || ext[i - 1].start == LSM_METAPAGE_BLKNO)) ||
			len <= 0 || s + len > (int64) MaxBlockNumber)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("lsm segment " INT64_FORMAT " has a malformed extent list in lsm.segment",
							segment_id)));
		ext[i].start = (BlockNumber) s;
		ext[i].nblocks = (uint32) len;
		total += (uint64) len;
	}
	if (ext[0].start != start || total != nblocks)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("lsm segment " INT64_FORMAT ": its extent list disagrees with start_block and nblocks in lsm.segment",
						segment_id)));
	pfree(elems);
	pfree(enulls);
	return n;
}

/* Record a newly written segment; visible when this (sub)xact commits. */
void
lsm_catalog_insert_segment(uint64 storage_id, const LsmSegmentEntry *seg)
{
	Relation	rel;
	Datum		values[Natts_seg];
	bool		nulls[Natts_seg];
	HeapTuple	tup;

	Assert(seg->nextents >= 1 && seg->start_block == seg->extents[0].start);
	memset(nulls, 0, sizeof(nulls));
	if (seg->nextents > 1)
	{
		Datum		elems[2 * LSM_SEG_MAX_EXTENTS];
		int			i;

		for (i = 0; i < seg->nextents; i++)
		{
			elems[2 * i] = Int64GetDatum((int64) seg->extents[i].start);
			elems[2 * i + 1] = Int64GetDatum((int64) seg->extents[i].nblocks);
		}
		values[Anum_seg_extents - 1] =
			PointerGetDatum(construct_array(elems, 2 * seg->nextents, INT8OID, 8,
											FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	}
	else
		nulls[Anum_seg_extents - 1] = true;
	values[Anum_seg_storage_id - 1] = Int64GetDatum((int64) storage_id);
	values[Anum_seg_segment_id - 1] = Int64GetDatum(seg->segment_id);
	values[Anum_seg_level - 1] = Int32GetDatum(seg->level);
	values[Anum_seg_min_rowid - 1] = Int64GetDatum(seg->min_rowid);
	values[Anum_seg_max_rowid - 1] = Int64GetDatum(seg->max_rowid);
	values[Anum_seg_row_count - 1] = Int64GetDatum(seg->row_count);
	values[Anum_seg_deleted_count - 1] = Int64GetDatum(seg->deleted_count);
	values[Anum_seg_schema_version - 1] = Int32GetDatum(seg->schema_version);
	values[Anum_seg_start_block - 1] = Int64GetDatum((int64) seg->start_block);
	values[Anum_seg_nblocks - 1] = Int32GetDatum((int32) seg->nblocks);
	values[Anum_seg_total_bytes - 1] = Int64GetDatum(seg->total_bytes);
	values[Anum_seg_raw_bytes - 1] = Int64GetDatum(seg->raw_bytes);
	values[Anum_seg_delmap_start - 1] = Int64GetDatum((int64) seg->delmap_start);
	values[Anum_seg_delmap_bytes - 1] = Int32GetDatum((int32) seg->delmap_bytes);
	values[Anum_seg_written_xid - 1] =
		FullTransactionIdGetDatum(GetTopFullTransactionId());

	rel = table_open(lsm_catalog_relid("segment"), RowExclusiveLock);
	tup = heap_form_tuple(RelationGetDescr(rel), values, nulls);
	CatalogTupleInsert(rel, tup);
	heap_freetuple(tup);
	table_close(rel, RowExclusiveLock);
}

static void
lsm_segment_from_tuple(HeapTuple tup, TupleDesc desc, LsmSegmentEntry *seg)
{
	Datum		values[Natts_seg];
	bool		nulls[Natts_seg];

	heap_deform_tuple(tup, desc, values, nulls);
	seg->segment_id = DatumGetInt64(values[Anum_seg_segment_id - 1]);
	seg->level = DatumGetInt32(values[Anum_seg_level - 1]);
	seg->min_rowid = DatumGetInt64(values[Anum_seg_min_rowid - 1]);
	seg->max_rowid = DatumGetInt64(values[Anum_seg_max_rowid - 1]);
	seg->row_count = DatumGetInt64(values[Anum_seg_row_count - 1]);
	seg->deleted_count = DatumGetInt64(values[Anum_seg_deleted_count - 1]);
	seg->schema_version = DatumGetInt32(values[Anum_seg_schema_version - 1]);
	seg->start_block = (BlockNumber) DatumGetInt64(values[Anum_seg_start_block - 1]);
	seg->nblocks = (uint32) DatumGetInt32(values[Anum_seg_nblocks - 1]);
	seg->total_bytes = DatumGetInt64(values[Anum_seg_total_bytes - 1]);
	seg->raw_bytes = DatumGetInt64(values[Anum_seg_raw_bytes - 1]);
	seg->delmap_start = (BlockNumber) DatumGetInt64(values[Anum_seg_delmap_start - 1]);
	seg->delmap_bytes = (uint32) DatumGetInt32(values[Anum_seg_delmap_bytes - 1]);
	seg->nextents = lsm_extents_from_datum(values[Anum_seg_extents - 1],
										   nulls[Anum_seg_extents - 1],
										   seg->start_block, seg->nblocks,
										   seg->segment_id, seg->extents);
	seg->own_xact =
		TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetXmin(tup->t_data));
	seg->inserting_xid = InvalidTransactionId;
}

/*
 * The snapshot to scan lsm.segment with on behalf of `snapshot`: for MVCC a
 * copy whose curcid is raised, so every segment of our own transaction is
 * listed (their rows are filtered by command id); for a dirty snapshot a
 * private one, whose xmin then names each in-progress writer.
 */
static Snapshot
lsm_segment_scan_snapshot(Snapshot snapshot, SnapshotData *own,
						  SnapshotData *dirty)
{
	if (snapshot->snapshot_type == SNAPSHOT_MVCC)
	{
		*own = *snapshot;
		own->curcid = InvalidCommandId;
		return own;
	}
	/*
	 * SnapshotAny would list the inputs a committed compaction retired next
	 * to its outputs, which hold the same rows: read with a dirty snapshot
	 * instead (committed and in-progress segments, nothing retired).
	 */
	if (snapshot->snapshot_type == SNAPSHOT_DIRTY ||
		snapshot->snapshot_type == SNAPSHOT_ANY)
	{
		InitDirtySnapshot(*dirty);
		return dirty;
	}
	return snapshot;
}

/*
 * A dirty listing sees both the inputs of a compaction still in progress
 * (their deletion may yet abort) and its outputs, which hold the same rows:
 * keep the inputs.  Flushes write level 0 and compactions level >= 1 (the
 * copies of relocated segments too), so an in-progress segment at level >=
 * 1 is a compaction output.
 */
static bool
lsm_segment_skip_dirty(HeapTuple tup, TupleDesc desc, SnapshotData *dirty)
{
	bool		isnull;

	if (!TransactionIdIsValid(dirty->xmin))
		return false;			/* committed or our own */
	return DatumGetInt32(heap_getattr(tup, Anum_seg_level, desc, &isnull)) > 0;
}

/*
 * Under SERIALIZABLE, catalog scans with an MVCC snapshot run with
 * SnapshotAny and judge visibility themselves, so that they take no
 * predicate locks on the lsm catalogs (see lsm_probe_begin_snapshot).
 * lsm_cat_scan_snapshot gives the snapshot to scan with; lsm_cat_visible
 * whether `want` sees a tuple such a scan returned.
 */
static Snapshot
lsm_cat_scan_snapshot(Snapshot want)
{
	if (want != NULL && IsMVCCSnapshot(want) && IsolationIsSerializable())
		return SnapshotAny;
	return want;
}

static bool
lsm_cat_visible(SysScanDesc scan, HeapTuple tup, Snapshot want, Snapshot used)
{
	Buffer		buf;
	bool		visible;

	if (used == want)
		return true;
	buf = ((BufferHeapTupleTableSlot *) scan->slot)->buffer;
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	visible = HeapTupleSatisfiesVisibility(tup, want, buf);
	LockBuffer(buf, BUFFER_LOCK_UNLOCK);
	return visible;
}

/*
 * List the segments of a storage visible to `snapshot`, sorted by rowid.
 * Allocated in the current memory context.
 */
LsmSegmentList *
lsm_catalog_segments(uint64 storage_id, Snapshot snapshot)
{
	LsmSegmentList *list = palloc0(sizeof(LsmSegmentList));
	int			cap = 16;
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;
	SnapshotData own;
	SnapshotData dirty;
	Snapshot	scansnap;
	Snapshot	usedsnap;

	list->segs = palloc(sizeof(LsmSegmentEntry) * cap);
	if (storage_id == 0)
		return list;

	scansnap = lsm_segment_scan_snapshot(snapshot, &own, &dirty);

	rel = table_open(lsm_catalog_relid("segment"), AccessShareLock);
	ScanKeyInit(&key, Anum_seg_storage_id, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) storage_id));
	usedsnap = lsm_cat_scan_snapshot(scansnap);
	scan = systable_beginscan(rel, lsm_catalog_relid("segment_rowid_idx"),
							  true, usedsnap, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		LsmSegmentEntry *seg;

		if (!lsm_cat_visible(scan, tup, scansnap, usedsnap))
			continue;
		if (scansnap == &dirty &&
			lsm_segment_skip_dirty(tup, RelationGetDescr(rel), &dirty))
			continue;
		if (list->nsegs == cap)
		{
			cap *= 2;
			list->segs = repalloc(list->segs, sizeof(LsmSegmentEntry) * cap);
		}
		seg = &list->segs[list->nsegs++];
		lsm_segment_from_tuple(tup, RelationGetDescr(rel), seg);
		if (scansnap == &dirty && !seg->own_xact &&
			snapshot->snapshot_type == SNAPSHOT_DIRTY)
			seg->inserting_xid = dirty.xmin;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return list;
}

/*
 * Small level-0 segments of a storage that exist or may soon exist
 * (committed, or inserted by a transaction still running), not counting
 * those of our own transaction: what background compaction has yet to
 * merge.  A level-0 segment of LSM_SMALL_SEGMENT_ROWS or more (a bulk
 * load's) is left as it is: counted, it would keep the table over the
 * trigger for good and writers waiting at lsm.compact_l0_stop.
 */
int
lsm_catalog_count_level0(uint64 storage_id)
{
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key[2];
	HeapTuple	tup;
	SnapshotData dirty;
	int			n = 0;

	InitDirtySnapshot(dirty);
	rel = table_open(lsm_catalog_relid("segment"), AccessShareLock);
	ScanKeyInit(&key[0], Anum_seg_storage_id, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) storage_id));
	ScanKeyInit(&key[1], Anum_seg_level, BTEqualStrategyNumber, F_INT4EQ,
				Int32GetDatum(0));
	scan = systable_beginscan(rel, lsm_catalog_relid("segment_level_idx"),
							  true, &dirty, 2, key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		bool		isnull;
		int64		rows;

		if (TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetXmin(tup->t_data)))
			continue;
		rows = DatumGetInt64(heap_getattr(tup, Anum_seg_row_count,
										  RelationGetDescr(rel), &isnull));
		if (rows < LSM_SMALL_SEGMENT_ROWS)
			n++;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return n;
}

/*
 * The segment holding `rowid` that `snapshot` sees, found with one backward
 * index probe (segments never overlap in rowid range, so the visible segment
 * with the greatest min_rowid <= rowid is the only candidate).  Cheaper
 * than listing every segment when a query fetches only a few rows.
 */
bool
lsm_catalog_segment_for_rowid(uint64 storage_id, int64 rowid, Snapshot snapshot,
							  LsmSegmentEntry *out)
{
	LsmProbeScan *p;
	ScanKeyData key[2];
	HeapTuple	tup;
	SnapshotData own;
	SnapshotData dirty;
	Snapshot	scansnap;
	bool		found = false;

	if (storage_id == 0)
		return false;
	scansnap = lsm_segment_scan_snapshot(snapshot, &own, &dirty);
	/* heap attribute numbers: storage_id is 1, min_rowid 4 */
	ScanKeyInit(&key[0], Anum_seg_storage_id, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) storage_id));
	ScanKeyInit(&key[1], Anum_seg_min_rowid, BTLessEqualStrategyNumber, F_INT8LE,
				Int64GetDatum(rowid));
	p = lsm_probe_begin_snapshot(LSM_PROBE_SEGMENT, key, scansnap);
	while ((tup = lsm_probe_next_dir(p, BackwardScanDirection)) != NULL)
	{
		if (scansnap == &dirty &&
			lsm_segment_skip_dirty(tup, RelationGetDescr(p->heap), &dirty))
			continue;
		lsm_segment_from_tuple(tup, RelationGetDescr(p->heap), out);
		if (scansnap == &dirty && !out->own_xact &&
			snapshot->snapshot_type == SNAPSHOT_DIRTY)
			out->inserting_xid = dirty.xmin;
		found = (out->max_rowid >= rowid);
		break;
	}
	lsm_probe_end(p);
	return found;
}

/* Binary search for the segment whose rowid range holds `rowid`. */
const LsmSegmentEntry *
lsm_segment_for_rowid(const LsmSegmentList *list, int64 rowid)
{
	int			lo = 0,
				hi = list->nsegs - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;
		const LsmSegmentEntry *seg = &list->segs[mid];

		if (rowid < seg->min_rowid)
			hi = mid - 1;
		else if (rowid > seg->max_rowid)
			lo = mid + 1;
		else
			return seg;
	}
	return NULL;
}

/*
 * Delete one catalog row.  A row our own transaction already deleted in
 * this command (a reservation or lock withdrawn at pre-commit, then ON
 * COMMIT DELETE ROWS) still looks live to a scan: deleting it again is a
 * no-op.
 */
static void
lsm_catalog_heap_delete(Relation rel, ItemPointer tid)
{
	TM_FailureData tmfd;
	TM_Result	result;

	result = heap_delete(rel, tid, GetCurrentCommandId(true), InvalidSnapshot,
						 true, &tmfd, false);
	if (result != TM_Ok && result != TM_SelfModified)
		elog(ERROR, "could not delete row (%u,%u) of lsm catalog table \"%s\": result %d",
			 ItemPointerGetBlockNumber(tid), ItemPointerGetOffsetNumber(tid),
			 RelationGetRelationName(rel), (int) result);
}

/* Delete every row of `relname` whose first column equals storage_id. */
static void
lsm_catalog_delete_rows(const char *relname, const char *indexname,
						uint64 storage_id)
{
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;

	rel = table_open(lsm_catalog_relid(relname), RowExclusiveLock);
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) storage_id));
	scan = systable_beginscan(rel, lsm_catalog_relid(indexname), true,
							  NULL, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
		lsm_catalog_heap_delete(rel, &tup->t_self);
	systable_endscan(scan);
	table_close(rel, RowExclusiveLock);
}

/* Forget a storage: transactional, rolled back with its transaction. */
void
lsm_catalog_drop_storage(uint64 storage_id)
{
	if (storage_id == 0 || !lsm_catalog_available())
		return;
	lsm_catalog_delete_rows("segment", "segment_rowid_idx", storage_id);
	lsm_catalog_delete_rows("inflight", "inflight_rowid_idx", storage_id);
	lsm_delcache_touch(storage_id);
	lsm_catalog_delete_rows("deleted", "deleted_pkey", storage_id);
	lsm_catalog_delete_rows("rowlock", "rowlock_rowid_idx", storage_id);
	lsm_catalog_delete_rows("compaction", "compaction_pkey", storage_id);
	lsm_catalog_delete_rows("schema_version", "schema_version_pkey", storage_id);
	lsm_catalog_delete_rows("storage", "storage_pkey", storage_id);
}

/*
 * Record that `storage_id` now belongs to relation `relid` (a rewrite built
 * it under PostgreSQL's transient table and then swapped it in).
 */
void
lsm_catalog_set_storage_relid(uint64 storage_id, Oid relid)
{
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;

	rel = table_open(lsm_catalog_relid("storage"), RowExclusiveLock);
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) storage_id));
	scan = systable_beginscan(rel, lsm_catalog_relid("storage_pkey"), true,
							  NULL, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};
		bool		repl[3] = {false, true, false};
		HeapTuple	newtup;

		values[1] = ObjectIdGetDatum(relid);
		newtup = heap_modify_tuple(tup, RelationGetDescr(rel), values, nulls, repl);
		CatalogTupleUpdate(rel, &newtup->t_self, newtup);
		heap_freetuple(newtup);
	}
	systable_endscan(scan);
	table_close(rel, RowExclusiveLock);
}

/* Insert (storage_id, a, b) into a three-column catalog table; its TID. */
static ItemPointerData
lsm_catalog_insert_row3(const char *relname, uint64 storage_id, Datum a, Datum b)
{
	Relation	rel;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	HeapTuple	tup;
	ItemPointerData tid;

	values[0] = Int64GetDatum((int64) storage_id);
	values[1] = a;
	values[2] = b;
	rel = table_open(lsm_catalog_relid(relname), RowExclusiveLock);
	tup = heap_form_tuple(RelationGetDescr(rel), values, nulls);
	CatalogTupleInsert(rel, tup);
	tid = tup->t_self;
	heap_freetuple(tup);
	table_close(rel, RowExclusiveLock);
	return tid;
}

/* Reserve [min_rowid, max_rowid] for the current (sub)transaction. */
ItemPointerData
lsm_catalog_insert_inflight(uint64 storage_id, int64 min_rowid, int64 max_rowid)
{
	return lsm_catalog_insert_row3("inflight", storage_id,
								   Int64GetDatum(min_rowid),
								   Int64GetDatum(max_rowid));
}

/*
 * If another, still running transaction reserved `rowid`, return its xid
 * (the caller waits for it, as for an in-progress heap insert).
 */
TransactionId
lsm_catalog_inflight_xid(uint64 storage_id, int64 rowid)
{
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key[2];
	HeapTuple	tup;
	SnapshotData dirty;
	TransactionId result = InvalidTransactionId;

	InitDirtySnapshot(dirty);
	rel = table_open(lsm_catalog_relid("inflight"), AccessShareLock);
	ScanKeyInit(&key[0], 1, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) storage_id));
	ScanKeyInit(&key[1], 2, BTLessEqualStrategyNumber, F_INT8LE,
				Int64GetDatum(rowid));
	scan = systable_beginscan(rel, lsm_catalog_relid("inflight_rowid_idx"),
							  true, &dirty, 2, key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		bool		isnull;
		int64		maxr = DatumGetInt64(heap_getattr(tup, 3,
													  RelationGetDescr(rel),
													  &isnull));

		if (rowid <= maxr && TransactionIdIsValid(dirty.xmin) &&
			!TransactionIdIsCurrentTransactionId(dirty.xmin))
		{
			result = dirty.xmin;
			break;
		}
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return result;
}

/*
 * Remove catalog rows of storages that no lsm table uses any more.  The
 * live set is read from the metapages of every lsm table, each locked in
 * AccessShareLock so that a concurrent TRUNCATE or rewrite finishes first.
 * Returns the number of storages removed.
 */
int64
lsm_catalog_collect_garbage(void)
{
	Relation	classrel;
	TableScanDesc cscan;
	HeapTuple	tup;
	List	   *relids = NIL;
	List	   *tables = NIL;
	List	   *live = NIL;
	ListCell   *lc;
	Relation	srel;
	SysScanDesc scan;
	List	   *dead = NIL;
	int64		removed = 0;
	Oid			amoid = lsm_am_oid();
	Snapshot	snap;

	/*
	 * Take the snapshot for the storage rows first and the pg_class scan
	 * after it: a table committed in between is then in the live set, and
	 * its storage row is invisible to us either way.
	 */
	snap = RegisterSnapshot(GetLatestSnapshot());
	InvalidateCatalogSnapshot();

	classrel = table_open(RelationRelationId, AccessShareLock);
	cscan = table_beginscan_catalog(classrel, 0, NULL);
	while (HeapTupleIsValid(tup = heap_getnext(cscan, ForwardScanDirection)))
	{
		Form_pg_class form = (Form_pg_class) GETSTRUCT(tup);

		if (form->relam == amoid && form->relkind != RELKIND_PARTITIONED_TABLE)
			relids = lappend_oid(relids, form->oid);
		if (form->relam == amoid)
			tables = lappend_oid(tables, form->oid);
	}
	table_endscan(cscan);
	table_close(classrel, AccessShareLock);

	foreach(lc, relids)
	{
		Relation	rel = try_relation_open(lfirst_oid(lc), AccessShareLock);

		if (rel == NULL)
			continue;
		if (rel->rd_rel->relam == amoid &&
			smgrexists(RelationGetSmgr(rel), MAIN_FORKNUM) &&
			smgrnblocks(RelationGetSmgr(rel), MAIN_FORKNUM) > 0)
		{
			LsmMetaPageData meta;
			int64	   *id = palloc(sizeof(int64));

			lsm_meta_read(rel, &meta);
			*id = (int64) meta.storage_id;
			live = lappend(live, id);
		}
		relation_close(rel, AccessShareLock);
	}

	srel = table_open(lsm_catalog_relid("storage"), AccessShareLock);
	scan = systable_beginscan(srel, InvalidOid, false, snap, 0, NULL);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		bool		isnull;
		int64		sid = DatumGetInt64(heap_getattr(tup, 1,
													 RelationGetDescr(srel),
													 &isnull));
		bool		found = false;

		foreach(lc, live)
		{
			if (*(int64 *) lfirst(lc) == sid)
			{
				found = true;
				break;
			}
		}
		if (!found && !TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetXmin(tup->t_data)))
		{
			int64	   *id = palloc(sizeof(int64));

			*id = sid;
			dead = lappend(dead, id);
		}
	}
	systable_endscan(scan);
	table_close(srel, AccessShareLock);

	/* per-table settings of tables that are gone (lsm_options.c) */
	srel = table_open(lsm_catalog_relid("table_option"), RowExclusiveLock);
	scan = systable_beginscan(srel, InvalidOid, false, snap, 0, NULL);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		bool		isnull;
		Oid			relid = DatumGetObjectId(heap_getattr(tup, 1,
														  RelationGetDescr(srel),
														  &isnull));

		if (!list_member_oid(tables, relid))
			CatalogTupleDelete(srel, &tup->t_self);
	}
	systable_endscan(scan);
	table_close(srel, RowExclusiveLock);
	UnregisterSnapshot(snap);

	foreach(lc, dead)
	{
		lsm_catalog_drop_storage((uint64) *(int64 *) lfirst(lc));
		removed++;
	}
	return removed;
}

/* ---- delete records ---- */

/*
 * lsm.deleted stays open, with its index state, for the rest of the
 * transaction once a delete has been written: a bulk DELETE writes a record
 * per row, and opening the table and its indexes each time costs more than
 * the insert.  The references belong to the top transaction's resource
 * owner and are dropped at pre-commit (lsm_catalog_close_xact) or by the
 * resource owner on abort.
 */
static Relation xact_deleted_rel = NULL;
static CatalogIndexState xact_deleted_ind = NULL;

static Relation
lsm_deleted_rel_for_write(CatalogIndexState *ind)
{
	if (xact_deleted_rel == NULL)
	{
		ResourceOwner saveowner = CurrentResourceOwner;
		MemoryContext oldcxt = MemoryContextSwitchTo(TopTransactionContext);

		CurrentResourceOwner = TopTransactionResourceOwner;
		PG_TRY();
		{
			xact_deleted_rel = table_open(lsm_catalog_relid("deleted"),
										  RowExclusiveLock);
			xact_deleted_ind = CatalogOpenIndexes(xact_deleted_rel);
		}
		PG_FINALLY();
		{
			CurrentResourceOwner = saveowner;
			MemoryContextSwitchTo(oldcxt);
		}
		PG_END_TRY();
	}
	*ind = xact_deleted_ind;
	return xact_deleted_rel;
}

/* Pre-commit: close what lsm_deleted_rel_for_write kept open. */
void
lsm_catalog_close_xact(void)
{
	if (xact_deleted_rel != NULL)
	{
		ResourceOwner saveowner = CurrentResourceOwner;

		CurrentResourceOwner = TopTransactionResourceOwner;
		CatalogCloseIndexes(xact_deleted_ind);
		table_close(xact_deleted_rel, NoLock);
		CurrentResourceOwner = saveowner;
	}
	xact_deleted_rel = NULL;
	xact_deleted_ind = NULL;
	lsm_probe_close_all();
}

/* Transaction end (after an abort the resource owner released them). */
void
lsm_catalog_forget_xact(void)
{
	xact_deleted_rel = NULL;
	xact_deleted_ind = NULL;
	lsm_probe_forget();			/* released with the transaction's */
}

/* One index entry of a delete record; false if `check` found it not unique. */
static bool
lsm_delete_index_insert(Relation rel, Relation irel, IndexInfo *ii,
						HeapTuple tup, IndexUniqueCheck check)
{
	Datum		ivalues[INDEX_MAX_KEYS];
	bool		inulls[INDEX_MAX_KEYS];
	int			k;

	for (k = 0; k < ii->ii_NumIndexAttrs; k++)
	{
		Assert(ii->ii_IndexAttrNumbers[k] > 0);
		ivalues[k] = heap_getattr(tup, ii->ii_IndexAttrNumbers[k],
								  RelationGetDescr(rel), &inulls[k]);
	}
	return index_insert(irel, ivalues, inulls, &tup->t_self, rel, check,
						false, ii);
}

/*
 * Insert the delete record of `rowid`.  With `partial`, the primary key's
 * uniqueness is only tested, not enforced: if a live record for the rowid
 * may exist (committed, ours, or of a transaction in progress), the new
 * record is withdrawn at once and false is returned.  The record is then
 * inserted as a speculative tuple, as ON CONFLICT does: one the current
 * command inserted cannot be deleted by it, but a speculative insertion can
 * be killed (heap_abort_speculative).  No speculative-insertion lock is
 * taken (token 0): the only unique checks on lsm.deleted are those of other
 * deleters of the same row, and they wait for our tuple lock first.
 */
static bool
lsm_insert_delete_record(uint64 storage_id, int64 rowid, int64 successor,
						 int lockmode, bool partial)
{
	Relation	rel;
	CatalogIndexState ind;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	HeapTuple	tup;
	int			i;
	bool		inserted = true;

	values[0] = Int64GetDatum((int64) storage_id);
	values[1] = Int64GetDatum(rowid);
	values[2] = Int64GetDatum(successor);
	values[3] = Int32GetDatum(lockmode);

	lsm_delcache_touch(storage_id);
	rel = lsm_deleted_rel_for_write(&ind);
	tup = heap_form_tuple(RelationGetDescr(rel), values, nulls);
	if (partial)
	{
		HeapTupleHeaderSetSpeculativeToken(tup->t_data, 0);
		heap_insert(rel, tup, GetCurrentCommandId(true),
					HEAP_INSERT_SPECULATIVE, NULL);
	}
	else
		simple_heap_insert(rel, tup);

	/*
	 * Index entries by hand: deleted_successor_idx is partial (only
	 * key-keeping updates, lockmode 2, are ever looked up by successor),
	 * which CatalogTupleInsert does not handle.  A DELETE so writes one
	 * index entry instead of two.  The unique index comes first (the
	 * catalog's only one), so a record that turns out not to be unique has
	 * no entry in the other.
	 */
	for (i = 0; i < ind->ri_NumIndices && inserted; i++)
	{
		Relation	irel = ind->ri_IndexRelationDescs[i];

		if (!irel->rd_index->indisunique)
			continue;
		inserted = lsm_delete_index_insert(rel, irel, ind->ri_IndexRelationInfo[i],
										   tup, partial ? UNIQUE_CHECK_PARTIAL :
										   UNIQUE_CHECK_YES);
	}
	if (!inserted)
	{
		/* the entry we just added points at a tuple no snapshot sees */
		heap_abort_speculative(rel, &tup->t_self);
		heap_freetuple(tup);
		return false;
	}
	if (partial)
		heap_finish_speculative(rel, &tup->t_self);
	for (i = 0; i < ind->ri_NumIndices; i++)
	{
		Relation	irel = ind->ri_IndexRelationDescs[i];
		IndexInfo  *ii = ind->ri_IndexRelationInfo[i];

		if (irel->rd_index->indisunique)
			continue;
		if (ii->ii_Predicate != NIL && lockmode != LockTupleNoKeyExclusive)
			continue;
		lsm_delete_index_insert(rel, irel, ii, tup, UNIQUE_CHECK_NO);
	}
	heap_freetuple(tup);
	lsm_note_delete();
	return true;
}

/* Record that `rowid` is deleted (or updated into `successor`). */
void
lsm_catalog_insert_delete(uint64 storage_id, int64 rowid, int64 successor,
						  int lockmode)
{
	(void) lsm_insert_delete_record(storage_id, rowid, successor, lockmode,
									false);
}

/*
 * Record that `rowid` is deleted (or updated into `successor`) if no live
 * delete record of it exists -- none committed, none of ours, none of a
 * transaction in progress, exactly what lsm_catalog_probe_delete reports
 * as LSM_DEL_NONE -- and return true.  Otherwise change nothing visible
 * and return false.  The answer comes from the primary key's uniqueness
 * check, which looks at the same index entries with the same dirty
 * snapshot as the probe, so the common case costs no separate probe.  The
 * caller holds the tuple lock, so no competing record can appear between
 * the check and the insert.
 */
bool
lsm_catalog_try_insert_delete(uint64 storage_id, int64 rowid, int64 successor,
							  int lockmode)
{
	return lsm_insert_delete_record(storage_id, rowid, successor, lockmode,
									true);
}

static void
lsm_delete_keys(ScanKeyData *key, uint64 storage_id, int64 rowid)
{
	ScanKeyInit(&key[0], 1, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) storage_id));
	ScanKeyInit(&key[1], 2, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum(rowid));
}

/*
 * What deleters have done to `rowid`, as a dirty snapshot sees it: the
 * state of the one live delete record (committed, ours, or in progress).
 * Aborted records are invisible and so do not count.
 */
void
lsm_catalog_probe_delete(uint64 storage_id, int64 rowid, LsmDeleteProbe *probe)
{
	LsmProbeScan *p;
	ScanKeyData key[2];
	HeapTuple	tup;

	memset(probe, 0, sizeof(LsmDeleteProbe));
	probe->state = LSM_DEL_NONE;
	probe->successor = LSM_SUCCESSOR_NONE;
	lsm_delete_keys(key, storage_id, rowid);
	p = lsm_probe_begin(LSM_PROBE_DELETED, key);
	if ((tup = lsm_probe_next(p)) != NULL)
	{
		bool		isnull;
		TransactionId xmin = HeapTupleHeaderGetXmin(tup->t_data);

		probe->successor = DatumGetInt64(heap_getattr(tup, 3,
													  RelationGetDescr(p->heap),
													  &isnull));
		probe->lockmode = DatumGetInt32(heap_getattr(tup, 4,
													 RelationGetDescr(p->heap),
													 &isnull));
		probe->xid = xmin;
		if (TransactionIdIsCurrentTransactionId(xmin))
		{
			probe->state = LSM_DEL_OWN;
			probe->cid = HeapTupleHeaderGetCmin(tup->t_data);
		}
		else if (TransactionIdIsValid(p->dirty.xmin))
			probe->state = LSM_DEL_IN_PROGRESS;
		else
			probe->state = LSM_DEL_COMMITTED;
	}
	lsm_probe_end(p);
}

/* Does `snapshot` see a delete of `rowid`?  (MVCC, SELF and similar.) */
bool
lsm_catalog_row_deleted(uint64 storage_id, int64 rowid, Snapshot snapshot)
{
	LsmProbeScan *p;
	ScanKeyData key[2];
	bool		found;

	lsm_delete_keys(key, storage_id, rowid);
	p = lsm_probe_begin_snapshot(LSM_PROBE_DELETED_SNAP, key, snapshot);
	found = (lsm_probe_next(p) != NULL);
	lsm_probe_end(p);
	return found;
}

static int
lsm_int64_cmp(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return x < y ? -1 : (x > y ? 1 : 0);
}

/*
 * Rowids of the delete records of a storage that `snapshot` sees, sorted
 * (palloc'd; NULL when none).  With a valid `horizon`, only records of
 * committed transactions older than it (settled deletes).  Only rowids from
 * `from_rowid` on.
 */
static int64 *
lsm_catalog_collect_deleted(uint64 storage_id, Snapshot snapshot,
							TransactionId horizon, int64 from_rowid, int *n)
{
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key[2];
	HeapTuple	tup;
	int64	   *set = NULL;
	int			cap = 0;
	Snapshot	usedsnap;

	*n = 0;
	if (storage_id == 0)
		return NULL;
	rel = table_open(lsm_catalog_relid("deleted"), AccessShareLock);
	ScanKeyInit(&key[0], 1, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) storage_id));
	ScanKeyInit(&key[1], 2, BTGreaterEqualStrategyNumber, F_INT8GE,
				Int64GetDatum(from_rowid));
	usedsnap = lsm_cat_scan_snapshot(snapshot);
	scan = systable_beginscan(rel, lsm_catalog_relid("deleted_pkey"), true,
							  usedsnap, from_rowid > 0 ? 2 : 1, key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		bool		isnull;

		if (!lsm_cat_visible(scan, tup, snapshot, usedsnap))
			continue;

		if (TransactionIdIsValid(horizon))
		{
			TransactionId xmin = HeapTupleHeaderGetXmin(tup->t_data);

			if (TransactionIdIsCurrentTransactionId(xmin) ||
				!TransactionIdPrecedes(xmin, horizon))
				continue;
		}
		if (*n == cap)
		{
			cap = cap == 0 ? 64 : cap * 2;
			set = set ? repalloc_huge(set, sizeof(int64) * cap) :
				palloc(sizeof(int64) * cap);
		}
		set[(*n)++] = DatumGetInt64(heap_getattr(tup, 2, RelationGetDescr(rel),
												 &isnull));
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	if (*n > 1)
		qsort(set, *n, sizeof(int64), lsm_int64_cmp);
	return set;
}

int64 *
lsm_catalog_deleted_set(uint64 storage_id, Snapshot snapshot, int *n)
{
	return lsm_catalog_collect_deleted(storage_id, snapshot,
									   InvalidTransactionId, 0, n);
}

/*
 * Every delete record of a storage, judged against the MVCC snapshot
 * `snap` (the build of a cached delete set, lsm_delcache.c): out->rowids
 * (sorted) are the records `snap` sees and out->newest_xmin the newest of
 * their inserters; out->newest_xmax is the newest deleter of a record
 * `snap` no longer sees (a compaction folded it); out->pending lists the
 * inserters `snap` takes as still running, whose records another snapshot
 * may see once they commit.  Aborted records are skipped.
 */
void
lsm_catalog_judge_deletes(uint64 storage_id, Snapshot snap,
						  LsmJudgedDeletes *out)
{
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;
	int			cap = 0,
				pcap = 0;

	memset(out, 0, sizeof(*out));
	rel = table_open(lsm_catalog_relid("deleted"), AccessShareLock);
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) storage_id));
	scan = systable_beginscan(rel, lsm_catalog_relid("deleted_pkey"), true,
							  SnapshotAny, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Buffer		buf = ((BufferHeapTupleTableSlot *) scan->slot)->buffer;
		TransactionId xmin = HeapTupleHeaderGetXmin(tup->t_data);
		bool		visible;
		bool		isnull;

		LockBuffer(buf, BUFFER_LOCK_SHARE);
		visible = HeapTupleSatisfiesVisibility(tup, snap, buf);
		LockBuffer(buf, BUFFER_LOCK_UNLOCK);

		if (visible)
		{
			if (out->n == cap)
			{
				cap = cap == 0 ? 64 : cap * 2;
				out->rowids = out->rowids ?
					repalloc_huge(out->rowids, sizeof(int64) * cap) :
					palloc(sizeof(int64) * cap);
			}
			out->rowids[out->n++] =
				DatumGetInt64(heap_getattr(tup, 2, RelationGetDescr(rel), &isnull));
			if (TransactionIdIsNormal(xmin) &&
				(!TransactionIdIsValid(out->newest_xmin) ||
				 TransactionIdFollows(xmin, out->newest_xmin)))
				out->newest_xmin = xmin;
			continue;
		}
		if (!TransactionIdIsNormal(xmin))
			continue;			/* killed speculative insertion */
		if (XidInMVCCSnapshot(xmin, snap))
		{
			/* running when snap was taken: may commit later */
			if (!TransactionIdDidAbort(xmin))
			{
				if (out->npending == pcap)
				{
					pcap = pcap == 0 ? 8 : pcap * 2;
					out->pending = out->pending ?
						repalloc(out->pending, sizeof(TransactionId) * pcap) :
						palloc(sizeof(TransactionId) * pcap);
				}
				out->pending[out->npending++] = xmin;
			}
			continue;
		}
		if (!TransactionIdDidCommit(xmin))
			continue;			/* aborted */

		/* committed before snap, so snap misses it because it was deleted */
		{
			TransactionId xmax = HeapTupleHeaderGetRawXmax(tup->t_data);

			if ((tup->t_data->t_infomask & HEAP_XMAX_IS_MULTI) ||
				!TransactionIdIsNormal(xmax))
				xmax = snap->xmax;	/* be safe: every xid snap knew of */
			if (!TransactionIdIsValid(out->newest_xmax) ||
				TransactionIdFollows(xmax, out->newest_xmax))
				out->newest_xmax = xmax;
		}
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	if (out->n > 1)
		qsort(out->rowids, out->n, sizeof(int64), lsm_int64_cmp);
}

/* ---- row locks ---- */

ItemPointerData
lsm_catalog_insert_rowlock(uint64 storage_id, int64 rowid, int mode)
{
	return lsm_catalog_insert_row3("rowlock", storage_id, Int64GetDatum(rowid),
								   Int32GetDatum(mode));
}

/* Do two row-lock modes (LockTupleMode values) conflict?  As heap's table. */
bool
lsm_lock_modes_conflict(int a, int b)
{
	/* key share 0, share 1, no key update 2, update 3 */
	static const bool conflicts[4][4] = {
		{false, false, false, true},
		{false, false, true, true},
		{false, true, true, true},
		{true, true, true, true}
	};

	if (a < 0 || a > 3 || b < 0 || b > 3)
		return true;
	return conflicts[a][b];
}

/*
 * A transaction other than ours, still in progress, holding a lock on
 * `rowid` that conflicts with `mode`; InvalidTransactionId if none.
 * *own_mode: the strongest mode this transaction (or a live subtransaction
 * of it) holds on the row, -1 if none.
 */
TransactionId
lsm_catalog_rowlock_conflict(uint64 storage_id, int64 rowid, int mode,
							 int *own_mode)
{
	LsmProbeScan *p;
	ScanKeyData key[2];
	HeapTuple	tup;
	TransactionId result = InvalidTransactionId;

	*own_mode = -1;
	lsm_delete_keys(key, storage_id, rowid);
	p = lsm_probe_begin(LSM_PROBE_ROWLOCK, key);

	/* all of them: our own locks may come after a conflicting one */
	while ((tup = lsm_probe_next(p)) != NULL)
	{
		bool		isnull;
		int			held = DatumGetInt32(heap_getattr(tup, 3, RelationGetDescr(p->heap),
													  &isnull));
		TransactionId xmin = HeapTupleHeaderGetXmin(tup->t_data);

		if (TransactionIdIsCurrentTransactionId(xmin))
		{
			*own_mode = Max(*own_mode, held);
			continue;
		}
		/* only a lock whose holder still runs counts */
		if (!TransactionIdIsValid(p->dirty.xmin))
			continue;
		if (!TransactionIdIsValid(result) &&
			held >= 0 && held < 4 && lsm_lock_modes_conflict(held, mode))
			result = p->dirty.xmin;
	}
	lsm_probe_end(p);
	return result;
}

/*
 * Could any row of the storage be locked: is there an lsm.rowlock row for
 * it that a dirty snapshot sees (ours, or of a transaction that has not
 * committed or aborted yet, or a withdrawn lock whose withdrawal has not
 * committed)?  One probe, where checking a row and the versions it was
 * updated from takes two or more; false means none of them is locked at
 * this moment.
 */
bool
lsm_catalog_has_rowlocks(uint64 storage_id)
{
	LsmProbeScan *p;
	ScanKeyData key;
	bool		found;

	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) storage_id));
	p = lsm_probe_begin(LSM_PROBE_ROWLOCK_ANY, &key);
	found = (lsm_probe_next(p) != NULL);
	lsm_probe_end(p);
	return found;
}

/* Delete one row of an lsm catalog table by TID, tolerating our own delete. */
void
lsm_catalog_delete_tid(const char *relname, ItemPointer tid)
{
	Relation	rel;

	rel = table_open(lsm_catalog_relid(relname), RowExclusiveLock);
	lsm_catalog_heap_delete(rel, tid);
	table_close(rel, RowExclusiveLock);
}

/* Does any delete record exist for the storage, whoever wrote it? */
bool
lsm_catalog_has_deletes(uint64 storage_id)
{
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	bool		found;

	if (storage_id == 0)
		return false;
	rel = table_open(lsm_catalog_relid("deleted"), AccessShareLock);
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) storage_id));
	scan = systable_beginscan(rel, lsm_catalog_relid("deleted_pkey"), true,
							  SnapshotAny, 1, &key);
	found = HeapTupleIsValid(systable_getnext(scan));
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

/*
 * Rowids from `from_rowid` on whose delete every running and future
 * snapshot sees: the record was inserted by a committed transaction older
 * than `horizon` and is not itself deleted.  Sorted; NULL when none.  Their
 * index entries can go.
 */
int64 *
lsm_catalog_settled_deletes(uint64 storage_id, TransactionId horizon,
							int64 from_rowid, int *n)
{
	/* a fresh MVCC snapshot: committed records, not themselves deleted */
	return lsm_catalog_collect_deleted(storage_id, GetLatestSnapshot(),
									   horizon, from_rowid, n);
}

/*
 * The version `rowid` was updated from, if the update kept the key (so FOR
 * KEY SHARE locks on the older version still protect this one); -1 if none.
 * Any live delete record counts: committed, ours or in progress.
 */
int64
lsm_catalog_key_keeping_predecessor(uint64 storage_id, int64 rowid)
{
	LsmProbeScan *p;
	ScanKeyData key[2];
	HeapTuple	tup;
	int64		result = -1;

	ScanKeyInit(&key[0], 1, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) storage_id));
	/* heap attribute numbers, as for systable scans: successor is column 3 */
	ScanKeyInit(&key[1], 3, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum(rowid));
	p = lsm_probe_begin(LSM_PROBE_SUCCESSOR, key);
	if ((tup = lsm_probe_next(p)) != NULL)
	{
		bool		isnull;
		int			mode = DatumGetInt32(heap_getattr(tup, 4, RelationGetDescr(p->heap),
													  &isnull));

		if (mode == LockTupleNoKeyExclusive)
			result = DatumGetInt64(heap_getattr(tup, 2, RelationGetDescr(p->heap),
												&isnull));
	}
	lsm_probe_end(p);
	return result;
}

/* ---- compaction ---- */

static int
lsm_extent_cmp(const void *a, const void *b)
{
	BlockNumber x = ((const LsmExtent *) a)->start;
	BlockNumber y = ((const LsmExtent *) b)->start;

	return (x > y) - (x < y);
}

/*
 * The extents every lsm.segment tuple of the storage points at -- live,
 * recently dead, in progress or aborted, any tuple still physically there
 * (see lsm_space_find) -- sorted by first block.
 */
LsmExtent *
lsm_catalog_used_extents(uint64 storage_id, int *n)
{
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;
	LsmExtent  *ext = NULL;
	int			cap = 0;

	*n = 0;
	rel = table_open(lsm_catalog_relid("segment"), AccessShareLock);
	ScanKeyInit(&key, Anum_seg_storage_id, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) storage_id));
	scan = systable_beginscan(rel, lsm_catalog_relid("segment_rowid_idx"),
							  true, SnapshotAny, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		TupleDesc	desc = RelationGetDescr(rel);
		LsmExtent	segext[LSM_SEG_MAX_EXTENTS + 1];
		int			nseg;
		bool		isnull;
		Datum		d;
		uint32		dbytes;
		int			i;
		BlockNumber start;
		uint32		nblocks;
		int64		segment_id;
		bool		ext_null;

		start = (BlockNumber)
			DatumGetInt64(heap_getattr(tup, Anum_seg_start_block, desc, &isnull));
		nblocks = (uint32)
			DatumGetInt32(heap_getattr(tup, Anum_seg_nblocks, desc, &isnull));
		segment_id = DatumGetInt64(heap_getattr(tup, Anum_seg_segment_id, desc,
												&isnull));
		d = heap_getattr(tup, Anum_seg_extents, desc, &ext_null);
		nseg = lsm_extents_from_datum(d, ext_null, start, nblocks, segment_id,
									  segext);
		/* the segment's delete map, if it has one */
		dbytes = (uint32) DatumGetInt32(heap_getattr(tup, Anum_seg_delmap_bytes,
													 desc, &isnull));
		if (dbytes > 0)
		{
			segext[nseg].start = (BlockNumber)
				DatumGetInt64(heap_getattr(tup, Anum_seg_delmap_start, desc, &isnull));
			segext[nseg].nblocks = LSM_DELMAP_NPAGES(dbytes);
			nseg++;
		}
		if (*n + nseg > cap)
		{
			cap = Max(cap * 2, 64);
			ext = ext ? repalloc(ext, sizeof(LsmExtent) * cap) :
				palloc(sizeof(LsmExtent) * cap);
		}
		for (i = 0; i < nseg; i++)
			if (!LSM_EXTENT_IS_HOLE(segext[i]))
				ext[(*n)++] = segext[i];
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	if (*n > 1)
		qsort(ext, *n, sizeof(LsmExtent), lsm_extent_cmp);
	return ext;
}

/*
 * Add the inserter of `tup` to xids if `snapshot` does not see it (it was
 * running when the snapshot was taken, or began later) and it is not ours.
 */
static void
lsm_note_concurrent_xmin(HeapTuple tup, Snapshot snapshot,
						 TransactionId **xids, int *n, int *cap)
{
	TransactionId xmin = HeapTupleHeaderGetRawXmin(tup->t_data);

	if (!TransactionIdIsNormal(xmin) ||
		HeapTupleHeaderXminInvalid(tup->t_data) ||
		TransactionIdIsCurrentTransactionId(xmin))
		return;
	if (TransactionIdPrecedes(xmin, snapshot->xmax) &&
		!XidInMVCCSnapshot(xmin, snapshot))
		return;					/* committed before the snapshot, or aborted */
	if (*n == *cap)
	{
		*cap = *cap == 0 ? 16 : *cap * 2;
		*xids = *xids ? repalloc(*xids, sizeof(TransactionId) * *cap) :
			palloc(sizeof(TransactionId) * *cap);
	}
	(*xids)[(*n)++] = xmin;
}

/*
 * The transactions that wrote rows of a storage that `snapshot` does not
 * see: inserters of its level-0 segments and of its delete records, and
 * writers whose rows are still in their buffers (lsm.inflight), running
 * or committed after the snapshot was taken, this transaction excepted.
 * Every (sub)transaction id once at most per catalog; NULL when none.
 * The rows of a segment a compaction has merged since are still found:
 * the snapshot keeps the retired catalog tuple from being pruned.
 */
TransactionId *
lsm_catalog_concurrent_writers(uint64 storage_id, Snapshot snapshot, int *n)
{
	static const char *const cats[3][2] = {
		{"segment", "segment_rowid_idx"},
		{"deleted", "deleted_pkey"},
		{"inflight", "inflight_rowid_idx"}
	};
	TransactionId *xids = NULL;
	int			cap = 0;
	int			c;

	*n = 0;
	for (c = 0; c < 3; c++)
	{
		Relation	rel;
		SysScanDesc scan;
		ScanKeyData key;
		HeapTuple	tup;
		TransactionId last = InvalidTransactionId;

		rel = table_open(lsm_catalog_relid(cats[c][0]), AccessShareLock);
		ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT8EQ,
					Int64GetDatum((int64) storage_id));
		scan = systable_beginscan(rel, lsm_catalog_relid(cats[c][1]), true,
								  SnapshotAny, 1, &key);
		while (HeapTupleIsValid(tup = systable_getnext(scan)))
		{
			if (c == 0)
			{
				bool		isnull;

				/* level 1 and above are compactions' copies, not writes */
				if (DatumGetInt32(heap_getattr(tup, Anum_seg_level,
											   RelationGetDescr(rel),
											   &isnull)) != 0)
					continue;
			}
			if (HeapTupleHeaderGetRawXmin(tup->t_data) == last)
				continue;
			last = HeapTupleHeaderGetRawXmin(tup->t_data);
			lsm_note_concurrent_xmin(tup, snapshot, &xids, n, &cap);
		}
		systable_endscan(scan);
		table_close(rel, AccessShareLock);
	}
	return xids;
}

/*
 * Prune the pages of lsm.segment: take out the tuples of retired segments
 * that no snapshot can see any more, so that their extents are free
 * (lsm_space_find) without waiting for the next VACUUM of the catalog.
 * Under a stream of small commits the extents retired between two VACUUMs
 * made the file grow by that much.  Pruning is heap's own (with its WAL
 * record, which makes a hot standby cancel queries that could still see
 * the tuples).  Pages someone else has pinned are left alone.  Returns the
 * tuples removed.
 */
int
lsm_catalog_prune_segments(void)
{
	Relation	rel;
	GlobalVisState *vistest;
	BlockNumber nblocks;
	BlockNumber blkno;
	int			removed = 0;

	rel = table_open(lsm_catalog_relid("segment"), AccessShareLock);
	vistest = GlobalVisTestFor(rel);
	nblocks = RelationGetNumberOfBlocks(rel);
	for (blkno = 0; blkno < nblocks; blkno++)
	{
		Buffer		buf = ReadBuffer(rel, blkno);
		Page		page = BufferGetPage(buf);
		TransactionId prune_xid = ((PageHeader) page)->pd_prune_xid;

		/* as heap_page_prune_opt: only pages with something to remove */
		if (TransactionIdIsValid(prune_xid) &&
			GlobalVisTestIsRemovableXid(vistest, prune_xid) &&
			ConditionalLockBufferForCleanup(buf))
		{
			int			nnewlpdead;

			removed += heap_page_prune(rel, buf, InvalidTransactionId, vistest,
									   InvalidTransactionId, 0, &nnewlpdead,
									   NULL);
			LockBuffer(buf, BUFFER_LOCK_UNLOCK);
		}
		ReleaseBuffer(buf);
	}
	table_close(rel, AccessShareLock);
	if (removed > 0)
		lsm_space_note_freed();
	return removed;
}

/*
 * May some snapshot, now or later, see this lsm.segment tuple?  No if its
 * inserter aborted, or its deleter committed before every running
 * transaction's snapshot (horizon).  In doubt: yes.
 */
static bool
lsm_segment_tuple_needed(HeapTupleHeader t, TransactionId horizon)
{
	TransactionId xmin = HeapTupleHeaderGetRawXmin(t);
	TransactionId xmax;

	if (!HeapTupleHeaderXminCommitted(t) && !HeapTupleHeaderXminFrozen(t))
	{
		if (HeapTupleHeaderXminInvalid(t))
			return false;
		if (!TransactionIdIsCurrentTransactionId(xmin) &&
			!TransactionIdIsInProgress(xmin) &&
			!TransactionIdDidCommit(xmin))
			return false;		/* aborted or crashed */
	}
	if (t->t_infomask & HEAP_XMAX_INVALID ||
		HEAP_XMAX_IS_LOCKED_ONLY(t->t_infomask) ||
		t->t_infomask & HEAP_XMAX_IS_MULTI)
		return true;
	xmax = HeapTupleHeaderGetRawXmax(t);
	if (!TransactionIdIsNormal(xmax) || !TransactionIdPrecedes(xmax, horizon))
		return true;
	/* before the horizon: not running any more; committed or aborted */
	return !TransactionIdDidCommit(xmax);
}

/*
 * lsm_catalog_oldest_needed_version
 *		The oldest schema version referenced by a segment of the storage
 *		that some snapshot may still see (src/catalog/lsm_schema.c), or
 *		`current` if there is none.
 */
int32
lsm_catalog_oldest_needed_version(uint64 storage_id, int32 current)
{
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;
	TransactionId horizon;
	int32		watermark = current;

	rel = table_open(lsm_catalog_relid("segment"), AccessShareLock);
	horizon = GetOldestNonRemovableTransactionId(rel);
	ScanKeyInit(&key, Anum_seg_storage_id, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) storage_id));
	scan = systable_beginscan(rel, lsm_catalog_relid("segment_rowid_idx"),
							  true, SnapshotAny, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		BufferHeapTupleTableSlot *bslot = (BufferHeapTupleTableSlot *) scan->slot;
		bool		needed;
		bool		isnull;
		int32		v;

		/* the header's hint bits and xmax change under an exclusive lock */
		LockBuffer(bslot->buffer, BUFFER_LOCK_SHARE);
		needed = lsm_segment_tuple_needed(tup->t_data, horizon);
		LockBuffer(bslot->buffer, BUFFER_LOCK_UNLOCK);
		if (!needed)
			continue;
		v = DatumGetInt32(heap_getattr(tup, Anum_seg_schema_version,
									   RelationGetDescr(rel), &isnull));
		if (v < watermark)
			watermark = v;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return watermark;
}

/* Retire segment `segment_id` (a compaction replaced it). */
void
lsm_catalog_delete_segment(uint64 storage_id, int64 segment_id)
{
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key[2];
	HeapTuple	tup;
	int			n = 0;

	rel = table_open(lsm_catalog_relid("segment"), RowExclusiveLock);
	ScanKeyInit(&key[0], Anum_seg_storage_id, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) storage_id));
	ScanKeyInit(&key[1], Anum_seg_segment_id, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum(segment_id));
	scan = systable_beginscan(rel, lsm_catalog_relid("segment_pkey"), true,
							  NULL, 2, key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		simple_heap_delete(rel, &tup->t_self);
		n++;
	}
	systable_endscan(scan);
	table_close(rel, RowExclusiveLock);
	if (n != 1)
		elog(ERROR, "lsm segment " INT64_FORMAT " of storage " UINT64_FORMAT " not found",
			 segment_id, storage_id);
}

/*
 * Remove the delete records of the rowids in `rowids` (sorted) whose
 * inserting transaction precedes `horizon`: a compaction dropped their rows.
 * Returns how many were removed.
 */
int64
lsm_catalog_remove_deletes(uint64 storage_id, const int64 *rowids, int n,
						   TransactionId horizon)
{
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;
	int64		removed = 0;
	int			pos = 0;

	if (n == 0)
		return 0;
	/* the rows stay deleted for everyone: cached sets still filter right */
	lsm_delcache_touch_fold(storage_id);
	rel = table_open(lsm_catalog_relid("deleted"), RowExclusiveLock);
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) storage_id));
	scan = systable_beginscan(rel, lsm_catalog_relid("deleted_pkey"), true,
							  GetLatestSnapshot(), 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		bool		isnull;
		int64		rowid = DatumGetInt64(heap_getattr(tup, 2, RelationGetDescr(rel),
													   &isnull));
		TransactionId xmin = HeapTupleHeaderGetXmin(tup->t_data);
		int			lo = pos,
					hi = n - 1;
		bool		hit = false;

		if (TransactionIdIsCurrentTransactionId(xmin) ||
			!TransactionIdPrecedes(xmin, horizon))
			continue;
		while (lo <= hi)
		{
			int			mid = lo + (hi - lo) / 2;

			if (rowids[mid] == rowid)
			{
				hit = true;
				break;
			}
			if (rowids[mid] < rowid)
				lo = mid + 1;
			else
				hi = mid - 1;
		}
		if (!hit)
			continue;
		simple_heap_delete(rel, &tup->t_self);
		removed++;
	}
	systable_endscan(scan);
	table_close(rel, RowExclusiveLock);
	return removed;
}

/* The compaction bookkeeping of a storage (zeros if it was never compacted). */
void
lsm_catalog_compaction_state(uint64 storage_id, LsmCompactionState *state)
{
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;

	memset(state, 0, sizeof(LsmCompactionState));
	if (storage_id == 0)
		return;
	rel = table_open(lsm_catalog_relid("compaction"), AccessShareLock);
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) storage_id));
	scan = systable_beginscan(rel, lsm_catalog_relid("compaction_pkey"), true,
							  GetLatestSnapshot(), 1, &key);
	if (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Datum		values[5];
		bool		nulls[5];

		heap_deform_tuple(tup, RelationGetDescr(rel), values, nulls);
		state->rowid_watermark = DatumGetInt64(values[1]);
		state->compactions = DatumGetInt64(values[2]);
		state->last_compaction = DatumGetTimestampTz(values[3]);
		state->rows_dropped = DatumGetInt64(values[4]);
		state->valid = true;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
}

/*
 * Record a compaction of `storage_id`: rowids below `watermark` belong to
 * finished writers; `rows_dropped` more rows were removed.  Compactions of
 * one table are serialised by their relation lock, so read-then-write is
 * safe.
 */
void
lsm_catalog_record_compaction(uint64 storage_id, int64 watermark,
							  int64 rows_dropped)
{
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;
	Datum		values[5];
	bool		nulls[5] = {false, false, false, false, false};
	bool		found = false;

	rel = table_open(lsm_catalog_relid("compaction"), RowExclusiveLock);
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) storage_id));
	scan = systable_beginscan(rel, lsm_catalog_relid("compaction_pkey"), true,
							  GetLatestSnapshot(), 1, &key);
	values[0] = Int64GetDatum((int64) storage_id);
	values[3] = TimestampTzGetDatum(GetCurrentTimestamp());
	if (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Datum		old[5];
		bool		oldnulls[5];
		HeapTuple	newtup;

		heap_deform_tuple(tup, RelationGetDescr(rel), old, oldnulls);
		values[1] = Int64GetDatum(Max(DatumGetInt64(old[1]), watermark));
		values[2] = Int64GetDatum(DatumGetInt64(old[2]) + 1);
		values[4] = Int64GetDatum(DatumGetInt64(old[4]) + rows_dropped);
		newtup = heap_form_tuple(RelationGetDescr(rel), values, nulls);
		CatalogTupleUpdate(rel, &tup->t_self, newtup);
		heap_freetuple(newtup);
		found = true;
	}
	systable_endscan(scan);
	if (!found)
	{
		values[1] = Int64GetDatum(watermark);
		values[2] = Int64GetDatum(1);
		values[4] = Int64GetDatum(rows_dropped);
		tup = heap_form_tuple(RelationGetDescr(rel), values, nulls);
		CatalogTupleInsert(rel, tup);
		heap_freetuple(tup);
	}
	table_close(rel, RowExclusiveLock);
}

/* Number of delete records of a storage that `snapshot` sees. */
int64
lsm_catalog_count_deletes(uint64 storage_id, Snapshot snapshot)
{
	int			n;

	(void) lsm_deleted_rowids(storage_id, snapshot, &n);
	return n;
}
