# tests/e2e/lib.sh: shared helpers for the end-to-end scripts. Source it:
#
#	. "$(dirname "$0")/lib.sh"
#
# It needs FINCH_ONBOARD and FINCH_MOCK (paths of the built binaries; ctest
# sets them). fail/pass/finish count results; start_mock/stop_mock run the
# real emulator on a free loopback port and stop it by pid; tmpdir makes a
# work directory and a trap (e2e_cleanup) that removes it and stops every
# mock still running. Nothing here sleeps to wait for something: it polls
# with a deadline (poll_until, wait_for). Safe under set -euo pipefail.
#
# API (stable): fail MSG, pass MSG, finish, tmpdir [NAME] (sets E2E_TMP),
# e2e_setup NAME, e2e_credentials NAME, e2e_cleanup, poll_until SECONDS CMD..., wait_for DESC CMD...,
# fo, expect_exit, requests, q DB SQL, count_state DB STATE, wait_state DESC DB STATE N,
# csv_col FILE COLUMN,
# prom_check FILE,
# bg_fo NAME ARGS... (sets BG_PID), bg_run NAME DB CONCURRENCY [ARGS...], bg_wait and bg_signal SIG (set BG_RC),
# start_mock [ARGS...] (sets MOCK_PID, MOCK_URL, MOCK_LOG), stop_mock.

: "${FINCH_ONBOARD:?set FINCH_ONBOARD to the finch-onboard binary}"
: "${FINCH_MOCK:?set FINCH_MOCK to the finch-mock binary}"

E2E_PASSED=0
MOCK_PID=
MOCK_URL=
MOCK_LOG=
MOCK_OUT=
E2E_TMP=
E2E_MOCK_PIDS=() # every mock start_mock started, for e2e_cleanup
E2E_MOCK_OUTS=()
BG_PID= # the finch-onboard bg_fo started, for e2e_cleanup
BG_RC=

# Test credentials: the secret only ever travels through the environment.
export FINCH_CLIENT_ID="${FINCH_CLIENT_ID:-e2e-client}"
export FINCH_CLIENT_SECRET="${FINCH_CLIENT_SECRET:-e2e-secret-$$-$RANDOM$RANDOM}"

fail() {
	echo "FAIL: $*" >&2
	echo "$E2E_PASSED passed, 1 failed"
	exit 1
}

pass() {
	E2E_PASSED=$((E2E_PASSED + 1))
	echo "ok $E2E_PASSED - $*"
}

finish() {
	echo "$E2E_PASSED passed, 0 failed"
}


# run_fo ARGS...: runs finch-onboard in the current folder; sets RC, OUT
# (stdout) and ERR (stderr), and keeps them in out.txt and err.txt.
run_fo() {
	"$FINCH_ONBOARD" "$@" >out.txt 2>err.txt
	RC=$?
	OUT=$(cat out.txt)
	ERR=$(cat err.txt)
}

expect_rc() { # RC WHAT
	[ "$RC" = "$1" ] || fail "$2: exit $RC, expected $1; stderr: $ERR"
}

expect_eq() { # WHAT GOT EXPECTED
	[ "$2" = "$3" ] || fail "$1: got
---
$2
---
expected
---
$3
---"
}

# poll_until SECONDS CMD...: runs CMD until it succeeds or SECONDS pass.
poll_until() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

# wait_for DESC CMD...: polls CMD for up to WAIT_FOR_SECONDS (default 10);
# fails the test naming DESC when it never succeeds.
wait_for() {
	local desc=$1
	shift
	poll_until "${WAIT_FOR_SECONDS:-10}" "$@" || fail "timed out waiting for $desc"
}

# fo ARGS...: the finch-onboard under test.
fo() { "$FINCH_ONBOARD" "$@"; }

# expect_exit CODE CMD...: runs CMD with stdout in out.txt and stderr in
# err.txt (both also appended to all-stdout.log and all-stderr.log, for the
# secret checks), and fails unless it exits CODE.
expect_exit() {
	local want=$1 rc=0
	shift
	"$@" >out.txt 2>err.txt || rc=$?
	cat err.txt >>all-stderr.log
	cat out.txt >>all-stdout.log
	[ "$rc" -eq "$want" ] || fail "'$*' exited $rc, want $want: $(tail -n 5 err.txt)"
}

# q DB SQL: the query's rows, bare (no header); count_state DB STATE: how
# many customers are in STATE.
q() { sqlite3 -batch -noheader "$1" "$2"; }
count_state() { q "$1" "SELECT count(*) FROM customers WHERE state = '$2'"; }

# wait_state DESC DB STATE N: waits (wait_for DESC) until N customers or more
# are in STATE.
_state_reached() { [ "$(count_state "$1" "$2")" -ge "$3" ]; }
wait_state() { wait_for "$1" _state_reached "$2" "$3" "$4"; }

# csv_col FILE COLUMN: the CSV file's column, one value a line, in file order.
csv_col() { sqlite3 -batch -noheader :memory: ".import --csv '$1' t" "SELECT \"$2\" FROM t"; }

# prom_check FILE: checks a metrics file the way a collector reads it
# (prom_check.py); prints its samples as one JSON object, fails on a bad file.
E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
prom_check() { python3 "$E2E_DIR/prom_check.py" "$@"; }

# bg_fo NAME ARGS...: starts finch-onboard ARGS in the background, stdout in
# NAME.out and stderr in NAME.err; sets BG_PID. bg_wait waits for it and
# sets BG_RC to its exit code; bg_signal SIG sends SIG first. e2e_cleanup
# kills one still running.
bg_fo() {
	local name=$1
	shift
	"$FINCH_ONBOARD" "$@" >"$name.out" 2>"$name.err" &
	BG_PID=$!
}

# bg_run NAME DB CONCURRENCY [ARGS...]: bg_fo NAME of a quiet run of DB
# against the mock, at CONCURRENCY and no rate limit.
bg_run() {
	local name=$1 db=$2 n=$3
	shift 3
	bg_fo "$name" run --db "$db" --base-url "$MOCK_URL" --rate 0 --concurrency "$n" "$@" --quiet
}

bg_wait() {
	BG_RC=0
	wait "$BG_PID" 2>/dev/null || BG_RC=$?
	BG_PID=
}

bg_signal() {
	kill -"$1" "$BG_PID"
	bg_wait
}

# requests LOG [PATH]: how many requests finch-mock logged (to PATH).
requests() {
	if [ ! -s "$1" ]; then
		echo 0
	elif [ $# -gt 1 ]; then
		jq -c --arg p "$2" 'select(.path == $p)' "$1" | wc -l
	else
		wc -l <"$1"
	fi
}

# e2e_cleanup: kills the finch-onboard bg_fo started, stops every mock
# start_mock started (SIGTERM, then SIGKILL after 5 s) and removes E2E_TMP. tmpdir installs it as the EXIT trap; a
# script with its own trap can call it from there.
e2e_cleanup() {
	local p deadline=$((SECONDS + 5))

	if [ -n "$BG_PID" ]; then
		kill -KILL "$BG_PID" 2>/dev/null || true
		wait "$BG_PID" 2>/dev/null || true
		BG_PID=
	fi
	for p in "${E2E_MOCK_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${E2E_MOCK_PIDS[@]}"; do
		while kill -0 "$p" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
			sleep 0.05
		done
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	E2E_MOCK_PIDS=()
	for p in "${E2E_MOCK_OUTS[@]}"; do
		rm -f "$p" "$p.err"
	done
	E2E_MOCK_OUTS=()
	if [ -n "$E2E_TMP" ]; then
		rm -rf "$E2E_TMP"
	fi
	return 0
}

# tmpdir [NAME]: makes a fresh work directory, E2E_TMP, and sets the EXIT
# trap to e2e_cleanup.
tmpdir() {
	E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/e2e-${1:-test}.XXXXXX")
	trap e2e_cleanup EXIT
}

# e2e_setup NAME: tmpdir NAME, then into it, with FINCH_BASE_URL and
# FINCH_ONBOARD_NOW unset so the caller's environment cannot steer a test.
e2e_setup() {
	tmpdir "$1"
	cd "$E2E_TMP"
	unset FINCH_BASE_URL FINCH_ONBOARD_NOW
}

# e2e_credentials NAME: credentials of the test's own, e2e-NAME-client and a
# secret that says what it is if it ever shows up.
e2e_credentials() {
	export FINCH_CLIENT_ID=e2e-$1-client
	FINCH_CLIENT_SECRET=e2e-secret-$RANDOM$RANDOM-do-not-leak
	export FINCH_CLIENT_SECRET
}

_mock_listening() {
	MOCK_URL=$(sed -n '1s/^listening on \(http:\/\/[^ ]*\)$/\1/p' "$MOCK_OUT" 2>/dev/null)
	[ -n "$MOCK_URL" ] && return 0
	kill -0 "$MOCK_PID" 2>/dev/null || { cat "$MOCK_OUT.err" >&2; fail "finch-mock exited at start: $*"; }
	return 1
}

# start_mock [ARGS...]: starts finch-mock on a free port with the test
# credentials; sets MOCK_PID, MOCK_URL and (with --log FILE) MOCK_LOG.
start_mock() {
	local prev=
	MOCK_LOG=
	for a in "$@"; do
		case $prev,$a in
		--log,*) MOCK_LOG=$a ;;
		*,--log=*) MOCK_LOG=${a#--log=} ;;
		esac
		prev=$a
	done
	MOCK_OUT=$(mktemp "${TMPDIR:-/tmp}/finch-mock.out.XXXXXX")
	"$FINCH_MOCK" --port 0 --client-id "$FINCH_CLIENT_ID" "$@" >"$MOCK_OUT" 2>"$MOCK_OUT.err" &
	MOCK_PID=$!
	E2E_MOCK_PIDS+=("$MOCK_PID")
	E2E_MOCK_OUTS+=("$MOCK_OUT")
	poll_until 10 _mock_listening "$@" || fail "finch-mock did not start listening within 10 s"
}

# stop_mock: SIGTERM by pid, wait with a deadline, SIGKILL after that.
stop_mock() {
	[ -n "$MOCK_PID" ] || return 0
	kill -TERM "$MOCK_PID" 2>/dev/null || true
	if ! poll_until 10 _mock_gone; then
		kill -KILL "$MOCK_PID" 2>/dev/null || true
	fi
	wait "$MOCK_PID" 2>/dev/null || true
	rm -f "$MOCK_OUT" "$MOCK_OUT.err"
	MOCK_PID=
}

_mock_gone() {
	! kill -0 "$MOCK_PID" 2>/dev/null
}
