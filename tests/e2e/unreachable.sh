#!/usr/bin/env bash
# tests/e2e/unreachable.sh: a run that cannot reach the API stops instead
# of failing rows (exit 6), and an outage mid-run pauses the run as a whole
# (the circuit breaker of breaker.h) instead of letting each row spend its
# budget.
#
# A closed port, a wrong base path (404) and https to a plain-http server
# each exit 6 after a handful of requests with every row still pending; the
# emulator stopped mid-run and started again on the same port: the run
# pauses, probes, resumes and ends with every row created; never started
# again: exit 6 after --max-outage, no row failed. A night of 503s opens the
# breaker too (8 in a row) and ends in exit 6 instead of 3 requests a row;
# random 503s among answers do not.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

e2e_setup unreachable

new_db() { # DB N
	rm -f "$1" "$1-wal" "$1-shm"
	awk -v n="$2" 'BEGIN { print "customer_id,customer_name,products"
		for (i = 1; i <= n; i++) printf "u-%03d,Employer %d,company\n", i, i }' >"$1.csv"
	fo import --db "$1" "$1.csv" >/dev/null || fail "import of $1.csv failed"
}

# ---- nothing there: stop at once, like a 401 --------------------------------------
# expect_unreachable NAME URL: 200 rows, every one still pending, at most the
# first concurrency's worth of attempts, all recorded, exit 6.
expect_unreachable() {
	new_db "$1.db" 200
	expect_exit 6 fo run --db "$1.db" --base-url "$2" --rate 0 --quiet --max-attempts 2
	grep -q "the API could not be reached; nothing was marked failed" err.txt ||
		fail "$1: exit 6 without its message: $(cat err.txt)"
	[ "$(count_state "$1.db" pending)" = 200 ] ||
		fail "$1: rows left pending: $(count_state "$1.db" pending), want 200"
	local n
	n=$(q "$1.db" "SELECT count(*) FROM attempts")
	[ "$n" -ge 3 ] && [ "$n" -le 32 ] || fail "$1: $n attempts, want 3..32 (two waves of 16 at most)"
	[ "$(q "$1.db" "SELECT count(*) FROM customers WHERE attempts > 0")" = 0 ] ||
		fail "$1: a row spent its attempt budget"
}

expect_unreachable closed "http://127.0.0.1:9"
grep -q "Couldn't connect" err.txt || fail "closed port: the reason is not named"
pass "a closed port: exit 6 after the first requests, 200 of 200 rows still pending"

start_mock --log "$E2E_TMP/m-path.log"
expect_unreachable path "$MOCK_URL/v1"
grep -q "HTTP 404" err.txt && grep -q -- "--base-url" err.txt ||
	fail "wrong path: the message names neither the 404 nor --base-url: $(cat err.txt)"
expect_unreachable tls "${MOCK_URL/http:/https:}"
grep -qi "SSL\|TLS" err.txt || fail "https to plain http: the TLS failure is not named"
# The same database against the right URL finishes the batch: nothing was lost.
expect_exit 0 fo run --db path.db --base-url "$MOCK_URL" --rate 0 --quiet
[ "$(count_state path.db created)" = 200 ] || fail "the batch did not finish once the URL was right"
stop_mock
pass "a wrong base path (404) and https to a plain-http server: exit 6, nothing failed; the right URL then finishes"

# ---- an outage mid-run: pause, probe, resume ----------------------------------------
start_mock --latency 10ms --log "$E2E_TMP/m-outage1.log"
port=${MOCK_URL##*:}
new_db o.db 150
"$FINCH_ONBOARD" run --db o.db --base-url "$MOCK_URL" --rate 50/s --concurrency 4 \
	--max-attempts 3 --log-format json --seed 5 >run.out 2>run.err &
run_pid=$!
wait_state "30 sessions before the outage" o.db created 30
stop_mock
# With the breaker: three refusals, then a probe after 1 s and 2 s. Without
# it, the run would pile up refusals at 50/s and rows would spend 3 attempts.
refusals() { [ "$(q o.db "SELECT count(*) FROM attempts WHERE transport_error LIKE 'Couldn''t connect%'")" -ge 5 ]; }
wait_for "five refused attempts" refusals
grep -q '"event":"outage"' run.err || fail "the outage was not logged: $(tail -n 3 run.err)"
start_mock --port "$port" --latency 10ms --log "$E2E_TMP/m-outage2.log"
rc=0
wait "$run_pid" || rc=$?
[ "$rc" = 0 ] || fail "the run through an outage exited $rc: $(tail -n 3 run.err)"
grep -q '"event":"outage_over"' run.err || fail "the end of the outage was not logged"
[ "$(count_state o.db created)" = 150 ] || fail "not every row was created after the outage"
n=$(q o.db "SELECT count(*) FROM attempts WHERE transport_error LIKE 'Couldn''t connect%'")
[ "$n" -le 12 ] || fail "$n refused attempts: the breaker did not hold the requests back"
pass "the API gone mid-run: the run pauses, probes ($n refused attempts in all), resumes, every row created"

start_mock --latency 10ms
new_db g.db 150
"$FINCH_ONBOARD" run --db g.db --base-url "$MOCK_URL" --rate 50/s --concurrency 4 \
	--max-attempts 2 --max-outage 2s --log-format json >run.out 2>run.err &
run_pid=$!
wait_state "20 sessions before the outage" g.db created 20
stop_mock
rc=0
wait "$run_pid" || rc=$?
[ "$rc" = 6 ] || fail "an outage longer than --max-outage: exit $rc, want 6: $(tail -n 3 run.err)"
grep -q "had not come back after 2 s" run.err || fail "the give-up is not explained: $(tail -n 3 run.err)"
[ "$(count_state g.db failed)" = 0 ] || fail "rows failed during the outage: $(count_state g.db failed)"
[ "$(count_state g.db in_flight)" = 0 ] || fail "rows left in flight"
# A refused connection never reached Finch: it must not spend a row's budget.
n=$(q g.db "SELECT count(*) FROM customers c WHERE c.attempts > 0 AND NOT EXISTS
	(SELECT 1 FROM attempts a WHERE a.customer = c.id AND
	 (a.transport_error IS NULL OR a.transport_error NOT LIKE 'Couldn''t connect%'))")
[ "$n" = 0 ] || fail "$n rows spent attempts on refused connections alone"
pass "an outage longer than --max-outage: exit 6, no row failed, the rest still pending"

# ---- a night of server errors: the breaker, not each row's budget -----------------
# 200 rows, every answer a 503: before the breaker knew 5xx, each row spent
# its 3 attempts (600 requests, exit 1, every row failed).
start_mock --error-rate 1 --error-status 503 --log "$E2E_TMP/m-503.log"
new_db e.db 200
expect_exit 6 fo run --db e.db --base-url "$MOCK_URL" --rate 0 --quiet --max-attempts 3 \
	--max-outage 2s
n=$(requests m-503.log)
[ "$n" -le 40 ] || fail "a night of 503s: $n requests, want at most 40 (8, the in-flight 16, probes)"
grep -q "nothing but server errors.*HTTP 503" err.txt ||
	fail "the 503 night is not explained: $(cat err.txt)"
[ "$(q e.db "SELECT exit_reason FROM runs ORDER BY id DESC LIMIT 1")" = server_errors ] ||
	fail "exit_reason: $(q e.db "SELECT exit_reason FROM runs ORDER BY id DESC LIMIT 1")"
[ "$(count_state e.db failed)" = 0 ] || fail "rows failed on a 503 night: $(count_state e.db failed)"
[ "$(q e.db "SELECT count(*) FROM attempts")" = "$n" ] || fail "a request is not an attempt row"
[ "$(q e.db "SELECT max(attempts) FROM customers")" -le 1 ] ||
	fail "a row spent more than one attempt on a 503 night"
stop_mock
# The morning after: the same database against a healthy API finishes the batch.
start_mock
expect_exit 0 fo run --db e.db --base-url "$MOCK_URL" --rate 0 --quiet --max-attempts 3
[ "$(count_state e.db created)" = 200 ] || fail "the batch did not finish after the 503 night"
stop_mock
pass "a night of 503s: exit 6 after $n requests (not 600), no row failed; the next run finishes"

# 25% of random 503s (seeded): the retry policy deals with them, the breaker stays shut.
start_mock --seed 3 --error-rate 0.25 --error-status 503
new_db r.db 100
expect_exit 0 fo run --db r.db --base-url "$MOCK_URL" --rate 0 --quiet --max-attempts 8 \
	--log-format json --seed 1
! grep -q '"event":"outage"' err.txt || fail "random 503s opened the breaker"
[ "$(count_state r.db created)" = 100 ] || fail "random 503s: not every row was created"
stop_mock
pass "random 503s (25%) are retried per row and never open the breaker"

finish
