/*-------------------------------------------------------------------------
 *
 * lsm_ddl.c
 *	  Storage lifecycle of lsm tables: new relfilenodes (CREATE, TRUNCATE,
 *	  rewrites), non-transactional truncation, SET TABLESPACE, VACUUM FULL /
 *	  CLUSTER, plain VACUUM, and the sizes PostgreSQL asks for.
 *
 * NOTES
 *	  Every relfilenode gets a fresh storage id; the lsm catalog rows of the
 *	  storage it replaces are deleted in the same transaction, so a rolled
 *	  back TRUNCATE keeps them.  Segments hold no transaction ids, so the
 *	  table has nothing to freeze: relfrozenxid and relminmxid are left
 *	  invalid, which VACUUM and the wraparound machinery accept.
 *
 *	  Sizes: relation_size of the main fork is the *virtual* block space
 *	  (rowid / 291 rounded up), the block numbers TIDs use; that is what
 *	  ANALYZE, BRIN, TABLESAMPLE and bitmap scans iterate over.
 *	  pg_relation_size() still reports the files' physical size.
 *	  relation_estimate_size answers the planner from the catalog: live rows
 *	  of visible segments plus our buffered rows, and physical pages.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/multixact.h"
#include "access/relscan.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/storage.h"
#include "catalog/storage_xlog.h"
#include "commands/progress.h"
#include "commands/vacuum.h"
#include "executor/tuptable.h"
#include "access/genam.h"
#include "storage/procarray.h"
#include "miscadmin.h"
#include "optimizer/plancat.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "storage/smgr.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/tuplesort.h"

#include "lsm_am.h"
#include "catalog/lsm_catalog.h"
#include "catalog/lsm_schema.h"
#include "compact/lsm_compact.h"
#include "scan/lsm_scan.h"
#include "storage/lsm_storage.h"
#include "tableam/lsm_tableam.h"
#include "txn/lsm_txn.h"

static void
lsm_forget_amcache(Relation rel)
{
	if (rel->rd_amcache)
	{
		pfree(rel->rd_amcache);
		rel->rd_amcache = NULL;
	}
}

/* Storage id of the relation's current storage, without the reset rule. */
static uint64
lsm_current_storage_raw(Relation rel)
{
	LsmMetaPageData meta;

	if (!smgrexists(RelationGetSmgr(rel), MAIN_FORKNUM) ||
		smgrnblocks(RelationGetSmgr(rel), MAIN_FORKNUM) == 0)
		return 0;
	lsm_meta_read(rel, &meta);
	return meta.storage_id;
}

void
lsm_relation_set_new_filenode(Relation rel, const RelFileNode *newrnode,
							  char persistence, TransactionId *freezeXid,
							  MultiXactId *minmulti)
{
	uint64		storage_id;

	/* TRUNCATE: the storage being replaced loses its catalog rows */
	if (!RelFileNodeEquals(rel->rd_node, *newrnode))
		lsm_catalog_drop_storage(lsm_current_storage_raw(rel));

	storage_id = lsm_catalog_new_storage(RelationGetRelid(rel));
	lsm_meta_create(*newrnode, persistence, storage_id);
	lsm_forget_amcache(rel);
	/* the new storage's first schema version: the table's layout now */
	(void) lsm_schema_version_for_write(rel, storage_id, RelationGetDescr(rel));

	*freezeXid = InvalidTransactionId;
	*minmulti = InvalidMultiXactId;
}

void
lsm_relation_nontransactional_truncate(Relation rel)
{
	uint64		storage_id;

	lsm_memtable_discard_relation(RelationGetRelid(rel));
	lsm_catalog_drop_storage(lsm_current_storage_raw(rel));
	RelationTruncate(rel, 0);
	storage_id = lsm_catalog_new_storage(RelationGetRelid(rel));
	lsm_meta_reinit(rel, storage_id);
	lsm_forget_amcache(rel);
	(void) lsm_schema_version_for_write(rel, storage_id, RelationGetDescr(rel));
}

/*
 * SET TABLESPACE: copy every fork; the metapage and so the storage id come
 * along, so catalog rows and buffered rows stay valid.
 */
void
lsm_relation_copy_data(Relation rel, const RelFileNode *newrnode)
{
	SMgrRelation dstrel;
	ForkNumber	fork;

	FlushRelationBuffers(rel);
	dstrel = RelationCreateStorage(*newrnode, rel->rd_rel->relpersistence, true);
	RelationCopyStorage(RelationGetSmgr(rel), dstrel, MAIN_FORKNUM,
						rel->rd_rel->relpersistence);
	for (fork = MAIN_FORKNUM + 1; fork <= MAX_FORKNUM; fork++)
	{
		if (smgrexists(RelationGetSmgr(rel), fork))
		{
			smgrcreate(dstrel, fork, false);
			if (rel->rd_rel->relpersistence == RELPERSISTENCE_PERMANENT ||
				(rel->rd_rel->relpersistence == RELPERSISTENCE_UNLOGGED &&
				 fork == INIT_FORKNUM))
				log_smgrcreate(newrnode, fork);
			RelationCopyStorage(RelationGetSmgr(rel), dstrel, fork,
								rel->rd_rel->relpersistence);
		}
	}
	RelationDropStorage(rel);
	smgrclose(dstrel);
	lsm_forget_amcache(rel);
}

/*
 * VACUUM FULL and CLUSTER: copy the live rows into the new storage, in the
 * index's order for CLUSTER.  New rowids; indexes are rebuilt afterwards.
 */
void
lsm_relation_copy_for_cluster(Relation OldTable, Relation NewTable,
							  Relation OldIndex, bool use_sort,
							  TransactionId OldestXmin,
							  TransactionId *xid_cutoff,
							  MultiXactId *multi_cutoff,
							  double *num_tuples, double *tups_vacuumed,
							  double *tups_recently_dead)
{
	Snapshot	snapshot = RegisterSnapshot(GetTransactionSnapshot());
	TupleTableSlot *slot = table_slot_create(OldTable, NULL);
	TupleTableSlot *outslot = MakeSingleTupleTableSlot(RelationGetDescr(NewTable),
													   &TTSOpsVirtual);
	CommandId	cid = GetCurrentCommandId(true);
	Tuplesortstate *sort = NULL;
	double		n = 0;

	if (OldIndex != NULL && use_sort)
		sort = tuplesort_begin_cluster(RelationGetDescr(OldTable), OldIndex,
									   maintenance_work_mem, NULL,
									   TUPLESORT_NONE);

	if (OldIndex != NULL && !use_sort)
	{
		IndexScanDesc iscan = index_beginscan(OldTable, OldIndex, snapshot, 0, 0);

		index_rescan(iscan, NULL, 0, NULL, 0);
		while (index_getnext_slot(iscan, ForwardScanDirection, slot))
		{
			CHECK_FOR_INTERRUPTS();
			ExecCopySlot(outslot, slot);
			lsm_memtable_insert(NewTable, outslot, cid, false);
			n++;
		}
		index_endscan(iscan);
	}
	else
	{
		TableScanDesc scan = table_beginscan(OldTable, snapshot, 0, NULL);

		while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
		{
			CHECK_FOR_INTERRUPTS();
			if (sort)
			{
				bool		shouldFree;
				HeapTuple	tup = ExecFetchSlotHeapTuple(slot, false, &shouldFree);

				tuplesort_putheaptuple(sort, tup);
				if (shouldFree)
					heap_freetuple(tup);
			}
			else
			{
				ExecCopySlot(outslot, slot);
				lsm_memtable_insert(NewTable, outslot, cid, false);
			}
			n++;
		}
		table_endscan(scan);
	}

	if (sort)
	{
		HeapTuple	tup;

		tuplesort_performsort(sort);
		while ((tup = tuplesort_getheaptuple(sort, true)) != NULL)
		{
			CHECK_FOR_INTERRUPTS();
			ExecForceStoreHeapTuple(tup, outslot, false);
			lsm_memtable_insert(NewTable, outslot, cid, false);
		}
		tuplesort_end(sort);
	}

	/* the transient table is swapped and dropped before commit */
	lsm_memtable_flush_relation(NewTable);

	ExecDropSingleTupleTableSlot(slot);
	ExecDropSingleTupleTableSlot(outslot);
	UnregisterSnapshot(snapshot);

	*xid_cutoff = InvalidTransactionId;
	*multi_cutoff = InvalidMultiXactId;
	*num_tuples = n;
	*tups_vacuumed = 0;
	*tups_recently_dead = 0;
}

/* Live rows the snapshot sees: catalog counts plus our buffered rows. */
int64
lsm_live_row_count(Relation rel, Snapshot snapshot)
{
	LsmSegmentList *segs;
	int64		n = 0;
	int			i;

	int			ndeleted;

	segs = lsm_catalog_segments(lsm_relation_storage_id(rel), snapshot);
	for (i = 0; i < segs->nsegs; i++)
		n += segs->segs[i].row_count - segs->segs[i].deleted_count;
	(void) lsm_deleted_rowids(lsm_relation_storage_id(rel), snapshot, &ndeleted);
	return n + lsm_memtable_buffered_rows(rel) - ndeleted;
}

/*
 * State of the index bulk-delete callback.  A rowid is dead if its delete
 * is settled (in `rowids`, sorted), or if it lies below the rowid watermark
 * and no segment holds it: its row was dropped by a compaction, or its
 * inserting (sub)transaction aborted.
 */
typedef struct LsmVacuumDead
{
	int64	   *rowids;
	int			n;
	int64		watermark;		/* rowids below: finished writers only */
	LsmSegmentList *segs;		/* committed segments, by rowid */
	uint8	  **present;		/* per sparse segment: rowid bitmap, lazily */
	LsmReadState rs;
	LsmDecodedBlock blk;
	bool		blk_ready;
	int64		absent;			/* rowids found dead by the second rule */
} LsmVacuumDead;

/* Does segment `si` (fewer rows than its rowid range) hold `rowid`? */
static bool
lsm_vacuum_segment_has(LsmVacuumDead *dead, int si, int64 rowid)
{
	const LsmSegmentEntry *seg = &dead->segs->segs[si];
	int64		off = rowid - seg->min_rowid;

	if (dead->present[si] == NULL)
	{
		int64		span = seg->max_rowid - seg->min_rowid + 1;
		uint8	   *bits = palloc_extended((span + 7) / 8, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
		LsmSegmentHandle *h;
		uint32		nblocks;
		uint32		b;

		if (!dead->blk_ready)
		{
			lsm_block_init(&dead->blk, CurrentMemoryContext);
			dead->blk_ready = true;
		}
		h = lsm_segment_open(&dead->rs, seg);
		nblocks = h->nblocks;
		for (b = 0; b < nblocks; b++)
		{
			uint32		r;

			lsm_block_decode(&dead->rs, h, b, &dead->blk);
			for (r = 0; r < dead->blk.nrows; r++)
			{
				int64		o = dead->blk.rowids[r] - seg->min_rowid;

				if (o >= 0 && o < span)
					bits[o / 8] |= (uint8) (1 << (o % 8));
			}
		}
		dead->blk.valid = false;
		lsm_segment_close(h);
		dead->present[si] = bits;
	}
	return (dead->present[si][off / 8] & (1 << (off % 8))) != 0;
}

static bool
lsm_vacuum_tid_dead(ItemPointer itemptr, void *state)
{
	LsmVacuumDead *dead = state;
	int64		rowid = lsm_tid_to_rowid(itemptr);
	const LsmSegmentEntry *seg;
	int			i = lsm_rowid_lower_bound(dead->rowids, dead->n, rowid);

	if (i < dead->n && dead->rowids[i] == rowid)
		return true;
	if (rowid >= dead->watermark)
		return false;
	seg = lsm_segment_for_rowid(dead->segs, rowid);
	if (seg != NULL &&
		(seg->row_count == seg->max_rowid - seg->min_rowid + 1 ||
		 lsm_vacuum_segment_has(dead, seg - dead->segs->segs, rowid)))
		return false;
	dead->absent++;
	return true;
}

/*
 * The lock to truncate the relation with, as heap's VACUUM takes it: try
 * every LSM_TRUNCATE_LOCK_WAIT_MS, give up after LSM_TRUNCATE_LOCK_TIMEOUT_MS.
 */
#define LSM_TRUNCATE_LOCK_WAIT_MS		50
#define LSM_TRUNCATE_LOCK_TIMEOUT_MS	5000

static bool
lsm_vacuum_truncate_lock(Relation rel, int elevel)
{
	int			tries = 0;

	while (!ConditionalLockRelation(rel, AccessExclusiveLock))
	{
		CHECK_FOR_INTERRUPTS();
		if (++tries > LSM_TRUNCATE_LOCK_TIMEOUT_MS / LSM_TRUNCATE_LOCK_WAIT_MS)
		{
			ereport(elevel,
					(errmsg("\"%s\": stopping truncate due to conflicting lock request",
							RelationGetRelationName(rel))));
			return false;
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 LSM_TRUNCATE_LOCK_WAIT_MS, WAIT_EVENT_VACUUM_TRUNCATE);
		ResetLatch(MyLatch);
	}
	return true;
}

/*
 * Plain VACUUM (and autovacuum): remove the index entries of rows that no
 * snapshot can see any more: rows whose delete every snapshot sees (settled
 * deletes older than the table's visibility horizon), and rowids below the
 * rowid watermark that no segment holds (dropped by compaction, or
 * inserted by an aborted transaction).  VACUUM advances the watermark to
 * the rowid counter when no writer holds the table.  The rows themselves
 * stay in their segments until compaction drops them.
 */
void
lsm_relation_vacuum(Relation rel, struct VacuumParams *params,
					BufferAccessStrategy bstrategy)
{
	Snapshot	snapshot = RegisterSnapshot(GetLatestSnapshot());
	int64		live = lsm_live_row_count(rel, snapshot);
	TransactionId horizon = GetOldestNonRemovableTransactionId(rel);
	uint64		storage_id = lsm_relation_storage_id(rel);
	LsmVacuumDead dead;
	LsmCompactionState cstate;
	int			elevel = (params->options & VACOPT_VERBOSE) ? INFO : DEBUG2;

	memset(&dead, 0, sizeof(dead));
	dead.rowids = lsm_catalog_settled_deletes(storage_id, horizon, 0, &dead.n);
	lsm_catalog_compaction_state(storage_id, &cstate);
	dead.watermark = cstate.rowid_watermark;
	if (storage_id != 0)
	{
		int64		next = lsm_meta_fence_rowids(rel);

		if (next > dead.watermark && lsm_wait_for_writers(rel, 0))
			dead.watermark = next;
	}
	UnregisterSnapshot(snapshot);
	/* segments committed now: no writer can add one below the watermark */
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	dead.segs = lsm_catalog_segments(storage_id, snapshot);
	UnregisterSnapshot(snapshot);
	/* rows in persisted delete maps are dead too (their records are gone) */
	{
		int			nmap;
		int64	   *maps = lsm_segments_delmaps(rel, dead.segs, &nmap);

		if (nmap > 0)
			dead.rowids = lsm_merge_rowids(dead.rowids, dead.n, maps, nmap,
										   &dead.n);
	}
	dead.present = palloc0(sizeof(uint8 *) * Max(dead.segs->nsegs, 1));
	lsm_read_state_init(&dead.rs, rel, bstrategy);

	if ((dead.n > 0 || dead.watermark > 0) && rel->rd_rel->relhasindex)
	{
		Relation   *indrels;
		int			nindexes;
		int			i;

		vac_open_indexes(rel, RowExclusiveLock, &nindexes, &indrels);
		for (i = 0; i < nindexes; i++)
		{
			IndexVacuumInfo ivinfo;
			IndexBulkDeleteResult *stats;

			memset(&ivinfo, 0, sizeof(ivinfo));
			ivinfo.index = indrels[i];
			ivinfo.analyze_only = false;
			ivinfo.report_progress = false;
			ivinfo.estimated_count = true;
			ivinfo.message_level = elevel;
			ivinfo.num_heap_tuples = (double) live;
			ivinfo.strategy = bstrategy;
			stats = index_bulk_delete(&ivinfo, NULL, lsm_vacuum_tid_dead, &dead);
			stats = index_vacuum_cleanup(&ivinfo, stats);
			if (stats)
			{
				ereport(elevel,
						(errmsg("index \"%s\" now contains %.0f row versions; %.0f removed",
								RelationGetRelationName(indrels[i]),
								stats->num_index_tuples, stats->tuples_removed)));
				pfree(stats);
			}
		}
		vac_close_indexes(nindexes, indrels, NoLock);
	}
	ereport(elevel,
			(errmsg("\"%s\": %lld live rows, %d settled deletes, %lld index entries of rows that no longer exist",
					RelationGetRelationName(rel), (long long) live, dead.n,
					(long long) dead.absent)));

	/*
	 * Give free extents at the end of the file back to the filesystem, as
	 * heap's VACUUM does (unless TRUNCATE false or the vacuum_truncate
	 * option says not to): with the AccessExclusiveLock, taken only when no
	 * one holds the table, retried like heap for up to 5 s, and released
	 * at once.
	 */
	if (storage_id != 0 && params->truncate != VACOPTVALUE_DISABLED &&
		(lsm_meta_flags(rel) & LSM_META_HAS_RETIRED) &&
		lsm_space_used_end(rel, storage_id) < smgrnblocks(RelationGetSmgr(rel), MAIN_FORKNUM) &&
		lsm_vacuum_truncate_lock(rel, elevel))
	{
		BlockNumber old_nblocks = smgrnblocks(RelationGetSmgr(rel), MAIN_FORKNUM);
		BlockNumber end = lsm_space_used_end(rel, storage_id);

		if (end < old_nblocks)
		{
			RelationTruncate(rel, end);
			lsm_space_forget(rel, storage_id);
			ereport(elevel,
					(errmsg("\"%s\": truncated %u to %u pages",
							RelationGetRelationName(rel), old_nblocks, end)));
		}
		UnlockRelation(rel, AccessExclusiveLock);
	}

	/* schema versions no segment needs any more */
	if (storage_id != 0)
	{
		int			evicted = lsm_schema_evict(rel);

		if (evicted > 0)
			ereport(elevel,
					(errmsg("\"%s\": forgot %d old schema versions",
							RelationGetRelationName(rel), evicted)));
	}

	vac_update_relstats(rel, lsm_virtual_nblocks(rel), (double) live, 0,
						rel->rd_rel->relhasindex, InvalidTransactionId,
						InvalidMultiXactId, NULL, NULL, false);
	pgstat_report_vacuum(RelationGetRelid(rel), rel->rd_rel->relisshared,
						 live, dead.n);
}

uint64
lsm_relation_size(Relation rel, ForkNumber forkNumber)
{
	uint64		size = 0;
	ForkNumber	fork;

	if (forkNumber == MAIN_FORKNUM)
		return (uint64) lsm_virtual_nblocks(rel) * BLCKSZ;
	for (fork = 0; fork <= MAX_FORKNUM; fork++)
	{
		if (forkNumber != InvalidForkNumber && fork != forkNumber)
			continue;
		if (fork == MAIN_FORKNUM)
			size += (uint64) lsm_virtual_nblocks(rel) * BLCKSZ;
		else if (smgrexists(RelationGetSmgr(rel), fork))
			size += (uint64) smgrnblocks(RelationGetSmgr(rel), fork) * BLCKSZ;
	}
	return size;
}

void
lsm_relation_estimate_size(Relation rel, int32 *attr_widths,
						   BlockNumber *pages, double *tuples,
						   double *allvisfrac)
{
	BlockNumber physical = 0;
	Snapshot	snapshot;
	int64		live;

	if (smgrexists(RelationGetSmgr(rel), MAIN_FORKNUM))
		physical = smgrnblocks(RelationGetSmgr(rel), MAIN_FORKNUM);
	if (physical > 0 && rel->rd_rel->reltuples >= 0 && rel->rd_rel->relpages > 0)
	{
		/*
		 * Analyzed or vacuumed: scale the recorded density to the current
		 * virtual block space, as heap scales by its current page count.
		 * This avoids a catalog scan every time a query is planned.
		 */
		double		density = rel->rd_rel->reltuples / rel->rd_rel->relpages;

		live = (int64) rint(density * lsm_virtual_nblocks(rel)) +
			lsm_memtable_buffered_rows(rel);
	}
	else
	{
		/*
		 * No new snapshot can be taken in parallel mode (a query planned
		 * inside a parallel query, in its leader or a worker): count with
		 * the active one there; it is only an estimate.
		 */
		if (IsInParallelMode() && ActiveSnapshotSet())
			snapshot = RegisterSnapshot(GetActiveSnapshot());
		else
			snapshot = RegisterSnapshot(GetLatestSnapshot());
		live = physical > 0 ? lsm_live_row_count(rel, snapshot) : 0;
		UnregisterSnapshot(snapshot);
	}

	*allvisfrac = 0;
	*pages = Max(physical, 1);
	*tuples = (double) live;

	/*
	 * Like heap, do not trust an empty table that was never vacuumed or
	 * analyzed: it may be about to be filled; assume ten heap pages' worth.
	 */
	if (live == 0 && rel->rd_rel->reltuples < 0 &&
		!rel->rd_rel->relhassubclass)
	{
		int32		width = get_rel_data_width(rel, attr_widths);
		double		density;

		width += MAXALIGN(SizeofHeapTupleHeader) + sizeof(ItemIdData);
		density = (BLCKSZ - SizeOfPageHeaderData) / (double) width;
		*pages = 10;
		*tuples = rint(density * 10);
	}
}
