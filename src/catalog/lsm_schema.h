/*-------------------------------------------------------------------------
 *
 * lsm_schema.h
 *	  Schema versions of lsm tables (lsm.schema_version).
 *
 *-------------------------------------------------------------------------
 */
#ifndef LSM_SCHEMA_H
#define LSM_SCHEMA_H

#include "datatype/timestamp.h"
#include "utils/relcache.h"
#include "utils/snapshot.h"

/* One row of lsm.schema_version: element i describes attribute i + 1. */
typedef struct LsmSchemaVersion
{
	int32		version;
	int			natts;
	Oid		   *typids;
	int32	   *typmods;
	int16	   *lens;
	bool	   *byvals;
	char	   *aligns;
	bool	   *dropped;
	TimestampTz created_at;
} LsmSchemaVersion;

extern void lsm_schema_init(void);
extern LsmSchemaVersion *lsm_schema_list(uint64 storage_id, Snapshot snapshot,
										 int *n);
extern int32 lsm_schema_match(const LsmSchemaVersion *vs, int n,
							  TupleDesc desc);
extern int32 lsm_schema_version_for_write(Relation rel, uint64 storage_id,
										  TupleDesc desc);
extern int32 lsm_schema_current(Relation rel, uint64 storage_id,
								Snapshot snapshot);
extern void lsm_schema_note_alter(Oid relid);
extern int32 lsm_schema_watermark(uint64 storage_id, int32 current);
extern int	lsm_schema_evict(Relation rel);
extern char *lsm_schema_describe(const LsmSchemaVersion *v);

#endif							/* LSM_SCHEMA_H */
