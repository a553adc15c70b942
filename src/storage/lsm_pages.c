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
#include "storage/lmgr.h"
#include "utils/rel.h"

#include "storage/lsm_storage.h"

/*
 * Append `len` bytes as new pages; returns the first block number and sets
 * *npages.  The caller records (first block, npages) in the catalog.
 */
BlockNumber
lsm_pages_append(Relation rel, const char *data, Size len, uint32 *npages)
{
	uint32		n = (uint32) ((len + LSM_PAGE_PAYLOAD - 1) / LSM_PAGE_PAYLOAD);
	BlockNumber first = InvalidBlockNumber;
	bool		needs_wal = RelationNeedsWAL(rel);
	bool		local = RELATION_IS_LOCAL(rel);
	uint32		i;

	if (n == 0)
		n = 1;
	if (!local)
		LockRelationForExtension(rel, ExclusiveLock);
	for (i = 0; i < n; i++)
	{
		Buffer		buf;
		Page		page;
		Size		off = (Size) i * LSM_PAGE_PAYLOAD;
		Size		chunk = Min(LSM_PAGE_PAYLOAD, len - off);

		CHECK_FOR_INTERRUPTS();
		buf = ReadBufferExtended(rel, MAIN_FORKNUM, P_NEW, RBM_ZERO_AND_LOCK,
								 NULL);
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
	if (!local)
		UnlockRelationForExtension(rel, ExclusiveLock);
	*npages = n;
	return first;
}

/*
 * Copy `len` bytes starting at byte `offset` of the segment stored in pages
 * [start, start + npages) into dst.  Damage is reported naming relation,
 * segment and block.
 */
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
