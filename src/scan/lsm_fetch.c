/*-------------------------------------------------------------------------
 *
 * lsm_fetch.c
 *	  Point reads by TID: index fetches, tuple_fetch_row_version,
 *	  tuple_satisfies_snapshot, tuple_tid_valid.
 *
 * NOTES
 *	  rowid -> this backend's write buffers (its own unflushed rows), then
 *	  the segment whose rowid range holds it (binary search over the
 *	  segment list the snapshot sees), its block (binary search over the
 *	  directory), the row (binary search over the block's rowids).  The
 *	  segment list and one decoded block are cached per fetcher; the list is
 *	  reused while the snapshot is the same (same xmin, xmax, curcid and
 *	  completion count) and this backend has flushed nothing since.
 *
 *	  Snapshot types: MVCC, SELF, ANY, NON_VACUUMABLE are answered by the
 *	  catalog scan of the segment list; DIRTY reports the inserting
 *	  transaction of an in-progress segment in snapshot->xmin, and for a
 *	  rowid that another transaction has reserved but not yet flushed
 *	  (lsm.inflight) reports that transaction, so unique checks wait exactly
 *	  as they would for an in-progress heap insert.
 *
 *	  We never claim a row is dead to everyone (*all_dead stays false): the
 *	  index would then mark the entry dead, and being wrong about that loses
 *	  rows.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relscan.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "executor/tuptable.h"
#include "pgstat.h"
#include "storage/predicate.h"
#include "storage/lsm_storage.h"
#include "common/hashfn.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "scan/lsm_scan.h"

/*
 * The first LSM_PROBE_MAX lookups of a fetcher find their segment with one
 * catalog index probe each; after that the fetcher lists all segments once
 * (per snapshot) and searches the list.  Point queries thus never read a
 * long segment list, and scans over many rows do not probe per row.
 */
#define LSM_PROBE_MAX		16
#define LSM_PROBE_HANDLES	8

struct LsmFetcher
{
	MemoryContext cxt;
	LsmReadState rs;
	uint64		storage_id;
	bool		have_storage;
	LsmSegmentList *segs;
	LsmSegmentHandle **handles;
	/* cache key of segs */
	bool		segs_valid;
	TransactionId key_xmin;
	TransactionId key_xmax;
	CommandId	key_curcid;
	uint64		key_completion;
	uint64		key_flushes;
	bool		deletes_possible;	/* any delete record for the storage */
	uint64		deletes_seen;	/* lsm_own_delete_count when that was checked */
	bool		del_key_valid;	/* snapshot deletes_possible was checked for */
	TransactionId del_key_xmin;
	TransactionId del_key_xmax;
	uint64		del_key_hash;
	CommandId	last_cid;		/* own row last fetched: its command id */
	bool		any_full;		/* SnapshotAny: load every segment */
	int			nprobes;		/* lookups answered by a catalog probe */
	int			nprobe_handles;
	LsmSegmentHandle *probe_handles[LSM_PROBE_HANDLES];
	LsmDecodedBlock *blk;		/* from the pool, or private */
	int			pool_slot;		/* -1 if private */
	bool		may_borrow;		/* callers consume each row at once */
	bool		may_defer;		/* index fetches: decode columns when read */
	uint64		id;				/* unique in the backend */
	bool		rowids_only;	/* rs.need_attrs is no_attrs */
	Bitmapset  *no_attrs;		/* a column set holding no column */
	int64		lent_rowid;		/* row last returned from blk ... */
	int			lent_idx;		/* ... and its index there */
};

/*
 * Decoded blocks for point fetches, kept across queries of this backend so
 * that an index lookup does not allocate (and page-fault) megabytes each
 * time.  A slot is taken by a fetcher and given back when it ends, or at
 * transaction end if an error skipped that.
 */
#define LSM_FETCH_POOL	4

static LsmDecodedBlock *fetch_pool[LSM_FETCH_POOL];
static bool fetch_pool_busy[LSM_FETCH_POOL];
static MemoryContext fetch_pool_cxt = NULL;

void
lsm_fetch_pool_at_xact_end(void)
{
	int			i;

	for (i = 0; i < LSM_FETCH_POOL; i++)
		fetch_pool_busy[i] = false;
}

static LsmDecodedBlock *
lsm_fetch_pool_take(MemoryContext private_cxt, int *slot)
{
	int			i;
	LsmDecodedBlock *blk;

	if (fetch_pool_cxt == NULL)
		fetch_pool_cxt = AllocSetContextCreate(TopMemoryContext,
											   "lsm fetch blocks",
											   ALLOCSET_DEFAULT_SIZES);
	for (i = 0; i < LSM_FETCH_POOL; i++)
	{
		if (fetch_pool_busy[i])
			continue;
		if (fetch_pool[i] == NULL)
		{
			fetch_pool[i] = MemoryContextAlloc(fetch_pool_cxt,
											   sizeof(LsmDecodedBlock));
			lsm_block_init(fetch_pool[i], fetch_pool_cxt);
		}
		fetch_pool_busy[i] = true;
		fetch_pool[i]->valid = false;
		*slot = i;
		return fetch_pool[i];
	}
	blk = MemoryContextAlloc(private_cxt, sizeof(LsmDecodedBlock));
	lsm_block_init(blk, private_cxt);
	*slot = -1;
	return blk;
}

typedef struct LsmIndexFetchData
{
	IndexFetchTableData base;
	LsmFetcher *fetcher;
} LsmIndexFetchData;

/* bumped whenever this backend writes a segment: cached lists go stale */
static uint64 lsm_flush_count = 0;

void
lsm_note_flush(void)
{
	lsm_flush_count++;
}

/* deletes written by this backend: the "no deletes" shortcut must not miss them */
static uint64 lsm_own_delete_count = 0;

void
lsm_note_delete(void)
{
	lsm_own_delete_count++;
}

/*
 * Storages known to have (had) delete records.  Once a storage has one,
 * fetches probe the delete record of every row; knowing that, they need
 * not first ask whether any exists (lsm_catalog_has_deletes), once per
 * snapshot.  "Has deletes" only ever makes a fetch look more carefully, so
 * remembering it for as long as the backend lives is safe.
 */
#define LSM_DELETES_KNOWN	8

static uint64 deletes_known[LSM_DELETES_KNOWN];
static int	deletes_known_next = 0;

static bool
lsm_deletes_known(uint64 storage_id)
{
	int			i;

	for (i = 0; i < LSM_DELETES_KNOWN; i++)
		if (deletes_known[i] == storage_id && storage_id != 0)
			return true;
	return false;
}

static void
lsm_deletes_remember(uint64 storage_id)
{
	deletes_known[deletes_known_next] = storage_id;
	deletes_known_next = (deletes_known_next + 1) % LSM_DELETES_KNOWN;
}

/*
 * The row an UPDATE or DELETE changes is fetched twice in a row: by the
 * index scan that finds it, then by the executor with SnapshotAny for the
 * old version (table_tuple_fetch_row_version), and each fetcher would
 * decode the whole block.  So the fetcher that last returned a row from a
 * decoded block is remembered as the "lender", and a SnapshotAny fetch of
 * that very rowid by the transaction's one-off fetcher (whose callers
 * copy or drop the row before anything else is fetched) reads it from the
 * lender's block.  A row's values never change (segments are immutable),
 * and a row some snapshot saw exists for SnapshotAny.  The lender is
 * forgotten as soon as it fetches again, ends, or the (sub)transaction
 * ends with an abort (which may free it without ending it).
 */
static LsmFetcher *lender = NULL;

void
lsm_fetch_forget_lender(void)
{
	lender = NULL;
}

/* Fill `slot` from the lender's block if it holds `rowid` for f; see above. */
static bool
lsm_fetch_borrow(LsmFetcher *f, int64 rowid, TupleTableSlot *slot)
{
	LsmFetcher *l = lender;

	if (l == NULL || l == f || !f->may_borrow || l->lent_rowid != rowid ||
		l->rs.rel != f->rs.rel ||
		l->rs.tupdesc != slot->tts_tupleDescriptor ||
		l->rs.need_attrs != NULL || f->rs.need_attrs != NULL ||
		!l->blk->valid || l->blk->desc_gen != l->rs.desc_gen ||
		l->lent_idx < 0 || l->blk->rowids[l->lent_idx] != rowid)
		return false;
	if (!f->have_storage)
	{
		f->storage_id = lsm_relation_storage_id(f->rs.rel);
		f->have_storage = true;
	}
	if (!l->have_storage || l->storage_id != f->storage_id)
		return false;
	f->last_cid = l->blk->cids ? (CommandId) l->blk->cids[l->lent_idx] :
		InvalidCommandId;
	lsm_slot_from_block(&l->rs, l->blk, l->lent_idx, slot);
	return true;
}

static uint64 fetcher_ids = 0;

/* the fetcher whose deferred row was decoded last (see lsm_fetch_deform) */
static uint64 deformed_fetcher_id = 0;

LsmFetcher *
lsm_fetcher_create(Relation rel)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext,
											  "lsm fetch",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	LsmFetcher *f = palloc0(sizeof(LsmFetcher));

	f->cxt = cxt;
	f->id = ++fetcher_ids;
	lsm_read_state_init(&f->rs, rel, NULL);
	f->blk = lsm_fetch_pool_take(cxt, &f->pool_slot);
	MemoryContextSwitchTo(old);
	return f;
}

static void
lsm_fetcher_drop_segments(LsmFetcher *f)
{
	int			i;

	if (f->segs && f->handles)
	{
		for (i = 0; i < f->segs->nsegs; i++)
			lsm_segment_close(f->handles[i]);
	}
	f->segs = NULL;
	f->handles = NULL;
	f->segs_valid = false;
	f->blk->valid = false;
	if (lender == f)
		lender = NULL;
	for (i = 0; i < f->nprobe_handles; i++)
		lsm_segment_close(f->probe_handles[i]);
	f->nprobe_handles = 0;
}

void
lsm_fetcher_reset(LsmFetcher *f)
{
	lsm_fetcher_drop_segments(f);
	f->have_storage = false;
}

void
lsm_fetcher_destroy(LsmFetcher *f)
{
	if (lender == f)
		lender = NULL;
	lsm_fetcher_drop_segments(f);
	if (f->pool_slot >= 0)
	{
		f->blk->valid = false;
		fetch_pool_busy[f->pool_slot] = false;
	}
	MemoryContextDelete(f->cxt);
}

/*
 * What an MVCC snapshot sees, as a hash of everything that decides it:
 * xmin, xmax, the in-progress xids and subxids.  Two snapshots with equal
 * fields and hash list the same segments.  (PostgreSQL's own completion
 * counter would do, but copied snapshots, such as active ones, reset it.)
 */
static uint64
lsm_snapshot_hash(Snapshot snapshot)
{
	uint64		h;

	h = hash_bytes_extended((const unsigned char *) snapshot->xip,
							sizeof(TransactionId) * snapshot->xcnt,
							(uint64) snapshot->xcnt);
	if (snapshot->subxcnt > 0)
		h ^= hash_bytes_extended((const unsigned char *) snapshot->subxip,
								 sizeof(TransactionId) * snapshot->subxcnt,
								 (uint64) snapshot->subxcnt + 17);
	h ^= (uint64) snapshot->suboverflowed << 63;
	h ^= (uint64) snapshot->takenDuringRecovery << 62;
	return h;
}

/*
 * The segment list of the last storage fetched from, shared by the fetchers
 * of later queries in this backend.  Two MVCC snapshots with the same xmin,
 * xmax and in-progress sets see the same committed transactions, so they
 * list the same segments, as long as this backend has written none since
 * (lsm_flush_count).  Only short lists are kept; each user copies it.
 */
#define LSM_SHARED_LIST_MAX		1024

static MemoryContext shared_list_cxt = NULL;
static LsmSegmentList *shared_list = NULL;
static uint64 shared_storage_id;
static TransactionId shared_xmin;
static TransactionId shared_xmax;
static uint64 shared_completion;
static uint64 shared_flushes;

static LsmSegmentList *
lsm_shared_list_get(uint64 storage_id, Snapshot snapshot)
{
	LsmSegmentList *copy;

	if (shared_list == NULL || shared_storage_id != storage_id ||
		shared_xmin != snapshot->xmin || shared_xmax != snapshot->xmax ||
		shared_completion != lsm_snapshot_hash(snapshot) ||
		shared_flushes != lsm_flush_count)
		return NULL;
	copy = palloc(sizeof(LsmSegmentList));
	copy->nsegs = shared_list->nsegs;
	copy->segs = palloc(sizeof(LsmSegmentEntry) * Max(copy->nsegs, 1));
	memcpy(copy->segs, shared_list->segs, sizeof(LsmSegmentEntry) * copy->nsegs);
	return copy;
}

static void
lsm_shared_list_put(uint64 storage_id, Snapshot snapshot,
					const LsmSegmentList *list)
{
	if (list->nsegs > LSM_SHARED_LIST_MAX)
		return;
	if (shared_list_cxt == NULL)
		shared_list_cxt = AllocSetContextCreate(TopMemoryContext,
												"lsm shared segment list",
												ALLOCSET_SMALL_SIZES);
	MemoryContextReset(shared_list_cxt);
	shared_list = MemoryContextAlloc(shared_list_cxt, sizeof(LsmSegmentList));
	shared_list->nsegs = list->nsegs;
	shared_list->segs = MemoryContextAlloc(shared_list_cxt,
										   sizeof(LsmSegmentEntry) * Max(list->nsegs, 1));
	memcpy(shared_list->segs, list->segs, sizeof(LsmSegmentEntry) * list->nsegs);
	shared_storage_id = storage_id;
	shared_xmin = snapshot->xmin;
	shared_xmax = snapshot->xmax;
	shared_completion = lsm_snapshot_hash(snapshot);
	shared_flushes = lsm_flush_count;
}

static void
lsm_fetcher_load(LsmFetcher *f, Snapshot snapshot)
{
	bool		cacheable;
	MemoryContext old;

	/*
	 * SnapshotAny (row versions for UPDATE, triggers, EvalPlanQual): start
	 * from the active snapshot's segments, which hold nearly every row asked
	 * for; lsm_fetch_row falls back to all segments when the row is not there.
	 */
	if (snapshot->snapshot_type == SNAPSHOT_ANY && !f->any_full &&
		ActiveSnapshotSet() &&
		GetActiveSnapshot()->snapshot_type == SNAPSHOT_MVCC)
		snapshot = GetActiveSnapshot();
	cacheable = snapshot->snapshot_type == SNAPSHOT_MVCC;

	if (cacheable && f->segs_valid &&
		f->key_xmin == snapshot->xmin && f->key_xmax == snapshot->xmax &&
		f->key_curcid == snapshot->curcid &&
		f->key_completion == lsm_snapshot_hash(snapshot) &&
		f->key_flushes == lsm_flush_count)
		return;
	lsm_fetcher_drop_segments(f);
	old = MemoryContextSwitchTo(f->cxt);
	if (!f->have_storage)
	{
		f->storage_id = lsm_relation_storage_id(f->rs.rel);
		f->have_storage = true;
	}
	f->segs = cacheable ? lsm_shared_list_get(f->storage_id, snapshot) : NULL;
	if (f->segs == NULL)
	{
		f->segs = lsm_catalog_segments(f->storage_id, snapshot);
		if (cacheable)
			lsm_shared_list_put(f->storage_id, snapshot, f->segs);
	}
	f->handles = palloc0(sizeof(LsmSegmentHandle *) * Max(f->segs->nsegs, 1));
	MemoryContextSwitchTo(old);
	if (cacheable)
	{
		f->segs_valid = true;
		f->key_xmin = snapshot->xmin;
		f->key_xmax = snapshot->xmax;
		f->key_curcid = snapshot->curcid;
		f->key_completion = lsm_snapshot_hash(snapshot);
		f->key_flushes = lsm_flush_count;
	}
}

/* Would lsm_fetcher_load reuse the list it has for this snapshot? */
static bool
lsm_fetcher_list_current(LsmFetcher *f, Snapshot snapshot)
{
	if (snapshot->snapshot_type == SNAPSHOT_ANY && ActiveSnapshotSet() &&
		GetActiveSnapshot()->snapshot_type == SNAPSHOT_MVCC)
		snapshot = GetActiveSnapshot();
	return snapshot->snapshot_type == SNAPSHOT_MVCC && f->segs_valid &&
		f->key_xmin == snapshot->xmin && f->key_xmax == snapshot->xmax &&
		f->key_curcid == snapshot->curcid &&
		f->key_completion == lsm_snapshot_hash(snapshot) &&
		f->key_flushes == lsm_flush_count;
}

/* A handle for a probed segment, from the fetcher's small cache. */
static LsmSegmentHandle *
lsm_probe_handle(LsmFetcher *f, const LsmSegmentEntry *entry)
{
	int			i;
	LsmSegmentHandle *h;
	MemoryContext old;

	for (i = 0; i < f->nprobe_handles; i++)
		if (f->probe_handles[i]->entry.segment_id == entry->segment_id)
			return f->probe_handles[i];
	old = MemoryContextSwitchTo(f->cxt);
	h = lsm_segment_open(&f->rs, entry);
	MemoryContextSwitchTo(old);
	if (f->nprobe_handles < LSM_PROBE_HANDLES)
		f->probe_handles[f->nprobe_handles++] = h;
	else
	{
		lsm_segment_close(f->probe_handles[0]);
		memmove(&f->probe_handles[0], &f->probe_handles[1],
				sizeof(LsmSegmentHandle *) * (LSM_PROBE_HANDLES - 1));
		f->probe_handles[LSM_PROBE_HANDLES - 1] = h;
	}
	return h;
}

/*
 * False if `snapshot` sees a delete of `rowid`.  A dirty snapshot sees a
 * row whose deleter still runs, with snapshot->xmax set to the deleter.
 */
static bool
lsm_fetch_delete_check(LsmFetcher *f, int64 rowid, Snapshot snapshot)
{
	LsmDeleteProbe probe;

	if (snapshot->snapshot_type == SNAPSHOT_ANY ||
		snapshot->snapshot_type == SNAPSHOT_NON_VACUUMABLE)
		return true;
	if (!f->have_storage)
	{
		f->storage_id = lsm_relation_storage_id(f->rs.rel);
		f->have_storage = true;
	}
	if (snapshot->snapshot_type == SNAPSHOT_MVCC)
	{
		uint64		h = lsm_snapshot_hash(snapshot);

		/* does the table have delete records at all?  once per snapshot */
		if (!f->del_key_valid || f->del_key_xmin != snapshot->xmin ||
			f->del_key_xmax != snapshot->xmax || f->del_key_hash != h)
		{
			f->deletes_possible = lsm_deletes_known(f->storage_id) ||
				lsm_catalog_has_deletes(f->storage_id);
			if (f->deletes_possible && !lsm_deletes_known(f->storage_id))
				lsm_deletes_remember(f->storage_id);
			f->deletes_seen = lsm_own_delete_count;
			f->del_key_valid = true;
			f->del_key_xmin = snapshot->xmin;
			f->del_key_xmax = snapshot->xmax;
			f->del_key_hash = h;
		}
		if (!f->deletes_possible && f->deletes_seen == lsm_own_delete_count)
			return true;
		return !lsm_catalog_row_deleted(f->storage_id, rowid, snapshot);
	}
	if (snapshot->snapshot_type == SNAPSHOT_DIRTY)
	{
		lsm_catalog_probe_delete(f->storage_id, rowid, &probe);
		if (probe.state == LSM_DEL_COMMITTED || probe.state == LSM_DEL_OWN)
			return false;
		if (probe.state == LSM_DEL_IN_PROGRESS)
			snapshot->xmax = probe.xid;
		return true;
	}
	return !lsm_catalog_row_deleted(f->storage_id, rowid, snapshot);
}

/*
 * Deferred decoding.  An index scan often reads none of the row's columns
 * (DELETE ... WHERE key = ..., unique checks, existence tests) or reads
 * them later, and decoding a block of every column is most of the cost of
 * a point fetch (zstd-compressed chunks in particular).  So an index fetch
 * into an lsm slot decodes only the block's rowids (and command ids) to
 * find the row and check its visibility, and stores the row's place in the
 * slot (LsmTupleTableSlot.deferred); the slot's operations call
 * lsm_fetch_deform when something first reads a column.  That decodes the
 * block with the transaction's deform fetcher of the relation (one per
 * relation, a few at a time, each keeping its last block) and copies the
 * row into the slot's own memory, so the row stays valid whatever the
 * index scan or the deform fetcher do next.  The deform fetcher then lends
 * the row, like any fetcher that has decoded it (lsm_fetch_borrow): an
 * UPDATE's old version is read once.  An index scan whose rows do get read
 * gains nothing from deferring and pays a copy per row, so a fetcher one of
 * whose deferred rows was decoded decodes eagerly from then on.  The row's segment stays readable for the statement: a
 * segment's pages are reused only when no snapshot can see it.
 */
#define LSM_DEFORM_FETCHERS	4		/* relations read at once (joins) */

static LsmFetcher *deform_fetchers[LSM_DEFORM_FETCHERS];	/* in
															 * TopTransactionContext */
static Oid	deform_relids[LSM_DEFORM_FETCHERS];
static int	deform_next = 0;

/* The deform fetcher of a relation (each keeps its last decoded block). */
static LsmFetcher *
lsm_deform_fetcher(Relation rel)
{
	MemoryContext old;
	int			i;

	for (i = 0; i < LSM_DEFORM_FETCHERS; i++)
		if (deform_fetchers[i] != NULL && deform_fetchers[i]->rs.rel == rel &&
			deform_relids[i] == RelationGetRelid(rel))
			return deform_fetchers[i];
	i = deform_next;
	deform_next = (deform_next + 1) % LSM_DEFORM_FETCHERS;
	if (deform_fetchers[i] != NULL)
		lsm_fetcher_destroy(deform_fetchers[i]);
	old = MemoryContextSwitchTo(TopTransactionContext);
	deform_fetchers[i] = lsm_fetcher_create(rel);
	deform_relids[i] = RelationGetRelid(rel);
	MemoryContextSwitchTo(old);
	return deform_fetchers[i];
}

static void
lsm_fetch_deform(TupleTableSlot *slot)
{
	LsmDeferredRow *d = &((LsmTupleTableSlot *) slot)->deferred;
	LsmFetcher *f = lsm_deform_fetcher(d->rel);
	LsmSegmentHandle *h;
	int			idx;

	if (lender == f)
		lender = NULL;			/* blk may be decoded again below */
	f->storage_id = lsm_relation_storage_id(d->rel);
	f->have_storage = true;
	lsm_read_state_use_desc(&f->rs, slot->tts_tupleDescriptor);
	h = lsm_probe_handle(f, &d->seg);	/* cached by segment id */

	/*
	 * Only the row's values, unless this is the second row in a row read
	 * from the same block: then the whole block, which the next ones will
	 * find decoded.
	 */
	if (f->blk->valid && f->blk->single &&
		f->blk->segment_id == d->seg.segment_id &&
		f->blk->blockno == d->blockno && f->blk->rowids[0] != d->rowid)
	{
		lsm_block_decode(&f->rs, h, d->blockno, f->blk);
		idx = lsm_block_find_rowid(f->blk, d->rowid, true);
	}
	else
		idx = lsm_block_decode_row(&f->rs, h, d->blockno, d->rowid, f->blk);
	if (idx < 0)
		elog(ERROR, "row " INT64_FORMAT " of lsm relation \"%s\" is missing from segment " INT64_FORMAT " block %u",
			 d->rowid, RelationGetRelationName(d->rel), d->seg.segment_id,
			 d->blockno);
	lsm_slot_from_block(&f->rs, f->blk, idx, slot);
	ExecMaterializeSlot(slot);
	f->lent_rowid = d->rowid;
	f->lent_idx = idx;
	lender = f;
	deformed_fetcher_id = d->fetcher_id;
}

/* Store the row found at blk[idx] in `slot` with its columns deferred. */
static void
lsm_fetch_store_deferred(LsmFetcher *f, const LsmSegmentEntry *seg,
						 uint32 blockno, int64 rowid, TupleTableSlot *slot)
{
	LsmTupleTableSlot *lslot = (LsmTupleTableSlot *) slot;

	ExecClearTuple(slot);
	lslot->deferred.rel = f->rs.rel;
	lslot->deferred.seg = *seg;
	lslot->deferred.blockno = blockno;
	lslot->deferred.rowid = rowid;
	lslot->deferred.fetcher_id = f->id;
	lslot->deform = lsm_fetch_deform;
	slot->tts_flags &= ~TTS_FLAG_EMPTY;
	slot->tts_nvalid = 0;
	lsm_rowid_to_tid(rowid, &slot->tts_tid);
	slot->tts_tableOid = RelationGetRelid(f->rs.rel);
	lsm_slot_set_xmin(slot, f->blk->cids != NULL, InvalidTransactionId);
}

/* Decode only rowids (and command ids) from now on, or every column again. */
static void
lsm_fetch_set_rowids_only(LsmFetcher *f, bool on)
{
	if (f->rowids_only == on)
		return;
	if (on && f->no_attrs == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(f->cxt);

		f->no_attrs = bms_make_singleton(MaxHeapAttributeNumber + 1);
		MemoryContextSwitchTo(old);
	}
	/* a new column set makes lsm_block_decode decode the block again */
	lsm_read_state_set_columns(&f->rs, on ? f->no_attrs : NULL);
	f->rowids_only = on;
}

/*
 * Fetch the row with `rowid` if `snapshot` sees it.  For a dirty snapshot,
 * may return true for a row of an in-progress transaction with
 * snapshot->xmin set (and, when it has not been flushed yet, all-NULL
 * values: the caller only waits on the xid).
 */
bool
lsm_fetch_row(LsmFetcher *f, int64 rowid, Snapshot snapshot, TupleTableSlot *slot)
{
	const LsmMemRow *row;
	TupleDesc	rowdesc;
	const LsmSegmentEntry *seg;
	LsmSegmentEntry probed;
	LsmSegmentHandle *h = NULL;
	int			idx;
	int			b;
	bool		ssi;
	bool		covered = false;

	if (lender == f)
		lender = NULL;			/* blk may be decoded again below */
	if (rowid < 0)
		return false;
	lsm_read_state_use_desc(&f->rs, slot->tts_tupleDescriptor);
	if (snapshot->snapshot_type == SNAPSHOT_DIRTY)
	{
		snapshot->xmin = InvalidTransactionId;
		snapshot->xmax = InvalidTransactionId;
		snapshot->speculativeToken = 0;
	}
	ssi = snapshot->snapshot_type == SNAPSHOT_MVCC &&
		CheckForSerializableConflictOutNeeded(f->rs.rel, snapshot);

	if (!lsm_fetch_delete_check(f, rowid, snapshot))
		return false;
	if (ssi)
	{
		LsmDeleteProbe probe;

		/* a delete the snapshot does not see: a rw-conflict out */
		lsm_catalog_probe_delete(f->storage_id, rowid, &probe);
		if (probe.state == LSM_DEL_IN_PROGRESS || probe.state == LSM_DEL_COMMITTED)
			lsm_predicate_conflict_out_xid(f->rs.rel, probe.xid, snapshot);
	}

	f->last_cid = InvalidCommandId;
	row = lsm_memtable_find(f->rs.rel, rowid, &rowdesc);
	if (row)
	{
		if (!lsm_row_visible_cid(snapshot, true, row->cid))
			return false;
		f->last_cid = row->cid;
		lsm_slot_from_memrow(&f->rs, row, rowdesc, slot);
		return true;
	}
	if (snapshot->snapshot_type == SNAPSHOT_ANY &&
		lsm_fetch_borrow(f, rowid, slot))
		return true;

	if (!f->have_storage)
	{
		f->storage_id = lsm_relation_storage_id(f->rs.rel);
		f->have_storage = true;
	}
	if (f->nprobes < LSM_PROBE_MAX && !lsm_fetcher_list_current(f, snapshot))
	{
		f->nprobes++;
		seg = NULL;
		if (lsm_catalog_segment_for_rowid(f->storage_id, rowid, snapshot,
										  &probed))
		{
			h = lsm_probe_handle(f, &probed);
			seg = &probed;
		}
	}
	else
	{
		lsm_fetcher_load(f, snapshot);
		seg = lsm_segment_for_rowid(f->segs, rowid);
		if (seg == NULL && snapshot->snapshot_type == SNAPSHOT_ANY && !f->any_full)
		{
			/* not among the active snapshot's segments: look at all of them */
			f->any_full = true;
			f->segs_valid = false;
			lsm_fetcher_load(f, snapshot);
			seg = lsm_segment_for_rowid(f->segs, rowid);
			f->any_full = false;
			f->segs_valid = false;
		}
		if (seg != NULL)
		{
			int			si = seg - f->segs->segs;

			h = f->handles[si];
			if (h == NULL)
			{
				MemoryContext old = MemoryContextSwitchTo(f->cxt);

				h = lsm_segment_open(&f->rs, seg);
				f->handles[si] = h;
				MemoryContextSwitchTo(old);
			}
		}
	}
	/*
	 * A rowid in the range of a segment the snapshot sees belongs to no
	 * concurrent writer: segments never span rowids another transaction
	 * still holds, and one merged from a writer's later commit is not
	 * visible to a snapshot that misses that commit
	 */
	covered = (seg != NULL);
	/* a row in the segment's persisted delete map is gone for everyone */
	if (seg != NULL && seg->delmap_bytes > 0 &&
		lsm_segment_delmap_has(f->rs.rel, seg, rowid))
		seg = NULL;
	if (seg != NULL)
	{
		bool		defer;

		if (f->may_defer && deformed_fetcher_id == f->id)
			f->may_defer = false;	/* its rows are read: decode eagerly */
		defer = f->may_defer && slot->tts_ops == lsm_slot_ops();

		lsm_fetch_set_rowids_only(f, defer);
		b = lsm_segment_find_block(h, rowid);
		if (b < (int) h->nblocks &&
			lsm_handle_block(h, b)->first_rowid <= rowid)
		{
			lsm_block_decode(&f->rs, h, b, f->blk);
			idx = lsm_block_find_rowid(f->blk, rowid, true);
			if (idx >= 0)
			{
				if (f->blk->cids &&
					!lsm_row_visible_cid(snapshot, true, (CommandId) f->blk->cids[idx]))
					return false;
				if (f->blk->cids)
					f->last_cid = (CommandId) f->blk->cids[idx];
				if (snapshot->snapshot_type == SNAPSHOT_DIRTY &&
					TransactionIdIsValid(seg->inserting_xid))
					snapshot->xmin = seg->inserting_xid;
				if (ssi)
				{
					/* SIREAD on the row read, as heap (not the table) */
					ItemPointerData tid;

					lsm_rowid_to_tid(rowid, &tid);
					PredicateLockTID(f->rs.rel, &tid, snapshot,
									 InvalidTransactionId);
				}
				if (defer)
				{
					lsm_fetch_store_deferred(f, seg, (uint32) b, rowid, slot);
					return true;
				}
				lsm_slot_from_block(&f->rs, f->blk, idx, slot);
				f->lent_rowid = rowid;
				f->lent_idx = idx;
				lender = f;
				return true;
			}
		}
	}

	if (snapshot->snapshot_type == SNAPSHOT_DIRTY)
	{
		TransactionId xid;

		if (!f->have_storage)
		{
			f->storage_id = lsm_relation_storage_id(f->rs.rel);
			f->have_storage = true;
		}
		xid = lsm_catalog_inflight_xid(f->storage_id, rowid);
		if (TransactionIdIsValid(xid))
		{
			TransactionId spec_xid;
			uint32		token;

			/*
			 * A speculative insertion: its token is what a unique check
			 * waits on (heap's HeapTupleSatisfiesDirty reports it); a row
			 * its inserter took back is gone.
			 */
			switch (lsm_specins_lookup(f->storage_id, rowid, &spec_xid, &token))
			{
				case LSM_SPEC_GIVEN_UP:
					return false;
				case LSM_SPEC_PENDING:
					xid = spec_xid;
					snapshot->speculativeToken = token;
					break;
				case LSM_SPEC_UNKNOWN:
					break;
			}
			snapshot->xmin = xid;
			ExecStoreAllNullTuple(slot);
			lsm_rowid_to_tid(rowid, &slot->tts_tid);
			slot->tts_tableOid = RelationGetRelid(f->rs.rel);
			return true;
		}
	}

	/*
	 * A row no segment the snapshot sees covers: heap would report a
	 * rw-conflict out to its inserter if that is concurrent; we look for
	 * the table's concurrent writers (once per transaction)
	 */
	if (ssi && !covered)
		lsm_predicate_conflicts_out(f->rs.rel, snapshot);
	return false;
}

/*
 * Command id that inserted the row lsm_fetch_row last returned, if our own
 * transaction inserted it; InvalidCommandId otherwise.
 */
CommandId
lsm_fetcher_last_cid(LsmFetcher *f)
{
	return f->last_cid;
}

/*
 * One fetcher per transaction for the one-off reads of a relation that the
 * executor makes per row (the old version of every updated row, lock and
 * visibility checks), so that each does not reload the segment list.
 * Lives in TopTransactionContext; forgotten at transaction end.  Its
 * callers copy (materialize) or drop every row before the next fetch, so
 * it may read rows from another fetcher's block (lsm_fetch_borrow).
 */
static LsmFetcher *xact_fetcher = NULL;
static Oid	xact_fetcher_relid = InvalidOid;

LsmFetcher *
lsm_fetcher_for(Relation rel)
{
	if (xact_fetcher != NULL &&
		(xact_fetcher->rs.rel != rel ||
		 xact_fetcher_relid != RelationGetRelid(rel) ||
		 (xact_fetcher->have_storage &&
		  xact_fetcher->storage_id != lsm_relation_storage_id(rel))))
	{
		lsm_fetcher_destroy(xact_fetcher);
		xact_fetcher = NULL;
	}
	if (xact_fetcher == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);

		xact_fetcher = lsm_fetcher_create(rel);
		xact_fetcher->may_borrow = true;
		xact_fetcher_relid = RelationGetRelid(rel);
		MemoryContextSwitchTo(old);
	}
	return xact_fetcher;
}

void
lsm_fetcher_at_xact_end(void)
{
	xact_fetcher = NULL;
	memset(deform_fetchers, 0, sizeof(deform_fetchers));
	lender = NULL;
}

IndexFetchTableData *
lsm_index_fetch_begin(Relation rel)
{
	LsmIndexFetchData *scan = palloc0(sizeof(LsmIndexFetchData));

	scan->base.rel = rel;
	scan->fetcher = lsm_fetcher_create(rel);
	scan->fetcher->may_defer = true;
	return &scan->base;
}

void
lsm_index_fetch_reset(IndexFetchTableData *sscan)
{
	LsmIndexFetchData *scan = (LsmIndexFetchData *) sscan;

	/* keep the cached list: it is keyed by snapshot */
	scan->fetcher->have_storage = false;
	scan->fetcher->segs_valid = false;
}

void
lsm_index_fetch_end(IndexFetchTableData *sscan)
{
	LsmIndexFetchData *scan = (LsmIndexFetchData *) sscan;

	lsm_fetcher_destroy(scan->fetcher);
	pfree(scan);
}

bool
lsm_index_fetch_tuple(IndexFetchTableData *sscan, ItemPointer tid,
					  Snapshot snapshot, TupleTableSlot *slot,
					  bool *call_again, bool *all_dead)
{
	LsmIndexFetchData *scan = (LsmIndexFetchData *) sscan;
	bool		found;

	*call_again = false;
	if (all_dead)
		*all_dead = false;
	found = lsm_fetch_row(scan->fetcher, lsm_tid_to_rowid(tid), snapshot, slot);
	if (found)
		pgstat_count_heap_fetch(sscan->rel);
	return found;
}

bool
lsm_tuple_fetch_row_version(Relation rel, ItemPointer tid, Snapshot snapshot,
							TupleTableSlot *slot)
{
	LsmFetcher *f = lsm_fetcher_for(rel);
	bool		found;

	found = lsm_fetch_row(f, lsm_tid_to_rowid(tid), snapshot, slot);
	if (found)
		ExecMaterializeSlot(slot);
	return found;
}

bool
lsm_tuple_tid_valid(TableScanDesc scan, ItemPointer tid)
{
	int64		rowid = lsm_tid_to_rowid(tid);

	return rowid >= 0 &&
		ItemPointerGetBlockNumber(tid) < lsm_virtual_nblocks(scan->rs_rd);
}

bool
lsm_tuple_satisfies_snapshot(Relation rel, TupleTableSlot *slot,
							 Snapshot snapshot)
{
	LsmFetcher *f = lsm_fetcher_for(rel);
	TupleTableSlot *tmp = MakeSingleTupleTableSlot(RelationGetDescr(rel),
												   &TTSOpsVirtual);
	bool		found;

	found = lsm_fetch_row(f, lsm_tid_to_rowid(&slot->tts_tid), snapshot, tmp);
	ExecDropSingleTupleTableSlot(tmp);
	return found;
}
