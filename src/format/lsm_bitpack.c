/*-------------------------------------------------------------------------
 *
 * lsm_bitpack.c
 *	  Packing and unpacking of unsigned integers of 0..64 bits.
 *
 * NOTES
 *	  A stream of m values of bw bits is a little-endian bit string: value i
 *	  occupies bits [i*bw, (i+1)*bw) where bit k is bit (k % 8) of byte k / 8.
 *	  The stream is followed by LSM_BITPACK_PAD (8) padding bytes, so that a
 *	  decoder can fetch any value with one unaligned 64-bit load (two when
 *	  bw > 56 and the value straddles the load) without reading past the
 *	  stream's bytes.
 *
 *	  Eight consecutive values always occupy exactly bw bytes, so the hot
 *	  loop decodes groups of eight with one function per bit width in which
 *	  every byte offset and shift is a compile-time constant: each value costs
 *	  a load, a shift, a mask, an add and a store, with no data dependencies
 *	  between values.
 *
 *-------------------------------------------------------------------------
 */
#include "lsm_format_int.h"

#define LSM_MASK(bw) \
	((bw) >= 64 ? ~UINT64_C(0) : ((UINT64_C(1) << ((bw) & 63)) - 1))

/* Decode value J of the group at "in" (bit width BW) into out[J] */
#define UNPACK1(BW, J) \
	do { \
		const unsigned bit_ = (unsigned) (J) * (BW); \
		const unsigned sh_ = bit_ & 7; \
		uint64_t	w_ = lsm_load64(in + (bit_ >> 3)) >> sh_; \
		if (sh_ + (BW) > 64) \
			w_ |= lsm_load64(in + (bit_ >> 3) + 8) << ((64 - sh_) & 63); \
		out[J] = base + (w_ & LSM_MASK(BW)); \
	} while (0)

#define DEFINE_UNPACK(BW) \
static void \
unpack_##BW(const uint8_t *in, size_t ngroups, uint64_t base, uint64_t *out) \
{ \
	size_t		g; \
	for (g = 0; g < ngroups; g++) \
	{ \
		UNPACK1(BW, 0); UNPACK1(BW, 1); UNPACK1(BW, 2); UNPACK1(BW, 3); \
		UNPACK1(BW, 4); UNPACK1(BW, 5); UNPACK1(BW, 6); UNPACK1(BW, 7); \
		in += (BW); \
		out += 8; \
	} \
}

DEFINE_UNPACK(1)
DEFINE_UNPACK(2)
DEFINE_UNPACK(3)
DEFINE_UNPACK(4)
DEFINE_UNPACK(5)
DEFINE_UNPACK(6)
DEFINE_UNPACK(7)
DEFINE_UNPACK(8)
DEFINE_UNPACK(9)
DEFINE_UNPACK(10)
DEFINE_UNPACK(11)
DEFINE_UNPACK(12)
DEFINE_UNPACK(13)
DEFINE_UNPACK(14)
DEFINE_UNPACK(15)
DEFINE_UNPACK(16)
DEFINE_UNPACK(17)
DEFINE_UNPACK(18)
DEFINE_UNPACK(19)
DEFINE_UNPACK(20)
DEFINE_UNPACK(21)
DEFINE_UNPACK(22)
DEFINE_UNPACK(23)
DEFINE_UNPACK(24)
DEFINE_UNPACK(25)
DEFINE_UNPACK(26)
DEFINE_UNPACK(27)
DEFINE_UNPACK(28)
DEFINE_UNPACK(29)
DEFINE_UNPACK(30)
DEFINE_UNPACK(31)
DEFINE_UNPACK(32)
DEFINE_UNPACK(33)
DEFINE_UNPACK(34)
DEFINE_UNPACK(35)
DEFINE_UNPACK(36)
DEFINE_UNPACK(37)
DEFINE_UNPACK(38)
DEFINE_UNPACK(39)
DEFINE_UNPACK(40)
DEFINE_UNPACK(41)
DEFINE_UNPACK(42)
DEFINE_UNPACK(43)
DEFINE_UNPACK(44)
DEFINE_UNPACK(45)
DEFINE_UNPACK(46)
DEFINE_UNPACK(47)
DEFINE_UNPACK(48)
DEFINE_UNPACK(49)
DEFINE_UNPACK(50)
DEFINE_UNPACK(51)
DEFINE_UNPACK(52)
DEFINE_UNPACK(53)
DEFINE_UNPACK(54)
DEFINE_UNPACK(55)
DEFINE_UNPACK(56)
DEFINE_UNPACK(57)
DEFINE_UNPACK(58)
DEFINE_UNPACK(59)
DEFINE_UNPACK(60)
DEFINE_UNPACK(61)
DEFINE_UNPACK(62)
DEFINE_UNPACK(63)
DEFINE_UNPACK(64)

typedef void (*unpack_fn) (const uint8_t *in, size_t ngroups, uint64_t base,
						   uint64_t *out);

static const unpack_fn unpack_table[65] = {
	NULL,
	unpack_1, unpack_2, unpack_3, unpack_4, unpack_5, unpack_6, unpack_7,
	unpack_8, unpack_9, unpack_10, unpack_11, unpack_12, unpack_13,
	unpack_14, unpack_15, unpack_16, unpack_17, unpack_18, unpack_19,
	unpack_20, unpack_21, unpack_22, unpack_23, unpack_24, unpack_25,
	unpack_26, unpack_27, unpack_28, unpack_29, unpack_30, unpack_31,
	unpack_32, unpack_33, unpack_34, unpack_35, unpack_36, unpack_37,
	unpack_38, unpack_39, unpack_40, unpack_41, unpack_42, unpack_43,
	unpack_44, unpack_45, unpack_46, unpack_47, unpack_48, unpack_49,
	unpack_50, unpack_51, unpack_52, unpack_53, unpack_54, unpack_55,
	unpack_56, unpack_57, unpack_58, unpack_59, unpack_60, unpack_61,
	unpack_62, unpack_63, unpack_64
};

/*
 * lsm_bitpack
 *		Pack m values of bw bits (0 < bw <= 64) into out.
 *
 * out must have lsm_bitpack_size(m, bw) bytes; all of them are written
 * (padding is zero).  Bits of a value above bw are ignored.
 */
void
lsm_bitpack(const uint64_t *vals, size_t m, int bw, uint8_t *out)
{
	uint64_t	mask;
	size_t		i;

	if (m == 0 || bw == 0)
		return;
	memset(out, 0, (size_t) lsm_bitpack_size(m, bw));
	mask = LSM_MASK(bw);
	for (i = 0; i < m; i++)
	{
		uint64_t	v = vals[i] & mask;
		uint64_t	bit = (uint64_t) i * bw;
		uint8_t    *p = out + (bit >> 3);
		unsigned	sh = bit & 7;

		lsm_store64(p, lsm_load64(p) | (v << sh));
		if (sh + bw > 64)
			lsm_store64(p + 8, lsm_load64(p + 8) | (v >> (64 - sh)));
	}
}

/*
 * lsm_bitunpack
 *		Unpack m values of bw bits (0 <= bw <= 64), adding base to each.
 *
 * The caller has checked that "in" holds lsm_bitpack_size(m, bw) bytes.
 * Arithmetic wraps modulo 2^64.
 */
void
lsm_bitunpack(const uint8_t *in, size_t m, int bw, uint64_t base,
			  uint64_t *out)
{
	size_t		ngroups;
	size_t		i;
	uint64_t	mask;

	if (bw == 0)
	{
		for (i = 0; i < m; i++)
			out[i] = base;
		return;
	}

	ngroups = m / 8;
	unpack_table[bw] (in, ngroups, base, out);

	/* the last m % 8 values, one at a time */
	mask = LSM_MASK(bw);
	for (i = ngroups * 8; i < m; i++)
	{
		uint64_t	bit = (uint64_t) i * bw;
		const uint8_t *p = in + (bit >> 3);
		unsigned	sh = bit & 7;
		uint64_t	w = lsm_load64(p) >> sh;

		if (sh + bw > 64)
			w |= lsm_load64(p + 8) << (64 - sh);
		out[i] = base + (w & mask);
	}
}

/*
 * lsm_bitunpack_one
 *		Value idx of a stream of bw bits (0 <= bw <= 64), plus base.
 *
 * The caller has checked that "in" holds a stream of more than idx values.
 */
uint64_t
lsm_bitunpack_one(const uint8_t *in, uint64_t idx, int bw, uint64_t base)
{
	uint64_t	bit;
	const uint8_t *p;
	unsigned	sh;
	uint64_t	w;

	if (bw == 0)
		return base;
	bit = idx * (uint64_t) bw;
	p = in + (bit >> 3);
	sh = bit & 7;
	w = lsm_load64(p) >> sh;
	if (sh + bw > 64)
		w |= lsm_load64(p + 8) << (64 - sh);
	return base + (w & LSM_MASK(bw));
}
