# Schema versions and the background worker: after ALTER TABLE the worker
# migrates every segment to the new version and evicts the old versions
# without user action, rows stay identical to a heap twin; an ALTER TABLE
# that queues behind a long background migration is not starved (the
# worker is cancelled, like autovacuum) and the migration resumes later;
# versions and migrated segments survive a crash.

use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $node = PostgreSQL::Test::Cluster->new('schema');
$node->init;
$node->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'lsm_am'
wal_consistency_checking = 'generic'
lsm.naptime = 1
lsm.segment_rows = 20000
lsm.log_compactions = on
lsm.enable_worker = off
deadlock_timeout = '100ms'
});
$node->start;

sub differences
{
	my ($l, $h) = @_;
	return $node->safe_psql('postgres',
		"SELECT count(*) FROM ((SELECT * FROM $l EXCEPT ALL SELECT * FROM $h) "
		  . "UNION ALL (SELECT * FROM $h EXCEPT ALL SELECT * FROM $l)) d");
}

sub set_worker
{
	my ($on) = @_;
	$node->safe_psql('postgres',
		"ALTER SYSTEM SET lsm.enable_worker = $on; SELECT pg_reload_conf();");
}

$node->safe_psql(
	'postgres', q{
CREATE EXTENSION lsm_am;
CREATE TABLE m (id int PRIMARY KEY, v text, w float8) USING lsm;
CREATE TABLE mh (id int PRIMARY KEY, v text, w float8);
INSERT INTO m SELECT g, 'v' || g, g / 3.0 FROM generate_series(1, 100000) g;
INSERT INTO mh SELECT g, 'v' || g, g / 3.0 FROM generate_series(1, 100000) g;
});
is($node->safe_psql('postgres', "SELECT count(*) FROM lsm.segments('m')"),
	'5', 'five segments of lsm.segment_rows rows');

# two new versions, rows written under each, deletes and updates
for my $t ('m', 'mh')
{
	$node->safe_psql(
		'postgres', qq{
ALTER TABLE $t ADD COLUMN c int DEFAULT 3;
INSERT INTO $t SELECT g, 'x' || g, g, g % 5 FROM generate_series(100001, 101000) g;
ALTER TABLE $t DROP COLUMN w;
INSERT INTO $t SELECT g, 'y' || g, -g FROM generate_series(101001, 102000) g;
DELETE FROM $t WHERE id % 97 = 0;
UPDATE $t SET c = c + 1 WHERE id % 89 = 0;
});
}
is($node->safe_psql('postgres', "SELECT count(*) FROM lsm.schema_versions('m')"),
	'3', 'three schema versions');
is(differences('m', 'mh'), '0', 'same rows as heap before migration');

# ---- the worker migrates and evicts on its own ----
my $start = time();
set_worker('on');
ok( $node->poll_query_until(
		'postgres',
		"SELECT watermark = schema_version FROM lsm.stats('m')"),
	'the worker advances the watermark to the current version');
ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) = 1 FROM lsm.schema_versions('m')"),
	'the worker evicts the old versions');
note sprintf("watermark advanced and versions evicted %.1f s after the worker was enabled",
	time() - $start);
is($node->safe_psql('postgres',
		"SELECT bool_and(schema_version = 3) FROM lsm.segments('m')"),
	't', 'every segment is at version 3');
is(differences('m', 'mh'), '0', 'same rows as heap after migration');
like($node->safe_psql('postgres', "SELECT * FROM lsm.verify('m')"),
	qr/^\d+\|/, 'lsm.verify passes');
set_worker('off');

# ---- an ALTER TABLE is not starved by a long background migration ----
# One big segment, with deletes.  A migration pass rewrites a piece of it
# (trimming) in well under a second, so to keep one running, a session
# holds FOR KEY SHARE locks on the table's delete records: the pass waits
# there, at its end, to remove the records of the rows it dropped.
$node->safe_psql(
	'postgres', q{
ALTER SYSTEM SET lsm.segment_rows = 10000000;
SELECT pg_reload_conf();
CREATE TABLE g (id int, v text, pad text) USING lsm;
INSERT INTO g SELECT i, md5(i::text), repeat(md5(i::text), 3) FROM generate_series(1, 1500000) i;
DELETE FROM g WHERE id % 1000 = 0;
ALTER TABLE g ADD COLUMN c int DEFAULT 1;
});
my $holder = $node->background_psql('postgres');
$holder->query_safe('BEGIN');
$holder->query_safe(
	q{SELECT count(*) FROM (SELECT 1 FROM lsm.deleted WHERE storage_id = (SELECT storage_id FROM lsm.stats('g')) FOR KEY SHARE) s});
set_worker('on');
ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) > 0 FROM lsm.compaction_progress WHERE relation = 'g'::regclass AND phase = 'installing'"
	),
	'the worker migrates g');
my $t0 = time();
$node->safe_psql('postgres', 'ALTER TABLE g ADD COLUMN d int DEFAULT 2');
my $alter_secs = time() - $t0;
note sprintf("ALTER TABLE waited %.2f s for the background migration", $alter_secs);
cmp_ok($alter_secs, '<', 30, 'the ALTER TABLE got its lock');
ok( $node->wait_for_log(qr/canceling statement due to user request/),
	'the worker was cancelled like autovacuum');
$holder->query_safe('COMMIT');
$holder->quit;
is($node->safe_psql('postgres', "SELECT count(*) FROM lsm.schema_versions('g')"),
	'3', 'the ALTER made its version');
ok( $node->poll_query_until(
		'postgres',
		"SELECT watermark = schema_version FROM lsm.stats('g')", 't'),
	'the worker migrates g to the newest version afterwards');
is($node->safe_psql('postgres', 'SELECT count(*), sum(c), sum(d) FROM g'),
	'1498500|1498500|2997000', 'g reads the added columns');
set_worker('off');

# ---- crash: versions and migrated segments survive ----
$node->safe_psql('postgres',
	'ALTER TABLE m ADD COLUMN e text DEFAULT \'e\'; ALTER TABLE mh ADD COLUMN e text DEFAULT \'e\';');
$node->safe_psql('postgres', "SELECT * FROM lsm.compact('m')");
$node->stop('immediate');
$node->start;
is($node->safe_psql('postgres', "SELECT string_agg(version::text, ',' ORDER BY version) FROM lsm.schema_versions('m')"),
	'3,4', 'versions survive a crash');
is($node->safe_psql('postgres', "SELECT watermark = schema_version FROM lsm.stats('m')"),
	't', 'the migrated segments survive a crash');
is(differences('m', 'mh'), '0', 'same rows as heap after the crash');

done_testing();
