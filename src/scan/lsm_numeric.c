/*-------------------------------------------------------------------------
 *
 * lsm_numeric.c
 *	  Numeric values as scaled 64-bit integers: the representation of
 *	  numeric chunks that the segment builder writes and the decoder and
 *	  the LSM Aggregate read.
 *
 * NOTES
 *	  When every non-null value of a block of a numeric column is finite,
 *	  has the same display scale s (at most 63) and value * 10^s fits in an
 *	  int64, the segment builder (src/txn/lsm_flush.c) hands the format
 *	  library those integers instead of the varlenas, with the
 *	  representation tag 1 + s (LSM_NUMERIC_TAG); the library stores them
 *	  with its integer encodings.  The format library does not know what
 *	  the tag means: this file does.
 *
 *	  Reading such a chunk back as Datums (lsm_numeric_build) builds, per
 *	  value, exactly the bytes PostgreSQL's make_result() produces for that
 *	  value and display scale: the short numeric format (sign, display
 *	  scale and weight in a 16-bit header, base-10000 digits without
 *	  leading or trailing zero digits, zero as no digits with weight 0 and
 *	  a positive sign), which is what numeric_in / int64_div_fast_to_numeric
 *	  return for the same value and scale (checked byte for byte over
 *	  millions of values and every scale when this was written), behind
 *	  the 1-byte header of a packed varlena, which is how heap stores such
 *	  short values (and how the varlenas of other blocks come back), so
 *	  that even pg_column_size() agrees with heap; sql/lsm_numeric_repr.sql
 *	  compares numeric_send() and pg_column_size() of every value with
 *	  heap.  It costs a few divisions by a constant per
 *	  value and no palloc, where int64_div_fast_to_numeric pallocs twice
 *	  per value (six times slower, measured).
 *
 *	  The layout of a numeric is private to numeric.c; the constants below
 *	  repeat the ones documented there (PostgreSQL 15), which are part of
 *	  the on-disk format of numeric and so do not change.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/memutils.h"
#include "utils/numeric.h"

#include "scan/lsm_scan.h"

/* the numeric header bits of numeric.c */
#define NUM_SIGN_MASK			0xC000
#define NUM_POS					0x0000
#define NUM_NEG					0x4000
#define NUM_SHORT				0x8000
#define NUM_SPECIAL				0xC000
#define NUM_SHORT_SIGN_MASK		0x2000
#define NUM_SHORT_DSCALE_MASK	0x1F80
#define NUM_SHORT_DSCALE_SHIFT	7
#define NUM_SHORT_WEIGHT_SIGN	0x0040
#define NUM_SHORT_WEIGHT_MASK	0x003F
#define NUM_DSCALE_MASK			0x3FFF
#define NUM_NBASE				10000

/* bytes of one built value: varlena header, numeric header, digits */
#define NUM_BUILT_MAX			(VARHDRSZ_SHORT + 2 + 2 * 6)

static const int64 lsm_p10_64[19] = {
	INT64CONST(1), INT64CONST(10), INT64CONST(100), INT64CONST(1000),
	INT64CONST(10000), INT64CONST(100000), INT64CONST(1000000),
	INT64CONST(10000000), INT64CONST(100000000), INT64CONST(1000000000),
	INT64CONST(10000000000), INT64CONST(100000000000),
	INT64CONST(1000000000000), INT64CONST(10000000000000),
	INT64CONST(100000000000000), INT64CONST(1000000000000000),
	INT64CONST(10000000000000000), INT64CONST(100000000000000000),
	INT64CONST(1000000000000000000)
};

/*
 * lsm_numeric_scaled64
 *		The value of numeric Datum d as value * 10^dscale in *val, and its
 *		display scale in *dscale.
 *
 * Returns false for NaN and infinities, for a display scale above
 * LSM_NUMERIC_MAX_SCALE, for a value that does not fit (|value| * 10^dscale
 * beyond int64), for digits below the display scale (which PostgreSQL never
 * stores, but which the integer could not keep), and for a datum that is
 * not a plain in-line varlena.
 */
/*
 * lsm_numeric_parts
 *		Read the stored form of a numeric (an in-line, uncompressed varlena):
 *		for a finite value its sign, display scale, weight and base-10000
 *		digits, as numeric.c lays them out (a 2-byte short header with sign,
 *		6-bit dscale and 7-bit weight, or a sign/dscale word and a weight
 *		word, then the digits).  Returns the kind of value, or
 *		LSM_NUMERIC_MALFORMED for bytes too short to be a numeric.
 */
int
lsm_numeric_parts(Datum d, LsmNumericParts *np)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(d);
	const char *p = VARDATA_ANY(v);
	int			len = VARSIZE_ANY_EXHDR(v);
	uint16		header;

	if (len < 2)
		return LSM_NUMERIC_MALFORMED;
	memcpy(&header, p, sizeof(uint16));
	switch (header & NUM_SIGN_MASK)
	{
		case NUM_SPECIAL:
			/* NaN 0xC000, +Infinity 0xD000, -Infinity 0xF000 */
			if (header == 0xC000)
				return LSM_NUMERIC_NAN;
			return header == 0xD000 ? LSM_NUMERIC_PINF : LSM_NUMERIC_NINF;
		case NUM_SHORT:
			np->neg = (header & NUM_SHORT_SIGN_MASK) != 0;
			np->dscale = (header & NUM_SHORT_DSCALE_MASK) >> NUM_SHORT_DSCALE_SHIFT;
			np->weight = (header & NUM_SHORT_WEIGHT_SIGN) ?
				(int) (~NUM_SHORT_WEIGHT_MASK | (header & NUM_SHORT_WEIGHT_MASK)) :
				(int) (header & NUM_SHORT_WEIGHT_MASK);
			np->digits = p + 2;
			np->ndigits = (len - 2) / 2;
			break;
		default:
			{
				int16		w;

				if (len < 4)
					return LSM_NUMERIC_MALFORMED;
				np->neg = (header & NUM_SIGN_MASK) == NUM_NEG;
				np->dscale = header & NUM_DSCALE_MASK;
				memcpy(&w, p + 2, sizeof(int16));
				np->weight = w;
				np->digits = p + 4;
				np->ndigits = (len - 4) / 2;
			}
			break;
	}
	return LSM_NUMERIC_FINITE;
}

bool
lsm_numeric_scaled64(Datum d, int64 *val, int *dscale)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(d);
	LsmNumericParts np;
	int			weight;
	int			scale;
	bool		neg;
	const char *digits;
	int			ndigits;
	int128		acc = 0;
	int			i;

	if (VARATT_IS_EXTERNAL(v) || VARATT_IS_COMPRESSED(v))
		return false;
	if (lsm_numeric_parts(d, &np) != LSM_NUMERIC_FINITE)
		return false;			/* NaN, +-Infinity, malformed */
	neg = np.neg;
	scale = np.dscale;
	weight = np.weight;
	digits = np.digits;
	ndigits = np.ndigits;
	if (scale > LSM_NUMERIC_MAX_SCALE)
		return false;
	for (i = 0; i < ndigits; i++)
	{
		int16		dig;
		int			e = 4 * (weight - i) + scale;

		memcpy(&dig, digits + 2 * i, sizeof(int16));
		if (dig == 0)
			continue;
		if (dig < 0 || dig >= NUM_NBASE)
			return false;
		if (e >= 0)
		{
			if (e > 18)
				return false;
			acc += (int128) dig * lsm_p10_64[e];
			if (acc > (int128) PG_INT64_MAX + 1)
				return false;
		}
		else
		{
			/* the digit group reaches below the display scale */
			if (e < -3 || dig % lsm_p10_64[-e] != 0)
				return false;
			acc += dig / lsm_p10_64[-e];
		}
	}
	if (neg)
		acc = -acc;
	if (acc > PG_INT64_MAX || acc < PG_INT64_MIN)
		return false;
	*val = (int64) acc;
	*dscale = scale;
	return true;
}

/*
 * Write the numeric of scaled value v at display scale `scale` at out (room
 * for NUM_BUILT_MAX bytes), as a packed varlena (1-byte header); returns
 * its size.
 */
static inline Size
lsm_numeric_put(char *out, int64 v, int scale)
{
	uint16		groups[8];
	int			ng = 0;
	int			pad = (4 - (scale & 3)) & 3;
	int			fgroups = (scale + pad) >> 2;
	uint64		u = v < 0 ? (uint64) 0 - (uint64) v : (uint64) v;
	int			low;
	int			ndigits;
	int			weight;
	uint16		header;
	Size		size;
	int			i;

	if (u <= PG_UINT64_MAX / 1000)
	{
		uint64		x = u * (uint64) lsm_p10_64[pad];

		while (x != 0)
		{
			groups[ng++] = (uint16) (x % NUM_NBASE);
			x /= NUM_NBASE;
		}
	}
	else
	{
		uint128		x = (uint128) u * (uint64) lsm_p10_64[pad];

		while (x != 0)
		{
			groups[ng++] = (uint16) (x % NUM_NBASE);
			x /= NUM_NBASE;
		}
	}
	/* groups[0] is the least significant; no zero group at the top */
	for (low = 0; low < ng && groups[low] == 0; low++)
		;
	ndigits = ng - low;
	if (ndigits == 0)
	{
		weight = 0;
		header = NUM_SHORT | (scale << NUM_SHORT_DSCALE_SHIFT);
	}
	else
	{
		weight = ng - 1 - fgroups;
		header = NUM_SHORT | (v < 0 ? NUM_SHORT_SIGN_MASK : 0) |
			(scale << NUM_SHORT_DSCALE_SHIFT) |
			(weight < 0 ? NUM_SHORT_WEIGHT_SIGN : 0) |
			(weight & NUM_SHORT_WEIGHT_MASK);
	}
	size = VARHDRSZ_SHORT + 2 + 2 * ndigits;
	SET_VARSIZE_SHORT(out, size);
	memcpy(out + VARHDRSZ_SHORT, &header, 2);
	for (i = 0; i < ndigits; i++)
		memcpy(out + VARHDRSZ_SHORT + 2 + 2 * i, &groups[ng - 1 - i], 2);
	return size;
}

/*
 * lsm_numeric_build
 *		Numeric Datums for the n scaled values ints[] at display scale
 *		`scale` (0..LSM_NUMERIC_MAX_SCALE); rows with nulls[r] set get
 *		(Datum) 0.  The values (packed varlenas) are built in *buf (grown
 *		in cxt as needed, at most 15 bytes per row), which must stay as it
 *		is while the Datums are used.
 */
void
lsm_numeric_build(const int64 *ints, const bool *nulls, int n, int scale,
				  Datum *vals, char **buf, Size *cap, MemoryContext cxt)
{
	Size		need = (Size) Max(n, 1) * NUM_BUILT_MAX;
	char	   *p;
	int			r;

	Assert(scale >= 0 && scale <= LSM_NUMERIC_MAX_SCALE);
	if (*buf == NULL || *cap < need)
	{
		if (*buf != NULL)
			pfree(*buf);
		*buf = MemoryContextAllocExtended(cxt, need, MCXT_ALLOC_HUGE);
		*cap = need;
	}
	p = *buf;
	for (r = 0; r < n; r++)
	{
		if (nulls[r])
		{
			vals[r] = (Datum) 0;
			continue;
		}
		vals[r] = PointerGetDatum(p);
		p += lsm_numeric_put(p, ints[r], scale);
	}
}
