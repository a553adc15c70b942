/*-------------------------------------------------------------------------
 *
 * lsm_delcache.c
 *	  A backend's cache of the committed delete sets of lsm storages.
 *
 * Merge-on-read makes every scan skip the rows whose delete record its
 * snapshot sees.  Reading those records from lsm.deleted costs about 100 ns
 * each, so right after a bulk DELETE (and until compaction folds the
 * records into persisted delete maps) a scan of a table with 200,000
 * pending deletes spends more time collecting them than reading the table.
 * The set barely changes between one scan and the next, so a backend keeps
 * it: per storage, the sorted rowids of the records a recent snapshot saw.
 *
 * An entry built from snapshot B serves a later snapshot S when S sees
 * exactly those records and no others:
 *
 *	 - every record in the entry is visible to S: its inserter committed
 *	   before S's xmin (newest_xmin precedes S->xmin);
 *	 - no record the entry left out because B no longer saw it (compaction
 *	   folded it into a delete map and deleted it) is still seen by S: the
 *	   newest such deleter precedes S->xmin;
 *	 - no record B took as in progress is now committed and visible to S
 *	   (the `pending` inserters, checked against S);
 *	 - no record was written or removed after the build scan began: every
 *	   transaction that inserts or deletes records of a storage increments
 *	   a shared generation counter of the storage at pre-commit (and at
 *	   pre-prepare), before its changes can become visible, and the entry
 *	   remembers the counter as it was before the build scan started.  A
 *	   transaction that wrote its records before the scan began is seen by
 *	   the scan (committed or pending); one that writes later moves the
 *	   counter before anyone can see its records.  A compaction removing
 *	   the records of rows it folded into delete maps (or dropped) moves a
 *	   second counter instead: those rows stay deleted for every snapshot,
 *	   so an entry that still lists them filters a scan right (a superset
 *	   of rows nobody sees), and it keeps serving scans; only the callers
 *	   that count the records (lsm_deleted_rowids: lsm.stats, row
 *	   estimates) need the second counter unchanged too.  An entry built
 *	   after the fold left the records out and passes the second test only
 *	   for snapshots that see the fold.
 *
 * An entry that fails the first two tests is simply not used for that
 * snapshot (an older REPEATABLE READ snapshot reads lsm.deleted itself);
 * one that fails the last two is rebuilt.  A rowid in the entry whose
 * record compaction has since folded is harmless: the delete map hides the
 * row too, and a folded row is never visible again.  The cache is not used
 * by a transaction that wrote records of the storage itself (its own
 * uncommitted records), for non-MVCC snapshots, during recovery (replay
 * runs no pre-commit callbacks, so the counters would not move), without
 * shared memory (lsm_am not preloaded), or with lsm.deleted_cache_size = 0.
 *
 * Counters live in a fixed array of slots, a storage mapped to one by
 * hash; two storages sharing a slot just invalidate each other more
 * often.  Entries no transaction-local scan can be reading are freed only
 * at transaction end, so a scan may keep using the array it was given.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/transam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "nodes/pg_list.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "lsm_am.h"
#include "catalog/lsm_catalog.h"
#include "scan/lsm_scan.h"

#define LSM_DELCACHE_SLOTS	1024

/* lsm.deleted_cache_size, kB; 0 turns the cache off */
int			lsm_deleted_cache_kb = 65536;

/* A segment's persisted delete map, by where it lies (maps never change) */
typedef struct LsmDelMapId
{
	int64		segment_id;
	BlockNumber start;
	uint32		bytes;
} LsmDelMapId;

typedef struct LsmDelCacheEntry
{
	uint64		storage_id;
	uint64		generation;		/* slot counter before the build scan */
	uint64		folds;			/* slot's fold counter before the build scan */
	TransactionId newest_xmin;
	TransactionId newest_xmax;
	TransactionId *pending;
	int			npending;
	int64	   *rowids;
	int			n;
	Size		bytes;
	uint64		last_used;
	/* the set merged with the delete maps of the segments listed in maps */
	int64	   *merged;
	int			nmerged;
	LsmDelMapId *maps;
	int			nmaps;
	struct LsmDelCacheEntry *next;
} LsmDelCacheEntry;

static pg_atomic_uint64 *delcache_generations = NULL;
static pg_atomic_uint64 *delcache_folds = NULL;	/* compactions' removals */
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static MemoryContext delcache_cxt = NULL;
static LsmDelCacheEntry *delcache_entries = NULL;
static LsmDelCacheEntry *delcache_retired = NULL;	/* freed at xact end */
static List *retired_arrays = NIL;	/* merged sets replaced, freed at xact end */
static Size delcache_bytes = 0;
static uint64 delcache_clock = 0;

/* storages whose records this transaction wrote (rarely more than a few) */
static uint64 *touched = NULL;
static int	ntouched = 0;
static int	maxtouched = 0;
/* ... and whose folded records it removed (compaction) */
static uint64 *fold_touched = NULL;
static int	nfold_touched = 0;
static int	maxfold_touched = 0;

static void
lsm_delcache_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(sizeof(pg_atomic_uint64) * LSM_DELCACHE_SLOTS * 2);
}

static void
lsm_delcache_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	delcache_generations = ShmemInitStruct("lsm delete set generations",
										   sizeof(pg_atomic_uint64) * LSM_DELCACHE_SLOTS * 2,
										   &found);
	delcache_folds = delcache_generations + LSM_DELCACHE_SLOTS;
	if (!found)
	{
		int			i;

		for (i = 0; i < LSM_DELCACHE_SLOTS * 2; i++)
			pg_atomic_init_u64(&delcache_generations[i], 0);
	}
	LWLockRelease(AddinShmemInitLock);
}

/* From _PG_init while shared_preload_libraries is being processed. */
void
lsm_delcache_shmem_init(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = lsm_delcache_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = lsm_delcache_shmem_startup;
}

static inline int
lsm_delcache_slotno(uint64 storage_id)
{
	uint64		h = storage_id * UINT64CONST(0x9E3779B97F4A7C15);

	return (int) ((h >> 32) % LSM_DELCACHE_SLOTS);
}

static inline pg_atomic_uint64 *
lsm_delcache_slot(uint64 storage_id)
{
	return &delcache_generations[lsm_delcache_slotno(storage_id)];
}

static inline pg_atomic_uint64 *
lsm_delcache_fold_slot(uint64 storage_id)
{
	return &delcache_folds[lsm_delcache_slotno(storage_id)];
}

/* Add `storage_id` to a transaction's list of storages, once. */
static void
lsm_storage_list_add(uint64 **list, int *n, int *cap, uint64 storage_id)
{
	int			i;

	for (i = 0; i < *n; i++)
		if ((*list)[i] == storage_id)
			return;
	if (*n == *cap)
	{
		*cap = *cap == 0 ? 8 : *cap * 2;
		*list = *list ?
			repalloc(*list, sizeof(uint64) * *cap) :
			MemoryContextAlloc(TopMemoryContext, sizeof(uint64) * *cap);
	}
	(*list)[(*n)++] = storage_id;
}

static bool
lsm_storage_list_has(const uint64 *list, int n, uint64 storage_id)
{
	int			i;

	for (i = 0; i < n; i++)
		if (list[i] == storage_id)
			return true;
	return false;
}

/*
 * This transaction (a compaction) is about to remove records of
 * `storage_id` whose rows it folded into delete maps or dropped: those rows
 * stay deleted for every snapshot, so cached sets that still list them
 * serve scans (a superset filters the same rows), but not counts
 * (lsm_deleted_rowids).  Its pre-commit moves the fold counter only.
 */
void
lsm_delcache_touch_fold(uint64 storage_id)
{
	lsm_storage_list_add(&fold_touched, &nfold_touched, &maxfold_touched,
						 storage_id);
}

/*
 * This transaction is about to insert or delete delete records of
 * `storage_id`.  Its own scans stop using the cache for the storage, and
 * its pre-commit moves the storage's counter.
 */
void
lsm_delcache_touch(uint64 storage_id)
{
	lsm_storage_list_add(&touched, &ntouched, &maxtouched, storage_id);
}

/*
 * Pre-commit and pre-prepare, after the last record is written: move the
 * counter of every storage this transaction wrote records of, before its
 * commit makes them visible.
 */
void
lsm_delcache_pre_commit(void)
{
	int			i;

	if (delcache_generations == NULL)
		return;
	for (i = 0; i < ntouched; i++)
		pg_atomic_fetch_add_u64(lsm_delcache_slot(touched[i]), 1);
	for (i = 0; i < nfold_touched; i++)
		pg_atomic_fetch_add_u64(lsm_delcache_fold_slot(fold_touched[i]), 1);
}

static void
lsm_delcache_forget_merged(LsmDelCacheEntry *e, bool now)
{
	if (e->merged == NULL)
		return;
	delcache_bytes -= sizeof(int64) * e->nmerged + sizeof(LsmDelMapId) * e->nmaps;
	e->bytes -= sizeof(int64) * e->nmerged + sizeof(LsmDelMapId) * e->nmaps;
	if (now)
	{
		pfree(e->merged);
		pfree(e->maps);
	}
	else
	{
		/* a scan of this transaction may still read it */
		MemoryContext old = MemoryContextSwitchTo(delcache_cxt);

		retired_arrays = lappend(retired_arrays, e->merged);
		retired_arrays = lappend(retired_arrays, e->maps);
		MemoryContextSwitchTo(old);
	}
	e->merged = NULL;
	e->maps = NULL;
	e->nmerged = e->nmaps = 0;
}

static void
lsm_delcache_free(LsmDelCacheEntry *e)
{
	lsm_delcache_forget_merged(e, true);
	delcache_bytes -= e->bytes;
	if (e->rowids)
		pfree(e->rowids);
	if (e->pending)
		pfree(e->pending);
	pfree(e);
}

static void
lsm_delcache_unlink(LsmDelCacheEntry *e)
{
	LsmDelCacheEntry **p;

	for (p = &delcache_entries; *p; p = &(*p)->next)
	{
		if (*p == e)
		{
			*p = e->next;
			break;
		}
	}
}

/*
 * Take `e` out of the cache.  A scan of this transaction may still read
 * its array, so it is freed at transaction end.
 */
static void
lsm_delcache_retire(LsmDelCacheEntry *e)
{
	lsm_delcache_unlink(e);
	e->next = delcache_retired;
	delcache_retired = e;
}

/*
 * Transaction end (commit or abort): forget what this transaction wrote,
 * free retired entries, and shrink the cache to its size limit, least
 * recently used first.
 */
void
lsm_delcache_xact_end(void)
{
	Size		limit = (Size) lsm_deleted_cache_kb * 1024;

	ntouched = 0;
	nfold_touched = 0;
	list_free_deep(retired_arrays);
	retired_arrays = NIL;
	while (delcache_retired)
	{
		LsmDelCacheEntry *e = delcache_retired;

		delcache_retired = e->next;
		lsm_delcache_free(e);
	}
	while (delcache_entries && delcache_bytes > limit)
	{
		LsmDelCacheEntry *oldest = delcache_entries;
		LsmDelCacheEntry *e;

		for (e = delcache_entries; e; e = e->next)
			if (e->last_used < oldest->last_used)
				oldest = e;
		lsm_delcache_unlink(oldest);
		lsm_delcache_free(oldest);
	}
}

typedef enum
{
	LSM_DELCACHE_OK,			/* serves the snapshot */
	LSM_DELCACHE_TOO_NEW,		/* right, but for later snapshots only */
	LSM_DELCACHE_STALE			/* records changed since: rebuild */
} LsmDelCacheFit;

static LsmDelCacheFit
lsm_delcache_fit(LsmDelCacheEntry *e, Snapshot snapshot, bool exact)
{
	int			i;

	pg_memory_barrier();
	if (pg_atomic_read_u64(lsm_delcache_slot(e->storage_id)) != e->generation)
		return LSM_DELCACHE_STALE;
	if (exact &&
		pg_atomic_read_u64(lsm_delcache_fold_slot(e->storage_id)) != e->folds)
		return LSM_DELCACHE_STALE;
	for (i = 0; i < e->npending; i++)
	{
		TransactionId xid = e->pending[i];

		if (!XidInMVCCSnapshot(xid, snapshot) && TransactionIdDidCommit(xid))
			return LSM_DELCACHE_STALE;
	}
	if (TransactionIdIsValid(e->newest_xmin) &&
		!TransactionIdPrecedes(e->newest_xmin, snapshot->xmin))
		return LSM_DELCACHE_TOO_NEW;
	if (TransactionIdIsValid(e->newest_xmax) &&
		!TransactionIdPrecedes(e->newest_xmax, snapshot->xmin))
		return LSM_DELCACHE_TOO_NEW;
	return LSM_DELCACHE_OK;
}

static LsmDelCacheEntry *
lsm_delcache_build(uint64 storage_id)
{
	LsmDelCacheEntry *e;
	LsmJudgedDeletes judged;
	Snapshot	snap;
	uint64		generation;
	uint64		folds;
	MemoryContext old;

	/* the counters first: a writer that moves one later is caught by it */
	generation = pg_atomic_read_u64(lsm_delcache_slot(storage_id));
	folds = pg_atomic_read_u64(lsm_delcache_fold_slot(storage_id));
	pg_memory_barrier();
	snap = RegisterSnapshot(GetLatestSnapshot());

	old = MemoryContextSwitchTo(delcache_cxt);
	lsm_catalog_judge_deletes(storage_id, snap, &judged);
	e = palloc0(sizeof(LsmDelCacheEntry));
	MemoryContextSwitchTo(old);
	UnregisterSnapshot(snap);

	e->storage_id = storage_id;
	e->generation = generation;
	e->folds = folds;
	e->newest_xmin = judged.newest_xmin;
	e->newest_xmax = judged.newest_xmax;
	e->pending = judged.pending;
	e->npending = judged.npending;
	e->rowids = judged.rowids;
	e->n = judged.n;
	e->bytes = sizeof(LsmDelCacheEntry) + sizeof(int64) * judged.n +
		sizeof(TransactionId) * judged.npending;
	e->next = delcache_entries;
	delcache_entries = e;
	delcache_bytes += e->bytes;
	return e;
}

/*
 * The rowids whose delete record `snapshot` sees, sorted, and their number
 * in *n; NULL when none.  The array belongs to the cache or to the current
 * memory context: callers only read it, and may keep it until the end of
 * the transaction.
 */
static const int64 *lsm_delcache_lookup(uint64 storage_id, Snapshot snapshot,
										int *n, LsmDelCacheEntry **entry,
										bool exact);

const int64 *
lsm_deleted_rowids(uint64 storage_id, Snapshot snapshot, int *n)
{
	LsmDelCacheEntry *e;

	return lsm_delcache_lookup(storage_id, snapshot, n, &e, true);
}

/*
 * The whole delete set of a scan: the rowids of the delete records
 * `snapshot` sees merged with the persisted delete maps of `segs` (the
 * segments the same snapshot lists), sorted.  With a cached delete set the
 * merge is cached too, for as long as the segments with delete maps stay
 * the same.  Same lifetime rules as lsm_deleted_rowids.
 */
const int64 *
lsm_deleted_rowids_with_maps(Relation rel, uint64 storage_id,
							 Snapshot snapshot, const LsmSegmentList *segs,
							 int *n)
{
	LsmDelCacheEntry *e;
	const int64 *set;
	int			nset;
	int64	   *maps;
	int			nmap;
	int			nids = 0;
	int			i;
	int64	   *merged;
	int			nmerged;

	/* a scan only filters: a set that still lists folded rows will do */
	set = lsm_delcache_lookup(storage_id, snapshot, &nset, &e, false);
	for (i = 0; i < segs->nsegs; i++)
		if (segs->segs[i].delmap_bytes > 0)
			nids++;
	*n = nset;
	if (nids == 0)
		return set;

	if (e != NULL && e->merged != NULL && e->nmaps == nids)
	{
		int			k = 0;

		for (i = 0; i < segs->nsegs; i++)
		{
			const LsmSegmentEntry *seg = &segs->segs[i];

			if (seg->delmap_bytes == 0)
				continue;
			if (e->maps[k].segment_id != seg->segment_id ||
				e->maps[k].start != seg->delmap_start ||
				e->maps[k].bytes != seg->delmap_bytes)
				break;
			k++;
		}
		if (k == nids)
		{
			*n = e->nmerged;
			return e->merged;
		}
	}

	maps = lsm_segments_delmaps(rel, segs, &nmap);
	if (nmap == 0)
		return set;
	if (nset == 0 && e == NULL)
	{
		/* nothing to merge nor to keep (parallel mode, say): the maps */
		*n = nmap;
		return maps;
	}
	merged = lsm_merge_rowids(set, nset, maps, nmap, &nmerged);
	pfree(maps);
	*n = nmerged;
	if (e == NULL)
		return merged;

	/* keep it with the entry */
	lsm_delcache_forget_merged(e, false);
	e->merged = MemoryContextAllocExtended(delcache_cxt, sizeof(int64) * Max(nmerged, 1),
										   MCXT_ALLOC_HUGE);
	memcpy(e->merged, merged, sizeof(int64) * nmerged);
	pfree(merged);
	e->nmerged = nmerged;
	e->maps = MemoryContextAlloc(delcache_cxt, sizeof(LsmDelMapId) * nids);
	e->nmaps = nids;
	nids = 0;
	for (i = 0; i < segs->nsegs; i++)
	{
		const LsmSegmentEntry *seg = &segs->segs[i];

		if (seg->delmap_bytes == 0)
			continue;
		e->maps[nids].segment_id = seg->segment_id;
		e->maps[nids].start = seg->delmap_start;
		e->maps[nids].bytes = seg->delmap_bytes;
		nids++;
	}
	e->bytes += sizeof(int64) * nmerged + sizeof(LsmDelMapId) * nids;
	delcache_bytes += sizeof(int64) * nmerged + sizeof(LsmDelMapId) * nids;
	return e->merged;
}

static const int64 *
lsm_delcache_lookup(uint64 storage_id, Snapshot snapshot, int *n,
					LsmDelCacheEntry **entry, bool exact)
{
	LsmDelCacheEntry *e;

	*entry = NULL;

	if (storage_id == 0 || delcache_generations == NULL ||
		lsm_deleted_cache_kb == 0 ||
		snapshot->snapshot_type != SNAPSHOT_MVCC ||
		RecoveryInProgress())
		return lsm_catalog_deleted_set(storage_id, snapshot, n);
	if (lsm_storage_list_has(touched, ntouched, storage_id) ||
		lsm_storage_list_has(fold_touched, nfold_touched, storage_id))
		return lsm_catalog_deleted_set(storage_id, snapshot, n);

	if (delcache_cxt == NULL)
		delcache_cxt = AllocSetContextCreate(TopMemoryContext,
											 "lsm delete set cache",
											 ALLOCSET_DEFAULT_SIZES);
	for (e = delcache_entries; e; e = e->next)
		if (e->storage_id == storage_id)
			break;
	if (e)
	{
		switch (lsm_delcache_fit(e, snapshot, exact))
		{
			case LSM_DELCACHE_OK:
				e->last_used = ++delcache_clock;
				*n = e->n;
				*entry = e;
				return e->rowids;
			case LSM_DELCACHE_TOO_NEW:
				return lsm_catalog_deleted_set(storage_id, snapshot, n);
			case LSM_DELCACHE_STALE:
				lsm_delcache_retire(e);
				break;
		}
	}

	/* a parallel worker or leader cannot take a fresh snapshot */
	if (IsInParallelMode())
		return lsm_catalog_deleted_set(storage_id, snapshot, n);
	e = lsm_delcache_build(storage_id);
	e->last_used = ++delcache_clock;
	if (lsm_delcache_fit(e, snapshot, exact) != LSM_DELCACHE_OK)
		return lsm_catalog_deleted_set(storage_id, snapshot, n);
	*n = e->n;
	*entry = e;
	return e->rowids;
}
