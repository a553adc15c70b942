/*-------------------------------------------------------------------------
 *
 * lsm_aggscan.c
 *	  "LSM Aggregate": aggregates computed inside the scan of an lsm table,
 *	  over decoded column vectors instead of one executor row at a time.
 *
 * NOTES
 *	  The planner's create_upper_paths_hook offers, for a query that groups
 *	  one lsm table (no join), a CustomScan that replaces both the scan and
 *	  the Agg node when every aggregate is one this file knows exactly:
 *	  count(*), count(col), and sum/avg/min/max over int2, int4, int8,
 *	  float4, float8, numeric (sum and avg) and date/time/timestamp[tz]
 *	  (min and max), without DISTINCT, ORDER BY or FILTER; grouped by plain
 *	  columns whose equality is hashable; WHERE and HAVING of any kind.
 *	  Anything else keeps PostgreSQL's own plan.
 *
 *	  The node reads the table with lsm_scan_next_batch: blocks of visible
 *	  rows (delete records, delete maps and own-command rules applied by
 *	  src/scan/lsm_scan.c), only the needed columns decoded, blocks skipped
 *	  by the same zone maps as the LSM Scan.  WHERE quals are evaluated per
 *	  row (a vector loop for `col op const`, the expression evaluator for
 *	  the rest), then every aggregate runs a tight loop over the block.
 *
 *	  Results are PostgreSQL's, bit for bit: integer sums use the same
 *	  int64 and int128 accumulators and the same numeric division for avg;
 *	  float sums and avg repeat float8pl/float4pl and the Youngs-Cramer
 *	  transition of float8_accum in the same row order (rowid order, the
 *	  order of a sequential scan of the table), with the same overflow
 *	  errors; min/max of floats use the btree order (NaN largest) and keep
 *	  the same one of two equal values; numeric sums are exact (scaled
 *	  int128, falling back to numeric_add beyond its range) with the
 *	  result's display scale the largest input scale, NaN and infinities
 *	  handled as numeric_sum and numeric_avg do.
 *
 *	  Plan shape: a CustomScan with scanrelid 0 whose scan tuple
 *	  (custom_scan_tlist) holds first the table's columns the node needs
 *	  (group columns, aggregate arguments, WHERE columns), then one entry
 *	  per aggregate.  setrefs.c turns the WHERE quals (custom_exprs), the
 *	  HAVING quals (plan qual) and the target list into references to it.
 *	  Each input row is stored in the column part of a tuple of that shape
 *	  to evaluate WHERE; each output row holds the group's key columns and
 *	  the aggregate results, and ExecScan applies HAVING and projects.
 *
 *	  Parallel plans: the same node, named "LSM Partial Aggregate" and
 *	  parallel-aware, runs in every participant of a Gather over the work
 *	  units it claims, and its scan tuple holds the Aggrefs in partial mode
 *	  (AGGSPLIT_INITIAL_SERIAL): it emits PostgreSQL's transition states
 *	  (lsm_aggpartial.c) for a Finalize Aggregate above the Gather, which
 *	  also applies HAVING.  PostgreSQL 15 offers extensions no hook for
 *	  partial grouping paths, so lsm_agg_add_parallel_path builds the whole
 *	  Finalize/Gather/partial path at UPPERREL_GROUP_AGG, on the partially
 *	  grouped relation the planner made.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/parallel.h"
#include "access/tableam.h"
#include "catalog/pg_aggregate.h"
#include "catalog/pg_proc.h"
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
#include "optimizer/planner.h"
#include "optimizer/restrictinfo.h"
#include "optimizer/tlist.h"
#include "parser/parsetree.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/float.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"
#include "utils/selfuncs.h"
#include "utils/spccache.h"

#include "scan/lsm_scan.h"

bool		lsm_enable_aggregate_pushdown = true;

/* What an aggregate computes (kept in plans as integers). */
typedef enum LsmAggKind
{
	LSM_AGG_COUNT_STAR = 1,
	LSM_AGG_COUNT,
	LSM_AGG_SUM_INT,			/* int2, int4 -> int8 */
	LSM_AGG_SUM_INT8,			/* int8 -> numeric */
	LSM_AGG_AVG_INT,			/* int2, int4 -> numeric */
	LSM_AGG_AVG_INT8,			/* int8 -> numeric */
	LSM_AGG_SUM_FLOAT4,
	LSM_AGG_SUM_FLOAT8,
	LSM_AGG_AVG_FLOAT,			/* float4, float8 -> float8 */
	LSM_AGG_MIN_INT,			/* integer-ordered types (see lsm_agg_kind) */
	LSM_AGG_MAX_INT,
	LSM_AGG_MIN_FLOAT4,
	LSM_AGG_MAX_FLOAT4,
	LSM_AGG_MIN_FLOAT8,
	LSM_AGG_MAX_FLOAT8,
	LSM_AGG_SUM_NUMERIC,
	LSM_AGG_AVG_NUMERIC,
	LSM_AGG_MIN_NUMERIC,
	LSM_AGG_MAX_NUMERIC
} LsmAggKind;

static int
lsm_agg_kind(Oid aggfnoid)
{
	switch (aggfnoid)
	{
		case F_COUNT_:
			return LSM_AGG_COUNT_STAR;
		case F_COUNT_ANY:
			return LSM_AGG_COUNT;
		case F_SUM_INT2:
		case F_SUM_INT4:
			return LSM_AGG_SUM_INT;
		case F_SUM_INT8:
			return LSM_AGG_SUM_INT8;
		case F_AVG_INT2:
		case F_AVG_INT4:
			return LSM_AGG_AVG_INT;
		case F_AVG_INT8:
			return LSM_AGG_AVG_INT8;
		case F_SUM_FLOAT4:
			return LSM_AGG_SUM_FLOAT4;
		case F_SUM_FLOAT8:
			return LSM_AGG_SUM_FLOAT8;
		case F_AVG_FLOAT4:
		case F_AVG_FLOAT8:
			return LSM_AGG_AVG_FLOAT;
		case F_MIN_INT2:
		case F_MIN_INT4:
		case F_MIN_INT8:
		case F_MIN_DATE:
		case F_MIN_TIME:
		case F_MIN_TIMESTAMP:
		case F_MIN_TIMESTAMPTZ:
		case F_MIN_MONEY:
			return LSM_AGG_MIN_INT;
		case F_MAX_INT2:
		case F_MAX_INT4:
		case F_MAX_INT8:
		case F_MAX_DATE:
		case F_MAX_TIME:
		case F_MAX_TIMESTAMP:
		case F_MAX_TIMESTAMPTZ:
		case F_MAX_MONEY:
			return LSM_AGG_MAX_INT;
		case F_MIN_FLOAT4:
			return LSM_AGG_MIN_FLOAT4;
		case F_MAX_FLOAT4:
			return LSM_AGG_MAX_FLOAT4;
		case F_MIN_FLOAT8:
			return LSM_AGG_MIN_FLOAT8;
		case F_MAX_FLOAT8:
			return LSM_AGG_MAX_FLOAT8;
		case F_SUM_NUMERIC:
			return LSM_AGG_SUM_NUMERIC;
		case F_AVG_NUMERIC:
			return LSM_AGG_AVG_NUMERIC;
		case F_MIN_NUMERIC:
			return LSM_AGG_MIN_NUMERIC;
		case F_MAX_NUMERIC:
			return LSM_AGG_MAX_NUMERIC;
		default:
			return 0;
	}
}

/* ---- planning ---- */

static CustomPathMethods lsm_agg_path_methods;

static double lsm_agg_group_bytes(int ngk, double key_width, int naggs);
static CustomScanMethods lsm_agg_plan_methods;
static CustomScanMethods lsm_agg_partial_plan_methods;
static CustomExecMethods lsm_agg_exec_methods;
static CustomExecMethods lsm_agg_partial_exec_methods;

/* A Var that is a user column of range table entry relid. */
static bool
lsm_is_column(Node *node, Index relid)
{
	Var		   *var = (Var *) node;

	return node != NULL && IsA(node, Var) && var->varno == relid &&
		var->varlevelsup == 0 && var->varattno > 0;
}

/*
 * Can the node compute this aggregate?  split: AGGSPLIT_SIMPLE for the
 * whole aggregate, AGGSPLIT_INITIAL_SERIAL for its partial state.
 */
static bool
lsm_agg_supported(Aggref *agg, Index relid, AggSplit split)
{
	int			kind = lsm_agg_kind(agg->aggfnoid);

	if (kind == 0 || agg->aggorder != NIL || agg->aggdistinct != NIL ||
		agg->aggfilter != NULL || agg->aggkind != AGGKIND_NORMAL ||
		agg->agglevelsup != 0 || agg->aggsplit != split ||
		agg->aggvariadic)
		return false;
	if (kind == LSM_AGG_COUNT_STAR)
		return agg->args == NIL;
	if (list_length(agg->args) != 1)
		return false;
	return lsm_is_column((Node *) ((TargetEntry *) linitial(agg->args))->expr,
						 relid);
}

/*
 * Check a grouping target or HAVING expression: every Aggref supported
 * (with the given split), every Var outside aggregates a grouping column.
 * Collects the Aggrefs.
 */
static bool
lsm_agg_check_exprs(List *exprs, Index relid, List *group_vars, List **aggs,
					AggSplit split)
{
	List	   *items = pull_var_clause((Node *) exprs,
										PVC_INCLUDE_AGGREGATES |
										PVC_INCLUDE_WINDOWFUNCS |
										PVC_INCLUDE_PLACEHOLDERS);
	ListCell   *lc;

	foreach(lc, items)
	{
		Node	   *n = lfirst(lc);

		if (IsA(n, Aggref))
		{
			if (!lsm_agg_supported((Aggref *) n, relid, split))
				return false;
			*aggs = list_append_unique(*aggs, n);
		}
		else if (IsA(n, Var))
		{
			if (!list_member(group_vars, n))
				return false;
		}
		else
			return false;		/* window functions, placeholders */
	}
	return true;
}

/*
 * The parts of an LSM Aggregate path's cost that do not depend on how many
 * processes share the scan.
 */
typedef struct LsmAggCostBase
{
	Cost		startup;		/* the quals' startup cost, disabling penalties */
	Cost		io;				/* reading the needed columns of every page */
	Cost		cpu;			/* per-row work over the whole table */
	double		blockfrac;		/* expected share of blocks read (zone maps) */
} LsmAggCostBase;

/*
 * Cost an LSM Aggregate path producing rows_out rows of target: the table
 * read, then per row the quals and a few operator costs for decoding the
 * columns and for the vector loops, far below a scan node's per-tuple cost
 * plus Agg's per-tuple transition calls.  The scan is done before the
 * first row comes out.  A partial path (divisor > 1) divides the per-row
 * work among the participants, as cost_seqscan does; reading stays
 * undivided.
 */
static void
lsm_agg_cost_path(Path *path, const LsmAggCostBase *base, double divisor,
				  double rows_out, PathTarget *target)
{
	path->rows = rows_out;
	/* the LSM Scan's discount (lsm_cost_path), so never above scan + Agg */
	path->startup_cost = base->startup +
		0.97 * base->blockfrac * (base->io + base->cpu / divisor);
	path->total_cost = path->startup_cost +
		(cpu_tuple_cost + target->cost.per_tuple) * rows_out;
}

static CustomPath *
lsm_agg_new_path(RelOptInfo *rel, PathTarget *target, Index relid, bool partial)
{
	CustomPath *cpath = makeNode(CustomPath);

	cpath->path.pathtype = T_CustomScan;
	cpath->path.parent = rel;
	cpath->path.pathtarget = target;
	cpath->path.param_info = NULL;
	cpath->path.parallel_aware = false;
	cpath->path.parallel_safe = false;
	cpath->path.parallel_workers = 0;
	cpath->path.pathkeys = NIL;
	cpath->flags = 0;
	cpath->methods = &lsm_agg_path_methods;
	cpath->custom_private = list_make2_int(relid, partial ? 1 : 0);
	return cpath;
}

/*
 * PostgreSQL's partially grouped relation for grouped_rel, if the planner
 * made one (create_partial_grouping_paths does when the grouping allows
 * partial aggregation and the input has partial paths).  Its target holds
 * the grouping columns and the Aggrefs in partial mode
 * (AGGSPLIT_INITIAL_SERIAL), exactly as the Finalize Aggregate's
 * references to them are built at setrefs time.
 */
static RelOptInfo *
lsm_agg_partial_rel(PlannerInfo *root, RelOptInfo *grouped_rel)
{
	ListCell   *lc;

	foreach(lc, root->upper_rels[UPPERREL_PARTIAL_GROUP_AGG])
	{
		RelOptInfo *rel = lfirst(lc);

		if (bms_equal(rel->relids, grouped_rel->relids))
			return rel;
	}
	return NULL;
}

/*
 * Offer the parallel plan: Finalize Aggregate over Gather over a parallel
 * LSM Aggregate that emits PostgreSQL's partial states (lsm_aggpartial.c).
 *
 * PostgreSQL 15 offers partially grouped relations to FDWs
 * (GetForeignUpperPaths) but does not call create_upper_paths_hook for
 * UPPERREL_PARTIAL_GROUP_AGG, so the whole plan is built here, at
 * UPPERREL_GROUP_AGG, with the planner's own path constructors and on the
 * partially grouped relation the planner made: the partial path's target
 * is that relation's (so the Finalize Aggregate finds its partial
 * Aggrefs), and the finalize costs are the planner's.  Without that
 * relation (no partial aggregation possible, or no parallel scan of the
 * input) nothing is offered.  Grouping is finalized by hashing: the
 * partial node hashes too, and so is disabled with enable_hashagg like
 * the serial one.
 */
static void
lsm_agg_add_parallel_path(PlannerInfo *root, RelOptInfo *input_rel,
						  RelOptInfo *grouped_rel, GroupPathExtraData *gextra,
						  Index relid, List *group_vars, double ngroups,
						  const LsmAggCostBase *base)
{
	Query	   *parse = root->parse;
	RelOptInfo *partial_rel;
	List	   *aggs = NIL;
	CustomPath *ppath;
	Path	   *gpath;
	int			workers;
	double		divisor,
				leader,
				pgroups,
				cold,
				gather_rows;

	if ((gextra->flags & GROUPING_CAN_PARTIAL_AGG) == 0 ||
		!gextra->partial_costs_set ||
		!input_rel->consider_parallel || !grouped_rel->consider_parallel ||
		(parse->groupClause != NIL && (gextra->flags & GROUPING_CAN_USE_HASH) == 0))
		return;
	partial_rel = lsm_agg_partial_rel(root, grouped_rel);
	if (partial_rel == NULL || !partial_rel->consider_parallel ||
		!lsm_agg_check_exprs(partial_rel->reltarget->exprs, relid, group_vars,
							 &aggs, AGGSPLIT_INITIAL_SERIAL))
		return;

	/* as for a Parallel Seq Scan, within the processors (see the function) */
	workers = lsm_parallel_agg_workers(input_rel);
	if (workers <= 0)
		return;
	leader = 1.0 - 0.3 * workers;
	divisor = workers + (parallel_leader_participation && leader > 0 ? leader : 0);

	pgroups = 1;
	if (group_vars != NIL)
		pgroups = estimate_num_groups(root, group_vars,
									  clamp_row_est(input_rel->rows / divisor),
									  NULL, NULL);

	ppath = lsm_agg_new_path(partial_rel, partial_rel->reltarget, relid, true);
	ppath->path.parallel_aware = true;
	ppath->path.parallel_safe = true;
	ppath->path.parallel_workers = workers;
	lsm_agg_cost_path(&ppath->path, base, divisor, pgroups,
					  partial_rel->reltarget);

	/* each worker's cold start (see lsm_parallel_cold_cost) */
	cold = lsm_parallel_cold_cost(input_rel, divisor);
	ppath->path.startup_cost += workers * cold;
	ppath->path.total_cost += workers * cold;

	gather_rows = pgroups * workers;
	gpath = (Path *) create_gather_path(root, partial_rel, &ppath->path,
										partial_rel->reltarget, NULL,
										&gather_rows);
	add_path(grouped_rel, (Path *)
			 create_agg_path(root, grouped_rel, gpath, grouped_rel->reltarget,
							 parse->groupClause != NIL ? AGG_HASHED : AGG_PLAIN,
							 AGGSPLIT_FINAL_DESERIAL,
							 parse->groupClause,
							 (List *) gextra->havingQual,
							 &gextra->agg_final_costs,
							 ngroups));
}

/*
 * create_upper_paths_hook: offer an LSM Aggregate path for the grouping of
 * a single lsm table, and its parallel form.
 */
void
lsm_aggscan_add_paths(PlannerInfo *root, UpperRelationKind stage,
					  RelOptInfo *input_rel, RelOptInfo *output_rel,
					  void *extra)
{
	Query	   *parse = root->parse;
	GroupPathExtraData *gextra = extra;
	RangeTblEntry *rte;
	Index		relid;
	List	   *group_vars = NIL;
	List	   *aggs = NIL;
	List	   *quals;
	ListCell   *lc;
	CustomPath *cpath;
	Bitmapset  *attrs = NULL;
	double		ngroups = 1;
	double		width_all = 8,
				width_need = 8;
	double		spc_seq_page_cost;
	QualCost	qcost;
	LsmAggCostBase base;
	int			i;

	if (stage != UPPERREL_GROUP_AGG || !lsm_enable_aggregate_pushdown ||
		!lsm_enable_custom_scan)
		return;
	if (input_rel->reloptkind != RELOPT_BASEREL ||
		!bms_is_empty(input_rel->lateral_relids))
		return;
	if (parse->groupingSets != NIL || parse->hasTargetSRFs ||
		gextra == NULL || gextra->patype != PARTITIONWISE_AGGREGATE_NONE)
		return;
	relid = input_rel->relid;
	rte = planner_rt_fetch(relid, root);
	if (rte->rtekind != RTE_RELATION || rte->inh || rte->tablesample != NULL ||
		(rte->relkind != RELKIND_RELATION && rte->relkind != RELKIND_MATVIEW) ||
		!lsm_relid_is_lsm(rte->relid))
		return;

	/* grouping columns: plain hashable columns */
	foreach(lc, parse->groupClause)
	{
		SortGroupClause *sgc = lfirst_node(SortGroupClause, lc);
		Node	   *expr = (Node *) get_sortgroupclause_expr(sgc, parse->targetList);

		if (!lsm_is_column(expr, relid) || !sgc->hashable)
			return;
		group_vars = lappend(group_vars, expr);
	}

	if (!lsm_agg_check_exprs(output_rel->reltarget->exprs, relid, group_vars,
							 &aggs, AGGSPLIT_SIMPLE))
		return;
	if (gextra->havingQual != NULL &&
		!lsm_agg_check_exprs((List *) gextra->havingQual, relid, group_vars,
							 &aggs, AGGSPLIT_SIMPLE))
		return;

	quals = extract_actual_clauses(input_rel->baserestrictinfo, false);
	quals = list_concat(quals, extract_actual_clauses(input_rel->baserestrictinfo, true));
	if (contain_subplans((Node *) quals))
		return;
	/* quals may read user columns only (no ctid: a TID range scan is better) */
	foreach(lc, pull_var_clause((Node *) quals, PVC_RECURSE_PLACEHOLDERS))
	{
		if (!lsm_is_column(lfirst(lc), relid))
			return;
	}

	/* columns read, for the cost */
	pull_varattnos((Node *) quals, relid, &attrs);
	pull_varattnos((Node *) group_vars, relid, &attrs);
	foreach(lc, aggs)
		pull_varattnos((Node *) ((Aggref *) lfirst(lc))->args, relid, &attrs);
	for (i = 1; i <= input_rel->max_attr; i++)
	{
		double		w = input_rel->attr_widths[i - input_rel->min_attr];

		if (w <= 0)
			w = 8;
		width_all += w;
		if (bms_is_member(i - FirstLowInvalidHeapAttributeNumber, attrs))
			width_need += w;
	}

	if (group_vars != NIL)
	{
		double		key_width = 0;

		ngroups = estimate_num_groups(root, group_vars, input_rel->rows, NULL, NULL);

		/*
		 * The groups live in memory until the scan ends: there is no spill
		 * to disk as HashAggregate has.  Leave a grouping that would not fit
		 * in hash_mem to PostgreSQL's own plans.  (Each participant of the
		 * parallel plan may meet every group.)
		 */
		foreach(lc, group_vars)
		{
			Var		   *var = lfirst(lc);
			double		w = input_rel->attr_widths[var->varattno - input_rel->min_attr];

			key_width += (w > 0 ? w : 8);
		}
		if (ngroups * lsm_agg_group_bytes(list_length(group_vars), key_width,
										  list_length(aggs)) >
			(double) get_hash_memory_limit())
			return;
	}

	get_tablespace_page_costs(input_rel->reltablespace, NULL, &spc_seq_page_cost);
	cost_qual_eval(&qcost, quals, root);
	base.blockfrac = lsm_block_fraction(root, input_rel, input_rel->baserestrictinfo);
	/*
	 * It is a sequential scan, and grouping is done by hashing: heed
	 * enable_seqscan and, with GROUP BY, enable_hashagg (tests and users
	 * turn the latter off to get a sorted GroupAggregate).
	 */
	base.startup = qcost.startup +
		(enable_seqscan ? 0 : disable_cost) +
		(group_vars != NIL && !enable_hashagg ? disable_cost : 0);
	base.io = spc_seq_page_cost * input_rel->pages * Min(1.0, width_need / width_all);
	/*
	 * Per row: decoding each needed column, the aggregates, the grouping:
	 * a quarter of an operator each, which keeps the whole below what an
	 * LSM Scan charges per row for decoding alone (lsm_cost_path).
	 */
	base.cpu = input_rel->tuples *
		(qcost.per_tuple +
		 cpu_operator_cost * 0.25 *
		 (1 + bms_num_members(attrs) + list_length(aggs) + list_length(group_vars)));
	if (bms_is_empty(attrs) && quals == NIL && group_vars == NIL)
	{
		/*
		 * count(*) alone counts blocks without deletes from their
		 * directories (lsm_scan_set_rows_only): an operator per block and
		 * the directory's pages, about 40 bytes per column and block.
		 */
		double		blocks = input_rel->tuples / lsm_block_rows;

		base.io = spc_seq_page_cost * blocks * 40.0 * (input_rel->max_attr + 3) / BLCKSZ;
		base.cpu = blocks * cpu_operator_cost;
	}

	cpath = lsm_agg_new_path(output_rel, output_rel->reltarget, relid, false);
	lsm_agg_cost_path(&cpath->path, &base, 1.0, ngroups, output_rel->reltarget);
	add_path(output_rel, &cpath->path);

	lsm_agg_add_parallel_path(root, input_rel, output_rel, gextra, relid,
							  group_vars, ngroups, &base);
}

/*
 * The WHERE quals (RestrictInfos) in the order PostgreSQL would evaluate
 * them: pseudoconstant quals first (a plain plan runs them once, in a
 * gating Result, before the scan), then the others as order_qual_clauses()
 * sorts a scan's quals: by security level (a cheap leakproof qual counts as
 * level 0) and then by cost, keeping the given order among equals.  RLS
 * and security-barrier quals thus still run before a leaky user qual, and
 * a cheap qual still guards an expensive one that could fail.
 */
typedef struct LsmQualItem
{
	Node	   *clause;
	Cost		cost;
	Index		security_level;
} LsmQualItem;

static List *
lsm_agg_order_quals(PlannerInfo *root, List *rinfos)
{
	int			n = list_length(rinfos);
	LsmQualItem *items;
	List	   *result = NIL;
	ListCell   *lc;
	int			pass,
				i,
				j,
				k = 0;

	if (n == 0)
		return NIL;
	items = palloc(sizeof(LsmQualItem) * n);
	for (pass = 0; pass < 2; pass++)
	{
		int			start = k;

		foreach(lc, rinfos)
		{
			RestrictInfo *rinfo = lfirst_node(RestrictInfo, lc);
			QualCost	qcost;

			if (rinfo->pseudoconstant != (pass == 0))
				continue;
			cost_qual_eval_node(&qcost, (Node *) rinfo, root);
			items[k].clause = (Node *) rinfo->clause;
			items[k].cost = qcost.per_tuple;
			if (rinfo->leakproof && items[k].cost < 10 * cpu_operator_cost)
				items[k].security_level = 0;
			else
				items[k].security_level = rinfo->security_level;
			k++;
		}
		/* stable insertion sort of this pass's items */
		for (i = start + 1; i < k; i++)
		{
			LsmQualItem newitem = items[i];

			for (j = i; j > start; j--)
			{
				LsmQualItem *olditem = &items[j - 1];

				if (newitem.security_level > olditem->security_level ||
					(newitem.security_level == olditem->security_level &&
					 newitem.cost >= olditem->cost))
					break;
				items[j] = *olditem;
			}
			items[j] = newitem;
		}
	}
	for (i = 0; i < k; i++)
		result = lappend(result, items[i].clause);
	pfree(items);
	return result;
}

static Plan *
lsm_agg_plan_path(PlannerInfo *root, RelOptInfo *rel, CustomPath *best_path,
				  List *tlist, List *clauses, List *custom_plans)
{
	Query	   *parse = root->parse;
	Index		relid = linitial_int(best_path->custom_private);
	bool		partial = lsecond_int(best_path->custom_private) != 0;
	AggSplit	split = partial ? AGGSPLIT_INITIAL_SERIAL : AGGSPLIT_SIMPLE;
	RelOptInfo *input_rel = find_base_rel(root, relid);
	CustomScan *cscan = makeNode(CustomScan);
	List	   *quals;
	List	   *having = NIL;
	List	   *vars = NIL;
	List	   *aggs = NIL;
	List	   *scan_tlist = NIL;
	List	   *var_attnos = NIL;
	List	   *agg_kinds = NIL;
	List	   *agg_args = NIL;
	List	   *group_pos = NIL;
	List	   *group_eqops = NIL;
	List	   *zone_flags = NIL;
	List	   *zone_clauses = NIL;
	ListCell   *lc;
	AttrNumber	resno = 1;

	quals = lsm_agg_order_quals(root, input_rel->baserestrictinfo);
	/* which of them may prune blocks (see lsm_zone_clause_safe) */
	foreach(lc, quals)
	{
		ListCell   *lr;
		bool		ok = false;

		foreach(lr, input_rel->baserestrictinfo)
		{
			RestrictInfo *rinfo = lfirst_node(RestrictInfo, lr);

			if (rinfo->clause == lfirst(lc))
			{
				ok = lsm_zone_check_clause(rinfo, relid) != NULL;
				break;
			}
		}
		zone_flags = lappend_int(zone_flags, ok ? 1 : 0);
		if (ok)
			zone_clauses = lappend(zone_clauses, lfirst(lc));
	}
	/* HAVING is the Finalize Aggregate's business in the parallel plan */
	if (!partial && root->hasHavingQual && parse->havingQual != NULL)
		having = (List *) parse->havingQual;

	/* the columns the node reads, and then the aggregates */
	foreach(lc, parse->groupClause)
	{
		SortGroupClause *sgc = lfirst_node(SortGroupClause, lc);

		vars = list_append_unique(vars,
								  get_sortgroupclause_expr(sgc, parse->targetList));
	}
	foreach(lc, pull_var_clause((Node *) quals, PVC_RECURSE_PLACEHOLDERS))
		vars = list_append_unique(vars, lfirst(lc));
	lsm_agg_check_exprs(best_path->path.pathtarget->exprs, relid, vars, &aggs,
						split);
	if (having != NIL)
		lsm_agg_check_exprs(having, relid, vars, &aggs, split);
	foreach(lc, aggs)
	{
		Aggref	   *agg = lfirst(lc);

		if (agg->args != NIL)
			vars = list_append_unique(vars,
									  ((TargetEntry *) linitial(agg->args))->expr);
	}

	foreach(lc, vars)
	{
		Var		   *var = lfirst(lc);

		scan_tlist = lappend(scan_tlist,
							 makeTargetEntry((Expr *) var, resno++, NULL, false));
		var_attnos = lappend_int(var_attnos, var->varattno);
	}
	foreach(lc, aggs)
	{
		Aggref	   *agg = lfirst(lc);
		int			arg = 0;

		scan_tlist = lappend(scan_tlist,
							 makeTargetEntry((Expr *) agg, resno++, NULL, false));
		agg_kinds = lappend_int(agg_kinds, lsm_agg_kind(agg->aggfnoid));
		if (agg->args != NIL)
			arg = ((Var *) ((TargetEntry *) linitial(agg->args))->expr)->varattno;
		agg_args = lappend_int(agg_args, arg);
	}
	foreach(lc, parse->groupClause)
	{
		SortGroupClause *sgc = lfirst_node(SortGroupClause, lc);
		Node	   *expr = (Node *) get_sortgroupclause_expr(sgc, parse->targetList);

		int			pos = 0;
		ListCell   *lc2;

		/* position of the group column in the scan tuple (0-based) */
		foreach(lc2, vars)
		{
			if (equal(lfirst(lc2), expr))
				break;
			pos++;
		}
		group_pos = lappend_int(group_pos, pos);
		group_eqops = lappend_oid(group_eqops, sgc->eqop);
	}

	cscan->scan.plan.targetlist = tlist;
	cscan->scan.plan.qual = having;
	cscan->scan.scanrelid = 0;
	cscan->flags = best_path->flags;
	cscan->custom_plans = NIL;
	cscan->custom_exprs = quals;
	cscan->custom_scan_tlist = scan_tlist;
	/*
	 * The range table index would not survive setrefs.c (subqueries are
	 * flattened with an offset); the executor finds the entry by OID.
	 */
	cscan->custom_private = list_make5(list_make1_oid(planner_rt_fetch(relid, root)->relid),
									   var_attnos,
									   agg_kinds, agg_args,
									   list_make3(group_pos, group_eqops, zone_flags));
	cscan->custom_private = lappend(cscan->custom_private,
									lsm_zone_early_params(root, zone_clauses));
	cscan->methods = partial ? &lsm_agg_partial_plan_methods : &lsm_agg_plan_methods;
	return &cscan->scan.plan;
}

/* ---- execution: accumulators ---- */

typedef struct LsmAggAcc
{
	int64		count;			/* rows (count(*)) or non-null inputs */
	int64		isum;			/* sum of int2/int4 */
	int128		wsum;			/* sum of int8; numeric: scaled sum */
	double		N,
				Sx,
				Sxx;			/* float8_accum's transition values */
	double		f8;				/* sum(float8), min/max(float8) */
	float4		f4;				/* sum(float4), min/max(float4) */
	Datum		m;				/* min/max of integer-ordered types; of
								 * numeric, a copy in aggcxt */
	bool		has;			/* min/max: a value was seen */
	/* numeric */
	int			nscale;			/* scale of wsum */
	int64		nfinite;
	int64		nan,
				pinf,
				ninf;
	Numeric		slow;			/* what did not fit in wsum, or NULL */
} LsmAggAcc;

typedef struct LsmAggGroup
{
	uint32		hash;
	Datum	   *keys;
	bool	   *keynulls;
	LsmAggAcc  *accs;
	struct LsmAggGroup *next_out;	/* output order: first seen first */
} LsmAggGroup;

/* Memory a group takes in the node's hash table (for the planner). */
static double
lsm_agg_group_bytes(int ngk, double key_width, int naggs)
{
	/* chunk headers of the group, its key arrays and accumulators */
	return MAXALIGN(sizeof(LsmAggGroup)) + 4 * 16 +
		ngk * (sizeof(Datum) + sizeof(bool)) + key_width +
		naggs * sizeof(LsmAggAcc) +
		2 * sizeof(LsmAggGroup *);	/* open addressing at most half full */
}

typedef struct LsmAggSpec
{
	int			kind;
	AttrNumber	arg;			/* table attribute, 0 for count(*) */
	int16		argwidth;		/* its typlen */
	int			pos;			/* scan tuple position (0-based) */
} LsmAggSpec;

/* A `column op constant` WHERE qual, evaluated over vectors. */
typedef struct LsmVecQual
{
	AttrNumber	attno;
	FmgrInfo	fn;
	Oid			collation;
	bool		var_left;
	ExprState  *argstate;		/* the constant side (evaluated per scan) */
	Datum		arg;
	bool		argnull;
	FunctionCallInfo fcinfo;
	bool		byref_cache;	/* by-reference column, immutable operator */
	bool		arg_ready;		/* arg evaluated for this scan */
} LsmVecQual;

typedef struct LsmAggState
{
	CustomScanState css;
	bool		partial;		/* emit partial states (parallel plan) */
	Relation	rel;
	TableScanDesc scan;
	Bitmapset  *scan_attrs;		/* attributes the scan decodes */
	Bitmapset  *scaled_attrs;	/* ... of which read as scaled integers */
	int			nvars;
	AttrNumber *var_attnos;		/* scan tuple position -> table attno */
	bool	   *var_scaled;		/* per position: read only as scaled integers
								 * where a block has them (no Datums) */
	int			naggs;
	LsmAggSpec *aggs;
	int			ngk;			/* group key columns */
	int		   *gk_pos;
	FmgrInfo   *gk_eq;
	FmgrInfo   *gk_hash;
	Oid		   *gk_coll;
	int16	   *gk_len;
	bool	   *gk_byval;
	List	   *vquals;			/* LsmVecQual */
	ExprState  *qual;			/* the other WHERE quals, or NULL */
	TupleTableSlot *inslot;		/* input row in scan-tuple shape */
	LsmZoneNode *zone;
	MemoryContext aggcxt;		/* groups, keys, numeric results */
	MemoryContext tmpcxt;		/* numeric min/max comparisons, per batch */
	/* the groups: open addressing over pointers */
	LsmAggGroup **table;
	int			table_size;		/* power of 2 */
	int			ngroups;
	LsmAggGroup *first_out;
	LsmAggGroup **last_out;
	/* output */
	bool		done;
	LsmAggGroup *next_group;
	/* per batch */
	int		   *sel;
	int		   *gidx;
	LsmAggGroup **grp;
	int			cap;
} LsmAggState;

static void lsm_agg_start_scan(LsmAggState *st, ParallelTableScanDesc pscan);

static Node *
lsm_agg_create_state(CustomScan *cscan)
{
	LsmAggState *st = palloc0(sizeof(LsmAggState));

	NodeSetTag(st, T_CustomScanState);
	st->partial = cscan->methods == &lsm_agg_partial_plan_methods;
	st->css.methods = st->partial ? &lsm_agg_partial_exec_methods :
		&lsm_agg_exec_methods;
	return (Node *) st;
}

/* Is qual `column op expr` (or `expr op column`) with a constant side? */
static LsmVecQual *
lsm_vec_qual(LsmAggState *st, Expr *qual, PlanState *ps)
{
	OpExpr	   *op;
	Node	   *l,
			   *r;
	Var		   *var;
	Node	   *other;
	LsmVecQual *vq;
	bool		var_left;

	if (!IsA(qual, OpExpr))
		return NULL;
	op = (OpExpr *) qual;
	if (list_length(op->args) != 2 || !op_strict(op->opno))
		return NULL;
	l = linitial(op->args);
	r = lsecond(op->args);
	if (IsA(l, Var) && ((Var *) l)->varno == INDEX_VAR && !contain_var_clause(r))
	{
		var = (Var *) l;
		other = r;
		var_left = true;
	}
	else if (IsA(r, Var) && ((Var *) r)->varno == INDEX_VAR && !contain_var_clause(l))
	{
		var = (Var *) r;
		other = l;
		var_left = false;
	}
	else
		return NULL;
	if (contain_volatile_functions(other) || var->varattno < 1 ||
		var->varattno > st->nvars)
		return NULL;
	vq = palloc0(sizeof(LsmVecQual));
	vq->attno = st->var_attnos[var->varattno - 1];
	fmgr_info(op->opfuncid, &vq->fn);
	vq->collation = op->inputcollid;
	vq->var_left = var_left;
	vq->argstate = ExecInitExpr((Expr *) other, ps);
	vq->byref_cache = !get_typbyval(var->vartype) &&
		func_volatile(op->opfuncid) == PROVOLATILE_IMMUTABLE;
	vq->fcinfo = palloc0(SizeForFunctionCallInfo(2));
	InitFunctionCallInfoData(*vq->fcinfo, &vq->fn, 2, vq->collation, NULL, NULL);
	return vq;
}

/*
 * The attributes only sum/avg of numeric read (not WHERE, not GROUP BY):
 * blocks that store them as scaled integers need no Datums for them.  Sets
 * st->var_scaled.
 */
static Bitmapset *
lsm_agg_scaled_attrs(LsmAggState *st, CustomScan *cscan)
{
	Bitmapset  *scaled = NULL;
	Bitmapset  *other = NULL;
	List	   *vars;
	ListCell   *lc;
	int			i;

	st->var_scaled = palloc0(sizeof(bool) * Max(st->nvars, 1));
	for (i = 0; i < st->naggs; i++)
	{
		if (st->aggs[i].kind == LSM_AGG_SUM_NUMERIC ||
			st->aggs[i].kind == LSM_AGG_AVG_NUMERIC)
			scaled = bms_add_member(scaled, st->aggs[i].arg);
		else if (st->aggs[i].kind == LSM_AGG_MIN_NUMERIC ||
				 st->aggs[i].kind == LSM_AGG_MAX_NUMERIC)
		{
			/* one group: a scaled block's best, else every row's Datum */
			if (st->ngk == 0)
				scaled = bms_add_member(scaled, st->aggs[i].arg);
			else
				other = bms_add_member(other, st->aggs[i].arg);
		}
	}
	/* quals refer to scan tuple positions (INDEX_VAR) */
	vars = pull_var_clause((Node *) cscan->custom_exprs, PVC_RECURSE_AGGREGATES |
						   PVC_RECURSE_WINDOWFUNCS | PVC_RECURSE_PLACEHOLDERS);
	foreach(lc, vars)
	{
		Var		   *var = lfirst(lc);

		if (var->varattno >= 1 && var->varattno <= st->nvars)
			other = bms_add_member(other, st->var_attnos[var->varattno - 1]);
		else
			return NULL;		/* not expected: build every Datum */
	}
	for (i = 0; i < st->ngk; i++)
		other = bms_add_member(other, st->var_attnos[st->gk_pos[i]]);
	scaled = bms_del_members(scaled, other);
	for (i = 0; i < st->nvars; i++)
		st->var_scaled[i] = bms_is_member(st->var_attnos[i], scaled);
	return scaled;
}

static void
lsm_agg_begin(CustomScanState *node, EState *estate, int eflags)
{
	LsmAggState *st = (LsmAggState *) node;
	CustomScan *cscan = (CustomScan *) node->ss.ps.plan;
	List	   *priv = cscan->custom_private;
	Oid			reloid = linitial_oid((List *) linitial(priv));
	Index		relid = 0;
	List	   *var_attnos = lsecond(priv);
	List	   *agg_kinds = lthird(priv);
	List	   *agg_args = lfourth(priv);
	List	   *groups = (List *) list_nth(priv, 4);
	List	   *group_pos = linitial(groups);
	List	   *group_eqops = lsecond(groups);
	List	   *other_quals = NIL;
	List	   *zone_quals = NIL;
	Bitmapset  *attrs = NULL;
	ListCell   *lc,
			   *lc2;
	int			i;

	/* any range table entry of the table will do: it is locked already */
	for (i = 1; i <= list_length(estate->es_range_table); i++)
	{
		RangeTblEntry *rte = exec_rt_fetch(i, estate);

		if (rte->rtekind == RTE_RELATION && rte->relid == reloid)
		{
			relid = i;
			break;
		}
	}
	if (relid == 0)
		elog(ERROR, "lsm aggregate: relation %u is not in the range table", reloid);
	st->rel = ExecOpenScanRelation(estate, relid, eflags);
	st->nvars = list_length(var_attnos);
	st->var_attnos = palloc(sizeof(AttrNumber) * Max(st->nvars, 1));
	i = 0;
	foreach(lc, var_attnos)
	{
		st->var_attnos[i++] = lfirst_int(lc);
		attrs = bms_add_member(attrs, lfirst_int(lc));
	}
	st->naggs = list_length(agg_kinds);
	st->aggs = palloc0(sizeof(LsmAggSpec) * Max(st->naggs, 1));
	i = 0;
	forboth(lc, agg_kinds, lc2, agg_args)
	{
		st->aggs[i].kind = lfirst_int(lc);
		st->aggs[i].arg = lfirst_int(lc2);
		st->aggs[i].pos = st->nvars + i;
		if (st->aggs[i].arg > 0)
			st->aggs[i].argwidth =
				TupleDescAttr(RelationGetDescr(st->rel), st->aggs[i].arg - 1)->attlen;
		i++;
	}
	st->ngk = list_length(group_pos);
	st->gk_pos = palloc(sizeof(int) * Max(st->ngk, 1));
	st->gk_eq = palloc(sizeof(FmgrInfo) * Max(st->ngk, 1));
	st->gk_hash = palloc(sizeof(FmgrInfo) * Max(st->ngk, 1));
	st->gk_coll = palloc(sizeof(Oid) * Max(st->ngk, 1));
	st->gk_len = palloc(sizeof(int16) * Max(st->ngk, 1));
	st->gk_byval = palloc(sizeof(bool) * Max(st->ngk, 1));
	i = 0;
	forboth(lc, group_pos, lc2, group_eqops)
	{
		int			pos = lfirst_int(lc);
		Oid			eqop = lfirst_oid(lc2);
		Var		   *var = (Var *) ((TargetEntry *) list_nth(cscan->custom_scan_tlist, pos))->expr;
		Oid			lhash,
					rhash;

		st->gk_pos[i] = pos;
		fmgr_info(get_opcode(eqop), &st->gk_eq[i]);
		if (!get_op_hash_functions(eqop, &lhash, &rhash) || !OidIsValid(lhash))
			elog(ERROR, "could not find hash function for operator %u", eqop);
		fmgr_info(lhash, &st->gk_hash[i]);
		st->gk_coll[i] = var->varcollid;
		get_typlenbyval(var->vartype, &st->gk_len[i], &st->gk_byval[i]);
		i++;
	}

	/*
	 * WHERE: vector loops for the leading quals that allow one, the
	 * evaluator for the rest.  Only a prefix is vectorized so that every
	 * row still meets the quals in the plan's order (see
	 * lsm_agg_order_quals): a qual is never evaluated for a row that an
	 * earlier one rejected.
	 */
	foreach(lc, cscan->custom_exprs)
	{
		LsmVecQual *vq = NULL;

		if (other_quals == NIL)
			vq = lsm_vec_qual(st, lfirst(lc), &node->ss.ps);
		if (vq != NULL)
			st->vquals = lappend(st->vquals, vq);
		else
			other_quals = lappend(other_quals, lfirst(lc));
	}
	st->qual = ExecInitQual(other_quals, &node->ss.ps);
	st->inslot = ExecAllocTableSlot(&estate->es_tupleTable,
									node->ss.ss_ScanTupleSlot->tts_tupleDescriptor,
									&TTSOpsVirtual);
	{
		List	   *zone_flags = lthird(groups);
		ListCell   *lz;

		forboth(lc, cscan->custom_exprs, lz, zone_flags)
		{
			if (lfirst_int(lz))
				zone_quals = lappend(zone_quals, lfirst(lc));
		}
	}
	st->zone = lsm_zone_compile(zone_quals, INDEX_VAR, st->var_attnos,
								st->nvars, &node->ss.ps);
	lsm_zone_set_early_params(st->zone, (List *) list_nth(priv, 5));
	st->aggcxt = AllocSetContextCreate(CurrentMemoryContext, "lsm aggregate",
									   ALLOCSET_DEFAULT_SIZES);
	st->tmpcxt = AllocSetContextCreate(CurrentMemoryContext, "lsm aggregate compare",
									   ALLOCSET_SMALL_SIZES);
	st->scan_attrs = attrs;
	st->scaled_attrs = lsm_agg_scaled_attrs(st, cscan);
	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
		return;
	/* a parallel-aware node starts when the shared scan state is set up */
	if (node->ss.ps.plan->parallel_aware)
		return;
	lsm_agg_start_scan(st, NULL);
}

/*
 * Open the table scan: the whole table, or (pscan set) the work units this
 * participant claims of a parallel scan.
 */
static void
lsm_agg_start_scan(LsmAggState *st, ParallelTableScanDesc pscan)
{
	EState	   *estate = st->css.ss.ps.state;
	MemoryContext old = MemoryContextSwitchTo(estate->es_query_cxt);

	if (pscan != NULL)
	{
		st->scan = table_beginscan_parallel(st->rel, pscan);
		lsm_scan_set_tail_to_leader(st->scan);
	}
	else
		st->scan = table_beginscan(st->rel, estate->es_snapshot, 0, NULL);
	lsm_scan_set_columns(st->scan, st->scan_attrs);
	lsm_scan_set_scaled_columns(st->scan, st->scaled_attrs);
	/* count(*) alone: no column, no qual, no group */
	if (bms_is_empty(st->scan_attrs) && st->vquals == NIL &&
		st->qual == NULL && st->ngk == 0)
		lsm_scan_set_rows_only(st->scan);
	if (st->zone)
		lsm_scan_set_filter(st->scan, lsm_zone_block_filter, st->zone);
	MemoryContextSwitchTo(old);
}

/* ---- groups ---- */

static void
lsm_agg_table_init(LsmAggState *st, int size)
{
	st->table_size = size;
	st->table = MemoryContextAllocZero(st->aggcxt, sizeof(LsmAggGroup *) * size);
}

static void
lsm_agg_insert(LsmAggState *st, LsmAggGroup *g)
{
	uint32		mask = st->table_size - 1;
	uint32		h;

	for (h = g->hash & mask; st->table[h] != NULL; h = (h + 1) & mask)
		;
	st->table[h] = g;
}

static void
lsm_agg_grow(LsmAggState *st)
{
	LsmAggGroup *g;

	pfree(st->table);
	lsm_agg_table_init(st, st->table_size * 2);
	for (g = st->first_out; g != NULL; g = g->next_out)
		lsm_agg_insert(st, g);
}

static LsmAggGroup *
lsm_agg_new_group(LsmAggState *st, uint32 hash, Datum *keys, bool *nulls)
{
	LsmAggGroup *g = MemoryContextAllocZero(st->aggcxt, sizeof(LsmAggGroup));
	int			i;

	g->hash = hash;
	g->keys = MemoryContextAlloc(st->aggcxt, sizeof(Datum) * Max(st->ngk, 1));
	g->keynulls = MemoryContextAlloc(st->aggcxt, sizeof(bool) * Max(st->ngk, 1));
	for (i = 0; i < st->ngk; i++)
	{
		MemoryContext old = MemoryContextSwitchTo(st->aggcxt);

		g->keynulls[i] = nulls[i];
		g->keys[i] = nulls[i] ? (Datum) 0 :
			datumCopy(keys[i], st->gk_byval[i], st->gk_len[i]);
		MemoryContextSwitchTo(old);
	}
	g->accs = MemoryContextAllocZero(st->aggcxt, sizeof(LsmAggAcc) * Max(st->naggs, 1));
	*st->last_out = g;
	st->last_out = &g->next_out;
	st->ngroups++;
	if (st->ngroups * 2 > st->table_size)
		lsm_agg_grow(st);
	else
		lsm_agg_insert(st, g);
	return g;
}

/* The group of a key, created if new. */
static LsmAggGroup *
lsm_agg_lookup(LsmAggState *st, Datum *keys, bool *nulls)
{
	uint32		hash = 0;
	uint32		mask = st->table_size - 1;
	uint32		h;
	int			i;

	for (i = 0; i < st->ngk; i++)
	{
		uint32		kh = 0x9e3779b9;

		if (!nulls[i])
			kh = DatumGetUInt32(FunctionCall1Coll(&st->gk_hash[i], st->gk_coll[i],
												  keys[i]));
		hash = ((hash << 5) | (hash >> 27)) ^ kh;
	}
	for (h = hash & mask;; h = (h + 1) & mask)
	{
		LsmAggGroup *g = st->table[h];
		bool		eq = true;

		if (g == NULL)
			return lsm_agg_new_group(st, hash, keys, nulls);
		if (g->hash != hash)
			continue;
		for (i = 0; i < st->ngk && eq; i++)
		{
			if (g->keynulls[i] != nulls[i])
				eq = false;
			else if (!nulls[i])
				eq = DatumGetBool(FunctionCall2Coll(&st->gk_eq[i], st->gk_coll[i],
													g->keys[i], keys[i]));
		}
		if (eq)
			return g;
	}
}

/* ---- numeric ---- */

#define LSM_I128_LIMIT	((int128) 1000000000000000000LL * (int128) 1000000000000000000LL)	/* 1e36 */

static int128 lsm_pow10_tab[39];

/* 10^e for 0 <= e <= 38 */
static inline int128
lsm_pow10_128(int e)
{
	if (lsm_pow10_tab[0] == 0)
	{
		int			i;

		lsm_pow10_tab[0] = 1;
		for (i = 1; i < 39; i++)
			lsm_pow10_tab[i] = lsm_pow10_tab[i - 1] * 10;
	}
	return lsm_pow10_tab[e];
}

/*
 * A base-10000 digit group reaching `below` (1..3) decimal places past the
 * display scale: its value at the scale in *q, exact only if those places
 * hold zeros (false otherwise, or for a group wholly below the scale).
 * Constant divisors: no division instruction.
 */
static inline bool
lsm_digit_above_scale(int dig, int below, int *q)
{
	switch (below)
	{
		case 1:
			*q = dig / 10;
			return *q * 10 == dig;
		case 2:
			*q = dig / 100;
			return *q * 100 == dig;
		case 3:
			*q = dig / 1000;
			return *q * 1000 == dig;
		default:
			return false;
	}
}

/*
 * A numeric value as a scaled integer: *val = value * 10^dscale
 * (lsm_numeric_parts reads the stored form).  Returns 1
 * (LSM_NUMERIC_FINITE) for a finite value that fits, 0 for one that does
 * not, or the special kind: 2 NaN, 3 +Inf, 4 -Inf.
 */
static int
lsm_numeric_scaled(Datum d, int128 *val, int *dscale)
{
	LsmNumericParts np;
	int			kind = lsm_numeric_parts(d, &np);
	int			weight;
	bool		neg;
	const char *digits;
	int			ndigits;
	int128		acc = 0;
	int			i;

	if (kind != LSM_NUMERIC_FINITE)
		return kind;			/* 0 malformed, or NaN / +-Inf */
	neg = np.neg;
	*dscale = np.dscale;
	weight = np.weight;
	digits = np.digits;
	ndigits = np.ndigits;
	if (*dscale > 30)
		return 0;
	/*
	 * Small values (the common numeric(p, s) case): the largest power of ten
	 * needed is below 10^17, so the whole value fits in int64 arithmetic.
	 */
	if (weight < 4 && 4 * weight + *dscale <= 14)
	{
		static const int64 p10[17] = {
			1LL, 10LL, 100LL, 1000LL, 10000LL, 100000LL, 1000000LL,
			10000000LL, 100000000LL, 1000000000LL, 10000000000LL,
			100000000000LL, 1000000000000LL, 10000000000000LL,
			100000000000000LL, 1000000000000000LL, 10000000000000000LL
		};
		int64		acc64 = 0;

		for (i = 0; i < ndigits; i++)
		{
			int16		dig;
			int			e = 4 * (weight - i) + *dscale;

			memcpy(&dig, digits + 2 * i, sizeof(int16));
			if (dig == 0)
				continue;
			if (e >= 0)
				acc64 += (int64) dig * p10[e];
			else
			{
				int			q;

				if (!lsm_digit_above_scale(dig, -e, &q))
					return 0;
				acc64 += q;
			}
		}
		*val = neg ? -(int128) acc64 : (int128) acc64;
		return 1;
	}

	for (i = 0; i < ndigits; i++)
	{
		int16		dig;
		int			e = 4 * (weight - i) + *dscale;

		memcpy(&dig, digits + 2 * i, sizeof(int16));
		if (dig == 0)
			continue;
		if (e >= 0)
		{
			if (e > 32)
				return 0;
			acc += (int128) dig * lsm_pow10_128(e);
		}
		else
		{
			int			q;

			if (!lsm_digit_above_scale(dig, -e, &q))
				return 0;
			acc += q;
		}
		if (acc >= LSM_I128_LIMIT)
			return 0;
	}
	*val = neg ? -acc : acc;
	return 1;
}

/* A scaled integer as a numeric with that display scale (at most 63). */
static Numeric
lsm_numeric_from_scaled(int128 v, int scale)
{
	char		buf[96];
	char		digits[80];
	int			n = 0;
	int			k = 0;
	bool		neg = v < 0;
	uint128		u = neg ? (uint128) (-(v + 1)) + 1 : (uint128) v;

	do
	{
		digits[n++] = '0' + (int) (u % 10);
		u /= 10;
	} while (u != 0);
	while (n <= scale)
		digits[n++] = '0';
	if (neg)
		buf[k++] = '-';
	while (n > 0)
	{
		if (n == scale)
			buf[k++] = '.';
		buf[k++] = digits[--n];
	}
	buf[k] = '\0';
	return DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(buf),
											   ObjectIdGetDatum(InvalidOid),
											   Int32GetDatum(-1)));
}

static void
lsm_numeric_add_slow(LsmAggState *st, LsmAggAcc *acc, Datum d)
{
	MemoryContext old = MemoryContextSwitchTo(st->aggcxt);
	Numeric		prev = acc->slow;

	acc->slow = prev == NULL ? DatumGetNumericCopy(d) :
		DatumGetNumeric(DirectFunctionCall2(numeric_add, NumericGetDatum(prev), d));
	if (prev != NULL)
		pfree(prev);
	MemoryContextSwitchTo(old);
}

static void
lsm_numeric_accum(LsmAggState *st, LsmAggAcc *acc, Datum d)
{
	int128		v;
	int			scale;

	switch (lsm_numeric_scaled(d, &v, &scale))
	{
		case 2:
			acc->nan++;
			return;
		case 3:
			acc->pinf++;
			return;
		case 4:
			acc->ninf++;
			return;
		case 1:
			if (scale > acc->nscale)
			{
				int128		m = lsm_pow10_128(scale - acc->nscale);

				if (acc->wsum > LSM_I128_LIMIT / m || acc->wsum < -LSM_I128_LIMIT / m)
					break;
				acc->wsum *= m;
				acc->nscale = scale;
			}
			else if (scale < acc->nscale)
			{
				/* |v| < 1e36 and the scale gap is at most 30: check first */
				int128		m = lsm_pow10_128(acc->nscale - scale);

				if (v > LSM_I128_LIMIT / m || v < -LSM_I128_LIMIT / m)
					break;
				v *= m;
			}
			if (v >= LSM_I128_LIMIT || v <= -LSM_I128_LIMIT ||
				acc->wsum + v >= LSM_I128_LIMIT || acc->wsum + v <= -LSM_I128_LIMIT)
				break;
			acc->nfinite++;
			acc->wsum += v;
			return;
		default:
			break;
	}
	/* beyond the scaled integer's range: exact numeric addition */
	acc->nfinite++;
	lsm_numeric_add_slow(st, acc, d);
}

/*
 * Add v, the sum of `count` finite numerics of display scale `scale`, each
 * as value * 10^scale (a numeric chunk stored as scaled integers,
 * lsm_numeric.c), exactly as lsm_numeric_accum would add them one by one.
 * |v| < 2^95, 0 <= scale <= LSM_NUMERIC_MAX_SCALE.
 */
static void
lsm_numeric_accum_scaled_slow(LsmAggState *st, LsmAggAcc *acc, int128 v,
							  int scale, int64 count)
{
	/* the scaled sum keeps at most 30 places, as lsm_numeric_scaled does */
	if (scale > 30)
		goto slow;
	if (scale > acc->nscale)
	{
		int128		m = lsm_pow10_128(scale - acc->nscale);

		if (acc->wsum > LSM_I128_LIMIT / m || acc->wsum < -LSM_I128_LIMIT / m)
			goto slow;
		acc->wsum *= m;
		acc->nscale = scale;
	}
	else if (scale < acc->nscale)
	{
		int128		m = lsm_pow10_128(acc->nscale - scale);

		if (v > LSM_I128_LIMIT / m || v < -LSM_I128_LIMIT / m)
			goto slow;
		v *= m;
	}
	if (v >= LSM_I128_LIMIT || v <= -LSM_I128_LIMIT ||
		acc->wsum + v >= LSM_I128_LIMIT || acc->wsum + v <= -LSM_I128_LIMIT)
		goto slow;
	acc->nfinite += count;
	acc->wsum += v;
	return;

slow:
	/* beyond the scaled integer's range: exact numeric addition */
	acc->nfinite += count;
	{
		Numeric		n = lsm_numeric_from_scaled(v, scale);

		lsm_numeric_add_slow(st, acc, NumericGetDatum(n));
		pfree(n);
	}
}

static inline void
lsm_numeric_accum_scaled(LsmAggState *st, LsmAggAcc *acc, int128 v,
						 int scale, int64 count)
{
	if (likely(scale == acc->nscale))
	{
		int128		sum = acc->wsum + v;

		if (likely(sum < LSM_I128_LIMIT && sum > -LSM_I128_LIMIT &&
				   v < LSM_I128_LIMIT && v > -LSM_I128_LIMIT))
		{
			acc->wsum = sum;
			acc->nfinite += count;
			return;
		}
	}
	lsm_numeric_accum_scaled_slow(st, acc, v, scale, count);
}

/*
 * The sum of the accumulator's finite inputs, with their largest display
 * scale (the scaled part is kept at the largest scale that fitted, and
 * numeric_add keeps the larger scale of the two).
 */
static Numeric
lsm_numeric_finite_sum(LsmAggAcc *acc)
{
	Numeric		sum = lsm_numeric_from_scaled(acc->wsum, acc->nscale);

	if (acc->slow != NULL)
		sum = DatumGetNumeric(DirectFunctionCall2(numeric_add, NumericGetDatum(sum),
												  NumericGetDatum(acc->slow)));
	return sum;
}

static Datum
lsm_numeric_final(LsmAggAcc *acc, bool avg, bool *isnull)
{
	Numeric		sum;

	*isnull = false;
	if (acc->nfinite + acc->nan + acc->pinf + acc->ninf == 0)
	{
		*isnull = true;
		return (Datum) 0;
	}
	if (acc->nan > 0 || (acc->pinf > 0 && acc->ninf > 0))
		return DirectFunctionCall3(numeric_in, CStringGetDatum("NaN"),
								   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
	if (acc->pinf > 0)
		return DirectFunctionCall3(numeric_in, CStringGetDatum("Infinity"),
								   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
	if (acc->ninf > 0)
		return DirectFunctionCall3(numeric_in, CStringGetDatum("-Infinity"),
								   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
	sum = lsm_numeric_finite_sum(acc);
	if (!avg)
		return NumericGetDatum(sum);
	return DirectFunctionCall2(numeric_div, NumericGetDatum(sum),
							   NumericGetDatum(int64_to_numeric(acc->nfinite)));
}

/* ---- the vector loops ---- */

static inline void
lsm_float_accum(LsmAggAcc *acc, double newval)
{
	double		N = acc->N;
	double		Sx = acc->Sx;
	double		Sxx = acc->Sxx;
	double		tmp;

	N += 1.0;
	Sx += newval;
	if (acc->N > 0.0)
	{
		tmp = newval * N - Sx;
		Sxx += tmp * tmp / (N * acc->N);
		if (isinf(Sx) || isinf(Sxx))
		{
			if (!isinf(acc->Sx) && !isinf(newval))
				float_overflow_error();
			Sxx = get_float8_nan();
		}
	}
	else if (isnan(newval) || isinf(newval))
		Sxx = get_float8_nan();
	acc->N = N;
	acc->Sx = Sx;
	acc->Sxx = Sxx;
}

/*
 * min or max of numeric: take v unless the state is strictly better, as
 * numeric_smaller and numeric_larger do (of equal values, 1.0 and 1.00,
 * the later one wins).  Call in st->tmpcxt (comparing may detoast there);
 * the new state is a copy in aggcxt.
 */
static void
lsm_numeric_minmax(LsmAggState *st, LsmAggAcc *acc, Datum v, bool ismin)
{
	if (acc->has)
	{
		int			c = DatumGetInt32(DirectFunctionCall2(numeric_cmp, acc->m, v));

		if (ismin ? c < 0 : c > 0)
			return;
		pfree(DatumGetPointer(acc->m));
	}
	MemoryContextSwitchTo(st->aggcxt);
	acc->m = datumCopy(v, false, -1);
	MemoryContextSwitchTo(st->tmpcxt);
	acc->has = true;
}

/*
 * Feed rows sel[0..n-1] (or 0..n-1) of a batch to aggregate a of the
 * groups grp[] (per selected row; NULL: one group g).
 */
static void
lsm_agg_feed(LsmAggState *st, int a, const LsmBatch *batch, const int *sel,
			 int n, LsmAggGroup **grp, LsmAggGroup *g)
{
	LsmAggSpec *spec = &st->aggs[a];
	const Datum *vals = spec->arg > 0 ? batch->values[spec->arg - 1] : NULL;
	const bool *nulls = spec->arg > 0 ? batch->isnull[spec->arg - 1] : NULL;
	int			i;

#define ROW(i)	(sel ? sel[i] : (i))
#define ACC(i)	(&(grp ? grp[i] : g)->accs[a])

	/*
	 * The common case of an analytic scan: one group, every row of the
	 * block, no NULL.  Loops without branches the compiler can vectorize.
	 */
	if (grp == NULL && sel == NULL && vals != NULL && batch->no_nulls != NULL &&
		batch->no_nulls[spec->arg - 1])
	{
		LsmAggAcc  *acc = &g->accs[a];

		switch (spec->kind)
		{
			case LSM_AGG_COUNT:
				acc->count += n;
				return;
			case LSM_AGG_SUM_INT:
			case LSM_AGG_AVG_INT:
				{
					int64		sum = 0;

					if (spec->argwidth == 4)
						for (i = 0; i < n; i++)
							sum += DatumGetInt32(vals[i]);
					else
						for (i = 0; i < n; i++)
							sum += lsm_datum_int64(vals[i], spec->argwidth);
					acc->isum += sum;
					acc->count += n;
				}
				return;
			case LSM_AGG_SUM_INT8:
			case LSM_AGG_AVG_INT8:
				{
					int128		sum = 0;

					for (i = 0; i < n; i++)
						sum += DatumGetInt64(vals[i]);
					acc->wsum += sum;
					acc->count += n;
				}
				return;
			default:
				break;
		}
	}

	switch (spec->kind)
	{
		case LSM_AGG_COUNT_STAR:
			if (grp == NULL)
				g->accs[a].count += n;
			else
				for (i = 0; i < n; i++)
					ACC(i)->count++;
			break;
		case LSM_AGG_COUNT:
			for (i = 0; i < n; i++)
				if (!nulls[ROW(i)])
					ACC(i)->count++;
			break;
		case LSM_AGG_SUM_INT:
		case LSM_AGG_AVG_INT:
			if (grp == NULL)
			{
				int64		sum = 0;
				int64		cnt = 0;

				/*
				 * Without branches on the NULLs, which come at random: a NULL
				 * row's Datum (whatever the decoder left there) is masked
				 * off.  int4 (the common case) without a selection vector
				 * in a loop the compiler can vectorize.
				 */
				if (sel == NULL && spec->argwidth == 4)
					for (i = 0; i < n; i++)
					{
						int64		keep = !nulls[i];

						sum += (int64) DatumGetInt32(vals[i]) & -keep;
						cnt += keep;
					}
				else
					for (i = 0; i < n; i++)
					{
						int			r = ROW(i);
						int64		keep = !nulls[r];

						sum += lsm_datum_int64(vals[r], spec->argwidth) & -keep;
						cnt += keep;
					}
				g->accs[a].isum += sum;
				g->accs[a].count += cnt;
			}
			else
				for (i = 0; i < n; i++)
				{
					int			r = ROW(i);

					if (!nulls[r])
					{
						ACC(i)->isum += lsm_datum_int64(vals[r], spec->argwidth);
						ACC(i)->count++;
					}
				}
			break;
		case LSM_AGG_SUM_INT8:
		case LSM_AGG_AVG_INT8:
			for (i = 0; i < n; i++)
			{
				int			r = ROW(i);

				if (!nulls[r])
				{
					ACC(i)->wsum += (int128) DatumGetInt64(vals[r]);
					ACC(i)->count++;
				}
			}
			break;
		case LSM_AGG_SUM_FLOAT8:
			for (i = 0; i < n; i++)
			{
				int			r = ROW(i);

				if (!nulls[r])
				{
					LsmAggAcc  *acc = ACC(i);

					acc->f8 = acc->count == 0 ? DatumGetFloat8(vals[r]) :
						float8_pl(acc->f8, DatumGetFloat8(vals[r]));
					acc->count++;
				}
			}
			break;
		case LSM_AGG_SUM_FLOAT4:
			for (i = 0; i < n; i++)
			{
				int			r = ROW(i);

				if (!nulls[r])
				{
					LsmAggAcc  *acc = ACC(i);

					acc->f4 = acc->count == 0 ? DatumGetFloat4(vals[r]) :
						float4_pl(acc->f4, DatumGetFloat4(vals[r]));
					acc->count++;
				}
			}
			break;
		case LSM_AGG_AVG_FLOAT:
			{
				bool		is4 = TupleDescAttr(RelationGetDescr(st->rel),
												spec->arg - 1)->atttypid == FLOAT4OID;

				for (i = 0; i < n; i++)
				{
					int			r = ROW(i);

					if (!nulls[r])
						lsm_float_accum(ACC(i), is4 ?
										(double) DatumGetFloat4(vals[r]) :
										DatumGetFloat8(vals[r]));
				}
			}
			break;
		case LSM_AGG_MIN_INT:
		case LSM_AGG_MAX_INT:
			{
				bool		ismin = spec->kind == LSM_AGG_MIN_INT;

				for (i = 0; i < n; i++)
				{
					int			r = ROW(i);
					LsmAggAcc  *acc;
					int64		v;

					if (nulls[r])
						continue;
					acc = ACC(i);
					v = lsm_datum_int64(vals[r], spec->argwidth);
					if (!acc->has ||
						(ismin ? v < lsm_datum_int64(acc->m, spec->argwidth) :
						 v > lsm_datum_int64(acc->m, spec->argwidth)))
						acc->m = vals[r];
					acc->has = true;
				}
			}
			break;
		case LSM_AGG_MIN_FLOAT8:
		case LSM_AGG_MAX_FLOAT8:
		case LSM_AGG_MIN_FLOAT4:
		case LSM_AGG_MAX_FLOAT4:
			{
				bool		ismin = (spec->kind == LSM_AGG_MIN_FLOAT8 ||
									 spec->kind == LSM_AGG_MIN_FLOAT4);
				bool		is4 = (spec->kind == LSM_AGG_MIN_FLOAT4 ||
								   spec->kind == LSM_AGG_MAX_FLOAT4);

				/*
				 * float4 values compare as their float8 widening does (same
				 * order, NaN above everything, -0 = 0).  float8smaller and
				 * float8larger keep the state only if strictly better.
				 */
				for (i = 0; i < n; i++)
				{
					int			r = ROW(i);
					LsmAggAcc  *acc;
					double		v,
								cur;

					if (nulls[r])
						continue;
					acc = ACC(i);
					v = is4 ? (double) DatumGetFloat4(vals[r]) : DatumGetFloat8(vals[r]);
					cur = is4 ? (double) acc->f4 : acc->f8;
					if (!acc->has ||
						!(ismin ? float8_lt(cur, v) : float8_gt(cur, v)))
					{
						if (is4)
							acc->f4 = DatumGetFloat4(vals[r]);
						else
							acc->f8 = v;
					}
					acc->has = true;
				}
			}
			break;
		case LSM_AGG_MIN_NUMERIC:
		case LSM_AGG_MAX_NUMERIC:
			{
				bool		ismin = spec->kind == LSM_AGG_MIN_NUMERIC;
				MemoryContext old = MemoryContextSwitchTo(st->tmpcxt);

				if (grp == NULL && batch->scaled != NULL &&
					batch->scaled[spec->arg - 1] != NULL)
				{
					/*
					 * A chunk of scaled integers (one display scale): its
					 * best value, then one numeric comparison.  Equal values
					 * of one scale are the same numeric, so which of them
					 * wins does not matter.  NULL rows hold 0.
					 */
					const int64 *sv = batch->scaled[spec->arg - 1];
					bool		found = false;
					int64		best = 0;

					for (i = 0; i < n; i++)
					{
						int			r = ROW(i);

						if (nulls[r])
							continue;
						if (!found || (ismin ? sv[r] < best : sv[r] > best))
							best = sv[r];
						found = true;
					}
					if (found)
						lsm_numeric_minmax(st, &g->accs[a],
										   NumericGetDatum(lsm_numeric_from_scaled(best, batch->scale[spec->arg - 1])),
										   ismin);
				}
				else
					for (i = 0; i < n; i++)
					{
						int			r = ROW(i);

						if (!nulls[r])
							lsm_numeric_minmax(st, ACC(i), vals[r], ismin);
					}
				MemoryContextSwitchTo(old);
				MemoryContextReset(st->tmpcxt);
			}
			break;
		case LSM_AGG_SUM_NUMERIC:
		case LSM_AGG_AVG_NUMERIC:
			if (batch->scaled != NULL && batch->scaled[spec->arg - 1] != NULL)
			{
				/* a chunk stored as scaled integers: no numeric to parse */
				const int64 *sv = batch->scaled[spec->arg - 1];
				int			scale = batch->scale[spec->arg - 1];

				if (grp == NULL)
				{
					/* NULL rows hold 0: only the count needs the NULLs */
					int128		sum = 0;
					int64		cnt = 0;

					if (sel == NULL && batch->no_nulls != NULL &&
						batch->no_nulls[spec->arg - 1])
					{
						for (i = 0; i < n; i++)
							sum += sv[i];
						cnt = n;
					}
					else
						for (i = 0; i < n; i++)
						{
							int			r = ROW(i);

							sum += sv[r];
							cnt += !nulls[r];
						}
					if (cnt > 0)
						lsm_numeric_accum_scaled(st, &g->accs[a], sum, scale, cnt);
				}
				else
					for (i = 0; i < n; i++)
					{
						int			r = ROW(i);

						if (!nulls[r])
							lsm_numeric_accum_scaled(st, ACC(i), sv[r], scale, 1);
					}
				break;
			}
			for (i = 0; i < n; i++)
			{
				int			r = ROW(i);

				if (!nulls[r])
					lsm_numeric_accum(st, ACC(i), vals[r]);
			}
			break;
		default:
			elog(ERROR, "unknown lsm aggregate kind %d", spec->kind);
	}
#undef ROW
#undef ACC
}

static Datum
lsm_agg_final(LsmAggState *st, int a, LsmAggAcc *acc, bool *isnull)
{
	LsmAggSpec *spec = &st->aggs[a];

	*isnull = false;
	switch (spec->kind)
	{
		case LSM_AGG_COUNT_STAR:
		case LSM_AGG_COUNT:
			return Int64GetDatum(acc->count);
		case LSM_AGG_SUM_INT:
			*isnull = acc->count == 0;
			return Int64GetDatum(acc->isum);
		case LSM_AGG_AVG_INT:
			if (acc->count == 0)
				break;
			return DirectFunctionCall2(numeric_div,
									   NumericGetDatum(int64_to_numeric(acc->isum)),
									   NumericGetDatum(int64_to_numeric(acc->count)));
		case LSM_AGG_SUM_INT8:
			if (acc->count == 0)
				break;
			return NumericGetDatum(lsm_numeric_from_scaled(acc->wsum, 0));
		case LSM_AGG_AVG_INT8:
			if (acc->count == 0)
				break;
			return DirectFunctionCall2(numeric_div,
									   NumericGetDatum(lsm_numeric_from_scaled(acc->wsum, 0)),
									   NumericGetDatum(int64_to_numeric(acc->count)));
		case LSM_AGG_SUM_FLOAT8:
			*isnull = acc->count == 0;
			return Float8GetDatum(acc->f8);
		case LSM_AGG_SUM_FLOAT4:
			*isnull = acc->count == 0;
			return Float4GetDatum(acc->f4);
		case LSM_AGG_AVG_FLOAT:
			if (acc->N == 0.0)
				break;
			return Float8GetDatum(acc->Sx / acc->N);
		case LSM_AGG_MIN_INT:
		case LSM_AGG_MAX_INT:
		case LSM_AGG_MIN_NUMERIC:
		case LSM_AGG_MAX_NUMERIC:
			*isnull = !acc->has;
			return acc->m;
		case LSM_AGG_MIN_FLOAT8:
		case LSM_AGG_MAX_FLOAT8:
			*isnull = !acc->has;
			return Float8GetDatum(acc->f8);
		case LSM_AGG_MIN_FLOAT4:
		case LSM_AGG_MAX_FLOAT4:
			*isnull = !acc->has;
			return Float4GetDatum(acc->f4);
		case LSM_AGG_SUM_NUMERIC:
			return lsm_numeric_final(acc, false, isnull);
		case LSM_AGG_AVG_NUMERIC:
			return lsm_numeric_final(acc, true, isnull);
	}
	*isnull = true;
	return (Datum) 0;
}

/*
 * The partial state of aggregate a for a Finalize Aggregate (the parallel
 * plan): what PostgreSQL's transition functions would have built from the
 * same rows, serialized as its serialization functions do (see
 * lsm_aggpartial.c).  A strict transition function's state is NULL until
 * a non-null input came; an internal state is sent as NULL then too (the
 * combine functions skip it, and no input gives the same NULL result).
 */
static Datum
lsm_agg_partial(LsmAggState *st, int a, LsmAggAcc *acc, bool *isnull)
{
	LsmAggSpec *spec = &st->aggs[a];

	*isnull = false;
	switch (spec->kind)
	{
		case LSM_AGG_COUNT_STAR:
		case LSM_AGG_COUNT:
			return Int64GetDatum(acc->count);
		case LSM_AGG_SUM_INT:
			*isnull = acc->count == 0;
			return Int64GetDatum(acc->isum);
		case LSM_AGG_AVG_INT:
			return lsm_partial_int8_pair(acc->count, acc->isum);
		case LSM_AGG_SUM_INT8:
		case LSM_AGG_AVG_INT8:
			if (acc->count == 0)
				break;
			return lsm_partial_int8_sum(acc->count,
										lsm_numeric_from_scaled(acc->wsum, 0));
		case LSM_AGG_SUM_FLOAT8:
			*isnull = acc->count == 0;
			return Float8GetDatum(acc->f8);
		case LSM_AGG_SUM_FLOAT4:
			*isnull = acc->count == 0;
			return Float4GetDatum(acc->f4);
		case LSM_AGG_AVG_FLOAT:
			return lsm_partial_float8_triple(acc->N, acc->Sx, acc->Sxx);
		case LSM_AGG_MIN_INT:
		case LSM_AGG_MAX_INT:
		case LSM_AGG_MIN_FLOAT8:
		case LSM_AGG_MAX_FLOAT8:
		case LSM_AGG_MIN_FLOAT4:
		case LSM_AGG_MAX_FLOAT4:
		case LSM_AGG_MIN_NUMERIC:
		case LSM_AGG_MAX_NUMERIC:
			/* the state is the value itself */
			return lsm_agg_final(st, a, acc, isnull);
		case LSM_AGG_SUM_NUMERIC:
		case LSM_AGG_AVG_NUMERIC:
			if (acc->nfinite + acc->nan + acc->pinf + acc->ninf == 0)
				break;
			return lsm_partial_numeric_sum(acc->nfinite,
										   lsm_numeric_finite_sum(acc),
										   acc->nan, acc->pinf, acc->ninf);
	}
	*isnull = true;
	return (Datum) 0;
}

/* ---- running it ---- */

static void
lsm_agg_ensure_cap(LsmAggState *st, int n)
{
	if (n <= st->cap)
		return;
	st->cap = Max(n, 1024);
	st->sel = MemoryContextAlloc(st->aggcxt, sizeof(int) * st->cap);
	st->grp = MemoryContextAlloc(st->aggcxt, sizeof(LsmAggGroup *) * st->cap);
}

/* Apply the WHERE quals to a batch; returns the rows kept in st->sel. */
static int
lsm_agg_filter(LsmAggState *st, const LsmBatch *batch, const int **selp)
{
	ExprContext *econtext = st->css.ss.ps.ps_ExprContext;
	const int  *in = batch->sel;
	int			n = batch->nsel;
	int		   *out;
	ListCell   *lc;
	int			i,
				k;

	if (st->vquals == NIL && st->qual == NULL)
	{
		*selp = in;
		return n;
	}
	lsm_agg_ensure_cap(st, batch->nrows);
	out = st->sel;
	k = 0;
	for (i = 0; i < n; i++)
		out[k++] = in ? in[i] : i;
	n = k;

	foreach(lc, st->vquals)
	{
		LsmVecQual *vq = lfirst(lc);
		const Datum *vals = batch->values[vq->attno - 1];
		const bool *nulls = batch->isnull[vq->attno - 1];
		FunctionCallInfo fcinfo = vq->fcinfo;

		if (n == 0)
			break;
		if (!vq->arg_ready)
		{
			/*
			 * The constant side, evaluated when a row first needs it, as the
			 * executor would (an initPlan in it runs then, or never).
			 */
			ExprContext *ec = st->css.ss.ps.ps_ExprContext;
			MemoryContext old = MemoryContextSwitchTo(st->aggcxt);
			int16		len;
			bool		byval;

			vq->arg = ExecEvalExpr(vq->argstate, ec, &vq->argnull);
			get_typlenbyval(exprType((Node *) vq->argstate->expr), &len, &byval);
			if (!vq->argnull)
				vq->arg = datumCopy(vq->arg, byval, len);
			MemoryContextSwitchTo(old);
			vq->arg_ready = true;
		}
		if (vq->argnull)
			return 0;
		fcinfo->args[0].isnull = false;
		fcinfo->args[1].isnull = false;
		fcinfo->args[vq->var_left ? 1 : 0].value = vq->arg;
		k = 0;
		if (vq->byref_cache)
		{
			/*
			 * Dictionary-encoded values of a block share their bytes: with
			 * an immutable operator the answer for one pointer is the
			 * answer for every row that has it (within this batch).
			 */
			Datum		ckey[64];
			int8		cres[64];

			memset(cres, -1, sizeof(cres));
			for (i = 0; i < n; i++)
			{
				int			r = out[i];
				uint32		c;
				bool		pass;

				if (nulls[r])
					continue;
				c = (uint32) ((vals[r] >> 3) ^ (vals[r] >> 11)) & 63;
				if (cres[c] >= 0 && ckey[c] == vals[r])
					pass = cres[c] > 0;
				else
				{
					Datum		res;

					fcinfo->args[vq->var_left ? 0 : 1].value = vals[r];
					fcinfo->isnull = false;
					res = FunctionCallInvoke(fcinfo);
					pass = !fcinfo->isnull && DatumGetBool(res);
					ckey[c] = vals[r];
					cres[c] = pass ? 1 : 0;
				}
				if (pass)
					out[k++] = r;
			}
		}
		else
		{
			for (i = 0; i < n; i++)
			{
				int			r = out[i];
				Datum		res;

				if (nulls[r])
					continue;
				fcinfo->args[vq->var_left ? 0 : 1].value = vals[r];
				fcinfo->isnull = false;
				res = FunctionCallInvoke(fcinfo);
				if (!fcinfo->isnull && DatumGetBool(res))
					out[k++] = r;
			}
		}
		n = k;
	}
	if (st->qual != NULL)
	{
		TupleTableSlot *slot = st->inslot;

		k = 0;
		for (i = 0; i < n; i++)
		{
			int			r = out[i];
			int			v;

			ExecClearTuple(slot);
			for (v = 0; v < st->nvars; v++)
			{
				if (st->var_scaled[v])
				{
					/* not referenced by the quals; may have no Datum */
					slot->tts_values[v] = (Datum) 0;
					slot->tts_isnull[v] = true;
					continue;
				}
				slot->tts_values[v] = batch->values[st->var_attnos[v] - 1][r];
				slot->tts_isnull[v] = batch->isnull[st->var_attnos[v] - 1][r];
			}
			for (v = st->nvars; v < slot->tts_tupleDescriptor->natts; v++)
				slot->tts_isnull[v] = true;
			ExecStoreVirtualTuple(slot);
			econtext->ecxt_scantuple = slot;
			if (ExecQual(st->qual, econtext))
				out[k++] = r;
			ResetExprContext(econtext);
		}
		n = k;
	}
	*selp = out;
	return n;
}

/* Group of each selected row into st->grp (one or more group columns). */
static void
lsm_agg_group_rows(LsmAggState *st, const LsmBatch *batch, const int *sel, int n)
{
	Datum		keys[INDEX_MAX_KEYS];
	bool		nulls[INDEX_MAX_KEYS];
	/* a small cache: the same key Datum (a dictionary entry) -> its group */
	Datum		ckey[256];
	LsmAggGroup *cgrp[256];
	bool		single = st->ngk == 1;
	int			i,
				k;

	lsm_agg_ensure_cap(st, batch->nrows);
	memset(cgrp, 0, sizeof(cgrp));
	for (i = 0; i < n; i++)
	{
		int			r = sel ? sel[i] : i;

		for (k = 0; k < st->ngk; k++)
		{
			AttrNumber	attno = st->var_attnos[st->gk_pos[k]];

			keys[k] = batch->values[attno - 1][r];
			nulls[k] = batch->isnull[attno - 1][r];
		}
		if (single && !nulls[0])
		{
			uint32		c = (uint32) (((uint64) keys[0] * UINT64CONST(0x9E3779B97F4A7C15)) >> 56);

			if (cgrp[c] != NULL && ckey[c] == keys[0])
			{
				st->grp[i] = cgrp[c];
				continue;
			}
			st->grp[i] = lsm_agg_lookup(st, keys, nulls);
			ckey[c] = keys[0];
			cgrp[c] = st->grp[i];
			continue;
		}
		st->grp[i] = lsm_agg_lookup(st, keys, nulls);
	}
}

static void
lsm_agg_run(LsmAggState *st)
{
	ExprContext *econtext = st->css.ss.ps.ps_ExprContext;
	LsmBatch	batch;
	ListCell   *lc;
	LsmAggGroup *single = NULL;

	/* a parallel-aware plan run without parallel mode: the whole table */
	if (st->scan == NULL)
		lsm_agg_start_scan(st, NULL);

	st->first_out = NULL;
	st->last_out = &st->first_out;
	st->ngroups = 0;
	lsm_agg_table_init(st, 64);

	/* values of the zone quals and of the vector quals' constant sides */
	if (st->zone)
		lsm_zone_prepare(st->zone, econtext);
	foreach(lc, st->vquals)
		((LsmVecQual *) lfirst(lc))->arg_ready = false;
	ResetExprContext(econtext);

	if (st->ngk == 0)
		single = lsm_agg_lookup(st, NULL, NULL);

	while (lsm_scan_next_batch(st->scan, &batch))
	{
		const int  *sel;
		int			n = lsm_agg_filter(st, &batch, &sel);
		int			a;

		if (n == 0)
			continue;
		if (single == NULL)
			lsm_agg_group_rows(st, &batch, sel, n);
		for (a = 0; a < st->naggs; a++)
			lsm_agg_feed(st, a, &batch, sel, n, single ? NULL : st->grp, single);
	}
	st->next_group = st->first_out;
	st->done = true;
}

static TupleTableSlot *
lsm_agg_next(ScanState *node)
{
	LsmAggState *st = (LsmAggState *) node;
	TupleTableSlot *slot = node->ss_ScanTupleSlot;
	LsmAggGroup *g;
	int			natts = slot->tts_tupleDescriptor->natts;
	int			i;

	if (!st->done)
		lsm_agg_run(st);
	g = st->next_group;
	if (g == NULL)
		return NULL;
	st->next_group = g->next_out;

	ExecClearTuple(slot);
	for (i = 0; i < natts; i++)
		slot->tts_isnull[i] = true;
	for (i = 0; i < st->ngk; i++)
	{
		slot->tts_values[st->gk_pos[i]] = g->keys[i];
		slot->tts_isnull[st->gk_pos[i]] = g->keynulls[i];
	}
	for (i = 0; i < st->naggs; i++)
	{
		MemoryContext old = MemoryContextSwitchTo(st->aggcxt);
		bool	   *isnull = &slot->tts_isnull[st->aggs[i].pos];

		slot->tts_values[st->aggs[i].pos] = st->partial ?
			lsm_agg_partial(st, i, &g->accs[i], isnull) :
			lsm_agg_final(st, i, &g->accs[i], isnull);
		MemoryContextSwitchTo(old);
	}
	return ExecStoreVirtualTuple(slot);
}

static bool
lsm_agg_recheck(ScanState *node, TupleTableSlot *slot)
{
	return true;
}

static TupleTableSlot *
lsm_agg_exec(CustomScanState *node)
{
	return ExecScan(&node->ss, lsm_agg_next, lsm_agg_recheck);
}

static void
lsm_agg_end(CustomScanState *node)
{
	LsmAggState *st = (LsmAggState *) node;

	if (st->scan)
		table_endscan(st->scan);
	st->scan = NULL;
}

static void
lsm_agg_rescan(CustomScanState *node)
{
	LsmAggState *st = (LsmAggState *) node;

	/* parameters may have changed: aggregate again from the start */
	if (st->scan)
		table_rescan(st->scan, NULL);
	MemoryContextReset(st->aggcxt);
	st->cap = 0;
	st->done = false;
	st->next_group = NULL;
	ExecScanReScan(&node->ss);
}

/* ---- parallel execution (the partial node; as nodeSeqscan.c) ---- */

static Size
lsm_agg_estimate_dsm(CustomScanState *node, ParallelContext *pcxt)
{
	LsmAggState *st = (LsmAggState *) node;

	return table_parallelscan_estimate(st->rel, node->ss.ps.state->es_snapshot);
}

static void
lsm_agg_initialize_dsm(CustomScanState *node, ParallelContext *pcxt,
					   void *coordinate)
{
	LsmAggState *st = (LsmAggState *) node;
	ParallelTableScanDesc pscan = coordinate;

	table_parallelscan_initialize(st->rel, pscan, node->ss.ps.state->es_snapshot);
	lsm_agg_start_scan(st, pscan);
}

/*
 * A rescan of the Gather: hand out every work unit again.  The leader's
 * own state is reset by lsm_agg_rescan, which the executor calls before
 * the node runs again.
 */
static void
lsm_agg_reinitialize_dsm(CustomScanState *node, ParallelContext *pcxt,
						 void *coordinate)
{
	LsmAggState *st = (LsmAggState *) node;

	table_parallelscan_reinitialize(st->rel, (ParallelTableScanDesc) coordinate);
}

static void
lsm_agg_initialize_worker(CustomScanState *node, shm_toc *toc, void *coordinate)
{
	lsm_agg_start_scan((LsmAggState *) node, (ParallelTableScanDesc) coordinate);
}

static void
lsm_agg_explain(CustomScanState *node, List *ancestors, ExplainState *es)
{
	LsmAggState *st = (LsmAggState *) node;
	CustomScan *cscan = (CustomScan *) node->ss.ps.plan;
	TupleDesc	desc = RelationGetDescr(st->rel);
	StringInfoData cols;
	int			i;

	ExplainPropertyText("Relation", RelationGetRelationName(st->rel), es);
	initStringInfo(&cols);
	for (i = 0; i < st->nvars; i++)
	{
		if (cols.len > 0)
			appendStringInfoString(&cols, ", ");
		appendStringInfoString(&cols,
							   quote_identifier(NameStr(TupleDescAttr(desc, st->var_attnos[i] - 1)->attname)));
	}
	ExplainPropertyText("Columns", cols.len > 0 ? cols.data : "(none)", es);
	if (st->ngk > 0)
		ExplainPropertyInteger("Group Columns", NULL, st->ngk, es);
	if (cscan->custom_exprs != NIL)
	{
		List	   *context;
		char	   *str;

		context = set_deparse_context_plan(es->deparse_cxt, node->ss.ps.plan,
										   ancestors);
		str = deparse_expression((Node *) make_ands_explicit(cscan->custom_exprs),
								 context, false, false);
		ExplainPropertyText("Row Filter", str, es);
	}
	if (es->analyze && st->scan)
	{
		LsmScanCounters c;

		/* a parallel scan's: every participant's (lsm_scan_get_counters) */
		lsm_scan_get_counters(st->scan, &c);
		lsm_explain_counters(&c, st->zone != NULL, es);
	}
}

void
lsm_aggscan_register(void)
{
	lsm_agg_path_methods.CustomName = "LSM Aggregate";
	lsm_agg_path_methods.PlanCustomPath = lsm_agg_plan_path;

	lsm_agg_plan_methods.CustomName = "LSM Aggregate";
	lsm_agg_plan_methods.CreateCustomScanState = lsm_agg_create_state;
	RegisterCustomScanMethods(&lsm_agg_plan_methods);

	lsm_agg_exec_methods.CustomName = "LSM Aggregate";
	lsm_agg_exec_methods.BeginCustomScan = lsm_agg_begin;
	lsm_agg_exec_methods.ExecCustomScan = lsm_agg_exec;
	lsm_agg_exec_methods.EndCustomScan = lsm_agg_end;
	lsm_agg_exec_methods.ReScanCustomScan = lsm_agg_rescan;
	lsm_agg_exec_methods.ExplainCustomScan = lsm_agg_explain;

	/*
	 * The parallel plan's partial node: the same node emitting partial
	 * states, named apart so that EXPLAIN tells it from the whole one.
	 */
	lsm_agg_partial_plan_methods.CustomName = "LSM Partial Aggregate";
	lsm_agg_partial_plan_methods.CreateCustomScanState = lsm_agg_create_state;
	RegisterCustomScanMethods(&lsm_agg_partial_plan_methods);

	lsm_agg_partial_exec_methods = lsm_agg_exec_methods;
	lsm_agg_partial_exec_methods.CustomName = "LSM Partial Aggregate";
	lsm_agg_partial_exec_methods.EstimateDSMCustomScan = lsm_agg_estimate_dsm;
	lsm_agg_partial_exec_methods.InitializeDSMCustomScan = lsm_agg_initialize_dsm;
	lsm_agg_partial_exec_methods.ReInitializeDSMCustomScan = lsm_agg_reinitialize_dsm;
	lsm_agg_partial_exec_methods.InitializeWorkerCustomScan = lsm_agg_initialize_worker;
}
