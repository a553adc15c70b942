/*-------------------------------------------------------------------------
 *
 * lsm_encode.c
 *	  Encoding of one column chunk: choice of the smallest encoding, the
 *	  null bitmap, and optional zstd compression of the encoded bytes.
 *
 * NOTES
 *	  A chunk's encoded ("raw") form is [null bitmap][body].  The bitmap is
 *	  present only when the chunk has NULLs; the body holds only the non-null
 *	  values, densely, in row order.  The byte layout of every body is in
 *	  docs/FORMAT.md; lsm_decode.c is the other half of this file.
 *
 *	  The encoder computes the exact size of every applicable encoding in
 *	  cheap passes over the values, then materialises only the smallest.  On
 *	  ties it prefers the encoding that decodes fastest (the order of the
 *	  candidates below).
 *
 *	  Encoded bytes are appended to the caller's buffer.  On failure the
 *	  buffer is truncated back to its length on entry.
 *
 *	  A VARLEN chunk the caller hands over as integers (a nonzero int_tag
 *	  in its LsmColumnData) is encoded exactly like an INT chunk of width
 *	  8; only the directory entry's tag tells the two apart.
 *
 *-------------------------------------------------------------------------
 */
#define ZSTD_STATIC_LINKING_ONLY	/* for ZSTD_customMem */
#include <zstd.h>

#include "lsm_format_int.h"

struct LsmEncoder
{
	LsmAllocator alloc;			/* copy of the caller's allocator */
	uint32_t   *rows;			/* row numbers of the non-null rows */
	size_t		rows_cap;
	uint64_t   *vals;			/* dense non-null INT values */
	size_t		vals_cap;
	uint64_t   *t1;				/* values to bit-pack */
	size_t		t1_cap;
	uint64_t   *t2;				/* second stream (RLE run lengths) */
	size_t		t2_cap;
	uint32_t   *hash;			/* dictionary hash table */
	size_t		hash_cap;
	uint32_t   *dict;			/* dense index of each dictionary entry */
	size_t		dict_cap;
	uint8_t    *zbuf;			/* zstd output */
	size_t		zbuf_cap;
	ZSTD_CCtx  *cctx;
};

/* State of one lsm_encode_chunk call */
typedef struct EncState
{
	LsmEncoder *e;
	const LsmColumnDesc *col;
	const LsmColumnData *cd;
	uint32_t	n;				/* rows */
	uint32_t	m;				/* non-null rows */
	LsmBuf	   *dst;
	LsmEncResult *res;
} EncState;

static void *
zstd_alloc(void *opaque, size_t size)
{
	const LsmAllocator *a = (const LsmAllocator *) opaque;

	return a->alloc(a->ctx, size);
}

static void
zstd_free(void *opaque, void *address)
{
	const LsmAllocator *a = (const LsmAllocator *) opaque;

	if (address != NULL)
		a->free(a->ctx, address);
}

/*
 * lsm_encoder_create
 *		Create an encoder; its scratch buffers are reused across chunks.
 */
LsmEncoder *
lsm_encoder_create(const LsmAllocator *alloc)
{
	LsmEncoder *e = alloc->alloc(alloc->ctx, sizeof(LsmEncoder));

	if (e == NULL)
		return NULL;
	memset(e, 0, sizeof(LsmEncoder));
	e->alloc = *alloc;
	return e;
}

/*
 * lsm_encoder_free
 *		Release the encoder and all its scratch memory.
 */
void
lsm_encoder_free(LsmEncoder *e)
{
	void	   *bufs[7];
	int			i;

	if (e == NULL)
		return;
	bufs[0] = e->rows;
	bufs[1] = e->vals;
	bufs[2] = e->t1;
	bufs[3] = e->t2;
	bufs[4] = e->hash;
	bufs[5] = e->dict;
	bufs[6] = e->zbuf;
	for (i = 0; i < 7; i++)
		if (bufs[i] != NULL)
			e->alloc.free(e->alloc.ctx, bufs[i]);
	if (e->cctx != NULL)
		ZSTD_freeCCtx(e->cctx);
	e->alloc.free(e->alloc.ctx, e);
}

/*
 * Make *buf hold at least size bytes; old contents are not preserved.
 */
static int
ensure(LsmEncoder *e, void **buf, size_t *cap, size_t size)
{
	void	   *p;

	if (size <= *cap && *buf != NULL)
		return LSM_OK;
	if (*buf != NULL)
		e->alloc.free(e->alloc.ctx, *buf);
	*buf = NULL;
	*cap = 0;
	if (size < 64)
		size = 64;
	p = e->alloc.alloc(e->alloc.ctx, size);
	if (p == NULL)
		return LSM_ERR_NOMEM;
	*buf = p;
	*cap = size;
	return LSM_OK;
}

#define ENSURE(e, field, capfield, size) \
	ensure((e), (void **) &(e)->field, &(e)->capfield, (size))

/*
 * Reserve space for the chunk's null bitmap plus body_len bytes of body in
 * the destination, write the bitmap and return a pointer to the body.
 */
static int
begin_body(EncState *s, uint64_t body_len, uint8_t **body)
{
	uint64_t	bitmap_len = (s->m < s->n) ? ((uint64_t) s->n + 7) / 8 : 0;
	uint64_t	total = bitmap_len + body_len;
	uint8_t    *p;
	int			rc;

	if (total > UINT32_MAX || total > SIZE_MAX)
		return LSM_ERR_ARG;
	rc = lsm_buf_reserve(s->dst, (size_t) total);
	if (rc != LSM_OK)
		return rc;
	p = s->dst->data + s->dst->len;
	if (bitmap_len > 0)
	{
		uint32_t	i;

		memset(p, 0, (size_t) bitmap_len);
		for (i = 0; i < s->n; i++)
			if (s->cd->nulls[i])
				p[i >> 3] |= (uint8_t) (1 << (i & 7));
	}
	*body = p + bitmap_len;
	s->dst->len += (size_t) total;
	s->res->raw_len = (uint32_t) total;
	return LSM_OK;
}

/* ---- INT ---- */

/*
 * Encode the non-null INT values as CONST, FOR, PLAIN, DELTA or RLE,
 * whichever is smallest, and compute the zone map.  Values must fit the
 * column's width (LSM_ERR_ARG otherwise).
 */
static int
encode_int(EncState *s)
{
	LsmEncoder *e = s->e;
	const int64_t *ints = s->cd->ints;
	uint32_t	m = s->m;
	int			width = s->col->width;
	int64_t		min;
	int64_t		max;
	int64_t		lo;
	int64_t		hi;
	uint32_t	k;
	int			bw;
	int			dbw = 0;
	int			lbw;
	int64_t		dmin = 0;
	int64_t		dmax = 0;
	uint32_t	nruns;
	uint64_t	maxrun;
	uint64_t	run;
	uint64_t	best;
	uint64_t	sz;
	uint8_t		enc;
	uint8_t    *p;
	int			rc;

	if (ints == NULL)
		return LSM_ERR_ARG;
	rc = ENSURE(e, vals, vals_cap, (size_t) m * sizeof(uint64_t));
	if (rc == LSM_OK)
		rc = ENSURE(e, t1, t1_cap, (size_t) m * sizeof(uint64_t));
	if (rc == LSM_OK)
		rc = ENSURE(e, t2, t2_cap, (size_t) m * sizeof(uint64_t));
	if (rc != LSM_OK)
		return rc;

	min = max = ints[e->rows[0]];
	for (k = 0; k < m; k++)
	{
		int64_t		v = ints[e->rows[k]];

		e->vals[k] = (uint64_t) v;
		if (v < min)
			min = v;
		if (v > max)
			max = v;
	}
	if (width < 8)
	{
		lo = -(INT64_C(1) << (width * 8 - 1));
		hi = (INT64_C(1) << (width * 8 - 1)) - 1;
		if (min < lo || max > hi)
			return LSM_ERR_ARG;
	}
	s->res->has_minmax = true;
	s->res->zmin = min;
	s->res->zmax = max;

	if (min == max)
	{
		rc = begin_body(s, 8, &p);
		if (rc != LSM_OK)
			return rc;
		lsm_store64(p, (uint64_t) min);
		s->res->encoding = LSM_ENC_CONST;
		return LSM_OK;
	}

	/* FOR */
	bw = lsm_bits_needed((uint64_t) max - (uint64_t) min);
	best = 9 + lsm_bitpack_size(m, bw);
	enc = LSM_ENC_FOR;

	/* PLAIN */
	sz = (uint64_t) m * width;
	if (sz < best)
	{
		best = sz;
		enc = LSM_ENC_PLAIN;
	}

	/* DELTA */
	if (m >= 2)
	{
		dmin = dmax = (int64_t) (e->vals[1] - e->vals[0]);
		for (k = 2; k < m; k++)
		{
			int64_t		d = (int64_t) (e->vals[k] - e->vals[k - 1]);

			if (d < dmin)
				dmin = d;
			if (d > dmax)
				dmax = d;
		}
		dbw = lsm_bits_needed((uint64_t) dmax - (uint64_t) dmin);
		sz = 17 + lsm_bitpack_size(m - 1, dbw);
		if (sz < best)
		{
			best = sz;
			enc = LSM_ENC_DELTA;
		}
	}

	/* RLE */
	nruns = 1;
	maxrun = 1;
	run = 1;
	for (k = 1; k < m; k++)
	{
		if (e->vals[k] == e->vals[k - 1])
			run++;
		else
		{
			if (run > maxrun)
				maxrun = run;
			run = 1;
			nruns++;
		}
	}
	if (run > maxrun)
		maxrun = run;
	lbw = lsm_bits_needed(maxrun - 1);
	sz = 14 + lsm_bitpack_size(nruns, bw) + lsm_bitpack_size(nruns, lbw);
	if (sz < best)
	{
		best = sz;
		enc = LSM_ENC_RLE;
	}

	rc = begin_body(s, best, &p);
	if (rc != LSM_OK)
		return rc;
	s->res->encoding = enc;

	switch (enc)
	{
		case LSM_ENC_FOR:
			lsm_store64(p, (uint64_t) min);
			p[8] = (uint8_t) bw;
			for (k = 0; k < m; k++)
				e->t1[k] = e->vals[k] - (uint64_t) min;
			lsm_bitpack(e->t1, m, bw, p + 9);
			break;
		case LSM_ENC_PLAIN:
			for (k = 0; k < m; k++)
			{
				switch (width)
				{
					case 1:
						p[k] = (uint8_t) e->vals[k];
						break;
					case 2:
						lsm_store16(p + 2 * (size_t) k, (uint16_t) e->vals[k]);
						break;
					case 4:
						lsm_store32(p + 4 * (size_t) k, (uint32_t) e->vals[k]);
						break;
					default:
						lsm_store64(p + 8 * (size_t) k, e->vals[k]);
						break;
				}
			}
			break;
		case LSM_ENC_DELTA:
			lsm_store64(p, e->vals[0]);
			lsm_store64(p + 8, (uint64_t) dmin);
			p[16] = (uint8_t) dbw;
			for (k = 1; k < m; k++)
				e->t1[k - 1] = e->vals[k] - e->vals[k - 1] - (uint64_t) dmin;
			lsm_bitpack(e->t1, m - 1, dbw, p + 17);
			break;
		case LSM_ENC_RLE:
			{
				uint32_t	r = 0;

				run = 1;
				for (k = 1; k <= m; k++)
				{
					if (k < m && e->vals[k] == e->vals[k - 1])
						run++;
					else
					{
						e->t1[r] = e->vals[k - 1] - (uint64_t) min;
						e->t2[r] = run - 1;
						r++;
						run = 1;
					}
				}
				lsm_store32(p, nruns);
				lsm_store64(p + 4, (uint64_t) min);
				p[12] = (uint8_t) bw;
				p[13] = (uint8_t) lbw;
				lsm_bitpack(e->t1, nruns, bw, p + 14);
				lsm_bitpack(e->t2, nruns, lbw,
							p + 14 + lsm_bitpack_size(nruns, bw));
			}
			break;
	}
	return LSM_OK;
}

/* ---- dictionary building (FIXED and VARLEN) ---- */

static inline void
get_value(const EncState *s, uint32_t k, const uint8_t **ptr, uint64_t *len)
{
	uint32_t	row = s->e->rows[k];

	if (s->col->kind == LSM_KIND_FIXED)
	{
		*ptr = s->cd->fixed + (size_t) row * s->col->width;
		*len = s->col->width;
	}
	else
	{
		*ptr = s->cd->var_data[row];
		*len = s->cd->var_len[row];
	}
}

static inline bool
values_equal(const uint8_t *a, uint64_t alen, const uint8_t *b, uint64_t blen)
{
	if (alen != blen)
		return false;
	return alen == 0 || memcmp(a, b, (size_t) alen) == 0;
}

/*
 * Try to build a dictionary of at most limit distinct values.  On success
 * *ndict is set, e->dict[] holds the dense index of each entry's first
 * occurrence and e->t1[] the code of every dense value.  *ndict is 0 when
 * there are more than limit distinct values.
 */
static int
build_dict(EncState *s, uint32_t limit, uint32_t *ndict)
{
	LsmEncoder *e = s->e;
	size_t		hsize = 16;
	size_t		mask;
	uint32_t	nd = 0;
	uint32_t	k;
	int			rc;

	*ndict = 0;
	while (hsize < (size_t) limit * 2 + 2)
		hsize *= 2;
	mask = hsize - 1;
	rc = ENSURE(e, hash, hash_cap, hsize * sizeof(uint32_t));
	if (rc == LSM_OK)
		rc = ENSURE(e, dict, dict_cap, ((size_t) limit + 1) * sizeof(uint32_t));
	if (rc == LSM_OK)
		rc = ENSURE(e, t1, t1_cap, (size_t) s->m * sizeof(uint64_t));
	if (rc != LSM_OK)
		return rc;
	memset(e->hash, 0, hsize * sizeof(uint32_t));

	for (k = 0; k < s->m; k++)
	{
		const uint8_t *ptr;
		uint64_t	len;
		size_t		h;

		get_value(s, k, &ptr, &len);
		h = (size_t) lsm_checksum(len ? ptr : (const uint8_t *) "", (size_t) len) & mask;
		for (;;)
		{
			uint32_t	slot = e->hash[h];
			const uint8_t *dptr;
			uint64_t	dlen;

			if (slot == 0)
			{
				if (nd == limit)
					return LSM_OK;	/* too many distinct values */
				e->dict[nd] = k;
				e->hash[h] = ++nd;
				e->t1[k] = nd - 1;
				break;
			}
			get_value(s, e->dict[slot - 1], &dptr, &dlen);
			if (values_equal(ptr, len, dptr, dlen))
			{
				e->t1[k] = slot - 1;
				break;
			}
			h = (h + 1) & mask;
		}
	}
	*ndict = nd;
	return LSM_OK;
}

/* Largest dictionary worth building for m values */
static uint32_t
dict_limit(uint32_t m)
{
	uint32_t	limit = m / 2;

	return limit > LSM_DICT_MAX ? LSM_DICT_MAX : limit;
}

/* ---- FIXED ---- */

/*
 * Encode the non-null FIXED values as CONST, PLAIN or DICT.
 */
static int
encode_fixed(EncState *s)
{
	LsmEncoder *e = s->e;
	const uint8_t *fixed = s->cd->fixed;
	size_t		w = s->col->width;
	uint32_t	m = s->m;
	const uint8_t *first;
	uint32_t	k;
	uint32_t	ndict = 0;
	int			cbw = 0;
	uint64_t	best;
	uint64_t	sz;
	uint8_t		enc;
	uint8_t    *p;
	int			rc;

	if (fixed == NULL)
		return LSM_ERR_ARG;

	first = fixed + (size_t) e->rows[0] * w;
	for (k = 1; k < m; k++)
		if (memcmp(first, fixed + (size_t) e->rows[k] * w, w) != 0)
			break;
	if (k == m)
	{
		rc = begin_body(s, w, &p);
		if (rc != LSM_OK)
			return rc;
		memcpy(p, first, w);
		s->res->encoding = LSM_ENC_CONST;
		return LSM_OK;
	}

	best = (uint64_t) m * w;
	enc = LSM_ENC_PLAIN;

	rc = build_dict(s, dict_limit(m), &ndict);
	if (rc != LSM_OK)
		return rc;
	if (ndict > 0)
	{
		cbw = lsm_bits_needed(ndict - 1);
		sz = 5 + (uint64_t) ndict * w + lsm_bitpack_size(m, cbw);
		if (sz < best)
		{
			best = sz;
			enc = LSM_ENC_DICT;
		}
	}

	rc = begin_body(s, best, &p);
	if (rc != LSM_OK)
		return rc;
	s->res->encoding = enc;
	if (enc == LSM_ENC_PLAIN)
	{
		if (m == s->n)
			memcpy(p, fixed, (size_t) m * w);
		else
			for (k = 0; k < m; k++)
				memcpy(p + (size_t) k * w, fixed + (size_t) e->rows[k] * w, w);
	}
	else
	{
		lsm_store32(p, ndict);
		p[4] = (uint8_t) cbw;
		for (k = 0; k < ndict; k++)
			memcpy(p + 5 + (size_t) k * w,
				   fixed + (size_t) e->rows[e->dict[k]] * w, w);
		lsm_bitpack(e->t1, m, cbw, p + 5 + (size_t) ndict * w);
	}
	return LSM_OK;
}

/* ---- VARLEN ---- */

/*
 * Encode the non-null VARLEN values as CONST, PLAIN or DICT.
 */
static int
encode_varlen(EncState *s)
{
	LsmEncoder *e = s->e;
	uint32_t	m = s->m;
	const uint8_t *fptr;
	uint64_t	flen;
	uint64_t	total = 0;
	uint32_t	lmin = UINT32_MAX;
	uint32_t	lmax = 0;
	int			lbw;
	bool		isconst = true;
	uint32_t	ndict = 0;
	uint32_t	dlmin = UINT32_MAX;
	uint32_t	dlmax = 0;
	uint64_t	dtotal = 0;
	int			dlbw = 0;
	int			cbw = 0;
	uint64_t	best;
	uint64_t	sz;
	uint8_t		enc;
	uint8_t    *p;
	uint32_t	k;
	int			rc;

	if (s->cd->var_data == NULL || s->cd->var_len == NULL)
		return LSM_ERR_ARG;

	get_value(s, 0, &fptr, &flen);
	for (k = 0; k < m; k++)
	{
		const uint8_t *ptr;
		uint64_t	len;

		get_value(s, k, &ptr, &len);
		if (len > 0 && ptr == NULL)
			return LSM_ERR_ARG;
		total += len;
		if (len < lmin)
			lmin = (uint32_t) len;
		if (len > lmax)
			lmax = (uint32_t) len;
		if (isconst && k > 0 && !values_equal(ptr, len, fptr, flen))
			isconst = false;
	}

	if (isconst)
	{
		rc = begin_body(s, 4 + flen, &p);
		if (rc != LSM_OK)
			return rc;
		lsm_store32(p, (uint32_t) flen);
		if (flen > 0)
			memcpy(p + 4, fptr, (size_t) flen);
		s->res->encoding = LSM_ENC_CONST;
		return LSM_OK;
	}

	rc = ENSURE(e, t2, t2_cap, (size_t) m * sizeof(uint64_t));
	if (rc != LSM_OK)
		return rc;

	lbw = lsm_bits_needed((uint64_t) lmax - lmin);
	best = 5 + lsm_bitpack_size(m, lbw) + total;
	enc = LSM_ENC_PLAIN;

	rc = build_dict(s, dict_limit(m), &ndict);
	if (rc != LSM_OK)
		return rc;
	if (ndict > 0)
	{
		for (k = 0; k < ndict; k++)
		{
			const uint8_t *ptr;
			uint64_t	len;

			get_value(s, e->dict[k], &ptr, &len);
			dtotal += len;
			if (len < dlmin)
				dlmin = (uint32_t) len;
			if (len > dlmax)
				dlmax = (uint32_t) len;
		}
		dlbw = lsm_bits_needed((uint64_t) dlmax - dlmin);
		cbw = lsm_bits_needed(ndict - 1);
		sz = 9 + lsm_bitpack_size(ndict, dlbw) + dtotal + 1 +
			lsm_bitpack_size(m, cbw);
		if (sz < best)
		{
			best = sz;
			enc = LSM_ENC_DICT;
		}
	}

	rc = begin_body(s, best, &p);
	if (rc != LSM_OK)
		return rc;
	s->res->encoding = enc;
	if (enc == LSM_ENC_PLAIN)
	{
		for (k = 0; k < m; k++)
			e->t2[k] = s->cd->var_len[e->rows[k]] - lmin;
		lsm_store32(p, lmin);
		p[4] = (uint8_t) lbw;
		lsm_bitpack(e->t2, m, lbw, p + 5);
		p += 5 + lsm_bitpack_size(m, lbw);
		for (k = 0; k < m; k++)
		{
			const uint8_t *ptr;
			uint64_t	len;

			get_value(s, k, &ptr, &len);
			if (len > 0)
				memcpy(p, ptr, (size_t) len);
			p += len;
		}
	}
	else
	{
		/* t1 holds the codes; t2 the entry lengths */
		for (k = 0; k < ndict; k++)
			e->t2[k] = s->cd->var_len[e->rows[e->dict[k]]] - dlmin;
		lsm_store32(p, ndict);
		lsm_store32(p + 4, dlmin);
		p[8] = (uint8_t) dlbw;
		lsm_bitpack(e->t2, ndict, dlbw, p + 9);
		p += 9 + lsm_bitpack_size(ndict, dlbw);
		for (k = 0; k < ndict; k++)
		{
			const uint8_t *ptr;
			uint64_t	len;

			get_value(s, e->dict[k], &ptr, &len);
			if (len > 0)
				memcpy(p, ptr, (size_t) len);
			p += len;
		}
		p[0] = (uint8_t) cbw;
		lsm_bitpack(e->t1, m, cbw, p + 1);
	}
	return LSM_OK;
}

/*
 * Replace the raw chunk at dst->data + start with its zstd compression if
 * that saves at least min_gain_pct percent.  Chunks under
 * LSM_ZSTD_MIN_INPUT bytes are not tried: a frame's own overhead leaves
 * little to gain, and setting up a compression context costs more than the
 * rest of a small segment's encoding (a single-row UPDATE writes one).
 */
static int
maybe_compress(LsmEncoder *e, LsmBuf *dst, size_t start, int level,
			   uint32_t min_gain_pct, LsmEncResult *res)
{
	size_t		raw_len = res->raw_len;
	size_t		bound;
	size_t		r;
	int			rc;

	if (raw_len < LSM_ZSTD_MIN_INPUT)
		return LSM_OK;
	if (e->cctx == NULL)
	{
		ZSTD_customMem cmem;

		cmem.customAlloc = zstd_alloc;
		cmem.customFree = zstd_free;
		cmem.opaque = &e->alloc;
		e->cctx = ZSTD_createCCtx_advanced(cmem);
		if (e->cctx == NULL)
			return LSM_ERR_NOMEM;
	}
	bound = ZSTD_compressBound(raw_len);
	if (ZSTD_isError(bound))
		return LSM_ERR_ZSTD;
	rc = ENSURE(e, zbuf, zbuf_cap, bound);
	if (rc != LSM_OK)
		return rc;
	r = ZSTD_compressCCtx(e->cctx, e->zbuf, bound, dst->data + start, raw_len,
						  level);
	if (ZSTD_isError(r))
		return LSM_ERR_ZSTD;
	if (r < raw_len &&
		(uint64_t) (raw_len - r) * 100 >= (uint64_t) raw_len * min_gain_pct)
	{
		memcpy(dst->data + start, e->zbuf, r);
		dst->len = start + r;
		res->compression = LSM_COMP_ZSTD;
	}
	return LSM_OK;
}

/*
 * lsm_encode_chunk
 *		Encode n rows of one column and append the stored bytes to dst.
 *
 * res receives everything the directory entry needs except the offset.
 * Dropped columns and columns whose values are all NULL are stored as
 * LSM_ENC_NONE with zero bytes (and no tag).  A VARLEN chunk with a nonzero
 * cd->int_tag is encoded from cd->ints as an INT chunk of width 8 and
 * res->int_tag set.  Returns LSM_ERR_ARG for bad input (missing value
 * arrays, INT values out of range for the width, a tag on a column that is
 * not VARLEN, a chunk of 4 GB or more).
 */
int
lsm_encode_chunk(LsmEncoder *e, const LsmColumnDesc *col,
				 uint32_t n, const LsmColumnData *cd,
				 int zstd_level, uint32_t zstd_min_gain_pct,
				 LsmBuf *dst, LsmEncResult *res)
{
	size_t		start = dst->len;
	EncState	s;
	uint32_t	i;
	uint32_t	m = 0;
	int			rc;

	memset(res, 0, sizeof(LsmEncResult));
	res->encoding = LSM_ENC_NONE;
	res->compression = LSM_COMP_NONE;

	if (col->flags & LSM_COLF_DROPPED)
	{
		res->null_count = n;
		res->checksum = lsm_checksum("", 0);
		return LSM_OK;
	}
	if (cd == NULL || (cd->int_tag != 0 && col->kind != LSM_KIND_VARLEN))
		return LSM_ERR_ARG;

	rc = ENSURE(e, rows, rows_cap, (size_t) n * sizeof(uint32_t));
	if (rc != LSM_OK)
		return rc;
	if (cd->nulls == NULL)
	{
		for (i = 0; i < n; i++)
			e->rows[i] = i;
		m = n;
	}
	else
	{
		for (i = 0; i < n; i++)
			if (!cd->nulls[i])
				e->rows[m++] = i;
	}
	res->null_count = n - m;
	if (m == 0)
	{
		res->checksum = lsm_checksum("", 0);
		return LSM_OK;
	}

	s.e = e;
	s.col = col;
	s.cd = cd;
	s.n = n;
	s.m = m;
	s.dst = dst;
	s.res = res;

	if (col->kind == LSM_KIND_VARLEN && cd->int_tag != 0)
	{
		/* integers standing for the values: an INT chunk of width 8 */
		LsmColumnDesc as_int = *col;

		as_int.kind = LSM_KIND_INT;
		as_int.width = 8;
		s.col = &as_int;
		res->int_tag = cd->int_tag;
		rc = encode_int(&s);
		/* the zone map stays the caller's (VARLEN) one */
		res->has_minmax = false;
		s.col = col;
	}
	else if (col->kind == LSM_KIND_INT)
		rc = encode_int(&s);
	else if (col->kind == LSM_KIND_FIXED)
		rc = encode_fixed(&s);
	else if (col->kind == LSM_KIND_VARLEN)
		rc = encode_varlen(&s);
	else
		rc = LSM_ERR_ARG;
	if (rc == LSM_OK && zstd_level > 0 && res->raw_len > 0)
		rc = maybe_compress(e, dst, start, zstd_level, zstd_min_gain_pct, res);
	if (rc != LSM_OK)
	{
		dst->len = start;
		return rc;
	}
	res->stored_len = (uint32_t) (dst->len - start);
	res->checksum = lsm_checksum(dst->data + start, dst->len - start);
	return LSM_OK;
}
