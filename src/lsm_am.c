/*-------------------------------------------------------------------------
 *
 * lsm_am.c
 *	  Module entry: settings, transaction callbacks, planner and drop hooks,
 *	  and the glue between the format library and PostgreSQL.
 *
 * NOTES
 *	  Everything here works whether or not the library is preloaded: the
 *	  table AM handler loads it on first use of an lsm table.  Preloading
 *	  (shared_preload_libraries) only makes sure the drop hook is installed
 *	  in every backend before any DROP runs; lsm.collect_garbage() removes
 *	  what a backend without it left behind.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "access/htup_details.h"
#include "access/parallel.h"
#include "access/relation.h"
#include "access/xact.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "commands/defrem.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/pathnodes.h"
#include "optimizer/paths.h"
#include "optimizer/planner.h"
#include "storage/smgr.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include <stdio.h>

#include "lsm_am.h"
#include "compact/lsm_compact.h"
#include "catalog/lsm_catalog.h"
#include "catalog/lsm_schema.h"
#include "storage/lsm_storage.h"
#include "scan/lsm_scan.h"
#include "txn/lsm_txn.h"

PG_MODULE_MAGIC;

int			lsm_block_rows = 1024;
int			lsm_segment_rows = 131072;
int			lsm_memtable_limit_kb = 131072;
int			lsm_compression_level = 1;
int			lsm_zstd_min_gain = 30;
int			lsm_compact_l0_trigger = 8;
int			lsm_compact_l0_stop = 0;
int			lsm_compact_l0_stall_timeout = 1000;
double		lsm_compact_delete_fraction = 0.2;
bool		lsm_enable_worker = true;
int			lsm_max_workers = 2;
int			lsm_naptime = 10;
bool		lsm_log_compactions = false;
bool		lsm_preloaded = false;

static object_access_hook_type prev_object_access_hook = NULL;
static set_rel_pathlist_hook_type prev_set_rel_pathlist_hook = NULL;
static create_upper_paths_hook_type prev_create_upper_paths_hook = NULL;
static ExecutorStart_hook_type prev_ExecutorStart_hook = NULL;

void		_PG_init(void);

/* ---- glue for the format library ---- */

static void *
lsm_pg_alloc(void *ctx, size_t size)
{
	return MemoryContextAllocExtended((MemoryContext) ctx, Max(size, 1),
									  MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
}

static void *
lsm_pg_realloc(void *ctx, void *ptr, size_t size)
{
	if (ptr == NULL)
		return lsm_pg_alloc(ctx, size);
	return repalloc_huge(ptr, Max(size, 1));
}

static void
lsm_pg_free(void *ctx, void *ptr)
{
	if (ptr)
		pfree(ptr);
}

LsmAllocator
lsm_pg_allocator(MemoryContext cxt)
{
	LsmAllocator a;

	a.alloc = lsm_pg_alloc;
	a.realloc = lsm_pg_realloc;
	a.free = lsm_pg_free;
	a.ctx = cxt;
	return a;
}

/*
 * Turn a format status into an error naming relation, segment and block
 * (segment or block -1 when not known).
 */
void
lsm_format_error(int status, Relation rel, int64 segment_id, int64 block,
				 const char *what)
{
	char		where[128];

	if (segment_id >= 0 && block >= 0)
		snprintf(where, sizeof(where), "segment " INT64_FORMAT " block " INT64_FORMAT,
				 segment_id, block);
	else if (segment_id >= 0)
		snprintf(where, sizeof(where), "segment " INT64_FORMAT, segment_id);
	else
		snprintf(where, sizeof(where), "new segment");

	if (status == LSM_ERR_NOMEM)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory while %s of lsm relation \"%s\"",
						what, RelationGetRelationName(rel))));
	if (status == LSM_ERR_ARG)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("lsm relation \"%s\" %s: %s: %s",
						RelationGetRelationName(rel), where, what,
						lsm_status_str(status)),
				 errhint("A block's column may hold at most 4 GB; lower lsm.block_rows.")));
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("lsm relation \"%s\" %s is damaged: %s",
					RelationGetRelationName(rel), where, what),
			 errdetail("%s.", lsm_status_str(status))));
}

/* ---- identifying lsm relations ---- */

Oid
lsm_am_oid(void)
{
	return get_am_oid("lsm", true);
}

bool
lsm_relid_is_lsm(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	bool		result = false;

	if (HeapTupleIsValid(tup))
	{
		Form_pg_class form = (Form_pg_class) GETSTRUCT(tup);
		Oid			amoid;

		if (OidIsValid(form->relam) &&
			(form->relkind == RELKIND_RELATION ||
			 form->relkind == RELKIND_MATVIEW ||
			 form->relkind == RELKIND_TOASTVALUE))
		{
			amoid = lsm_am_oid();
			result = OidIsValid(amoid) && form->relam == amoid;
		}
		ReleaseSysCache(tup);
	}
	return result;
}

bool
lsm_is_lsm_relation(Relation rel)
{
	Oid			amoid;

	if (rel->rd_rel->relkind != RELKIND_RELATION &&
		rel->rd_rel->relkind != RELKIND_MATVIEW)
		return false;
	amoid = lsm_am_oid();
	return OidIsValid(amoid) && rel->rd_rel->relam == amoid;
}

/* ---- hooks ---- */

/*
 * A table rewrite (VACUUM FULL, CLUSTER, ALTER TYPE, SET ACCESS METHOD,
 * REFRESH) builds the new storage under a transient table named
 * "pg_temp_<oid of the table>", swaps relfilenodes and drops the transient
 * table.  When that drop comes, the new storage's lsm.storage row still names
 * the transient table: give it to the table it now belongs to, after
 * checking that table's metapage really holds that storage.
 */
static void
lsm_adopt_rewritten_storage(Oid transient)
{
	Oid			target;
	char		tail;
	Relation	rel;
	char	   *name = get_rel_name(transient);

	if (name == NULL ||
		sscanf(name, "pg_temp_%u%c", &target, &tail) != 1 ||
		!OidIsValid(target) || target == transient ||
		!lsm_catalog_available())
		return;
	rel = try_relation_open(target, NoLock);
	if (rel == NULL)
		return;
	if (lsm_is_lsm_relation(rel) &&
		smgrexists(RelationGetSmgr(rel), MAIN_FORKNUM) &&
		smgrnblocks(RelationGetSmgr(rel), MAIN_FORKNUM) > 0)
	{
		LsmMetaPageData meta;

		lsm_meta_read(rel, &meta);
		lsm_catalog_set_storage_relid(meta.storage_id, target);
	}
	relation_close(rel, NoLock);
}

/*
 * DROP of an lsm table: forget its buffered rows and remove its catalog
 * rows, in the dropping transaction.  A change of an lsm table's columns
 * (ADD COLUMN, DROP COLUMN, ALTER TYPE, ...): note the table, so that its
 * new layout is recorded as a schema version before this transaction
 * commits (src/catalog/lsm_schema.c).
 */
static void
lsm_object_access(ObjectAccessType access, Oid classId, Oid objectId,
				  int subId, void *arg)
{
	char		relkind;

	if (prev_object_access_hook)
		prev_object_access_hook(access, classId, objectId, subId, arg);

	if (classId != RelationRelationId)
		return;
	if (subId != 0)
	{
		/* an attribute: created, altered or dropped */
		if ((access == OAT_POST_CREATE || access == OAT_POST_ALTER ||
			 access == OAT_DROP) && lsm_relid_is_lsm(objectId))
			lsm_schema_note_alter(objectId);
		return;
	}
	if (access != OAT_DROP)
		return;
	if (lsm_relid_is_lsm(objectId))
	{
		Relation	rel;

		lsm_memtable_discard_relation(objectId);
		if (!lsm_catalog_available())
			return;
		rel = relation_open(objectId, NoLock);
		if (smgrexists(RelationGetSmgr(rel), MAIN_FORKNUM) &&
			smgrnblocks(RelationGetSmgr(rel), MAIN_FORKNUM) > 0)
		{
			LsmMetaPageData meta;

			lsm_meta_read(rel, &meta);
			lsm_catalog_drop_storage(meta.storage_id);
		}
		relation_close(rel, NoLock);
	}
	/* the transient table of a rewrite into lsm may itself be heap */
	relkind = get_rel_relkind(objectId);
	if (relkind == RELKIND_RELATION || relkind == RELKIND_MATVIEW)
		lsm_adopt_rewritten_storage(objectId);
}

/*
 * Parallel plans over lsm tables: the standard Parallel Seq Scan (the table
 * AM hands out work units, src/scan/lsm_scan.c) and parallel index scans
 * are kept.  Parallel bitmap heap scans are not: their shared iterator
 * hands out virtual blocks of 291 rows, so the participants would decode
 * the same segment blocks several times over.  When this transaction has
 * buffered rows that could not be flushed before a parallel query
 * (lsm_memtable_parallel_ok), no parallel path is offered for lsm tables;
 * lsm_executor_start covers plans made earlier.
 */
static void
lsm_set_rel_pathlist(PlannerInfo *root, RelOptInfo *rel, Index rti,
					 RangeTblEntry *rte)
{
	if (prev_set_rel_pathlist_hook)
		prev_set_rel_pathlist_hook(root, rel, rti, rte);

	if (rte->rtekind == RTE_RELATION && rel->reloptkind != RELOPT_OTHER_JOINREL &&
		(rte->relkind == RELKIND_RELATION || rte->relkind == RELKIND_MATVIEW) &&
		lsm_relid_is_lsm(rte->relid))
	{
		ListCell   *lc;

		lsm_customscan_add_paths(root, rel, rti, rte);
		if (!rel->consider_parallel)
			return;
		if (!lsm_memtable_parallel_ok())
		{
			rel->partial_pathlist = NIL;
			rel->consider_parallel = false;
			foreach(lc, rel->pathlist)
				((Path *) lfirst(lc))->parallel_safe = false;
			return;
		}
		foreach(lc, rel->partial_pathlist)
		{
			if (IsA(lfirst(lc), BitmapHeapPath))
				rel->partial_pathlist =
					foreach_delete_current(rel->partial_pathlist, lc);
		}
	}
}

/*
 * Segment ids a parallel CREATE TABLE AS or REFRESH MATERIALIZED VIEW may
 * need for the segments its leader writes in parallel mode: one per
 * lsm.segment_rows rows or lsm.memtable_limit bytes the plan expects, plus
 * slack.  Beyond that its rows stay buffered until the statement ends.
 */
static int
lsm_parallel_write_ids(PlannedStmt *stmt)
{
	double		rows = stmt->planTree->plan_rows;
	double		bytes = rows * (stmt->planTree->plan_width + 32.0);
	double		n;

	n = 4 + rows / lsm_segment_rows + bytes / (lsm_memtable_limit_kb * 1024.0);
	return (int) Min(n, 1024.0);
}

/*
 * Before a parallel query: parallel workers see this transaction's rows
 * only through segments, whose catalog rows they see as we do, so flush
 * every write buffer now; the executor enters parallel mode in
 * ExecutorRun, after which no catalog row can be written.  A scan that has
 * a buffer pinned keeps reading it, as with any flush.  Where some rows
 * cannot be flushed (an outer subtransaction's rows, see
 * lsm_memtable_parallel_ok) the plan runs without workers, as a cursor
 * runs a parallel plan: Gather runs its subplan in this backend, which
 * reads its own buffers.
 */
static void
lsm_executor_start(QueryDesc *queryDesc, int eflags)
{
	if (queryDesc->plannedstmt->parallelModeNeeded &&
		!(eflags & EXEC_FLAG_EXPLAIN_ONLY) && !IsParallelWorker())
	{
		if (!lsm_memtable_flush_for_parallel())
		{
			PlannedStmt *serial = palloc(sizeof(PlannedStmt));

			/* a copy: the plan may be cached and reused */
			memcpy(serial, queryDesc->plannedstmt, sizeof(PlannedStmt));
			serial->parallelModeNeeded = false;
			queryDesc->plannedstmt = serial;
		}
		else if ((queryDesc->dest->mydest == DestIntoRel ||
				  queryDesc->dest->mydest == DestTransientRel) &&
				 !XactReadOnly && lsm_catalog_available())
			lsm_catalog_reserve_segment_ids(lsm_parallel_write_ids(queryDesc->plannedstmt));
	}

	if (prev_ExecutorStart_hook)
		prev_ExecutorStart_hook(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

/* Aggregates of a single lsm table can be computed inside its scan. */
static void
lsm_create_upper_paths(PlannerInfo *root, UpperRelationKind stage,
					   RelOptInfo *input_rel, RelOptInfo *output_rel,
					   void *extra)
{
	if (prev_create_upper_paths_hook)
		prev_create_upper_paths_hook(root, stage, input_rel, output_rel, extra);
	lsm_aggscan_add_paths(root, stage, input_rel, output_rel, extra);
}

void
_PG_init(void)
{
	DefineCustomIntVariable("lsm.block_rows",
							"Rows per block of a new segment.",
							"Zone maps and point reads work per block.",
							&lsm_block_rows, 1024, 64, 65536,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("lsm.segment_rows",
							"Rows a write buffer holds before it is flushed into a segment.",
							NULL,
							&lsm_segment_rows, 131072, 1, INT_MAX,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("lsm.memtable_limit",
							"Memory a write buffer may use before it is flushed into a segment.",
							NULL,
							&lsm_memtable_limit_kb, 131072, 64, MAX_KILOBYTES,
							PGC_USERSET, GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomIntVariable("lsm.compression_level",
							"zstd level applied to encoded chunks; 0 disables zstd.",
							NULL,
							&lsm_compression_level, 1, 0, LSM_MAX_COMPRESSION_LEVEL,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("lsm.zstd_min_gain",
							"Keep a chunk zstd-compressed only if that saves at least this percentage.",
							"zstd decodes at about 1 GB/s, far slower than the light encodings: below "
							"this saving the decode time outweighs the bytes saved on a hot cache.",
							&lsm_zstd_min_gain, 30, 0, 100,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("lsm.compact_l0_trigger",
							"Level-0 segments a table may have before compaction merges them.",
							NULL,
							&lsm_compact_l0_trigger, 8, 1, 100000,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("lsm.compact_l0_stop",
							"Level-0 segments at which a writer waits for background compaction before adding one.",
							"0 (the default) means twice lsm.compact_l0_trigger; -1 never waits.  Only "
							"with the compaction worker.",
							&lsm_compact_l0_stop, 0, -1, 100000,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("lsm.compact_l0_stall_timeout",
							"Longest a writer waits for background compaction at lsm.compact_l0_stop.",
							NULL,
							&lsm_compact_l0_stall_timeout, 1000, 0, INT_MAX,
							PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomRealVariable("lsm.compact_delete_fraction",
							 "Fraction of settled deletes at which compaction rewrites a segment.",
							 NULL,
							 &lsm_compact_delete_fraction, 0.2, 0.0, 1.0,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("lsm.enable_worker",
							 "Runs background compaction (needs lsm_am in shared_preload_libraries).",
							 NULL,
							 &lsm_enable_worker, true,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);
	/*
	 * PostgreSQL lets a library create a PGC_POSTMASTER setting only while
	 * shared_preload_libraries is processed; loaded later (the first use of
	 * an lsm table without preloading) it would be a FATAL error.  Without
	 * preloading there is no worker for the setting to size, so it is then
	 * an ordinary reloadable setting that nothing reads.
	 */
	DefineCustomIntVariable("lsm.max_workers",
							"Background compaction workers (one per database at a time).",
							NULL,
							&lsm_max_workers, 2, 0, 64,
							process_shared_preload_libraries_in_progress ?
							PGC_POSTMASTER : PGC_SIGHUP,
							0, NULL, NULL, NULL);
	DefineCustomIntVariable("lsm.naptime",
							"Time a compaction worker sleeps between rounds.",
							NULL,
							&lsm_naptime, 10, 1, 86400,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomBoolVariable("lsm.log_compactions",
							 "Logs each background compaction.",
							 NULL,
							 &lsm_log_compactions, false,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("lsm.enable_custom_scan",
							 "Lets the planner use the columnar LSM Scan (projection, zone-map pruning).",
							 NULL,
							 &lsm_enable_custom_scan, true,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("lsm.enable_aggregate_pushdown",
							 "Lets the planner compute aggregates inside the scan of an lsm table (LSM Aggregate).",
							 NULL,
							 &lsm_enable_aggregate_pushdown, true,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("lsm.deleted_cache_size",
							"Memory a backend may keep the delete sets of lsm tables in between scans.",
							"Scans then read the delete records of a table from lsm.deleted only when "
							"they changed; 0 turns the cache off.",
							&lsm_deleted_cache_kb, 65536, 0, MAX_KILOBYTES,
							PGC_USERSET, GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomIntVariable("lsm.directory_cache_size",
							"Memory a backend may keep parsed segment directories and delete maps in between transactions.",
							"A transaction that ends with more empties the cache; the next scan of a "
							"segment reads its directory again.  0 empties it at every transaction end.",
							&lsm_directory_cache_kb, 65536, 0, MAX_KILOBYTES,
							PGC_USERSET, GUC_UNIT_KB, NULL, NULL, NULL);
	/* a PGC_POSTMASTER setting only while preloading: see lsm.max_workers */
	DefineCustomIntVariable("lsm.shared_directory_cache_size",
							"Shared memory for the parsed segment directories of all backends.",
							"Sessions and parallel workers then find a segment's directory parsed "
							"instead of reading it into memory of their own; 0 turns it off.  Only "
							"with lsm_am in shared_preload_libraries.",
							&lsm_shared_directory_cache_kb, 65536, 0, MAX_KILOBYTES,
							process_shared_preload_libraries_in_progress ?
							PGC_POSTMASTER : PGC_SIGHUP,
							GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomBoolVariable("lsm.enable_shared_directory_cache",
							 "Lets this session find and keep segment directories in the shared directory cache.",
							 "Off, the session parses every directory into its own cache "
							 "(lsm.directory_cache_size), as when the shared cache is full.",
							 &lsm_enable_shared_directory_cache, true,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("lsm.collation_zone_maps",
							 "Keeps a second zone map of collatable columns in their collation when it does not sort like \"C\".",
							 "Range quals in the column's collation can then skip blocks; writing a segment "
							 "compares the blocks' distinct values in that collation.",
							 &lsm_collation_zone_maps, true,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("lsm.parallel_cold_start_factor",
							 "Scales the planner's estimate of what a parallel worker spends on an lsm table before it can help.",
							 "Reading segment directories and mapping shared buffers into a new process; "
							 "0 leaves it out (parallel_setup_cost alone then stands for starting workers).",
							 &lsm_parallel_cold_start_factor, 1.0, 0.0, 1000.0,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("lsm.parallel_cpus",
							"Processors a parallel LSM Aggregate may use, the leader's included (0: detect).",
							"It plans no more workers than the processors beside the leader; "
							"0 counts those this server may run on (affinity, cgroup CPU quota).",
							&lsm_parallel_cpus, 0, 0, 4096,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("lsm.parallel_worker_exit_time",
							 "Milliseconds a parallel worker takes to exit, which the leader of a parallel LSM Aggregate waits for.",
							 "A worker stops taking work when what is left would keep one process busy "
							 "no longer than this, and the leader scans it while the worker exits; 0 turns this off.",
							 &lsm_parallel_worker_exit_time, 2.5, 0.0, 10000.0,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	MarkGUCPrefixReserved("lsm");

	lsm_preloaded = process_shared_preload_libraries_in_progress;
	if (lsm_preloaded)
	{
		lsm_progress_init();
		lsm_delcache_shmem_init();
		lsm_dircache_shmem_init();
		lsm_reserve_shmem_init();
		lsm_space_shmem_init();
		lsm_specins_init();
		lsm_worker_register_launcher();
	}

	lsm_txn_init();
	lsm_schema_init();
	lsm_customscan_register();
	lsm_aggscan_register();

	prev_object_access_hook = object_access_hook;
	object_access_hook = lsm_object_access;
	prev_set_rel_pathlist_hook = set_rel_pathlist_hook;
	set_rel_pathlist_hook = lsm_set_rel_pathlist;
	prev_create_upper_paths_hook = create_upper_paths_hook;
	create_upper_paths_hook = lsm_create_upper_paths;
	prev_ExecutorStart_hook = ExecutorStart_hook;
	ExecutorStart_hook = lsm_executor_start;
}
