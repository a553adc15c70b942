/*-------------------------------------------------------------------------
 *
 * lsm_storage.h
 *	  The relation's own pages: metapage, segment extents, WAL-logged I/O.
 *
 * Block 0 of the main fork is the metapage.  A segment's byte string
 * occupies up to LSM_SEG_MAX_EXTENTS runs of consecutive pages after it
 * (extents, in the order of its bytes); each page is a standard-layout
 * page whose contents are LSM_PAGE_PAYLOAD bytes of the segment.  A
 * persisted delete map occupies one run.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LSM_STORAGE_H
#define LSM_STORAGE_H

#include "storage/bufmgr.h"
#include "storage/relfilenode.h"
#include "utils/rel.h"

#define LSM_META_MAGIC			0x4D4D534CU	/* "LSMM" */
/*
 * Version of the metapage layout.  Segment images carry their own version
 * (LSM_FORMAT_VERSION, in their header), so a new segment format does not
 * change it.
 */
#define LSM_META_VERSION		1
#define LSM_METAPAGE_BLKNO		0
#define LSM_PAGE_PAYLOAD		(BLCKSZ - SizeOfPageHeaderData)
/* pages a delete map of `bytes` bytes occupies */
#define LSM_DELMAP_NPAGES(bytes) \
	((uint32) (((bytes) + LSM_PAGE_PAYLOAD - 1) / LSM_PAGE_PAYLOAD))

/* A run of consecutive pages. */
typedef struct LsmExtent
{
	BlockNumber start;
	uint32		nblocks;
} LsmExtent;

/*
 * Most runs one segment's pages may be split into: a large segment fills
 * the free extents compactions left before the relation is extended.
 */
#define LSM_SEG_MAX_EXTENTS		8

/*
 * A run starting at the metapage's block is a *hole*: pages of a segment's
 * image that its catalog row no longer holds, because a compaction rewrote
 * the blocks on them into another segment and kept the rest of the image
 * (lsm_compact.c, trimming).  Never the first or last run, never two in a
 * row; its pages are not read and not in use.
 */
#define LSM_EXTENT_IS_HOLE(e)	((e).start == LSM_METAPAGE_BLKNO)

/* metapage flags */
#define LSM_META_FROM_INIT_FORK	0x0001	/* copy of the init fork: reset */
/* field 4 of the space lock's advisory tag (user advisory locks use 1, 2) */
#define LSM_SPACE_LOCK_CLASS	0x4C53

#define LSM_META_HAS_RETIRED	0x0002	/* a compaction retired segments: look
										 * for free extents before extending */

typedef struct LsmMetaPageData
{
	uint32		magic;
	uint32		version;		/* LSM_META_VERSION (docs/FORMAT.md) */
	uint64		storage_id;		/* key of this storage in the lsm catalog */
	int64		next_rowid;		/* rowids below this may be handed out */
	uint32		flags;
	uint32		reserved;
	int64		rowid_fence;	/* rowid batches a backend kept from an
								 * earlier transaction are used only if
								 * they start at or above this */
} LsmMetaPageData;

/* lsm_metapage.c */
extern void lsm_meta_create(RelFileNode node, char persistence,
							uint64 storage_id);
extern void lsm_meta_reinit(Relation rel, uint64 storage_id);
extern void lsm_meta_read(Relation rel, LsmMetaPageData *meta);
extern uint64 lsm_storage_id_for_read(Relation rel);
extern uint64 lsm_storage_id_for_write(Relation rel);
/*
 * What an lsm relation's relcache entry remembers (rd_amcache; PostgreSQL
 * frees it on every relcache invalidation).
 */
typedef struct LsmRelCache
{
	uint64		storage_id;		/* of the current relfilenode */
	int32		schema_version; /* of the relation's descriptor; 0: not known */
} LsmRelCache;

extern uint64 lsm_relation_storage_id(Relation rel);
extern int64 lsm_meta_alloc_rowids(Relation rel, int64 count);
extern int64 lsm_meta_fence_rowids(Relation rel);
extern int64 lsm_meta_rowid_fence(Relation rel);
extern BlockNumber lsm_virtual_nblocks(Relation rel);

/* lsm_pages.c */
extern void lsm_meta_set_flag(Relation rel, uint32 flag);
extern uint32 lsm_meta_flags(Relation rel);
extern void lsm_space_lock(Relation rel, uint64 storage_id);
extern void lsm_space_unlock(Relation rel, uint64 storage_id);
extern BlockNumber lsm_space_used_end(Relation rel, uint64 storage_id);
extern void lsm_space_forget(Relation rel, uint64 storage_id);
extern void lsm_space_note_freed(void);
extern void lsm_space_shmem_init(void);
extern int	lsm_pages_store(Relation rel, uint64 storage_id,
							const char *data, Size len, int max_extents,
							LsmExtent *extents, uint32 *npages);
extern bool lsm_extents_punch(const LsmExtent *in, int nin, uint32 from,
							  uint32 to, LsmExtent *out, int *nout);
extern void lsm_pages_read(Relation rel, const LsmExtent *extents,
						   int nextents, uint64 offset, Size len, char *dst,
						   BufferAccessStrategy strategy, int64 segment_id);

#endif							/* LSM_STORAGE_H */
