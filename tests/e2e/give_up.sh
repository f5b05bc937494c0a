#!/usr/bin/env bash
# tests/e2e/give_up.sh: --give-up-after is read each night (issue 16). The
# limit that applies is the one given tonight, counted from the row's first
# transient failure (a later, longer limit brings rows back; a shorter one
# gives them up); giving up is logged once per row, and status says how many
# rows were given up and why. The nights run on the test clock.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

e2e_setup give-up
awk 'BEGIN { print "customer_id,customer_name,products"
	for (i = 1; i <= 5; i++) printf "g-%03d,Employer %d,company\n", i, i }' >g.csv
t0=$(date +%s)
day=86400
night() { # DAY LIMIT [ARGS...]: a sync on day DAY with --give-up-after LIMIT
	local d=$1 limit=$2
	shift 2
	FINCH_ONBOARD_NOW=$((t0 + d * day)) run_fo sync g.csv --db g.db --out g-out.csv \
		--base-url "$MOCK_URL" --rate 0 --quiet --max-attempts 1 --seed 9 \
		--give-up-after "$limit" --log-format json "$@"
}
given_up_lines() { jq -r 'select(.event == "given_up") | .customer_id' err.txt | sort | paste -sd' '; }

start_mock --error-rate 1 --error-status 503 --log "$E2E_TMP/m.log"
night 0 2d
expect_rc 8 "the first night of 503s"
expect_eq "failed" "$(count_state g.db failed)" 5

# day 1, within 2d: every row is sent again
night 1 2d
expect_rc 8 "day 1"
expect_eq "requests by day 1" "$(requests m.log)" 10
# day 3: 2d is over, but tonight's limit is 7d, counted from day 0: sent again
night 3 7d
expect_rc 8 "day 3 with 7d"
expect_eq "requests by day 3" "$(requests m.log)" 15
expect_eq "no row given up yet" "$(given_up_lines)" ""
pass "a longer --give-up-after given tonight applies to rows that failed before it (was fixed at the first failure)"

# day 4 with 36h: the window from day 0 is over; each row is given up, and told once
night 4 36h
expect_rc 1 "day 4 with 36h"
expect_eq "requests by day 4" "$(requests m.log)" 15
expect_eq "given up, logged" "$(given_up_lines)" "g-001 g-002 g-003 g-004 g-005"
[ "$(jq -r 'select(.event == "given_up") | .give_up_after + " " + .level' err.txt | sort -u)" = "36h warning" ] ||
	fail "the given_up events: $(cat err.txt)"
night 5 36h
expect_eq "requests by day 5" "$(requests m.log)" 15
expect_eq "given up again on day 5" "$(given_up_lines)" ""
stop_mock
pass "a shorter --give-up-after tonight gives the rows up: one warning per row, never repeated"

# status: how many, and why
FINCH_ONBOARD_NOW=$((t0 + 5 * day)) run_fo status --db g.db
expect_rc 0 "status"
grep -q "^given up: 5 (transient failures for longer than --give-up-after" out.txt ||
	fail "status does not count the rows given up: $OUT"
grep -qE '^ +5  The server could not complete the request$' out.txt || fail "status does not say why: $OUT"
FINCH_ONBOARD_NOW=$((t0 + 5 * day)) run_fo status --db g.db --json
expect_eq "status --json given_up" "$(jq -r .given_up out.txt)" 5
pass "status says how many rows were given up and their last error"

# a longer limit again brings them back, and they are created
start_mock --log "$E2E_TMP/m2.log"
night 6 30d
expect_rc 0 "day 6 with 30d"
expect_eq "created" "$(count_state g.db created)" 5
stop_mock
FINCH_ONBOARD_NOW=$((t0 + 6 * day)) run_fo status --db g.db --json
expect_eq "given_up after the good night" "$(jq -r .given_up out.txt)" 0
pass "--give-up-after 30d on a later night sends them again; once created they are no longer given up"

finish
