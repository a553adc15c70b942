/*-------------------------------------------------------------------------
 *
 * lsm_worker.c
 *	  Background compaction: a launcher and per-database workers.
 *
 * NOTES
 *	  With lsm_am in shared_preload_libraries, _PG_init registers the
 *	  launcher, a static background worker restarted after a crash.  Every
 *	  lsm.naptime it walks the databases that accept connections and starts
 *	  a worker for each in turn, at most lsm.max_workers at a time.  A
 *	  worker connects to its database and, if the extension is installed
 *	  there, ranks the lsm tables by need from the lsm catalog (level-0
 *	  segments over lsm.compact_l0_trigger, then pending delete records,
 *	  then segments written under an older schema version, or schema
 *	  versions older than every segment), compacts each in its own
 *	  transaction, removes catalog rows of storages that no longer exist,
 *	  and exits.  Migration to the current schema version is the work of
 *	  spare capacity: it comes after every table with compaction work,
 *	  and a pass migrates at most lsm.segment_rows rows, so the pass stays
 *	  short and the next round serves the urgent tables first.
 *
 *	  Like autovacuum, a worker never waits for a table lock (it skips a
 *	  table it cannot lock at once), waits at most a few seconds for a
 *	  table's writers, and marks itself PROC_IS_AUTOVACUUM so that a
 *	  session whose lock request it blocks has it cancelled by the deadlock
 *	  checker, and DROP DATABASE terminates it.  An error in one table is
 *	  logged, and the worker goes on with the next.
 *
 *	  A writer that waits for compaction at lsm.compact_l0_stop asks for a
 *	  worker in its database through shared memory (lsm_worker_request);
 *	  the launcher starts one at once, before its round-robin.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_database.h"
#include "commands/extension.h"
#include "commands/vacuum.h"
#include "nodes/makefuncs.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/bufmgr.h"
#include "storage/condition_variable.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "lsm_am.h"
#include "catalog/lsm_catalog.h"
#include "compact/lsm_compact.h"

PGDLLEXPORT void lsm_launcher_main(Datum arg);
PGDLLEXPORT void lsm_worker_main(Datum arg);

/* how long a background pass waits for a table's writers */
#define LSM_WORKER_WRITER_WAIT_MS	2000
/* rows of older schema versions a background pass rewrites at most */
#define LSM_WORKER_MIGRATE_ROWS		((int64) lsm_segment_rows)
/*
 * How often a busy worker VACUUMs the lsm catalog at most: often enough
 * for retired extents to be reused soon, rarely enough not to slow the
 * rounds down (a round over a table taking single-row inserts lasts a few
 * milliseconds; a VACUUM call about as long).
 */
#define LSM_WORKER_VACUUM_INTERVAL_MS	500
/* the pause between rounds that found no level 0 over the trigger */
#define LSM_WORKER_BREATH_MS	20L
/*
 * ... and between rounds that found some level 0, below the trigger: under
 * a trickle of small transactions it crosses the trigger within
 * milliseconds, and writers wait at lsm.compact_l0_stop
 */
#define LSM_WORKER_L0_BREATH_MS	2L
/*
 * How often a busy worker prunes lsm.segment (lsm_catalog_prune_segments),
 * so that retired segments' extents come free soon after no snapshot can
 * read them.
 */
#define LSM_WORKER_PRUNE_MS		10

/* how long a busy worker keeps going over the same tables before ranking again */
#define LSM_WORKER_RELIST_MS	250

/*
 * Between full passes, at most this far apart, a worker's passes only
 * merge level 0 (lsm_compact_relation's level0_only): a full pass reads
 * every pending delete record of the table, and under a stream of
 * single-row UPDATEs that reading was half of the worker's work.
 */
#define LSM_WORKER_FULL_PASS_MS	250

/*
 * How long a worker keeps polling its busy tables after the last round
 * that did work, before it leaves them to the launcher's next visit
 * (lsm.naptime): a table under a trickle of small transactions falls below
 * the level-0 trigger after each pass and crosses it again milliseconds
 * later.
 */
#define LSM_WORKER_LINGER_MS	1000
/* how long a worker keeps going while its tables keep needing work */
#define LSM_WORKER_MAX_BUSY_MS		60000

/*
 * Shared with the launcher: which databases have a worker now, and which
 * ones writers want one for at once (lsm_worker_request).
 */
#define LSM_WORKER_REQUESTS		16

/* A running worker, as it registers itself to be woken by writers. */
typedef struct LsmWorkerPresence
{
	Oid			dbid;			/* InvalidOid: entry free */
	Latch	   *latch;
	Oid			visiting;		/* the table it compacts now, if any */
} LsmWorkerPresence;

/*
 * A worker's visit to a table (compacted, found nothing to do, or skipped
 * as locked), numbered in the order visits began; the last ones that ended
 * are kept for writers stalled at lsm.compact_l0_stop.
 */
#define LSM_WORKER_RECENT_VISITS	64

typedef struct LsmWorkerVisit
{
	Oid			dbid;
	Oid			relid;
	uint64		seq;
	bool		stuck;			/* it could not bring level 0 down */
} LsmWorkerVisit;

typedef struct LsmWorkerShared
{
	slock_t		mutex;
	ConditionVariable merged;	/* broadcast after every visit a worker ends */
	uint64		visits_begun;	/* visits to a table begun by workers, ever */
	LsmWorkerVisit recent[LSM_WORKER_RECENT_VISITS];	/* the last ones ended */
	Latch	   *launcher_latch;
	int			nrequests;
	Oid			requests[LSM_WORKER_REQUESTS];
	int			nslots;
	Oid			active[FLEXIBLE_ARRAY_MEMBER];	/* per launcher slot */
	/* then nslots LsmWorkerPresence entries (lsm_worker_presence) */
} LsmWorkerShared;

static LsmWorkerShared *worker_shared = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* the registry of running workers, after the launcher's slots */
static inline LsmWorkerPresence *
lsm_worker_presence(void)
{
	return (LsmWorkerPresence *)
		((char *) worker_shared +
		 MAXALIGN(offsetof(LsmWorkerShared, active) +
				  sizeof(Oid) * worker_shared->nslots));
}

static Size
lsm_worker_shared_size(void)
{
	Size		size;

	size = add_size(offsetof(LsmWorkerShared, active),
					mul_size(sizeof(Oid), Max(lsm_max_workers, 1)));
	size = MAXALIGN(size);
	return add_size(size, mul_size(sizeof(LsmWorkerPresence),
								   Max(lsm_max_workers, 1)));
}

static void
lsm_worker_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(lsm_worker_shared_size());
}

static void
lsm_worker_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	worker_shared = ShmemInitStruct("lsm compaction workers",
									lsm_worker_shared_size(), &found);
	if (!found)
	{
		memset(worker_shared, 0, lsm_worker_shared_size());
		SpinLockInit(&worker_shared->mutex);
		ConditionVariableInit(&worker_shared->merged);
		worker_shared->nslots = Max(lsm_max_workers, 1);
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * A writer waits for compaction of a table in database `dbid`
 * (lsm_level0_admit): unless a worker is there already, have the launcher
 * start one now instead of at its next round.  With `wake`, the writer is
 * about to wait for a pass: a worker of that database pausing between
 * rounds starts the next one now.
 */
void
lsm_worker_request(Oid dbid, bool wake)
{
	Latch	   *latch = NULL;
	Latch	   *worker_latch = NULL;
	bool		present = false;
	int			i;

	if (worker_shared == NULL)
		return;
	SpinLockAcquire(&worker_shared->mutex);
	for (i = 0; i < worker_shared->nslots; i++)
	{
		if (worker_shared->active[i] == dbid)
			present = true;
		if (wake && lsm_worker_presence()[i].dbid == dbid)
			worker_latch = lsm_worker_presence()[i].latch;
	}
	for (i = 0; i < worker_shared->nrequests; i++)
		if (worker_shared->requests[i] == dbid)
			present = true;
	if (!present && worker_shared->nrequests < LSM_WORKER_REQUESTS)
	{
		worker_shared->requests[worker_shared->nrequests++] = dbid;
		latch = worker_shared->launcher_latch;
	}
	SpinLockRelease(&worker_shared->mutex);
	if (latch)
		SetLatch(latch);
	if (worker_latch)
		SetLatch(worker_latch);
}

/*
 * Is a worker running or starting in database `dbid`?  False without
 * preloading.  A writer stalled at lsm.compact_l0_stop waits only briefly
 * while there is none (the launcher may have no free slot or background
 * worker to start one).
 */
bool
lsm_worker_present(Oid dbid)
{
	bool		found = false;
	int			i;

	if (worker_shared == NULL)
		return false;
	SpinLockAcquire(&worker_shared->mutex);
	for (i = 0; i < worker_shared->nslots; i++)
		if (worker_shared->active[i] == dbid ||
			lsm_worker_presence()[i].dbid == dbid)
			found = true;
	SpinLockRelease(&worker_shared->mutex);
	return found;
}

/* this worker's entry in the registry (NULL: none, or not a worker) */
static LsmWorkerPresence *my_presence = NULL;

/* Leave the registry of running workers (lsm_worker_request's wake). */
static void
lsm_worker_unregister(int code, Datum arg)
{
	if (my_presence == NULL)
		return;
	SpinLockAcquire(&worker_shared->mutex);
	my_presence->dbid = InvalidOid;
	my_presence->latch = NULL;
	my_presence->visiting = InvalidOid;
	SpinLockRelease(&worker_shared->mutex);
	my_presence = NULL;
}

/* Join it: writers about to wait for a pass set our latch. */
static void
lsm_worker_register(void)
{
	int			i;

	before_shmem_exit(lsm_worker_unregister, (Datum) 0);
	SpinLockAcquire(&worker_shared->mutex);
	for (i = 0; i < worker_shared->nslots && my_presence == NULL; i++)
		if (!OidIsValid(lsm_worker_presence()[i].dbid))
		{
			my_presence = &lsm_worker_presence()[i];
			my_presence->dbid = MyDatabaseId;
			my_presence->latch = MyLatch;
			my_presence->visiting = InvalidOid;
		}
	SpinLockRelease(&worker_shared->mutex);
}

/*
 * Wait at most `timeout_ms` for a worker to end a visit to a table (any
 * table, any database: the caller counts its level 0 again).  Without
 * preloading, just sleep.
 */
void
lsm_worker_wait_for_pass(long timeout_ms)
{
	if (worker_shared == NULL)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 timeout_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		return;
	}
	ConditionVariablePrepareToSleep(&worker_shared->merged);
	(void) ConditionVariableTimedSleep(&worker_shared->merged, timeout_ms,
									   PG_WAIT_EXTENSION);
	ConditionVariableCancelSleep();
}

/*
 * How many visits to a table workers have begun since the server started
 * (0 without preloading): a writer stalled at lsm.compact_l0_stop notes it
 * when it starts waiting ...
 */
uint64
lsm_worker_visits_begun(void)
{
	uint64		n;

	if (worker_shared == NULL)
		return 0;
	SpinLockAcquire(&worker_shared->mutex);
	n = worker_shared->visits_begun;
	SpinLockRelease(&worker_shared->mutex);
	return n;
}

/*
 * ... and stops waiting once a visit to its table that began after that
 * has ended stuck: the table was locked, or the visit found level 0 over
 * the trigger and compacted nothing.  The worker can do no better now.
 * (After a visit that did compact, other writers may have filled level 0
 * again before this one counted, and a visit that found level 0 below the
 * trigger came before the commits of writers counted as in progress: the
 * writer waits for the next visit.)
 */
bool
lsm_worker_stuck_since(Oid relid, uint64 begun)
{
	bool		found = false;
	int			i;

	if (worker_shared == NULL)
		return false;
	SpinLockAcquire(&worker_shared->mutex);
	for (i = 0; i < LSM_WORKER_RECENT_VISITS; i++)
		if (worker_shared->recent[i].relid == relid &&
			worker_shared->recent[i].dbid == MyDatabaseId &&
			worker_shared->recent[i].seq > begun &&
			worker_shared->recent[i].stuck)
			found = true;
	SpinLockRelease(&worker_shared->mutex);
	return found;
}

/* the visit this worker has begun and not ended (0: none) */
static uint64 current_visit = 0;

/*
 * A worker begins a visit to a table (current_visit numbers it).  *other:
 * another worker is visiting the same table (it holds the lock we may not
 * get).
 */
static void
lsm_worker_visit_begin(Oid relid, bool *other)
{
	int			i;

	*other = false;
	SpinLockAcquire(&worker_shared->mutex);
	current_visit = ++worker_shared->visits_begun;
	for (i = 0; i < worker_shared->nslots; i++)
	{
		LsmWorkerPresence *p = &lsm_worker_presence()[i];

		if (p != my_presence && p->dbid == MyDatabaseId && p->visiting == relid)
			*other = true;
	}
	if (my_presence)
		my_presence->visiting = relid;
	SpinLockRelease(&worker_shared->mutex);
}

/*
 * ... and ends it: stalled writers count again.  With `record` and
 * `stuck`, writers waiting for a visit that began after they did stop
 * waiting; a visit that found the table locked by another worker is not
 * recorded (that worker's visit will be).
 */
static void
lsm_worker_visit_done(Oid relid, bool record, bool stuck)
{
	uint64		seq = current_visit;
	LsmWorkerVisit *v = &worker_shared->recent[seq % LSM_WORKER_RECENT_VISITS];

	current_visit = 0;
	SpinLockAcquire(&worker_shared->mutex);
	if (record)
	{
		v->dbid = MyDatabaseId;
		v->relid = relid;
		v->seq = seq;
		v->stuck = stuck;
	}
	if (my_presence)
		my_presence->visiting = InvalidOid;
	SpinLockRelease(&worker_shared->mutex);
	ConditionVariableBroadcast(&worker_shared->merged);
}

void
lsm_worker_register_launcher(void)
{
	BackgroundWorker bgw;

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = lsm_worker_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = lsm_worker_shmem_startup;

	memset(&bgw, 0, sizeof(bgw));
	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
	bgw.bgw_restart_time = 10;
	snprintf(bgw.bgw_library_name, BGW_MAXLEN, "lsm_am");
	snprintf(bgw.bgw_function_name, BGW_MAXLEN, "lsm_launcher_main");
	snprintf(bgw.bgw_name, BGW_MAXLEN, "lsm compaction launcher");
	snprintf(bgw.bgw_type, BGW_MAXLEN, "lsm compaction launcher");
	RegisterBackgroundWorker(&bgw);
}

/* Said once per session by lsm.compact when no worker can run. */
void
lsm_compact_notice_manual(void)
{
	static bool said = false;

	if (lsm_preloaded || said)
		return;
	said = true;
	ereport(NOTICE,
			(errmsg("lsm_am is not in shared_preload_libraries, so no background worker compacts lsm tables"),
			 errhint("Run lsm.compact() on tables that need it, or add lsm_am to shared_preload_libraries.")));
}

/* The databases a worker may visit (shared catalog, read by the launcher). */
static List *
lsm_database_list(void)
{
	List	   *dbs = NIL;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	MemoryContext cxt = CurrentMemoryContext;

	StartTransactionCommand();
	(void) GetTransactionSnapshot();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while (HeapTupleIsValid(tup = heap_getnext(scan, ForwardScanDirection)))
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);
		MemoryContext old;

		if (!db->datallowconn || db->datconnlimit == DATCONNLIMIT_INVALID_DB)
			continue;
		old = MemoryContextSwitchTo(cxt);
		dbs = lappend_oid(dbs, db->oid);
		MemoryContextSwitchTo(old);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	return dbs;
}

static BackgroundWorkerHandle *
lsm_start_worker(Oid dbid)
{
	BackgroundWorker bgw;
	BackgroundWorkerHandle *handle;

	memset(&bgw, 0, sizeof(bgw));
	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
	bgw.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(bgw.bgw_library_name, BGW_MAXLEN, "lsm_am");
	snprintf(bgw.bgw_function_name, BGW_MAXLEN, "lsm_worker_main");
	snprintf(bgw.bgw_name, BGW_MAXLEN, "lsm compaction worker");
	snprintf(bgw.bgw_type, BGW_MAXLEN, "lsm compaction worker");
	bgw.bgw_main_arg = ObjectIdGetDatum(dbid);
	bgw.bgw_notify_pid = MyProcPid;
	if (!RegisterDynamicBackgroundWorker(&bgw, &handle))
		return NULL;
	return handle;
}

void
lsm_launcher_main(Datum arg)
{
	BackgroundWorkerHandle **running;
	ListCell   *next = NULL;
	List	   *dbs = NIL;
	TimestampTz round_start = 0;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);

	running = MemoryContextAllocZero(TopMemoryContext,
									 sizeof(BackgroundWorkerHandle *) * Max(lsm_max_workers, 1));
	SpinLockAcquire(&worker_shared->mutex);
	worker_shared->launcher_latch = MyLatch;
	SpinLockRelease(&worker_shared->mutex);
	for (;;)
	{
		int			i;
		int			nrunning = 0;
		pid_t		pid;
		Oid			requests[LSM_WORKER_REQUESTS];
		int			nrequests;
		long		timeout;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		for (i = 0; i < lsm_max_workers; i++)
		{
			if (running[i] == NULL)
				continue;
			if (GetBackgroundWorkerPid(running[i], &pid) == BGWH_STOPPED)
			{
				pfree(running[i]);
				running[i] = NULL;
				SpinLockAcquire(&worker_shared->mutex);
				worker_shared->active[i] = InvalidOid;
				SpinLockRelease(&worker_shared->mutex);
			}
			else
				nrunning++;
		}

		/* databases where writers wait for compaction come first */
		SpinLockAcquire(&worker_shared->mutex);
		nrequests = worker_shared->nrequests;
		memcpy(requests, worker_shared->requests, sizeof(Oid) * nrequests);
		worker_shared->nrequests = 0;
		SpinLockRelease(&worker_shared->mutex);
		if (lsm_enable_worker && lsm_max_workers > 0)
		{
			int			r;

			for (r = 0; r < nrequests; r++)
			{
				bool		started = false;

				for (i = 0; i < lsm_max_workers && !started; i++)
				{
					if (running[i] != NULL)
						continue;
					running[i] = lsm_start_worker(requests[r]);
					if (running[i] != NULL)
					{
						nrunning++;
						started = true;
						SpinLockAcquire(&worker_shared->mutex);
						worker_shared->active[i] = requests[r];
						SpinLockRelease(&worker_shared->mutex);
					}
				}
				if (!started)
				{
					/* no free slot: keep the request for the next wakeup */
					SpinLockAcquire(&worker_shared->mutex);
					if (worker_shared->nrequests < LSM_WORKER_REQUESTS)
						worker_shared->requests[worker_shared->nrequests++] = requests[r];
					SpinLockRelease(&worker_shared->mutex);
				}
			}
		}

		if (lsm_enable_worker && lsm_max_workers > 0)
		{
			/*
			 * A new round over the databases once the last one is done and
			 * lsm.naptime has passed since it began.  Every worker's exit
			 * sets our latch, so without the second condition databases
			 * with nothing to do would be visited back to back: a cluster
			 * of a dozen idle databases started hundreds of workers a
			 * second.
			 */
			if (next == NULL && nrunning == 0 &&
				TimestampDifferenceExceeds(round_start, GetCurrentTimestamp(),
										   lsm_naptime * 1000))
			{
				round_start = GetCurrentTimestamp();
				list_free(dbs);
				dbs = lsm_database_list();
				next = list_head(dbs);
			}
			for (i = 0; i < lsm_max_workers && next != NULL; i++)
			{
				if (running[i] != NULL)
					continue;
				running[i] = lsm_start_worker(lfirst_oid(next));
				if (running[i] != NULL)
				{
					SpinLockAcquire(&worker_shared->mutex);
					worker_shared->active[i] = lfirst_oid(next);
					SpinLockRelease(&worker_shared->mutex);
				}
				next = lnext(dbs, next);
			}
		}

		/*
		 * Until a slot frees for the round's next database, or the next
		 * round is due.  If it is due already, a worker is still running
		 * (its exit sets the latch) or the workers are off (a reload sets
		 * it): wait a naptime.
		 */
		if (next != NULL)
			timeout = 1000L;
		else
		{
			long		secs;
			int			usecs;

			TimestampDifference(GetCurrentTimestamp(),
								TimestampTzPlusMilliseconds(round_start,
															lsm_naptime * 1000L),
								&secs, &usecs);
			timeout = secs * 1000L + (usecs + 999) / 1000;
			if (timeout <= 0)
				timeout = lsm_naptime * 1000L;
		}
		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 timeout, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/* Mark this process like an autovacuum worker (see the file header). */
static void
lsm_worker_act_like_autovacuum(void)
{
	LWLockAcquire(ProcArrayLock, LW_EXCLUSIVE);
	MyProc->statusFlags |= PROC_IS_AUTOVACUUM;
	ProcGlobal->statusFlags[MyProc->pgxactoff] = MyProc->statusFlags;
	LWLockRelease(ProcArrayLock);
}

/* The lsm tables of this database that need compaction, most urgent first. */
static List *
lsm_worker_candidates(void)
{
	List	   *relids = NIL;
	int			ret;
	uint64		i;
	MemoryContext cxt = CurrentMemoryContext;

	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (!OidIsValid(get_extension_oid("lsm_am", true)))
	{
		PopActiveSnapshot();
		CommitTransactionCommand();
		return NIL;
	}
	SPI_connect();
	ret = SPI_execute(psprintf(
							   "SELECT s.relid"
							   "  FROM lsm.storage s"
							   "  JOIN pg_catalog.pg_class c ON c.oid = s.relid"
							   "  CROSS JOIN LATERAL (SELECT max(v.version) AS cur,"
							   "                             min(v.version) AS oldest"
							   "                        FROM lsm.schema_version v"
							   "                       WHERE v.storage_id = s.storage_id) v"
							   "  CROSS JOIN LATERAL (SELECT count(*) FILTER (WHERE g.level = 0"
							   "                                                AND g.row_count < %lld) AS l0,"
							   "                             count(*) AS segs,"
							   "                             count(*) FILTER (WHERE g.schema_version < v.cur) AS old,"
							   "                             min(g.schema_version) AS minver"
							   "                        FROM lsm.segment g"
							   "                       WHERE g.storage_id = s.storage_id) g"
							   "  CROSS JOIN LATERAL (SELECT count(*) AS dels"
							   "                        FROM lsm.deleted d"
							   "                       WHERE d.storage_id = s.storage_id) d"
							   "  CROSS JOIN LATERAL (SELECT coalesce((SELECT o.compact_l0_trigger"
							   "                                         FROM lsm.table_option o"
							   "                                        WHERE o.relid = s.relid), %d) AS trig) t"
							   " WHERE c.relpersistence <> 't'"
							   "   AND (g.l0 > t.trig OR d.dels > 0 OR g.old > 0"
							   "        OR v.oldest < coalesce(g.minver, v.cur))"
							   " ORDER BY (g.l0 > t.trig OR d.dels > 0) DESC, (g.l0 > t.trig) DESC,"
							   "          g.l0 - t.trig DESC, d.dels DESC, g.old DESC",
							   (long long) LSM_SMALL_SEGMENT_ROWS,
							   lsm_compact_l0_trigger),
					  true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not list lsm tables: %s", SPI_result_code_string(ret));
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc,
									  1, &isnull);
		MemoryContext old = MemoryContextSwitchTo(cxt);

		relids = lappend_oid(relids, DatumGetObjectId(d));
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	return relids;
}

/*
 * Compact one table in its own transaction; true if it rewrote anything.
 * *l0: its level-0 segments when the pass began.
 */
static bool
lsm_worker_compact_one(Oid relid, bool level0_only, int *l0, bool *over)
{
	static TimestampTz last_prune = 0;

	Relation	rel;
	LsmCompactResult res;
	TimestampTz start;
	bool		other;

	lsm_worker_visit_begin(relid, &other);

	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (!ConditionalLockRelationOid(relid, ShareUpdateExclusiveLock))
	{
		PopActiveSnapshot();
		CommitTransactionCommand();
		lsm_worker_visit_done(relid, !other, true);
		return false;
	}
	rel = try_relation_open(relid, NoLock);
	if (rel == NULL || !lsm_is_lsm_relation(rel))
	{
		if (rel)
			relation_close(rel, NoLock);
		UnlockRelationOid(relid, ShareUpdateExclusiveLock);
		PopActiveSnapshot();
		CommitTransactionCommand();
		lsm_worker_visit_done(relid, true, true);
		return false;
	}
	pgstat_report_activity(STATE_RUNNING,
						   psprintf("lsm compaction of %s",
									RelationGetRelationName(rel)));
	if (last_prune == 0 ||
		TimestampDifferenceExceeds(last_prune, GetCurrentTimestamp(),
								   LSM_WORKER_PRUNE_MS))
	{
		(void) lsm_catalog_prune_segments();
		last_prune = GetCurrentTimestamp();
	}
	start = GetCurrentTimestamp();
	lsm_compact_relation(rel, false, LSM_WORKER_WRITER_WAIT_MS,
						 LSM_WORKER_MIGRATE_ROWS, level0_only, &res);
	if (lsm_log_compactions && res.segments_in > 0)
	{
		long		secs;
		int			usecs;

		TimestampDifference(start, GetCurrentTimestamp(), &secs, &usecs);
		ereport(LOG,
				(errmsg("lsm compaction of \"%s.%s\": %lld segments into %lld, %lld rows into %lld, %lld bytes into %lld, %lld delete records folded, %.3f s",
						get_namespace_name(RelationGetNamespace(rel)),
						RelationGetRelationName(rel),
						(long long) res.segments_in, (long long) res.segments_out,
						(long long) res.rows_in, (long long) res.rows_out,
						(long long) res.bytes_in, (long long) res.bytes_out,
						(long long) res.deletes_folded,
						secs + usecs / 1000000.0)));
	}
	relation_close(rel, NoLock);
	PopActiveSnapshot();
	CommitTransactionCommand();
	lsm_worker_visit_done(relid, true,
						  res.segments_in == 0 &&
						  res.l0_segments > res.l0_trigger);
	pgstat_report_activity(STATE_IDLE, NULL);
	*l0 = res.l0_segments;
	*over = res.l0_segments > res.l0_trigger;
	return res.segments_in > 0;
}

/*
 * VACUUM lsm.segment and lsm.deleted after compactions: the tuples of
 * retired segments must be pruned before their extents can be reused
 * (lsm_space_find), and folded delete records leave dead tuples behind.
 * Autovacuum would get there too, later.
 *
 * Without truncation: once a pass has folded every delete record, the
 * pages of lsm.deleted are empty and VACUUM would try to truncate them,
 * which needs AccessExclusiveLock; while sessions keep writing delete
 * records (or segments) it retries for five seconds before giving up, and
 * the worker would stall that long after every round, letting level 0 and
 * the relation file grow.  Autovacuum truncates these tables instead.
 */
static void
lsm_worker_vacuum_catalog(MemoryContext cxt)
{
	VacuumParams params;
	List	   *rels = NIL;
	MemoryContext old;

	StartTransactionCommand();
	/* vacuum() commits this transaction: the list must outlive it */
	old = MemoryContextSwitchTo(cxt);
	rels = lappend(rels, makeVacuumRelation(NULL, lsm_catalog_relid("segment"), NIL));
	rels = lappend(rels, makeVacuumRelation(NULL, lsm_catalog_relid("deleted"), NIL));
	MemoryContextSwitchTo(old);
	memset(&params, 0, sizeof(params));
	params.options = VACOPT_VACUUM | VACOPT_SKIP_LOCKED;
	params.freeze_min_age = -1;
	params.freeze_table_age = -1;
	params.multixact_freeze_min_age = -1;
	params.multixact_freeze_table_age = -1;
	params.is_wraparound = false;
	params.log_min_duration = -1;
	params.index_cleanup = VACOPTVALUE_UNSPECIFIED;
	params.truncate = VACOPTVALUE_DISABLED;
	params.nworkers = -1;
	/* vacuum() makes its own buffer strategy in a context that lasts */
	vacuum(rels, &params, NULL, true);
	CommitTransactionCommand();
}

void
lsm_worker_main(Datum arg)
{
	Oid			dbid = DatumGetObjectId(arg);
	List	   *relids = NIL;
	ListCell   *lc;
	MemoryContext cxt;
	MemoryContext roundcxt;
	TimestampTz start;
	TimestampTz last_vacuum;
	TimestampTz last_work;
	TimestampTz last_full;
	TimestampTz listed = 0;
	List	   *busy = NIL;		/* in cxt: tables that worked last round */
	volatile bool unvacuumed = false;
	bool		reused = false;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	pqsignal(SIGINT, StatementCancelHandler);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dbid, InvalidOid, 0);
	lsm_worker_act_like_autovacuum();
	lsm_worker_register();
	SetConfigOption("application_name", "lsm compaction worker",
					PGC_USERSET, PGC_S_SESSION);
	/*
	 * The ranking query runs every few hundred milliseconds on a busy
	 * database; on bloated catalogs its cost passes jit_above_cost, and
	 * compiling it each time took a fifth of a 2-core machine.
	 */
	SetConfigOption("jit", "off", PGC_SUSET, PGC_S_OVERRIDE);

	cxt = AllocSetContextCreate(TopMemoryContext, "lsm worker",
								ALLOCSET_DEFAULT_SIZES);
	roundcxt = AllocSetContextCreate(cxt, "lsm worker round",
									 ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(cxt);

	/*
	 * Rounds over the tables that need work, back to back while the last
	 * round did something (busy tables keep getting level-0 segments), and
	 * every LSM_WORKER_BREATH_MS for LSM_WORKER_LINGER_MS after the last one
	 * that did, for at most LSM_WORKER_MAX_BUSY_MS; then the launcher moves
	 * on.
	 */
	start = GetCurrentTimestamp();
	last_vacuum = start;
	last_work = 0;				/* no work done yet: do not linger */
	last_full = 0;				/* the first round is a full one */
	for (;;)
	{
		volatile bool worked = false;
		volatile int max_l0 = 0;
		volatile bool any_over = false;	/* a table's level 0 over its trigger */
		bool		done;
		bool		full_round;

		/*
		 * The tables that did work in the last round go again at once while
		 * the list is young: a hot table's round then costs its pass, not
		 * a ranking of every lsm table as well.
		 */
		if (busy == NIL ||
			TimestampDifferenceExceeds(listed, GetCurrentTimestamp(),
									   LSM_WORKER_RELIST_MS))
		{
			list_free(busy);
			busy = NIL;
			MemoryContextReset(roundcxt);
			MemoryContextSwitchTo(roundcxt);
			relids = lsm_worker_candidates();
			MemoryContextSwitchTo(cxt);
			listed = GetCurrentTimestamp();
		}
		else
		{
			relids = busy;		/* freed after the round */
			busy = NIL;
			reused = true;
		}
		full_round = last_full == 0 ||
			TimestampDifferenceExceeds(last_full, GetCurrentTimestamp(),
									   LSM_WORKER_FULL_PASS_MS);
		if (full_round)
			last_full = GetCurrentTimestamp();
		foreach(lc, relids)
		{
			Oid			relid = lfirst_oid(lc);
			volatile bool did = false;

			CHECK_FOR_INTERRUPTS();
			if (ConfigReloadPending)
			{
				ConfigReloadPending = false;
				ProcessConfigFile(PGC_SIGHUP);
			}
			if (!lsm_enable_worker)
				break;
			PG_TRY();
			{
				int			l0 = 0;
				bool		over = false;

				if (lsm_worker_compact_one(relid, !full_round, &l0, &over))
					worked = did = true;
				max_l0 = Max(max_l0, l0);
				if (over)
					any_over = true;
			}
			PG_CATCH();
			{
				/* log, clean up and go on with the next table */
				HOLD_INTERRUPTS();
				EmitErrorReport();
				AbortOutOfAnyTransaction();
				FlushErrorState();
				MemoryContextSwitchTo(cxt);
				RESUME_INTERRUPTS();
				/* a cancel from a blocked session is not a reason to stop */
				QueryCancelPending = false;
				/* writers stalled on the table need not wait for us */
				if (current_visit != 0)
					lsm_worker_visit_done(relid, true, true);
			}
			PG_END_TRY();
			if (did)
			{
				MemoryContextSwitchTo(cxt);
				busy = lappend_oid(busy, relid);
			}
		}
		if (reused && !worked && busy == NIL)
			busy = relids;		/* idle round: poll the same tables again */
		else if (reused)
			list_free(relids);
		reused = false;
		if (worked)
		{
			unvacuumed = true;
			last_work = GetCurrentTimestamp();
		}
		done = !lsm_enable_worker ||
			TimestampDifferenceExceeds(start, GetCurrentTimestamp(),
									   LSM_WORKER_MAX_BUSY_MS) ||
			(!worked &&
			 (last_work == 0 ||
			  TimestampDifferenceExceeds(last_work, GetCurrentTimestamp(),
										 LSM_WORKER_LINGER_MS)));
		if (unvacuumed &&
			(done || TimestampDifferenceExceeds(last_vacuum, GetCurrentTimestamp(),
												LSM_WORKER_VACUUM_INTERVAL_MS)))
		{
			unvacuumed = false;
			last_vacuum = GetCurrentTimestamp();
			PG_TRY();
			{
				lsm_worker_vacuum_catalog(roundcxt);
			}
			PG_CATCH();
			{
				HOLD_INTERRUPTS();
				EmitErrorReport();
				AbortOutOfAnyTransaction();
				FlushErrorState();
				MemoryContextSwitchTo(cxt);
				RESUME_INTERRUPTS();
				QueryCancelPending = false;
			}
			PG_END_TRY();
		}
		if (done)
			break;

		/*
		 * Straight into the next round while level 0 is over the trigger
		 * somewhere (it grows while we wait); otherwise (folding deletes,
		 * merging upper levels) a breath, so that a table under a steady
		 * UPDATE load does not keep a core busy relocating its segments.
		 */
		if (!any_over)
		{
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 max_l0 > 0 ? LSM_WORKER_L0_BREATH_MS : LSM_WORKER_BREATH_MS,
							 PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
		}
	}

	/* catalog rows of storages that no longer exist */
	{
		PG_TRY();
		{
			StartTransactionCommand();
			PushActiveSnapshot(GetTransactionSnapshot());
			if (OidIsValid(get_extension_oid("lsm_am", true)))
				(void) lsm_catalog_collect_garbage();
			PopActiveSnapshot();
			CommitTransactionCommand();
		}
		PG_CATCH();
		{
			HOLD_INTERRUPTS();
			EmitErrorReport();
			AbortOutOfAnyTransaction();
			FlushErrorState();
			RESUME_INTERRUPTS();
		}
		PG_END_TRY();
	}
	proc_exit(0);
}
