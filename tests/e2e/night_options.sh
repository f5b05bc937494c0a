#!/usr/bin/env bash
# tests/e2e/night_options.sh: the options of the nightly command mean the
# same everywhere. --quiet in `import` and `sync`: the summary counts, no
# line per unknown column, synonym, invalid or rejected row (debug events under --log-format
# json). A DURATION whose default has a unit needs one: --give-up-after 7 is
# exit 2, "7 what?", and so are --max-outage, --max-retry-after and
# `export --since`; options in SECONDS (--timeout) still take a bare number.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

tmpdir night-options
cd "$E2E_TMP"
unset FINCH_BASE_URL FINCH_ONBOARD_NOW

cat >q.csv <<'CSV'
customer_id,Company Name,products,colour,regoin
q-001,Quiet One,company,red,eu
q-002,,company,blue,eu
q-003,Quiet Three,company,green,us
q-004,Quiet Four,,green,us
CSV

# ---- --quiet: the same in import and sync --------------------------------------------
run_fo import q.csv --db i.db --quiet
expect_rc 1 "import --quiet"
expect_eq "import --quiet stderr" "$ERR" ""
grep -q "4 rows read, 2 accepted, 2 invalid" out.txt || fail "import --quiet has no summary: $OUT"
import_summary=$OUT

start_mock
run_fo sync q.csv --db s.db --out s.csv --base-url "$MOCK_URL" --rate 0 --quiet
expect_rc 1 "sync --quiet"
expect_eq "sync --quiet stderr" "$ERR" ""
[ "$(grep -c '^imported' out.txt)" = 1 ] || fail "sync --quiet has no import summary: $OUT"
expect_eq "sync --quiet's import summary is import's" "$(grep '^imported' out.txt)" "$import_summary"
grep -q "created 2" out.txt || fail "sync --quiet has no run counts: $OUT"
pass "--quiet: import and sync print the same summary counts and no per-row or per-column line"

run_fo sync q.csv --db s2.db --out s2.csv --base-url "$MOCK_URL" --rate 0
expect_rc 1 "sync"
grep -q "unknown columns 'colour', 'regoin' are ignored" err.txt || fail "sync without --quiet: $ERR"
[ "$(grep -c "invalid:" err.txt)" = 2 ] || fail "sync without --quiet lists no invalid row: $ERR"
grep -q "column 'Company Name' is read as customer_name (a synonym" err.txt ||
	fail "sync without --quiet does not name the synonym: $ERR"
pass "without --quiet both columns, the synonym and both invalid rows are named"

run_fo sync q.csv --db s3.db --out s3.csv --base-url "$MOCK_URL" --rate 0 --quiet --log-format json
expect_rc 1 "sync --quiet --log-format json"
jq -e . err.txt >/dev/null || fail "stderr is not JSON: $ERR"
[ "$(jq -r 'select(.level == "debug") | .event' err.txt | sort | uniq -c | awk '{print $2 "=" $1}' | paste -sd' ')" = \
	"row_invalid=2 synonym_column=1 unknown_column=1" ] || fail "the per-line reports are not debug events: $ERR"
[ "$(jq -r 'select(.level != "debug" and (.event == "row_invalid" or .event == "synonym_column" or .event == "unknown_column"))' err.txt)" = "" ] ||
	fail "a per-line report above debug level: $ERR"
run_fo import q.csv --db i2.db --quiet --log-format json
[ "$(jq -r 'select(.level == "debug") | .event' err.txt | wc -l)" = 4 ] || fail "import --quiet json: $ERR"
stop_mock
pass "--quiet --log-format json: each per-line report is a debug event, in import and in sync"

# a row the API rejects is a line without --quiet, a debug event with it
start_mock --echo-auth # a 400 for every request
run_fo sync q.csv --db f.db --out f.csv --base-url "$MOCK_URL" --rate 0 --quiet
expect_rc 8 "sync --quiet, every row rejected"
# the night's own line stays: no request succeeded (exit 8)
expect_eq "sync --quiet stderr, rows rejected" "$(grep -v "no request of this run succeeded" err.txt)" ""
run_fo sync q.csv --db f2.db --out f2.csv --base-url "$MOCK_URL" --rate 0
[ "$(grep -c "row failed" err.txt)" = 2 ] || fail "sync without --quiet names no rejected row: $ERR"
stop_mock
pass "--quiet: no line per row the API rejected either (a debug event)"

# ---- durations need a unit where the default has one ---------------------------------------
fo import q.csv --db d.db --quiet >/dev/null
for opt in give-up-after max-outage max-retry-after; do
	run_fo run --db d.db --"$opt" 7
	expect_rc 2 "--$opt 7"
	case "$ERR" in *"'--$opt': 7 what? say "*) ;; *) fail "--$opt 7: $ERR" ;; esac
done
run_fo run --db d.db --give-up-after 7
expect_eq "--give-up-after 7" "$ERR" "finch-onboard: error: option '--give-up-after': 7 what? say 7d, 36h or 90m"
run_fo sync q.csv --db d.db --out d.csv --give-up-after 1.5
expect_rc 2 "sync --give-up-after 1.5"
run_fo export --db d.db --since 24
expect_rc 2 "export --since 24"
case "$ERR" in *"24 what? say 24h"*) ;; *) fail "export --since 24: $ERR" ;; esac
pass "a bare number is refused where the default has a unit: --give-up-after, --max-outage, --max-retry-after, export --since"

start_mock
for ok in "--give-up-after 0" "--give-up-after 36h" "--max-outage 90s" "--max-retry-after 0" "--timeout 30" "--grace 1.5"; do
	# shellcheck disable=SC2086
	run_fo run --db d.db --base-url "$MOCK_URL" --rate 0 --quiet $ok
	[ "$RC" = 0 ] || [ "$RC" = 1 ] || fail "$ok: exit $RC: $ERR"
done
run_fo export --db d.db --since 24h
expect_rc 0 "export --since 24h"
stop_mock
pass "0, a unit, or an option in SECONDS are taken as before"

finish
