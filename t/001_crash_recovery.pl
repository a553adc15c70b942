# Copyright (c) lsm_am authors

# Crash recovery of lsm tables.
#
# Several sessions load batches into an lsm table concurrently.  Each batch
# is one transaction that inserts the batch's rows (INSERT ... SELECT or
# COPY FROM STDIN; some batches span several segments) and records
# (batch, nrows) in a heap table "committed" in the same transaction.  The
# whole server is killed with SIGKILL in the middle of the load (postmaster
# and every backend: nothing gets to clean up), restarted, and then:
#   - every batch in "committed" has exactly its rows in the lsm table;
#   - no row of the lsm table belongs to a batch missing from "committed"
#     (uncommitted work never shows up after recovery);
#   - lsm.verify() finds every segment intact;
#   - an UNLOGGED lsm table is empty after the crash and usable again.
# The server runs with wal_consistency_checking = 'generic', so redo also
# checks every replayed page against the full-page image.  The cycle repeats
# several times on the same cluster.

use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Digest::MD5 qw(md5_hex);
use Time::HiRes qw(usleep);

my $n_cycles  = 3;
my $n_loaders = 4;
my $n_batches = 40;          # per loader and cycle; the kill comes long before

# Rows per INSERT ... SELECT batch and per COPY batch, used in rotation.
my @insert_sizes = (20000, 150, 200000, 5000, 60000, 1, 120000, 10000);
my @copy_sizes   = (3000, 25000, 800, 15000);

my $seed = $ENV{LSM_CRASH_SEED} // 20240101;
srand($seed);
note "random seed $seed (set LSM_CRASH_SEED to repeat a run)";

my $node = PostgreSQL::Test::Cluster->new('crash');
$node->init;
$node->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'lsm_am'
wal_consistency_checking = 'generic'
max_wal_size = '1GB'
# small segments, so that large batches span several of them
lsm.segment_rows = 50000
log_statement = 'ddl'
});
$node->start;

$node->safe_psql(
	'postgres', q{
CREATE EXTENSION lsm_am;
CREATE TABLE crash_t (batch int, i int, payload text) USING lsm;
CREATE TABLE committed (batch int PRIMARY KEY, nrows int NOT NULL);
CREATE UNLOGGED TABLE unl_t (i int, t text) USING lsm;
});

my $workdir = PostgreSQL::Test::Utils::tempdir('lsm_crash');

# Write the SQL script of one loader: $n_batches transactions.
sub write_loader_script
{
	my ($file, $first_batch) = @_;
	open my $fh, '>', $file or die "cannot write $file: $!";
	for my $j (0 .. $n_batches - 1)
	{
		my $batch = $first_batch + $j;
		print $fh "BEGIN;\n";
		if ($j % 4 == 3)
		{
			my $n = $copy_sizes[ int($j / 4) % @copy_sizes ];
			print $fh "COPY crash_t FROM STDIN;\n";
			print $fh "$batch\t$_\t" . md5_hex("$batch:$_") . "\n" for 1 .. $n;
			print $fh "\\.\n";
			print $fh "INSERT INTO committed VALUES ($batch, $n);\n";
		}
		else
		{
			my $n = $insert_sizes[ ($j + $first_batch) % @insert_sizes ];
			print $fh "INSERT INTO crash_t SELECT $batch, i, md5('$batch:' || i) "
			  . "FROM generate_series(1, $n) i;\n";
			print $fh "INSERT INTO committed VALUES ($batch, $n);\n";
		}
		print $fh "COMMIT;\n";
	}
	close $fh;
	return;
}

# Is the process alive (and not a zombie)?
sub alive
{
	my ($pid) = @_;
	open my $fh, '<', "/proc/$pid/stat" or return 0;
	my $stat = <$fh>;
	close $fh;
	return 0 unless defined $stat;
	my ($state) = $stat =~ /\)\s+(\S)/;
	return defined $state && $state ne 'Z' && $state ne 'X';
}

sub child_pids
{
	my ($ppid) = @_;
	my @kids;
	opendir my $dh, '/proc' or die "cannot read /proc: $!";
	for my $pid (grep { /^\d+$/ } readdir $dh)
	{
		open my $fh, '<', "/proc/$pid/stat" or next;
		my $stat = <$fh>;
		close $fh;
		next unless defined $stat;
		my ($pp) = $stat =~ /\)\s+\S+\s+(\d+)/;
		push @kids, $pid if defined $pp && $pp == $ppid;
	}
	closedir $dh;
	return @kids;
}

# SIGKILL the postmaster and every server process at once, as when the
# container running PostgreSQL is killed: nothing gets to write anything
# more.  (Killing only the postmaster would leave busy backends running on,
# and a new postmaster would refuse to start.)
sub crash_server
{
	my ($node) = @_;
	my $pidfile = $node->data_dir . '/postmaster.pid';
	open my $fh, '<', $pidfile or die "cannot read $pidfile: $!";
	my $pm = <$fh>;
	close $fh;
	chomp $pm;
	# Stop the postmaster first, so that it forks nothing between our
	# listing its children and killing them.
	kill 'STOP', $pm;
	my @kids = child_pids($pm);
	kill 'KILL', @kids;
	$node->kill9;
	my $deadline = time + 60;
	while (grep { alive($_) } $pm, @kids)
	{
		die "server processes survive SIGKILL" if time > $deadline;
		usleep(50_000);
	}
	# A postmaster nobody reaps (no init process in some containers) stays a
	# zombie, and a zombie's pid still "exists" for the lock-file checks of
	# the next postmaster.  Every server process is gone, so the lock files
	# can go.
	if (-e "/proc/$pm")
	{
		note "postmaster $pm is a zombie; removing its lock files";
		unlink $pidfile;
		unlink $node->host . '/.s.PGSQL.' . $node->port . '.lock';
	}
	return;
}

sub committed_count
{
	return $node->safe_psql('postgres', 'SELECT count(*) FROM committed');
}

my $total_batches_checked = 0;

for my $cycle (1 .. $n_cycles)
{
	note "cycle $cycle: starting $n_loaders loaders";

	# Committed rows in the unlogged table: they must be gone after the crash.
	$node->safe_psql('postgres',
		"INSERT INTO unl_t SELECT i, 'before crash $cycle' FROM generate_series(1, 1000) i"
	);

	my $before = committed_count();
	my @loaders;
	for my $k (1 .. $n_loaders)
	{
		my $file = "$workdir/loader_${cycle}_$k.sql";
		write_loader_script($file, $cycle * 100000 + $k * 1000);
		my $h = IPC::Run::start(
			[
				'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1',
				'-d', $node->connstr('postgres'), '-f', $file
			],
			'>', "$file.out", '2>', "$file.err");
		push @loaders, [ $h, $file ];
	}

	# Let some batches commit (at least two per loader, or 3 minutes), then
	# kill at a random moment a little later, most likely mid-batch.
	my $target   = $before + 2 * $n_loaders;
	my $deadline = time + 180;
	while (committed_count() < $target && time < $deadline)
	{
		usleep(100_000);
	}
	usleep(int(rand(1_500_000)));
	my $at_kill = committed_count();
	cmp_ok($at_kill, '>', $before,
		"cycle $cycle: batches were committed before the crash");

	crash_server($node);

	for my $l (@loaders)
	{
		my ($h, $file) = @$l;
		$h->finish;    # psql exits: its connection is gone
		my $err = PostgreSQL::Test::Utils::slurp_file("$file.err");
		# Only connection-loss messages are expected; an SQL ERROR means the
		# load itself failed and the test would prove nothing.
		unlike($err, qr/ERROR:/, "cycle $cycle: $file had no SQL error");
	}

	my $started = $node->start(fail_ok => 1);
	ok($started, "cycle $cycle: server restarts after SIGKILL (redo passes consistency checks)");
	BAIL_OUT("server does not restart after crash (its log is above)")
	  unless $started;

	my $ncommitted = committed_count();
	cmp_ok($ncommitted, '>=', $at_kill,
		"cycle $cycle: all $at_kill batches seen committed survived ($ncommitted after restart)");
	$total_batches_checked = $ncommitted;

	# Every committed batch has exactly its rows, each once.
	my $bad = $node->safe_psql(
		'postgres', q{
WITH got AS (
	SELECT batch, count(*) AS n, sum(i) AS s, count(DISTINCT i) AS d,
		   min(i) AS lo, max(i) AS hi
	FROM crash_t GROUP BY batch)
SELECT string_agg(format('batch %s: want %s rows, got %s (sum %s, distinct %s, %s..%s)',
						 c.batch, c.nrows, g.n, g.s, g.d, g.lo, g.hi), E'\n')
FROM committed c LEFT JOIN got g USING (batch)
WHERE g.n IS DISTINCT FROM c.nrows::bigint
   OR g.s IS DISTINCT FROM c.nrows::bigint * (c.nrows + 1) / 2
   OR g.d IS DISTINCT FROM c.nrows::bigint
   OR g.lo IS DISTINCT FROM 1 OR g.hi IS DISTINCT FROM c.nrows});
	is($bad, '', "cycle $cycle: every committed batch has all its rows, once");

	my $orphans = $node->safe_psql(
		'postgres', q{
SELECT count(*) || ' rows in batches ' || coalesce(string_agg(DISTINCT batch::text, ','), '')
FROM crash_t WHERE batch NOT IN (SELECT batch FROM committed)});
	is($orphans, '0 rows in batches ',
		"cycle $cycle: no rows of uncommitted batches");

	my $badpayload = $node->safe_psql('postgres',
		q{SELECT count(*) FROM crash_t WHERE payload IS DISTINCT FROM md5(batch || ':' || i)});
	is($badpayload, '0', "cycle $cycle: every payload intact");

	# lsm.stats counts the rows of the segments visible now: exactly the
	# committed ones.
	is( $node->safe_psql(
			'postgres',
			q{SELECT s.row_count = c.n, s.buffered_rows
			  FROM lsm.stats('crash_t') s, (SELECT sum(nrows) AS n FROM committed) c}),
		't|0',
		"cycle $cycle: lsm.stats('crash_t') counts exactly the committed rows");
	note "crash_t: "
	  . $node->safe_psql('postgres',
		q{SELECT segments || ' segments, ' || row_count || ' rows' FROM lsm.stats('crash_t')});

	my ($ret, $out, $err) = $node->psql('postgres',
		q{SELECT segments_checked > 0 FROM lsm.verify('crash_t')});
	is($ret, 0, "cycle $cycle: lsm.verify('crash_t') succeeds") or diag($err);
	is($out, 't', "cycle $cycle: lsm.verify('crash_t') checked segments");

	# The unlogged table was reset by crash recovery and works again.
	is($node->safe_psql('postgres', 'SELECT count(*) FROM unl_t'),
		'0', "cycle $cycle: unlogged lsm table is empty after the crash");
	($ret, $out, $err) = $node->psql(
		'postgres', q{
INSERT INTO unl_t SELECT i, 'after crash' FROM generate_series(1, 500) i;
SELECT count(*), sum(i), min(t), max(t) FROM unl_t;});
	is($ret, 0, "cycle $cycle: unlogged lsm table accepts inserts after the crash")
	  or diag($err);
	is($out, '500|125250|after crash|after crash',
		"cycle $cycle: unlogged lsm table returns the new rows");
	($ret, $out, $err) =
	  $node->psql('postgres', q{SELECT rows_checked FROM lsm.verify('unl_t')});
	is($ret, 0, "cycle $cycle: lsm.verify('unl_t') succeeds") or diag($err);
	$node->safe_psql('postgres', 'TRUNCATE unl_t');
}

note "$total_batches_checked committed batches checked";

# Trimming (lsm_compact.c): a large segment rewritten a piece per pass,
# the rest of its image kept under a catalog row with a hole over the
# pages freed, and new segments written into those pages once the old row
# is pruned.  After SIGKILL and redo (page images checked by
# wal_consistency_checking), the rows, the holes and lsm.verify are as
# before the crash.  The worker is stopped first, so that only these
# passes change the table.
$node->safe_psql('postgres', 'ALTER SYSTEM SET lsm.enable_worker = off');
$node->safe_psql('postgres', 'SELECT pg_reload_conf()');
$node->poll_query_until('postgres',
	q{SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity
	   WHERE backend_type = 'lsm compaction worker' AND state = 'active')})
  or die "the compaction worker did not stop";
$node->safe_psql(
	'postgres', q{
CREATE TABLE trim_t (id int PRIMARY KEY, v text) USING lsm;
INSERT INTO trim_t SELECT g, md5(g::text) FROM generate_series(1, 60000) g;
INSERT INTO trim_t SELECT g, md5(g::text) FROM generate_series(60001, 68000) g;
DELETE FROM trim_t WHERE id % 4 = 0;
});
$node->safe_psql('postgres', q{SELECT * FROM lsm.compact('trim_t')});
my $trimq = q{SELECT (SELECT count(*) || '|' || sum(id) || '|' || count(DISTINCT v) FROM trim_t),
	(SELECT string_agg(extents::text, ';' ORDER BY min_rowid) FROM lsm.segments('trim_t'))};
like($node->safe_psql('postgres', $trimq), qr/\{[0-9,]*,0,[0-9]+,[0-9,]*\}/,
	'trimming left a segment with a hole in its extent list');
$node->safe_psql('postgres', 'VACUUM lsm.segment');
$node->safe_psql('postgres', q{SELECT * FROM lsm.compact('trim_t')});
$node->safe_psql('postgres', 'VACUUM lsm.segment');
$node->safe_psql('postgres',
	q{INSERT INTO trim_t SELECT g, md5(g::text) FROM generate_series(100001, 103000) g});
my $before_trim_crash = $node->safe_psql('postgres', $trimq);
crash_server($node);
$node->start;
is($node->safe_psql('postgres', $trimq), $before_trim_crash,
	'after a crash: the rows and page runs of a trimmed table');
is($node->safe_psql('postgres', q{SELECT rows_checked FROM lsm.verify('trim_t')}),
	$node->safe_psql('postgres',
		q{SELECT sum(row_count) FROM lsm.segments('trim_t')}),
	'after a crash: lsm.verify passes on the trimmed table');
is( $node->safe_psql('postgres',
		q{SET enable_seqscan = off; SELECT v = md5('59999') FROM trim_t WHERE id = 59999}),
	't', 'after a crash: a point read in the kept part of a trimmed segment');

# A clean restart keeps everything, the unlogged table included.
$node->safe_psql('postgres',
	"INSERT INTO unl_t SELECT i, 'kept' FROM generate_series(1, 300) i");
my $before_restart = $node->safe_psql('postgres',
	'SELECT count(*), sum(i), sum(length(payload)) FROM crash_t');
$node->restart;
is( $node->safe_psql(
		'postgres', 'SELECT count(*), sum(i), sum(length(payload)) FROM crash_t'),
	$before_restart,
	'clean restart: lsm table unchanged');
is($node->safe_psql('postgres', 'SELECT count(*), sum(i) FROM unl_t'),
	'300|45150', 'clean restart: unlogged lsm table keeps its rows');

$node->stop;
done_testing();
