#!/usr/bin/env bash
# tests/e2e/run.sh: `finch-onboard run` end to end, against finch-mock.
#
# Each outcome (created, exists, failed, retried transient faults), retries
# proven from the emulator's log (no retry before its Retry-After, never more
# than --max-attempts requests per customer), never more than --rate in any
# second, 429s delaying only their own rows, a per-IP limit pausing the whole
# run (or ending it with exit 7 when its penalty is too long), a 401 mid-run,
# kill -9 then resume, SIGTERM (grace) and a second signal, two concurrent runs, --dry-run
# sending nothing, JSON logs, no progress line off a terminal, and the secret
# found nowhere.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

e2e_setup run
work=$E2E_TMP

export FINCH_CLIENT_ID=e2e-run-client
FINCH_CLIENT_SECRET=e2e-run-secret-$RANDOM$RANDOM-do-not-leak
export FINCH_CLIENT_SECRET
secret_b64=$(printf '%s:%s' "$FINCH_CLIENT_ID" "$FINCH_CLIENT_SECRET" | base64 -w0)

# make_csv FILE N PREFIX: N valid rows PREFIX-001...
make_csv() {
	awk -v n="$2" -v p="$3" 'BEGIN {
		print "customer_id,customer_name,customer_email,products"
		for (i = 1; i <= n; i++)
			printf "%s-%03d,Employer %d,hr%d@example.com,company directory\n", p, i, i, i
	}' >"$1"
}
# new_db DB N PREFIX: a fresh database of N pending rows.
new_db() {
	rm -f "$1" "$1-wal" "$1-shm"
	make_csv "$1.csv" "$2" "$3"
	fo import --db "$1" "$1.csv" >/dev/null 2>>all-stderr.log || fail "import of $1.csv failed"
}
run_opts=(--rate 0 --quiet --seed 7)

# ---- usage and refusals ----------------------------------------------------------
expect_exit 0 fo run --help
grep -q -- "--concurrency" out.txt || fail "run --help does not list --concurrency"
new_db u.db 1 u
expect_exit 2 fo run --db u.db --client-secret "$FINCH_CLIENT_SECRET"
grep -q "never taken on the command line" err.txt || fail "--client-secret not refused clearly"
expect_exit 2 fo run --db u.db --base-url http://api.example.com
grep -q -- "--base-url" err.txt || fail "plain http refusal does not name --base-url"
expect_exit 2 fo run --db u.db --concurrency 0
expect_exit 2 fo run --db u.db --rate fast
(unset FINCH_CLIENT_SECRET; expect_exit 2 fo run --db u.db --base-url http://127.0.0.1:9)
grep -q "FINCH_CLIENT_SECRET" err.txt || fail "a missing secret is not named"
pass "usage errors exit 2: secret on argv, plain http to a remote host, bad values, no secret"

# ---- each outcome ----------------------------------------------------------------
start_mock --existing-every 5 --log "$work/m-outcomes.log"
new_db o.db 10 o
# A row the contract rejects (the importer would have refused it: edit the database).
q o.db "UPDATE customers SET customer_email = 'not-an-email' WHERE customer_id = 'o-003'"
q o.db "UPDATE customers SET minutes_to_expire = 60 WHERE customer_id = 'o-002'"
before=$(date +%s%3N)
expect_exit 1 fo run --db o.db --base-url "$MOCK_URL" "${run_opts[@]}"
after=$(date +%s%3N)
[ "$(count_state o.db created)" = 7 ] || fail "want 7 created: $(q o.db 'SELECT customer_id, state FROM customers')"
[ "$(count_state o.db exists)" = 2 ] || fail "want 2 exists (o-005, o-010)"
[ "$(count_state o.db failed)" = 1 ] || fail "want 1 failed (o-003)"
q o.db "SELECT session_id FROM customers WHERE state = 'created'" |
	grep -vqE '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' &&
	fail "a session_id is not a UUIDv4"
[ "$(q o.db "SELECT count(*) FROM customers WHERE state = 'created' AND connect_url LIKE 'http%'")" = 7 ] ||
	fail "created rows lack a connect_url"
# expires_at = answer time + minutes_to_expire (default 129600 minutes).
q o.db "SELECT customer_id, expires_at FROM customers WHERE state = 'created'" | while IFS='|' read -r id exp; do
	min=$([ "$id" = o-002 ] && echo 60 || echo 129600)
	[ "$exp" -ge $((before + min * 60000)) ] && [ "$exp" -le $((after + min * 60000)) ] ||
		fail "$id: expires_at $exp is not now + $min minutes"
done
conn=$(jq -r 'select(.customer_id == "o-005") | .connection_id' m-outcomes.log | head -n 1)
[ -n "$conn" ] && [ "$conn" != null ] || fail "the emulator logged no connection_id for o-005"
[ "$(q o.db "SELECT connection_id FROM customers WHERE customer_id = 'o-005'")" = "$conn" ] ||
	fail "exists row does not carry the emulator's connection_id"
[ "$(q o.db "SELECT http_status || ' ' || finch_code FROM customers WHERE customer_id = 'o-003'")" = "400 invalid_request" ] ||
	fail "the rejected row lacks 400 invalid_request"
q o.db "SELECT error FROM customers WHERE customer_id = 'o-003'" | grep -q "customer_email" ||
	fail "the rejected row's error does not name the field"
[ "$(q o.db "SELECT count(*) FROM attempts WHERE request_id IS NULL OR elapsed_ms IS NULL")" = 0 ] ||
	fail "an attempt lacks its Finch-Request-Id or elapsed time"
[ "$(q o.db "SELECT count(*) FROM attempts")" = 10 ] || fail "want one attempt per row"
grep -q "row failed" all-stderr.log || true
stop_mock
pass "201 -> created (UUID, connect_url, expires_at), 400 exists -> exists with connection_id, 400 invalid_request -> failed"

# ---- transient faults are retried, then fail with the last reason ------------------
# bad_night NAME MOCK-ARGS...: 2 rows (f-NAME.db) sent with 2 attempts each to a mock started
# with MOCK-ARGS (its log m-NAME.log) that answers none of them well.
bad_night() {
	local name=$1
	shift
	start_mock "$@" --log "$work/m-$name.log"
	new_db "f-$name.db" 2 "f$name"
	# no request succeeded: a bad night (exit 8), not "some rows failed"
	expect_exit 8 fo run --db "f-$name.db" --base-url "$MOCK_URL" --max-attempts 2 --timeout 1 \
		"${run_opts[@]}"
	stop_mock
}
# fault_case NAME MOCK-ARGS...: every request faulted; 2 attempts; the row fails.
fault_case() {
	bad_night "$@"
	[ "$(count_state "f-$1.db" failed)" = 2 ] || fail "$1: rows did not fail after 2 attempts"
	[ "$(requests "m-$1.log")" -le 4 ] || fail "$1: more than 2 attempts per row"
	[ "$(q "f-$1.db" "SELECT count(*) FROM attempts")" = 4 ] || fail "$1: want 4 attempts recorded"
}
fault_case e503 --error-rate 1 --error-status 503
q f-e503.db "SELECT DISTINCT http_status FROM customers" | grep -qx 503 || fail "503 not recorded"
# A 2xx is never retried: the session may exist. A malformed 201 fails its row at once.
bad_night malformed --malformed-rate 1
[ "$(count_state f-malformed.db failed)" = 2 ] || fail "malformed 201: rows did not fail"
[ "$(requests m-malformed.log)" = 2 ] || fail "malformed 201: $(requests m-malformed.log) requests for 2 rows"
q f-malformed.db "SELECT error FROM customers" | grep -qi "malformed" || fail "malformed 201 reason missing"
# A request that went out and timed out may still create its session (Finch gives up after 6
# minutes): an attempt of unknown outcome, never sent again by its run (tests/reliability/blackhole.sh
# follows such rows over later runs).
bad_night hang --hang-rate 1
[ "$(requests m-hang.log)" = 2 ] || fail "hang: $(requests m-hang.log) requests for 2 rows, want 1 each"
[ "$(count_state f-hang.db retry_wait)" = 2 ] || fail "hang: $(count_state f-hang.db retry_wait) rows waiting, want 2"
[ "$(q f-hang.db "SELECT count(*) FROM attempts WHERE transport_error = 'outcome unknown'
	AND message LIKE '%Timeout was reached%'")" = 2 ] || fail "hang: the timeouts are not recorded as outcome unknown"
fault_case reset --reset-rate 1
[ "$(q f-reset.db "SELECT count(*) FROM attempts WHERE http_status IS NULL AND transport_error IS NOT NULL")" = 4 ] ||
	fail "connection resets not recorded as transport errors"
# fail-first: the first attempt fails, the retry succeeds.
start_mock --fail-first 1 --log "$work/m-ff.log"
new_db ff.db 5 ff
expect_exit 0 fo run --db ff.db --base-url "$MOCK_URL" "${run_opts[@]}"
[ "$(count_state ff.db created)" = 5 ] || fail "--fail-first 1: rows not created on retry"
[ "$(q ff.db "SELECT count(*) FROM attempts")" = 10 ] || fail "--fail-first 1: want 2 attempts a row"
stop_mock
pass "503, timeout and connection reset are retried, then fail with the last reason; a malformed 201 fails at once"

# ---- a server hint never parks a row for a year ------------------------------------------
# Retry-After: 366 days on every 429: the rows wait for a later run, due at most
# 7 days ahead (and never past --give-up-after).
start_mock --rate-limit-fault 1 --retry-after 366d
new_db hint.db 2 hint
t_before=$(($(date +%s) * 1000))
expect_exit 8 fo run --db hint.db --base-url "$MOCK_URL" "${run_opts[@]}" # nothing succeeded
[ "$(count_state hint.db retry_wait)" = 2 ] || fail "a year's hint: rows not left waiting"
far=$(q hint.db "SELECT max(next_attempt_at) FROM customers")
[ "$far" -le $((t_before + 7 * 86400000 + 60000)) ] && [ "$far" -ge $((t_before + 7 * 86400000 - 60000)) ] ||
	fail "a year's hint: due at $far, want 7 days after $t_before"
new_db hint2.db 2 hint2
expect_exit 8 fo run --db hint2.db --base-url "$MOCK_URL" --give-up-after 1d "${run_opts[@]}"
far=$(q hint2.db "SELECT max(next_attempt_at) FROM customers")
[ "$far" -le $((t_before + 86400000 + 60000)) ] || fail "a year's hint under --give-up-after 1d: due at $far"
stop_mock
pass "a Retry-After of a year leaves rows due in 7 days at most, or by --give-up-after"

# ---- retries end to end: Retry-After honoured, --max-attempts never exceeded --------
# Each 429 delays its own row by the hint: short hints keep this quick.
# Seconds hints are exercised by the tests below, HTTP dates by test_retry.
start_mock --seed 12 --error-rate 0.25 --rate-limit-fault 0.2 --retry-after 300ms \
	--retry-after-mode ms --log "$work/m-retry.log"
new_db r.db 30 r
rc=0
fo run --db r.db --base-url "$MOCK_URL" --max-attempts 4 --concurrency 8 --rate 1000/s \
	--seed 7 --quiet >out.txt 2>err.txt || rc=$?
[ "$rc" -le 1 ] || fail "retry run exited $rc: $(tail -n 3 err.txt)"
[ "$(count_state r.db in_flight)" = 0 ] && [ "$(count_state r.db pending)" = 0 ] &&
	[ "$(count_state r.db retry_wait)" = 0 ] || fail "retry run left rows unfinished"
jq -s '[.[] | select(.customer_id != null)] | group_by(.customer_id)[] | sort_by(.t_ms)
	| . as $r | range(1; length) | {id: $r[.].customer_id,
	  gap: ($r[.].t_ms - $r[. - 1].t_ms), hint: ($r[. - 1].retry_after_ms // 0)}
	| select(.gap < .hint)' m-retry.log >early.json
[ ! -s early.json ] || fail "retries came before their Retry-After: $(head -c 300 early.json)"
over=$(jq -s '[.[] | select(.customer_id != null)] | group_by(.customer_id)[] | select(length > 4) | .[0].customer_id' m-retry.log)
[ -z "$over" ] || fail "customers got more than --max-attempts requests: $over"
[ "$(jq -s '[.[] | select(.retry_after_ms != null and .retry_after_ms > 0)] | length' m-retry.log)" -gt 0 ] ||
	fail "the emulator sent no Retry-After: the check proves nothing"
[ "$(q r.db "SELECT count(*) FROM attempts")" = "$(requests m-retry.log)" ] ||
	fail "attempts recorded differ from requests the emulator saw"
stop_mock
pass "no retry before its Retry-After, at most --max-attempts requests per customer (emulator log)"

# ---- the rate is never above --rate ------------------------------------------------
# The promise to the API is an upper bound: in no second does the emulator see
# more than --rate (plus the bucket's one token, plus 2 for arrivals bunched
# by the scheduler). How close a run gets to its rate on a busy machine is a
# performance figure, printed by tests/bench/throttle.sh, not a test.
start_mock --log "$work/m-rate.log"
new_db rate.db 121 rt
expect_exit 0 fo run --db rate.db --base-url "$MOCK_URL" --rate 40/s --quiet
stop_mock
[ "$(requests m-rate.log)" = 121 ] || fail "--rate 40/s: $(requests m-rate.log) requests for 121 rows"
busiest=$(jq -r '.t_ms' m-rate.log | sort -n | awk '
	{ t[NR] = $1 }
	END { j = 1; for (i = 1; i <= NR; i++) { while (t[i] - t[j] >= 1000) j++; if (i - j + 1 > m) m = i - j + 1 } print m }')
[ "$busiest" -le 43 ] || fail "--rate 40/s: the emulator saw $busiest requests within one second"
pass "--rate 40/s: at most $busiest requests in any second at the emulator"

# ---- 10% of 429s: each row waits its own Retry-After, the run never pauses ----------
# finch_application_rl concerns the request: no global pause, no collapse of
# the rate (issue 10). Counted from the emulator's log, not timed.
start_mock --seed 5 --rate-limit-fault 0.1 --retry-after 1s --log "$work/m-share.log"
new_db sh.db 300 sh
expect_exit 0 fo run --db sh.db --base-url "$MOCK_URL" --rate 0 --concurrency 16 --seed 3
[ "$(count_state sh.db created)" = 300 ] || fail "10% of 429s: not every row was created"
n429=$(jq -s '[.[] | select(.status == 429)] | length' m-share.log)
[ "$n429" -gt 10 ] || fail "the emulator sent only $n429 429s: the check proves nothing"
[ "$(requests m-share.log)" = $((300 + n429)) ] ||
	fail "$(requests m-share.log) requests for 300 rows and $n429 429s: a row was sent twice"
! grep -q "per-IP rate limit was crossed" err.txt || fail "a per-request 429 paused the whole run"
# While a 429'd row waits its second, the others go on: more requests arrive
# within the second after the first 429 than the 16 that can have been in
# flight when it came (with the old global pause there were none). Not a
# fixed delay after it: a fast machine sends all 300 in 30 ms.
jq -s -r 'sort_by(.t_ms) | (map(select(.status == 429)) | .[0]) as $f
	| [.[] | select(.t_ms >= $f.t_ms and .t_ms < $f.t_ms + 900)] | length - 1' \
	m-share.log >during.txt
[ "$(cat during.txt)" -gt 16 ] || fail "nothing was sent while the first 429'd row waited"
stop_mock
pass "10% of 429s: $n429 rows waited their own Retry-After, the others went on, all created"

# ---- a per-IP limit (finch_api_ip_rl) pauses every request for its hint ------------
start_mock --rate-limit 15/1s --penalty 1s --log "$work/m-storm.log"
new_db s.db 40 s
rc=0
fo run --db s.db --base-url "$MOCK_URL" --rate 0 --concurrency 4 --max-attempts 10 --seed 3 \
	>out.txt 2>err.txt || rc=$?
[ "$rc" = 0 ] || fail "per-IP limit run exited $rc: $(tail -n 3 err.txt)"
grep -q "per-IP rate limit was crossed" err.txt || fail "no client-wide pause logged"
# After the first 429 (at t0, hint h), only requests already in flight may arrive before t0 + h.
jq -s -r 'sort_by(.t_ms) | (map(select(.status == 429)) | .[0]) as $f
	| [.[] | select(.t_ms > $f.t_ms + 100 and .t_ms < $f.t_ms + ($f.retry_after_ms // 1000) - 10)] | length' \
	m-storm.log >storm.txt
[ "$(cat storm.txt)" = 0 ] || fail "$(cat storm.txt) requests arrived during the per-IP pause"
[ "$(count_state s.db created)" = 40 ] || fail "not every row was created after the per-IP pause"
stop_mock
pass "a per-IP limit pauses every new request for the hinted time, then the run completes"

# ---- a per-IP penalty beyond --max-retry-after ends the run: exit 7, none failed ----
start_mock --rate-limit 20/300s --penalty 60m --log "$work/m-penalty.log"
new_db p.db 100 p
expect_exit 7 fo run --db p.db --base-url "$MOCK_URL" --rate 0 --concurrency 4 --seed 3
grep -q "run again after 20" err.txt || fail "exit 7 does not say when to resume: $(tail -n 2 err.txt)"
[ "$(count_state p.db failed)" = 0 ] || fail "a per-IP penalty marked rows failed"
[ "$(count_state p.db in_flight)" = 0 ] || fail "a per-IP penalty left rows in flight"
[ "$(count_state p.db created)" = 20 ] || fail "rows under the limit were not created"
[ $(($(count_state p.db pending) + $(count_state p.db retry_wait))) = 80 ] ||
	fail "the rows over the limit are not all kept pending or retry_wait"
# It crossed once: the 429s are at most the requests that were already in flight.
[ "$(jq -s '[.[] | select(.status == 429)] | length' m-penalty.log)" -le 4 ] ||
	fail "the run kept sending into the penalty"
[ "$(q p.db "SELECT exit_reason FROM runs ORDER BY id DESC LIMIT 1")" = stopped ] ||
	fail "the run's exit_reason is not 'stopped'"
stop_mock
pass "a per-IP penalty beyond --max-retry-after stops the run with exit 7, no row failed"

# ---- a Retry-After longer than --max-retry-after does not hold the run -----------
start_mock --seed 9 --rate-limit-fault 0.2 --retry-after 30s --log "$work/m-defer.log"
new_db d.db 40 d
expect_exit 1 fo run --db d.db --base-url "$MOCK_URL" --max-retry-after 1s "${run_opts[@]}"
n429=$(jq -s '[.[] | select(.status == 429)] | length' m-defer.log)
[ "$n429" -gt 0 ] || fail "the emulator sent no 429: the check proves nothing"
[ "$(count_state d.db retry_wait)" = "$n429" ] || fail "deferred rows are not in retry_wait"
[ "$(count_state d.db created)" = $((40 - n429)) ] || fail "the other rows did not finish"
[ "$(requests m-defer.log)" = 40 ] || fail "a deferred row was sent again in the same run"
t0=$(jq -s 'map(.t_ms) | min' m-defer.log)
[ "$(q d.db "SELECT count(*) FROM customers WHERE state = 'retry_wait' AND next_attempt_at >= $t0 + 29000")" = "$n429" ] ||
	fail "deferred rows are not scheduled after the hint"
stop_mock
pass "a hint longer than --max-retry-after leaves its row in retry_wait; the others finish"

# The same when the run outlasts the hint: 60 rows at 10/s take 6 s, a 3 s hint
# falls due meanwhile, and the deferred row still waits for a later run.
start_mock --seed 9 --rate-limit-fault 0.2 --retry-after 3s --log "$work/m-defer2.log"
new_db d2.db 60 e
expect_exit 1 fo run --db d2.db --base-url "$MOCK_URL" --max-retry-after 1s --rate 10/s --quiet
n429=$(jq -s '[.[] | select(.status == 429)] | length' m-defer2.log)
[ "$n429" -gt 0 ] || fail "the emulator sent no 429: the check proves nothing"
[ "$(requests m-defer2.log)" = 60 ] ||
	fail "a deferred row was sent again once its hint passed: $(requests m-defer2.log) requests for 60 rows"
[ "$(count_state d2.db retry_wait)" = "$n429" ] || fail "deferred rows are not in retry_wait"
stop_mock
start_mock --log "$work/m-defer3.log"
expect_exit 0 fo run --db d2.db --base-url "$MOCK_URL" "${run_opts[@]}"
[ "$(count_state d2.db created)" = 60 ] || fail "the next run did not send the deferred rows"
stop_mock
pass "a deferred row waits for a later run even when this one outlasts its hint; the next sends it"

# ---- 401 mid-run ------------------------------------------------------------------
start_mock --revoke-after 10 --log "$work/m-401.log"
new_db a.db 30 a
expect_exit 3 fo run --db a.db --base-url "$MOCK_URL" --rate 0 --concurrency 2 --seed 7
grep -q "FINCH_CLIENT_ID" err.txt && grep -q "FINCH_CLIENT_SECRET" err.txt ||
	fail "the 401 message does not point at the credentials"
[ "$(count_state a.db failed)" = 0 ] || fail "a 401 marked rows failed"
[ "$(count_state a.db in_flight)" = 0 ] || fail "a 401 left rows in flight"
created=$(count_state a.db created)
[ "$created" -ge 9 ] && [ "$created" -le 10 ] || fail "want 9-10 created before the revocation, got $created"
[ "$(requests m-401.log)" -le 12 ] || fail "requests kept going after the 401: $(requests m-401.log)"
stop_mock
start_mock --log "$work/m-401b.log"
expect_exit 0 fo run --db a.db --base-url "$MOCK_URL" "${run_opts[@]}"
[ "$(count_state a.db created)" = 30 ] || fail "the rerun after a 401 did not finish the batch"
[ "$(requests m-401b.log)" = $((30 - created)) ] || fail "the rerun resent rows that were done"
stop_mock
pass "a 401 mid-run stops at once (exit 3), no row failed, the rest stays pending for the next run"

# ---- kill -9 mid-run, then resume ---------------------------------------------------
start_mock --latency 100ms --log "$work/m-kill.log"
new_db k.db 200 k
bg_run kill k.db 16
wait_state "40 sessions before the kill" k.db created 40
bg_signal KILL
lost=$(count_state k.db in_flight)
[ "$lost" -gt 0 ] || fail "no row was in flight at the kill: the test proves nothing"
expect_exit 0 fo run --db k.db --base-url "$MOCK_URL" --rate 0 --concurrency 16
grep -q "crashed run" err.txt || fail "the recovery was not logged"
[ "$(q k.db "SELECT count(*) FROM customers WHERE state NOT IN ('created', 'exists', 'failed')")" = 0 ] ||
	fail "rows left unfinished after the resume"
[ "$(q k.db "SELECT count(*) FROM attempts WHERE transport_error = 'outcome unknown'")" = "$lost" ] ||
	fail "the $lost lost attempts are not recorded as outcome unknown"
q k.db "SELECT customer_id || ' ' || session_id FROM customers WHERE state = 'created' ORDER BY 1" >db-sessions.txt
jq -r 'select(.session_id != null) | .customer_id + " " + .session_id' m-kill.log | sort >mock-sessions.txt
unknown=$(sort db-sessions.txt | comm -23 - mock-sessions.txt)
[ -z "$unknown" ] || fail "session_ids the emulator never issued to that customer: $unknown"
[ "$(q k.db 'PRAGMA integrity_check')" = ok ] || fail "integrity_check failed after kill -9"
stop_mock
pass "kill -9 mid-run: the next run recovers $lost in-flight rows, finishes, every session_id is the emulator's"

# ---- two runs at once; SIGTERM drains within --grace ---------------------------------
start_mock --latency 300ms --log "$work/m-lock.log"
new_db l.db 40 l
bg_run lock l.db 2
wait_state "the first run to send" l.db in_flight 1
expect_exit 4 fo run --db l.db --base-url "$MOCK_URL" "${run_opts[@]}"
grep -q "pid $BG_PID (finch-onboard run)" err.txt || fail "the refusal does not name the other run: $(cat err.txt)"
expect_exit 4 fo import --db l.db l.db.csv
bg_signal TERM
[ "$BG_RC" = 5 ] || fail "SIGTERM: run exited $BG_RC, want 5"
[ "$(count_state l.db in_flight)" = 0 ] || fail "SIGTERM left rows in flight"
[ "$(q l.db "SELECT count(*) FROM attempts WHERE transport_error IN ('cut short', 'outcome unknown')")" = 0 ] ||
	fail "within --grace, answers in flight should have been recorded, not cut short"
[ "$(count_state l.db pending)" -gt 0 ] || fail "SIGTERM did not stop dispatching"
[ "$(requests m-lock.log)" = "$(q l.db 'SELECT count(*) FROM attempts')" ] ||
	fail "an answered request was not recorded"
stop_mock
pass "a second run or import on the same database exits 4 naming the first; SIGTERM drains and exits 5"

start_mock --latency 5s --log "$work/m-sig2.log"
new_db g.db 10 g
bg_run sig g.db 4
g_sent() { [ "$(requests m-sig2.log)" = 4 ]; }
wait_for "four requests sent" g_sent
kill -TERM "$BG_PID"
g_draining() { grep -q "signal received" sig.err; }
wait_for "the first signal to be taken" g_draining
# the scenario itself, not a wait: signals within a second of the first are the same request
sleep 1.1
t0=$(date +%s%3N)
bg_signal TERM
[ "$BG_RC" = 5 ] || fail "two signals: run exited $BG_RC, want 5"
[ $(($(date +%s%3N) - t0)) -lt 3000 ] || fail "a second signal did not stop the run at once"
[ "$(count_state g.db in_flight)" = 0 ] && [ "$(count_state g.db pending)" = 6 ] &&
	[ "$(q g.db "SELECT count(*) FROM customers WHERE state = 'retry_wait' AND attempts = 0
		AND error LIKE 'outcome unknown%'")" = 4 ] ||
	fail "a second signal left rows in flight, or the 4 cut short do not wait with their budget"
[ "$(q g.db "SELECT count(*) FROM attempts WHERE transport_error = 'outcome unknown'")" = 4 ] ||
	fail "the cut-short attempts are not recorded as outcome unknown"
[ "$(q g.db 'PRAGMA integrity_check')" = ok ] || fail "integrity_check failed after two signals"
stop_mock
pass "a second signal stops at once: the rows in flight wait with their budget, attempts recorded as outcome unknown"

# ---- dry run, logs, progress, secrets --------------------------------------------------
start_mock --log "$work/m-dry.log"
new_db y.db 3 y
expect_exit 0 fo run --db y.db --base-url "$MOCK_URL" --dry-run
grep -q "^POST $MOCK_URL/connect/sessions$" out.txt || fail "dry run does not show the request line"
grep -q "^Authorization: Basic \[redacted\]$" out.txt || fail "dry run does not redact Authorization"
[ "$(grep -c '^{"customer_id":"y-00[123]"' out.txt)" = 3 ] || fail "dry run does not show the 3 bodies"
[ "$(requests m-dry.log)" = 0 ] || fail "dry run sent requests"
[ "$(count_state y.db pending)" = 3 ] || fail "dry run changed the database"
(unset FINCH_CLIENT_SECRET; expect_exit 0 fo run --db y.db --base-url "$MOCK_URL" --dry-run)
pass "--dry-run prints the requests with Authorization redacted and sends nothing"

expect_exit 0 fo run --db y.db --base-url "$MOCK_URL" --rate 0 --log-format json --verbose
jq -se 'map(.event) | index("run_start") != null and index("run_end") != null' err.txt >/dev/null ||
	fail "JSON logs lack run_start/run_end, or a line is not JSON: $(head -c 300 err.txt)"
jq -se 'map(select(.event == "trace" and .kind == "header_out" and
	.msg == "Authorization: Basic [redacted]")) | length == 3' err.txt >/dev/null ||
	fail "--verbose under JSON logs: no redacted Authorization trace event per request"
! grep -q $'\r' err.txt || fail "progress output written to a non-terminal stderr"
! grep -q "sessions/s" err.txt || fail "progress output written to a non-terminal stderr"
stop_mock
pass "--log-format json gives one JSON event per line, --verbose trace included; --verbose redacts; no progress line off a terminal"

if command -v script >/dev/null; then
	start_mock --latency 50ms
	new_db p.db 20 p
	script -qec "'$FINCH_ONBOARD' run --db p.db --base-url '$MOCK_URL' --rate 0 --concurrency 2" \
		/dev/null >tty.txt 2>&1 || fail "run under a terminal failed: $(tail -n 3 tty.txt)"
	grep -q "sessions/s" tty.txt || fail "no progress line on a terminal"
	script -qec "'$FINCH_ONBOARD' run --db p.db --base-url '$MOCK_URL' --quiet" /dev/null >tty2.txt 2>&1 ||
		fail "quiet run under a terminal failed"
	! grep -q "sessions/s" tty2.txt || fail "--quiet still shows the progress line"
	stop_mock
	pass "a terminal gets the progress line, --quiet turns it off"
fi

for d in ./*.db; do fo export --db "$d" --out "$d.export.csv" >/dev/null 2>&1 || true; done
if grep -rlaF -e "$FINCH_CLIENT_SECRET" -e "$secret_b64" . >leaks.txt 2>/dev/null; then
	fail "the secret leaked into: $(tr '\n' ' ' <leaks.txt)"
fi
pass "the secret (plain or base64) is in no database, WAL, log, output or export"

finish
