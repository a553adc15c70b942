# scripts/lib.sh — shell helpers shared by scripts/test.sh, scripts/demo.sh and
# bench/run.sh.  Source it; do not run it.
#
# Throwaway clusters: lsm_cluster_start creates a fresh data directory in a
# temporary directory owned by the postgres OS user (initdb refuses to run as
# root), listens on a free port on 127.0.0.1 and on a unix socket inside the
# temporary directory, and preloads lsm_am unless LSM_NO_PRELOAD=1.
# lsm_cluster_stop stops it and removes everything; callers install it as an
# EXIT trap.

LSM_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_CONFIG=${PG_CONFIG:-pg_config}

lsm_log() { printf '==> %s\n' "$*" >&2; }
lsm_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

lsm_is_root() { [ "$(id -u)" -eq 0 ]; }

# Run a command as root (directly, or through sudo for other users).
lsm_as_root()
{
	if lsm_is_root; then "$@"; else sudo "$@"; fi
}

# Run a command as the user that owns throwaway clusters: postgres when we
# are root, ourselves otherwise.
lsm_as_pg()
{
	if lsm_is_root; then runuser -u postgres -- "$@"; else "$@"; fi
}

lsm_pgbin()
{
	command -v "$PG_CONFIG" >/dev/null 2>&1 ||
		lsm_die "$PG_CONFIG not found: install postgresql-server-dev-15 (scripts/install-deps.sh)"
	"$PG_CONFIG" --bindir
}

# A TCP port on 127.0.0.1 that nothing listens on right now.
lsm_free_port()
{
	perl -MIO::Socket::INET -e '
		my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1",
			LocalPort => 0, Proto => "tcp") or die "cannot bind: $!\n";
		print $s->sockport, "\n";'
}

# A temporary directory the cluster owner can write to.
lsm_mktemp_dir()
{
	local d
	d=$(mktemp -d "${TMPDIR:-/tmp}/${1:-lsm_am}.XXXXXX") || lsm_die "mktemp failed"
	chmod 755 "$d"
	if lsm_is_root; then chown postgres:postgres "$d"; fi
	echo "$d"
}

LSM_TMP=""
LSM_PGDATA=""
LSM_PGPORT=""
LSM_PGHOST=""
LSM_PGLOG=""

# lsm_cluster_start [postgresql.conf line ...]
# Sets LSM_TMP, LSM_PGDATA, LSM_PGPORT, LSM_PGHOST, LSM_PGLOG.
lsm_cluster_start()
{
	local bin
	bin=$(lsm_pgbin)
	LSM_TMP=$(lsm_mktemp_dir lsm_am_cluster)
	LSM_PGDATA=$LSM_TMP/data
	LSM_PGHOST=$LSM_TMP
	LSM_PGLOG=$LSM_TMP/server.log
	LSM_PGPORT=$(lsm_free_port)

	lsm_log "initdb in $LSM_PGDATA"
	lsm_as_pg "$bin/initdb" -D "$LSM_PGDATA" -U postgres -A trust -E UTF8 \
		--locale=C --no-sync >"$LSM_TMP/initdb.log" 2>&1 || {
		cat "$LSM_TMP/initdb.log" >&2
		lsm_die "initdb failed"
	}

	{
		echo "# added by scripts/lib.sh"
		echo "port = $LSM_PGPORT"
		echo "listen_addresses = '127.0.0.1'"
		echo "unix_socket_directories = '$LSM_TMP'"
		if [ "${LSM_NO_PRELOAD:-0}" != 1 ]; then
			echo "shared_preload_libraries = 'lsm_am'"
		fi
		local line
		for line in "$@"; do echo "$line"; done
	} | lsm_as_pg tee -a "$LSM_PGDATA/postgresql.conf" >/dev/null

	lsm_log "starting PostgreSQL on port $LSM_PGPORT (socket in $LSM_TMP)"
	if ! lsm_as_pg "$bin/pg_ctl" -D "$LSM_PGDATA" -l "$LSM_PGLOG" -w -t 120 start >/dev/null; then
		cat "$LSM_PGLOG" >&2 || true
		lsm_die "server failed to start"
	fi
}

# Stop the throwaway cluster (if any) and remove its directory.
# Safe to call several times; used as an EXIT trap.
lsm_cluster_stop()
{
	if [ -n "$LSM_PGDATA" ] && [ -f "$LSM_PGDATA/postmaster.pid" ]; then
		lsm_log "stopping PostgreSQL"
		lsm_as_pg "$(lsm_pgbin)/pg_ctl" -D "$LSM_PGDATA" -m fast -w -t 60 stop >/dev/null 2>&1 ||
			lsm_as_pg "$(lsm_pgbin)/pg_ctl" -D "$LSM_PGDATA" -m immediate -w stop >/dev/null 2>&1 ||
			true
	fi
	if [ -n "$LSM_TMP" ] && [ -d "$LSM_TMP" ] && [ "${LSM_KEEP:-0}" != 1 ]; then
		rm -rf "$LSM_TMP"
	elif [ -n "$LSM_TMP" ] && [ -d "$LSM_TMP" ]; then
		lsm_log "kept $LSM_TMP (LSM_KEEP=1)"
	fi
	LSM_PGDATA=""
	LSM_TMP=""
}

# psql against the throwaway cluster.  SQL files are best fed on stdin
# (`lsm_psql <file`): the postgres user may not be able to open files under
# the caller's home directory.
lsm_psql()
{
	lsm_as_pg "$(lsm_pgbin)/psql" -X -q -v ON_ERROR_STOP=1 -h "$LSM_PGHOST" -p "$LSM_PGPORT" \
		-U postgres -d "${LSM_DB:-postgres}" "$@"
}

# One value from a query (tuples only, unaligned).
lsm_psql_value()
{
	lsm_psql -At -c "$1"
}

# Run SQL given on stdin once per argument-less call with psql's \timing on
# and print the elapsed milliseconds of every statement, one per line.
# Query results are discarded.
lsm_psql_timings()
{
	{
		echo '\o /dev/null'
		echo '\timing on'
		cat
	} | lsm_psql 2>&1 | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
}

# Median of numbers given one per line on stdin.
lsm_median()
{
	sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "NaN"; exit }
		if (NR % 2) printf "%.1f\n", v[(NR + 1) / 2];
		else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Build and install the extension from the source tree (as root or via sudo).
lsm_build_install()
{
	local jobs
	jobs=$(nproc 2>/dev/null || echo 2)
	lsm_log "building lsm_am (make -j$jobs)"
	make -C "$LSM_ROOT" -j"$jobs" PG_CONFIG="$PG_CONFIG" || return 1
	lsm_log "installing lsm_am (make install)"
	lsm_as_root make -C "$LSM_ROOT" install PG_CONFIG="$PG_CONFIG" || return 1
}

# Build and install with the output in a log file, shown only on failure.
lsm_build_install_quiet()
{
	local log
	log=$(mktemp "${TMPDIR:-/tmp}/lsm_am_build.XXXXXX")
	lsm_log "building and installing lsm_am (log: $log)"
	if ! lsm_build_install >"$log" 2>&1; then
		cat "$log" >&2
		lsm_die "build failed"
	fi
	rm -f "$log"
}

# lsm_bench_cluster_start SHARED_BUFFERS PARALLEL: the throwaway cluster the
# benchmarks use (stopped on exit), tuned for loading and timing queries.
lsm_bench_cluster_start()
{
	trap lsm_cluster_stop EXIT
	trap 'exit 130' INT TERM
	lsm_cluster_start \
		"shared_buffers = $1" \
		"work_mem = '64MB'" \
		"maintenance_work_mem = '1GB'" \
		"max_wal_size = '16GB'" \
		"checkpoint_timeout = '1h'" \
		"autovacuum = off" \
		"jit = off" \
		"max_parallel_workers_per_gather = $2" \
		"huge_pages = ${BENCH_HUGE_PAGES:-try}"
}

# lsm_time_query RUNS SQL [SETUP]: run SETUP (if given) and SQL once to warm
# up, then SQL RUNS times, in one
# session; print the median elapsed milliseconds.
lsm_time_query()
{
	local runs=$1 sql=$2 setup=${3:-} i skip=2
	[ -n "$setup" ] && skip=3
	{ [ -n "$setup" ] && echo "$setup;"; for ((i = 0; i <= runs; i++)); do echo "$sql;"; done; } |
		lsm_psql_timings | tail -n +$skip | lsm_median
}
