# Background compaction: the worker keeps the level-0 segment count of a
# trickle-insert table bounded; the write stall holds 8 concurrent writers
# at twice the trigger, and lets them through when the worker is locked
# out or cannot start; SIGKILL during compactions loses or
# duplicates no row (lsm.verify passes, indexes agree); without preloading
# lsm.compact says once per session that no worker runs.  A table's own
# trigger (lsm.set_compaction_options) sets its writers' stop.  An idle
# cluster sees one round of workers over its databases per lsm.naptime.

use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use IPC::Run;

my $trigger = 8;

my $node = PostgreSQL::Test::Cluster->new('worker');
$node->init;
$node->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'lsm_am'
wal_consistency_checking = 'generic'
lsm.naptime = 1
lsm.compact_l0_trigger = $trigger
lsm.log_compactions = on
});
$node->start;

$node->safe_psql(
	'postgres', q{
CREATE EXTENSION lsm_am;
CREATE TABLE trickle (id int PRIMARY KEY, v text) USING lsm;
});

# the launcher and (in rounds) the workers run
ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = 'lsm compaction launcher'"
	),
	'the compaction launcher runs');

# ---- an idle cluster: one round over the databases per lsm.naptime ----
# (Each worker's exit wakes the launcher; it used to start the next round
# at once, hundreds of workers a second on a cluster of idle databases.)
$node->safe_psql('postgres', "CREATE DATABASE idle_$_") for 1 .. 3;
$node->safe_psql('postgres', 'ALTER SYSTEM SET log_min_messages = debug1');
$node->reload;
sleep 1;
my $idle_offset = -s $node->logfile;
sleep 6;
my $idle_log = slurp_file($node->logfile, $idle_offset);
$node->safe_psql('postgres', 'ALTER SYSTEM RESET log_min_messages');
$node->reload;
my $idle_starts =
  () = $idle_log =~ /starting background worker process "lsm compaction worker"/g;
# five databases (postgres, template1, idle_1..3), about six rounds
ok($idle_starts >= 5 && $idle_starts <= 45,
	"idle cluster: $idle_starts worker starts in 6 s (five databases, lsm.naptime = 1)");

# ... and the launcher sleeps between its rounds, and while the workers
# are off (a timeout computed from a round that never began must not
# turn into a busy loop)
sub launcher_wakeups
{
	my $pid = $node->safe_psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE backend_type = 'lsm compaction launcher'");
	my $status = slurp_file("/proc/$pid/status");
	return $status =~ /^voluntary_ctxt_switches:\s+(\d+)/m ? $1 : -1;
}
for my $workers ('on', 'off')
{
	$node->safe_psql('postgres', "ALTER SYSTEM SET lsm.enable_worker = $workers");
	$node->reload;
	sleep 1;
	my $before = launcher_wakeups();
	sleep 3;
	my $wakeups = launcher_wakeups() - $before;
	ok($before >= 0 && $wakeups < 100,
		"launcher with lsm.enable_worker = $workers: $wakeups wakeups in 3 s");
}
$node->safe_psql('postgres', 'ALTER SYSTEM RESET lsm.enable_worker');
$node->reload;

# ---- 500 single-row insert transactions, in one session, sampled ----
my $l0_sql = "SELECT count(*) FROM lsm.segments('trickle') WHERE level = 0";
my $max_l0 = 0;
for my $round (0 .. 19)
{
	my $first = $round * 25 + 1;
	my $last  = $first + 24;
	$node->safe_psql('postgres',
		"DO \$\$ BEGIN FOR i IN $first..$last LOOP "
		  . "INSERT INTO trickle VALUES (i, 'v' || i); COMMIT; "
		  . "PERFORM pg_sleep(0.004); END LOOP; END \$\$");
	my $l0 = $node->safe_psql('postgres', $l0_sql);
	$max_l0 = $l0 if $l0 > $max_l0;
}
is($node->safe_psql('postgres', 'SELECT count(*), sum(id) FROM trickle'),
	'500|125250', 'every trickled row is there');
ok( $node->poll_query_until('postgres', "SELECT ($l0_sql) <= $trigger"),
	'the worker brings level 0 down to the trigger');
note "largest level-0 count seen while trickling: $max_l0";
cmp_ok($max_l0, '<', 250, 'level 0 stays bounded while rows trickle in');
cmp_ok($node->safe_psql('postgres', "SELECT count(*) FROM lsm.segments('trickle') WHERE level > 0"),
	'>=', 1, 'the worker wrote level-1 segments');

# ---- 8 concurrent single-row writers: the write stall ----
# Writers wait at lsm.compact_l0_stop (by default twice the trigger) for
# the worker, so level 0 never passes it; the stall's timeout is raised so
# that a slow machine cannot let a writer through, and autovacuum, whose
# lock would keep the worker off the table, is off for it.
$node->safe_psql(
	'postgres', q{
CREATE TABLE stall (id bigserial PRIMARY KEY, v int) USING lsm
  WITH (autovacuum_enabled = off);
ALTER DATABASE postgres SET lsm.compact_l0_stall_timeout = '10min';
});
is($node->safe_psql('postgres', 'SHOW lsm.compact_l0_stop'),
	'0', 'the write stall is on by default (0: twice the trigger)');
# 8 pgbench clients inserting single rows into $table for $secs s while
# its level-0 count is sampled: (transactions, max level 0, samples)
sub stalled_writers
{
	my ($table, $secs) = @_;
	my $script = PostgreSQL::Test::Utils::tempdir() . "/$table.sql";
	PostgreSQL::Test::Utils::append_to_file($script,
		"INSERT INTO $table (v) VALUES (1);\n");
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[
			'pgbench', '-n', '-c', '8', '-j', '2', '-T', $secs, '-f', $script,
			'-h', $node->host, '-p', $node->port, 'postgres'
		],
		'>', \$out, '2>', \$err);
	my $l0_sql = "SELECT count(*) FROM lsm.segments('$table') WHERE level = 0";
	my ($max, $samples) = (0, 0);
	while ($h->pumpable)
	{
		my $l0 = $node->safe_psql('postgres', $l0_sql);
		$max = $l0 if $l0 > $max;
		$samples++;
		usleep(20_000);
		$h->pump_nb;
	}
	$h->finish;
	is($h->result(0), 0, "8 pgbench clients inserting single rows into $table ran")
	  or diag $err;
	my ($tx) = $out =~ /number of transactions actually processed: (\d+)/;
	note "$table: level 0 at most $max in $samples samples, $tx transactions";
	cmp_ok($tx, '>', 100, "the writers committed transactions into $table");
	is($node->safe_psql('postgres', "SELECT count(*), count(DISTINCT id) FROM $table"),
		"$tx|$tx", "every committed row is in $table, once");
	cmp_ok($samples, '>', 10, 'level 0 was sampled while they wrote');
	return ($tx, $max, $samples);
}
my $stall_l0_sql = "SELECT count(*) FROM lsm.segments('stall') WHERE level = 0";
my ($stall_tx, $stall_max) = stalled_writers('stall', 8);
cmp_ok($stall_max, '<=', 2 * $trigger,
	'level 0 never passed twice the trigger under 8 concurrent writers');

# A table's own trigger (lsm.set_compaction_options) sets its stop: with
# the writers' lsm.compact_l0_trigger at 1000 and the table's own at 8,
# they still stop at 16 (without the stall level 0 passes 30 in seconds)
$node->safe_psql(
	'postgres', q{
CREATE TABLE stall_own (id bigserial PRIMARY KEY, v int) USING lsm
  WITH (autovacuum_enabled = off);
SELECT lsm.set_compaction_options('stall_own', l0_trigger => 8);
ALTER DATABASE postgres SET lsm.compact_l0_trigger = 1000;
});
my (undef, $own_max) = stalled_writers('stall_own', 4);
cmp_ok($own_max, '<=', 16,
	"level 0 never passed twice the table's own trigger");
$node->safe_psql('postgres', 'ALTER DATABASE postgres RESET lsm.compact_l0_trigger');
my ($vrc, $vout, $verr) = $node->psql('postgres', "SELECT rows_checked FROM lsm.verify('stall')");
is($vrc, 0, 'lsm.verify passes after the stalled writers') or diag $verr;
$node->safe_psql('postgres', 'ALTER DATABASE postgres RESET lsm.compact_l0_stall_timeout');

# Seconds `n` single-row insert transactions into `stall` take, each
# allowed to wait up to 30 s at the stop.
sub timed_stall_inserts
{
	my ($n, $v) = @_;
	my $t0 = [Time::HiRes::gettimeofday()];
	$node->safe_psql('postgres',
		"SET lsm.compact_l0_stall_timeout = '30s'; "
		  . "DO \$\$ BEGIN FOR i IN 1..$n LOOP INSERT INTO stall (v) VALUES ($v); COMMIT; END LOOP; END \$\$"
	);
	return Time::HiRes::tv_interval($t0);
}

# While another session holds a lock that keeps the worker off the table,
# writers at the stop go on after the worker's (stuck) visit instead of
# waiting out lsm.compact_l0_stall_timeout each.
my $locker = $node->background_psql('postgres');
$locker->query_safe('BEGIN');
$locker->query_safe('LOCK TABLE stall IN SHARE UPDATE EXCLUSIVE MODE');
my $locked_secs = timed_stall_inserts(24, 2);
note "24 single-row inserts with the table locked took $locked_secs s";
cmp_ok($node->safe_psql('postgres', $stall_l0_sql), '>', 2 * $trigger,
	'with the worker locked out, writers passed the stop');
cmp_ok($locked_secs, '<', 20,
	'... after its visits, not after lsm.compact_l0_stall_timeout each');
$locker->query_safe('COMMIT');
$locker->quit;
ok( $node->poll_query_until('postgres', "SELECT ($stall_l0_sql) <= $trigger"),
	'once the lock is gone the worker merges level 0 again');

# With no background worker slot left for a compaction worker (the
# launcher takes the only one), writers at the stop wait only briefly.
$node->append_conf('postgresql.conf', 'max_worker_processes = 1');
$node->restart;
my $noworker_secs = timed_stall_inserts(32, 3);
note "32 single-row inserts without a worker took $noworker_secs s";
cmp_ok($node->safe_psql('postgres', $stall_l0_sql), '>', 2 * $trigger,
	'without a worker, writers passed the stop');
cmp_ok($noworker_secs, '<', 20,
	'... without waiting out lsm.compact_l0_stall_timeout');
$node->append_conf('postgresql.conf', 'max_worker_processes = 8');
$node->restart;
ok( $node->poll_query_until('postgres', "SELECT ($stall_l0_sql) <= $trigger"),
	'a worker merges level 0 again once it can start');

# ---- SIGKILL in the middle of background compactions ----
$node->safe_psql(
	'postgres', q{
CREATE TABLE big (id int PRIMARY KEY, grp int, note text) USING lsm;
});
my $expect_count = 0;
my $expect_sum   = 0;
my $next_id      = 1;
for my $cycle (1 .. 4)
{
	# more than the trigger of level-0 segments, and deletes to drop
	for my $k (1 .. $trigger + 4)
	{
		my $first = $next_id;
		my $last  = $next_id + 4999;
		$node->safe_psql('postgres',
			"INSERT INTO big SELECT g, g % 10, repeat('x', g % 50) FROM generate_series($first, $last) g"
		);
		$next_id = $last + 1;
	}
	$node->safe_psql('postgres', "DELETE FROM big WHERE id % 10 = $cycle");
	my $row = $node->safe_psql('postgres', 'SELECT count(*), sum(id) FROM big');
	($expect_count, $expect_sum) = split /\|/, $row;

	# the worker notices within about a second; kill at varying moments
	usleep(150_000 + 250_000 * $cycle);
	$node->stop('immediate');
	$node->start;

	is($node->safe_psql('postgres', 'SELECT count(*), sum(id) FROM big'),
		"$expect_count|$expect_sum", "cycle $cycle: no row lost or duplicated after the crash");
	is($node->safe_psql('postgres',
			'SET enable_seqscan = off; SET enable_bitmapscan = off; '
			  . 'SELECT count(*), sum(id) FROM big WHERE id > 0'),
		"$expect_count|$expect_sum", "cycle $cycle: the index agrees");
	my ($rc, $out, $err) = $node->psql('postgres',
		"SELECT rows_checked FROM lsm.verify('big')");
	is($rc, 0, "cycle $cycle: lsm.verify passes") or diag $err;
	is($node->safe_psql('postgres',
			'SELECT count(*) FROM (SELECT min_rowid, max_rowid, lag(max_rowid) OVER (ORDER BY min_rowid) AS prev '
			  . "FROM lsm.segments('big')) s WHERE min_rowid <= prev"),
		'0', "cycle $cycle: segments do not overlap");
}

# after the last restart the worker finishes the job
ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) <= $trigger FROM lsm.segments('big') WHERE level = 0"),
	'the worker compacts after the crashes');
is($node->safe_psql('postgres', 'SELECT count(*), sum(id) FROM big'),
	"$expect_count|$expect_sum", 'rows unchanged by the compactions');
$node->safe_psql('postgres', 'VACUUM big');
is($node->safe_psql('postgres',
		'SET enable_seqscan = off; SET enable_bitmapscan = off; '
		  . 'SELECT count(*), sum(id) FROM big WHERE id > 0'),
	"$expect_count|$expect_sum", 'the index agrees after VACUUM');

# compactions were logged
my $log = slurp_file($node->logfile);
like($log, qr/lsm compaction of "public\.(trickle|big)"/, 'compactions are logged');
unlike($log, qr/server process .* was terminated by signal 11/, 'no crash of a backend');

# the worker can be switched off
$node->append_conf('postgresql.conf', 'lsm.enable_worker = off');
$node->reload;
$node->safe_psql('postgres',
	"DO \$\$ BEGIN FOR i IN 1001..1030 LOOP INSERT INTO trickle VALUES (i, 'w'); COMMIT; END LOOP; END \$\$");
sleep(3);
cmp_ok($node->safe_psql('postgres', $l0_sql), '>', $trigger,
	'with lsm.enable_worker off nothing is compacted');

# without preloading there is no worker: lsm.compact works and says so,
# once per session
$node->append_conf('postgresql.conf', "shared_preload_libraries = ''");
$node->restart;
my ($rc, $out, $err) = $node->psql('postgres',
	"SELECT segments_in > 1 FROM lsm.compact('trickle');\n"
	  . "SELECT segments_in FROM lsm.compact('trickle');");
is($rc, 0, 'lsm.compact works without preloading');
is($out, "t\n0", 'and merges the level-0 segments');
my @notices = ($err =~ /no background worker compacts lsm tables/g);
is(scalar(@notices), 1, 'it says once per session that no worker runs');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'lsm compaction launcher'"),
	'0', 'no launcher without preloading');

$node->stop;
done_testing();
