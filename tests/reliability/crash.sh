#!/usr/bin/env bash
# tests/reliability/crash.sh: kill -9 at any moment loses nothing it cannot
# account for, and every writer recovers a crash first.
#
# 1. A run killed with rows in flight, then a nightly `sync` whose CSV makes
#    some of those rows invalid and changes others: the sync recovers first
#    (each lost attempt recorded as "outcome unknown"), imports without
#    tripping the state trigger, runs and exports; the changed rows keep their
#    lost attempt in their history.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../e2e/lib.sh"
. "$here/invariants.sh"
tmpdir crash
cd "$E2E_TMP"
bg_pid=
stop_bg() { [ -z "$bg_pid" ] || kill -KILL "$bg_pid" 2>/dev/null || true; e2e_cleanup; }
trap stop_bg EXIT
q() { sqlite3 -batch -noheader "$@"; }

# ---- 1. a crash, then a nightly sync whose CSV changed -------------------------------
start_mock --latency 400ms --log "$E2E_TMP/m1.log"
new_db s.db 64 s
"$FINCH_ONBOARD" run --db s.db --base-url "$MOCK_URL" --rate 0 --concurrency 8 --quiet \
	>run1.out 2>run1.err &
bg_pid=$!
eight_in_flight() { [ "$(count_state s.db in_flight)" -ge 8 ]; }
wait_for "eight rows in flight" eight_in_flight
kill -KILL "$bg_pid"
wait "$bg_pid" 2>/dev/null || true
bg_pid=
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

finish
