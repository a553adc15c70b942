# Copyright (c) lsm_am authors

# Physical streaming replication of lsm tables.
#
# A standby made from a base backup (which already holds one lsm table with
# data) streams everything else from the primary: CREATE EXTENSION, new lsm
# tables, committed, rolled-back and partly rolled-back (subtransaction)
# inserts, a multi-segment insert, COPY and TRUNCATE.  After catch-up the
# standby must return exactly what the primary returns (also through a
# parallel scan), and lsm.verify() must pass on the standby.  Both servers
# run with wal_consistency_checking = 'generic', so the standby also checks
# every replayed page against its full-page image.

use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
# allows_streaming sets shared_buffers = 1MB and max_connections = 10.
$primary->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'lsm_am'
wal_consistency_checking = 'generic'
shared_buffers = '32MB'
max_connections = 20
max_wal_size = '1GB'
# small segments, so that the large insert spans several of them
lsm.segment_rows = 50000
});
$primary->start;

# A table that exists before the base backup: the standby gets its pages
# from the backup, not from WAL.
$primary->safe_psql(
	'postgres', q{
CREATE EXTENSION lsm_am;
CREATE TABLE before_backup (i int, t text) USING lsm;
INSERT INTO before_backup SELECT i, 'b' || i FROM generate_series(1, 5000) i;
});

# The slot keeps the primary from recycling WAL the standby still needs
# (the test writes a lot of WAL: full-page images for every new page).
$primary->safe_psql('postgres',
	"SELECT pg_create_physical_replication_slot('standby_slot')");
$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->append_conf('postgresql.conf', "primary_slot_name = 'standby_slot'");
$standby->start;

# Everything below reaches the standby only through WAL.
$primary->safe_psql(
	'postgres', q{
CREATE TABLE t (i int, g int, payload text) USING lsm;

-- committed
INSERT INTO t SELECT i, i % 7, md5(i::text) FROM generate_series(1, 1000) i;

-- one more transaction on the table from before the backup
INSERT INTO before_backup SELECT i, 'b' || i FROM generate_series(5001, 6000) i;
});

# rolled back: none of these rows may appear
$primary->safe_psql(
	'postgres', q{
BEGIN;
INSERT INTO t SELECT i, i % 7, 'rolled back' FROM generate_series(1001, 2000) i;
ROLLBACK;
});

# subtransaction rolled back: 2001..3000 and 4001..5000 stay, 3001..4000 go
$primary->safe_psql(
	'postgres', q{
BEGIN;
INSERT INTO t SELECT i, i % 7, md5(i::text) FROM generate_series(2001, 3000) i;
SAVEPOINT s1;
INSERT INTO t SELECT i, i % 7, 'rolled back' FROM generate_series(3001, 4000) i;
ROLLBACK TO SAVEPOINT s1;
INSERT INTO t SELECT i, i % 7, md5(i::text) FROM generate_series(4001, 5000) i;
SAVEPOINT s2;
INSERT INTO t SELECT i, i % 7, md5(i::text) FROM generate_series(5001, 5500) i;
RELEASE SAVEPOINT s2;
COMMIT;
});

# a large insert: several segments
$primary->safe_psql('postgres',
	q{INSERT INTO t SELECT i, i % 7, md5(i::text) FROM generate_series(10001, 260000) i});

# COPY
my $copy = "COPY t FROM STDIN;\n";
$copy .= join("\t", $_, $_ % 7, 'copied') . "\n" for 300001 .. 302000;
$copy .= "\\.\n";
$primary->safe_psql('postgres', $copy);

# TRUNCATE gives the table new storage; then new rows
$primary->safe_psql(
	'postgres', q{
CREATE TABLE t2 (k bigint, v text) USING lsm;
INSERT INTO t2 SELECT k, 'old' FROM generate_series(1, 3000) k;
TRUNCATE t2;
INSERT INTO t2 SELECT k, 'new' FROM generate_series(1, 2000) k;
});

$primary->wait_for_catchup($standby);

my %expect = (
	t => join('|', 1000 + 1000 + 1000 + 500 + 250000 + 2000,
		(1000 * 1001 / 2) + (2001 + 3000) * 500 + (4001 + 5500) * 750 +
		  (10001 + 260000) * 250000 / 2 + (300001 + 302000) * 1000),
	t2            => '2000|2001000',
	before_backup => '6000|18003000',);

my %aggq = (
	t             => 'SELECT count(*), sum(i) FROM t',
	t2            => 'SELECT count(*), sum(k) FROM t2',
	before_backup => 'SELECT count(*), sum(i) FROM before_backup',);

for my $tbl (sort keys %aggq)
{
	my $p = $primary->safe_psql('postgres', $aggq{$tbl});
	my $s = $standby->safe_psql('postgres', $aggq{$tbl});
	is($p, $expect{$tbl}, "$tbl: primary has the expected rows");
	is($s, $p, "$tbl: standby count and sum match the primary");
}

cmp_ok($standby->safe_psql('postgres', q{SELECT count(*) FROM lsm.segments('t')}),
	'>=', 5, 'standby: the large insert made several segments');
is( $standby->safe_psql(
		'postgres', q{SELECT row_count, buffered_rows FROM lsm.stats('t')}),
	$primary->safe_psql(
		'postgres', q{SELECT row_count, buffered_rows FROM lsm.stats('t')}),
	'standby: lsm.stats matches the primary');
is($standby->safe_psql('postgres', q{SELECT count(*) FROM t WHERE payload = 'rolled back'}),
	'0', 'standby: no rolled-back rows');
is($standby->safe_psql('postgres', q{SELECT count(*) FROM t2 WHERE v <> 'new'}),
	'0', 'standby: no rows from before TRUNCATE');

# Full contents, in a fixed order.
for my $q (
	'SELECT * FROM t ORDER BY i',
	'SELECT * FROM t2 ORDER BY k',
	'SELECT * FROM before_backup ORDER BY i',
	'SELECT g, count(*), min(payload), max(payload) FROM t GROUP BY g ORDER BY g')
{
	my $p = $primary->safe_psql('postgres', $q);
	my $s = $standby->safe_psql('postgres', $q);
	ok($p eq $s, "standby returns what the primary returns: $q");
}

# A parallel scan on the standby: the workers alone (the leader does not
# scan) list the segments with the standby's snapshot and read them all.
my $parallel = q{SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0; SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off; SET lsm.enable_aggregate_pushdown = off;};
like(
	$standby->safe_psql('postgres',
		"$parallel EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) SELECT count(*) FROM t"),
	qr/Parallel (?:Seq Scan|Custom Scan \(LSM Scan\)) on t.*Workers Launched: [12]|Workers Launched: [12].*Parallel (?:Seq Scan|Custom Scan \(LSM Scan\)) on t/s,
	'standby: parallel workers scan the lsm table');
is( $standby->safe_psql('postgres',
		"$parallel SELECT count(*), sum(i), count(DISTINCT payload) FROM t"),
	$primary->safe_psql('postgres',
		'SELECT count(*), sum(i), count(DISTINCT payload) FROM t'),
	'standby: a parallel scan returns what the primary returns');

for my $tbl (qw(t t2 before_backup))
{
	my ($ret, $out, $err) =
	  $standby->psql('postgres', "SELECT segments_checked > 0 FROM lsm.verify('$tbl')");
	is($ret, 0, "standby: lsm.verify('$tbl') succeeds") or diag($err);
	is($out, 't', "standby: lsm.verify('$tbl') checked segments");
}

# Writing on a standby is refused, as for heap.
my ($ret, $out, $err) =
  $standby->psql('postgres', 'INSERT INTO t VALUES (0, 0, NULL)');
isnt($ret, 0, 'standby: INSERT is refused');
like($err, qr/read-only transaction/, 'standby: INSERT fails as read-only');

# More WAL after a standby restart: replay picks up where it stopped.
$standby->restart;
$primary->safe_psql('postgres',
	q{INSERT INTO t SELECT i, i % 7, md5(i::text) FROM generate_series(400001, 401000) i});
$primary->wait_for_catchup($standby);
is( $standby->safe_psql('postgres', 'SELECT count(*), sum(i) FROM t'),
	$primary->safe_psql('postgres', 'SELECT count(*), sum(i) FROM t'),
	'standby matches the primary after its restart and more inserts');

# Schema changes replay: rows under several schema versions, a migration
# by compaction and the eviction of old versions read the same on the
# standby (lsm.stats and lsm.schema_versions too).
$primary->safe_psql(
	'postgres', q{
CREATE TABLE sv (id int, a text, b numeric(10,2)) USING lsm;
INSERT INTO sv SELECT i, 'a' || i, i / 4.0 FROM generate_series(1, 3000) i;
ALTER TABLE sv ADD COLUMN c int DEFAULT 7;
INSERT INTO sv SELECT i, 'a' || i, i / 4.0, i FROM generate_series(3001, 4000) i;
ALTER TABLE sv DROP COLUMN a;
ALTER TABLE sv ALTER COLUMN b TYPE numeric(12,2);
DELETE FROM sv WHERE id % 5 = 0;
});
my $svq = 'SELECT count(*), sum(id), sum(b), sum(c) FROM sv';
my $verq = q{SELECT string_agg(version || ':' || is_current || ':' || segments, ',' ORDER BY version) FROM lsm.schema_versions('sv')};
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', $svq), $primary->safe_psql('postgres', $svq),
	'standby: rows under several schema versions');
is($standby->safe_psql('postgres', $verq), $primary->safe_psql('postgres', $verq),
	'standby: the same schema versions');
$primary->safe_psql('postgres', q{SELECT * FROM lsm.compact('sv')});
$primary->safe_psql('postgres', q{SELECT * FROM lsm.compact('sv')});
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', $verq), '4:true:1',
	'standby: migrated to the current version, old versions evicted');
is($standby->safe_psql('postgres', q{SELECT watermark = schema_version FROM lsm.stats('sv')}),
	't', 'standby: the watermark is the current version');
is($standby->safe_psql('postgres', $svq), $primary->safe_psql('postgres', $svq),
	'standby: the same rows after migration');

# A segment split over free extents of the file (lsm.segments.extents)
# replays and reads the same on the standby, point reads through an index
# included, and lsm.verify checks its pages there.  The worker is stopped
# first: merging the small segments this builds would leave one free
# extent, not two.
$primary->safe_psql('postgres', 'ALTER SYSTEM SET lsm.enable_worker = off');
$primary->safe_psql('postgres', 'SELECT pg_reload_conf()');
$primary->poll_query_until('postgres',
	q{SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity
	   WHERE backend_type = 'lsm compaction worker' AND state = 'active')})
  or die "the compaction worker did not stop";
$primary->safe_psql(
	'postgres', q{
SET lsm.segment_rows = 1000;
CREATE TABLE sx (id int, v text) USING lsm;
INSERT INTO sx SELECT g, md5(g::text) FROM generate_series(1, 3000) g;
INSERT INTO sx SELECT g, 'keep' FROM generate_series(100001, 100600) g;
INSERT INTO sx SELECT g, md5(g::text) FROM generate_series(3001, 6000) g;
INSERT INTO sx SELECT g, 'keep' FROM generate_series(100601, 101200) g;
DELETE FROM sx WHERE id <= 6000;
});
$primary->safe_psql('postgres', q{SET lsm.segment_rows = 1000; SELECT * FROM lsm.compact('sx')});
$primary->safe_psql('postgres', 'VACUUM lsm.segment');
$primary->safe_psql('postgres',
	q{INSERT INTO sx SELECT g, md5(g::text) FROM generate_series(200001, 205000) g;
	  CREATE INDEX sx_id ON sx (id)});
is( $primary->safe_psql('postgres',
		q{SELECT max(array_length(extents, 1)) / 2 > 1 FROM lsm.segments('sx')}),
	't', 'primary: a segment lies in more than one run of pages');
$primary->wait_for_catchup($standby);
my $sxq = q{SELECT (SELECT count(*) || '|' || sum(id) || '|' || count(DISTINCT v) FROM sx),
	(SELECT string_agg(extents::text, ';' ORDER BY min_rowid) FROM lsm.segments('sx'))};
is($standby->safe_psql('postgres', $sxq), $primary->safe_psql('postgres', $sxq),
	'standby: the rows and page runs of a split segment');
is( $standby->safe_psql('postgres',
		q{SET enable_seqscan = off; SELECT v = md5('204321') FROM sx WHERE id = 204321}),
	't', 'standby: a point read in a split segment');
is($standby->safe_psql('postgres', q{SELECT rows_checked FROM lsm.verify('sx')}),
	'6200', 'standby: lsm.verify passes on the split segment');

# Trimming replays: a large segment rewritten a piece per pass, the rest of
# its image kept under a catalog row with a hole over the freed pages, and
# a later piece written into those pages read the same on the standby.
$primary->safe_psql(
	'postgres', q{
CREATE TABLE st (id int PRIMARY KEY, v text) USING lsm;
INSERT INTO st SELECT g, md5(g::text) FROM generate_series(1, 60000) g;
INSERT INTO st SELECT g, md5(g::text) FROM generate_series(60001, 68000) g;
DELETE FROM st WHERE id % 4 = 0;
});
$primary->safe_psql('postgres', q{SELECT * FROM lsm.compact('st')});
$primary->wait_for_catchup($standby);
my $stq = q{SELECT (SELECT count(*) || '|' || sum(id) || '|' || count(DISTINCT v) FROM st),
	(SELECT string_agg(extents::text, ';' ORDER BY min_rowid) FROM lsm.segments('st'))};
my $st_primary = $primary->safe_psql('postgres', $stq);
like($st_primary, qr/\{[0-9,]*,0,[0-9]+,[0-9,]*\}/,
	'primary: trimming left a segment with a hole in its extent list');
is($standby->safe_psql('postgres', $stq), $st_primary,
	'standby: the rows and page runs of a trimmed table');
$primary->safe_psql('postgres', 'VACUUM lsm.segment');
$primary->safe_psql('postgres', q{SELECT * FROM lsm.compact('st')});
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', $stq), $primary->safe_psql('postgres', $stq),
	'standby: the same after the next piece went into the freed pages');
is( $standby->safe_psql('postgres',
		q{SET enable_seqscan = off; SELECT v = md5('59999') FROM st WHERE id = 59999}),
	't', 'standby: a point read in the kept part of a trimmed segment');
is($standby->safe_psql('postgres', q{SELECT rows_checked FROM lsm.verify('st')}),
	$primary->safe_psql('postgres', q{SELECT rows_checked FROM lsm.verify('st')}),
	'standby: lsm.verify passes on the trimmed table');

$standby->stop;
$primary->stop;
done_testing();
