# Copyright (c) lsm_am authors

# Damaged numeric chunks stored as scaled integers (docs/FORMAT.md 6.5).
#
# A segment whose numeric column is stored as integers is damaged on disk
# (one byte of the column's last chunk, then one byte of the chunk
# directory), with the server stopped.  Every read of the damaged bytes --
# the plain scan, the LSM Scan, the LSM Aggregate that sums the integers
# without building numerics, lsm.verify() -- must fail with an error that
# names the relation, the segment and the block, and the server must stay
# up.  Reads that do not touch the damaged chunk still work.

use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('numeric_damage');
$node->init;
$node->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'lsm_am'
lsm.enable_worker = off
max_parallel_workers_per_gather = 0
});
$node->start;

$node->safe_psql(
	'postgres', q{
CREATE EXTENSION lsm_am;
CREATE TABLE dmg (id int, amount numeric(12,2)) USING lsm;
INSERT INTO dmg SELECT x, (x % 100000) / 100.0 FROM generate_series(1, 20000) x;
CHECKPOINT;
});
my $sum = $node->safe_psql('postgres', 'SELECT sum(amount) FROM dmg');
is($sum, '2000100.00', 'sum before the damage');

my ($start_block, $bytes) = split /\|/,
  $node->safe_psql('postgres',
	'SELECT start_block, bytes FROM lsm.segments(\'dmg\')');
my $path = $node->data_dir . '/'
  . $node->safe_psql('postgres', "SELECT pg_relation_filepath('dmg')");

# Flip one byte of the segment image at image offset $k (8168 payload
# bytes after the 24-byte header of each page).
sub flip_image_byte
{
	my ($k) = @_;
	my $off = ($start_block + int($k / 8168)) * 8192 + 24 + $k % 8168;
	open(my $fh, '+<', $path) or die "open $path: $!";
	binmode $fh;
	seek($fh, $off, 0) or die;
	my $b;
	read($fh, $b, 1) == 1 or die;
	seek($fh, $off, 0) or die;
	print $fh chr(ord($b) ^ 0x5A);
	close($fh);
}

my $damage_re = qr/lsm relation "dmg" segment \d+ block \d+ is damaged/;

# 1. the last byte of the image: the amount chunk of the last block
$node->stop;
flip_image_byte($bytes - 1);
$node->start;

foreach my $q (
	'SELECT sum(amount) FROM dmg',
	'SELECT avg(amount) FROM dmg WHERE id > 10',
	'SET lsm.enable_aggregate_pushdown = off; SELECT sum(amount) FROM dmg',
	'SET lsm.enable_custom_scan = off; SELECT max(amount) FROM dmg',
	'SELECT count(*) FROM dmg WHERE amount > 0',
	'SELECT * FROM lsm.verify(\'dmg\')')
{
	my ($ret, $out, $err) = $node->psql('postgres', $q);
	isnt($ret, 0, "fails: $q");
	like($err, $damage_re, "names relation, segment and block: $q");
}
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'server still up');
is($node->safe_psql('postgres', 'SELECT count(*), sum(id) FROM dmg'),
	'20000|200010000', 'columns without damage still read');

# 2. undo it, then damage the chunk directory: the meta checksum
$node->stop;
flip_image_byte($bytes - 1);
$node->start;
is($node->safe_psql('postgres', 'SELECT sum(amount) FROM dmg'),
	'2000100.00', 'repaired');
$node->stop;
# the representation tag of the first block's amount chunk: header 96,
# two column descriptors, block header 40, rowid/cid/id chunk entries,
# byte 23 of the fourth entry
flip_image_byte(96 + 2 * 16 + 40 + 3 * 40 + 23);
$node->start;
my ($ret, $out, $err) = $node->psql('postgres', 'SELECT sum(amount) FROM dmg');
isnt($ret, 0, 'damaged tag fails');
like($err, qr/lsm relation "dmg" segment \d+ .*damaged/,
	'damaged tag names relation and segment');
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'server still up');

$node->stop;
done_testing();
