/*-------------------------------------------------------------------------
 *
 * lsm_format_int.h
 *	  Declarations private to src/format: byte-order helpers, the on-disk
 *	  sizes of the segment's fixed structures, bit-packing, growable
 *	  buffers and the chunk encoder.
 *
 * Nothing outside src/format may include this file; the public interface
 * is lsm_format.h.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LSM_FORMAT_INT_H
#define LSM_FORMAT_INT_H

#include <string.h>

#include "lsm_format.h"

/* On-disk sizes of the meta area's records (see docs/FORMAT.md) */
#define LSM_COLDESC_SIZE		16
#define LSM_DIR_BLOCK_SIZE		40
#define LSM_DIR_CHUNK_SIZE		40
#define LSM_ZONE_ORDER_HEAD		8	/* a zone order record before its key */
#define LSM_OZONE_HEAD			4	/* an ordered zone before its bytes */

/* Bit-packed streams are followed by this many padding bytes */
#define LSM_BITPACK_PAD			8

/* Limits of the dictionary encodings */
#define LSM_DICT_MAX			65536

/* Seed of lsm_checksum (XXH64) */
#define LSM_CHECKSUM_SEED		UINT64_C(0x4C534D5F464D5431)

/* ---- little-endian loads and stores ---- */

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define LSM_BSWAP16(x)	__builtin_bswap16(x)
#define LSM_BSWAP32(x)	__builtin_bswap32(x)
#define LSM_BSWAP64(x)	__builtin_bswap64(x)
#else
#define LSM_BSWAP16(x)	(x)
#define LSM_BSWAP32(x)	(x)
#define LSM_BSWAP64(x)	(x)
#endif

static inline uint16_t
lsm_load16(const uint8_t *p)
{
	uint16_t	v;

	memcpy(&v, p, sizeof(v));
	return LSM_BSWAP16(v);
}

static inline uint32_t
lsm_load32(const uint8_t *p)
{
	uint32_t	v;

	memcpy(&v, p, sizeof(v));
	return LSM_BSWAP32(v);
}

static inline uint64_t
lsm_load64(const uint8_t *p)
{
	uint64_t	v;

	memcpy(&v, p, sizeof(v));
	return LSM_BSWAP64(v);
}

static inline void
lsm_store16(uint8_t *p, uint16_t v)
{
	v = LSM_BSWAP16(v);
	memcpy(p, &v, sizeof(v));
}

static inline void
lsm_store32(uint8_t *p, uint32_t v)
{
	v = LSM_BSWAP32(v);
	memcpy(p, &v, sizeof(v));
}

static inline void
lsm_store64(uint8_t *p, uint64_t v)
{
	v = LSM_BSWAP64(v);
	memcpy(p, &v, sizeof(v));
}

/* Number of bits needed to represent v (0 for v == 0) */
static inline int
lsm_bits_needed(uint64_t v)
{
	return v == 0 ? 0 : 64 - __builtin_clzll(v);
}

/* ---- bit-packing (lsm_bitpack.c) ---- */

/*
 * Bytes of a stream of m values of bw bits, including the padding that lets
 * the decoder use unaligned 64-bit loads.  An empty stream (m == 0 or
 * bw == 0) takes no bytes at all.
 */
static inline uint64_t
lsm_bitpack_size(uint64_t m, int bw)
{
	if (m == 0 || bw == 0)
		return 0;
	return (m * (uint64_t) bw + 7) / 8 + LSM_BITPACK_PAD;
}

extern void lsm_bitpack(const uint64_t *vals, size_t m, int bw, uint8_t *out);
extern void lsm_bitunpack(const uint8_t *in, size_t m, int bw, uint64_t base,
						  uint64_t *out);
extern uint64_t lsm_bitunpack_one(const uint8_t *in, uint64_t idx, int bw,
								  uint64_t base);

/* ---- growable byte buffer ---- */

typedef struct LsmBuf
{
	uint8_t    *data;
	size_t		len;
	size_t		cap;
	const LsmAllocator *alloc;
} LsmBuf;

extern int	lsm_buf_reserve(LsmBuf *b, size_t extra);
extern int	lsm_buf_append(LsmBuf *b, const void *data, size_t len);
extern void lsm_buf_free(LsmBuf *b);

/* ---- chunk encoder (lsm_encode.c) ---- */

typedef struct LsmEncoder LsmEncoder;

typedef struct LsmEncResult
{
	uint32_t	stored_len;
	uint32_t	raw_len;
	uint32_t	null_count;
	uint8_t		encoding;
	uint8_t		compression;
	uint8_t		int_tag;		/* VARLEN stored as i64 values: the tag */
	bool		has_minmax;		/* INT only: zmin/zmax valid */
	int64_t		zmin;
	int64_t		zmax;
	uint64_t	checksum;
} LsmEncResult;

extern LsmEncoder *lsm_encoder_create(const LsmAllocator *alloc);
extern void lsm_encoder_free(LsmEncoder *e);
extern int	lsm_encode_chunk(LsmEncoder *e, const LsmColumnDesc *col,
							 uint32_t n, const LsmColumnData *cd,
							 int zstd_level, uint32_t zstd_min_gain_pct,
							 LsmBuf *dst, LsmEncResult *res);

/* ---- misc ---- */

extern bool lsm_column_desc_valid(const LsmColumnDesc *col);
extern bool lsm_encoding_valid(uint8_t kind, uint8_t encoding);

#endif							/* LSM_FORMAT_INT_H */
