/*-------------------------------------------------------------------------
 *
 * lsm_specins.c
 *	  Speculative insertions (INSERT ... ON CONFLICT) as other sessions see
 *	  them: the token to wait for, and the rows that were taken back.
 *
 * NOTES
 *	  A speculatively inserted row stays in its backend's write buffer until
 *	  the insertion is confirmed, so another session's unique check meets
 *	  it only as a reserved rowid (lsm.inflight) of a running transaction.
 *	  Heap tells such a checker the insertion's speculative token, and the
 *	  checker waits on that token (SpeculativeInsertionWait) instead of on
 *	  the whole transaction; when the inserter gives the row up ("super-
 *	  deletes" it), the row is dead to everyone at once.
 *
 *	  Here each backend has a slot in shared memory that holds its pending
 *	  speculative insertion (storage id, rowid, the xid the executor took
 *	  the token lock with, the token) and the rowids its transaction gave
 *	  up.  tuple_insert_speculative fills the slot before the row's index
 *	  entries exist, so anyone who finds the row through an index also
 *	  finds the slot filled; tuple_complete_speculative empties it, moving
 *	  a given-up rowid to the list, before the executor releases the token
 *	  lock.  A dirty-snapshot fetch that meets another transaction's
 *	  reserved rowid asks lsm_specins_lookup: pending -> wait on the token;
 *	  given up -> no row.
 *
 *	  The list of given-up rowids is short (a conflict found only after
 *	  the row was inserted is a race between two sessions); past its end a
 *	  given-up row reads as the inserting transaction's, as without the
 *	  registry, and a checker waits for that transaction to end.  The same
 *	  holds when lsm_am is not in shared_preload_libraries (no slots).
 *
 *	  A slot is written only by its backend, read by any, under the slot's
 *	  spinlock.  It is emptied at transaction end (and a pending insertion
 *	  at the abort of its subtransaction).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "storage/backendid.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"

#include "txn/lsm_txn.h"

#define LSM_SPEC_MAX_GIVEN_UP	32

typedef struct LsmSpecRow
{
	uint64		storage_id;
	int64		rowid;
} LsmSpecRow;

typedef struct LsmSpecSlot
{
	slock_t		mutex;
	bool		pending;		/* a speculative row awaits confirmation */
	int			nestlevel;		/* ... inserted at this nesting level */
	TransactionId xid;			/* the token lock's xid */
	uint32		token;
	LsmSpecRow	row;
	int			ngiven_up;		/* may exceed LSM_SPEC_MAX_GIVEN_UP */
	LsmSpecRow	given_up[LSM_SPEC_MAX_GIVEN_UP];
} LsmSpecSlot;

static LsmSpecSlot *spec_slots = NULL;
static int	spec_nslots = 0;
static bool spec_dirty = false; /* our slot may hold something */
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static Size
lsm_specins_shmem_size(void)
{
	return mul_size(sizeof(LsmSpecSlot), MaxBackends);
}

static void
lsm_specins_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(lsm_specins_shmem_size());
}

static void
lsm_specins_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	spec_slots = ShmemInitStruct("lsm speculative insertions",
								 lsm_specins_shmem_size(), &found);
	if (!found)
	{
		int			i;

		memset(spec_slots, 0, lsm_specins_shmem_size());
		for (i = 0; i < MaxBackends; i++)
			SpinLockInit(&spec_slots[i].mutex);
	}
	spec_nslots = MaxBackends;
	LWLockRelease(AddinShmemInitLock);
}

/* From _PG_init while shared_preload_libraries is being processed. */
void
lsm_specins_init(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = lsm_specins_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = lsm_specins_shmem_startup;
}

/* This backend's slot, or NULL (no shared memory, or not a backend). */
static LsmSpecSlot *
lsm_my_slot(void)
{
	if (spec_slots == NULL || MyBackendId < 1 || MyBackendId > spec_nslots)
		return NULL;
	return &spec_slots[MyBackendId - 1];
}

/*
 * A speculative insertion of `rowid` has been buffered; the executor holds
 * the token lock (GetCurrentTransactionId(), token).  Call before the row's
 * index entries are made.
 */
void
lsm_specins_begin(uint64 storage_id, int64 rowid, uint32 token)
{
	LsmSpecSlot *s = lsm_my_slot();
	TransactionId xid;

	if (s == NULL)
		return;
	xid = GetCurrentTransactionId();
	SpinLockAcquire(&s->mutex);
	s->pending = true;
	s->nestlevel = GetCurrentTransactionNestLevel();
	s->xid = xid;
	s->token = token;
	s->row.storage_id = storage_id;
	s->row.rowid = rowid;
	SpinLockRelease(&s->mutex);
	spec_dirty = true;
}

/*
 * The pending speculative insertion is over: confirmed, or given up (the
 * row is gone for everyone from now on).  Call before the executor
 * releases the token lock.
 */
void
lsm_specins_end(bool succeeded)
{
	LsmSpecSlot *s = lsm_my_slot();

	if (s == NULL)
		return;
	SpinLockAcquire(&s->mutex);
	if (s->pending && !succeeded)
	{
		if (s->ngiven_up < LSM_SPEC_MAX_GIVEN_UP)
			s->given_up[s->ngiven_up] = s->row;
		s->ngiven_up++;
	}
	s->pending = false;
	SpinLockRelease(&s->mutex);
}

/* Subtransaction abort: a pending insertion of that level went with it. */
void
lsm_specins_subxact_abort(void)
{
	LsmSpecSlot *s = lsm_my_slot();

	if (s == NULL || !spec_dirty)
		return;
	SpinLockAcquire(&s->mutex);
	if (s->pending && s->nestlevel >= GetCurrentTransactionNestLevel())
		s->pending = false;
	SpinLockRelease(&s->mutex);
}

/* Transaction end (commit, abort or prepare): forget everything. */
void
lsm_specins_xact_end(void)
{
	LsmSpecSlot *s = lsm_my_slot();

	if (s == NULL || !spec_dirty)
		return;
	SpinLockAcquire(&s->mutex);
	s->pending = false;
	s->ngiven_up = 0;
	SpinLockRelease(&s->mutex);
	spec_dirty = false;
}

/*
 * What is rowid of the storage, reserved by running transaction `xid` (or
 * one of its subtransactions) but not in any segment?  LSM_SPEC_PENDING
 * with the token lock's *spec_xid and *token, LSM_SPEC_GIVEN_UP, or
 * LSM_SPEC_UNKNOWN (an ordinary buffered row, as far as we know).
 */
LsmSpecState
lsm_specins_lookup(uint64 storage_id, int64 rowid, TransactionId *spec_xid,
				   uint32 *token)
{
	int			i;

	for (i = 0; i < spec_nslots; i++)
	{
		LsmSpecSlot *s = &spec_slots[i];
		LsmSpecState state = LSM_SPEC_UNKNOWN;
		int			j;

		SpinLockAcquire(&s->mutex);
		if (s->pending && s->row.storage_id == storage_id &&
			s->row.rowid == rowid)
		{
			state = LSM_SPEC_PENDING;
			*spec_xid = s->xid;
			*token = s->token;
		}
		for (j = 0; j < Min(s->ngiven_up, LSM_SPEC_MAX_GIVEN_UP); j++)
		{
			if (s->given_up[j].storage_id == storage_id &&
				s->given_up[j].rowid == rowid)
				state = LSM_SPEC_GIVEN_UP;
		}
		SpinLockRelease(&s->mutex);
		if (state != LSM_SPEC_UNKNOWN)
			return state;
	}
	return LSM_SPEC_UNKNOWN;
}
