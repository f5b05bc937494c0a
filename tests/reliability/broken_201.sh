#!/usr/bin/env bash
# tests/reliability/broken_201.sh: a 201 whose connection breaks.
# - cut short after its body (the whole JSON arrived, the Content-Length
#   promised 64 bytes more): a complete answer is an answer, recorded once,
#   never sent again;
# - cut inside its body: a failed attempt that keeps the status and a
#   bounded fragment of the body, retried.
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
expect_exit 0 fo run --db c.db --base-url "$MOCK_URL" --rate 0 --concurrency 8 --max-attempts 10 \
	--quiet
stop_mock
cut=$(jq -c 'select(.fault == "cut_body")' mc.log | wc -l)
[ "$cut" -gt 10 ] || fail "only $cut cut 201s: the test is too weak"
failed=$(sqlite3 c.db "SELECT count(*) FROM attempts WHERE http_status = 201 AND session_id IS NULL AND message LIKE 'HTTP 201 cut short (%) after % body bytes: {%'")
[ "$failed" = "$cut" ] || fail "$cut cut 201s, $failed failed attempts with status and fragment"
long=$(sqlite3 c.db "SELECT count(*) FROM attempts WHERE length(message) > 400")
[ "$long" = 0 ] || fail "$long attempt messages longer than 400 bytes"
[ "$(count_state c.db created)" = 150 ] || fail "created: $(count_state c.db created)"
check_invariants c.db mc.log
pass "a 201 cut inside its body is a failed attempt with its status and a bounded fragment ($cut), retried"
finish
