/*-------------------------------------------------------------------------
 *
 * lsm_am.h
 *	  Settings and entry points shared by every layer of lsm_am.
 *
 * Each folder under src/ has its own header for what it exports; this one
 * holds only the GUC-backed settings and the few functions of lsm_am.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LSM_AM_H
#define LSM_AM_H

#include "postgres.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "storage/itemptr.h"
#include "storage/lockdefs.h"
#include "utils/rel.h"

/* GUC-backed settings (see lsm_am.c for their documentation) */
extern int	lsm_block_rows;
extern int	lsm_segment_rows;

/*
 * Segments with fewer rows than this are "small": compaction merges them
 * with their neighbours.  Level-0 segments at least this large (a bulk
 * load's) are never merged, so they do not count against
 * lsm.compact_l0_trigger or lsm.compact_l0_stop.
 */
#define LSM_SMALL_SEGMENT_ROWS	((int64) Max(lsm_segment_rows, 1) / 2)
extern int	lsm_memtable_limit_kb;
extern int	lsm_compression_level;
#define LSM_MAX_COMPRESSION_LEVEL	19	/* of lsm.compression_level */
extern int	lsm_zstd_min_gain;
extern int	lsm_compact_l0_trigger;
extern int	lsm_compact_l0_stop;
extern int	lsm_compact_l0_stall_timeout;
extern double lsm_compact_delete_fraction;

/* per-table values of the two (src/catalog/lsm_options.c) */
extern int	lsm_table_l0_trigger(Oid relid);
extern double lsm_table_delete_fraction(Oid relid);
extern int	lsm_table_compression_level(Oid relid);
extern bool lsm_enable_worker;
extern int	lsm_max_workers;
extern int	lsm_naptime;
extern bool lsm_log_compactions;
extern bool lsm_preloaded;

/* rowid <-> TID mapping (DESIGN.md §2) */
#define LSM_ROWS_PER_VBLOCK		((int64) MaxHeapTuplesPerPage)
#define LSM_MAX_ROWID			((int64) (MaxBlockNumber) * LSM_ROWS_PER_VBLOCK - 1)

static inline void
lsm_rowid_to_tid(int64 rowid, ItemPointer tid)
{
	ItemPointerSet(tid, (BlockNumber) (rowid / LSM_ROWS_PER_VBLOCK),
				   (OffsetNumber) (rowid % LSM_ROWS_PER_VBLOCK + 1));
}

/* Returns -1 for a TID that no rowid maps to. */
static inline int64
lsm_tid_to_rowid(ItemPointer tid)
{
	BlockNumber blk = ItemPointerGetBlockNumberNoCheck(tid);
	OffsetNumber off = ItemPointerGetOffsetNumberNoCheck(tid);

	if (off < 1 || off > LSM_ROWS_PER_VBLOCK || blk > MaxBlockNumber)
		return -1;
	return (int64) blk * LSM_ROWS_PER_VBLOCK + (off - 1);
}

/*
 * A by-value integer-like Datum of width 1, 2, 4 or 8 as int64, the way
 * segments store it (INT columns; sign-extended).
 */
static inline int64
lsm_datum_int64(Datum d, int width)
{
	switch (width)
	{
		case 1:
			return (int64) DatumGetChar(d);
		case 2:
			return (int64) DatumGetInt16(d);
		case 4:
			return (int64) DatumGetInt32(d);
		default:
			return DatumGetInt64(d);
	}
}

extern bool lsm_is_lsm_relation(Relation rel);
extern bool lsm_relid_is_lsm(Oid relid);
extern Oid	lsm_am_oid(void);

/* What the caller of an lsm.* function must be allowed on its table. */
typedef enum LsmArgCheck
{
	LSM_ARG_ANYONE,				/* nothing */
	LSM_ARG_SELECT,				/* SELECT privilege */
	LSM_ARG_OWNER				/* ownership */
} LsmArgCheck;

extern Relation lsm_open_table_arg(FunctionCallInfo fcinfo, LOCKMODE lockmode,
								   LsmArgCheck check);



#include "format/lsm_format.h"

/* An allocator for the format library that allocates in `cxt`. */
extern LsmAllocator lsm_pg_allocator(MemoryContext cxt);
extern void lsm_format_error(int status, Relation rel, int64 segment_id,
							 int64 block, const char *what) pg_attribute_noreturn();
#endif							/* LSM_AM_H */
