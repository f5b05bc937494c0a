# tests/e2e/lib.sh: shared helpers for the end-to-end scripts. Source it:
#
#	. "$(dirname "$0")/lib.sh"
#
# It needs FINCH_ONBOARD and FINCH_MOCK (paths of the built binaries; ctest
# sets them). fail/pass/finish count results; start_mock/stop_mock run the
# real emulator on a free loopback port and stop it by pid. Nothing here
# sleeps to wait for something: it polls with a deadline.

: "${FINCH_ONBOARD:?set FINCH_ONBOARD to the finch-onboard binary}"
: "${FINCH_MOCK:?set FINCH_MOCK to the finch-mock binary}"

E2E_PASSED=0
MOCK_PID=
MOCK_URL=
MOCK_LOG=
MOCK_OUT=

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

# poll_until SECONDS CMD...: runs CMD until it succeeds or SECONDS pass.
poll_until() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.05
	done
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
		[ "$prev" = "--log" ] && MOCK_LOG=$a
		prev=$a
	done
	MOCK_OUT=$(mktemp "${TMPDIR:-/tmp}/finch-mock.out.XXXXXX")
	"$FINCH_MOCK" --port 0 --client-id "$FINCH_CLIENT_ID" "$@" >"$MOCK_OUT" 2>"$MOCK_OUT.err" &
	MOCK_PID=$!
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
