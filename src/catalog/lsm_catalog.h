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

#include "datatype/timestamp.h"
#include "storage/block.h"
#include "utils/snapshot.h"

#include "storage/lsm_storage.h"

typedef struct LsmSegmentEntry
{
	int64		segment_id;
	int32		level;
	int64		min_rowid;
	int64		max_rowid;
	int64		row_count;
	int64		deleted_count;
	int32		schema_version;
	BlockNumber start_block;	/* first page (of the first extent) */
	uint32		nblocks;		/* pages, all extents together */
	int			nextents;		/* the runs of pages holding the segment's */
	LsmExtent	extents[LSM_SEG_MAX_EXTENTS];	/* bytes, in order */
	int64		total_bytes;
	int64		raw_bytes;
	BlockNumber delmap_start;	/* the persisted delete map's first page */
	uint32		delmap_bytes;	/* its length; 0: the segment has none */
	/* visibility, as seen by the snapshot that listed the segment */
	bool		own_xact;		/* written by the current transaction */
	TransactionId inserting_xid;	/* dirty snapshot: in-progress writer */
} LsmSegmentEntry;

typedef struct LsmSegmentList
{
	int			nsegs;
	LsmSegmentEntry *segs;		/* sorted by min_rowid */
} LsmSegmentList;

extern Oid	lsm_catalog_relid(const char *name);
extern uint64 lsm_catalog_new_storage(Oid relid);
extern Oid	lsm_catalog_instance(void);
extern int64 lsm_catalog_next_segment_id(void);
extern void lsm_catalog_reserve_segment_ids(int n);
extern int	lsm_catalog_reserved_segment_ids(void);
extern void lsm_segment_set_pages(LsmSegmentEntry *seg,
								  const LsmExtent *extents, int n);
extern int64 lsm_segment_held_bytes(const LsmSegmentEntry *seg);
extern void lsm_catalog_insert_segment(uint64 storage_id,
									   const LsmSegmentEntry *seg);
extern LsmSegmentList *lsm_catalog_segments(uint64 storage_id,
											Snapshot snapshot);
extern bool lsm_catalog_segment_for_rowid(uint64 storage_id, int64 rowid,
										  Snapshot snapshot, LsmSegmentEntry *out);
extern const LsmSegmentEntry *lsm_segment_for_rowid(const LsmSegmentList *list,
													int64 rowid);
extern void lsm_catalog_drop_storage(uint64 storage_id);
extern void lsm_catalog_set_storage_relid(uint64 storage_id, Oid relid);
extern ItemPointerData lsm_catalog_insert_inflight(uint64 storage_id,
												   int64 min_rowid,
												   int64 max_rowid);
extern TransactionId lsm_catalog_inflight_xid(uint64 storage_id, int64 rowid);
extern bool lsm_catalog_available(void);
extern void lsm_catalog_close_xact(void);
extern void lsm_catalog_forget_xact(void);
extern void lsm_catalog_subxact_abort(void);

/* delete records (lsm.deleted) */
#define LSM_SUCCESSOR_NONE		(-1)	/* plain DELETE */
#define LSM_SUCCESSOR_MOVED		(-2)	/* moved to another partition */

typedef enum LsmDeleteState
{
	LSM_DEL_NONE,				/* no live delete record */
	LSM_DEL_OWN,				/* deleted by our own transaction */
	LSM_DEL_IN_PROGRESS,		/* by another transaction still running */
	LSM_DEL_COMMITTED			/* by a committed transaction */
} LsmDeleteState;

typedef struct LsmDeleteProbe
{
	LsmDeleteState state;
	TransactionId xid;			/* the deleter */
	CommandId	cid;			/* LSM_DEL_OWN: the deleting command */
	int64		successor;
	int			lockmode;		/* LockTupleMode the change holds */
} LsmDeleteProbe;

extern void lsm_catalog_insert_delete(uint64 storage_id, int64 rowid,
									  int64 successor, int lockmode);
extern bool lsm_catalog_try_insert_delete(uint64 storage_id, int64 rowid,
										  int64 successor, int lockmode);
extern bool lsm_lock_modes_conflict(int a, int b);
extern void lsm_catalog_probe_delete(uint64 storage_id, int64 rowid,
									 LsmDeleteProbe *probe);
extern bool lsm_catalog_row_deleted(uint64 storage_id, int64 rowid,
									Snapshot snapshot);
extern bool lsm_catalog_has_deletes(uint64 storage_id);
extern int64 lsm_catalog_key_keeping_predecessor(uint64 storage_id, int64 rowid);
extern int64 *lsm_catalog_settled_deletes(uint64 storage_id,
										  TransactionId horizon,
										  int64 from_rowid, int *n);
extern int64 *lsm_catalog_deleted_set(uint64 storage_id, Snapshot snapshot,
									  int *n);
typedef struct LsmJudgedDeletes
{
	int64	   *rowids;			/* records the snapshot sees, sorted */
	int			n;
	TransactionId newest_xmin;	/* newest inserter of those */
	TransactionId newest_xmax;	/* newest deleter of records it no longer sees */
	TransactionId *pending;		/* inserters it takes as running */
	int			npending;
} LsmJudgedDeletes;
extern void lsm_catalog_judge_deletes(uint64 storage_id, Snapshot snap,
									  LsmJudgedDeletes *out);

/* the backend's cache of committed delete sets (lsm_delcache.c) */
extern int	lsm_deleted_cache_kb;
extern void lsm_delcache_shmem_init(void);
extern const int64 *lsm_deleted_rowids(uint64 storage_id, Snapshot snapshot,
									   int *n);
extern const int64 *lsm_deleted_rowids_with_maps(Relation rel, uint64 storage_id,
												 Snapshot snapshot,
												 const LsmSegmentList *segs,
												 int *n);
extern void lsm_delcache_touch(uint64 storage_id);
extern void lsm_delcache_touch_fold(uint64 storage_id);
extern void lsm_delcache_pre_commit(void);
extern void lsm_delcache_xact_end(void);

/* row locks (lsm.rowlock) */
extern ItemPointerData lsm_catalog_insert_rowlock(uint64 storage_id,
												  int64 rowid, int mode);
extern TransactionId lsm_catalog_rowlock_conflict(uint64 storage_id,
												  int64 rowid, int mode,
												  int *own_mode);
extern bool lsm_catalog_has_rowlocks(uint64 storage_id);
extern void lsm_catalog_delete_tid(const char *relname, ItemPointer tid);
extern int64 lsm_catalog_collect_garbage(void);

/* compaction (lsm.compaction, retiring segments, folding deletes) */
typedef struct LsmCompactionState
{
	bool		valid;			/* the storage was compacted before */
	int64		rowid_watermark;	/* rowids below: finished writers only */
	int64		compactions;
	TimestampTz last_compaction;
	int64		rows_dropped;
} LsmCompactionState;

extern void lsm_catalog_delete_segment(uint64 storage_id, int64 segment_id);

extern LsmExtent *lsm_catalog_used_extents(uint64 storage_id, int *n);
extern int	lsm_catalog_prune_segments(void);
extern TransactionId *lsm_catalog_concurrent_writers(uint64 storage_id,
													 Snapshot snapshot, int *n);
extern int64 lsm_catalog_remove_deletes(uint64 storage_id, const int64 *rowids,
										int n, TransactionId horizon);
extern void lsm_catalog_compaction_state(uint64 storage_id,
										 LsmCompactionState *state);
extern void lsm_catalog_record_compaction(uint64 storage_id, int64 watermark,
										  int64 rows_dropped);
extern int64 lsm_catalog_count_deletes(uint64 storage_id, Snapshot snapshot);
extern int	lsm_catalog_count_level0(uint64 storage_id);
extern int32 lsm_catalog_oldest_needed_version(uint64 storage_id, int32 current);

#endif							/* LSM_CATALOG_H */
