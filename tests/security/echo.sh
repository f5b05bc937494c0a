#!/usr/bin/env bash
# tests/security/echo.sh: a server that quotes the credentials back.
#
# finch-mock --echo-auth answers every request with a 400 whose body quotes
# the Authorization header, the decoded "id:secret" and the secret
# percent-encoded, puts the secret in finch_code and Finch-Request-Id, and
# echoes the header in X-Echo-Authorization. The rows fail with a reason
# that says [redacted]; no form of the secret reaches stdout, stderr (with
# --verbose, text and JSON logs), the database, its dump, the exports or
# status. --verbose shows the header of escape sequences it also sends as
# \xNN, and under --log-format json its trace lines are JSON events too.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
sec_setup echo

start_mock --echo-auth
new_db e.db 3
expect_exit 8 fo run --db e.db --base-url "$MOCK_URL" --rate 0 --verbose
grep -q '^< X-Echo-Authorization: \[redacted\]' err.txt ||
	grep -qi '^< X-Echo-Authorization: Basic \[redacted\]' err.txt ||
	fail "the echoed header is not redacted in the trace: $(grep -i echo err.txt)"
[ "$(count_state e.db failed)" = 3 ] || fail "the echoing 400s did not fail the rows"
reason=$(q e.db "SELECT error FROM customers LIMIT 1")
case $reason in
*"[redacted]"*) ;;
*) fail "the stored reason does not show [redacted]: $reason" ;;
esac
case $reason in
*"$FINCH_CLIENT_ID:[redacted]"*) ;;
*) fail "the stored reason lost its context: $reason" ;;
esac
[ "$(q e.db "SELECT count(*) FROM attempts WHERE request_id = '[redacted]'")" = 3 ] ||
	fail "the echoed Finch-Request-Id is not redacted"
[ "$(q e.db "SELECT count(*) FROM customers WHERE finch_code = '[redacted]'")" = 3 ] ||
	fail "the echoed finch_code is not redacted"
pass "an echoed Authorization is redacted in the trace, the reason, finch_code and the request id"

! grep -q $'\x1b' err.txt || fail "--verbose printed a server's escape sequence raw"
grep -qF '< X-Echo-Note: \x1b[2J\x1b[31mred\x1b[0m' err.txt ||
	fail "--verbose does not show a server's control characters escaped: $(grep -a Note err.txt)"
pass "--verbose shows a server's control characters as \\xNN"

new_db j.db 2
expect_exit 8 fo run --db j.db --base-url "$MOCK_URL" --rate 0 --log-format json --verbose
grep -q '"reason":"[^"]*\[redacted\]' err.txt || fail "the JSON row_failed event does not show [redacted]"
jq -se 'map(select(.event == "trace" and .kind == "header_in" and
	(.msg | startswith("X-Echo-Authorization: Basic [redacted]")))) | length == 2' err.txt >/dev/null ||
	fail "--verbose under JSON logs: not every line is JSON, or the echo is not redacted"
pass "under --log-format json the --verbose trace is JSON events too, redacted"
new_db t.db 2
expect_exit 8 fo run --db t.db --base-url "$MOCK_URL" --rate 0 --max-attempts 1
stop_mock
# A secret pasted into --base-url (userinfo, query, fragment) is refused without being echoed.
for u in "http://127.0.0.1:1/?key=$FINCH_CLIENT_SECRET" "https://api.example.com/#$FINCH_CLIENT_SECRET" \
	"http://$FINCH_CLIENT_ID:$FINCH_CLIENT_SECRET@api.example.com" \
	"https://$FINCH_CLIENT_SECRET@api.example.com/v1?x=1"; do
	expect_exit 2 fo run --db t.db --base-url "$u"
	grep -q -- "--base-url" err.txt || fail "the refusal of a --base-url does not name the option"
done
for d in e.db j.db t.db; do sec_dump "$d"; done
grep -q '\[redacted\]' e.db.export.csv || fail "the export does not show the redacted reason"
sec_assert_clean "echoed credentials"
pass "no form of the secret in outputs, logs, databases, dumps, exports or status"

# A one-byte secret is in most words: redacting it from the answers would
# turn every 201 into a malformed one and send each row again.
FINCH_CLIENT_SECRET=s start_mock --log "$PWD/short.log"
new_db s.db 20
FINCH_CLIENT_SECRET=s expect_exit 0 fo run --db s.db --base-url "$MOCK_URL" --rate 0
stop_mock
[ "$(count_state s.db created)" = 20 ] || fail "a one-byte secret corrupted the answers"
[ "$(requests short.log)" = 20 ] || fail "a one-byte secret: $(requests short.log) requests for 20 rows"
[ "$(q s.db "SELECT count(*) FROM customers WHERE session_id LIKE '%redacted%' OR
	connect_url LIKE '%redacted%'")" = 0 ] || fail "a one-byte secret was cut out of the links"
pass "a one-byte secret leaves the answers whole: 20 rows, 20 requests, 20 links"
finish
