/*-------------------------------------------------------------------------
 *
 * lsm_checksum.c
 *	  The 64-bit checksum used for chunks and the segment's meta area.
 *
 * NOTES
 *	  The algorithm is XXH64 (Yann Collet's xxHash, 64-bit variant) with the
 *	  fixed seed LSM_CHECKSUM_SEED, reimplemented here so that the format does
 *	  not depend on a particular libzstd or libxxhash build exposing it.  Input
 *	  words are read little-endian, so the value is the same on every
 *	  platform.  It runs at memory speed, which matters because every chunk
 *	  is verified on every decode.
 *
 *-------------------------------------------------------------------------
 */
#include "lsm_format_int.h"

#define P1	UINT64_C(11400714785092639233)
#define P2	UINT64_C(14029467366897019727)
#define P3	UINT64_C(1609587929392839161)
#define P4	UINT64_C(9650029242287828579)
#define P5	UINT64_C(2870177450012600261)

static inline uint64_t
rotl64(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static inline uint64_t
xxh_round(uint64_t acc, uint64_t input)
{
	acc += input * P2;
	acc = rotl64(acc, 31);
	return acc * P1;
}

static inline uint64_t
xxh_merge(uint64_t acc, uint64_t val)
{
	acc ^= xxh_round(0, val);
	return acc * P1 + P4;
}

/*
 * lsm_checksum
 *		XXH64 of len bytes at data, seeded with LSM_CHECKSUM_SEED.
 */
uint64_t
lsm_checksum(const void *data, size_t len)
{
	const uint8_t *p = (const uint8_t *) data;
	const uint8_t *end = p + len;
	uint64_t	seed = LSM_CHECKSUM_SEED;
	uint64_t	h;

	if (len >= 32)
	{
		const uint8_t *limit = end - 32;
		uint64_t	v1 = seed + P1 + P2;
		uint64_t	v2 = seed + P2;
		uint64_t	v3 = seed;
		uint64_t	v4 = seed - P1;

		do
		{
			v1 = xxh_round(v1, lsm_load64(p));
			v2 = xxh_round(v2, lsm_load64(p + 8));
			v3 = xxh_round(v3, lsm_load64(p + 16));
			v4 = xxh_round(v4, lsm_load64(p + 24));
			p += 32;
		} while (p <= limit);

		h = rotl64(v1, 1) + rotl64(v2, 7) + rotl64(v3, 12) + rotl64(v4, 18);
		h = xxh_merge(h, v1);
		h = xxh_merge(h, v2);
		h = xxh_merge(h, v3);
		h = xxh_merge(h, v4);
	}
	else
		h = seed + P5;

	h += (uint64_t) len;

	while (p + 8 <= end)
	{
		h ^= xxh_round(0, lsm_load64(p));
		h = rotl64(h, 27) * P1 + P4;
		p += 8;
	}
	if (p + 4 <= end)
	{
		h ^= (uint64_t) lsm_load32(p) * P1;
		h = rotl64(h, 23) * P2 + P3;
		p += 4;
	}
	while (p < end)
	{
		h ^= (uint64_t) (*p) * P5;
		h = rotl64(h, 11) * P1;
		p++;
	}

	h ^= h >> 33;
	h *= P2;
	h ^= h >> 29;
	h *= P3;
	h ^= h >> 32;
	return h;
}
