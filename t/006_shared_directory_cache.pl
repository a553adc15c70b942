# Copyright (c) lsm_am authors

# The shared segment directory cache (src/scan/lsm_dircache.c) when it is
# small: directories are evicted oldest first, a directory pinned by an open
# transaction is never evicted (later loads are parsed privately instead),
# a directory larger than an eighth of the ring is always parsed privately,
# a damaged directory fails its load without leaving a half-made entry, and
# sessions racing to load, evict and find directories all read the right
# rows.  With the cache off there is no shared state at all.

use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('shared_dircache');
$node->init;
$node->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'lsm_am'
lsm.enable_worker = off
lsm.shared_directory_cache_size = 256kB
max_parallel_workers_per_gather = 0
});
$node->start;

sub stats
{
	my ($ring, $used, $segs, $hits, $loads, $evictions, $bypasses) =
	  split /\|/,
	  $node->safe_psql('postgres', 'SELECT * FROM lsm.shared_directory_cache()');
	return {
		ring      => $ring,
		used      => $used,
		segments  => $segs,
		hits      => $hits,
		loads     => $loads,
		evictions => $evictions,
		bypasses  => $bypasses
	};
}

# Three tables of 100 one-block segments each (about 1.2 kB of directory
# apiece; the 256 kB ring has entries for 128 directories: one table fits,
# two do not), and one table of a single segment of 100 blocks, whose
# directory is larger than 32 kB.
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION lsm_am;
SET lsm.segment_rows = 100;
CREATE TABLE a (id int, v int) USING lsm;
CREATE TABLE b (id int, v int) USING lsm;
CREATE TABLE c (id int, v int) USING lsm;
INSERT INTO a SELECT g, g % 1000 FROM generate_series(1, 10000) g;
INSERT INTO b SELECT g, g % 2000 FROM generate_series(1, 10000) g;
INSERT INTO c SELECT g, g % 3000 FROM generate_series(1, 10000) g;
RESET lsm.segment_rows;
CREATE TABLE big (id int, v int) USING lsm;
INSERT INTO big SELECT g, g % 7 FROM generate_series(1, 102400) g;
});
is($node->safe_psql('postgres', q{SELECT count(*) FROM lsm.segments('a')}),
	'100', 'table a has 100 segments');
my %sum = (
	a => $node->safe_psql('postgres', 'SELECT sum(x % 1000) FROM generate_series(1, 10000) x'),
	b => $node->safe_psql('postgres', 'SELECT sum(x % 2000) FROM generate_series(1, 10000) x'),
	c => $node->safe_psql('postgres', 'SELECT sum(x % 3000) FROM generate_series(1, 10000) x'));

my $s0 = stats();
is($s0->{ring}, 256 * 1024, 'the ring is the configured size');

# ---- eviction, oldest first ----
is($node->safe_psql('postgres', 'SELECT sum(v) FROM a'), $sum{a}, 'a read');
is($node->safe_psql('postgres', 'SELECT sum(v) FROM b'), $sum{b}, 'b read');
my $s1 = stats();
cmp_ok($s1->{used}, '<=', $s1->{ring}, 'records stay within the ring');
is($node->safe_psql('postgres', 'SELECT sum(v) FROM c'), $sum{c}, 'c read');
my $s2 = stats();
cmp_ok($s2->{evictions}, '>', $s1->{evictions},
	'reading a third table evicts directories of the first');
is($s2->{bypasses}, $s1->{bypasses}, '... with nothing pinned, nothing bypasses');
is($node->safe_psql('postgres', 'SELECT sum(v) FROM a'), $sum{a},
	'a read again after eviction');
cmp_ok(stats()->{loads}, '>', $s2->{loads}, '... parsing evicted directories again');

# ---- a directory larger than an eighth of the ring is parsed privately ----
my $s3 = stats();
is( $node->safe_psql('postgres', 'SELECT count(*), sum(v) FROM big'),
	$node->safe_psql('postgres',
		'SELECT count(*), sum(x % 7) FROM generate_series(1, 102400) x'),
	'big read');
my $s4 = stats();
is($s4->{bypasses} - $s3->{bypasses}, 1, 'its directory bypasses the cache');
is($s4->{loads}, $s3->{loads}, '... and is not loaded into it');

# ---- pinned directories are never evicted ----
my $holder = $node->background_psql('postgres');
$holder->query_safe('BEGIN');
$holder->query_safe('SELECT sum(v) FROM b');
$holder->query_safe('SELECT sum(v) FROM c');
# b and c fill the ring and stay pinned: a reads around them
my $s5 = stats();
is($node->safe_psql('postgres', 'SELECT sum(v) FROM a'), $sum{a},
	'a read while b and c are pinned');
my $s6 = stats();
cmp_ok($s6->{bypasses}, '>', $s5->{bypasses},
	'... its directories that find no room are parsed privately');
is($node->safe_psql('postgres', 'SELECT sum(v) FROM b'), $sum{b},
	'b read by another session while pinned');
$holder->query_safe('COMMIT');
$holder->quit;
my $s7 = stats();
is($node->safe_psql('postgres', 'SELECT sum(v) FROM a'), $sum{a},
	'a read after the pins are gone');
my $s8 = stats();
cmp_ok($s8->{loads}, '>', $s7->{loads}, '... loading into the ring again');
is($s8->{bypasses}, $s7->{bypasses}, '... without bypasses');

# ---- sessions racing: loads, evictions and hits of the same directories ----
# (a wrong sum divides by zero, which fails the client and the run)
my $script = q{
\set t random(1, 3)
\if :t = 1
SELECT 1 / (sum(v) = } . $sum{a} . q{)::int FROM a;
\elif :t = 2
SELECT 1 / (sum(v) = } . $sum{b} . q{)::int FROM b;
\else
SELECT 1 / (sum(v) = } . $sum{c} . q{)::int FROM c;
\endif
};
my $s9 = stats();
$node->pgbench(
	'--no-vacuum --client=6 --transactions=25',
	0,
	[qr/processed: 150\/150/],
	[qr/^$/],
	'six sessions reading three tables through a ring that holds one',
	{ 'dircache_race' => $script });
my $s10 = stats();
cmp_ok($s10->{evictions}, '>', $s9->{evictions}, '... evicting as they go');
cmp_ok($s10->{hits}, '>', $s9->{hits}, '... and finding each other\'s loads');

# ---- a damaged directory: the load fails and leaves nothing behind ----
$node->safe_psql(
	'postgres', q{
CREATE TABLE dmg (id int, v int) USING lsm;
INSERT INTO dmg SELECT g, g FROM generate_series(1, 5000) g;
CHECKPOINT;
});
my $start_block =
  $node->safe_psql('postgres', q{SELECT start_block FROM lsm.segments('dmg')});
my $path = $node->data_dir . '/'
  . $node->safe_psql('postgres', "SELECT pg_relation_filepath('dmg')");
$node->stop;
{
	# a byte of the block directory (past the 96-byte segment header and
	# the two column descriptors): the meta area fails its checksum
	my $off = $start_block * 8192 + 24 + 130;
	open(my $fh, '+<', $path) or die "open $path: $!";
	binmode $fh;
	seek($fh, $off, 0) or die;
	my $byte;
	read($fh, $byte, 1) == 1 or die;
	seek($fh, $off, 0) or die;
	print $fh chr(ord($byte) ^ 0x5A);
	close($fh);
}
$node->start;
my $s11 = stats();
for my $try (1 .. 2)
{
	my ($ret, $out, $err) = $node->psql('postgres', 'SELECT sum(v) FROM dmg');
	isnt($ret, 0, "reading the damaged table fails (try $try)");
	like(
		$err,
		qr/lsm relation "dmg" segment \d+ is damaged/,
		"... naming relation and segment (try $try)");
}
my $s12 = stats();
is($s12->{segments}, $s11->{segments}, 'no entry is left for the failed load');
is($s12->{loads}, $s11->{loads}, '... nor counted as a load');
is($s12->{bypasses}, $s11->{bypasses}, '... and the second try did not find it loading');
# the ring still turns over: its records of failed loads are skipped
for my $t (qw(a b c a b c))
{
	is($node->safe_psql('postgres', "SELECT sum(v) FROM $t"),
		$sum{$t}, "$t read after the failed load");
}
cmp_ok(stats()->{evictions}, '>', $s12->{evictions}, '... evicting as before');

# ---- off: no shared state, the same rows ----
$node->append_conf('postgresql.conf', 'lsm.shared_directory_cache_size = 0');
$node->restart;
is($node->safe_psql('postgres', 'SELECT count(*) FROM lsm.shared_directory_cache()'),
	'0', 'with the size 0 there is no shared cache');
is($node->safe_psql('postgres', 'SELECT sum(v) FROM a'), $sum{a},
	'a read without the shared cache');
is( $node->safe_psql(
		'postgres', 'SELECT sum(v) FROM b; SELECT segments FROM lsm.directory_cache()'),
	"$sum{b}\n100",
	'... into the session\'s own cache');

$node->stop;
done_testing();
