/*-------------------------------------------------------------------------
 *
 * lsm_pages.c
 *	  Segment byte strings laid over runs of consecutive pages.
 *
 * NOTES
 *	  A segment is written once, all at once: the caller hands us the whole
 *	  encoded byte string.  We extend the relation by as many pages as it
 *	  needs while holding the relation extension lock, so the pages are
 *	  consecutive, and write each page through shared (or, for temporary
 *	  tables, local) buffers.  Each new page is WAL-logged as a full page
 *	  image inside the critical section that fills it (standard page layout,
 *	  so the unused tail of the last page is not logged).  Unlogged and
 *	  temporary relations, and relations created in this transaction under
 *	  wal_level = minimal, write no WAL (RelationNeedsWAL).
 *
 *	  Pages are immutable once written; a reader still takes a share lock
 *	  while copying so that a later space-reuse scheme stays safe.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xloginsert.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/ipc.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/smgr.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "catalog/lsm_catalog.h"
#include "storage/lsm_storage.h"

/*
 * lsm_pages_write
 *		Write `len` bytes as consecutive pages starting at block `start`
 *		(pages of a free extent), or at the end of the relation if start is
 *		InvalidBlockNumber.  Each page is a full-page image WAL record
 *		written in its own critical section.  Returns the first block;
 *		*npages receives the page count.  The caller holds the space lock
 *		(lsm_space_lock) until the segment is catalogued, so no other
 *		backend writes into the same pages.
 */
BlockNumber
lsm_pages_write(Relation rel, BlockNumber start, const char *data, Size len,
				uint32 *npages)
{
	uint32		n = (uint32) ((len + LSM_PAGE_PAYLOAD - 1) / LSM_PAGE_PAYLOAD);
	BlockNumber first = InvalidBlockNumber;
	bool		needs_wal = RelationNeedsWAL(rel);
	bool		local = RELATION_IS_LOCAL(rel);
	bool		extend = (start == InvalidBlockNumber);
	uint32		i;

	if (n == 0)
		n = 1;
	if (extend && !local)
		LockRelationForExtension(rel, ExclusiveLock);
	for (i = 0; i < n; i++)
	{
		Buffer		buf;
		Page		page;
		Size		off = (Size) i * LSM_PAGE_PAYLOAD;
		Size		chunk = Min(LSM_PAGE_PAYLOAD, len - off);

		CHECK_FOR_INTERRUPTS();
		buf = ReadBufferExtended(rel, MAIN_FORKNUM, extend ? P_NEW : start + i,
								 RBM_ZERO_AND_LOCK, NULL);
		if (i == 0)
			first = BufferGetBlockNumber(buf);
		else if (BufferGetBlockNumber(buf) != first + i)
			elog(ERROR, "lsm relation \"%s\" was extended concurrently",
				 RelationGetRelationName(rel));
		page = BufferGetPage(buf);

		START_CRIT_SECTION();
		PageInit(page, BLCKSZ, 0);
		if (off < len)
			memcpy(PageGetContents(page), data + off, chunk);
		else
			chunk = 0;
		((PageHeader) page)->pd_lower = SizeOfPageHeaderData + chunk;
		MarkBufferDirty(buf);
		if (needs_wal)
			log_newpage_buffer(buf, true);
		END_CRIT_SECTION();

		UnlockReleaseBuffer(buf);
	}
	if (extend && !local)
		UnlockRelationForExtension(rel, ExclusiveLock);
	*npages = n;
	return first;
}

/* Write at the end of the relation (see lsm_pages_write). */
BlockNumber
lsm_pages_append(Relation rel, const char *data, Size len, uint32 *npages)
{
	return lsm_pages_write(rel, InvalidBlockNumber, data, len, npages);
}

/*
 * Free space.  An extent is free when no lsm.segment tuple of the storage
 * points at it any more -- not even a dead one: a retired segment's tuple
 * stays (and keeps its pages) until pruning or VACUUM of lsm.segment
 * removes it, which happens only once no snapshot can see it, and whose
 * WAL record makes a hot standby cancel the queries that still could.  So
 * free space is derived from the catalog, with no second record of it.
 *
 * Writers of a storage serialise on the space lock (an advisory-class
 * heavyweight lock on the storage id, taken for the few moments between
 * choosing pages and inserting the segment's catalog tuple).
 */
static void
lsm_space_locktag(LOCKTAG *tag, uint64 storage_id)
{
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, (uint32) (storage_id >> 32),
						 (uint32) storage_id, LSM_SPACE_LOCK_CLASS);
}

void
lsm_space_lock(Relation rel, uint64 storage_id)
{
	LOCKTAG		tag;

	if (RELATION_IS_LOCAL(rel))
		return;
	lsm_space_locktag(&tag, storage_id);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
}

void
lsm_space_unlock(Relation rel, uint64 storage_id)
{
	LOCKTAG		tag;

	if (RELATION_IS_LOCAL(rel))
		return;
	lsm_space_locktag(&tag, storage_id);
	LockRelease(&tag, ExclusiveLock, false);
}

/*
 * The free extents of a storage as its catalog says, in block order, the
 * last one reaching to `nblocks` (the relation's size).  palloc'd.
 */
static LsmExtent *
lsm_space_scan_gaps(uint64 storage_id, BlockNumber nblocks, int *ngaps)
{
	BlockNumber pos = LSM_METAPAGE_BLKNO + 1;
	LsmExtent  *ext;
	LsmExtent  *gaps;
	int			n;
	int			i;

	ext = lsm_catalog_used_extents(storage_id, &n);
	gaps = palloc(sizeof(LsmExtent) * (n + 1));
	*ngaps = 0;
	for (i = 0; i <= n; i++)
	{
		BlockNumber end = (i < n) ? ext[i].start : nblocks;

		if (end > nblocks)
			end = nblocks;
		if (end > pos)
		{
			gaps[*ngaps].start = pos;
			gaps[*ngaps].nblocks = end - pos;
			(*ngaps)++;
		}
		if (i < n && ext[i].start + ext[i].nblocks > pos)
			pos = ext[i].start + ext[i].nblocks;
	}
	if (ext)
		pfree(ext);
	return gaps;
}

/*
 * The free extents found by the last scan of each busy storage, in shared
 * memory (with shared_preload_libraries).  Every writer of a storage picks
 * its pages under the storage's space lock, here, and takes them out of
 * the list, so an extent in the list stays free: no one else can have
 * claimed it since the scan.  Extents freed after the scan (pruning of
 * retired segments' tuples) join at the next scan, which happens when no
 * listed extent fits and the last scan is more than LSM_SPACE_RESCAN_MS
 * old, the request is of LSM_SPACE_RESCAN_PAGES or more, or the scan found
 * more extents than a slot holds.  Truncating the
 * relation forgets the list (lsm_space_forget).  Without the list, each
 * segment written under a stream of single-row commits scanned every
 * segment tuple of the storage while holding the space lock.
 */
#define LSM_SPACE_SLOTS		128
#define LSM_SPACE_GAPS		64
#define LSM_SPACE_RESCAN_MS	20
/* ... or at once for an extent this large (a compaction's output) */
#define LSM_SPACE_RESCAN_PAGES	8

typedef struct LsmSpaceSlot
{
	Oid			dbid;
	Oid			relfilenode;	/* storage ids restart with the extension */
	uint64		storage_id;		/* 0: unused */
	BlockNumber nblocks;		/* the relation's size at the scan */
	bool		more;			/* the scan found more than LSM_SPACE_GAPS */
	int			ngaps;
	TimestampTz scanned;
	uint64		used;			/* clock of the last use (LRU) */
	LsmExtent	gaps[LSM_SPACE_GAPS];
} LsmSpaceSlot;

typedef struct LsmSpaceShared
{
	uint64		clock;
	LsmSpaceSlot slots[LSM_SPACE_SLOTS];
} LsmSpaceShared;

static LsmSpaceShared *space_shared = NULL;
static LWLock *space_lock = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void
lsm_space_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(sizeof(LsmSpaceShared));
	RequestNamedLWLockTranche("lsm free space", 1);
}

static void
lsm_space_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	space_shared = ShmemInitStruct("lsm free space", sizeof(LsmSpaceShared),
								   &found);
	if (!found)
		memset(space_shared, 0, sizeof(LsmSpaceShared));
	space_lock = &(GetNamedLWLockTranche("lsm free space"))->lock;
	LWLockRelease(AddinShmemInitLock);
}

/* From _PG_init while shared_preload_libraries is being processed. */
void
lsm_space_shmem_init(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = lsm_space_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = lsm_space_shmem_startup;
}

/* The storage's slot, or NULL.  Caller holds space_lock. */
static LsmSpaceSlot *
lsm_space_slot(Relation rel, uint64 storage_id)
{
	int			i;

	for (i = 0; i < LSM_SPACE_SLOTS; i++)
	{
		LsmSpaceSlot *slot = &space_shared->slots[i];

		if (slot->storage_id == storage_id && slot->dbid == MyDatabaseId &&
			slot->relfilenode == rel->rd_node.relNode)
			return slot;
	}
	return NULL;
}

/*
 * The extent for `npages` among `gaps` (below `nblocks`): the smallest that
 * fits, the lowest of equals (best fit).  Small segments -- a commit's
 * level-0 segment, a delete map -- then fill the holes small segments left,
 * and the large extent a rewritten segment left stays whole for the next
 * rewrite; with first fit they were scattered over it, and each rewrite of
 * a large segment extended the file.  -1 if none fits.
 */
static int
lsm_space_best_fit(const LsmExtent *gaps, int ngaps, uint32 npages,
				   BlockNumber nblocks)
{
	int			best = -1;
	BlockNumber best_len = InvalidBlockNumber;
	int			i;

	for (i = 0; i < ngaps; i++)
	{
		BlockNumber len;

		if (gaps[i].start >= nblocks)
			continue;
		len = Min(gaps[i].nblocks, nblocks - gaps[i].start);
		if (len >= npages && (best < 0 || len < best_len))
		{
			best = i;
			best_len = len;
		}
	}
	return best;
}

/*
 * Take `npages` from the slot's extents (lsm_space_best_fit);
 * InvalidBlockNumber if none fits.  Caller holds space_lock.
 */
static BlockNumber
lsm_space_take(LsmSpaceSlot *slot, uint32 npages, BlockNumber nblocks)
{
	int			i;
	LsmExtent  *g;
	BlockNumber found;

	slot->used = ++space_shared->clock;
	i = lsm_space_best_fit(slot->gaps, slot->ngaps, npages, nblocks);
	if (i < 0)
		return InvalidBlockNumber;
	g = &slot->gaps[i];
	found = g->start;
	g->start += npages;
	g->nblocks -= npages;
	if (g->nblocks == 0)
	{
		memmove(g, g + 1, sizeof(LsmExtent) * (slot->ngaps - i - 1));
		slot->ngaps--;
	}
	return found;
}

/*
 * First block of a free extent of `npages` pages below the end of the
 * relation, or InvalidBlockNumber (extend).  Only tables a compaction has
 * retired segments from are searched.  Caller holds the space lock, and
 * writes the pages and catalogs them before releasing it.
 */
BlockNumber
lsm_space_find(Relation rel, uint64 storage_id, uint32 npages)
{
	BlockNumber nblocks;
	LsmExtent  *gaps;
	int			ngaps;
	LsmSpaceSlot *slot;
	BlockNumber found = InvalidBlockNumber;
	int			i;

	if ((lsm_meta_flags(rel) & LSM_META_HAS_RETIRED) == 0)
		return InvalidBlockNumber;
	nblocks = smgrnblocks(RelationGetSmgr(rel), MAIN_FORKNUM);

	/* what the last scan left, if it is recent enough */
	if (space_shared != NULL && !RELATION_IS_LOCAL(rel))
	{
		LWLockAcquire(space_lock, LW_EXCLUSIVE);
		slot = lsm_space_slot(rel, storage_id);
		if (slot != NULL && slot->nblocks <= nblocks)
		{
			found = lsm_space_take(slot, npages, nblocks);
			if (found != InvalidBlockNumber ||
				(!slot->more && npages < LSM_SPACE_RESCAN_PAGES &&
				 !TimestampDifferenceExceeds(slot->scanned, GetCurrentTimestamp(),
											 LSM_SPACE_RESCAN_MS)))
			{
				LWLockRelease(space_lock);
				return found;
			}
		}
		LWLockRelease(space_lock);
	}

	/* scan the catalog */
	gaps = lsm_space_scan_gaps(storage_id, nblocks, &ngaps);
	if (space_shared == NULL || RELATION_IS_LOCAL(rel))
	{
		i = lsm_space_best_fit(gaps, ngaps, npages, nblocks);
		if (i >= 0)
			found = gaps[i].start;
		pfree(gaps);
		return found;
	}
	LWLockAcquire(space_lock, LW_EXCLUSIVE);
	slot = lsm_space_slot(rel, storage_id);
	if (slot == NULL)
	{
		/* a free slot, or the least recently used one */
		slot = &space_shared->slots[0];
		for (i = 1; i < LSM_SPACE_SLOTS && slot->storage_id != 0; i++)
			if (space_shared->slots[i].storage_id == 0 ||
				space_shared->slots[i].used < slot->used)
				slot = &space_shared->slots[i];
		slot->dbid = MyDatabaseId;
		slot->relfilenode = rel->rd_node.relNode;
		slot->storage_id = storage_id;
	}
	slot->nblocks = nblocks;
	slot->ngaps = Min(ngaps, LSM_SPACE_GAPS);
	slot->more = ngaps > LSM_SPACE_GAPS;
	memcpy(slot->gaps, gaps, sizeof(LsmExtent) * slot->ngaps);
	slot->scanned = GetCurrentTimestamp();
	found = lsm_space_take(slot, npages, nblocks);
	LWLockRelease(space_lock);
	pfree(gaps);
	return found;
}

/*
 * `rel` was truncated: its listed extents may lie past the new end, where
 * the next extension will put segments.  (lsm_space_find also rescans when
 * the relation is shorter than at the last scan.)
 */
void
lsm_space_forget(Relation rel, uint64 storage_id)
{
	LsmSpaceSlot *slot;

	if (space_shared == NULL)
		return;
	LWLockAcquire(space_lock, LW_EXCLUSIVE);
	slot = lsm_space_slot(rel, storage_id);
	if (slot != NULL)
		slot->storage_id = 0;
	LWLockRelease(space_lock);
}

/*
 * One past the last block any segment tuple of the storage points at (at
 * least 1, the metapage): the relation may be truncated there.
 */
BlockNumber
lsm_space_used_end(Relation rel, uint64 storage_id)
{
	BlockNumber end = LSM_METAPAGE_BLKNO + 1;
	LsmExtent  *ext;
	int			n;
	int			i;

	ext = lsm_catalog_used_extents(storage_id, &n);
	for (i = 0; i < n; i++)
		end = Max(end, ext[i].start + ext[i].nblocks);
	if (ext)
		pfree(ext);
	return end;
}

void
lsm_pages_read(Relation rel, BlockNumber start, uint32 npages,
			   uint64 offset, Size len, char *dst,
			   BufferAccessStrategy strategy, int64 segment_id)
{
	BlockNumber blk = start + (BlockNumber) (offset / LSM_PAGE_PAYLOAD);
	Size		inpage = (Size) (offset % LSM_PAGE_PAYLOAD);

	while (len > 0)
	{
		Buffer		buf;
		Page		page;
		Size		n = Min(len, LSM_PAGE_PAYLOAD - inpage);
		PageHeader	ph;

		if (blk >= start + npages)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("lsm relation \"%s\" segment " INT64_FORMAT ": read past its last block %u",
							RelationGetRelationName(rel), segment_id,
							start + npages - 1)));
		buf = ReadBufferExtended(rel, MAIN_FORKNUM, blk, RBM_NORMAL, strategy);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		ph = (PageHeader) page;
		if (PageIsNew(page) ||
			ph->pd_lower < SizeOfPageHeaderData + inpage + n ||
			ph->pd_lower > BLCKSZ)
		{
			UnlockReleaseBuffer(buf);
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("lsm relation \"%s\" segment " INT64_FORMAT " block %u is damaged",
							RelationGetRelationName(rel), segment_id, blk),
					 errdetail("The page is empty or shorter than the segment directory says.")));
		}
		memcpy(dst, PageGetContents(page) + inpage, n);
		UnlockReleaseBuffer(buf);

		dst += n;
		len -= n;
		inpage = 0;
		blk++;
	}
}
