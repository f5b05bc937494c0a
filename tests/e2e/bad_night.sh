#!/usr/bin/env bash
# tests/e2e/bad_night.sh: a bad night is never a good one (issue 16). A
# sync or run whose requests all failed (Finch answered 503 to every one)
# exits 8, not 1, and does not move the metrics' last-success time, so the
# README's "no good sync in 26 h" alert fires; one success among the
# failures is an ordinary exit 1. A CSV whose every row became invalid (a
# colleague re-saved it in another encoding) while the database has rows
# exits 8, not 0.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

e2e_setup bad-night

metric() { prom_check "$1" | jq -r --arg k "$2" '.[$k] // "absent"'; }
awk 'BEGIN { print "customer_id,customer_name,customer_email,products"
	for (i = 1; i <= 12; i++) printf "b-%03d,Employer %d,hr%d@example.com,company\n", i, i, i }' >night.csv
opts=(--rate 0 --quiet --max-attempts 2 --seed 5)

# ---- a good night sets the last success ------------------------------------------------
start_mock
expect_exit 0 fo sync night.csv --db b.db --out b.csv --base-url "$MOCK_URL" "${opts[@]}" \
	--metrics-file good.prom
stop_mock
good=$(metric good.prom finch_onboard_last_success_timestamp_seconds)
[ "$good" != absent ] || fail "a good night has no last success"

# ---- every request answered 503: exit 8, the last success stays -------------------------------
awk 'BEGIN { print "customer_id,customer_name,customer_email,products"
	for (i = 1; i <= 16; i++) printf "b-%03d,Employer %d,hr%d@example.com,company\n", i, i, i }' >more.csv
# four requests: fewer 5xx in a row than open the breaker (a stop with exit 6 of its own)
bad_opts=(--rate 0 --quiet --max-attempts 1 --seed 5)
start_mock --error-rate 1 --error-status 503 --log "$E2E_TMP/m503.log"
run_fo sync more.csv --db b.db --out b.csv --base-url "$MOCK_URL" "${bad_opts[@]}" --metrics-file bad.prom
expect_rc 8 "a night of 503s"
[ "$(requests m503.log)" -gt 0 ] || fail "nothing was sent: the check proves nothing"
case "$ERR" in *"no request of this run succeeded: "*" sent, none created or exists (exit 8)"*) ;;
*) fail "the error does not say why: $ERR" ;; esac
[ -s b.csv ] || fail "the export was not written"
[ "$(metric bad.prom finch_onboard_last_run_exit_code)" = 8 ] || fail "exit code gauge: $(cat bad.prom)"
[ "$(metric bad.prom finch_onboard_last_success_timestamp_seconds)" = "$good" ] ||
	fail "a night of 503s moved the last success: $(metric bad.prom finch_onboard_last_success_timestamp_seconds), was $good"
[ "$(q b.db "SELECT exit_code || ' ' || exit_reason FROM runs ORDER BY id DESC LIMIT 1")" = "8 no_success" ] ||
	fail "the run is recorded as $(q b.db "SELECT exit_code, exit_reason FROM runs ORDER BY id DESC LIMIT 1")"
fo status --db b.db | grep -q "no_success" || fail "status does not name the bad night: $(fo status --db b.db)"
pass "a night where every request got a 503: exit 8, run recorded no_success, the last success did not move"

# `run` alone too
q b.db "UPDATE customers SET state = 'pending' WHERE state = 'failed'"
run_fo run --db b.db --base-url "$MOCK_URL" "${bad_opts[@]}"
expect_rc 8 "run, a night of 503s"
stop_mock
pass "run alone: exit 8 when nothing succeeded"

# ---- one success is an ordinary night with failures -------------------------------------------------
start_mock --error-rate 0.8 --error-status 503 --seed 11 --log "$E2E_TMP/mmix.log"
q b.db "UPDATE customers SET state = 'pending' WHERE state = 'failed'"
run_fo run --db b.db --base-url "$MOCK_URL" --rate 0 --quiet --max-attempts 1 --seed 5
stop_mock
created=$(jq -s '[.[] | select(.status == 201)] | length' mmix.log)
if [ "$created" -gt 0 ]; then
	expect_rc 1 "a night with $created successes"
else
	expect_rc 8 "a night without success"
fi
pass "one success among failures is exit 1 ($created created)"

# ---- the whole CSV turned invalid ----------------------------------------------------------------
start_mock --log "$E2E_TMP/mgood.log"
expect_exit 0 fo sync night.csv --db e.db --out e.csv --base-url "$MOCK_URL" "${opts[@]}"
# re-saved as UTF-16 without a byte order mark... every name is now broken in UTF-8:
# simplest faithful case: Mac OS Roman bytes read as UTF-8
LC_ALL=C awk -F, 'NR == 1 { print; next } { printf "%s,Empl\216yer %s,%s,%s\n", $1, NR, $3, $4 }' night.csv >broken.csv
run_fo sync broken.csv --db e.db --out e2.csv --base-url "$MOCK_URL" "${opts[@]}" --metrics-file e.prom
expect_rc 8 "a CSV without a valid row"
case "$ERR" in *"the CSV gave no valid row while the database has 12"*) ;;
*) fail "the error does not say why: $ERR" ;; esac
[ "$(metric e.prom finch_onboard_last_run_exit_code)" = 8 ] || fail "exit code gauge: $(cat e.prom)"
run_fo sync broken.csv --db e.db --out e2.csv --dry-run --quiet
expect_rc 8 "the dry run of a CSV without a valid row"
# a first import of a broken file is no bad night: there was nothing to lose
run_fo sync broken.csv --db first.db --out f.csv --base-url "$MOCK_URL" "${opts[@]}"
expect_rc 1 "a first sync whose rows are all invalid"
stop_mock
pass "a CSV whose every row turned invalid is exit 8 while the database has rows (1 on a first import)"

finish
