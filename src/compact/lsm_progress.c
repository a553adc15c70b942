/*-------------------------------------------------------------------------
 *
 * lsm_progress.c
 *	  Progress of running compactions, for the view lsm.compaction_progress.
 *
 * NOTES
 *	  A fixed array of slots in shared memory (allocated only when lsm_am is
 *	  in shared_preload_libraries; otherwise the view is empty).  A
 *	  compaction claims a free slot with an atomic compare-and-swap, owns it
 *	  until it ends (or errors), and updates it without locks; readers may
 *	  see a slot in the middle of an update, which is fine for progress.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "lsm_am.h"
#include "compact/lsm_compact.h"

#define LSM_PROGRESS_SLOTS	64

typedef struct LsmProgressSlot
{
	pg_atomic_uint32 busy;
	int			pid;
	Oid			dbid;
	Oid			relid;
	int			phase;			/* LsmCompactPhase */
	int64		segments_done;
	int64		segments_total;
	int64		rows_done;
	int64		rows_total;
	int64		bytes_done;
	int64		bytes_total;
	TimestampTz started;
} LsmProgressSlot;

static LsmProgressSlot *progress_slots = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

PG_FUNCTION_INFO_V1(lsm_compaction_progress);

static void
lsm_progress_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(sizeof(LsmProgressSlot) * LSM_PROGRESS_SLOTS);
}

static void
lsm_progress_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	progress_slots = ShmemInitStruct("lsm compaction progress",
									 sizeof(LsmProgressSlot) * LSM_PROGRESS_SLOTS,
									 &found);
	if (!found)
	{
		int			i;

		memset(progress_slots, 0, sizeof(LsmProgressSlot) * LSM_PROGRESS_SLOTS);
		for (i = 0; i < LSM_PROGRESS_SLOTS; i++)
			pg_atomic_init_u32(&progress_slots[i].busy, 0);
	}
	LWLockRelease(AddinShmemInitLock);
}

/* From _PG_init while shared_preload_libraries is being processed. */
void
lsm_progress_init(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = lsm_progress_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = lsm_progress_shmem_startup;
}

/* Claim a slot for a compaction of relid; -1 if none (or no shared memory). */
int
lsm_progress_begin(Oid relid)
{
	int			i;

	if (progress_slots == NULL)
		return -1;
	for (i = 0; i < LSM_PROGRESS_SLOTS; i++)
	{
		LsmProgressSlot *s = &progress_slots[i];
		uint32		expected = 0;

		if (pg_atomic_compare_exchange_u32(&s->busy, &expected, 1))
		{
			s->pid = MyProcPid;
			s->dbid = MyDatabaseId;
			s->relid = relid;
			s->phase = LSM_PHASE_WAITING;
			s->segments_done = s->segments_total = 0;
			s->rows_done = s->rows_total = 0;
			s->bytes_done = s->bytes_total = 0;
			s->started = GetCurrentTimestamp();
			pg_write_barrier();
			return i;
		}
	}
	return -1;
}

void
lsm_progress_phase(int slot, int phase)
{
	if (slot >= 0)
		progress_slots[slot].phase = phase;
}

void
lsm_progress_totals(int slot, int64 segments, int64 rows, int64 bytes)
{
	if (slot < 0)
		return;
	progress_slots[slot].segments_total = segments;
	progress_slots[slot].rows_total = rows;
	progress_slots[slot].bytes_total = bytes;
}

void
lsm_progress_advance(int slot, int64 segments, int64 rows, int64 bytes)
{
	if (slot < 0)
		return;
	progress_slots[slot].segments_done += segments;
	progress_slots[slot].rows_done += rows;
	progress_slots[slot].bytes_done += bytes;
}

void
lsm_progress_end(int slot)
{
	if (slot < 0)
		return;
	progress_slots[slot].pid = 0;
	pg_write_barrier();
	pg_atomic_write_u32(&progress_slots[slot].busy, 0);
}

static const char *
lsm_phase_name(int phase)
{
	switch (phase)
	{
		case LSM_PHASE_WAITING:
			return "waiting for writers";
		case LSM_PHASE_PLANNING:
			return "choosing segments";
		case LSM_PHASE_REWRITING:
			return "rewriting segments";
		case LSM_PHASE_INSTALLING:
			return "installing";
	}
	return "unknown";
}

/* lsm.compaction_progress(): one row per running compaction. */
Datum
lsm_compaction_progress(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	if (progress_slots == NULL)
		return (Datum) 0;
	for (i = 0; i < LSM_PROGRESS_SLOTS; i++)
	{
		LsmProgressSlot s;
		Datum		values[11];
		bool		nulls[11];

		if (pg_atomic_read_u32(&progress_slots[i].busy) == 0)
			continue;
		pg_read_barrier();
		memcpy(&s, &progress_slots[i], sizeof(s));
		if (s.pid == 0)
			continue;
		memset(nulls, 0, sizeof(nulls));
		values[0] = Int32GetDatum(s.pid);
		values[1] = ObjectIdGetDatum(s.dbid);
		values[2] = ObjectIdGetDatum(s.relid);
		values[3] = CStringGetTextDatum(lsm_phase_name(s.phase));
		values[4] = Int64GetDatum(s.segments_done);
		values[5] = Int64GetDatum(s.segments_total);
		values[6] = Int64GetDatum(s.rows_done);
		values[7] = Int64GetDatum(s.rows_total);
		values[8] = Int64GetDatum(s.bytes_done);
		values[9] = Int64GetDatum(s.bytes_total);
		values[10] = TimestampTzGetDatum(s.started);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
