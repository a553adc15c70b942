/*-------------------------------------------------------------------------
 *
 * lsm_memtable.c
 *	  Per-transaction, per-subtransaction-level write buffers of lsm tables.
 *
 * NOTES
 *	  tuple_insert and multi_insert do not write pages: they give the row a
 *	  rowid and append it, as a MinimalTuple stamped with its command id, to
 *	  the buffer of (relation, current subtransaction level).  A buffer is
 *	  flushed into a level-0 segment when it reaches lsm.segment_rows rows or
 *	  lsm.memtable_limit bytes, when the table's descriptor changes, before
 *	  TRUNCATE or SET TABLESPACE, before a parallel query (workers cannot see
 *	  our memory) and at pre-commit / pre-prepare.  Memory
 *	  use is therefore bounded whatever the transaction's size.
 *
 *	  Subtransactions: a subtransaction's rows live in its own buffer and
 *	  its flushed segments are catalogued by the subtransaction, so an
 *	  abort drops both.  At subcommit the rows move to the parent's buffer.
 *
 *	  Rowids come in batches from the metapage counter.  Every buffer level
 *	  takes its own batches, and a segment is written per batch ("run"), so
 *	  segments of different transactions never overlap in rowid range and
 *	  a table scan that walks segments by rowid returns rows in TID order.
 *
 *	  Unique and exclusion checks in other sessions must learn that a rowid
 *	  belongs to a transaction still in progress.  For tables with indexes
 *	  each batch a level starts using is published in lsm.inflight by that
 *	  level; a dirty-snapshot fetch that finds no segment for a rowid finds
 *	  the reservation there and waits on its xmin.  The rows are deleted at
 *	  pre-commit in the same transaction, so they are never seen committed.
 *	  Exclusion constraints need the conflicting row's values, not just its
 *	  xid, so tables with one flush every row at once.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/detoast.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/xact.h"
#include "catalog/pg_index.h"
#include "miscadmin.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "lsm_am.h"
#include "catalog/lsm_catalog.h"
#include "storage/lsm_storage.h"
#include "scan/lsm_scan.h"
#include "txn/lsm_txn.h"

#define LSM_FIRST_BATCH		256
#define LSM_MAX_BATCH		(1 << 20)

typedef struct LsmMemtable
{
	Oid			relid;
	uint64		storage_id;
	int			nestlevel;
	LsmMemBuffer *buf;
	TupleDesc	seen_desc;		/* rel->rd_att the buffer was checked against */
	int64		batch_next;		/* next rowid of the current batch */
	int64		batch_end;		/* one past the batch's last rowid */
	int64		batch_size;
	int			cur_run;		/* buffer run of the current batch, or -1 */
	bool		publish;		/* publish reservations in lsm.inflight */
	bool		flush_each_row; /* table has an exclusion constraint */
	bool		temp;			/* temporary table: no parallel scans */
	List	   *inflight;		/* ItemPointers of our lsm.inflight rows */
	struct LsmMemtable *next;
} LsmMemtable;

/* Unused rest of a rowid batch, kept across transactions of this backend. */
typedef struct LsmBatchCache
{
	uint64		storage_id;
	int64		next;
	int64		end;
} LsmBatchCache;

static LsmMemtable *memtables = NULL;	/* in TopTransactionContext */
static LsmMemtable *last_used = NULL;
static List *batch_cache = NIL; /* in TopMemoryContext */

static void lsm_xact_callback(XactEvent event, void *arg);
static void lsm_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
								 SubTransactionId parentSubid, void *arg);

void
lsm_txn_init(void)
{
	RegisterXactCallback(lsm_xact_callback, NULL);
	RegisterSubXactCallback(lsm_subxact_callback, NULL);
}

static LsmMemBuffer *
lsm_buffer_create(TupleDesc desc)
{
	MemoryContext cxt;
	LsmMemBuffer *buf;

	cxt = AllocSetContextCreate(TopTransactionContext, "lsm write buffer",
								ALLOCSET_DEFAULT_SIZES);
	buf = MemoryContextAllocZero(cxt, sizeof(LsmMemBuffer));
	buf->cxt = cxt;
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);

		buf->tupdesc = CreateTupleDescCopyConstr(desc);
		MemoryContextSwitchTo(old);
	}
	buf->maxruns = 4;
	buf->runs = MemoryContextAllocZero(cxt, sizeof(LsmMemRun) * buf->maxruns);
	return buf;
}

/* Detach a buffer; free it unless a scan still reads it. */
static void
lsm_buffer_release(LsmMemBuffer *buf)
{
	buf->detached = true;
	if (buf->refcount == 0)
		MemoryContextDelete(buf->cxt);
}

/*
 * Grow an array of the buffer.  While a scan pins the buffer it holds
 * pointers to the old array, so the old one is then left in place (it goes
 * with the buffer's context) instead of being freed by repalloc.
 */
static void *
lsm_buffer_grow(LsmMemBuffer *buf, void *old, Size oldsize, Size newsize)
{
	void	   *p;

	if (old == NULL)
		return MemoryContextAllocExtended(buf->cxt, newsize, MCXT_ALLOC_HUGE);
	if (buf->refcount == 0)
		return repalloc_huge(old, newsize);
	p = MemoryContextAllocExtended(buf->cxt, newsize, MCXT_ALLOC_HUGE);
	memcpy(p, old, oldsize);
	return p;
}

static int
lsm_buffer_new_run(LsmMemBuffer *buf)
{
	if (buf->nruns == buf->maxruns)
	{
		buf->runs = lsm_buffer_grow(buf, buf->runs,
									sizeof(LsmMemRun) * buf->maxruns,
									sizeof(LsmMemRun) * buf->maxruns * 2);
		buf->maxruns *= 2;
	}
	memset(&buf->runs[buf->nruns], 0, sizeof(LsmMemRun));
	return buf->nruns++;
}

static void
lsm_run_append(LsmMemBuffer *buf, LsmMemRun *run, int64 rowid, CommandId cid,
			   MinimalTuple tup)
{
	if (run->nrows == run->cap)
	{
		int			newcap = run->cap == 0 ? 64 : run->cap * 2;

		run->rows = lsm_buffer_grow(buf, run->rows,
									sizeof(LsmMemRow) * run->cap,
									sizeof(LsmMemRow) * newcap);
		run->cap = newcap;
	}
	run->rows[run->nrows].rowid = rowid;
	run->rows[run->nrows].cid = cid;
	run->rows[run->nrows].tuple = tup;
	run->nrows++;
	buf->nrows++;
}

static bool
lsm_rel_has_exclusion(Relation rel)
{
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;
	bool		result = false;

	foreach(lc, indexes)
	{
		HeapTuple	tup = SearchSysCache1(INDEXRELID,
										  ObjectIdGetDatum(lfirst_oid(lc)));

		if (HeapTupleIsValid(tup))
		{
			if (((Form_pg_index) GETSTRUCT(tup))->indisexclusion)
				result = true;
			ReleaseSysCache(tup);
		}
	}
	list_free(indexes);
	return result;
}

static void
lsm_batch_cache_put(LsmMemtable *mt)
{
	ListCell   *lc;
	LsmBatchCache *entry = NULL;
	MemoryContext old;

	if (mt->batch_next >= mt->batch_end)
		return;
	foreach(lc, batch_cache)
	{
		LsmBatchCache *e = lfirst(lc);

		if (e->storage_id == mt->storage_id)
		{
			entry = e;
			break;
		}
	}
	old = MemoryContextSwitchTo(TopMemoryContext);
	if (entry == NULL)
	{
		entry = palloc(sizeof(LsmBatchCache));
		batch_cache = lappend(batch_cache, entry);
	}
	else if (entry->storage_id == mt->storage_id &&
			 entry->end - entry->next >= mt->batch_end - mt->batch_next)
	{
		MemoryContextSwitchTo(old);
		return;
	}
	MemoryContextSwitchTo(old);
	entry->storage_id = mt->storage_id;
	entry->next = mt->batch_next;
	entry->end = mt->batch_end;
}

/*
 * Take the batch an earlier transaction of this backend left for the
 * storage, unless a compaction or VACUUM has since fenced its rowids off
 * (lsm_meta_fence_rowids), or there is no room to publish it.  The caller
 * holds its lock on the table.
 */
static bool
lsm_batch_cache_take(Relation rel, LsmMemtable *mt)
{
	ListCell   *lc;

	foreach(lc, batch_cache)
	{
		LsmBatchCache *e = lfirst(lc);

		if (e->storage_id == mt->storage_id)
		{
			bool		ok;

			/*
			 * Publish the batch as ours before looking at the fence: a pass
			 * that raises the fence after we looked then sees it published
			 * (lsm_reserve.c); one that raised it before makes us drop it.
			 */
			ok = e->next < e->end &&
				lsm_reserve_extend(e->storage_id, e->next, e->end - 1, true);
			if (ok && e->next < lsm_meta_rowid_fence(rel))
			{
				lsm_reserve_withdraw(e->storage_id, e->next, e->end - 1);
				ok = false;
			}

			if (ok)
			{
				mt->batch_next = e->next;
				mt->batch_end = e->end;
			}
			batch_cache = foreach_delete_current(batch_cache, lc);
			pfree(e);
			return ok;
		}
	}
	return false;
}

static LsmMemtable *
lsm_memtable_lookup(Oid relid, int nestlevel)
{
	LsmMemtable *mt;

	if (last_used && last_used->relid == relid &&
		last_used->nestlevel == nestlevel)
		return last_used;
	for (mt = memtables; mt; mt = mt->next)
	{
		if (mt->relid == relid && mt->nestlevel == nestlevel)
			return mt;
	}
	return NULL;
}

static void
lsm_memtable_unlink(LsmMemtable *target)
{
	LsmMemtable **p;

	for (p = &memtables; *p; p = &(*p)->next)
	{
		if (*p == target)
		{
			*p = target->next;
			break;
		}
	}
	if (last_used == target)
		last_used = NULL;
}

static LsmMemtable *
lsm_memtable_get(Relation rel)
{
	int			level = GetCurrentTransactionNestLevel();
	LsmMemtable *mt = lsm_memtable_lookup(RelationGetRelid(rel), level);

	if (mt && mt->storage_id != lsm_relation_storage_id(rel))
	{
		/* the table got new storage (rewritten): its rows went with it */
		lsm_memtable_unlink(mt);
		lsm_buffer_release(mt->buf);
		mt = NULL;
	}
	if (mt == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);

		mt = palloc0(sizeof(LsmMemtable));
		mt->relid = RelationGetRelid(rel);
		mt->nestlevel = level;
		mt->storage_id = lsm_storage_id_for_write(rel);
		if (rel->rd_amcache)
		{
			pfree(rel->rd_amcache);
			rel->rd_amcache = NULL;
		}
		mt->buf = lsm_buffer_create(RelationGetDescr(rel));
		mt->seen_desc = RelationGetDescr(rel);
		mt->batch_size = LSM_FIRST_BATCH;
		mt->cur_run = -1;
		/*
		 * Published for unique checks, and under SERIALIZABLE for readers
		 * looking for concurrent writers (lsm_predicate_read)
		 */
		mt->publish = rel->rd_rel->relhasindex || IsolationIsSerializable();
		mt->flush_each_row = rel->rd_rel->relhasindex && lsm_rel_has_exclusion(rel);
		mt->temp = (rel->rd_rel->relpersistence == RELPERSISTENCE_TEMP);
		mt->next = memtables;
		memtables = mt;
		MemoryContextSwitchTo(old);
		/* only the top level may reuse what an earlier transaction left */
		if (level == 1)
			lsm_batch_cache_take(rel, mt);
	}
	last_used = mt;
	return mt;
}

/* Flush one level's buffer into segments and start an empty one. */
static void
lsm_memtable_flush(Relation rel, LsmMemtable *mt)
{
	LsmMemBuffer *old = mt->buf;

	if (old->nrows > 0)
		lsm_flush_buffer(rel, mt->storage_id, old);
	mt->buf = lsm_buffer_create(RelationGetDescr(rel));
	mt->seen_desc = RelationGetDescr(rel);
	mt->cur_run = -1;
	lsm_buffer_release(old);
}

/* Next rowid for this level; starts a new batch (and run) when needed. */
static int64
lsm_memtable_next_rowid(Relation rel, LsmMemtable *mt)
{
	bool		new_range = false;

	if (mt->batch_next >= mt->batch_end)
	{
		int64		first = lsm_meta_alloc_rowids(rel, mt->batch_size);

		/*
		 * A batch right after the previous one (nobody else took rowids in
		 * between) continues the current run, so one writer makes one
		 * segment however many batches it needs.
		 */
		if (first != mt->batch_end)
			mt->cur_run = -1;
		mt->batch_next = first;
		mt->batch_end = first + mt->batch_size;
		mt->batch_size = Min(mt->batch_size * 2, LSM_MAX_BATCH);
		new_range = true;
	}
	if (mt->cur_run < 0 || new_range)
	{
		/* first row of this level from this range: publish it */
		if (mt->publish)
		{
			ItemPointerData tid;
			ItemPointer copy;

			tid = lsm_catalog_insert_inflight(mt->storage_id, mt->batch_next,
											  mt->batch_end - 1);
			copy = MemoryContextAlloc(TopTransactionContext,
									  sizeof(ItemPointerData));
			*copy = tid;
			{
				MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);

				mt->inflight = lappend(mt->inflight, copy);
				MemoryContextSwitchTo(old);
			}
		}
		if (mt->cur_run < 0)
			mt->cur_run = lsm_buffer_new_run(mt->buf);
	}
	return mt->batch_next++;
}

/*
 * Buffer one row.  Sets slot->tts_tid to the row's TID.  Values that
 * arrive toasted or compressed are detoasted: segments store whole values.
 */
void
lsm_memtable_insert(Relation rel, TupleTableSlot *slot, CommandId cid,
					bool speculative)
{
	LsmMemtable *mt = lsm_memtable_get(rel);
	TupleDesc	desc = RelationGetDescr(rel);
	LsmMemBuffer *buf;
	MemoryContext old;
	MinimalTuple tup;
	Datum	   *values;
	bool	   *isnull;
	int			natts = desc->natts;
	int64		rowid;
	int			i;
	bool		copied = false;

	if (mt->seen_desc != desc)
	{
		if (!equalTupleDescs(desc, mt->buf->tupdesc))
			lsm_memtable_flush(rel, mt);
		mt->seen_desc = desc;
	}
	buf = mt->buf;
	rowid = lsm_memtable_next_rowid(rel, mt);

	slot_getallattrs(slot);
	values = slot->tts_values;
	isnull = slot->tts_isnull;
	for (i = 0; i < natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		/* short-header values are fine as they are: only toasted ones */
		if (!isnull[i] && att->attlen == -1 &&
			(VARATT_IS_EXTERNAL(DatumGetPointer(values[i])) ||
			 VARATT_IS_COMPRESSED(DatumGetPointer(values[i]))))
		{
			if (!copied)
			{
				Datum	   *v = palloc(sizeof(Datum) * natts);

				memcpy(v, values, sizeof(Datum) * natts);
				values = v;
				copied = true;
			}
			values[i] = PointerGetDatum(detoast_attr((struct varlena *)
													 DatumGetPointer(values[i])));
		}
	}

	old = MemoryContextSwitchTo(buf->cxt);
	tup = heap_form_minimal_tuple(buf->tupdesc, values, isnull);
	MemoryContextSwitchTo(old);
	buf->bytes += tup->t_len + sizeof(LsmMemRow);
	lsm_run_append(buf, &buf->runs[mt->cur_run], rowid, cid, tup);
	if (copied)
		pfree(values);

	lsm_rowid_to_tid(rowid, &slot->tts_tid);
	slot->tts_tableOid = RelationGetRelid(rel);
	/* RETURNING xmin, as heap: our transaction's */
	lsm_slot_set_xmin(slot, true, InvalidTransactionId);

	/* a speculative row must stay removable until it is confirmed */
	if (!speculative)
		lsm_memtable_maybe_flush(rel);
}

/* Flush the current level's buffer if it has reached a limit. */
void
lsm_memtable_maybe_flush(Relation rel)
{
	LsmMemtable *mt = lsm_memtable_lookup(RelationGetRelid(rel),
										  GetCurrentTransactionNestLevel());
	LsmMemBuffer *buf;

	if (mt == NULL)
		return;
	buf = mt->buf;
	if (buf->nrows > 0 &&
		(mt->flush_each_row ||
		 buf->nrows >= lsm_segment_rows ||
		 buf->bytes >= (Size) lsm_memtable_limit_kb * 1024))
	{
		/*
		 * The leader of a parallel CREATE TABLE AS or REFRESH MATERIALIZED
		 * VIEW writes while in parallel mode, where segment ids cannot be
		 * drawn from their sequence: it uses ids set aside before
		 * (lsm_executor_prepare_parallel), and keeps rows buffered when
		 * they run out.
		 */
		if (IsInParallelMode() &&
			lsm_catalog_reserved_segment_ids() < buf->nruns)
			return;
		lsm_memtable_flush(rel, mt);
	}
}

/*
 * Remove the row just inserted speculatively (ON CONFLICT found a
 * conflict): it must vanish for every snapshot, as heap's super-delete
 * makes it.  It is the last row of the current level's current run.
 */
void
lsm_memtable_abandon_row(Relation rel, int64 rowid)
{
	LsmMemtable *mt = lsm_memtable_lookup(RelationGetRelid(rel),
										  GetCurrentTransactionNestLevel());
	LsmMemRun  *run;

	if (mt == NULL || mt->cur_run < 0)
		elog(ERROR, "speculative row " INT64_FORMAT " of \"%s\" is not buffered",
			 rowid, RelationGetRelationName(rel));
	run = &mt->buf->runs[mt->cur_run];
	if (run->nrows == 0 || run->rows[run->nrows - 1].rowid != rowid)
		elog(ERROR, "speculative row " INT64_FORMAT " of \"%s\" is not the last one buffered",
			 rowid, RelationGetRelationName(rel));
	run->nrows--;
	mt->buf->nrows--;
}

/* Flush every level's buffer of this relation (TRUNCATE, index builds...). */
void
lsm_memtable_flush_relation(Relation rel)
{
	LsmMemtable *mt;

	for (mt = memtables; mt; mt = mt->next)
	{
		if (mt->relid == RelationGetRelid(rel) &&
			mt->storage_id == lsm_relation_storage_id(rel) &&
			mt->buf->nrows > 0)
		{
			/*
			 * A lower level's rows must be catalogued by that level; we can
			 * only write as the current subtransaction.  Rows of outer levels
			 * stay buffered: readers see them there.
			 */
			if (mt->nestlevel == GetCurrentTransactionNestLevel())
				lsm_memtable_flush(rel, mt);
		}
	}
}

/*
 * Can every buffered row that a parallel worker might need to see be
 * flushed now?  Workers see our rows only through segments (their catalog
 * rows are visible to them: they share our transaction), so all buffers
 * must be flushed before a parallel query starts.  That is impossible for
 * rows of an outer subtransaction level (only that level may catalogue
 * them: a segment catalogued by the current level would vanish with it if
 * it rolled back), in parallel mode (no catalog writes, no sequences) and
 * in a read-only transaction.  Temporary tables do not count: workers
 * never read them.
 */
bool
lsm_memtable_parallel_ok(void)
{
	LsmMemtable *mt;
	int			level = GetCurrentTransactionNestLevel();

	for (mt = memtables; mt; mt = mt->next)
	{
		if (mt->temp || mt->buf->nrows == 0)
			continue;
		if (mt->nestlevel != level || IsInParallelMode() || XactReadOnly)
			return false;
	}
	return true;
}

/*
 * Flush every buffer a parallel worker might need (see above), before the
 * executor enters parallel mode.  Returns false, flushing nothing, if that
 * is not possible; the query must then run without workers.  A scan that
 * has a buffer pinned keeps reading it, as with any flush.
 */
bool
lsm_memtable_flush_for_parallel(void)
{
	LsmMemtable *mt;
	bool		flushed = false;

	if (!lsm_memtable_parallel_ok())
		return false;
	for (mt = memtables; mt; mt = mt->next)
	{
		Relation	rel;

		if (mt->temp || mt->buf->nrows == 0)
			continue;
		rel = try_relation_open(mt->relid, NoLock);
		if (rel == NULL)
			continue;
		/* rows of a storage the table no longer has went with it */
		if (lsm_relation_storage_id(rel) == mt->storage_id)
		{
			lsm_memtable_flush(rel, mt);
			flushed = true;
		}
		relation_close(rel, NoLock);
	}

	/*
	 * The segments' catalog rows used the current command id.  Volatile
	 * functions that the parallel query runs in its leader increment the
	 * command counter, which parallel mode allows only while the current
	 * command id is unused: move on to a fresh one.  The query's snapshot
	 * is a copy and keeps its command id, so it sees what it saw before.
	 */
	if (flushed)
		CommandCounterIncrement();
	return true;
}

/* Forget all buffered rows of a relation (it is being dropped). */
void
lsm_memtable_discard_relation(Oid relid)
{
	LsmMemtable *mt = memtables;

	while (mt)
	{
		LsmMemtable *next = mt->next;

		if (mt->relid == relid)
		{
			lsm_memtable_unlink(mt);
			lsm_buffer_release(mt->buf);
		}
		mt = next;
	}
}

/*
 * Pin every buffer of this relation's current storage, all levels, for a
 * scan.  Returns the count; *bufs is palloc'd in the current context.
 */
int
lsm_memtable_pin(Relation rel, LsmMemBuffer ***bufs)
{
	LsmMemtable *mt;
	int			n = 0;
	uint64		sid;

	*bufs = NULL;
	if (memtables == NULL)
		return 0;
	sid = lsm_relation_storage_id(rel);
	for (mt = memtables; mt; mt = mt->next)
		if (mt->relid == RelationGetRelid(rel) &&
			mt->storage_id == sid && mt->buf->nrows > 0)
			n++;
	if (n == 0)
		return 0;
	*bufs = palloc(sizeof(LsmMemBuffer *) * n);
	n = 0;
	for (mt = memtables; mt; mt = mt->next)
		if (mt->relid == RelationGetRelid(rel) &&
			mt->storage_id == sid && mt->buf->nrows > 0)
		{
			mt->buf->refcount++;
			(*bufs)[n++] = mt->buf;
		}
	return n;
}

void
lsm_memtable_unpin(LsmMemBuffer **bufs, int nbufs)
{
	int			i;

	for (i = 0; i < nbufs; i++)
	{
		LsmMemBuffer *buf = bufs[i];

		Assert(buf->refcount > 0);
		buf->refcount--;
		if (buf->detached && buf->refcount == 0)
			MemoryContextDelete(buf->cxt);
	}
}

static const LsmMemRow *
lsm_run_find(const LsmMemRun *run, int64 rowid)
{
	int			lo = 0,
				hi = run->nrows - 1;

	if (run->nrows == 0 || rowid < run->rows[0].rowid ||
		rowid > run->rows[run->nrows - 1].rowid)
		return NULL;
	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (run->rows[mid].rowid == rowid)
			return &run->rows[mid];
		if (run->rows[mid].rowid < rowid)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

/* Find a buffered row of this backend by rowid (any level). */
const LsmMemRow *
lsm_memtable_find(Relation rel, int64 rowid, TupleDesc *tupdesc)
{
	LsmMemtable *mt;
	uint64		sid;

	if (memtables == NULL)
		return NULL;
	sid = lsm_relation_storage_id(rel);
	for (mt = memtables; mt; mt = mt->next)
	{
		int			r;

		if (mt->relid != RelationGetRelid(rel) || mt->storage_id != sid)
			continue;
		for (r = 0; r < mt->buf->nruns; r++)
		{
			const LsmMemRow *row = lsm_run_find(&mt->buf->runs[r], rowid);

			if (row)
			{
				*tupdesc = mt->buf->tupdesc;
				return row;
			}
		}
	}
	return NULL;
}

int64
lsm_memtable_buffered_rows(Relation rel)
{
	LsmMemtable *mt;
	int64		n = 0;
	uint64		sid;

	if (memtables == NULL)
		return 0;
	sid = lsm_relation_storage_id(rel);
	for (mt = memtables; mt; mt = mt->next)
		if (mt->relid == RelationGetRelid(rel) && mt->storage_id == sid)
			n += mt->buf->nrows;
	return n;
}

bool
lsm_memtable_has_rows(Relation rel)
{
	return lsm_memtable_buffered_rows(rel) > 0;
}

/* Copy a child's rows into its parent's buffer (subtransaction commit). */
static void
lsm_memtable_merge(LsmMemtable *child, LsmMemtable *parent)
{
	LsmMemBuffer *src = child->buf;
	LsmMemBuffer *dst = parent->buf;
	int			r;

	for (r = 0; r < src->nruns; r++)
	{
		LsmMemRun  *run = &src->runs[r];
		int			dr;
		int			i;

		if (run->nrows == 0)
			continue;
		dr = lsm_buffer_new_run(dst);
		for (i = 0; i < run->nrows; i++)
		{
			MinimalTuple copy;
			MemoryContext old = MemoryContextSwitchTo(dst->cxt);

			copy = heap_copy_minimal_tuple(run->rows[i].tuple);
			MemoryContextSwitchTo(old);
			dst->bytes += copy->t_len + sizeof(LsmMemRow);
			lsm_run_append(dst, &dst->runs[dr], run->rows[i].rowid,
						   run->rows[i].cid, copy);
		}
	}
	/* the caller moves child->inflight to the parent */
}

static void
lsm_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					 SubTransactionId parentSubid, void *arg)
{
	int			level = GetCurrentTransactionNestLevel();
	LsmMemtable *mt;
	LsmMemtable *next;

	switch (event)
	{
		case SUBXACT_EVENT_PRE_COMMIT_SUB:
			lsm_dml_subxact_end(true);
			for (mt = memtables; mt; mt = next)
			{
				LsmMemtable *parent;

				next = mt->next;
				if (mt->nestlevel != level)
					continue;
				parent = lsm_memtable_lookup(mt->relid, level - 1);
				if (parent == NULL)
				{
					mt->nestlevel = level - 1;
					continue;
				}
				if (parent->storage_id != mt->storage_id ||
					!equalTupleDescs(parent->buf->tupdesc, mt->buf->tupdesc))
				{
					/* flush the child's rows as the child itself */
					Relation	rel = try_relation_open(mt->relid, NoLock);

					if (rel)
					{
						if (lsm_relation_storage_id(rel) == mt->storage_id)
							lsm_memtable_flush(rel, mt);
						relation_close(rel, NoLock);
					}
				}
				else
					lsm_memtable_merge(mt, parent);
				parent->inflight = list_concat(parent->inflight, mt->inflight);
				mt->inflight = NIL;
				lsm_memtable_unlink(mt);
				lsm_buffer_release(mt->buf);
			}
			break;
		case SUBXACT_EVENT_ABORT_SUB:
			lsm_dml_subxact_end(false);
			lsm_specins_subxact_abort();
			/* the aborted level's fetchers may be freed without ending */
			lsm_fetch_forget_lender();
			lsm_catalog_subxact_abort();
			for (mt = memtables; mt; mt = next)
			{
				next = mt->next;
				if (mt->nestlevel >= level)
				{
					lsm_memtable_unlink(mt);
					lsm_buffer_release(mt->buf);
				}
			}
			break;
		default:
			break;
	}
}

/* Flush everything and withdraw our reservations (pre-commit/prepare). */
static void
lsm_memtable_flush_all(void)
{
	bool		cci_done = false;
	bool		wrote = (memtables != NULL);

	while (memtables)
	{
		LsmMemtable *mt = memtables;
		Relation	rel = try_relation_open(mt->relid, NoLock);
		bool		current = false;
		ListCell   *lc;

		if (rel)
		{
			if (lsm_relation_storage_id(rel) == mt->storage_id)
			{
				lsm_memtable_flush(rel, mt);
				lsm_batch_cache_put(mt);
				current = true;
			}
			relation_close(rel, NoLock);
		}

		/*
		 * Withdraw our rowid reservations.  A storage this transaction
		 * replaced (TRUNCATE, CLUSTER, VACUUM FULL, a rewriting ALTER) or
		 * dropped has lost them already, with all its catalog rows
		 * (lsm_catalog_drop_storage).
		 */
		if (current && mt->inflight != NIL && !cci_done)
		{
			/* our reservations may come from the current command */
			CommandCounterIncrement();
			cci_done = true;
		}
		if (current)
			foreach(lc, mt->inflight)
				lsm_catalog_delete_tid("inflight", (ItemPointer) lfirst(lc));
		lsm_memtable_unlink(mt);
	}

	/*
	 * Make the new catalog rows visible to what runs later in this commit
	 * (ON COMMIT DELETE ROWS truncates and must see the segments to remove).
	 */
	if (wrote)
		CommandCounterIncrement();
}

static void
lsm_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			lsm_memtable_flush_all();
			lsm_dml_release_locks();
			lsm_catalog_close_xact();
			lsm_delcache_pre_commit();
			if (event == XACT_EVENT_PRE_PREPARE)
				lsm_reserve_at_prepare(GetTopTransactionIdIfAny());
			break;
		case XACT_EVENT_PARALLEL_PRE_COMMIT:
			/* a worker writes nothing, but may have probed the catalog */
			lsm_catalog_close_xact();
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
			/* buffers lived in TopTransactionContext */
			memtables = NULL;
			last_used = NULL;
			lsm_reader_cache_at_xact_end();
			lsm_fetch_pool_at_xact_end();
			lsm_dml_xact_end();
			lsm_specins_xact_end();
			lsm_fetcher_at_xact_end();
			lsm_catalog_forget_xact();
			lsm_delcache_xact_end();
			/* our commit is visible (or we aborted): nothing is ours now */
			lsm_reserve_clear();
			break;
		default:
			break;
	}
}
