/*-------------------------------------------------------------------------
 *
 * lsm_index.c
 *	  Index builds over lsm tables: index_build_range_scan (CREATE INDEX,
 *	  parallel builds, BRIN summarisation of block ranges) and
 *	  index_validate_scan (second pass of CREATE INDEX CONCURRENTLY).
 *
 * NOTES
 *	  The table scan returns rows in TID order (see lsm_scan.c), which BRIN
 *	  needs to form its ranges and the validation merge needs to walk the
 *	  sorted index TIDs alongside.  A BRIN range [start, start + numblocks)
 *	  of virtual blocks is a TID range scan.
 *
 *	  Rows a snapshot sees are reported alive; deleted rows are left out
 *	  (and the index marked as not usable by older snapshots).  A parallel
 *	  btree build hands each participant a parallel table scan, which
 *	  claims work units of the segments; the leader also reads its own
 *	  buffered rows (it always participates in btree builds).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/relscan.h"
#include "access/tableam.h"
#include "catalog/index.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/tuplesort.h"

#include "lsm_am.h"
#include "catalog/lsm_catalog.h"
#include "storage/lsm_storage.h"
#include "scan/lsm_scan.h"
#include "tableam/lsm_tableam.h"

double
lsm_index_build_range_scan(Relation tableRelation, Relation indexRelation,
						   IndexInfo *indexInfo, bool allow_sync,
						   bool anyvisible, bool progress,
						   BlockNumber start_blockno, BlockNumber numblocks,
						   IndexBuildCallback callback, void *callback_state,
						   TableScanDesc scan)
{
	EState	   *estate = CreateExecutorState();
	ExprContext *econtext = GetPerTupleExprContext(estate);
	TupleTableSlot *slot = table_slot_create(tableRelation, NULL);
	ExprState  *predicate;
	Datum		values[INDEX_MAX_KEYS];
	bool		isnull[INDEX_MAX_KEYS];
	Snapshot	snapshot = NULL;
	bool		own_scan = (scan == NULL);
	bool		ranged = (start_blockno != 0 || numblocks != InvalidBlockNumber);
	double		reltuples = 0;

	econtext->ecxt_scantuple = slot;
	predicate = ExecPrepareQual(indexInfo->ii_Predicate, estate);

	/*
	 * Deleted rows are left out of the index.  An older snapshot may still
	 * see some of them, so, as heap does for broken HOT chains, tell
	 * PostgreSQL to keep transactions older than the index from using it.
	 */
	if (lsm_catalog_has_deletes(lsm_relation_storage_id(tableRelation)))
		indexInfo->ii_BrokenHotChain = true;

	if (own_scan)
	{
		snapshot = RegisterSnapshot(GetTransactionSnapshot());
		scan = table_beginscan_strat(tableRelation, snapshot, 0, NULL, true,
									 allow_sync);
	}
	else
	{
		/*
		 * The caller's scan: a parallel build's (each participant claims
		 * parts of the table, lsm_scan.c) or amcheck's.  A non-concurrent
		 * parallel build shares SnapshotAny, which sees deleted rows; leave
		 * out those whose delete is committed or ours, as the serial build's
		 * snapshot would (no other transaction can delete under our
		 * ShareLock).  Every participant derives the same set.
		 */
		if (ranged)
			elog(ERROR, "a parallel index build cannot scan a block range");
		if (scan->rs_snapshot->snapshot_type == SNAPSHOT_ANY)
			lsm_scan_add_deletes(scan, SnapshotSelf);
	}
	if (ranged)
	{
		ItemPointerData mintid;
		ItemPointerData maxtid;
		BlockNumber last;

		if (numblocks == InvalidBlockNumber ||
			start_blockno + numblocks < start_blockno)
			last = MaxBlockNumber;
		else
			last = start_blockno + numblocks - 1;
		ItemPointerSet(&mintid, start_blockno, 1);
		ItemPointerSet(&maxtid, last, MaxHeapTuplesPerPage);
		lsm_scan_set_tidrange(scan, &mintid, &maxtid);
	}

	while (ranged ?
		   lsm_scan_getnextslot_tidrange(scan, ForwardScanDirection, slot) :
		   lsm_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		CHECK_FOR_INTERRUPTS();
		MemoryContextReset(econtext->ecxt_per_tuple_memory);
		if (predicate != NULL && !ExecQual(predicate, econtext))
			continue;
		FormIndexDatum(indexInfo, slot, estate, values, isnull);
		callback(indexRelation, &slot->tts_tid, values, isnull, true,
				 callback_state);
		reltuples += 1;
	}

	table_endscan(scan);
	if (own_scan)
		UnregisterSnapshot(snapshot);
	ExecDropSingleTupleTableSlot(slot);
	FreeExecutorState(estate);
	indexInfo->ii_ExpressionsState = NIL;
	indexInfo->ii_PredicateState = NULL;
	return reltuples;
}

/*
 * Insert into the index every row the snapshot sees that the index does
 * not have yet.  state->tuplesort holds the index's TIDs, sorted.
 */
void
lsm_index_validate_scan(Relation tableRelation, Relation indexRelation,
						IndexInfo *indexInfo, Snapshot snapshot,
						ValidateIndexState *state)
{
	EState	   *estate = CreateExecutorState();
	ExprContext *econtext = GetPerTupleExprContext(estate);
	TupleTableSlot *slot = table_slot_create(tableRelation, NULL);
	ExprState  *predicate;
	Datum		values[INDEX_MAX_KEYS];
	bool		isnull[INDEX_MAX_KEYS];
	TableScanDesc scan;
	int64		indexcursor = -1;
	bool		tuplesort_empty = false;

	econtext->ecxt_scantuple = slot;
	predicate = ExecPrepareQual(indexInfo->ii_Predicate, estate);
	scan = table_beginscan_strat(tableRelation, snapshot, 0, NULL, true, false);

	while (lsm_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		int64		encoded = (int64) itemptr_encode(&slot->tts_tid);

		CHECK_FOR_INTERRUPTS();
		state->htups += 1;

		while (!tuplesort_empty && indexcursor < encoded)
		{
			Datum		ts_val;
			bool		ts_isnull;

			tuplesort_empty = !tuplesort_getdatum(state->tuplesort, true,
												  &ts_val, &ts_isnull, NULL);
			if (!tuplesort_empty)
				indexcursor = DatumGetInt64(ts_val);
		}
		if (!tuplesort_empty && indexcursor == encoded)
			continue;

		MemoryContextReset(econtext->ecxt_per_tuple_memory);
		if (predicate != NULL && !ExecQual(predicate, econtext))
			continue;
		FormIndexDatum(indexInfo, slot, estate, values, isnull);
		index_insert(indexRelation, values, isnull, &slot->tts_tid,
					 tableRelation,
					 indexInfo->ii_Unique ? UNIQUE_CHECK_YES : UNIQUE_CHECK_NO,
					 false, indexInfo);
		state->tups_inserted += 1;
	}

	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	FreeExecutorState(estate);
	indexInfo->ii_ExpressionsState = NIL;
	indexInfo->ii_PredicateState = NULL;
}
