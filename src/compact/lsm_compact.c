/*-------------------------------------------------------------------------
 *
 * lsm_compact.c
 *	  Compaction: merging small and level-0 segments, rewriting segments
 *	  with many settled deletes, and dropping deleted rows for good.
 *
 * NOTES
 *	  A compaction pass runs in one transaction holding
 *	  ShareUpdateExclusiveLock on the table (so it excludes another
 *	  compaction, VACUUM and DDL, but not DML or queries):
 *
 *	  0. Evict the schema versions no segment any snapshot can see needs
 *	     any more (src/catalog/lsm_schema.c), and take the table's current
 *	     descriptor and schema version: the pass writes every row it
 *	     rewrites under that version (its "migration context"; the lock
 *	     keeps ALTER TABLE out until the pass commits).
 *	  1. Raise the rowid fence to the rowid counter N (so that no backend
 *	     reuses a batch of rowids below N it kept from an earlier
 *	     transaction, see lsm_meta_fence_rowids), then wait for every
 *	     transaction that holds a lock conflicting with ShareLock on the
 *	     table, i.e. every writer that may hold rowids below N (a writer
 *	     keeps its RowExclusiveLock from before it takes rowids until it
 *	     ends).  Afterwards every rowid below N belongs to a finished
 *	     transaction: N is the new rowid watermark.  The background
 *	     worker does not wait on a busy table: it remembers N and those
 *	     writers, and a later pass uses N once they have all ended, checked
 *	     without waiting (lsm_background_watermark); until then it keeps
 *	     the watermark of the last pass.  Neither waits when every writer
 *	     publishes its rowid spans (src/txn/lsm_reserve.c, not for `full`):
 *	     the watermark is then min(N, the lowest span), every segment below
 *	     N is eligible, and no group crosses a span.
 *	  2. List the committed segments with a fresh snapshot; only segments
 *	     entirely below the watermark (or the fence, between spans) take
 *	     part, so no output can ever overlap a segment a writer has yet to
 *	     commit.  Delete records are
 *	     "settled" when their transaction committed before the oldest
 *	     snapshot any session holds (GetOldestNonRemovableTransactionId).
 *	  3. Group neighbouring segments by the policy (below) and rewrite each
 *	     group in rowid order, leaving out the rows with settled deletes.
 *	     Rowids are kept, so indexes stay valid; output segments are
 *	     level 1 and hold at most the target's rows each (below).
 *	  4. In the same transaction: delete the inputs' lsm.segment rows,
 *	     insert the outputs', remove the delete records of the dropped rows
 *	     and advance the watermark in lsm.compaction.  Snapshots taken
 *	     before the commit keep reading the inputs (whose pages are never
 *	     overwritten), later ones read the outputs: the same logical rows.
 *
 *	  Index entries of dropped rows are removed by the next VACUUM: a rowid
 *	  below the watermark that no segment holds no longer exists.
 *
 *	  Policy (lsm.compact(rel, full => false) and the worker): the target
 *	  size of a segment is lsm.segment_rows, but at most a sixteenth of the
 *	  table's live rows (lsm_compact_target).  Walking the
 *	  eligible segments in rowid order, a segment is "small" if fewer than
 *	  half of the target of its rows are live, and "to rewrite" if
 *	  settled deletes make up at least lsm.compact_delete_fraction of it,
 *	  or if it was written under an older schema version (migration: up to
 *	  `migrate_rows` rows of such segments per pass, the oldest rowids
 *	  first; all of them for lsm.compact).
 *	  Runs of small or to-rewrite neighbours are grouped up to
 *	  the target in live rows; a leading segment with more live rows
 *	  than the rest of its group together is left out (size tiering: a row
 *	  is rewritten only when the data merged with it has doubled, so write
 *	  amplification grows with the logarithm of the table, not linearly).
 *	  A group is compacted if it holds a
 *	  segment to rewrite, or at least two segments and either more than
 *	  lsm.compact_l0_trigger level-0 segments are eligible or the group has
 *	  two segments of higher levels.  A segment with settled delete records
 *	  that no group rewrites is *relocated*: a new catalog row for the same
 *	  pages whose persisted delete map (docs/FORMAT.md) also holds those
 *	  rows, so the records go without re-encoding a chunk.  A segment to
 *	  rewrite with over 1.5 times the target in live rows is *trimmed*
 *	  instead: its leading blocks, up to the target, are rewritten and the
 *	  rest of its image is kept under a new catalog row with a hole over
 *	  the pages freed (lsm_compact_keep_tail), a piece per pass.  A level-0
 *	  segment writers count that is too large to merge is promoted to level
 *	  1 by relocation.  full => true rewrites every eligible segment.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/table.h"
#include "access/xact.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "storage/procarray.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "lsm_am.h"
#include "format/lsm_format.h"
#include "catalog/lsm_catalog.h"
#include "catalog/lsm_schema.h"
#include "compact/lsm_compact.h"
#include "scan/lsm_scan.h"
#include "storage/lsm_storage.h"
#include "txn/lsm_txn.h"

PG_FUNCTION_INFO_V1(lsm_compact);

/* settled delete records that make a background relocation worth it */
#define LSM_RELOCATE_BATCH	4096

/* One eligible segment and what the policy knows of it. */
typedef struct LsmCompactInput
{
	const LsmSegmentEntry *seg;
	int64		settled;		/* rows gone: settled deletes + delete map */
	int64		records;		/* settled delete records among them */
	bool		small;
	bool		rewrite;
	bool		done;			/* rewritten by this pass */
	int64		written;		/* its rows the rewrite copied */
	bool		barrier;		/* a writer's rowids lie before it: cannot
								 * join the group of the segments before */
	bool		promote;		/* a level-0 segment too large to merge:
								 * relocated to level 1 */
	int64		trim;			/* > 0: rewrite only its first blocks, up to
								 * this many rows, and keep the rest of its
								 * image (trimming, lsm_compact_keep_tail) */
} LsmCompactInput;

/*
 * The output size a pass aims at: lsm.segment_rows, but no more than an
 * sixteenth of the table's live rows (and no less than LSM_TARGET_MIN_ROWS).
 * Rewriting a segment needs room for its copy while the original stays
 * readable, and the file keeps the high-water mark: with segments of half
 * the table, a steady stream of UPDATEs left the file at 1.6-1.9 times the
 * rows' size.
 */
#define LSM_TARGET_TABLE_FRACTION	16
#define LSM_TARGET_MIN_ROWS			8192

static int64
lsm_compact_target(int64 table_live)
{
	int64		target = Max(lsm_segment_rows, 1);

	return Min(target, Max(table_live / LSM_TARGET_TABLE_FRACTION,
						   LSM_TARGET_MIN_ROWS));
}

/*
 * lsm_wait_for_writers
 *		Wait until every transaction that now holds a lock on `rel`
 *		conflicting with ShareLock (the writers) has ended.  timeout_ms < 0
 *		waits as long as it takes (cancellable); otherwise gives up after
 *		about timeout_ms and returns false.
 */
bool
lsm_wait_for_writers(Relation rel, int timeout_ms)
{
	LOCKTAG		tag;
	VirtualTransactionId *vxids;
	TimestampTz start = GetCurrentTimestamp();

	SET_LOCKTAG_RELATION(tag, MyDatabaseId, RelationGetRelid(rel));
	if (RelationUsesLocalBuffers(rel))
		return true;			/* a temporary table has no other writers */
	vxids = GetLockConflicts(&tag, ShareLock, NULL);
	for (; VirtualTransactionIdIsValid(*vxids); vxids++)
	{
		if (timeout_ms < 0)
		{
			VirtualXactLock(*vxids, true);
			continue;
		}
		while (!VirtualXactLock(*vxids, false))
		{
			if (TimestampDifferenceExceeds(start, GetCurrentTimestamp(),
										   timeout_ms))
				return false;
			CHECK_FOR_INTERRUPTS();
			pg_usleep(10000L);
		}
	}
	return true;
}

/*
 * A rowid fence raised by an earlier background pass over a table, with the
 * transactions that held a writer's lock on it right after: once they have
 * all ended, the fence is a rowid watermark (see the file header).
 */
typedef struct LsmPendingFence
{
	Oid			relid;			/* hash key */
	uint64		storage_id;
	int64		fence;
	int			nvxids;
	VirtualTransactionId *vxids;	/* in TopMemoryContext */
} LsmPendingFence;

static HTAB *pending_fences = NULL;

/* Have all these transactions ended?  Never waits. */
static bool
lsm_vxids_ended(const VirtualTransactionId *vxids, int n)
{
	int			i;

	for (i = 0; i < n; i++)
		if (!VirtualXactLock(vxids[i], false))
			return false;
	return true;
}

/*
 * lsm_background_watermark
 *		The rowid watermark for a pass that must not wait long (the
 *		background worker), or -1 if it has none and should keep the last
 *		one.  `fence` was just raised.  Rather than wait for the table's
 *		writers now, the pass remembers them with the fence and uses the
 *		fence remembered by an earlier pass whose writers have all ended
 *		since (a round later, on a busy table); only when there is no such
 *		fence does it wait, up to wait_ms, as lsm.compact does.
 */
static int64
lsm_background_watermark(Relation rel, uint64 storage_id, int64 fence,
						 int wait_ms)
{
	LOCKTAG		tag;
	VirtualTransactionId *vxids;
	int			n = 0;
	LsmPendingFence *pf;
	bool		found;
	int64		result = -1;

	if (RelationUsesLocalBuffers(rel))
		return fence;			/* a temporary table has no other writers */
	if (pending_fences == NULL)
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(LsmPendingFence);
		pending_fences = hash_create("lsm pending rowid fences", 16, &ctl,
									 HASH_ELEM | HASH_BLOBS);
	}
	pf = hash_search(pending_fences, &RelationGetRelid(rel), HASH_ENTER, &found);
	if (!found)
	{
		pf->vxids = NULL;
		pf->nvxids = 0;
		pf->storage_id = 0;
	}
	if (found && pf->storage_id == storage_id &&
		lsm_vxids_ended(pf->vxids, pf->nvxids))
		result = pf->fence;

	/* the writers of the fence just raised */
	SET_LOCKTAG_RELATION(tag, MyDatabaseId, RelationGetRelid(rel));
	vxids = GetLockConflicts(&tag, ShareLock, NULL);
	while (VirtualTransactionIdIsValid(vxids[n]))
		n++;
	if (result < 0)
	{
		TimestampTz start = GetCurrentTimestamp();
		int			i;

		/* nothing remembered to use: wait for them a while */
		for (i = 0; i < n; i++)
		{
			while (!VirtualXactLock(vxids[i], false))
			{
				if (TimestampDifferenceExceeds(start, GetCurrentTimestamp(),
											   wait_ms))
					break;
				CHECK_FOR_INTERRUPTS();
				pg_usleep(1000L);
			}
		}
		if (lsm_vxids_ended(vxids, n))
			return fence;
	}
	else if (n == 0)
		return fence;

	/* remember this fence for a later pass */
	if (pf->vxids)
		pfree(pf->vxids);
	pf->vxids = MemoryContextAlloc(TopMemoryContext,
								   sizeof(VirtualTransactionId) * Max(n, 1));
	memcpy(pf->vxids, vxids, sizeof(VirtualTransactionId) * n);
	pf->nvxids = n;
	pf->fence = fence;
	pf->storage_id = storage_id;
	return result;
}

static int
lsm_rowid_cmp(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

/* Append a rowid to a growing array. */
static void
lsm_push_rowid(int64 **arr, int *n, int *cap, int64 rowid)
{
	if (*n == *cap)
	{
		*cap = *cap == 0 ? 256 : *cap * 2;
		*arr = *arr ? repalloc_huge(*arr, sizeof(int64) * *cap) :
			palloc(sizeof(int64) * *cap);
	}
	(*arr)[(*n)++] = rowid;
}

/* Finish an output segment and account for it. */
static void
lsm_compact_emit(LsmSegBuilder *b, uint64 storage_id, LsmCompactResult *res)
{
	LsmSegmentEntry out;

	if (lsm_segbuilder_finish(b, storage_id, 1, &out))
	{
		res->segments_out++;
		res->rows_out += out.row_count;
		res->bytes_out += out.total_bytes;
	}
}

/*
 * Install `out`, a new catalog row (level 1 or above) for the pages of
 * `seg` -- all of them, or those of the blocks a trimming keeps -- whose
 * delete map holds seg's map rows within out's rowid range plus the settled
 * delete records there (whose records then go), and retire seg.  No chunk is
 * decoded or copied.
 */
static void
lsm_compact_install_copy(Relation rel, uint64 storage_id,
						 const LsmSegmentEntry *seg, LsmSegmentEntry *out,
						 const int64 *records, int nrecords,
						 int64 **dropped, int *ndropped, int *dropped_cap,
						 LsmCompactResult *res)
{
	int			nmap;
	const int64 *map = lsm_segment_delmap(rel, seg, &nmap);
	int			m0 = lsm_rowid_lower_bound(map, nmap, out->min_rowid);
	int			nold = nmap - m0;
	int			lo = lsm_rowid_lower_bound(records, nrecords, out->min_rowid);
	int			hi = lsm_rowid_lower_bound(records, nrecords, out->max_rowid + 1);
	int			nall;
	int64	   *all = lsm_merge_rowids(map + m0, nold, records + lo, hi - lo, &nall);
	uint8	   *buf = NULL;
	size_t		len = 0;
	int			k;

	if (nall > 0)
	{
		size_t		cap = lsm_delmap_bound((uint32) nall);
		int			st;

		buf = palloc_extended(cap, MCXT_ALLOC_HUGE);
		st = lsm_delmap_encode(all, (uint32) nall, out->min_rowid, buf, cap, &len);
		if (st != LSM_OK)
			lsm_format_error(st, rel, seg->segment_id, -1, "encoding a delete map");
	}

	out->segment_id = lsm_catalog_next_segment_id();

	/*
	 * Every segment a compaction catalogues is at level 1 or above, the copy
	 * of a relocated level-0 segment too.  A dirty or SnapshotAny listing
	 * taken while the pass runs sees both its inputs (their deletion is
	 * still in progress) and its outputs, and tells the outputs apart by
	 * that: an in-progress segment at level 0 is an inserter's flush.  Were
	 * the copy left at level 0, a unique check (INSERT, ON CONFLICT) meeting
	 * one of its rows would take the compaction for the row's inserter and
	 * wait for the whole pass to commit.
	 */
	out->level = Max(seg->level, 1);
	out->deleted_count = nall;
	out->delmap_bytes = (uint32) len;
	out->delmap_start = 0;
	lsm_space_lock(rel, storage_id);
	if (len > 0)
	{
		LsmExtent	ext;
		uint32		npages;

		/* a delete map lies in one run of pages */
		(void) lsm_pages_store(rel, storage_id, (const char *) buf, len, 1,
							   &ext, &npages);
		out->delmap_start = ext.start;
	}
	lsm_catalog_delete_segment(storage_id, seg->segment_id);
	lsm_catalog_insert_segment(storage_id, out);
	lsm_space_unlock(rel, storage_id);

	for (k = lo; k < hi; k++)
		lsm_push_rowid(dropped, ndropped, dropped_cap, records[k]);
	res->segments_out++;
	res->rows_in += out->row_count - nold;
	res->rows_out += out->row_count - nall;
	res->bytes_out += (int64) len;
	if (buf)
		pfree(buf);
	pfree(all);
}

/*
 * Relocate one segment: a new catalog row for the same pages whose delete
 * map also holds the segment's settled deletes, so their delete records can
 * go without re-encoding any chunk.  The old row is retired; its pages stay
 * in use by the new one.
 */
static void
lsm_compact_relocate(Relation rel, uint64 storage_id, LsmCompactInput *in,
					 const int64 *records, int nrecords,
					 int64 **dropped, int *ndropped, int *dropped_cap,
					 LsmCompactResult *res, int progress)
{
	LsmSegmentEntry out = *in->seg;

	lsm_compact_install_copy(rel, storage_id, in->seg, &out, records, nrecords,
							 dropped, ndropped, dropped_cap, res);
	lsm_progress_advance(progress, 1, in->seg->row_count, in->seg->total_bytes);
	res->segments_in++;
}

/*
 * Trimming: how many leading blocks of the segment (at least one) hold at
 * most `rows` rows that are not in `settled`.
 */
static uint32
lsm_trim_point(const LsmSegmentHandle *h, int64 rows,
			   const int64 *settled, int nsettled)
{
	uint32		b;
	int64		sum = 0;

	for (b = 0; b < h->nblocks; b++)
	{
		const LsmBlockInfo *bi = lsm_handle_block(h, b);
		int64		live = bi->nrows -
			(lsm_rowid_lower_bound(settled, nsettled, bi->last_rowid + 1) -
			 lsm_rowid_lower_bound(settled, nsettled, bi->first_rowid));

		if (b > 0 && sum + live > rows)
			break;
		sum += live;
	}
	return b;
}

/*
 * The second half of trimming a segment: its blocks from `keep_from` on
 * stay where they are under a new catalog row whose rowid range starts at
 * the first of them (the readers' window, lsm_reader_window) and whose
 * extent list has a hole over the pages that held only the rewritten
 * blocks: those come free once no snapshot can read the old row.  The
 * meta area stays (the directory describes every block of the image).
 * Trimming a large segment a piece per pass, each copy goes into the
 * pages the last piece freed, instead of the whole segment needing room
 * for its copy at once.
 */
static void
lsm_compact_keep_tail(Relation rel, uint64 storage_id,
					  const LsmSegmentEntry *seg, const LsmSegmentHandle *h,
					  uint32 keep_from, const int64 *records, int nrecords,
					  int64 **dropped, int *ndropped, int *dropped_cap,
					  LsmCompactResult *res)
{
	LsmSegmentEntry out = *seg;
	const LsmBlockInfo *first = lsm_handle_block(h, keep_from);
	uint32		meta_pages = (uint32)
		((lsm_segr_header(h->reader)->meta_len + LSM_PAGE_PAYLOAD - 1) /
		 LSM_PAGE_PAYLOAD);
	uint32		first_page = (uint32) (first->data_offset / LSM_PAGE_PAYLOAD);
	uint32		b;

	out.min_rowid = first->first_rowid;
	out.row_count = 0;
	out.raw_bytes = 0;
	for (b = keep_from; b < h->nblocks; b++)
	{
		const LsmBlockInfo *bi = lsm_handle_block(h, b);
		int			c;

		out.row_count += bi->nrows;
		out.raw_bytes += bi->rowids.raw_len + bi->cids.raw_len;
		for (c = 0; c < h->ncols; c++)
			out.raw_bytes += bi->cols[c].raw_len;
	}
	if (first_page > meta_pages)
	{
		LsmExtent	ext[LSM_SEG_MAX_EXTENTS];
		int			n;

		/* more runs than a row holds: keep the pages, free them later */
		if (lsm_extents_punch(seg->extents, seg->nextents, meta_pages,
							  first_page, ext, &n))
			lsm_segment_set_pages(&out, ext, n);
	}
	lsm_compact_install_copy(rel, storage_id, seg, &out, records, nrecords,
							 dropped, ndropped, dropped_cap, res);
}

/*
 * Rewrite one group of neighbouring segments: every row without a settled
 * delete goes into new level-1 segments; the inputs are retired.  Rowids of
 * dropped rows are appended to *dropped.
 */
static void
lsm_compact_group(Relation rel, LsmReadState *rs, LsmDecodedBlock *blk,
				  uint64 storage_id, LsmCompactInput *in, int nin,
				  const int64 *settled, int nsettled,
				  const int64 *records, int nrecords, int64 target,
				  int64 **dropped, int *ndropped, int *dropped_cap,
				  LsmCompactResult *res, int progress)
{
	int			natts = rs->tupdesc->natts;
	Datum	   *values = palloc(sizeof(Datum) * Max(natts, 1));
	bool	   *isnull = palloc(sizeof(bool) * Max(natts, 1));
	LsmSegBuilder *b = NULL;
	int			i;

	for (i = 0; i < nin; i++)
	{
		const LsmSegmentEntry *seg = in[i].seg;
		LsmSegmentHandle *h = lsm_segment_open(rs, seg);
		/* trimming rewrites the first blocks only (lsm_compact_keep_tail) */
		uint32		nblocks = in[i].trim > 0 ?
			lsm_trim_point(h, in[i].trim, settled, nsettled) : h->nblocks;
		int			d = lsm_rowid_lower_bound(settled, nsettled, seg->min_rowid);
		uint32		bno;

		for (bno = 0; bno < nblocks; bno++)
		{
			uint32		r;

			CHECK_FOR_INTERRUPTS();
			lsm_block_decode(rs, h, bno, blk);
			for (r = 0; r < blk->nrows; r++)
			{
				int64		rowid = blk->rowids[r];
				int			a;

				res->rows_in++;
				while (d < nsettled && settled[d] < rowid)
					d++;
				if (d < nsettled && settled[d] == rowid)
				{
					lsm_push_rowid(dropped, ndropped, dropped_cap, rowid);
					continue;
				}
				for (a = 0; a < natts; a++)
				{
					values[a] = blk->values[a][r];
					isnull[a] = blk->isnull[a][r];
				}
				if (b == NULL)
					b = lsm_segbuilder_begin(rel, storage_id, rs->tupdesc, false, true);
				lsm_segbuilder_add(b, rowid, FirstCommandId, values, isnull);
				in[i].written++;
				if (lsm_segbuilder_nrows(b) >= target)
				{
					lsm_compact_emit(b, storage_id, res);
					b = NULL;
				}
			}
		}
		blk->valid = false;
		if (nblocks < h->nblocks)
			lsm_compact_keep_tail(rel, storage_id, seg, h, nblocks,
								  records, nrecords, dropped, ndropped,
								  dropped_cap, res);
		else
			lsm_catalog_delete_segment(storage_id, seg->segment_id);
		lsm_segment_close(h);
		lsm_progress_advance(progress, 1, seg->row_count, seg->total_bytes);
		res->segments_in++;
		res->bytes_in += seg->total_bytes;
	}
	if (b != NULL)
		lsm_compact_emit(b, storage_id, res);
	pfree(values);
	pfree(isnull);
}

/* Does the group rewrite a segment of at least a quarter of the target size? */
static bool
lsm_group_rewrites_large(const LsmCompactInput *in, int nin, int64 target)
{
	int			i;

	for (i = 0; i < nin; i++)
		if (in[i].seg->row_count >= target / 4)
			return true;
	return false;
}

/* Should the policy compact this group? */
static bool
lsm_group_worth_it(const LsmCompactInput *in, int nin, int l0_count,
				   int l0_trigger, bool full)
{
	int			upper = 0;
	int			i;

	if (nin == 0)
		return false;
	if (full)
		return true;
	for (i = 0; i < nin; i++)
	{
		if (in[i].rewrite)
			return true;
		if (in[i].seg->level > 0)
			upper++;
	}
	return nin >= 2 && (l0_count > l0_trigger || upper >= 2);
}

static void lsm_compact_pass(Relation rel, uint64 storage_id, bool full,
							 int wait_ms, int64 migrate_rows, bool level0_only,
							 LsmCompactResult *res, int progress);

/*
 * lsm_compact_relation
 *		One compaction pass over `rel` (opened with at least
 *		ShareUpdateExclusiveLock by the caller) in the current transaction.
 *		wait_ms: how long to wait for writers (-1: as long as it takes);
 *		migrate_rows: how many rows of segments under older schema
 *		versions to rewrite (LSM_MIGRATE_ALL: all); level0_only: look only
 *		at the segments from the first level-0 one on (and the small ones
 *		right before it), see lsm_compact_pass.
 */
void
lsm_compact_relation(Relation rel, bool full, int wait_ms, int64 migrate_rows,
					 bool level0_only, LsmCompactResult *res)
{
	uint64		storage_id;
	int			progress;

	memset(res, 0, sizeof(LsmCompactResult));
	storage_id = lsm_relation_storage_id(rel);
	if (storage_id == 0)
		return;
	progress = lsm_progress_begin(RelationGetRelid(rel));
	PG_TRY();
	{
		lsm_compact_pass(rel, storage_id, full, wait_ms, migrate_rows,
						 level0_only && !full, res, progress);
	}
	PG_FINALLY();
	{
		lsm_progress_end(progress);
	}
	PG_END_TRY();
}

/* The pass itself (see the file header), reporting to progress slot `progress`. */
static void
lsm_compact_pass(Relation rel, uint64 storage_id, bool full, int wait_ms,
				 int64 migrate_rows, bool level0_only, LsmCompactResult *res,
				 int progress)
{
	LsmCompactionState state;
	int64		fence;
	int64		watermark;
	int64		eligible_below;
	LsmRowidSpan *spans = NULL;
	int			nspans = 0;
	Snapshot	snapshot;
	LsmSegmentList *segs;
	TransactionId horizon;
	int64	   *settled;
	int			nsettled;
	int64	   *records;
	int			nrecords;
	LsmCompactInput *in;
	int			nin = 0;
	int			l0_count = 0;
	int64	   *dropped = NULL;
	int			ndropped = 0;
	int			dropped_cap = 0;
	int			i;
	int			gstart;
	int64		glive;
	int64		target;
	int64		table_live = 0;
	int64		from_rowid = 0;
	int64		rewrite_budget;
	LsmReadState rs;
	LsmDecodedBlock blk;
	MemoryContext cxt;
	MemoryContext old;
	int32		current_version;
	double		delete_fraction = lsm_table_delete_fraction(RelationGetRelid(rel));

	res->l0_trigger = lsm_table_l0_trigger(RelationGetRelid(rel));
	cxt = AllocSetContextCreate(CurrentMemoryContext, "lsm compaction",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);

	/*
	 * 0. old schema versions out (not in level-0 passes: a twentieth of a
	 * busy worker's time; full passes come every 250 ms); the migration
	 * context
	 */
	if (!level0_only)
		res->versions_evicted = lsm_schema_evict(rel);
	current_version = lsm_schema_version_for_write(rel, storage_id,
												   RelationGetDescr(rel));

	/* 1. the rowid watermark */
	fence = lsm_meta_fence_rowids(rel);
	lsm_catalog_compaction_state(storage_id, &state);
	if (!full && lsm_reserve_exact(rel, storage_id, &spans, &nspans))
	{
		/*
		 * Every writer's rowids are known (lsm_reserve.c): below the fence,
		 * a rowid outside their spans is final.  No waiting; segments
		 * between spans can merge, just not across one.
		 */
		watermark = nspans > 0 ? Min(fence, spans[0].lo) : fence;
		eligible_below = fence;
	}
	else
	{
		if (wait_ms < 0)
		{
			(void) lsm_wait_for_writers(rel, -1);
			watermark = fence;
		}
		else
			watermark = lsm_background_watermark(rel, storage_id, fence,
												 wait_ms);
		eligible_below = Max(watermark, state.rowid_watermark);
	}
	watermark = Max(watermark, state.rowid_watermark);

	/* 2. eligible segments and settled deletes */
	lsm_progress_phase(progress, LSM_PHASE_PLANNING);
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	segs = lsm_catalog_segments(storage_id, snapshot);
	horizon = GetOldestNonRemovableTransactionId(rel);
	for (i = 0; i < segs->nsegs; i++)
		table_live += segs->segs[i].row_count - segs->segs[i].deleted_count;
	target = lsm_compact_target(table_live);

	/*
	 * A level-0 pass (the worker's passes between its full ones, under a
	 * stream of small commits) looks only at the tail of the table that
	 * merging level 0 can touch: the segments from the first eligible
	 * small level-0 one on (a bulk load's large ones are not merged, and
	 * from the first of them a pass read every delete record of the table
	 * while writers waited at lsm.compact_l0_stop), and the run of small
	 * segments right before it that
	 * size-tiering would let into its group.  The delete records of the rest, which a pass
	 * reads in full otherwise, grow with every single-row UPDATE; they wait
	 * for the next full pass.
	 */
	if (level0_only)
	{
		int			first = -1;

		for (i = 0; i < segs->nsegs; i++)
		{
			if (segs->segs[i].max_rowid >= eligible_below || segs->segs[i].own_xact)
				break;
			if (segs->segs[i].level == 0 &&
				segs->segs[i].row_count < LSM_SMALL_SEGMENT_ROWS)
			{
				first = i;
				break;
			}
		}
		if (first < 0)
		{
			segs->nsegs = 0;	/* nothing to merge */
			from_rowid = 0;
		}
		else
		{
			int64		rest = 0;

			/*
			 * Walk back over the small segments size-tiering would let into
			 * the group: each holds no more live rows than those after it
			 */
			for (i = first; i < segs->nsegs; i++)
				rest += segs->segs[i].row_count - segs->segs[i].deleted_count;
			while (first > 0)
			{
				const LsmSegmentEntry *prev = &segs->segs[first - 1];
				int64		plive = prev->row_count - prev->deleted_count;

				if (plive >= LSM_SMALL_SEGMENT_ROWS || plive > rest)
					break;
				rest += plive;
				first--;
			}
			from_rowid = segs->segs[first].min_rowid;
			segs->segs += first;
			segs->nsegs -= first;
		}
	}
	if (segs->nsegs > 0)
		records = lsm_catalog_settled_deletes(storage_id, horizon, from_rowid,
											  &nrecords);
	else
	{
		records = NULL;
		nrecords = 0;
	}
	/* rows gone for good: settled delete records and persisted delete maps */
	{
		int			nmap;
		int64	   *maps = lsm_segments_delmaps(rel, segs, &nmap);

		settled = lsm_merge_rowids(records, nrecords, maps, nmap, &nsettled);
	}

	in = palloc0(sizeof(LsmCompactInput) * Max(segs->nsegs, 1));
	for (i = 0; i < segs->nsegs; i++)
	{
		const LsmSegmentEntry *seg = &segs->segs[i];
		LsmCompactInput *c;
		int64		live;

		if (seg->max_rowid >= eligible_below || seg->own_xact)
			break;
		c = &in[nin++];
		c->seg = seg;
		if (nin > 1)
		{
			int64		after = in[nin - 2].seg->max_rowid;
			int			k;

			for (k = 0; k < nspans; k++)
				if (spans[k].lo < seg->min_rowid && spans[k].hi > after)
					c->barrier = true;
		}
		c->settled = lsm_rowid_lower_bound(settled, nsettled, seg->max_rowid + 1) -
			lsm_rowid_lower_bound(settled, nsettled, seg->min_rowid);
		c->records = lsm_rowid_lower_bound(records, nrecords, seg->max_rowid + 1) -
			lsm_rowid_lower_bound(records, nrecords, seg->min_rowid);
		live = seg->row_count - c->settled;
		c->small = live < target / 2;

		/*
		 * Writers count level-0 segments of fewer than LSM_SMALL_SEGMENT_ROWS
		 * rows against lsm.compact_l0_stop, whatever the table's size.  One
		 * too large to merge under this table's target (an INSERT of
		 * thousands of rows into a small table) is promoted to level 1 by
		 * relocation, or writers would wait for a merge that never comes.
		 */
		c->promote = seg->level == 0 && seg->row_count < LSM_SMALL_SEGMENT_ROWS &&
			!c->small;
		c->rewrite = c->settled > 0 &&
			(double) c->settled >= (double) seg->row_count * delete_fraction;
		if (seg->schema_version != current_version &&
			(migrate_rows == LSM_MIGRATE_ALL || migrate_rows > 0))
		{
			c->rewrite = true;	/* migration */
			if (migrate_rows != LSM_MIGRATE_ALL)
				migrate_rows = Max(migrate_rows - live, 0);
		}
		if (seg->level == 0 && seg->row_count < LSM_SMALL_SEGMENT_ROWS)
			l0_count++;

		/*
		 * A segment to rewrite whose live rows are many more than the
		 * target (a bulk load's, or one written while the table was small)
		 * is rewritten a piece of the target's size per pass (not for
		 * `full`, which rewrites everything at once anyway, nor when
		 * lsm.compact migrates every row to the current schema version).
		 */
		if (c->rewrite && !full && live > target + target / 2 &&
			!(migrate_rows == LSM_MIGRATE_ALL && seg->schema_version != current_version))
			c->trim = target;
	}

	res->l0_segments = l0_count;

	/* 3. group neighbours and rewrite the groups worth it */
	{
		int64		tsegs = 0,
					trows = 0,
					tbytes = 0;

		for (i = 0; i < nin; i++)
		{
			tsegs++;
			trows += in[i].seg->row_count;
			tbytes += in[i].seg->total_bytes;
		}
		lsm_progress_totals(progress, tsegs, trows, tbytes);
	}
	lsm_progress_phase(progress, LSM_PHASE_REWRITING);
	lsm_read_state_init(&rs, rel, GetAccessStrategy(BAS_BULKREAD));
	lsm_block_init(&blk, cxt);
	gstart = 0;
	glive = 0;

	/*
	 * A background pass rewrites at most about the target's rows of
	 * large segments: the copies need new space while the originals stay
	 * until no snapshot can read them, so rewriting a whole table at once
	 * would double its file.  One at a time, each copy goes into the
	 * extents the previous one freed.  Merging level 0 is not limited.
	 */
	rewrite_budget = (wait_ms >= 0 && !full) ? target : -1;
	for (i = 0; i <= nin; i++)
	{
		int64		live = 0;
		bool		candidate = false;

		if (i < nin)
		{
			live = in[i].seg->row_count - in[i].settled;
			candidate = full || ((in[i].small || in[i].rewrite) && in[i].trim == 0);
		}
		/* close the group before a segment that cannot join it */
		if (i == nin || !candidate || in[i].barrier ||
			(!full && i > gstart && glive + live > target))
		{
			int			first = gstart;
			int64		rest = glive;

			/*
			 * Size-tiering: leave out a leading segment that holds more live
			 * rows than the rest of the group together (unless it needs a
			 * rewrite), so that a row is rewritten only when the data merged
			 * with it has at least doubled.  Without this, a trickle of
			 * small transactions would rewrite the same growing segment
			 * again and again.
			 */
			while (!full && i - first >= 2 && !in[first].rewrite)
			{
				int64		flive = in[first].seg->row_count - in[first].settled;

				rest -= flive;
				if (flive <= rest)
					break;
				first++;
			}
			if (lsm_group_worth_it(&in[first], i - first, l0_count,
								   res->l0_trigger, full) &&
				(rewrite_budget < 0 || rewrite_budget > 0 ||
				 !lsm_group_rewrites_large(&in[first], i - first, target)))
			{
				int			k;

				if (rewrite_budget > 0 &&
					lsm_group_rewrites_large(&in[first], i - first, target))
				{
					for (k = first; k < i; k++)
						rewrite_budget -= in[k].seg->row_count;
					rewrite_budget = Max(rewrite_budget, 0);
				}

				lsm_compact_group(rel, &rs, &blk, storage_id, &in[first],
								  i - first, settled, nsettled,
								  records, nrecords, target,
								  &dropped, &ndropped, &dropped_cap, res,
								  progress);
				for (k = first; k < i; k++)
				{
					in[k].done = true;
					if (in[k].seg->schema_version != current_version)
						res->rows_migrated += in[k].written;
				}
			}
			gstart = candidate ? i : i + 1;
			glive = 0;
		}
		glive += live;
	}

	/*
	 * Trim the large segments to rewrite, a piece each, within the same
	 * budget (a manual pass trims every one of them once).
	 */
	for (i = 0; i < nin; i++)
	{
		if (in[i].trim == 0 || in[i].done || rewrite_budget == 0)
			continue;
		lsm_compact_group(rel, &rs, &blk, storage_id, &in[i], 1,
						  settled, nsettled, records, nrecords, target,
						  &dropped, &ndropped, &dropped_cap, res, progress);
		in[i].done = true;
		if (in[i].seg->schema_version != current_version)
			res->rows_migrated += in[i].written;
		if (rewrite_budget > 0)
			rewrite_budget = Max(rewrite_budget - in[i].trim, 0);
	}

	/*
	 * Segments left as they are fold their settled deletes into their map.
	 * A relocation rewrites the segment's whole map, so the background
	 * worker waits until a segment has a batch worth it (1% of its rows, or
	 * LSM_RELOCATE_BATCH records): under a steady stream of single-row
	 * UPDATEs it would otherwise rewrite large maps on every pass.  Level-0
	 * segments to promote are relocated whatever their deletes.
	 */
	for (i = 0; i < nin; i++)
	{
		if (!in[i].done &&
			(in[i].promote ||
			 (in[i].records > 0 &&
			  (wait_ms < 0 || in[i].records >= LSM_RELOCATE_BATCH ||
			   in[i].records * 100 >= in[i].seg->row_count))))
			lsm_compact_relocate(rel, storage_id, &in[i], records, nrecords,
								 &dropped, &ndropped, &dropped_cap, res,
								 progress);
	}

	/* 4. forget the dropped rows' delete records; advance the watermark */
	lsm_progress_phase(progress, LSM_PHASE_INSTALLING);
	if (res->segments_in > 0)
		lsm_meta_set_flag(rel, LSM_META_HAS_RETIRED);
	if (ndropped > 1)
		qsort(dropped, ndropped, sizeof(int64), lsm_rowid_cmp);
	if (ndropped > 0)
		res->deletes_folded = lsm_catalog_remove_deletes(storage_id, dropped,
														 ndropped, horizon);
	if (res->segments_in > 0 || watermark > state.rowid_watermark)
		lsm_catalog_record_compaction(storage_id, watermark,
									  res->rows_in - res->rows_out);
	UnregisterSnapshot(snapshot);
	CommandCounterIncrement();
	lsm_note_flush();

	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
}

/*
 * lsm.compact(rel regclass, full boolean) returns one row describing the
 * pass.  The caller must own the table; not inside a transaction block,
 * since the pass waits for the table's writers.
 */
Datum
lsm_compact(PG_FUNCTION_ARGS)
{
	Oid			relid;
	bool		full;
	Relation	rel;
	TupleDesc	tupdesc;
	Datum		values[9];
	bool		nulls[9] = {false, false, false, false, false, false, false, false, false};
	LsmCompactResult res;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("full must not be NULL")));
	full = PG_GETARG_BOOL(1);
	if (IsTransactionBlock())
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("lsm.compact cannot run inside a transaction block"),
				 errdetail("A compaction waits for the table's writers to finish.")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	rel = lsm_open_table_arg(fcinfo, AccessShareLock, LSM_ARG_OWNER);
	relid = RelationGetRelid(rel);
	if (lsm_memtable_buffered_rows(rel) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("cannot compact \"%s\" while this transaction has unflushed rows in it",
						RelationGetRelationName(rel))));
	relation_close(rel, AccessShareLock);

	/* the real lock: excludes other compactions, VACUUM and DDL */
	rel = table_open(relid, ShareUpdateExclusiveLock);
	lsm_compact_notice_manual();
	lsm_compact_relation(rel, full, -1, LSM_MIGRATE_ALL, false, &res);
	table_close(rel, ShareUpdateExclusiveLock);

	values[0] = Int64GetDatum(res.segments_in);
	values[1] = Int64GetDatum(res.segments_out);
	values[2] = Int64GetDatum(res.rows_in);
	values[3] = Int64GetDatum(res.rows_out);
	values[4] = Int64GetDatum(res.bytes_in);
	values[5] = Int64GetDatum(res.bytes_out);
	values[6] = Int64GetDatum(res.deletes_folded);
	values[7] = Int64GetDatum(res.rows_migrated);
	values[8] = Int64GetDatum(res.versions_evicted);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
