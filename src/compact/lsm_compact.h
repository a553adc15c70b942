/*-------------------------------------------------------------------------
 *
 * lsm_compact.h
 *	  Compaction passes (lsm_compact.c) and the background workers that
 *	  run them (lsm_worker.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef LSM_COMPACT_H
#define LSM_COMPACT_H

#include "utils/rel.h"

typedef struct LsmCompactResult
{
	int64		segments_in;
	int64		segments_out;
	int64		rows_in;
	int64		rows_out;
	int64		bytes_in;
	int64		bytes_out;
	int64		deletes_folded;
	int64		rows_migrated;	/* rewritten from an older schema version */
	int64		versions_evicted;	/* schema versions forgotten */
	int64		l0_segments;	/* level-0 segments the pass found eligible */
	int			l0_trigger;		/* the table's lsm.compact_l0_trigger */
} LsmCompactResult;

/* How much of a pass may go to migrating rows to the current schema. */
#define LSM_MIGRATE_ALL		(-1)

/* lsm_compact.c */
extern bool lsm_wait_for_writers(Relation rel, int timeout_ms);
extern void lsm_compact_relation(Relation rel, bool full, int wait_ms,
								 int64 migrate_rows, bool level0_only,
								 LsmCompactResult *res);
extern void lsm_compact_notice_manual(void);

/* lsm_progress.c */
typedef enum LsmCompactPhase
{
	LSM_PHASE_WAITING = 1,
	LSM_PHASE_PLANNING,
	LSM_PHASE_REWRITING,
	LSM_PHASE_INSTALLING
} LsmCompactPhase;

extern void lsm_progress_init(void);
extern int	lsm_progress_begin(Oid relid);
extern void lsm_progress_phase(int slot, int phase);
extern void lsm_progress_totals(int slot, int64 segments, int64 rows,
								int64 bytes);
extern void lsm_progress_advance(int slot, int64 segments, int64 rows,
								 int64 bytes);
extern void lsm_progress_end(int slot);

/* lsm_worker.c */
extern void lsm_worker_register_launcher(void);
extern void lsm_worker_request(Oid dbid, bool wake);
extern void lsm_worker_wait_for_pass(long timeout_ms);
extern bool lsm_worker_present(Oid dbid);
extern uint64 lsm_worker_visits_begun(void);
extern bool lsm_worker_stuck_since(Oid relid, uint64 begun);

#endif							/* LSM_COMPACT_H */
