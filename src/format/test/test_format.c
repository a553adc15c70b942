/*-------------------------------------------------------------------------
 *
 * test_format.c
 *	  Stand-alone unit tests of the segment format library.
 *
 * NOTES
 *	  A tiny harness: every test is a function registered in tests[]; CHECK
 *	  records a failure and returns from the test.  All memory goes through
 *	  a counting allocator, and a test that leaves blocks allocated fails.
 *	  The last line printed is "N passed, M failed"; the exit status is
 *	  non-zero if anything failed.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lsm_format_int.h"

/* ---- harness ---- */

static int	test_failed;

#define CHECK(cond) \
	do { \
		if (!(cond)) \
		{ \
			fprintf(stderr, "  %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			test_failed = 1; \
			return; \
		} \
	} while (0)

#define CHECK_RC(expr, want) \
	do { \
		int			rc_ = (expr); \
		if (rc_ != (want)) \
		{ \
			fprintf(stderr, "  %s:%d: %s returned %d (%s), expected %d\n", \
					__FILE__, __LINE__, #expr, rc_, lsm_status_str(rc_), (want)); \
			test_failed = 1; \
			return; \
		} \
	} while (0)

/* counting allocator */
static long live_blocks;

static void *
t_alloc(void *ctx, size_t size)
{
	void	   *p = malloc(size ? size : 1);

	(void) ctx;
	if (p)
		live_blocks++;
	return p;
}

static void *
t_realloc(void *ctx, void *ptr, size_t size)
{
	void	   *p;

	(void) ctx;
	p = realloc(ptr, size ? size : 1);
	if (p && !ptr)
		live_blocks++;
	return p;
}

static void
t_free(void *ctx, void *ptr)
{
	(void) ctx;
	if (ptr)
		live_blocks--;
	free(ptr);
}

static const LsmAllocator talloc = {t_alloc, t_realloc, t_free, NULL};

/* deterministic random numbers */
static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t
rnd(void)
{
	uint64_t	x = rng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* ---- helpers ---- */

static LsmWriterOptions
default_opts(uint32_t block_rows, int zstd_level)
{
	LsmWriterOptions o;

	memset(&o, 0, sizeof(o));
	o.block_rows = block_rows;
	o.schema_version = 7;
	o.with_cids = false;
	o.zstd_level = zstd_level;
	o.zstd_min_gain_pct = 10;
	return o;
}

static LsmColumnDesc
mkcol(uint8_t kind, uint16_t width, uint16_t attnum)
{
	LsmColumnDesc c;

	memset(&c, 0, sizeof(c));
	c.attnum = attnum;
	c.kind = kind;
	c.width = width;
	c.type_id = 23;
	c.type_mod = -1;
	return c;
}

/* Compare a decoded chunk against the input it was written from */
static int
same_as_input(const LsmColumnDesc *col, uint32_t n, const LsmColumnData *cd,
			  const LsmDecoded *d)
{
	uint32_t	i;

	if (d->n != n)
		return 0;
	for (i = 0; i < n; i++)
	{
		int			isnull = (col->flags & LSM_COLF_DROPPED) ||
			(cd->nulls && cd->nulls[i]);

		if ((d->has_nulls && d->nulls[i]) != isnull)
			return 0;
		if (isnull)
			continue;
		switch (col->kind)
		{
			case LSM_KIND_INT:
				if (d->ints[i] != cd->ints[i])
					return 0;
				break;
			case LSM_KIND_FIXED:
				if (memcmp(d->fixed + (size_t) i * col->width,
						   cd->fixed + (size_t) i * col->width, col->width) != 0)
					return 0;
				break;
			default:
				if (d->var_len[i] != cd->var_len[i] ||
					(cd->var_len[i] > 0 &&
					 memcmp(d->var_data[i], cd->var_data[i], cd->var_len[i]) != 0))
					return 0;
				break;
		}
	}
	return 1;
}

typedef struct RtResult
{
	int			ok;
	int			rc;
	uint8_t		encoding;
	uint8_t		compression;
	uint32_t	stored_len;
	uint8_t		zone_flags;
	int64_t		zmin;
	int64_t		zmax;
} RtResult;

/*
 * Write one block of one column, read it back and compare.  rowids are
 * 1000 + 3*i.
 */
/*
 * Row i of a chunk decoded alone (lsm_decode_chunk_row) equals row i of the
 * whole chunk decoded (full).
 */
static bool
row_matches(const LsmChunkInfo *ci, const LsmColumnDesc *col, uint32_t nrows,
			const uint8_t *stored, const LsmDecoded *full, uint32_t i,
			LsmDecoded *one)
{
	bool		fnull = full->has_nulls && full->nulls[i];
	bool		onull;

	if (lsm_decode_chunk_row(ci, col, nrows, stored, i, one) != LSM_OK ||
		one->n != 1 || one->int_tag != full->int_tag)
		return false;
	onull = one->has_nulls && one->nulls[0];
	if (onull != fnull)
		return false;
	if (fnull)
		return true;
	if (full->ints != NULL)
		return one->ints != NULL && one->ints[0] == full->ints[i];
	if (full->fixed != NULL)
		return one->fixed != NULL &&
			memcmp(one->fixed, full->fixed + (size_t) i * col->width, col->width) == 0;
	return one->var_data != NULL && one->var_len[0] == full->var_len[i] &&
		memcmp(one->var_data[0], full->var_data[i], full->var_len[i]) == 0;
}

/* Every row (up to 3000 rows; a sample beyond) decoded alone matches. */
static bool
rows_match(const LsmChunkInfo *ci, const LsmColumnDesc *col, uint32_t nrows,
		   const uint8_t *stored, const LsmDecoded *full)
{
	LsmDecoded	one;
	uint32_t	step = nrows <= 3000 ? 1 : nrows / 1000;
	uint32_t	i;
	bool		ok = true;

	lsm_decoded_init(&one, &talloc);
	for (i = 0; i < nrows && ok; i += step)
		ok = row_matches(ci, col, nrows, stored, full, i, &one);
	if (ok && nrows > 0)
		ok = row_matches(ci, col, nrows, stored, full, nrows - 1, &one);
	/* a row past the end is refused */
	if (ok)
		ok = lsm_decode_chunk_row(ci, col, nrows, stored, nrows, &one) == LSM_ERR_ARG;
	lsm_decoded_free(&one);
	return ok;
}

static RtResult
roundtrip(LsmColumnDesc col, uint32_t n, const LsmColumnData *cd,
		  int zstd_level)
{
	RtResult	res;
	LsmWriterOptions o = default_opts(n, zstd_level);
	LsmSegWriter *w;
	LsmSegReader *r = NULL;
	int64_t    *rowids = malloc(sizeof(int64_t) * n);
	uint8_t    *seg = NULL;
	size_t		seg_len;
	const LsmBlockInfo *b;
	LsmDecoded	d;
	uint32_t	i;

	memset(&res, 0, sizeof(res));
	for (i = 0; i < n; i++)
		rowids[i] = 1000 + 3 * (int64_t) i;
	lsm_decoded_init(&d, &talloc);
	w = lsm_segw_begin(&col, 1, &o, &talloc);
	if (w == NULL)
	{
		res.rc = -100;
		goto done;
	}
	res.rc = lsm_segw_add_block(w, n, rowids, NULL, cd);
	if (res.rc == LSM_OK)
		res.rc = lsm_segw_finish(w, &seg, &seg_len);
	lsm_segw_free(w);
	if (res.rc != LSM_OK)
		goto done;
	res.rc = lsm_segr_open(seg, seg_len, &talloc, &r);
	if (res.rc != LSM_OK)
		goto done;
	b = lsm_segr_block(r, 0);
	res.rc = lsm_decode_chunk(&b->rowids, NULL, b->nrows, seg + b->rowids.offset, &d);
	if (res.rc != LSM_OK)
		goto done;
	for (i = 0; i < n; i++)
		if (d.ints[i] != rowids[i] || (d.has_nulls && d.nulls[i]))
			goto done;
	if (!rows_match(&b->rowids, NULL, b->nrows, seg + b->rowids.offset, &d))
		goto done;
	res.rc = lsm_decode_chunk(&b->cols[0], &lsm_segr_columns(r)[0], b->nrows,
							  seg + b->cols[0].offset, &d);
	if (res.rc != LSM_OK)
		goto done;
	if (!rows_match(&b->cols[0], &lsm_segr_columns(r)[0], b->nrows,
					seg + b->cols[0].offset, &d))
		goto done;
	res.encoding = b->cols[0].encoding;
	res.compression = b->cols[0].compression;
	res.stored_len = b->cols[0].stored_len;
	res.zone_flags = b->cols[0].zone_flags;
	if (col.kind == LSM_KIND_INT && (res.zone_flags & LSM_ZONE_HAS_MINMAX))
	{
		res.zmin = (int64_t) lsm_load64(b->cols[0].zmin);
		res.zmax = (int64_t) lsm_load64(b->cols[0].zmax);
	}
	{
		uint32_t	nulls = 0;

		for (i = 0; i < n; i++)
			nulls += (col.flags & LSM_COLF_DROPPED) || (cd->nulls && cd->nulls[i]);
		res.ok = same_as_input(&col, n, cd, &d) &&
			b->cols[0].null_count == nulls;
	}
done:
	lsm_decoded_free(&d);
	lsm_segr_free(r);
	if (seg)
		talloc.free(NULL, seg);
	free(rowids);
	return res;
}

static RtResult
rt_ints(int width, uint32_t n, const int64_t *vals, const uint8_t *nulls,
		int zstd_level)
{
	LsmColumnData cd;

	memset(&cd, 0, sizeof(cd));
	cd.ints = vals;
	cd.nulls = nulls;
	return roundtrip(mkcol(LSM_KIND_INT, (uint16_t) width, 1), n, &cd, zstd_level);
}

static int64_t
clamp_width(int64_t v, int width)
{
	int64_t		lo;
	int64_t		hi;

	if (width == 8)
		return v;
	lo = -(INT64_C(1) << (width * 8 - 1));
	hi = (INT64_C(1) << (width * 8 - 1)) - 1;
	return v < lo ? lo : v > hi ? hi : v;
}

/* ---- tests ---- */

/* The checksum is deterministic, sensitive, and alignment-independent */
static void
test_checksum(void)
{
	uint8_t		buf[300];
	uint8_t		copy[301];
	size_t		len;

	for (len = 0; len < sizeof(buf); len++)
		buf[len] = (uint8_t) rnd();
	for (len = 0; len < 290; len++)
	{
		uint64_t	h = lsm_checksum(buf, len);

		memcpy(copy + 1, buf, len);
		CHECK(lsm_checksum(copy + 1, len) == h);
		if (len > 0)
		{
			copy[1 + len / 2] ^= 0x10;
			CHECK(lsm_checksum(copy + 1, len) != h);
		}
	}
	CHECK(lsm_checksum("a", 1) != lsm_checksum("b", 1));
	CHECK(lsm_checksum("", 0) == lsm_checksum(buf, 0));
}

/* Pack/unpack round trip for every bit width and awkward counts */
static void
test_bitpack_all_widths(void)
{
	static const size_t counts[] = {1, 2, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000, 4096};
	uint64_t   *vals = malloc(sizeof(uint64_t) * 4096);
	uint64_t   *out = malloc(sizeof(uint64_t) * 4096);
	uint8_t    *packed = malloc(4096 * 8 + 16);
	int			bw;
	size_t		ci;
	size_t		i;
	int			bad = 0;

	for (bw = 1; bw <= 64 && !bad; bw++)
	{
		uint64_t	mask = bw == 64 ? ~UINT64_C(0) : (UINT64_C(1) << bw) - 1;

		for (ci = 0; ci < sizeof(counts) / sizeof(counts[0]) && !bad; ci++)
		{
			size_t		m = counts[ci];

			for (i = 0; i < m; i++)
				vals[i] = (i % 5 == 0) ? mask : rnd() & mask;
			lsm_bitpack(vals, m, bw, packed);
			lsm_bitunpack(packed, m, bw, 12345, out);
			for (i = 0; i < m; i++)
				if (out[i] != vals[i] + 12345)
					bad = 1;
		}
	}
	free(vals);
	free(out);
	free(packed);
	CHECK(!bad);
}

/* Every INT encoding is chosen for the data it suits, for every width */
static void
test_int_encodings_every_width(void)
{
	static const int widths[] = {1, 2, 4, 8};
	int			wi;
	uint32_t	n = 1000;
	int64_t    *v = malloc(sizeof(int64_t) * n);

	for (wi = 0; wi < 4; wi++)
	{
		int			w = widths[wi];
		uint32_t	i;
		RtResult	r;

		/* CONST */
		for (i = 0; i < n; i++)
			v[i] = clamp_width(-77, w);
		r = rt_ints(w, n, v, NULL, 0);
		CHECK(r.rc == LSM_OK && r.ok && r.encoding == LSM_ENC_CONST);

		/* FOR: small random range far from zero */
		for (i = 0; i < n; i++)
			v[i] = clamp_width(-100, w) + (int64_t) (rnd() % 13);
		r = rt_ints(w, n, v, NULL, 0);
		CHECK(r.rc == LSM_OK && r.ok && r.encoding == LSM_ENC_FOR);
		CHECK(r.zmin >= clamp_width(-100, w) && r.zmax <= clamp_width(-100, w) + 12);

		/* DELTA: a steady ramp */
		for (i = 0; i < n; i++)
			v[i] = clamp_width(-120 + (int64_t) i * (w == 1 ? 0 : 37), w);
		if (w == 1)
			for (i = 0; i < 240 && i < n; i++)
				v[i] = -120 + (int64_t) i;
		r = rt_ints(w, w == 1 ? 240 : n, v, NULL, 0);
		CHECK(r.rc == LSM_OK && r.ok && r.encoding == LSM_ENC_DELTA);

		/* RLE: long runs of unrelated values */
		for (i = 0; i < n; i++)
			v[i] = clamp_width((int64_t) (((i / 100) * 2654435761u) % 200) - 100, w);
		r = rt_ints(w, n, v, NULL, 0);
		CHECK(r.rc == LSM_OK && r.ok && r.encoding == LSM_ENC_RLE);

		/* PLAIN: random over the whole width */
		for (i = 0; i < n; i++)
		{
			uint64_t	x = rnd();

			v[i] = w == 8 ? (int64_t) x : (int64_t) (x << (64 - 8 * w)) >> (64 - 8 * w);
		}
		v[0] = clamp_width(INT64_MIN, w);
		v[1] = clamp_width(INT64_MAX, w);
		r = rt_ints(w, n, v, NULL, 0);
		CHECK(r.rc == LSM_OK && r.ok && r.encoding == LSM_ENC_PLAIN);
		CHECK(r.zmin == clamp_width(INT64_MIN, w) && r.zmax == clamp_width(INT64_MAX, w));
	}
	free(v);
}

/* Extremes and mixed signs through every encoding path */
static void
test_int_extremes(void)
{
	uint32_t	n = 600;
	int64_t    *v = malloc(sizeof(int64_t) * n);
	uint8_t    *nulls = malloc(n);
	uint32_t	i;
	RtResult	r;
	int			pattern;

	for (pattern = 0; pattern < 6; pattern++)
	{
		int			z;

		for (i = 0; i < n; i++)
		{
			switch (pattern)
			{
				case 0:			/* alternating extremes */
					v[i] = (i & 1) ? INT64_MAX : INT64_MIN;
					break;
				case 1:			/* runs of extremes */
					v[i] = ((i / 50) & 1) ? INT64_MAX : INT64_MIN;
					break;
				case 2:			/* ramp crossing zero with huge steps */
					v[i] = (int64_t) ((uint64_t) INT64_MIN + (uint64_t) i * (UINT64_MAX / 600));
					break;
				case 3:			/* near INT64_MAX */
					v[i] = INT64_MAX - (int64_t) (rnd() % 1000);
					break;
				case 4:			/* near INT64_MIN */
					v[i] = INT64_MIN + (int64_t) (rnd() % 1000);
					break;
				default:		/* mixed signs */
					v[i] = (int64_t) (rnd() % 2001) - 1000;
					break;
			}
		}
		for (z = 0; z < 2; z++)
		{
			r = rt_ints(8, n, v, NULL, z ? 3 : 0);
			CHECK(r.rc == LSM_OK && r.ok);
		}
		for (i = 0; i < n; i++)
			nulls[i] = (i % 7) == 3;
		r = rt_ints(8, n, v, nulls, 0);
		CHECK(r.rc == LSM_OK && r.ok);
	}
	free(v);
	free(nulls);
}

/* NULL handling: none, sparse, dense, all */
static void
test_int_nulls(void)
{
	uint32_t	n = 4096;
	int64_t    *v = malloc(sizeof(int64_t) * n);
	uint8_t    *nulls = malloc(n);
	uint32_t	i;
	RtResult	r;

	for (i = 0; i < n; i++)
		v[i] = (int64_t) (rnd() % 100000) - 50000;

	r = rt_ints(8, n, v, NULL, 0);
	CHECK(r.rc == LSM_OK && r.ok);

	for (i = 0; i < n; i++)
		nulls[i] = (rnd() % 100) == 0;
	r = rt_ints(8, n, v, nulls, 0);
	CHECK(r.rc == LSM_OK && r.ok);

	for (i = 0; i < n; i++)
		nulls[i] = (rnd() % 100) != 0;
	r = rt_ints(4, n, v, nulls, 3);
	CHECK(r.rc == LSM_OK && r.ok);

	/* NULL positions hold garbage that must not matter */
	for (i = 0; i < n; i++)
	{
		nulls[i] = (i % 2) == 0;
		v[i] = nulls[i] ? INT64_MIN : v[i] % 30000;
	}
	r = rt_ints(2, n, v, nulls, 0);
	CHECK(r.rc == LSM_OK && r.ok);

	memset(nulls, 1, n);
	r = rt_ints(8, n, v, nulls, 0);
	CHECK(r.rc == LSM_OK && r.ok && r.encoding == LSM_ENC_NONE);
	CHECK(r.stored_len == 0 && r.zone_flags == 0);

	/* only the last row non-null */
	nulls[n - 1] = 0;
	v[n - 1] = 42;
	r = rt_ints(8, n, v, nulls, 0);
	CHECK(r.rc == LSM_OK && r.ok && r.encoding == LSM_ENC_CONST);
	CHECK(r.zmin == 42 && r.zmax == 42);
	free(v);
	free(nulls);
}

/* Single-row blocks of every kind */
static void
test_single_row(void)
{
	int64_t		v = INT64_MIN;
	uint8_t		fx[3] = {1, 2, 3};
	const uint8_t *vd[1] = {(const uint8_t *) "hello"};
	uint32_t	vl[1] = {5};
	uint8_t		isnull = 1;
	LsmColumnData cd;
	RtResult	r;

	r = rt_ints(8, 1, &v, NULL, 0);
	CHECK(r.rc == LSM_OK && r.ok && r.encoding == LSM_ENC_CONST);
	r = rt_ints(8, 1, &v, &isnull, 0);
	CHECK(r.rc == LSM_OK && r.ok && r.encoding == LSM_ENC_NONE);

	memset(&cd, 0, sizeof(cd));
	cd.fixed = fx;
	r = roundtrip(mkcol(LSM_KIND_FIXED, 3, 2), 1, &cd, 0);
	CHECK(r.rc == LSM_OK && r.ok);

	memset(&cd, 0, sizeof(cd));
	cd.var_data = vd;
	cd.var_len = vl;
	r = roundtrip(mkcol(LSM_KIND_VARLEN, 0, 3), 1, &cd, 0);
	CHECK(r.rc == LSM_OK && r.ok);
}

/* FIXED columns of width 1..64: plain, const and dictionary */
static void
test_fixed_widths(void)
{
	uint32_t	n = 2000;
	uint8_t    *buf = malloc((size_t) n * 64);
	uint8_t    *nulls = malloc(n);
	uint16_t	w;
	uint32_t	i;
	LsmColumnData cd;
	RtResult	r;

	for (i = 0; i < n; i++)
		nulls[i] = (i % 11) == 0;
	for (w = 1; w <= 64; w++)
	{
		memset(&cd, 0, sizeof(cd));
		cd.fixed = buf;

		for (i = 0; i < n * (uint32_t) w; i++)
			buf[i] = (uint8_t) rnd();
		r = roundtrip(mkcol(LSM_KIND_FIXED, w, 1), n, &cd, 0);
		CHECK(r.rc == LSM_OK && r.ok);
		CHECK(w < 2 ? 1 : r.encoding == LSM_ENC_PLAIN);

		for (i = 0; i < n * (uint32_t) w; i++)
			buf[i] = (uint8_t) (i % w);
		r = roundtrip(mkcol(LSM_KIND_FIXED, w, 1), n, &cd, 0);
		CHECK(r.rc == LSM_OK && r.ok && r.encoding == LSM_ENC_CONST);

		/* 5 distinct values */
		for (i = 0; i < n; i++)
		{
			uint64_t	k = rnd() % 5;

			memset(buf + (size_t) i * w, (int) (k * 37 + 1), w);
		}
		r = roundtrip(mkcol(LSM_KIND_FIXED, w, 1), n, &cd, 0);
		CHECK(r.rc == LSM_OK && r.ok && r.encoding == LSM_ENC_DICT);

		cd.nulls = nulls;
		r = roundtrip(mkcol(LSM_KIND_FIXED, w, 1), n, &cd, w % 2 ? 3 : 0);
		CHECK(r.rc == LSM_OK && r.ok);
	}
	/* a wide fixed column */
	{
		uint16_t	wide = 4000;
		uint8_t    *big = malloc((size_t) 100 * wide);

		for (i = 0; i < 100u * wide; i++)
			big[i] = (uint8_t) rnd();
		memset(&cd, 0, sizeof(cd));
		cd.fixed = big;
		r = roundtrip(mkcol(LSM_KIND_FIXED, wide, 1), 100, &cd, 1);
		free(big);
		CHECK(r.rc == LSM_OK && r.ok);
	}
	free(buf);
	free(nulls);
}

/* VARLEN: empty strings, const, dictionary vs plain, NULLs */
static void
test_varlen_basic(void)
{
	uint32_t	n = 3000;
	const uint8_t **vd = malloc(sizeof(uint8_t *) * n);
	uint32_t   *vl = malloc(sizeof(uint32_t) * n);
	uint8_t    *nulls = malloc(n);
	char	   *pool = malloc((size_t) n * 40);
	static const char *words[] = {"", "red", "green", "blue", "a much longer colour name"};
	LsmColumnData cd;
	RtResult	r;
	uint32_t	i;

	memset(&cd, 0, sizeof(cd));
	cd.var_data = vd;
	cd.var_len = vl;

	/* all empty strings: CONST of length 0 */
	for (i = 0; i < n; i++)
	{
		vd[i] = NULL;
		vl[i] = 0;
	}
	r = roundtrip(mkcol(LSM_KIND_VARLEN, 0, 1), n, &cd, 0);
	CHECK(r.rc == LSM_OK && r.ok && r.encoding == LSM_ENC_CONST);

	/* few distinct values, including the empty string: DICT */
	for (i = 0; i < n; i++)
	{
		const char *s = words[rnd() % 5];

		vd[i] = (const uint8_t *) s;
		vl[i] = (uint32_t) strlen(s);
	}
	r = roundtrip(mkcol(LSM_KIND_VARLEN, 0, 1), n, &cd, 0);
	CHECK(r.rc == LSM_OK && r.ok && r.encoding == LSM_ENC_DICT);

	/* all distinct: PLAIN */
	for (i = 0; i < n; i++)
	{
		int			len = snprintf(pool + (size_t) i * 40, 40, "value-%u-%llu", i,
								   (unsigned long long) (rnd() % 100000));

		vd[i] = (const uint8_t *) pool + (size_t) i * 40;
		vl[i] = (uint32_t) (i % 9 == 0 ? 0 : len);
	}
	r = roundtrip(mkcol(LSM_KIND_VARLEN, 0, 1), n, &cd, 0);
	CHECK(r.rc == LSM_OK && r.ok && r.encoding == LSM_ENC_PLAIN);
	r = roundtrip(mkcol(LSM_KIND_VARLEN, 0, 1), n, &cd, 3);
	CHECK(r.rc == LSM_OK && r.ok && r.compression == LSM_COMP_ZSTD);

	/* NULLs, sparse and dense */
	for (i = 0; i < n; i++)
		nulls[i] = (rnd() % 10) == 0;
	cd.nulls = nulls;
	r = roundtrip(mkcol(LSM_KIND_VARLEN, 0, 1), n, &cd, 0);
	CHECK(r.rc == LSM_OK && r.ok);
	for (i = 0; i < n; i++)
		nulls[i] = (rnd() % 10) != 0;
	r = roundtrip(mkcol(LSM_KIND_VARLEN, 0, 1), n, &cd, 0);
	CHECK(r.rc == LSM_OK && r.ok);
	memset(nulls, 1, n);
	r = roundtrip(mkcol(LSM_KIND_VARLEN, 0, 1), n, &cd, 0);
	CHECK(r.rc == LSM_OK && r.ok && r.encoding == LSM_ENC_NONE);

	free(vd);
	free(vl);
	free(nulls);
	free(pool);
}

/* Large values: a few 1 MB values, and one 100 MB value */
static void
test_varlen_large(void)
{
	size_t		mb = 1024 * 1024;
	uint8_t    *big = malloc(100 * mb);
	const uint8_t *vd[4];
	uint32_t	vl[4];
	LsmColumnData cd;
	RtResult	r;
	size_t		i;

	CHECK(big != NULL);
	for (i = 0; i < 100 * mb; i += 8)
	{
		uint64_t	x = rnd();

		memcpy(big + i, &x, 8);
	}
	memset(&cd, 0, sizeof(cd));
	cd.var_data = vd;
	cd.var_len = vl;
	for (i = 0; i < 4; i++)
	{
		vd[i] = big + i * mb;
		vl[i] = (uint32_t) (mb - i);
	}
	r = roundtrip(mkcol(LSM_KIND_VARLEN, 0, 1), 4, &cd, 0);
	CHECK(r.rc == LSM_OK && r.ok && r.encoding == LSM_ENC_PLAIN);
	r = roundtrip(mkcol(LSM_KIND_VARLEN, 0, 1), 4, &cd, 1);
	CHECK(r.rc == LSM_OK && r.ok && r.compression == LSM_COMP_NONE);

	vd[0] = big;
	vl[0] = (uint32_t) (100 * mb);
	r = roundtrip(mkcol(LSM_KIND_VARLEN, 0, 1), 1, &cd, 0);
	free(big);
	CHECK(r.rc == LSM_OK && r.ok && r.encoding == LSM_ENC_CONST);
}

/* zstd is used when it pays and skipped when it does not */
static void
test_zstd_policy(void)
{
	uint32_t	n = 4096;
	uint8_t    *fx = malloc((size_t) n * 16);
	int64_t    *v = malloc(sizeof(int64_t) * n);
	LsmColumnData cd;
	RtResult	r;
	uint32_t	i;

	/* compressible but not dictionary-friendly: repeating 100-row pattern */
	for (i = 0; i < n * 16; i++)
		fx[i] = (uint8_t) ((i % 1600) * 7 % 251);
	memset(&cd, 0, sizeof(cd));
	cd.fixed = fx;
	r = roundtrip(mkcol(LSM_KIND_FIXED, 16, 1), n, &cd, 3);
	CHECK(r.rc == LSM_OK && r.ok && r.compression == LSM_COMP_ZSTD);
	r = roundtrip(mkcol(LSM_KIND_FIXED, 16, 1), n, &cd, 0);
	CHECK(r.rc == LSM_OK && r.ok && r.compression == LSM_COMP_NONE);

	/* random bits do not compress */
	for (i = 0; i < n; i++)
		v[i] = (int64_t) rnd();
	r = rt_ints(8, n, v, NULL, 19);
	CHECK(r.rc == LSM_OK && r.ok && r.compression == LSM_COMP_NONE);

	/* repeated pattern of wide ints compresses well */
	for (i = 0; i < n; i++)
		v[i] = (int64_t) ((i % 64) * 0x0123456789ABLL) ^ INT64_MIN;
	r = rt_ints(8, n, v, NULL, 3);
	CHECK(r.rc == LSM_OK && r.ok && r.compression == LSM_COMP_ZSTD);

	/* ... but not in a chunk under LSM_ZSTD_MIN_INPUT bytes (24 rows: 192) */
	r = rt_ints(8, 24, v, NULL, 3);
	CHECK(r.rc == LSM_OK && r.ok && r.compression == LSM_COMP_NONE);
	/* 40 distinct, mostly zero 16-byte values (640 bytes) are tried and kept */
	memset(fx, 0, 40 * 16);
	for (i = 0; i < 40; i++)
		fx[i * 16 + 15] = (uint8_t) i;
	r = roundtrip(mkcol(LSM_KIND_FIXED, 16, 1), 40, &cd, 3);
	CHECK(r.rc == LSM_OK && r.ok && r.compression == LSM_COMP_ZSTD);
	/* and the same 8 rows (128 bytes) are not */
	r = roundtrip(mkcol(LSM_KIND_FIXED, 16, 1), 8, &cd, 3);
	CHECK(r.rc == LSM_OK && r.ok && r.compression == LSM_COMP_NONE);
	free(fx);
	free(v);
}

/* zstd_min_gain_pct = 100 never keeps zstd output */
static void
test_zstd_min_gain(void)
{
	LsmColumnDesc col = mkcol(LSM_KIND_FIXED, 8, 1);
	LsmWriterOptions o = default_opts(1024, 3);
	uint8_t    *fx = calloc(1024, 8);
	int64_t		rowids[1024];
	LsmColumnData cd;
	LsmSegWriter *w;
	LsmSegReader *r;
	uint8_t    *seg;
	size_t		len;
	int			i;
	int			pct;

	for (i = 0; i < 1024; i++)
	{
		rowids[i] = i;
		fx[i * 8] = (uint8_t) (i % 200);	/* not const, not dict-small */
		fx[i * 8 + 1] = (uint8_t) (i / 200);
	}
	memset(&cd, 0, sizeof(cd));
	cd.fixed = fx;
	for (pct = 0; pct <= 100; pct += 100)
	{
		o.zstd_min_gain_pct = (uint32_t) pct;
		w = lsm_segw_begin(&col, 1, &o, &talloc);
		CHECK(w != NULL);
		CHECK_RC(lsm_segw_add_block(w, 1024, rowids, NULL, &cd), LSM_OK);
		CHECK_RC(lsm_segw_finish(w, &seg, &len), LSM_OK);
		lsm_segw_free(w);
		CHECK_RC(lsm_segr_open(seg, len, &talloc, &r), LSM_OK);
		CHECK(lsm_segr_block(r, 0)->cols[0].compression ==
			  (pct == 100 ? LSM_COMP_NONE : LSM_COMP_ZSTD));
		lsm_segr_free(r);
		talloc.free(NULL, seg);
	}
	free(fx);
}

/* A segment with zero columns: rowids (and cids) only */
static void
test_zero_columns(void)
{
	LsmWriterOptions o = default_opts(100, 0);
	LsmSegWriter *w;
	LsmSegReader *r;
	int64_t		rowids[100];
	uint32_t	cids[100];
	uint8_t    *seg;
	size_t		len;
	LsmDecoded	d;
	const LsmBlockInfo *b;
	int			i;

	o.with_cids = true;
	for (i = 0; i < 100; i++)
	{
		rowids[i] = i * 2;
		cids[i] = 5;
	}
	w = lsm_segw_begin(NULL, 0, &o, &talloc);
	CHECK(w != NULL);
	CHECK_RC(lsm_segw_add_block(w, 100, rowids, cids, NULL), LSM_OK);
	CHECK_RC(lsm_segw_finish(w, &seg, &len), LSM_OK);
	lsm_segw_free(w);
	CHECK_RC(lsm_segr_open(seg, len, &talloc, &r), LSM_OK);
	CHECK(lsm_segr_header(r)->ncols == 0 && lsm_segr_header(r)->nrows == 100);
	CHECK(lsm_segr_header(r)->flags == LSM_SEGF_HAS_CIDS);
	b = lsm_segr_block(r, 0);
	CHECK(b->cids.encoding == LSM_ENC_CONST);
	lsm_decoded_init(&d, &talloc);
	CHECK_RC(lsm_decode_chunk(&b->cids, lsm_cid_column(), b->nrows,
							  seg + b->cids.offset, &d), LSM_OK);
	for (i = 0; i < 100; i++)
		CHECK(d.ints[i] == 5);
	CHECK_RC(lsm_decode_chunk(&b->rowids, NULL, b->nrows,
							  seg + b->rowids.offset, &d), LSM_OK);
	for (i = 0; i < 100; i++)
		CHECK(d.ints[i] == i * 2);
	CHECK(b->rowids.encoding == LSM_ENC_DELTA);
	lsm_decoded_free(&d);
	lsm_segr_free(r);
	talloc.free(NULL, seg);
}

/* Generate the data of column c for a multi-column segment */
typedef struct ColBuf
{
	int64_t    *ints;
	uint8_t    *fixed;
	const uint8_t **vd;
	uint32_t   *vl;
	uint8_t    *nulls;
} ColBuf;

static LsmColumnDesc
wide_desc(uint16_t c)
{
	switch (c % 5)
	{
		case 0:
			return mkcol(LSM_KIND_INT, 8, (uint16_t) (c + 1));
		case 1:
			return mkcol(LSM_KIND_INT, 4, (uint16_t) (c + 1));
		case 2:
			return mkcol(LSM_KIND_FIXED, 16, (uint16_t) (c + 1));
		case 3:
			return mkcol(LSM_KIND_VARLEN, 0, (uint16_t) (c + 1));
		default:
			{
				LsmColumnDesc d = mkcol(LSM_KIND_INT, 2, (uint16_t) (c + 1));

				if (c % 10 == 4)
					d.flags = LSM_COLF_DROPPED;
				return d;
			}
	}
}

static const char *const vwords[] = {"", "x", "lsm", "columnar", "segment format"};

static void
fill_col(const LsmColumnDesc *d, uint16_t c, uint32_t n, ColBuf *cb,
		 LsmColumnData *cd)
{
	uint32_t	i;

	memset(cd, 0, sizeof(*cd));
	for (i = 0; i < n; i++)
	{
		cb->nulls[i] = ((i + c) % 13) == 0;
		cb->ints[i] = (int64_t) (rnd() % 30000) - 15000 + c;
		memset(cb->fixed + (size_t) i * 16, (int) ((i / 10 + c) & 0xff), 16);
		cb->vd[i] = (const uint8_t *) vwords[(i + c) % 5];
		cb->vl[i] = (uint32_t) strlen(vwords[(i + c) % 5]);
	}
	cd->nulls = (c % 3) ? cb->nulls : NULL;
	cd->ints = cb->ints;
	cd->fixed = cb->fixed;
	cd->var_data = cb->vd;
	cd->var_len = cb->vl;
	if (d->kind != LSM_KIND_INT)
	{
		cd->has_zone = true;
		cd->zmin = (const uint8_t *) "aaa";
		cd->zmin_len = 3;
		cd->zmax = (const uint8_t *) "zzzzz";
		cd->zmax_len = (uint16_t) (c % 6);
	}
}

/*
 * 1600 columns of mixed kinds, with dropped columns, over several blocks of
 * different sizes; everything decodes and the header adds up.
 */
static void
test_1600_columns(void)
{
	uint16_t	ncols = 1600;
	uint32_t	block_rows = 64;
	static const uint32_t sizes[] = {64, 1, 17};
	LsmColumnDesc *descs = malloc(sizeof(LsmColumnDesc) * ncols);
	LsmColumnData *cds = malloc(sizeof(LsmColumnData) * ncols);
	ColBuf	   *cbs = malloc(sizeof(ColBuf) * ncols);
	LsmWriterOptions o = default_opts(block_rows, 1);
	LsmSegWriter *w;
	LsmSegReader *r;
	uint8_t    *seg;
	size_t		len;
	LsmDecoded	d;
	int64_t		rowids[64];
	uint32_t	cids[64];
	uint64_t	raw = 0;
	int64_t		next = 10;
	uint32_t	b;
	uint16_t	c;
	uint32_t	i;
	int			bad = 0;

	for (c = 0; c < ncols; c++)
	{
		descs[c] = wide_desc(c);
		cbs[c].ints = malloc(sizeof(int64_t) * block_rows);
		cbs[c].fixed = malloc((size_t) 16 * block_rows);
		cbs[c].vd = malloc(sizeof(uint8_t *) * block_rows);
		cbs[c].vl = malloc(sizeof(uint32_t) * block_rows);
		cbs[c].nulls = malloc(block_rows);
	}
	o.with_cids = true;
	w = lsm_segw_begin(descs, ncols, &o, &talloc);
	CHECK(w != NULL);
	lsm_decoded_init(&d, &talloc);

	/* write and verify one block at a time (the data buffers are reused) */
	for (b = 0; b < 3; b++)
	{
		for (i = 0; i < sizes[b]; i++)
		{
			rowids[i] = next;
			next += 1 + (int64_t) (rnd() % 3);
			cids[i] = i % 2;
		}
		for (c = 0; c < ncols; c++)
			fill_col(&descs[c], c, sizes[b], &cbs[c], &cds[c]);
		CHECK_RC(lsm_segw_add_block(w, sizes[b], rowids, cids, cds), LSM_OK);
	}
	CHECK_RC(lsm_segw_finish(w, &seg, &len), LSM_OK);
	lsm_segw_free(w);
	CHECK_RC(lsm_segr_open(seg, len, &talloc, &r), LSM_OK);
	CHECK(lsm_segr_header(r)->ncols == ncols);
	CHECK(lsm_segr_header(r)->nblocks == 3);
	CHECK(lsm_segr_header(r)->nrows == 64 + 1 + 17);
	CHECK(lsm_segr_header(r)->total_len == len);
	CHECK(lsm_segr_header(r)->schema_version == 7);
	CHECK(lsm_segr_header(r)->min_rowid == 10);
	CHECK(lsm_segr_header(r)->max_rowid == rowids[16]);
	CHECK(memcmp(lsm_segr_columns(r), descs, sizeof(LsmColumnDesc) * ncols) == 0);

	/* the last block's data is still in the buffers: verify it fully */
	{
		const LsmBlockInfo *blk = lsm_segr_block(r, 2);

		CHECK(blk->nrows == 17 && blk->last_rowid == rowids[16]);
		for (c = 0; c < ncols && !bad; c++)
		{
			const LsmChunkInfo *ci = &blk->cols[c];

			if (lsm_decode_chunk(ci, &descs[c], blk->nrows, seg + ci->offset, &d) != LSM_OK ||
				!same_as_input(&descs[c], blk->nrows, &cds[c], &d))
				bad = 1;
			if (descs[c].kind != LSM_KIND_INT && !(descs[c].flags & LSM_COLF_DROPPED) &&
				(ci->zmin_len != 3 || memcmp(ci->zmin, "aaa", 3) != 0 ||
				 ci->zmax_len != c % 6 || memcmp(ci->zmax, "zzzzz", c % 6) != 0))
				bad = 2;
			if ((descs[c].flags & LSM_COLF_DROPPED) &&
				(ci->encoding != LSM_ENC_NONE || ci->stored_len != 0 || !d.has_nulls))
				bad = 3;
		}
	}
	CHECK(bad == 0);
	/* every chunk of every block decodes; raw_bytes adds up */
	for (b = 0; b < 3; b++)
	{
		const LsmBlockInfo *blk = lsm_segr_block(r, b);

		raw += blk->rowids.raw_len + blk->cids.raw_len;
		CHECK_RC(lsm_decode_chunk(&blk->cids, lsm_cid_column(), blk->nrows,
								  seg + blk->cids.offset, &d), LSM_OK);
		CHECK(d.ints[blk->nrows - 1] == (blk->nrows - 1) % 2);
		for (c = 0; c < ncols; c++)
		{
			raw += blk->cols[c].raw_len;
			CHECK_RC(lsm_decode_chunk(&blk->cols[c], &descs[c], blk->nrows,
									  seg + blk->cols[c].offset, &d), LSM_OK);
		}
	}
	CHECK(raw == lsm_segr_header(r)->raw_bytes);
	CHECK(lsm_segr_block(r, 3) == NULL);
	lsm_decoded_free(&d);
	lsm_segr_free(r);
	talloc.free(NULL, seg);
	for (c = 0; c < ncols; c++)
	{
		free(cbs[c].ints);
		free(cbs[c].fixed);
		free(cbs[c].vd);
		free(cbs[c].vl);
		free(cbs[c].nulls);
	}
	free(descs);
	free(cds);
	free(cbs);
}

/* Dropped columns store nothing and read as NULL, whatever data is passed */
static void
test_dropped_column(void)
{
	LsmColumnDesc col = mkcol(LSM_KIND_VARLEN, 0, 4);
	LsmColumnData cd;
	RtResult	r;

	col.flags = LSM_COLF_DROPPED;
	memset(&cd, 0, sizeof(cd));	/* no data at all */
	r = roundtrip(col, 10, &cd, 0);
	CHECK(r.rc == LSM_OK && r.ok && r.encoding == LSM_ENC_NONE);
	CHECK(r.stored_len == 0 && r.zone_flags == 0);
}

/* Multi-block segment: block_rows-sized and short blocks, full round trip */
static void
test_multi_block(void)
{
	LsmColumnDesc cols[3];
	LsmWriterOptions o = default_opts(4096, 0);
	LsmSegWriter *w;
	LsmSegReader *r;
	static int64_t ints[4096];
	static int64_t rowids[4096];
	static uint8_t fixed[4096 * 4];
	static const uint8_t *vd[4096];
	static uint32_t vl[4096];
	LsmColumnData cds[3];
	uint8_t    *seg;
	size_t		len;
	LsmDecoded	d;
	uint32_t	b;
	uint32_t	i;
	int64_t		rowid = -5000;
	uint64_t	prev_end = 0;

	cols[0] = mkcol(LSM_KIND_INT, 8, 1);
	cols[1] = mkcol(LSM_KIND_FIXED, 4, 2);
	cols[2] = mkcol(LSM_KIND_VARLEN, 0, 3);
	w = lsm_segw_begin(cols, 3, &o, &talloc);
	CHECK(w != NULL);
	for (b = 0; b < 5; b++)
	{
		uint32_t	n = b % 2 ? 4096 : 1 + b * 100;

		for (i = 0; i < n; i++)
		{
			rowids[i] = rowid++;
			ints[i] = 1700000000000000LL + rowid * 1000;
		}
		memset(cds, 0, sizeof(cds));
		cds[0].ints = ints;
		cds[1].fixed = fixed;
		cds[2].var_data = vd;
		cds[2].var_len = vl;
		CHECK_RC(lsm_segw_add_block(w, n, rowids, NULL, cds), LSM_OK);
	}
	CHECK(lsm_segw_bytes(w) > 0);
	CHECK_RC(lsm_segw_finish(w, &seg, &len), LSM_OK);
	lsm_segw_free(w);
	CHECK_RC(lsm_segr_open(seg, len, &talloc, &r), LSM_OK);
	lsm_decoded_init(&d, &talloc);
	rowid = -5000;
	for (b = 0; b < 5; b++)
	{
		const LsmBlockInfo *blk = lsm_segr_block(r, b);
		uint32_t	n = b % 2 ? 4096 : 1 + b * 100;

		CHECK(blk->nrows == n && blk->first_rowid == rowid);
		CHECK(blk->data_offset >= lsm_segr_header(r)->meta_len);
		CHECK(b == 0 || blk->data_offset == prev_end);
		prev_end = blk->data_offset + blk->data_len;
		CHECK(blk->cids.stored_len == 0);
		CHECK_RC(lsm_decode_chunk(&blk->rowids, NULL, n, seg + blk->rowids.offset, &d), LSM_OK);
		CHECK(d.ints[0] == rowid && d.ints[n - 1] == rowid + n - 1);
		CHECK(blk->rowids.stored_len < 32);	/* DELTA of consecutive rowids */
		CHECK_RC(lsm_decode_chunk(&blk->cols[0], &cols[0], n, seg + blk->cols[0].offset, &d), LSM_OK);
		for (i = 0; i < n; i++)
			CHECK(d.ints[i] == 1700000000000000LL + (rowid + 1 + i) * 1000);
		CHECK(n == 1 || blk->cols[0].encoding == LSM_ENC_DELTA);
		CHECK((int64_t) lsm_load64(blk->cols[0].zmin) == d.ints[0]);
		CHECK((int64_t) lsm_load64(blk->cols[0].zmax) == d.ints[n - 1]);
		rowid += n;
	}
	CHECK(prev_end == len);
	lsm_decoded_free(&d);
	lsm_segr_free(r);
	talloc.free(NULL, seg);
}

/*
 * INT zones given by the caller (LSM_SEGF_INT_ZONES_GIVEN): stored as given
 * for columns that bring one, computed for the others, flag in the header;
 * a zone of the wrong length is refused.
 */
static void
test_int_zones_given(void)
{
	LsmColumnDesc cols[2];
	LsmWriterOptions o = default_opts(64, 0);
	LsmSegWriter *w;
	LsmSegReader *r;
	int64_t		ints[10];
	int64_t		rowids[10];
	LsmColumnData cds[2];
	uint8_t		zmin[8],
				zmax[8];
	uint8_t    *seg;
	size_t		len;
	const LsmBlockInfo *blk;
	int			i;

	cols[0] = mkcol(LSM_KIND_INT, 8, 1);
	cols[1] = mkcol(LSM_KIND_INT, 8, 2);
	o.int_zones_given = true;
	for (i = 0; i < 10; i++)
	{
		rowids[i] = i;
		ints[i] = (i % 2) ? -i : i;
	}
	/* the caller's order: here, by absolute value */
	lsm_store64(zmin, 0);
	lsm_store64(zmax, (uint64_t) (int64_t) -9);
	memset(cds, 0, sizeof(cds));
	cds[0].ints = ints;
	cds[0].has_zone = true;
	cds[0].zmin = zmin;
	cds[0].zmin_len = 8;
	cds[0].zmax = zmax;
	cds[0].zmax_len = 8;
	cds[1].ints = ints;

	w = lsm_segw_begin(cols, 2, &o, &talloc);
	CHECK(w != NULL);
	cds[0].zmax_len = 4;
	CHECK_RC(lsm_segw_add_block(w, 10, rowids, NULL, cds), LSM_ERR_ARG);
	lsm_segw_free(w);

	w = lsm_segw_begin(cols, 2, &o, &talloc);
	cds[0].zmax_len = 8;
	CHECK_RC(lsm_segw_add_block(w, 10, rowids, NULL, cds), LSM_OK);
	CHECK_RC(lsm_segw_finish(w, &seg, &len), LSM_OK);
	lsm_segw_free(w);
	CHECK_RC(lsm_segr_open(seg, len, &talloc, &r), LSM_OK);
	CHECK(lsm_segr_header(r)->flags & LSM_SEGF_INT_ZONES_GIVEN);
	blk = lsm_segr_block(r, 0);
	CHECK((int64_t) lsm_load64(blk->cols[0].zmin) == 0);
	CHECK((int64_t) lsm_load64(blk->cols[0].zmax) == -9);
	CHECK((int64_t) lsm_load64(blk->cols[1].zmin) == -9);
	CHECK((int64_t) lsm_load64(blk->cols[1].zmax) == 8);
	lsm_segr_free(r);
	talloc.free(NULL, seg);

	/* without the option a given INT zone is ignored and no flag is set */
	o.int_zones_given = false;
	w = lsm_segw_begin(cols, 2, &o, &talloc);
	CHECK_RC(lsm_segw_add_block(w, 10, rowids, NULL, cds), LSM_OK);
	CHECK_RC(lsm_segw_finish(w, &seg, &len), LSM_OK);
	lsm_segw_free(w);
	CHECK_RC(lsm_segr_open(seg, len, &talloc, &r), LSM_OK);
	CHECK(!(lsm_segr_header(r)->flags & LSM_SEGF_INT_ZONES_GIVEN));
	blk = lsm_segr_block(r, 0);
	CHECK((int64_t) lsm_load64(blk->cols[0].zmin) == -9);
	lsm_segr_free(r);
	talloc.free(NULL, seg);
}

/* Bad arguments are refused and leave the writer usable */
static void
test_writer_args(void)
{
	LsmColumnDesc col = mkcol(LSM_KIND_INT, 2, 1);
	LsmColumnDesc badcol = mkcol(LSM_KIND_INT, 3, 1);
	LsmWriterOptions o = default_opts(10, 0);
	LsmSegWriter *w;
	LsmSegReader *r;
	int64_t		rowids[11] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
	int64_t		dup[3] = {1, 1, 2};
	int64_t		vals[11] = {0};
	LsmColumnData cd;
	uint8_t    *seg;
	size_t		len;

	CHECK(lsm_segw_begin(&badcol, 1, &o, &talloc) == NULL);
	o.block_rows = 0;
	CHECK(lsm_segw_begin(&col, 1, &o, &talloc) == NULL);
	o.block_rows = 10;
	w = lsm_segw_begin(&col, 1, &o, &talloc);
	CHECK(w != NULL);
	memset(&cd, 0, sizeof(cd));
	cd.ints = vals;
	CHECK_RC(lsm_segw_add_block(w, 11, rowids, NULL, &cd), LSM_ERR_ARG);
	CHECK_RC(lsm_segw_add_block(w, 0, rowids, NULL, &cd), LSM_ERR_ARG);
	CHECK_RC(lsm_segw_add_block(w, 3, dup, NULL, &cd), LSM_ERR_ARG);
	vals[2] = 40000;			/* does not fit in 2 bytes */
	CHECK_RC(lsm_segw_add_block(w, 5, rowids, NULL, &cd), LSM_ERR_ARG);
	vals[2] = -32768;
	CHECK_RC(lsm_segw_add_block(w, 5, rowids, NULL, &cd), LSM_OK);
	/* rowids must increase across blocks */
	CHECK_RC(lsm_segw_add_block(w, 5, rowids + 4, NULL, &cd), LSM_ERR_ARG);
	cd.ints = NULL;
	CHECK_RC(lsm_segw_add_block(w, 5, rowids + 5, NULL, &cd), LSM_ERR_ARG);
	cd.ints = vals;
	CHECK_RC(lsm_segw_add_block(w, 5, rowids + 5, NULL, &cd), LSM_OK);
	CHECK_RC(lsm_segw_finish(w, &seg, &len), LSM_OK);
	lsm_segw_free(w);
	CHECK_RC(lsm_segr_open(seg, len, &talloc, &r), LSM_OK);
	CHECK(lsm_segr_header(r)->nblocks == 2 && lsm_segr_header(r)->nrows == 10);
	lsm_segr_free(r);
	talloc.free(NULL, seg);
}

/* Build a small segment with assorted columns, for the corruption tests */
static int
build_sample(int zstd_level, uint8_t **seg, size_t *len, LsmColumnDesc *cols)
{
	LsmWriterOptions o = default_opts(300, zstd_level);
	LsmSegWriter *w;
	static int64_t rowids[300];
	static int64_t ints[300];
	static int64_t ramp[300];
	static uint8_t fixed[300 * 6];
	static const uint8_t *vd[300];
	static uint32_t vl[300];
	static const uint8_t *vd2[300];
	static uint32_t vl2[300];
	static uint8_t nulls[300];
	static uint32_t cids[300];
	static char pool[300 * 16];
	LsmColumnData cds[6];
	int			b;
	int			i;
	int			rc = LSM_OK;

	cols[0] = mkcol(LSM_KIND_INT, 8, 1);
	cols[1] = mkcol(LSM_KIND_INT, 4, 2);
	cols[2] = mkcol(LSM_KIND_FIXED, 6, 3);
	cols[3] = mkcol(LSM_KIND_VARLEN, 0, 4);
	cols[4] = mkcol(LSM_KIND_VARLEN, 0, 5);
	cols[5] = mkcol(LSM_KIND_INT, 8, 6);
	o.with_cids = true;
	w = lsm_segw_begin(cols, 6, &o, &talloc);
	if (w == NULL)
		return LSM_ERR_NOMEM;
	for (b = 0; b < 4 && rc == LSM_OK; b++)
	{
		int			n = b == 3 ? 33 : 300;

		for (i = 0; i < n; i++)
		{
			rowids[i] = b * 1000 + i * 2;
			ints[i] = (i / 40) * 1000 - 3;
			ramp[i] = (int64_t) rnd() % 5000;
			memset(fixed + i * 6, "abcd"[i % 4], 6);
			snprintf(pool + i * 16, 16, "v%d", i * 7);
			vd[i] = (const uint8_t *) pool + i * 16;
			vl[i] = (uint32_t) strlen(pool + i * 16);
			vd2[i] = (const uint8_t *) vwords[i % 5];
			vl2[i] = (uint32_t) strlen(vwords[i % 5]);
			nulls[i] = (i % 9) == 1;
			cids[i] = (uint32_t) (i < 100 ? 0 : 1);
		}
		memset(cds, 0, sizeof(cds));
		cds[0].ints = ints;			/* RLE */
		cds[1].ints = ramp;
		cds[1].nulls = nulls;		/* FOR with NULLs */
		cds[2].fixed = fixed;		/* DICT */
		cds[2].has_zone = true;
		cds[2].zmin = (const uint8_t *) "aaaaaa";
		cds[2].zmin_len = 6;
		cds[2].zmax = (const uint8_t *) "dddddd";
		cds[2].zmax_len = 6;
		cds[3].var_data = vd;		/* PLAIN */
		cds[3].var_len = vl;
		cds[3].nulls = nulls;
		cds[4].var_data = vd2;		/* DICT */
		cds[4].var_len = vl2;
		cds[5].ints = rowids;		/* DELTA */
		rc = lsm_segw_add_block(w, (uint32_t) n, rowids, cids, cds);
	}
	if (rc == LSM_OK)
		rc = lsm_segw_finish(w, seg, len);
	lsm_segw_free(w);
	return rc;
}

/* Open and decode everything; returns the first error or LSM_OK */
static int
read_all(const uint8_t *seg, size_t len, LsmDecoded *d)
{
	LsmSegReader *r;
	const LsmSegHeader *h;
	uint32_t	b;
	uint32_t	c;
	int			rc;
	int			first = LSM_OK;

	rc = lsm_segr_open(seg, len, &talloc, &r);
	if (rc != LSM_OK)
		return rc;
	h = lsm_segr_header(r);
	for (b = 0; b < h->nblocks; b++)
	{
		const LsmBlockInfo *blk = lsm_segr_block(r, b);

		for (c = 0; c < 2u + h->ncols; c++)
		{
			const LsmChunkInfo *ci = c == 0 ? &blk->rowids : c == 1 ? &blk->cids : &blk->cols[c - 2];
			const LsmColumnDesc *col = c == 0 ? NULL : c == 1 ? lsm_cid_column() : &lsm_segr_columns(r)[c - 2];

			/* the caller's own check: the chunk lies within what it holds */
			if (ci->offset + ci->stored_len > len)
			{
				rc = LSM_ERR_CORRUPT;
			}
			else
			{
				rc = lsm_decode_chunk(ci, col, blk->nrows, seg + ci->offset, d);
				/* and one row alone, the first, a middle and the last */
				if (blk->nrows > 0)
				{
					uint32_t	rows[3] = {0, blk->nrows / 2, blk->nrows - 1};
					int			k;

					for (k = 0; k < 3; k++)
					{
						int			rc1 = lsm_decode_chunk_row(ci, col, blk->nrows,
															   seg + ci->offset,
															   rows[k], d);

						if (rc == LSM_OK)
							rc = rc1;
					}
				}
			}
			if (rc != LSM_OK && first == LSM_OK)
				first = rc;
		}
	}
	lsm_segr_free(r);
	return first;
}

/* A flipped byte in chunk data is a checksum error; in the meta area too */
static void
test_checksum_detection(void)
{
	LsmColumnDesc cols[6];
	uint8_t    *seg;
	size_t		len;
	LsmSegReader *r;
	LsmDecoded	d;
	const LsmBlockInfo *blk;
	int			c;

	CHECK_RC(build_sample(0, &seg, &len, cols), LSM_OK);
	lsm_decoded_init(&d, &talloc);
	CHECK_RC(read_all(seg, len, &d), LSM_OK);
	CHECK_RC(lsm_segr_open(seg, len, &talloc, &r), LSM_OK);
	blk = lsm_segr_block(r, 1);
	for (c = 0; c < 6; c++)
	{
		const LsmChunkInfo *ci = &blk->cols[c];
		size_t		pos = ci->offset + ci->stored_len / 2;

		seg[pos] ^= 0x01;
		CHECK_RC(lsm_decode_chunk(ci, &cols[c], blk->nrows, seg + ci->offset, &d),
				 LSM_ERR_CHECKSUM);
		seg[pos] ^= 0x01;
		CHECK_RC(lsm_decode_chunk(ci, &cols[c], blk->nrows, seg + ci->offset, &d),
				 LSM_OK);
	}
	lsm_segr_free(r);

	/* every single-byte change of the meta area is detected */
	{
		size_t		meta_len = lsm_load32(seg + 24);
		size_t		pos;

		for (pos = 0; pos < meta_len; pos++)
		{
			int			rc;

			seg[pos] ^= 0x40;
			rc = lsm_segr_open(seg, len, &talloc, &r);
			seg[pos] ^= 0x40;
			if (rc == LSM_OK)
				lsm_segr_free(r);
			CHECK(rc != LSM_OK);
		}
		seg[meta_len - 1] ^= 1;
		CHECK_RC(lsm_segr_open(seg, len, &talloc, &r), LSM_ERR_CHECKSUM);
		seg[meta_len - 1] ^= 1;
	}
	lsm_decoded_free(&d);
	talloc.free(NULL, seg);
}

/* Unknown version or magic: LSM_ERR_VERSION; short input: LSM_ERR_CORRUPT */
static void
test_version_and_truncation(void)
{
	LsmColumnDesc cols[6];
	uint8_t    *seg;
	size_t		len;
	LsmSegHeader hdr;
	LsmSegReader *r;
	size_t		meta_len;
	size_t		cut;

	CHECK_RC(build_sample(3, &seg, &len, cols), LSM_OK);
	CHECK_RC(lsm_seg_parse_header(seg, len, &hdr), LSM_OK);
	CHECK(hdr.magic == LSM_SEG_MAGIC && hdr.version == LSM_FORMAT_VERSION);
	CHECK(hdr.total_len == len && hdr.ncols == 6 && hdr.nblocks == 4);
	CHECK(hdr.nrows == 933 && hdr.min_rowid == 0 && hdr.max_rowid == 3064);
	meta_len = hdr.meta_len;

	lsm_store16(seg + 4, LSM_FORMAT_VERSION + 1);
	CHECK_RC(lsm_seg_parse_header(seg, len, &hdr), LSM_ERR_VERSION);
	CHECK_RC(lsm_segr_open(seg, len, &talloc, &r), LSM_ERR_VERSION);
	lsm_store16(seg + 4, 0);
	CHECK_RC(lsm_segr_open(seg, len, &talloc, &r), LSM_ERR_VERSION);
	lsm_store16(seg + 4, LSM_FORMAT_VERSION);
	seg[0] ^= 0xff;
	CHECK_RC(lsm_segr_open(seg, len, &talloc, &r), LSM_ERR_VERSION);
	seg[0] ^= 0xff;

	for (cut = 0; cut < meta_len; cut += (cut < 200 ? 1 : 97))
	{
		CHECK(lsm_segr_open(seg, cut, &talloc, &r) != LSM_OK);
		CHECK(r == NULL);
	}
	CHECK_RC(lsm_seg_parse_header(seg, 95, &hdr), LSM_ERR_CORRUPT);
	/* the meta area alone is enough to open */
	CHECK_RC(lsm_segr_open(seg, meta_len, &talloc, &r), LSM_OK);
	lsm_segr_free(r);

	/* a chunk handed over short fails its checksum */
	{
		LsmDecoded	d;
		LsmChunkInfo ci;

		CHECK_RC(lsm_segr_open(seg, len, &talloc, &r), LSM_OK);
		ci = lsm_segr_block(r, 0)->cols[3];
		ci.stored_len -= 1;
		lsm_decoded_init(&d, &talloc);
		CHECK_RC(lsm_decode_chunk(&ci, &cols[3], 300, seg + ci.offset, &d),
				 LSM_ERR_CHECKSUM);
		lsm_decoded_free(&d);
		lsm_segr_free(r);
	}
	talloc.free(NULL, seg);
}

/* Recompute every chunk checksum and the meta checksum after tampering */
static void
reseal(uint8_t *seg, size_t len)
{
	LsmSegHeader hdr;
	size_t		off;
	uint32_t	b;
	uint32_t	c;
	uint32_t	nchunks;

	if (lsm_seg_parse_header(seg, len, &hdr) != LSM_OK || hdr.meta_len > len)
		return;
	nchunks = 2u + hdr.ncols;
	off = LSM_SEG_HEADER_SIZE + (size_t) LSM_COLDESC_SIZE * hdr.ncols;
	for (b = 0; b < hdr.nblocks; b++)
	{
		off += LSM_DIR_BLOCK_SIZE;
		for (c = 0; c < nchunks; c++)
		{
			uint64_t	coff;
			uint32_t	slen;

			if (off + LSM_DIR_CHUNK_SIZE > hdr.meta_len)
				return;
			coff = lsm_load64(seg + off);
			slen = lsm_load32(seg + off + 8);
			if (coff <= len && slen <= len - coff)
				lsm_store64(seg + off + 24, lsm_checksum(seg + coff, slen));
			off += LSM_DIR_CHUNK_SIZE;
		}
	}
	lsm_store64(seg + 72, 0);
	lsm_store64(seg + 72, lsm_checksum(seg, hdr.meta_len));
}

/*
 * Random corruption: flip random bytes of a valid segment and read
 * everything, thousands of times.  Half of the rounds re-seal the checksums
 * so that the damage reaches the structural checks and the decoders.  The
 * result may be an error or success, but never a crash (run under ASan/UBSan
 * by make test-asan).
 */
static void
test_random_corruption(void)
{
	LsmColumnDesc cols[6];
	uint8_t    *seg[2];
	size_t		len[2];
	uint8_t    *copy;
	LsmDecoded	d;
	int			iter;
	int			errors = 0;
	int			oks = 0;
	int			z;

	for (z = 0; z < 2; z++)
		CHECK_RC(build_sample(z ? 3 : 0, &seg[z], &len[z], cols), LSM_OK);
	copy = malloc(len[0] > len[1] ? len[0] : len[1]);
	lsm_decoded_init(&d, &talloc);
	for (iter = 0; iter < 6000; iter++)
	{
		int			which = iter & 1;
		size_t		l = len[which];
		int			nflip = 1 + (int) (rnd() % 4);
		int			f;
		int			rc;
		size_t		meta_len = lsm_load32(seg[which] + 24);

		memcpy(copy, seg[which], l);
		for (f = 0; f < nflip; f++)
		{
			size_t		pos;

			/* bias towards the meta area, where the structure lives */
			if (rnd() % 2)
				pos = (size_t) (rnd() % meta_len);
			else
				pos = (size_t) (rnd() % l);
			if (rnd() % 4 == 0)
				copy[pos] = (uint8_t) rnd();
			else
				copy[pos] ^= (uint8_t) (1u << (rnd() % 8));
		}
		if (iter % 4 >= 2)
			reseal(copy, l);
		/* sometimes also truncate */
		if (iter % 17 == 0)
			l = (size_t) (rnd() % l);
		rc = read_all(copy, l, &d);
		if (rc == LSM_OK)
			oks++;
		else
			errors++;
	}
	lsm_decoded_free(&d);
	free(copy);
	for (z = 0; z < 2; z++)
		talloc.free(NULL, seg[z]);
	CHECK(errors > 1000);
	(void) oks;
}

/* The decoders face forged chunks: random bytes with a valid checksum */
static void
test_forged_chunks(void)
{
	static const uint8_t kinds[][2] = {
		{LSM_KIND_INT, 1}, {LSM_KIND_INT, 2}, {LSM_KIND_INT, 4}, {LSM_KIND_INT, 8},
		{LSM_KIND_FIXED, 1}, {LSM_KIND_FIXED, 7}, {LSM_KIND_VARLEN, 0}
	};
	uint8_t		buf[256];
	LsmDecoded	d;
	int			iter;

	lsm_decoded_init(&d, &talloc);
	for (iter = 0; iter < 20000; iter++)
	{
		LsmChunkInfo ci;
		LsmColumnDesc col;
		uint32_t	len = (uint32_t) (rnd() % sizeof(buf));
		uint32_t	nrows = 1 + (uint32_t) (rnd() % 64);
		uint32_t	i;
		int			k = (int) (rnd() % 7);

		for (i = 0; i < len; i++)
			buf[i] = (uint8_t) (rnd() % 4 == 0 ? rnd() : rnd() % 4);
		memset(&ci, 0, sizeof(ci));
		col = mkcol(kinds[k][0], kinds[k][1], 1);
		ci.stored_len = len;
		ci.raw_len = len;
		ci.encoding = (uint8_t) (rnd() % 8);
		ci.null_count = rnd() % 3 == 0 ? (uint32_t) (rnd() % (nrows + 2)) : 0;
		ci.checksum = lsm_checksum(buf, len);
		if (rnd() % 4 == 0)
			ci.int_tag = (uint8_t) (1 + rnd() % 255);	/* tagged (VARLEN: i64s) */
		if (rnd() % 5 == 0)
		{
			ci.compression = LSM_COMP_ZSTD;
			ci.raw_len = (uint32_t) (rnd() % 1000);
		}
		(void) lsm_decode_chunk(&ci, &col, nrows, buf, &d);
		(void) lsm_decode_chunk_row(&ci, &col, nrows, buf,
									(uint32_t) (rnd() % nrows), &d);
	}
	lsm_decoded_free(&d);
}

/* One LsmDecoded serves chunks of different kinds and sizes in turn */
static void
test_decoded_reuse(void)
{
	LsmColumnDesc cols[6];
	uint8_t    *seg;
	size_t		len;
	LsmDecoded	d;
	int			i;

	CHECK_RC(build_sample(3, &seg, &len, cols), LSM_OK);
	lsm_decoded_init(&d, &talloc);
	for (i = 0; i < 3; i++)
		CHECK_RC(read_all(seg, len, &d), LSM_OK);
	lsm_decoded_free(&d);
	lsm_decoded_free(&d);		/* twice is harmless */
	talloc.free(NULL, seg);
	CHECK(strcmp(lsm_status_str(LSM_ERR_CHECKSUM), "checksum mismatch") == 0);
}

/* ---- VARLEN chunks stored as integers (representation tags) ---- */

/*
 * Write one block of a VARLEN column handed over as integers with tag
 * `tag` (and a caller zone), read it back, and check values, NULLs, the
 * tag and the zone.  Returns the chunk's directory entry in *out.
 */
static int
tagged_roundtrip(uint32_t n, const int64_t *vals, const uint8_t *nulls,
				 uint8_t tag, int zstd_level, uint32_t min_gain,
				 LsmChunkInfo *out)
{
	LsmColumnDesc col = mkcol(LSM_KIND_VARLEN, 0, 1);
	LsmWriterOptions o = default_opts(n, zstd_level);
	LsmColumnData cd;
	LsmSegWriter *w;
	LsmSegReader *r = NULL;
	int64_t    *rowids = malloc(sizeof(int64_t) * n);
	uint8_t    *seg = NULL;
	size_t		seg_len;
	const LsmBlockInfo *b;
	LsmDecoded	d;
	uint32_t	i;
	int			ok = 0;

	o.zstd_min_gain_pct = min_gain;
	for (i = 0; i < n; i++)
		rowids[i] = i;
	memset(&cd, 0, sizeof(cd));
	cd.ints = vals;
	cd.nulls = nulls;
	cd.int_tag = tag;
	cd.has_zone = true;
	cd.zmin = (const uint8_t *) "lo";
	cd.zmin_len = 2;
	cd.zmax = (const uint8_t *) "high";
	cd.zmax_len = 4;
	lsm_decoded_init(&d, &talloc);
	w = lsm_segw_begin(&col, 1, &o, &talloc);
	if (w == NULL ||
		lsm_segw_add_block(w, n, rowids, NULL, &cd) != LSM_OK ||
		lsm_segw_finish(w, &seg, &seg_len) != LSM_OK)
		goto done;
	if (lsm_segr_open(seg, seg_len, &talloc, &r) != LSM_OK ||
		lsm_segr_header(r)->version != LSM_FORMAT_VERSION)
		goto done;
	b = lsm_segr_block(r, 0);
	*out = b->cols[0];
	if (lsm_decode_chunk(&b->cols[0], &lsm_segr_columns(r)[0], n,
						 seg + b->cols[0].offset, &d) != LSM_OK)
		goto done;
	if (b->cols[0].zmin_len != 2 || memcmp(b->cols[0].zmin, "lo", 2) != 0 ||
		b->cols[0].zmax_len != 4 || memcmp(b->cols[0].zmax, "high", 4) != 0)
		goto done;
	if (b->cols[0].encoding == LSM_ENC_NONE)
	{
		/* all NULL: no tag, decoded as an ordinary all-NULL VARLEN chunk */
		ok = b->cols[0].int_tag == 0 && d.int_tag == 0 && d.var_data != NULL;
		goto done;
	}
	if (b->cols[0].int_tag != tag || d.int_tag != tag || d.ints == NULL ||
		d.var_data != NULL)
		goto done;
	for (i = 0; i < n; i++)
	{
		int			isnull = nulls != NULL && nulls[i];

		if ((d.has_nulls && d.nulls[i]) != isnull)
			goto done;
		if (isnull ? d.ints[i] != 0 : d.ints[i] != vals[i])
			goto done;
	}
	ok = 1;
done:
	lsm_segw_free(w);
	lsm_decoded_free(&d);
	lsm_segr_free(r);
	if (seg)
		talloc.free(NULL, seg);
	free(rowids);
	return ok;
}

/* Tagged chunks go through every INT encoding, with and without NULLs */
static void
test_tagged_encodings(void)
{
	enum
	{
		N = 1000
	};
	static const uint8_t want[] = {
		LSM_ENC_CONST, LSM_ENC_FOR, LSM_ENC_DELTA, LSM_ENC_RLE, LSM_ENC_PLAIN
	};
	int64_t    *vals = malloc(sizeof(int64_t) * N);
	uint8_t    *nulls = malloc(N);
	LsmChunkInfo ci;
	int			e;
	int			withnulls;
	int			z;
	uint32_t	i;

	for (e = 0; e < 5; e++)
	{
		for (i = 0; i < N; i++)
		{
			switch (want[e])
			{
				case LSM_ENC_CONST:
					vals[i] = -123456789;
					break;
				case LSM_ENC_FOR:
					vals[i] = -50000 + (int64_t) (rnd() % 100000);
					break;
				case LSM_ENC_DELTA:
					vals[i] = INT64_C(1000000000000) + (int64_t) i * 7919 +
						(int64_t) (rnd() % 4);
					break;
				case LSM_ENC_RLE:
					vals[i] = ((int64_t) (i / 100) * INT64_C(0x123456789)) ^
						INT64_C(0x5555555555);
					break;
				default:
					vals[i] = (int64_t) rnd();
					if (i == 0)
						vals[i] = INT64_MIN;
					if (i == 1)
						vals[i] = INT64_MAX;
					break;
			}
			nulls[i] = (i % 7) == 3;
		}
		for (withnulls = 0; withnulls < 2; withnulls++)
			for (z = 0; z < 2; z++)
			{
				uint8_t		tag = (uint8_t) (1 + e * 50 + withnulls + z);

				CHECK(tagged_roundtrip(N, vals, withnulls ? nulls : NULL, tag,
									   z ? 3 : 0, 10, &ci));
				CHECK(ci.encoding == want[e]);
				CHECK(ci.int_tag == tag);
				CHECK(ci.null_count == (withnulls ? N / 7 + (N % 7 > 3) : 0));
			}
	}

	/* the largest tag, a single row, all NULL (no tag kept) */
	CHECK(tagged_roundtrip(1, vals, NULL, 255, 0, 10, &ci));
	CHECK(ci.int_tag == 255 && ci.encoding == LSM_ENC_CONST);
	memset(nulls, 1, N);
	CHECK(tagged_roundtrip(N, vals, nulls, 9, 0, 10, &ci));
	CHECK(ci.encoding == LSM_ENC_NONE && ci.int_tag == 0);
	free(vals);
	free(nulls);
}

/* zstd is kept for tagged chunks under the same minimum-gain rule */
static void
test_tagged_zstd_policy(void)
{
	enum
	{
		N = 4000
	};
	int64_t    *vals = malloc(sizeof(int64_t) * N);
	LsmChunkInfo ci;
	uint32_t	i;

	/* a repeating pattern FOR cannot shrink but zstd can */
	for (i = 0; i < N; i++)
		vals[i] = (int64_t) ((i % 16) * 1000003 % 65536);
	CHECK(tagged_roundtrip(N, vals, NULL, 3, 3, 10, &ci));
	CHECK(ci.compression == LSM_COMP_ZSTD && ci.stored_len < ci.raw_len);
	/* zstd saves less than the required 100% */
	CHECK(tagged_roundtrip(N, vals, NULL, 3, 3, 100, &ci));
	CHECK(ci.compression == LSM_COMP_NONE && ci.stored_len == ci.raw_len);
	/* random values do not compress */
	for (i = 0; i < N; i++)
		vals[i] = (int64_t) (rnd() % 1000000);
	CHECK(tagged_roundtrip(N, vals, NULL, 3, 3, 10, &ci));
	CHECK(ci.compression == LSM_COMP_NONE);
	free(vals);
}

/* The writer refuses tags where they do not belong */
static void
test_tagged_args(void)
{
	LsmColumnDesc cols[2];
	LsmWriterOptions o = default_opts(16, 0);
	LsmColumnData cds[2];
	LsmSegWriter *w;
	int64_t		rowids[4] = {1, 2, 3, 4};
	int64_t		ints[4] = {5, 6, 7, 8};
	uint8_t    *seg;
	size_t		len;

	cols[0] = mkcol(LSM_KIND_INT, 8, 1);
	cols[1] = mkcol(LSM_KIND_VARLEN, 0, 2);
	w = lsm_segw_begin(cols, 2, &o, &talloc);
	CHECK(w != NULL);
	memset(cds, 0, sizeof(cds));
	cds[0].ints = ints;
	cds[1].ints = ints;
	/* a tag on an INT column */
	cds[0].int_tag = 1;
	cds[1].int_tag = 1;
	CHECK_RC(lsm_segw_add_block(w, 4, rowids, NULL, cds), LSM_ERR_ARG);
	/* a tagged VARLEN chunk without integers */
	cds[0].int_tag = 0;
	cds[1].ints = NULL;
	CHECK_RC(lsm_segw_add_block(w, 4, rowids, NULL, cds), LSM_ERR_ARG);
	/* the writer is still usable */
	cds[1].ints = ints;
	CHECK_RC(lsm_segw_add_block(w, 4, rowids, NULL, cds), LSM_OK);
	CHECK_RC(lsm_segw_finish(w, &seg, &len), LSM_OK);
	lsm_segw_free(w);
	talloc.free(NULL, seg);
}

/* Byte offset of chunk entry c (0 = rowids) of block b in a segment */
static size_t
chunk_entry_off(const uint8_t *seg, uint32_t b, uint32_t c)
{
	uint16_t	ncols = lsm_load16(seg + 8);

	return LSM_SEG_HEADER_SIZE + (size_t) LSM_COLDESC_SIZE * ncols +
		(size_t) b * (LSM_DIR_BLOCK_SIZE + (2u + ncols) * LSM_DIR_CHUNK_SIZE) +
		LSM_DIR_BLOCK_SIZE + (size_t) c * LSM_DIR_CHUNK_SIZE;
}

/*
 * A segment of an INT column, a tagged VARLEN column and a plain VARLEN
 * column (FOR, DICT), 3 blocks.
 */
static int
build_tagged_sample(int zstd_level, uint8_t **seg, size_t *len)
{
	LsmColumnDesc cols[3];
	LsmWriterOptions o = default_opts(200, zstd_level);
	LsmColumnData cds[3];
	LsmSegWriter *w;
	int64_t		rowids[200];
	int64_t		ints[200];
	const uint8_t *vd[200];
	uint32_t	vl[200];
	uint8_t		nulls[200];
	int			b;
	int			i;
	int			rc = LSM_OK;

	cols[0] = mkcol(LSM_KIND_INT, 4, 1);
	cols[1] = mkcol(LSM_KIND_VARLEN, 0, 2);
	cols[2] = mkcol(LSM_KIND_VARLEN, 0, 3);
	w = lsm_segw_begin(cols, 3, &o, &talloc);
	if (w == NULL)
		return LSM_ERR_NOMEM;
	for (b = 0; b < 3 && rc == LSM_OK; b++)
	{
		for (i = 0; i < 200; i++)
		{
			rowids[i] = b * 1000 + i;
			ints[i] = (int64_t) (rnd() % 100000) - (b == 2 ? 1000000 : 0);
			vd[i] = (const uint8_t *) vwords[i % 5];
			vl[i] = (uint32_t) strlen(vwords[i % 5]);
			nulls[i] = (i % 11) == 5;
		}
		memset(cds, 0, sizeof(cds));
		cds[0].ints = ints;
		cds[1].ints = ints;
		cds[1].nulls = nulls;
		cds[1].int_tag = (uint8_t) (3 + b);
		cds[2].var_data = vd;
		cds[2].var_len = vl;
		rc = lsm_segw_add_block(w, 200, rowids, NULL, cds);
	}
	if (rc == LSM_OK)
		rc = lsm_segw_finish(w, seg, len);
	lsm_segw_free(w);
	return rc;
}

/*
 * Damaged tags are detected: on a column that is not VARLEN, with an
 * encoding INT chunks do not have, on an empty chunk; random damage never
 * crashes the reader.
 */
static void
test_tagged_corruption(void)
{
	uint8_t    *seg;
	size_t		len;
	uint8_t    *copy;
	LsmSegReader *r;
	LsmDecoded	d;
	size_t		e_int,
				e_tag,
				e_var;
	int			iter;
	int			errors = 0;

	CHECK_RC(build_tagged_sample(0, &seg, &len), LSM_OK);
	copy = malloc(len);
	lsm_decoded_init(&d, &talloc);
	CHECK_RC(read_all(seg, len, &d), LSM_OK);
	e_int = chunk_entry_off(seg, 1, 2);
	e_tag = chunk_entry_off(seg, 1, 3);
	e_var = chunk_entry_off(seg, 1, 4);
	CHECK(seg[e_int + 23] == 0 && seg[e_tag + 23] == 4 && seg[e_var + 23] == 0);
	CHECK(seg[e_tag + 20] == LSM_ENC_FOR && seg[e_var + 20] == LSM_ENC_DICT);

	/* a tag on the INT column, on the rowid chunk */
	memcpy(copy, seg, len);
	copy[e_int + 23] = 1;
	reseal(copy, len);
	CHECK_RC(lsm_segr_open(copy, len, &talloc, &r), LSM_ERR_CORRUPT);
	memcpy(copy, seg, len);
	copy[chunk_entry_off(seg, 0, 0) + 23] = 1;
	reseal(copy, len);
	CHECK_RC(lsm_segr_open(copy, len, &talloc, &r), LSM_ERR_CORRUPT);
	/* a tag on a DICT chunk */
	memcpy(copy, seg, len);
	copy[e_var + 23] = 7;
	reseal(copy, len);
	CHECK_RC(lsm_segr_open(copy, len, &talloc, &r), LSM_ERR_CORRUPT);
	/* the tagged chunk with a VARLEN-only encoding */
	memcpy(copy, seg, len);
	copy[e_tag + 20] = LSM_ENC_DICT;
	reseal(copy, len);
	CHECK_RC(lsm_segr_open(copy, len, &talloc, &r), LSM_ERR_CORRUPT);
	/* the tag lost: a VARLEN chunk cannot be FOR */
	memcpy(copy, seg, len);
	copy[e_tag + 23] = 0;
	reseal(copy, len);
	CHECK_RC(lsm_segr_open(copy, len, &talloc, &r), LSM_ERR_CORRUPT);
	/* a changed tag is only detected by the meta checksum */
	memcpy(copy, seg, len);
	copy[e_tag + 23] = 9;
	CHECK_RC(lsm_segr_open(copy, len, &talloc, &r), LSM_ERR_CHECKSUM);

	/* the decoder refuses a tag on anything but VARLEN */
	{
		LsmChunkInfo ci;

		CHECK_RC(lsm_segr_open(seg, len, &talloc, &r), LSM_OK);
		ci = lsm_segr_block(r, 0)->cols[0];
		ci.int_tag = 2;
		CHECK_RC(lsm_decode_chunk(&ci, &lsm_segr_columns(r)[0], 200,
								  seg + ci.offset, &d), LSM_ERR_CORRUPT);
		ci = lsm_segr_block(r, 0)->cols[1];
		CHECK_RC(lsm_decode_chunk(&ci, &lsm_segr_columns(r)[1], 200,
								  seg + ci.offset, &d), LSM_OK);
		CHECK(d.int_tag == 3 && d.ints != NULL);
		/* the same chunk decoded for a column of another kind */
		CHECK_RC(lsm_decode_chunk(&ci, &lsm_segr_columns(r)[0], 200,
								  seg + ci.offset, &d), LSM_ERR_CORRUPT);
		lsm_segr_free(r);
	}

	/* random damage, half of it resealed */
	for (iter = 0; iter < 3000; iter++)
	{
		size_t		l = len;
		size_t		meta_len = lsm_load32(seg + 24);
		int			nflip = 1 + (int) (rnd() % 4);
		int			f;

		memcpy(copy, seg, len);
		for (f = 0; f < nflip; f++)
		{
			size_t		pos = (rnd() % 2) ? (size_t) (rnd() % meta_len) :
				(size_t) (rnd() % len);

			if (rnd() % 4 == 0)
				copy[pos] = (uint8_t) rnd();
			else
				copy[pos] ^= (uint8_t) (1u << (rnd() % 8));
		}
		if (iter % 4 >= 2)
			reseal(copy, l);
		if (iter % 17 == 0)
			l = (size_t) (rnd() % l);
		if (read_all(copy, l, &d) != LSM_OK)
			errors++;
	}
	CHECK(errors > 500);
	lsm_decoded_free(&d);
	free(copy);
	talloc.free(NULL, seg);
}

/*
 * Version 1 segments still read: byte 23 of a chunk entry was reserved
 * then, and is ignored whatever it holds.
 */
static void
test_version1_segments(void)
{
	LsmColumnDesc cols[6];
	uint8_t    *seg;
	size_t		len;
	LsmSegReader *r;
	LsmDecoded	d;
	uint32_t	c;

	CHECK_RC(build_sample(3, &seg, &len, cols), LSM_OK);
	lsm_decoded_init(&d, &talloc);
	/* what a version 1 writer wrote: the same bytes, version 1 */
	lsm_store16(seg + 4, 1);
	reseal(seg, len);
	CHECK_RC(read_all(seg, len, &d), LSM_OK);
	CHECK_RC(lsm_segr_open(seg, len, &talloc, &r), LSM_OK);
	CHECK(lsm_segr_header(r)->version == 1);
	lsm_segr_free(r);
	/* garbage in the reserved byte of every chunk entry is ignored */
	for (c = 0; c < 8; c++)
		seg[chunk_entry_off(seg, 0, c) + 23] = (uint8_t) (0x40 + c);
	reseal(seg, len);
	CHECK_RC(lsm_segr_open(seg, len, &talloc, &r), LSM_OK);
	for (c = 0; c < 6; c++)
		CHECK(lsm_segr_block(r, 0)->cols[c].int_tag == 0);
	lsm_segr_free(r);
	CHECK_RC(read_all(seg, len, &d), LSM_OK);
	/* ... but in version 2 it is a tag, here on INT/FIXED columns */
	lsm_store16(seg + 4, 2);
	reseal(seg, len);
	CHECK_RC(lsm_segr_open(seg, len, &talloc, &r), LSM_ERR_CORRUPT);
	lsm_decoded_free(&d);
	talloc.free(NULL, seg);
}

/* The sample segment's chunks use the encodings they were designed for */
static void
test_delmap(void)
{
	int64_t		in[6] = {100, 101, 102, 500, 100000, 5000000000LL};
	int64_t		out[6];
	uint8_t		buf[256];
	size_t		len = 0;
	uint32_t	count = 0;
	int64_t		bad[2] = {7, 7};
	int			pos;

	CHECK(lsm_delmap_bound(6) <= sizeof(buf));
	CHECK_RC(lsm_delmap_encode(in, 6, 100, buf, sizeof(buf), &len), LSM_OK);
	CHECK(len > LSM_DELMAP_HEADER_SIZE && len < LSM_DELMAP_HEADER_SIZE + 6 * 10);
	CHECK_RC(lsm_delmap_count(buf, len, &count), LSM_OK);
	CHECK(count == 6);
	memset(out, 0, sizeof(out));
	CHECK_RC(lsm_delmap_decode(buf, len, 100, out), LSM_OK);
	CHECK(memcmp(in, out, sizeof(in)) == 0);

	/* empty map */
	CHECK_RC(lsm_delmap_encode(NULL, 0, 0, buf, sizeof(buf), &len), LSM_OK);
	CHECK(len == LSM_DELMAP_HEADER_SIZE);
	CHECK_RC(lsm_delmap_count(buf, len, &count), LSM_OK);
	CHECK(count == 0);

	/* caller errors: not ascending, below base, too small a buffer */
	CHECK_RC(lsm_delmap_encode(bad, 2, 0, buf, sizeof(buf), &len), LSM_ERR_ARG);
	CHECK_RC(lsm_delmap_encode(in, 6, 101, buf, sizeof(buf), &len), LSM_ERR_ARG);
	CHECK_RC(lsm_delmap_encode(in, 6, 100, buf, 20, &len), LSM_ERR_ARG);

	/* damage: every flipped bit is caught (header or checksum) */
	CHECK_RC(lsm_delmap_encode(in, 6, 100, buf, sizeof(buf), &len), LSM_OK);
	for (pos = 0; pos < (int) len * 8; pos++)
	{
		int			rc;

		buf[pos / 8] ^= (uint8_t) (1 << (pos % 8));
		rc = lsm_delmap_decode(buf, len, 100, out);
		if (pos / 8 >= 5 && pos / 8 <= 7)
			CHECK(rc == LSM_OK);	/* reserved bytes */
		else
			CHECK(rc != LSM_OK);
		buf[pos / 8] ^= (uint8_t) (1 << (pos % 8));
	}
	CHECK_RC(lsm_delmap_decode(buf, len - 1, 100, out), LSM_ERR_CORRUPT);
	CHECK_RC(lsm_delmap_decode(buf, 10, 100, out), LSM_ERR_CORRUPT);
}

static void
test_delmap_dense(void)
{
	enum
	{
		N = 100000
	};
	static int64_t in[N];
	static int64_t out[N];
	static uint8_t buf[LSM_DELMAP_HEADER_SIZE + N * 10];
	size_t		len;
	int			i;

	for (i = 0; i < N; i++)
		in[i] = 1000 + (int64_t) i * 3;
	CHECK_RC(lsm_delmap_encode(in, N, 1000, buf, sizeof(buf), &len), LSM_OK);
	/* gaps of 3 take one byte each */
	CHECK(len == LSM_DELMAP_HEADER_SIZE + N);
	CHECK_RC(lsm_delmap_decode(buf, len, 1000, out), LSM_OK);
	CHECK(memcmp(in, out, sizeof(in)) == 0);
}

static void
test_sample_encodings(void)
{
	LsmColumnDesc cols[6];
	uint8_t    *seg;
	size_t		len;
	LsmSegReader *r;
	const LsmBlockInfo *b;

	CHECK_RC(build_sample(0, &seg, &len, cols), LSM_OK);
	CHECK_RC(lsm_segr_open(seg, len, &talloc, &r), LSM_OK);
	b = lsm_segr_block(r, 0);
	CHECK(b->rowids.encoding == LSM_ENC_DELTA);
	CHECK(b->cids.encoding == LSM_ENC_RLE);
	CHECK(b->cols[0].encoding == LSM_ENC_RLE);
	CHECK(b->cols[1].encoding == LSM_ENC_FOR && b->cols[1].null_count == 34);
	CHECK(b->cols[2].encoding == LSM_ENC_DICT);
	CHECK(b->cols[2].zmin_len == 6 && memcmp(b->cols[2].zmin, "aaaaaa", 6) == 0);
	CHECK(b->cols[2].zmax_len == 6 && memcmp(b->cols[2].zmax, "dddddd", 6) == 0);
	CHECK(b->cols[3].encoding == LSM_ENC_PLAIN);
	CHECK(b->cols[4].encoding == LSM_ENC_DICT);
	CHECK(b->cols[5].encoding == LSM_ENC_DELTA);
	lsm_segr_free(r);
	talloc.free(NULL, seg);
}

/* ---- column mapping (schema versions) ---- */

static LsmColumnDesc
cdesc(uint16_t attnum, uint8_t kind, uint16_t width, uint32_t type_id,
	  int32_t type_mod, int dropped)
{
	LsmColumnDesc d;

	memset(&d, 0, sizeof(d));
	d.attnum = attnum;
	d.kind = kind;
	d.width = width;
	d.type_id = type_id;
	d.type_mod = type_mod;
	if (dropped)
		d.flags |= LSM_COLF_DROPPED;
	return d;
}

static void
test_colmap(void)
{
	/* written as: 1 int4, 2 varchar(10), 3 (dropped), 4 numeric */
	LsmColumnDesc seg[4];
	LsmColumnDesc want[6];
	int32_t		map[6];
	uint8_t		same[6];
	uint16_t	bad = 99;

	seg[0] = cdesc(1, LSM_KIND_INT, 4, 23, -1, 0);
	seg[1] = cdesc(2, LSM_KIND_VARLEN, 0, 1043, 14, 0);
	seg[2] = cdesc(3, LSM_KIND_INT, 8, 0, -1, 1);
	seg[3] = cdesc(4, LSM_KIND_VARLEN, 0, 1700, 655366, 0);

	/* the same layout: identity map, same types */
	memcpy(want, seg, sizeof(seg));
	CHECK_RC(lsm_colmap_build(seg, 4, want, 4, map, same, &bad), LSM_OK);
	CHECK(map[0] == 0 && map[1] == 1 && map[2] == LSM_COLMAP_NULL && map[3] == 3);
	CHECK(same[0] && same[1] && !same[2] && same[3]);

	/*
	 * Now: 1 dropped, 2 text (binary-compatible), 3 dropped, 4 numeric with
	 * a wider typmod, 5 and 6 added later.
	 */
	want[0] = cdesc(1, LSM_KIND_INT, 4, 0, -1, 1);
	want[1] = cdesc(2, LSM_KIND_VARLEN, 0, 25, -1, 0);
	want[2] = cdesc(3, LSM_KIND_INT, 8, 0, -1, 1);
	want[3] = cdesc(4, LSM_KIND_VARLEN, 0, 1700, 786438, 0);
	want[4] = cdesc(5, LSM_KIND_INT, 8, 20, -1, 0);
	want[5] = cdesc(6, LSM_KIND_VARLEN, 0, 25, -1, 0);
	CHECK_RC(lsm_colmap_build(seg, 4, want, 6, map, same, &bad), LSM_OK);
	CHECK(map[0] == LSM_COLMAP_NULL);
	CHECK(map[1] == 1 && !same[1]);
	CHECK(map[2] == LSM_COLMAP_NULL);
	CHECK(map[3] == 3 && same[3]);	/* typmod only */
	CHECK(map[4] == LSM_COLMAP_MISSING && map[5] == LSM_COLMAP_MISSING);

	/* columns listed out of attribute order are found by attnum */
	{
		LsmColumnDesc shuffled[4];

		shuffled[0] = seg[3];
		shuffled[1] = seg[0];
		shuffled[2] = seg[2];
		shuffled[3] = seg[1];
		memcpy(want, seg, sizeof(seg));
		CHECK_RC(lsm_colmap_build(shuffled, 4, want, 4, map, NULL, &bad), LSM_OK);
		CHECK(map[0] == 1 && map[1] == 3 && map[2] == LSM_COLMAP_NULL && map[3] == 0);
	}

	/* a reader that knows fewer attributes than the segment (cannot
	 * happen for a table, but the map is still well defined) */
	CHECK_RC(lsm_colmap_build(seg, 4, seg, 2, map, same, &bad), LSM_OK);
	CHECK(map[0] == 0 && map[1] == 1);

	/* no columns at all, either side */
	CHECK_RC(lsm_colmap_build(NULL, 0, want, 2, map, same, &bad), LSM_OK);
	CHECK(map[0] == LSM_COLMAP_MISSING && map[1] == LSM_COLMAP_MISSING);
	CHECK_RC(lsm_colmap_build(seg, 4, NULL, 0, NULL, NULL, NULL), LSM_OK);

	/* storage changed without a rewrite: int4 read as int8 */
	memcpy(want, seg, sizeof(seg));
	want[0] = cdesc(1, LSM_KIND_INT, 8, 20, -1, 0);
	CHECK_RC(lsm_colmap_build(seg, 4, want, 4, map, same, &bad), LSM_ERR_SCHEMA);
	CHECK(bad == 0);
	/* fixed-width read as varlen */
	memcpy(want, seg, sizeof(seg));
	want[3] = cdesc(4, LSM_KIND_FIXED, 16, 2950, -1, 0);
	CHECK_RC(lsm_colmap_build(seg, 4, want, 4, map, same, &bad), LSM_ERR_SCHEMA);
	CHECK(bad == 3);
	/* dropped in the segment, live in the table */
	memcpy(want, seg, sizeof(seg));
	want[2] = cdesc(3, LSM_KIND_INT, 8, 20, -1, 0);
	CHECK_RC(lsm_colmap_build(seg, 4, want, 4, map, same, &bad), LSM_ERR_SCHEMA);
	CHECK(bad == 2);

	/* a segment naming an attribute twice, or attribute 0 */
	{
		LsmColumnDesc dup[2];

		dup[0] = seg[0];
		dup[1] = seg[0];
		CHECK_RC(lsm_colmap_build(dup, 2, seg, 1, map, same, &bad), LSM_ERR_CORRUPT);
		dup[1] = cdesc(0, LSM_KIND_INT, 4, 23, -1, 0);
		CHECK_RC(lsm_colmap_build(dup, 2, seg, 1, map, same, &bad), LSM_ERR_CORRUPT);
	}
	/* argument checks */
	CHECK_RC(lsm_colmap_build(NULL, 1, want, 1, map, same, &bad), LSM_ERR_ARG);
	CHECK_RC(lsm_colmap_build(seg, 4, want, 1, NULL, same, &bad), LSM_ERR_ARG);
}

/* ---- zone orders and ordered zones (version 3) ---- */

/*
 * A segment whose columns 1 (VARLEN) and 2 (FIXED) have zone orders:
 * column 0 INT, 1 VARLEN ordered, 2 FIXED ordered, 3 VARLEN without an
 * order, 4 dropped.  Block 0 gives both zones, block 1 only ordered zones
 * (the plain ones absent) on column 1 and none on column 2, block 2 an
 * ordered zone of empty strings.
 */
static int
build_ordered_sample(uint8_t **seg, size_t *len, LsmColumnDesc *cols)
{
	LsmWriterOptions o = default_opts(50, 0);
	LsmSegWriter *w;
	LsmZoneOrder ord;
	int64_t		rowids[50];
	int64_t		ints[50];
	const uint8_t *vd[50];
	uint32_t	vl[50];
	uint8_t		fixed[50 * 4];
	LsmColumnData cds[5];
	int			b;
	int			i;
	int			rc;

	cols[0] = mkcol(LSM_KIND_INT, 8, 1);
	cols[1] = mkcol(LSM_KIND_VARLEN, 0, 2);
	cols[2] = mkcol(LSM_KIND_FIXED, 4, 3);
	cols[3] = mkcol(LSM_KIND_VARLEN, 0, 4);
	cols[4] = mkcol(LSM_KIND_VARLEN, 0, 5);
	cols[4].flags = LSM_COLF_DROPPED;
	w = lsm_segw_begin(cols, 5, &o, &talloc);
	if (w == NULL)
		return LSM_ERR_NOMEM;
	ord.order_id = 12345;
	ord.key = (const uint8_t *) "icu\0en\0" "153.14";
	ord.key_len = 14;
	rc = lsm_segw_set_zone_order(w, 1, &ord);
	ord.order_id = 100;
	ord.key = (const uint8_t *) "k";
	ord.key_len = 1;
	if (rc == LSM_OK)
		rc = lsm_segw_set_zone_order(w, 2, &ord);
	for (b = 0; b < 3 && rc == LSM_OK; b++)
	{
		for (i = 0; i < 50; i++)
		{
			rowids[i] = b * 100 + i;
			ints[i] = i;
			vd[i] = (const uint8_t *) vwords[(i + b) % 5];
			vl[i] = (uint32_t) strlen(vwords[(i + b) % 5]);
			memcpy(fixed + i * 4, "wxyz" + i % 4, 1);
			memset(fixed + i * 4 + 1, 'a' + b, 3);
		}
		memset(cds, 0, sizeof(cds));
		cds[0].ints = ints;
		cds[1].var_data = vd;
		cds[1].var_len = vl;
		cds[2].fixed = fixed;
		cds[3].var_data = vd;
		cds[3].var_len = vl;
		cds[3].has_zone = true;
		cds[3].zmin = (const uint8_t *) "";
		cds[3].zmax = (const uint8_t *) "x";
		cds[3].zmax_len = 1;
		if (b == 0)
		{
			cds[1].has_zone = true;
			cds[1].zmin = (const uint8_t *) "";
			cds[1].zmax = (const uint8_t *) "x";
			cds[1].zmax_len = 1;
			cds[2].has_zone = true;
			cds[2].zmin = (const uint8_t *) "waaa";
			cds[2].zmin_len = 4;
			cds[2].zmax = (const uint8_t *) "zaaa";
			cds[2].zmax_len = 4;
			cds[2].has_ordered_zone = true;
			cds[2].ozmin = (const uint8_t *) "zaaa";
			cds[2].ozmin_len = 4;
			cds[2].ozmax = (const uint8_t *) "waaa";
			cds[2].ozmax_len = 4;
		}
		if (b < 2)
		{
			/* the caller's order: here, "columnar" < "segment format" < ... */
			cds[1].has_ordered_zone = true;
			cds[1].ozmin = (const uint8_t *) "columnar";
			cds[1].ozmin_len = 8;
			cds[1].ozmax = (const uint8_t *) "lsm";
			cds[1].ozmax_len = 3;
		}
		else
		{
			cds[1].has_ordered_zone = true;
			cds[1].ozmin = (const uint8_t *) "";
			cds[1].ozmax = (const uint8_t *) "";
		}
		/* ignored: the column is dropped */
		cds[4].has_ordered_zone = true;
		rc = lsm_segw_add_block(w, 50, rowids, NULL, cds);
	}
	if (rc == LSM_OK)
		rc = lsm_segw_finish(w, seg, len);
	lsm_segw_free(w);
	return rc;
}

/*
 * Zone orders and ordered zones round-trip: the orders by column, each
 * chunk's ordered zone independent of its plain zone, and no ordered zone
 * where none was given.
 */
static void
test_ordered_zones(void)
{
	LsmColumnDesc cols[5];
	uint8_t    *seg;
	size_t		len;
	LsmSegReader *r;
	LsmDecoded	d;
	const LsmZoneOrder *o;
	const LsmBlockInfo *blk;
	const LsmChunkInfo *ci;

	CHECK_RC(build_ordered_sample(&seg, &len, cols), LSM_OK);
	lsm_decoded_init(&d, &talloc);
	CHECK_RC(read_all(seg, len, &d), LSM_OK);
	lsm_decoded_free(&d);
	CHECK_RC(lsm_segr_open(seg, len, &talloc, &r), LSM_OK);
	CHECK(lsm_segr_header(r)->version == 3);
	CHECK(lsm_segr_header(r)->order_len == 2 * LSM_ZONE_ORDER_HEAD + 14 + 1);
	CHECK(lsm_segr_zone_order(r, 0) == NULL);
	CHECK(lsm_segr_zone_order(r, 3) == NULL);
	CHECK(lsm_segr_zone_order(r, 4) == NULL);
	CHECK(lsm_segr_zone_order(r, 5) == NULL);
	o = lsm_segr_zone_order(r, 1);
	CHECK(o != NULL && o->order_id == 12345 && o->key_len == 14 &&
		  memcmp(o->key, "icu\0en\0" "153.14", 14) == 0);
	o = lsm_segr_zone_order(r, 2);
	CHECK(o != NULL && o->order_id == 100 && o->key_len == 1 && o->key[0] == 'k');

	blk = lsm_segr_block(r, 0);
	ci = &blk->cols[1];
	CHECK(ci->zone_flags == (LSM_ZONE_HAS_MINMAX | LSM_ZONE_HAS_ORDERED));
	CHECK(ci->zmin_len == 0 && ci->zmax_len == 1 && ci->zmax[0] == 'x');
	CHECK(ci->ozmin_len == 8 && memcmp(ci->ozmin, "columnar", 8) == 0);
	CHECK(ci->ozmax_len == 3 && memcmp(ci->ozmax, "lsm", 3) == 0);
	ci = &blk->cols[2];
	CHECK(ci->zone_flags == (LSM_ZONE_HAS_MINMAX | LSM_ZONE_HAS_ORDERED));
	CHECK(memcmp(ci->zmin, "waaa", 4) == 0 && memcmp(ci->zmax, "zaaa", 4) == 0);
	CHECK(memcmp(ci->ozmin, "zaaa", 4) == 0 && memcmp(ci->ozmax, "waaa", 4) == 0);
	CHECK(blk->cols[3].zone_flags == LSM_ZONE_HAS_MINMAX && blk->cols[3].ozmin == NULL);
	CHECK(blk->cols[4].zone_flags == 0);
	CHECK(blk->cols[0].zone_flags == LSM_ZONE_HAS_MINMAX && blk->rowids.ozmin == NULL);

	blk = lsm_segr_block(r, 1);
	ci = &blk->cols[1];
	CHECK(ci->zone_flags == LSM_ZONE_HAS_ORDERED);
	CHECK(ci->zmin_len == 0 && ci->zmax_len == 0);
	CHECK(ci->ozmin_len == 8 && memcmp(ci->ozmin, "columnar", 8) == 0);
	CHECK(ci->ozmax_len == 3 && memcmp(ci->ozmax, "lsm", 3) == 0);
	CHECK(blk->cols[2].zone_flags == 0 && blk->cols[2].ozmin_len == 0);

	blk = lsm_segr_block(r, 2);
	ci = &blk->cols[1];
	CHECK(ci->zone_flags == LSM_ZONE_HAS_ORDERED);
	CHECK(ci->ozmin_len == 0 && ci->ozmax_len == 0 && ci->ozmin != NULL);
	lsm_segr_free(r);
	talloc.free(NULL, seg);
}

/*
 * Zone orders are refused on INT and dropped columns, beyond the columns,
 * with an empty key, twice for a column or after the first block; an
 * ordered zone on a column without an order is refused (and the writer
 * stays usable).
 */
static void
test_ordered_zone_args(void)
{
	LsmColumnDesc cols[3];
	LsmWriterOptions o = default_opts(10, 0);
	LsmSegWriter *w;
	LsmZoneOrder ord;
	LsmColumnData cds[3];
	int64_t		rowids[4] = {1, 2, 3, 4};
	int64_t		ints[4] = {0};
	const uint8_t *vd[4];
	uint32_t	vl[4];
	uint8_t    *seg;
	size_t		len;
	LsmSegReader *r;
	int			i;

	cols[0] = mkcol(LSM_KIND_INT, 4, 1);
	cols[1] = mkcol(LSM_KIND_VARLEN, 0, 2);
	cols[2] = mkcol(LSM_KIND_VARLEN, 0, 3);
	cols[2].flags = LSM_COLF_DROPPED;
	for (i = 0; i < 4; i++)
	{
		vd[i] = (const uint8_t *) "v";
		vl[i] = 1;
	}
	memset(cds, 0, sizeof(cds));
	cds[0].ints = ints;
	cds[1].var_data = vd;
	cds[1].var_len = vl;
	ord.order_id = 7;
	ord.key = (const uint8_t *) "key";
	ord.key_len = 3;

	w = lsm_segw_begin(cols, 3, &o, &talloc);
	CHECK(w != NULL);
	CHECK_RC(lsm_segw_set_zone_order(w, 0, &ord), LSM_ERR_ARG);
	CHECK_RC(lsm_segw_set_zone_order(w, 2, &ord), LSM_ERR_ARG);
	CHECK_RC(lsm_segw_set_zone_order(w, 3, &ord), LSM_ERR_ARG);
	CHECK_RC(lsm_segw_set_zone_order(w, 1, NULL), LSM_ERR_ARG);
	ord.key_len = 0;
	CHECK_RC(lsm_segw_set_zone_order(w, 1, &ord), LSM_ERR_ARG);
	ord.key_len = 3;
	/* an ordered zone on a column without an order */
	cds[1].has_ordered_zone = true;
	cds[1].ozmin = cds[1].ozmax = (const uint8_t *) "v";
	cds[1].ozmin_len = cds[1].ozmax_len = 1;
	CHECK_RC(lsm_segw_add_block(w, 4, rowids, NULL, cds), LSM_ERR_ARG);
	cds[1].has_ordered_zone = false;
	cds[0].has_ordered_zone = true;
	CHECK_RC(lsm_segw_add_block(w, 4, rowids, NULL, cds), LSM_ERR_ARG);
	cds[0].has_ordered_zone = false;
	CHECK_RC(lsm_segw_set_zone_order(w, 1, &ord), LSM_OK);
	CHECK_RC(lsm_segw_set_zone_order(w, 1, &ord), LSM_ERR_ARG);
	/* missing bytes */
	cds[1].has_ordered_zone = true;
	cds[1].ozmax = NULL;
	CHECK_RC(lsm_segw_add_block(w, 4, rowids, NULL, cds), LSM_ERR_ARG);
	cds[1].ozmax = (const uint8_t *) "v";
	CHECK_RC(lsm_segw_add_block(w, 2, rowids, NULL, cds), LSM_OK);
	CHECK_RC(lsm_segw_set_zone_order(w, 1, &ord), LSM_ERR_ARG);
	CHECK_RC(lsm_segw_add_block(w, 2, rowids + 2, NULL, cds), LSM_OK);
	CHECK_RC(lsm_segw_finish(w, &seg, &len), LSM_OK);
	lsm_segw_free(w);
	CHECK_RC(lsm_segr_open(seg, len, &talloc, &r), LSM_OK);
	CHECK(lsm_segr_header(r)->nblocks == 2);
	CHECK(lsm_segr_block(r, 1)->cols[1].zone_flags == LSM_ZONE_HAS_ORDERED);
	CHECK(lsm_segr_zone_order(r, 1)->order_id == 7);
	lsm_segr_free(r);
	talloc.free(NULL, seg);
}

/* Offset of the zone orders of a segment */
static size_t
orders_off(const uint8_t *seg)
{
	return lsm_load32(seg + 24) - lsm_load32(seg + 80);
}

/*
 * Damage to the zone orders or the ordered zones is refused (after
 * re-sealing the checksums): records out of column order, beyond the
 * columns, on an INT or dropped column, with an empty or overlong key; an
 * ordered zone on a column without an order or reaching beyond the zone
 * bytes; the order area's length in a version 2 header means nothing (the
 * meta area then does not add up).  Random damage never crashes.
 */
static void
test_ordered_zone_corruption(void)
{
	LsmColumnDesc cols[5];
	uint8_t    *seg;
	uint8_t    *copy;
	size_t		len;
	size_t		oo;
	size_t		ce;
	LsmSegReader *r;
	LsmDecoded	d;
	int			iter;
	int			errors = 0;

	CHECK_RC(build_ordered_sample(&seg, &len, cols), LSM_OK);
	copy = malloc(len);
	oo = orders_off(seg);
	/* the records: column 1 (key 14 bytes), then column 2 (key 1 byte) */
	CHECK(lsm_load16(seg + oo) == 1 && lsm_load16(seg + oo + 22) == 2);

#define DAMAGE(stmt) \
	do { \
		memcpy(copy, seg, len); \
		stmt; \
		reseal(copy, len); \
		CHECK_RC(lsm_segr_open(copy, len, &talloc, &r), LSM_ERR_CORRUPT); \
	} while (0)

	DAMAGE(lsm_store16(copy + oo + 22, 1));		/* column 1 twice */
	DAMAGE(lsm_store16(copy + oo + 22, 0));		/* descending; INT column */
	DAMAGE(lsm_store16(copy + oo + 22, 4));		/* dropped column */
	DAMAGE(lsm_store16(copy + oo + 22, 5));		/* beyond the columns */
	DAMAGE(lsm_store16(copy + oo + 24, 0));		/* empty key */
	DAMAGE(lsm_store16(copy + oo + 24, 2));		/* key beyond the area */
	DAMAGE(lsm_store16(copy + oo + 2, 15));		/* records do not add up */
	DAMAGE(lsm_store32(copy + 80, lsm_load32(copy + 80) + 1));	/* meta_len */
	/* column 2 loses its order: its chunk's ordered zone has none */
	DAMAGE(lsm_store16(copy + oo + 22, 3));
	/* an ordered zone on column 3 (no order), on the rowid chunk */
	ce = chunk_entry_off(seg, 0, 2 + 3);
	DAMAGE(copy[ce + 22] |= LSM_ZONE_HAS_ORDERED);
	DAMAGE(copy[chunk_entry_off(seg, 0, 0) + 22] |= LSM_ZONE_HAS_ORDERED);
	DAMAGE(copy[chunk_entry_off(seg, 0, 2) + 22] |= 0x04);
	/* the ordered zone's lengths reach beyond the zone bytes */
	ce = chunk_entry_off(seg, 2, 2 + 1);
	{
		size_t		zstart = orders_off(seg) - lsm_load32(seg + 28);
		size_t		zo = zstart + lsm_load32(seg + ce + 32);

		CHECK(lsm_load16(seg + zo) == 0 && lsm_load16(seg + zo + 2) == 0);
		DAMAGE(lsm_store16(copy + zo + 2, 60000));
		/* one byte beyond the end of the zone bytes */
		DAMAGE(lsm_store16(copy + zo, (uint16_t) (orders_off(seg) - (zo + 4) + 1)));
	}
	/* version 2: the order area's length at offset 80 is ignored */
	memcpy(copy, seg, len);
	lsm_store16(copy + 4, 2);
	reseal(copy, len);
	CHECK_RC(lsm_segr_open(copy, len, &talloc, &r), LSM_ERR_CORRUPT);
#undef DAMAGE

	/* random damage, resealed half of the time */
	lsm_decoded_init(&d, &talloc);
	for (iter = 0; iter < 3000; iter++)
	{
		size_t		meta_len = lsm_load32(seg + 24);
		int			nflip = 1 + (int) (rnd() % 3);
		int			f;

		memcpy(copy, seg, len);
		for (f = 0; f < nflip; f++)
		{
			/* mostly the zone bytes and the orders */
			size_t		lo = orders_off(seg) - lsm_load32(seg + 28);
			size_t		pos = (rnd() % 4) ? lo + (size_t) (rnd() % (meta_len - lo)) :
				(size_t) (rnd() % meta_len);

			if (rnd() % 4 == 0)
				copy[pos] = (uint8_t) rnd();
			else
				copy[pos] ^= (uint8_t) (1u << (rnd() % 8));
		}
		if (iter % 2)
			reseal(copy, len);
		if (read_all(copy, len, &d) != LSM_OK)
			errors++;
	}
	lsm_decoded_free(&d);
	free(copy);
	talloc.free(NULL, seg);
	CHECK(errors > 1500);
}

/*
 * Version 2 segments still read: no zone orders, no ordered zones, and
 * whatever header bytes 80..83 hold is ignored; in version 3 those bytes
 * are the order area's length.
 */
static void
test_version2_segments(void)
{
	LsmColumnDesc cols[6];
	uint8_t    *seg;
	size_t		len;
	LsmSegReader *r;
	LsmDecoded	d;
	uint32_t	c;

	CHECK_RC(build_sample(3, &seg, &len, cols), LSM_OK);
	lsm_decoded_init(&d, &talloc);
	CHECK(lsm_load32(seg + 80) == 0);
	lsm_store16(seg + 4, 2);
	lsm_store32(seg + 80, 0xdeadbeef);
	reseal(seg, len);
	CHECK_RC(read_all(seg, len, &d), LSM_OK);
	CHECK_RC(lsm_segr_open(seg, len, &talloc, &r), LSM_OK);
	CHECK(lsm_segr_header(r)->version == 2 && lsm_segr_header(r)->order_len == 0);
	for (c = 0; c < 6; c++)
	{
		CHECK(lsm_segr_zone_order(r, (uint16_t) c) == NULL);
		CHECK(!(lsm_segr_block(r, 0)->cols[c].zone_flags & LSM_ZONE_HAS_ORDERED));
	}
	CHECK(lsm_segr_block(r, 0)->cols[2].zone_flags == LSM_ZONE_HAS_MINMAX);
	lsm_segr_free(r);
	/* an ordered-zone flag means nothing in version 2: damage */
	lsm_store32(seg + 80, 0);
	seg[chunk_entry_off(seg, 0, 2 + 3) + 22] |= LSM_ZONE_HAS_ORDERED;
	reseal(seg, len);
	CHECK_RC(lsm_segr_open(seg, len, &talloc, &r), LSM_ERR_CORRUPT);
	seg[chunk_entry_off(seg, 0, 2 + 3) + 22] &= (uint8_t) ~LSM_ZONE_HAS_ORDERED;
	/* version 3 reads bytes 80..83 */
	lsm_store16(seg + 4, 3);
	lsm_store32(seg + 80, 0xdeadbeef);
	reseal(seg, len);
	CHECK_RC(lsm_segr_open(seg, len, &talloc, &r), LSM_ERR_CORRUPT);
	lsm_store32(seg + 80, 0);
	reseal(seg, len);
	CHECK_RC(read_all(seg, len, &d), LSM_OK);
	lsm_decoded_free(&d);
	talloc.free(NULL, seg);
}

typedef struct TestCase
{
	const char *name;
	void		(*fn) (void);
} TestCase;

#define T(f) {#f, f}

/*
 * lsm_segr_open_owned reads the same directory as lsm_segr_open from a
 * buffer it takes over, and frees that buffer when the open fails
 */
static void
test_open_owned(void)
{
	LsmColumnDesc cols[6];
	uint8_t    *seg;
	uint8_t    *own;
	size_t		len;
	LsmSegReader *r1;
	LsmSegReader *r2;
	const LsmSegHeader *h;
	uint32_t	b;
	uint32_t	c;

	CHECK_RC(build_sample(1, &seg, &len, cols), LSM_OK);
	CHECK_RC(lsm_segr_open(seg, len, &talloc, &r1), LSM_OK);
	h = lsm_segr_header(r1);

	/* just the meta area, as lsm_am reads it */
	own = talloc.alloc(NULL, h->meta_len);
	memcpy(own, seg, h->meta_len);
	CHECK_RC(lsm_segr_open_owned(own, h->meta_len, &talloc, &r2), LSM_OK);
	CHECK(memcmp(h, lsm_segr_header(r2), sizeof(LsmSegHeader)) == 0);
	for (b = 0; b < h->nblocks; b++)
	{
		const LsmBlockInfo *x = lsm_segr_block(r1, b);
		const LsmBlockInfo *y = lsm_segr_block(r2, b);

		CHECK(x->nrows == y->nrows && x->first_rowid == y->first_rowid &&
			  x->data_offset == y->data_offset);
		CHECK(x->rowids.checksum == y->rowids.checksum);
		for (c = 0; c < h->ncols; c++)
			CHECK(x->cols[c].offset == y->cols[c].offset &&
				  x->cols[c].checksum == y->cols[c].checksum &&
				  x->cols[c].zmin_len == y->cols[c].zmin_len &&
				  memcmp(x->cols[c].zmin, y->cols[c].zmin, x->cols[c].zmin_len) == 0);
	}
	lsm_segr_free(r2);

	/* failures free the buffer (the leak check counts allocator blocks) */
	own = talloc.alloc(NULL, h->meta_len);
	memcpy(own, seg, h->meta_len);
	own[h->meta_len - 1] ^= 0x5a;
	CHECK_RC(lsm_segr_open_owned(own, h->meta_len, &talloc, &r2), LSM_ERR_CHECKSUM);
	CHECK(r2 == NULL);
	own = talloc.alloc(NULL, 16);
	memcpy(own, seg, 16);
	CHECK(lsm_segr_open_owned(own, 16, &talloc, &r2) != LSM_OK);
	own = talloc.alloc(NULL, h->meta_len - 1);
	memcpy(own, seg, h->meta_len - 1);
	CHECK_RC(lsm_segr_open_owned(own, h->meta_len - 1, &talloc, &r2), LSM_ERR_CORRUPT);

	lsm_segr_free(r1);
	talloc.free(NULL, seg);
}

/* ---- readers placed in a region sized in advance ---- */

/*
 * Open seg with lsm_segr_open_owned in a region of `size` bytes (meta area
 * first); the reader's header through *nblocks.
 */
static int
open_in_region(const uint8_t *seg, size_t size, uint32_t *nblocks)
{
	uint8_t    *mem = malloc(size ? size : 1);
	LsmRegion	rg = {mem, size};
	LsmAllocator ra = lsm_region_allocator(&rg);
	LsmSegHeader h;
	uint8_t    *meta;
	LsmSegReader *r = NULL;
	int			rc;

	rc = lsm_seg_parse_header(seg, LSM_SEG_HEADER_SIZE, &h);
	if (rc == LSM_OK)
	{
		meta = ra.alloc(ra.ctx, h.meta_len);
		if (meta == NULL)
			rc = LSM_ERR_NOMEM;
		else
		{
			memcpy(meta, seg, h.meta_len);
			rc = lsm_segr_open_owned(meta, h.meta_len, &ra, &r);
		}
	}
	if (rc == LSM_OK)
		*nblocks = lsm_segr_header(r)->nblocks;
	free(mem);
	return rc;
}

/*
 * lsm_segr_footprint is exactly what an open asks of the region allocator
 * (rounding to LSM_REGION_ALIGN): a region of that size holds the reader,
 * one rounding step less does not.  Segments with zone orders, many blocks, no columns and one row.
 */
static void
test_footprint(void)
{
	LsmColumnDesc cols[5];
	uint8_t    *segs[3];
	size_t		lens[3];
	int			k;

	CHECK_RC(build_ordered_sample(&segs[0], &lens[0], cols), LSM_OK);
	CHECK_RC(build_sample(0, &segs[1], &lens[1], cols), LSM_OK);
	{
		LsmWriterOptions o = default_opts(16, 0);
		LsmSegWriter *w = lsm_segw_begin(NULL, 0, &o, &talloc);
		int64_t		rowid = 42;

		CHECK(w != NULL);
		CHECK_RC(lsm_segw_add_block(w, 1, &rowid, NULL, NULL), LSM_OK);
		CHECK_RC(lsm_segw_finish(w, &segs[2], &lens[2]), LSM_OK);
		lsm_segw_free(w);
	}
	for (k = 0; k < 3; k++)
	{
		LsmSegHeader h;
		size_t		fp;
		uint32_t	nblocks = 0;

		CHECK_RC(lsm_seg_parse_header(segs[k], lens[k], &h), LSM_OK);
		fp = lsm_segr_footprint(&h, LSM_REGION_ALIGN);
		CHECK(fp >= h.meta_len);
		CHECK_RC(open_in_region(segs[k], fp, &nblocks), LSM_OK);
		CHECK(nblocks == h.nblocks);
		CHECK_RC(open_in_region(segs[k], fp - LSM_REGION_ALIGN, &nblocks), LSM_ERR_NOMEM);
		talloc.free(NULL, segs[k]);
	}
}

static const TestCase tests[] = {
	T(test_checksum),
	T(test_bitpack_all_widths),
	T(test_int_encodings_every_width),
	T(test_int_extremes),
	T(test_int_nulls),
	T(test_single_row),
	T(test_fixed_widths),
	T(test_varlen_basic),
	T(test_varlen_large),
	T(test_zstd_policy),
	T(test_zstd_min_gain),
	T(test_zero_columns),
	T(test_1600_columns),
	T(test_dropped_column),
	T(test_multi_block),
	T(test_int_zones_given),
	T(test_writer_args),
	T(test_checksum_detection),
	T(test_version_and_truncation),
	T(test_random_corruption),
	T(test_forged_chunks),
	T(test_decoded_reuse),
	T(test_sample_encodings),
	T(test_delmap),
	T(test_delmap_dense),
	T(test_colmap),
	T(test_tagged_encodings),
	T(test_tagged_zstd_policy),
	T(test_tagged_args),
	T(test_tagged_corruption),
	T(test_version1_segments),
	T(test_ordered_zones),
	T(test_ordered_zone_args),
	T(test_ordered_zone_corruption),
	T(test_version2_segments),
	T(test_open_owned),
	T(test_footprint),
};

int
main(void)
{
	size_t		i;
	int			passed = 0;
	int			failed = 0;

	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
	{
		clock_t		t0 = clock();

		test_failed = 0;
		live_blocks = 0;
		tests[i].fn();
		if (!test_failed && live_blocks != 0)
		{
			fprintf(stderr, "  %ld allocator blocks leaked\n", live_blocks);
			test_failed = 1;
		}
		printf("%-36s %s (%.2f s)\n", tests[i].name,
			   test_failed ? "FAILED" : "ok",
			   (double) (clock() - t0) / CLOCKS_PER_SEC);
		if (test_failed)
			failed++;
		else
			passed++;
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
