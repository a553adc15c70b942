/*-------------------------------------------------------------------------
 *
 * lsm_decode.c
 *	  Decoding of one column chunk into an LsmDecoded.
 *
 * NOTES
 *	  Every length, count and bit width read from the chunk is checked
 *	  against the bytes actually present before it is used; a chunk that
 *	  does not parse exactly (trailing bytes included) is LSM_ERR_CORRUPT.
 *	  The checksum is verified first, so corruption is normally reported as
 *	  LSM_ERR_CHECKSUM; the structural checks are what keeps a forged or
 *	  colliding chunk from crashing the reader.
 *
 *	  A VARLEN chunk with a representation tag (format version 2) holds
 *	  i64 values: it is decoded exactly as an INT chunk of width 8, and the
 *	  tag is handed back in LsmDecoded.int_tag.
 *
 *	  Values are first decoded densely (only the non-null values, as stored)
 *	  to the start of the output arrays and then, if there are NULLs, spread
 *	  out to their rows in place, walking backwards.
 *
 *	  The LsmDecoded owns its buffers and reuses them across calls:
 *		scratch[0]	nulls (n bytes)
 *		scratch[1]	ints / fixed values; for VARLEN the unpacked lengths or
 *					dictionary codes
 *		scratch[2]	var_data pointers
 *		scratch[3]	var_len
 *		scratch[4]	the raw (decompressed or copied) chunk bytes that
 *					VARLEN var_data point into
 *		scratch[5]	a DecAux: the zstd decompression context and a
 *					temporary array for dictionaries and RLE runs
 *
 *-------------------------------------------------------------------------
 */
#define ZSTD_STATIC_LINKING_ONLY	/* for ZSTD_customMem */
#include <zstd.h>

#include "lsm_format_int.h"

#define SLOT_NULLS		0
#define SLOT_VALUES		1
#define SLOT_VARDATA	2
#define SLOT_VARLEN		3
#define SLOT_RAW		4
#define SLOT_AUX		5

typedef struct DecAux
{
	LsmAllocator alloc;			/* copy, the opaque of the zstd context */
	ZSTD_DCtx  *dctx;
	uint64_t   *tmp;
	size_t		tmp_cap;		/* in uint64s */
} DecAux;

static const LsmColumnDesc rowid_column = {0, LSM_KIND_INT, 0, 8, 8, 1, 0, -1};
static const LsmColumnDesc cid_column = {0, LSM_KIND_INT, 0, 4, 4, 1, 0, -1};
/* how a VARLEN chunk with a representation tag is decoded */
static const LsmColumnDesc tagged_column = {0, LSM_KIND_INT, 0, 8, 8, 1, 0, -1};

/* what a VARLEN NULL or empty value points at */
static const uint8_t empty_value[1] = {0};

/*
 * lsm_rowid_column / lsm_cid_column
 *		Descriptors to pass to lsm_decode_chunk for the rowid (INT 8) and
 *		command-id (INT 4) chunks.
 */
const LsmColumnDesc *
lsm_rowid_column(void)
{
	return &rowid_column;
}

const LsmColumnDesc *
lsm_cid_column(void)
{
	return &cid_column;
}

/*
 * lsm_decoded_init
 *		Prepare an empty LsmDecoded that allocates from alloc.
 *
 * alloc must stay valid until lsm_decoded_free.
 */
void
lsm_decoded_init(LsmDecoded *d, const LsmAllocator *alloc)
{
	memset(d, 0, sizeof(LsmDecoded));
	d->alloc = alloc;
}

/*
 * lsm_decoded_free
 *		Release all buffers; the struct may be lsm_decoded_init'ed again.
 */
void
lsm_decoded_free(LsmDecoded *d)
{
	int			i;

	if (d->alloc == NULL)
		return;
	for (i = 0; i < 6; i++)
	{
		if (d->scratch[i] == NULL)
			continue;
		if (i == SLOT_AUX)
		{
			DecAux	   *aux = (DecAux *) d->scratch[i];

			if (aux->dctx != NULL)
				ZSTD_freeDCtx(aux->dctx);
			if (aux->tmp != NULL)
				d->alloc->free(d->alloc->ctx, aux->tmp);
		}
		d->alloc->free(d->alloc->ctx, d->scratch[i]);
		d->scratch[i] = NULL;
		d->scratch_cap[i] = 0;
	}
	d->n = 0;
	d->has_nulls = false;
	d->nulls = NULL;
	d->ints = NULL;
	d->fixed = NULL;
	d->var_data = NULL;
	d->var_len = NULL;
}

/*
 * Return scratch buffer "slot" with room for at least size bytes.  Contents
 * are not preserved when it grows.
 */
static void *
get_slot(LsmDecoded *d, int slot, size_t size)
{
	void	   *p;

	if (d->scratch[slot] != NULL && d->scratch_cap[slot] >= size)
		return d->scratch[slot];
	if (d->scratch[slot] != NULL)
		d->alloc->free(d->alloc->ctx, d->scratch[slot]);
	d->scratch[slot] = NULL;
	d->scratch_cap[slot] = 0;
	if (size < 64)
		size = 64;
	p = d->alloc->alloc(d->alloc->ctx, size);
	if (p == NULL)
		return NULL;
	d->scratch[slot] = p;
	d->scratch_cap[slot] = size;
	return p;
}

static DecAux *
get_aux(LsmDecoded *d)
{
	DecAux	   *aux = (DecAux *) d->scratch[SLOT_AUX];

	if (aux != NULL)
		return aux;
	aux = d->alloc->alloc(d->alloc->ctx, sizeof(DecAux));
	if (aux == NULL)
		return NULL;
	memset(aux, 0, sizeof(DecAux));
	aux->alloc = *d->alloc;
	d->scratch[SLOT_AUX] = aux;
	d->scratch_cap[SLOT_AUX] = sizeof(DecAux);
	return aux;
}

/* A temporary array of count uint64s, owned by the aux struct */
static uint64_t *
get_tmp(LsmDecoded *d, size_t count)
{
	DecAux	   *aux = get_aux(d);

	if (aux == NULL)
		return NULL;
	if (aux->tmp != NULL && aux->tmp_cap >= count)
		return aux->tmp;
	if (aux->tmp != NULL)
		d->alloc->free(d->alloc->ctx, aux->tmp);
	aux->tmp_cap = 0;
	aux->tmp = d->alloc->alloc(d->alloc->ctx,
							   (count < 8 ? 8 : count) * sizeof(uint64_t));
	if (aux->tmp == NULL)
		return NULL;
	aux->tmp_cap = count < 8 ? 8 : count;
	return aux->tmp;
}

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

/* Is there a stream of m values of bw bits at body + pos within blen? */
static inline bool
stream_fits(uint64_t pos, uint64_t blen, uint64_t m, int bw)
{
	return bw <= 64 && pos <= blen && lsm_bitpack_size(m, bw) <= blen - pos;
}

/*
 * The layouts of the encodings with headers: each checks that the body is
 * exactly what its header says (stream widths and lengths) and returns
 * where the parts are.  Shared by the whole-chunk and one-row decoders.
 */

/* FOR: base (8 bytes), bit width, m packed values */
static int
for_layout(const uint8_t *body, uint64_t blen, uint32_t m, int *bw)
{
	if (blen < 9)
		return LSM_ERR_CORRUPT;
	*bw = body[8];
	if (!stream_fits(9, blen, m, *bw) || 9 + lsm_bitpack_size(m, *bw) != blen)
		return LSM_ERR_CORRUPT;
	return LSM_OK;
}

/* DELTA: first value, delta base (8 bytes each), bit width, m - 1 deltas */
static int
delta_layout(const uint8_t *body, uint64_t blen, uint32_t m, int *bw)
{
	if (blen < 17 || m == 0)
		return LSM_ERR_CORRUPT;
	*bw = body[16];
	if (!stream_fits(17, blen, m - 1, *bw) ||
		17 + lsm_bitpack_size(m - 1, *bw) != blen)
		return LSM_ERR_CORRUPT;
	return LSM_OK;
}

/*
 * RLE: run count (4), value base (8), value and length bit widths, the
 * values, then the lengths at *vpos
 */
static int
rle_layout(const uint8_t *body, uint64_t blen, uint32_t m, uint32_t *nruns,
		   int *bw, int *lbw, uint64_t *vpos)
{
	if (blen < 14)
		return LSM_ERR_CORRUPT;
	*nruns = lsm_load32(body);
	*bw = body[12];
	*lbw = body[13];
	if (*nruns == 0 || *nruns > m || !stream_fits(14, blen, *nruns, *bw))
		return LSM_ERR_CORRUPT;
	*vpos = 14 + lsm_bitpack_size(*nruns, *bw);
	if (!stream_fits(*vpos, blen, *nruns, *lbw) ||
		*vpos + lsm_bitpack_size(*nruns, *lbw) != blen)
		return LSM_ERR_CORRUPT;
	return LSM_OK;
}

/* FIXED DICT: entry count (4), code width, entries of w bytes, codes at *cpos */
static int
fixed_dict_layout(const uint8_t *body, uint64_t blen, uint32_t m, size_t w,
				  uint32_t *ndict, int *bw, uint64_t *cpos)
{
	if (blen < 5)
		return LSM_ERR_CORRUPT;
	*ndict = lsm_load32(body);
	*bw = body[4];
	if (*ndict == 0 || *ndict > LSM_DICT_MAX || *ndict > m ||
		(uint64_t) *ndict * w > blen - 5)
		return LSM_ERR_CORRUPT;
	*cpos = 5 + (uint64_t) *ndict * w;
	if (!stream_fits(*cpos, blen, m, *bw) || *cpos + lsm_bitpack_size(m, *bw) != blen)
		return LSM_ERR_CORRUPT;
	return LSM_OK;
}

/* VARLEN PLAIN: length base (4), length width, m lengths, then the bytes */
static int
varlen_plain_layout(const uint8_t *body, uint64_t blen, uint32_t m, int *bw)
{
	if (blen < 5)
		return LSM_ERR_CORRUPT;
	*bw = body[4];
	if (*bw > 32 || !stream_fits(5, blen, m, *bw))
		return LSM_ERR_CORRUPT;
	return LSM_OK;
}

/*
 * VARLEN DICT: entry count (4), length base (4), length width, the entries'
 * lengths, their bytes, code width, m codes.  Fills dlen/doff (ndict each,
 * d's temporary array) with each entry's length and offset in body; *cpos
 * and *cbw locate the codes.
 */
static int
varlen_dict_layout(LsmDecoded *d, const uint8_t *body, uint64_t blen,
				   uint32_t m, uint32_t *ndict, uint64_t **dlen,
				   uint64_t **doff, uint64_t *cpos, int *cbw)
{
	int			lbw;
	uint64_t	pos;
	uint64_t	avail;
	uint32_t	k;

	if (blen < 9)
		return LSM_ERR_CORRUPT;
	*ndict = lsm_load32(body);
	lbw = body[8];
	if (*ndict == 0 || *ndict > LSM_DICT_MAX || *ndict > m ||
		lbw > 32 || !stream_fits(9, blen, *ndict, lbw))
		return LSM_ERR_CORRUPT;
	*dlen = get_tmp(d, (size_t) *ndict * 2);
	if (*dlen == NULL)
		return LSM_ERR_NOMEM;
	*doff = *dlen + *ndict;
	lsm_bitunpack(body + 9, *ndict, lbw, lsm_load32(body + 4), *dlen);
	pos = 9 + lsm_bitpack_size(*ndict, lbw);
	avail = blen - pos;
	for (k = 0; k < *ndict; k++)
	{
		if ((*dlen)[k] > UINT32_MAX || (*dlen)[k] > avail)
			return LSM_ERR_CORRUPT;
		(*doff)[k] = pos;
		pos += (*dlen)[k];
		avail -= (*dlen)[k];
	}
	if (avail < 1)
		return LSM_ERR_CORRUPT;
	*cbw = body[pos];
	pos++;
	if (!stream_fits(pos, blen, m, *cbw) ||
		pos + lsm_bitpack_size(m, *cbw) != blen)
		return LSM_ERR_CORRUPT;
	*cpos = pos;
	return LSM_OK;
}

/* ---- INT ---- */

/*
 * Decode the body of an INT chunk: m values into out (as uint64, i.e. the
 * int64 bit patterns).
 */
static int
decode_int(LsmDecoded *d, int width, uint8_t enc, const uint8_t *body,
		   uint64_t blen, uint32_t m, uint64_t *out)
{
	uint32_t	k;
	int			bw;

	switch (enc)
	{
		case LSM_ENC_CONST:
			{
				uint64_t	v;

				if (blen != 8)
					return LSM_ERR_CORRUPT;
				v = lsm_load64(body);
				for (k = 0; k < m; k++)
					out[k] = v;
				return LSM_OK;
			}
		case LSM_ENC_FOR:
			if (for_layout(body, blen, m, &bw) != LSM_OK)
				return LSM_ERR_CORRUPT;
			lsm_bitunpack(body + 9, m, bw, lsm_load64(body), out);
			return LSM_OK;
		case LSM_ENC_DELTA:
			{
				uint64_t	acc;

				if (delta_layout(body, blen, m, &bw) != LSM_OK)
					return LSM_ERR_CORRUPT;
				acc = lsm_load64(body);
				if (bw == 0)
				{
					/* constant step, e.g. consecutive rowids */
					uint64_t	step = lsm_load64(body + 8);
					uint64_t	step4 = step * 4;
					uint64_t	v0 = acc;
					uint64_t	v1 = acc + step;
					uint64_t	v2 = acc + step * 2;
					uint64_t	v3 = acc + step * 3;

					for (k = 0; k + 4 <= m; k += 4)
					{
						out[k] = v0;
						out[k + 1] = v1;
						out[k + 2] = v2;
						out[k + 3] = v3;
						v0 += step4;
						v1 += step4;
						v2 += step4;
						v3 += step4;
					}
					for (; k < m; k++)
					{
						out[k] = v0;
						v0 += step;
					}
					return LSM_OK;
				}
				lsm_bitunpack(body + 17, m - 1, bw, lsm_load64(body + 8),
							  out + 1);
				out[0] = acc;
				for (k = 1; k < m; k++)
				{
					acc += out[k];
					out[k] = acc;
				}
				return LSM_OK;
			}
		case LSM_ENC_RLE:
			{
				uint32_t	nruns;
				int			lbw;
				uint64_t	vpos;
				uint64_t   *tmp;
				uint32_t	r;
				uint32_t	pos = 0;

				if (rle_layout(body, blen, m, &nruns, &bw, &lbw, &vpos) != LSM_OK)
					return LSM_ERR_CORRUPT;
				tmp = get_tmp(d, (size_t) nruns * 2);
				if (tmp == NULL)
					return LSM_ERR_NOMEM;
				lsm_bitunpack(body + 14, nruns, bw, lsm_load64(body + 4), tmp);
				lsm_bitunpack(body + vpos, nruns, lbw, 1, tmp + nruns);
				for (r = 0; r < nruns; r++)
				{
					uint64_t	len = tmp[nruns + r];
					uint64_t	v = tmp[r];

					if (len == 0 || len > m - pos)
						return LSM_ERR_CORRUPT;
					for (k = 0; k < len; k++)
						out[pos + k] = v;
					pos += (uint32_t) len;
				}
				if (pos != m)
					return LSM_ERR_CORRUPT;
				return LSM_OK;
			}
		case LSM_ENC_PLAIN:
			if (blen != (uint64_t) m * width)
				return LSM_ERR_CORRUPT;
			switch (width)
			{
				case 1:
					for (k = 0; k < m; k++)
						out[k] = (uint64_t) (int64_t) (int8_t) body[k];
					break;
				case 2:
					for (k = 0; k < m; k++)
						out[k] = (uint64_t) (int64_t) (int16_t) lsm_load16(body + 2 * (size_t) k);
					break;
				case 4:
					for (k = 0; k < m; k++)
						out[k] = (uint64_t) (int64_t) (int32_t) lsm_load32(body + 4 * (size_t) k);
					break;
				default:
					for (k = 0; k < m; k++)
						out[k] = lsm_load64(body + 8 * (size_t) k);
					break;
			}
			return LSM_OK;
	}
	return LSM_ERR_CORRUPT;
}

/* ---- FIXED ---- */

/*
 * Decode the body of a FIXED chunk: m values of w bytes into out.
 */
static int
decode_fixed(LsmDecoded *d, size_t w, uint8_t enc, const uint8_t *body,
			 uint64_t blen, uint32_t m, uint8_t *out)
{
	uint32_t	k;

	switch (enc)
	{
		case LSM_ENC_CONST:
			if (blen != w)
				return LSM_ERR_CORRUPT;
			for (k = 0; k < m; k++)
				memcpy(out + (size_t) k * w, body, w);
			return LSM_OK;
		case LSM_ENC_PLAIN:
			if (blen != (uint64_t) m * w)
				return LSM_ERR_CORRUPT;
			memcpy(out, body, (size_t) m * w);
			return LSM_OK;
		case LSM_ENC_DICT:
			{
				uint32_t	ndict;
				int			bw;
				uint64_t	cpos;
				uint64_t   *codes;
				const uint8_t *dict = body + 5;

				if (fixed_dict_layout(body, blen, m, w, &ndict, &bw, &cpos) != LSM_OK)
					return LSM_ERR_CORRUPT;
				codes = get_tmp(d, m);
				if (codes == NULL)
					return LSM_ERR_NOMEM;
				lsm_bitunpack(body + cpos, m, bw, 0, codes);
				for (k = 0; k < m; k++)
				{
					if (codes[k] >= ndict)
						return LSM_ERR_CORRUPT;
					memcpy(out + (size_t) k * w, dict + (size_t) codes[k] * w, w);
				}
				return LSM_OK;
			}
	}
	return LSM_ERR_CORRUPT;
}

/* ---- VARLEN ---- */

/*
 * Decode the body of a VARLEN chunk into data/lens (m entries).  body must
 * be memory owned by the LsmDecoded; tmpvals has room for m uint64s.
 */
static int
decode_varlen(LsmDecoded *d, uint8_t enc, const uint8_t *body,
			  uint64_t blen, uint32_t m, uint64_t *tmpvals,
			  const uint8_t **data, uint32_t *lens)
{
	uint32_t	k;

	switch (enc)
	{
		case LSM_ENC_CONST:
			{
				uint32_t	len;

				if (blen < 4)
					return LSM_ERR_CORRUPT;
				len = lsm_load32(body);
				if ((uint64_t) len != blen - 4)
					return LSM_ERR_CORRUPT;
				for (k = 0; k < m; k++)
				{
					data[k] = body + 4;
					lens[k] = len;
				}
				return LSM_OK;
			}
		case LSM_ENC_PLAIN:
			{
				int			bw;
				uint64_t	pos;
				uint64_t	avail;

				if (varlen_plain_layout(body, blen, m, &bw) != LSM_OK)
					return LSM_ERR_CORRUPT;
				lsm_bitunpack(body + 5, m, bw, lsm_load32(body), tmpvals);
				pos = 5 + lsm_bitpack_size(m, bw);
				avail = blen - pos;
				for (k = 0; k < m; k++)
				{
					uint64_t	len = tmpvals[k];

					if (len > UINT32_MAX || len > avail)
						return LSM_ERR_CORRUPT;
					data[k] = len ? body + pos : empty_value;
					lens[k] = (uint32_t) len;
					pos += len;
					avail -= len;
				}
				if (avail != 0)
					return LSM_ERR_CORRUPT;
				return LSM_OK;
			}
		case LSM_ENC_DICT:
			{
				uint32_t	ndict;
				int			cbw;
				uint64_t	pos;
				uint64_t   *dlen;
				uint64_t   *doff;
				int			rc;

				rc = varlen_dict_layout(d, body, blen, m, &ndict, &dlen, &doff,
										&pos, &cbw);
				if (rc != LSM_OK)
					return rc;
				lsm_bitunpack(body + pos, m, cbw, 0, tmpvals);
				for (k = 0; k < m; k++)
				{
					uint64_t	c = tmpvals[k];

					if (c >= ndict)
						return LSM_ERR_CORRUPT;
					data[k] = dlen[c] ? body + doff[c] : empty_value;
					lens[k] = (uint32_t) dlen[c];
				}
				return LSM_OK;
			}
	}
	return LSM_ERR_CORRUPT;
}


/* ---- one row (lsm_decode_chunk_row) ---- */

/* Value `rank` of the m values of an INT chunk body (checks as decode_int). */
static int
one_int(LsmDecoded *d, int width, uint8_t enc, const uint8_t *body,
		uint64_t blen, uint32_t m, uint32_t rank, uint64_t *v)
{
	int			bw;
	uint32_t	k;

	switch (enc)
	{
		case LSM_ENC_CONST:
			if (blen != 8)
				return LSM_ERR_CORRUPT;
			*v = lsm_load64(body);
			return LSM_OK;
		case LSM_ENC_FOR:
			if (for_layout(body, blen, m, &bw) != LSM_OK)
				return LSM_ERR_CORRUPT;
			*v = lsm_bitunpack_one(body + 9, rank, bw, lsm_load64(body));
			return LSM_OK;
		case LSM_ENC_DELTA:
			{
				uint64_t	acc;
				uint64_t   *tmp;

				if (delta_layout(body, blen, m, &bw) != LSM_OK)
					return LSM_ERR_CORRUPT;
				acc = lsm_load64(body);
				if (rank == 0)
					*v = acc;
				else if (bw == 0)
					*v = acc + lsm_load64(body + 8) * rank;
				else
				{
					/* the first `rank` deltas, summed */
					tmp = get_tmp(d, rank);
					if (tmp == NULL)
						return LSM_ERR_NOMEM;
					lsm_bitunpack(body + 17, rank, bw, lsm_load64(body + 8), tmp);
					for (k = 0; k < rank; k++)
						acc += tmp[k];
					*v = acc;
				}
				return LSM_OK;
			}
		case LSM_ENC_RLE:
			{
				uint32_t	nruns;
				int			lbw;
				uint64_t	vpos;
				uint64_t   *tmp;
				uint32_t	r;
				uint64_t	pos = 0;
				bool		found = false;

				if (rle_layout(body, blen, m, &nruns, &bw, &lbw, &vpos) != LSM_OK)
					return LSM_ERR_CORRUPT;
				tmp = get_tmp(d, nruns);
				if (tmp == NULL)
					return LSM_ERR_NOMEM;
				lsm_bitunpack(body + vpos, nruns, lbw, 1, tmp);
				for (r = 0; r < nruns; r++)
				{
					if (tmp[r] == 0 || tmp[r] > m - pos)
						return LSM_ERR_CORRUPT;
					if (!found && rank < pos + tmp[r])
					{
						*v = lsm_bitunpack_one(body + 14, r, bw,
											   lsm_load64(body + 4));
						found = true;
					}
					pos += tmp[r];
				}
				if (pos != m || !found)
					return LSM_ERR_CORRUPT;
				return LSM_OK;
			}
		case LSM_ENC_PLAIN:
			if (blen != (uint64_t) m * width)
				return LSM_ERR_CORRUPT;
			switch (width)
			{
				case 1:
					*v = (uint64_t) (int64_t) (int8_t) body[rank];
					break;
				case 2:
					*v = (uint64_t) (int64_t) (int16_t) lsm_load16(body + 2 * (size_t) rank);
					break;
				case 4:
					*v = (uint64_t) (int64_t) (int32_t) lsm_load32(body + 4 * (size_t) rank);
					break;
				default:
					*v = lsm_load64(body + 8 * (size_t) rank);
					break;
			}
			return LSM_OK;
	}
	return LSM_ERR_CORRUPT;
}

/* Value `rank` of a FIXED chunk body: *p points at its w bytes. */
static int
one_fixed(size_t w, uint8_t enc, const uint8_t *body, uint64_t blen,
		  uint32_t m, uint32_t rank, const uint8_t **p)
{
	switch (enc)
	{
		case LSM_ENC_CONST:
			if (blen != w)
				return LSM_ERR_CORRUPT;
			*p = body;
			return LSM_OK;
		case LSM_ENC_PLAIN:
			if (blen != (uint64_t) m * w)
				return LSM_ERR_CORRUPT;
			*p = body + (size_t) rank * w;
			return LSM_OK;
		case LSM_ENC_DICT:
			{
				uint32_t	ndict;
				int			bw;
				uint64_t	cpos;
				uint64_t	code;

				if (fixed_dict_layout(body, blen, m, w, &ndict, &bw, &cpos) != LSM_OK)
					return LSM_ERR_CORRUPT;
				code = lsm_bitunpack_one(body + cpos, rank, bw, 0);
				if (code >= ndict)
					return LSM_ERR_CORRUPT;
				*p = body + 5 + (size_t) code * w;
				return LSM_OK;
			}
	}
	return LSM_ERR_CORRUPT;
}

/* Value `rank` of a VARLEN chunk body (owned by d): *data, *len. */
static int
one_varlen(LsmDecoded *d, uint8_t enc, const uint8_t *body, uint64_t blen,
		   uint32_t m, uint32_t rank, const uint8_t **data, uint32_t *len)
{
	uint32_t	k;

	switch (enc)
	{
		case LSM_ENC_CONST:
			if (blen < 4)
				return LSM_ERR_CORRUPT;
			*len = lsm_load32(body);
			if ((uint64_t) *len != blen - 4)
				return LSM_ERR_CORRUPT;
			*data = body + 4;
			return LSM_OK;
		case LSM_ENC_PLAIN:
			{
				int			bw;
				uint64_t	pos;
				uint64_t   *lens;

				if (varlen_plain_layout(body, blen, m, &bw) != LSM_OK)
					return LSM_ERR_CORRUPT;
				lens = get_tmp(d, (size_t) rank + 1);
				if (lens == NULL)
					return LSM_ERR_NOMEM;
				lsm_bitunpack(body + 5, (size_t) rank + 1, bw, lsm_load32(body), lens);
				pos = 5 + lsm_bitpack_size(m, bw);
				for (k = 0; k <= rank; k++)
				{
					if (lens[k] > UINT32_MAX || lens[k] > blen - pos)
						return LSM_ERR_CORRUPT;
					if (k < rank)
						pos += lens[k];
				}
				*len = (uint32_t) lens[rank];
				*data = *len ? body + pos : empty_value;
				return LSM_OK;
			}
		case LSM_ENC_DICT:
			{
				uint32_t	ndict;
				int			cbw;
				uint64_t	cpos;
				uint64_t	code;
				uint64_t   *dlen;
				uint64_t   *doff;
				int			rc;

				rc = varlen_dict_layout(d, body, blen, m, &ndict, &dlen, &doff,
										&cpos, &cbw);
				if (rc != LSM_OK)
					return rc;
				code = lsm_bitunpack_one(body + cpos, rank, cbw, 0);
				if (code >= ndict)
					return LSM_ERR_CORRUPT;
				*len = (uint32_t) dlen[code];
				*data = *len ? body + doff[code] : empty_value;
				return LSM_OK;
			}
	}
	return LSM_ERR_CORRUPT;
}

/*
 * The row `row` of a chunk whose body (after the null bitmap) is at
 * raw + bitmap_len, into out as a one-row result.  `rank` is the row's
 * index among the non-null values.
 */
static int
decode_one(const LsmChunkInfo *ci, const LsmColumnDesc *col, const uint8_t *raw,
		   uint64_t raw_len, uint64_t bitmap_len, uint32_t m, uint32_t rank,
		   LsmDecoded *out)
{
	const uint8_t *body = raw + bitmap_len;
	uint64_t	blen = raw_len - bitmap_len;
	int			rc;

	out->nulls = get_slot(out, SLOT_NULLS, 1);
	if (out->nulls == NULL)
		return LSM_ERR_NOMEM;
	out->nulls[0] = 0;
	switch (col->kind)
	{
		case LSM_KIND_INT:
			out->ints = get_slot(out, SLOT_VALUES, sizeof(int64_t));
			if (out->ints == NULL)
				return LSM_ERR_NOMEM;
			return one_int(out, col->width, ci->encoding, body, blen, m, rank,
						   (uint64_t *) out->ints);
		case LSM_KIND_FIXED:
			{
				const uint8_t *p;

				out->fixed = get_slot(out, SLOT_VALUES, col->width);
				if (out->fixed == NULL)
					return LSM_ERR_NOMEM;
				rc = one_fixed(col->width, ci->encoding, body, blen, m, rank, &p);
				if (rc == LSM_OK)
					memcpy(out->fixed, p, col->width);
				return rc;
			}
		default:
			out->var_data = get_slot(out, SLOT_VARDATA, sizeof(uint8_t *));
			out->var_len = get_slot(out, SLOT_VARLEN, sizeof(uint32_t));
			if (out->var_data == NULL || out->var_len == NULL)
				return LSM_ERR_NOMEM;
			return one_varlen(out, ci->encoding, body, blen, m, rank,
							  &out->var_data[0], &out->var_len[0]);
	}
}

/*
 * Set up the output for a chunk whose every value is NULL.
 */
static int
fill_all_null(LsmDecoded *out, const LsmColumnDesc *col, uint32_t n)
{
	uint32_t	k;

	out->nulls = get_slot(out, SLOT_NULLS, n);
	if (out->nulls == NULL)
		return LSM_ERR_NOMEM;
	memset(out->nulls, 1, n);
	out->has_nulls = true;
	switch (col->kind)
	{
		case LSM_KIND_INT:
			out->ints = get_slot(out, SLOT_VALUES, (size_t) n * sizeof(int64_t));
			if (out->ints == NULL)
				return LSM_ERR_NOMEM;
			memset(out->ints, 0, (size_t) n * sizeof(int64_t));
			break;
		case LSM_KIND_FIXED:
			out->fixed = get_slot(out, SLOT_VALUES, (size_t) n * col->width);
			if (out->fixed == NULL)
				return LSM_ERR_NOMEM;
			memset(out->fixed, 0, (size_t) n * col->width);
			break;
		default:
			out->var_data = get_slot(out, SLOT_VARDATA,
									 (size_t) n * sizeof(uint8_t *));
			out->var_len = get_slot(out, SLOT_VARLEN,
									(size_t) n * sizeof(uint32_t));
			if (out->var_data == NULL || out->var_len == NULL)
				return LSM_ERR_NOMEM;
			for (k = 0; k < n; k++)
			{
				out->var_data[k] = empty_value;
				out->var_len[k] = 0;
			}
			break;
	}
	return LSM_OK;
}

/*
 * Move the m dense values to their rows, walking backwards, and fill NULL
 * rows with zeros (INT, FIXED) or empty values (VARLEN).
 */
/*
 * For each byte of a null bitmap, the eight 0/1 bytes it expands to, in
 * memory order (bit k -> byte k).
 */
static const uint64_t *
null_spread_table(void)
{
	static uint64_t table[256];
	static bool ready = false;

	if (!ready)
	{
		int			b,
					k;

		for (b = 0; b < 256; b++)
		{
			uint8_t		bytes[8];

			for (k = 0; k < 8; k++)
				bytes[k] = (uint8_t) ((b >> k) & 1);
			memcpy(&table[b], bytes, 8);
		}
		ready = true;
	}
	return table;
}

/* set bits per byte value (no popcount instruction is assumed) */
static const uint8_t bits_in_byte[256] = {
#define B2(n) n, n + 1, n + 1, n + 2
#define B4(n) B2(n), B2(n + 1), B2(n + 1), B2(n + 2)
#define B6(n) B4(n), B4(n + 1), B4(n + 1), B4(n + 2)
	B6(0), B6(1), B6(1), B6(2)
#undef B2
#undef B4
#undef B6
};

static void
spread_nulls(LsmDecoded *out, const LsmColumnDesc *col, uint32_t n, uint32_t m)
{
	const uint8_t *nulls = out->nulls;
	uint32_t	i = n;
	uint32_t	j = m;

	switch (col->kind)
	{
		case LSM_KIND_INT:
			{
				int64_t    *v = out->ints;	/* local: no reload per row */

				/* branch-free: j steps back only past a non-null row */
				while (i-- > 0)
				{
					int64_t		x = v[j > 0 ? j - 1 : 0];
					uint8_t		isnull = nulls[i];

					v[i] = isnull ? 0 : x;
					j -= (uint32_t) (isnull ^ 1);
				}
			}
			break;
		case LSM_KIND_FIXED:
			{
				size_t		w = col->width;

				while (i-- > 0)
				{
					if (nulls[i])
						memset(out->fixed + i * w, 0, w);
					else if (--j != i)
						memcpy(out->fixed + i * w, out->fixed + j * w, w);
				}
			}
			break;
		default:
			while (i-- > 0)
			{
				if (nulls[i])
				{
					out->var_data[i] = empty_value;
					out->var_len[i] = 0;
				}
				else
				{
					--j;
					out->var_data[i] = out->var_data[j];
					out->var_len[i] = out->var_len[j];
				}
			}
			break;
	}
}

/*
 * lsm_decode_chunk
 *		Verify, decompress and decode the nrows values of one chunk.
 *
 * ci is the chunk's directory entry, col the column's descriptor (NULL for
 * the rowid chunk), stored the ci->stored_len bytes of the chunk.  On success
 * out->n == nrows; out->nulls is valid when out->has_nulls; exactly one of
 * ints, fixed or var_data/var_len is set according to col->kind, except
 * that a VARLEN chunk with a representation tag (ci->int_tag) sets
 * out->int_tag and decodes into ints, as an INT chunk of width 8.  NULL rows
 * read as 0 (INT), zero bytes (FIXED) or an empty value (VARLEN).  VARLEN
 * pointers point into memory owned by out, never into stored.  Every value
 * of a dropped column or an LSM_ENC_NONE chunk is NULL.
 *
 * Returns LSM_OK, LSM_ERR_CHECKSUM, LSM_ERR_CORRUPT, LSM_ERR_ZSTD,
 * LSM_ERR_NOMEM or LSM_ERR_ARG.
 */
static int
decode_chunk_common(const LsmChunkInfo *ci, const LsmColumnDesc *col,
					uint32_t nrows, const uint8_t *stored, int64_t row,
					LsmDecoded *out)
{
	const uint8_t *raw;
	uint64_t	raw_len;
	uint32_t	n = nrows;
	uint32_t	nc;
	uint32_t	m;
	uint64_t	bitmap_len = 0;
	int			rc;

	if (col == NULL)
		col = &rowid_column;
	if (ci == NULL || out == NULL || out->alloc == NULL ||
		(stored == NULL && ci->stored_len > 0) || !lsm_column_desc_valid(col))
		return LSM_ERR_ARG;

	if (lsm_checksum(ci->stored_len ? stored : (const uint8_t *) "",
					 ci->stored_len) != ci->checksum)
		return LSM_ERR_CHECKSUM;

	out->n = n;
	out->has_nulls = false;
	out->int_tag = 0;
	out->ints = NULL;
	out->fixed = NULL;
	out->var_data = NULL;
	out->var_len = NULL;

	nc = ci->null_count;
	if (nc > n)
		return LSM_ERR_CORRUPT;
	if (row >= 0)
	{
		if (row >= n)
			return LSM_ERR_ARG;
		out->n = 1;
	}
	if (ci->encoding == LSM_ENC_NONE)
	{
		if (ci->stored_len != 0 || ci->raw_len != 0)
			return LSM_ERR_CORRUPT;
		return fill_all_null(out, col, out->n);
	}
	if (col->flags & LSM_COLF_DROPPED)
		return fill_all_null(out, col, out->n);
	if (ci->int_tag != 0)
	{
		/* a VARLEN chunk stored as i64 values: decode it as INT width 8 */
		if (col->kind != LSM_KIND_VARLEN)
			return LSM_ERR_CORRUPT;
		col = &tagged_column;
		out->int_tag = ci->int_tag;
	}
	if (!lsm_encoding_valid(col->kind, ci->encoding) || nc == n)
		return LSM_ERR_CORRUPT;
	m = n - nc;

	/* get the raw encoded bytes */
	raw_len = ci->raw_len;
	if (ci->compression == LSM_COMP_NONE)
	{
		if (ci->raw_len != ci->stored_len)
			return LSM_ERR_CORRUPT;
		raw = stored;
		if (col->kind == LSM_KIND_VARLEN)
		{
			uint8_t    *copy = get_slot(out, SLOT_RAW, raw_len);

			if (copy == NULL)
				return LSM_ERR_NOMEM;
			memcpy(copy, stored, raw_len);
			raw = copy;
		}
	}
	else if (ci->compression == LSM_COMP_ZSTD)
	{
		DecAux	   *aux = get_aux(out);
		uint8_t    *dst;
		size_t		r;

		if (aux == NULL)
			return LSM_ERR_NOMEM;
		if (aux->dctx == NULL)
		{
			ZSTD_customMem cmem;

			cmem.customAlloc = zstd_alloc;
			cmem.customFree = zstd_free;
			cmem.opaque = &aux->alloc;
			aux->dctx = ZSTD_createDCtx_advanced(cmem);
			if (aux->dctx == NULL)
				return LSM_ERR_NOMEM;
		}
		dst = get_slot(out, SLOT_RAW, raw_len);
		if (dst == NULL)
			return LSM_ERR_NOMEM;
		r = ZSTD_decompressDCtx(aux->dctx, dst, raw_len, stored, ci->stored_len);
		if (ZSTD_isError(r))
			return LSM_ERR_ZSTD;
		if (r != raw_len)
			return LSM_ERR_CORRUPT;
		raw = dst;
	}
	else
		return LSM_ERR_CORRUPT;

	/* one row: its bit in the null bitmap, then its value */
	if (row >= 0)
	{
		uint32_t	rank = (uint32_t) row;

		if (nc > 0)
		{
			uint32_t	i;
			uint32_t	count = 0;

			bitmap_len = ((uint64_t) n + 7) / 8;
			if (raw_len < bitmap_len)
				return LSM_ERR_CORRUPT;
			for (i = 0; i < n / 8; i++)
			{
				if (i == (uint32_t) row / 8)
					rank -= count;
				count += bits_in_byte[raw[i]];
			}
			if (n % 8 != 0)
			{
				if (i == (uint32_t) row / 8)
					rank -= count;
				count += bits_in_byte[raw[i] & ((1u << (n % 8)) - 1)];
			}
			if (count != nc)
				return LSM_ERR_CORRUPT;
			/* the set bits before the row in its own byte */
			rank -= bits_in_byte[raw[row / 8] & ((1u << (row % 8)) - 1)];
			if ((raw[row / 8] >> (row % 8)) & 1)
				return fill_all_null(out, col, 1);
		}
		return decode_one(ci, col, raw, raw_len, bitmap_len, m, rank, out);
	}

	/* the null bitmap */
	if (nc > 0)
	{
		uint32_t	i;
		uint32_t	count = 0;

		bitmap_len = ((uint64_t) n + 7) / 8;
		if (raw_len < bitmap_len)
			return LSM_ERR_CORRUPT;
		out->nulls = get_slot(out, SLOT_NULLS, n);
		if (out->nulls == NULL)
			return LSM_ERR_NOMEM;
		{
			uint8_t    *nb = out->nulls;

			/* eight rows at a time: one table lookup and one popcount */
			for (i = 0; i + 8 <= n; i += 8)
			{
				uint8_t		byte = raw[i >> 3];
				uint64_t	spread = null_spread_table()[byte];

				memcpy(nb + i, &spread, 8);
				count += bits_in_byte[byte];
			}
			for (; i < n; i++)
			{
				nb[i] = (raw[i >> 3] >> (i & 7)) & 1;
				count += nb[i];
			}
		}
		if (count != nc)
			return LSM_ERR_CORRUPT;
		out->has_nulls = true;
	}

	switch (col->kind)
	{
		case LSM_KIND_INT:
			out->ints = get_slot(out, SLOT_VALUES, (size_t) n * sizeof(int64_t));
			if (out->ints == NULL)
				return LSM_ERR_NOMEM;
			rc = decode_int(out, col->width, ci->encoding, raw + bitmap_len,
							raw_len - bitmap_len, m, (uint64_t *) out->ints);
			break;
		case LSM_KIND_FIXED:
			out->fixed = get_slot(out, SLOT_VALUES, (size_t) n * col->width);
			if (out->fixed == NULL)
				return LSM_ERR_NOMEM;
			rc = decode_fixed(out, col->width, ci->encoding, raw + bitmap_len,
							  raw_len - bitmap_len, m, out->fixed);
			break;
		default:
			{
				uint64_t   *tmpvals;

				tmpvals = get_slot(out, SLOT_VALUES, (size_t) m * sizeof(uint64_t));
				out->var_data = get_slot(out, SLOT_VARDATA,
										 (size_t) n * sizeof(uint8_t *));
				out->var_len = get_slot(out, SLOT_VARLEN,
										(size_t) n * sizeof(uint32_t));
				if (tmpvals == NULL || out->var_data == NULL ||
					out->var_len == NULL)
					return LSM_ERR_NOMEM;
				rc = decode_varlen(out, ci->encoding, raw + bitmap_len,
								   raw_len - bitmap_len, m, tmpvals,
								   out->var_data, out->var_len);
			}
			break;
	}
	if (rc != LSM_OK)
		return rc;
	if (nc > 0)
		spread_nulls(out, col, n, m);
	return LSM_OK;
}

int
lsm_decode_chunk(const LsmChunkInfo *ci, const LsmColumnDesc *col,
				 uint32_t nrows, const uint8_t *stored, LsmDecoded *out)
{
	return decode_chunk_common(ci, col, nrows, stored, -1, out);
}

/*
 * lsm_decode_chunk_row
 *		Verify and decompress a chunk of nrows values like lsm_decode_chunk,
 *		but decode only row `row`: out->n is 1 and out's arrays hold that
 *		row's value.  A point read needs one value per column, not a block.
 */
int
lsm_decode_chunk_row(const LsmChunkInfo *ci, const LsmColumnDesc *col,
					 uint32_t nrows, const uint8_t *stored, uint32_t row,
					 LsmDecoded *out)
{
	return decode_chunk_common(ci, col, nrows, stored, (int64_t) row, out);
}
