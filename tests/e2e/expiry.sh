#!/usr/bin/env bash
# tests/e2e/expiry.sh: every session request sends minutes_to_expire (the
# row's value, else 129,600 for a new session and 43,200 for a
# reauthentication), the stored expires_at follows what was sent, and every
# attempt records the value it sent.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

tmpdir expiry
cd "$E2E_TMP" || fail "cannot cd to $E2E_TMP"
opts=(--rate 0 --quiet)

cat >e.csv <<'CSV'
customer_id,customer_name,products,minutes_to_expire
e-1,Default One,company,
e-2,Short Two,company,60
e-3,Connected Three,company,
CSV
printf 'e-3,conn-e-3\n' >existing.txt
start_mock --existing "$E2E_TMP/existing.txt" --log "$E2E_TMP/m.log"
expect_exit 0 fo import e.csv --db e.db
expect_exit 0 fo run --db e.db --base-url "$MOCK_URL" --dry-run
expect_eq "dry-run bodies" "$(grep -o '"minutes_to_expire":[0-9]*' out.txt | paste -sd' ')" \
	'"minutes_to_expire":129600 "minutes_to_expire":60 "minutes_to_expire":129600'
pass "every request carries minutes_to_expire: the row's, else 129,600"

expect_exit 0 fo run --db e.db --base-url "$MOCK_URL" "${opts[@]}"
expect_eq "attempts" "$(q e.db "SELECT c.customer_id || ' ' || a.minutes_to_expire || ' ' ||
	coalesce((c.expires_at - a.started_at - a.minutes_to_expire * 60000) BETWEEN 0 AND 10000 * 1, '-')
	FROM attempts a JOIN customers c ON c.id = a.customer ORDER BY c.customer_id")" \
	"e-1 129600 1
e-2 60 1
e-3 129600 -"
pass "each attempt records what it sent, and expires_at is the answer's time plus those minutes"

expect_exit 0 fo sync e.csv --db e.db --out e-out.csv --reauthenticate=all --base-url "$MOCK_URL" "${opts[@]}"
expect_eq "reauth attempt" "$(q e.db "SELECT a.kind || ' ' || a.minutes_to_expire || ' ' ||
	((c.expires_at - a.started_at - 43200 * 60000) BETWEEN 0 AND 10000)
	FROM attempts a JOIN customers c ON c.id = a.customer WHERE c.customer_id = 'e-3' ORDER BY a.id DESC LIMIT 1")" \
	"reauth 43200 1"
[ "$(jq -r 'select(.path == "/connect/sessions/reauthenticate") | .minutes_to_expire' m.log)" = 43200 ] ||
	fail "the emulator did not log 43,200 minutes for the reauthentication: $(tail -n 1 m.log)"
pass "a reauthentication sends 43,200 and its link expires after 30 days"
stop_mock
finish
