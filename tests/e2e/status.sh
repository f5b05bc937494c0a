#!/usr/bin/env bash
# tests/e2e/status.sh: `finch-onboard status` and `status --json` on a
# database filled by a real import, then moved by SQL into the states a run
# leaves (created with an expired or soon-expiring link, failed with a
# finch_code), checked against the counts the database holds.
set -uo pipefail

. "$(dirname "$0")/lib.sh"
: "${FINCH_TEST_DATA:?set FINCH_TEST_DATA to tests/data}"

work=$(mktemp -d "${TMPDIR:-/tmp}/e2e-status.XXXXXX")
holder=
cleanup() {
	[ -n "$holder" ] && kill "$holder" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
cd "$work" || fail "cannot cd to $work"
cp "$FINCH_TEST_DATA/status_mixed.csv" mixed.csv

q() { sqlite3 "$DB" "$1"; }

# json FILTER: applies a jq filter to the last stdout
json() { jq -r "$1" out.txt || fail "jq '$1' failed on: $OUT"; }

DB=onboard.db
STATES='["pending","in_flight","retry_wait","created","exists","failed","invalid"]'

# ---- usage -----------------------------------------------------------------
run_fo status --help
expect_rc 0 "status --help"
case $OUT in
"usage: finch-onboard status [--db PATH] [--json]"*) ;;
*) fail "status --help: unexpected usage: $OUT" ;;
esac
expect_eq "status --help stderr" "$ERR" ""
pass "status --help prints the usage, exit 0"

run_fo status --bogus
expect_rc 2 "status --bogus"
expect_eq "status --bogus" "$ERR" "finch-onboard: error: unknown option '--bogus'"
run_fo status --db
expect_rc 2 "status --db without a value"
expect_eq "status --db" "$ERR" "finch-onboard: error: option '--db' needs a value"
run_fo status extra --db x.db
expect_rc 2 "status with an argument"
expect_eq "status extra" "$ERR" \
	"finch-onboard: error: status takes no arguments; see 'finch-onboard status --help'"
pass "a bad option, a missing value or an argument is exit 2, named"

# ---- a database that does not exist -----------------------------------------
run_fo status --db missing.db
expect_rc 2 "status on a missing database"
expect_eq "status on a missing database" "$ERR" \
	"finch-onboard: error: cannot open database 'missing.db': No such file or directory"
[ ! -e missing.db ] || fail "status created missing.db"
run_fo status --db missing.db --json
expect_rc 2 "status --json on a missing database"
expect_eq "status --json on a missing database: stdout" "$OUT" ""
[ ! -e missing.db ] || fail "status --json created missing.db"
# the default path is ./onboard.db
run_fo status
expect_rc 2 "status with no database in the directory"
[ ! -e onboard.db ] || fail "status created onboard.db"
pass "status on a missing database is exit 2 and creates nothing"

# ---- an empty database -----------------------------------------------------
run_fo import --db "$DB" --products company "$FINCH_TEST_DATA/status_mixed.csv" --quiet \
	--minutes-to-expire 0
expect_rc 2 "import --minutes-to-expire 0"
case $ERR in
*"--minutes-to-expire '0': must be between 1 and 129600"*) ;;
*) fail "--minutes-to-expire 0 does not name the option: $ERR" ;;
esac
printf 'customer_id,customer_name,products\n' >header.csv
run_fo import header.csv --db "$DB"
expect_rc 0 "import of a header-only file"
run_fo status --json --db "$DB"
expect_rc 0 "status --json on an empty database"
expect_eq "one JSON object" "$(jq -s 'length' out.txt)" "1"
expect_eq "empty total" "$(json .total)" "0"
expect_eq "empty by_state" "$(json '.by_state | to_entries | map(.value) | add')" "0"
expect_eq "empty last_import" "$(json '.last_import.rows_read, .last_import.path')" "0
header.csv"
expect_eq "no run" "$(json .last_run)" "null"
pass "status --json on an empty database: zeros, the header-only import, no run"

# ---- after an import with invalid rows ---------------------------------------
run_fo import mixed.csv --db "$DB" --quiet
expect_rc 1 "import mixed.csv"
expect_eq "import mixed.csv" "$OUT" \
	"imported mixed.csv: 8 rows read, 2 accepted, 6 invalid, 0 unchanged, 0 updated"

run_fo status --db "$DB" --json
expect_rc 0 "status --json"
expect_eq "status --json stderr" "$ERR" ""
expect_eq "one JSON object" "$(jq -s 'length' out.txt)" "1"
expect_eq "by_state keys" "$(jq -c '.by_state | keys_unsorted' out.txt)" "$STATES"
expect_eq "by_state" "$(jq -c '.by_state' out.txt)" \
	'{"pending":2,"in_flight":0,"retry_wait":0,"created":0,"exists":0,"failed":0,"invalid":6}'
expect_eq "total" "$(json .total)" "8"
expect_eq "total is the sum of by_state" "$(json '[.by_state[]] | add')" "$(json .total)"
expect_eq "total is the rows of the database" "$(q 'SELECT count(*) FROM customers')" "8"
expect_eq "last_import" \
	"$(jq -c '.last_import | [.path, .size, .sha256, .rows_read, .accepted, .invalid, .unchanged, .updated]' out.txt)" \
	"[\"mixed.csv\",$(stat -c %s mixed.csv),\"$(sha256sum mixed.csv | cut -d' ' -f1)\",8,2,6,0,0]"
expect_eq "last_import times" "$(json '.last_import | (.started_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$")) and (.ended_at >= .started_at)')" "true"
pass "status --json: one object, by_state has the 7 states, total, last import"

run_fo status --db "$DB"
expect_rc 0 "status"
expect_eq "status text counts" "$(sed -n '1,8p' out.txt)" "8 rows
  pending     2
  in_flight   0
  retry_wait  0
  created     0
  exists      0
  failed      0
  invalid     6"
grep -q '^last import: mixed.csv at [0-9T:.Z-]*: 8 rows read, 2 accepted, 6 invalid, 0 unchanged, 0 updated$' out.txt ||
	fail "status text has no last import line: $OUT"
grep -qx 'last run: none' out.txt || fail "status text: no 'last run: none': $OUT"
pass "status text: counts per state, the last import, no run yet"

# ---- the states a run leaves --------------------------------------------------
now_ms=$(($(date +%s) * 1000))
q "UPDATE customers SET state = 'in_flight' WHERE customer_id IN ('ok-001', 'ok-004') AND keyless = 0;
UPDATE customers SET state = 'created', session_id = 'sess_1', connect_url = 'https://connect.example/1',
	expires_at = $((now_ms - 60000)), attempts = 1, attempt_total = 1
	WHERE customer_id = 'ok-001' AND keyless = 0;
UPDATE customers SET state = 'failed', http_status = 400, finch_code = 'invalid_request',
	error = 'bad', attempts = 1, attempt_total = 1 WHERE customer_id = 'ok-004'" ||
	fail "cannot move rows by SQL"
run_fo status --db "$DB" --json
expect_rc 0 "status --json after a run"
expect_eq "by_state after a run" "$(jq -c '.by_state' out.txt)" \
	'{"pending":0,"in_flight":0,"retry_wait":0,"created":1,"exists":0,"failed":1,"invalid":6}'
expect_eq "expired" "$(json '.expired, .expiring_7d')" "1
0"
expect_eq "failures" "$(jq -c '.failures' out.txt)" \
	'[{"finch_code":"invalid_request","http_status":400,"count":1}]'
run_fo status --db "$DB"
expect_rc 0 "status after a run"
grep -q '^links expired: 1, expiring within 7 days: 0$' out.txt || fail "no expired line: $OUT"
grep -A1 -x 'failures by finch_code and HTTP status:' out.txt | grep -q 'invalid_request *400 *1$' ||
	fail "status text: no failure group: $OUT"
pass "created, failed and expired rows are counted, failures grouped by finch_code"

q "UPDATE customers SET expires_at = $((now_ms + 3 * 86400000)) WHERE customer_id = 'ok-001'"
run_fo status --db "$DB" --json
expect_eq "expiring within 7 days" "$(json '.expired, .expiring_7d')" "0
1"
pass "a link expiring within 7 days is counted"

# ---- status only reads: it works while a writer holds the lock ---------------
mkfifo release
(
	exec 9>>"$DB" # the lock is on the database file itself; >> never truncates
	flock -n 9 || exit 1
	echo held >held
	read -r _ <release
) &
holder=$!
poll_until 10 test -s held || fail "the lock holder did not take the lock"
run_fo import mixed.csv --db "$DB" --quiet
expect_rc 4 "import while the database is locked"
case $ERR in
"finch-onboard: error: database '$DB' is in use"*) ;;
*) fail "import while locked: unexpected message: $ERR" ;;
esac
run_fo status --db "$DB" --json
expect_rc 0 "status while the database is locked"
expect_eq "status while locked" "$(json .total)" "8"
echo go >release
wait "$holder"
holder=
run_fo import mixed.csv --db "$DB" --quiet
expect_rc 1 "import after the lock is released"
pass "a locked database: import is exit 4, status still reads"

# status changed nothing: the same answer twice, and no import or run recorded by it
run_fo status --db "$DB" --json
first=$OUT
run_fo status --db "$DB" --json
expect_eq "status is read-only" "$OUT" "$first"
expect_eq "imports" "$(q 'SELECT count(*) FROM imports')" "3"
pass "status changes nothing"

# output that cannot be written is a failure (issue 15: these all exited 0)
for args in "status" "status --json" "run --dry-run"; do
	rc=0
	# shellcheck disable=SC2086
	"$FINCH_ONBOARD" $args --db "$DB" >/dev/full 2>full.err || rc=$?
	expect_eq "$args to /dev/full: exit" "$rc" "2"
	grep -q "cannot write to standard output" full.err ||
		fail "$args to /dev/full: no message: $(cat full.err)"
done
rc=0
"$FINCH_ONBOARD" export --db "$DB" --out - >/dev/full 2>full.err || rc=$?
expect_eq "export --out - to /dev/full: exit" "$rc" "2"
expect_eq "export --out - to /dev/full: errors" "$(grep -c 'error:' full.err)" "1"
pass "status, status --json, run --dry-run and export to a full /dev/full exit 2, with one error"

finish
