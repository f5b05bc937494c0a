#!/usr/bin/env bash
# tests/e2e/nightly.sh: unattended nights. Transient failures carry over to
# the next sync with a fresh budget (until --give-up-after); permanent ones
# do not; an expired link whose renewal hit a night of resets is renewed the
# next night; status and the export say why a row waits or failed and until when
# it is tried again; status shows a run in progress as running, with its pid.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

e2e_setup nightly

awk 'BEGIN { print "customer_id,customer_name,customer_email,products"
	for (i = 1; i <= 20; i++) printf "n-%03d,Employer %d,hr%d@example.com,company\n", i, i, i }' >night.csv
opts=(--rate 0 --quiet --max-attempts 2 --seed 3)
t0=$(date +%s)

# ---- a night of resets, then a good night ---------------------------------------------
# Every connection closed without an answer: per-row transient failures. (A
# night of 5xx to every request is the breaker's, exit 6: tests/e2e/unreachable.sh.)
start_mock --reset-rate 1 --log "$E2E_TMP/m-bad.log"
# One row the API rejects for good: it must not come back by itself.
fo import --db n.db night.csv >/dev/null
q n.db "UPDATE customers SET customer_email = 'not-an-email' WHERE customer_id = 'n-007'"
expect_exit 8 fo sync night.csv --db n.db --out n1.csv --base-url "$MOCK_URL" "${opts[@]}"
stop_mock
[ "$(count_state n.db failed)" = 20 ] || fail "the night of resets: $(count_state n.db failed) failed, want 20"
# n-007 was sent to a server that resets everything: make its failure the permanent one.
q n.db "UPDATE customers SET http_status = 400, finch_code = 'invalid_request', first_transient_at = NULL,
	give_up_at = NULL WHERE customer_id = 'n-007'"
[ "$(csv_col n1.csv retry_until | grep -c .)" = 20 ] || fail "the export does not say until when rows are retried"
fo status --db n.db >status.txt
grep -q "sent again by the next sync: 19" status.txt || fail "status does not count the carried-over rows: $(cat status.txt)"
fo status --db n.db --json >status.json
[ "$(jq .carried_over status.json)" = 19 ] || fail "status --json carried_over: $(jq .carried_over status.json)"
pass "a night of resets: rows fail after their attempts, the export and status say the next sync retries them"

start_mock --log "$E2E_TMP/m-good.log"
expect_exit 1 fo sync night.csv --db n.db --out n2.csv --base-url "$MOCK_URL" "${opts[@]}"
[ "$(count_state n.db created)" = 19 ] || fail "the good night: $(count_state n.db created) created, want 19"
[ "$(requests m-good.log)" = 19 ] || fail "the good night sent $(requests m-good.log) requests, want 19"
! jq -r .customer_id m-good.log | grep -qx n-007 || fail "a permanent failure was sent again"
[ "$(q n.db "SELECT state || ' ' || finch_code FROM customers WHERE customer_id = 'n-007'")" = "failed invalid_request" ] ||
	fail "the permanent failure changed"
[ "$(csv_col n2.csv retry_until | grep -c .)" = 0 ] || fail "done rows still show a retry_until"
stop_mock
pass "the next good night re-queues every transient failure with a fresh budget: 19 created, the permanent failure left alone"

# ---- --give-up-after --------------------------------------------------------------------
start_mock --reset-rate 1
fo import --db g.db night.csv >/dev/null
expect_exit 8 fo sync night.csv --db g.db --out g.csv --base-url "$MOCK_URL" --give-up-after 1h "${opts[@]}"
stop_mock
start_mock --log "$E2E_TMP/m-late.log"
FINCH_ONBOARD_NOW=$((t0 + 7200)) expect_exit 1 fo sync night.csv --db g.db --out g.csv \
	--base-url "$MOCK_URL" --give-up-after 1h "${opts[@]}"
[ "$(requests m-late.log)" = 0 ] || fail "rows past --give-up-after were sent again"
FINCH_ONBOARD_NOW=$((t0 + 1800)) expect_exit 0 fo sync night.csv --db g.db --out g.csv \
	--base-url "$MOCK_URL" "${opts[@]}"
[ "$(count_state g.db created)" = 20 ] || fail "within --give-up-after the rows were not retried"
stop_mock
pass "--give-up-after, as given tonight: past it nothing is re-queued; within it every row is"

# ---- renewals survive a night of resets ------------------------------------------------
start_mock
expect_exit 0 fo sync night.csv --db r.db --out r.csv --minutes-to-expire 1 --base-url "$MOCK_URL" "${opts[@]}"
stop_mock
old=$(q r.db "SELECT group_concat(session_id) FROM customers")
start_mock --reset-rate 1
FINCH_ONBOARD_NOW=$((t0 + 86400)) expect_exit 8 fo sync night.csv --db r.db --out r.csv \
	--minutes-to-expire 1 --renew-expired --base-url "$MOCK_URL" "${opts[@]}"
stop_mock
[ "$(count_state r.db failed)" = 20 ] || fail "the renewal night did not fail"
start_mock --existing-every 4 --log "$E2E_TMP/m-renew.log"
FINCH_ONBOARD_NOW=$((t0 + 2 * 86400)) expect_exit 0 fo sync night.csv --db r.db --out r.csv \
	--minutes-to-expire 1 --renew-expired --base-url "$MOCK_URL" "${opts[@]}"
[ "$(requests m-renew.log)" = 20 ] || fail "the next night renewed $(requests m-renew.log) rows, want 20"
[ "$(count_state r.db created)" = 15 ] && [ "$(count_state r.db exists)" = 5 ] ||
	fail "after the renewal night: $(q r.db 'SELECT state, count(*) FROM customers GROUP BY 1')"
for s in $(q r.db "SELECT session_id FROM customers WHERE state = 'created'"); do
	case ",$old," in *",$s,"*) fail "session $s was not renewed" ;; esac
done
stop_mock
pass "renewals that hit a night of resets are renewed the next night: 15 new sessions, 5 now connected"

# ---- a reauthenticated row stays exists, with its new link --------------------------------
start_mock --existing-every 2 --log "$E2E_TMP/m-reauth.log"
expect_exit 0 fo sync night.csv --db a.db --out a.csv --base-url "$MOCK_URL" "${opts[@]}"
expect_exit 0 fo sync night.csv --db a.db --out a.csv --reauthenticate=all --base-url "$MOCK_URL" "${opts[@]}"
[ "$(requests m-reauth.log /connect/sessions/reauthenticate)" = 10 ] || fail "want 10 reauthentications"
[ "$(q a.db "SELECT count(*) FROM customers WHERE state = 'exists' AND connection_id IS NOT NULL
	AND connect_url IS NOT NULL AND request_kind = 'reauth'")" = 10 ] ||
	fail "reauthenticated rows: $(q a.db "SELECT state, count(*) FROM customers GROUP BY 1")"
[ "$(csv_col a.csv status | grep -c '^exists$')" = 10 ] || fail "the export no longer shows who is connected"
stop_mock
pass "--reauthenticate=all: the rows stay exists, with their connection_id and the new connect_url"

# ---- status during a run --------------------------------------------------------------------
start_mock --latency 300ms
fo import --db s.db night.csv >/dev/null
"$FINCH_ONBOARD" run --db s.db --base-url "$MOCK_URL" --rate 0 --concurrency 1 --quiet >/dev/null 2>&1 &
run_pid=$!
wait_state "the run to send" s.db in_flight 1
fo status --db s.db >status.txt
fo status --db s.db --json >status.json
kill -TERM "$run_pid"
wait "$run_pid" || true
grep -q "running, pid $run_pid" status.txt || fail "status during a run: $(grep 'last run' status.txt)"
[ "$(jq -c '[.last_run.running, .last_run.pid]' status.json)" = "[true,$run_pid]" ] ||
	fail "status --json during a run: $(jq -c .last_run status.json)"
fo status --db s.db >status.txt
grep -q "(interrupted)" status.txt || fail "after the run: $(grep 'last run' status.txt)"
stop_mock
pass "status shows a run in progress as running, with its pid"

finish
