#!/usr/bin/env bash
# tests/reliability/signals.sh: SIGINT, SIGTERM and SIGHUP in every phase.
#
# 1. Two SIGTERMs 5 ms apart (coreutils timeout signals the child and its
#    group) are one request: the run stops sending, waits for the answers in
#    flight within --grace and records them (none cut short), exit 5.
# 2. SIGINT during a large import: exit 5, the database exactly as before.
# 3. SIGTERM during a sync's import: exit 5, nothing sent, the export of
#    where things stand written all the same.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_setup signals

# ---- 1. two SIGTERMs 5 ms apart: the grace is honoured ----------------------------------
start_mock --latency 1500ms --log "$E2E_TMP/m1.log"
new_db t.db 20 t
bg_run t t.db 4 --grace 30
four_sent() { [ "$(requests m1.log)" -ge 4 ]; }
wait_for "four requests sent" four_sent
kill -TERM "$BG_PID"
sleep 0.005 # the scenario: a second signal 5 ms after the first
bg_signal TERM
[ "$BG_RC" = 5 ] || fail "two SIGTERMs 5 ms apart: exit $BG_RC, want 5: $(cat t.err)"
grep -q "stopping now" t.err && fail "two signals 5 ms apart were taken for a second request"
[ "$(q t.db "SELECT count(*) FROM attempts WHERE transport_error LIKE 'cut short%'")" = 0 ] ||
	fail "answers in flight were cut short: the grace was not honoured"
[ "$(requests m1.log)" = 4 ] || fail "requests kept going after the signals: $(requests m1.log)"
[ "$(count_state t.db created)" = 4 ] || fail "the four answers in flight were not recorded"
check_invariants t.db m1.log --one-201
stop_mock
pass "two SIGTERMs 5 ms apart are one request: the answers in flight are waited for and recorded, exit 5"

# ---- 1b. SIGHUP (an ssh session that drops) is a stop like SIGTERM ------------------------
# Before, SIGHUP killed the run like kill -9: the 4 rows in flight were sent
# again by the next run (8 POSTs for 4 customers).
start_mock --latency 1500ms --log "$E2E_TMP/m1h.log"
new_db h.db 20 h
bg_run h h.db 4 --grace 30
four_sent_h() { [ "$(requests m1h.log)" -ge 4 ]; }
wait_for "four requests sent" four_sent_h
bg_signal HUP
[ "$BG_RC" = 5 ] || fail "SIGHUP: exit $BG_RC, want 5: $(cat h.err)"
[ "$(count_state h.db created)" = 4 ] || fail "SIGHUP: the four answers in flight were not recorded"
[ "$(count_state h.db in_flight)" = 0 ] || fail "SIGHUP: rows left in_flight"
expect_exit 0 fo run --db h.db --base-url "$MOCK_URL" --rate 0 --quiet
[ "$(requests m1h.log)" = 20 ] || fail "SIGHUP: $(requests m1h.log) POSTs for 20 customers"
check_invariants h.db m1h.log --one-201
stop_mock
pass "SIGHUP is a stop like SIGTERM: the answers in flight are recorded, exit 5, nothing sent twice"

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
