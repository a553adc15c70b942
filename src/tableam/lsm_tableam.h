/*-------------------------------------------------------------------------
 *
 * lsm_tableam.h
 *	  The TableAmRoutine callbacks of lsm_am that live in src/tableam.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LSM_TABLEAM_H
#define LSM_TABLEAM_H

#include "access/tableam.h"
#include "catalog/index.h"
#include "commands/vacuum.h"
#include "nodes/execnodes.h"

/* lsm_ddl.c */
extern void lsm_relation_set_new_filenode(Relation rel, const RelFileNode *newrnode,
										  char persistence,
										  TransactionId *freezeXid,
										  MultiXactId *minmulti);
extern void lsm_relation_nontransactional_truncate(Relation rel);
extern void lsm_relation_copy_data(Relation rel, const RelFileNode *newrnode);
extern void lsm_relation_copy_for_cluster(Relation OldTable, Relation NewTable,
										  Relation OldIndex, bool use_sort,
										  TransactionId OldestXmin,
										  TransactionId *xid_cutoff,
										  MultiXactId *multi_cutoff,
										  double *num_tuples,
										  double *tups_vacuumed,
										  double *tups_recently_dead);
extern void lsm_relation_vacuum(Relation rel, struct VacuumParams *params,
								BufferAccessStrategy bstrategy);
extern uint64 lsm_relation_size(Relation rel, ForkNumber forkNumber);
extern void lsm_relation_estimate_size(Relation rel, int32 *attr_widths,
									   BlockNumber *pages, double *tuples,
									   double *allvisfrac);
extern int64 lsm_live_row_count(Relation rel, Snapshot snapshot);

/* lsm_index.c */
extern double lsm_index_build_range_scan(Relation tableRelation,
										 Relation indexRelation,
										 IndexInfo *indexInfo,
										 bool allow_sync, bool anyvisible,
										 bool progress,
										 BlockNumber start_blockno,
										 BlockNumber numblocks,
										 IndexBuildCallback callback,
										 void *callback_state,
										 TableScanDesc scan);
extern void lsm_index_validate_scan(Relation tableRelation,
									Relation indexRelation,
									IndexInfo *indexInfo,
									Snapshot snapshot,
									ValidateIndexState *state);

#endif							/* LSM_TABLEAM_H */
