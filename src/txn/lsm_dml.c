/*-------------------------------------------------------------------------
 *
 * lsm_dml.c
 *	  DELETE, UPDATE and row locks of lsm tables, with heap's semantics.
 *
 * NOTES
 *	  Rows in segments are immutable.  Deleting row r inserts a delete
 *	  record (storage id, r, successor) into lsm.deleted, as the deleting
 *	  (sub)transaction, so the delete is visible exactly as that catalog row
 *	  is: MVCC, rollback and subtransactions come from PostgreSQL.  An UPDATE
 *	  is a delete whose successor is the new version's rowid (the update
 *	  chain EvalPlanQual and tuple_lock follow) plus an insert.
 *
 *	  Write-write conflicts follow heap's protocol.  A deleter or locker
 *	  looks at the row's delete record and lock rows, and records its own,
 *	  under the row's *guard*: a heavyweight lock held only for that check-
 *	  and-record, never while waiting, which plays the part of heap's buffer
 *	  content lock.  The delete record's state decides: in progress -> wait
 *	  for that transaction and look again; committed -> TM_Updated (ctid =
 *	  successor) or TM_Deleted; ours -> TM_SelfModified.  Row locks are rows
 *	  of lsm.rowlock held while their inserting transaction runs (withdrawn
 *	  at pre-commit, like the rowid reservations); their modes conflict as
 *	  heap's tuple lock modes do.  Waiting uses XactLockTableWait, so the
 *	  deadlock detector sees it.
 *
 *	  Waiters queue as heap's do: one that must sleep first takes the
 *	  heavyweight tuple lock on the TID in the mode heap uses for its row
 *	  lock mode, and holds it while it waits and until its record is in
 *	  place, so later waiters line up behind it; one that need not sleep
 *	  takes no tuple lock and may pass the queue, as in heap.  A transaction
 *	  that already holds a lock on the row (an upgrade) does not queue:
 *	  it could deadlock with a waiter that waits for it.
 *
 *	  As in heap, an UPDATE that changes no key column (of a unique index
 *	  usable by foreign keys) holds FOR NO KEY UPDATE, so foreign-key checks
 *	  (FOR KEY SHARE) do not wait for it; other changes hold FOR UPDATE.  The
 *	  mode is kept in the delete record.  Heap carries a FOR KEY SHARE lock
 *	  on the old version over to the new one (a multixact); here whoever
 *	  needs a mode that conflicts with it looks at the locks of the
 *	  versions the row was updated from without a key change.
 *
 *	  In the common case -- no row of the table locked, no live delete
 *	  record of the row -- the check and the record are one step: the
 *	  record is inserted speculatively with a partial uniqueness check on
 *	  lsm.deleted's primary key, which looks at exactly what the probe of
 *	  the row's delete record would, and is killed again if that check
 *	  fails; the full protocol above then runs.
 *
 *	  SERIALIZABLE: reads take relation-level predicate locks and writes
 *	  check for rw-conflicts against them, so write skew is caught (at
 *	  relation granularity: more false positives than heap's tuple locks).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/subtrans.h"
#include "access/sysattr.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/lmgr.h"
#include "storage/predicate.h"
#include "storage/proc.h"
#include "utils/datum.h"
#include "utils/memutils.h"
#include "utils/relcache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "lsm_am.h"
#include "catalog/lsm_catalog.h"
#include "scan/lsm_scan.h"
#include "storage/lsm_storage.h"
#include "txn/lsm_txn.h"

/* Our row-lock records, withdrawn at pre-commit. */
typedef struct LsmHeldLock
{
	ItemPointerData tid;		/* of the lsm.rowlock row */
	int			nestlevel;
} LsmHeldLock;

static List *held_locks = NIL;	/* in TopTransactionContext */

static void
lsm_remember_lock(ItemPointerData tid)
{
	MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
	LsmHeldLock *h = palloc(sizeof(LsmHeldLock));

	h->tid = tid;
	h->nestlevel = GetCurrentTransactionNestLevel();
	held_locks = lappend(held_locks, h);
	MemoryContextSwitchTo(old);
}

/* Subtransaction end: aborted locks vanish with their rows; committed move up. */
void
lsm_dml_subxact_end(bool commit)
{
	int			level = GetCurrentTransactionNestLevel();
	ListCell   *lc;

	foreach(lc, held_locks)
	{
		LsmHeldLock *h = lfirst(lc);

		if (h->nestlevel < level)
			continue;
		if (commit)
			h->nestlevel = level - 1;
		else
			held_locks = foreach_delete_current(held_locks, lc);
	}
}

/* Pre-commit: withdraw our lock rows (they still hold until we commit). */
void
lsm_dml_release_locks(void)
{
	ListCell   *lc;

	if (held_locks == NIL)
		return;
	CommandCounterIncrement();
	foreach(lc, held_locks)
		lsm_catalog_delete_tid("rowlock", &((LsmHeldLock *) lfirst(lc))->tid);
	held_locks = NIL;
}

void
lsm_dml_xact_end(void)
{
	held_locks = NIL;
}

static void
lsm_fill_failure(TM_FailureData *tmfd, int64 rowid, const LsmDeleteProbe *p)
{
	if (p->successor >= 0)
		lsm_rowid_to_tid(p->successor, &tmfd->ctid);
	else if (p->successor == LSM_SUCCESSOR_MOVED)
		ItemPointerSetMovedPartitions(&tmfd->ctid);
	else
		lsm_rowid_to_tid(rowid, &tmfd->ctid);
	tmfd->xmax = p->xid;
	tmfd->cmax = p->state == LSM_DEL_OWN ? p->cid : InvalidCommandId;
}

/*
 * The row's guard: a heavyweight lock on a tag no row's tuple lock uses
 * (the TID with the top bit of the offset set; lsm offsets stay below
 * 292), held exclusively for the check-and-record of a delete or row lock.
 */
static ItemPointerData
lsm_guard_tid(ItemPointer tid)
{
	ItemPointerData g;

	ItemPointerSet(&g, ItemPointerGetBlockNumber(tid),
				   ItemPointerGetOffsetNumber(tid) | 0x8000);
	return g;
}

static void
lsm_guard_row(Relation rel, ItemPointer tid)
{
	ItemPointerData g = lsm_guard_tid(tid);

	LockTuple(rel, &g, ExclusiveLock);
}

static void
lsm_unguard_row(Relation rel, ItemPointer tid)
{
	ItemPointerData g = lsm_guard_tid(tid);

	UnlockTuple(rel, &g, ExclusiveLock);
}

/* Heavyweight lock mode of the tuple lock for a row lock mode (heap's). */
static LOCKMODE
lsm_tuplock_mode(LockTupleMode mode)
{
	switch (mode)
	{
		case LockTupleKeyShare:
			return AccessShareLock;
		case LockTupleShare:
			return RowShareLock;
		case LockTupleNoKeyExclusive:
			return ExclusiveLock;
		case LockTupleExclusive:
			break;
	}
	return AccessExclusiveLock;
}

/*
 * Take our place in the row's queue before sleeping on a conflicting
 * transaction (heap_acquire_tuplock): the tuple lock, kept until our
 * record is in place or we move on to another version.  Only sleepers
 * queue, so NOWAIT and SKIP LOCKED never get here.
 */
static void
lsm_queue_for_row(Relation rel, ItemPointer tid, LockTupleMode mode,
				  bool *have_tuplock)
{
	if (*have_tuplock)
		return;
	LockTuple(rel, tid, lsm_tuplock_mode(mode));
	*have_tuplock = true;
}

static void
lsm_leave_queue(Relation rel, ItemPointer tid, LockTupleMode mode,
				bool *have_tuplock)
{
	if (*have_tuplock)
		UnlockTuple(rel, tid, lsm_tuplock_mode(mode));
	*have_tuplock = false;
}

/* Is the row (inserted) visible to `snapshot`?  For crosscheck snapshots. */
static bool
lsm_row_visible(Relation rel, int64 rowid, Snapshot snapshot)
{
	LsmFetcher *f = lsm_fetcher_for(rel);
	TupleTableSlot *slot = MakeSingleTupleTableSlot(RelationGetDescr(rel),
													&TTSOpsVirtual);
	bool		found = lsm_fetch_row(f, rowid, snapshot, slot);

	ExecDropSingleTupleTableSlot(slot);
	return found;
}

/*
 * A running transaction holding a lock on `rowid`, or on an older version
 * it was updated from without a key change (heap carries such locks to the
 * new version), that conflicts with `mode`.
 */
static TransactionId
lsm_lock_conflict_along_chain(uint64 storage_id, int64 rowid, int mode,
							  int *own_mode)
{
	TransactionId locker;
	int			guard = 0;

	locker = lsm_catalog_rowlock_conflict(storage_id, rowid, mode, own_mode);

	/*
	 * Running lockers of an older version can only hold FOR KEY SHARE
	 * (anything stronger made the update wait for them), which conflicts
	 * only with FOR UPDATE: a key-keeping UPDATE need not look.
	 */
	if (!lsm_lock_modes_conflict(LockTupleKeyShare, mode))
		return locker;
	while (!TransactionIdIsValid(locker) && guard++ < 1000)
	{
		int			older_own;

		rowid = lsm_catalog_key_keeping_predecessor(storage_id, rowid);
		if (rowid < 0)
			break;
		locker = lsm_catalog_rowlock_conflict(storage_id, rowid, mode,
											  &older_own);
		/* heap's lockers of an older version are members of the newer */
		*own_mode = Max(*own_mode, older_own);
	}
	return locker;
}

/*
 * Delete `rowid` (recording `successor`) unless a concurrent writer got
 * there first.  The heap protocol: see the file header.  `mode` is the row
 * lock the change implies (FOR UPDATE, or FOR NO KEY UPDATE for an UPDATE
 * that keeps the key).
 */
static TM_Result
lsm_delete_row(Relation rel, int64 rowid, int64 successor, CommandId cid,
			   Snapshot crosscheck, bool wait, TM_FailureData *tmfd,
			   LockTupleMode mode)
{
	uint64		storage_id = lsm_relation_storage_id(rel);
	ItemPointerData tid;
	LsmDeleteProbe probe;
	bool		have_tuplock = false;
	TM_Result	result;

	if (rowid < 0)
		elog(ERROR, "invalid TID for lsm table \"%s\"", RelationGetRelationName(rel));
	lsm_rowid_to_tid(rowid, &tid);
	CheckForSerializableConflictIn(rel, &tid, ItemPointerGetBlockNumber(&tid));

	for (;;)
	{
		TransactionId wait_for;
		int			own_mode = -1;

		CHECK_FOR_INTERRUPTS();
		lsm_guard_row(rel, &tid);

		/*
		 * The common case, in one step: no row of the table is locked, no
		 * crosscheck snapshot, and no live delete record of the row (which
		 * inserting ours tests as part of the primary key's uniqueness
		 * check on lsm.deleted).  Otherwise nothing changed, and the steps
		 * below find out what stands in the way.
		 */
		if (crosscheck == InvalidSnapshot &&
			!lsm_catalog_has_rowlocks(storage_id) &&
			lsm_catalog_try_insert_delete(storage_id, rowid, successor,
										  (int) mode))
		{
			result = TM_Ok;
			break;
		}

		lsm_catalog_probe_delete(storage_id, rowid, &probe);
		if (probe.state == LSM_DEL_OWN)
		{
			lsm_fill_failure(tmfd, rowid, &probe);
			result = TM_SelfModified;
			break;
		}
		if (probe.state == LSM_DEL_COMMITTED)
		{
			lsm_fill_failure(tmfd, rowid, &probe);
			result = probe.successor == LSM_SUCCESSOR_NONE ? TM_Deleted : TM_Updated;
			break;
		}

		/*
		 * A running deleter, or a running locker whose lock conflicts.
		 * Lockers of this row take the guard we hold, so none can appear
		 * on it before our delete record is in place.  One probe answers
		 * for the row and every version it was updated from when the table
		 * has no row lock at all (the common case).
		 */
		if (lsm_catalog_has_rowlocks(storage_id))
			wait_for = lsm_lock_conflict_along_chain(storage_id, rowid,
													 (int) mode, &own_mode);
		else
			wait_for = InvalidTransactionId;
		if (probe.state == LSM_DEL_IN_PROGRESS)
			wait_for = probe.xid;
		if (TransactionIdIsValid(wait_for))
		{
			lsm_unguard_row(rel, &tid);
			if (!wait)
			{
				if (probe.state == LSM_DEL_IN_PROGRESS)
					lsm_fill_failure(tmfd, rowid, &probe);
				else
				{
					memset(tmfd, 0, sizeof(TM_FailureData));
					tmfd->ctid = tid;
					tmfd->xmax = wait_for;
				}
				lsm_leave_queue(rel, &tid, mode, &have_tuplock);
				return TM_BeingModified;
			}
			/* in line behind earlier waiters, unless we hold a lock on it */
			if (own_mode < 0)
				lsm_queue_for_row(rel, &tid, mode, &have_tuplock);
			XactLockTableWait(wait_for, rel, &tid,
							  successor >= 0 ? XLTW_Update : XLTW_Delete);
			continue;
		}

		/* REPEATABLE READ foreign-key checks pass a crosscheck snapshot */
		if (crosscheck != InvalidSnapshot && !lsm_row_visible(rel, rowid, crosscheck))
		{
			memset(tmfd, 0, sizeof(TM_FailureData));
			tmfd->ctid = tid;
			result = TM_Updated;
			break;
		}

		lsm_catalog_insert_delete(storage_id, rowid, successor, (int) mode);
		result = TM_Ok;
		break;
	}

	/*
	 * Again now that the delete record is there: a SERIALIZABLE reader
	 * that locked the table since the check above finds the record
	 * (lsm_predicate_read); one that locks it later is found here.
	 */
	if (result == TM_Ok)
		CheckForSerializableConflictIn(rel, &tid, ItemPointerGetBlockNumber(&tid));
	lsm_unguard_row(rel, &tid);
	lsm_leave_queue(rel, &tid, mode, &have_tuplock);
	return result;
}

TM_Result
lsm_tuple_delete(Relation rel, ItemPointer tid, CommandId cid,
				 Snapshot snapshot, Snapshot crosscheck, bool wait,
				 TM_FailureData *tmfd, bool changingPart)
{
	TM_Result	result;

	result = lsm_delete_row(rel, lsm_tid_to_rowid(tid),
							changingPart ? LSM_SUCCESSOR_MOVED : LSM_SUCCESSOR_NONE,
							cid, crosscheck, wait, tmfd, LockTupleExclusive);
	if (result == TM_Ok)
		pgstat_count_heap_delete(rel);
	return result;
}

/*
 * The row lock an UPDATE implies, as heap decides it: FOR NO KEY UPDATE
 * unless a column of a unique index usable by foreign keys changes.
 */
static LockTupleMode
lsm_update_lock_mode(Relation rel, ItemPointer otid, TupleTableSlot *newslot)
{
	Bitmapset  *keyattrs = RelationGetIndexAttrBitmap(rel, INDEX_ATTR_BITMAP_KEY);
	LockTupleMode mode = LockTupleNoKeyExclusive;
	TupleTableSlot *old;
	LsmFetcher *f;
	int			x = -1;

	if (bms_is_empty(keyattrs))
		return mode;
	old = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsVirtual);
	f = lsm_fetcher_for(rel);
	if (!lsm_fetch_row(f, lsm_tid_to_rowid(otid), SnapshotAny, old))
		mode = LockTupleExclusive;
	else
	{
		slot_getallattrs(newslot);
		while (mode == LockTupleNoKeyExclusive &&
			   (x = bms_next_member(keyattrs, x)) >= 0)
		{
			int			attnum = x + FirstLowInvalidHeapAttributeNumber;
			Form_pg_attribute att;

			if (attnum <= 0)
				continue;
			att = TupleDescAttr(RelationGetDescr(rel), attnum - 1);
			if (old->tts_isnull[attnum - 1] != newslot->tts_isnull[attnum - 1] ||
				(!old->tts_isnull[attnum - 1] &&
				 !datumIsEqual(old->tts_values[attnum - 1],
							   newslot->tts_values[attnum - 1],
							   att->attbyval, att->attlen)))
				mode = LockTupleExclusive;
		}
	}
	ExecDropSingleTupleTableSlot(old);
	return mode;
}

TM_Result
lsm_tuple_update(Relation rel, ItemPointer otid, TupleTableSlot *slot,
				 CommandId cid, Snapshot snapshot, Snapshot crosscheck,
				 bool wait, TM_FailureData *tmfd, LockTupleMode *lockmode,
				 bool *update_indexes)
{
	TM_Result	result;
	int64		newrowid;

	/*
	 * The executor uses *lockmode for its EvalPlanQual lock when we report
	 * a concurrent update, so it must be set whatever the result.
	 */
	*lockmode = lsm_update_lock_mode(rel, otid, slot);
	*update_indexes = true;

	/* the new version first, so the delete record can name it */
	lsm_memtable_insert(rel, slot, cid, true);
	newrowid = lsm_tid_to_rowid(&slot->tts_tid);
	result = lsm_delete_row(rel, lsm_tid_to_rowid(otid), newrowid, cid,
							crosscheck, wait, tmfd, *lockmode);
	if (result != TM_Ok)
	{
		lsm_memtable_abandon_row(rel, newrowid);
		return result;
	}
	lsm_memtable_maybe_flush(rel);
	pgstat_count_heap_update(rel, false);
	return TM_Ok;
}

static void lsm_lock_not_available(Relation rel) pg_attribute_noreturn();
static void lsm_lock_moved_partition(void) pg_attribute_noreturn();

/* NOWAIT met a conflicting lock. */
static void
lsm_lock_not_available(Relation rel)
{
	ereport(ERROR,
			(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
			 errmsg("could not obtain lock on row in relation \"%s\"",
					RelationGetRelationName(rel))));
}

/* The version to lock went to another partition (heap's error). */
static void
lsm_lock_moved_partition(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
			 errmsg("tuple to be locked was already moved to another partition due to concurrent update")));
}

/*
 * Lock a row version (SELECT FOR ..., foreign-key checks, EvalPlanQual).
 * With TUPLE_LOCK_FLAG_FIND_LAST_VERSION, follows committed updates to the
 * newest version, locks that one and reports tmfd->traversed.
 */
TM_Result
lsm_tuple_lock(Relation rel, ItemPointer tid, Snapshot snapshot,
			   TupleTableSlot *slot, CommandId cid, LockTupleMode mode,
			   LockWaitPolicy wait_policy, uint8 flags, TM_FailureData *tmfd)
{
	uint64		storage_id = lsm_relation_storage_id(rel);
	int64		rowid = lsm_tid_to_rowid(tid);
	ItemPointerData cur;
	LsmDeleteProbe probe;
	bool		key_share_chain = false;
	bool		have_tuplock = false;

	memset(tmfd, 0, sizeof(TM_FailureData));
	tmfd->traversed = false;
	if (rowid < 0)
		return TM_Invisible;

	for (;;)
	{
		TransactionId wait_for = InvalidTransactionId;
		int			own_mode;

		CHECK_FOR_INTERRUPTS();
		key_share_chain = false;
		lsm_rowid_to_tid(rowid, &cur);
		lsm_guard_row(rel, &cur);

		lsm_catalog_probe_delete(storage_id, rowid, &probe);
		if (probe.state == LSM_DEL_OWN)
		{
			lsm_unguard_row(rel, &cur);
			lsm_leave_queue(rel, &cur, mode, &have_tuplock);

			/*
			 * Reached along the chain of another session's update: like
			 * heap's walk with a dirty snapshot, step over versions this
			 * transaction changed, whatever command did it, to the newest
			 * one (whose inserting command is checked below).
			 */
			if (tmfd->traversed)
			{
				if (probe.successor >= 0)
				{
					rowid = probe.successor;
					continue;
				}
				if (probe.successor == LSM_SUCCESSOR_MOVED)
					lsm_lock_moved_partition();
				lsm_fill_failure(tmfd, rowid, &probe);
				return TM_Deleted;
			}
			lsm_fill_failure(tmfd, rowid, &probe);
			if (probe.cid >= cid)
				return TM_SelfModified;
			return TM_Invisible;
		}
		/*
		 * An UPDATE that kept the key does not conflict with FOR KEY SHARE:
		 * like heap, lock the version we were given (the foreign-key check
		 * sees the key it asked about) and carry the lock along the chain.
		 */
		if ((probe.state == LSM_DEL_COMMITTED || probe.state == LSM_DEL_IN_PROGRESS) &&
			probe.successor >= 0 && mode == LockTupleKeyShare &&
			!lsm_lock_modes_conflict(probe.lockmode, (int) mode))
		{
			key_share_chain = true;
			probe.state = LSM_DEL_NONE;
		}
		if (probe.state == LSM_DEL_COMMITTED)
		{
			lsm_unguard_row(rel, &cur);
			lsm_leave_queue(rel, &cur, mode, &have_tuplock);
			if ((flags & TUPLE_LOCK_FLAG_FIND_LAST_VERSION) && probe.successor >= 0)
			{
				rowid = probe.successor;
				tmfd->traversed = true;
				continue;
			}
			if ((flags & TUPLE_LOCK_FLAG_FIND_LAST_VERSION) &&
				probe.successor == LSM_SUCCESSOR_MOVED)
				lsm_lock_moved_partition();
			lsm_fill_failure(tmfd, rowid, &probe);
			return probe.successor == LSM_SUCCESSOR_NONE ? TM_Deleted : TM_Updated;
		}
		/*
		 * A lock on this version, or a FOR KEY SHARE lock on one it was
		 * updated from without a key change (heap carries those to the new
		 * version), that conflicts with ours; a running UPDATE that keeps
		 * the key does not block FOR KEY SHARE.
		 */
		own_mode = -1;
		if (lsm_catalog_has_rowlocks(storage_id))
			wait_for = lsm_lock_conflict_along_chain(storage_id, rowid,
													 (int) mode, &own_mode);
		if (probe.state == LSM_DEL_IN_PROGRESS &&
			lsm_lock_modes_conflict(probe.lockmode, (int) mode))
			wait_for = probe.xid;

		/* we hold a lock at least as strong already */
		if (own_mode >= (int) mode && probe.state == LSM_DEL_NONE)
			wait_for = InvalidTransactionId;
		if (TransactionIdIsValid(wait_for))
		{
			lsm_unguard_row(rel, &cur);
			if (wait_policy != LockWaitBlock)
			{
				lsm_leave_queue(rel, &cur, mode, &have_tuplock);
				if (wait_policy == LockWaitSkip)
					return TM_WouldBlock;
				lsm_lock_not_available(rel);
			}
			/* in line behind earlier waiters, unless this is an upgrade */
			if (own_mode < 0)
				lsm_queue_for_row(rel, &cur, mode, &have_tuplock);
			XactLockTableWait(wait_for, rel, &cur, XLTW_Lock);
			continue;
		}
		/*
		 * A row inserted by this very command (or a later one) is
		 * invisible to it (heap's TM_Invisible): ON CONFLICT DO UPDATE must
		 * not touch a row the same statement proposed.  Reached along an
		 * update chain, it is TM_SelfModified with its command id as cmax,
		 * as heap reports it: the executor skips the row if the current
		 * command made it and fails otherwise (a trigger or function of
		 * the command changed the row).
		 */
		{
			LsmFetcher *f = lsm_fetcher_for(rel);
			bool		found = lsm_fetch_row(f, rowid, SnapshotAny, slot);
			CommandId	rowcid = lsm_fetcher_last_cid(f);

			if (found)
				ExecMaterializeSlot(slot);
			if (!found || (rowcid != InvalidCommandId && rowcid >= cid))
			{
				lsm_unguard_row(rel, &cur);
				lsm_leave_queue(rel, &cur, mode, &have_tuplock);
				if (found && tmfd->traversed)
				{
					tmfd->ctid = cur;
					tmfd->xmax = GetCurrentTransactionIdIfAny();
					tmfd->cmax = rowcid;
					return TM_SelfModified;
				}
				return TM_Invisible;
			}
		}
		if (own_mode < (int) mode)
			lsm_remember_lock(lsm_catalog_insert_rowlock(storage_id, rowid, (int) mode));
		lsm_unguard_row(rel, &cur);
		lsm_leave_queue(rel, &cur, mode, &have_tuplock);

		/*
		 * FOR KEY SHARE on an old version also holds the newer ones, as
		 * heap's lock follows the update chain: a newer version that a
		 * running transaction deletes (or changes the key of) is waited
		 * for, and one whose key a committed transaction took away fails
		 * the lock like heap's (the key this lock protects is gone).
		 */
		if (key_share_chain)
		{
			int64		next = probe.successor;
			int			guard = 0;
			bool		restart = false;

			while (next >= 0 && guard++ < 1000)
			{
				LsmDeleteProbe p;

				lsm_catalog_probe_delete(storage_id, next, &p);
				if (p.state == LSM_DEL_IN_PROGRESS &&
					lsm_lock_modes_conflict(p.lockmode, (int) mode))
				{
					ItemPointerData ntid;

					if (wait_policy == LockWaitSkip)
						return TM_WouldBlock;
					if (wait_policy == LockWaitError)
						lsm_lock_not_available(rel);
					lsm_rowid_to_tid(next, &ntid);
					XactLockTableWait(p.xid, rel, &ntid, XLTW_LockUpdated);
					continue;	/* look at this version again */
				}
				if (p.state == LSM_DEL_COMMITTED &&
					lsm_lock_modes_conflict(p.lockmode, (int) mode))
				{
					if ((flags & TUPLE_LOCK_FLAG_FIND_LAST_VERSION) &&
						p.successor >= 0)
					{
						/* the key changed: lock the newest version instead */
						rowid = p.successor;
						tmfd->traversed = true;
						restart = true;
						break;
					}
					if ((flags & TUPLE_LOCK_FLAG_FIND_LAST_VERSION) &&
						p.successor == LSM_SUCCESSOR_MOVED)
						lsm_lock_moved_partition();
					lsm_fill_failure(tmfd, next, &p);
					return p.successor == LSM_SUCCESSOR_NONE ? TM_Deleted : TM_Updated;
				}
				lsm_remember_lock(lsm_catalog_insert_rowlock(storage_id, next, (int) mode));
				if (p.state != LSM_DEL_IN_PROGRESS && p.state != LSM_DEL_COMMITTED)
					break;		/* the newest version, or deleted by us */
				next = p.successor;
			}
			if (restart)
				continue;
		}
		break;
	}

	*tid = cur;
	return TM_Ok;
}

/*
 * Follow the update chain from *tid -- every update, committed, running or
 * our own, as heap follows t_ctid -- and leave *tid at the newest version
 * the scan's snapshot sees (unchanged if it sees none).  A version the
 * snapshot does not see does not end the walk: after two updates by our
 * own transaction the middle version is deleted for us, and WHERE CURRENT
 * OF of a cursor still on the first must reach the third.
 */
void
lsm_tuple_get_latest_tid(TableScanDesc scan, ItemPointer tid)
{
	Relation	rel = scan->rs_rd;
	uint64		storage_id = lsm_relation_storage_id(rel);
	int64		rowid = lsm_tid_to_rowid(tid);
	int			guard = 0;

	while (rowid >= 0 && guard++ < 100000)
	{
		LsmDeleteProbe probe;

		CHECK_FOR_INTERRUPTS();
		if (lsm_row_visible(rel, rowid, scan->rs_snapshot))
			lsm_rowid_to_tid(rowid, tid);
		lsm_catalog_probe_delete(storage_id, rowid, &probe);
		if (probe.state == LSM_DEL_NONE || probe.successor < 0)
			break;
		rowid = probe.successor;
	}
}

/*
 * lsm_predicate_read
 *		A read of `rel` under `snapshot` for SERIALIZABLE (scans): the
 *		table-level SIREAD lock, and the table's rw-conflicts out
 *		(lsm_predicate_conflicts_out).
 */
void
lsm_predicate_read(Relation rel, Snapshot snapshot)
{
	PredicateLockRelation(rel, snapshot);
	lsm_predicate_conflicts_out(rel, snapshot);
}

/*
 * lsm_predicate_conflicts_out
 *		Once per transaction and table: the rw-conflicts out to the
 *		transactions whose writes to the table `snapshot` does not see.
 *
 * Heap finds those conflicts tuple by tuple as it reads: a row it sees
 * although a concurrent transaction deleted it, a row it does not see
 * because a concurrent transaction inserted it.  A scan of an lsm table
 * reads at table granularity, so every writer of the table the snapshot
 * does not see counts (lsm_catalog_concurrent_writers).  Writers that come
 * after the reader's lock meet it in their own
 * CheckForSerializableConflictIn; a writer makes its write findable
 * (delete record, rowids in lsm.inflight) before that check, so none falls
 * between the two.  Point reads check the row they read instead
 * (lsm_fetch.c), and come here only for a row they cannot see.
 */
#define LSM_SSI_CHECKED		16

void
lsm_predicate_conflicts_out(Relation rel, Snapshot snapshot)
{
	static LocalTransactionId checked_lxid = InvalidLocalTransactionId;
	static Oid	checked[LSM_SSI_CHECKED];
	static int	nchecked = 0;
	Oid			relid = RelationGetRelid(rel);
	uint64		storage_id;
	TransactionId *xids;
	int			n;
	int			i;

	if (!CheckForSerializableConflictOutNeeded(rel, snapshot))
		return;
	if (checked_lxid != MyProc->lxid)
	{
		checked_lxid = MyProc->lxid;
		nchecked = 0;
	}
	for (i = 0; i < nchecked; i++)
		if (checked[i] == relid)
			return;
	storage_id = lsm_relation_storage_id(rel);
	if (storage_id == 0)
		return;
	xids = lsm_catalog_concurrent_writers(storage_id, snapshot, &n);
	for (i = 0; i < n; i++)
		lsm_predicate_conflict_out_xid(rel, xids[i], snapshot);
	if (xids)
		pfree(xids);
	if (nchecked < LSM_SSI_CHECKED)
		checked[nchecked++] = relid;
}

/* A rw-conflict out to the (sub)transaction `xid`, as heap reports one. */
void
lsm_predicate_conflict_out_xid(Relation rel, TransactionId xid,
							   Snapshot snapshot)
{
	TransactionId top;

	if (!TransactionIdIsNormal(xid) || TransactionIdIsCurrentTransactionId(xid) ||
		TransactionIdPrecedes(xid, TransactionXmin))
		return;
	top = SubTransGetTopmostTransaction(xid);
	if (TransactionIdPrecedes(top, TransactionXmin))
		return;
	CheckForSerializableConflictOut(rel, top, snapshot);
}
