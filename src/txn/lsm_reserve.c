/*-------------------------------------------------------------------------
 *
 * lsm_reserve.c
 *	  Rowid reservations published in shared memory, so that compaction
 *	  knows without waiting which rowids a writer may still commit.
 *
 * A writer takes rowids in batches from the metapage counter and keeps the
 * unused rest of a batch for its next transaction on the table
 * (lsm_memtable.c).  Compaction must never write a segment whose rowid
 * range contains a rowid some writer may commit later: the two segments
 * would overlap.  Waiting for the table's writers to end (lsm.compact) or
 * remembering a fence until they have (the background worker, one round
 * late) keeps the newest level-0 segments out of every pass on a busy
 * table.  Instead, every backend publishes here, per storage it writes,
 * the span [lo, hi] of rowids its running transaction holds.  A pass then
 * knows exactly which rowid ranges are spoken for:
 *
 *	 - a batch from the counter is published while the metapage lock that
 *	   handed it out is held, so a pass that read the counter N (under the
 *	   same lock) sees every batch below N;
 *	 - a kept batch is published when a transaction takes it, before it
 *	   checks the rowid fence: a pass raises the fence before it reads the
 *	   spans, so either it sees the batch published or the taker sees the
 *	   new fence and drops the batch (between transactions a kept batch is
 *	   not published: the fence alone retires it);
 *	 - a transaction's spans are withdrawn only after its commit is
 *	   visible (or after its abort), so a pass either sees the spans or the
 *	   committed segment;
 *	 - a prepared transaction is no longer its backend's: at pre-prepare
 *	   its spans move to a shared list under its xid, kept while that xid
 *	   is in progress.  A prepared transaction recovered after a restart
 *	   holds its table lock under an invalid backend id; lsm_reserve_exact
 *	   returns false while such a writer of the table exists, or a slot
 *	   overflowed, or there is no shared memory, and the pass falls back to
 *	   waiting for the writers.
 *
 * Each backend writes only its own slot, under the slot's spinlock; a pass
 * reads every slot.  A slot holds LSM_RESERVE_PER_BACKEND spans (batches
 * of one run share a span); a transaction that needs more marks its slot
 * overflowed, and passes wait for writers until it ends.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/twophase.h"
#include "miscadmin.h"
#include "storage/procarray.h"
#include "storage/backendid.h"
#include "storage/ipc.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/rel.h"

#include "lsm_am.h"
#include "catalog/lsm_catalog.h"
#include "txn/lsm_txn.h"

#define LSM_RESERVE_PER_BACKEND	32

typedef struct LsmReserveEntry
{
	uint64		storage_id;
	int64		lo;
	int64		hi;
} LsmReserveEntry;

typedef struct LsmReserveSlot
{
	slock_t		mutex;
	int			n;
	bool		overflow;		/* more spans than entries: unknown */
	LsmReserveEntry e[LSM_RESERVE_PER_BACKEND];
} LsmReserveSlot;

typedef struct LsmPreparedSpan
{
	TransactionId xid;
	uint64		storage_id;
	int64		lo;
	int64		hi;
} LsmPreparedSpan;

typedef struct LsmPreparedSpans
{
	slock_t		mutex;
	bool		overflow;		/* lost a span: never exact again */
	int			n;
	int			cap;
	LsmPreparedSpan e[FLEXIBLE_ARRAY_MEMBER];
} LsmPreparedSpans;

static LsmReserveSlot *reserve_slots = NULL;
static int	reserve_nslots = 0;
static LsmPreparedSpans *prepared_spans = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static Size
lsm_reserve_size(void)
{
	return mul_size(sizeof(LsmReserveSlot), MaxBackends);
}

static int
lsm_prepared_cap(void)
{
	return max_prepared_xacts * LSM_RESERVE_PER_BACKEND;
}

static Size
lsm_prepared_size(void)
{
	return add_size(offsetof(LsmPreparedSpans, e),
					mul_size(sizeof(LsmPreparedSpan), lsm_prepared_cap()));
}

/* Backend exit. */
static void
lsm_reserve_at_exit(int code, Datum arg)
{
	lsm_reserve_clear();
}

static void
lsm_reserve_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(lsm_reserve_size());
	RequestAddinShmemSpace(lsm_prepared_size());
}

static void
lsm_reserve_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	reserve_slots = ShmemInitStruct("lsm rowid reservations", lsm_reserve_size(),
									&found);
	if (!found)
	{
		int			i;

		memset(reserve_slots, 0, lsm_reserve_size());
		for (i = 0; i < MaxBackends; i++)
			SpinLockInit(&reserve_slots[i].mutex);
	}
	reserve_nslots = MaxBackends;
	prepared_spans = ShmemInitStruct("lsm prepared rowid reservations",
									 lsm_prepared_size(), &found);
	if (!found)
	{
		SpinLockInit(&prepared_spans->mutex);
		prepared_spans->overflow = false;
		prepared_spans->n = 0;
		prepared_spans->cap = lsm_prepared_cap();
	}
	LWLockRelease(AddinShmemInitLock);
}

/* From _PG_init while shared_preload_libraries is being processed. */
void
lsm_reserve_shmem_init(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = lsm_reserve_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = lsm_reserve_shmem_startup;
}

static LsmReserveSlot *
lsm_reserve_my_slot(void)
{
	static bool exit_registered = false;

	if (reserve_slots == NULL || MyBackendId == InvalidBackendId ||
		MyBackendId > reserve_nslots)
		return NULL;
	if (!exit_registered)
	{
		before_shmem_exit(lsm_reserve_at_exit, (Datum) 0);
		exit_registered = true;
	}
	return &reserve_slots[MyBackendId - 1];
}

/*
 * This backend now holds rowids [lo, hi] of `storage_id` (a batch it was
 * just handed, called under the metapage lock, or one it kept).  Each
 * batch is a span of its own unless it continues one: a span never covers
 * rowids of other writers.  Returns false if the slot has no room left (it
 * is then marked overflowed unless `optional`, and nothing is published).
 */
bool
lsm_reserve_extend(uint64 storage_id, int64 lo, int64 hi, bool optional)
{
	LsmReserveSlot *slot = lsm_reserve_my_slot();
	bool		ok = true;
	int			i;

	if (slot == NULL)
		return true;
	SpinLockAcquire(&slot->mutex);
	for (i = 0; i < slot->n; i++)
	{
		/* the next batch of a run continues its span */
		if (slot->e[i].storage_id == storage_id && slot->e[i].hi + 1 == lo)
		{
			slot->e[i].hi = hi;
			break;
		}
	}
	if (i == slot->n)
	{
		if (slot->n < LSM_RESERVE_PER_BACKEND)
		{
			slot->e[slot->n].storage_id = storage_id;
			slot->e[slot->n].lo = lo;
			slot->e[slot->n].hi = hi;
			slot->n++;
		}
		else
		{
			ok = false;
			if (!optional)
				slot->overflow = true;
		}
	}
	SpinLockRelease(&slot->mutex);
	return ok;
}

/*
 * Withdraw the span [lo, hi] lsm_reserve_extend just published: a kept
 * batch the transaction drops before using a rowid of it.
 */
void
lsm_reserve_withdraw(uint64 storage_id, int64 lo, int64 hi)
{
	LsmReserveSlot *slot = lsm_reserve_my_slot();
	int			i;

	if (slot == NULL)
		return;
	SpinLockAcquire(&slot->mutex);
	for (i = 0; i < slot->n; i++)
	{
		if (slot->e[i].storage_id == storage_id &&
			slot->e[i].lo == lo && slot->e[i].hi == hi)
		{
			slot->e[i] = slot->e[slot->n - 1];
			slot->n--;
			break;
		}
	}
	SpinLockRelease(&slot->mutex);
}

/*
 * Transaction end, once its commit is visible (or it aborted), and backend
 * exit: this backend holds no rowids any more.
 */
void
lsm_reserve_clear(void)
{
	LsmReserveSlot *slot = lsm_reserve_my_slot();

	if (slot == NULL || (slot->n == 0 && !slot->overflow))
		return;
	SpinLockAcquire(&slot->mutex);
	slot->n = 0;
	slot->overflow = false;
	SpinLockRelease(&slot->mutex);
}

/*
 * Pre-prepare: the transaction's spans stay reserved under its xid until it
 * is committed or rolled back, by whichever backend.  (Its backend clears
 * its own slot at the end of PREPARE TRANSACTION.)
 */
void
lsm_reserve_at_prepare(TransactionId xid)
{
	LsmReserveSlot *slot = lsm_reserve_my_slot();
	int			i;

	if (slot == NULL || prepared_spans == NULL)
		return;
	SpinLockAcquire(&slot->mutex);
	SpinLockAcquire(&prepared_spans->mutex);
	if (slot->overflow)
		prepared_spans->overflow = true;
	for (i = 0; i < slot->n; i++)
	{
		LsmPreparedSpan *p;

		if (prepared_spans->n >= prepared_spans->cap)
		{
			prepared_spans->overflow = true;
			break;
		}
		p = &prepared_spans->e[prepared_spans->n++];
		p->xid = xid;
		p->storage_id = slot->e[i].storage_id;
		p->lo = slot->e[i].lo;
		p->hi = slot->e[i].hi;
	}
	SpinLockRelease(&prepared_spans->mutex);
	SpinLockRelease(&slot->mutex);
}

/*
 * Add the spans of prepared transactions on `storage_id` that are still in
 * progress; forget those that have ended.  False if spans were lost.
 */
static bool
lsm_reserve_prepared(uint64 storage_id, LsmRowidSpan **spans, int *nspans,
					 int *cap)
{
	LsmPreparedSpan *copy;
	int			n;
	int			i;
	bool		overflow;

	if (prepared_spans == NULL || prepared_spans->cap == 0)
		return true;
	copy = palloc(sizeof(LsmPreparedSpan) * prepared_spans->cap);
	SpinLockAcquire(&prepared_spans->mutex);
	overflow = prepared_spans->overflow;
	n = prepared_spans->n;
	memcpy(copy, prepared_spans->e, sizeof(LsmPreparedSpan) * n);
	SpinLockRelease(&prepared_spans->mutex);
	if (overflow)
		return false;
	for (i = 0; i < n; i++)
	{
		if (TransactionIdIsInProgress(copy[i].xid))
		{
			if (copy[i].storage_id != storage_id)
				continue;
			if (*nspans == *cap)
			{
				*cap *= 2;
				*spans = repalloc(*spans, sizeof(LsmRowidSpan) * *cap);
			}
			(*spans)[*nspans].lo = copy[i].lo;
			(*spans)[*nspans].hi = copy[i].hi;
			(*nspans)++;
		}
		else
		{
			/* ended: drop every entry of this xid */
			int			j,
						k = 0;

			SpinLockAcquire(&prepared_spans->mutex);
			for (j = 0; j < prepared_spans->n; j++)
				if (prepared_spans->e[j].xid != copy[i].xid)
					prepared_spans->e[k++] = prepared_spans->e[j];
			prepared_spans->n = k;
			SpinLockRelease(&prepared_spans->mutex);
		}
	}
	pfree(copy);
	return true;
}

/*
 * lsm_reserve_exact
 *		The rowid spans writers of `rel` may still commit, when they can all
 *		be accounted for: sorted by lo into *spans (palloc'd), their number
 *		in *nspans, and true.  False when some writer cannot be (a prepared
 *		transaction, an overflowed slot, no shared memory): the caller must
 *		then wait for the writers instead.  Call after reading the rowid
 *		counter under the metapage lock; spans at or above it may be missing.
 */
bool
lsm_reserve_exact(Relation rel, uint64 storage_id, LsmRowidSpan **spans,
				  int *nspans)
{
	LOCKTAG		tag;
	VirtualTransactionId *vxids;
	int			cap = 8;
	int			i,
				j;

	*spans = NULL;
	*nspans = 0;
	if (reserve_slots == NULL)
		return false;

	/* every writer of the table must be a backend with a usable slot */
	SET_LOCKTAG_RELATION(tag, MyDatabaseId, RelationGetRelid(rel));
	vxids = GetLockConflicts(&tag, ShareLock, NULL);
	for (i = 0; VirtualTransactionIdIsValid(vxids[i]); i++)
	{
		BackendId	b = vxids[i].backendId;
		bool		overflow;

		if (b == InvalidBackendId || b > reserve_nslots)
			return false;		/* a prepared transaction recovered at startup */
		SpinLockAcquire(&reserve_slots[b - 1].mutex);
		overflow = reserve_slots[b - 1].overflow;
		SpinLockRelease(&reserve_slots[b - 1].mutex);
		if (overflow)
			return false;
	}

	*spans = palloc(sizeof(LsmRowidSpan) * cap);
	for (i = 0; i < reserve_nslots; i++)
	{
		LsmReserveSlot *slot = &reserve_slots[i];
		LsmRowidSpan mine[LSM_RESERVE_PER_BACKEND];
		int			nmine = 0;
		bool		overflow;

		/* copy under the spinlock, append after it */
		SpinLockAcquire(&slot->mutex);
		overflow = slot->overflow;
		for (j = 0; j < slot->n; j++)
		{
			if (slot->e[j].storage_id != storage_id)
				continue;
			mine[nmine].lo = slot->e[j].lo;
			mine[nmine].hi = slot->e[j].hi;
			nmine++;
		}
		SpinLockRelease(&slot->mutex);
		if (overflow)
		{
			/* a backend holds rowids we cannot see */
			pfree(*spans);
			*spans = NULL;
			*nspans = 0;
			return false;
		}
		for (j = 0; j < nmine; j++)
		{
			if (*nspans == cap)
			{
				cap *= 2;
				*spans = repalloc(*spans, sizeof(LsmRowidSpan) * cap);
			}
			(*spans)[(*nspans)++] = mine[j];
		}
	}
	if (!lsm_reserve_prepared(storage_id, spans, nspans, &cap))
	{
		pfree(*spans);
		*spans = NULL;
		*nspans = 0;
		return false;
	}
	if (*nspans > 1)
		qsort(*spans, *nspans, sizeof(LsmRowidSpan), lsm_rowid_span_cmp);
	return true;
}

int
lsm_rowid_span_cmp(const void *a, const void *b)
{
	int64		x = ((const LsmRowidSpan *) a)->lo;
	int64		y = ((const LsmRowidSpan *) b)->lo;

	return x < y ? -1 : (x > y ? 1 : 0);
}
