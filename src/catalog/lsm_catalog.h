/*-------------------------------------------------------------------------
 *
 * lsm_catalog.h
 *	  The lsm catalog: heap tables in schema "lsm" describing storages,
 *	  segments and in-flight rowid reservations.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LSM_CATALOG_H
#define LSM_CATALOG_H

#include "utils/snapshot.h"

typedef struct LsmSegmentEntry
{
	int64		segment_id;
	int32		level;
	int64		min_rowid;
	int64		max_rowid;
	int64		row_count;
	int64		deleted_count;
	int32		schema_version;
	BlockNumber start_block;
	uint32		nblocks;
	int64		total_bytes;
	int64		raw_bytes;
	/* visibility, as seen by the snapshot that listed the segment */
	bool		own_xact;		/* written by the current transaction */
	TransactionId inserting_xid;	/* dirty snapshot: in-progress writer */
} LsmSegmentEntry;

typedef struct LsmSegmentList
{
	int			nsegs;
	LsmSegmentEntry *segs;		/* sorted by min_rowid */
} LsmSegmentList;

extern uint64 lsm_catalog_new_storage(Oid relid);
extern int64 lsm_catalog_next_segment_id(void);
extern void lsm_catalog_insert_segment(uint64 storage_id,
									   const LsmSegmentEntry *seg);
extern LsmSegmentList *lsm_catalog_segments(uint64 storage_id,
											Snapshot snapshot);
extern const LsmSegmentEntry *lsm_segment_for_rowid(const LsmSegmentList *list,
													int64 rowid);
extern void lsm_catalog_drop_storage(uint64 storage_id);
extern void lsm_catalog_set_storage_relid(uint64 storage_id, Oid relid);
extern ItemPointerData lsm_catalog_insert_inflight(uint64 storage_id,
												   int64 min_rowid,
												   int64 max_rowid);
extern void lsm_catalog_delete_inflight(ItemPointer tid);
extern TransactionId lsm_catalog_inflight_xid(uint64 storage_id, int64 rowid);
extern bool lsm_catalog_available(void);
extern int64 lsm_catalog_collect_garbage(void);

#endif							/* LSM_CATALOG_H */
