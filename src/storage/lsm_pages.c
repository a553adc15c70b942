/*-------------------------------------------------------------------------
 *
 * lsm_pages.c
 *	  Segment byte strings laid over runs of consecutive pages.
 *
 * NOTES
 *	  A segment is written once, all at once: the caller hands us the whole
 *	  encoded byte string.  Its pages are free extents of the relation --
 *	  those of segments retired by compactions that no snapshot can read
 *	  any more -- and, for what they do not hold, pages added at the end
 *	  under the relation extension lock.  A segment may be split over up
 *	  to LSM_SEG_MAX_EXTENTS runs of consecutive pages, listed in order in
 *	  its catalog tuple, so free space a large retired segment leaves in
 *	  pieces is used again by the next large one instead of extending the
 *	  file.  Each page is written through shared (or, for temporary
 *	  tables, local) buffers and WAL-logged as a full page image inside the
 *	  critical section that fills it (standard page layout, so the unused
 *	  tail of the last page is not logged).  Unlogged and temporary
 *	  relations, and relations created in this transaction under wal_level
 *	  = minimal, write no WAL (RelationNeedsWAL).
 *
 *	  Pages are immutable while a catalog tuple points at them; a reader
 *	  takes a share lock while copying.
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
 * Fill `buf` (locked, zeroed) with page `pageno` of the `len`-byte string
 * `data`, WAL-logged as a full-page image inside the critical section.
 */
static void
lsm_page_fill(Buffer buf, const char *data, Size len, uint32 pageno,
			  bool needs_wal)
{
	Page		page = BufferGetPage(buf);
	Size		off = (Size) pageno * LSM_PAGE_PAYLOAD;
	Size		chunk = off < len ? Min(LSM_PAGE_PAYLOAD, len - off) : 0;

	START_CRIT_SECTION();
	PageInit(page, BLCKSZ, 0);
	if (chunk > 0)
		memcpy(PageGetContents(page), data + off, chunk);
	((PageHeader) page)->pd_lower = SizeOfPageHeaderData + chunk;
	MarkBufferDirty(buf);
	if (needs_wal)
		log_newpage_buffer(buf, true);
	END_CRIT_SECTION();
}

/*
 * lsm_pages_write
 *		Write `len` bytes over the pages of `plan` (free extents, in order),
 *		then over `extend` pages added at the end of the relation while
 *		holding the relation extension lock.  The runs the bytes went to go
 *		to `out` (at most max_extents; new pages that follow the last
 *		planned extent join it); returns their count.  The caller holds the
 *		space lock (lsm_space_lock) until the segment is catalogued, so no
 *		other backend writes into the same pages.
 */
static int
lsm_pages_write(Relation rel, const LsmExtent *plan, int nplan, uint32 extend,
				const char *data, Size len, int max_extents, LsmExtent *out)
{
	bool		needs_wal = RelationNeedsWAL(rel);
	bool		local = RELATION_IS_LOCAL(rel);
	uint32		pageno = 0;
	int			nout = 0;
	int			e;

	for (e = 0; e <= nplan; e++)
	{
		bool		extending = (e == nplan);
		uint32		n = extending ? extend : plan[e].nblocks;
		uint32		i;

		if (n == 0)
			continue;
		if (extending && !local)
			LockRelationForExtension(rel, ExclusiveLock);
		for (i = 0; i < n; i++, pageno++)
		{
			Buffer		buf;
			BlockNumber blk;

			CHECK_FOR_INTERRUPTS();
			buf = ReadBufferExtended(rel, MAIN_FORKNUM,
									 extending ? P_NEW : plan[e].start + i,
									 RBM_ZERO_AND_LOCK, NULL);
			blk = BufferGetBlockNumber(buf);
			lsm_page_fill(buf, data, len, pageno, needs_wal);
			UnlockReleaseBuffer(buf);

			if (nout > 0 && out[nout - 1].start + out[nout - 1].nblocks == blk)
				out[nout - 1].nblocks++;
			else if (nout < max_extents)
			{
				out[nout].start = blk;
				out[nout].nblocks = 1;
				nout++;
			}
			else
				elog(ERROR, "lsm relation \"%s\" was extended concurrently",
					 RelationGetRelationName(rel));
		}
		if (extending && !local)
			UnlockRelationForExtension(rel, ExclusiveLock);
	}
	return nout;
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
 * retired segments' tuples) join at the next scan, which happens when the
 * list cannot hold a request and the worker has pruned lsm.segment since
 * the scan (lsm_space_note_freed), the last scan is more than
 * LSM_SPACE_RESCAN_MS old, the request is of LSM_SPACE_RESCAN_PAGES or
 * more, or the scan found more extents than a slot holds.  A list keeps
 * the largest extents.  Truncating the
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
	uint64		freed;			/* space_shared->freed at the scan */
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
	pg_atomic_uint64 freed;		/* moved when lsm.segment tuples are pruned */
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
	{
		memset(space_shared, 0, sizeof(LsmSpaceShared));
		pg_atomic_init_u64(&space_shared->freed, 0);
	}
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

/* Pages of `g` below `nblocks` (0 past it). */
static inline uint32
lsm_gap_len(const LsmExtent *g, BlockNumber nblocks)
{
	return g->start >= nblocks ? 0 : Min(g->nblocks, nblocks - g->start);
}

/*
 * The gap for `npages` among `gaps` (below `nblocks`): the smallest that
 * fits, the lowest of equals (best fit).  Small segments -- a commit's
 * level-0 segment, a delete map -- then fill the holes small segments left,
 * and a large extent stays whole for the next large segment.  The tail gap
 * (the one reaching `nblocks`) is left out unless `tail_ok`.  -1 if none
 * fits.
 */
static int
lsm_space_best_fit(const LsmExtent *gaps, int ngaps, uint32 npages,
				   BlockNumber nblocks, bool tail_ok)
{
	int			best = -1;
	BlockNumber best_len = InvalidBlockNumber;
	int			i;

	for (i = 0; i < ngaps; i++)
	{
		BlockNumber len = lsm_gap_len(&gaps[i], nblocks);

		if (len == 0)
			continue;
		if (!tail_ok && gaps[i].start + len == nblocks)
			continue;
		if (len >= npages && (best < 0 || len < best_len))
		{
			best = i;
			best_len = len;
		}
	}
	return best;
}

/* Move `n` pages from the front of gaps[i] to the plan. */
static void
lsm_space_take_from(LsmExtent *gaps, int i, uint32 n, LsmExtent *plan,
					int *nplan)
{
	plan[*nplan].start = gaps[i].start;
	plan[*nplan].nblocks = n;
	(*nplan)++;
	gaps[i].start += n;
	gaps[i].nblocks -= n;
}

/*
 * Choose free pages for a segment of `npages` pages among `gaps` (below
 * `nblocks`), taking them out of `gaps`: one gap that holds it all if there
 * is one (best fit); else, if it may be split (max_extents > 1), the
 * largest gaps whole and then the best fit for what is left, up to
 * max_extents - 1 of them, and last the tail gap, which the pages added at
 * the end of the relation then continue.  The plan goes to plan (*nplan runs);
 * returns how many pages it covers (the rest: extend the relation).
 */
static uint32
lsm_space_plan(LsmExtent *gaps, int *ngaps, uint32 npages, BlockNumber nblocks,
			   int max_extents, LsmExtent *plan, int *nplan)
{
	uint32		remaining = npages;
	int			tail = -1;
	int			i;
	int			j;

	*nplan = 0;
	i = lsm_space_best_fit(gaps, *ngaps, npages, nblocks, true);
	if (i >= 0)
	{
		lsm_space_take_from(gaps, i, npages, plan, nplan);
		remaining = 0;
	}
	else
	{
		for (i = 0; i < *ngaps; i++)
			if (lsm_gap_len(&gaps[i], nblocks) > 0 &&
				gaps[i].start + lsm_gap_len(&gaps[i], nblocks) == nblocks)
				tail = i;
		while (remaining > 0 && *nplan < max_extents - 1)
		{
			int			largest = -1;

			i = lsm_space_best_fit(gaps, *ngaps, remaining, nblocks, false);
			if (i >= 0)
			{
				lsm_space_take_from(gaps, i, remaining, plan, nplan);
				remaining = 0;
				break;
			}
			for (j = 0; j < *ngaps; j++)
				if (j != tail && lsm_gap_len(&gaps[j], nblocks) > 0 &&
					(largest < 0 || gaps[j].nblocks > gaps[largest].nblocks))
					largest = j;
			if (largest < 0)
				break;
			remaining -= gaps[largest].nblocks;
			lsm_space_take_from(gaps, largest, gaps[largest].nblocks,
								plan, nplan);
		}
		if (remaining > 0 && tail >= 0)
		{
			uint32		n = Min(remaining, nblocks - gaps[tail].start);

			lsm_space_take_from(gaps, tail, n, plan, nplan);
			remaining -= n;
		}
	}

	/* drop emptied gaps */
	for (i = 0, j = 0; i < *ngaps; i++)
		if (gaps[i].nblocks > 0)
			gaps[j++] = gaps[i];
	*ngaps = j;
	return npages - remaining;
}

static int
lsm_extent_len_desc(const void *a, const void *b)
{
	uint32		x = ((const LsmExtent *) a)->nblocks;
	uint32		y = ((const LsmExtent *) b)->nblocks;

	return (x < y) - (x > y);
}

static int
lsm_extent_start_asc(const void *a, const void *b)
{
	BlockNumber x = ((const LsmExtent *) a)->start;
	BlockNumber y = ((const LsmExtent *) b)->start;

	return (x > y) - (x < y);
}

/*
 * Free pages for a segment of `npages` pages below the end of the relation
 * (lsm_space_plan), in plan (*nplan runs); returns how many pages they cover, the
 * rest to be added at the end.  Only tables a compaction has retired
 * segments from are searched.  Caller holds the space lock, and writes the
 * pages and catalogs them before releasing it.
 */
static uint32
lsm_space_find(Relation rel, uint64 storage_id, uint32 npages, int max_extents,
			   LsmExtent *plan, int *nplan)
{
	BlockNumber nblocks;
	LsmExtent  *gaps;
	int			ngaps;
	LsmSpaceSlot *slot;
	uint32		found = 0;
	uint64		freed = 0;
	int			i;

	*nplan = 0;
	if ((lsm_meta_flags(rel) & LSM_META_HAS_RETIRED) == 0)
		return 0;
	nblocks = smgrnblocks(RelationGetSmgr(rel), MAIN_FORKNUM);

	/* what the last scan left, if it is recent enough */
	if (space_shared != NULL && !RELATION_IS_LOCAL(rel))
	{
		LWLockAcquire(space_lock, LW_EXCLUSIVE);
		slot = lsm_space_slot(rel, storage_id);
		if (slot != NULL && slot->nblocks <= nblocks)
		{
			LsmExtent	local[LSM_SPACE_GAPS];
			int			nlocal = slot->ngaps;

			slot->used = ++space_shared->clock;
			memcpy(local, slot->gaps, sizeof(LsmExtent) * nlocal);
			found = lsm_space_plan(local, &nlocal, npages, nblocks,
								   max_extents, plan, nplan);
			if (found == npages ||
				(!slot->more && npages < LSM_SPACE_RESCAN_PAGES &&
				 slot->freed == pg_atomic_read_u64(&space_shared->freed) &&
				 !TimestampDifferenceExceeds(slot->scanned, GetCurrentTimestamp(),
											 LSM_SPACE_RESCAN_MS)))
			{
				memcpy(slot->gaps, local, sizeof(LsmExtent) * nlocal);
				slot->ngaps = nlocal;
				LWLockRelease(space_lock);
				return found;
			}
		}
		LWLockRelease(space_lock);
	}

	/* scan the catalog */
	if (space_shared != NULL)
		freed = pg_atomic_read_u64(&space_shared->freed);
	gaps = lsm_space_scan_gaps(storage_id, nblocks, &ngaps);
	found = lsm_space_plan(gaps, &ngaps, npages, nblocks, max_extents,
						   plan, nplan);
	if (space_shared == NULL || RELATION_IS_LOCAL(rel))
	{
		pfree(gaps);
		return found;
	}
	/* keep the largest gaps, in block order */
	if (ngaps > LSM_SPACE_GAPS)
	{
		qsort(gaps, ngaps, sizeof(LsmExtent), lsm_extent_len_desc);
		qsort(gaps, LSM_SPACE_GAPS, sizeof(LsmExtent), lsm_extent_start_asc);
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
	slot->freed = freed;
	slot->ngaps = Min(ngaps, LSM_SPACE_GAPS);
	slot->more = ngaps > LSM_SPACE_GAPS;
	memcpy(slot->gaps, gaps, sizeof(LsmExtent) * slot->ngaps);
	slot->scanned = GetCurrentTimestamp();
	slot->used = ++space_shared->clock;
	LWLockRelease(space_lock);
	pfree(gaps);
	return found;
}

/*
 * lsm_pages_store
 *		Write the `len`-byte string `data` into free pages of the relation
 *		(lsm_space_find) and, for the rest, pages added at its end.  The
 *		runs of pages it went to, in order, go to `extents` (at most
 *		max_extents: 1 keeps it in consecutive pages); returns their count,
 *		and the page count in *npages.  The caller holds the space lock
 *		(lsm_space_lock) and catalogs the pages before releasing it.
 */
int
lsm_pages_store(Relation rel, uint64 storage_id, const char *data, Size len,
				int max_extents, LsmExtent *extents, uint32 *npages)
{
	uint32		n = (uint32) ((len + LSM_PAGE_PAYLOAD - 1) / LSM_PAGE_PAYLOAD);
	LsmExtent	plan[LSM_SEG_MAX_EXTENTS];
	int			nplan;
	uint32		planned;

	Assert(max_extents >= 1 && max_extents <= LSM_SEG_MAX_EXTENTS);
	if (n == 0)
		n = 1;
	planned = lsm_space_find(rel, storage_id, n, max_extents, plan, &nplan);
	Assert(planned <= n);
	*npages = n;
	return lsm_pages_write(rel, plan, nplan, n - planned, data, len,
						   max_extents, extents);
}

/*
 * Pruning removed lsm.segment tuples: extents may have come free that the
 * lists do not hold yet.  A writer that finds no room in its storage's
 * list then scans the catalog again at once instead of extending the file
 * (LSM_SPACE_RESCAN_MS still bounds how stale a list gets when freed space
 * comes from elsewhere: VACUUM, pruning by readers).
 */
void
lsm_space_note_freed(void)
{
	if (space_shared != NULL)
		pg_atomic_fetch_add_u64(&space_shared->freed, 1);
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

/*
 * lsm_extents_punch
 *		The runs of an image (`in`, in the order of its bytes) with its
 *		pages [from, to) made a hole, joined with holes next to it, into
 *		out[]; false if that takes more than LSM_SEG_MAX_EXTENTS runs.  The
 *		hole must leave the image's first and last page in place.
 */
bool
lsm_extents_punch(const LsmExtent *in, int nin, uint32 from, uint32 to,
				  LsmExtent *out, int *nout)
{
	LsmExtent	tmp[3 * LSM_SEG_MAX_EXTENTS];
	int			n = 0;
	uint32		pos = 0;		/* image page at which run i starts */
	int			i;

	Assert(from > 0 && from < to);
	for (i = 0; i < nin; i++)
	{
		uint32		len = in[i].nblocks;
		uint32		cuts[2] = {Max(from, pos), Min(to, pos + len)};
		LsmExtent	part;

		if (LSM_EXTENT_IS_HOLE(in[i]) || cuts[0] >= cuts[1])
			tmp[n++] = in[i];	/* untouched */
		else
		{
			if (cuts[0] > pos)
			{
				part.start = in[i].start;
				part.nblocks = cuts[0] - pos;
				tmp[n++] = part;
			}
			part.start = LSM_METAPAGE_BLKNO;
			part.nblocks = cuts[1] - cuts[0];
			tmp[n++] = part;
			if (cuts[1] < pos + len)
			{
				part.start = in[i].start + (cuts[1] - pos);
				part.nblocks = pos + len - cuts[1];
				tmp[n++] = part;
			}
		}
		pos += len;
	}
	Assert(to < pos);
	/* join neighbouring holes */
	*nout = 0;
	for (i = 0; i < n; i++)
	{
		if (*nout > 0 && LSM_EXTENT_IS_HOLE(tmp[i]) &&
			LSM_EXTENT_IS_HOLE(out[*nout - 1]))
		{
			out[*nout - 1].nblocks += tmp[i].nblocks;
			continue;
		}
		if (*nout == LSM_SEG_MAX_EXTENTS)
			return false;
		out[(*nout)++] = tmp[i];
	}
	return true;
}

/*
 * lsm_pages_read
 *		Copy `len` bytes from offset `offset` of the segment (or delete map)
 *		laid over `extents` into `dst`.
 */
void
lsm_pages_read(Relation rel, const LsmExtent *extents, int nextents,
			   uint64 offset, Size len, char *dst,
			   BufferAccessStrategy strategy, int64 segment_id)
{
	uint64		pageno = offset / LSM_PAGE_PAYLOAD;
	Size		inpage = (Size) (offset % LSM_PAGE_PAYLOAD);
	int			e = 0;
	uint32		imgpage = (uint32) pageno;	/* counted through all runs */

	/* the extent holding the first page */
	while (e < nextents && pageno >= extents[e].nblocks)
		pageno -= extents[e++].nblocks;

	while (len > 0)
	{
		Buffer		buf;
		Page		page;
		Size		n = Min(len, LSM_PAGE_PAYLOAD - inpage);
		PageHeader	ph;
		BlockNumber blk;

		if (e >= nextents)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("lsm relation \"%s\" segment " INT64_FORMAT ": read past its last page",
							RelationGetRelationName(rel), segment_id)));
		if (LSM_EXTENT_IS_HOLE(extents[e]))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("lsm relation \"%s\" segment " INT64_FORMAT ": read of page %u of its image, which it no longer holds",
							RelationGetRelationName(rel), segment_id, imgpage)));
		blk = extents[e].start + (BlockNumber) pageno;
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
		imgpage++;
		if (++pageno == extents[e].nblocks)
		{
			e++;
			pageno = 0;
		}
	}
}
