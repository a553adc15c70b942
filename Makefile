# lsm_am — a log-structured, columnar table access method for PostgreSQL.
#
# make && make install            build and install (PGXS)
# make installcheck               pg_regress + isolation + TAP against a temporary
#                                 instance that preloads lsm_am (run as non-root)
# make -C src/format test         format unit tests, no server needed
# scripts/test.sh                 the whole suite (what CI runs)

MODULE_big = lsm_am
EXTENSION = lsm_am
DATA = src/lsm_am--0.1.sql
PGFILEDESC = "lsm_am - log-structured columnar table access method"

FORMAT_OBJS = src/format/lsm_checksum.o src/format/lsm_bitpack.o \
	src/format/lsm_encode.o src/format/lsm_decode.o src/format/lsm_segment.o \
	src/format/lsm_delmap.o src/format/lsm_colmap.o

OBJS = \
	$(WIN32RES) \
	$(FORMAT_OBJS) \
	src/lsm_am.o \
	src/sql_api.o \
	src/storage/lsm_metapage.o \
	src/storage/lsm_pages.o \
	src/catalog/lsm_catalog.o \
	src/catalog/lsm_schema.o \
	src/catalog/lsm_delcache.o \
	src/catalog/lsm_options.o \
	src/txn/lsm_memtable.o \
	src/txn/lsm_flush.o \
	src/txn/lsm_dml.o \
	src/txn/lsm_reserve.o \
	src/txn/lsm_specins.o \
	src/scan/lsm_segread.o \
	src/scan/lsm_arena.o \
	src/scan/lsm_dircache.o \
	src/scan/lsm_numeric.o \
	src/scan/lsm_scan.o \
	src/scan/lsm_customscan.o \
	src/scan/lsm_zoneorder.o \
	src/scan/lsm_aggscan.o \
	src/scan/lsm_aggpartial.o \
	src/scan/lsm_fetch.o \
	src/tableam/lsm_handler.o \
	src/tableam/lsm_ddl.o \
	src/tableam/lsm_index.o \
	src/compact/lsm_compact.o \
	src/compact/lsm_worker.o \
	src/compact/lsm_progress.o

PG_CPPFLAGS = -I$(srcdir)/src -I$(srcdir)/src/format
SHLIB_LINK += -lzstd

REGRESS = $(shell cat $(srcdir)/test/regress_schedule 2>/dev/null)
# UTF8 (expected outputs hold non-ASCII text); scripts/test.sh fixes the
# locale (LC_ALL=C.UTF-8) the temporary clusters are initialized with
REGRESS_OPTS = --temp-instance=$(CURDIR)/tmp_check --temp-config=$(srcdir)/test/lsm_am.conf \
	--load-extension=lsm_am --encoding=UTF8
ISOLATION = $(shell cat $(srcdir)/test/isolation_schedule 2>/dev/null)
ISOLATION_OPTS = --temp-instance=$(CURDIR)/tmp_check_iso --temp-config=$(srcdir)/test/lsm_am.conf \
	--load-extension=lsm_am --encoding=UTF8
TAP_TESTS = 1

EXTRA_CLEAN = tmp_check tmp_check_iso results output_iso regression.diffs regression.out log

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# No automatic dependency tracking under PGXS: rebuild everything when any
# header changes (a stale object with an old struct layout corrupts memory).
$(OBJS): $(wildcard $(srcdir)/src/*.h $(srcdir)/src/*/*.h)
