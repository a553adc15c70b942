/*-------------------------------------------------------------------------
 *
 * lsm_scan.c
 *	  The ordered row cursor of an lsm table and the scans built on it:
 *	  sequential (both directions), TID range, ANALYZE sampling,
 *	  TABLESAMPLE and bitmap heap scans.
 *
 * NOTES
 *	  At scan start we list the segments the snapshot sees (lsm catalog)
 *	  and pin this backend's write buffers of the table.  Segments and
 *	  buffer runs never overlap in rowid range (see lsm_memtable.c), so
 *	  sorting these "sources" by first rowid and walking each in order
 *	  yields every row in rowid order, i.e. in TID order.  That is what lets
 *	  TID-range scans, BRIN summarisation, CREATE INDEX CONCURRENTLY's
 *	  validation merge and the virtual block space (rowid / 291) behave as
 *	  they do on heap.
 *
 *	  A flush during the scan (e.g. INSERT INTO t SELECT FROM t) writes a
 *	  new segment the scan does not list, while the detached buffer stays
 *	  pinned, so the scan sees each row exactly once; per-row command ids
 *	  hide the rows the current command wrote.
 *
 *	  Virtual blocks: ANALYZE, TABLESAMPLE and bitmap scans address rows by
 *	  TID block number.  A block here is the rowid range [b*291, b*291+290];
 *	  we seek the cursor to its first rowid and walk within it.
 *
 *	  Parallel sequential scans (and parallel index builds) hand out runs of
 *	  segment blocks through a shared counter; see "parallel scans" at the
 *	  end of this file.  Each participant returns its rows in rowid order,
 *	  the scan as a whole does not.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relscan.h"
#include "access/parallel.h"
#include "storage/dsm.h"
#include "access/tsmapi.h"
#include "access/xact.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "nodes/execnodes.h"
#include "nodes/tidbitmap.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "portability/instr_time.h"
#include "storage/predicate.h"
#include "storage/lsm_storage.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "scan/lsm_scan.h"

typedef struct LsmSource
{
	int64		first_rowid;
	int64		last_rowid;
	int			seg;			/* index into segs, or -1 for a buffer run */
	LsmMemRun	run;			/* copy: rows appended later are not ours */
	TupleDesc	rundesc;
} LsmSource;

typedef struct LsmScanDescData
{
	TableScanDescData base;
	MemoryContext scxt;
	MemoryContext srccxt;		/* the current listing (reset by rescans) */
	LsmReadState rs;
	LsmSegmentList *segs;
	LsmSegmentHandle **handles;
	LsmMemBuffer **bufs;
	int			nbufs;
	LsmSource  *src;
	int			nsrc;
	LsmDecodedBlock blk;
	bool		own_snapshot;
	const int64 *deleted;	/* rowids whose delete the snapshot sees */
	int			ndeleted;
	int			del_hint;		/* where the last lookup ended */

	/* cursor position: row r of unit (source s, block b) */
	bool		inited;
	int			s;
	int			b;
	int			r;
	int			unit_rows;		/* rows of the loaded unit, -1 if not loaded */
	bool		on_row;			/* positioned on a valid row */

	/* rowid restriction (TID range, virtual block) */
	int64		lo;
	int64		hi;

	/* block filter (zone maps) and what it and the delete set removed */
	LsmBlockFilter filter;
	void	   *filter_arg;
	int			src_blocks_skipped; /* in the current source */
	LsmScanCounters counters;

	/* batches (lsm_scan_next_batch) */
	bool		rows_only;		/* the caller reads no values: see
								 * lsm_scan_set_rows_only */
	int		   *sel;			/* visible row indexes of the batch */
	int			sel_cap;
	int		   *iota;			/* 0, 1, 2, ... (sel_cap): runs of sel */
	Datum	  **run_values;		/* buffered rows deformed, [attr][row] */
	bool	  **run_isnull;
	TupleTableSlot *run_slot;

	/* parallel scans: see "parallel scans" below */
	int64	   *unit_first;		/* per source (and one past): first unit */
	int64		nunits;			/* work units of all segments */
	int			claim_range;	/* range units are claimed from, or -1 */
	int			claim_s;		/* source of the claimed blocks, or -1 */
	int			claim_b0;		/* claimed blocks: [claim_b0, claim_b1) */
	int			claim_b1;
	bool		claim_runs;		/* units all taken: own buffer runs next */
	bool		claim_done;		/* nothing left for this participant */
	bool		tail_to_leader; /* see lsm_scan_set_tail_to_leader */
	int64		claims;			/* units this participant claimed */
	instr_time	claim_start;	/* when it claimed its first unit */
	dsm_segment *shared_seg;	/* the leader's listing, shared */
	struct LsmSharedCounters *shared_counters;	/* at its head, or NULL */
	LsmScanCounters folded;		/* shared counts of earlier parallel runs */

	/* virtual-block scans */
	BlockNumber nvblocks;
	BlockNumber next_vblock;
	BlockNumber cur_vblock;
	OffsetNumber offsets[MaxHeapTuplesPerPage];
	int			noffsets;
	int			next_offset;
	bool		lossy;
} LsmScanDescData;

/*
 * What all participants of a parallel scan counted for EXPLAIN ANALYZE,
 * kept at the head of the leader's listing (see "parallel scans" below):
 * the leader's EXPLAIN runs after the workers have exited, and while its
 * own scan still holds the listing.  Per segment of the listing: its
 * blocks (set by whoever opens it), and the blocks the zone filter looked
 * at and skipped, whoever claimed them; so a segment counts as skipped
 * only if every participant skipped its part.
 */
typedef struct LsmSharedSegCount
{
	pg_atomic_uint32 nblocks;
	pg_atomic_uint32 checked;
	pg_atomic_uint32 skipped;
} LsmSharedSegCount;

typedef struct LsmSharedCounters
{
	pg_atomic_uint64 rows_deleted;	/* the workers' (added as they end) */
	LsmSharedSegCount seg[FLEXIBLE_ARRAY_MEMBER];
} LsmSharedCounters;

#define LSM_SHARED_COUNTERS_SIZE(nsegs) \
	MAXALIGN(offsetof(LsmSharedCounters, seg) + sizeof(LsmSharedSegCount) * (nsegs))

static void lsm_parallel_setup(LsmScanDesc scan);
static const int64 *lsm_scan_deleted_set_with_maps(Relation rel, uint64 storage_id,
													Snapshot snapshot,
													const LsmSegmentList *segs,
													int *n);
static bool lsm_parallel_claimed(LsmScanDesc scan);
static void lsm_parallel_count_block(LsmScanDesc scan, int s, bool skipped);
static void lsm_parallel_get_counters(LsmScanDesc scan, LsmScanCounters *c);
static void lsm_parallel_fold_counters(LsmScanDesc scan);
static bool lsm_parallel_take_listing(LsmScanDesc scan);
static void lsm_parallel_publish_listing(LsmScanDesc scan);

static int
lsm_source_cmp(const void *a, const void *b)
{
	const LsmSource *x = a;
	const LsmSource *y = b;

	if (x->first_rowid < y->first_rowid)
		return -1;
	return x->first_rowid > y->first_rowid ? 1 : 0;
}

/* (Re)build the source list: visible segments plus pinned buffer runs. */
static void
lsm_scan_load_sources(LsmScanDesc scan)
{
	Relation	rel = scan->base.rs_rd;
	MemoryContext old;
	uint64		storage_id;
	int			n = 0;
	int			i,
				r;

	/* the listing lives until the next rescan: its own context */
	if (scan->srccxt == NULL)
		scan->srccxt = AllocSetContextCreate(scan->scxt, "lsm scan sources",
											 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(scan->srccxt);
	storage_id = lsm_relation_storage_id(rel);
	/*
	 * The segments and the rows deleted from them (with the rows of
	 * persisted delete maps: gone for every snapshot).  A parallel worker
	 * takes the leader's listing if it has been shared.
	 */
	if (!(scan->base.rs_parallel != NULL && IsParallelWorker() &&
		  lsm_parallel_take_listing(scan)))
	{
		scan->segs = lsm_catalog_segments(storage_id, scan->base.rs_snapshot);
		scan->deleted = lsm_scan_deleted_set_with_maps(rel, storage_id,
													   scan->base.rs_snapshot,
													   scan->segs, &scan->ndeleted);
		if (scan->base.rs_parallel != NULL && !IsParallelWorker())
			lsm_parallel_publish_listing(scan);
	}
	scan->del_hint = 0;
	scan->handles = palloc0(sizeof(LsmSegmentHandle *) * Max(scan->segs->nsegs, 1));
	scan->nbufs = lsm_memtable_pin(rel, &scan->bufs);

	for (i = 0; i < scan->nbufs; i++)
		n += scan->bufs[i]->nruns;
	scan->src = palloc(sizeof(LsmSource) * Max(scan->segs->nsegs + n, 1));
	n = 0;
	for (i = 0; i < scan->segs->nsegs; i++)
	{
		LsmSource  *src = &scan->src[n++];

		src->first_rowid = scan->segs->segs[i].min_rowid;
		src->last_rowid = scan->segs->segs[i].max_rowid;
		src->seg = i;
		memset(&src->run, 0, sizeof(LsmMemRun));
	}
	for (i = 0; i < scan->nbufs; i++)
	{
		for (r = 0; r < scan->bufs[i]->nruns; r++)
		{
			LsmMemRun  *run = &scan->bufs[i]->runs[r];
			LsmSource  *src;

			if (run->nrows == 0)
				continue;
			src = &scan->src[n++];
			src->first_rowid = run->rows[0].rowid;
			src->last_rowid = run->rows[run->nrows - 1].rowid;
			src->seg = -1;
			src->run = *run;
			src->rundesc = scan->bufs[i]->tupdesc;
		}
	}
	scan->nsrc = n;
	qsort(scan->src, n, sizeof(LsmSource), lsm_source_cmp);
	scan->nvblocks = lsm_virtual_nblocks(rel);
	MemoryContextSwitchTo(old);
}

static void
lsm_scan_release_sources(LsmScanDesc scan)
{
	int			i;

	if (scan->bufs)
		lsm_memtable_unpin(scan->bufs, scan->nbufs);
	scan->bufs = NULL;
	scan->nbufs = 0;
	if (scan->handles && scan->segs)
	{
		for (i = 0; i < scan->segs->nsegs; i++)
			lsm_segment_close(scan->handles[i]);
	}
	scan->handles = NULL;
	scan->segs = NULL;
	scan->src = NULL;
	scan->nsrc = 0;
	scan->blk.valid = false;
	scan->deleted = NULL;
	scan->ndeleted = 0;
	if (scan->srccxt)
		MemoryContextReset(scan->srccxt);
}

static void
lsm_scan_reset_position(LsmScanDesc scan)
{
	scan->inited = false;
	scan->s = 0;
	scan->b = 0;
	scan->r = -1;
	scan->unit_rows = -1;
	scan->on_row = false;
	scan->claim_range = -1;
	scan->claim_s = -1;
	scan->claim_b0 = scan->claim_b1 = 0;
	scan->claim_runs = false;
	scan->claim_done = false;
	scan->claims = 0;
}

TableScanDesc
lsm_scan_begin(Relation rel, Snapshot snapshot, int nkeys, ScanKey key,
			   ParallelTableScanDesc pscan, uint32 flags)
{
	MemoryContext scxt;
	MemoryContext old;
	LsmScanDesc scan;

	scxt = AllocSetContextCreate(CurrentMemoryContext, "lsm scan",
								 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(scxt);
	scan = palloc0(sizeof(LsmScanDescData));
	scan->scxt = scxt;
	scan->base.rs_rd = rel;
	scan->base.rs_snapshot = snapshot;
	scan->base.rs_nkeys = nkeys;
	scan->base.rs_key = NULL;
	scan->base.rs_flags = flags;
	scan->base.rs_parallel = pscan;
	if (snapshot == NULL)
	{
		/* ANALYZE passes none */
		scan->base.rs_snapshot = RegisterSnapshot(GetLatestSnapshot());
		scan->own_snapshot = true;
	}
	lsm_read_state_init(&scan->rs, rel, NULL);
	lsm_block_init(&scan->blk, scxt);
	scan->lo = 0;
	scan->hi = PG_INT64_MAX;
	lsm_scan_reset_position(scan);

	/* TID range, bitmap and sample scans address rows: never parallel */
	if (pscan != NULL && !(flags & SO_TYPE_SEQSCAN))
		elog(ERROR, "parallel scans of lsm relations must be sequential scans");
	lsm_scan_load_sources(scan);
	if (pscan != NULL)
		lsm_parallel_setup(scan);

	if (flags & SO_TYPE_SEQSCAN)
		pgstat_count_heap_scan(rel);
	if (scan->base.rs_snapshot->snapshot_type == SNAPSHOT_MVCC)
		lsm_predicate_read(rel, scan->base.rs_snapshot);
	MemoryContextSwitchTo(old);
	return (TableScanDesc) scan;
}

void
lsm_scan_end(TableScanDesc sscan)
{
	LsmScanDesc scan = (LsmScanDesc) sscan;

	lsm_scan_release_sources(scan);
	if (scan->shared_counters && IsParallelWorker())
		pg_atomic_fetch_add_u64(&scan->shared_counters->rows_deleted,
								(uint64) scan->counters.rows_deleted);
	if (scan->shared_seg)
		dsm_detach(scan->shared_seg);
	if (scan->run_slot)
		ExecDropSingleTupleTableSlot(scan->run_slot);
	if (scan->own_snapshot)
		UnregisterSnapshot(scan->base.rs_snapshot);
	else if (scan->base.rs_flags & SO_TEMP_SNAPSHOT)
		UnregisterSnapshot(scan->base.rs_snapshot);
	MemoryContextDelete(scan->scxt);
}

void
lsm_scan_rescan(TableScanDesc sscan, ScanKey key, bool set_params,
				bool allow_strat, bool allow_sync, bool allow_pagemode)
{
	LsmScanDesc scan = (LsmScanDesc) sscan;

	if (set_params)
	{
		if (allow_strat)
			scan->base.rs_flags |= SO_ALLOW_STRAT;
		else
			scan->base.rs_flags &= ~SO_ALLOW_STRAT;
		if (allow_pagemode)
			scan->base.rs_flags |= SO_ALLOW_PAGEMODE;
		else
			scan->base.rs_flags &= ~SO_ALLOW_PAGEMODE;
	}
	/*
	 * Our own writes since the scan began must become visible.  A parallel
	 * scan keeps its list: its participants must agree on it, and nothing
	 * can be written in parallel mode.
	 */
	if (scan->base.rs_parallel == NULL)
	{
		lsm_scan_release_sources(scan);
		lsm_scan_load_sources(scan);
	}
	else if (scan->shared_counters && !IsParallelWorker())
		lsm_parallel_fold_counters(scan);
	scan->lo = 0;
	scan->hi = PG_INT64_MAX;
	lsm_scan_reset_position(scan);
}

/* ---- the cursor ---- */

static int
lsm_source_nunits(LsmScanDesc scan, int s)
{
	LsmSource  *src = &scan->src[s];
	LsmSegmentHandle *h;

	if (src->seg < 0)
		return 1;
	h = scan->handles[src->seg];
	if (h == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(scan->scxt);

		h = lsm_segment_open(&scan->rs, &scan->segs->segs[src->seg]);
		scan->handles[src->seg] = h;
		MemoryContextSwitchTo(old);
	}
	return (int) h->nblocks;
}

/* Does unit (s, b) hold any rowid of [lo, hi]?  Reads no data. */
static bool
lsm_unit_in_range(LsmScanDesc scan, int s, int b)
{
	LsmSource  *src = &scan->src[s];
	const LsmBlockInfo *bi;

	if (src->last_rowid < scan->lo || src->first_rowid > scan->hi)
		return false;
	if (src->seg < 0)
		return true;
	bi = lsm_handle_block(scan->handles[src->seg], b);
	return !(bi->last_rowid < scan->lo || bi->first_rowid > scan->hi);
}

/*
 * Does the block filter rule out unit (s, b)?  Only segment blocks are
 * filtered (buffered rows have no zone maps).  Counts what it skips.
 */
static bool
lsm_unit_filtered(LsmScanDesc scan, int s, int b)
{
	LsmSource  *src = &scan->src[s];
	LsmSegmentHandle *h;
	const LsmBlockInfo *bi;

	if (scan->filter == NULL || src->seg < 0)
		return false;
	h = scan->handles[src->seg];
	if (h->map_gen != scan->rs.desc_gen)
		lsm_segment_remap(&scan->rs, h);
	bi = lsm_handle_block(h, b);
	scan->counters.blocks++;
	if (scan->filter(scan->filter_arg, h, bi))
	{
		if (scan->shared_counters)
			lsm_parallel_count_block(scan, s, false);
		return false;
	}
	scan->counters.blocks_skipped++;
	scan->src_blocks_skipped++;
	if (scan->shared_counters)
		lsm_parallel_count_block(scan, s, true);
	return true;
}

/* The cursor leaves source s going forward: count a fully skipped segment. */
static void
lsm_source_done(LsmScanDesc scan)
{
	LsmSource  *src = &scan->src[scan->s];

	/* a parallel scan counts segments in the shared counters */
	if (src->seg >= 0 && scan->shared_counters == NULL)
	{
		scan->counters.segments++;
		if (scan->filter != NULL &&
			scan->src_blocks_skipped == lsm_source_nunits(scan, scan->s))
			scan->counters.segments_skipped++;
	}
	scan->src_blocks_skipped = 0;
}

static void
lsm_unit_load(LsmScanDesc scan)
{
	LsmSource  *src = &scan->src[scan->s];

	if (src->seg < 0)
		scan->unit_rows = src->run.nrows;
	else
	{
		lsm_block_decode(&scan->rs, scan->handles[src->seg], scan->b, &scan->blk);
		scan->unit_rows = (int) scan->blk.nrows;
	}
}

static inline int64
lsm_cursor_rowid(LsmScanDesc scan)
{
	LsmSource  *src = &scan->src[scan->s];

	return src->seg < 0 ? src->run.rows[scan->r].rowid : scan->blk.rowids[scan->r];
}

/*
 * The delete set a scan applies (merge-on-read).  SnapshotAny and
 * non-vacuumable snapshots see deleted rows; a dirty snapshot sees rows
 * whose deleter is still running.
 */
const int64 *
lsm_scan_deleted_set(uint64 storage_id, Snapshot snapshot, int *n)
{
	*n = 0;
	if (snapshot->snapshot_type == SNAPSHOT_ANY ||
		snapshot->snapshot_type == SNAPSHOT_NON_VACUUMABLE)
		return NULL;
	if (snapshot->snapshot_type == SNAPSHOT_DIRTY)
		snapshot = SnapshotSelf;
	return lsm_deleted_rowids(storage_id, snapshot, n);
}

/* As lsm_scan_deleted_set, with the delete maps of `segs` merged in. */
static const int64 *
lsm_scan_deleted_set_with_maps(Relation rel, uint64 storage_id,
							   Snapshot snapshot, const LsmSegmentList *segs,
							   int *n)
{
	if (snapshot->snapshot_type == SNAPSHOT_ANY ||
		snapshot->snapshot_type == SNAPSHOT_NON_VACUUMABLE)
		return lsm_segments_delmaps(rel, segs, n);	/* no delete records */
	if (snapshot->snapshot_type == SNAPSHOT_DIRTY)
		snapshot = SnapshotSelf;
	return lsm_deleted_rowids_with_maps(rel, storage_id, snapshot, segs, n);
}

/*
 * Is rowid in the scan's delete set?  Rows mostly come in ascending order,
 * so start from where the last lookup ended and step forward a little
 * before falling back to binary search.
 */
static inline bool
lsm_scan_is_deleted(LsmScanDesc scan, int64 rowid)
{
	const int64 *set = scan->deleted;
	int			n = scan->ndeleted;
	int			i = scan->del_hint;
	int			steps;

	if (set[n - 1] < rowid)
	{
		scan->del_hint = n;
		return false;
	}
	if (i >= n || (i > 0 && set[i - 1] >= rowid))
	{
		/* moved backwards or past the end: search */
		int			lo = lsm_rowid_lower_bound(set, n, rowid);

		scan->del_hint = lo;
		return lo < n && set[lo] == rowid;
	}
	for (steps = 0; i < n && set[i] < rowid; steps++, i++)
	{
		if (steps == 8)
		{
			scan->del_hint = n;		/* force a search */
			return lsm_scan_is_deleted(scan, rowid);
		}
	}
	scan->del_hint = i;
	return i < n && set[i] == rowid;
}

static inline bool
lsm_cursor_visible(LsmScanDesc scan)
{
	LsmSource  *src = &scan->src[scan->s];
	Snapshot	snap = scan->base.rs_snapshot;

	if (scan->ndeleted > 0 && lsm_scan_is_deleted(scan, lsm_cursor_rowid(scan)))
	{
		scan->counters.rows_deleted++;
		return false;
	}
	if (src->seg < 0)
		return lsm_row_visible_cid(snap, true, src->run.rows[scan->r].cid);
	if (scan->blk.cids == NULL)
		return true;
	return lsm_row_visible_cid(snap, true, (CommandId) scan->blk.cids[scan->r]);
}

static void
lsm_cursor_fill(LsmScanDesc scan, TupleTableSlot *slot)
{
	LsmSource  *src = &scan->src[scan->s];

	if (slot->tts_tupleDescriptor != scan->rs.tupdesc)
		lsm_read_state_use_desc(&scan->rs, slot->tts_tupleDescriptor);
	if (src->seg < 0)
		lsm_slot_from_memrow(&scan->rs, &src->run.rows[scan->r], src->rundesc, slot);
	else
	{
		/* re-decodes only if the descriptor changed since the block was read */
		lsm_block_decode(&scan->rs, scan->handles[src->seg], scan->b, &scan->blk);
		lsm_slot_from_block(&scan->rs, &scan->blk, scan->r, slot);
	}
}

/* Move to the next (or previous) row; false at the end. */
static bool
lsm_cursor_step(LsmScanDesc scan, ScanDirection dir)
{
	if (ScanDirectionIsForward(dir))
	{
		if (!scan->inited)
		{
			scan->inited = true;
			scan->s = 0;
			scan->b = 0;
			scan->r = -1;
			scan->unit_rows = -1;
		}
		for (;;)
		{
			CHECK_FOR_INTERRUPTS();
			if (scan->s >= scan->nsrc)
			{
				scan->s = scan->nsrc;
				scan->on_row = false;
				return false;
			}
			if (scan->unit_rows < 0)
			{
				if (scan->base.rs_parallel != NULL && !lsm_parallel_claimed(scan))
					continue;
				if (scan->b >= lsm_source_nunits(scan, scan->s))
				{
					lsm_source_done(scan);
					scan->s++;
					scan->b = 0;
					scan->r = -1;
					continue;
				}
				if (!lsm_unit_in_range(scan, scan->s, scan->b) ||
					lsm_unit_filtered(scan, scan->s, scan->b))
				{
					scan->b++;
					continue;
				}
				lsm_unit_load(scan);
			}
			if (scan->r + 1 < scan->unit_rows)
			{
				scan->r++;
				scan->on_row = true;
				return true;
			}
			scan->b++;
			scan->r = -1;
			scan->unit_rows = -1;
		}
	}
	else
	{
		if (!scan->inited || scan->s >= scan->nsrc)
		{
			scan->inited = true;
			scan->s = scan->nsrc - 1;
			scan->b = scan->s >= 0 ? lsm_source_nunits(scan, scan->s) - 1 : 0;
			scan->r = INT_MAX;
			scan->unit_rows = -1;
		}
		for (;;)
		{
			CHECK_FOR_INTERRUPTS();
			if (scan->s < 0)
			{
				scan->on_row = false;
				return false;
			}
			if (scan->unit_rows < 0)
			{
				if (scan->b < 0)
				{
					scan->s--;
					if (scan->s >= 0)
						scan->b = lsm_source_nunits(scan, scan->s) - 1;
					scan->r = INT_MAX;
					continue;
				}
				if (!lsm_unit_in_range(scan, scan->s, scan->b) ||
					lsm_unit_filtered(scan, scan->s, scan->b))
				{
					scan->b--;
					continue;
				}
				lsm_unit_load(scan);
				if (scan->r > scan->unit_rows)
					scan->r = scan->unit_rows;
			}
			if (scan->r - 1 >= 0)
			{
				scan->r--;
				scan->on_row = true;
				return true;
			}
			scan->b--;
			scan->r = INT_MAX;
			scan->unit_rows = -1;
		}
	}
}

/* Position the cursor just before the first row with rowid >= target. */
static void
lsm_cursor_seek(LsmScanDesc scan, int64 target)
{
	int			lo = 0,
				hi = scan->nsrc;

	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (scan->src[mid].last_rowid < target)
			lo = mid + 1;
		else
			hi = mid;
	}
	scan->inited = true;
	scan->on_row = false;
	scan->s = lo;
	scan->b = 0;
	scan->r = -1;
	scan->unit_rows = -1;
	if (lo >= scan->nsrc)
		return;
	if (scan->src[lo].seg >= 0)
	{
		lsm_source_nunits(scan, lo);
		scan->b = lsm_segment_find_block(scan->handles[scan->src[lo].seg], target);
		if (scan->b >= lsm_source_nunits(scan, lo))
			return;
		lsm_unit_load(scan);
		scan->r = lsm_block_find_rowid(&scan->blk, target, false) - 1;
	}
	else
	{
		LsmMemRun  *run = &scan->src[lo].run;
		int			l = 0,
					h = run->nrows;

		while (l < h)
		{
			int			mid = l + (h - l) / 2;

			if (run->rows[mid].rowid < target)
				l = mid + 1;
			else
				h = mid;
		}
		lsm_unit_load(scan);
		scan->r = l - 1;
	}
}

/* Next visible row in [lo, hi] in the given direction. */
static bool
lsm_cursor_next_visible(LsmScanDesc scan, ScanDirection dir, TupleTableSlot *slot)
{
	/* decode for the slot's descriptor before the cursor loads a block */
	lsm_read_state_use_desc(&scan->rs, slot->tts_tupleDescriptor);
	while (lsm_cursor_step(scan, dir))
	{
		int64		rowid = lsm_cursor_rowid(scan);

		if (rowid > scan->hi)
		{
			if (ScanDirectionIsForward(dir))
				break;
			continue;
		}
		if (rowid < scan->lo)
		{
			if (ScanDirectionIsBackward(dir))
				break;
			continue;
		}
		if (!lsm_cursor_visible(scan))
			continue;
		lsm_cursor_fill(scan, slot);
		return true;
	}
	ExecClearTuple(slot);
	return false;
}

/* ---- what the custom scan adds: projection, block filter, counters ---- */

/*
 * Decode only the attributes in attrs (an empty set: none).  Slots the
 * scan fills then hold NULL in every other attribute.
 */
void
lsm_scan_set_columns(TableScanDesc sscan, Bitmapset *attrs)
{
	LsmScanDesc scan = (LsmScanDesc) sscan;
	MemoryContext old = MemoryContextSwitchTo(scan->scxt);

	if (bms_num_members(attrs) >= RelationGetDescr(scan->base.rs_rd)->natts)
		lsm_read_state_set_columns(&scan->rs, NULL);	/* every one */
	else
	{
		/* attribute 0 is never decoded; it keeps an empty set non-NULL */
		lsm_read_state_set_columns(&scan->rs,
								   bms_add_member(bms_copy(attrs), 0));
	}
	scan->blk.valid = false;
	MemoryContextSwitchTo(old);
}

/*
 * The caller scans a parallel scan's share to the end in one go: an LSM
 * Aggregate's leader computes its partial result before it reads the
 * workers'.  The workers may then leave it the last units (see "the tail"
 * under "parallel scans").  Call before the first row, in the leader and in
 * the workers alike.
 */
void
lsm_scan_set_tail_to_leader(TableScanDesc sscan)
{
	LsmScanDesc scan = (LsmScanDesc) sscan;

	scan->tail_to_leader = true;
}

/*
 * The caller of lsm_scan_next_batch reads no values of the batches, only
 * how many rows they select (count(*) without quals): a batch may then come
 * with values, isnull and sel all NULL.  Call after lsm_scan_set_columns
 * with an empty set.
 */
void
lsm_scan_set_rows_only(TableScanDesc sscan)
{
	LsmScanDesc scan = (LsmScanDesc) sscan;

	scan->rows_only = true;
}

/*
 * Numeric attributes the caller of lsm_scan_next_batch reads through
 * LsmBatch.scaled when a block offers it: no Datums are built for those
 * blocks (lsm_read_state_set_scaled).
 */
void
lsm_scan_set_scaled_columns(TableScanDesc sscan, Bitmapset *attrs)
{
	LsmScanDesc scan = (LsmScanDesc) sscan;

	lsm_read_state_set_scaled(&scan->rs, attrs);
	scan->blk.valid = false;
}

/*
 * Install a block filter: before a segment block is read, filter(arg, h,
 * bi) is asked whether any row of it can be wanted; false skips the block
 * without reading it.  NULL removes the filter.
 */
void
lsm_scan_set_filter(TableScanDesc sscan, LsmBlockFilter filter, void *arg)
{
	LsmScanDesc scan = (LsmScanDesc) sscan;

	scan->filter = filter;
	scan->filter_arg = arg;
}

/* Does the delete set hold any rowid in [lo, hi]? */
static bool
lsm_scan_deletes_in(LsmScanDesc scan, int64 lo, int64 hi)
{
	int			l = lsm_rowid_lower_bound(scan->deleted, scan->ndeleted, lo);

	return l < scan->ndeleted && scan->deleted[l] <= hi;
}

static int *
lsm_scan_sel(LsmScanDesc scan, int n)
{
	if (n > scan->sel_cap)
	{
		MemoryContext old = MemoryContextSwitchTo(scan->scxt);
		int			i;

		if (scan->sel)
		{
			pfree(scan->sel);
			pfree(scan->iota);
		}
		scan->sel_cap = Max(n, 1024);
		scan->sel = palloc(sizeof(int) * scan->sel_cap);
		scan->iota = palloc(sizeof(int) * scan->sel_cap);
		for (i = 0; i < scan->sel_cap; i++)
			scan->iota[i] = i;
		MemoryContextSwitchTo(old);
	}
	return scan->sel;
}

#define LSM_RUN_BATCH_ROWS	1024

/* pgstat_count_heap_getnext for a whole batch */
static inline void
lsm_scan_count_returned(LsmScanDesc scan, int n)
{
	Relation	rel = scan->base.rs_rd;

	if (pgstat_should_count_relation(rel))
		rel->pgstat_info->t_counts.t_tuples_returned += n;
}

/*
 * Deform rows [from, to) of a buffer run into the scan's column arrays,
 * keeping the visible ones.  Returns how many were kept.
 */
static int
lsm_scan_run_batch(LsmScanDesc scan, LsmSource *src, int from, int to,
				   LsmBatch *batch)
{
	TupleDesc	desc = scan->rs.tupdesc;
	Snapshot	snap = scan->base.rs_snapshot;
	int			natts = desc->natts;
	int			n = 0;
	int			i,
				a;

	if (scan->run_values == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(scan->scxt);

		scan->run_values = palloc(sizeof(Datum *) * Max(natts, 1));
		scan->run_isnull = palloc(sizeof(bool *) * Max(natts, 1));
		for (a = 0; a < natts; a++)
		{
			scan->run_values[a] = palloc(sizeof(Datum) * LSM_RUN_BATCH_ROWS);
			scan->run_isnull[a] = palloc(sizeof(bool) * LSM_RUN_BATCH_ROWS);
		}
		scan->run_slot = MakeSingleTupleTableSlot(desc, &TTSOpsVirtual);
		MemoryContextSwitchTo(old);
	}
	for (i = from; i < to; i++)
	{
		LsmMemRow  *row = &src->run.rows[i];

		if (scan->ndeleted > 0 && lsm_scan_is_deleted(scan, row->rowid))
		{
			scan->counters.rows_deleted++;
			continue;
		}
		if (!lsm_row_visible_cid(snap, true, row->cid))
			continue;
		lsm_slot_from_memrow(&scan->rs, row, src->rundesc, scan->run_slot);
		for (a = 0; a < natts; a++)
		{
			scan->run_values[a][n] = scan->run_slot->tts_values[a];
			scan->run_isnull[a][n] = scan->run_slot->tts_isnull[a];
		}
		n++;
	}
	batch->nrows = n;
	batch->nsel = n;
	batch->sel = NULL;
	batch->values = scan->run_values;
	batch->isnull = scan->run_isnull;
	batch->no_nulls = NULL;
	batch->scaled = NULL;
	batch->scale = NULL;
	return n;
}

/* Position of the first rowid >= `rowid` in the delete set. */
static int
lsm_scan_deleted_from(LsmScanDesc scan, int64 rowid)
{
	return lsm_rowid_lower_bound(scan->deleted, scan->ndeleted, rowid);
}

/*
 * Fill `sel` with the rows of a decoded block the scan returns: not in the
 * delete set (when `dels`, some rowid of the block is) and, for rows our
 * own transaction wrote, visible by command id.  Both the block's rowids
 * and the delete set ascend, so one merge pass does it; for a block of
 * consecutive rowids (the usual case) the runs of row numbers between the
 * deleted rows are copied whole.  Returns how many rows are selected.
 */
static int
lsm_scan_select_block(LsmScanDesc scan, LsmDecodedBlock *blk, bool dels,
					  int *sel)
{
	int			nrows = (int) blk->nrows;
	const int64 *rowids = blk->rowids;
	Snapshot	snap = scan->base.rs_snapshot;
	int			n = 0;
	int			r;

	if (!dels)
	{
		for (r = 0; r < nrows; r++)
			if (lsm_row_visible_cid(snap, true, (CommandId) blk->cids[r]))
				sel[n++] = r;
		return n;
	}
	if (blk->cids == NULL && rowids[nrows - 1] - rowids[0] == nrows - 1)
	{
		const int  *iota = scan->iota;
		int			prev = 0;
		int			j;

		/* copy the runs of row numbers between deleted rows */
		for (j = lsm_scan_deleted_from(scan, rowids[0]);
			 j < scan->ndeleted && scan->deleted[j] <= rowids[nrows - 1]; j++)
		{
			int			d = (int) (scan->deleted[j] - rowids[0]);

			if (d > prev)
			{
				memcpy(sel + n, iota + prev, sizeof(int) * (d - prev));
				n += d - prev;
			}
			prev = Max(prev, d + 1);
		}
		if (nrows > prev)
		{
			memcpy(sel + n, iota + prev, sizeof(int) * (nrows - prev));
			n += nrows - prev;
		}
	}
	else
	{
		int			j = lsm_scan_deleted_from(scan, rowids[0]);
		int			nd = scan->ndeleted;

		for (r = 0; r < nrows; r++)
		{
			while (j < nd && scan->deleted[j] < rowids[r])
				j++;
			if (j < nd && scan->deleted[j] == rowids[r])
			{
				scan->counters.rows_deleted++;
				continue;
			}
			if (blk->cids != NULL &&
				!lsm_row_visible_cid(snap, true, (CommandId) blk->cids[r]))
				continue;
			sel[n++] = r;
		}
		return n;
	}
	scan->counters.rows_deleted += nrows - n;
	return n;
}

/*
 * lsm_scan_next_batch
 *		The next block of visible rows, for callers that work on columns
 *		(aggregate pushdown).  Forward only, from the start of the scan; do
 *		not mix with lsm_scan_getnextslot.  batch->values[attno - 1][i] and
 *		batch->isnull[...] hold the row values decoded for the relation's
 *		descriptor (attributes outside lsm_scan_set_columns read as NULL);
 *		the rows to use are batch->sel[0 .. nsel-1], or all of 0 .. nsel-1
 *		when sel is NULL.  The arrays stay valid until the next call.
 *		Returns false at the end.  A parallel scan returns the blocks of
 *		the work units this participant claims (and, in the leader, its
 *		buffer runs once every unit is taken), as lsm_cursor_step does.
 */
bool
lsm_scan_next_batch(TableScanDesc sscan, LsmBatch *batch)
{
	LsmScanDesc scan = (LsmScanDesc) sscan;

	if (!scan->inited)
	{
		scan->inited = true;
		scan->s = 0;
		scan->b = 0;
		scan->r = 0;
	}
	for (;;)
	{
		LsmSource  *src;

		CHECK_FOR_INTERRUPTS();
		if (scan->s >= scan->nsrc)
			return false;
		if (scan->base.rs_parallel != NULL && !lsm_parallel_claimed(scan))
		{
			/* moved to the first block of a new claim, or past the end */
			scan->r = 0;
			continue;
		}
		src = &scan->src[scan->s];
		if (scan->b >= lsm_source_nunits(scan, scan->s))
		{
			lsm_source_done(scan);
			scan->s++;
			scan->b = 0;
			scan->r = 0;
			continue;
		}
		if (src->seg < 0)
		{
			int			from = scan->r;
			int			to = Min(src->run.nrows, from + LSM_RUN_BATCH_ROWS);

			if (to >= src->run.nrows)
			{
				scan->b++;
				scan->r = 0;
			}
			else
				scan->r = to;
			if (lsm_scan_run_batch(scan, src, from, to, batch) > 0)
			{
				lsm_scan_count_returned(scan, batch->nsel);
				return true;
			}
			continue;
		}
		if (!lsm_unit_in_range(scan, scan->s, scan->b) ||
			lsm_unit_filtered(scan, scan->s, scan->b))
		{
			scan->b++;
			continue;
		}
		if (scan->rows_only)
		{
			LsmSegmentHandle *h = scan->handles[src->seg];
			const LsmBlockInfo *bi = lsm_handle_block(h, scan->b);

			/*
			 * Every row of a block no delete reaches and our transaction
			 * did not write is visible: the directory's count is the
			 * batch, and no chunk is read.
			 */
			if (!(h->entry.own_xact && bi->cids.stored_len > 0) &&
				!lsm_scan_deletes_in(scan, bi->first_rowid, bi->last_rowid))
			{
				scan->b++;
				memset(batch, 0, sizeof(LsmBatch));
				batch->nrows = batch->nsel = (int) bi->nrows;
				lsm_scan_count_returned(scan, batch->nsel);
				return true;
			}
		}
		lsm_block_decode(&scan->rs, scan->handles[src->seg], scan->b, &scan->blk);
		scan->b++;
		{
			LsmDecodedBlock *blk = &scan->blk;
			int			nrows = (int) blk->nrows;
			bool		dels = lsm_scan_deletes_in(scan, blk->rowids[0],
												   blk->rowids[nrows - 1]);

			batch->nrows = nrows;
			batch->values = blk->values;
			batch->isnull = blk->isnull;
			batch->no_nulls = blk->no_nulls;
			batch->scaled = blk->scaled;
			batch->scale = blk->scale;
			if (!dels && blk->cids == NULL)
			{
				batch->sel = NULL;
				batch->nsel = nrows;
			}
			else
			{
				int		   *sel = lsm_scan_sel(scan, nrows);

				batch->sel = sel;
				batch->nsel = lsm_scan_select_block(scan, blk, dels, sel);
			}
			if (batch->nsel > 0)
			{
				lsm_scan_count_returned(scan, batch->nsel);
				return true;
			}
		}
	}
}

/*
 * Counters of what the scan read and skipped so far (since it began).  In
 * the leader of a parallel scan, once its workers have ended, those of
 * every participant.
 */
void
lsm_scan_get_counters(TableScanDesc sscan, LsmScanCounters *counters)
{
	LsmScanDesc scan = (LsmScanDesc) sscan;

	*counters = scan->counters;
	if (scan->shared_counters)
		lsm_parallel_get_counters(scan, counters);
}

bool
lsm_scan_getnextslot(TableScanDesc sscan, ScanDirection direction,
					 TupleTableSlot *slot)
{
	LsmScanDesc scan = (LsmScanDesc) sscan;

	if (ScanDirectionIsNoMovement(direction))
		return false;
	if (lsm_cursor_next_visible(scan, direction, slot))
	{
		pgstat_count_heap_getnext(scan->base.rs_rd);
		return true;
	}
	/* heap forgets its position at either end: a later call starts over */
	scan->inited = false;
	scan->unit_rows = -1;
	return false;
}

/* ---- TID range ---- */

static int64
lsm_tid_lower_rowid(ItemPointer tid)
{
	BlockNumber blk = ItemPointerGetBlockNumberNoCheck(tid);
	OffsetNumber off = ItemPointerGetOffsetNumberNoCheck(tid);

	if (off < 1)
		off = 1;
	if (off > LSM_ROWS_PER_VBLOCK)
		return ((int64) blk + 1) * LSM_ROWS_PER_VBLOCK;
	return (int64) blk * LSM_ROWS_PER_VBLOCK + off - 1;
}

static int64
lsm_tid_upper_rowid(ItemPointer tid)
{
	BlockNumber blk = ItemPointerGetBlockNumberNoCheck(tid);
	OffsetNumber off = ItemPointerGetOffsetNumberNoCheck(tid);

	if (off < 1)
		return (int64) blk * LSM_ROWS_PER_VBLOCK - 1;
	if (off > LSM_ROWS_PER_VBLOCK)
		off = LSM_ROWS_PER_VBLOCK;
	return (int64) blk * LSM_ROWS_PER_VBLOCK + off - 1;
}

void
lsm_scan_set_tidrange(TableScanDesc sscan, ItemPointer mintid, ItemPointer maxtid)
{
	LsmScanDesc scan = (LsmScanDesc) sscan;

	scan->lo = lsm_tid_lower_rowid(mintid);
	scan->hi = lsm_tid_upper_rowid(maxtid);
	lsm_scan_reset_position(scan);
}

bool
lsm_scan_getnextslot_tidrange(TableScanDesc sscan, ScanDirection direction,
							  TupleTableSlot *slot)
{
	LsmScanDesc scan = (LsmScanDesc) sscan;

	if (scan->lo > scan->hi)
	{
		ExecClearTuple(slot);
		return false;
	}
	if (!scan->inited && ScanDirectionIsForward(direction))
		lsm_cursor_seek(scan, scan->lo);
	return lsm_scan_getnextslot(sscan, direction, slot);
}

/* ---- virtual blocks: ANALYZE, TABLESAMPLE, bitmap heap scans ---- */

static void
lsm_scan_enter_vblock(LsmScanDesc scan, BlockNumber blockno)
{
	scan->cur_vblock = blockno;
	scan->lo = (int64) blockno * LSM_ROWS_PER_VBLOCK;
	scan->hi = scan->lo + LSM_ROWS_PER_VBLOCK - 1;
	lsm_cursor_seek(scan, scan->lo);
}

/*
 * Advance to the row with rowid `target` (ascending targets only).  True
 * if it exists and is visible; the cursor then stands on it.
 */
static bool
lsm_cursor_advance_to(LsmScanDesc scan, int64 target)
{
	for (;;)
	{
		int64		rowid;

		if (!scan->on_row || lsm_cursor_rowid(scan) < target)
		{
			if (!lsm_cursor_step(scan, ForwardScanDirection))
				return false;
		}
		rowid = lsm_cursor_rowid(scan);
		if (rowid < target)
			continue;
		if (rowid > target)
			return false;
		return lsm_cursor_visible(scan);
	}
}

bool
lsm_scan_analyze_next_block(TableScanDesc sscan, BlockNumber blockno,
							BufferAccessStrategy bstrategy)
{
	LsmScanDesc scan = (LsmScanDesc) sscan;

	lsm_scan_enter_vblock(scan, blockno);
	return true;
}

bool
lsm_scan_analyze_next_tuple(TableScanDesc sscan, TransactionId OldestXmin,
							double *liverows, double *deadrows,
							TupleTableSlot *slot)
{
	LsmScanDesc scan = (LsmScanDesc) sscan;

	if (lsm_cursor_next_visible(scan, ForwardScanDirection, slot))
	{
		*liverows += 1;
		return true;
	}
	return false;
}

bool
lsm_scan_bitmap_next_block(TableScanDesc sscan, TBMIterateResult *tbmres)
{
	LsmScanDesc scan = (LsmScanDesc) sscan;

	if (tbmres->blockno >= scan->nvblocks)
		return false;
	lsm_scan_enter_vblock(scan, tbmres->blockno);
	scan->lossy = tbmres->ntuples < 0;
	scan->noffsets = 0;
	scan->next_offset = 0;
	if (!scan->lossy)
	{
		int			i;

		for (i = 0; i < tbmres->ntuples; i++)
			scan->offsets[scan->noffsets++] = tbmres->offsets[i];
	}
	return true;
}

bool
lsm_scan_bitmap_next_tuple(TableScanDesc sscan, TBMIterateResult *tbmres,
						   TupleTableSlot *slot)
{
	LsmScanDesc scan = (LsmScanDesc) sscan;

	if (scan->lossy)
	{
		if (lsm_cursor_next_visible(scan, ForwardScanDirection, slot))
		{
			pgstat_count_heap_fetch(scan->base.rs_rd);
			return true;
		}
		return false;
	}
	lsm_read_state_use_desc(&scan->rs, slot->tts_tupleDescriptor);
	while (scan->next_offset < scan->noffsets)
	{
		OffsetNumber off = scan->offsets[scan->next_offset++];

		if (off < 1 || off > LSM_ROWS_PER_VBLOCK)
			continue;
		if (lsm_cursor_advance_to(scan, scan->lo + off - 1))
		{
			lsm_cursor_fill(scan, slot);
			pgstat_count_heap_fetch(scan->base.rs_rd);
			return true;
		}
	}
	ExecClearTuple(slot);
	return false;
}

bool
lsm_scan_sample_next_block(TableScanDesc sscan, SampleScanState *scanstate)
{
	LsmScanDesc scan = (LsmScanDesc) sscan;
	TsmRoutine *tsm = scanstate->tsmroutine;
	BlockNumber blockno;

	if (scan->nvblocks == 0)
		return false;
	if (tsm->NextSampleBlock)
	{
		blockno = tsm->NextSampleBlock(scanstate, scan->nvblocks);
		if (!BlockNumberIsValid(blockno))
			return false;
	}
	else
	{
		if (scan->next_vblock >= scan->nvblocks)
		{
			scan->next_vblock = 0;
			return false;
		}
		blockno = scan->next_vblock++;
	}
	lsm_scan_enter_vblock(scan, blockno);
	return true;
}

bool
lsm_scan_sample_next_tuple(TableScanDesc sscan, SampleScanState *scanstate,
						   TupleTableSlot *slot)
{
	LsmScanDesc scan = (LsmScanDesc) sscan;
	TsmRoutine *tsm = scanstate->tsmroutine;

	lsm_read_state_use_desc(&scan->rs, slot->tts_tupleDescriptor);
	for (;;)
	{
		OffsetNumber off;

		CHECK_FOR_INTERRUPTS();
		off = tsm->NextSampleTuple(scanstate, scan->cur_vblock,
								   (OffsetNumber) LSM_ROWS_PER_VBLOCK);
		if (!OffsetNumberIsValid(off))
		{
			ExecClearTuple(slot);
			return false;
		}
		if (lsm_cursor_advance_to(scan, scan->lo + off - 1))
		{
			lsm_cursor_fill(scan, slot);
			pgstat_count_heap_getnext(scan->base.rs_rd);
			return true;
		}
	}
}

/* ---- parallel scans ----
 *
 * Every participant (the leader and each worker) lists the segments the
 * shared snapshot sees -- the same catalog rows, since workers share the
 * leader's transaction, snapshot and command id -- and sorts them by rowid,
 * so all agree on the list.  A segment of n rows is cut into
 * ceil(n / LSM_PARALLEL_UNIT_ROWS) work units, each a run of its blocks;
 * numbering the units of the segments in rowid order gives every
 * participant the same numbering.  The numbering needs only the catalog's
 * row counts: a segment's directory is read only by the participants that
 * claim one of its units.
 *
 * The units are split into LSM_PARALLEL_RANGES consecutive ranges, each
 * with a shared counter of the units taken from it.  A participant starts
 * in a range of its own (spread by the order in which participants join)
 * and takes the units of its range one by one; when the range is used up
 * it moves to a range nobody has started, and only when there is none to
 * ranges that others are still working through.  So each participant
 * works through a few long runs of the table and opens the directories of
 * about its share of the segments, instead of taking every n-th unit and
 * opening them all: a worker is a new process, and parsing a directory is
 * a good part of what it spends before it can help.  Units are small
 * enough that the end of the scan still balances.
 *
 * Rows the leader has buffered are not in any segment and only the leader
 * sees them.  Before a parallel query starts they are flushed (the
 * ExecutorStart hook in lsm_am.c), so what stays buffered is invisible to
 * its snapshot; a parallel index build, which cannot flush in parallel
 * mode, always has the leader participate.  So the leader reads its buffer
 * runs itself once all units are taken.
 *
 * Each participant applies the delete set its snapshot sees (the same for
 * all), as a serial scan does.
 *
 * The tail.  A worker that has taken its last unit still has to exit, and
 * the leader waits for that before the query can end: a few milliseconds
 * (PostgreSQL's exit path and the postmaster's notice, measured in
 * docs/ARCHITECTURE.md) during which nobody scans.  When the leader scans
 * its share to the end in one go (an LSM Aggregate; it says so in the
 * shared state when it claims its first unit), a worker stops claiming once
 * the units nobody has taken would keep one participant busy for no longer
 * than lsm.parallel_worker_exit_time, at the rate this worker has scanned
 * so far: the leader scans them while the worker exits.  The leader itself
 * claims until every unit is taken, so no unit is left out.
 */

/*
 * Rows per work unit.  Small enough to balance two or three participants
 * on a table of a few segments, large enough that claiming costs nothing
 * next to decoding (16 blocks of the default lsm.block_rows).
 */
#define LSM_PARALLEL_UNIT_ROWS	16384

/* Ranges of work units, each handed out by its own counter. */
#define LSM_PARALLEL_RANGES		64

/*
 * Units a worker scans before it trusts its rate enough to leave the tail
 * to the leader.
 */
#define LSM_PARALLEL_TAIL_MIN_CLAIMS	4

/* Where the n-th participant to join starts: ranges far apart. */
#define LSM_PARALLEL_START(n)	((int) (((n) * 40) % LSM_PARALLEL_RANGES))

typedef struct LsmParallelScanDescData
{
	ParallelTableScanDescData base;
	pg_atomic_uint32 joined;	/* participants that claimed a unit */
	pg_atomic_uint32 leader_through;	/* the leader claims to the end */
	/* the leader's listing: see lsm_parallel_publish_listing */
	pg_atomic_uint32 listing_ready;
	dsm_handle	listing_handle;
	int			listing_nsegs;
	int			listing_ndeleted;
	/* per range: units handed out (may run past the range's size) */
	pg_atomic_uint64 taken[LSM_PARALLEL_RANGES];
} LsmParallelScanDescData;

typedef LsmParallelScanDescData *LsmParallelScanDesc;

Size
lsm_parallelscan_estimate(Relation rel)
{
	return sizeof(LsmParallelScanDescData);
}

Size
lsm_parallelscan_initialize(Relation rel, ParallelTableScanDesc pscan)
{
	LsmParallelScanDesc lpscan = (LsmParallelScanDesc) pscan;

	int			r;

	pscan->phs_relid = RelationGetRelid(rel);
	pscan->phs_syncscan = false;
	pg_atomic_init_u32(&lpscan->joined, 0);
	pg_atomic_init_u32(&lpscan->leader_through, 0);
	pg_atomic_init_u32(&lpscan->listing_ready, 0);
	lpscan->listing_handle = DSM_HANDLE_INVALID;
	lpscan->listing_nsegs = 0;
	lpscan->listing_ndeleted = 0;
	for (r = 0; r < LSM_PARALLEL_RANGES; r++)
		pg_atomic_init_u64(&lpscan->taken[r], 0);
	return sizeof(LsmParallelScanDescData);
}

/*
 * The segment list and the delete set are the same for every participant
 * (one snapshot), and the work units are numbered over that list, so the
 * participants must agree on it.  Outside parallel mode a backend keeps
 * the delete set cached between scans; in parallel mode no participant may
 * build that cache, and a worker is a new process whose catalog caches are
 * empty, so each worker would list the segments (opening the lsm catalog
 * and its index) and read the delete records and delete maps of the whole
 * table for itself.  The leader, which begins its scan while setting up
 * the parallel query (before the workers start), shares its listing
 * instead: one DSM segment holding the segment entries, then the deleted
 * rowids, announced in the parallel scan.  It stays attached until the
 * leader's scan ends, which is after the workers' (Gather waits for them).
 * A worker that finds nothing announced (a parallel index build starts its
 * workers first; no DSM segment was to be had) or cannot attach lists for
 * itself, as before.
 */
static void
lsm_parallel_publish_listing(LsmScanDesc scan)
{
	LsmParallelScanDesc lpscan = (LsmParallelScanDesc) scan->base.rs_parallel;
	Size		segbytes = sizeof(LsmSegmentEntry) * scan->segs->nsegs;
	Size		cbytes = LSM_SHARED_COUNTERS_SIZE(scan->segs->nsegs);
	dsm_segment *seg = NULL;

	/*
	 * A scan lists its sources once (parallel rescans keep them), so this
	 * runs once per leader scan; the check only guards a second scan of
	 * the same parallel state.
	 */
	Assert(scan->shared_seg == NULL);
	if (pg_atomic_read_u32(&lpscan->listing_ready) != 0)
		return;
	if (segbytes + sizeof(int64) * scan->ndeleted > 0)
	{
		char	   *p;
		LsmSharedCounters *sc;
		int			i;

		seg = dsm_create(cbytes + segbytes + sizeof(int64) * scan->ndeleted,
						 DSM_CREATE_NULL_IF_MAXSEGMENTS);
		if (seg == NULL)
			return;
		sc = dsm_segment_address(seg);
		pg_atomic_init_u64(&sc->rows_deleted, 0);
		for (i = 0; i < scan->segs->nsegs; i++)
		{
			pg_atomic_init_u32(&sc->seg[i].nblocks, 0);
			pg_atomic_init_u32(&sc->seg[i].checked, 0);
			pg_atomic_init_u32(&sc->seg[i].skipped, 0);
		}
		scan->shared_counters = sc;
		p = (char *) sc + cbytes;
		if (segbytes > 0)
			memcpy(p, scan->segs->segs, segbytes);
		if (scan->ndeleted > 0)
			memcpy(p + segbytes, scan->deleted, sizeof(int64) * scan->ndeleted);
		scan->shared_seg = seg;
	}
	lpscan->listing_handle = seg ? dsm_segment_handle(seg) : DSM_HANDLE_INVALID;
	lpscan->listing_nsegs = scan->segs->nsegs;
	lpscan->listing_ndeleted = scan->ndeleted;
	pg_write_barrier();
	pg_atomic_write_u32(&lpscan->listing_ready, 1);
}

/*
 * A worker: use the leader's listing if it was shared (see above).  The
 * segment entries are copied (the scan's context holds them); the deleted
 * rowids are read where they are.
 */
static bool
lsm_parallel_take_listing(LsmScanDesc scan)
{
	LsmParallelScanDesc lpscan = (LsmParallelScanDesc) scan->base.rs_parallel;
	LsmSegmentList *list;
	const char *p = NULL;
	Size		segbytes;

	if (pg_atomic_read_u32(&lpscan->listing_ready) == 0)
		return false;
	pg_read_barrier();
	segbytes = sizeof(LsmSegmentEntry) * lpscan->listing_nsegs;
	Assert(scan->shared_seg == NULL);	/* once per scan, as above */
	if (segbytes + sizeof(int64) * lpscan->listing_ndeleted > 0)
	{
		scan->shared_seg = dsm_attach(lpscan->listing_handle);
		if (scan->shared_seg == NULL)
			return false;
		scan->shared_counters = dsm_segment_address(scan->shared_seg);
		p = (char *) scan->shared_counters +
			LSM_SHARED_COUNTERS_SIZE(lpscan->listing_nsegs);
	}

	list = palloc0(sizeof(LsmSegmentList));
	list->nsegs = lpscan->listing_nsegs;
	list->segs = palloc(Max(segbytes, sizeof(LsmSegmentEntry)));
	if (segbytes > 0)
		memcpy(list->segs, p, segbytes);
	scan->segs = list;
	scan->ndeleted = lpscan->listing_ndeleted;
	scan->deleted = scan->ndeleted > 0 ? (const int64 *) (p + segbytes) : NULL;
	return true;
}

/* Count block b of source s, which the zone filter looked at, for all. */
static void
lsm_parallel_count_block(LsmScanDesc scan, int s, bool skipped)
{
	LsmSharedSegCount *sc = &scan->shared_counters->seg[scan->src[s].seg];

	if (pg_atomic_read_u32(&sc->nblocks) == 0)
		pg_atomic_write_u32(&sc->nblocks, (uint32) lsm_source_nunits(scan, s));
	pg_atomic_fetch_add_u32(&sc->checked, 1);
	if (skipped)
		pg_atomic_fetch_add_u32(&sc->skipped, 1);
}

/*
 * The leader: the counters of every participant of the parallel scan (read
 * once the workers have ended: EXPLAIN ANALYZE, a rescan).  c holds this
 * process's own counters.
 */
static void
lsm_parallel_get_counters(LsmScanDesc scan, LsmScanCounters *c)
{
	LsmSharedCounters *sh = scan->shared_counters;
	int			i;

	c->segments = scan->folded.segments;
	c->segments_skipped = scan->folded.segments_skipped;
	c->blocks = scan->folded.blocks;
	c->blocks_skipped = scan->folded.blocks_skipped;
	c->rows_deleted += scan->folded.rows_deleted +
		(int64) pg_atomic_read_u64(&sh->rows_deleted);
	for (i = 0; i < scan->segs->nsegs; i++)
	{
		uint32		n = pg_atomic_read_u32(&sh->seg[i].nblocks);
		uint32		checked = pg_atomic_read_u32(&sh->seg[i].checked);
		uint32		skipped = pg_atomic_read_u32(&sh->seg[i].skipped);

		c->blocks += checked;
		c->blocks_skipped += skipped;
		if (n > 0 && checked >= n)
			c->segments++;
		if (n > 0 && skipped >= n)
			c->segments_skipped++;
	}
}

/*
 * The leader, before a rescan of the parallel plan (its workers have
 * ended): keep what the shared counters hold and clear them for the next
 * run, since EXPLAIN ANALYZE reports the sum over rescans.
 */
static void
lsm_parallel_fold_counters(LsmScanDesc scan)
{
	LsmSharedCounters *sh = scan->shared_counters;
	LsmScanCounters c = scan->counters;
	int			i;

	lsm_parallel_get_counters(scan, &c);
	c.rows_deleted -= scan->counters.rows_deleted;
	scan->folded = c;
	pg_atomic_write_u64(&sh->rows_deleted, 0);
	for (i = 0; i < scan->segs->nsegs; i++)
	{
		pg_atomic_write_u32(&sh->seg[i].checked, 0);
		pg_atomic_write_u32(&sh->seg[i].skipped, 0);
	}
}

/* A rescan of the parallel plan: hand out every unit again. */
void
lsm_parallelscan_reinitialize(Relation rel, ParallelTableScanDesc pscan)
{
	LsmParallelScanDesc lpscan = (LsmParallelScanDesc) pscan;
	int			r;

	pg_atomic_write_u32(&lpscan->joined, 0);
	pg_atomic_write_u32(&lpscan->leader_through, 0);
	for (r = 0; r < LSM_PARALLEL_RANGES; r++)
		pg_atomic_write_u64(&lpscan->taken[r], 0);
}

/* First unit of range r (r = LSM_PARALLEL_RANGES: one past the last). */
static inline int64
lsm_range_first(LsmScanDesc scan, int r)
{
	return (int64) ((uint64) scan->nunits * r / LSM_PARALLEL_RANGES);
}

/* Are units of range r left to hand out? */
static inline bool
lsm_range_open(LsmScanDesc scan, LsmParallelScanDesc lpscan, int r)
{
	return pg_atomic_read_u64(&lpscan->taken[r]) <
		(uint64) (lsm_range_first(scan, r + 1) - lsm_range_first(scan, r));
}

/*
 * Should this worker leave the units nobody has taken to the leader (see
 * "the tail" above)?
 */
static bool
lsm_parallel_leave_tail(LsmScanDesc scan, LsmParallelScanDesc lpscan)
{
	instr_time	now;
	double		per_unit_ms;
	int64		left = 0;
	int			r;

	if (lsm_parallel_worker_exit_time <= 0 ||
		scan->claims < LSM_PARALLEL_TAIL_MIN_CLAIMS ||
		pg_atomic_read_u32(&lpscan->leader_through) == 0)
		return false;
	for (r = 0; r < LSM_PARALLEL_RANGES; r++)
	{
		int64		size = lsm_range_first(scan, r + 1) - lsm_range_first(scan, r);
		uint64		taken = pg_atomic_read_u64(&lpscan->taken[r]);

		if (taken < (uint64) size)
			left += size - (int64) taken;
	}
	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, scan->claim_start);
	per_unit_ms = INSTR_TIME_GET_MILLISEC(now) / scan->claims;
	return left * per_unit_ms <= lsm_parallel_worker_exit_time;
}

/*
 * The next work unit for this participant, or -1 once every unit is
 * handed out (see "parallel scans" above) or this worker leaves the rest to
 * the leader.
 */
static int64
lsm_parallel_next_unit(LsmScanDesc scan)
{
	LsmParallelScanDesc lpscan = (LsmParallelScanDesc) scan->base.rs_parallel;

	if (scan->claim_range < 0)
	{
		scan->claim_range =
			LSM_PARALLEL_START(pg_atomic_fetch_add_u32(&lpscan->joined, 1));
		if (scan->tail_to_leader && !IsParallelWorker())
			pg_atomic_write_u32(&lpscan->leader_through, 1);
	}
	if (scan->claims == 0)
		INSTR_TIME_SET_CURRENT(scan->claim_start);
	else if (scan->tail_to_leader && IsParallelWorker() &&
			 lsm_parallel_leave_tail(scan, lpscan))
		return -1;
	scan->claims++;
	for (;;)
	{
		int			r = scan->claim_range;
		int			i;
		int			next = -1;

		if (lsm_range_open(scan, lpscan, r))
		{
			uint64		k = pg_atomic_fetch_add_u64(&lpscan->taken[r], 1);
			int64		unit = lsm_range_first(scan, r) + (int64) k;

			if (unit < lsm_range_first(scan, r + 1))
				return unit;
		}
		/* used up: a range nobody has started, else one with units left */
		for (i = 1; i < LSM_PARALLEL_RANGES && next < 0; i++)
		{
			int			c = (r + i) % LSM_PARALLEL_RANGES;

			if (pg_atomic_read_u64(&lpscan->taken[c]) == 0 &&
				lsm_range_open(scan, lpscan, c))
				next = c;
		}
		for (i = 1; i <= LSM_PARALLEL_RANGES && next < 0; i++)
		{
			int			c = (r + i) % LSM_PARALLEL_RANGES;

			if (lsm_range_open(scan, lpscan, c))
				next = c;
		}
		if (next < 0)
			return -1;
		scan->claim_range = next;
	}
}

/* Number the work units of the scan's segments (after loading sources). */
static void
lsm_parallel_setup(LsmScanDesc scan)
{
	int64		next = 0;
	int			s;

	scan->unit_first = MemoryContextAlloc(scan->scxt,
										  sizeof(int64) * (scan->nsrc + 1));
	for (s = 0; s < scan->nsrc; s++)
	{
		scan->unit_first[s] = next;
		if (scan->src[s].seg >= 0)
		{
			int64		rows = scan->segs->segs[scan->src[s].seg].row_count;

			next += Max(1, (rows + LSM_PARALLEL_UNIT_ROWS - 1) / LSM_PARALLEL_UNIT_ROWS);
		}
	}
	scan->unit_first[scan->nsrc] = next;
	scan->nunits = next;
}

/*
 * Is the cursor's unit (s, b) among the blocks this participant claimed?
 * If not, claim the next work unit and move the cursor to its first block,
 * or, once every unit is taken, to the leader's next buffer run or past the
 * end; return false so that the caller looks at the new position.
 */
static bool
lsm_parallel_claimed(LsmScanDesc scan)
{
	if (scan->s == scan->claim_s &&
		scan->b >= scan->claim_b0 && scan->b < scan->claim_b1)
		return true;

	while (!scan->claim_done && !scan->claim_runs)
	{
		int64		k = lsm_parallel_next_unit(scan);
		int			lo = 0,
					hi = scan->nsrc - 1;
		int64		part,
					nparts,
					nblocks;

		if (k < 0)
		{
			scan->claim_runs = true;
			scan->claim_s = -1;
			break;
		}
		/* the source whose units include k */
		while (lo < hi)
		{
			int			mid = lo + (hi - lo) / 2;

			if (scan->unit_first[mid + 1] <= (int64) k)
				lo = mid + 1;
			else
				hi = mid;
		}
		part = (int64) k - scan->unit_first[lo];
		nparts = scan->unit_first[lo + 1] - scan->unit_first[lo];
		nblocks = lsm_source_nunits(scan, lo);
		scan->claim_s = lo;
		scan->claim_b0 = (int) (part * nblocks / nparts);
		scan->claim_b1 = (int) ((part + 1) * nblocks / nparts);
		if (scan->claim_b0 < scan->claim_b1)
		{
			scan->s = lo;
			scan->b = scan->claim_b0;
			scan->r = -1;
			return false;
		}
		/* more units than blocks: this one is empty */
	}

	if (scan->claim_runs && !IsParallelWorker())
	{
		int			s = scan->claim_s + 1;

		while (s < scan->nsrc && scan->src[s].seg >= 0)
			s++;
		if (s < scan->nsrc)
		{
			scan->claim_s = s;
			scan->claim_b0 = 0;
			scan->claim_b1 = 1;
			scan->s = s;
			scan->b = 0;
			scan->r = -1;
			return false;
		}
	}
	scan->claim_runs = false;
	scan->claim_done = true;
	scan->s = scan->nsrc;
	return false;
}

/*
 * Also skip the rows whose delete `snapshot` sees.  A parallel index build
 * scans with SnapshotAny, which sees deleted rows; lsm_index.c leaves them
 * out of the index as a serial build does.  Call before the first row.
 */
void
lsm_scan_add_deletes(TableScanDesc sscan, Snapshot snapshot)
{
	LsmScanDesc scan = (LsmScanDesc) sscan;
	MemoryContext old = MemoryContextSwitchTo(scan->scxt);
	int			n;
	const int64 *recs = lsm_scan_deleted_set(lsm_relation_storage_id(scan->base.rs_rd),
											snapshot, &n);

	if (n > 0)
		scan->deleted = lsm_merge_rowids(scan->deleted, scan->ndeleted, recs, n,
										 &scan->ndeleted);
	scan->del_hint = 0;
	MemoryContextSwitchTo(old);
}
