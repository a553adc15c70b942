/*-------------------------------------------------------------------------
 *
 * lsm_colmap.c
 *	  Mapping the columns a segment was written with onto the columns a
 *	  reader wants: the read side of schema versions.
 *
 * NOTES
 *	  A segment is self-describing: its header lists, per column, the
 *	  attribute number the column was written as, how it is stored (kind
 *	  and width) and the type it had (docs/FORMAT.md section 3).  A reader
 *	  describes the table as it is now in the same terms, one descriptor
 *	  per attribute in attribute-number order, and asks where each of its
 *	  attributes comes from:
 *
 *	  - an attribute dropped by now, or dropped already when the segment
 *	    was written, reads as NULL (LSM_COLMAP_NULL);
 *	  - an attribute the segment does not have was added after it was
 *	    written and reads as its "missing value" (LSM_COLMAP_MISSING;
 *	    PostgreSQL's attmissingval, or NULL);
 *	  - otherwise the segment's column with the same attribute number.
 *	    Its storage must be the same (kind and width): only
 *	    binary-compatible type changes happen without a rewrite, and they
 *	    keep the bytes.  Anything else is LSM_ERR_SCHEMA.
 *
 *	  The type may differ (varchar(10) -> text, int4 -> oid); whether the
 *	  values' order, and so the zone maps, still hold for the new type is
 *	  the caller's decision, for which same_type says whether the type is
 *	  unchanged (a typmod only constrains values, it does not order them).
 *
 *-------------------------------------------------------------------------
 */
#include "lsm_format_int.h"

/*
 * lsm_colmap_build
 *		Fill map[0..nwant-1] (and same_type[], if not NULL) for a reader
 *		whose attribute i + 1 is described by want[i].  On LSM_ERR_SCHEMA,
 *		*bad is the index of the first attribute whose storage differs;
 *		a segment naming an attribute number twice, or 0, is
 *		LSM_ERR_CORRUPT.
 */
int
lsm_colmap_build(const LsmColumnDesc *seg, uint16_t nseg,
				 const LsmColumnDesc *want, uint16_t nwant,
				 int32_t *map, uint8_t *same_type, uint16_t *bad)
{
	uint16_t	i,
				k;

	if ((nseg > 0 && seg == NULL) || (nwant > 0 && (want == NULL || map == NULL)))
		return LSM_ERR_ARG;

	/* a column's attribute number appears once, and is never 0 */
	for (k = 0; k < nseg; k++)
	{
		uint16_t	j;

		if (seg[k].attnum == 0)
			return LSM_ERR_CORRUPT;
		for (j = 0; j < k; j++)
			if (seg[j].attnum == seg[k].attnum)
				return LSM_ERR_CORRUPT;
	}

	for (i = 0; i < nwant; i++)
	{
		const LsmColumnDesc *w = &want[i];
		int32_t		c = -1;

		if (same_type)
			same_type[i] = 0;
		map[i] = LSM_COLMAP_MISSING;
		if (w->flags & LSM_COLF_DROPPED)
		{
			map[i] = LSM_COLMAP_NULL;
			continue;
		}
		/* columns are usually where their attribute number says */
		if (i < nseg && seg[i].attnum == i + 1)
			c = i;
		else
		{
			for (k = 0; k < nseg; k++)
				if (seg[k].attnum == i + 1)
				{
					c = k;
					break;
				}
		}
		if (c < 0)
			continue;			/* added after the segment was written */
		if (seg[c].flags & LSM_COLF_DROPPED)
		{
			/*
			 * Dropped when the segment was written, live now: cannot happen
			 * in PostgreSQL (a dropped attribute number is never reused), so
			 * the segment and the table disagree about this attribute.
			 */
			if (bad)
				*bad = i;
			return LSM_ERR_SCHEMA;
		}
		if (seg[c].kind != w->kind || seg[c].width != w->width)
		{
			if (bad)
				*bad = i;
			return LSM_ERR_SCHEMA;
		}
		map[i] = c;
		if (same_type)
			same_type[i] = seg[c].type_id == w->type_id;
	}
	return LSM_OK;
}
