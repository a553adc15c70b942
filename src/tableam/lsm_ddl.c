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
#include "storage/smgr.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/tuplesort.h"

#include "lsm_am.h"
#include "catalog/lsm_catalog.h"
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
	int64	   *deleted;

	segs = lsm_catalog_segments(lsm_relation_storage_id(rel), snapshot);
	for (i = 0; i < segs->nsegs; i++)
		n += segs->segs[i].row_count - segs->segs[i].deleted_count;
	deleted = lsm_catalog_deleted_set(lsm_relation_storage_id(rel), snapshot,
									  &ndeleted);
	if (deleted)
		pfree(deleted);
	return n + lsm_memtable_buffered_rows(rel) - ndeleted;
}

/* State of the index bulk-delete callback: dead rowids, sorted. */
typedef struct LsmVacuumDead
{
	int64	   *rowids;
	int			n;
} LsmVacuumDead;

static bool
lsm_vacuum_tid_dead(ItemPointer itemptr, void *state)
{
	LsmVacuumDead *dead = state;
	int64		rowid = lsm_tid_to_rowid(itemptr);
	int			lo = 0,
				hi = dead->n - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (dead->rowids[mid] == rowid)
			return true;
		if (dead->rowids[mid] < rowid)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return false;
}

/*
 * Plain VACUUM (and autovacuum): remove the index entries of rows whose
 * delete every snapshot sees (settled deletes older than the table's
 * visibility horizon), then report statistics.  The rows themselves stay
 * in their segments until compaction folds the deletes into bitmaps.
 */
void
lsm_relation_vacuum(Relation rel, struct VacuumParams *params,
					BufferAccessStrategy bstrategy)
{
	Snapshot	snapshot = RegisterSnapshot(GetLatestSnapshot());
	int64		live = lsm_live_row_count(rel, snapshot);
	TransactionId horizon = GetOldestNonRemovableTransactionId(rel);
	LsmVacuumDead dead;
	int			elevel = (params->options & VACOPT_VERBOSE) ? INFO : DEBUG2;

	UnregisterSnapshot(snapshot);
	dead.rowids = lsm_catalog_settled_deletes(lsm_relation_storage_id(rel),
											  horizon, &dead.n);
	if (dead.n > 0 && rel->rd_rel->relhasindex)
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
			(errmsg("\"%s\": %lld live rows, %d settled deletes",
					RelationGetRelationName(rel), (long long) live, dead.n)));

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
