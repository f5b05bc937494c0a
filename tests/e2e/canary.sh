#!/usr/bin/env bash
# tests/e2e/canary.sh: a canary (issue 16). run --limit N and sync --limit N
# send at most N requests, retries included, and the rows left wait for the
# next run; finch-mock's request log counts what the server saw.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

e2e_setup canary
awk 'BEGIN { print "customer_id,customer_name,products"
	for (i = 1; i <= 25; i++) printf "c-%03d,Employer %d,company\n", i, i }' >c.csv
opts=(--rate 0 --quiet --seed 3)

# ---- run --limit 10: ten requests, fifteen rows still pending ---------------------------
expect_exit 0 fo import c.csv --db c.db --quiet
start_mock --log "$E2E_TMP/run.log"
expect_exit 1 fo run --db c.db --base-url "$MOCK_URL" "${opts[@]}" --limit 10
stop_mock
expect_eq "requests the server saw" "$(requests run.log)" 10
expect_eq "created" "$(count_state c.db created)" 10
expect_eq "pending" "$(count_state c.db pending)" 15
expect_eq "run recorded" "$(q c.db "SELECT exit_reason FROM runs ORDER BY id DESC LIMIT 1")" rows_waiting
pass "run --limit 10: ten requests reach the server, fifteen rows wait"

# ---- retries count: one row, two 503s then a success; --limit 2 stops after the retry -----
printf 'customer_id,customer_name,products\nr-1,Retried,company\n' >r.csv
expect_exit 0 fo import r.csv --db r.db --quiet
start_mock --fail-first 2 --log "$E2E_TMP/retry.log"
expect_exit 8 fo run --db r.db --base-url "$MOCK_URL" "${opts[@]}" --limit 2 --log-format json # all 503s: no success
expect_eq "requests with a retry" "$(requests retry.log)" 2
expect_eq "the row waits" "$(count_state r.db retry_wait)" 1
[ "$(jq -r 'select(.event == "limit_reached") | .limit' err.txt)" = 2 ] ||
	fail "no limit_reached event: $(cat err.txt)"
expect_exit 0 fo run --db r.db --base-url "$MOCK_URL" "${opts[@]}"
stop_mock
expect_eq "requests after a run without a limit" "$(requests retry.log)" 3
expect_eq "created" "$(count_state r.db created)" 1
pass "--limit counts retries: two requests, the row waits for the next run, which creates it"

# ---- sync --limit 5, then a sync without a limit sends the rest, once each ------------------
start_mock --log "$E2E_TMP/sync.log"
expect_exit 1 fo sync c.csv --db c.db --out c-out.csv --base-url "$MOCK_URL" "${opts[@]}" --limit 5
expect_eq "sync --limit 5 requests" "$(requests sync.log)" 5
left=$(q c.db "SELECT count(*) FROM customers WHERE state IN ('pending', 'retry_wait')")
[ "$left" -gt 0 ] || fail "sync --limit 5 left no row waiting"
expect_exit 0 fo sync c.csv --db c.db --out c-out.csv --base-url "$MOCK_URL" "${opts[@]}"
stop_mock
expect_eq "requests after the full sync" "$(requests sync.log)" $((5 + left))
expect_eq "created at the end" "$(count_state c.db created)" 25
pass "sync --limit 5 sends five; the next sync without a limit sends the rest, each once"

# ---- a bad value, and the dry run shows no more than the limit ------------------------------
expect_exit 2 fo run --db c.db --limit 0
grep -q "option '--limit' expects a number of requests, 1 or more, not '0'" err.txt ||
	fail "the error for --limit 0: $(cat err.txt)"
q c.db "UPDATE customers SET state = 'pending'"
expect_exit 0 fo run --db c.db --dry-run --limit 4
expect_eq "dry-run requests" "$(grep -c '^POST ' out.txt)" 4
pass "--limit 0 is refused (exit 2); the dry run prints no more than --limit requests"

finish
