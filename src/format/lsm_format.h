/*-------------------------------------------------------------------------
 *
 * lsm_format.h
 *	  The lsm_am segment format: column chunk encodings, checksums, the
 *	  segment directory and its summary.
 *
 * This library is pure C.  It knows nothing of PostgreSQL: no catalogs, no
 * buffers, no palloc, no ereport.  Memory comes from a caller-supplied
 * allocator and every function reports failure through a status code, so
 * the same code runs inside the server (where the caller turns a status
 * into an ereport) and in the stand-alone unit tests and benchmarks.
 *
 * A segment is one contiguous byte string:
 *
 *	  [fixed header][column descriptors][block directory][zone bytes]
 *	  [zone orders][chunk data of block 0][chunk data of block 1]...
 *
 * The first five parts are the segment's "meta area" (header->meta_len
 * bytes, covered by header->meta_checksum).  Each block holds one chunk per
 * stored column, a rowid chunk and, in segments written by a transaction,
 * a command-id chunk.  Every chunk carries its own checksum.  See
 * docs/FORMAT.md for the byte-level layout.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LSM_FORMAT_H
#define LSM_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LSM_SEG_MAGIC			0x534D534CU	/* "LSMS" little endian */
#define LSM_FORMAT_VERSION		3	/* what the writer writes */
#define LSM_FORMAT_VERSION_MIN	1	/* the oldest version readers accept */
#define LSM_SEG_HEADER_SIZE		96	/* bytes of the fixed header */

/* Status codes: 0 is success, negative is failure. */
#define LSM_OK					0
#define LSM_ERR_NOMEM			(-1)
#define LSM_ERR_CORRUPT			(-2)	/* structure does not parse */
#define LSM_ERR_CHECKSUM		(-3)	/* checksum mismatch */
#define LSM_ERR_VERSION			(-4)	/* unknown magic or format version */
#define LSM_ERR_ARG				(-5)	/* caller error */
#define LSM_ERR_ZSTD			(-6)	/* zstd failed */
#define LSM_ERR_SCHEMA			(-7)	/* a column is stored unlike the reader's */

extern const char *lsm_status_str(int status);

/* Caller-supplied allocator.  alloc/realloc return NULL on failure. */
typedef struct LsmAllocator
{
	void	   *(*alloc) (void *ctx, size_t size);
	void	   *(*realloc) (void *ctx, void *ptr, size_t size);
	void		(*free) (void *ctx, void *ptr);
	void	   *ctx;
} LsmAllocator;

extern const LsmAllocator lsm_malloc_allocator;

/*
 * An allocator carving one region sized in advance (see lsm_segr_footprint):
 * each allocation rounded up to LSM_REGION_ALIGN bytes, NULL once the region
 * is used up, free a no-op (the region goes as a whole).
 */
#define LSM_REGION_ALIGN 16

typedef struct LsmRegion
{
	uint8_t    *next;
	size_t		left;
} LsmRegion;

extern LsmAllocator lsm_region_allocator(LsmRegion *rg);

/* A fast 64-bit checksum over bytes (seeded, stable across platforms). */
extern uint64_t lsm_checksum(const void *data, size_t len);

/* persisted delete maps (lsm_delmap.c) */
#define LSM_DELMAP_MAGIC		0x444D534CU	/* "LSMD" little endian */
#define LSM_DELMAP_VERSION		1
#define LSM_DELMAP_HEADER_SIZE	24

extern size_t lsm_delmap_bound(uint32_t count);
extern int	lsm_delmap_encode(const int64_t *rowids, uint32_t count,
							  int64_t base, uint8_t *out, size_t cap,
							  size_t *len);
extern int	lsm_delmap_count(const uint8_t *in, size_t len, uint32_t *count);
extern int	lsm_delmap_decode(const uint8_t *in, size_t len, int64_t base,
							  int64_t *rowids);

/* What a column holds, as far as the format cares. */
#define LSM_KIND_INT		1	/* signed integer of width 1, 2, 4 or 8 */
#define LSM_KIND_FIXED		2	/* opaque bytes of fixed width 1..65535 */
#define LSM_KIND_VARLEN		3	/* opaque byte strings of any length */

#define LSM_COLF_DROPPED	0x01	/* no data: every value reads as NULL */

typedef struct LsmColumnDesc
{
	uint16_t	attnum;			/* attribute number the column was written as */
	uint8_t		kind;			/* LSM_KIND_* */
	uint8_t		flags;			/* LSM_COLF_* */
	uint16_t	width;			/* INT: 1/2/4/8; FIXED: bytes; VARLEN: 0 */
	uint8_t		align;			/* opaque to the format (caller's alignment) */
	uint8_t		byval;			/* opaque to the format */
	uint32_t	type_id;		/* opaque to the format */
	int32_t		type_mod;		/* opaque to the format */
} LsmColumnDesc;

/*
 * Where a reader's attribute comes from in a segment (lsm_colmap.c): the
 * index of the segment's column, or one of these.
 */
#define LSM_COLMAP_MISSING	(-1)	/* added after the segment: missing value */
#define LSM_COLMAP_NULL		(-2)	/* dropped: NULL */

extern int	lsm_colmap_build(const LsmColumnDesc *seg, uint16_t nseg,
							 const LsmColumnDesc *want, uint16_t nwant,
							 int32_t *map, uint8_t *same_type, uint16_t *bad);

/* Chunk encodings (before optional zstd). */
#define LSM_ENC_NONE		0	/* column has no data (dropped / all NULL) */
#define LSM_ENC_PLAIN		1	/* INT/FIXED: packed values; VARLEN: lengths + bytes */
#define LSM_ENC_FOR			2	/* INT: frame of reference + bit-packing */
#define LSM_ENC_DELTA		3	/* INT: first value + bit-packed deltas (FOR) */
#define LSM_ENC_RLE			4	/* INT/FIXED/VARLEN: (value, run length) pairs */
#define LSM_ENC_DICT		5	/* FIXED/VARLEN: dictionary + bit-packed codes */
#define LSM_ENC_CONST		6	/* every non-null value is the same */

#define LSM_COMP_NONE		0
#define LSM_COMP_ZSTD		1
/* chunks whose encoded form is shorter are never compressed */
#define LSM_ZSTD_MIN_INPUT	256

#define LSM_ZONE_HAS_MINMAX	0x01
#define LSM_ZONE_HAS_ORDERED	0x02	/* (version 3) also a zone in the
										 * column's zone order */

/*
 * A column's zone order (version 3): the ordering in which the caller
 * computed the column's second, "ordered" zones.  The format does not
 * interpret it: it stores the caller's 32-bit id and key bytes with the
 * segment and hands them back, so that a reader can tell whether it may
 * compare its own values with those zones.  (lsm_am: the collation's OID,
 * and a key naming its provider, locale, determinism and library version.)
 */
typedef struct LsmZoneOrder
{
	uint32_t	order_id;
	uint16_t	key_len;		/* at least 1 */
	const uint8_t *key;
} LsmZoneOrder;

/* An INT zone value: 8 bytes, little-endian (FORMAT.md section 5). */
extern int64_t lsm_zone_int_load(const uint8_t *p);
extern void lsm_zone_int_store(uint8_t *p, int64_t v);

typedef struct LsmChunkInfo
{
	uint64_t	offset;			/* byte offset from the segment's start */
	uint32_t	stored_len;		/* bytes stored (after compression) */
	uint32_t	raw_len;		/* bytes of the encoded form before zstd */
	uint32_t	null_count;
	uint8_t		encoding;		/* LSM_ENC_* */
	uint8_t		compression;	/* LSM_COMP_* */
	uint8_t		zone_flags;		/* LSM_ZONE_* */
	uint8_t		int_tag;		/* 0, or (VARLEN columns, version 2) the
								 * caller's representation tag of a chunk
								 * stored as i64 values: see LsmColumnData */
	uint64_t	checksum;		/* lsm_checksum of the stored bytes */
	/* zone map; for INT columns min/max are 8-byte little-endian int64 */
	uint16_t	zmin_len;
	uint16_t	zmax_len;
	const uint8_t *zmin;		/* points into the reader's meta copy */
	const uint8_t *zmax;
	/* ordered zone (LSM_ZONE_HAS_ORDERED): min/max in the column's zone order */
	uint16_t	ozmin_len;
	uint16_t	ozmax_len;
	const uint8_t *ozmin;
	const uint8_t *ozmax;
} LsmChunkInfo;

typedef struct LsmBlockInfo
{
	uint32_t	nrows;
	int64_t		first_rowid;
	int64_t		last_rowid;
	uint64_t	data_offset;	/* first byte of the block's chunks */
	uint64_t	data_len;		/* bytes of all its chunks */
	LsmChunkInfo rowids;		/* INT width 8 */
	LsmChunkInfo cids;			/* INT width 4; stored_len 0 when absent */
	LsmChunkInfo *cols;			/* one per column descriptor */
} LsmBlockInfo;

typedef struct LsmSegHeader
{
	uint32_t	magic;
	uint16_t	version;
	uint16_t	flags;			/* LSM_SEGF_* */
	uint16_t	ncols;
	uint32_t	block_rows;
	uint32_t	nblocks;
	uint32_t	schema_version;
	uint32_t	meta_len;		/* bytes of the meta area (incl. this header) */
	uint32_t	order_len;		/* bytes of the zone orders (version 3; else 0) */
	uint64_t	total_len;		/* bytes of the whole segment */
	uint64_t	nrows;
	int64_t		min_rowid;
	int64_t		max_rowid;
	uint64_t	raw_bytes;		/* sum of chunk raw_len: "uncompressed" size */
	uint64_t	meta_checksum;	/* lsm_checksum of the meta area with this field zeroed */
} LsmSegHeader;

#define LSM_SEGF_HAS_CIDS	0x0001
#define LSM_SEGF_INT_ZONES_GIVEN 0x0002	/* INT zones the writer's caller gave
										 * (has_zone) are in the caller's
										 * order, e.g. a float's; see
										 * FORMAT.md section 5 */

/* ---- writer ---- */

typedef struct LsmWriterOptions
{
	uint32_t	block_rows;		/* rows per block (the caller sends at most this many) */
	uint32_t	schema_version; /* stored in the header */
	bool		with_cids;		/* store a command-id chunk per block */
	bool		int_zones_given;	/* INT columns may bring their own zone
									 * (has_zone, 8+8 bytes); sets
									 * LSM_SEGF_INT_ZONES_GIVEN */
	int			zstd_level;		/* 0 disables zstd */
	uint32_t	zstd_min_gain_pct; /* keep zstd only if it saves at least this % */
} LsmWriterOptions;

typedef struct LsmColumnData
{
	const uint8_t *nulls;		/* nrows bytes, nonzero = NULL; NULL = no NULLs */
	const int64_t *ints;		/* INT: nrows values (NULL positions ignored) */
	const uint8_t *fixed;		/* FIXED: nrows * width bytes */
	const uint8_t *const *var_data; /* VARLEN: nrows pointers */
	const uint32_t *var_len;	/* VARLEN: nrows lengths */
	/*
	 * VARLEN only: a nonzero int_tag stores the chunk as one i64 per
	 * non-null row, taken from ints (var_data and var_len are ignored),
	 * with the INT encodings; the tag is recorded in the chunk's directory
	 * entry and handed back by the decoder.  What the integers and the tag
	 * mean is the caller's business (lsm_am: numeric values scaled by
	 * 10^(int_tag - 1)).  The zone map is still the caller's VARLEN one.
	 */
	uint8_t		int_tag;
	/*
	 * zone map supplied by the caller for FIXED/VARLEN; INT computes its own
	 * signed min/max unless the writer has int_zones_given and has_zone is
	 * set (then zmin/zmax are 8-byte little-endian values of the caller's)
	 */
	bool		has_zone;
	const uint8_t *zmin;
	uint16_t	zmin_len;
	const uint8_t *zmax;
	uint16_t	zmax_len;
	/*
	 * FIXED/VARLEN columns given a zone order (lsm_segw_set_zone_order): the
	 * block's minimum and maximum in that order, at most 65535 bytes each,
	 * stored as the chunk's ordered zone (independent of has_zone)
	 */
	bool		has_ordered_zone;
	const uint8_t *ozmin;
	uint16_t	ozmin_len;
	const uint8_t *ozmax;
	uint16_t	ozmax_len;
} LsmColumnData;

typedef struct LsmSegWriter LsmSegWriter;

extern LsmSegWriter *lsm_segw_begin(const LsmColumnDesc *cols, uint16_t ncols,
									const LsmWriterOptions *opts,
									const LsmAllocator *alloc);
/* before the first block: column `column` (not INT, not dropped) has ordered zones */
extern int	lsm_segw_set_zone_order(LsmSegWriter *w, uint16_t column,
									const LsmZoneOrder *order);
/* rowids strictly increasing within and across blocks; cids may be NULL */
extern int	lsm_segw_add_block(LsmSegWriter *w, uint32_t nrows,
							   const int64_t *rowids, const uint32_t *cids,
							   const LsmColumnData *cols);
/* bytes of encoded chunk data so far (for memory limits) */
extern size_t lsm_segw_bytes(const LsmSegWriter *w);
/* assemble the segment; *out is allocated with the writer's allocator */
extern int	lsm_segw_finish(LsmSegWriter *w, uint8_t **out, size_t *out_len);
extern void lsm_segw_free(LsmSegWriter *w);

/* ---- reader ---- */

/* Parse and validate the fixed header (magic, version) from >= LSM_SEG_HEADER_SIZE bytes. */
extern int	lsm_seg_parse_header(const uint8_t *buf, size_t len, LsmSegHeader *hdr);

typedef struct LsmSegReader LsmSegReader;

/* meta: the first hdr.meta_len bytes of the segment; copied, checksum verified */
extern int	lsm_segr_open(const uint8_t *meta, size_t len,
						  const LsmAllocator *alloc, LsmSegReader **out);
/* the same, keeping meta (allocated with alloc; freed with the reader or on failure) */
extern int	lsm_segr_open_owned(uint8_t *meta, size_t len,
								const LsmAllocator *alloc, LsmSegReader **out);
/* bytes the open asks of its allocator, meta area included (see the .c) */
extern size_t lsm_segr_footprint(const LsmSegHeader *hdr, size_t align);
extern const LsmSegHeader *lsm_segr_header(const LsmSegReader *r);
extern const LsmColumnDesc *lsm_segr_columns(const LsmSegReader *r);
extern const LsmBlockInfo *lsm_segr_block(const LsmSegReader *r, uint32_t blockno);
/* the zone order of column `column` (key points into the reader), or NULL */
extern const LsmZoneOrder *lsm_segr_zone_order(const LsmSegReader *r,
											   uint16_t column);
extern void lsm_segr_free(LsmSegReader *r);

/* Decoded chunk; buffers are owned by the struct and reused across calls. */
typedef struct LsmDecoded
{
	uint32_t	n;
	bool		has_nulls;
	uint8_t		int_tag;		/* VARLEN chunk stored as i64 values: its tag;
								 * then ints is set, var_data/var_len not */
	uint8_t    *nulls;			/* n bytes, 1 = NULL (valid when has_nulls) */
	int64_t    *ints;			/* INT (and rowid/cid chunks), tagged VARLEN */
	uint8_t    *fixed;			/* FIXED: n * width bytes */
	const uint8_t **var_data;	/* VARLEN: pointers into owned memory */
	uint32_t   *var_len;
	/* private */
	const LsmAllocator *alloc;
	void	   *scratch[6];
	size_t		scratch_cap[6];
} LsmDecoded;

extern void lsm_decoded_init(LsmDecoded *d, const LsmAllocator *alloc);
extern void lsm_decoded_free(LsmDecoded *d);

/*
 * Verify the chunk's checksum, decompress, decode nrows values.  col is the
 * column's descriptor, or NULL for the rowid chunk (INT width 8) or the
 * cid chunk (pass lsm_cid_column()).  stored points at ci->stored_len bytes.
 */
extern int	lsm_decode_chunk(const LsmChunkInfo *ci, const LsmColumnDesc *col,
							 uint32_t nrows, const uint8_t *stored,
							 LsmDecoded *out);
extern int	lsm_decode_chunk_row(const LsmChunkInfo *ci,
								 const LsmColumnDesc *col, uint32_t nrows,
								 const uint8_t *stored, uint32_t row,
								 LsmDecoded *out);
extern const LsmColumnDesc *lsm_rowid_column(void);
extern const LsmColumnDesc *lsm_cid_column(void);

#endif							/* LSM_FORMAT_H */
