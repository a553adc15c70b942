/*-------------------------------------------------------------------------
 *
 * lsm_dircache.c
 *	  The shared segment directory cache: parsed segment directories in
 *	  shared memory, for every backend and parallel worker of the cluster.
 *
 *	  Opening a segment means reading its meta area (header, column
 *	  descriptors, block directory, zone maps: about 2 kB per block of a
 *	  ten-column table), verifying its checksum and parsing it.  A backend
 *	  keeps what it parsed (lsm_segread.c), but a new session, and every
 *	  parallel worker -- a new process for each parallel query -- started
 *	  from nothing: a worker of a parallel scan over 150 segments parsed the
 *	  directories of its third of them into fresh memory, and faulting that
 *	  memory in took most of the time the worker spent before it could help
 *	  (the measurements are in docs/ARCHITECTURE.md).  A segment image
 *	  never changes and segment ids are never reused, so one parsed copy in
 *	  shared memory serves every process for as long as the segment exists.
 *
 *	  Layout.  lsm.shared_directory_cache_size bytes of the main shared
 *	  memory segment form a ring; each directory is one record in it: a
 *	  record header, then the meta area and the parsed entries the format
 *	  library allocates (lsm_segr_footprint tells their size in advance).
 *	  The reader's pointers are plain addresses: the main shared memory is
 *	  mapped at the same address in every process forked from the
 *	  postmaster, which PostgreSQL itself relies on.  A shared hash table
 *	  maps (database, catalog instance, storage, segment) to the record:
 *	  segment ids are unique only within one database's instance of the
 *	  extension's catalog (lsm_catalog_instance).  Records are
 *	  allocated at the ring's head and evicted at its tail, oldest first: a
 *	  directory in use keeps its place until the ring comes round to it.
 *
 *	  Pins.  A backend that uses a directory pins it until the end of its
 *	  transaction (segment handles never outlive their transaction: see
 *	  lsm_segread.c), and eviction skips nothing: when the record at the
 *	  tail is pinned, or still being loaded, the ring is full for now and
 *	  the caller parses the directory into its own memory as before (a
 *	  "bypass").  Pins are taken under the lock in shared mode and dropped
 *	  without it; evicting takes it exclusively, so a count of zero seen
 *	  there stays zero.
 *
 *	  Loading.  A backend that misses reserves the record under the
 *	  exclusive lock, marks the entry as loading (pinned by itself), and
 *	  reads and parses with the lock released; then it publishes the entry.
 *	  Another backend that wants a directory being loaded parses its own
 *	  copy rather than wait.  If the load fails (a damaged segment, a
 *	  cancel), the entry and its record are dropped again, on error by the
 *	  loader itself and on a FATAL exit by the transaction-end cleanup that
 *	  also drops pins.
 *
 * src/scan/lsm_dircache.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "lsm_scan.h"

/* kB of shared memory for the cache; 0 turns it off (postmaster setting) */
int			lsm_shared_directory_cache_kb = 65536;
/* may this session use it (a session-level switch, for tests and diagnosis) */
bool		lsm_enable_shared_directory_cache = true;

/* records start on this boundary (a multiple of LSM_REGION_ALIGN) */
#define LSM_DIRCACHE_ALIGN		64
#define LSM_DIRCACHE_ROUND(n)	TYPEALIGN(LSM_DIRCACHE_ALIGN, (n))

/*
 * Directories larger than this share of the ring are parsed privately: one
 * of them would push out a good part of everything else.
 */
#define LSM_DIRCACHE_MAX_SHARE	8

/*
 * Hash entries: one per this many bytes of ring.  A segment of 131,072
 * rows has a directory of 100-300 kB; only small level-0 segments (a few
 * rows, ten columns: about 1.5 kB) come near it, and when the entries run
 * out first the oldest directories are evicted as for room.
 */
#define LSM_DIRCACHE_BYTES_PER_ENTRY	2048

typedef struct LsmDirCacheKey
{
	Oid			dbid;
	uint32		pad;
	LsmSegmentKey seg;
} LsmDirCacheKey;

struct LsmDirCacheEntry
{
	LsmDirCacheKey key;
	uint64		pos;			/* ring offset of its record (monotonic) */
	LsmSegReader *reader;		/* NULL while loading */
	pg_atomic_uint32 pins;
};

/* at the start of each record in the ring */
typedef struct LsmDirRecord
{
	uint64		len;			/* bytes of the record, this header included */
	LsmDirCacheKey key;
	bool		live;			/* false: padding, or a load given up */
} LsmDirRecord;

#define LSM_DIR_RECORD_HDR	LSM_DIRCACHE_ROUND(sizeof(LsmDirRecord))

typedef struct LsmDirCacheShared
{
	LWLock	   *lock;
	uint64		size;			/* bytes of ring */
	uint64		head;			/* next record (monotonic; ring offset = % size) */
	uint64		tail;			/* oldest record */
	char	   *ring;
	pg_atomic_uint64 hits;
	pg_atomic_uint64 loads;
	pg_atomic_uint64 evictions;
	pg_atomic_uint64 bypasses;
} LsmDirCacheShared;

static LsmDirCacheShared *dircache = NULL;
static HTAB *dircache_hash = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* what this backend pinned in its transaction, and the load it is doing */
static LsmDirCacheEntry **pinned = NULL;
static int	npinned = 0;
static int	maxpinned = 0;
static LsmDirCacheEntry *loading = NULL;

static uint64
lsm_dircache_ring_bytes(void)
{
	return LSM_DIRCACHE_ROUND((uint64) lsm_shared_directory_cache_kb * 1024 -
							  LSM_DIRCACHE_ALIGN + 1);
}

static long
lsm_dircache_max_entries(void)
{
	return Max(64, (long) (lsm_dircache_ring_bytes() / LSM_DIRCACHE_BYTES_PER_ENTRY));
}

static void
lsm_dircache_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	if (lsm_shared_directory_cache_kb <= 0)
		return;
	RequestAddinShmemSpace(add_size(sizeof(LsmDirCacheShared), LSM_DIRCACHE_ALIGN));
	RequestAddinShmemSpace(lsm_dircache_ring_bytes());
	RequestAddinShmemSpace(hash_estimate_size(lsm_dircache_max_entries(),
											  sizeof(LsmDirCacheEntry)));
	RequestNamedLWLockTranche("lsm_directory_cache", 1);
}

static void
lsm_dircache_shmem_startup(void)
{
	bool		found;
	HASHCTL		ctl;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	if (lsm_shared_directory_cache_kb <= 0)
		return;
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	dircache = ShmemInitStruct("lsm directory cache",
							   add_size(sizeof(LsmDirCacheShared),
										add_size(lsm_dircache_ring_bytes(),
												 LSM_DIRCACHE_ALIGN)),
							   &found);
	if (!found)
	{
		dircache->lock = &(GetNamedLWLockTranche("lsm_directory_cache"))->lock;
		dircache->size = lsm_dircache_ring_bytes();
		dircache->head = dircache->tail = 0;
		dircache->ring = (char *) TYPEALIGN(LSM_DIRCACHE_ALIGN,
											(char *) dircache + sizeof(LsmDirCacheShared));
		pg_atomic_init_u64(&dircache->hits, 0);
		pg_atomic_init_u64(&dircache->loads, 0);
		pg_atomic_init_u64(&dircache->evictions, 0);
		pg_atomic_init_u64(&dircache->bypasses, 0);
	}
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(LsmDirCacheKey);
	ctl.entrysize = sizeof(LsmDirCacheEntry);
	dircache_hash = ShmemInitHash("lsm directory cache entries",
								  lsm_dircache_max_entries(),
								  lsm_dircache_max_entries(),
								  &ctl, HASH_ELEM | HASH_BLOBS);
	LWLockRelease(AddinShmemInitLock);
}

/* From _PG_init while shared_preload_libraries is being processed. */
void
lsm_dircache_shmem_init(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = lsm_dircache_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = lsm_dircache_shmem_startup;
}

static void
lsm_dircache_key(LsmDirCacheKey *key, const LsmSegmentKey *seg)
{
	memset(key, 0, sizeof(LsmDirCacheKey));
	key->dbid = MyDatabaseId;
	key->seg = *seg;
}

static inline LsmDirRecord *
lsm_dircache_record(uint64 pos)
{
	return (LsmDirRecord *) (dircache->ring + pos % dircache->size);
}

/*
 * Make room to remember one more pin, before taking it: once taken, failing
 * to remember it would leak it.
 */
static void
lsm_dircache_pin_slot(void)
{
	if (npinned == maxpinned)
	{
		int			n = Max(64, maxpinned * 2);

		pinned = pinned == NULL ?
			MemoryContextAlloc(TopMemoryContext, sizeof(LsmDirCacheEntry *) * n) :
			repalloc(pinned, sizeof(LsmDirCacheEntry *) * n);
		maxpinned = n;
	}
}

/*
 * The shared directory of the segment, pinned until the end of the
 * transaction; NULL if the cache does not have it ready.
 */
LsmSegReader *
lsm_dircache_find(const LsmSegmentKey *seg)
{
	LsmDirCacheKey key;
	LsmDirCacheEntry *e;
	LsmSegReader *reader = NULL;

	if (dircache == NULL)
		return NULL;
	lsm_dircache_pin_slot();
	lsm_dircache_key(&key, seg);
	LWLockAcquire(dircache->lock, LW_SHARED);
	e = hash_search(dircache_hash, &key, HASH_FIND, NULL);
	if (e != NULL && e->reader != NULL)
	{
		pg_atomic_fetch_add_u32(&e->pins, 1);
		reader = e->reader;
	}
	LWLockRelease(dircache->lock);
	if (reader != NULL)
	{
		pinned[npinned++] = e;
		pg_atomic_fetch_add_u64(&dircache->hits, 1);
	}
	return reader;
}

/*
 * Drop the oldest record (the tail), unless someone needs it: false if it
 * is pinned or still loading.  Padding and records of given-up loads just
 * go.  Under the exclusive lock, with the ring not empty.
 */
static bool
lsm_dircache_evict_tail(void)
{
	LsmDirRecord *rec = lsm_dircache_record(dircache->tail);

	Assert(dircache->tail < dircache->head);
	if (rec->live)
	{
		LsmDirCacheEntry *e = hash_search(dircache_hash, &rec->key,
										  HASH_FIND, NULL);

		if (e != NULL && e->pos == dircache->tail)
		{
			if (e->reader == NULL || pg_atomic_read_u32(&e->pins) > 0)
				return false;
			hash_search(dircache_hash, &rec->key, HASH_REMOVE, NULL);
			pg_atomic_fetch_add_u64(&dircache->evictions, 1);
		}
	}
	dircache->tail += rec->len;
	return true;
}

/*
 * Evict from the tail until `need` bytes follow the head contiguously and
 * the hash table has an entry free (many small directories fill it before
 * the ring).  Under the exclusive lock.
 */
static bool
lsm_dircache_make_room(uint64 need)
{
	for (;;)
	{
		uint64		off = dircache->head % dircache->size;
		uint64		pad = off + need > dircache->size ? dircache->size - off : 0;
		LsmDirRecord *rec;

		if (dircache->size - (dircache->head - dircache->tail) >= pad + need &&
			hash_get_num_entries(dircache_hash) < lsm_dircache_max_entries())
		{
			if (pad > 0)
			{
				rec = lsm_dircache_record(dircache->head);
				memset(rec, 0, sizeof(LsmDirRecord));
				rec->len = pad;
				rec->live = false;
				dircache->head += pad;
			}
			return true;
		}
		if (dircache->tail == dircache->head || !lsm_dircache_evict_tail())
			return false;
	}
}

/*
 * Reserve room for a directory of `footprint` bytes (lsm_segr_footprint
 * with LSM_REGION_ALIGN: carved by lsm_region_allocator).  Returns the memory to parse it
 * into, with *slot set for lsm_dircache_publish or lsm_dircache_abandon; or
 * NULL (counted as a bypass) when the cache is off, has the directory being
 * loaded by someone else, or cannot make room now.  The caller then parses
 * it privately.
 */
void *
lsm_dircache_reserve(const LsmSegmentKey *seg, Size footprint,
					 LsmDirCacheEntry **slot)
{
	LsmDirCacheKey key;
	LsmDirCacheEntry *e;
	uint64		need = LSM_DIR_RECORD_HDR + LSM_DIRCACHE_ROUND(footprint);
	LsmDirRecord *rec;
	bool		found;
	void	   *mem = NULL;

	*slot = NULL;
	if (dircache == NULL)
		return NULL;
	Assert(loading == NULL);
	if (need > dircache->size / LSM_DIRCACHE_MAX_SHARE)
	{
		pg_atomic_fetch_add_u64(&dircache->bypasses, 1);
		return NULL;
	}
	lsm_dircache_pin_slot();
	lsm_dircache_key(&key, seg);
	LWLockAcquire(dircache->lock, LW_EXCLUSIVE);
	e = hash_search(dircache_hash, &key, HASH_FIND, NULL);
	if (e == NULL && lsm_dircache_make_room(need))
	{
		e = hash_search(dircache_hash, &key, HASH_ENTER_NULL, &found);
		if (e != NULL)
		{
			Assert(!found);
			e->pos = dircache->head;
			e->reader = NULL;
			pg_atomic_init_u32(&e->pins, 1);
			rec = lsm_dircache_record(dircache->head);
			memset(rec, 0, sizeof(LsmDirRecord));
			rec->len = need;
			rec->key = key;
			rec->live = true;
			dircache->head += need;
			mem = (char *) rec + LSM_DIR_RECORD_HDR;
			loading = e;
			*slot = e;
		}
	}
	LWLockRelease(dircache->lock);
	if (mem == NULL)
		pg_atomic_fetch_add_u64(&dircache->bypasses, 1);
	return mem;
}

/* The directory reserved in `slot` is parsed: let everyone use it. */
void
lsm_dircache_publish(LsmDirCacheEntry *slot, LsmSegReader *reader)
{
	Assert(slot == loading);
	LWLockAcquire(dircache->lock, LW_EXCLUSIVE);
	slot->reader = reader;
	LWLockRelease(dircache->lock);
	loading = NULL;
	/* the loader's pin stays, for its transaction (slot made in reserve) */
	pinned[npinned++] = slot;
	pg_atomic_fetch_add_u64(&dircache->loads, 1);
}

/* Give up the load in `slot` (it failed): drop the entry, free its record. */
void
lsm_dircache_abandon(LsmDirCacheEntry *slot)
{
	LsmDirRecord *rec;

	Assert(slot == loading);
	LWLockAcquire(dircache->lock, LW_EXCLUSIVE);
	rec = lsm_dircache_record(slot->pos);
	rec->live = false;
	hash_search(dircache_hash, &slot->key, HASH_REMOVE, NULL);
	LWLockRelease(dircache->lock);
	loading = NULL;
}

/*
 * End of transaction: drop this backend's pins, and a load it did not
 * finish.  Directories are looked up only inside transactions, and a
 * process that exits in one aborts it first (also on FATAL: ShutdownPostgres
 * runs the transaction callbacks), so this is also the cleanup at exit.  A
 * before_shmem_exit callback would not do: registered on first use, it
 * could land inside a PG_ENSURE_ERROR_CLEANUP block (a btree vacuum asks
 * the table whether index entries are dead), whose end insists on being
 * the latest callback.
 */
void
lsm_dircache_release_all(void)
{
	int			i;

	if (loading != NULL)
		lsm_dircache_abandon(loading);
	for (i = 0; i < npinned; i++)
		pg_atomic_fetch_sub_u32(&pinned[i]->pins, 1);
	npinned = 0;
}

/*
 * Could this session find directories of `bytes` in all in the shared
 * cache?  For the planner: no more than half the ring, as other tables'
 * directories share it.
 */
bool
lsm_dircache_can_hold(double bytes)
{
	return dircache != NULL && lsm_enable_shared_directory_cache &&
		bytes <= (double) dircache->size / 2;
}

/* What the shared cache holds; false if there is none. */
bool
lsm_dircache_stats(LsmDirCacheStats *stats)
{
	memset(stats, 0, sizeof(LsmDirCacheStats));
	if (dircache == NULL)
		return false;
	LWLockAcquire(dircache->lock, LW_SHARED);
	stats->size = dircache->size;
	stats->used_bytes = dircache->head - dircache->tail;
	stats->segments = hash_get_num_entries(dircache_hash);
	LWLockRelease(dircache->lock);
	stats->hits = pg_atomic_read_u64(&dircache->hits);
	stats->loads = pg_atomic_read_u64(&dircache->loads);
	stats->evictions = pg_atomic_read_u64(&dircache->evictions);
	stats->bypasses = pg_atomic_read_u64(&dircache->bypasses);
	return true;
}
