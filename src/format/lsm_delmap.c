/*-------------------------------------------------------------------------
 *
 * lsm_delmap.c
 *	  The persisted delete map of a segment: which of its rows a compaction
 *	  folded settled deletes into (docs/FORMAT.md, "Delete map").
 *
 * NOTES
 *	  A delete map is a sorted set of row offsets (rowid minus the segment's
 *	  min_rowid) stored as LEB128 varints of the gaps between consecutive
 *	  offsets, behind a small header with the count and a checksum.  Gaps
 *	  between deleted rows are small when deletes are dense and a varint of
 *	  one or two bytes when they are sparse, so the map costs about a byte
 *	  per deleted row at most, and decoding is a single forward pass.
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "lsm_format.h"
#include "lsm_format_int.h"

static void
put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) v;
	p[1] = (uint8_t) (v >> 8);
	p[2] = (uint8_t) (v >> 16);
	p[3] = (uint8_t) (v >> 24);
}

static uint32_t
get_u32(const uint8_t *p)
{
	return (uint32_t) p[0] | ((uint32_t) p[1] << 8) |
		((uint32_t) p[2] << 16) | ((uint32_t) p[3] << 24);
}

static void
put_u64(uint8_t *p, uint64_t v)
{
	put_u32(p, (uint32_t) v);
	put_u32(p + 4, (uint32_t) (v >> 32));
}

static uint64_t
get_u64(const uint8_t *p)
{
	return (uint64_t) get_u32(p) | ((uint64_t) get_u32(p + 4) << 32);
}

size_t
lsm_delmap_bound(uint32_t count)
{
	/* a varint of a 64-bit gap takes at most 10 bytes */
	return LSM_DELMAP_HEADER_SIZE + (size_t) count * 10;
}

/*
 * lsm_delmap_encode
 *		Encode `count` rowids (strictly ascending, all >= base) into out
 *		(cap bytes, at least lsm_delmap_bound(count)); *len receives the
 *		encoded length.
 */
int
lsm_delmap_encode(const int64_t *rowids, uint32_t count, int64_t base,
				  uint8_t *out, size_t cap, size_t *len)
{
	uint8_t    *p;
	uint32_t	i;
	uint64_t	prev = 0;

	if ((count > 0 && rowids == NULL) || out == NULL || len == NULL ||
		cap < lsm_delmap_bound(count))
		return LSM_ERR_ARG;
	p = out + LSM_DELMAP_HEADER_SIZE;
	for (i = 0; i < count; i++)
	{
		uint64_t	off;
		uint64_t	gap;

		if (rowids[i] < base || (i > 0 && rowids[i] <= rowids[i - 1]))
			return LSM_ERR_ARG;
		off = (uint64_t) (rowids[i] - base);
		gap = i == 0 ? off : off - prev;
		prev = off;
		while (gap >= 0x80)
		{
			*p++ = (uint8_t) (gap | 0x80);
			gap >>= 7;
		}
		*p++ = (uint8_t) gap;
	}
	put_u32(out, LSM_DELMAP_MAGIC);
	out[4] = LSM_DELMAP_VERSION;
	out[5] = 0;
	out[6] = 0;
	out[7] = 0;
	put_u32(out + 8, count);
	put_u32(out + 12, (uint32_t) (p - out - LSM_DELMAP_HEADER_SIZE));
	put_u64(out + 16, lsm_checksum(out + LSM_DELMAP_HEADER_SIZE,
								   (size_t) (p - out - LSM_DELMAP_HEADER_SIZE)));
	*len = (size_t) (p - out);
	return LSM_OK;
}

/* Check the header and checksum of a map of len bytes; *count receives its size. */
int
lsm_delmap_count(const uint8_t *in, size_t len, uint32_t *count)
{
	uint32_t	payload;

	if (in == NULL || count == NULL)
		return LSM_ERR_ARG;
	if (len < LSM_DELMAP_HEADER_SIZE)
		return LSM_ERR_CORRUPT;
	if (get_u32(in) != LSM_DELMAP_MAGIC || in[4] != LSM_DELMAP_VERSION)
		return LSM_ERR_VERSION;
	payload = get_u32(in + 12);
	if ((size_t) payload > len - LSM_DELMAP_HEADER_SIZE)
		return LSM_ERR_CORRUPT;
	if (lsm_checksum(in + LSM_DELMAP_HEADER_SIZE, payload) != get_u64(in + 16))
		return LSM_ERR_CHECKSUM;
	*count = get_u32(in + 8);
	/* every rowid takes at least one byte */
	if (*count > payload)
		return LSM_ERR_CORRUPT;
	return LSM_OK;
}

/*
 * lsm_delmap_decode
 *		Decode a map into rowids (room for the count lsm_delmap_count gave),
 *		adding base back.  The result is strictly ascending.
 */
int
lsm_delmap_decode(const uint8_t *in, size_t len, int64_t base, int64_t *rowids)
{
	uint32_t	count;
	uint32_t	i;
	const uint8_t *p;
	const uint8_t *end;
	uint64_t	off = 0;
	int			rc;

	rc = lsm_delmap_count(in, len, &count);
	if (rc != LSM_OK)
		return rc;
	if (count > 0 && rowids == NULL)
		return LSM_ERR_ARG;
	p = in + LSM_DELMAP_HEADER_SIZE;
	end = p + get_u32(in + 12);
	for (i = 0; i < count; i++)
	{
		uint64_t	gap = 0;
		int			shift = 0;

		for (;;)
		{
			if (p >= end || shift > 63)
				return LSM_ERR_CORRUPT;
			gap |= (uint64_t) (*p & 0x7F) << shift;
			if ((*p++ & 0x80) == 0)
				break;
			shift += 7;
		}
		if (i > 0 && gap == 0)
			return LSM_ERR_CORRUPT;
		off += gap;
		if (off > (uint64_t) INT64_MAX - (uint64_t) (base < 0 ? 0 : base))
			return LSM_ERR_CORRUPT;
		rowids[i] = base + (int64_t) off;
	}
	if (p != end)
		return LSM_ERR_CORRUPT;
	return LSM_OK;
}
