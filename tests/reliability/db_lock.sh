#!/usr/bin/env bash
# tests/reliability/db_lock.sh: a foreign process (an operator's sqlite3
# shell) holds the database's write lock with BEGIN IMMEDIATE for 7 s,
# longer than the 5 s busy timeout, in the middle of a run. The run must
# send nothing new while it waits, keep collecting the answers in flight,
# commit them once the lock is released, and finish with every answer
# recorded: no customer gets a second session.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

e2e_setup rel-lock
HOLD_S=7 # the fault: longer than store_open.c's 5 s busy timeout

new_db l.db 400 l
start_mock --latency 50ms --log "$E2E_TMP/m.log"
fo run --db l.db --base-url "$MOCK_URL" --rate 40 --concurrency 8 >run.out 2>run.err &
run_pid=$!
at_least() { [ "$(requests m.log)" -ge "$1" ]; }
wait_for "the first 60 requests" at_least 60

mkfifo shell.in
sqlite3 l.db <shell.in >shell.out 2>&1 &
shell_pid=$!
exec 3>shell.in
printf '.timeout 5000\nBEGIN IMMEDIATE;\n.print locked\n' >&3
wait_for "the sqlite3 shell to hold the write lock" grep -q locked shell.out
locked_ms=$(date +%s%3N)
sleep "$HOLD_S" # holding the lock is the fault under test, not a wait
released_ms=$(date +%s%3N)
printf 'COMMIT;\n.quit\n' >&3
exec 3>&-
wait "$shell_pid" || fail "the sqlite3 shell failed: $(cat shell.out)"

rc=0
wait "$run_pid" || rc=$?
[ "$rc" = 0 ] || fail "run exited $rc: $(cat run.err)"
grep -q "locked by another process" run.err || fail "the wait was not reported: $(cat run.err)"
grep -q "writable again" run.err || fail "the end of the wait was not reported: $(cat run.err)"
pass "a run outlives a foreign write lock held ${HOLD_S} s (exit 0, the wait reported)"

during=$(jq -r --argjson a "$locked_ms" --argjson b "$released_ms" \
	'select(.t_ms > $a + 100 and .t_ms < $b)' m.log | wc -l)
[ "$during" = 0 ] || fail "$during requests went out while the database was locked"
pass "no request went out while the database was locked"

[ "$(count_state l.db created)" = 400 ] || fail "created: $(count_state l.db created), want 400"
[ "$(requests m.log)" = 400 ] || fail "the emulator got $(requests m.log) requests, want 400"
check_invariants l.db m.log --one-201
pass "every answer recorded: 400 sessions, 400 requests, every POST an attempt, no second 201"
finish
