#!/usr/bin/env bash
# tests/e2e/sandbox.sh: import and sync warn before a rehearsal goes wrong:
# a database that mixes sandbox and production rows (one set of credentials
# cannot serve both), and more sandbox=provider rows than Finch's provider
# sandbox allows connections (5 per application); and a run whose
# credentials are of the other environment stops saying so.
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

# Finch: "You cannot use production credentials to create sandbox connections"
# (Test > Finch Sandbox). The body of that refusal is not documented: the
# emulator's --credentials answers a 401 whose message names the sandbox.
printf 'customer_id,customer_name,products,sandbox\nsb-1,S1,company,finch\nsb-2,S2,company,finch\n' >sb.csv
start_mock --credentials production --log "$E2E_TMP/prod.log"
expect_exit 3 fo sync sb.csv --db sb.db --out sb.out.csv --base-url "$MOCK_URL" --rate 0 --quiet
grep -q "the API refused a sandbox session to these credentials: production credentials cannot create sandbox connections" err.txt ||
	fail "the sandbox refusal is not said: $(cat err.txt)"
grep -q "rejected the credentials (HTTP 401)" err.txt && fail "the plain 401 message as well: $(cat err.txt)"
expect_eq "rows kept" "$(count_state sb.db pending)" 2
expect_eq "auth" "$(q sb.db "SELECT exit_reason FROM runs ORDER BY id DESC LIMIT 1")" auth
stop_mock
printf 'customer_id,customer_name,products\nlv-1,L1,company\n' >live.csv
start_mock --credentials sandbox
expect_exit 3 fo sync live.csv --db live.db --out live.out.csv --base-url "$MOCK_URL" --rate 0 --quiet
grep -q "the API refused a production session to these credentials: sandbox credentials create sandbox connections only" err.txt ||
	fail "the production refusal is not said: $(cat err.txt)"
expect_exit 0 fo sync sb.csv --db sb.db --out sb.out.csv --base-url "$MOCK_URL" --rate 0 --quiet
expect_eq "sandbox rows with sandbox credentials" "$(count_state sb.db created)" 2
stop_mock
pass "production credentials asked for a sandbox session (and sandbox ones for production) stop the run with exit 3 and a message that says so"
finish
