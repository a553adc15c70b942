/*-------------------------------------------------------------------------
 *
 * lsm_segread.c
 *	  Opening segments and decoding their blocks into Datums of the table's
 *	  current tuple descriptor.
 *
 * NOTES
 *	  A segment describes its own columns (attnum, storage kind, type), so
 *	  a segment written before an ALTER TABLE is read by attnum: columns
 *	  dropped since read as NULL, columns added since read as their
 *	  attmissingval (or NULL), binary-compatible type changes read the same
 *	  bytes.  Changes that are not binary compatible make PostgreSQL rewrite
 *	  the table into a new storage, so a mismatch of storage kind is damage.
 *
 *	  Decoded values point into buffers owned by the LsmDecodedBlock and
 *	  stay valid until the next block is decoded into it.  A value whose
 *	  alignment PostgreSQL relies on (a 4-byte-header varlena, a fixed-length
 *	  type whose width is not a multiple of its alignment) is copied to an
 *	  aligned place in the block's arena when it is not already aligned.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "storage/smgr.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "scan/lsm_scan.h"
#include "storage/lsm_storage.h"

/*
 * Decode into Datums of `desc`: normally the relation's descriptor, but a
 * table rewrite (ALTER COLUMN TYPE) reads the old storage with the old
 * descriptor while the relcache already has the new one, so readers follow
 * the descriptor of the slot they fill.
 */
void
lsm_read_state_use_desc(LsmReadState *rs, TupleDesc desc)
{
	MemoryContext old;
	int			i;

	if (desc == rs->tupdesc)
		return;
	old = MemoryContextSwitchTo(rs->cxt);
	rs->tupdesc = desc;
	rs->desc_gen++;
	rs->missing = palloc0(sizeof(Datum) * Max(desc->natts, 1));
	rs->missing_null = palloc(sizeof(bool) * Max(desc->natts, 1));
	rs->want = palloc(sizeof(LsmColumnDesc) * Max(desc->natts, 1));
	for (i = 0; i < desc->natts; i++)
	{
		lsm_column_desc(TupleDescAttr(desc, i), &rs->want[i]);
		rs->missing_null[i] = true;
		if (desc->constr && desc->constr->missing &&
			!TupleDescAttr(desc, i)->attisdropped)
			rs->missing[i] = getmissingattr(desc, i + 1, &rs->missing_null[i]);
	}
	MemoryContextSwitchTo(old);
}

void
lsm_read_state_init(LsmReadState *rs, Relation rel, BufferAccessStrategy strategy)
{
	rs->rel = rel;
	rs->tupdesc = NULL;
	rs->desc_gen = 0;
	rs->need_attrs = NULL;
	rs->scaled_attrs = NULL;
	rs->cxt = CurrentMemoryContext;
	rs->alloc = lsm_pg_allocator(rs->cxt);
	rs->strategy = strategy;
	lsm_read_state_use_desc(rs, RelationGetDescr(rel));
}

/*
 * Decode only the attributes in `attrs` (attribute numbers; NULL means all).
 * The others read as NULL: callers promise not to look at them.  Blocks
 * already decoded are decoded again.  The set is copied into rs->cxt.
 */
void
lsm_read_state_set_columns(LsmReadState *rs, Bitmapset *attrs)
{
	MemoryContext old = MemoryContextSwitchTo(rs->cxt);

	rs->need_attrs = attrs ? bms_copy(attrs) : NULL;
	rs->desc_gen++;
	MemoryContextSwitchTo(old);
}

/*
 * Read the attributes in `attrs` through LsmDecodedBlock.scaled alone when
 * a block's chunk is a numeric stored as scaled integers: no Datums are
 * built for them then (values[] is left as it was).  Other chunks of those
 * attributes still get Datums.  The set is copied into rs->cxt.
 */
void
lsm_read_state_set_scaled(LsmReadState *rs, Bitmapset *attrs)
{
	MemoryContext old = MemoryContextSwitchTo(rs->cxt);

	rs->scaled_attrs = attrs ? bms_copy(attrs) : NULL;
	rs->desc_gen++;
	MemoryContextSwitchTo(old);
}

/*
 * Does a zone map written for a column of type `stored` order values the
 * way type `now` does?  Binary-compatible type changes keep the bytes, but
 * not always the order: oid and int4 share the bytes and disagree on
 * values above 2^31.  Only the pairs known to share their btree
 * comparison (and domains over the same base type) are trusted; other
 * changed columns simply do not prune until compaction rewrites their
 * segments.
 */
static bool
lsm_zone_order_compatible(Oid stored, Oid now)
{
	if (stored == now)
		return true;
	/*
	 * A domain orders its values as its base type does.  The type a segment
	 * recorded may have been dropped since (a domain the column no longer
	 * uses): then nothing is known of its order.
	 */
	if (!SearchSysCacheExists1(TYPEOID, ObjectIdGetDatum(stored)))
		return false;
	stored = getBaseType(stored);
	now = getBaseType(now);
	if (stored == now)
		return true;
	if ((stored == VARCHAROID && now == TEXTOID) ||
		(stored == TEXTOID && now == VARCHAROID))
		return true;			/* both compare with bttextcmp */
	if (stored == CIDROID && now == INETOID)
		return true;			/* network_cmp */
	if ((stored == BITOID && now == VARBITOID) ||
		(stored == VARBITOID && now == BITOID))
		return true;			/* bitcmp */
	return false;
}

/*
 * Map the segment's columns onto the reader's descriptor, by attnum
 * (src/format/lsm_colmap.c), and decide per column whether its zone maps
 * may prune.
 */
static void
lsm_segment_build_map(LsmReadState *rs, LsmSegmentHandle *h)
{
	int			natts = rs->tupdesc->natts;
	const LsmSegmentEntry *entry = &h->entry;
	uint8	   *same = palloc(Max(natts, 1));
	uint16		bad = 0;
	int			st;
	int			i;

	if (h->map)
		pfree(h->map);
	if (h->zone_ok)
		pfree(h->zone_ok);
	if (h->zone_order)
		pfree(h->zone_order);
	h->map = MemoryContextAlloc(rs->cxt, sizeof(int32) * Max(natts, 1));
	h->zone_ok = MemoryContextAlloc(rs->cxt, sizeof(bool) * Max(natts, 1));
	h->zone_order = MemoryContextAlloc(rs->cxt, sizeof(int) * Max(natts, 1));
	st = lsm_colmap_build(h->cols, (uint16) h->ncols, rs->want, (uint16) natts,
						  h->map, same, &bad);
	if (st == LSM_ERR_SCHEMA)
	{
		int			c;

		for (c = 0; c < h->ncols; c++)
			if (h->cols[c].attnum == bad + 1)
				break;
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("lsm relation \"%s\" segment " INT64_FORMAT ": column %d is stored as %s kind %u width %u, the table says kind %u width %u",
						RelationGetRelationName(rs->rel), entry->segment_id,
						bad + 1,
						(c < h->ncols && (h->cols[c].flags & LSM_COLF_DROPPED)) ?
						"dropped" : "live",
						c < h->ncols ? h->cols[c].kind : 0,
						c < h->ncols ? h->cols[c].width : 0,
						rs->want[bad].kind, rs->want[bad].width)));
	}
	if (st != LSM_OK)
		lsm_format_error(st, rs->rel, entry->segment_id, -1,
						 "mapping its columns");
	for (i = 0; i < natts; i++)
	{
		int32		c = h->map[i];

		const LsmZoneOrder *order;

		h->zone_ok[i] = c >= 0 &&
			(same[i] ||
			 lsm_zone_order_compatible(h->cols[c].type_id, rs->want[i].type_id));
		/* ordered zones (version 3): which collation they were built in */
		h->zone_order[i] = 0;
		if (h->zone_ok[i] &&
			(order = lsm_segr_zone_order(h->reader, (uint16) c)) != NULL)
			h->zone_order[i] = lsm_zone_order_intern(order->key, order->key_len);
	}
	pfree(same);
	h->map_gen = rs->desc_gen;
}

/*
 * Parsed segment directories, cached per backend.  A segment image never
 * changes once written and segment ids are never reused, so an entry stays
 * right for as long as anyone can name the segment.  Handles point into the
 * cache; it is emptied only at transaction end (when no scan is open) and
 * only when it has grown past lsm.directory_cache_size.  Directories and
 * their parsed entries live in reader_arena (lsm_arena.c: huge pages where
 * the kernel has them), the hash table in reader_cxt.
 */
int			lsm_directory_cache_kb = 65536;

#define LSM_READER_CACHE_BYTES	((Size) lsm_directory_cache_kb * 1024)

typedef struct LsmReaderEntry
{
	LsmSegmentKey key;
	LsmSegReader *reader;
	uint32		first_block;	/* the catalog row's window of blocks */
	uint32		nblocks;
} LsmReaderEntry;

static HTAB *reader_cache = NULL;
/* the shared directories (lsm_dircache.c) this transaction pinned */
static HTAB *xact_readers = NULL;
static MemoryContext reader_cxt = NULL;
static LsmArena reader_arena;
static LsmAllocator reader_alloc;

/*
 * Decoded delete maps, cached per backend by segment id like the
 * directories (a segment's map never changes: folding more deletes makes a
 * new segment row with a new id).
 */
typedef struct LsmDelmapEntry
{
	LsmSegmentKey key;			/* storage_id 0: segment ids are unique */
	int			n;
	int64	   *rowids;			/* ascending */
} LsmDelmapEntry;

static HTAB *delmap_cache = NULL;
static MemoryContext delmap_cxt = NULL;
static Size delmap_cache_bytes = 0;

/*
 * The rowids in the persisted delete map of `seg` (ascending; NULL and 0 if
 * it has none).  The array belongs to the cache and stays valid until the
 * end of the transaction.
 */
const int64 *
lsm_segment_delmap(Relation rel, const LsmSegmentEntry *seg, int *n)
{
	LsmSegmentKey key;
	LsmDelmapEntry *e;
	bool		found;
	char	   *buf;
	uint32		count;
	int			st;
	LsmExtent	dm;

	*n = 0;
	if (seg->delmap_bytes == 0)
		return NULL;
	if (delmap_cache == NULL)
	{
		HASHCTL		ctl;

		delmap_cxt = AllocSetContextCreate(TopMemoryContext, "lsm delete maps",
										   ALLOCSET_DEFAULT_SIZES);
		ctl.keysize = sizeof(LsmSegmentKey);
		ctl.entrysize = sizeof(LsmDelmapEntry);
		ctl.hcxt = delmap_cxt;
		delmap_cache = hash_create("lsm delete maps", 64, &ctl,
								   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	memset(&key, 0, sizeof(key));
	key.catalog = lsm_catalog_instance();
	key.segment_id = seg->segment_id;
	e = hash_search(delmap_cache, &key, HASH_FIND, NULL);
	if (e != NULL)
	{
		*n = e->n;
		return e->rowids;
	}

	buf = palloc(seg->delmap_bytes);
	dm.start = seg->delmap_start;
	dm.nblocks = LSM_DELMAP_NPAGES(seg->delmap_bytes);
	lsm_pages_read(rel, &dm, 1, 0, seg->delmap_bytes, buf, NULL,
				   seg->segment_id);
	st = lsm_delmap_count((const uint8 *) buf, seg->delmap_bytes, &count);
	if (st == LSM_OK && (int64) count > seg->row_count)
		st = LSM_ERR_CORRUPT;
	if (st != LSM_OK)
		lsm_format_error(st, rel, seg->segment_id, seg->delmap_start,
						 "delete map");
	{
		int64	   *rowids = MemoryContextAllocExtended(delmap_cxt,
														sizeof(int64) * Max(count, 1),
														MCXT_ALLOC_HUGE);

		st = lsm_delmap_decode((const uint8 *) buf, seg->delmap_bytes,
							   seg->min_rowid, rowids);
		if (st == LSM_OK && count > 0 && rowids[count - 1] > seg->max_rowid)
			st = LSM_ERR_CORRUPT;
		if (st != LSM_OK)
		{
			pfree(rowids);
			lsm_format_error(st, rel, seg->segment_id, seg->delmap_start,
							 "delete map");
		}
		e = hash_search(delmap_cache, &key, HASH_ENTER, &found);
		e->n = (int) count;
		e->rowids = rowids;
		delmap_cache_bytes += sizeof(int64) * Max(count, 1);
	}
	pfree(buf);
	*n = e->n;
	return e->rowids;
}

/* Is `rowid` in the persisted delete map of `seg`? */
bool
lsm_segment_delmap_has(Relation rel, const LsmSegmentEntry *seg, int64 rowid)
{
	int			n;
	const int64 *set = lsm_segment_delmap(rel, seg, &n);
	int			i = lsm_rowid_lower_bound(set, n, rowid);

	return i < n && set[i] == rowid;
}

/*
 * Merge two ascending rowid arrays into a new one (duplicates once), in
 * the current memory context.
 */
int64 *
lsm_merge_rowids(const int64 *a, int na, const int64 *b, int nb, int *n)
{
	int64	   *out = palloc_extended(sizeof(int64) * Max(na + nb, 1),
									  MCXT_ALLOC_HUGE);
	int			i = 0,
				j = 0,
				k = 0;

	while (i < na || j < nb)
	{
		int64		v;

		if (j >= nb || (i < na && a[i] <= b[j]))
			v = a[i++];
		else
			v = b[j++];
		if (k == 0 || out[k - 1] != v)
			out[k++] = v;
	}
	*n = k;
	return out;
}

/*
 * The rowids in the delete maps of every segment of `segs` (ascending,
 * since segments do not overlap and are sorted), or NULL and 0.
 */
int64 *
lsm_segments_delmaps(Relation rel, const LsmSegmentList *segs, int *n)
{
	int			total = 0;
	int			i;
	int64	   *out;

	*n = 0;
	for (i = 0; i < segs->nsegs; i++)
		total += (int) segs->segs[i].deleted_count;
	if (total == 0)
		return NULL;
	out = palloc_extended(sizeof(int64) * total, MCXT_ALLOC_HUGE);
	for (i = 0; i < segs->nsegs; i++)
	{
		int			m;
		const int64 *map = lsm_segment_delmap(rel, &segs->segs[i], &m);

		if (m > 0)
		{
			if (*n + m > total)
				lsm_format_error(LSM_ERR_CORRUPT, rel, segs->segs[i].segment_id,
								 segs->segs[i].delmap_start,
								 "delete map longer than the catalog says");
			memcpy(out + *n, map, sizeof(int64) * m);
			*n += m;
		}
	}
	return out;
}

/* What this backend's caches of directories and delete maps hold. */
void
lsm_reader_cache_stats(LsmReaderCacheStats *stats)
{
	memset(stats, 0, sizeof(LsmReaderCacheStats));
	if (reader_cache != NULL)
		stats->segments = hash_get_num_entries(reader_cache);
	/* the arena outlives the hash table: emptying keeps a run mapped */
	stats->bytes = reader_arena.bytes;
	stats->mapped_bytes = reader_arena.mapped;
	if (delmap_cache != NULL)
	{
		stats->delete_maps = hash_get_num_entries(delmap_cache);
		stats->delete_map_bytes = delmap_cache_bytes;
	}
}

void
lsm_reader_cache_at_xact_end(void)
{
	/*
	 * The shared directories: forget them, then unpin.  The table stays for
	 * the next transaction (creating one per transaction would cost every
	 * short one), unless a large scan grew it: emptying walks its buckets.
	 */
	if (xact_readers != NULL && hash_get_num_entries(xact_readers) > 1024)
	{
		hash_destroy(xact_readers);
		xact_readers = NULL;
	}
	else if (xact_readers != NULL && hash_get_num_entries(xact_readers) > 0)
	{
		HASH_SEQ_STATUS seq;
		LsmReaderEntry *e;

		hash_seq_init(&seq, xact_readers);
		while ((e = hash_seq_search(&seq)) != NULL)
			hash_search(xact_readers, &e->key, HASH_REMOVE, NULL);
	}
	lsm_dircache_release_all();
	if (delmap_cache != NULL && delmap_cache_bytes > LSM_READER_CACHE_BYTES)
	{
		hash_destroy(delmap_cache);
		delmap_cache = NULL;
		MemoryContextDelete(delmap_cxt);
		delmap_cxt = NULL;
		delmap_cache_bytes = 0;
	}
	if (reader_cache != NULL && reader_arena.bytes > LSM_READER_CACHE_BYTES)
	{
		hash_destroy(reader_cache);
		reader_cache = NULL;
		lsm_arena_reset(&reader_arena);
		MemoryContextReset(reader_cxt);
	}
}

/*
 * The blocks of the image that the catalog row holds: all of them, or
 * after a trimming compaction (lsm_compact.c) those of its rowid range,
 * which then starts and ends on block boundaries and counts exactly their
 * rows.
 */
static void
lsm_reader_window(LsmReadState *rs, const LsmSegmentEntry *entry,
				  const LsmSegReader *reader, LsmReaderEntry *e)
{
	const LsmSegHeader *hdr = lsm_segr_header(reader);
	uint32		lo = 0,
				hi = hdr->nblocks;
	int64		rows = 0;
	uint32		b;

	if ((int64) hdr->nrows == entry->row_count &&
		(hdr->nblocks == 0 ||
		 (hdr->min_rowid >= entry->min_rowid && hdr->max_rowid <= entry->max_rowid)))
	{
		e->first_block = 0;
		e->nblocks = hdr->nblocks;
		return;
	}
	while (lo < hdr->nblocks &&
		   lsm_segr_block(reader, lo)->last_rowid < entry->min_rowid)
		lo++;
	while (hi > lo && lsm_segr_block(reader, hi - 1)->first_rowid > entry->max_rowid)
		hi--;
	for (b = lo; b < hi; b++)
		rows += lsm_segr_block(reader, b)->nrows;
	if (hi == lo || rows != entry->row_count ||
		lsm_segr_block(reader, lo)->first_rowid < entry->min_rowid ||
		lsm_segr_block(reader, hi - 1)->last_rowid > entry->max_rowid)
		lsm_format_error(LSM_ERR_CORRUPT, rs->rel, entry->segment_id, -1,
						 "header disagrees with the lsm catalog");
	e->first_block = lo;
	e->nblocks = hi - lo;
}

/* The catalog row and the segment's header must describe the same image. */
static void
lsm_reader_check_header(LsmReadState *rs, const LsmSegmentEntry *entry,
						const LsmSegHeader *hdr)
{
	if (hdr->meta_len < LSM_SEG_HEADER_SIZE ||
		hdr->total_len != (uint64) entry->total_bytes ||
		hdr->meta_len > hdr->total_len ||
		(int64) hdr->nrows < entry->row_count)
		lsm_format_error(LSM_ERR_CORRUPT, rs->rel, entry->segment_id, -1,
						 "header disagrees with the lsm catalog");
}

/* Read and check the header of the segment of a catalog row. */
static void
lsm_reader_read_header(LsmReadState *rs, const LsmSegmentEntry *entry,
					   LsmSegHeader *hdr)
{
	char		hdrbuf[LSM_SEG_HEADER_SIZE];
	int			st;

	if (entry->total_bytes < LSM_SEG_HEADER_SIZE)
		lsm_format_error(LSM_ERR_CORRUPT, rs->rel, entry->segment_id, -1,
						 "catalog size of segment is too small");
	lsm_pages_read(rs->rel, entry->extents, entry->nextents, 0,
				   LSM_SEG_HEADER_SIZE, hdrbuf, rs->strategy, entry->segment_id);
	st = lsm_seg_parse_header((const uint8 *) hdrbuf, LSM_SEG_HEADER_SIZE, hdr);
	if (st != LSM_OK)
		lsm_format_error(st, rs->rel, entry->segment_id, -1, "reading header");
	lsm_reader_check_header(rs, entry, hdr);
}

/*
 * Parse the directory of `entry` into the shared directory cache; NULL if
 * the cache cannot take it now.  The directory stays pinned for the
 * transaction.
 */
static LsmSegReader *
lsm_reader_load_shared(LsmReadState *rs, const LsmSegmentEntry *entry,
					   const LsmSegmentKey *key, const LsmSegHeader *hdr)
{
	LsmDirCacheEntry *slot;
	Size		footprint;
	char	   *mem;
	LsmSegReader *reader = NULL;

	footprint = lsm_segr_footprint(hdr, LSM_REGION_ALIGN);
	mem = lsm_dircache_reserve(key, footprint, &slot);
	if (mem == NULL)
		return NULL;
	PG_TRY();
	{
		LsmRegion	rg = {(uint8 *) mem, footprint};
		LsmAllocator ra = lsm_region_allocator(&rg);
		char	   *meta = ra.alloc(ra.ctx, hdr->meta_len);
		int			st;

		Assert(meta != NULL);
		lsm_pages_read(rs->rel, entry->extents, entry->nextents, 0,
					   hdr->meta_len, meta, rs->strategy, entry->segment_id);
		st = lsm_segr_open_owned((uint8 *) meta, hdr->meta_len, &ra, &reader);
		if (st != LSM_OK)
			lsm_format_error(st, rs->rel, entry->segment_id, -1,
							 "reading directory");
	}
	PG_CATCH();
	{
		lsm_dircache_abandon(slot);
		PG_RE_THROW();
	}
	PG_END_TRY();
	lsm_dircache_publish(slot, reader);
	return reader;
}

static LsmReaderEntry *
lsm_reader_lookup(LsmReadState *rs, const LsmSegmentEntry *entry)
{
	LsmSegmentKey key;
	LsmReaderEntry *e;
	bool		found;
	LsmSegHeader hdr;
	char	   *meta;
	int			st;
	LsmSegReader *reader;
	LsmReaderEntry window;

	memset(&key, 0, sizeof(key));
	key.catalog = lsm_catalog_instance();
	key.storage_id = lsm_relation_storage_id(rs->rel);
	key.segment_id = entry->segment_id;
	if (xact_readers != NULL &&
		(e = hash_search(xact_readers, &key, HASH_FIND, NULL)) != NULL)
		return e;
	if (reader_cache != NULL &&
		(e = hash_search(reader_cache, &key, HASH_FIND, NULL)) != NULL)
		return e;

	/* the shared cache: found there, or parsed into it */
	reader = NULL;
	if (lsm_enable_shared_directory_cache)
	{
		reader = lsm_dircache_find(&key);
		if (reader != NULL)
			lsm_reader_check_header(rs, entry, lsm_segr_header(reader));
	}
	if (reader == NULL)
	{
		lsm_reader_read_header(rs, entry, &hdr);
		if (lsm_enable_shared_directory_cache)
			reader = lsm_reader_load_shared(rs, entry, &key, &hdr);
	}
	if (reader != NULL)
	{
		lsm_reader_window(rs, entry, reader, &window);
		if (xact_readers == NULL)
		{
			HASHCTL		ctl;

			memset(&ctl, 0, sizeof(ctl));
			ctl.keysize = sizeof(LsmSegmentKey);
			ctl.entrysize = sizeof(LsmReaderEntry);
			ctl.hcxt = TopMemoryContext;
			xact_readers = hash_create("lsm shared directories in use", 64,
									   &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		}
		e = hash_search(xact_readers, &key, HASH_ENTER, &found);
		e->reader = reader;
		e->first_block = window.first_block;
		e->nblocks = window.nblocks;
		return e;
	}

	/* no room in the shared cache (or none): this backend's own */
	if (reader_cache == NULL)
	{
		HASHCTL		ctl;

		if (reader_cxt == NULL)
		{
			reader_cxt = AllocSetContextCreate(TopMemoryContext,
											   "lsm segment directories",
											   ALLOCSET_DEFAULT_SIZES);
			lsm_arena_init(&reader_arena, reader_cxt);
			reader_alloc = lsm_arena_allocator(&reader_arena);
		}
		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(LsmSegmentKey);
		ctl.entrysize = sizeof(LsmReaderEntry);
		ctl.hcxt = reader_cxt;
		reader_cache = hash_create("lsm segment directories", 256, &ctl,
								   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	/* read straight into the buffer the reader keeps */
	meta = lsm_arena_alloc(&reader_arena, hdr.meta_len);
	PG_TRY();
	{
		lsm_pages_read(rs->rel, entry->extents, entry->nextents, 0,
					   hdr.meta_len, meta, rs->strategy, entry->segment_id);
	}
	PG_CATCH();
	{
		lsm_arena_free(&reader_arena, meta);
		PG_RE_THROW();
	}
	PG_END_TRY();
	st = lsm_segr_open_owned((uint8 *) meta, hdr.meta_len, &reader_alloc, &reader);
	if (st != LSM_OK)
		lsm_format_error(st, rs->rel, entry->segment_id, -1, "reading directory");

	PG_TRY();
	{
		lsm_reader_window(rs, entry, reader, &window);
	}
	PG_CATCH();
	{
		lsm_segr_free(reader);
		PG_RE_THROW();
	}
	PG_END_TRY();
	e = hash_search(reader_cache, &key, HASH_ENTER, &found);
	e->reader = reader;
	e->first_block = window.first_block;
	e->nblocks = window.nblocks;
	return e;
}

/* Open a segment for reading: its (cached) directory and column map. */
LsmSegmentHandle *
lsm_segment_open(LsmReadState *rs, const LsmSegmentEntry *entry)
{
	MemoryContext old = MemoryContextSwitchTo(rs->cxt);
	LsmSegmentHandle *h = palloc0(sizeof(LsmSegmentHandle));

	LsmReaderEntry *e;

	h->entry = *entry;
	e = lsm_reader_lookup(rs, entry);
	h->reader = e->reader;
	h->first_block = e->first_block;
	h->nblocks = e->nblocks;
	h->cols = lsm_segr_columns(h->reader);
	h->ncols = lsm_segr_header(h->reader)->ncols;
	lsm_segment_build_map(rs, h);
	MemoryContextSwitchTo(old);
	return h;
}

/* Rebuild h's column map for the reader's current descriptor. */
void
lsm_segment_remap(LsmReadState *rs, LsmSegmentHandle *h)
{
	lsm_segment_build_map(rs, h);
}

void
lsm_segment_close(LsmSegmentHandle *h)
{
	if (h == NULL)
		return;
	/* the reader belongs to the cache */
	pfree(h->map);
	pfree(h->zone_ok);
	pfree(h->zone_order);
	pfree(h);
}

/*
 * A decoded block owns its memory (a context under `parent`), so that point
 * fetches can keep one across queries instead of allocating and faulting in
 * fresh buffers every time.
 */
void
lsm_block_init(LsmDecodedBlock *blk, MemoryContext parent)
{
	memset(blk, 0, sizeof(LsmDecodedBlock));
	blk->cxt = AllocSetContextCreate(parent, "lsm decoded block",
									 ALLOCSET_DEFAULT_SIZES);
	blk->alloc = lsm_pg_allocator(blk->cxt);
	blk->arena = AllocSetContextCreate(blk->cxt, "lsm decoded block arena",
									   ALLOCSET_DEFAULT_SIZES);
	lsm_decoded_init(&blk->rowdec, &blk->alloc);
	lsm_decoded_init(&blk->ciddec, &blk->alloc);
}

static void
lsm_block_ensure(LsmDecodedBlock *blk, LsmReadState *rs, int ncols, uint32 nrows)
{
	int			natts = rs->tupdesc->natts;
	int			i;

	if (blk->values == NULL || natts > blk->natts_alloc)
	{
		/* first use, or a wider descriptor: start over */
		blk->values = MemoryContextAllocZero(blk->cxt, sizeof(Datum *) * Max(natts, 1));
		blk->isnull = MemoryContextAllocZero(blk->cxt, sizeof(bool *) * Max(natts, 1));
		blk->all_null = MemoryContextAllocZero(blk->cxt, sizeof(bool) * Max(natts, 1));
		blk->no_nulls = MemoryContextAllocZero(blk->cxt, sizeof(bool) * Max(natts, 1));
		blk->scaled = MemoryContextAllocZero(blk->cxt, sizeof(int64 *) * Max(natts, 1));
		blk->scale = MemoryContextAllocZero(blk->cxt, sizeof(int16) * Max(natts, 1));
		blk->numbuf = MemoryContextAllocZero(blk->cxt, sizeof(char *) * Max(natts, 1));
		blk->numbuf_cap = MemoryContextAllocZero(blk->cxt, sizeof(Size) * Max(natts, 1));
		blk->natts_alloc = Max(natts, 1);
		blk->values_cap = 0;
	}
	if ((int) nrows > blk->values_cap)
	{
		int			cap = Max((int) nrows, 1024);

		for (i = 0; i < blk->natts_alloc; i++)
		{
			if (blk->values[i])
				pfree(blk->values[i]);
			if (blk->isnull[i])
				pfree(blk->isnull[i]);
		}
		for (i = 0; i < blk->natts_alloc; i++)
		{
			blk->values[i] = MemoryContextAlloc(blk->cxt, sizeof(Datum) * cap);
			blk->isnull[i] = MemoryContextAlloc(blk->cxt, sizeof(bool) * cap);
			blk->all_null[i] = false;
		}
		blk->values_cap = cap;
	}
	if (ncols > blk->ncoldec)
	{
		LsmDecoded *dec = MemoryContextAllocZero(blk->cxt, sizeof(LsmDecoded) * ncols);

		if (blk->coldec)
		{
			memcpy(dec, blk->coldec, sizeof(LsmDecoded) * blk->ncoldec);
			pfree(blk->coldec);
		}
		for (i = blk->ncoldec; i < ncols; i++)
			lsm_decoded_init(&dec[i], &blk->alloc);
		blk->coldec = dec;
		blk->ncoldec = ncols;
	}
}

static const uint8 *
lsm_chunk_bytes(LsmReadState *rs, LsmSegmentHandle *h, const LsmBlockInfo *bi,
				const LsmChunkInfo *ci, uint32 blockno, const char *raw)
{
	if (ci->offset < bi->data_offset ||
		ci->offset + ci->stored_len > bi->data_offset + bi->data_len)
		lsm_format_error(LSM_ERR_CORRUPT, rs->rel, h->entry.segment_id, blockno,
						 "chunk lies outside its block");
	return (const uint8 *) raw + (ci->offset - bi->data_offset);
}

/*
 * Read the stored bytes of a block's chunks into raw (at their offsets
 * within the block).  Without a column restriction that is one read of the
 * whole block; with one, only the rowid and command-id chunks and the
 * chunks of the wanted columns, neighbouring chunks merged into one read
 * when the gap between them is less than a page.
 */
static void
lsm_block_read_chunks(LsmReadState *rs, LsmSegmentHandle *h,
					  const LsmBlockInfo *bi, uint32 blockno, char *raw)
{
	const LsmChunkInfo *want_local[64];
	const LsmChunkInfo **want = want_local;
	int			nwant = 0;
	int			natts = rs->tupdesc->natts;
	int			i;
	uint64		lo,
				hi;

	if (rs->need_attrs == NULL)
	{
		lsm_pages_read(rs->rel, h->entry.extents, h->entry.nextents,
					   bi->data_offset, bi->data_len, raw, rs->strategy,
					   h->entry.segment_id);
		return;
	}
	/* no allocation per block for tables of up to 62 columns */
	if (natts + 2 > lengthof(want_local))
		want = palloc(sizeof(LsmChunkInfo *) * (natts + 2));
	want[nwant++] = &bi->rowids;
	if (h->entry.own_xact && bi->cids.stored_len > 0)
		want[nwant++] = &bi->cids;
	for (i = 0; i < natts; i++)
	{
		int			c = h->map[i];

		if (c >= 0 && bms_is_member(i + 1, rs->need_attrs) &&
			bi->cols[c].stored_len > 0)
			want[nwant++] = &bi->cols[c];
	}
	/* chunks are laid out in this order already; sort to be safe */
	for (i = 1; i < nwant; i++)
	{
		const LsmChunkInfo *x = want[i];
		int			j = i - 1;

		while (j >= 0 && want[j]->offset > x->offset)
		{
			want[j + 1] = want[j];
			j--;
		}
		want[j + 1] = x;
	}
	for (i = 0; i < nwant; i++)
	{
		if (want[i]->offset < bi->data_offset ||
			want[i]->offset + want[i]->stored_len > bi->data_offset + bi->data_len)
			lsm_format_error(LSM_ERR_CORRUPT, rs->rel, h->entry.segment_id,
							 blockno, "chunk lies outside its block");
	}
	i = 0;
	while (i < nwant)
	{
		lo = want[i]->offset;
		hi = want[i]->offset + want[i]->stored_len;
		for (i++; i < nwant && want[i]->offset < hi + LSM_PAGE_PAYLOAD; i++)
			hi = Max(hi, want[i]->offset + want[i]->stored_len);
		if (hi > lo)
			lsm_pages_read(rs->rel, h->entry.extents, h->entry.nextents,
						   lo, hi - lo, raw + (lo - bi->data_offset),
						   rs->strategy, h->entry.segment_id);
	}
	if (want != want_local)
		pfree(want);
}

/*
 * Decode one block into blk, unless it already holds it: every live column,
 * or those of rs->need_attrs; with only_rowid >= 0 just that row (see
 * lsm_block_decode_row).
 */
static int
lsm_block_decode_rows(LsmReadState *rs, LsmSegmentHandle *h, uint32 blockno,
					  int64 only_rowid, LsmDecodedBlock *blk)
{
	uint32		nout;
	int			only = -1;
	const LsmBlockInfo *bi;
	int			natts = rs->tupdesc->natts;
	int			st;
	int			i;
	uint32		r;
	uint32		dirblock;

	if (h->map_gen != rs->desc_gen)
		lsm_segment_build_map(rs, h);
	if (blk->valid && blk->segment_id == h->entry.segment_id &&
		blk->blockno == blockno && blk->desc_gen == rs->desc_gen)
	{
		if (!blk->single)
			return only_rowid < 0 ? 0 : lsm_block_find_rowid(blk, only_rowid, true);
		if (only_rowid >= 0 && blk->rowids[0] == only_rowid)
			return 0;
	}
	blk->valid = false;
	bi = blockno < h->nblocks ? lsm_handle_block(h, blockno) : NULL;
	/* errors name the block by its place in the image's directory */
	dirblock = h->first_block + blockno;
	if (bi == NULL)
		lsm_format_error(LSM_ERR_CORRUPT, rs->rel, h->entry.segment_id, dirblock,
						 "block number out of range");
	lsm_block_ensure(blk, rs, h->ncols, bi->nrows);
	MemoryContextReset(blk->arena);

	if (bi->data_len > blk->raw_cap)
	{
		if (blk->raw)
			pfree(blk->raw);
		blk->raw = MemoryContextAllocExtended(blk->cxt, bi->data_len + 8,
											  MCXT_ALLOC_HUGE);
		blk->raw_cap = bi->data_len;
	}
	lsm_block_read_chunks(rs, h, bi, dirblock, blk->raw);

	st = lsm_decode_chunk(&bi->rowids, lsm_rowid_column(), bi->nrows,
						  lsm_chunk_bytes(rs, h, bi, &bi->rowids, dirblock, blk->raw),
						  &blk->rowdec);
	if (st != LSM_OK)
		lsm_format_error(st, rs->rel, h->entry.segment_id, dirblock, "rowid chunk");
	blk->rowids = blk->rowdec.ints;
	nout = bi->nrows;
	if (only_rowid >= 0)
	{
		/* one row: find it, then decode only its value of each column */
		int			lo = lsm_rowid_lower_bound(blk->rowids, (int) bi->nrows,
											   only_rowid);

		if (lo >= (int) bi->nrows || blk->rowids[lo] != only_rowid)
			return -1;
		only = lo;
		blk->rowids += only;
		nout = 1;
	}
	blk->cids = NULL;
	if (h->entry.own_xact && bi->cids.stored_len > 0)
	{
		if (only >= 0)
			st = lsm_decode_chunk_row(&bi->cids, lsm_cid_column(), bi->nrows,
									  lsm_chunk_bytes(rs, h, bi, &bi->cids, dirblock, blk->raw),
									  (uint32) only, &blk->ciddec);
		else
			st = lsm_decode_chunk(&bi->cids, lsm_cid_column(), bi->nrows,
								  lsm_chunk_bytes(rs, h, bi, &bi->cids, dirblock, blk->raw),
								  &blk->ciddec);
		if (st != LSM_OK)
			lsm_format_error(st, rs->rel, h->entry.segment_id, dirblock,
							 "command id chunk");
		blk->cids = blk->ciddec.ints;
	}

	for (i = 0; i < natts; i++)
	{
		int			c = h->map[i];
		Datum	   *vals = blk->values[i];
		bool	   *nulls = blk->isnull[i];
		Form_pg_attribute att = TupleDescAttr(rs->tupdesc, i);
		LsmDecoded *d;
		const LsmColumnDesc *cd;

		blk->scaled[i] = NULL;
		if (rs->need_attrs != NULL && !bms_is_member(i + 1, rs->need_attrs))
		{
			/* not wanted: NULL, filled once while it stays unwanted */
			if (!blk->all_null[i])
			{
				memset(nulls, true, blk->values_cap);
				blk->all_null[i] = true;
			}
			blk->no_nulls[i] = false;
			continue;
		}
		blk->all_null[i] = false;
		if (c < 0)
		{
			bool		isnull = (c == LSM_MAP_NULL) || rs->missing_null[i];
			Datum		v = (c == LSM_MAP_NULL) ? (Datum) 0 : rs->missing[i];

			blk->no_nulls[i] = !isnull;

			for (r = 0; r < nout; r++)
			{
				vals[r] = v;
				nulls[r] = isnull;
			}
			continue;
		}
		d = &blk->coldec[c];
		cd = &h->cols[c];
		if (only >= 0)
			st = lsm_decode_chunk_row(&bi->cols[c], cd, bi->nrows,
									  lsm_chunk_bytes(rs, h, bi, &bi->cols[c], dirblock, blk->raw),
									  (uint32) only, d);
		else
			st = lsm_decode_chunk(&bi->cols[c], cd, bi->nrows,
								  lsm_chunk_bytes(rs, h, bi, &bi->cols[c], dirblock, blk->raw),
								  d);
		if (st != LSM_OK)
			lsm_format_error(st, rs->rel, h->entry.segment_id, dirblock,
							 NameStr(att->attname));
		if (d->has_nulls)
			memcpy(nulls, d->nulls, nout);
		else
			memset(nulls, 0, nout);
		blk->no_nulls[i] = !d->has_nulls;

		if (cd->kind == LSM_KIND_INT)
		{
			for (r = 0; r < nout; r++)
				vals[r] = (Datum) d->ints[r];
		}
		else if (cd->kind == LSM_KIND_FIXED)
		{
			int			align = cd->align ? cd->align : 1;
			bool		aligned = ((uintptr_t) d->fixed % align == 0) &&
				(cd->width % align == 0);

			if (aligned)
			{
				for (r = 0; r < nout; r++)
					vals[r] = PointerGetDatum(d->fixed + (Size) r * cd->width);
			}
			else
			{
				Size		stride = TYPEALIGN(align, cd->width);
				char	   *copy = MemoryContextAllocExtended(blk->arena,
															  stride * nout + MAXIMUM_ALIGNOF,
															  MCXT_ALLOC_HUGE);

				copy = (char *) MAXALIGN(copy);
				for (r = 0; r < nout; r++)
				{
					memcpy(copy + stride * r, d->fixed + (Size) r * cd->width, cd->width);
					vals[r] = PointerGetDatum(copy + stride * r);
				}
			}
		}
		else if (d->int_tag != 0)
		{
			/* a numeric chunk stored as scaled integers (lsm_numeric.c) */
			if (cd->type_id != NUMERICOID || !LSM_NUMERIC_TAG_VALID(d->int_tag))
				lsm_format_error(LSM_ERR_CORRUPT, rs->rel, h->entry.segment_id,
								 dirblock,
								 psprintf("column \"%s\": representation tag %d on a column of type %u",
										  NameStr(att->attname), d->int_tag,
										  cd->type_id));
			blk->scaled[i] = d->ints;
			blk->scale[i] = (int16) LSM_NUMERIC_TAG_SCALE(d->int_tag);
			if (rs->scaled_attrs == NULL ||
				!bms_is_member(i + 1, rs->scaled_attrs))
				lsm_numeric_build(d->ints, nulls, (int) nout,
								  blk->scale[i], vals, &blk->numbuf[i],
								  &blk->numbuf_cap[i], blk->cxt);
		}
		else
		{
			for (r = 0; r < nout; r++)
			{
				const uint8 *p = d->var_data[r];

				if (nulls[r])
				{
					vals[r] = (Datum) 0;
					continue;
				}
				if (p == NULL ||
					(att->attlen == -1 &&
					 (d->var_len[r] == 0 ||
					  (Size) VARSIZE_ANY(p) != d->var_len[r])))
					lsm_format_error(LSM_ERR_CORRUPT, rs->rel, h->entry.segment_id,
									 dirblock, NameStr(att->attname));
				if (att->attlen == -1 && VARATT_IS_4B(p) &&
					((uintptr_t) p & 3) != 0)
				{
					char	   *copy = MemoryContextAllocExtended(blk->arena,
																  d->var_len[r],
																  MCXT_ALLOC_HUGE);

					memcpy(copy, p, d->var_len[r]);
					p = (const uint8 *) copy;
				}
				vals[r] = PointerGetDatum(p);
			}
		}
	}
	blk->segment_id = h->entry.segment_id;
	blk->blockno = blockno;
	blk->nrows = nout;
	blk->single = (only >= 0);
	blk->desc_gen = rs->desc_gen;
	blk->valid = true;
	return only >= 0 ? 0 : -1;
}

/*
 * Decode block `blockno` of the segment into blk (a no-op if blk holds it
 * already).
 */
void
lsm_block_decode(LsmReadState *rs, LsmSegmentHandle *h, uint32 blockno,
				 LsmDecodedBlock *blk)
{
	(void) lsm_block_decode_rows(rs, h, blockno, -1, blk);
}

/*
 * Decode only the row `rowid` of block `blockno` (a point read): blk then
 * holds that one row (index 0), or the whole block if it held it already.
 * Returns the row's index in blk, or -1 if the block has no such row.
 */
int
lsm_block_decode_row(LsmReadState *rs, LsmSegmentHandle *h, uint32 blockno,
					 int64 rowid, LsmDecodedBlock *blk)
{
	return lsm_block_decode_rows(rs, h, blockno, rowid, blk);
}

/*
 * Index of `rowid` in the block; with exact = false the index of the first
 * row at or after it (nrows if none).  -1 if exact and absent.
 */
int
lsm_block_find_rowid(const LsmDecodedBlock *blk, int64 rowid, bool exact)
{
	int			lo = lsm_rowid_lower_bound(blk->rowids, (int) blk->nrows, rowid);

	if (exact)
		return (lo < (int) blk->nrows && blk->rowids[lo] == rowid) ? lo : -1;
	return lo;
}

/* Block whose rowid range holds rowid, else the first block after it. */
int
lsm_segment_find_block(const LsmSegmentHandle *h, int64 rowid)
{
	int			lo = 0,
				hi = (int) h->nblocks;

	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (lsm_handle_block(h, mid)->last_rowid < rowid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static TupleTableSlotOps lsm_slot_ops_data;
static bool lsm_slot_ops_ready = false;

static Datum
lsm_slot_getsysattr(TupleTableSlot *slot, int attnum, bool *isnull)
{
	LsmTupleTableSlot *lslot = (LsmTupleTableSlot *) slot;

	*isnull = false;
	if (attnum == MinTransactionIdAttributeNumber &&
		TransactionIdIsValid(lslot->xmin))
		return TransactionIdGetDatum(lslot->xmin);
	if (attnum == MaxTransactionIdAttributeNumber)
		return TransactionIdGetDatum(InvalidTransactionId);
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("cannot retrieve a system column in this context")));
	return (Datum) 0;			/* keep compiler quiet */
}

static void
lsm_slot_init(TupleTableSlot *slot)
{
	((LsmTupleTableSlot *) slot)->xmin = InvalidTransactionId;
	((LsmTupleTableSlot *) slot)->deform = NULL;
	TTSOpsVirtual.init(slot);
}

/*
 * Rows whose columns are decoded at the first read (LsmTupleTableSlot.deform,
 * set by point fetches): every operation that reads the values decodes
 * them first.
 */
static void
lsm_slot_deform(TupleTableSlot *slot)
{
	LsmTupleTableSlot *lslot = (LsmTupleTableSlot *) slot;

	if (lslot->deform != NULL)
	{
		void		(*deform) (TupleTableSlot *) = lslot->deform;

		lslot->deform = NULL;
		deform(slot);
	}
}

static void
lsm_slot_clear(TupleTableSlot *slot)
{
	((LsmTupleTableSlot *) slot)->deform = NULL;
	TTSOpsVirtual.clear(slot);
}

/* the virtual copyslot clears the destination without our clear */
static void
lsm_slot_copyslot(TupleTableSlot *dstslot, TupleTableSlot *srcslot)
{
	((LsmTupleTableSlot *) dstslot)->deform = NULL;
	TTSOpsVirtual.copyslot(dstslot, srcslot);
}

static void
lsm_slot_getsomeattrs(TupleTableSlot *slot, int natts)
{
	lsm_slot_deform(slot);
	if (slot->tts_nvalid < natts)
		TTSOpsVirtual.getsomeattrs(slot, natts);	/* reports the error */
}

static void
lsm_slot_materialize(TupleTableSlot *slot)
{
	lsm_slot_deform(slot);
	TTSOpsVirtual.materialize(slot);
}

static HeapTuple
lsm_slot_copy_heap_tuple(TupleTableSlot *slot)
{
	lsm_slot_deform(slot);
	return TTSOpsVirtual.copy_heap_tuple(slot);
}

static MinimalTuple
lsm_slot_copy_minimal_tuple(TupleTableSlot *slot)
{
	lsm_slot_deform(slot);
	return TTSOpsVirtual.copy_minimal_tuple(slot);
}

/* Slot operations of lsm tables: virtual, plus xmin and deferred decoding. */
const TupleTableSlotOps *
lsm_slot_ops(void)
{
	if (!lsm_slot_ops_ready)
	{
		lsm_slot_ops_data = TTSOpsVirtual;
		lsm_slot_ops_data.base_slot_size = sizeof(LsmTupleTableSlot);
		lsm_slot_ops_data.init = lsm_slot_init;
		lsm_slot_ops_data.getsysattr = lsm_slot_getsysattr;
		lsm_slot_ops_data.clear = lsm_slot_clear;
		lsm_slot_ops_data.copyslot = lsm_slot_copyslot;
		lsm_slot_ops_data.getsomeattrs = lsm_slot_getsomeattrs;
		lsm_slot_ops_data.materialize = lsm_slot_materialize;
		lsm_slot_ops_data.copy_heap_tuple = lsm_slot_copy_heap_tuple;
		lsm_slot_ops_data.copy_minimal_tuple = lsm_slot_copy_minimal_tuple;
		lsm_slot_ops_ready = true;
	}
	return &lsm_slot_ops_data;
}

/*
 * Record who inserted the row just stored (only in lsm slots).  Buffering
 * a row assigns no xid; parallel mode forbids assigning one, and nothing
 * there reads xmin to tell own rows (no triggers, no writes), so own rows
 * read there before any xid exists report none.
 */
void
lsm_slot_set_xmin(TupleTableSlot *slot, bool own, TransactionId other)
{
	if (slot->tts_ops != &lsm_slot_ops_data)
		return;
	((LsmTupleTableSlot *) slot)->xmin =
		own ? (IsInParallelMode() ? GetTopTransactionIdIfAny() : GetTopTransactionId()) :
		(TransactionIdIsValid(other) ? other : FrozenTransactionId);
}

void
lsm_slot_from_block(LsmReadState *rs, LsmDecodedBlock *blk, int row,
					TupleTableSlot *slot)
{
	int			natts = rs->tupdesc->natts;
	int			i;

	ExecClearTuple(slot);
	for (i = 0; i < natts; i++)
	{
		slot->tts_values[i] = blk->values[i][row];
		slot->tts_isnull[i] = blk->isnull[i][row];
	}
	ExecStoreVirtualTuple(slot);
	lsm_rowid_to_tid(blk->rowids[row], &slot->tts_tid);
	slot->tts_tableOid = RelationGetRelid(rs->rel);
	lsm_slot_set_xmin(slot, blk->cids != NULL, InvalidTransactionId);
}

void
lsm_slot_from_memrow(LsmReadState *rs, const LsmMemRow *row, TupleDesc rowdesc,
					 TupleTableSlot *slot)
{
	HeapTupleData htup;
	int			natts = rs->tupdesc->natts;
	int			i;

	ExecClearTuple(slot);
	htup.t_len = row->tuple->t_len + MINIMAL_TUPLE_OFFSET;
	htup.t_data = (HeapTupleHeader) ((char *) row->tuple - MINIMAL_TUPLE_OFFSET);
	if (rowdesc->natts <= natts)
	{
		heap_deform_tuple(&htup, rowdesc, slot->tts_values, slot->tts_isnull);
		for (i = 0; i < natts; i++)
		{
			if (TupleDescAttr(rs->tupdesc, i)->attisdropped)
			{
				slot->tts_values[i] = (Datum) 0;
				slot->tts_isnull[i] = true;
			}
			else if (i >= rowdesc->natts)
			{
				slot->tts_values[i] = rs->missing[i];
				slot->tts_isnull[i] = rs->missing_null[i];
			}
		}
	}
	else
		elog(ERROR, "buffered row of \"%s\" has more columns than the table",
			 RelationGetRelationName(rs->rel));
	ExecStoreVirtualTuple(slot);
	lsm_rowid_to_tid(row->rowid, &slot->tts_tid);
	slot->tts_tableOid = RelationGetRelid(rs->rel);
	lsm_slot_set_xmin(slot, true, InvalidTransactionId);
}

/* Rows our own transaction wrote are visible to earlier commands only. */
bool
lsm_row_visible_cid(Snapshot snapshot, bool own, CommandId cid)
{
	if (!own)
		return true;
	if (snapshot->snapshot_type == SNAPSHOT_MVCC)
		return cid < snapshot->curcid;
	return true;
}

/*
 * Decode every chunk of every block of a segment, checking checksums and
 * invariants.  Returns the number of rows.
 */
int64
lsm_verify_segment(LsmReadState *rs, LsmSegmentHandle *h, int64 *blocks,
				   int64 *chunks)
{
	LsmDecoded	dec;
	char	   *raw = NULL;
	Size		raw_cap = 0;
	int64		rows = 0;
	int64		prev = -1;
	uint32		b;
	int			c;
	int			st;

	lsm_decoded_init(&dec, &rs->alloc);
	for (c = 0; c < h->entry.nextents; c++)
		if (!LSM_EXTENT_IS_HOLE(h->entry.extents[c]) &&
			h->entry.extents[c].start + h->entry.extents[c].nblocks >
			smgrnblocks(RelationGetSmgr(rs->rel), MAIN_FORKNUM))
			lsm_format_error(LSM_ERR_CORRUPT, rs->rel, h->entry.segment_id, -1,
							 "segment pages lie beyond the end of the relation");
	for (b = h->first_block; b < h->first_block + h->nblocks; b++)
	{
		const LsmBlockInfo *bi = lsm_segr_block(h->reader, b);

		CHECK_FOR_INTERRUPTS();
		if (bi->data_len > raw_cap)
		{
			if (raw)
				pfree(raw);
			raw = palloc_extended(bi->data_len + 8, MCXT_ALLOC_HUGE);
			raw_cap = bi->data_len;
		}
		lsm_pages_read(rs->rel, h->entry.extents, h->entry.nextents,
					   bi->data_offset, bi->data_len, raw, rs->strategy,
					   h->entry.segment_id);
		st = lsm_decode_chunk(&bi->rowids, lsm_rowid_column(), bi->nrows,
							  lsm_chunk_bytes(rs, h, bi, &bi->rowids, b, raw), &dec);
		if (st != LSM_OK)
			lsm_format_error(st, rs->rel, h->entry.segment_id, b, "rowid chunk");
		(*chunks)++;
		{
			uint32		r;

			for (r = 0; r < bi->nrows; r++)
			{
				if (dec.ints[r] <= prev ||
					dec.ints[r] < h->entry.min_rowid ||
					dec.ints[r] > h->entry.max_rowid)
					lsm_format_error(LSM_ERR_CORRUPT, rs->rel, h->entry.segment_id,
									 b, "rowids out of order or outside the segment's range");
				prev = dec.ints[r];
			}
		}
		if (bi->cids.stored_len > 0)
		{
			st = lsm_decode_chunk(&bi->cids, lsm_cid_column(), bi->nrows,
								  lsm_chunk_bytes(rs, h, bi, &bi->cids, b, raw), &dec);
			if (st != LSM_OK)
				lsm_format_error(st, rs->rel, h->entry.segment_id, b,
								 "command id chunk");
			(*chunks)++;
		}
		for (c = 0; c < h->ncols; c++)
		{
			st = lsm_decode_chunk(&bi->cols[c], &h->cols[c], bi->nrows,
								  lsm_chunk_bytes(rs, h, bi, &bi->cols[c], b, raw),
								  &dec);
			if (st == LSM_OK && dec.int_tag != 0 &&
				(h->cols[c].type_id != NUMERICOID ||
				 !LSM_NUMERIC_TAG_VALID(dec.int_tag)))
				st = LSM_ERR_CORRUPT;	/* a tag lsm_am never writes */
			if (st != LSM_OK)
			{
				char		what[64];

				snprintf(what, sizeof(what), "column %d", h->cols[c].attnum);
				lsm_format_error(st, rs->rel, h->entry.segment_id, b, what);
			}
			(*chunks)++;
		}
		rows += bi->nrows;
		(*blocks)++;
	}
	if (rows != h->entry.row_count)
		lsm_format_error(LSM_ERR_CORRUPT, rs->rel, h->entry.segment_id, -1,
						 "row count disagrees with the lsm catalog");
	lsm_decoded_free(&dec);
	if (raw)
		pfree(raw);
	return rows;
}
