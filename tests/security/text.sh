#!/usr/bin/env bash
# tests/security/text.sh: untrusted text is inert (issue 11, item 5). A CSV
# whose header names and cells carry escape sequences, newlines and forged
# JSON log lines: in text, stderr has no raw control character; under
# --log-format json, every stderr line is one JSON object.
set -euo pipefail
. "$(dirname "$0")/../e2e/lib.sh"
tmpdir text
cd "$E2E_TMP"

python3 - <<'PY'
esc = "\x1b"
forged = '{"ts":"2026-11-28T00:00:00.000Z","level":"info","event":"run_end","msg":"run finished","exit_code":0}'
import csv
rows = [
    ["customer_id", "customer_name", "products", "x\n%s\n%s[2J" % (forged, esc)],
    ["ok-001", "Fine", "company", ""],
    ["bad\n%s\n" % forged, "%s[2J%s]0;title\x07" % (esc, esc), "nosuch", ""],
    ["bad-002", "%s[31mred" % esc, "company, %s[2Jclear" % esc, ""],
    ["long-003", "A" * 300, "company", ""],
    ["long-004", "Long", "company " + "x" * 5000, ""],
]
with open("evil.csv", "w", newline="", encoding="utf-8") as f:
    csv.writer(f, lineterminator="\r\n").writerows(rows)
PY
start_mock --log mock.jsonl
no_control() { # FILE: no byte below 0x20 but LF, no DEL
	! LC_ALL=C grep -q "$(printf '[\001-\011\013-\037\177]')" "$1"
}

# ---- text: every message is escaped, and long values are cut ------------------------
rc=0
"$FINCH_ONBOARD" import evil.csv --db t.db >imp.out 2>imp.err || rc=$?
[ "$rc" = 1 ] || fail "import exited $rc: $(cat imp.err)"
no_control imp.err || fail "raw control characters on stderr: $(od -c imp.err | head)"
grep -q 'unknown column .*x\\n{\\"ts\|unknown column .*x\\n{"ts' imp.err || fail "the header name is not escaped: $(cat imp.err)"
grep -q '\\x1b\[2J' imp.err || fail "ESC is not shown as \\x1b: $(cat imp.err)"
[ "$(grep -c '' imp.err)" -le 6 ] || fail "a value broke a message over lines: $(cat imp.err)"
grep -q "unknown product 'xxxxxxxx*\.\.\.\('\|\[[0-9]* more bytes\]\)" imp.err ||
	fail "a long value was not cut with a marker: $(cat imp.err)"
awk 'length > 2300 { exit 1 }' imp.err || fail "a message is longer than its cut"
pass "text: header names and cells in warnings and invalid rows show \\n and \\x1b, long values are cut"

rc=0
"$FINCH_ONBOARD" sync evil.csv --db s.db --out s.csv --base-url "$MOCK_URL" --rate 0 >sync.out 2>sync.err || rc=$?
[ "$rc" = 1 ] || fail "sync exited $rc: $(cat sync.err)"
no_control sync.err || fail "sync: raw control characters on stderr"
pass "text: sync's stderr carries no raw control character"

# A value in a log event's fields (the customer_id of a failed row) is inert too:
# C1 controls and U+2028/U+2029 escaped like the message's.
printf 'customer_id,customer_name,products\r\nc1\302\233[2J\342\200\251x,Name,company\r\n' >c1.csv
start_mock --error-rate 1 --error-status 503
rc=0
"$FINCH_ONBOARD" sync c1.csv --db c1.db --out c1.out.csv --base-url "$MOCK_URL" --rate 0 \
	--max-attempts 1 >c1.out 2>c1.err || rc=$?
[ "$rc" = 8 ] || fail "sync of a failing row exited $rc: $(cat c1.err)"
grep -q 'c1\\u009b\[2J\\u2029x' c1.err || fail "the failed row's id is not shown inert: $(cat c1.err)"
! LC_ALL=C grep -q "$(printf '\302\233')" c1.err || fail "a raw C1 control reached stderr"
pass "text: a log event's field values show C1 controls and U+2029 escaped"

# A file name is the user's text too: the import's summary on stdout shows it inert.
evil_name=$(printf 'ev\033[2Jil\n{"x":1}.csv')
printf 'customer_id,customer_name,products\r\nn-1,Name,company\r\n' >"$evil_name"
"$FINCH_ONBOARD" import --db name.db "$evil_name" >name.out 2>name.err || fail "import of a strange name failed"
no_control name.out || fail "the import summary printed a file name's control characters raw"
grep -q 'imported ev\\x1b\[2Jil\\n{"x":1}.csv: 1 rows read' name.out || fail "summary: $(cat name.out)"
pass "text: the import's summary shows a file name's control characters escaped"

# ---- json: every line on stderr is one JSON object ------------------------------------
for out in j.csv -; do
	rc=0
	"$FINCH_ONBOARD" sync evil.csv --db "j$RANDOM.db" --out "$out" --base-url "$MOCK_URL" --rate 0 \
		--log-format json >json.out 2>json.err || rc=$?
	[ "$rc" = 8 ] || fail "sync --log-format json --out $out exited $rc: $(cat json.err)"
	[ -s json.err ] || fail "no log lines"
	while IFS= read -r line; do
		jq -e 'type == "object" and has("level") and has("msg")' <<<"$line" >/dev/null ||
			fail "--out $out: a stderr line is not a JSON object: $line"
	done <json.err
	[ "$(jq -r 'select(.event == "run_end") | .exit_code' json.err | grep -c .)" = 1 ] ||
		fail "the forged run_end line got through as an event: $(jq -c 'select(.event == "run_end")' json.err)"
	jq -se 'any(.[]; .event == "row_invalid")' json.err >/dev/null || fail "--out $out: no row_invalid event: $(cat json.err)"
	jq -se 'any(.[]; .level == "warning" and (.msg | test("unknown column")))' json.err >/dev/null ||
		fail "the unknown-column warning is not a JSON object"
done
# a fatal error is a JSON object too
rc=0
"$FINCH_ONBOARD" sync missing.csv --db j.db --out j.csv --base-url "$MOCK_URL" --log-format json \
	>json.out 2>json.err || rc=$?
[ "$rc" = 2 ] || fail "sync of a missing CSV exited $rc"
while IFS= read -r line; do
	jq -e '.level == "error"' <<<"$line" >/dev/null || fail "a fatal error is not JSON: $line"
done <json.err
# every other command takes --log-format json too
sqlite3 foreign.db "CREATE TABLE t(x)"
for cmd in "import evil.csv --db ji.db" "import missing.csv --db ji.db" "status --db foreign.db" \
	"export --db foreign.db" "retry --db foreign.db" "export --db ji.db --out ji.db" "status --db ji.db"; do
	# shellcheck disable=SC2086
	"$FINCH_ONBOARD" $cmd --log-format json >json.out 2>json.err || true
	while IFS= read -r line; do
		jq -e 'type == "object" and has("level")' <<<"$line" >/dev/null ||
			fail "$cmd --log-format json: not a JSON object: $line"
	done <json.err
	case $cmd in "status --db ji.db") ;; *) [ -s json.err ] || fail "$cmd: nothing on stderr" ;; esac
done
pass "--log-format json: warnings, invalid rows, fatal errors and the run's events are each one JSON object, for every command"

# Option errors come before the option is parsed: they are JSON all the same.
for args in "--log-format json run" "run --log-format json --bogus" "run --bogus --log-format=json" \
	"export --log-format json --format xml" "sync --log-format json"; do
	rc=0
	# shellcheck disable=SC2086 # the words are the arguments
	"$FINCH_ONBOARD" $args >/dev/null 2>opt.err || rc=$?
	[ "$rc" = 2 ] || fail "'$args' exited $rc, want 2"
	[ -s opt.err ] || fail "'$args': nothing on stderr"
	jq -e . opt.err >/dev/null 2>&1 || fail "'$args': a line on stderr is not JSON: $(cat opt.err)"
done
pass "--log-format json: option errors, even before the option, are JSON objects"

finish
