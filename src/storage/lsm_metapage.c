/*-------------------------------------------------------------------------
 *
 * lsm_metapage.c
 *	  Block 0 of every lsm relfilenode: magic, format version, storage id
 *	  and the rowid counter.
 *
 * NOTES
 *	  The metapage is written when the relfilenode is created, directly
 *	  through smgr (the relcache entry does not point at the new relfilenode
 *	  yet), then WAL-logged and synced, like bloom's init fork.  Later
 *	  changes (the rowid counter) go through shared buffers and GenericXLog.
 *
 *	  Rowids are handed out in batches, like sequence values: the counter in
 *	  the metapage is advanced and WAL-logged before any rowid of the batch is
 *	  used, so after a crash no rowid is handed out twice; unused rowids of
 *	  a batch are simply lost.
 *
 *	  Unlogged tables: the init fork holds a metapage flagged
 *	  LSM_META_FROM_INIT_FORK.  After a crash PostgreSQL copies the init fork
 *	  over the main fork, and the flag tells us that every segment of the
 *	  storage id is gone while the (logged) lsm catalog still lists them.
 *	  Readers then see an empty table; the first writer takes a fresh storage
 *	  id and clears the flag.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/generic_xlog.h"
#include "access/xloginsert.h"
#include "catalog/storage.h"
#include "catalog/storage_xlog.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/smgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "lsm_am.h"
#include "catalog/lsm_catalog.h"
#include "format/lsm_format.h"
#include "storage/lsm_storage.h"
#include "txn/lsm_txn.h"

static void
lsm_meta_fill_page(Page page, uint64 storage_id, uint32 flags)
{
	LsmMetaPageData *meta;

	PageInit(page, BLCKSZ, 0);
	meta = (LsmMetaPageData *) PageGetContents(page);
	memset(meta, 0, sizeof(LsmMetaPageData));
	meta->magic = LSM_META_MAGIC;
	meta->version = LSM_META_VERSION;
	meta->storage_id = storage_id;
	meta->next_rowid = 0;
	meta->flags = flags;
	((PageHeader) page)->pd_lower =
		((char *) meta + sizeof(LsmMetaPageData)) - (char *) page;
}

/* Write a metapage as block 0 of one fork, bypassing shared buffers. */
static void
lsm_meta_write_fork(SMgrRelation srel, ForkNumber forknum, bool needs_wal,
					uint64 storage_id, uint32 flags)
{
	PGAlignedBlock buf;
	Page		page = (Page) buf.data;

	lsm_meta_fill_page(page, storage_id, flags);
	PageSetChecksumInplace(page, LSM_METAPAGE_BLKNO);
	smgrextend(srel, forknum, LSM_METAPAGE_BLKNO, (char *) page, true);
	if (needs_wal)
		log_newpage(&srel->smgr_rnode.node, forknum, LSM_METAPAGE_BLKNO,
					page, true);
	/* the write bypassed shared buffers: make it durable now */
	if (needs_wal || forknum == INIT_FORKNUM)
		smgrimmedsync(srel, forknum);
}

/*
 * Create the storage of a new relfilenode and its metapage (and, for an
 * unlogged table, the init fork with its reset-flagged metapage).
 */
void
lsm_meta_create(RelFileNode node, char persistence, uint64 storage_id)
{
	SMgrRelation srel;
	bool		needs_wal;

	srel = RelationCreateStorage(node, persistence, true);
	needs_wal = (persistence == RELPERSISTENCE_PERMANENT) &&
		XLogIsNeeded();
	lsm_meta_write_fork(srel, MAIN_FORKNUM, needs_wal, storage_id, 0);

	if (persistence == RELPERSISTENCE_UNLOGGED)
	{
		smgrcreate(srel, INIT_FORKNUM, false);
		log_smgrcreate(&node, INIT_FORKNUM);
		lsm_meta_write_fork(srel, INIT_FORKNUM, true, storage_id,
							LSM_META_FROM_INIT_FORK);
	}
	smgrclose(srel);
}

/*
 * Rewrite the metapage of an existing, already truncated relation
 * (non-transactional truncate).  Goes through shared buffers.
 */
void
lsm_meta_reinit(Relation rel, uint64 storage_id)
{
	Buffer		buf;
	Page		page;

	buf = ReadBufferExtended(rel, MAIN_FORKNUM, P_NEW, RBM_ZERO_AND_LOCK, NULL);
	if (BufferGetBlockNumber(buf) != LSM_METAPAGE_BLKNO)
		elog(ERROR, "lsm metapage of \"%s\" is not block 0",
			 RelationGetRelationName(rel));
	page = BufferGetPage(buf);

	START_CRIT_SECTION();
	lsm_meta_fill_page(page, storage_id, 0);
	MarkBufferDirty(buf);
	if (RelationNeedsWAL(rel))
		log_newpage_buffer(buf, true);
	END_CRIT_SECTION();
	UnlockReleaseBuffer(buf);
}

static void
lsm_meta_check(Relation rel, Page page, LsmMetaPageData *meta)
{
	if (PageIsNew(page))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("lsm metapage of relation \"%s\" is empty",
						RelationGetRelationName(rel))));
	if (meta->magic != LSM_META_MAGIC)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("relation \"%s\" is not an lsm table: bad metapage magic %08X",
						RelationGetRelationName(rel), meta->magic)));
	if (meta->version != LSM_META_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("lsm relation \"%s\" has metapage version %u, this build reads version %u",
						RelationGetRelationName(rel), meta->version,
						LSM_META_VERSION)));
}

/* Copy out the metapage contents. */
void
lsm_meta_read(Relation rel, LsmMetaPageData *out)
{
	Buffer		buf;
	Page		page;

	buf = ReadBufferExtended(rel, MAIN_FORKNUM, LSM_METAPAGE_BLKNO,
							 RBM_NORMAL, NULL);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	memcpy(out, PageGetContents(page), sizeof(LsmMetaPageData));
	UnlockReleaseBuffer(buf);
	lsm_meta_check(rel, page, out);
}

/*
 * Storage id whose segments a reader should see, or 0 when the storage was
 * reset from its init fork (then no catalog row describes its contents).
 */
uint64
lsm_storage_id_for_read(Relation rel)
{
	LsmMetaPageData meta;

	lsm_meta_read(rel, &meta);
	if (meta.flags & LSM_META_FROM_INIT_FORK)
		return 0;
	return meta.storage_id;
}

/*
 * Storage id of the relation's current relfilenode, cached in rd_amcache
 * (PostgreSQL frees that on every relcache invalidation, which any change
 * of relfilenode sends).  A reset unlogged storage is not cached: its id
 * changes at the first write.
 */
uint64
lsm_relation_storage_id(Relation rel)
{
	uint64		id;

	if (rel->rd_amcache)
		return ((LsmRelCache *) rel->rd_amcache)->storage_id;
	id = lsm_storage_id_for_read(rel);
	if (id != 0)
	{
		LsmRelCache *rc = MemoryContextAllocZero(CacheMemoryContext,
												 sizeof(LsmRelCache));

		rc->storage_id = id;
		rel->rd_amcache = rc;
	}
	return id;
}

/*
 * Storage id a writer should write under.  Takes a fresh id if the storage
 * was reset from its init fork (unlogged table after a crash).
 */
uint64
lsm_storage_id_for_write(Relation rel)
{
	LsmMetaPageData meta;
	Buffer		buf;
	Page		page;
	LsmMetaPageData *m;
	uint64		new_id;

	lsm_meta_read(rel, &meta);
	if (!(meta.flags & LSM_META_FROM_INIT_FORK))
		return meta.storage_id;

	/* allocate before locking the buffer: it touches the catalog */
	new_id = lsm_catalog_new_storage(RelationGetRelid(rel));

	buf = ReadBufferExtended(rel, MAIN_FORKNUM, LSM_METAPAGE_BLKNO,
							 RBM_NORMAL, NULL);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	page = BufferGetPage(buf);
	m = (LsmMetaPageData *) PageGetContents(page);
	if (m->flags & LSM_META_FROM_INIT_FORK)
	{
		/* only unlogged tables have init forks: no WAL here */
		Assert(!RelationNeedsWAL(rel));
		START_CRIT_SECTION();
		m->storage_id = new_id;
		m->next_rowid = 0;
		m->flags &= ~LSM_META_FROM_INIT_FORK;
		MarkBufferDirty(buf);
		END_CRIT_SECTION();
	}
	new_id = m->storage_id;
	UnlockReleaseBuffer(buf);
	return new_id;
}

/*
 * Reserve `count` consecutive rowids; returns the first.  The metapage
 * change is WAL-logged before the caller can use any of them, and the
 * batch is published as ours (lsm_reserve.c) before the lock is released.
 */
int64
lsm_meta_alloc_rowids(Relation rel, int64 count)
{
	Buffer		buf;
	Page		page;
	LsmMetaPageData *meta;
	int64		first;

	Assert(count > 0);
	buf = ReadBufferExtended(rel, MAIN_FORKNUM, LSM_METAPAGE_BLKNO,
							 RBM_NORMAL, NULL);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	page = BufferGetPage(buf);
	meta = (LsmMetaPageData *) PageGetContents(page);
	lsm_meta_check(rel, page, meta);

	first = meta->next_rowid;
	if (first + count > LSM_MAX_ROWID)
	{
		UnlockReleaseBuffer(buf);
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("lsm table \"%s\" has run out of row ids",
						RelationGetRelationName(rel)),
				 errhint("Rewrite the table with VACUUM FULL to renumber its rows.")));
	}

	if (RelationNeedsWAL(rel))
	{
		GenericXLogState *state = GenericXLogStart(rel);
		Page		wpage = GenericXLogRegisterBuffer(state, buf, 0);

		((LsmMetaPageData *) PageGetContents(wpage))->next_rowid = first + count;
		GenericXLogFinish(state);
	}
	else
	{
		START_CRIT_SECTION();
		meta->next_rowid = first + count;
		MarkBufferDirty(buf);
		END_CRIT_SECTION();
	}
	/* published before a compaction can read the counter past them */
	(void) lsm_reserve_extend(meta->storage_id, first, first + count - 1, false);
	UnlockReleaseBuffer(buf);
	return first;
}

/*
 * lsm_meta_fence_rowids
 *		Return the rowid counter after raising the rowid fence to it.
 *
 * A backend keeps the unused part of a rowid batch for its next transaction
 * on the table (lsm_memtable.c); it checks the fence when it takes the
 * batch, while already holding its lock on the table, and drops a batch
 * that starts below the fence.  So once the caller has seen every
 * transaction that held a conflicting lock on the table end, no rowid below
 * the returned value can be handed out again: compaction and VACUUM rely on
 * that (the rowid watermark).
 */
int64
lsm_meta_fence_rowids(Relation rel)
{
	Buffer		buf;
	Page		page;
	LsmMetaPageData *meta;
	int64		next;

	buf = ReadBufferExtended(rel, MAIN_FORKNUM, LSM_METAPAGE_BLKNO,
							 RBM_NORMAL, NULL);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	page = BufferGetPage(buf);
	meta = (LsmMetaPageData *) PageGetContents(page);
	lsm_meta_check(rel, page, meta);
	next = meta->next_rowid;
	if (meta->rowid_fence < next)
	{
		if (RelationNeedsWAL(rel))
		{
			GenericXLogState *state = GenericXLogStart(rel);
			Page		wpage = GenericXLogRegisterBuffer(state, buf, 0);

			((LsmMetaPageData *) PageGetContents(wpage))->rowid_fence = next;
			GenericXLogFinish(state);
		}
		else
		{
			START_CRIT_SECTION();
			meta->rowid_fence = next;
			MarkBufferDirty(buf);
			END_CRIT_SECTION();
		}
	}
	UnlockReleaseBuffer(buf);
	return next;
}

/* Set a metapage flag (WAL-logged); a no-op if it is set already. */
void
lsm_meta_set_flag(Relation rel, uint32 flag)
{
	Buffer		buf;
	Page		page;
	LsmMetaPageData *meta;

	buf = ReadBufferExtended(rel, MAIN_FORKNUM, LSM_METAPAGE_BLKNO,
							 RBM_NORMAL, NULL);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	page = BufferGetPage(buf);
	meta = (LsmMetaPageData *) PageGetContents(page);
	lsm_meta_check(rel, page, meta);
	if ((meta->flags & flag) != flag)
	{
		if (RelationNeedsWAL(rel))
		{
			GenericXLogState *state = GenericXLogStart(rel);
			Page		wpage = GenericXLogRegisterBuffer(state, buf, 0);

			((LsmMetaPageData *) PageGetContents(wpage))->flags |= flag;
			GenericXLogFinish(state);
		}
		else
		{
			START_CRIT_SECTION();
			meta->flags |= flag;
			MarkBufferDirty(buf);
			END_CRIT_SECTION();
		}
	}
	UnlockReleaseBuffer(buf);
}

uint32
lsm_meta_flags(Relation rel)
{
	LsmMetaPageData meta;

	lsm_meta_read(rel, &meta);
	return meta.flags;
}

/* The current rowid fence (see lsm_meta_fence_rowids). */
int64
lsm_meta_rowid_fence(Relation rel)
{
	LsmMetaPageData meta;

	lsm_meta_read(rel, &meta);
	return meta.rowid_fence;
}

/*
 * Number of blocks of the table's virtual block space: the TID block numbers
 * rowids map to.  This is what PostgreSQL sees as the table's size in blocks
 * (ANALYZE, BRIN, TABLESAMPLE, bitmap scans).
 */
BlockNumber
lsm_virtual_nblocks(Relation rel)
{
	LsmMetaPageData meta;

	if (!smgrexists(RelationGetSmgr(rel), MAIN_FORKNUM) ||
		smgrnblocks(RelationGetSmgr(rel), MAIN_FORKNUM) == 0)
		return 0;
	lsm_meta_read(rel, &meta);
	if (meta.flags & LSM_META_FROM_INIT_FORK)
		return 0;
	return (BlockNumber) ((meta.next_rowid + LSM_ROWS_PER_VBLOCK - 1) /
						  LSM_ROWS_PER_VBLOCK);
}
