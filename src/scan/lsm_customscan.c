/*-------------------------------------------------------------------------
 *
 * lsm_customscan.c
 *	  "LSM Scan": the planner's columnar scan of an lsm table.  It decodes
 *	  only the columns the query references and skips segment blocks whose
 *	  zone maps show that no row can pass the scan's quals.
 *
 * NOTES
 *	  The node is a CustomScan over the table's own rowtype.  It reads rows
 *	  through the ordinary lsm scan (src/scan/lsm_scan.c), so visibility,
 *	  own writes, delete records and delete maps are applied exactly as for
 *	  a sequential scan; it only tells that scan which attributes to decode
 *	  (the others read as NULL and nobody looks at them) and installs a
 *	  block filter.  Every qual is still evaluated on every returned row, so
 *	  the filter only has to be conservative: it may keep a block it could
 *	  have skipped, never skip one with a matching row.
 *
 *	  Which quals prune ("zone quals"): `col op expr`, `expr op col`,
 *	  `col op ANY/ALL (array)`, `col IS [NOT] NULL`, and ANDs and ORs of
 *	  them, where op is a member of the btree operator family of the
 *	  column type's default btree opclass (so BETWEEN and IN lists qualify)
 *	  and expr contains no Vars, volatile functions or subplans (Consts,
 *	  Params of prepared statements and nested loops, stable functions).
 *	  Those expressions are evaluated when the scan (re)starts.  A zone map
 *	  orders values as FORMAT.md section 5 says: signed integers for
 *	  integer, date and time types, float order for floats in segments
 *	  flagged LSM_SEGF_INT_ZONES_GIVEN (older ones are not used), the
 *	  type's btree comparison in the "C" collation for everything else.
 *	  Collatable columns whose collation does not sort like "C" also have
 *	  ordered zones, the same comparison under their own collation, in
 *	  segments of format version 3 (src/scan/lsm_zoneorder.c).  So a qual on
 *	  a collatable column prunes
 *	  - by the plain zones when its collation sorts like "C", or when it is
 *		an equality in a deterministic collation (equal values are
 *		byte-equal there, whatever the deterministic collation);
 *	  - by the ordered zones of a segment when its collation sorts exactly
 *		like the one those zones were built in: same provider, locale,
 *		determinism and library version.  Nondeterministic collations are
 *		no exception: the btree comparison is a total preorder in any
 *		collation (btree indexes rely on it), so a block whose max is below
 *		the value holds no row equal to or above it.
 *	  Planning counts a qual of the second kind only when its collation
 *	  sorts like the column's own (the one new segments are built in).
 *
 *	  Costing follows cost_seqscan, scaled by the share of the row's width
 *	  that is decoded and by the share of blocks expected to be read: for a
 *	  zone qual with selectivity s on a column whose physical correlation is
 *	  c, s + (1 - s) * (1 - c^2), as btcostestimate reasons about heap
 *	  order.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#ifdef __linux__
#include <sched.h>
#endif
#include <unistd.h>

#include "access/htup_details.h"
#include "access/nbtree.h"
#include "access/stratnum.h"
#include "access/tableam.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_statistic.h"
#include "catalog/pg_type.h"
#include "commands/explain.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/extensible.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/clauses.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/paths.h"
#include "optimizer/restrictinfo.h"
#include "parser/parsetree.h"
#include "storage/pg_shmem.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/pg_locale.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"
#include "utils/selfuncs.h"
#include "utils/spccache.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "scan/lsm_scan.h"

bool		lsm_enable_custom_scan = true;
double		lsm_parallel_cold_start_factor = 1.0;
int			lsm_parallel_cpus = 0;
double		lsm_parallel_worker_exit_time = 2.5;

/* ---- zone quals ---- */

typedef enum LsmZoneKind
{
	LSM_ZONE_AND,
	LSM_ZONE_OR,
	LSM_ZONE_CMP,				/* col op value, col op ANY/ALL (values) */
	LSM_ZONE_NULLTEST
} LsmZoneKind;

/* What a single comparison with a column needs; the same at plan and run. */
typedef struct LsmZoneCmpInfo
{
	AttrNumber	attno;
	Oid			coltype;
	int			strategy;		/* BTLessStrategyNumber .. BTGreaterStrategyNumber */
	Oid			cmpproc;		/* btree order proc (coltype zone, value) */
	Oid			cmpcoll;		/* collation to call it with on plain zones */
	bool		plain_ok;		/* plain zones order values as the qual does */
	Oid			ordcoll;		/* the qual's collation, to call cmpproc with
								 * on ordered zones built in a collation
								 * sorting like it; InvalidOid: none */
	bool		is_array;
	bool		use_or;
	Expr	   *arg;			/* the value (or array) expression */
} LsmZoneCmpInfo;

struct LsmZoneNode
{
	LsmZoneKind kind;
	List	   *children;		/* AND / OR */
	/* CMP and NULLTEST */
	AttrNumber	attno;
	bool		is_null;		/* NULLTEST: IS NULL (else IS NOT NULL) */
	LsmZoneCmpInfo cmp;
	bool		int_zone;		/* zone maps are 8-byte integers */
	bool		float_zone;		/* ... of a float column: trusted only in
								 * segments with LSM_SEGF_INT_ZONES_GIVEN */
	int16		typlen;
	bool		typbyval;
	int			order_id;		/* interned zone order of ordcoll, or 0 */
	FmgrInfo	cmpfn;
	ExprState  *argstate;
	/* evaluated at scan (re)start */
	bool		never;			/* no row can satisfy it */
	bool		always;			/* every block may match (ALL of nothing) */
	int			nvalues;
	Datum	   *values;
	/* aligned copies of a block's zone bytes */
	char	   *zbuf[2];
	Size		zbuf_cap[2];
	MemoryContext values_cxt;	/* root only: evaluated values */
	Bitmapset  *early_params;	/* root only: initPlans that may run early
								 * (lsm_zone_early_params) */
	ExprContext *pending_econtext;	/* root only: values not computed yet
									 * (lsm_zone_prepare) */
};

/* Types whose btree order is the signed order of their stored integer. */
static bool
lsm_int_zone_type(Oid typid)
{
	switch (typid)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case DATEOID:
		case TIMEOID:
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
		case CASHOID:
		case BOOLOID:
			return true;
		default:
			return false;
	}
}

static bool
lsm_is_int_kind(int16 typlen, bool typbyval)
{
	return typbyval && (typlen == 1 || typlen == 2 || typlen == 4 || typlen == 8);
}

/* An expression that is constant during one execution of the scan. */
static bool
lsm_is_scan_constant(Node *node)
{
	return !contain_var_clause(node) &&
		!contain_volatile_functions(node) &&
		!contain_subplans(node);
}

/*
 * Which Vars are columns of the table: those of range table entry `varno`,
 * their attribute number mapped through attmap when there is one (the
 * aggregate node's quals refer to its scan tuple, INDEX_VAR).
 */
typedef struct LsmZoneCtx
{
	Index		varno;
	const AttrNumber *attmap;	/* varattno - 1 -> table attno (0: none) */
	int			maplen;
} LsmZoneCtx;

/*
 * A column of the table under binary-compatible relabels: its Var (for the
 * type) and table attribute number, or NULL.
 */
static Var *
lsm_column_var(Node *node, const LsmZoneCtx *ctx, AttrNumber *attno)
{
	while (node && IsA(node, RelabelType))
		node = (Node *) ((RelabelType *) node)->arg;
	if (node && IsA(node, Var))
	{
		Var		   *var = (Var *) node;

		if (var->varno != ctx->varno || var->varlevelsup != 0 || var->varattno <= 0)
			return NULL;
		*attno = var->varattno;
		if (ctx->attmap != NULL)
			*attno = var->varattno <= ctx->maplen ? ctx->attmap[var->varattno - 1] : 0;
		return *attno > 0 ? var : NULL;
	}
	return NULL;
}

/*
 * Can `opno` (with the column on its left) be checked against the zone
 * maps of a column of type coltype and collation colcoll?  Fills
 * strategy, cmpproc, cmpcoll, plain_ok and ordcoll.
 */
static bool
lsm_zone_operator(Oid opno, Oid coltype, Oid colcoll, Oid inputcollid,
				  LsmZoneCmpInfo *info)
{
	TypeCacheEntry *tc;
	int16		typlen;
	bool		typbyval;
	int			strategy;
	Oid			lefttype,
				righttype;
	Oid			proc;

	get_typlenbyval(coltype, &typlen, &typbyval);
	if (lsm_is_int_kind(typlen, typbyval) && !lsm_int_zone_type(coltype) &&
		coltype != FLOAT4OID && coltype != FLOAT8OID)
		return false;
	tc = lookup_type_cache(coltype, TYPECACHE_BTREE_OPFAMILY | TYPECACHE_CMP_PROC);
	if (!OidIsValid(tc->btree_opf) || !OidIsValid(tc->cmp_proc))
		return false;
	if (!op_in_opfamily(opno, tc->btree_opf))
		return false;
	get_op_opfamily_properties(opno, tc->btree_opf, false, &strategy,
							   &lefttype, &righttype);
	if (strategy < BTLessStrategyNumber || strategy > BTGreaterStrategyNumber)
		return false;
	proc = get_opfamily_proc(tc->btree_opf, lefttype, righttype, BTORDER_PROC);
	if (!OidIsValid(proc))
		return false;

	info->ordcoll = InvalidOid;
	if (type_is_collatable(coltype))
	{
		int			order;

		if (!OidIsValid(inputcollid))
			return false;
		/* plain zone maps of collatable columns are in "C" order */
		info->cmpcoll = C_COLLATION_OID;
		info->plain_ok = lc_collate_is_c(inputcollid) ||
			(strategy == BTEqualStrategyNumber &&
			 get_collation_isdeterministic(inputcollid));
		/* ordered zones: in a collation that sorts like the qual's */
		order = lsm_zone_order_of_collation(inputcollid);
		if (order != 0 && order == lsm_zone_order_of_collation(colcoll))
			info->ordcoll = inputcollid;
		if (!info->plain_ok && !OidIsValid(info->ordcoll))
			return false;
	}
	else
	{
		info->cmpcoll = InvalidOid;
		info->plain_ok = true;
	}
	info->coltype = coltype;
	info->strategy = strategy;
	info->cmpproc = proc;
	return true;
}

/*
 * Analyse one clause: can it prune blocks?  Builds the zone tree when
 * `build` (at execution); at plan time only the answer matters.
 */
static LsmZoneNode *
lsm_zone_analyze(Node *clause, const LsmZoneCtx *ctx, bool build)
{
	LsmZoneNode *zn = NULL;
	LsmZoneCmpInfo info;
	AttrNumber	attno;

	memset(&info, 0, sizeof(info));
	if (clause == NULL)
		return NULL;
	if (IsA(clause, RestrictInfo))
		clause = (Node *) ((RestrictInfo *) clause)->clause;

	if (is_andclause(clause) || is_orclause(clause))
	{
		bool		is_and = is_andclause(clause);
		List	   *children = NIL;
		ListCell   *lc;

		foreach(lc, ((BoolExpr *) clause)->args)
		{
			LsmZoneNode *child = lsm_zone_analyze(lfirst(lc), ctx, build);

			if (child != NULL)
				children = lappend(children, child);
			else if (!is_and)
				return NULL;	/* an arm we cannot judge: keep every block */
		}
		if (children == NIL)
			return NULL;
		zn = palloc0(sizeof(LsmZoneNode));
		zn->kind = is_and ? LSM_ZONE_AND : LSM_ZONE_OR;
		zn->children = children;
		return zn;
	}
	if (IsA(clause, NullTest))
	{
		NullTest   *nt = (NullTest *) clause;
		Var		   *var = lsm_column_var((Node *) nt->arg, ctx, &attno);

		if (var == NULL || nt->argisrow)
			return NULL;
		zn = palloc0(sizeof(LsmZoneNode));
		zn->kind = LSM_ZONE_NULLTEST;
		zn->attno = attno;
		zn->is_null = (nt->nulltesttype == IS_NULL);
		return zn;
	}
	if (IsA(clause, OpExpr))
	{
		OpExpr	   *op = (OpExpr *) clause;
		Var		   *var;
		Node	   *other;
		Oid			opno = op->opno;

		if (list_length(op->args) != 2)
			return NULL;
		if ((var = lsm_column_var(linitial(op->args), ctx, &attno)) != NULL)
			other = lsecond(op->args);
		else if ((var = lsm_column_var(lsecond(op->args), ctx, &attno)) != NULL)
		{
			other = linitial(op->args);
			opno = get_commutator(opno);
			if (!OidIsValid(opno))
				return NULL;
		}
		else
			return NULL;
		if (!lsm_is_scan_constant(other))
			return NULL;
		if (!lsm_zone_operator(opno, var->vartype, var->varcollid,
							   op->inputcollid, &info))
			return NULL;
		info.attno = attno;
		info.arg = (Expr *) other;
	}
	else if (IsA(clause, ScalarArrayOpExpr))
	{
		ScalarArrayOpExpr *saop = (ScalarArrayOpExpr *) clause;
		Var		   *var = lsm_column_var(linitial(saop->args), ctx, &attno);
		Node	   *other = lsecond(saop->args);

		if (var == NULL || !lsm_is_scan_constant(other))
			return NULL;
		if (!lsm_zone_operator(saop->opno, var->vartype, var->varcollid,
							   saop->inputcollid, &info))
			return NULL;
		info.attno = attno;
		info.arg = (Expr *) other;
		info.is_array = true;
		info.use_or = saop->useOr;
	}
	else
		return NULL;

	zn = palloc0(sizeof(LsmZoneNode));
	zn->kind = LSM_ZONE_CMP;
	zn->attno = info.attno;
	zn->cmp = info;
	if (build)
	{
		get_typlenbyval(info.coltype, &zn->typlen, &zn->typbyval);
		zn->int_zone = lsm_is_int_kind(zn->typlen, zn->typbyval);
		zn->float_zone = (info.coltype == FLOAT4OID || info.coltype == FLOAT8OID);
		zn->order_id = lsm_zone_order_of_collation(info.ordcoll);
		fmgr_info(info.cmpproc, &zn->cmpfn);
	}
	return zn;
}

/* Prepare the value expressions of a zone tree for execution. */
static void
lsm_zone_init_exprs(LsmZoneNode *zn, PlanState *ps)
{
	ListCell   *lc;

	if (zn->kind == LSM_ZONE_AND || zn->kind == LSM_ZONE_OR)
	{
		foreach(lc, zn->children)
			lsm_zone_init_exprs(lfirst(lc), ps);
	}
	else if (zn->kind == LSM_ZONE_CMP)
		zn->argstate = ExecInitExpr(zn->cmp.arg, ps);
}

typedef struct LsmPendingCtx
{
	ExprContext *econtext;
	const Bitmapset *early;
} LsmPendingCtx;

static bool
lsm_pending_initplan_walker(Node *node, LsmPendingCtx *ctx)
{
	if (node == NULL)
		return false;
	if (IsA(node, Param) && ((Param *) node)->paramkind == PARAM_EXEC)
	{
		int			paramid = ((Param *) node)->paramid;
		ParamExecData *prm = &ctx->econtext->ecxt_param_exec_vals[paramid];

		return prm->execPlan != NULL && !bms_is_member(paramid, ctx->early);
	}
	return expression_tree_walker(node, lsm_pending_initplan_walker, ctx);
}

/*
 * Does expr use the output of an initPlan that has not been run yet, other
 * than those in early (which may run now)?
 */
bool
lsm_pending_initplan(Node *expr, ExprContext *econtext, const Bitmapset *early)
{
	LsmPendingCtx ctx = {econtext, early};

	return lsm_pending_initplan_walker(expr, &ctx);
}

/*
 * May the subquery of initPlan sp run before a row needs its value?  Only
 * if it calls no volatile function, holds no correlated subplan (whose
 * volatility is not visible in its query tree), and the same holds for
 * the initPlans it uses itself (a min/max rewritten into an index probe,
 * for instance).  Then running it early can change nothing but when an
 * error it raises surfaces, as with an index scan, which computes such
 * values when it starts.
 */
static bool
lsm_initplan_stable(PlannerGlobal *glob, SubPlan *sp, int depth)
{
	PlannerInfo *sub;
	ListCell   *lc;

	if (depth > 8 || sp->plan_id < 1 || sp->plan_id > list_length(glob->subroots))
		return false;
	sub = list_nth(glob->subroots, sp->plan_id - 1);
	if (sub == NULL || sub->parse == NULL ||
		contain_volatile_functions((Node *) sub->parse) ||
		contain_subplans((Node *) sub->parse))
		return false;
	foreach(lc, sub->init_plans)
	{
		if (!lsm_initplan_stable(glob, lfirst_node(SubPlan, lc), depth + 1))
			return false;
	}
	return true;
}

/*
 * The PARAM_EXEC ids in clauses (zone quals) set by initPlans of this or an
 * outer query level that may run early (lsm_initplan_stable): a scan then
 * computes them when it starts, to prune by them, instead of leaving zone
 * maps unused until a row first needs the value.  For custom_private.
 */
List *
lsm_zone_early_params(PlannerInfo *root, List *clauses)
{
	Bitmapset  *ids = pull_paramids((Expr *) clauses);
	List	   *early = NIL;
	int			paramid = -1;

	while ((paramid = bms_next_member(ids, paramid)) >= 0)
	{
		PlannerInfo *r;
		bool		found = false;

		for (r = root; r != NULL && !found; r = r->parent_root)
		{
			ListCell   *lp;

			foreach(lp, r->init_plans)
			{
				SubPlan    *sp = lfirst_node(SubPlan, lp);

				if (list_member_int(sp->setParam, paramid))
				{
					found = true;
					if (lsm_initplan_stable(root->glob, sp, 0))
						early = lappend_int(early, paramid);
					break;
				}
			}
		}
	}
	return early;
}

/* Let the zone tree's initPlans in early_params (an integer List) run early. */
void
lsm_zone_set_early_params(LsmZoneNode *zone, List *early_params)
{
	ListCell   *lc;

	if (zone == NULL)
		return;
	foreach(lc, early_params)
		zone->early_params = bms_add_member(zone->early_params, lfirst_int(lc));
}

/*
 * Evaluate the value expressions (scan start and every rescan: Params may
 * have changed).  Values live in the current memory context.
 */
static void
lsm_zone_eval(LsmZoneNode *zn, ExprContext *econtext, const Bitmapset *early)
{
	ListCell   *lc;
	Datum		d;
	bool		isnull;

	if (zn->kind == LSM_ZONE_AND || zn->kind == LSM_ZONE_OR)
	{
		foreach(lc, zn->children)
			lsm_zone_eval(lfirst(lc), econtext, early);
		return;
	}
	if (zn->kind != LSM_ZONE_CMP)
		return;
	zn->never = false;
	zn->always = false;
	zn->nvalues = 0;
	if (lsm_pending_initplan((Node *) zn->cmp.arg, econtext, early))
	{
		/*
		 * An initPlan not run yet that may have side effects: PostgreSQL
		 * runs it when a row first needs it (maybe never).  Do not run it
		 * early to prune.  (Stable ones, in early, are computed here.)
		 */
		zn->always = true;
		return;
	}
	d = ExecEvalExpr(zn->argstate, econtext, &isnull);
	if (isnull)
	{
		/* btree operators are strict: NULL never compares true */
		zn->never = true;
		return;
	}
	if (!zn->cmp.is_array)
	{
		Oid			argtype = exprType((Node *) zn->cmp.arg);
		int16		len;
		bool		byval;

		get_typlenbyval(argtype, &len, &byval);
		zn->values = palloc(sizeof(Datum));
		zn->values[0] = datumCopy(d, byval, len);
		zn->nvalues = 1;
	}
	else
	{
		ArrayType  *arr = DatumGetArrayTypePCopy(d);
		int16		elmlen;
		bool		elmbyval;
		char		elmalign;
		Datum	   *elems;
		bool	   *nulls;
		int			n,
					i,
					k = 0;

		get_typlenbyvalalign(ARR_ELEMTYPE(arr), &elmlen, &elmbyval, &elmalign);
		deconstruct_array(arr, ARR_ELEMTYPE(arr), elmlen, elmbyval, elmalign,
						  &elems, &nulls, &n);
		zn->values = palloc(sizeof(Datum) * Max(n, 1));
		for (i = 0; i < n; i++)
		{
			if (nulls[i])
			{
				/* ALL with a NULL element is never true; ANY ignores it */
				if (!zn->cmp.use_or)
				{
					zn->never = true;
					return;
				}
				continue;
			}
			zn->values[k++] = elems[i];
		}
		zn->nvalues = k;
		if (k == 0)
		{
			if (zn->cmp.use_or)
				zn->never = true;	/* ANY of nothing is false */
			else
				zn->always = true;	/* ALL of nothing is true */
		}
	}
}

/* A zone min or max as a Datum of the column type (aligned copy). */
static Datum
lsm_zone_datum(LsmZoneNode *zn, int which, const uint8 *bytes, uint16 len)
{
	if (zn->int_zone)
		return Int64GetDatum(lsm_zone_int_load(bytes));
	if (zn->zbuf_cap[which] < len)
	{
		/* in the query's memory, where the node itself lives */
		zn->zbuf[which] = zn->zbuf[which] ?
			repalloc(zn->zbuf[which], len) :
			MemoryContextAlloc(GetMemoryChunkContext(zn), len);
		zn->zbuf_cap[which] = len;
	}
	memcpy(zn->zbuf[which], bytes, len);
	return PointerGetDatum(zn->zbuf[which]);
}

static inline int
lsm_zone_cmp(LsmZoneNode *zn, Oid coll, Datum zone, Datum value)
{
	return DatumGetInt32(FunctionCall2Coll(&zn->cmpfn, coll, zone, value));
}

/* May some row of block bi of segment h satisfy zn?  Conservative. */
static bool
lsm_zone_may_match(LsmZoneNode *zn, LsmSegmentHandle *h, const LsmBlockInfo *bi)
{
	ListCell   *lc;
	int			c;
	const LsmChunkInfo *ci;
	Datum		zmin,
				zmax;
	Oid			coll;
	int			i;

	switch (zn->kind)
	{
		case LSM_ZONE_AND:
			foreach(lc, zn->children)
				if (!lsm_zone_may_match(lfirst(lc), h, bi))
					return false;
			return true;
		case LSM_ZONE_OR:
			foreach(lc, zn->children)
				if (lsm_zone_may_match(lfirst(lc), h, bi))
					return true;
			return false;
		default:
			break;
	}

	c = h->map[zn->attno - 1];
	if (c == LSM_MAP_MISSING)
		return true;			/* attmissingval: not worth judging */
	if (c == LSM_MAP_NULL)
		return zn->kind == LSM_ZONE_NULLTEST && zn->is_null;
	ci = &bi->cols[c];
	if (zn->kind == LSM_ZONE_NULLTEST)
		return zn->is_null ? ci->null_count > 0 : ci->null_count < bi->nrows;

	if (zn->never)
		return false;
	if (ci->null_count >= bi->nrows)
		return false;			/* only NULLs: a strict operator is never true */
	if (zn->always || !h->zone_ok[zn->attno - 1])
		return true;
	if (zn->int_zone != (h->cols[c].kind == LSM_KIND_INT))
		return true;			/* cannot happen: the map checked the kind */
	if (zn->order_id != 0 && (ci->zone_flags & LSM_ZONE_HAS_ORDERED) &&
		h->zone_order[zn->attno - 1] == zn->order_id)
	{
		/* built in a collation that sorts exactly like the qual's */
		zmin = lsm_zone_datum(zn, 0, ci->ozmin, ci->ozmin_len);
		zmax = lsm_zone_datum(zn, 1, ci->ozmax, ci->ozmax_len);
		coll = zn->cmp.ordcoll;
	}
	else
	{
		if (!zn->cmp.plain_ok || !(ci->zone_flags & LSM_ZONE_HAS_MINMAX))
			return true;
		if (zn->int_zone && (ci->zmin_len != 8 || ci->zmax_len != 8))
			return true;
		if (zn->float_zone &&
			!(lsm_segr_header(h->reader)->flags & LSM_SEGF_INT_ZONES_GIVEN))
			return true;		/* an older segment: signed order of the bits */
		zmin = lsm_zone_datum(zn, 0, ci->zmin, ci->zmin_len);
		zmax = lsm_zone_datum(zn, 1, ci->zmax, ci->zmax_len);
		coll = zn->cmp.cmpcoll;
	}

	for (i = 0; i < zn->nvalues; i++)
	{
		Datum		v = zn->values[i];
		bool		may;

		switch (zn->cmp.strategy)
		{
			case BTLessStrategyNumber:
				may = lsm_zone_cmp(zn, coll, zmin, v) < 0;
				break;
			case BTLessEqualStrategyNumber:
				may = lsm_zone_cmp(zn, coll, zmin, v) <= 0;
				break;
			case BTEqualStrategyNumber:
				may = lsm_zone_cmp(zn, coll, zmin, v) <= 0 &&
					lsm_zone_cmp(zn, coll, zmax, v) >= 0;
				break;
			case BTGreaterEqualStrategyNumber:
				may = lsm_zone_cmp(zn, coll, zmax, v) >= 0;
				break;
			default:
				may = lsm_zone_cmp(zn, coll, zmax, v) > 0;
				break;
		}
		if (zn->cmp.is_array && !zn->cmp.use_or)
		{
			if (!may)
				return false;	/* ALL: every element must be satisfiable */
		}
		else if (may)
			return true;
	}
	return zn->cmp.is_array && !zn->cmp.use_or;
}

/*
 * lsm_zone_compile
 *		The zone tree (an AND) of those of `clauses` that can prune blocks,
 *		or NULL if none can, ready for execution under planstate ps.  Vars
 *		of range table entry varno are the table's columns, their attribute
 *		numbers mapped through attmap (varattno - 1 -> attno) if given.
 *		Allocates in the current memory context, which must live as long as
 *		the scan.
 */
LsmZoneNode *
lsm_zone_compile(List *clauses, Index varno, const AttrNumber *attmap,
				 int maplen, PlanState *ps)
{
	LsmZoneCtx	ctx = {varno, attmap, maplen};
	List	   *children = NIL;
	LsmZoneNode *zone;
	ListCell   *lc;

	foreach(lc, clauses)
	{
		LsmZoneNode *zn = lsm_zone_analyze(lfirst(lc), &ctx, true);

		if (zn != NULL)
		{
			lsm_zone_init_exprs(zn, ps);
			children = lappend(children, zn);
		}
	}
	if (children == NIL)
		return NULL;
	zone = palloc0(sizeof(LsmZoneNode));
	zone->kind = LSM_ZONE_AND;
	zone->children = children;
	zone->values_cxt = AllocSetContextCreate(CurrentMemoryContext,
											 "lsm zone values",
											 ALLOCSET_SMALL_SIZES);
	return zone;
}

/*
 * Arm the zone tree's values for the scan (at its start and after each
 * rescan): they are computed at the first block (lsm_zone_block_filter).
 */
void
lsm_zone_prepare(LsmZoneNode *zone, ExprContext *econtext)
{
	MemoryContextReset(zone->values_cxt);
	zone->pending_econtext = econtext;
}

/*
 * LsmBlockFilter over a zone tree (arg).  The values are computed when the
 * first block is tested: a scan of no blocks (an empty table) runs no
 * initPlan, as a sequential scan would not.
 */
bool
lsm_zone_block_filter(void *arg, LsmSegmentHandle *h, const LsmBlockInfo *bi)
{
	LsmZoneNode *zone = (LsmZoneNode *) arg;

	if (zone->pending_econtext != NULL)
	{
		ExprContext *econtext = zone->pending_econtext;
		MemoryContext old = MemoryContextSwitchTo(zone->values_cxt);

		zone->pending_econtext = NULL;
		lsm_zone_eval(zone, econtext, zone->early_params);
		MemoryContextSwitchTo(old);
	}
	return lsm_zone_may_match(zone, h, bi);
}

/* Are the comparison procs a zone tree calls all leakproof? */
static bool
lsm_zone_leakproof(LsmZoneNode *zn)
{
	ListCell   *lc;

	switch (zn->kind)
	{
		case LSM_ZONE_AND:
		case LSM_ZONE_OR:
			foreach(lc, zn->children)
				if (!lsm_zone_leakproof(lfirst(lc)))
					return false;
			return true;
		case LSM_ZONE_CMP:
			return get_func_leakproof(zn->cmp.cmpproc);
		default:
			return true;
	}
}

/*
 * May this qual prune by zone maps?  Zone maps hold values of rows the
 * query may not be allowed to see (row-level security, security_barrier
 * views): a qual below the security quals (security_level > 0) is
 * evaluated on them only if it and the comparison procs it uses are
 * leakproof, as PostgreSQL itself would not run it on hidden rows.
 */
bool
lsm_zone_clause_safe(RestrictInfo *rinfo, LsmZoneNode *zn)
{
	if (rinfo->security_level == 0)
		return true;
	return !contain_leaked_vars((Node *) rinfo->clause) && lsm_zone_leakproof(zn);
}

/*
 * Can this base-relation qual prune by zone maps, safely?  Returns its zone
 * tree (plan time: for the answer only) or NULL.
 */
LsmZoneNode *
lsm_zone_check_clause(RestrictInfo *rinfo, Index relid)
{
	LsmZoneCtx	ctx = {relid, NULL, 0};
	LsmZoneNode *zn;

	if (rinfo->pseudoconstant)
		return NULL;
	zn = lsm_zone_analyze((Node *) rinfo->clause, &ctx, false);
	if (zn == NULL || !lsm_zone_clause_safe(rinfo, zn))
		return NULL;
	return zn;
}

/* ---- planning ---- */

static CustomPathMethods lsm_path_methods;
static CustomScanMethods lsm_plan_methods;
static CustomExecMethods lsm_exec_methods;

/* Attribute numbers (>0) referenced by the target list and quals; NULL = all. */
static Bitmapset *
lsm_needed_attrs(Index relid, List *tlist, List *clauses, int natts)
{
	Bitmapset  *raw = NULL;
	Bitmapset  *attrs = NULL;
	int			k = -1;

	pull_varattnos((Node *) tlist, relid, &raw);
	pull_varattnos((Node *) clauses, relid, &raw);
	while ((k = bms_next_member(raw, k)) >= 0)
	{
		AttrNumber	attno = k + FirstLowInvalidHeapAttributeNumber;

		if (attno == InvalidAttrNumber)
		{
			/* a whole-row reference needs every column */
			int			i;

			for (i = 1; i <= natts; i++)
				attrs = bms_add_member(attrs, i);
		}
		else if (attno > 0)
			attrs = bms_add_member(attrs, attno);
	}
	return attrs;
}

/* Physical correlation of a column from pg_statistic, 0 if unknown. */
static double
lsm_column_correlation(PlannerInfo *root, Index relid, AttrNumber attno)
{
	RangeTblEntry *rte = planner_rt_fetch(relid, root);
	HeapTuple	tup;
	AttStatsSlot sslot;
	double		corr = 0.0;

	tup = SearchSysCache3(STATRELATTINH, ObjectIdGetDatum(rte->relid),
						  Int16GetDatum(attno), BoolGetDatum(rte->inh));
	if (!HeapTupleIsValid(tup))
		return 0.0;
	if (get_attstatsslot(&sslot, tup, STATISTIC_KIND_CORRELATION, InvalidOid,
						 ATTSTATSSLOT_NUMBERS))
	{
		if (sslot.nnumbers == 1)
			corr = sslot.numbers[0];
		free_attstatsslot(&sslot);
	}
	ReleaseSysCache(tup);
	return corr;
}

/* First column a zone tree looks at (for its correlation). */
static AttrNumber
lsm_zone_first_attno(LsmZoneNode *zn)
{
	if (zn->kind == LSM_ZONE_AND || zn->kind == LSM_ZONE_OR)
		return lsm_zone_first_attno(linitial(zn->children));
	return zn->attno;
}

/* Share of blocks a scan with these quals (RestrictInfos) is expected to read. */
double
lsm_block_fraction(PlannerInfo *root, RelOptInfo *rel, List *clauses)
{
	double		frac = 1.0;
	ListCell   *lc;
	LsmZoneCtx	ctx = {rel->relid, NULL, 0};

	foreach(lc, clauses)
	{
		RestrictInfo *rinfo = lfirst_node(RestrictInfo, lc);
		LsmZoneNode *zn = lsm_zone_analyze((Node *) rinfo->clause, &ctx, false);
		Selectivity s;
		double		corr;
		double		f;

		if (zn == NULL)
			continue;
		s = clause_selectivity(root, (Node *) rinfo, rel->relid, JOIN_INNER, NULL);
		corr = lsm_column_correlation(root, rel->relid, lsm_zone_first_attno(zn));
		f = s + (1.0 - s) * (1.0 - corr * corr);
		frac = Min(frac, f);
	}
	return Max(frac, 0.0);
}

/*
 * lsm_parallel_cold_cost
 *		What a parallel worker spends on rel before it can help, beyond its
 *		share of the work (divisor: the participants, as cost_seqscan
 *		counts them).
 *
 * A worker is a new process, and nothing the leader has cached helps it.
 * It starts: beyond the launch parallel_setup_cost charges once per
 * Gather, LSM_PARALLEL_WORKER_START of that setting per worker (so that
 * it follows the setting, and plans made with parallel_setup_cost = 0 are
 * too); it reads and parses the directory of each
 * segment it takes work from (about 100 bytes per column and block with
 * the parsed copy; charged for all segments, as a worker that joins late
 * may take units anywhere; nothing when the shared directory cache is on
 * and can hold them all, as they are then found there parsed: about 0.2 ms
 * for 50 segments, measured); and unless shared memory is in huge pages it
 * maps into its address space each 4 kB page of shared buffers it reads,
 * charged as 0.4 of a page read per page of its share.  Both parallel LSM
 * nodes charge it per worker, in full: the Gather waits for every worker,
 * and they compete with the leader for processors.
 *
 * Calibrated on the benchmark's table with huge pages and a quiet machine
 * (stop 16): sum(int) over 5M rows took 29.4 ms serial and 25.5 ms with
 * two workers forced, over 20M rows 120 and 84 ms, i.e. about 6 ms per
 * worker plan plus a share proportional to the table (the directories).
 * The start term is a whole parallel_setup_cost per worker, not the 0.6
 * those figures would allow: that sent sums over 2M rows parallel, which
 * gained nothing there, and lost where many rows are in delete maps
 * (every participant rebuilds the delete set; docs/ARCHITECTURE.md).
 * Before that, the page term alone (and a cold start twice as long, before
 * the directory cache used huge pages) kept such aggregates serial at any
 * size.  lsm.parallel_cold_start_factor scales the whole.
 */
#define LSM_PARALLEL_WORKER_START	1.0 /* of parallel_setup_cost */

/*
 * Processors this server may run on: the CPUs of its affinity mask, fewer
 * if a cgroup (v2) CPU quota allows less.  Looked up once per process; 0
 * if nothing could be learned.
 */
static int
lsm_detect_cpus(void)
{
	static int	cpus = -1;

	if (cpus >= 0)
		return cpus;
	cpus = 0;
#ifdef __linux__
	{
		cpu_set_t	set;
		FILE	   *f;
		char		path[MAXPGPATH] = "";
		char		line[MAXPGPATH];

		CPU_ZERO(&set);
		if (sched_getaffinity(0, sizeof(set), &set) == 0)
			cpus = CPU_COUNT(&set);
		/* "0::/path" names the process's cgroup in the v2 hierarchy */
		if ((f = fopen("/proc/self/cgroup", "r")) != NULL)
		{
			while (fgets(line, sizeof(line), f) != NULL)
			{
				if (strncmp(line, "0::", 3) == 0)
				{
					line[strcspn(line, "\n")] = '\0';
					snprintf(path, sizeof(path), "/sys/fs/cgroup%s/cpu.max",
							 line + 3);
					break;
				}
			}
			fclose(f);
		}
		if (path[0] != '\0' && (f = fopen(path, "r")) != NULL)
		{
			long		quota,
						period;

			/* "max 100000" (no quota) or "<quota> <period>" */
			if (fscanf(f, "%ld %ld", &quota, &period) == 2 &&
				quota > 0 && period > 0)
			{
				int			q = (int) ((quota + period - 1) / period);

				if (cpus == 0 || q < cpus)
					cpus = q;
			}
			fclose(f);
		}
	}
#endif
	if (cpus <= 0)
	{
		long		n = sysconf(_SC_NPROCESSORS_ONLN);

		cpus = n > 0 ? (int) Min(n, 4096) : 0;
	}
	return cpus;
}

/*
 * Workers for a parallel LSM Aggregate over `rel`: as many as a Parallel Seq
 * Scan would get, but no more than the processors left beside the leader.
 * The leader of such a plan does a full share of the scan (what it gathers
 * is a few partial rows), so with as many workers as processors they take
 * turns on them: no faster, while every worker adds its start and its exit
 * (the Gather waits for the process to be gone) to the query.  Measured on
 * two processors, sum(int) over 20M rows: 1.7-1.9x with one worker, 1.6-
 * 1.8x with two (quiet moments); the benchmark's four parallel aggregates,
 * three runs: 1.72x against 1.68x on average, with half the processes.  A row-returning LSM Scan keeps PostgreSQL's count: there
 * the leader spends much of its time gathering rows.  lsm.parallel_cpus
 * overrides the detected number (0: detect); at least one worker is left.
 */
int
lsm_parallel_agg_workers(RelOptInfo *rel)
{
	int			workers = compute_parallel_worker(rel, rel->pages, -1,
												  max_parallel_workers_per_gather);
	int			cpus = lsm_parallel_cpus > 0 ? lsm_parallel_cpus : lsm_detect_cpus();

	if (workers > 0 && cpus > 0)
	{
		int			room = cpus - (parallel_leader_participation ? 1 : 0);

		workers = Min(workers, Max(room, 1));
	}
	return workers;
}

Cost
lsm_parallel_cold_cost(RelOptInfo *rel, double divisor)
{
	double		spc_seq_page_cost;
	double		pages = 0;

	double		dir_bytes = rel->tuples / lsm_block_rows * 100.0 * (rel->max_attr + 2);

	get_tablespace_page_costs(rel->reltablespace, NULL, &spc_seq_page_cost);
	if (huge_pages != HUGE_PAGES_ON)
		pages = 0.4 * rel->pages / divisor;
	/* directories the shared cache can hold are found there parsed */
	if (lsm_dircache_can_hold(dir_bytes))
		dir_bytes = 0;
	return lsm_parallel_cold_start_factor *
		(LSM_PARALLEL_WORKER_START * parallel_setup_cost +
		 spc_seq_page_cost * (dir_bytes / BLCKSZ + pages));
}

/*
 * Cost an LSM Scan path.  A parallel one (path->parallel_workers > 0)
 * divides the CPU part and the rows among the participants as
 * cost_seqscan does (the leader counts less the more workers there are)
 * and adds each worker's cold start; reading stays undivided.
 */
static void
lsm_cost_path(PlannerInfo *root, RelOptInfo *rel, Path *path,
			  ParamPathInfo *ppi, Bitmapset *attrs, double blockfrac)
{
	double		divisor = 1.0;
	double		spc_seq_page_cost;
	QualCost	qpqual_cost;
	List	   *clauses = rel->baserestrictinfo;
	double		width_all = 8;	/* the rowid chunk */
	double		width_need = 8;
	double		colfrac;
	Cost		cpu_per_tuple;
	int			i;

	if (ppi)
		clauses = list_concat_copy(clauses, ppi->ppi_clauses);
	path->rows = ppi ? ppi->ppi_rows : rel->rows;
	if (path->parallel_workers > 0)
	{
		double		leader = 1.0 - 0.3 * path->parallel_workers;

		divisor = path->parallel_workers +
			(parallel_leader_participation && leader > 0 ? leader : 0);
		path->rows = clamp_row_est(path->rows / divisor);
	}

	for (i = 1; i <= rel->max_attr; i++)
	{
		double		w = rel->attr_widths[i - rel->min_attr];

		if (w <= 0)
			w = 8;
		width_all += w;
		if (bms_is_member(i, attrs))
			width_need += w;
	}
	colfrac = Min(1.0, width_need / width_all);

	get_tablespace_page_costs(rel->reltablespace, NULL, &spc_seq_page_cost);
	cost_qual_eval(&qpqual_cost, clauses, root);
	/* decoding fewer columns makes each row cheaper to produce */
	cpu_per_tuple = cpu_tuple_cost * (0.5 + 0.5 * colfrac) +
		qpqual_cost.per_tuple;
	/* it is a sequential scan: enable_seqscan = off applies to it too */
	path->startup_cost = qpqual_cost.startup + path->pathtarget->cost.startup +
		(enable_seqscan ? 0 : disable_cost);
	/*
	 * Doing what a sequential scan does, plus pruning that the estimate may
	 * not foresee: on a tie (every column, no statistics) prefer it, by a
	 * margin beyond add_path's fuzz factor.
	 */
	path->total_cost = path->startup_cost +
		0.97 * (spc_seq_page_cost * rel->pages * colfrac * blockfrac +
				cpu_per_tuple * rel->tuples * blockfrac / divisor) +
		path->pathtarget->cost.per_tuple * path->rows;
	if (path->parallel_workers > 0)
	{
		Cost		cold = path->parallel_workers *
			lsm_parallel_cold_cost(rel, divisor);

		path->startup_cost += cold;
		path->total_cost += cold;
	}
}

/*
 * Add an LSM Scan path for an lsm base relation (set_rel_pathlist hook).
 */
void
lsm_customscan_add_paths(PlannerInfo *root, RelOptInfo *rel, Index rti,
						 RangeTblEntry *rte)
{
	CustomPath *cpath;
	Relids		required_outer;
	List	   *clauses;
	Bitmapset  *attrs;
	double		blockfrac;

	if (!lsm_enable_custom_scan || rte->tablesample != NULL || rte->inh)
		return;
	if (rel->reloptkind != RELOPT_BASEREL &&
		rel->reloptkind != RELOPT_OTHER_MEMBER_REL)
		return;

	/* quals on ctid: a TID range scan reads just that range */
	{
		Bitmapset  *sys = NULL;

		pull_varattnos((Node *) extract_actual_clauses(rel->baserestrictinfo, false),
					   rti, &sys);
		if (bms_is_member(SelfItemPointerAttributeNumber - FirstLowInvalidHeapAttributeNumber,
						  sys))
			return;
	}

	required_outer = rel->lateral_relids;
	cpath = makeNode(CustomPath);
	cpath->path.pathtype = T_CustomScan;
	cpath->path.parent = rel;
	cpath->path.pathtarget = rel->reltarget;
	cpath->path.param_info = get_baserel_parampathinfo(root, rel, required_outer);
	cpath->path.parallel_aware = false;
	cpath->path.parallel_safe = rel->consider_parallel;
	cpath->path.parallel_workers = 0;
	cpath->path.pathkeys = NIL;
	cpath->flags = CUSTOMPATH_SUPPORT_BACKWARD_SCAN |
		CUSTOMPATH_SUPPORT_PROJECTION;
	cpath->methods = &lsm_path_methods;

	clauses = extract_actual_clauses(rel->baserestrictinfo, false);
	attrs = lsm_needed_attrs(rti, rel->reltarget->exprs, clauses,
							 rel->max_attr);
	/* the share of blocks read: once (it looks up statistics) for both paths */
	blockfrac = lsm_block_fraction(root, rel,
								   cpath->path.param_info ?
								   list_concat_copy(rel->baserestrictinfo,
													cpath->path.param_info->ppi_clauses) :
								   rel->baserestrictinfo);
	lsm_cost_path(root, rel, &cpath->path, cpath->path.param_info, attrs,
				  blockfrac);
	add_path(rel, &cpath->path);

	/*
	 * A parallel-aware LSM Scan: participants claim runs of segment blocks
	 * (see "parallel scans" in lsm_scan.c).  As for a Parallel Seq Scan,
	 * only for unparameterized paths of parallel-safe relations.
	 */
	if (rel->consider_parallel && required_outer == NULL)
	{
		int			workers = compute_parallel_worker(rel, rel->pages, -1,
													  max_parallel_workers_per_gather);

		if (workers > 0)
		{
			CustomPath *ppath = makeNode(CustomPath);

			ppath->path.pathtype = T_CustomScan;
			ppath->path.parent = rel;
			ppath->path.pathtarget = rel->reltarget;
			ppath->path.param_info = NULL;
			ppath->path.parallel_aware = true;
			ppath->path.parallel_safe = true;
			ppath->path.parallel_workers = workers;
			ppath->path.pathkeys = NIL;
			ppath->flags = CUSTOMPATH_SUPPORT_PROJECTION;
			ppath->methods = &lsm_path_methods;
			lsm_cost_path(root, rel, &ppath->path, NULL, attrs, blockfrac);
			add_partial_path(rel, &ppath->path);
		}
	}
}

static Plan *
lsm_plan_custom_path(PlannerInfo *root, RelOptInfo *rel, CustomPath *best_path,
					 List *tlist, List *clauses, List *custom_plans)
{
	CustomScan *cscan = makeNode(CustomScan);
	List	   *quals = extract_actual_clauses(clauses, false);
	List	   *zone = NIL;
	ListCell   *lc;
	LsmZoneCtx	ctx = {rel->relid, NULL, 0};

	/* pseudoconstant quals went to a gating Result node */
	foreach(lc, clauses)
	{
		RestrictInfo *rinfo = lfirst_node(RestrictInfo, lc);
		LsmZoneNode *zn;

		if (rinfo->pseudoconstant)
			continue;
		zn = lsm_zone_analyze((Node *) rinfo->clause, &ctx, false);
		if (zn != NULL && lsm_zone_clause_safe(rinfo, zn))
			zone = lappend(zone, rinfo->clause);
	}

	cscan->scan.plan.targetlist = tlist;
	cscan->scan.plan.qual = quals;
	cscan->scan.scanrelid = rel->relid;
	cscan->flags = best_path->flags;
	cscan->custom_plans = NIL;
	/* zone quals are copies: setrefs and nestloop params fix them too */
	cscan->custom_exprs = copyObject(zone);
	/*
	 * The columns to decode are taken from the final plan at execution:
	 * the target list given here may still be replaced by a projection's.
	 */
	cscan->custom_private = list_make1(lsm_zone_early_params(root, zone));
	cscan->custom_scan_tlist = NIL;
	cscan->methods = &lsm_plan_methods;
	return &cscan->scan.plan;
}

/* ---- execution ---- */

typedef struct LsmScanState
{
	CustomScanState css;
	TableScanDesc scan;
	Bitmapset  *attrs;			/* attributes decoded (empty: none) */
	LsmZoneNode *zone;			/* AND of the zone quals, or NULL */
	bool		zone_ready;
} LsmScanState;

static Node *
lsm_create_scan_state(CustomScan *cscan)
{
	LsmScanState *ss = palloc0(sizeof(LsmScanState));

	NodeSetTag(ss, T_CustomScanState);
	ss->css.methods = &lsm_exec_methods;
	return (Node *) ss;
}

/* Open the table scan (pscan: the shared state of a parallel one, or NULL). */
static void
lsm_scan_start(LsmScanState *ss, ParallelTableScanDesc pscan)
{
	Relation	rel = ss->css.ss.ss_currentRelation;
	EState	   *estate = ss->css.ss.ps.state;

	if (pscan != NULL)
		ss->scan = table_beginscan_parallel(rel, pscan);
	else
		ss->scan = table_beginscan(rel, estate->es_snapshot, 0, NULL);
	lsm_scan_set_columns(ss->scan, ss->attrs);
	if (ss->zone)
		lsm_scan_set_filter(ss->scan, lsm_zone_block_filter, ss->zone);
}

static void
lsm_begin_custom_scan(CustomScanState *node, EState *estate, int eflags)
{
	LsmScanState *ss = (LsmScanState *) node;
	CustomScan *cscan = (CustomScan *) node->ss.ps.plan;
	Relation	rel = node->ss.ss_currentRelation;
	TupleTableSlot *slot;
	MemoryContext old;

	/* rows come in lsm slots, which answer xmin like a sequential scan's */
	slot = ExecAllocTableSlot(&estate->es_tupleTable, RelationGetDescr(rel),
							  table_slot_callbacks(rel));
	node->ss.ss_ScanTupleSlot = slot;

	ss->attrs = lsm_needed_attrs(cscan->scan.scanrelid, cscan->scan.plan.targetlist,
								 cscan->scan.plan.qual, RelationGetDescr(rel)->natts);

	ss->zone = lsm_zone_compile(cscan->custom_exprs, cscan->scan.scanrelid,
								NULL, 0, &node->ss.ps);
	if (cscan->custom_private != NIL)
		lsm_zone_set_early_params(ss->zone, linitial(cscan->custom_private));
	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
		return;
	/* a parallel-aware scan starts when its shared state is set up */
	if (node->ss.ps.plan->parallel_aware)
		return;
	old = MemoryContextSwitchTo(estate->es_query_cxt);
	lsm_scan_start(ss, NULL);
	MemoryContextSwitchTo(old);
}

static TupleTableSlot *
lsm_scan_next(ScanState *node)
{
	LsmScanState *ss = (LsmScanState *) node;
	TupleTableSlot *slot = node->ss_ScanTupleSlot;

	if (ss->zone && !ss->zone_ready)
	{
		lsm_zone_prepare(ss->zone, node->ps.ps_ExprContext);
		ss->zone_ready = true;
	}
	if (ss->scan == NULL)
	{
		/* a parallel-aware plan run without parallel mode: a whole scan */
		MemoryContext old = MemoryContextSwitchTo(node->ps.state->es_query_cxt);

		lsm_scan_start(ss, NULL);
		MemoryContextSwitchTo(old);
	}
	if (table_scan_getnextslot(ss->scan, node->ps.state->es_direction, slot))
		return slot;
	return NULL;
}

/* ---- parallel execution (as nodeSeqscan.c) ---- */

static Size
lsm_estimate_dsm(CustomScanState *node, ParallelContext *pcxt)
{
	return table_parallelscan_estimate(node->ss.ss_currentRelation,
									   node->ss.ps.state->es_snapshot);
}

static void
lsm_initialize_dsm(CustomScanState *node, ParallelContext *pcxt, void *coordinate)
{
	LsmScanState *ss = (LsmScanState *) node;
	ParallelTableScanDesc pscan = coordinate;

	table_parallelscan_initialize(node->ss.ss_currentRelation, pscan,
								  node->ss.ps.state->es_snapshot);
	lsm_scan_start(ss, pscan);
}

static void
lsm_reinitialize_dsm(CustomScanState *node, ParallelContext *pcxt, void *coordinate)
{
	LsmScanState *ss = (LsmScanState *) node;

	table_parallelscan_reinitialize(node->ss.ss_currentRelation,
									ss->scan->rs_parallel);
}

static void
lsm_initialize_worker(CustomScanState *node, shm_toc *toc, void *coordinate)
{
	lsm_scan_start((LsmScanState *) node, (ParallelTableScanDesc) coordinate);
}

static bool
lsm_scan_recheck(ScanState *node, TupleTableSlot *slot)
{
	/* the quals are checked by ExecScan; nothing else was pushed down */
	return true;
}

static TupleTableSlot *
lsm_exec_custom_scan(CustomScanState *node)
{
	return ExecScan(&node->ss, lsm_scan_next, lsm_scan_recheck);
}

static void
lsm_end_custom_scan(CustomScanState *node)
{
	LsmScanState *ss = (LsmScanState *) node;

	if (ss->scan)
		table_endscan(ss->scan);
	ss->scan = NULL;
}

static void
lsm_rescan_custom_scan(CustomScanState *node)
{
	LsmScanState *ss = (LsmScanState *) node;

	/* counters go on across rescans: EXPLAIN ANALYZE reports the sum */
	if (ss->scan)
		table_rescan(ss->scan, NULL);
	ss->zone_ready = false;
	/* as every scan node: clear the slot, rearm an EvalPlanQual test tuple */
	ExecScanReScan(&node->ss);
}

/*
 * EXPLAIN ANALYZE lines of an lsm scan's counters: the blocks and segments
 * zone maps skipped (with_skips) and the rows the delete set removed.
 */
void
lsm_explain_counters(const LsmScanCounters *c, bool with_skips, ExplainState *es)
{
	if (with_skips)
	{
		if (es->format == EXPLAIN_FORMAT_TEXT)
		{
			appendStringInfoSpaces(es->str, es->indent * 2);
			appendStringInfo(es->str,
							 "Segments Skipped: " INT64_FORMAT " of " INT64_FORMAT
							 ", Blocks Skipped: " INT64_FORMAT " of " INT64_FORMAT "\n",
							 c->segments_skipped, c->segments,
							 c->blocks_skipped, c->blocks);
		}
		else
		{
			ExplainPropertyInteger("Segments Skipped", NULL, c->segments_skipped, es);
			ExplainPropertyInteger("Segments", NULL, c->segments, es);
			ExplainPropertyInteger("Blocks Skipped", NULL, c->blocks_skipped, es);
			ExplainPropertyInteger("Blocks", NULL, c->blocks, es);
		}
	}
	ExplainPropertyInteger("Rows Removed by Deletes", NULL, c->rows_deleted, es);
}

static void
lsm_explain_custom_scan(CustomScanState *node, List *ancestors, ExplainState *es)
{
	LsmScanState *ss = (LsmScanState *) node;
	CustomScan *cscan = (CustomScan *) node->ss.ps.plan;
	TupleDesc	desc = RelationGetDescr(node->ss.ss_currentRelation);
	StringInfoData cols;
	int			i;

	initStringInfo(&cols);
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped)
			continue;
		if (bms_is_member(i + 1, ss->attrs))
		{
			if (cols.len > 0)
				appendStringInfoString(&cols, ", ");
			appendStringInfoString(&cols, quote_identifier(NameStr(att->attname)));
		}
	}
	ExplainPropertyText("Columns", cols.len > 0 ? cols.data : "(none)", es);

	if (cscan->custom_exprs != NIL)
	{
		List	   *context;
		bool		useprefix;
		char	   *str;

		context = set_deparse_context_plan(es->deparse_cxt,
										   node->ss.ps.plan, ancestors);
		useprefix = es->verbose;
		str = deparse_expression((Node *) make_ands_explicit(cscan->custom_exprs),
								 context, useprefix, false);
		ExplainPropertyText("Zone Filter", str, es);
	}

	if (es->analyze && ss->scan)
	{
		LsmScanCounters c;

		/* a parallel scan's: every participant's (lsm_scan_get_counters) */
		lsm_scan_get_counters(ss->scan, &c);
		lsm_explain_counters(&c, cscan->custom_exprs != NIL, es);
	}
}

void
lsm_customscan_register(void)
{
	lsm_path_methods.CustomName = "LSM Scan";
	lsm_path_methods.PlanCustomPath = lsm_plan_custom_path;

	lsm_plan_methods.CustomName = "LSM Scan";
	lsm_plan_methods.CreateCustomScanState = lsm_create_scan_state;
	RegisterCustomScanMethods(&lsm_plan_methods);

	lsm_exec_methods.CustomName = "LSM Scan";
	lsm_exec_methods.BeginCustomScan = lsm_begin_custom_scan;
	lsm_exec_methods.ExecCustomScan = lsm_exec_custom_scan;
	lsm_exec_methods.EndCustomScan = lsm_end_custom_scan;
	lsm_exec_methods.ReScanCustomScan = lsm_rescan_custom_scan;
	lsm_exec_methods.ExplainCustomScan = lsm_explain_custom_scan;
	lsm_exec_methods.EstimateDSMCustomScan = lsm_estimate_dsm;
	lsm_exec_methods.InitializeDSMCustomScan = lsm_initialize_dsm;
	lsm_exec_methods.ReInitializeDSMCustomScan = lsm_reinitialize_dsm;
	lsm_exec_methods.InitializeWorkerCustomScan = lsm_initialize_worker;
}
