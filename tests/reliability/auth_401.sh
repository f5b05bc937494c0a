#!/usr/bin/env bash
# tests/reliability/auth_401.sh: credentials revoked mid-run while 16
# requests are in flight with latency 200 ms +- 150 ms. The 401 stops new
# requests, but the run waits (up to --grace) for the answers already in
# flight and records them: every 201 the emulator sent is a created row,
# only unanswered rows go back to pending, and the exit code is 3.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

e2e_setup rel-401

new_db a.db 300 a
start_mock --revoke-after 40 --latency 200ms --jitter 150ms --seed 9 --log "$E2E_TMP/m.log"
expect_exit 3 fo run --db a.db --base-url "$MOCK_URL" --rate 0 --concurrency 16 --quiet
grep -q "rejected the credentials" err.txt || fail "the 401 is not explained: $(cat err.txt)"
pass "a 401 mid-run exits 3"

sent_201=$(jq -c 'select(.status == 201)' m.log | wc -l)
[ "$sent_201" -ge 30 ] || fail "only $sent_201 sessions before the revocation: the test is too weak"
[ "$(count_state a.db created)" = "$sent_201" ] ||
	fail "the emulator created $sent_201 sessions, the database recorded $(count_state a.db created)"
pass "every session created before the 401 is recorded ($sent_201, none lost in flight)"

[ "$(count_state a.db failed)" = 0 ] || fail "a 401 marked rows failed"
[ "$(count_state a.db pending)" = $((300 - sent_201)) ] ||
	fail "pending: $(count_state a.db pending), want $((300 - sent_201))"
check_invariants a.db m.log --one-201
pass "only unanswered rows went back to pending; every POST an attempt; no second 201"
finish
