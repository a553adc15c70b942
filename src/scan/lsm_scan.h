/*-------------------------------------------------------------------------
 *
 * lsm_scan.h
 *	  Reading lsm tables: segment decoding, the ordered row cursor behind
 *	  sequential, TID-range, sample, bitmap and ANALYZE scans, and point
 *	  fetches by rowid.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LSM_SCAN_H
#define LSM_SCAN_H

#include "access/relscan.h"
#include "access/skey.h"
#include "access/tableam.h"
#include "nodes/execnodes.h"
#include "nodes/pathnodes.h"
#include "executor/tuptable.h"
#include "utils/numeric.h"
#include "utils/rel.h"

#include "lsm_am.h"
#include "catalog/lsm_catalog.h"
#include "txn/lsm_txn.h"

/* Where the rows of an open segment go in the current tuple descriptor. */
#define LSM_MAP_MISSING		LSM_COLMAP_MISSING	/* added after the segment: attmissingval */
#define LSM_MAP_NULL		LSM_COLMAP_NULL /* dropped: NULL */

typedef struct LsmSegmentHandle
{
	LsmSegmentEntry entry;
	LsmSegReader *reader;
	const LsmColumnDesc *cols;
	int			ncols;
	int32	   *map;			/* per attribute of the reader's descriptor */
	bool	   *zone_ok;		/* per attribute: the segment's zone maps
								 * order values as the attribute's type does */
	int		   *zone_order;		/* per attribute: interned zone order of its
								 * ordered zones (lsm_zoneorder.c), 0: none */
	int			map_gen;		/* LsmReadState.desc_gen the map is for */
	/*
	 * The blocks of the image the catalog row holds (all of them but after
	 * a trimming compaction): block numbers handed to and taken from the
	 * functions below count from first_block, 0 .. nblocks - 1.
	 */
	uint32		first_block;
	uint32		nblocks;
} LsmSegmentHandle;

/* Block b (0 .. h->nblocks - 1) of the segment's window. */
static inline const LsmBlockInfo *
lsm_handle_block(const LsmSegmentHandle *h, uint32 b)
{
	return lsm_segr_block(h->reader, h->first_block + b);
}

/* One decoded block, as Datums of the current tuple descriptor. */
typedef struct LsmDecodedBlock
{
	bool		valid;
	int			desc_gen;
	int64		segment_id;
	uint32		blockno;
	uint32		nrows;
	bool		single;			/* holds one row of the block (a point read) */
	int64	   *rowids;			/* points into rowdec */
	int64	   *cids;			/* NULL unless the segment is our own */
	Datum	  **values;			/* [attr][row] */
	bool	  **isnull;			/* [attr][row] */
	int			values_cap;
	int			natts_alloc;	/* attributes values/isnull have room for */
	bool	   *all_null;		/* isnull[attr] is all true up to values_cap */
	bool	   *no_nulls;		/* the block's values of attr have no NULL */
	/*
	 * Numeric chunks stored as scaled integers (lsm_numeric.c): scaled[attr]
	 * is the block's values * 10^scale[attr] (NULL rows 0), or NULL.  For
	 * attributes of LsmReadState.scaled_attrs values[attr] is then not set.
	 */
	const int64 **scaled;
	int16	   *scale;
	/* private */
	MemoryContext cxt;			/* owns everything below */
	LsmAllocator alloc;			/* format allocations in cxt */
	MemoryContext arena;		/* reset per block: realigned copies */
	char	  **numbuf;			/* per attribute: numerics built from scaled */
	Size	   *numbuf_cap;
	char	   *raw;
	Size		raw_cap;
	LsmDecoded	rowdec;
	LsmDecoded	ciddec;
	LsmDecoded *coldec;			/* per segment column, grown as needed */
	int			ncoldec;
} LsmDecodedBlock;

/* What every reader of a relation shares. */
typedef struct LsmReadState
{
	Relation	rel;
	TupleDesc	tupdesc;
	MemoryContext cxt;			/* lives as long as the scan */
	LsmAllocator alloc;
	BufferAccessStrategy strategy;
	LsmColumnDesc *want;		/* per attribute: how it is stored now */
	Datum	   *missing;		/* per attribute: attmissingval or NULL */
	bool	   *missing_null;
	int			desc_gen;		/* bumped when tupdesc changes */
	Bitmapset  *need_attrs;		/* attnums to decode; NULL: all of them */
	Bitmapset  *scaled_attrs;	/* attnums read through blk->scaled alone when
								 * a chunk offers it (no Datums built) */
} LsmReadState;

/*
 * The slot of lsm tables: a virtual slot that also answers xmin, so that
 * code reading it (foreign-key triggers, ON CONFLICT) can tell rows of the
 * current transaction: its own rows report its xid, other rows
 * FrozenTransactionId (their inserters committed; segments keep no xids).
 */
/*
 * A row stored in a slot before its columns were decoded (point fetches by
 * index, lsm_fetch.c): where to find it again.
 */
typedef struct LsmDeferredRow
{
	Relation	rel;
	LsmSegmentEntry seg;
	uint32		blockno;
	int64		rowid;
	uint64		fetcher_id;		/* the fetch that deferred it */
} LsmDeferredRow;

typedef struct LsmTupleTableSlot
{
	VirtualTupleTableSlot base;
	TransactionId xmin;

	/*
	 * While deform is set the row's columns are not decoded yet
	 * (tts_nvalid is 0): deform(slot) decodes them all, at the first read.
	 * Clearing the slot forgets it.
	 */
	void		(*deform) (TupleTableSlot *slot);
	LsmDeferredRow deferred;
} LsmTupleTableSlot;

extern const TupleTableSlotOps *lsm_slot_ops(void);
extern void lsm_slot_set_xmin(TupleTableSlot *slot, bool own, TransactionId other);

/* lsm_segread.c */
extern void lsm_read_state_init(LsmReadState *rs, Relation rel,
								BufferAccessStrategy strategy);
extern void lsm_read_state_use_desc(LsmReadState *rs, TupleDesc desc);
extern void lsm_read_state_set_columns(LsmReadState *rs, Bitmapset *attrs);
extern void lsm_read_state_set_scaled(LsmReadState *rs, Bitmapset *attrs);
extern LsmSegmentHandle *lsm_segment_open(LsmReadState *rs,
										  const LsmSegmentEntry *entry);
extern void lsm_segment_close(LsmSegmentHandle *h);
extern void lsm_segment_remap(LsmReadState *rs, LsmSegmentHandle *h);
extern int	lsm_directory_cache_kb;
extern void lsm_reader_cache_at_xact_end(void);

typedef struct LsmReaderCacheStats
{
	int64		segments;		/* directories cached */
	int64		bytes;			/* their meta areas and parsed entries */
	int64		mapped_bytes;	/* address space the cache's arena maps */
	int64		delete_maps;	/* decoded delete maps cached */
	int64		delete_map_bytes;
} LsmReaderCacheStats;

extern void lsm_reader_cache_stats(LsmReaderCacheStats *stats);

/*
 * A segment, named for the caches of its directory: segment ids are
 * unique within one instance of the extension's catalog (its OID:
 * lsm_catalog_instance), and the shared cache adds the database.
 */
typedef struct LsmSegmentKey
{
	Oid			catalog;
	uint32		pad;			/* zero: the key is hashed as bytes */
	uint64		storage_id;
	int64		segment_id;
} LsmSegmentKey;

/* lsm_dircache.c: parsed directories in shared memory */
typedef struct LsmDirCacheEntry LsmDirCacheEntry;

typedef struct LsmDirCacheStats
{
	int64		size;			/* bytes of its ring */
	int64		used_bytes;		/* of them, held by records */
	int64		segments;		/* directories held (or being loaded) */
	int64		hits;			/* directories found ready, since start */
	int64		loads;			/* directories parsed into it */
	int64		evictions;
	int64		bypasses;		/* parsed privately: no room, or too large */
} LsmDirCacheStats;

extern int	lsm_shared_directory_cache_kb;
extern bool lsm_enable_shared_directory_cache;
extern void lsm_dircache_shmem_init(void);
extern LsmSegReader *lsm_dircache_find(const LsmSegmentKey *seg);
extern void *lsm_dircache_reserve(const LsmSegmentKey *seg, Size footprint,
								  LsmDirCacheEntry **slot);
extern void lsm_dircache_publish(LsmDirCacheEntry *slot, LsmSegReader *reader);
extern void lsm_dircache_abandon(LsmDirCacheEntry *slot);
extern void lsm_dircache_release_all(void);
extern bool lsm_dircache_stats(LsmDirCacheStats *stats);
extern bool lsm_dircache_can_hold(double bytes);

/*
 * Memory of the segment directory cache: runs of address space that may be
 * backed by transparent huge pages, emptied wholesale (lsm_arena.c).
 */
typedef struct LsmArena
{
	MemoryContext fallback;		/* where allocations go if mmap fails */
	struct LsmArenaRun *runs;	/* mapped runs, the current one first */
	Size		used;			/* bytes used of the current run */
	Size		mapped;			/* bytes of all runs */
	Size		bytes;			/* bytes handed out, fallback included */
} LsmArena;

extern void lsm_arena_init(LsmArena *a, MemoryContext fallback);
extern void *lsm_arena_alloc(LsmArena *a, Size size);
extern void lsm_arena_free(LsmArena *a, void *ptr);
extern void lsm_arena_reset(LsmArena *a);
extern LsmAllocator lsm_arena_allocator(LsmArena *a);
extern const int64 *lsm_segment_delmap(Relation rel, const LsmSegmentEntry *seg,
									   int *n);
extern bool lsm_segment_delmap_has(Relation rel, const LsmSegmentEntry *seg,
								   int64 rowid);
extern int64 *lsm_segments_delmaps(Relation rel, const LsmSegmentList *segs,
								   int *n);
extern int64 *lsm_merge_rowids(const int64 *a, int na, const int64 *b, int nb,
							   int *n);
extern void lsm_block_init(LsmDecodedBlock *blk, MemoryContext parent);
extern void lsm_block_decode(LsmReadState *rs, LsmSegmentHandle *h,
							 uint32 blockno, LsmDecodedBlock *blk);
extern int	lsm_block_decode_row(LsmReadState *rs, LsmSegmentHandle *h,
								 uint32 blockno, int64 rowid,
								 LsmDecodedBlock *blk);
extern int	lsm_block_find_rowid(const LsmDecodedBlock *blk, int64 rowid,
								 bool exact);
extern int	lsm_segment_find_block(const LsmSegmentHandle *h, int64 rowid);
extern void lsm_slot_from_block(LsmReadState *rs, LsmDecodedBlock *blk,
								int row, TupleTableSlot *slot);
extern void lsm_slot_from_memrow(LsmReadState *rs, const LsmMemRow *row,
								 TupleDesc rowdesc, TupleTableSlot *slot);
extern bool lsm_row_visible_cid(Snapshot snapshot, bool own, CommandId cid);
extern int64 lsm_verify_segment(LsmReadState *rs, LsmSegmentHandle *h,
								int64 *blocks, int64 *chunks);

/* lsm_scan.c */
typedef struct LsmScanDescData *LsmScanDesc;

/* May block bi of segment h hold a wanted row?  (zone-map pruning) */
typedef bool (*LsmBlockFilter) (void *arg, LsmSegmentHandle *h,
								const LsmBlockInfo *bi);

typedef struct LsmScanCounters
{
	int64		segments;		/* segments the cursor went through */
	int64		segments_skipped;	/* ... whose every block the filter skipped */
	int64		blocks;			/* segment blocks the filter was asked about */
	int64		blocks_skipped; /* ... and skipped */
	int64		rows_deleted;	/* rows hidden by the delete set */
} LsmScanCounters;

/* A block of visible rows, column by column (lsm_scan_next_batch). */
typedef struct LsmBatch
{
	int			nrows;			/* rows in the arrays */
	int			nsel;			/* rows to use */
	const int  *sel;			/* their indexes; NULL: 0 .. nsel-1 */
	Datum	  **values;			/* [attno - 1][row] */
	bool	  **isnull;
	const bool *no_nulls;		/* [attno - 1]: no NULL in the arrays; may be
								 * NULL (unknown) */
	const int64 *const *scaled; /* [attno - 1]: numeric values * 10^scale, or
								 * NULL; the array itself may be NULL */
	const int16 *scale;
} LsmBatch;

extern bool lsm_scan_next_batch(TableScanDesc scan, LsmBatch *batch);
extern void lsm_scan_set_columns(TableScanDesc scan, Bitmapset *attrs);
extern void lsm_scan_set_scaled_columns(TableScanDesc scan, Bitmapset *attrs);
extern void lsm_scan_set_rows_only(TableScanDesc scan);
extern void lsm_scan_set_tail_to_leader(TableScanDesc scan);
extern void lsm_scan_set_filter(TableScanDesc scan, LsmBlockFilter filter,
								void *arg);
extern void lsm_scan_get_counters(TableScanDesc scan, LsmScanCounters *counters);
extern TableScanDesc lsm_scan_begin(Relation rel, Snapshot snapshot, int nkeys,
									ScanKey key, ParallelTableScanDesc pscan,
									uint32 flags);
extern void lsm_scan_end(TableScanDesc scan);
extern void lsm_scan_rescan(TableScanDesc scan, ScanKey key, bool set_params,
							bool allow_strat, bool allow_sync, bool allow_pagemode);
extern bool lsm_scan_getnextslot(TableScanDesc scan, ScanDirection direction,
								 TupleTableSlot *slot);
extern void lsm_scan_set_tidrange(TableScanDesc scan, ItemPointer mintid,
								  ItemPointer maxtid);
extern bool lsm_scan_getnextslot_tidrange(TableScanDesc scan,
										  ScanDirection direction,
										  TupleTableSlot *slot);
extern bool lsm_scan_analyze_next_block(TableScanDesc scan, BlockNumber blockno,
										BufferAccessStrategy bstrategy);
extern bool lsm_scan_analyze_next_tuple(TableScanDesc scan,
										TransactionId OldestXmin,
										double *liverows, double *deadrows,
										TupleTableSlot *slot);
extern bool lsm_scan_bitmap_next_block(TableScanDesc scan,
									   struct TBMIterateResult *tbmres);
extern bool lsm_scan_bitmap_next_tuple(TableScanDesc scan,
									   struct TBMIterateResult *tbmres,
									   TupleTableSlot *slot);
extern bool lsm_scan_sample_next_block(TableScanDesc scan,
									   struct SampleScanState *scanstate);
extern bool lsm_scan_sample_next_tuple(TableScanDesc scan,
									   struct SampleScanState *scanstate,
									   TupleTableSlot *slot);
extern const int64 *lsm_scan_deleted_set(uint64 storage_id, Snapshot snapshot,
										 int *n);
extern void lsm_scan_add_deletes(TableScanDesc scan, Snapshot snapshot);
extern Size lsm_parallelscan_estimate(Relation rel);
extern Size lsm_parallelscan_initialize(Relation rel, ParallelTableScanDesc pscan);
extern void lsm_parallelscan_reinitialize(Relation rel, ParallelTableScanDesc pscan);

/* lsm_customscan.c */
typedef struct LsmZoneNode LsmZoneNode;
extern bool lsm_enable_custom_scan;
extern LsmZoneNode *lsm_zone_compile(List *clauses, Index varno,
									 const AttrNumber *attmap, int maplen,
									 PlanState *ps);
extern void lsm_zone_prepare(LsmZoneNode *zone, ExprContext *econtext);
extern bool lsm_zone_block_filter(void *arg, LsmSegmentHandle *h,
								  const LsmBlockInfo *bi);
extern double lsm_block_fraction(PlannerInfo *root, RelOptInfo *rel,
								 List *clauses);
extern double lsm_parallel_cold_start_factor;
extern int	lsm_parallel_cpus;
extern double lsm_parallel_worker_exit_time;
extern int	lsm_parallel_agg_workers(RelOptInfo *rel);
extern Cost lsm_parallel_cold_cost(RelOptInfo *rel, double divisor);
extern bool lsm_zone_clause_safe(RestrictInfo *rinfo, LsmZoneNode *zn);
extern bool lsm_pending_initplan(Node *expr, ExprContext *econtext,
								 const Bitmapset *early);
extern List *lsm_zone_early_params(PlannerInfo *root, List *clauses);
extern void lsm_zone_set_early_params(LsmZoneNode *zone, List *early_params);
struct ExplainState;
extern void lsm_explain_counters(const LsmScanCounters *c, bool with_skips,
								 struct ExplainState *es);
extern LsmZoneNode *lsm_zone_check_clause(RestrictInfo *rinfo, Index relid);
extern void lsm_customscan_register(void);
extern void lsm_customscan_add_paths(PlannerInfo *root,
									 RelOptInfo *rel, Index rti,
									 RangeTblEntry *rte);

/* lsm_zoneorder.c */
extern bool lsm_collation_zone_maps;
extern int	lsm_zone_order_intern(const uint8 *key, uint16 len);
extern int	lsm_zone_order_of_collation(Oid collid);
extern bool lsm_zone_order_key(Oid collid, const uint8 **key, uint16 *key_len);

/* lsm_aggscan.c */
extern bool lsm_enable_aggregate_pushdown;
extern void lsm_aggscan_register(void);
extern void lsm_aggscan_add_paths(PlannerInfo *root, UpperRelationKind stage,
								  RelOptInfo *input_rel, RelOptInfo *output_rel,
								  void *extra);

/* lsm_aggpartial.c: PostgreSQL's partial aggregate states */
extern Datum lsm_partial_int8_pair(int64 count, int64 sum);
extern Datum lsm_partial_float8_triple(double N, double Sx, double Sxx);
extern Datum lsm_partial_int8_sum(int64 count, Numeric sum);
extern Datum lsm_partial_numeric_sum(int64 nfinite, Numeric sum, int64 nan,
									 int64 pinf, int64 ninf);

/* lsm_fetch.c */
typedef struct LsmFetcher LsmFetcher;
extern LsmFetcher *lsm_fetcher_create(Relation rel);
extern void lsm_fetcher_reset(LsmFetcher *f);
extern void lsm_fetcher_destroy(LsmFetcher *f);
extern bool lsm_fetch_row(LsmFetcher *f, int64 rowid, Snapshot snapshot,
						  TupleTableSlot *slot);
extern CommandId lsm_fetcher_last_cid(LsmFetcher *f);
extern LsmFetcher *lsm_fetcher_for(Relation rel);
extern void lsm_fetcher_at_xact_end(void);
extern void lsm_fetch_forget_lender(void);
extern void lsm_note_flush(void);
extern void lsm_note_delete(void);
extern void lsm_fetch_pool_at_xact_end(void);

extern IndexFetchTableData *lsm_index_fetch_begin(Relation rel);
extern void lsm_index_fetch_reset(IndexFetchTableData *scan);
extern void lsm_index_fetch_end(IndexFetchTableData *scan);
extern bool lsm_index_fetch_tuple(IndexFetchTableData *scan, ItemPointer tid,
								  Snapshot snapshot, TupleTableSlot *slot,
								  bool *call_again, bool *all_dead);
extern bool lsm_tuple_fetch_row_version(Relation rel, ItemPointer tid,
										Snapshot snapshot, TupleTableSlot *slot);
extern bool lsm_tuple_tid_valid(TableScanDesc scan, ItemPointer tid);
extern bool lsm_tuple_satisfies_snapshot(Relation rel, TupleTableSlot *slot,
										 Snapshot snapshot);

/*
 * lsm_numeric.c: numeric chunks stored as scaled integers.  A chunk of a
 * numeric column whose values all have display scale s (0..63) and fit in
 * int64 once scaled is stored as value * 10^s with representation tag 1 + s.
 */
#define LSM_NUMERIC_MAX_SCALE	63
#define LSM_NUMERIC_TAG(scale)	((uint8) ((scale) + 1))
#define LSM_NUMERIC_TAG_VALID(tag)	((tag) >= 1 && (tag) <= LSM_NUMERIC_MAX_SCALE + 1)
#define LSM_NUMERIC_TAG_SCALE(tag)	((int) (tag) - 1)

/* a stored numeric's parts (lsm_numeric_parts) */
typedef struct LsmNumericParts
{
	bool		neg;
	int			dscale;
	int			weight;
	const char *digits;			/* ndigits base-10000 int16s, unaligned */
	int			ndigits;
} LsmNumericParts;

#define LSM_NUMERIC_MALFORMED	0
#define LSM_NUMERIC_FINITE		1
#define LSM_NUMERIC_NAN			2
#define LSM_NUMERIC_PINF		3
#define LSM_NUMERIC_NINF		4

extern int	lsm_numeric_parts(Datum d, LsmNumericParts *np);
extern bool lsm_numeric_scaled64(Datum d, int64 *val, int *dscale);
extern void lsm_numeric_build(const int64 *ints, const bool *nulls, int n,
							  int scale, Datum *vals, char **buf, Size *cap,
							  MemoryContext cxt);

/*
 * Index of the first element of the ascending array a[0..n-1] that is >= v
 * (n if none): the one binary search over sorted rowids (delete sets,
 * delete maps, a block's rowids).
 */
static inline int
lsm_rowid_lower_bound(const int64 *a, int n, int64 v)
{
	int			lo = 0,
				hi = n;

	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (a[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

#endif							/* LSM_SCAN_H */
