/*-------------------------------------------------------------------------
 *
 * lsm_options.c
 *	  Per-table settings: rows of lsm.table_option that override
 *	  lsm.compact_l0_trigger, lsm.compact_delete_fraction and
 *	  lsm.compression_level for one table.
 *
 * NOTES
 *	  PostgreSQL 15 gives a table access method no reloptions of its own
 *	  (ALTER TABLE ... SET checks heap's list), so the settings live in an
 *	  lsm catalog table keyed by the table's OID, which a TRUNCATE or a
 *	  rewrite keeps.  lsm.set_compaction_options() and
 *	  lsm.set_compression_level() write them and send a relcache
 *	  invalidation for the table; every backend keeps what it read in a
 *	  small hash table and forgets an entry on that invalidation, so a
 *	  writer's level-0 check and a new segment's zstd level cost a hash
 *	  lookup.  Rows of dropped tables go
 *	  with lsm.collect_garbage() (lsm_catalog_collect_garbage).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/indexing.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/rel.h"

#include "lsm_am.h"
#include "catalog/lsm_catalog.h"

PG_FUNCTION_INFO_V1(lsm_set_compaction_options);
PG_FUNCTION_INFO_V1(lsm_compaction_options);
PG_FUNCTION_INFO_V1(lsm_set_compression_level);
PG_FUNCTION_INFO_V1(lsm_get_compression_level);

#define Anum_opt_relid			1
#define Anum_opt_l0_trigger		2
#define Anum_opt_delete_fraction 3
#define Anum_opt_compression_level 4
#define Natts_opt				4

typedef struct LsmOptionsEntry
{
	Oid			relid;			/* hash key */
	int			l0_trigger;		/* 0: the lsm.* setting */
	double		delete_fraction;	/* < 0: the lsm.* setting */
	int			compression_level;	/* < 0: the lsm.* setting */
} LsmOptionsEntry;

static HTAB *options_cache = NULL;

static void
lsm_options_inval(Datum arg, Oid relid)
{
	if (options_cache == NULL)
		return;
	if (OidIsValid(relid))
		(void) hash_search(options_cache, &relid, HASH_REMOVE, NULL);
	else
	{
		HASH_SEQ_STATUS status;
		LsmOptionsEntry *e;

		hash_seq_init(&status, options_cache);
		while ((e = hash_seq_search(&status)) != NULL)
			(void) hash_search(options_cache, &e->relid, HASH_REMOVE, NULL);
	}
}

/* An index scan of lsm.table_option (opened as `rel`) for the table's row. */
static SysScanDesc
lsm_options_scan(Relation rel, Oid relid)
{
	ScanKeyData key;

	ScanKeyInit(&key, Anum_opt_relid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	return systable_beginscan(rel, lsm_catalog_relid("table_option_pkey"),
							  true, NULL, 1, &key);
}

/* The table's row of lsm.table_option, read into e (defaults if none). */
static void
lsm_options_read(Oid relid, LsmOptionsEntry *e)
{
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tup;

	e->l0_trigger = 0;
	e->delete_fraction = -1;
	e->compression_level = -1;
	rel = table_open(lsm_catalog_relid("table_option"), AccessShareLock);
	scan = lsm_options_scan(rel, relid);
	if (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		bool		isnull;
		Datum		d;

		d = heap_getattr(tup, Anum_opt_l0_trigger, RelationGetDescr(rel), &isnull);
		if (!isnull)
			e->l0_trigger = DatumGetInt32(d);
		d = heap_getattr(tup, Anum_opt_delete_fraction, RelationGetDescr(rel), &isnull);
		if (!isnull)
			e->delete_fraction = DatumGetFloat8(d);
		d = heap_getattr(tup, Anum_opt_compression_level, RelationGetDescr(rel), &isnull);
		if (!isnull)
			e->compression_level = DatumGetInt32(d);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
}

static LsmOptionsEntry *
lsm_options_get(Oid relid)
{
	LsmOptionsEntry *e;
	LsmOptionsEntry tmp;
	bool		found;

	if (options_cache == NULL)
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(LsmOptionsEntry);
		options_cache = hash_create("lsm table options", 64, &ctl,
									HASH_ELEM | HASH_BLOBS);
		CacheRegisterRelcacheCallback(lsm_options_inval, (Datum) 0);
	}
	e = hash_search(options_cache, &relid, HASH_FIND, NULL);
	if (e != NULL)
		return e;
	/* read before entering it: an error while reading leaves no entry */
	lsm_options_read(relid, &tmp);
	e = hash_search(options_cache, &relid, HASH_ENTER, &found);
	e->l0_trigger = tmp.l0_trigger;
	e->delete_fraction = tmp.delete_fraction;
	e->compression_level = tmp.compression_level;
	return e;
}

/* lsm.compact_l0_trigger for this table. */
int
lsm_table_l0_trigger(Oid relid)
{
	int			t = lsm_options_get(relid)->l0_trigger;

	return t > 0 ? t : lsm_compact_l0_trigger;
}

/* lsm.compact_delete_fraction for this table. */
double
lsm_table_delete_fraction(Oid relid)
{
	double		f = lsm_options_get(relid)->delete_fraction;

	return f >= 0 ? f : lsm_compact_delete_fraction;
}

/* lsm.compression_level for this table's new segments. */
int
lsm_table_compression_level(Oid relid)
{
	int			l = lsm_options_get(relid)->compression_level;

	return l >= 0 ? l : lsm_compression_level;
}

/*
 * Replace the table's row of lsm.table_option by `e` (none if every value
 * is the lsm.* setting), then make every backend read it again.  The caller
 * holds the table in ShareUpdateExclusiveLock, the lock compaction takes,
 * so two changes do not interleave and a running pass finishes under the
 * old values.
 */
static void
lsm_options_write(Relation rel, const LsmOptionsEntry *e)
{
	Oid			relid = RelationGetRelid(rel);
	Relation	orel;
	SysScanDesc scan;
	HeapTuple	tup;

	orel = table_open(lsm_catalog_relid("table_option"), RowExclusiveLock);
	scan = lsm_options_scan(orel, relid);
	if (HeapTupleIsValid(tup = systable_getnext(scan)))
		CatalogTupleDelete(orel, &tup->t_self);
	systable_endscan(scan);
	if (e->l0_trigger > 0 || e->delete_fraction >= 0 || e->compression_level >= 0)
	{
		Datum		values[Natts_opt];
		bool		nulls[Natts_opt];

		values[Anum_opt_relid - 1] = ObjectIdGetDatum(relid);
		nulls[Anum_opt_relid - 1] = false;
		values[Anum_opt_l0_trigger - 1] = Int32GetDatum(e->l0_trigger);
		nulls[Anum_opt_l0_trigger - 1] = e->l0_trigger <= 0;
		values[Anum_opt_delete_fraction - 1] = Float8GetDatum(e->delete_fraction);
		nulls[Anum_opt_delete_fraction - 1] = e->delete_fraction < 0;
		values[Anum_opt_compression_level - 1] = Int32GetDatum(e->compression_level);
		nulls[Anum_opt_compression_level - 1] = e->compression_level < 0;
		CatalogTupleInsert(orel, heap_form_tuple(RelationGetDescr(orel), values, nulls));
	}
	table_close(orel, RowExclusiveLock);

	/* every backend (this one too) reads the row again */
	CacheInvalidateRelcache(rel);
	CommandCounterIncrement();
}

/*
 * lsm.set_compaction_options(rel, l0_trigger, delete_fraction): the table's
 * own values of lsm.compact_l0_trigger and lsm.compact_delete_fraction; a
 * NULL argument means the lsm.* setting.  Owner only; takes the lock
 * compaction takes, so a running pass finishes under the old values.
 */
Datum
lsm_set_compaction_options(PG_FUNCTION_ARGS)
{
	Relation	rel = lsm_open_table_arg(fcinfo, ShareUpdateExclusiveLock,
											 LSM_ARG_OWNER);
	Oid			relid = RelationGetRelid(rel);
	bool		has_trigger = !PG_ARGISNULL(1);
	bool		has_fraction = !PG_ARGISNULL(2);
	int32		trigger = has_trigger ? PG_GETARG_INT32(1) : 0;
	float8		fraction = has_fraction ? PG_GETARG_FLOAT8(2) : 0;
	LsmOptionsEntry e;

	if (has_trigger && (trigger < 1 || trigger > 100000))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("l0_trigger must be between 1 and 100000, not %d", trigger)));
	if (has_fraction && !(fraction >= 0.0 && fraction <= 1.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("delete_fraction must be between 0 and 1, not %g", fraction)));

	/* the table's compression level stays */
	lsm_options_read(relid, &e);
	e.l0_trigger = has_trigger ? trigger : 0;
	e.delete_fraction = has_fraction ? fraction : -1;
	lsm_options_write(rel, &e);
	/* the lock stays until commit: a pass then starts under the new values */
	relation_close(rel, NoLock);
	PG_RETURN_VOID();
}

/*
 * lsm.compaction_options(rel): the values compaction uses for the table,
 * and whether each is the table's own.
 */
Datum
lsm_compaction_options(PG_FUNCTION_ARGS)
{
	Relation	rel = lsm_open_table_arg(fcinfo, AccessShareLock, LSM_ARG_ANYONE);
	Oid			relid = RelationGetRelid(rel);
	LsmOptionsEntry own;
	TupleDesc	tupdesc;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	lsm_options_read(relid, &own);
	values[0] = Int32GetDatum(own.l0_trigger > 0 ? own.l0_trigger : lsm_compact_l0_trigger);
	values[1] = BoolGetDatum(own.l0_trigger > 0);
	values[2] = Float8GetDatum(own.delete_fraction >= 0 ? own.delete_fraction :
							   lsm_compact_delete_fraction);
	values[3] = BoolGetDatum(own.delete_fraction >= 0);
	relation_close(rel, AccessShareLock);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * lsm.set_compression_level(rel, level): the zstd level of the table's new
 * segments, whoever writes them (flushes of every session, compaction);
 * NULL means the lsm.compression_level setting of the writing session.
 * Segments already written keep theirs until compaction rewrites them.
 * Owner only.
 */
Datum
lsm_set_compression_level(PG_FUNCTION_ARGS)
{
	Relation	rel = lsm_open_table_arg(fcinfo, ShareUpdateExclusiveLock,
											 LSM_ARG_OWNER);
	bool		has_level = !PG_ARGISNULL(1);
	int32		level = has_level ? PG_GETARG_INT32(1) : -1;
	LsmOptionsEntry e;

	if (has_level && (level < 0 || level > LSM_MAX_COMPRESSION_LEVEL))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("compression level must be between 0 and %d, not %d",
						LSM_MAX_COMPRESSION_LEVEL, level)));
	/* the table's compaction settings stay */
	lsm_options_read(RelationGetRelid(rel), &e);
	e.compression_level = level;
	lsm_options_write(rel, &e);
	relation_close(rel, NoLock);
	PG_RETURN_VOID();
}

/*
 * lsm.compression_level(rel): the zstd level this session would write the
 * table's segments with, and whether it is the table's own.
 */
Datum
lsm_get_compression_level(PG_FUNCTION_ARGS)
{
	Relation	rel = lsm_open_table_arg(fcinfo, AccessShareLock, LSM_ARG_ANYONE);
	LsmOptionsEntry own;
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2] = {false, false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	lsm_options_read(RelationGetRelid(rel), &own);
	values[0] = Int32GetDatum(own.compression_level >= 0 ? own.compression_level :
							  lsm_compression_level);
	values[1] = BoolGetDatum(own.compression_level >= 0);
	relation_close(rel, AccessShareLock);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
