/*-------------------------------------------------------------------------
 *
 * lsm_handler.c
 *	  The table access method handler: the TableAmRoutine of lsm tables and
 *	  the small callbacks that only delegate.
 *
 * NOTES
 *	  Writes go to the transaction's write buffers (src/txn), reads to the
 *	  scan layer (src/scan), storage lifecycle to lsm_ddl.c, index builds to
 *	  lsm_index.c, UPDATE/DELETE/row locks to src/txn/lsm_dml.c.
 *
 *	  Slots are virtual slots that also answer xmin (see LsmTupleTableSlot):
 *	  segments hold no transaction ids, so a committed row reports
 *	  FrozenTransactionId and a row of the current transaction its xid.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_am_d.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "pgstat.h"
#include "storage/predicate.h"
#include "utils/rel.h"

#include "lsm_am.h"
#include "scan/lsm_scan.h"
#include "storage/lsm_storage.h"
#include "tableam/lsm_tableam.h"
#include "txn/lsm_txn.h"

PG_FUNCTION_INFO_V1(lsm_tableam_handler);

static const TupleTableSlotOps *
lsm_slot_callbacks(Relation relation)
{
	return lsm_slot_ops();
}

/* ---- writes ---- */

static void
lsm_tuple_insert(Relation rel, TupleTableSlot *slot, CommandId cid,
				 int options, BulkInsertState bistate)
{
	/* after the row's rowids are findable (see lsm_predicate_read) */
	lsm_memtable_insert(rel, slot, cid, false);
	CheckForSerializableConflictIn(rel, NULL, InvalidBlockNumber);
	pgstat_count_heap_insert(rel, 1);
}

static void
lsm_tuple_insert_speculative(Relation rel, TupleTableSlot *slot,
							 CommandId cid, int options,
							 BulkInsertState bistate, uint32 specToken)
{
	/*
	 * The row stays in this backend's buffer until confirmed.  Other
	 * sessions meet our rowid reservation; the registry tells them the
	 * token to wait on (lsm_specins.c).  It must be filled before the
	 * executor makes the row's index entries, which is after we return.
	 */
	lsm_memtable_insert(rel, slot, cid, true);
	lsm_specins_begin(lsm_relation_storage_id(rel),
					  lsm_tid_to_rowid(&slot->tts_tid), specToken);
	CheckForSerializableConflictIn(rel, NULL, InvalidBlockNumber);
	pgstat_count_heap_insert(rel, 1);
}

static void
lsm_tuple_complete_speculative(Relation rel, TupleTableSlot *slot,
							   uint32 specToken, bool succeeded)
{
	/* the executor releases the token lock after we return */
	if (!succeeded)
		lsm_memtable_abandon_row(rel, lsm_tid_to_rowid(&slot->tts_tid));
	lsm_specins_end(succeeded);
	lsm_memtable_maybe_flush(rel);
}

static void
lsm_multi_insert(Relation rel, TupleTableSlot **slots, int ntuples,
				 CommandId cid, int options, BulkInsertState bistate)
{
	int			i;

	for (i = 0; i < ntuples; i++)
		lsm_memtable_insert(rel, slots[i], cid, false);
	if (ntuples > 0)
		CheckForSerializableConflictIn(rel, NULL, InvalidBlockNumber);
	pgstat_count_heap_insert(rel, ntuples);
}

static void
lsm_finish_bulk_insert(Relation rel, int options)
{
	/*
	 * A table created in this transaction may be a rewrite's transient
	 * table, which is swapped and dropped before commit: its rows must be
	 * in segments by then.
	 */
	if (rel->rd_createSubid != InvalidSubTransactionId ||
		rel->rd_firstRelfilenodeSubid != InvalidSubTransactionId)
		lsm_memtable_flush_relation(rel);
}

static TransactionId
lsm_index_delete_tuples(Relation rel, TM_IndexDeleteOp *delstate)
{
	/*
	 * Report nothing deletable: index entries of deleted rows are removed by
	 * VACUUM (relation_vacuum), which knows the global horizon; saying a
	 * live row is dead here would lose index entries.
	 */
	delstate->ndeltids = 0;
	return InvalidTransactionId;
}

/* ---- TOAST: values are stored whole in segments ---- */

static bool
lsm_relation_needs_toast_table(Relation rel)
{
	return false;
}

static Oid
lsm_relation_toast_am(Relation rel)
{
	return HEAP_TABLE_AM_OID;
}

static const TableAmRoutine lsm_methods = {
	.type = T_TableAmRoutine,

	.slot_callbacks = lsm_slot_callbacks,

	.scan_begin = lsm_scan_begin,
	.scan_end = lsm_scan_end,
	.scan_rescan = lsm_scan_rescan,
	.scan_getnextslot = lsm_scan_getnextslot,

	.scan_set_tidrange = lsm_scan_set_tidrange,
	.scan_getnextslot_tidrange = lsm_scan_getnextslot_tidrange,

	.parallelscan_estimate = lsm_parallelscan_estimate,
	.parallelscan_initialize = lsm_parallelscan_initialize,
	.parallelscan_reinitialize = lsm_parallelscan_reinitialize,

	.index_fetch_begin = lsm_index_fetch_begin,
	.index_fetch_reset = lsm_index_fetch_reset,
	.index_fetch_end = lsm_index_fetch_end,
	.index_fetch_tuple = lsm_index_fetch_tuple,

	.tuple_fetch_row_version = lsm_tuple_fetch_row_version,
	.tuple_tid_valid = lsm_tuple_tid_valid,
	.tuple_get_latest_tid = lsm_tuple_get_latest_tid,
	.tuple_satisfies_snapshot = lsm_tuple_satisfies_snapshot,
	.index_delete_tuples = lsm_index_delete_tuples,

	.tuple_insert = lsm_tuple_insert,
	.tuple_insert_speculative = lsm_tuple_insert_speculative,
	.tuple_complete_speculative = lsm_tuple_complete_speculative,
	.multi_insert = lsm_multi_insert,
	.tuple_delete = lsm_tuple_delete,
	.tuple_update = lsm_tuple_update,
	.tuple_lock = lsm_tuple_lock,
	.finish_bulk_insert = lsm_finish_bulk_insert,

	.relation_set_new_filenode = lsm_relation_set_new_filenode,
	.relation_nontransactional_truncate = lsm_relation_nontransactional_truncate,
	.relation_copy_data = lsm_relation_copy_data,
	.relation_copy_for_cluster = lsm_relation_copy_for_cluster,
	.relation_vacuum = lsm_relation_vacuum,
	.scan_analyze_next_block = lsm_scan_analyze_next_block,
	.scan_analyze_next_tuple = lsm_scan_analyze_next_tuple,
	.index_build_range_scan = lsm_index_build_range_scan,
	.index_validate_scan = lsm_index_validate_scan,

	.relation_size = lsm_relation_size,
	.relation_needs_toast_table = lsm_relation_needs_toast_table,
	.relation_toast_am = lsm_relation_toast_am,
	.relation_fetch_toast_slice = NULL,

	.relation_estimate_size = lsm_relation_estimate_size,

	.scan_bitmap_next_block = lsm_scan_bitmap_next_block,
	.scan_bitmap_next_tuple = lsm_scan_bitmap_next_tuple,
	.scan_sample_next_block = lsm_scan_sample_next_block,
	.scan_sample_next_tuple = lsm_scan_sample_next_tuple
};

Datum
lsm_tableam_handler(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(&lsm_methods);
}
