/*-------------------------------------------------------------------------
 *
 * lsm_segment.c
 *	  The segment writer (blocks in, one contiguous byte string out) and the
 *	  segment reader (meta area in, block and chunk directory out).
 *
 * NOTES
 *	  The writer encodes each block's chunks as the block arrives into one
 *	  growable data buffer, and remembers the directory entries and zone map
 *	  bytes in two more.  Only lsm_segw_finish knows the size of the meta
 *	  area, so chunk offsets are kept relative to the data area until then
 *	  and turned into absolute offsets (from the segment's first byte) when
 *	  the segment is assembled.  Absolute offsets are what lets a relocated
 *	  segment reuse an image verbatim: nothing inside it ever needs patching.
 *
 *	  Zone orders (version 3): a caller may declare that a FIXED or VARLEN
 *	  column has a second zone per chunk, computed in an ordering the format
 *	  knows only by an opaque id and key (lsm_am: a collation).  The orders
 *	  are stored after the zone bytes; each chunk's ordered zone follows its
 *	  plain zone in the zone bytes, with its two lengths in front of it
 *	  (the directory entry has no room left for them).
 *
 *	  The reader trusts nothing: it verifies the meta checksum, then checks
 *	  every count, offset and length against the header and the meta area
 *	  before handing out LsmBlockInfo/LsmChunkInfo, so that callers may use
 *	  a chunk's offset and stored_len to fetch bytes without further checks
 *	  (beyond total_len of the segment they actually hold).
 *
 *	  See docs/FORMAT.md for the byte layout.
 *
 *	  The small shared helpers (status strings, the malloc allocator,
 *	  growable buffers, descriptor validation) live at the end of this file.
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>

#include "lsm_format_int.h"

/* offsets of the fixed header's fields */
#define H_MAGIC			0
#define H_VERSION		4
#define H_FLAGS			6
#define H_NCOLS			8
#define H_BLOCK_ROWS	12
#define H_NBLOCKS		16
#define H_SCHEMA		20
#define H_META_LEN		24
#define H_ZONE_LEN		28
#define H_TOTAL_LEN		32
#define H_NROWS			40
#define H_MIN_ROWID		48
#define H_MAX_ROWID		56
#define H_RAW_BYTES		64
#define H_META_CHECKSUM	72
#define H_ORDER_LEN		80		/* version 3 */

/* A chunk's directory entry while the segment is being written */
typedef struct ChunkRec
{
	uint64_t	offset;			/* relative to the start of the data area */
	uint32_t	stored_len;
	uint32_t	raw_len;
	uint32_t	null_count;
	uint8_t		encoding;
	uint8_t		compression;
	uint8_t		zone_flags;
	uint8_t		int_tag;
	uint64_t	checksum;
	uint32_t	zone_off;		/* relative to the start of the zone bytes */
	uint16_t	zmin_len;
	uint16_t	zmax_len;
} ChunkRec;

typedef struct BlockRec
{
	uint32_t	nrows;
	int64_t		first_rowid;
	int64_t		last_rowid;
	uint64_t	data_offset;	/* relative to the start of the data area */
	uint64_t	data_len;
} BlockRec;

struct LsmSegWriter
{
	LsmAllocator alloc;
	LsmColumnDesc *cols;
	uint16_t	ncols;
	LsmZoneOrder *orders;		/* per column (key NULL: none), or NULL */
	uint32_t	order_len;		/* bytes the orders take in the meta area */
	LsmWriterOptions opts;
	LsmEncoder *enc;
	LsmBuf		data;			/* chunk bytes */
	LsmBuf		zones;			/* zone map bytes */
	LsmBuf		blocks;			/* BlockRec[] */
	LsmBuf		chunks;			/* ChunkRec[(2 + ncols) * nblocks] */
	int64_t    *cidvals;
	size_t		cidvals_cap;
	uint32_t	nblocks;
	uint64_t	nrows;
	int64_t		min_rowid;
	int64_t		max_rowid;
	uint64_t	raw_bytes;
};

struct LsmSegReader
{
	LsmAllocator alloc;
	uint8_t    *meta;
	LsmSegHeader hdr;
	LsmColumnDesc *cols;
	LsmZoneOrder *orders;		/* per column (key NULL: none), or NULL */
	LsmBlockInfo *blocks;
	LsmChunkInfo *chunks;		/* nblocks * ncols, pointed to by blocks */
};

static uint64_t
dir_entry_size(uint16_t ncols)
{
	return LSM_DIR_BLOCK_SIZE + (uint64_t) (2 + ncols) * LSM_DIR_CHUNK_SIZE;
}

/* ---- writer ---- */

/*
 * lsm_segw_begin
 *		Start writing a segment of the given columns.
 *
 * The descriptors and options are copied.  Returns NULL when out of memory
 * or when a descriptor or option is invalid.
 */
LsmSegWriter *
lsm_segw_begin(const LsmColumnDesc *cols, uint16_t ncols,
			   const LsmWriterOptions *opts, const LsmAllocator *alloc)
{
	LsmSegWriter *w;
	uint16_t	i;

	if (opts == NULL || alloc == NULL || opts->block_rows == 0 ||
		(ncols > 0 && cols == NULL))
		return NULL;
	for (i = 0; i < ncols; i++)
		if (!lsm_column_desc_valid(&cols[i]) ||
			(cols[i].flags & ~LSM_COLF_DROPPED) != 0)
			return NULL;

	w = alloc->alloc(alloc->ctx, sizeof(LsmSegWriter));
	if (w == NULL)
		return NULL;
	memset(w, 0, sizeof(LsmSegWriter));
	w->alloc = *alloc;
	w->ncols = ncols;
	w->opts = *opts;
	w->data.alloc = &w->alloc;
	w->zones.alloc = &w->alloc;
	w->blocks.alloc = &w->alloc;
	w->chunks.alloc = &w->alloc;
	if (ncols > 0)
	{
		w->cols = alloc->alloc(alloc->ctx, sizeof(LsmColumnDesc) * ncols);
		if (w->cols == NULL)
		{
			lsm_segw_free(w);
			return NULL;
		}
		memcpy(w->cols, cols, sizeof(LsmColumnDesc) * ncols);
	}
	w->enc = lsm_encoder_create(&w->alloc);
	if (w->enc == NULL)
	{
		lsm_segw_free(w);
		return NULL;
	}
	return w;
}

int64_t
lsm_zone_int_load(const uint8_t *p)
{
	return (int64_t) lsm_load64(p);
}

void
lsm_zone_int_store(uint8_t *p, int64_t v)
{
	lsm_store64(p, (uint64_t) v);
}

/*
 * lsm_segw_set_zone_order
 *		Declare that chunks of column `column` may carry an ordered zone
 *		(LsmColumnData.has_ordered_zone) in the given order.
 *
 * Only before the first block, once per column, for a FIXED or VARLEN
 * column that is not dropped, with a key of 1..65535 bytes (copied).
 * Returns LSM_ERR_ARG otherwise, LSM_ERR_NOMEM.
 */
int
lsm_segw_set_zone_order(LsmSegWriter *w, uint16_t column,
						const LsmZoneOrder *order)
{
	uint8_t    *key;

	if (w == NULL || order == NULL || w->nblocks > 0 || column >= w->ncols ||
		w->cols[column].kind == LSM_KIND_INT ||
		(w->cols[column].flags & LSM_COLF_DROPPED) ||
		order->key == NULL || order->key_len == 0)
		return LSM_ERR_ARG;
	if (w->orders == NULL)
	{
		w->orders = w->alloc.alloc(w->alloc.ctx,
								   sizeof(LsmZoneOrder) * w->ncols);
		if (w->orders == NULL)
			return LSM_ERR_NOMEM;
		memset(w->orders, 0, sizeof(LsmZoneOrder) * w->ncols);
	}
	if (w->orders[column].key != NULL)
		return LSM_ERR_ARG;
	key = w->alloc.alloc(w->alloc.ctx, order->key_len);
	if (key == NULL)
		return LSM_ERR_NOMEM;
	memcpy(key, order->key, order->key_len);
	w->orders[column].order_id = order->order_id;
	w->orders[column].key_len = order->key_len;
	w->orders[column].key = key;
	w->order_len += LSM_ZONE_ORDER_HEAD + order->key_len;
	return LSM_OK;
}

/*
 * Encode one chunk and append its directory entry and zone bytes.  colno
 * is the column's index, or -1 for the rowid and cid chunks.
 */
static int
add_chunk(LsmSegWriter *w, const LsmColumnDesc *col, int colno,
		  uint32_t nrows, const LsmColumnData *cd)
{
	LsmEncResult res;
	ChunkRec	rec;
	size_t		start = w->data.len;
	int			rc;

	rc = lsm_encode_chunk(w->enc, col, nrows, cd, w->opts.zstd_level,
						  w->opts.zstd_min_gain_pct, &w->data, &res);
	if (rc != LSM_OK)
		return rc;

	memset(&rec, 0, sizeof(rec));
	rec.offset = start;
	rec.stored_len = res.stored_len;
	rec.raw_len = res.raw_len;
	rec.null_count = res.null_count;
	rec.encoding = res.encoding;
	rec.compression = res.compression;
	rec.int_tag = res.int_tag;
	rec.checksum = res.checksum;
	if (w->zones.len > UINT32_MAX - 4 * (size_t) UINT16_MAX - LSM_OZONE_HEAD)
		return LSM_ERR_ARG;
	rec.zone_off = (uint32_t) w->zones.len;

	if (col->kind == LSM_KIND_INT && w->opts.int_zones_given && cd != NULL &&
		cd->has_zone)
	{
		if (cd->zmin_len != 8 || cd->zmax_len != 8 || cd->zmin == NULL ||
			cd->zmax == NULL)
			return LSM_ERR_ARG;
		rc = lsm_buf_append(&w->zones, cd->zmin, 8);
		if (rc == LSM_OK)
			rc = lsm_buf_append(&w->zones, cd->zmax, 8);
		if (rc != LSM_OK)
			return rc;
		rec.zone_flags = LSM_ZONE_HAS_MINMAX;
		rec.zmin_len = 8;
		rec.zmax_len = 8;
	}
	else if (col->kind == LSM_KIND_INT && res.has_minmax)
	{
		uint8_t		b[16];

		lsm_store64(b, (uint64_t) res.zmin);
		lsm_store64(b + 8, (uint64_t) res.zmax);
		rc = lsm_buf_append(&w->zones, b, 16);
		if (rc != LSM_OK)
			return rc;
		rec.zone_flags = LSM_ZONE_HAS_MINMAX;
		rec.zmin_len = 8;
		rec.zmax_len = 8;
	}
	else if (col->kind != LSM_KIND_INT && cd != NULL && cd->has_zone &&
			 !(col->flags & LSM_COLF_DROPPED))
	{
		if ((cd->zmin_len > 0 && cd->zmin == NULL) ||
			(cd->zmax_len > 0 && cd->zmax == NULL))
			return LSM_ERR_ARG;
		rc = lsm_buf_append(&w->zones, cd->zmin, cd->zmin_len);
		if (rc == LSM_OK)
			rc = lsm_buf_append(&w->zones, cd->zmax, cd->zmax_len);
		if (rc != LSM_OK)
			return rc;
		rec.zone_flags = LSM_ZONE_HAS_MINMAX;
		rec.zmin_len = cd->zmin_len;
		rec.zmax_len = cd->zmax_len;
	}
	if (cd != NULL && cd->has_ordered_zone && !(col->flags & LSM_COLF_DROPPED))
	{
		uint8_t		head[LSM_OZONE_HEAD];

		/* only columns given a zone order; never rowid or cid chunks */
		if (colno < 0 || w->orders == NULL || w->orders[colno].key == NULL)
			return LSM_ERR_ARG;
		if ((cd->ozmin_len > 0 && cd->ozmin == NULL) ||
			(cd->ozmax_len > 0 && cd->ozmax == NULL))
			return LSM_ERR_ARG;
		lsm_store16(head, cd->ozmin_len);
		lsm_store16(head + 2, cd->ozmax_len);
		rc = lsm_buf_append(&w->zones, head, LSM_OZONE_HEAD);
		if (rc == LSM_OK)
			rc = lsm_buf_append(&w->zones, cd->ozmin, cd->ozmin_len);
		if (rc == LSM_OK)
			rc = lsm_buf_append(&w->zones, cd->ozmax, cd->ozmax_len);
		if (rc != LSM_OK)
			return rc;
		rec.zone_flags |= LSM_ZONE_HAS_ORDERED;
	}
	return lsm_buf_append(&w->chunks, &rec, sizeof(rec));
}

/*
 * lsm_segw_add_block
 *		Encode and append one block of nrows rows (1..block_rows).
 *
 * rowids must be strictly increasing within the block and greater than
 * those of earlier blocks.  cids is used only when the writer was created
 * with with_cids; a NULL cids then stores no cid chunk for this block
 * (stored_len 0, LSM_ENC_NONE, every value NULL).  cols has one entry per
 * column descriptor (ignored for dropped columns).  On error the block is
 * not added and the writer remains usable.
 */
int
lsm_segw_add_block(LsmSegWriter *w, uint32_t nrows, const int64_t *rowids,
				   const uint32_t *cids, const LsmColumnData *cols)
{
	size_t		data_len0;
	size_t		zones_len0;
	size_t		chunks_len0;
	LsmColumnData cd;
	BlockRec	blk;
	uint32_t	i;
	int			rc;

	if (w == NULL || rowids == NULL || nrows == 0 ||
		nrows > w->opts.block_rows || (w->ncols > 0 && cols == NULL))
		return LSM_ERR_ARG;
	if (w->nblocks == UINT32_MAX)
		return LSM_ERR_ARG;
	for (i = 1; i < nrows; i++)
		if (rowids[i] <= rowids[i - 1])
			return LSM_ERR_ARG;
	if (w->nblocks > 0 && rowids[0] <= w->max_rowid)
		return LSM_ERR_ARG;

	data_len0 = w->data.len;
	zones_len0 = w->zones.len;
	chunks_len0 = w->chunks.len;

	/* rowid chunk */
	memset(&cd, 0, sizeof(cd));
	cd.ints = rowids;
	rc = add_chunk(w, lsm_rowid_column(), -1, nrows, &cd);

	/* cid chunk */
	if (rc == LSM_OK)
	{
		if (w->opts.with_cids && cids != NULL)
		{
			if (w->cidvals_cap < nrows)
			{
				if (w->cidvals != NULL)
					w->alloc.free(w->alloc.ctx, w->cidvals);
				w->cidvals_cap = 0;
				w->cidvals = w->alloc.alloc(w->alloc.ctx,
											sizeof(int64_t) * nrows);
				if (w->cidvals != NULL)
					w->cidvals_cap = nrows;
			}
			if (w->cidvals == NULL)
				rc = LSM_ERR_NOMEM;
			else
			{
				/* command ids are stored as signed 32-bit values */
				for (i = 0; i < nrows; i++)
					w->cidvals[i] = (int32_t) cids[i];
				memset(&cd, 0, sizeof(cd));
				cd.ints = w->cidvals;
				rc = add_chunk(w, lsm_cid_column(), -1, nrows, &cd);
			}
		}
		else
		{
			LsmColumnDesc dropped = *lsm_cid_column();

			/* no cid chunk: an empty, all-NULL chunk entry */
			dropped.flags = LSM_COLF_DROPPED;
			rc = add_chunk(w, &dropped, -1, nrows, NULL);
		}
	}

	for (i = 0; rc == LSM_OK && i < w->ncols; i++)
		rc = add_chunk(w, &w->cols[i], (int) i, nrows, &cols[i]);

	if (rc == LSM_OK)
	{
		blk.nrows = nrows;
		blk.first_rowid = rowids[0];
		blk.last_rowid = rowids[nrows - 1];
		blk.data_offset = data_len0;
		blk.data_len = w->data.len - data_len0;
		rc = lsm_buf_append(&w->blocks, &blk, sizeof(blk));
	}
	if (rc != LSM_OK)
	{
		w->data.len = data_len0;
		w->zones.len = zones_len0;
		w->chunks.len = chunks_len0;
		return rc;
	}

	if (w->nblocks == 0)
		w->min_rowid = rowids[0];
	w->max_rowid = rowids[nrows - 1];
	w->nblocks++;
	w->nrows += nrows;
	{
		const ChunkRec *recs = (const ChunkRec *) (w->chunks.data + chunks_len0);

		for (i = 0; i < 2u + w->ncols; i++)
			w->raw_bytes += recs[i].raw_len;
	}
	return LSM_OK;
}

/*
 * lsm_segw_bytes
 *		Bytes of chunk data and zone maps buffered so far.
 */
size_t
lsm_segw_bytes(const LsmSegWriter *w)
{
	return w->data.len + w->zones.len;
}

/*
 * lsm_segw_finish
 *		Assemble the segment into one allocation (from the writer's
 *		allocator) returned in *out / *out_len.
 *
 * The writer must still be freed with lsm_segw_free.  Returns LSM_ERR_ARG if
 * the meta area would reach 4 GB.
 */
int
lsm_segw_finish(LsmSegWriter *w, uint8_t **out, size_t *out_len)
{
	uint64_t	meta_len;
	uint64_t	total_len;
	uint8_t    *buf;
	uint8_t    *p;
	const BlockRec *blocks;
	const ChunkRec *recs;
	uint32_t	b;
	uint32_t	c;
	uint32_t	nchunks;

	if (w == NULL || out == NULL || out_len == NULL)
		return LSM_ERR_ARG;
	blocks = (const BlockRec *) w->blocks.data;
	recs = (const ChunkRec *) w->chunks.data;
	nchunks = 2u + w->ncols;
	*out = NULL;
	*out_len = 0;

	meta_len = LSM_SEG_HEADER_SIZE + (uint64_t) LSM_COLDESC_SIZE * w->ncols +
		dir_entry_size(w->ncols) * w->nblocks + w->zones.len + w->order_len;
	if (meta_len > UINT32_MAX)
		return LSM_ERR_ARG;
	total_len = meta_len + w->data.len;
	if (total_len > SIZE_MAX)
		return LSM_ERR_ARG;

	buf = w->alloc.alloc(w->alloc.ctx, (size_t) total_len);
	if (buf == NULL)
		return LSM_ERR_NOMEM;
	memset(buf, 0, (size_t) meta_len);

	/* fixed header */
	lsm_store32(buf + H_MAGIC, LSM_SEG_MAGIC);
	lsm_store16(buf + H_VERSION, LSM_FORMAT_VERSION);
	lsm_store16(buf + H_FLAGS, (w->opts.with_cids ? LSM_SEGF_HAS_CIDS : 0) |
				(w->opts.int_zones_given ? LSM_SEGF_INT_ZONES_GIVEN : 0));
	lsm_store16(buf + H_NCOLS, w->ncols);
	lsm_store32(buf + H_BLOCK_ROWS, w->opts.block_rows);
	lsm_store32(buf + H_NBLOCKS, w->nblocks);
	lsm_store32(buf + H_SCHEMA, w->opts.schema_version);
	lsm_store32(buf + H_META_LEN, (uint32_t) meta_len);
	lsm_store32(buf + H_ZONE_LEN, (uint32_t) w->zones.len);
	lsm_store64(buf + H_TOTAL_LEN, total_len);
	lsm_store64(buf + H_NROWS, w->nrows);
	lsm_store64(buf + H_MIN_ROWID, (uint64_t) w->min_rowid);
	lsm_store64(buf + H_MAX_ROWID, (uint64_t) w->max_rowid);
	lsm_store64(buf + H_RAW_BYTES, w->raw_bytes);
	lsm_store32(buf + H_ORDER_LEN, w->order_len);
	p = buf + LSM_SEG_HEADER_SIZE;

	/* column descriptors */
	for (c = 0; c < w->ncols; c++)
	{
		const LsmColumnDesc *col = &w->cols[c];

		lsm_store16(p, col->attnum);
		p[2] = col->kind;
		p[3] = col->flags;
		lsm_store16(p + 4, col->width);
		p[6] = col->align;
		p[7] = col->byval;
		lsm_store32(p + 8, col->type_id);
		lsm_store32(p + 12, (uint32_t) col->type_mod);
		p += LSM_COLDESC_SIZE;
	}

	/* block directory */
	for (b = 0; b < w->nblocks; b++)
	{
		lsm_store32(p, blocks[b].nrows);
		lsm_store32(p + 4, nchunks);
		lsm_store64(p + 8, (uint64_t) blocks[b].first_rowid);
		lsm_store64(p + 16, (uint64_t) blocks[b].last_rowid);
		lsm_store64(p + 24, blocks[b].data_offset + meta_len);
		lsm_store64(p + 32, blocks[b].data_len);
		p += LSM_DIR_BLOCK_SIZE;
		for (c = 0; c < nchunks; c++)
		{
			const ChunkRec *r = &recs[(size_t) b * nchunks + c];

			lsm_store64(p, r->offset + meta_len);
			lsm_store32(p + 8, r->stored_len);
			lsm_store32(p + 12, r->raw_len);
			lsm_store32(p + 16, r->null_count);
			p[20] = r->encoding;
			p[21] = r->compression;
			p[22] = r->zone_flags;
			p[23] = r->int_tag;
			lsm_store64(p + 24, r->checksum);
			lsm_store32(p + 32, r->zone_off);
			lsm_store16(p + 36, r->zmin_len);
			lsm_store16(p + 38, r->zmax_len);
			p += LSM_DIR_CHUNK_SIZE;
		}
	}

	/* zone bytes, zone orders (by column), then chunk data */
	if (w->zones.len > 0)
		memcpy(p, w->zones.data, w->zones.len);
	p += w->zones.len;
	for (c = 0; w->orders != NULL && c < w->ncols; c++)
	{
		const LsmZoneOrder *o = &w->orders[c];

		if (o->key == NULL)
			continue;
		lsm_store16(p, (uint16_t) c);
		lsm_store16(p + 2, o->key_len);
		lsm_store32(p + 4, o->order_id);
		memcpy(p + LSM_ZONE_ORDER_HEAD, o->key, o->key_len);
		p += LSM_ZONE_ORDER_HEAD + o->key_len;
	}
	if (w->data.len > 0)
		memcpy(p, w->data.data, w->data.len);

	/* the meta checksum field is zero while the checksum is computed */
	lsm_store64(buf + H_META_CHECKSUM, lsm_checksum(buf, (size_t) meta_len));

	*out = buf;
	*out_len = (size_t) total_len;
	return LSM_OK;
}

/*
 * lsm_segw_free
 *		Release the writer (not a segment returned by lsm_segw_finish).
 */
void
lsm_segw_free(LsmSegWriter *w)
{
	if (w == NULL)
		return;
	lsm_buf_free(&w->data);
	lsm_buf_free(&w->zones);
	lsm_buf_free(&w->blocks);
	lsm_buf_free(&w->chunks);
	lsm_encoder_free(w->enc);
	if (w->cidvals != NULL)
		w->alloc.free(w->alloc.ctx, w->cidvals);
	if (w->orders != NULL)
	{
		uint16_t	c;

		for (c = 0; c < w->ncols; c++)
			if (w->orders[c].key != NULL)
				w->alloc.free(w->alloc.ctx, (void *) w->orders[c].key);
		w->alloc.free(w->alloc.ctx, w->orders);
	}
	if (w->cols != NULL)
		w->alloc.free(w->alloc.ctx, w->cols);
	w->alloc.free(w->alloc.ctx, w);
}

/* ---- reader ---- */

/*
 * lsm_seg_parse_header
 *		Decode and sanity-check the fixed header at buf.
 *
 * Returns LSM_ERR_VERSION for a wrong magic or an unknown format version,
 * LSM_ERR_CORRUPT if len < LSM_SEG_HEADER_SIZE or the lengths are
 * inconsistent.  Does not verify the meta checksum (lsm_segr_open does).
 */
int
lsm_seg_parse_header(const uint8_t *buf, size_t len, LsmSegHeader *hdr)
{
	if (buf == NULL || hdr == NULL)
		return LSM_ERR_ARG;
	if (len < LSM_SEG_HEADER_SIZE)
		return LSM_ERR_CORRUPT;
	memset(hdr, 0, sizeof(LsmSegHeader));
	hdr->magic = lsm_load32(buf + H_MAGIC);
	hdr->version = lsm_load16(buf + H_VERSION);
	if (hdr->magic != LSM_SEG_MAGIC || hdr->version < LSM_FORMAT_VERSION_MIN ||
		hdr->version > LSM_FORMAT_VERSION)
		return LSM_ERR_VERSION;
	hdr->flags = lsm_load16(buf + H_FLAGS);
	hdr->ncols = lsm_load16(buf + H_NCOLS);
	hdr->block_rows = lsm_load32(buf + H_BLOCK_ROWS);
	hdr->nblocks = lsm_load32(buf + H_NBLOCKS);
	hdr->schema_version = lsm_load32(buf + H_SCHEMA);
	hdr->meta_len = lsm_load32(buf + H_META_LEN);
	hdr->total_len = lsm_load64(buf + H_TOTAL_LEN);
	hdr->nrows = lsm_load64(buf + H_NROWS);
	hdr->min_rowid = (int64_t) lsm_load64(buf + H_MIN_ROWID);
	hdr->max_rowid = (int64_t) lsm_load64(buf + H_MAX_ROWID);
	hdr->raw_bytes = lsm_load64(buf + H_RAW_BYTES);
	hdr->meta_checksum = lsm_load64(buf + H_META_CHECKSUM);
	/* offset 80 was reserved (and is ignored) before version 3 */
	hdr->order_len = hdr->version >= 3 ? lsm_load32(buf + H_ORDER_LEN) : 0;
	if (hdr->meta_len < LSM_SEG_HEADER_SIZE || hdr->meta_len > hdr->total_len ||
		hdr->block_rows == 0 || (hdr->flags & ~(LSM_SEGF_HAS_CIDS | LSM_SEGF_INT_ZONES_GIVEN)) != 0)
		return LSM_ERR_CORRUPT;
	return LSM_OK;
}

/*
 * Parse and check one chunk directory entry of a block.
 */
static int
parse_chunk(const LsmSegReader *r, const uint8_t *p, const LsmBlockInfo *blk,
			const LsmColumnDesc *col, const LsmZoneOrder *order,
			uint64_t zone_start, uint32_t zone_len, LsmChunkInfo *ci)
{
	uint32_t	zoff;
	uint8_t		zone_flags_ok = LSM_ZONE_HAS_MINMAX;
	uint64_t	block_end = blk->data_offset + blk->data_len;

	ci->offset = lsm_load64(p);
	ci->stored_len = lsm_load32(p + 8);
	ci->raw_len = lsm_load32(p + 12);
	ci->null_count = lsm_load32(p + 16);
	ci->encoding = p[20];
	ci->compression = p[21];
	ci->zone_flags = p[22];
	/* byte 23 was reserved (and is ignored) in version 1 */
	ci->int_tag = r->hdr.version >= 2 ? p[23] : 0;
	ci->checksum = lsm_load64(p + 24);
	zoff = lsm_load32(p + 32);
	ci->zmin_len = lsm_load16(p + 36);
	ci->zmax_len = lsm_load16(p + 38);

	if (ci->offset < blk->data_offset || ci->offset > block_end ||
		ci->stored_len > block_end - ci->offset)
		return LSM_ERR_CORRUPT;
	if (ci->compression > LSM_COMP_ZSTD ||
		(ci->compression == LSM_COMP_NONE && ci->raw_len != ci->stored_len))
		return LSM_ERR_CORRUPT;
	if (ci->int_tag != 0)
	{
		/* a VARLEN chunk stored as i64 values: INT encodings, some data */
		if (col->kind != LSM_KIND_VARLEN || ci->encoding == LSM_ENC_NONE ||
			!lsm_encoding_valid(LSM_KIND_INT, ci->encoding))
			return LSM_ERR_CORRUPT;
	}
	else if (!lsm_encoding_valid(col->kind, ci->encoding))
		return LSM_ERR_CORRUPT;
	if (ci->null_count > blk->nrows)
		return LSM_ERR_CORRUPT;
	if (ci->encoding == LSM_ENC_NONE)
	{
		if (ci->stored_len != 0 || ci->raw_len != 0 ||
			ci->null_count != blk->nrows)
			return LSM_ERR_CORRUPT;
	}
	else if (ci->null_count == blk->nrows || ci->raw_len == 0)
		return LSM_ERR_CORRUPT;
	/* an ordered zone (version 3) only on a column with a zone order */
	if (r->hdr.version >= 3 && order != NULL && order->key != NULL)
		zone_flags_ok |= LSM_ZONE_HAS_ORDERED;
	if ((ci->zone_flags & ~zone_flags_ok) != 0)
		return LSM_ERR_CORRUPT;
	if ((uint64_t) zoff + ci->zmin_len + ci->zmax_len > zone_len)
		return LSM_ERR_CORRUPT;
	if (!(ci->zone_flags & LSM_ZONE_HAS_MINMAX) &&
		(ci->zmin_len != 0 || ci->zmax_len != 0))
		return LSM_ERR_CORRUPT;
	if (col->kind == LSM_KIND_INT && (ci->zone_flags & LSM_ZONE_HAS_MINMAX) &&
		(ci->zmin_len != 8 || ci->zmax_len != 8))
		return LSM_ERR_CORRUPT;
	ci->zmin = r->meta + zone_start + zoff;
	ci->zmax = ci->zmin + ci->zmin_len;
	ci->ozmin_len = ci->ozmax_len = 0;
	ci->ozmin = ci->ozmax = NULL;
	if (ci->zone_flags & LSM_ZONE_HAS_ORDERED)
	{
		/* [u16 ozmin_len][u16 ozmax_len][ozmin][ozmax] after the plain zone */
		uint64_t	ooff = (uint64_t) zoff + ci->zmin_len + ci->zmax_len;
		const uint8_t *op = r->meta + zone_start + ooff;

		if (ooff + LSM_OZONE_HEAD > zone_len)
			return LSM_ERR_CORRUPT;
		ci->ozmin_len = lsm_load16(op);
		ci->ozmax_len = lsm_load16(op + 2);
		if (ooff + LSM_OZONE_HEAD + ci->ozmin_len + ci->ozmax_len > zone_len)
			return LSM_ERR_CORRUPT;
		ci->ozmin = op + LSM_OZONE_HEAD;
		ci->ozmax = ci->ozmin + ci->ozmin_len;
	}
	return LSM_OK;
}

/*
 * Parse the zone orders (version 3): records of column, key length, id and
 * key, by ascending column, exactly filling the area.
 */
static int
parse_orders(LsmSegReader *r, uint64_t start)
{
	const LsmSegHeader *h = &r->hdr;
	const uint8_t *p = r->meta + start;
	const uint8_t *end = p + h->order_len;
	int32_t		prev = -1;

	if (h->order_len == 0)
		return LSM_OK;
	if (h->ncols == 0)
		return LSM_ERR_CORRUPT;
	r->orders = r->alloc.alloc(r->alloc.ctx, sizeof(LsmZoneOrder) * h->ncols);
	if (r->orders == NULL)
		return LSM_ERR_NOMEM;
	memset(r->orders, 0, sizeof(LsmZoneOrder) * h->ncols);
	while (p < end)
	{
		uint16_t	column;
		uint16_t	key_len;
		const LsmColumnDesc *col;

		if ((size_t) (end - p) < LSM_ZONE_ORDER_HEAD)
			return LSM_ERR_CORRUPT;
		column = lsm_load16(p);
		key_len = lsm_load16(p + 2);
		if (column >= h->ncols || (int32_t) column <= prev || key_len == 0 ||
			(size_t) (end - p) - LSM_ZONE_ORDER_HEAD < key_len)
			return LSM_ERR_CORRUPT;
		col = &r->cols[column];
		if (col->kind == LSM_KIND_INT || (col->flags & LSM_COLF_DROPPED))
			return LSM_ERR_CORRUPT;
		r->orders[column].order_id = lsm_load32(p + 4);
		r->orders[column].key_len = key_len;
		r->orders[column].key = p + LSM_ZONE_ORDER_HEAD;
		prev = column;
		p += LSM_ZONE_ORDER_HEAD + key_len;
	}
	return LSM_OK;
}

/*
 * Parse the column descriptors and block directory of r->meta.
 */
static int
parse_meta(LsmSegReader *r)
{
	const LsmSegHeader *h = &r->hdr;
	const uint8_t *p = r->meta + LSM_SEG_HEADER_SIZE;
	uint64_t	desc_len = (uint64_t) LSM_COLDESC_SIZE * h->ncols;
	uint64_t	dir_len = dir_entry_size(h->ncols) * h->nblocks;
	uint32_t	zone_len = lsm_load32(r->meta + H_ZONE_LEN);
	uint64_t	zone_start;
	uint64_t	nrows = 0;
	uint64_t	raw_bytes = 0;
	uint32_t	b;
	uint32_t	c;
	int			rc;

	if (LSM_SEG_HEADER_SIZE + desc_len + dir_len + zone_len +
		(uint64_t) h->order_len != h->meta_len)
		return LSM_ERR_CORRUPT;
	zone_start = LSM_SEG_HEADER_SIZE + desc_len + dir_len;

	if (h->ncols > 0)
	{
		r->cols = r->alloc.alloc(r->alloc.ctx, sizeof(LsmColumnDesc) * h->ncols);
		if (r->cols == NULL)
			return LSM_ERR_NOMEM;
	}
	for (c = 0; c < h->ncols; c++)
	{
		LsmColumnDesc *col = &r->cols[c];

		col->attnum = lsm_load16(p);
		col->kind = p[2];
		col->flags = p[3];
		col->width = lsm_load16(p + 4);
		col->align = p[6];
		col->byval = p[7];
		col->type_id = lsm_load32(p + 8);
		col->type_mod = (int32_t) lsm_load32(p + 12);
		if (!lsm_column_desc_valid(col) ||
			(col->flags & ~LSM_COLF_DROPPED) != 0)
			return LSM_ERR_CORRUPT;
		p += LSM_COLDESC_SIZE;
	}
	rc = parse_orders(r, zone_start + zone_len);
	if (rc != LSM_OK)
		return rc;

	if (h->nblocks > 0)
	{
		r->blocks = r->alloc.alloc(r->alloc.ctx,
								   sizeof(LsmBlockInfo) * h->nblocks);
		if (r->blocks == NULL)
			return LSM_ERR_NOMEM;
		memset(r->blocks, 0, sizeof(LsmBlockInfo) * h->nblocks);
		if (h->ncols > 0)
		{
			r->chunks = r->alloc.alloc(r->alloc.ctx, sizeof(LsmChunkInfo) *
									   h->ncols * (size_t) h->nblocks);
			if (r->chunks == NULL)
				return LSM_ERR_NOMEM;
		}
	}

	for (b = 0; b < h->nblocks; b++)
	{
		LsmBlockInfo *blk = &r->blocks[b];

		blk->nrows = lsm_load32(p);
		blk->first_rowid = (int64_t) lsm_load64(p + 8);
		blk->last_rowid = (int64_t) lsm_load64(p + 16);
		blk->data_offset = lsm_load64(p + 24);
		blk->data_len = lsm_load64(p + 32);
		if (blk->nrows == 0 || blk->nrows > h->block_rows ||
			lsm_load32(p + 4) != 2u + h->ncols ||
			blk->first_rowid > blk->last_rowid ||
			(uint64_t) blk->last_rowid - (uint64_t) blk->first_rowid <
			blk->nrows - 1 ||
			(b > 0 && blk->first_rowid <= r->blocks[b - 1].last_rowid) ||
			blk->data_offset < h->meta_len ||
			blk->data_offset > h->total_len ||
			blk->data_len > h->total_len - blk->data_offset)
			return LSM_ERR_CORRUPT;
		p += LSM_DIR_BLOCK_SIZE;

		rc = parse_chunk(r, p, blk, lsm_rowid_column(), NULL, zone_start,
						 zone_len, &blk->rowids);
		if (rc == LSM_OK && blk->rowids.encoding == LSM_ENC_NONE)
			rc = LSM_ERR_CORRUPT;
		if (rc == LSM_OK && blk->rowids.null_count != 0)
			rc = LSM_ERR_CORRUPT;
		if (rc != LSM_OK)
			return rc;
		p += LSM_DIR_CHUNK_SIZE;
		rc = parse_chunk(r, p, blk, lsm_cid_column(), NULL, zone_start,
						 zone_len, &blk->cids);
		if (rc == LSM_OK && !(h->flags & LSM_SEGF_HAS_CIDS) &&
			blk->cids.encoding != LSM_ENC_NONE)
			rc = LSM_ERR_CORRUPT;
		if (rc != LSM_OK)
			return rc;
		p += LSM_DIR_CHUNK_SIZE;
		raw_bytes += blk->rowids.raw_len + (uint64_t) blk->cids.raw_len;

		blk->cols = h->ncols > 0 ? &r->chunks[(size_t) b * h->ncols] : NULL;
		for (c = 0; c < h->ncols; c++)
		{
			rc = parse_chunk(r, p, blk, &r->cols[c],
							 r->orders ? &r->orders[c] : NULL,
							 zone_start, zone_len, &blk->cols[c]);
			if (rc != LSM_OK)
				return rc;
			if ((r->cols[c].flags & LSM_COLF_DROPPED) &&
				blk->cols[c].encoding != LSM_ENC_NONE)
				return LSM_ERR_CORRUPT;
			raw_bytes += blk->cols[c].raw_len;
			p += LSM_DIR_CHUNK_SIZE;
		}
		nrows += blk->nrows;
	}

	if (nrows != h->nrows || raw_bytes != h->raw_bytes)
		return LSM_ERR_CORRUPT;
	if (h->nblocks > 0 &&
		(h->min_rowid != r->blocks[0].first_rowid ||
		 h->max_rowid != r->blocks[h->nblocks - 1].last_rowid))
		return LSM_ERR_CORRUPT;
	return LSM_OK;
}

/*
 * Open a reader over r->meta, a buffer of r's allocator holding at least
 * the meta area: verify the checksum and parse the directory.  Frees r
 * (and its meta) on failure.
 */
static int
segr_finish_open(LsmSegReader *r, size_t len, LsmSegReader **out)
{
	uint8_t		zero[8] = {0};
	int			rc;

	rc = lsm_seg_parse_header(r->meta, len, &r->hdr);
	if (rc == LSM_OK && len < r->hdr.meta_len)
		rc = LSM_ERR_CORRUPT;
	if (rc != LSM_OK)
	{
		lsm_segr_free(r);
		return rc;
	}
	memcpy(r->meta + H_META_CHECKSUM, zero, 8);
	if (lsm_checksum(r->meta, r->hdr.meta_len) != r->hdr.meta_checksum)
	{
		lsm_segr_free(r);
		return LSM_ERR_CHECKSUM;
	}
	lsm_store64(r->meta + H_META_CHECKSUM, r->hdr.meta_checksum);

	rc = parse_meta(r);
	if (rc != LSM_OK)
	{
		lsm_segr_free(r);
		return rc;
	}
	*out = r;
	return LSM_OK;
}

/*
 * lsm_segr_open
 *		Open a segment from its meta area (at least the first meta_len bytes
 *		of the segment; more is fine).
 *
 * The meta area is copied, so "meta" may be released afterwards.  Returns
 * LSM_ERR_VERSION (bad magic/version), LSM_ERR_CORRUPT (short input or a
 * directory that does not add up), LSM_ERR_CHECKSUM, LSM_ERR_NOMEM or
 * LSM_ERR_ARG.  *out is NULL unless LSM_OK is returned.
 */
int
lsm_segr_open(const uint8_t *meta, size_t len, const LsmAllocator *alloc,
			  LsmSegReader **out)
{
	LsmSegReader *r;
	LsmSegHeader hdr;
	int			rc;

	if (out == NULL || alloc == NULL || meta == NULL)
		return LSM_ERR_ARG;
	*out = NULL;
	rc = lsm_seg_parse_header(meta, len, &hdr);
	if (rc != LSM_OK)
		return rc;
	if (len < hdr.meta_len)
		return LSM_ERR_CORRUPT;

	r = alloc->alloc(alloc->ctx, sizeof(LsmSegReader));
	if (r == NULL)
		return LSM_ERR_NOMEM;
	memset(r, 0, sizeof(LsmSegReader));
	r->alloc = *alloc;
	r->meta = alloc->alloc(alloc->ctx, hdr.meta_len);
	if (r->meta == NULL)
	{
		lsm_segr_free(r);
		return LSM_ERR_NOMEM;
	}
	memcpy(r->meta, meta, hdr.meta_len);
	return segr_finish_open(r, hdr.meta_len, out);
}

/*
 * lsm_segr_open_owned
 *		lsm_segr_open without the copy: the reader takes "meta" (len bytes,
 *		at least the meta area, allocated with alloc) and frees it with
 *		itself, also when the open fails.  Saves copying (and touching
 *		fresh memory for) a directory that was just read for the purpose.
 */
int
lsm_segr_open_owned(uint8_t *meta, size_t len, const LsmAllocator *alloc,
					LsmSegReader **out)
{
	LsmSegReader *r;

	if (out == NULL || alloc == NULL || meta == NULL)
	{
		if (alloc != NULL && meta != NULL)
			alloc->free(alloc->ctx, meta);
		return LSM_ERR_ARG;
	}
	*out = NULL;
	r = alloc->alloc(alloc->ctx, sizeof(LsmSegReader));
	if (r == NULL)
	{
		alloc->free(alloc->ctx, meta);
		return LSM_ERR_NOMEM;
	}
	memset(r, 0, sizeof(LsmSegReader));
	r->alloc = *alloc;
	r->meta = meta;
	return segr_finish_open(r, len, out);
}

/*
 * lsm_segr_footprint
 *		Bytes that opening a reader over a segment with header `hdr` asks of
 *		its allocator, with lsm_segr_open_owned and the meta area (meta_len
 *		bytes) allocated from the same allocator first: the sum of every
 *		allocation, each rounded up to a multiple of `align` (a power of
 *		two; the rounding an allocator that carves one region applies).
 *		Lets a caller place a whole reader in a region sized in advance
 *		(the shared directory cache).
 */
size_t
lsm_segr_footprint(const LsmSegHeader *hdr, size_t align)
{
#define FP_ROUND(n) (((size_t) (n) + align - 1) & ~(align - 1))
	size_t		total = FP_ROUND(hdr->meta_len) + FP_ROUND(sizeof(LsmSegReader));

	if (hdr->ncols > 0)
		total += FP_ROUND(sizeof(LsmColumnDesc) * hdr->ncols);
	if (hdr->order_len > 0 && hdr->ncols > 0)
		total += FP_ROUND(sizeof(LsmZoneOrder) * hdr->ncols);
	if (hdr->nblocks > 0)
	{
		total += FP_ROUND(sizeof(LsmBlockInfo) * (size_t) hdr->nblocks);
		if (hdr->ncols > 0)
			total += FP_ROUND(sizeof(LsmChunkInfo) * hdr->ncols * (size_t) hdr->nblocks);
	}
	return total;
#undef FP_ROUND
}

const LsmSegHeader *
lsm_segr_header(const LsmSegReader *r)
{
	return &r->hdr;
}

const LsmColumnDesc *
lsm_segr_columns(const LsmSegReader *r)
{
	return r->cols;
}

/*
 * lsm_segr_block
 *		Directory entry of block blockno, or NULL if out of range.
 */
const LsmBlockInfo *
lsm_segr_block(const LsmSegReader *r, uint32_t blockno)
{
	if (blockno >= r->hdr.nblocks)
		return NULL;
	return &r->blocks[blockno];
}

/*
 * lsm_segr_zone_order
 *		The zone order of column `column` (version 3), or NULL if it has
 *		none.  The key points into the reader's copy of the meta area.
 */
const LsmZoneOrder *
lsm_segr_zone_order(const LsmSegReader *r, uint16_t column)
{
	if (r->orders == NULL || column >= r->hdr.ncols ||
		r->orders[column].key == NULL)
		return NULL;
	return &r->orders[column];
}

void
lsm_segr_free(LsmSegReader *r)
{
	if (r == NULL)
		return;
	if (r->chunks != NULL)
		r->alloc.free(r->alloc.ctx, r->chunks);
	if (r->orders != NULL)
		r->alloc.free(r->alloc.ctx, r->orders);
	if (r->blocks != NULL)
		r->alloc.free(r->alloc.ctx, r->blocks);
	if (r->cols != NULL)
		r->alloc.free(r->alloc.ctx, r->cols);
	if (r->meta != NULL)
		r->alloc.free(r->alloc.ctx, r->meta);
	r->alloc.free(r->alloc.ctx, r);
}

/* ---- shared helpers ---- */

/*
 * lsm_status_str
 *		A short, lower-case description of an LSM_* status code.
 */
const char *
lsm_status_str(int status)
{
	switch (status)
	{
		case LSM_OK:
			return "success";
		case LSM_ERR_NOMEM:
			return "out of memory";
		case LSM_ERR_CORRUPT:
			return "segment data is corrupt";
		case LSM_ERR_CHECKSUM:
			return "checksum mismatch";
		case LSM_ERR_VERSION:
			return "unknown segment magic or format version";
		case LSM_ERR_ARG:
			return "invalid argument";
		case LSM_ERR_ZSTD:
			return "zstd failure";
		case LSM_ERR_SCHEMA:
			return "column stored unlike the table's column";
	}
	return "unknown status";
}

static void *
malloc_alloc(void *ctx, size_t size)
{
	(void) ctx;
	return malloc(size ? size : 1);
}

static void *
malloc_realloc(void *ctx, void *ptr, size_t size)
{
	(void) ctx;
	return realloc(ptr, size ? size : 1);
}

static void
malloc_free(void *ctx, void *ptr)
{
	(void) ctx;
	free(ptr);
}

/* The allocator used by the stand-alone tests and benchmarks */
const LsmAllocator lsm_malloc_allocator = {
	malloc_alloc, malloc_realloc, malloc_free, NULL
};

static void *
region_alloc(void *ctx, size_t size)
{
	LsmRegion  *rg = ctx;
	size_t		need = (size + LSM_REGION_ALIGN - 1) & ~(size_t) (LSM_REGION_ALIGN - 1);
	void	   *p;

	if (need < size || need > rg->left)
		return NULL;
	p = rg->next;
	rg->next += need;
	rg->left -= need;
	return p;
}

static void
region_free(void *ctx, void *ptr)
{
	(void) ctx;
	(void) ptr;
}

/* An allocator over rg (see lsm_format.h); rg must outlive its use. */
LsmAllocator
lsm_region_allocator(LsmRegion *rg)
{
	LsmAllocator a = {region_alloc, NULL, region_free, NULL};

	a.ctx = rg;
	return a;
}

/*
 * lsm_buf_reserve
 *		Make room for at least extra more bytes after b->len.
 *
 * Grows geometrically.  Returns LSM_OK, LSM_ERR_NOMEM or LSM_ERR_ARG when
 * the size would overflow size_t.
 */
int
lsm_buf_reserve(LsmBuf *b, size_t extra)
{
	size_t		need;
	size_t		newcap;
	uint8_t    *p;

	if (extra > SIZE_MAX - b->len)
		return LSM_ERR_ARG;
	need = b->len + extra;
	if (need <= b->cap)
		return LSM_OK;
	newcap = b->cap ? b->cap : 4096;
	while (newcap < need)
	{
		if (newcap > SIZE_MAX / 2)
		{
			newcap = need;
			break;
		}
		newcap *= 2;
	}
	if (b->data == NULL)
		p = b->alloc->alloc(b->alloc->ctx, newcap);
	else
		p = b->alloc->realloc(b->alloc->ctx, b->data, newcap);
	if (p == NULL)
		return LSM_ERR_NOMEM;
	b->data = p;
	b->cap = newcap;
	return LSM_OK;
}

/*
 * lsm_buf_append
 *		Append len bytes to the buffer.
 */
int
lsm_buf_append(LsmBuf *b, const void *data, size_t len)
{
	int			rc = lsm_buf_reserve(b, len);

	if (rc != LSM_OK)
		return rc;
	if (len > 0)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	return LSM_OK;
}

/*
 * lsm_buf_free
 *		Release the buffer's memory; the buffer may be reused afterwards.
 */
void
lsm_buf_free(LsmBuf *b)
{
	if (b->data != NULL)
		b->alloc->free(b->alloc->ctx, b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

/*
 * lsm_column_desc_valid
 *		Is the descriptor's kind/width combination one the format supports?
 */
bool
lsm_column_desc_valid(const LsmColumnDesc *col)
{
	switch (col->kind)
	{
		case LSM_KIND_INT:
			return col->width == 1 || col->width == 2 ||
				col->width == 4 || col->width == 8;
		case LSM_KIND_FIXED:
			return col->width >= 1;
		case LSM_KIND_VARLEN:
			return col->width == 0;
	}
	return false;
}

/*
 * lsm_encoding_valid
 *		May a chunk of a column of this kind use this encoding?
 */
bool
lsm_encoding_valid(uint8_t kind, uint8_t encoding)
{
	switch (encoding)
	{
		case LSM_ENC_NONE:
		case LSM_ENC_PLAIN:
		case LSM_ENC_CONST:
			return true;
		case LSM_ENC_FOR:
		case LSM_ENC_DELTA:
		case LSM_ENC_RLE:
			return kind == LSM_KIND_INT;
		case LSM_ENC_DICT:
			return kind == LSM_KIND_FIXED || kind == LSM_KIND_VARLEN;
	}
	return false;
}
