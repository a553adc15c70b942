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
 *	  Numeric columns: a block whose non-null values are all finite, of one
 *	  display scale and within int64 once scaled is handed to the format
 *	  library as scaled integers with a representation tag
 *	  (src/scan/lsm_numeric.c), which it stores with its integer encodings:
 *	  a fraction of the size, and the LSM Aggregate sums them without
 *	  parsing a numeric.  Other blocks keep the varlenas.
 *
 *	  Zone maps: INT columns get signed min/max from the format library
 *	  (meaningful for integer, date and timestamp types), float columns
 *	  min/max in float order.  For other types with a default btree
 *	  ordering we compute min/max with its comparison function, in the "C"
 *	  collation for collatable types, when every value of the block is at
 *	  most LSM_ZONE_MAX_BYTES long.  A collatable column whose collation
 *	  does not sort like "C" also gets an ordered zone: min/max under its
 *	  own collation, with the collation's key recorded in the segment
 *	  (src/scan/lsm_zoneorder.c), so that range quals in that collation
 *	  can prune.  Comparisons under a real collation cost far more than
 *	  byte comparisons, so a block's values go through a small filter of
 *	  values already compared (a repeated value cannot move the min or the
 *	  max), and the rest are compared two at a time (the smaller against
 *	  the min, the larger against the max: 1.5 comparisons per value).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "utils/timestamp.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/pg_locale.h"
#include "utils/float.h"
#include "utils/rel.h"
#include "utils/sortsupport.h"
#include "utils/typcache.h"

#include "lsm_am.h"
#include "catalog/lsm_catalog.h"
#include "catalog/lsm_schema.h"
#include "compact/lsm_compact.h"
#include "storage/lsm_storage.h"
#include "scan/lsm_scan.h"
#include "txn/lsm_txn.h"

#define LSM_ZONE_MAX_BYTES		256
#define LSM_ZONE_SEEN			256	/* slots of the filter of values compared */

/* Per-column state of one flush. */
typedef struct LsmFlushColumn
{
	LsmColumnDesc desc;
	FmgrInfo   *cmp;			/* btree comparison for zone maps, or NULL */
	Oid			collation;
	Oid			float_type;		/* FLOAT4OID/FLOAT8OID: float-ordered zone */
	uint8		fzone[16];		/* its min and max, 8 bytes each */
	/* ordered zones: min/max under the column's own collation */
	bool		ordered;
	LsmZoneOrder order;			/* the collation's OID and key */
	SortSupportData ossup;		/* comparison under that collation */
	int32	   *seen;			/* LSM_ZONE_SEEN rows whose values were
								 * compared in this block (-1: none) */
	bool		numeric;		/* try scaled integers (lsm_numeric.c) */
	int64	   *scaled;			/* per-block: the values as scaled integers */
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

/*
 * How attribute `att` is stored in a segment written now: its column
 * descriptor (docs/FORMAT.md section 3).  Readers describe the table the
 * same way to map old segments' columns onto it (lsm_colmap_build).
 */
void
lsm_column_desc(Form_pg_attribute att, LsmColumnDesc *d)
{
	memset(d, 0, sizeof(LsmColumnDesc));
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
}

static void
lsm_describe_column(Form_pg_attribute att, LsmFlushColumn *col)
{
	LsmColumnDesc *d = &col->desc;

	memset(col, 0, sizeof(LsmFlushColumn));
	lsm_column_desc(att, d);
	if (!att->attisdropped && d->kind == LSM_KIND_INT &&
		(att->atttypid == FLOAT4OID || att->atttypid == FLOAT8OID))
		col->float_type = att->atttypid;
	col->numeric = !att->attisdropped && att->atttypid == NUMERICOID;
	if (!att->attisdropped && d->kind != LSM_KIND_INT)
	{
		TypeCacheEntry *tc = lookup_type_cache(att->atttypid,
											   TYPECACHE_CMP_PROC_FINFO);

		/*
		 * Zone maps of collatable types are kept in "C" order whatever the
		 * column's collation: cheap to build (byte comparisons), good for
		 * range quals in a C-like collation and for equality in every
		 * deterministic collation (equal means byte-equal there).
		 */
		if (OidIsValid(tc->cmp_proc))
		{
			col->cmp = &tc->cmp_proc_finfo;
			col->collation = OidIsValid(att->attcollation) ?
				C_COLLATION_OID : InvalidOid;
		}

		/*
		 * ... and, under a collation that does not sort like "C", in the
		 * column's collation too (ordered zones): they let range quals in
		 * that collation prune.
		 */
		if (col->cmp != NULL && OidIsValid(att->attcollation) &&
			lsm_collation_zone_maps)
		{
			const uint8 *key;
			uint16		key_len;

			tc = lookup_type_cache(att->atttypid, TYPECACHE_LT_OPR);
			if (OidIsValid(tc->lt_opr) &&
				lsm_zone_order_key(att->attcollation, &key, &key_len))
			{
				col->ordered = true;
				col->order.order_id = att->attcollation;
				col->order.key = key;
				col->order.key_len = key_len;
				col->ossup.ssup_cxt = CurrentMemoryContext;
				col->ossup.ssup_collation = att->attcollation;
				col->ossup.ssup_reverse = false;
				col->ossup.ssup_nulls_first = false;
				col->ossup.abbreviate = false;
				PrepareSortSupportFromOrderingOp(tc->lt_opr, &col->ossup);
				col->seen = palloc(sizeof(int32) * LSM_ZONE_SEEN);
			}
		}
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
 * A segment being built: rows are added one at a time in ascending rowid
 * order, gathered column by column into a block of lsm.block_rows rows,
 * and each full block is encoded at once.  The encoded segment is kept in
 * memory until lsm_segbuilder_finish writes its pages and catalogues it.
 */
struct LsmSegBuilder
{
	Relation	rel;
	TupleDesc	tupdesc;
	int			natts;
	int			block_rows;
	bool		with_cids;
	bool		copy_values;	/* by-reference values must be copied */
	MemoryContext cxt;			/* owns everything */
	MemoryContext blockcxt;		/* copied values of the current block */
	LsmFlushColumn *cols;
	LsmColumnData *data;
	LsmAllocator alloc;
	LsmSegWriter *w;
	int64	   *rowids;
	uint32	   *cids;
	int			n;				/* rows in the current block */
	int64		nrows;			/* rows added in all */
	int			nblocks;		/* blocks encoded */
};

/*
 * lsm_segbuilder_begin
 *		Start a segment of storage `storage_id` of rows of `tupdesc` (the
 *		relation's descriptor, or the older one rows were buffered under);
 *		it is written under the schema version of that layout
 *		(src/catalog/lsm_schema.c).  With copy_values, by-reference values passed to
 *		lsm_segbuilder_add are copied, so the caller may reuse their memory
 *		before the block is encoded.  Allocates in a child of the current
 *		memory context.
 */
LsmSegBuilder *
lsm_segbuilder_begin(Relation rel, uint64 storage_id, TupleDesc tupdesc,
					 bool with_cids, bool copy_values)
{
	MemoryContext cxt;
	MemoryContext old;
	LsmSegBuilder *b;
	LsmColumnDesc *descs;
	LsmWriterOptions opts;
	int			natts = tupdesc->natts;
	int			block_rows = lsm_block_rows;
	int32		schema_version;
	int			i;

	/* may write a catalog row: before the builder's memory exists */
	schema_version = lsm_schema_version_for_write(rel, storage_id, tupdesc);
	cxt = AllocSetContextCreate(CurrentMemoryContext, "lsm segment builder",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	b = palloc0(sizeof(LsmSegBuilder));
	b->rel = rel;
	b->tupdesc = tupdesc;
	b->natts = natts;
	b->block_rows = block_rows;
	b->with_cids = with_cids;
	b->copy_values = copy_values;
	b->cxt = cxt;
	b->blockcxt = AllocSetContextCreate(cxt, "lsm segment builder block",
										ALLOCSET_DEFAULT_SIZES);
	b->cols = palloc(sizeof(LsmFlushColumn) * Max(natts, 1));
	b->data = palloc0(sizeof(LsmColumnData) * Max(natts, 1));
	descs = palloc(sizeof(LsmColumnDesc) * Max(natts, 1));
	for (i = 0; i < natts; i++)
	{
		LsmFlushColumn *c = &b->cols[i];

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
			if (c->numeric)
				c->scaled = palloc(sizeof(int64) * block_rows);
		}
	}
	b->rowids = palloc(sizeof(int64) * block_rows);
	b->cids = palloc(sizeof(uint32) * block_rows);

	memset(&opts, 0, sizeof(opts));
	opts.block_rows = block_rows;
	opts.schema_version = (uint32) schema_version;
	opts.with_cids = with_cids;
	opts.int_zones_given = true;	/* float columns: float-ordered zones */
	opts.zstd_level = lsm_table_compression_level(RelationGetRelid(rel));
	opts.zstd_min_gain_pct = lsm_zstd_min_gain;
	b->alloc = lsm_pg_allocator(cxt);
	b->w = lsm_segw_begin(descs, (uint16) natts, &opts, &b->alloc);
	if (b->w == NULL)
		lsm_format_error(LSM_ERR_NOMEM, rel, -1, -1, "starting a segment");
	for (i = 0; i < natts; i++)
	{
		int			st;

		if (!b->cols[i].ordered)
			continue;
		st = lsm_segw_set_zone_order(b->w, (uint16) i, &b->cols[i].order);
		if (st != LSM_OK)
			lsm_format_error(st, rel, -1, -1, "starting a segment");
	}
	MemoryContextSwitchTo(old);
	return b;
}

/*
 * Zone map of a float column in the btree order of floats (NaN above
 * everything; -0 and 0 are equal), as the stored integers of the min and
 * max values (FORMAT.md section 5, LSM_SEGF_INT_ZONES_GIVEN).
 */
static void
lsm_float_zone(LsmFlushColumn *c, LsmColumnData *cd, int n)
{
	int			minj = -1,
				maxj = -1;
	int			j;

	for (j = 0; j < n; j++)
	{
		double		v,
					lo,
					hi;

		if (c->nulls[j])
			continue;
		if (minj < 0)
		{
			minj = maxj = j;
			continue;
		}
		if (c->float_type == FLOAT4OID)
		{
			v = DatumGetFloat4((Datum) c->ints[j]);
			lo = DatumGetFloat4((Datum) c->ints[minj]);
			hi = DatumGetFloat4((Datum) c->ints[maxj]);
		}
		else
		{
			v = DatumGetFloat8((Datum) c->ints[j]);
			lo = DatumGetFloat8((Datum) c->ints[minj]);
			hi = DatumGetFloat8((Datum) c->ints[maxj]);
		}
		if (float8_lt(v, lo))
			minj = j;
		else if (float8_gt(v, hi))
			maxj = j;
	}
	if (minj < 0)
		return;					/* all NULL */
	lsm_zone_int_store(c->fzone, c->ints[minj]);
	lsm_zone_int_store(c->fzone + 8, c->ints[maxj]);
	cd->has_zone = true;
	cd->zmin = c->fzone;
	cd->zmax = c->fzone + 8;
	cd->zmin_len = cd->zmax_len = 8;
}

/* Value j of a FIXED or VARLEN column of the current block, as a Datum. */
static inline Datum
lsm_block_datum(LsmFlushColumn *c, int j)
{
	if (c->desc.kind == LSM_KIND_FIXED)
		return PointerGetDatum(c->fixed + (Size) j * c->desc.width);
	return PointerGetDatum(c->var_data[j]);
}

/*
 * Where a value goes in the filter of values already compared: a cheap
 * mix of its length and first and last eight bytes (the filter only needs
 * distinct values of a block to spread; a collision merely costs a
 * comparison).
 */
static inline uint32
lsm_seen_slot(const uint8 *p, uint32 len)
{
	uint64		head = 0;
	uint64		tail = 0;
	uint64		h;

	memcpy(&head, p, Min(len, 8));
	if (len > 8)
		memcpy(&tail, p + len - 8, 8);
	h = (head ^ (tail * UINT64CONST(0x9E3779B97F4A7C15)) ^ len) *
		UINT64CONST(0xC2B2AE3D27D4EB4F);
	return (uint32) (h >> 32) % LSM_ZONE_SEEN;
}

/* Compare values i and j of the current block under the column's collation. */
static inline int
lsm_ocmp(LsmFlushColumn *c, int i, int j)
{
	return c->ossup.comparator(lsm_block_datum(c, i), lsm_block_datum(c, j),
							   &c->ossup);
}

/*
 * Fold values a and b (b < 0: only a) of the current block into the
 * collation-ordered min/max *minj, *maxj (-1: none yet).
 */
static void
lsm_ozone_add(LsmFlushColumn *c, int a, int b, int *minj, int *maxj)
{
	int			lo = a,
				hi = a;

	if (b >= 0)
	{
		if (lsm_ocmp(c, a, b) <= 0)
			hi = b;
		else
			lo = b;
	}
	if (*minj < 0)
	{
		*minj = lo;
		*maxj = hi;
		return;
	}
	if (lsm_ocmp(c, lo, *minj) < 0)
	{
		*minj = lo;
		if (b < 0)
			return;
	}
	if (lsm_ocmp(c, hi, *maxj) > 0)
		*maxj = hi;
}

/*
 * Zone maps of the current block of a column with ordered zones: min/max
 * in "C" order (the plain zone, as for other columns) and under the
 * column's collation (the ordered zone).  Each distinct value is compared
 * once, as far as the filter of values already seen remembers it.
 */
static void
lsm_ordered_zone_maps(LsmFlushColumn *c, LsmColumnData *cd, int n)
{
	bool		fixed = (c->desc.kind == LSM_KIND_FIXED);
	int			minj = -1,
				maxj = -1,
				ominj = -1,
				omaxj = -1,
				pend = -1;
	int			j;

	if (fixed && c->desc.width > LSM_ZONE_MAX_BYTES)
		return;
	for (j = 0; j < LSM_ZONE_SEEN; j++)
		c->seen[j] = -1;
	for (j = 0; j < n; j++)
	{
		uint32		len;
		const uint8 *p;
		int32	   *slot;

		if (c->nulls[j])
			continue;
		len = fixed ? c->desc.width : c->var_len[j];
		if (len > LSM_ZONE_MAX_BYTES)
			return;				/* a value too long: no zone maps */
		p = (const uint8 *) DatumGetPointer(lsm_block_datum(c, j));
		slot = &c->seen[lsm_seen_slot(p, len)];
		if (*slot >= 0 &&
			(fixed || c->var_len[*slot] == len) &&
			memcmp(DatumGetPointer(lsm_block_datum(c, *slot)), p, len) == 0)
			continue;			/* the same bytes: compared already */
		*slot = j;

		if (minj < 0)
			minj = maxj = j;
		else if (DatumGetInt32(FunctionCall2Coll(c->cmp, c->collation,
												 lsm_block_datum(c, j),
												 lsm_block_datum(c, minj))) < 0)
			minj = j;
		else if (DatumGetInt32(FunctionCall2Coll(c->cmp, c->collation,
												 lsm_block_datum(c, j),
												 lsm_block_datum(c, maxj))) > 0)
			maxj = j;

		if (pend < 0)
			pend = j;
		else
		{
			lsm_ozone_add(c, pend, j, &ominj, &omaxj);
			pend = -1;
		}
	}
	if (minj < 0)
		return;					/* all NULL */
	if (pend >= 0)
		lsm_ozone_add(c, pend, -1, &ominj, &omaxj);

	cd->has_zone = true;
	cd->has_ordered_zone = true;
	cd->zmin = (const uint8 *) DatumGetPointer(lsm_block_datum(c, minj));
	cd->zmax = (const uint8 *) DatumGetPointer(lsm_block_datum(c, maxj));
	cd->ozmin = (const uint8 *) DatumGetPointer(lsm_block_datum(c, ominj));
	cd->ozmax = (const uint8 *) DatumGetPointer(lsm_block_datum(c, omaxj));
	if (fixed)
		cd->zmin_len = cd->zmax_len = cd->ozmin_len = cd->ozmax_len =
			c->desc.width;
	else
	{
		cd->zmin_len = c->var_len[minj];
		cd->zmax_len = c->var_len[maxj];
		cd->ozmin_len = c->var_len[ominj];
		cd->ozmax_len = c->var_len[omaxj];
	}
}

/* Zone maps of the current block for ordered non-integer columns. */
static void
lsm_segbuilder_zone_maps(LsmSegBuilder *b)
{
	int			n = b->n;
	int			i,
				j;

	for (i = 0; i < b->natts; i++)
	{
		LsmFlushColumn *c = &b->cols[i];
		LsmColumnData *cd = &b->data[i];
		int			minj = -1,
					maxj = -1;
		bool		fixed = (c->desc.kind == LSM_KIND_FIXED);

		cd->has_zone = false;
		cd->has_ordered_zone = false;
		if (c->float_type != InvalidOid)
		{
			lsm_float_zone(c, cd, n);
			continue;
		}
		if (c->ordered)
		{
			lsm_ordered_zone_maps(c, cd, n);
			continue;
		}
		if (c->cmp == NULL)
			continue;
		if (c->numeric && cd->int_tag != 0)
		{
			/*
			 * The block's numerics as integers at one scale order as the
			 * numerics do: no numeric_cmp (nor detoasting) per value.
			 */
			for (j = 0; j < n; j++)
			{
				if (c->nulls[j])
					continue;
				if (c->var_len[j] > LSM_ZONE_MAX_BYTES)
					break;
				if (minj < 0)
					minj = maxj = j;
				else if (c->scaled[j] < c->scaled[minj])
					minj = j;
				else if (c->scaled[j] > c->scaled[maxj])
					maxj = j;
			}
			if (j < n || minj < 0)
				continue;
			cd->has_zone = true;
			cd->zmin = c->var_data[minj];
			cd->zmax = c->var_data[maxj];
			cd->zmin_len = c->var_len[minj];
			cd->zmax_len = c->var_len[maxj];
			continue;
		}
		for (j = 0; j < n; j++)
		{
			Datum		d;

			if (c->nulls[j])
				continue;
			if (!fixed && c->var_len[j] > LSM_ZONE_MAX_BYTES)
				break;
			d = fixed ? PointerGetDatum(c->fixed + (Size) j * c->desc.width) :
				PointerGetDatum(c->var_data[j]);
			if (minj < 0)
			{
				minj = maxj = j;
				continue;
			}
			if (DatumGetInt32(FunctionCall2Coll(c->cmp, c->collation, d,
												fixed ?
												PointerGetDatum(c->fixed + (Size) minj * c->desc.width) :
												PointerGetDatum(c->var_data[minj]))) < 0)
				minj = j;
			else if (DatumGetInt32(FunctionCall2Coll(c->cmp, c->collation, d,
													 fixed ?
													 PointerGetDatum(c->fixed + (Size) maxj * c->desc.width) :
													 PointerGetDatum(c->var_data[maxj]))) > 0)
				maxj = j;
		}
		if (j < n || minj < 0)
			continue;			/* a value too long, or all NULL */
		if (fixed && c->desc.width > LSM_ZONE_MAX_BYTES)
			continue;
		cd->has_zone = true;
		if (fixed)
		{
			cd->zmin = c->fixed + (Size) minj * c->desc.width;
			cd->zmax = c->fixed + (Size) maxj * c->desc.width;
			cd->zmin_len = cd->zmax_len = c->desc.width;
		}
		else
		{
			cd->zmin = c->var_data[minj];
			cd->zmax = c->var_data[maxj];
			cd->zmin_len = c->var_len[minj];
			cd->zmax_len = c->var_len[maxj];
		}
	}
}

/*
 * The representation tag of the current block of numeric column c, with
 * its values as scaled integers in c->scaled; 0 (keep the varlenas) unless
 * every non-null value is finite, of one display scale and fits.
 */
static uint8
lsm_segbuilder_numeric_tag(LsmFlushColumn *c, int n)
{
	int			scale = -1;
	int			j;

	for (j = 0; j < n; j++)
	{
		int			s;

		if (c->nulls[j])
		{
			c->scaled[j] = 0;
			continue;
		}
		if (!lsm_numeric_scaled64(PointerGetDatum(c->var_data[j]),
								  &c->scaled[j], &s) ||
			(scale >= 0 && s != scale))
			return 0;
		scale = s;
	}
	return scale < 0 ? 0 : LSM_NUMERIC_TAG(scale);
}

/* Encode the rows gathered so far as one block. */
static void
lsm_segbuilder_encode_block(LsmSegBuilder *b)
{
	MemoryContext old;
	int			st;
	int			i;

	if (b->n == 0)
		return;
	CHECK_FOR_INTERRUPTS();
	old = MemoryContextSwitchTo(b->cxt);
	for (i = 0; i < b->natts; i++)
	{
		LsmFlushColumn *c = &b->cols[i];
		LsmColumnData *cd = &b->data[i];
		int			j;

		cd->ints = c->ints;
		cd->fixed = c->fixed;
		cd->var_data = (const uint8 *const *) c->var_data;
		cd->var_len = c->var_len;
		cd->int_tag = 0;
		cd->nulls = NULL;
		for (j = 0; j < b->n; j++)
		{
			if (c->nulls[j])
			{
				cd->nulls = c->nulls;
				break;
			}
		}
		if (c->numeric)
		{
			cd->int_tag = lsm_segbuilder_numeric_tag(c, b->n);
			if (cd->int_tag != 0)
				cd->ints = c->scaled;
		}
	}
	lsm_segbuilder_zone_maps(b);
	st = lsm_segw_add_block(b->w, (uint32) b->n, b->rowids,
							b->with_cids ? b->cids : NULL, b->data);
	if (st != LSM_OK)
		lsm_format_error(st, b->rel, -1, b->nblocks, "encoding a block");
	MemoryContextSwitchTo(old);
	MemoryContextReset(b->blockcxt);
	b->nblocks++;
	b->n = 0;
}

/*
 * lsm_segbuilder_add
 *		Add one row (values in the builder's descriptor).  Rowids must
 *		ascend across calls.
 */
void
lsm_segbuilder_add(LsmSegBuilder *b, int64 rowid, CommandId cid,
				   const Datum *values, const bool *isnull)
{
	int			j = b->n;
	int			i;

	b->rowids[j] = rowid;
	b->cids[j] = (uint32) cid;
	for (i = 0; i < b->natts; i++)
	{
		LsmFlushColumn *c = &b->cols[i];
		bool		null = isnull[i] || (c->desc.flags & LSM_COLF_DROPPED);

		c->nulls[j] = null;
		if (c->desc.kind == LSM_KIND_INT)
			c->ints[j] = null ? 0 : lsm_datum_int64(values[i], c->desc.width);
		else if (c->desc.kind == LSM_KIND_FIXED)
		{
			if (null)
				memset(c->fixed + (Size) j * c->desc.width, 0, c->desc.width);
			else
				memcpy(c->fixed + (Size) j * c->desc.width,
					   DatumGetPointer(values[i]), c->desc.width);
		}
		else if (null)
		{
			c->var_data[j] = NULL;
			c->var_len[j] = 0;
		}
		else
		{
			uint32		len = lsm_datum_len(values[i],
											TupleDescAttr(b->tupdesc, i)->attlen);
			const uint8 *p = (const uint8 *) DatumGetPointer(values[i]);

			if (b->copy_values)
			{
				uint8	   *copy = MemoryContextAllocExtended(b->blockcxt, len,
															  MCXT_ALLOC_HUGE);

				memcpy(copy, p, len);
				p = copy;
			}
			c->var_data[j] = p;
			c->var_len[j] = len;
		}
	}
	b->n++;
	b->nrows++;
	if (b->n == b->block_rows)
		lsm_segbuilder_encode_block(b);
}

int64
lsm_segbuilder_nrows(const LsmSegBuilder *b)
{
	return b->nrows;
}

/*
 * Take the space lock for a new level-0 segment.  With a compaction worker,
 * make sure one is running in this database (the launcher starts one at
 * once rather than at its next round), and with lsm.compact_l0_stop set,
 * first wait while the table already has that many level-0 segments for
 * the worker to merge some (a write stall, as LSM stores apply
 * back-pressure): level 0 then stays bounded however fast small
 * transactions commit, at a cost in their throughput.  The count
 * and the insert of our segment's catalog row happen under the space lock,
 * so concurrent writers cannot all pass the same count.  Segments of our
 * own transaction do not count (the worker cannot merge them before we
 * commit), and nobody waits longer than lsm.compact_l0_stall_timeout, nor
 * at all without a running worker, for a temporary table, or while this
 * transaction holds a lock on the table that would keep the worker out;
 * nor past the end of a worker's visit to the table that began after the
 * wait did and was stuck (lsm_worker_stuck_since): the table was locked,
 * or its level-0 segments could not be merged yet; nor longer than
 * LSM_L0_WORKER_GRACE_MS while no worker runs or starts in the database
 * (the launcher may have no free slot or background worker for one).
 */
/* how often a writer stalled at lsm.compact_l0_stop counts when no pass ends */
#define LSM_L0_STALL_POLL_MS	5L
/* how long it waits for a worker to start when none runs in the database */
#define LSM_L0_WORKER_GRACE_MS	100

static void
lsm_level0_admit(Relation rel, uint64 storage_id)
{
	int			stop = lsm_compact_l0_stop;
	int			trigger;
	int			n;
	uint64		visits;
	bool		gave_up = false;
	TimestampTz start = 0;

	if (!lsm_preloaded || !lsm_enable_worker || lsm_max_workers == 0 ||
		RELATION_IS_LOCAL(rel))
	{
		lsm_space_lock(rel, storage_id);
		return;
	}

	/* a worker should be around while level-0 segments keep coming */
	lsm_worker_request(MyDatabaseId, false);
	trigger = lsm_table_l0_trigger(RelationGetRelid(rel));
	if (stop == 0)
		stop = 2 * trigger;
	if (stop < 0 || CheckRelationLockedByMe(rel, ShareUpdateExclusiveLock, true))
	{
		lsm_space_lock(rel, storage_id);
		return;
	}
	stop = Max(stop, trigger + 1);
	for (;;)
	{
		bool		stuck = false;

		/* the count that admits us is taken under the space lock */
		lsm_space_lock(rel, storage_id);
		n = lsm_catalog_count_level0(storage_id);
		if (n < stop)
		{
			/* over the trigger: a worker pausing between rounds goes on */
			if (n >= trigger)
				lsm_worker_request(MyDatabaseId, true);
			return;
		}
		if (gave_up)
			return;
		if (start == 0)
			start = GetCurrentTimestamp();
		else if (TimestampDifferenceExceeds(start, GetCurrentTimestamp(),
											lsm_compact_l0_stall_timeout))
			return;
		/* visits begun from now on are the ones we wait for */
		visits = lsm_worker_visits_begun();
		lsm_space_unlock(rel, storage_id);
		/* a worker pausing between rounds must not keep us waiting */
		lsm_worker_request(MyDatabaseId, true);

		/*
		 * Wait without it: the worker's pass needs the lock to write its
		 * output, and waiting writers that queued for it on every poll
		 * slowed the very pass they wait for.  Count again when a worker
		 * ends a pass (or after LSM_L0_STALL_POLL_MS): counting every
		 * millisecond took CPU from the worker on a small machine.
		 */
		do
		{
			lsm_worker_wait_for_pass(LSM_L0_STALL_POLL_MS);
			CHECK_FOR_INTERRUPTS();
			/* no worker running or starting since we asked for one: go on */
			if (!lsm_worker_present(MyDatabaseId) &&
				TimestampDifferenceExceeds(start, GetCurrentTimestamp(),
										   LSM_L0_WORKER_GRACE_MS))
				stuck = true;
		} while (!stuck &&
				 (n = lsm_catalog_count_level0(storage_id)) >= stop &&
				 !(stuck = lsm_worker_stuck_since(RelationGetRelid(rel), visits)) &&
				 !TimestampDifferenceExceeds(start, GetCurrentTimestamp(),
											 lsm_compact_l0_stall_timeout));

		/*
		 * A stuck visit, or no worker: nothing will bring level 0 down
		 * soon, go on once the count under the lock agrees.
		 */
		gave_up = n >= stop && stuck;
	}
}

/*
 * lsm_segbuilder_finish
 *		Encode the last block, write the segment's pages and catalogue it at
 *		`level` for `storage_id`; *entry (if not NULL) receives its catalog
 *		entry.  Returns false, writing nothing, if no row was added.  Frees
 *		the builder either way.
 */
bool
lsm_segbuilder_finish(LsmSegBuilder *b, uint64 storage_id, int level,
					  LsmSegmentEntry *entry)
{
	MemoryContext old;
	uint8	   *out;
	size_t		out_len;
	int			st;
	LsmSegHeader hdr;
	LsmSegmentEntry seg;

	if (b->nrows == 0)
	{
		MemoryContextDelete(b->cxt);
		return false;
	}
	lsm_segbuilder_encode_block(b);
	old = MemoryContextSwitchTo(b->cxt);
	st = lsm_segw_finish(b->w, &out, &out_len);
	if (st != LSM_OK)
		lsm_format_error(st, b->rel, -1, -1, "assembling a segment");
	st = lsm_seg_parse_header(out, out_len, &hdr);
	if (st != LSM_OK)
		lsm_format_error(st, b->rel, -1, 0, "reading back a new segment");

	memset(&seg, 0, sizeof(seg));
	seg.segment_id = lsm_catalog_next_segment_id();
	seg.level = level;
	seg.min_rowid = hdr.min_rowid;
	seg.max_rowid = hdr.max_rowid;
	seg.row_count = (int64) hdr.nrows;
	seg.deleted_count = 0;
	seg.schema_version = (int32) hdr.schema_version;
	seg.total_bytes = (int64) out_len;
	seg.raw_bytes = (int64) hdr.raw_bytes;
	/* pages, then the catalog tuple that claims them, under the space lock */
	if (level == 0)
		lsm_level0_admit(b->rel, storage_id);
	else
		lsm_space_lock(b->rel, storage_id);
	{
		LsmExtent	ext[LSM_SEG_MAX_EXTENTS];
		uint32		npages;
		int			n;

		n = lsm_pages_store(b->rel, storage_id, (const char *) out, out_len,
							LSM_SEG_MAX_EXTENTS, ext, &npages);
		lsm_segment_set_pages(&seg, ext, n);
	}
	lsm_catalog_insert_segment(storage_id, &seg);
	lsm_space_unlock(b->rel, storage_id);
	lsm_note_flush();
	MemoryContextSwitchTo(old);
	MemoryContextDelete(b->cxt);
	if (entry)
		*entry = seg;
	return true;
}

/* Abandon a builder (nothing was written). */
void
lsm_segbuilder_discard(LsmSegBuilder *b)
{
	MemoryContextDelete(b->cxt);
}

/*
 * Encode `nrows` buffered rows (ascending rowids) into one level-0 segment
 * of `storage_id`.
 */
void
lsm_write_rows(Relation rel, uint64 storage_id, TupleDesc tupdesc,
			   int nrows, const LsmMemRow *rows, bool with_cids)
{
	MemoryContext tmpcxt;
	MemoryContext old;
	LsmSegBuilder *b;
	Datum	   *values;
	bool	   *isnull;
	HeapTupleData htup;
	int			k;

	if (nrows == 0)
		return;
	tmpcxt = AllocSetContextCreate(CurrentMemoryContext, "lsm flush",
								   ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(tmpcxt);
	values = palloc(sizeof(Datum) * Max(tupdesc->natts, 1));
	isnull = palloc(sizeof(bool) * Max(tupdesc->natts, 1));
	/* the buffered tuples outlive the builder: no copies needed */
	b = lsm_segbuilder_begin(rel, storage_id, tupdesc, with_cids, false);
	for (k = 0; k < nrows; k++)
	{
		const LsmMemRow *row = &rows[k];

		htup.t_len = row->tuple->t_len + MINIMAL_TUPLE_OFFSET;
		htup.t_data = (HeapTupleHeader) ((char *) row->tuple - MINIMAL_TUPLE_OFFSET);
		heap_deform_tuple(&htup, tupdesc, values, isnull);
		lsm_segbuilder_add(b, row->rowid, row->cid, values, isnull);
	}
	lsm_segbuilder_finish(b, storage_id, 0, NULL);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(tmpcxt);
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
