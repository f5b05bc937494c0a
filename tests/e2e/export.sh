#!/usr/bin/env bash
# tests/e2e/export.sh: `export` and `retry` end to end, against finch-mock.
#
# export: CSV escaping (quotes, newlines, formula cells, UTF-8) read back by
# an independent parser (sqlite3's .import), the atomic file with mode 0600,
# JSON Lines that jq parses with the right types, the --state and --since
# filters, and a failed write that leaves the old file alone.
# retry: the --http-status, --finch-code, --customer and --state filters, and
# a run afterwards that sends exactly the re-queued rows.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

e2e_setup export
work=$E2E_TMP

e2e_credentials export

# csvq FILE SQL: queries an exported CSV, loaded by sqlite3's own CSV reader.
csvq() {
	sqlite3 -batch -noheader :memory: ".import --csv '$1' t" "$2"
}
HEADER='customer_id,customer_name,status,session_id,connect_url,connection_id,expires_at,attempts,http_status,finch_code,error,updated_at,next_attempt_at,retry_until,customer_email,changed,withdrawn,connection_status,connected_at'

# ---- a batch with every kind of awkward cell -------------------------------
tab=$(printf '\t')
cat >customers.csv <<EOF
customer_id,customer_name,customer_email,products
acme-001,"Acme, Inc.",ops@acme.example,company directory
quote-002,"The ""Best"" Co",,company
nl-003,"Two
Lines Ltd",,company
formula-004,=1+2,,company
plus-005,+33 Corp,,company
minus-006,-Minus GmbH,,company
at-007,@home SA,,company
utf8-008,Zürich 東京 🚀 Café,,company
tab-009,"${tab}Tabbed",,company
bad-010,Bad Email Inc,not-an-email,company
EOF

start_mock
expect_exit 1 fo import --db e.db customers.csv
expect_exit 1 fo run --db e.db --base-url "$MOCK_URL" --rate 0 --quiet
[ "$(q e.db "SELECT count(*) FROM customers WHERE state = 'created'")" = 9 ] ||
	fail "the run did not create 9 sessions"
# The import trims white space off every cell; a leading tab can still reach
# the database another way, and the export must neutralise it.
q e.db "UPDATE customers SET customer_name = char(9) || 'Tabbed' WHERE customer_id = 'tab-009'"
pass "a batch with awkward cells is imported and run"

# ---- CSV ------------------------------------------------------------------
expect_exit 0 fo export --db e.db --out results.csv
[ "$(stat -c %a results.csv)" = 600 ] || fail "results.csv has mode $(stat -c %a results.csv), want 600"
[ -z "$(find . -maxdepth 1 -name '.results.csv.*')" ] || fail "a temporary file was left behind"
BOM=$'\xef\xbb\xbf'
[ "$(head -n 1 results.csv)" = "$BOM$HEADER"$'\r' ] || fail "header is '$(head -n 1 results.csv)'"
[ "$(tail -c 2 results.csv | od -An -c | tr -d ' ')" = '\r\n' ] || fail "last line does not end in CRLF"
pass "export --out writes results.csv atomically with mode 0600, a UTF-8 BOM and a CRLF header"

[ "$(csvq results.csv 'SELECT count(*) FROM t')" = 10 ] || fail "results.csv does not have 10 rows"
check_name() { # ID WANT
	local got
	got=$(csvq results.csv "SELECT customer_name FROM t WHERE customer_id = '$1'")
	[ "$got" = "$2" ] || fail "$1: customer_name is [$got], want [$2]"
}
check_name acme-001 'Acme, Inc.'
check_name quote-002 'The "Best" Co'
check_name nl-003 $'Two\nLines Ltd'
check_name utf8-008 'Zürich 東京 🚀 Café'
pass "CSV quotes, doubled quotes, embedded newlines and UTF-8 read back exactly"

check_name formula-004 "'=1+2"
check_name plus-005 "'+33 Corp"
check_name minus-006 "'-Minus GmbH"
check_name at-007 "'@home SA"
check_name tab-009 "'${tab}Tabbed"
pass "formula cells (= + - @ TAB) are neutralised with a leading quote"

[ "$(csvq results.csv "SELECT count(*) FROM t WHERE status = 'created' AND connect_url LIKE 'http%'
	AND session_id != '' AND expires_at LIKE '____-__-__T__:__:__.___Z' AND http_status = '201'
	AND attempts = '1' AND updated_at LIKE '____-__-__T__:__:__.___Z'")" = 9 ] ||
	fail "created rows lack their session, link, expiry or status"
[ "$(csvq results.csv "SELECT status || '|' || session_id || '|' || http_status || '|' || attempts
	FROM t WHERE customer_id = 'bad-010'")" = 'invalid|||0' ] ||
	fail "invalid row: $(csvq results.csv "SELECT * FROM t WHERE customer_id = 'bad-010'")"
[ "$(csvq results.csv "SELECT error FROM t WHERE customer_id = 'bad-010'")" != "" ] ||
	fail "the invalid row has no reason"
pass "CSV columns hold sessions, ISO 8601 times, statuses, and empty cells for absent values"

expect_exit 0 fo export --db e.db --out raw.csv --raw
[ "$(csvq raw.csv "SELECT customer_name FROM t WHERE customer_id = 'formula-004'")" = '=1+2' ] ||
	fail "--raw still neutralised the formula cell"
[ "$(csvq raw.csv "SELECT customer_name FROM t WHERE customer_id = 'tab-009'")" = "${tab}Tabbed" ] ||
	fail "--raw changed the tab cell"
pass "--raw writes cells as stored"

tail -c +4 results.csv >nobom.csv
fo export --db e.db >stdout.csv
cmp -s stdout.csv nobom.csv || fail "export to stdout differs from --out FILE without its BOM"
fo export --db e.db --out - >stdout2.csv
cmp -s stdout2.csv nobom.csv || fail "--out - differs from --out FILE without its BOM"
pass "without --out (or with --out -) the same export goes to stdout, without a BOM"

# ---- the BOM: Excel reads a CSV file as UTF-8 only with one -----------------------
fo export --db e.db --bom >stdout-bom.csv
cmp -s stdout-bom.csv results.csv || fail "--bom on stdout differs from --out FILE"
expect_exit 0 fo export --db e.db --out nb.csv --no-bom
cmp -s nb.csv nobom.csv || fail "--no-bom still wrote a BOM"
expect_exit 0 fo export --db e.db --out bb.csv --no-bom --bom
cmp -s bb.csv results.csv || fail "the last of --no-bom --bom did not win"
expect_exit 0 fo export --db e.db --format jsonl --out plain.jsonl
[ "$(head -c 1 plain.jsonl)" = "{" ] || fail "JSON Lines start with '$(head -c 3 plain.jsonl)'"
expect_exit 2 fo export --db e.db --format jsonl --bom --out bom.jsonl
grep -q -- "--bom: JSON Lines never starts with a BOM" err.txt ||
	fail "--bom with jsonl is not refused by name: $(cat err.txt)"
[ ! -e bom.jsonl ] || fail "a refused --bom export wrote its file"
pass "--bom and --no-bom override the default; JSON Lines never get a BOM"

# Round trip: our own import reads the BOM and every byte of the names.
expect_exit 0 fo export --db e.db --out trip.csv --raw
expect_exit 0 fo import --db trip.db --products company trip.csv
names() { q "$1" "SELECT customer_id || '=' || hex(customer_name) FROM customers WHERE customer_id <> 'tab-009' ORDER BY customer_id"; }
[ "$(names trip.db)" = "$(names e.db)" ] || fail "export then import changed the names: $(names trip.db)"
[ "$(q trip.db "SELECT customer_name FROM customers WHERE customer_id = 'utf8-008'")" = 'Zürich 東京 🚀 Café' ] ||
	fail "the UTF-8 name did not survive the round trip"
pass "export (with its BOM) then import gives back every name byte for byte"

# ---- JSON Lines ---------------------------------------------------------------
expect_exit 0 fo export --db e.db --format jsonl --out results.jsonl
[ "$(stat -c %a results.jsonl)" = 600 ] || fail "results.jsonl is not mode 600"
[ "$(wc -l <results.jsonl)" = 10 ] || fail "results.jsonl does not have 10 lines"
jq -e . results.jsonl >/dev/null || fail "results.jsonl does not parse"
[ "$(jq -c 'keys_unsorted' results.jsonl | sort -u)" = "[\"${HEADER//,/\",\"}\"]" ] ||
	fail "JSON keys are not the columns in order: $(jq -c keys_unsorted results.jsonl | sort -u)"
jq -e -s 'all(.[]; (.attempts | type) == "number")
	and all(.[] | select(.status == "created");
		(.http_status | type) == "number" and (.expires_at | test("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z$"))
		and .connection_id == null and .error == null)
	and all(.[] | select(.status == "invalid");
		.http_status == null and .expires_at == null and .session_id == null and (.error | length) > 0)' \
	results.jsonl >/dev/null || fail "JSON types are wrong: $(head -n 1 results.jsonl)"
[ "$(jq -r 'select(.customer_id == "nl-003") | .customer_name' results.jsonl)" = $'Two\nLines Ltd' ] ||
	fail "JSON lost the newline"
[ "$(jq -r 'select(.customer_id == "quote-002") | .customer_name' results.jsonl)" = 'The "Best" Co' ] ||
	fail "JSON lost the quotes"
[ "$(jq -r 'select(.customer_id == "utf8-008") | .customer_name' results.jsonl)" = 'Zürich 東京 🚀 Café' ] ||
	fail "JSON lost the UTF-8"
[ "$(jq -r 'select(.customer_id == "formula-004") | .customer_name' results.jsonl)" = "=1+2" ] ||
	fail "JSON Lines altered the formula cell"
[ "$(fo export --db e.db --format jsonl --raw | jq -r 'select(.customer_id == "formula-004") | .customer_name')" = '=1+2' ] ||
	fail "JSON --raw changed the formula cell"
pass "JSON Lines parse, keys in column order, numbers, nulls, ISO times; UTF-8 and escapes survive"

# ---- filters ----------------------------------------------------------------
[ "$(fo export --db e.db --format jsonl --state created | wc -l)" = 9 ] || fail "--state created"
[ "$(fo export --db e.db --format jsonl --state invalid,failed | jq -r .customer_id)" = bad-010 ] ||
	fail "--state invalid,failed"
[ "$(fo export --db e.db --state failed)" = "$HEADER"$'\r' ] || fail "an empty CSV export is not just the header"
[ "$(fo export --db e.db --format jsonl --since 1h | wc -l)" = 10 ] || fail "--since 1h"
[ "$(fo export --db e.db --format jsonl --since 2099-01-01T00:00:00Z | wc -l)" = 0 ] ||
	fail "--since in the future"
[ "$(FINCH_ONBOARD_NOW=$(($(date +%s) + 7200)) fo export --db e.db --format jsonl --since 1h | wc -l)" = 0 ] ||
	fail "--since 1h with the clock two hours ahead"
sqlite3 e.db "UPDATE customers SET updated_at = 1000 WHERE customer_id != 'acme-001'"
[ "$(fo export --db e.db --format jsonl --since 1970-01-02 | jq -r .customer_id)" = acme-001 ] ||
	fail "--since TIME does not keep only rows updated after TIME"
pass "--state and --since (ISO 8601 and durations) filter rows"

# ---- atomicity ----------------------------------------------------------------
printf 'previous\r\n' >old.csv
chmod 644 old.csv
expect_exit 0 fo export --db e.db --out old.csv
[ "$(stat -c %a old.csv)" = 600 ] || fail "replacing a 0644 file did not give 0600"
printf 'previous\r\n' >keep.csv
# 3000 rows make a ~300 KiB export; a 128 KiB file-size limit (room for the
# database's shared-memory file) makes its write fail half way with EFBIG.
{
	echo "customer_id,customer_name,products"
	for i in $(seq -w 1 3000); do echo "big-$i,Big employer number $i with a long name,company"; done
} >big.csv
expect_exit 0 fo import --db big.db big.csv
rc=0
(
	trap '' XFSZ
	ulimit -f 128
	exec "$FINCH_ONBOARD" export --db big.db --out keep.csv
) 2>err.txt || rc=$?
[ "$rc" = 2 ] || fail "a failed write exited $rc, want 2"
grep -q "keep.csv" err.txt || fail "the write error does not name the file: $(cat err.txt)"
[ "$(cat keep.csv)" = $'previous\r' ] || fail "a failed export damaged the existing file"
[ -z "$(find . -maxdepth 1 -name '.keep.csv.*')" ] || fail "a failed export left its temporary file"
expect_exit 2 fo export --db e.db --out no/such/dir/x.csv
grep -q "no/such/dir" err.txt || fail "missing folder not named: $(cat err.txt)"
pass "a failed export leaves the old file untouched and no temporary file"

# ---- usage errors -------------------------------------------------------------
expect_exit 2 fo export --db missing.db
[ ! -e missing.db ] || fail "export created a database"
grep -q "missing.db" err.txt || fail "missing database not named"
expect_exit 2 fo export --db e.db --format xml
grep -q -- "--format" err.txt || fail "bad --format not named: $(cat err.txt)"
expect_exit 2 fo export --db e.db --state nope
grep -q "nope" err.txt || fail "bad --state not named: $(cat err.txt)"
expect_exit 2 fo export --db e.db --since yesterday
grep -q -- "--since" err.txt || fail "bad --since not named: $(cat err.txt)"
expect_exit 2 fo export --db e.db --bogus
grep -q -- "--bogus" err.txt || fail "unknown option not named: $(cat err.txt)"
expect_exit 2 fo export --db e.db --out
expect_exit 0 fo export --help
grep -q -- "--since" out.txt || fail "--help does not describe --since"
pass "usage errors exit 2 and name the option; a missing database is not created"

# ---- retry --------------------------------------------------------------------
stop_mock
cat >r.csv <<EOF
customer_id,customer_name,products
r1,R One,company
r2,R Two,company
r3,R Three,company
r4,R Four,company
r5,R Five,company
r6,R Six,company
r7,R Seven,company
EOF
expect_exit 0 fo import --db r.db r.csv
# Every first attempt gets a 503 and one attempt is all a row has: all fail.
start_mock --fail-first 5
expect_exit 8 fo run --db r.db --base-url "$MOCK_URL" --rate 0 --max-attempts 1 --quiet
stop_mock
[ "$(q r.db "SELECT count(*) FROM customers WHERE state = 'failed' AND http_status = 503")" = 7 ] ||
	fail "the faulty run did not fail all 7 rows with 503"
# Give two rows other reasons, as other answers would have.
sqlite3 r.db "UPDATE customers SET http_status = 502, finch_code = 'upstream_provider_error' WHERE customer_id = 'r2';
	UPDATE customers SET http_status = 400, finch_code = 'invalid_request' WHERE customer_id = 'r3';
	UPDATE customers SET state = 'pending' WHERE customer_id = 'r7';
	UPDATE customers SET state = 'in_flight' WHERE customer_id = 'r7';
	UPDATE customers SET state = 'created', session_id = 's7', connect_url = 'https://x/7' WHERE customer_id = 'r7';"
hist_before=$(q r.db "SELECT count(*) FROM attempts")

expect_exit 0 fo retry --db r.db --http-status 502
grep -qx "re-queued 1 row" out.txt || fail "--http-status 502 printed '$(cat out.txt)'"
[ "$(q r.db "SELECT group_concat(customer_id) FROM customers WHERE state = 'pending'")" = r2 ] ||
	fail "--http-status 502 did not re-queue just r2"
[ "$(q r.db "SELECT attempts FROM customers WHERE customer_id = 'r2'")" = 0 ] || fail "r2 kept its attempt budget"
[ "$(q r.db "SELECT count(*) FROM attempts")" = "$hist_before" ] || fail "retry lost attempt history"
pass "retry --http-status re-queues only matching rows, resets the budget, keeps history"

expect_exit 0 fo retry --db r.db --finch-code invalid_request
grep -qx "re-queued 1 row" out.txt || fail "--finch-code printed '$(cat out.txt)'"
[ "$(q r.db "SELECT state FROM customers WHERE customer_id = 'r3'")" = pending ] || fail "--finch-code did not take r3"
expect_exit 0 fo retry --db r.db --finch-code invalid_request --http-status 503
grep -qx "re-queued 0 rows" out.txt || fail "combined filters printed '$(cat out.txt)'"
pass "retry --finch-code re-queues only matching rows; filters combine"

expect_exit 0 fo retry --db r.db --customer r4
grep -qx "re-queued 1 row" out.txt || fail "--customer printed '$(cat out.txt)'"
[ "$(q r.db "SELECT group_concat(customer_id) FROM customers WHERE state = 'pending' ORDER BY id")" = r2,r3,r4 ] ||
	fail "--customer r4 did not take just r4"
expect_exit 0 fo retry --db r.db --customer r7
grep -qx "re-queued 0 rows" out.txt || fail "a created row was re-queued without --state"
grep -q "r7" err.txt || fail "no warning for a customer in another state: $(cat err.txt)"
expect_exit 2 fo retry --db r.db --customer r5 --customer nobody
grep -q "nobody" err.txt || fail "unknown customer not named: $(cat err.txt)"
[ "$(q r.db "SELECT state FROM customers WHERE customer_id = 'r5'")" = failed ] ||
	fail "an unknown --customer must re-queue nothing"
expect_exit 2 fo retry --db r.db --state invalid
expect_exit 2 fo retry --db r.db --http-status abc
grep -q -- "--http-status" err.txt || fail "bad --http-status not named"
expect_exit 2 fo retry --db missing.db
[ ! -e missing.db ] || fail "retry created a database"
pass "retry --customer takes single rows; unknown ids and bad options exit 2 and change nothing"

# The next run sends exactly the re-queued rows.
start_mock --log "$work/mock-r.log"
expect_exit 1 fo run --db r.db --base-url "$MOCK_URL" --rate 0 --quiet
stop_mock
[ "$(jq -r .customer_id mock-r.log | sort | paste -sd,)" = r2,r3,r4 ] ||
	fail "the run after retry sent $(jq -r .customer_id mock-r.log | sort | paste -sd,), want r2,r3,r4"
pass "the run after retry sends the re-queued rows only"

expect_exit 0 fo retry --db r.db
grep -qx "re-queued 3 rows" out.txt || fail "default retry printed '$(cat out.txt)'"
[ "$(q r.db "SELECT group_concat(customer_id) FROM customers WHERE state = 'pending' ORDER BY id")" = r1,r5,r6 ] ||
	fail "default retry did not take every failed row"
expect_exit 0 fo retry --db r.db --state created --customer r7
grep -qx "re-queued 1 row" out.txt || fail "--state created --customer r7 printed '$(cat out.txt)'"
pass "retry with no filter takes every failed row; --state widens it"

flock r.db "$FINCH_ONBOARD" retry --db r.db >out.txt 2>err.txt && rc=0 || rc=$?
[ "$rc" = 4 ] || fail "retry on a locked database exited $rc, want 4"
pass "retry on a locked database exits 4"

# ---- the secret stays out ------------------------------------------------------
! grep -rqF -- "$FINCH_CLIENT_SECRET" ./*.csv ./*.jsonl ./*.db || fail "the secret leaked into an export or database"
pass "the client secret appears in no export"

finish
