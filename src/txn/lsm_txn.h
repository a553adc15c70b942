/*-------------------------------------------------------------------------
 *
 * lsm_txn.h
 *	  Per-transaction write buffers (memtables), rowid batches and the
 *	  flush of a buffer into a level-0 segment.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LSM_TXN_H
#define LSM_TXN_H

#include "access/tableam.h"
#include "access/tupdesc.h"
#include "executor/tuptable.h"
#include "storage/relfilenode.h"
#include "utils/rel.h"

#include "format/lsm_format.h"

/* One buffered row. */
typedef struct LsmMemRow
{
	int64		rowid;
	CommandId	cid;
	MinimalTuple tuple;
} LsmMemRow;

/* Rows taken from one rowid batch, ascending by rowid. */
typedef struct LsmMemRun
{
	int			nrows;
	int			cap;
	LsmMemRow  *rows;
} LsmMemRun;

/*
 * The rows a (relation, subtransaction level) has buffered.  A scan that
 * reads a buffer pins it (refcount); a flush or discard detaches the buffer
 * and frees it once the last reader lets go.
 */
typedef struct LsmMemBuffer
{
	MemoryContext cxt;			/* holds the buffer and all its rows */
	TupleDesc	tupdesc;		/* the descriptor rows were formed with */
	int			nruns;
	int			maxruns;
	LsmMemRun  *runs;			/* ascending, non-overlapping */
	int64		nrows;
	Size		bytes;
	int			refcount;
	bool		detached;
} LsmMemBuffer;

/* lsm_memtable.c */
extern void lsm_txn_init(void);
extern void lsm_memtable_insert(Relation rel, TupleTableSlot *slot,
								CommandId cid, bool speculative);
extern void lsm_memtable_abandon_row(Relation rel, int64 rowid);
extern void lsm_memtable_maybe_flush(Relation rel);
extern void lsm_memtable_flush_relation(Relation rel);
extern void lsm_memtable_discard_relation(Oid relid);
extern int	lsm_memtable_pin(Relation rel, LsmMemBuffer ***bufs);
extern void lsm_memtable_unpin(LsmMemBuffer **bufs, int nbufs);
extern const LsmMemRow *lsm_memtable_find(Relation rel, int64 rowid,
										  TupleDesc *tupdesc);
extern int64 lsm_memtable_buffered_rows(Relation rel);
extern bool lsm_memtable_has_rows(Relation rel);
extern bool lsm_memtable_parallel_ok(void);
extern bool lsm_memtable_flush_for_parallel(void);

/* lsm_dml.c */
extern TM_Result lsm_tuple_delete(Relation rel, ItemPointer tid, CommandId cid,
								  Snapshot snapshot, Snapshot crosscheck,
								  bool wait, TM_FailureData *tmfd,
								  bool changingPart);
extern TM_Result lsm_tuple_update(Relation rel, ItemPointer otid,
								  TupleTableSlot *slot, CommandId cid,
								  Snapshot snapshot, Snapshot crosscheck,
								  bool wait, TM_FailureData *tmfd,
								  LockTupleMode *lockmode,
								  bool *update_indexes);
extern TM_Result lsm_tuple_lock(Relation rel, ItemPointer tid, Snapshot snapshot,
								TupleTableSlot *slot, CommandId cid,
								LockTupleMode mode, LockWaitPolicy wait_policy,
								uint8 flags, TM_FailureData *tmfd);
extern void lsm_tuple_get_latest_tid(TableScanDesc scan, ItemPointer tid);
extern void lsm_dml_subxact_end(bool commit);
extern void lsm_dml_release_locks(void);
extern void lsm_dml_xact_end(void);
extern void lsm_predicate_read(Relation rel, Snapshot snapshot);
extern void lsm_predicate_conflicts_out(Relation rel, Snapshot snapshot);
extern void lsm_predicate_conflict_out_xid(Relation rel, TransactionId xid,
										   Snapshot snapshot);

/* lsm_specins.c */
typedef enum LsmSpecState
{
	LSM_SPEC_UNKNOWN,			/* no speculative insertion we know of */
	LSM_SPEC_PENDING,			/* inserted, not confirmed yet */
	LSM_SPEC_GIVEN_UP			/* inserted and taken back */
} LsmSpecState;

extern void lsm_specins_init(void);
extern void lsm_specins_begin(uint64 storage_id, int64 rowid, uint32 token);
extern void lsm_specins_end(bool succeeded);
extern void lsm_specins_subxact_abort(void);
extern void lsm_specins_xact_end(void);
extern LsmSpecState lsm_specins_lookup(uint64 storage_id, int64 rowid,
									   TransactionId *spec_xid,
									   uint32 *token);

/* lsm_flush.c */
extern void lsm_flush_buffer(Relation rel, uint64 storage_id,
							 LsmMemBuffer *buf);
extern void lsm_write_rows(Relation rel, uint64 storage_id, TupleDesc tupdesc,
						   int nrows, const LsmMemRow *rows, bool with_cids);

struct LsmSegmentEntry;
typedef struct LsmSegBuilder LsmSegBuilder;
extern void lsm_column_desc(Form_pg_attribute att, LsmColumnDesc *d);
extern LsmSegBuilder *lsm_segbuilder_begin(Relation rel, uint64 storage_id,
										   TupleDesc tupdesc, bool with_cids,
										   bool copy_values);
extern void lsm_segbuilder_add(LsmSegBuilder *b, int64 rowid, CommandId cid,
							   const Datum *values, const bool *isnull);
extern int64 lsm_segbuilder_nrows(const LsmSegBuilder *b);
extern bool lsm_segbuilder_finish(LsmSegBuilder *b, uint64 storage_id,
								  int level, struct LsmSegmentEntry *entry);
extern void lsm_segbuilder_discard(LsmSegBuilder *b);

/* lsm_reserve.c: rowid spans writers hold, in shared memory */
typedef struct LsmRowidSpan
{
	int64		lo;
	int64		hi;
} LsmRowidSpan;

extern void lsm_reserve_shmem_init(void);
extern bool lsm_reserve_extend(uint64 storage_id, int64 lo, int64 hi,
							   bool optional);
extern void lsm_reserve_withdraw(uint64 storage_id, int64 lo, int64 hi);
extern void lsm_reserve_clear(void);
extern void lsm_reserve_at_prepare(TransactionId xid);
extern bool lsm_reserve_exact(Relation rel, uint64 storage_id,
							  LsmRowidSpan **spans, int *nspans);
extern int	lsm_rowid_span_cmp(const void *a, const void *b);

#endif							/* LSM_TXN_H */
