#!/usr/bin/env bash
# tests/e2e/import.sh: `finch-onboard import` on the files of tests/data, with
# the database checked by SQL and every message and exit code checked exactly.
set -uo pipefail

. "$(dirname "$0")/lib.sh"
: "${FINCH_TEST_DATA:?set FINCH_TEST_DATA to tests/data}"
: "${FINCH_SOURCE_DIR:=$(cd "$(dirname "$0")/../.." && pwd)}"

work=$(mktemp -d "${TMPDIR:-/tmp}/e2e-import.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || fail "cannot cd to $work"
cp "$FINCH_TEST_DATA"/*.csv .

q() { sqlite3 "$DB" "$1"; }

# ---- a file as Excel writes it -----------------------------------------------
DB=excel.db
run_fo import excel.csv --db "$DB"
expect_rc 0 "import excel.csv"
expect_eq "excel summary" "$OUT" \
	"imported excel.csv: 4 rows read, 4 accepted, 0 invalid, 0 unchanged, 0 updated"
expect_eq "excel warning" "$ERR" "finch-onboard: warning: excel.csv:1: unknown column 'Notes' is ignored
finch-onboard: warning: the database mixes 2 production rows and 2 sandbox rows: Finch makes sandbox sessions with the sandbox application's credentials only, and production ones with production credentials only, so one run cannot send both; keep them in separate databases (--db)"
pass "BOM, CRLF, columns in any order and case, unknown column warned"

expect_eq "excel rows" "$(q "SELECT customer_id, replace(customer_name, char(13, 10), ' | '), products, state
	FROM customers ORDER BY id")" \
"acme-001|Acme Logistics, Inc.|company directory|pending
bluebird-002|Bluebird \"Smile\" Dental|company directory payment|pending
mueller-003|Müller GmbH | Niederlassung Köln|company individual|pending
cedar-004|Cedar & Pine|company directory|pending"
pass "quoted commas, quotes and newlines read as Excel writes them; unquoted cells trimmed"

expect_eq "excel optional fields" "$(q "SELECT customer_email, sandbox, manual, integration_provider,
	integration_auth_method, minutes_to_expire FROM customers WHERE customer_id = 'bluebird-002'")" \
	"payroll@bluebird.example.com|finch|1|gusto|credential|1440"
expect_eq "excel source lines" "$(q "SELECT group_concat(source_line, ',') FROM customers")" "2,3,6,8"
pass "optional fields stored; source line is where each record starts"

expect_eq "imports row" "$(q "SELECT path, size, sha256, rows_read, accepted, invalid, unchanged, updated,
	ended_at >= started_at FROM imports")" \
	"excel.csv|$(stat -c %s excel.csv)|$(sha256sum excel.csv | cut -d' ' -f1)|4|4|0|0|0|1"
pass "the import is recorded with size and sha256"

# ---- re-import: nothing changes; a changed row keeps its link, marked ----------
run_fo import excel.csv --db "$DB" --quiet
expect_rc 0 "re-import excel.csv"
expect_eq "re-import summary" "$OUT" \
	"imported excel.csv: 4 rows read, 0 accepted, 0 invalid, 4 unchanged, 0 updated"
expect_eq "re-import quiet" "$ERR" ""
pass "re-importing the same file changes nothing (and --quiet silences the warning)"

q "UPDATE customers SET state = 'in_flight' WHERE customer_id IN ('acme-001', 'cedar-004');
	UPDATE customers SET state = 'created', session_id = 'sess_kept', attempts = 1, attempt_total = 1
	WHERE customer_id IN ('acme-001', 'cedar-004')"
sed 's/hr@acme.example.com/people@acme.example.com/' excel.csv >excel2.csv
run_fo import excel2.csv --db "$DB" --quiet
expect_rc 0 "import changed file"
expect_eq "changed summary" "$OUT" \
	"imported excel2.csv: 4 rows read, 0 accepted, 0 invalid, 3 unchanged, 0 updated, 1 changed (their links kept)"
expect_eq "changed rows" "$(q "SELECT customer_id, state, session_id, customer_email, changed_fields FROM customers
	WHERE customer_id IN ('acme-001', 'cedar-004') ORDER BY id")" \
	"acme-001|created|sess_kept|people@acme.example.com|2
cedar-004|created|sess_kept||0"
pass "a changed created row keeps its link, marked changed (customer_email); an unchanged one stays"

# ---- a done row is not undone by a bad edit --------------------------------------
# cedar-004 is created (sess_kept); its new line has a mistyped email.
q "UPDATE customers SET connect_url = 'https://connect.example/kept' WHERE customer_id = 'cedar-004'"
sed 's/^\(   Cedar & Pine   ,cedar-004,company|directory,\),/\1cedar.example.com,/' excel2.csv >excel3.csv
grep -q 'cedar-004,company|directory,cedar.example.com' excel3.csv || fail "excel3.csv: the edit did not apply"
run_fo import excel3.csv --db "$DB" --quiet
expect_rc 1 "import a bad edit of a created row"
expect_eq "bad edit summary" "$OUT" \
	"imported excel3.csv: 4 rows read, 0 accepted, 1 invalid, 3 unchanged, 0 updated"
expect_eq "bad edit keeps the link" "$(q "SELECT state, session_id, connect_url, line_invalid,
	error LIKE 'excel3.csv:8: customer_email: %' FROM customers WHERE customer_id = 'cedar-004'")" \
	"created|sess_kept|https://connect.example/kept|1|1"
run_fo status --db "$DB"
expect_rc 0 "status after a bad edit"
case $OUT in
*"created or exists, but the CSV line is now invalid: 1 "*) ;;
*) fail "status does not count the row apart: $OUT" ;;
esac
run_fo status --db "$DB" --json
case $OUT in
*'"line_invalid":1'* | *'"line_invalid": 1'*) ;;
*) fail "status --json has no line_invalid: $OUT" ;;
esac
run_fo import excel2.csv --db "$DB" --quiet
expect_rc 0 "import the line fixed again"
expect_eq "fixed line clears the flag" "$(q "SELECT state, session_id, line_invalid, error IS NULL
	FROM customers WHERE customer_id = 'cedar-004'")" "created|sess_kept|0|1"
pass "a created row whose line turns invalid keeps its state and link, is counted apart, and is clear once fixed"

# ---- invalid rows -------------------------------------------------------------
DB=invalid.db
run_fo import invalid_rows.csv --db "$DB"
expect_rc 1 "import invalid_rows.csv"
expect_eq "invalid summary" "$OUT" \
	"imported invalid_rows.csv: 12 rows read, 1 accepted, 11 invalid, 0 unchanged, 0 updated
1 row is not valid UTF-8: the file looks like Windows-1252: use --encoding windows-1252 or save it as CSV UTF-8"
expect_eq "invalid stderr" "$ERR" \
"finch-onboard: invalid: invalid_rows.csv:3: customer_email: is not an email address (needs exactly one '@')
finch-onboard: invalid: invalid_rows.csv:4: products: cannot combine 'deduction' with 'benefits'
finch-onboard: invalid: invalid_rows.csv:5: minutes_to_expire: must be between 1 and 129600
finch-onboard: invalid: invalid_rows.csv:6: sandbox: must be 'finch' or 'provider'
finch-onboard: invalid: invalid_rows.csv:7: manual: must be true, false, 1, 0, yes or no
finch-onboard: invalid: invalid_rows.csv:8: integration_auth_method: requires an integration provider
finch-onboard: invalid: invalid_rows.csv:9: customer_id: duplicate of line 2
finch-onboard: invalid: invalid_rows.csv:10: row: 10 cells, but the header has 9
finch-onboard: invalid: invalid_rows.csv:11: customer_id: is empty
finch-onboard: invalid: invalid_rows.csv:12: row: 2 cells, but the header has 9
finch-onboard: invalid: invalid_rows.csv:13: customer_name: is not valid UTF-8 (looks like Windows-1252 or Mac OS Roman, the summary says which: use --encoding windows-1252 or macintosh, or save as CSV UTF-8)"
pass "every invalid row is reported as FILE:LINE: column: reason, exit 1"

expect_eq "invalid states" "$(q "SELECT customer_id, state FROM customers ORDER BY id LIMIT 2")" \
	"ok-001|pending
bad-email|invalid"
expect_eq "invalid count" "$(q "SELECT count(*) FROM customers WHERE state = 'invalid'")" 11
expect_eq "duplicate kept apart" "$(q "SELECT customer_name, error FROM customers
	WHERE customer_id = 'ok-001' AND state = 'invalid'")" \
	"Duplicate Employer|invalid_rows.csv:9: customer_id: duplicate of line 2"
expect_eq "bad utf-8 made printable" "$(q "SELECT customer_name FROM customers WHERE customer_id = 'utf8-bad'")" \
	"Caf\\xE9 Latin1"
pass "invalid rows are stored with their reasons; the first of two duplicates stays pending"

run_fo import invalid_rows.csv --db "$DB" --quiet
expect_rc 1 "re-import invalid_rows.csv"
expect_eq "re-import invalid quiet" "$ERR" ""
expect_eq "keyless rows replaced" "$(q "SELECT count(*) FROM customers")" 12
pass "re-importing replaces the keyless invalid rows instead of piling them up"

# ---- at most 20 reasons on stderr ----------------------------------------------
{
	echo "customer_id,customer_name,products"
	for i in $(seq 1 25); do echo "bad-$i,Bad $i,bogus"; done
} >many_bad.csv
DB=many.db
run_fo import many_bad.csv --db "$DB"
expect_rc 1 "import many_bad.csv"
expect_eq "reasons printed" "$(grep -c ': invalid: ' err.txt)" 20
expect_eq "reasons tail" "$(tail -n 1 err.txt)" \
	"finch-onboard: ... and 5 more invalid rows (see 'finch-onboard export --state invalid')"
pass "at most 20 reasons are printed, then a pointer to export"

# ---- files that cannot be read as CSV: exit 2, nothing imported -------------------
refuse() { # FILE MESSAGE
	DB=refused.db
	rm -f refused.db*
	run_fo import "$1" --db "$DB"
	expect_rc 2 "import $1"
	expect_eq "$1 message" "$ERR" "finch-onboard: error: $2; nothing was imported"
	expect_eq "$1 stdout" "$OUT" ""
	expect_eq "$1 customers" "$(q "SELECT count(*) FROM customers")" 0
	expect_eq "$1 imports" "$(q "SELECT count(*) FROM imports")" 0
	pass "$1 refused: $2"
}
refuse empty.csv "empty.csv: is empty: no header line"
refuse nul.csv "nul.csv:4: contains a NUL byte"
refuse unterminated.csv "unterminated.csv:3: unterminated quoted field"
refuse bad_header_utf8.csv "bad_header_utf8.csv:1: the header is not valid UTF-8 (column 3; it looks like Windows-1252: use --encoding windows-1252)"
refuse duplicate_header.csv "duplicate_header.csv:1: column 'customer_id' appears twice (columns 1 and 3)"
refuse missing_column.csv "missing_column.csv:1: the header has no 'customer_name' column (read with delimiter ',')"
refuse no_products.csv "no_products.csv:1: the header has no 'products' column (read with delimiter ','; or give --products)"

# a refused file leaves an existing database exactly as it was
DB=excel.db
before=$(q "SELECT count(*), max(updated_at) FROM customers; SELECT count(*) FROM imports")
run_fo import nul.csv --db "$DB"
expect_rc 2 "import nul.csv into a used database"
expect_eq "unchanged after refusal" "$(q "SELECT count(*), max(updated_at) FROM customers; SELECT count(*) FROM imports")" "$before"
pass "a refused file changes nothing in an existing database"

DB=header.db
run_fo import header_only.csv --db "$DB"
expect_rc 0 "import header_only.csv"
expect_eq "header-only summary" "$OUT" \
	"imported header_only.csv: 0 rows read, 0 accepted, 0 invalid, 0 unchanged, 0 updated"
expect_eq "header-only imports" "$(q "SELECT count(*) FROM imports")" 1
pass "a header-only file imports nothing and succeeds"

# ---- defaults fill empty cells -----------------------------------------------------
DB=defaults.db
run_fo import no_products.csv --db "$DB" --products "directory,company" --sandbox provider \
	--minutes-to-expire 90 --redirect-uri https://app.example.com/cb
expect_rc 0 "import with defaults"
expect_eq "defaults" "$(q "SELECT DISTINCT products, sandbox, minutes_to_expire, redirect_uri FROM customers")" \
	"company directory|provider|90|https://app.example.com/cb"
pass "--products, --sandbox, --minutes-to-expire and --redirect-uri fill empty cells"

# ---- usage errors: exit 2, the option named -------------------------------------
usage_error() { # MESSAGE ARGS...
	local msg=$1
	shift
	run_fo import "$@"
	expect_rc 2 "import $*"
	expect_eq "import $* message" "$(head -n 1 err.txt)" "finch-onboard: error: $msg"
	pass "import $*: $msg"
}
usage_error "--products 'payroll': unknown product 'payroll' (a product newer than this build needs --allow-product NAME)" no_products.csv --db u.db --products payroll
usage_error "--products 'deduction benefits': cannot combine 'deduction' with 'benefits'" \
	no_products.csv --db u.db --products "deduction benefits"
usage_error "--minutes-to-expire '0': must be between 1 and 129600" excel.csv --db u.db --minutes-to-expire 0
usage_error "--minutes-to-expire '129601': must be between 1 and 129600" excel.csv --db u.db --minutes-to-expire 129601
usage_error "--sandbox 'prod': must be 'finch' or 'provider'" excel.csv --db u.db --sandbox prod
usage_error "--redirect-uri is empty" excel.csv --db u.db --redirect-uri ""
usage_error "import needs a CSV file; see 'finch-onboard import --help'" --db u.db
usage_error "import takes one CSV file; see 'finch-onboard import --help'" a.csv b.csv --db u.db
usage_error "cannot open 'missing.csv': No such file or directory" missing.csv --db u.db
[ ! -e u.db ] || [ "$(sqlite3 u.db "SELECT count(*) FROM customers")" = 0 ] ||
	fail "a usage error imported rows"

run_fo import --bogus
expect_rc 2 "import --bogus"
run_fo import --help
expect_rc 0 "import --help"
case $OUT in
usage:\ finch-onboard\ import\ CSV*--products\ LIST*--minutes-to-expire*--quiet*) ;;
*) fail "import --help: unexpected text: $OUT" ;;
esac
pass "--help prints the usage, an unknown option is exit 2"

# ---- the database lock ---------------------------------------------------------------
DB=locked.db
exec 9>>"$DB" # the lock is on the database file itself; >> never truncates
flock -n 9 || fail "cannot take the test lock"
run_fo import excel.csv --db "$DB"
expect_rc 4 "import on a locked database"
case $ERR in
*"database 'locked.db' is in use"*) ;;
*) fail "locked: unexpected message: $ERR" ;;
esac
exec 9>&-
run_fo import excel.csv --db "$DB" --quiet
expect_rc 0 "import after the lock is gone"
pass "a locked database is exit 4; it imports once the holder is gone"

# ---- a Salesforce report, customer_id not first; import --check --------------------
# The footer (a trailing block of records not of the header's shape, a blank
# record inside) is skipped and counted; a short record between rows is an
# invalid row whose reason is its shape, not its empty id.
sf_header='"Account Owner","Account Name","Type","Account ID","Industry","Billing City","Billing Country","Phone","HR Contact Email","Finch Products"'
sf_footer='"Grand Totals (3 records)"\r\n""\r\n"Confidential Information - Do Not Distribute"\r\n"Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved."\r\n"Generated By: Jane Admin 12/6/2026 2:15 AM"\r\n'
printf '%s\r\n"Pat","Acme","Customer","001A","Retail","Austin","US","1","hr@acme.example","company"\r\n"a note pasted between rows"\r\n"Lee","Bluebird","Customer","001B","Dental","Boston","US","2","hr@bluebird.example","company directory"\r\n'"$sf_footer" "$sf_header" >sf.csv
sf_opts=(--column 'customer_id=Account ID' --column 'customer_name=Account Name'
	--column 'customer_email=HR Contact Email' --column 'products=Finch Products'
	--ignore-column 'Account Owner' --ignore-column Type --ignore-column Industry
	--ignore-column 'Billing City' --ignore-column 'Billing Country' --ignore-column Phone)
DB=sf.db
ls -A >before.txt
run_fo import sf.csv --db "$DB" --check "${sf_opts[@]}"
expect_rc 1 "import --check of a report with an invalid row"
expect_eq "checked" "$OUT" "checked sf.csv: 3 rows read, 2 accepted, 1 invalid, 0 unchanged, 0 updated, 5 footer lines skipped"
expect_eq "the short record's reason" "$ERR" "finch-onboard: invalid: sf.csv:3: row: 1 cell, but the header has 10"
expect_eq "--check writes nothing" "$(ls -A | grep -v -e '^out.txt$' -e '^err.txt$')" "$(grep -v -e '^out.txt$' -e '^err.txt$' before.txt)"
run_fo import sf.csv --db "$DB" "${sf_opts[@]}"
expect_rc 1 "import of the report"
expect_eq "imported as checked" "$OUT" "imported sf.csv: 3 rows read, 2 accepted, 1 invalid, 0 unchanged, 0 updated, 5 footer lines skipped"
expect_eq "rows" "$(q "SELECT customer_id, customer_name, customer_email, state FROM customers ORDER BY id")" \
	"001A|Acme|hr@acme.example|pending
|||invalid
001B|Bluebird|hr@bluebird.example|pending"
pass "a Salesforce report: its footer skipped and counted (customer_id not first), a short record between rows invalid by its shape"

# --check against the database the import would change: the same report and exit code
printf '%s\r\n"Pat","Acme","Customer","001A","Retail","Austin","US","1","hr@acme.example","company"\r\n"Lee","Bluebird","Customer","001B","Dental","Boston","US","2","people@bluebird.example","company directory"\r\n"Sam","Cedar","Customer","001C","Retail","Denver","US","3","hr@cedar.example","company"\r\n'"$sf_footer" "$sf_header" >sf.csv
sum_before=$(sha256sum "$DB")
ls -A >before.txt
run_fo import sf.csv --db "$DB" --check "${sf_opts[@]}"
check_rc=$RC check_out=$OUT check_err=$ERR
expect_eq "--check leaves the database alone" "$(sha256sum "$DB")" "$sum_before"
expect_eq "--check leaves no side file" "$(ls -A | grep -v -e '^out.txt$' -e '^err.txt$')" "$(grep -v -e '^out.txt$' -e '^err.txt$' before.txt)"
run_fo import sf.csv --db "$DB" "${sf_opts[@]}"
expect_eq "the exit code" "$check_rc" "$RC"
expect_eq "the report" "${check_out/checked/imported}" "$OUT"
expect_eq "the messages" "$check_err" "$ERR"
expect_eq "what it counted" "$OUT" "imported sf.csv: 3 rows read, 1 accepted, 0 invalid, 1 unchanged, 1 updated, 5 footer lines skipped"
run_fo import sf.csv --db /nonexistent/dir/x.db --check "${sf_opts[@]}"
check_rc=$RC check_err=$ERR
run_fo import sf.csv --db /nonexistent/dir/x.db "${sf_opts[@]}"
expect_rc 2 "import into a folder that is not there"
expect_eq "--check's exit code there" "$check_rc" 2
expect_eq "--check's message there" "$check_err" "$ERR"
pass "import --check gives the report and exit code of the import on the same database, and writes nothing"

# ---- the sample ----------------------------------------------------------------------
DB=sample.db
cp "$FINCH_SOURCE_DIR/samples/customers.csv" sample.csv
run_fo import sample.csv --db "$DB"
expect_rc 1 "import samples/customers.csv"
expect_eq "sample summary" "$OUT" \
	"imported sample.csv: 25 rows read, 22 accepted, 3 invalid, 0 unchanged, 0 updated"
expect_eq "sample invalid" "$(q "SELECT customer_id FROM customers WHERE state = 'invalid' ORDER BY id")" \
	"vega-023
willow-024
xenon-025"
pass "samples/customers.csv: 22 good rows, 3 deliberately invalid"

# ---- gen_customers writes valid rows -----------------------------------------------
DB=gen.db
"$FINCH_SOURCE_DIR/samples/gen_customers" 2000 >gen.csv || fail "gen_customers failed"
run_fo import gen.csv --db "$DB"
expect_rc 0 "import generated rows"
expect_eq "gen summary" "$OUT" \
	"imported gen.csv: 2000 rows read, 2000 accepted, 0 invalid, 0 unchanged, 0 updated"
pass "samples/gen_customers writes rows that are all valid"

# ---- a crash in the middle of a large import loses nothing --------------------------
# The import runs in a rollback journal (store_begin_bulk): killed half-way,
# it leaves a hot journal. status only reads (store_open_readonly), so it
# says so and leaves it; the next finch-onboard that writes rolls it back
# and puts the database in WAL mode again.
DB=crash.db
"$FINCH_SOURCE_DIR/samples/gen_customers" 300 >small.csv || fail "gen_customers failed"
"$FINCH_SOURCE_DIR/samples/gen_customers" 400000 >big.csv || fail "gen_customers failed"
run_fo import small.csv --db "$DB" --quiet
expect_rc 0 "import before the crash"
"$FINCH_ONBOARD" import big.csv --db "$DB" --quiet 2>/dev/null &
pid=$!
wait_for "the import's rollback journal" test -s "$DB-journal"
kill -KILL "$pid"
wait "$pid" && fail "the import finished before it could be killed"
[ -s "$DB-journal" ] || fail "no hot journal after the crash"
run_fo status --db "$DB" --json
if [ "$RC" = 2 ]; then
	# the journal was hot (its header written): status names it and the fix
	case $ERR in *"hot journal '$DB-journal'"*"rolls it back"*) ;; *) fail "status on a hot journal: $ERR" ;; esac
	[ -s "$DB-journal" ] || fail "a read-only status removed the hot journal"
	run_fo retry --db "$DB"
	expect_rc 0 "retry rolls the hot journal back"
	run_fo status --db "$DB" --json
else
	# killed before the journal's header was written: the journal is not
	# hot (SQLite ignores a zeroed header), and the database was never touched
	expect_eq "the journal's header" "$(od -An -tx1 -N8 "$DB-journal" | tr -d ' ')" 0000000000000000
	run_fo retry --db "$DB"
	expect_rc 0 "a writer after the crash"
	run_fo status --db "$DB" --json
	rm -f "$DB-journal"
fi
expect_rc 0 "status after the crash"
case $OUT in
*'"total": 300,'* | *'"total":300,'*) ;;
*) fail "status after the crash: $OUT" ;;
esac
[ ! -e "$DB-journal" ] || fail "the hot journal was not rolled back"
expect_eq "journal mode after the crash" "$(q 'PRAGMA journal_mode')" "wal"
expect_eq "integrity after the crash" "$(q 'PRAGMA integrity_check')" "ok"
run_fo import big.csv --db "$DB" --quiet
expect_rc 0 "import again after the crash"
expect_eq "rows after the crash" "$(q "SELECT count(*) FROM customers WHERE state = 'pending'")" "400000"
expect_eq "journal mode after a bulk import" "$(q 'PRAGMA journal_mode')" "wal"
pass "killed half-way through, an import leaves the database as it was; it imports again"

finish
