/*-------------------------------------------------------------------------
 *
 * sql_api.c
 *	  SQL-callable functions of schema "lsm": segments, stats,
 *	  schema_versions, verify, collect_garbage, and the publication guard.
 *
 * NOTES
 *	  The functions are not STRICT so that a NULL argument gets a clear
 *	  error instead of a silent NULL.  They read with the active snapshot,
 *	  so a transaction sees its own new segments; rows still in its write
 *	  buffer are counted as buffered_rows by lsm.stats.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/event_trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/smgr.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "lsm_am.h"
#include "catalog/lsm_catalog.h"
#include "catalog/lsm_schema.h"
#include "scan/lsm_scan.h"
#include "storage/lsm_storage.h"
#include "txn/lsm_txn.h"

PG_FUNCTION_INFO_V1(lsm_segments);
PG_FUNCTION_INFO_V1(lsm_stats);
PG_FUNCTION_INFO_V1(lsm_verify);
PG_FUNCTION_INFO_V1(lsm_collect_garbage);
PG_FUNCTION_INFO_V1(lsm_refuse_publication);
PG_FUNCTION_INFO_V1(lsm_schema_versions);
PG_FUNCTION_INFO_V1(lsm_directory_cache);
PG_FUNCTION_INFO_V1(lsm_shared_directory_cache);

/*
 * Open argument 0 of an lsm.* function as an lsm table in `lockmode`, after
 * checking what `check` asks of the caller, or error out changing nothing.
 */
Relation
lsm_open_table_arg(FunctionCallInfo fcinfo, LOCKMODE lockmode, LsmArgCheck check)
{
	Oid			relid;
	Relation	rel;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("relation argument must not be NULL")));
	relid = PG_GETARG_OID(0);
	rel = try_relation_open(relid, lockmode);
	if (rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	if (!lsm_is_lsm_relation(rel))
	{
		char	   *name = pstrdup(RelationGetRelationName(rel));

		relation_close(rel, lockmode);
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not an lsm table", name),
				 errhint("Use a table created with USING lsm.")));
	}
	if (check == LSM_ARG_SELECT)
	{
		AclResult	aclresult = pg_class_aclcheck(relid, GetUserId(), ACL_SELECT);

		if (aclresult != ACLCHECK_OK)
			aclcheck_error(aclresult, get_relkind_objtype(rel->rd_rel->relkind),
						   RelationGetRelationName(rel));
	}
	else if (check == LSM_ARG_OWNER && !pg_class_ownercheck(relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, get_relkind_objtype(rel->rd_rel->relkind),
					   RelationGetRelationName(rel));
	return rel;
}

/* Do any pages of the runs a[] and b[] coincide? */
static bool
lsm_extents_overlap(const LsmExtent *a, int na, const LsmExtent *b, int nb)
{
	int			i;
	int			j;

	for (i = 0; i < na; i++)
		for (j = 0; j < nb; j++)
			if (!LSM_EXTENT_IS_HOLE(a[i]) && !LSM_EXTENT_IS_HOLE(b[j]) &&
				a[i].start < b[j].start + b[j].nblocks &&
				b[j].start < a[i].start + a[i].nblocks)
				return true;
	return false;
}

Datum
lsm_segments(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Relation	rel = lsm_open_table_arg(fcinfo, AccessShareLock, LSM_ARG_SELECT);
	LsmSegmentList *segs;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	segs = lsm_catalog_segments(lsm_relation_storage_id(rel), GetActiveSnapshot());
	for (i = 0; i < segs->nsegs; i++)
	{
		LsmSegmentEntry *s = &segs->segs[i];
		Datum		values[12];
		bool		nulls[12];
		Datum		ext[2 * LSM_SEG_MAX_EXTENTS];
		int			j;

		memset(nulls, 0, sizeof(nulls));
		values[0] = Int64GetDatum(s->segment_id);
		values[1] = Int32GetDatum(s->level);
		values[2] = Int64GetDatum(s->min_rowid);
		values[3] = Int64GetDatum(s->max_rowid);
		values[4] = Int64GetDatum(s->row_count);
		values[5] = Int64GetDatum(s->deleted_count);
		values[6] = Int32GetDatum(s->schema_version);
		values[7] = Int64GetDatum((int64) s->start_block);
		values[8] = Int32GetDatum((int32) s->nblocks);
		values[9] = Int64GetDatum(lsm_segment_held_bytes(s));
		values[10] = Int64GetDatum(s->raw_bytes);
		for (j = 0; j < s->nextents; j++)
		{
			ext[2 * j] = Int64GetDatum((int64) s->extents[j].start);
			ext[2 * j + 1] = Int64GetDatum((int64) s->extents[j].nblocks);
		}
		values[11] = PointerGetDatum(construct_array(ext, 2 * s->nextents,
													 INT8OID, 8, FLOAT8PASSBYVAL,
													 TYPALIGN_DOUBLE));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	relation_close(rel, AccessShareLock);
	return (Datum) 0;
}

Datum
lsm_stats(PG_FUNCTION_ARGS)
{
	Relation	rel = lsm_open_table_arg(fcinfo, AccessShareLock, LSM_ARG_SELECT);
	TupleDesc	tupdesc;
	LsmSegmentList *segs;
	uint64		storage_id = lsm_relation_storage_id(rel);
	int64		l0 = 0,
				rows = 0,
				live = 0,
				bytes = 0,
				raw = 0;
	int64		ndeleted = 0;
	LsmCompactionState cstate;
	Datum		values[15];
	bool		nulls[15];
	int32		current;
	int			i;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	segs = lsm_catalog_segments(storage_id, GetActiveSnapshot());
	for (i = 0; i < segs->nsegs; i++)
	{
		LsmSegmentEntry *s = &segs->segs[i];

		if (s->level == 0)
			l0++;
		rows += s->row_count;
		live += s->row_count - s->deleted_count;
		bytes += lsm_segment_held_bytes(s);
		raw += s->raw_bytes;
	}
	/* rows whose delete this snapshot sees are not live */
	ndeleted = lsm_catalog_count_deletes(storage_id, GetActiveSnapshot());
	live -= ndeleted;
	lsm_catalog_compaction_state(storage_id, &cstate);
	memset(nulls, 0, sizeof(nulls));
	values[0] = Int64GetDatum((int64) storage_id);
	values[1] = Int64GetDatum(segs->nsegs);
	values[2] = Int64GetDatum(l0);
	values[3] = Int64GetDatum(rows);
	values[4] = Int64GetDatum(live);
	values[5] = Int64GetDatum(lsm_memtable_buffered_rows(rel));
	values[6] = Int64GetDatum(bytes);
	values[7] = Int64GetDatum(raw);
	values[8] = Int64GetDatum((int64) smgrnblocks(RelationGetSmgr(rel), MAIN_FORKNUM) * BLCKSZ);
	/* delete records not yet folded by a compaction */
	values[9] = Int64GetDatum(ndeleted);
	/* rows compactions dropped for good, passes, the last pass */
	values[10] = Int64GetDatum(cstate.rows_dropped);
	values[11] = Int64GetDatum(cstate.compactions);
	values[12] = TimestampTzGetDatum(cstate.last_compaction);
	nulls[12] = !cstate.valid;
	/* the version new rows are written under, and the oldest still needed */
	current = storage_id != 0 ?
		lsm_schema_current(rel, storage_id, GetActiveSnapshot()) : 0;
	values[13] = Int32GetDatum(current);
	nulls[13] = current == 0;
	values[14] = Int32GetDatum(current != 0 ?
							   lsm_schema_watermark(storage_id, current) : 0);
	nulls[14] = current == 0;
	relation_close(rel, AccessShareLock);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * lsm.schema_versions(rel regclass): one row per retained schema version,
 * oldest first, with the segments visible to the caller's snapshot that
 * were written under it.
 */
Datum
lsm_schema_versions(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Relation	rel = lsm_open_table_arg(fcinfo, AccessShareLock, LSM_ARG_SELECT);
	uint64		storage_id = lsm_relation_storage_id(rel);
	LsmSchemaVersion *vs;
	int			n;
	int32		current;
	LsmSegmentList *segs;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	if (storage_id == 0)
	{
		relation_close(rel, AccessShareLock);
		return (Datum) 0;
	}
	vs = lsm_schema_list(storage_id, GetActiveSnapshot(), &n);
	current = lsm_schema_match(vs, n, RelationGetDescr(rel));
	segs = lsm_catalog_segments(storage_id, GetActiveSnapshot());
	for (i = 0; i < n; i++)
	{
		Datum		values[7];
		bool		nulls[7];
		int64		nsegs = 0;
		int64		rows = 0;
		int			k;

		for (k = 0; k < segs->nsegs; k++)
			if (segs->segs[k].schema_version == vs[i].version)
			{
				nsegs++;
				rows += segs->segs[k].row_count;
			}
		memset(nulls, 0, sizeof(nulls));
		values[0] = Int32GetDatum(vs[i].version);
		values[1] = Int32GetDatum(vs[i].natts);
		values[2] = BoolGetDatum(vs[i].version == current);
		values[3] = Int64GetDatum(nsegs);
		values[4] = Int64GetDatum(rows);
		values[5] = CStringGetTextDatum(lsm_schema_describe(&vs[i]));
		values[6] = TimestampTzGetDatum(vs[i].created_at);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	relation_close(rel, AccessShareLock);
	return (Datum) 0;
}

/*
 * A segment's own column descriptors must be those of the schema version
 * the catalog says it was written under, and that version must be there:
 * versions are evicted only once no snapshot sees a segment using them.
 */
static void
lsm_verify_schema_version(Relation rel, LsmSegmentHandle *h,
						  const LsmSchemaVersion *versions, int nversions)
{
	const LsmSchemaVersion *v = NULL;
	int64		segid = h->entry.segment_id;
	int			i;

	if ((uint32) h->entry.schema_version != lsm_segr_header(h->reader)->schema_version)
		lsm_format_error(LSM_ERR_CORRUPT, rel, segid, -1,
						 "schema version differs from the catalog's");
	for (i = 0; i < nversions; i++)
		if (versions[i].version == h->entry.schema_version)
			v = &versions[i];
	if (v == NULL)
		lsm_format_error(LSM_ERR_CORRUPT, rel, segid, -1,
						 "written under a schema version the catalog does not have");
	if (v->natts != h->ncols)
		lsm_format_error(LSM_ERR_CORRUPT, rel, segid, -1,
						 "column count differs from its schema version");
	for (i = 0; i < h->ncols; i++)
	{
		const LsmColumnDesc *c = &h->cols[i];

		if (c->attnum != i + 1 ||
			c->type_id != v->typids[i] ||
			c->type_mod != v->typmods[i] ||
			c->byval != v->byvals[i] ||
			((c->flags & LSM_COLF_DROPPED) != 0) != v->dropped[i] ||
			(c->kind == LSM_KIND_VARLEN) != (v->lens[i] < 0) ||
			(c->kind != LSM_KIND_VARLEN && c->width != v->lens[i]))
		{
			char		what[64];

			snprintf(what, sizeof(what),
					 "column %d differs from its schema version", i + 1);
			lsm_format_error(LSM_ERR_CORRUPT, rel, segid, -1, what);
		}
	}
}

/*
 * Read every block of every visible segment, verifying checksums, the
 * directory and the catalog's description; also check that segments do not
 * share pages or rowids.  The first damage raises an error naming
 * relation, segment and block.
 */
Datum
lsm_verify(PG_FUNCTION_ARGS)
{
	Relation	rel = lsm_open_table_arg(fcinfo, AccessShareLock, LSM_ARG_SELECT);
	TupleDesc	tupdesc;
	LsmReadState rs;
	LsmSegmentList *segs;
	LsmMetaPageData meta;
	int64		blocks = 0,
				chunks = 0,
				rows = 0;
	LsmSchemaVersion *versions;
	int			nversions;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	int			i;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	lsm_meta_read(rel, &meta);
	lsm_read_state_init(&rs, rel, NULL);
	segs = lsm_catalog_segments(lsm_relation_storage_id(rel), GetActiveSnapshot());
	versions = lsm_schema_list(lsm_relation_storage_id(rel), GetActiveSnapshot(),
							   &nversions);
	for (i = 0; i < segs->nsegs; i++)
	{
		LsmSegmentEntry *s = &segs->segs[i];
		LsmSegmentHandle *h;
		int			j;

		if (s->min_rowid > s->max_rowid || s->max_rowid >= meta.next_rowid)
			lsm_format_error(LSM_ERR_CORRUPT, rel, s->segment_id, -1,
							 "rowid range is outside what the metapage handed out");
		/* later runs at the metapage are holes (lsm_extents_from_datum) */
		if (LSM_EXTENT_IS_HOLE(s->extents[0]))
			lsm_format_error(LSM_ERR_CORRUPT, rel, s->segment_id, -1,
							 "segment overlaps the metapage");
		for (j = 0; j < i; j++)
		{
			LsmSegmentEntry *o = &segs->segs[j];

			if (o->max_rowid >= s->min_rowid)
				lsm_format_error(LSM_ERR_CORRUPT, rel, s->segment_id, -1,
								 "rowid range overlaps another segment");
			if (lsm_extents_overlap(s->extents, s->nextents,
									o->extents, o->nextents))
				lsm_format_error(LSM_ERR_CORRUPT, rel, s->segment_id, -1,
								 "pages overlap another segment");
		}
		for (j = 1; j < s->nextents; j++)
			if (lsm_extents_overlap(s->extents, j, &s->extents[j], 1))
				lsm_format_error(LSM_ERR_CORRUPT, rel, s->segment_id, -1,
								 "the segment's extents overlap each other");
		h = lsm_segment_open(&rs, s);
		lsm_verify_schema_version(rel, h, versions, nversions);
		if (segs->segs[i].delmap_bytes > 0)
		{
			int			nmap;

			(void) lsm_segment_delmap(rel, &segs->segs[i], &nmap);
			if (nmap != segs->segs[i].deleted_count)
				lsm_format_error(LSM_ERR_CORRUPT, rel, segs->segs[i].segment_id,
								 segs->segs[i].delmap_start,
								 "delete map size differs from the catalog");
		}
		rows += lsm_verify_segment(&rs, h, &blocks, &chunks);
		lsm_segment_close(h);
	}
	values[0] = Int64GetDatum(segs->nsegs);
	values[1] = Int64GetDatum(blocks);
	values[2] = Int64GetDatum(chunks);
	values[3] = Int64GetDatum(rows);
	relation_close(rel, AccessShareLock);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

Datum
lsm_collect_garbage(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(lsm_catalog_collect_garbage());
}

/*
 * What this backend keeps of segment directories and delete maps between
 * scans (lsm.directory_cache_size bounds it).  The directories' memory is
 * mapped outside memory contexts (lsm_arena.c), so
 * pg_backend_memory_contexts does not show it; this does.
 */
Datum
lsm_directory_cache(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	LsmReaderCacheStats stats;
	Datum		values[5];
	bool		nulls[5] = {0};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	lsm_reader_cache_stats(&stats);
	values[0] = Int64GetDatum(stats.segments);
	values[1] = Int64GetDatum(stats.bytes);
	values[2] = Int64GetDatum(stats.mapped_bytes);
	values[3] = Int64GetDatum(stats.delete_maps);
	values[4] = Int64GetDatum(stats.delete_map_bytes);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * The shared directory cache (lsm.shared_directory_cache_size): its ring,
 * what it holds, and its counters since the server started.  No row when
 * there is none (not preloaded, or the setting is 0).
 */
Datum
lsm_shared_directory_cache(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	LsmDirCacheStats stats;
	Datum		values[7];
	bool		nulls[7] = {0};

	InitMaterializedSRF(fcinfo, 0);
	if (lsm_dircache_stats(&stats))
	{
		values[0] = Int64GetDatum(stats.size);
		values[1] = Int64GetDatum(stats.used_bytes);
		values[2] = Int64GetDatum(stats.segments);
		values[3] = Int64GetDatum(stats.hits);
		values[4] = Int64GetDatum(stats.loads);
		values[5] = Int64GetDatum(stats.evictions);
		values[6] = Int64GetDatum(stats.bypasses);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * Event trigger at the end of CREATE/ALTER PUBLICATION and of the commands
 * that create or change tables: lsm tables write no heap WAL, so logical
 * decoding would silently publish nothing of them.  Refuse any command that
 * leaves a permanent lsm table in a publication: named in it, in one of its
 * schemas, under a published partitioned table, or covered by FOR ALL
 * TABLES.  Only the publications and tables the command touched are checked;
 * the error names the one with the lowest OID, the same on every run.
 */
Datum
lsm_refuse_publication(PG_FUNCTION_ARGS)
{
	const char *query =
		"WITH ddl AS (SELECT classid, objid FROM pg_event_trigger_ddl_commands()),"
		" pubs AS ("
		"  SELECT objid AS oid FROM ddl WHERE classid = 'pg_publication'::regclass"
		"  UNION SELECT pr.prpubid FROM ddl JOIN pg_publication_rel pr ON pr.oid = ddl.objid"
		"   WHERE ddl.classid = 'pg_publication_rel'::regclass"
		"  UNION SELECT pn.pnpubid FROM ddl JOIN pg_publication_namespace pn ON pn.oid = ddl.objid"
		"   WHERE ddl.classid = 'pg_publication_namespace'::regclass),"
		" rels AS ("
		"  SELECT objid AS oid FROM ddl WHERE classid = 'pg_class'::regclass"
		"  UNION SELECT t.relid FROM ddl, pg_partition_tree(ddl.objid) t"
		"   WHERE ddl.classid = 'pg_class'::regclass),"
		" lsm AS ("
		"  SELECT c.oid, c.relnamespace FROM pg_class c JOIN pg_am a ON a.oid = c.relam"
		"   WHERE a.amname = 'lsm' AND c.relpersistence = 'p' AND c.relkind = 'r')"
		" SELECT l.oid::regclass::text FROM lsm l, pg_publication p"
		"  WHERE (p.oid IN (SELECT oid FROM pubs) OR l.oid IN (SELECT oid FROM rels))"
		"   AND (p.puballtables"
		"    OR EXISTS (SELECT 1 FROM pg_publication_namespace pn"
		"               WHERE pn.pnpubid = p.oid AND pn.pnnspid = l.relnamespace)"
		"    OR EXISTS (SELECT 1 FROM pg_publication_rel pr WHERE pr.prpubid = p.oid"
		"               AND (pr.prrelid = l.oid OR pr.prrelid IN"
		"                    (SELECT relid FROM pg_partition_ancestors(l.oid)))))"
		" ORDER BY l.oid LIMIT 1";
	char	   *name = NULL;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_EVENT_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("lsm.refuse_publication() must be called as an event trigger")));
	SPI_connect();
	/* not read-only: SPI then makes the command's own changes visible */
	if (SPI_execute(query, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not check publications for lsm tables");
	if (SPI_processed > 0)
		name = pstrdup(SPI_getvalue(SPI_tuptable->vals[0],
									SPI_tuptable->tupdesc, 1));
	SPI_finish();
	if (name)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("lsm table %s cannot be part of a publication", name),
				 errdetail("Logical decoding does not see changes of lsm tables.")));
	PG_RETURN_VOID();
}
