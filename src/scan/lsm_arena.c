/*-------------------------------------------------------------------------
 *
 * lsm_arena.c
 *	  Memory for the per-backend cache of segment directories, taken from
 *	  runs of address space the kernel may back with transparent huge pages.
 *
 * NOTES
 *	  The first scan of a table in a process reads and parses the directory
 *	  of every segment it visits: for a segment of 131,072 rows of an
 *	  eleven-column table, about 95 kB of meta area and 140 kB of parsed
 *	  chunk entries.  In a fresh process -- a new session, and every
 *	  parallel worker, whose life is one query -- all of it is memory the
 *	  process touches for the first time, and with the 4 kB pages malloc
 *	  gets, taking those page faults was two thirds of the time to open a
 *	  segment (perf of first count(*)s of a 39-segment table in new
 *	  sessions: 19-23 ms against 7-9 ms once the directories were cached;
 *	  10-11 ms with the cache in huge pages).  So the cache allocates from
 *	  runs of its own, mapped with mmap and marked MADV_HUGEPAGE: where
 *	  transparent huge pages are enabled ("always" or "madvise", the Linux
 *	  defaults), one fault maps 2 MB.  Elsewhere the runs are ordinary
 *	  anonymous memory and nothing is lost.
 *
 *	  Allocation bumps a pointer; the cache is emptied wholesale
 *	  (lsm_arena_reset unmaps every run but one), so single frees are
 *	  no-ops.  Each
 *	  allocation carries its size, for realloc.  If mmap fails (a strict
 *	  overcommit limit, say) the arena falls back on palloc in the
 *	  fallback context, which the owner resets along with the arena.  Runs
 *	  are mapped as needed, 8 MB at a time, so the address space and commit
 *	  charge follow what the cache holds.  The memory is not part of any
 *	  memory context: pg_backend_memory_contexts does not show it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/mman.h>

#include "utils/memutils.h"

#include "scan/lsm_scan.h"

#define LSM_ARENA_HUGE		((Size) 2 * 1024 * 1024)
#define LSM_ARENA_RUN		((Size) 8 * 1024 * 1024)

/* Each allocation starts with its size (keeps MAXALIGN alignment). */
#define LSM_ARENA_HDR		MAXALIGN(sizeof(Size))

typedef struct LsmArenaRun
{
	struct LsmArenaRun *next;
	Size		size;			/* bytes mapped, this header included */
} LsmArenaRun;

#define LSM_ARENA_RUN_HDR	MAXALIGN(sizeof(LsmArenaRun))

/*
 * Map a run of at least `size` bytes, starting on a huge-page boundary so
 * that the kernel can back all of it with huge pages.  NULL if mmap fails.
 */
static LsmArenaRun *
lsm_arena_map(Size size)
{
	Size		len = TYPEALIGN(LSM_ARENA_HUGE, size);
	char	   *p;
	char	   *start;
	Size		head;

	/* over-map by one huge page and give back the unaligned ends */
	p = mmap(NULL, len + LSM_ARENA_HUGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	start = (char *) TYPEALIGN(LSM_ARENA_HUGE, p);
	head = start - p;
	if (head > 0)
		munmap(p, head);
	if (LSM_ARENA_HUGE - head > 0)
		munmap(start + len, LSM_ARENA_HUGE - head);
#ifdef MADV_HUGEPAGE
	/* advice only: without transparent huge pages it changes nothing */
	(void) madvise(start, len, MADV_HUGEPAGE);
#endif
	((LsmArenaRun *) start)->next = NULL;
	((LsmArenaRun *) start)->size = len;
	return (LsmArenaRun *) start;
}

void
lsm_arena_init(LsmArena *a, MemoryContext fallback)
{
	memset(a, 0, sizeof(LsmArena));
	a->fallback = fallback;
}

void *
lsm_arena_alloc(LsmArena *a, Size size)
{
	Size		need = LSM_ARENA_HDR + MAXALIGN(size);
	char	   *p;

	if (a->runs == NULL || a->used + need > a->runs->size)
	{
		LsmArenaRun *run = lsm_arena_map(Max(LSM_ARENA_RUN,
											 LSM_ARENA_RUN_HDR + need));

		if (run == NULL)
		{
			p = MemoryContextAllocHuge(a->fallback, need);
			a->bytes += need;
			*(Size *) p = size;
			return p + LSM_ARENA_HDR;
		}
		run->next = a->runs;
		a->runs = run;
		a->used = LSM_ARENA_RUN_HDR;
		a->mapped += run->size;
	}
	p = (char *) a->runs + a->used;
	a->used += need;
	a->bytes += need;
	*(Size *) p = size;
	return p + LSM_ARENA_HDR;
}

/* Is ptr in one of the arena's runs (else it came from the fallback)? */
static bool
lsm_arena_owns(const LsmArena *a, const void *ptr)
{
	const LsmArenaRun *run;

	for (run = a->runs; run != NULL; run = run->next)
		if ((const char *) ptr > (const char *) run &&
			(const char *) ptr < (const char *) run + run->size)
			return true;
	return false;
}

void
lsm_arena_free(LsmArena *a, void *ptr)
{
	if (ptr == NULL || lsm_arena_owns(a, ptr))
		return;
	pfree((char *) ptr - LSM_ARENA_HDR);
}

/*
 * Empty the arena: unmap every run but one of the standard size, kept for
 * reuse since its pages are mapped already (the compaction worker, which
 * opens thousands of small level-0 segments, empties its cache often and
 * would otherwise fault in fresh pages each time).  The owner resets the
 * fallback context itself.
 */
void
lsm_arena_reset(LsmArena *a)
{
	LsmArenaRun *keep = NULL;

	while (a->runs != NULL)
	{
		LsmArenaRun *next = a->runs->next;

		if (keep == NULL && a->runs->size == LSM_ARENA_RUN)
		{
			keep = a->runs;
			keep->next = NULL;
		}
		else
			munmap(a->runs, a->runs->size);
		a->runs = next;
	}
	a->runs = keep;
	a->used = keep != NULL ? LSM_ARENA_RUN_HDR : 0;
	a->mapped = keep != NULL ? keep->size : 0;
	a->bytes = 0;
}

/* ---- the format library's allocator interface ---- */

static void *
lsm_arena_alloc_cb(void *ctx, size_t size)
{
	return lsm_arena_alloc((LsmArena *) ctx, size);
}

static void *
lsm_arena_realloc_cb(void *ctx, void *ptr, size_t size)
{
	LsmArena   *a = (LsmArena *) ctx;
	void	   *q;

	if (ptr == NULL)
		return lsm_arena_alloc(a, size);
	q = lsm_arena_alloc(a, size);
	memcpy(q, ptr, Min(size, *(Size *) ((char *) ptr - LSM_ARENA_HDR)));
	lsm_arena_free(a, ptr);
	return q;
}

static void
lsm_arena_free_cb(void *ctx, void *ptr)
{
	lsm_arena_free((LsmArena *) ctx, ptr);
}

LsmAllocator
lsm_arena_allocator(LsmArena *a)
{
	LsmAllocator alloc;

	alloc.alloc = lsm_arena_alloc_cb;
	alloc.realloc = lsm_arena_realloc_cb;
	alloc.free = lsm_arena_free_cb;
	alloc.ctx = a;
	return alloc;
}
