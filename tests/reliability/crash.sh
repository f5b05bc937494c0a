#!/usr/bin/env bash
# tests/reliability/crash.sh: kill -9 at any moment loses nothing it cannot
# account for, and every writer recovers a crash first.
#
# 1. A run killed with rows in flight, then a nightly `sync` whose CSV makes
#    some of those rows invalid and changes others: the sync recovers first
#    (each lost attempt recorded as "outcome unknown"), imports without
#    tripping the state trigger, runs and exports; the changed rows keep their
#    lost attempt in their history.
# 2. A run of CRASH_ROWS rows against an emulator with 5xx, 429s, resets and
#    latency, killed with SIGKILL at CRASH_KILLS moments chosen at random
#    (seeded: CRASH_SEED, printed), resumed each time, then run to the end.
#    After all that, every POST the emulator logged is an attempt row, every
#    session_id is the emulator's, nothing is in flight, the database is
#    intact, the outcome-unknown attempts are exactly the rows found in
#    flight after the kills, and a customer has more than one 201 only if a
#    kill lost an answer of its.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_setup crash

# ---- 1. a crash, then a nightly sync whose CSV changed -------------------------------
start_mock --latency 400ms --log "$E2E_TMP/m1.log"
new_db s.db 64 s
bg_run run1 s.db 8
wait_state "eight rows in flight" s.db in_flight 8
bg_signal KILL
q s.db "SELECT customer_id FROM customers WHERE state = 'in_flight' ORDER BY id" >lost.txt
nlost=$(wc -l <lost.txt)
[ "$nlost" -ge 8 ] || fail "only $nlost rows in flight after the kill"
invalid_ids=$(head -n 4 lost.txt)
changed_ids=$(sed -n '5,8p' lost.txt)
# the nightly CSV: four in-flight rows now invalid (an unknown product), four renamed
awk -F, -v inv="$(echo $invalid_ids)" -v chg="$(echo $changed_ids)" '
	BEGIN { OFS = ","; n = split(inv, a, " "); for (i = 1; i <= n; i++) bad[a[i]] = 1
		n = split(chg, b, " "); for (i = 1; i <= n; i++) ren[b[i]] = 1 }
	NR > 1 && ($1 in bad) { $3 = "payroll" }
	NR > 1 && ($1 in ren) { $2 = $2 " (renamed)" }
	{ print }' s.db.csv >nightly.csv
expect_exit 1 fo sync nightly.csv --db s.db --out nightly-out.csv --base-url "$MOCK_URL" --rate 0 --quiet
[ -s nightly-out.csv ] || fail "the sync after a crash wrote no export"
grep -q "crashed run" err.txt || fail "the sync did not log the recovery: $(cat err.txt)"
[ "$(q s.db "SELECT count(*) FROM attempts WHERE transport_error = 'outcome unknown'")" = "$nlost" ] ||
	fail "the $nlost lost attempts are not all recorded as outcome unknown"
for id in $invalid_ids; do
	[ "$(q s.db "SELECT state FROM customers WHERE customer_id = '$id'")" = invalid ] ||
		fail "$id should be invalid after the nightly import"
done
for id in $changed_ids; do
	[ "$(q s.db "SELECT state || ' ' || customer_name FROM customers WHERE customer_id = '$id'")" = \
		"created Employer ${id#s-} (renamed)" ] || fail "$id was not updated and created"
	[ "$(q s.db "SELECT count(*) FROM attempts a JOIN customers c ON c.id = a.customer
		WHERE c.customer_id = '$id' AND a.transport_error = 'outcome unknown'")" = 1 ] ||
		fail "$id lost its outcome-unknown attempt in the update"
done
[ "$(count_state s.db created)" = 60 ] || fail "want 60 created, got $(count_state s.db created)"
check_invariants s.db m1.log
stop_mock
pass "a crash, then a sync whose CSV invalidates and changes in-flight rows: recovered first, exit 1, exported"

# ---- 2. kill -9 at random moments of a run with faults -------------------------------
rows=${CRASH_ROWS:-5000}
kills=${CRASH_KILLS:-20}
seed=${CRASH_SEED:-$RANDOM}
RANDOM=$seed
echo "# CRASH_SEED=$seed CRASH_ROWS=$rows CRASH_KILLS=$kills"
start_mock --seed "$seed" --latency 20ms --jitter 20ms --error-rate 0.05 \
	--rate-limit-fault 0.002 --retry-after 50ms --reset-rate 0.02 --log "$E2E_TMP/m2.log"
new_db k.db "$rows" k
run_opts=(--db k.db --base-url "$MOCK_URL" --rate 0 --concurrency 16 --max-attempts 8 --quiet)
lost_total=0
target=0
for i in $(seq 1 "$kills"); do
	# a random moment: after the emulator has logged between 20 and 20 + 2 * rows / kills more requests
	target=$(($(requests m2.log) + 20 + RANDOM % (2 * rows / kills)))
	bg_fo kill run "${run_opts[@]}"
	reached() { [ "$(requests m2.log)" -ge "$target" ] || ! kill -0 "$BG_PID" 2>/dev/null; }
	WAIT_FOR_SECONDS=60 wait_for "request $target" reached
	kill -KILL "$BG_PID" 2>/dev/null || true
	bg_wait
	lost_total=$((lost_total + $(count_state k.db in_flight)))
done
rc=0
"$FINCH_ONBOARD" run "${run_opts[@]}" >last.out 2>last.err || rc=$?
[ "$rc" = 0 ] || [ "$rc" = 1 ] || fail "the last resume exited $rc: $(cat last.err)"
[ "$lost_total" -gt 0 ] || fail "no kill found a row in flight: the test proves nothing"
[ "$(q k.db "SELECT count(*) FROM customers WHERE state NOT IN ('created', 'exists', 'failed')")" = 0 ] ||
	fail "rows left unfinished after the last resume"
[ "$(q k.db "SELECT count(*) FROM attempts WHERE transport_error = 'outcome unknown'")" = "$lost_total" ] ||
	fail "outcome-unknown attempts: $(q k.db "SELECT count(*) FROM attempts WHERE transport_error = 'outcome unknown'"), rows found in flight after the kills: $lost_total"
check_invariants k.db m2.log
# a second 201 only where a kill lost an answer
jq -r 'select(.status == 201) | .customer_id' m2.log | sort | uniq -c | awk '$1 > 1 {print $2, $1}' |
	sort >twice.txt
q k.db "SELECT c.customer_id, count(*) + 1 FROM attempts a JOIN customers c ON c.id = a.customer
	WHERE a.transport_error = 'outcome unknown' GROUP BY 1" | tr '|' ' ' | sort >unknown.txt
bad=$(join -a1 -e 1 -o 0,1.2,2.2 twice.txt unknown.txt | awk '$2 > $3' | head -n 5)
[ -z "$bad" ] || fail "customers with more 201s than lost answers can explain: $bad"
stop_mock
pass "$kills kill -9s of a $rows-row run with faults, resumed each time: $lost_total lost answers, all accounted for"
finish
