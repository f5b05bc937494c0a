#!/usr/bin/env bash
# tests/reliability/signals.sh: SIGINT, SIGTERM and SIGHUP in every phase.
#
# 1. Two SIGTERMs 5 ms apart (coreutils timeout signals the child and its
#    group) are one request: the run stops sending, waits for the answers in
#    flight within --grace and records them (none cut short), exit 5.
# 1c. A second signal over a second after the first cuts the 4 requests in
#    flight short: their attempts and rows say "outcome unknown" (as a
#    kill -9's do), status and the export count and show them; they wait 6
#    minutes (Finch may still create their sessions): a run at once sends
#    only the others, and one 7 minutes on names each one it sends again.
# 2. SIGINT during a large import: exit 5, the database exactly as before.
# 3. SIGTERM during a sync's import: exit 5, nothing sent, the export of
#    where things stand written all the same.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_setup signals

# four_out NAME LATENCY: finch-mock answering after LATENCY (its log
# m-NAME.log), and a run in the background (bg_run NAME) of 20 rows NAME-1..20
# in NAME.db at concurrency 4; returns once its four requests are out.
_sent_at_least() { [ "$(requests "$1")" -ge "$2" ]; }
four_out() {
	start_mock --latency "$2" --log "$E2E_TMP/m-$1.log"
	new_db "$1.db" 20 "$1"
	bg_run "$1" "$1.db" 4 --grace 30
	wait_for "four requests sent" _sent_at_least "m-$1.log" 4
}

# ---- 1. two SIGTERMs 5 ms apart: the grace is honoured ----------------------------------
four_out t 1500ms
kill -TERM "$BG_PID"
sleep 0.005 # the scenario: a second signal 5 ms after the first
bg_signal TERM
[ "$BG_RC" = 5 ] || fail "two SIGTERMs 5 ms apart: exit $BG_RC, want 5: $(cat t.err)"
grep -q "stopping now" t.err && fail "two signals 5 ms apart were taken for a second request"
[ "$(q t.db "SELECT count(*) FROM attempts WHERE transport_error IN ('cut short', 'outcome unknown')")" = 0 ] ||
	fail "answers in flight were cut short: the grace was not honoured"
[ "$(requests m-t.log)" = 4 ] || fail "requests kept going after the signals: $(requests m-t.log)"
[ "$(count_state t.db created)" = 4 ] || fail "the four answers in flight were not recorded"
check_invariants t.db m-t.log --one-201
stop_mock
pass "two SIGTERMs 5 ms apart are one request: the answers in flight are waited for and recorded, exit 5"

# ---- 1b. SIGHUP (an ssh session that drops) is a stop like SIGTERM ------------------------
# Before, SIGHUP killed the run like kill -9: the 4 rows in flight were sent
# again by the next run (8 POSTs for 4 customers).
four_out h 1500ms
bg_signal HUP
[ "$BG_RC" = 5 ] || fail "SIGHUP: exit $BG_RC, want 5: $(cat h.err)"
[ "$(count_state h.db created)" = 4 ] || fail "SIGHUP: the four answers in flight were not recorded"
[ "$(count_state h.db in_flight)" = 0 ] || fail "SIGHUP: rows left in_flight"
expect_exit 0 fo run --db h.db --base-url "$MOCK_URL" --rate 0 --quiet
[ "$(requests m-h.log)" = 20 ] || fail "SIGHUP: $(requests m-h.log) POSTs for 20 customers"
check_invariants h.db m-h.log --one-201
stop_mock
pass "SIGHUP is a stop like SIGTERM: the answers in flight are recorded, exit 5, nothing sent twice"

# ---- 1c. a second signal cuts short: outcome unknown, counted, named when re-sent --------
# Before, the 4 attempts said "cut short", the rows were plain pending rows,
# and the next run re-sent them with nothing in status, the export or the log
# saying that Finch may already have their sessions.
four_out u 5s
kill -TERM "$BG_PID"
u_draining() { grep -q "signal received" u.err; }
wait_for "the first signal to be taken" u_draining
sleep 1.1 # the scenario itself, not a wait: a signal within a second of the first is the same request
bg_signal TERM
[ "$BG_RC" = 5 ] || fail "a second signal: exit $BG_RC, want 5: $(cat u.err)"
stop_mock
unknown_rows() {
	q u.db "SELECT c.customer_id FROM attempts a JOIN customers c ON c.id = a.customer
		WHERE a.transport_error = 'outcome unknown' ORDER BY 1"
}
[ "$(unknown_rows | wc -l)" = 4 ] ||
	fail "cut short: $(unknown_rows | wc -l) attempts of unknown outcome, want 4: $(q u.db \
		"SELECT transport_error, message FROM attempts")"
[ "$(q u.db "SELECT count(*) FROM attempts WHERE message LIKE '%interrupted%Finch may have created a session'")" = 4 ] ||
	fail "cut short: the attempts' message: $(q u.db "SELECT message FROM attempts LIMIT 1")"
[ "$(q u.db "SELECT count(*) FROM customers WHERE state = 'pending' AND attempts = 0")" = 16 ] &&
	[ "$(q u.db "SELECT count(*) FROM customers WHERE state = 'retry_wait' AND attempts = 0
		AND next_attempt_at >= updated_at + 350000")" = 4 ] ||
	fail "cut short: the 4 do not wait 6 minutes with their budget, or the others are not pending"
grep -q "cut short with their outcome unknown" u.err || fail "cut short: the log does not say so: $(cat u.err)"
expect_exit 0 fo status --db u.db --json
[ "$(jq .outcome_unknown out.txt)" = 4 ] || fail "status --json outcome_unknown: $(jq .outcome_unknown out.txt)"
expect_exit 0 fo status --db u.db
grep -q "^outcome unknown: 4 rows" out.txt || fail "status does not count them: $(cat out.txt)"
expect_exit 0 fo export --db u.db --out u.csv
[ "$(csv_col u.csv error | grep -c "^outcome unknown: ")" = 4 ] ||
	fail "the export's error column does not show them: $(csv_col u.csv error | sort | uniq -c)"
# A run at once sends the others, not them: Finch may still create their sessions.
start_mock --log "$E2E_TMP/m1c2.log"
expect_exit 1 fo run --db u.db --base-url "$MOCK_URL" --rate 0 --log-format json
[ "$(requests m1c2.log)" = 16 ] || fail "a run at once sent $(requests m1c2.log) requests, want the 16 others"
# The next run, 7 minutes on, sends each again, and names it.
FINCH_ONBOARD_NOW=$(($(date +%s) + 420)) expect_exit 0 fo run --db u.db --base-url "$MOCK_URL" \
	--rate 0 --log-format json
jq -r 'select(.event == "resend_unknown") | .customer_id' err.txt | sort >resent.txt
unknown_rows | sort >unknown.txt
cmp -s resent.txt unknown.txt || fail "the next run does not name the rows it sends again:
$(diff resent.txt unknown.txt)"
[ "$(jq -r 'select(.event == "run_end") | .resent_unknown' err.txt)" = 4 ] ||
	fail "run_end's resent_unknown: $(jq -r 'select(.event == "run_end") | .resent_unknown' err.txt)"
[ "$(requests m1c2.log)" = 20 ] || fail "the next run sent $(requests m1c2.log) requests for 20 rows"
[ "$(count_state u.db created)" = 20 ] || fail "the next run did not create every row"
expect_exit 0 fo status --db u.db --json
[ "$(jq .outcome_unknown out.txt)" = 0 ] || fail "answered rows still counted as outcome unknown"
stop_mock
pass "a second signal: 4 requests cut short as outcome unknown, counted by status and the export, named when the next run sends them again"

# ---- 2. SIGINT during a large import ---------------------------------------------------------
"$FINCH_SOURCE_DIR/samples/gen_customers" 300 >small.csv || fail "gen_customers failed"
"$FINCH_SOURCE_DIR/samples/gen_customers" 400000 >big.csv || fail "gen_customers failed"
expect_exit 0 fo import small.csv --db i.db --quiet
snapshot() { q i.db "SELECT * FROM customers ORDER BY id; SELECT * FROM imports ORDER BY id" | sha256sum; }
before=$(snapshot)
bg_fo i import big.csv --db i.db --quiet
journal() { [ -s i.db-journal ] || ! kill -0 "$BG_PID" 2>/dev/null; }
wait_for "the import's rollback journal" journal
bg_signal INT
[ "$BG_RC" = 5 ] || fail "SIGINT during an import: exit $BG_RC, want 5: $(cat i.err)"
grep -q "interrupted at line [0-9]*: nothing was imported" i.err || fail "no message: $(cat i.err)"
[ "$(snapshot)" = "$before" ] || fail "the database changed after an interrupted import"
[ "$(q i.db 'PRAGMA integrity_check')" = ok ] || fail "integrity_check after an interrupted import"
[ "$(q i.db 'PRAGMA journal_mode')" = wal ] || fail "an interrupted import left the rollback journal mode"
pass "SIGINT during a large import: exit 5, the database exactly as before"

# ---- 3. SIGTERM during a sync's import phase ---------------------------------------------------
start_mock --log "$E2E_TMP/m3.log"
bg_fo s sync big.csv --db i.db --out s.csv --base-url "$MOCK_URL" --rate 0 --quiet
wait_for "the sync's import" journal
bg_signal TERM
[ "$BG_RC" = 5 ] || fail "SIGTERM during a sync's import: exit $BG_RC, want 5: $(cat s.err)"
[ "$(requests m3.log)" = 0 ] || fail "a sync interrupted in its import sent requests"
[ "$(snapshot)" = "$before" ] || fail "the database changed after an interrupted sync import"
[ -s s.csv ] || fail "an interrupted sync wrote no export"
[ "$(($(wc -l <s.csv) - 1))" = 300 ] || fail "the export does not show where things stand: $(wc -l <s.csv) lines"
stop_mock
pass "SIGTERM during a sync's import: exit 5, nothing sent, the export of where things stand written"
finish
