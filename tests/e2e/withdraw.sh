#!/usr/bin/env bash
# tests/e2e/withdraw.sh: rows missing from a sync's CSV are withdrawn, not
# forgotten (issue 16). A withdrawn row keeps its state, link and history,
# is shown by status, the export and the metrics, and is never sent,
# renewed or reauthenticated; it comes back as it was when a later CSV has
# it. A CSV that would withdraw more than --max-withdraw (10% by default)
# of the active rows is refused before anything is sent (exit 2, the counts
# named); a header-only CSV never withdraws everything. import does it only
# with --withdraw-missing; sync --keep-missing turns it off.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

e2e_setup withdraw

rows() { # N [SKIP...]: a CSV of w-001..w-N without the given ids
	awk -v n="$1" -v skip=" ${*:2} " 'BEGIN { print "customer_id,customer_name,products"
		for (i = 1; i <= n; i++) { id = sprintf("w-%03d", i)
			if (index(skip, " " id " ") == 0) printf "%s,Employer %d,company\n", id, i } }'
}
opts=(--rate 0 --quiet --minutes-to-expire 1)
t0=$(date +%s)

rows 20 >all.csv
rows 20 w-007 w-013 >two_gone.csv
rows 20 w-007 >one_gone.csv
rows 20 w-001 >first_gone.csv
head -2 all.csv >one_row.csv
head -1 all.csv >header_only.csv

start_mock --existing-every 4 --log "$E2E_TMP/m1.log"
expect_exit 0 fo sync all.csv --db w.db --out w.csv --base-url "$MOCK_URL" "${opts[@]}"
link7=$(q w.db "SELECT state || ' ' || coalesce(session_id, connection_id) FROM customers WHERE customer_id = 'w-007'")
stop_mock

# ---- two rows gone (10% of 20): withdrawn, kept, shown ----------------------------------------------
start_mock --log "$E2E_TMP/m2.log"
run_fo sync two_gone.csv --db w.db --out w.csv --base-url "$MOCK_URL" "${opts[@]}" --metrics-file w.prom
expect_rc 0 "a CSV without 2 of 20 rows"
grep -q "2 withdrawn (not in the file)" out.txt || fail "the summary does not count withdrawals: $OUT"
[ "$(q w.db "SELECT group_concat(customer_id) FROM customers WHERE withdrawn = 1")" = "w-007,w-013" ] ||
	fail "withdrawn: $(q w.db "SELECT group_concat(customer_id) FROM customers WHERE withdrawn = 1")"
[ "$(q w.db "SELECT state || ' ' || coalesce(session_id, connection_id) FROM customers WHERE customer_id = 'w-007'")" = "$link7" ] ||
	fail "a withdrawn row lost its state or link"
[ "$(csv_col w.csv withdrawn | grep -c yes)" = 2 ] || fail "the export does not show the withdrawn rows"
[ "$(fo export --db w.db --format jsonl | jq -r 'select(.withdrawn) | .customer_id' | paste -sd,)" = "w-007,w-013" ] ||
	fail "jsonl withdrawn"
fo status --db w.db >st.txt
grep -q "withdrawn   2" st.txt || fail "status: $(cat st.txt)"
[ "$(fo status --db w.db --json | jq .withdrawn)" = 2 ] || fail "status --json withdrawn"
[ "$(prom_check w.prom | jq .finch_onboard_rows_withdrawn)" = 2 ] || fail "metrics: $(cat w.prom)"
pass "a CSV without 2 of 20 rows withdraws them: state and link kept; summary, status, export, metrics show them"

# ---- never renewed, reauthenticated or sent ----------------------------------------------------------
FINCH_ONBOARD_NOW=$((t0 + 3600)) run_fo sync two_gone.csv --db w.db --out w.csv --renew-expired --reauthenticate=all \
	--base-url "$MOCK_URL" "${opts[@]}"
expect_rc 0 "renewals with withdrawn rows"
[ "$(requests m2.log)" = 18 ] || fail "renewals sent $(requests m2.log) requests, want 18"
! jq -r .customer_id m2.log | grep -q -x -e w-007 -e w-013 || fail "a withdrawn row was renewed or reauthenticated"
q w.db "UPDATE customers SET state = 'in_flight' WHERE customer_id = 'w-013';
	UPDATE customers SET state = 'pending' WHERE customer_id = 'w-013'"
expect_exit 0 fo run --db w.db --base-url "$MOCK_URL" --rate 0 --quiet
! jq -r .customer_id m2.log | grep -q -x w-013 || fail "a withdrawn pending row was sent"
expect_exit 0 fo retry --db w.db --state created,exists --customer w-007 >/dev/null 2>&1
[ "$(q w.db "SELECT state FROM customers WHERE customer_id = 'w-007'")" != pending ] || fail "retry re-queued a withdrawn row"
stop_mock
pass "withdrawn rows are never renewed, reauthenticated, retried or sent (18 renewals of 20)"

# ---- the guard: a truncated export, a header-only file ---------------------------------------------------
before=$(q w.db "SELECT group_concat(customer_id || state || withdrawn || coalesce(session_id, ''), ';') FROM customers")
start_mock --log "$E2E_TMP/m3.log"
run_fo sync one_row.csv --db w.db --out w.csv --base-url "$MOCK_URL" "${opts[@]}"
expect_rc 2 "a CSV of one row"
case "$ERR" in *"the CSV has 1 row; the database has 18 active rows: 17 would be withdrawn, more than --max-withdraw 10% (the default) allows (1): a truncated export?"*) ;;
*) fail "the guard's message: $ERR" ;; esac
run_fo sync header_only.csv --db w.db --out w.csv --base-url "$MOCK_URL" "${opts[@]}" --max-withdraw 50%
expect_rc 2 "a header-only CSV"
case "$ERR" in *"the CSV has 0 rows; the database has 18 active rows: 18 would be withdrawn"*"every row would go"*) ;;
*) fail "the header-only message: $ERR" ;; esac
run_fo sync first_gone.csv --db w.db --out w.csv --base-url "$MOCK_URL" "${opts[@]}" --max-withdraw 0 --dry-run
expect_rc 2 "--max-withdraw 0, dry run"
[ "$(requests m3.log)" = 0 ] || fail "a refused sync sent $(requests m3.log) requests"
expect_eq "the database after refused syncs" "$(q w.db "SELECT group_concat(customer_id || state || withdrawn || coalesce(session_id, ''), ';') FROM customers")" "$before"
run_fo sync one_row.csv --db w.db --out w.csv --base-url "$MOCK_URL" "${opts[@]}" --max-withdraw x
expect_rc 2 "--max-withdraw x"
case "$ERR" in *"option '--max-withdraw': 'x' is neither a number of rows (50) nor a share (10%)"*) ;; *) fail "$ERR" ;; esac
pass "the guard refuses a truncated or header-only CSV before anything is sent (exit 2, counts named, nothing changed)"

run_fo sync one_row.csv --db w.db --out w.csv --base-url "$MOCK_URL" "${opts[@]}" --keep-missing
expect_rc 0 "--keep-missing"
[ "$(q w.db "SELECT count(*) FROM customers WHERE withdrawn = 1")" = 2 ] || fail "--keep-missing withdrew rows"
run_fo sync header_only.csv --db w.db --out w.csv --base-url "$MOCK_URL" "${opts[@]}" --max-withdraw 100%
expect_rc 0 "a header-only CSV with --max-withdraw 100%"
[ "$(q w.db "SELECT count(*) FROM customers WHERE withdrawn = 0")" = 0 ] || fail "100% did not withdraw every row"
[ "$(requests m3.log)" = 0 ] || fail "sent $(requests m3.log)"
pass "--keep-missing withdraws nothing; --max-withdraw 100% lets a header-only file withdraw every row"

# ---- they come back as they were -----------------------------------------------------------------------
run_fo sync all.csv --db w.db --out w.csv --base-url "$MOCK_URL" "${opts[@]}"
expect_rc 0 "every row back"
grep -q "20 back" out.txt || fail "the summary does not count the rows back: $OUT"
[ "$(requests m3.log)" = 0 ] || fail "rows coming back were sent: $(requests m3.log)"
[ "$(q w.db "SELECT state || ' ' || coalesce(session_id, connection_id) FROM customers WHERE customer_id = 'w-007'")" = "$link7" ] ||
	fail "w-007 did not come back with its link"
[ "$(fo status --db w.db --json | jq .withdrawn)" = 0 ] || fail "rows still withdrawn"
stop_mock
pass "a later CSV brings the rows back with their state and link, and sends nothing"

# ---- import: only with --withdraw-missing ------------------------------------------------------------------
run_fo import one_gone.csv --db w.db
expect_rc 0 "import of a file without w-007"
[ "$(q w.db "SELECT count(*) FROM customers WHERE withdrawn = 1")" = 0 ] || fail "import withdrew without being asked"
run_fo import one_gone.csv --db w.db --withdraw-missing
expect_rc 0 "import --withdraw-missing"
[ "$(q w.db "SELECT group_concat(customer_id) FROM customers WHERE withdrawn = 1")" = w-007 ] || fail "import --withdraw-missing"
run_fo import one_row.csv --db w.db --withdraw-missing
expect_rc 2 "import --withdraw-missing of one row"
case "$ERR" in *"a truncated export?"*) ;; *) fail "import's guard: $ERR" ;; esac
pass "import withdraws only with --withdraw-missing, under the same guard"

finish
