/*-------------------------------------------------------------------------
 *
 * decode_bench.c
 *	  Single-core micro-benchmark of chunk decoding in src/format.
 *
 * Encodes 64 blocks of 4096 int64 values per data set through the public
 * writer API (zstd off unless stated), opens the segment with the reader
 * and decodes all 64 chunks repeatedly with lsm_decode_chunk, which includes
 * the chunk checksum.  The "kernel" column times lsm_bitunpack alone on the
 * same bytes (FOR only), to show what the checksum costs.
 *
 * Prints a Markdown table.  Build and run with: make -C src/format bench
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lsm_format_int.h"

#define NBLOCKS		64
#define BLOCK_ROWS	4096
#define MIN_SECONDS	0.3

static uint64_t rng_state = 88172645463325252ULL;

static uint64_t
rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef enum
{
	DS_FOR,						/* uniform random in [base, base + 2^bits) */
	DS_DELTA,					/* increasing timestamps, random steps < 2^bits */
	DS_PLAIN,					/* random 64-bit */
	DS_ZSTD,					/* 256-value period: zstd pays off */
	DS_ROWID					/* consecutive rowids */
} DataSet;

static void
gen(DataSet ds, int bits, int64_t *v, uint32_t n, int64_t *state)
{
	uint32_t	i;

	for (i = 0; i < n; i++)
	{
		switch (ds)
		{
			case DS_FOR:
				v[i] = 1000000 + (int64_t) (rnd() & ((UINT64_C(1) << bits) - 1));
				break;
			case DS_DELTA:
				*state += (int64_t) (rnd() & ((UINT64_C(1) << bits) - 1));
				v[i] = *state;
				break;
			case DS_PLAIN:
				v[i] = (int64_t) rnd();
				break;
			case DS_ZSTD:
				v[i] = (int64_t) (((i % 256) * 2654435761u) & ((UINT64_C(1) << bits) - 1));
				break;
			case DS_ROWID:
				v[i] = (*state)++;
				break;
		}
	}
}

typedef struct Result
{
	double		vps;			/* lsm_decode_chunk values/s */
	double		kernel_vps;		/* lsm_bitunpack values/s (FOR only) */
	double		bytes_per_value;
	int			encoding;
	int			compression;
} Result;

static int
run(DataSet ds, int bits, int zstd_level, Result *res)
{
	LsmColumnDesc col;
	LsmWriterOptions o;
	LsmSegWriter *w;
	LsmSegReader *r;
	LsmColumnData cd;
	LsmDecoded	d;
	int64_t    *vals = malloc(sizeof(int64_t) * BLOCK_ROWS);
	int64_t    *rowids = malloc(sizeof(int64_t) * BLOCK_ROWS);
	uint64_t   *out = malloc(sizeof(uint64_t) * BLOCK_ROWS);
	int64_t		state = 1700000000000000LL;
	int64_t		rowid = 0;
	uint8_t    *seg;
	size_t		len;
	uint64_t	stored = 0;
	uint64_t	checksum_sink = 0;
	double		t0;
	double		t;
	long		iters;
	int			b;
	int			i;
	int			rc;

	memset(&col, 0, sizeof(col));
	col.kind = LSM_KIND_INT;
	col.width = 8;
	memset(&o, 0, sizeof(o));
	o.block_rows = BLOCK_ROWS;
	o.zstd_level = zstd_level;
	o.zstd_min_gain_pct = 10;
	w = lsm_segw_begin(&col, 1, &o, &lsm_malloc_allocator);
	for (b = 0; b < NBLOCKS; b++)
	{
		gen(ds, bits, vals, BLOCK_ROWS, &state);
		for (i = 0; i < BLOCK_ROWS; i++)
			rowids[i] = rowid++;
		memset(&cd, 0, sizeof(cd));
		cd.ints = ds == DS_ROWID ? rowids : vals;
		rc = lsm_segw_add_block(w, BLOCK_ROWS, rowids, NULL, &cd);
		if (rc != LSM_OK)
			return rc;
	}
	rc = lsm_segw_finish(w, &seg, &len);
	lsm_segw_free(w);
	if (rc != LSM_OK)
		return rc;
	rc = lsm_segr_open(seg, len, &lsm_malloc_allocator, &r);
	if (rc != LSM_OK)
		return rc;
	lsm_decoded_init(&d, &lsm_malloc_allocator);

	res->encoding = lsm_segr_block(r, 0)->cols[0].encoding;
	res->compression = lsm_segr_block(r, 0)->cols[0].compression;
	for (b = 0; b < NBLOCKS; b++)
		stored += lsm_segr_block(r, b)->cols[0].stored_len;
	res->bytes_per_value = (double) stored / (NBLOCKS * (double) BLOCK_ROWS);

	/* full decode path */
	iters = 0;
	t0 = now();
	do
	{
		for (b = 0; b < NBLOCKS; b++)
		{
			const LsmBlockInfo *blk = lsm_segr_block(r, b);

			rc = lsm_decode_chunk(&blk->cols[0], &col, blk->nrows,
								  seg + blk->cols[0].offset, &d);
			if (rc != LSM_OK)
				return rc;
			checksum_sink += (uint64_t) d.ints[b];
		}
		iters++;
		t = now() - t0;
	} while (t < MIN_SECONDS);
	res->vps = (double) iters * NBLOCKS * BLOCK_ROWS / t;

	/* bit-unpacking kernel alone */
	res->kernel_vps = 0;
	if (res->encoding == LSM_ENC_FOR && res->compression == LSM_COMP_NONE)
	{
		iters = 0;
		t0 = now();
		do
		{
			for (b = 0; b < NBLOCKS; b++)
			{
				const uint8_t *body = seg + lsm_segr_block(r, b)->cols[0].offset;

				lsm_bitunpack(body + 9, BLOCK_ROWS, body[8], lsm_load64(body), out);
				checksum_sink += out[b];
			}
			iters++;
			t = now() - t0;
		} while (t < MIN_SECONDS);
		res->kernel_vps = (double) iters * NBLOCKS * BLOCK_ROWS / t;
	}

	if (checksum_sink == 42)
		printf(" ");
	lsm_decoded_free(&d);
	lsm_segr_free(r);
	free(seg);
	free(vals);
	free(rowids);
	free(out);
	return LSM_OK;
}

static const char *
enc_name(int enc)
{
	static const char *const names[] = {"NONE", "PLAIN", "FOR", "DELTA", "RLE", "DICT", "CONST"};

	return enc >= 0 && enc <= 6 ? names[enc] : "?";
}

static void
row(const char *label, DataSet ds, int bits, int zstd_level)
{
	Result		res;
	int			rc = run(ds, bits, zstd_level, &res);
	char		kernel[32];

	if (rc != LSM_OK)
	{
		printf("| %s | error %s | | | |\n", label, lsm_status_str(rc));
		return;
	}
	if (res.kernel_vps > 0)
		snprintf(kernel, sizeof(kernel), "%.2f", res.kernel_vps / 1e9);
	else
		snprintf(kernel, sizeof(kernel), "-");
	printf("| %-28s | %-5s%s | %6.3f | %6.2f | %6s |\n", label,
		   enc_name(res.encoding), res.compression ? "+zstd" : "",
		   res.bytes_per_value, res.vps / 1e9, kernel);
}

int
main(void)
{
	static const int for_bits[] = {1, 3, 7, 8, 13, 16, 20, 31, 32, 48, 64};
	size_t		i;
	char		label[64];

	printf("%d blocks x %d int64 values, single core\n\n", NBLOCKS, BLOCK_ROWS);
	printf("| data | encoding | bytes/value | decode G values/s | kernel G values/s |\n");
	printf("|---|---|---:|---:|---:|\n");
	for (i = 0; i < sizeof(for_bits) / sizeof(for_bits[0]); i++)
	{
		if (for_bits[i] == 64)
			continue;
		snprintf(label, sizeof(label), "random %d-bit", for_bits[i]);
		row(label, DS_FOR, for_bits[i], 0);
	}
	row("timestamps, steps < 2^10", DS_DELTA, 10, 0);
	row("timestamps, steps < 2^20", DS_DELTA, 20, 0);
	row("consecutive rowids", DS_ROWID, 0, 0);
	row("random 64-bit", DS_PLAIN, 64, 0);
	snprintf(label, sizeof(label), "period-256 20-bit, zstd 3");
	row(label, DS_ZSTD, 20, 3);
	snprintf(label, sizeof(label), "period-256 20-bit, no zstd");
	row(label, DS_ZSTD, 20, 0);
	return 0;
}
