#!/usr/bin/env bash
# scripts/test.sh — run the whole lsm_am test suite.  This is what CI runs.
#
# Usage: scripts/test.sh [--install-deps] [--keep]
#   --install-deps  run scripts/install-deps.sh first (also: LSM_INSTALL_DEPS=1)
#   --keep          keep the scratch copy of the tree even when all tests pass
#
# Steps:
#   1. make -C src/format test         format unit tests, no server
#   2. make && make install            (as root; sudo otherwise)
#   3. copy the tree to a scratch directory owned by the postgres OS user
#      (initdb refuses to run as root) and run there, as postgres,
#      make installcheck for each suite in turn:
#        pg_regress           REGRESS   = test/regress_schedule
#        pg_isolation_regress ISOLATION = test/isolation_schedule
#        TAP (prove)          t/*.pl
#      Each suite runs even when an earlier one failed.  On failure the diffs
#      and server logs are printed.
#   4. print one line "N passed, M failed" and exit non-zero if M > 0.
set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

INSTALL_DEPS=${LSM_INSTALL_DEPS:-0}
KEEP=0
for arg in "$@"; do
	case "$arg" in
		--install-deps) INSTALL_DEPS=1 ;;
		--keep) KEEP=1 ;;
		-h|--help) sed -n '2,19p' "$0"; exit 0 ;;
		*) lsm_die "unknown argument: $arg" ;;
	esac
done

if [ "$INSTALL_DEPS" = 1 ]; then
	"$LSM_ROOT/scripts/install-deps.sh" || lsm_die "install-deps failed"
fi

PASSED=0
FAILED=0
SUITE_LINES=()
SCRATCH=""

note() { SUITE_LINES+=("$(printf '%-12s %s' "$1" "$2")"); }

# Print a file (bounded) under a header, for CI logs.
show_file()
{
	local f=$1 max=${2:-400}
	[ -s "$f" ] || return 0
	echo "----- $f (last $max lines) -----"
	tail -n "$max" "$f"
	echo "----- end of $f -----"
}

# Add the counts from pg_regress's summary line in file $1 (output of make).
# Returns 1 if no summary line was found.
count_pg_regress()
{
	local out=$1 line a b c
	line=$(grep -E '(All [0-9]+ tests passed|[0-9]+ of [0-9]+ tests (passed|failed))' "$out" | tail -n 1)
	[ -n "$line" ] || return 1
	if [[ $line =~ All\ ([0-9]+)\ tests\ passed ]]; then
		a=${BASH_REMATCH[1]}; PASSED=$((PASSED + a)); LAST="$a passed, 0 failed"
	elif [[ $line =~ ([0-9]+)\ of\ ([0-9]+)\ tests\ passed,\ ([0-9]+)\ failed ]]; then
		# failures marked "ignore" in the schedule: pg_regress exits 0
		b=${BASH_REMATCH[2]}; c=${BASH_REMATCH[3]}
		PASSED=$((PASSED + b)); LAST="$b passed, 0 failed ($c ignored failures)"
	elif [[ $line =~ ([0-9]+)\ of\ ([0-9]+)\ tests\ failed,\ ([0-9]+)\ of\ these ]]; then
		a=${BASH_REMATCH[1]}; b=${BASH_REMATCH[2]}; c=${BASH_REMATCH[3]}
		FAILED=$((FAILED + a - c)); PASSED=$((PASSED + b - a + c))
		LAST="$((b - a + c)) passed, $((a - c)) failed"
	elif [[ $line =~ ([0-9]+)\ of\ ([0-9]+)\ tests\ failed ]]; then
		a=${BASH_REMATCH[1]}; b=${BASH_REMATCH[2]}
		FAILED=$((FAILED + a)); PASSED=$((PASSED + b - a)); LAST="$((b - a)) passed, $a failed"
	else
		return 1
	fi
	return 0
}

# Add the counts from prove's output in file $1.  Every assertion counts;
# a test script that dies or exits non-zero without a failed assertion
# counts as one failure.  Returns 1 if prove printed no result.
count_prove()
{
	local out=$1 total failed=0 line t f
	total=$(sed -n 's/^Files=[0-9]*, Tests=\([0-9]*\),.*/\1/p' "$out" | tail -n 1)
	[ -n "$total" ] || return 1
	while IFS= read -r line; do
		if [[ $line =~ Tests:\ ([0-9]+)\ Failed:\ ([0-9]+)\) ]]; then
			f=${BASH_REMATCH[2]}
			[ "$f" -eq 0 ] && f=1
			failed=$((failed + f))
		fi
	done < <(grep -E '^t/\S+\s+\(Wstat: .*Tests: [0-9]+ Failed: [0-9]+\)' "$out")
	t=$((total - failed)); [ $t -lt 0 ] && t=0
	PASSED=$((PASSED + t)); FAILED=$((FAILED + failed))
	LAST="$t passed, $failed failed"
	return 0
}

finish()
{
	echo
	echo "================ lsm_am test summary ================"
	local l
	for l in "${SUITE_LINES[@]}"; do echo "$l"; done
	if [ -n "$SCRATCH" ]; then
		if [ "$FAILED" -eq 0 ] && [ "$KEEP" = 0 ]; then
			rm -rf "$SCRATCH"
		else
			echo "scratch tree kept in $SCRATCH"
		fi
	fi
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
	exit $?
}

LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/lsm_am_testlog.XXXXXX")
trap 'rm -rf "$LOGDIR"' EXIT
LAST=""

# ---------------------------------------------------------------- 1. format
lsm_log "format unit tests: make -C src/format test"
if [ ! -f "$LSM_ROOT/src/format/Makefile" ]; then
	echo "src/format/Makefile is missing"
	FAILED=$((FAILED + 1)); note format "missing src/format/Makefile (1 failure)"
else
	make -C "$LSM_ROOT/src/format" test 2>&1 | tee "$LOGDIR/format.out"
	rc=${PIPESTATUS[0]}
	line=$(grep -E '^[[:space:]]*[0-9]+ passed, [0-9]+ failed' "$LOGDIR/format.out" | tail -n 1)
	if [[ $line =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
		p=${BASH_REMATCH[1]}; f=${BASH_REMATCH[2]}
		[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
		PASSED=$((PASSED + p)); FAILED=$((FAILED + f)); note format "$p passed, $f failed"
	else
		FAILED=$((FAILED + 1)); note format "no result line (make exit $rc; 1 failure)"
	fi
fi

# ------------------------------------------------------------- 2. build
if ! lsm_build_install >"$LOGDIR/build.out" 2>&1; then
	cat "$LOGDIR/build.out"
	echo "build or install failed"
	FAILED=$((FAILED + 1)); note build "FAILED (1 failure); server suites not run"
	finish
fi
tail -n 5 "$LOGDIR/build.out"
note build "ok"

# ------------------------------------------------------- 3. server suites
SCRATCH=$(lsm_mktemp_dir lsm_am_test)
lsm_log "copying the tree to $SCRATCH"
tar -C "$LSM_ROOT" --exclude=./.git --exclude=./tmp_check --exclude=./tmp_check_iso \
	--exclude=./results --exclude=./output_iso -cf - . | tar -C "$SCRATCH" -xf -
if lsm_is_root; then chown -R postgres:postgres "$SCRATCH"; fi

# make installcheck with only one suite enabled; output in $LOGDIR/$1.out
run_suite()
{
	local name=$1; shift
	lsm_log "$name: make installcheck $*"
	# PG_TEST_EXTRA etc. are left to the caller's environment.
	lsm_as_pg env -u TEMP_CONFIG LC_ALL=C.UTF-8 LANG=C.UTF-8 make -C "$SCRATCH" installcheck PG_CONFIG="$PG_CONFIG" "$@" 2>&1 |
		tee "$LOGDIR/$name.out"
	return "${PIPESTATUS[0]}"
}

# pg_regress
if [ -s "$SCRATCH/test/regress_schedule" ]; then
	run_suite regress ISOLATION= TAP_TESTS=
	rc=$?
	if count_pg_regress "$LOGDIR/regress.out"; then
		note regress "$LAST"
	else
		FAILED=$((FAILED + 1)); note regress "no pg_regress result (exit $rc; 1 failure)"
	fi
	if [ "$rc" -ne 0 ]; then
		show_file "$SCRATCH/regression.diffs" 1000
		show_file "$SCRATCH/tmp_check/log/postmaster.log" 200
	fi
else
	note regress "skipped (test/regress_schedule missing or empty)"
fi

# pg_isolation_regress
if [ -s "$SCRATCH/test/isolation_schedule" ]; then
	run_suite isolation REGRESS= TAP_TESTS=
	rc=$?
	if count_pg_regress "$LOGDIR/isolation.out"; then
		note isolation "$LAST"
	else
		FAILED=$((FAILED + 1)); note isolation "no pg_isolation_regress result (exit $rc; 1 failure)"
	fi
	if [ "$rc" -ne 0 ]; then
		show_file "$SCRATCH/output_iso/regression.diffs" 1000
		show_file "$SCRATCH/tmp_check_iso/log/postmaster.log" 200
	fi
else
	note isolation "skipped (test/isolation_schedule missing or empty)"
fi

# TAP
if compgen -G "$SCRATCH/t/*.pl" >/dev/null; then
	run_suite tap REGRESS= ISOLATION= PROVE_FLAGS="--timer"
	rc=$?
	if count_prove "$LOGDIR/tap.out"; then
		note tap "$LAST"
	else
		FAILED=$((FAILED + 1)); note tap "no prove result (exit $rc; 1 failure)"
	fi
	if [ "$rc" -ne 0 ]; then
		# logs of the failed test scripts only: regress_log_NAME (the test's
		# own output) and NAME_<node>.log (server logs)
		for name in $(sed -n 's|^t/\([^ ]*\)\.pl[[:space:]]*(Wstat.*|\1|p' "$LOGDIR/tap.out"); do
			show_file "$SCRATCH/tmp_check/log/regress_log_$name" 400
			for f in "$SCRATCH/tmp_check/log/${name}"_*.log; do
				show_file "$f" 150
			done
		done
	fi
else
	note tap "skipped (no t/*.pl)"
fi

finish
