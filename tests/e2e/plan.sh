#!/usr/bin/env bash
# tests/e2e/plan.sh: a plan before the work (issue 16). sync --dry-run and
# run --dry-run end with a summary by kind: new rows, changed rows that get a
# new link, renewals, reauthentications, failures carried over, withdrawals
# and returns, unchanged rows, and the requests in all with their time at
# --rate. --dry-run --quiet prints only that summary; --log-format json
# prints it as one JSON object. The real sync then sends what the plan said.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

e2e_setup plan
rows() { # FIRST LAST: a CSV of p-FIRST..p-LAST
	awk -v a="$1" -v b="$2" 'BEGIN { print "customer_id,customer_name,products"
		for (i = a; i <= b; i++) printf "p-%03d,Employer %d,company\n", i, i }'
}
opts=(--rate 0 --quiet --seed 7)
rows 1 30 >night1.csv
start_mock --log "$E2E_TMP/m.log"
expect_exit 0 fo sync night1.csv --db p.db --out p.csv --base-url "$MOCK_URL" "${opts[@]}"

# Tonight: three links expired, two employers connected (exists), one row failed on
# transient errors last night, p-030 churned, p-010 renamed, p-031 and p-032 new.
q p.db "UPDATE customers SET expires_at = 1 WHERE customer_id IN ('p-001', 'p-002', 'p-003')"
q p.db "UPDATE customers SET state = 'exists', connection_id = 'conn-' || customer_id
	WHERE customer_id IN ('p-004', 'p-005')"
for to in pending in_flight failed; do # the transitions the schema allows
	q p.db "UPDATE customers SET state = '$to', error = 'HTTP 503', first_transient_at = $(($(date +%s) * 1000 - 3600000)),
		give_up_at = 4102444800000 WHERE customer_id = 'p-006'"
done
{ rows 1 29 | sed 's/^p-010,Employer 10,/p-010,Employer Ten,/'; rows 31 32 | tail -n +2; } >night2.csv
before=$(q p.db "SELECT group_concat(customer_id || state || coalesce(session_id, ''), ' ') FROM customers")
night=(night2.csv --db p.db --out p.csv --base-url "$MOCK_URL" --renew-expired --reauthenticate=all --seed 7)

# ---- --dry-run --quiet: the plan alone ---------------------------------------------------
run_fo sync "${night[@]}" --dry-run --quiet --rate 2/s
expect_rc 0 "sync --dry-run --quiet"
expect_eq "the plan" "$OUT" "plan: 8 requests, about 4 s at 2/s
  new rows                          2
  changed rows, new link            0
  renewals                          3
  reauthentications                 2
  failures carried over             1
  withdrawn tonight                 1
  back from withdrawn               0
  changed rows, link kept           1
  unchanged                        28"
[ -z "$ERR" ] || fail "sync --dry-run --quiet printed on stderr: $ERR"
pass "sync --dry-run --quiet prints only the plan, by kind, with the time at --rate"

# ---- without --quiet the requests come first, then the same plan -------------------------
run_fo sync "${night[@]}" --dry-run --resend-changed
expect_rc 0 "sync --dry-run"
expect_eq "bodies" "$(grep -c '^POST ' out.txt)" 9
grep -q '^dry run: 9 requests would be sent' out.txt || fail "no dry run line: $OUT"
grep -q '^  changed rows, new link            1$' out.txt || fail "--resend-changed not in the plan: $OUT"
expect_eq "last line" "$(tail -1 out.txt)" "  unchanged                        28"
pass "sync --dry-run: the requests, then the plan (--resend-changed: the renamed row gets a new link)"

# ---- --log-format json: one JSON object -------------------------------------------------
run_fo sync "${night[@]}" --dry-run --log-format json --limit 5
expect_rc 0 "sync --dry-run --log-format json"
jq -e . out.txt >/dev/null || fail "stdout is not JSON: $OUT"
expect_eq "one object" "$(jq -c . out.txt | wc -l)" 1
expect_eq "the plan as JSON" "$(jq -c '[.requests, .due, .limit, .new, .changed_new_link, .renewals,
	.reauthentications, .carried_over, .withdrawn, .returned, .changed_link_kept, .unchanged]' out.txt)" \
	"[5,8,5,2,0,3,2,1,1,0,1,28]"
pass "sync --dry-run --log-format json: the plan is one JSON object (and --limit in it)"

# ---- nothing changed, and the real night sends what the plan said -------------------------
expect_eq "the database after the dry runs" \
	"$(q p.db "SELECT group_concat(customer_id || state || coalesce(session_id, ''), ' ') FROM customers")" "$before"
: >m.log
run_fo sync "${night[@]}" --quiet --rate 0
stop_mock
expect_eq "requests the server saw" "$(requests m.log)" 8
pass "the dry runs changed nothing; the sync then sent the 8 requests of the plan"

# ---- run --dry-run: the queue as it is, without the import's lines ------------------------
run_fo run --db p.db --dry-run --quiet --rate 0 --resend-changed
expect_rc 0 "run --dry-run --quiet"
expect_eq "run's plan" "$OUT" "plan: 1 request, no --rate limit
  new rows                          0
  changed rows, new link            1
  renewals                          0
  reauthentications                 0
  failures carried over             0"
run_fo run --db p.db --dry-run --quiet --rate 0
expect_eq "without --resend-changed" "$(head -1 out.txt)" "plan: 0 requests"
pass "run --dry-run --quiet: the plan of the queue, --resend-changed's marked row included"

finish
