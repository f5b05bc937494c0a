#!/usr/bin/env bash
# tests/reliability/resets.sh: the emulator closes 30% of connections after
# reading a request, without answering. On a reused connection libcurl
# would send the POST again by itself ("Connection died, retrying a fresh
# connect"); finch-onboard refuses that re-send (transfer.h), so every
# request that reaches the emulator is an attempt row, and --max-attempts
# bounds what reaches the API.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

e2e_setup rel-resets

for conc in 1 4; do
	new_db r$conc.db 120 r$conc
	start_mock --reset-rate 0.3 --seed $((conc + 4)) --log "$E2E_TMP/m$conc.log"
	expect_exit 0 fo run --db r$conc.db --base-url "$MOCK_URL" --rate 0 \
		--concurrency $conc --max-attempts 10 --quiet
	stop_mock
	posts=$(requests m$conc.log)
	attempts=$(sqlite3 r$conc.db "SELECT count(*) FROM attempts")
	[ "$posts" = "$attempts" ] || fail "concurrency $conc: the emulator got $posts POSTs, the attempts table has $attempts rows"
	refused=$(sqlite3 r$conc.db "SELECT count(*) FROM attempts WHERE transport_error LIKE '%resend%refused%'")
	[ "$conc" != 1 ] || [ "$refused" -gt 0 ] || fail "no reused connection died: the test proves nothing"
	over=$(jq -r '.customer_id' m$conc.log | sort | uniq -c | awk '$1 > 10' | head -n 3)
	[ -z "$over" ] || fail "more requests than --max-attempts for: $over"
	check_invariants r$conc.db m$conc.log --one-201
	pass "concurrency $conc: $posts POSTs = $attempts attempt rows ($refused silent resends refused), none over --max-attempts"
done
finish
