/*-------------------------------------------------------------------------
 *
 * lsm_schema.c
 *	  Schema versions: the column layouts an lsm table's segments are
 *	  written with (lsm.schema_version), the watermark, and eviction.
 *
 * NOTES
 *	  A layout is what decides how rows are encoded: per attribute number
 *	  the type, typmod, length, by-value, alignment and whether it is
 *	  dropped.  Renames, defaults and NOT NULL do not change it; ADD and
 *	  DROP COLUMN and binary-compatible ALTER TYPE do.  (Changes that
 *	  rewrite the table give it a new storage, whose versions start again
 *	  at 1.)  Each storage's layouts are numbered 1, 2, ... in the order
 *	  they appear; every segment records the number of the layout it was
 *	  written under, and describes that layout in its own header too, which
 *	  is what readers use (src/format/lsm_colmap.c).
 *
 *	  When a version is recorded:
 *	  - when a storage is created (CREATE TABLE, TRUNCATE, rewrites);
 *	  - at pre-commit of a transaction that altered the table's attributes
 *	    (the object access hook notes the table), so the version row
 *	    commits or rolls back with the ALTER TABLE;
 *	  - when a segment is written under a layout no version row has yet
 *	    (rows written in the ALTER's own transaction, before its commit).
 *	  ALTER TABLE holds AccessExclusiveLock until it commits, so once it
 *	  has, every writer finds the new version.  Two transactions that
 *	  would record the same layout anyway (only conceivable if an ALTER
 *	  escaped the hook) are serialised by a lock on the storage's versions.
 *
 *	  Watermark: the oldest version referenced by a segment catalog row
 *	  that some snapshot may still see -- live, or deleted by a compaction
 *	  too recently for every snapshot to have moved on, or written by a
 *	  transaction still in progress.  With no such segment it is the current
 *	  version.  Versions below the watermark are evicted (their rows
 *	  deleted) by lsm.compact, the background worker and VACUUM; eviction
 *	  never removes the current version.  Compaction migrates the rows it
 *	  rewrites to the current layout, which is what moves the watermark.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/indexing.h"
#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "lsm_am.h"
#include "catalog/lsm_catalog.h"
#include "catalog/lsm_schema.h"
#include "storage/lsm_storage.h"

#define Anum_sv_storage_id		1
#define Anum_sv_version			2
#define Anum_sv_natts			3
#define Anum_sv_atttypids		4
#define Anum_sv_atttypmods		5
#define Anum_sv_attlens			6
#define Anum_sv_attbyvals		7
#define Anum_sv_attaligns		8
#define Anum_sv_attdropped		9
#define Anum_sv_created_at		10
#define Natts_sv				10

/* Tables whose attributes this transaction changed (in TopTransactionContext). */
static List *altered_relids = NIL;

/* ---- layouts ---- */

/* Does version v describe tuple descriptor desc? */
static bool
lsm_version_matches(const LsmSchemaVersion *v, TupleDesc desc)
{
	int			i;

	if (v->natts != desc->natts)
		return false;
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (v->typids[i] != att->atttypid ||
			v->typmods[i] != att->atttypmod ||
			v->lens[i] != att->attlen ||
			v->byvals[i] != att->attbyval ||
			v->aligns[i] != att->attalign ||
			v->dropped[i] != att->attisdropped)
			return false;
	}
	return true;
}

/* Do two descriptors encode rows the same way? */
static bool
lsm_same_layout(TupleDesc a, TupleDesc b)
{
	int			i;

	if (a == b)
		return true;
	if (a->natts != b->natts)
		return false;
	for (i = 0; i < a->natts; i++)
	{
		Form_pg_attribute x = TupleDescAttr(a, i);
		Form_pg_attribute y = TupleDescAttr(b, i);

		if (x->atttypid != y->atttypid || x->atttypmod != y->atttypmod ||
			x->attlen != y->attlen || x->attbyval != y->attbyval ||
			x->attalign != y->attalign || x->attisdropped != y->attisdropped)
			return false;
	}
	return true;
}

static void
lsm_array_elems(Datum d, Oid elemtype, int16 elmlen, bool elmbyval,
				char elmalign, int natts, Datum **elems)
{
	ArrayType  *arr = DatumGetArrayTypeP(d);
	int			n;

	deconstruct_array(arr, elemtype, elmlen, elmbyval, elmalign, elems, NULL, &n);
	if (n != natts)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("lsm.schema_version row has %d array elements for %d attributes",
						n, natts)));
}

static void
lsm_version_from_tuple(HeapTuple tup, TupleDesc tdesc, LsmSchemaVersion *v)
{
	Datum		values[Natts_sv];
	bool		nulls[Natts_sv];
	Datum	   *e;
	int			i;
	int			n;

	heap_deform_tuple(tup, tdesc, values, nulls);
	v->version = DatumGetInt32(values[Anum_sv_version - 1]);
	v->natts = n = DatumGetInt32(values[Anum_sv_natts - 1]);
	v->created_at = DatumGetTimestampTz(values[Anum_sv_created_at - 1]);
	v->typids = palloc(sizeof(Oid) * Max(n, 1));
	v->typmods = palloc(sizeof(int32) * Max(n, 1));
	v->lens = palloc(sizeof(int16) * Max(n, 1));
	v->byvals = palloc(sizeof(bool) * Max(n, 1));
	v->aligns = palloc(sizeof(char) * Max(n, 1));
	v->dropped = palloc(sizeof(bool) * Max(n, 1));

	lsm_array_elems(values[Anum_sv_atttypids - 1], OIDOID, 4, true, TYPALIGN_INT, n, &e);
	for (i = 0; i < n; i++)
		v->typids[i] = DatumGetObjectId(e[i]);
	lsm_array_elems(values[Anum_sv_atttypmods - 1], INT4OID, 4, true, TYPALIGN_INT, n, &e);
	for (i = 0; i < n; i++)
		v->typmods[i] = DatumGetInt32(e[i]);
	lsm_array_elems(values[Anum_sv_attlens - 1], INT2OID, 2, true, TYPALIGN_SHORT, n, &e);
	for (i = 0; i < n; i++)
		v->lens[i] = DatumGetInt16(e[i]);
	lsm_array_elems(values[Anum_sv_attbyvals - 1], BOOLOID, 1, true, TYPALIGN_CHAR, n, &e);
	for (i = 0; i < n; i++)
		v->byvals[i] = DatumGetBool(e[i]);
	lsm_array_elems(values[Anum_sv_attaligns - 1], CHAROID, 1, true, TYPALIGN_CHAR, n, &e);
	for (i = 0; i < n; i++)
		v->aligns[i] = DatumGetChar(e[i]);
	lsm_array_elems(values[Anum_sv_attdropped - 1], BOOLOID, 1, true, TYPALIGN_CHAR, n, &e);
	for (i = 0; i < n; i++)
		v->dropped[i] = DatumGetBool(e[i]);
}

/*
 * lsm_schema_list
 *		The storage's version rows visible to `snapshot` (NULL: the catalog
 *		snapshot), oldest first (the primary key's order).
 */
LsmSchemaVersion *
lsm_schema_list(uint64 storage_id, Snapshot snapshot, int *n)
{
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;
	LsmSchemaVersion *vs = NULL;
	int			cap = 0;

	*n = 0;
	rel = table_open(lsm_catalog_relid("schema_version"), AccessShareLock);
	ScanKeyInit(&key, Anum_sv_storage_id, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) storage_id));
	scan = systable_beginscan(rel, lsm_catalog_relid("schema_version_pkey"),
							  true, snapshot, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		if (*n == cap)
		{
			cap = cap == 0 ? 4 : cap * 2;
			vs = vs ? repalloc(vs, sizeof(LsmSchemaVersion) * cap) :
				palloc(sizeof(LsmSchemaVersion) * cap);
		}
		lsm_version_from_tuple(tup, RelationGetDescr(rel), &vs[(*n)++]);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return vs;
}

/* The newest of vs[0..n-1] that describes desc, or 0. */
int32
lsm_schema_match(const LsmSchemaVersion *vs, int n, TupleDesc desc)
{
	int			i;

	for (i = n - 1; i >= 0; i--)
		if (lsm_version_matches(&vs[i], desc))
			return vs[i].version;
	return 0;
}

static void
lsm_schema_insert(uint64 storage_id, int32 version, TupleDesc desc)
{
	Relation	rel;
	Datum		values[Natts_sv];
	bool		nulls[Natts_sv];
	int			n = desc->natts;
	Datum	   *typids = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *typmods = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *lens = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *byvals = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *aligns = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *dropped = palloc(sizeof(Datum) * Max(n, 1));
	HeapTuple	tup;
	int			i;

	for (i = 0; i < n; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		typids[i] = ObjectIdGetDatum(att->atttypid);
		typmods[i] = Int32GetDatum(att->atttypmod);
		lens[i] = Int16GetDatum(att->attlen);
		byvals[i] = BoolGetDatum(att->attbyval);
		aligns[i] = CharGetDatum(att->attalign);
		dropped[i] = BoolGetDatum(att->attisdropped);
	}
	memset(nulls, false, sizeof(nulls));
	values[Anum_sv_storage_id - 1] = Int64GetDatum((int64) storage_id);
	values[Anum_sv_version - 1] = Int32GetDatum(version);
	values[Anum_sv_natts - 1] = Int32GetDatum(n);
	values[Anum_sv_atttypids - 1] =
		PointerGetDatum(construct_array(typids, n, OIDOID, 4, true, TYPALIGN_INT));
	values[Anum_sv_atttypmods - 1] =
		PointerGetDatum(construct_array(typmods, n, INT4OID, 4, true, TYPALIGN_INT));
	values[Anum_sv_attlens - 1] =
		PointerGetDatum(construct_array(lens, n, INT2OID, 2, true, TYPALIGN_SHORT));
	values[Anum_sv_attbyvals - 1] =
		PointerGetDatum(construct_array(byvals, n, BOOLOID, 1, true, TYPALIGN_CHAR));
	values[Anum_sv_attaligns - 1] =
		PointerGetDatum(construct_array(aligns, n, CHAROID, 1, true, TYPALIGN_CHAR));
	values[Anum_sv_attdropped - 1] =
		PointerGetDatum(construct_array(dropped, n, BOOLOID, 1, true, TYPALIGN_CHAR));
	values[Anum_sv_created_at - 1] =
		TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());

	rel = table_open(lsm_catalog_relid("schema_version"), RowExclusiveLock);
	tup = heap_form_tuple(RelationGetDescr(rel), values, nulls);
	CatalogTupleInsert(rel, tup);
	heap_freetuple(tup);
	table_close(rel, RowExclusiveLock);
}

/*
 * lsm_schema_version_for_write
 *		The version rows with descriptor `desc` are written under in
 *		storage `storage_id` of `rel`, recording a new version if no row
 *		describes that layout yet.  Cached in the relcache entry for the
 *		relation's own descriptor.
 */
int32
lsm_schema_version_for_write(Relation rel, uint64 storage_id, TupleDesc desc)
{
	LsmRelCache *rc = (LsmRelCache *) rel->rd_amcache;
	bool		is_current = lsm_same_layout(desc, RelationGetDescr(rel));
	LsmSchemaVersion *vs;
	int			n;
	int32		version;
	LOCKTAG		tag;

	if (is_current && rc != NULL && rc->storage_id == storage_id &&
		rc->schema_version > 0)
		return rc->schema_version;

	/* SnapshotSelf: committed rows and our own, up to this very command */
	vs = lsm_schema_list(storage_id, SnapshotSelf, &n);
	version = lsm_schema_match(vs, n, desc);
	if (version == 0)
	{
		/* serialise recorders of this storage's versions; look again */
		SET_LOCKTAG_OBJECT(tag, MyDatabaseId,
						   lsm_catalog_relid("schema_version"),
						   (Oid) (storage_id & 0xFFFFFFFF),
						   (uint16) (storage_id >> 32));
		(void) LockAcquire(&tag, ExclusiveLock, false, false);
		vs = lsm_schema_list(storage_id, SnapshotSelf, &n);
		version = lsm_schema_match(vs, n, desc);
		if (version == 0)
		{
			version = n > 0 ? vs[n - 1].version + 1 : 1;
			lsm_schema_insert(storage_id, version, desc);

			/*
			 * Others learn nothing from this (they look versions up when
			 * their descriptor changes), but if we abort, the version
			 * cached below must go with the row.
			 */
			CacheInvalidateRelcache(rel);
		}
	}
	rc = (LsmRelCache *) rel->rd_amcache;
	if (is_current && rc != NULL && rc->storage_id == storage_id)
		rc->schema_version = version;
	return version;
}

/*
 * lsm_schema_current
 *		The newest version visible to `snapshot` that describes the
 *		relation's descriptor, or 0 if none does (yet).  Records nothing.
 */
int32
lsm_schema_current(Relation rel, uint64 storage_id, Snapshot snapshot)
{
	LsmSchemaVersion *vs;
	int			n;

	vs = lsm_schema_list(storage_id, snapshot, &n);
	return lsm_schema_match(vs, n, RelationGetDescr(rel));
}

/* ---- ALTER TABLE ---- */

/*
 * lsm_schema_note_alter
 *		The object access hook saw a change of relation `relid`'s
 *		attributes: record its layout at pre-commit.
 */
void
lsm_schema_note_alter(Oid relid)
{
	MemoryContext old;

	if (list_member_oid(altered_relids, relid))
		return;
	old = MemoryContextSwitchTo(TopTransactionContext);
	altered_relids = lappend_oid(altered_relids, relid);
	MemoryContextSwitchTo(old);
}

static void
lsm_schema_record_altered(void)
{
	ListCell   *lc;

	if (altered_relids == NIL || !lsm_catalog_available())
		return;
	foreach(lc, altered_relids)
	{
		/* we hold the ALTER's lock; a table dropped since is simply gone */
		Relation	rel = try_relation_open(lfirst_oid(lc), NoLock);

		if (rel == NULL)
			continue;
		if (lsm_is_lsm_relation(rel) &&
			rel->rd_rel->relkind != RELKIND_PARTITIONED_TABLE)
		{
			uint64		storage_id = lsm_relation_storage_id(rel);

			if (storage_id != 0)
				(void) lsm_schema_version_for_write(rel, storage_id,
													RelationGetDescr(rel));
		}
		relation_close(rel, NoLock);
	}
}

static void
lsm_schema_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			lsm_schema_record_altered();
			altered_relids = NIL;
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
			altered_relids = NIL;	/* lived in TopTransactionContext */
			break;
		default:
			break;
	}
}

void
lsm_schema_init(void)
{
	RegisterXactCallback(lsm_schema_xact_callback, NULL);
}

/* ---- watermark and eviction ---- */

/*
 * lsm_schema_watermark
 *		The oldest schema version referenced by a segment some snapshot may
 *		still see, or `current` if there is none (see the file header).
 */
int32
lsm_schema_watermark(uint64 storage_id, int32 current)
{
	return lsm_catalog_oldest_needed_version(storage_id, current);
}

/*
 * lsm_schema_evict
 *		Delete the version rows of `rel`'s current storage below the
 *		watermark.  The caller holds at least ShareUpdateExclusiveLock (so
 *		no ALTER TABLE and no other eviction runs).  Returns how many went.
 */
int
lsm_schema_evict(Relation rel)
{
	uint64		storage_id = lsm_relation_storage_id(rel);
	int32		current;
	int32		watermark;
	Relation	crel;
	SysScanDesc scan;
	ScanKeyData key[2];
	HeapTuple	tup;
	int			evicted = 0;

	LsmSchemaVersion *vs;
	int			n;

	if (storage_id == 0)
		return 0;
	current = lsm_schema_version_for_write(rel, storage_id, RelationGetDescr(rel));

	/* the common case, a single version: nothing to scan for */
	vs = lsm_schema_list(storage_id, NULL, &n);
	if (n == 0 || vs[0].version >= current)
		return 0;
	watermark = lsm_schema_watermark(storage_id, current);
	if (watermark <= vs[0].version)
		return 0;

	crel = table_open(lsm_catalog_relid("schema_version"), RowExclusiveLock);
	ScanKeyInit(&key[0], Anum_sv_storage_id, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) storage_id));
	ScanKeyInit(&key[1], Anum_sv_version, BTLessStrategyNumber, F_INT4LT,
				Int32GetDatum(watermark));
	scan = systable_beginscan(crel, lsm_catalog_relid("schema_version_pkey"),
							  true, NULL, 2, key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		CatalogTupleDelete(crel, &tup->t_self);
		evicted++;
	}
	systable_endscan(scan);
	table_close(crel, RowExclusiveLock);
	if (evicted > 0)
		CommandCounterIncrement();
	return evicted;
}

/* ---- describing versions ---- */

/*
 * "1:integer 2:text 3:dropped"; a type dropped since the version was
 * recorded (a domain the column no longer uses) shows as "???".
 */
char *
lsm_schema_describe(const LsmSchemaVersion *v)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < v->natts; i++)
	{
		if (i > 0)
			appendStringInfoChar(&buf, ' ');
		if (v->dropped[i])
			appendStringInfo(&buf, "%d:dropped", i + 1);
		else
			appendStringInfo(&buf, "%d:%s", i + 1,
							 format_type_extended(v->typids[i], v->typmods[i],
												  FORMAT_TYPE_TYPEMOD_GIVEN |
												  FORMAT_TYPE_ALLOW_INVALID));
	}
	return buf.data;
}
