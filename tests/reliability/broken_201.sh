#!/usr/bin/env bash
# tests/reliability/broken_201.sh: a 201 whose connection breaks.
# - cut short after its body (the whole JSON arrived, the Content-Length
#   promised 64 bytes more): a complete answer is an answer, recorded once,
#   never sent again;
# - cut inside its body: the session may exist (Finch has no idempotency
#   key), so the row fails with the status and a bounded fragment of the
#   body, and is never sent again by itself: flagged unconfirmed (with its
#   Finch-Request-Id and body), status and the export flag it, a later run,
#   a sync and a bare 'retry' leave it; 'retry --unconfirmed' (or
#   'retry --http-status 201') sends it again when the user asks. (Before,
#   it was retried: a second session for each; then a bare retry re-sent it.)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

e2e_setup rel-201

new_db s.db 150 s
start_mock --short-body-rate 0.3 --seed 3 --log "$E2E_TMP/ms.log"
expect_exit 0 fo run --db s.db --base-url "$MOCK_URL" --rate 0 --concurrency 8 --quiet
stop_mock
short=$(jq -c 'select(.fault == "short_body")' ms.log | wc -l)
[ "$short" -gt 20 ] || fail "only $short short 201s: the test is too weak"
[ "$(requests ms.log)" = 150 ] || fail "$(requests ms.log) requests for 150 rows: a complete 201 was sent again"
[ "$(count_state s.db created)" = 150 ] || fail "created: $(count_state s.db created)"
kept=$(sqlite3 s.db "SELECT count(*) FROM attempts WHERE http_status = 201 AND session_id IS NOT NULL AND transport_error LIKE 'Transferred a partial file%'")
[ "$kept" = "$short" ] || fail "$short short 201s, $kept recorded as created with their transfer error"
check_invariants s.db ms.log --one-201
pass "a whole 201 cut short after its body is recorded once ($short of 150), never re-sent"

new_db c.db 150 c
start_mock --cut-body-rate 0.2 --seed 4 --log "$E2E_TMP/mc.log"
expect_exit 1 fo run --db c.db --base-url "$MOCK_URL" --rate 0 --concurrency 8 --max-attempts 10 \
	--quiet
stop_mock
cut=$(jq -c 'select(.fault == "cut_body")' mc.log | wc -l)
[ "$cut" -gt 10 ] || fail "only $cut cut 201s: the test is too weak"
[ "$(requests mc.log)" = 150 ] || fail "$(requests mc.log) requests for 150 rows: a cut 201 was sent again"
failed=$(sqlite3 c.db "SELECT count(*) FROM customers WHERE state = 'failed' AND http_status = 201 AND session_id IS NULL AND error LIKE 'HTTP 201 cut short (%) after % body bytes: {%'")
[ "$failed" = "$cut" ] || fail "$cut cut 201s, $failed failed rows with status and fragment"
flagged=$(sqlite3 c.db "SELECT count(*) FROM customers WHERE unconfirmed = 1 AND unconfirmed_request_id IS NOT NULL AND unconfirmed_body LIKE '{%' AND error LIKE '%; Finch-Request-Id %'")
[ "$flagged" = "$cut" ] || fail "$cut cut 201s, $flagged flagged unconfirmed with request id and body"
long=$(sqlite3 c.db "SELECT count(*) FROM attempts WHERE length(message) > 400")
[ "$long" = 0 ] || fail "$long attempt messages longer than 400 bytes"
[ "$(count_state c.db created)" = $((150 - cut)) ] || fail "created: $(count_state c.db created)"
check_invariants c.db mc.log --one-201
fo status --db c.db >status.txt
grep -q "^unconfirmed: $cut failed on a 2xx" status.txt || fail "status does not flag the unreadable 201s: $(cat status.txt)"
fo status --db c.db --json >status.json
[ "$(jq '[.. | objects | select(.created_unreadable == true) | .count] | add' status.json)" = "$cut" ] ||
	fail "status --json does not flag the unreadable 201s"
[ "$(jq .unconfirmed status.json)" = "$cut" ] || fail "status --json: unconfirmed $(jq .unconfirmed status.json), want $cut"
fo export --db c.db --format jsonl >export.jsonl
[ "$(jq -r 'select(.status == "unconfirmed") | .customer_id' export.jsonl | wc -l)" = "$cut" ] ||
	fail "the export does not flag the $cut unconfirmed rows"
pass "a 201 cut inside its body fails its row with its status and a bounded fragment ($cut), never re-sent; status flags it"

# A nightly sync does not send them again either; the user's retry does.
start_mock --log "$E2E_TMP/mc2.log"
expect_exit 1 fo run --db c.db --base-url "$MOCK_URL" --rate 0 --quiet
[ "$(requests mc2.log)" = 0 ] || fail "a later run sent $(requests mc2.log) unreadable 201s again"
# a nightly sync, even one whose CSV changed their fields, leaves them
sed 's/Employer/Firm/' c.db.csv >c3.csv
expect_exit 1 fo sync c3.csv --db c.db --out c3.export.csv --base-url "$MOCK_URL" --rate 0 --quiet
[ "$(requests mc2.log)" = 0 ] || fail "a sync sent $(requests mc2.log) unreadable 201s again"
[ "$(sqlite3 c.db "SELECT count(*) FROM customers WHERE unconfirmed = 1 AND state = 'failed'")" = "$cut" ] ||
	fail "a sync moved the unconfirmed rows"
[ "$(grep -c ',unconfirmed,' c3.export.csv)" = "$cut" ] || fail "the sync's export does not flag them"
cp c.db c2.db
expect_exit 0 fo retry --db c.db
grep -q "^re-queued 0 rows" out.txt || fail "a bare retry re-queued unconfirmed rows: $(cat out.txt)"
grep -q "$cut unconfirmed rows left alone" err.txt || fail "a bare retry does not say what it left: $(cat err.txt)"
expect_exit 1 fo run --db c.db --base-url "$MOCK_URL" --rate 0 --quiet
[ "$(requests mc2.log)" = 0 ] || fail "a bare retry and a run sent $(requests mc2.log) unreadable 201s again"
expect_exit 0 fo retry --db c.db --unconfirmed
expect_exit 0 fo run --db c.db --base-url "$MOCK_URL" --rate 0 --quiet
[ "$(requests mc2.log)" = "$cut" ] || fail "retry --unconfirmed sent $(requests mc2.log), want $cut"
[ "$(count_state c.db created)" = 150 ] || fail "created after the retry: $(count_state c.db created)"
[ "$(sqlite3 c.db "SELECT count(*) FROM customers WHERE unconfirmed = 1")" = 0 ] || fail "still flagged after the retry"
expect_exit 0 fo retry --db c2.db --http-status 201
expect_exit 0 fo run --db c2.db --base-url "$MOCK_URL" --rate 0 --quiet
stop_mock
[ "$(requests mc2.log)" = $((2 * cut)) ] || fail "retry --http-status 201 sent $(($(requests mc2.log) - cut)), want $cut"
pass "a later run and a bare retry leave them; 'retry --unconfirmed' and 'retry --http-status 201' send them again ($cut)"
finish
