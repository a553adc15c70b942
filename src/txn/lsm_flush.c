/*-------------------------------------------------------------------------
 *
 * lsm_flush.c
 *	  Turning buffered rows into a level-0 segment: columnar encoding
 *	  through src/format, pages through src/storage, the segment's catalog
 *	  row through src/catalog.
 *
 * NOTES
 *	  Each run of a buffer (rows of one rowid batch) becomes one segment.
 *	  The segment is encoded in memory block by block (lsm.block_rows rows
 *	  each); the encoded size is bounded by the buffer limits.  Values are
 *	  stored as PostgreSQL keeps them in a tuple: by-value integers (and
 *	  floats, by their bits) as INT columns, fixed-length by-reference types
 *	  as FIXED columns, varlena values (detoasted, with their header) and
 *	  cstrings (with their terminator) as VARLEN columns.
 *
 *	  Zone maps: INT columns get signed min/max from the format library.
 *	  For other types with a default btree ordering we compute min/max with
 *	  its comparison function when that is cheap, i.e. the type is not
 *	  collatable or uses the "C" collation, and the value is at most
 *	  LSM_ZONE_MAX_BYTES long.  Collation-aware zone maps are left to the
 *	  scan work that uses them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_collation.h"
#include "miscadmin.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/pg_locale.h"
#include "utils/rel.h"
#include "utils/typcache.h"

#include "lsm_am.h"
#include "catalog/lsm_catalog.h"
#include "storage/lsm_storage.h"
#include "scan/lsm_scan.h"
#include "txn/lsm_txn.h"

#define LSM_ZONE_MAX_BYTES		256

/* Per-column state of one flush. */
typedef struct LsmFlushColumn
{
	LsmColumnDesc desc;
	FmgrInfo   *cmp;			/* btree comparison for zone maps, or NULL */
	Oid			collation;
	/* per-block arrays */
	uint8	   *nulls;
	int64	   *ints;
	uint8	   *fixed;
	const uint8 **var_data;
	uint32	   *var_len;
} LsmFlushColumn;

static uint8
lsm_align_code(char typalign)
{
	switch (typalign)
	{
		case TYPALIGN_SHORT:
			return 2;
		case TYPALIGN_INT:
			return 4;
		case TYPALIGN_DOUBLE:
			return 8;
		default:
			return 1;
	}
}

static void
lsm_describe_column(Form_pg_attribute att, LsmFlushColumn *col)
{
	LsmColumnDesc *d = &col->desc;

	memset(col, 0, sizeof(LsmFlushColumn));
	d->attnum = att->attnum;
	d->type_id = att->atttypid;
	d->type_mod = att->atttypmod;
	d->align = lsm_align_code(att->attalign);
	d->byval = att->attbyval;
	if (att->attisdropped)
		d->flags |= LSM_COLF_DROPPED;
	if (att->attbyval &&
		(att->attlen == 1 || att->attlen == 2 || att->attlen == 4 ||
		 att->attlen == 8))
	{
		d->kind = LSM_KIND_INT;
		d->width = att->attlen;
	}
	else if (att->attlen > 0)
	{
		d->kind = LSM_KIND_FIXED;
		d->width = att->attlen;
	}
	else
	{
		d->kind = LSM_KIND_VARLEN;
		d->width = 0;
	}

	if (!att->attisdropped && d->kind != LSM_KIND_INT)
	{
		TypeCacheEntry *tc = lookup_type_cache(att->atttypid,
											   TYPECACHE_CMP_PROC_FINFO);

		if (OidIsValid(tc->cmp_proc) &&
			(!OidIsValid(att->attcollation) ||
			 att->attcollation == C_COLLATION_OID ||
			 lc_collate_is_c(att->attcollation)))
		{
			col->cmp = &tc->cmp_proc_finfo;
			col->collation = att->attcollation;
		}
	}
}

static inline int64
lsm_datum_to_int(Datum d, int width)
{
	switch (width)
	{
		case 1:
			return (int64) DatumGetChar(d);
		case 2:
			return (int64) DatumGetInt16(d);
		case 4:
			return (int64) DatumGetInt32(d);
		default:
			return DatumGetInt64(d);
	}
}

static inline uint32
lsm_datum_len(Datum d, int attlen)
{
	if (attlen == -1)
		return VARSIZE_ANY(DatumGetPointer(d));
	return (uint32) strlen(DatumGetCString(d)) + 1;
}

/*
 * Encode `nrows` rows (ascending rowids) into one segment, write it and
 * catalogue it as a level-0 segment of `storage_id`.  Runs in a temporary
 * memory context.
 */
void
lsm_write_rows(Relation rel, uint64 storage_id, TupleDesc tupdesc,
			   int nrows, const LsmMemRow *rows, bool with_cids)
{
	MemoryContext flushcxt;
	MemoryContext old;
	int			natts = tupdesc->natts;
	int			block_rows = lsm_block_rows;
	LsmFlushColumn *cols;
	LsmColumnDesc *descs;
	LsmColumnData *data;
	LsmWriterOptions opts;
	LsmAllocator alloc;
	LsmSegWriter *w;
	int64	   *rowids;
	uint32	   *cids;
	Datum	   *values;
	bool	   *isnull;
	uint8	   *out;
	size_t		out_len;
	int			st;
	int			start;
	int			i;
	LsmSegHeader hdr;
	LsmSegmentEntry seg;
	HeapTupleData htup;

	if (nrows == 0)
		return;
	flushcxt = AllocSetContextCreate(CurrentMemoryContext, "lsm flush",
									 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(flushcxt);

	cols = palloc(sizeof(LsmFlushColumn) * Max(natts, 1));
	descs = palloc(sizeof(LsmColumnDesc) * Max(natts, 1));
	data = palloc0(sizeof(LsmColumnData) * Max(natts, 1));
	for (i = 0; i < natts; i++)
	{
		LsmFlushColumn *c = &cols[i];

		lsm_describe_column(TupleDescAttr(tupdesc, i), c);
		descs[i] = c->desc;
		c->nulls = palloc(block_rows);
		if (c->desc.kind == LSM_KIND_INT)
			c->ints = palloc(sizeof(int64) * block_rows);
		else if (c->desc.kind == LSM_KIND_FIXED)
			c->fixed = palloc_extended((Size) c->desc.width * block_rows,
									   MCXT_ALLOC_HUGE);
		else
		{
			c->var_data = palloc(sizeof(uint8 *) * block_rows);
			c->var_len = palloc(sizeof(uint32) * block_rows);
		}
	}
	rowids = palloc(sizeof(int64) * block_rows);
	cids = palloc(sizeof(uint32) * block_rows);
	values = palloc(sizeof(Datum) * Max(natts, 1));
	isnull = palloc(sizeof(bool) * Max(natts, 1));

	memset(&opts, 0, sizeof(opts));
	opts.block_rows = block_rows;
	opts.schema_version = 1;
	opts.with_cids = with_cids;
	opts.zstd_level = lsm_compression_level;
	opts.zstd_min_gain_pct = lsm_zstd_min_gain;
	alloc = lsm_pg_allocator(flushcxt);
	w = lsm_segw_begin(descs, (uint16) natts, &opts, &alloc);
	if (w == NULL)
		lsm_format_error(LSM_ERR_NOMEM, rel, -1, -1, "starting a segment");

	for (start = 0; start < nrows; start += block_rows)
	{
		int			n = Min(block_rows, nrows - start);
		int			j;

		CHECK_FOR_INTERRUPTS();
		for (i = 0; i < natts; i++)
		{
			data[i].nulls = NULL;
			data[i].has_zone = false;
		}

		for (j = 0; j < n; j++)
		{
			const LsmMemRow *row = &rows[start + j];

			rowids[j] = row->rowid;
			cids[j] = row->cid;
			htup.t_len = row->tuple->t_len + MINIMAL_TUPLE_OFFSET;
			htup.t_data = (HeapTupleHeader) ((char *) row->tuple - MINIMAL_TUPLE_OFFSET);
			heap_deform_tuple(&htup, tupdesc, values, isnull);

			for (i = 0; i < natts; i++)
			{
				LsmFlushColumn *c = &cols[i];
				bool		null = isnull[i] || (c->desc.flags & LSM_COLF_DROPPED);

				c->nulls[j] = null;
				if (null)
				{
					data[i].nulls = c->nulls;
					if (c->desc.kind == LSM_KIND_INT)
						c->ints[j] = 0;
					else if (c->desc.kind == LSM_KIND_FIXED)
						memset(c->fixed + (Size) j * c->desc.width, 0, c->desc.width);
					else
					{
						c->var_data[j] = NULL;
						c->var_len[j] = 0;
					}
					continue;
				}
				if (c->desc.kind == LSM_KIND_INT)
					c->ints[j] = lsm_datum_to_int(values[i], c->desc.width);
				else if (c->desc.kind == LSM_KIND_FIXED)
					memcpy(c->fixed + (Size) j * c->desc.width,
						   DatumGetPointer(values[i]), c->desc.width);
				else
				{
					c->var_data[j] = (const uint8 *) DatumGetPointer(values[i]);
					c->var_len[j] = lsm_datum_len(values[i],
												  TupleDescAttr(tupdesc, i)->attlen);
				}
			}
		}

		/* zone maps for ordered non-integer types */
		for (i = 0; i < natts; i++)
		{
			LsmFlushColumn *c = &cols[i];
			int			minj = -1,
						maxj = -1;
			bool		ok = (c->cmp != NULL);

			data[i].ints = c->ints;
			data[i].fixed = c->fixed;
			data[i].var_data = (const uint8 *const *) c->var_data;
			data[i].var_len = c->var_len;
			if (!ok)
				continue;
			for (j = 0; j < n && ok; j++)
			{
				Datum		d;

				if (c->nulls[j])
					continue;
				if (c->desc.kind == LSM_KIND_VARLEN &&
					c->var_len[j] > LSM_ZONE_MAX_BYTES)
				{
					ok = false;
					break;
				}
				d = c->desc.kind == LSM_KIND_FIXED ?
					PointerGetDatum(c->fixed + (Size) j * c->desc.width) :
					PointerGetDatum(c->var_data[j]);
				if (minj < 0)
				{
					minj = maxj = j;
					continue;
				}
				if (DatumGetInt32(FunctionCall2Coll(c->cmp, c->collation, d,
													c->desc.kind == LSM_KIND_FIXED ?
													PointerGetDatum(c->fixed + (Size) minj * c->desc.width) :
													PointerGetDatum(c->var_data[minj]))) < 0)
					minj = j;
				else if (DatumGetInt32(FunctionCall2Coll(c->cmp, c->collation, d,
														 c->desc.kind == LSM_KIND_FIXED ?
														 PointerGetDatum(c->fixed + (Size) maxj * c->desc.width) :
														 PointerGetDatum(c->var_data[maxj]))) > 0)
					maxj = j;
			}
			if (ok && minj >= 0 &&
				(c->desc.kind == LSM_KIND_VARLEN ||
				 c->desc.width <= LSM_ZONE_MAX_BYTES))
			{
				data[i].has_zone = true;
				if (c->desc.kind == LSM_KIND_FIXED)
				{
					data[i].zmin = c->fixed + (Size) minj * c->desc.width;
					data[i].zmax = c->fixed + (Size) maxj * c->desc.width;
					data[i].zmin_len = data[i].zmax_len = c->desc.width;
				}
				else
				{
					data[i].zmin = c->var_data[minj];
					data[i].zmax = c->var_data[maxj];
					data[i].zmin_len = c->var_len[minj];
					data[i].zmax_len = c->var_len[maxj];
				}
			}
		}

		st = lsm_segw_add_block(w, (uint32) n, rowids,
								with_cids ? cids : NULL, data);
		if (st != LSM_OK)
			lsm_format_error(st, rel, -1, start / block_rows, "encoding a block");
	}

	st = lsm_segw_finish(w, &out, &out_len);
	if (st != LSM_OK)
		lsm_format_error(st, rel, -1, -1, "assembling a segment");
	st = lsm_seg_parse_header(out, out_len, &hdr);
	if (st != LSM_OK)
		lsm_format_error(st, rel, -1, 0, "reading back a new segment");

	memset(&seg, 0, sizeof(seg));
	seg.segment_id = lsm_catalog_next_segment_id();
	seg.level = 0;
	seg.min_rowid = hdr.min_rowid;
	seg.max_rowid = hdr.max_rowid;
	seg.row_count = (int64) hdr.nrows;
	seg.deleted_count = 0;
	seg.schema_version = (int32) hdr.schema_version;
	seg.total_bytes = (int64) out_len;
	seg.raw_bytes = (int64) hdr.raw_bytes;
	seg.start_block = lsm_pages_append(rel, (const char *) out, out_len,
									   &seg.nblocks);
	lsm_catalog_insert_segment(storage_id, &seg);
	lsm_note_flush();

	MemoryContextSwitchTo(old);
	MemoryContextDelete(flushcxt);
}

/* Flush every run of a buffer: one segment per run. */
void
lsm_flush_buffer(Relation rel, uint64 storage_id, LsmMemBuffer *buf)
{
	int			r;

	for (r = 0; r < buf->nruns; r++)
	{
		LsmMemRun  *run = &buf->runs[r];

		if (run->nrows > 0)
			lsm_write_rows(rel, storage_id, buf->tupdesc, run->nrows,
						   run->rows, true);
	}
}
