#!/usr/bin/env bash
# tests/e2e/sandbox.sh: import and sync warn before a rehearsal goes wrong:
# a database that mixes sandbox and production rows (one set of credentials
# cannot serve both), and more sandbox=provider rows than Finch's provider
# sandbox allows connections (5 per application).
set -uo pipefail
. "$(dirname "$0")/lib.sh"

e2e_setup sandbox
MIXED="the database mixes 1 production row and 5 sandbox rows"
OVER="6 rows ask for sandbox=provider: Finch's provider sandbox allows at most 5 active connections per application"

printf 'customer_id,customer_name,products,sandbox\n' >five.csv
for i in 1 2 3 4 5; do echo "p-$i,Provider $i,company,provider"; done >>five.csv
expect_exit 0 fo import five.csv --db s.db
[ ! -s err.txt ] || fail "five provider rows warned: $(cat err.txt)"
pass "five sandbox=provider rows, nothing else: no warning"

cp five.csv six.csv
echo "p-6,Provider 6,company,provider" >>six.csv
expect_exit 0 fo import six.csv --db s.db
grep -qF "$OVER" err.txt || fail "no warning for six provider rows: $(cat err.txt)"
expect_exit 0 fo import six.csv --check --db unused.db --log-format json
expect_eq "--check, in JSON" "$(jq -r 'select(.level == "warning") | .msg' err.txt | grep -cF "$OVER")" 1
pass "a sixth sandbox=provider row is warned of, quoting Finch's limit (import and import --check)"

cp five.csv mixed.csv
echo "live-1,Live 1,company," >>mixed.csv
expect_exit 0 fo import mixed.csv --db m.db
grep -qF "$MIXED" err.txt || fail "no warning for a mixed database: $(cat err.txt)"
expect_exit 0 fo import mixed.csv --db m.db
[ ! -s err.txt ] || fail "an import that changed nothing warned again: $(cat err.txt)"
start_mock
expect_exit 0 fo sync mixed.csv --db m2.db --out m.csv --base-url "$MOCK_URL" --rate 0 --quiet
grep -qF "$MIXED" err.txt || fail "sync did not warn of the mix: $(cat err.txt)"
stop_mock
pass "a database that mixes sandbox and production rows is warned of, by import and sync; an import that changes nothing says nothing again"
finish
