#!/usr/bin/env bash
# tests/e2e/traps.sh: the small traps of an unattended job, closed.
#
# run and --dry-run on a missing database exit 2 and create nothing; an
# empty database says "nothing to send"; a rate below 1 per day is refused
# (it used to overflow and spin); --concurrency above the open-file limit is
# clamped with a warning instead of failing sockets with EMFILE; exit
# reasons name what happened; retry --customer agrees with itself.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

e2e_setup traps

new_db() { # DB N
	awk -v n="$2" 'BEGIN { print "customer_id,customer_name,products"
		for (i = 1; i <= n; i++) printf "t-%03d,Employer %d,company\n", i, i }' >"$1.csv"
	fo import --db "$1" "$1.csv" >/dev/null || fail "import of $1.csv failed"
}

# ---- a missing or empty database --------------------------------------------------------
for dry in "" --dry-run; do
	expect_exit 2 fo run --db typo.db --base-url http://127.0.0.1:9 $dry
	grep -q "cannot open database 'typo.db'" err.txt && grep -q "import a CSV first" err.txt ||
		fail "run $dry on a missing database: $(cat err.txt)"
	[ -z "$(ls typo.db* 2>/dev/null)" ] || fail "run $dry created $(ls typo.db*)"
done
printf 'customer_id,customer_name,products\n' >header.csv
fo import --db empty.db header.csv >/dev/null
for dry in "" --dry-run; do
	expect_exit 2 fo run --db empty.db --base-url http://127.0.0.1:9 $dry
	grep -q "nothing to send: import a CSV first" err.txt || fail "run $dry on an empty database: $(cat err.txt)"
done
pass "run and --dry-run on a missing database exit 2 and create nothing; an empty one: nothing to send"

# ---- rates below 1 per day ----------------------------------------------------------------
new_db r.db 1
for rate in 0.0000000000000001/s 1/2d 0.5/day 0.00001; do
	expect_exit 2 fo run --db r.db --base-url http://127.0.0.1:9 --rate "$rate"
	grep -q "below 1 per day" err.txt || fail "--rate $rate: $(cat err.txt)"
done
expect_exit 2 fo sync r.db.csv --db r.db --out r.out --base-url http://127.0.0.1:9 --rate 1e-300
[ "$(count_state r.db pending)" = 1 ] || fail "a refused rate changed the database"
pass "--rate below 1 per day is refused (exit 2), and nothing is sent"

# ---- a slow rate ends with the work, not a token later ------------------------------------
# At 1/day the first request goes at once; the run must then see that nothing
# is left rather than wait a day for the next token, holding the lock.
start_mock --log "$E2E_TMP/m-slow.log"
expect_exit 0 timeout 60 "$FINCH_ONBOARD" run --db r.db --base-url "$MOCK_URL" --rate 1/day --quiet
[ "$(count_state r.db created)" = 1 ] || fail "--rate 1/day: the row was not created"
stop_mock
pass "--rate 1/day: the run ends once its last row is answered"

# ---- --concurrency above the open-file limit ------------------------------------------------
start_mock --latency 100ms --log "$E2E_TMP/m-fd.log"
new_db fd.db 300
rc=0
(ulimit -n 64 && exec "$FINCH_ONBOARD" run --db fd.db --base-url "$MOCK_URL" --rate 0 --concurrency 300 \
	--max-attempts 1 --quiet) >out.txt 2>err.txt || rc=$?
[ "$rc" = 0 ] || fail "--concurrency 300 under ulimit -n 64: exit $rc: $(tail -n 3 err.txt)"
grep -q "running 32 at a time" err.txt || fail "no clamp warning: $(head -n 3 err.txt)"
[ "$(count_state fd.db created)" = 300 ] || fail "rows failed under a low open-file limit"
new_db fd2.db 100
rc=0
(ulimit -S -n 64 && exec "$FINCH_ONBOARD" run --db fd2.db --base-url "$MOCK_URL" --rate 0 \
	--concurrency 100 --max-attempts 1 --quiet) >out.txt 2>err.txt || rc=$?
[ "$rc" = 0 ] && [ ! -s err.txt ] || fail "a soft limit below the hard one was not raised: $(cat err.txt)"
stop_mock
pass "--concurrency beyond ulimit -n: the soft limit is raised, or concurrency clamped with a warning"

# ---- the progress line fits a narrow terminal ------------------------------------------------
if command -v script >/dev/null; then
	start_mock --latency 20ms
	new_db w.db 30
	script -qec "stty cols 30 rows 10; '$FINCH_ONBOARD' run --db w.db --base-url '$MOCK_URL' \
		--rate 40/s --concurrency 2" /dev/null >tty.txt 2>&1 || fail "run on a terminal: $(tail -n 3 tty.txt)"
	tr '\r' '\n' <tty.txt | sed 's/\x1b\[K//g' | grep -E '^[0-9]+/[0-9]+ done' >lines.txt ||
		fail "no progress line on the terminal: $(head -c 300 tty.txt)"
	longest=$(awk '{ if (length > m) m = length } END { print m + 0 }' lines.txt)
	[ "$longest" -le 29 ] || fail "a progress line of $longest columns on a 30-column terminal"
	[ "$(count_state w.db created)" = 30 ] || fail "the run on a terminal did not finish"
	stop_mock
	pass "on a 30-column terminal the progress line is cut to 29 columns ($(wc -l <lines.txt) draws)"
fi

# ---- exit reasons ----------------------------------------------------------------------------
last_reason() { q "$1" "SELECT exit_reason FROM runs ORDER BY id DESC LIMIT 1"; }
start_mock
printf 'customer_id,customer_name,customer_email,products\nx-1,X,,company\nx-2,Y,not-an-email,company\n' >inv.csv
fo import --db inv.db inv.csv >/dev/null 2>&1 || true
expect_exit 1 fo run --db inv.db --base-url "$MOCK_URL" --rate 0 --quiet
[ "$(last_reason inv.db)" = rows_invalid ] || fail "invalid rows, none failed: exit_reason $(last_reason inv.db)"
new_db ok.db 2
expect_exit 0 fo run --db ok.db --base-url "$MOCK_URL" --rate 0 --quiet
[ "$(last_reason ok.db)" = done ] || fail "all done: exit_reason $(last_reason ok.db)"
stop_mock
start_mock --error-rate 1 --error-status 503
new_db bad.db 2
expect_exit 8 fo run --db bad.db --base-url "$MOCK_URL" --rate 0 --quiet --max-attempts 1
[ "$(last_reason bad.db)" = no_success ] || fail "no success: exit_reason $(last_reason bad.db)"
stop_mock
expect_exit 0 fo run --db ok.db --base-url http://127.0.0.1:9 --rate 0 --quiet
[ "$(last_reason ok.db)" = done ] || fail "a run with nothing due is not unreachable: $(last_reason ok.db)"
q ok.db "UPDATE customers SET state = 'pending'"
expect_exit 6 fo run --db ok.db --base-url http://127.0.0.1:9 --rate 0 --quiet
[ "$(last_reason ok.db)" = unreachable ] || fail "unreachable: exit_reason $(last_reason ok.db)"
pass "exit reasons name what happened: done, rows_invalid, no_success, unreachable"

# ---- retry --customer agrees with itself ------------------------------------------------------
printf 'customer_id,customer_name,products\nd-1,D,company\nd-2,E,company\nd-1,D again,company\n' >dup.csv
fo import --db dup.db dup.csv >/dev/null 2>&1 || true
q dup.db "UPDATE customers SET state = 'in_flight' WHERE customer_id = 'd-1' AND keyless = 0;
	UPDATE customers SET state = 'failed' WHERE customer_id = 'd-1' AND keyless = 0"
expect_exit 0 fo retry --db dup.db --customer d-1
grep -qx "re-queued 1 row" out.txt || fail "retry --customer d-1: $(cat out.txt)"
! grep -q "left alone" err.txt || fail "a warning that contradicts the re-queue: $(cat err.txt)"
expect_exit 0 fo retry --db dup.db --customer d-2
grep -qx "re-queued 0 rows" out.txt && grep -q "pending already" err.txt ||
	fail "retry of a pending customer: $(cat out.txt) $(cat err.txt)"
pass "retry --customer: a row it re-queues draws no 'left alone' warning, one it leaves says why"

finish
