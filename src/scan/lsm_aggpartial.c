/*-------------------------------------------------------------------------
 *
 * lsm_aggpartial.c
 *	  PostgreSQL's partial aggregate states, built from the LSM Aggregate's
 *	  accumulators, for a Finalize Aggregate to combine.
 *
 * NOTES
 *	  The parallel LSM Aggregate (lsm_aggscan.c) runs in every participant
 *	  of a Gather and emits, per group, what a Partial Aggregate node with
 *	  AGGSPLIT_INITIAL_SERIAL would emit: the transition state of each
 *	  aggregate, serialized where the state type is internal.  PostgreSQL's
 *	  own Finalize Aggregate then deserializes and combines them with the
 *	  aggregates' combine functions and runs the final functions, so the
 *	  answer is, by construction, what PostgreSQL's parallel aggregation
 *	  gives.
 *
 *	  Plain state types need no help here (int8 counts and int2/int4 sums,
 *	  float4/float8 sums, min/max values).  This file builds the others:
 *
 *	  - int8[2] {count, sum}: avg(int2), avg(int4) (int4_avg_accum's
 *		Int8TransTypeData);
 *	  - float8[3] {N, Sx, Sxx}: avg(float4), avg(float8) (float8_accum);
 *	  - bytea of int8_avg_serialize: sum(int8), avg(int8);
 *	  - bytea of numeric_avg_serialize: sum(numeric), avg(numeric).
 *
 *	  The two bytea formats are those of PostgreSQL 15's numeric.c, written
 *	  with the pqformat routines it uses (network byte order):
 *
 *		int8_avg_serialize:     int64 N, then the sum as a NumericVar
 *		numeric_avg_serialize:  int64 N, the sum of the finite inputs as a
 *								NumericVar, int32 maxScale, int64
 *								maxScaleCount, int64 NaNcount, int64
 *								pInfcount, int64 nInfcount
 *		NumericVar:             int32 ndigits, int32 weight, int32 sign,
 *								int32 dscale, then ndigits int16 base-10000
 *								digits
 *
 *	  N counts the finite inputs only (do_numeric_accum counts specials
 *	  apart).  The sum's dscale is the largest dscale of the finite inputs,
 *	  as PostgreSQL's accumulator keeps it; that is what the final
 *	  functions' result scale depends on.  maxScale and maxScaleCount serve
 *	  only inverse transitions (moving-window aggregates), which never run
 *	  on a combined state: maxScale is set to that dscale and maxScaleCount
 *	  to 1 when there is a finite input (the true count is not tracked).
 *
 *	  The formats are internal to PostgreSQL and may change in another
 *	  major version; lsm_am builds for 15 only, and sql/lsm_parallel_agg.sql
 *	  compares every kind against heap's parallel and serial answers.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/numeric.h"

#include "scan/lsm_scan.h"

/* Signs of a NumericVar (numeric.c's NUMERIC_POS and NUMERIC_NEG). */
#define LSM_NUMVAR_POS		0x0000
#define LSM_NUMVAR_NEG		0x4000

/*
 * Append a finite numeric to buf as numericvar_serialize writes a
 * NumericVar: its digits as stored (stripped of leading and trailing zero
 * groups, which is how make_result leaves them), weight, sign and dscale,
 * read from the stored form by lsm_numeric_parts.
 */
static void
lsm_numvar_send(StringInfo buf, Numeric num)
{
	LsmNumericParts np;
	int			i;

	switch (lsm_numeric_parts(NumericGetDatum(num), &np))
	{
		case LSM_NUMERIC_FINITE:
			break;
		case LSM_NUMERIC_MALFORMED:
			elog(ERROR, "lsm aggregate: malformed numeric sum");
			break;
		default:
			elog(ERROR, "lsm aggregate: special value in a numeric sum");
	}

	pq_sendint32(buf, np.ndigits);
	pq_sendint32(buf, np.weight);
	pq_sendint32(buf, np.neg ? LSM_NUMVAR_NEG : LSM_NUMVAR_POS);
	pq_sendint32(buf, np.dscale);
	for (i = 0; i < np.ndigits; i++)
	{
		int16		dig;

		memcpy(&dig, np.digits + 2 * i, sizeof(int16));
		pq_sendint16(buf, dig);
	}
}

/* The display scale of a finite numeric. */
static int
lsm_numeric_dscale(Numeric num)
{
	LsmNumericParts np;

	if (lsm_numeric_parts(NumericGetDatum(num), &np) != LSM_NUMERIC_FINITE)
		return 0;
	return np.dscale;
}

/*
 * lsm_partial_int8_pair
 *		The int8[2] {count, sum} state of avg(int2) and avg(int4).
 */
Datum
lsm_partial_int8_pair(int64 count, int64 sum)
{
	Datum		elems[2];

	elems[0] = Int64GetDatum(count);
	elems[1] = Int64GetDatum(sum);
	return PointerGetDatum(construct_array(elems, 2, INT8OID, sizeof(int64),
										   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/*
 * lsm_partial_float8_triple
 *		The float8[3] {N, Sx, Sxx} state of avg(float4) and avg(float8).
 */
Datum
lsm_partial_float8_triple(double N, double Sx, double Sxx)
{
	Datum		elems[3];

	elems[0] = Float8GetDatum(N);
	elems[1] = Float8GetDatum(Sx);
	elems[2] = Float8GetDatum(Sxx);
	return PointerGetDatum(construct_array(elems, 3, FLOAT8OID, sizeof(float8),
										   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/*
 * lsm_partial_int8_sum
 *		The serialized state of sum(int8) and avg(int8): count non-null
 *		inputs summing to sum (a numeric of scale 0).
 */
Datum
lsm_partial_int8_sum(int64 count, Numeric sum)
{
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint64(&buf, count);
	lsm_numvar_send(&buf, sum);
	return PointerGetDatum(pq_endtypsend(&buf));
}

/*
 * lsm_partial_numeric_sum
 *		The serialized state of sum(numeric) and avg(numeric): nfinite finite
 *		inputs summing to sum (whose dscale is their largest dscale), and
 *		the counts of NaN, +Infinity and -Infinity inputs.
 */
Datum
lsm_partial_numeric_sum(int64 nfinite, Numeric sum, int64 nan, int64 pinf,
						int64 ninf)
{
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint64(&buf, nfinite);
	lsm_numvar_send(&buf, sum);
	pq_sendint32(&buf, nfinite > 0 ? lsm_numeric_dscale(sum) : 0);
	pq_sendint64(&buf, nfinite > 0 ? 1 : 0);
	pq_sendint64(&buf, nan);
	pq_sendint64(&buf, pinf);
	pq_sendint64(&buf, ninf);
	return PointerGetDatum(pq_endtypsend(&buf));
}
