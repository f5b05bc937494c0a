#!/usr/bin/env bash
# tests/e2e/changed.sh: a row that has a link keeps it unless asked (issue
# 16). Changing the --products default or one company's name keeps every
# created and exists row's state and link, marks it changed with what
# changed (status counts them, the export shows the mark), and sends
# nothing; reordering products is no change. Rows without a link take a
# change as before. sync --resend-changed, run --resend-changed and retry
# --changed send marked rows again: a new session for created rows, a
# reauthentication for exists ones; the new link clears the mark.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

e2e_setup changed

links() { q c.db "SELECT group_concat(customer_id || '=' || state || ':' || coalesce(session_id, '') || ':' ||
	coalesce(connect_url, '') || ':' || coalesce(connection_id, ''), ' ') FROM (SELECT * FROM customers ORDER BY id)"; }
cat >c.csv <<'CSV'
customer_id,customer_name,customer_email
c-001,Acme,hr@acme.example
c-002,Beta,
c-003,Gamma,
c-004,Delta,
c-005,Epsilon,
c-006,Zeta,
CSV
opts=(--rate 0 --quiet)

start_mock --existing-every 3 --log "$E2E_TMP/m1.log"
expect_exit 0 fo sync c.csv --db c.db --out c.out.csv --products company,directory --base-url "$MOCK_URL" "${opts[@]}"
[ "$(requests m1.log)" = 6 ] || fail "first sync sent $(requests m1.log)"
before=$(links)
[ "$(q c.db "SELECT count(*) FROM customers WHERE state = 'exists'")" = 2 ] || fail "want 2 exists rows: $before"
stop_mock

# ---- a --products default changed: every link kept, every row marked -----------------------------
start_mock --existing-every 3 --log "$E2E_TMP/m2.log"
run_fo sync c.csv --db c.db --out c.out.csv --products company,directory,individual --base-url "$MOCK_URL" "${opts[@]}" \
	--metrics-file c.prom
expect_rc 0 "sync with a new --products default"
[ "$(prom_check c.prom | jq '.finch_onboard_rows_changed')" = 6 ] ||
	fail "the changed gauge: $(cat c.prom)"
[ "$(requests m2.log)" = 0 ] || fail "a changed default sent $(requests m2.log) requests"
expect_eq "links after a changed default" "$(links)" "$before"
grep -q "6 changed (their links kept)" out.txt || fail "the summary does not count the changed rows: $OUT"
[ "$(csv_col c.out.csv changed | sort -u)" = products ] || fail "export changed column: $(csv_col c.out.csv changed)"
[ "$(fo export --db c.db --format jsonl | jq -r .changed | sort -u)" = products ] || fail "jsonl changed"
fo status --db c.db >st.txt
grep -q "the CSV changed their fields: 6" st.txt || fail "status: $(cat st.txt)"
[ "$(fo status --db c.db --json | jq .changed)" = 6 ] || fail "status --json changed"
pass "a new --products default: 0 requests, 6 rows keep state and link, marked changed: products (status, export, metrics)"

# ---- reordering products is no change; a fixed name adds to the mark -----------------------------------
run_fo sync c.csv --db c.db --out c.out.csv --products individual,directory,company --base-url "$MOCK_URL" "${opts[@]}"
expect_rc 0 "sync with the products reordered"
grep -q "0 updated" out.txt && ! grep -q "changed (their links kept)" out.txt || fail "reordering is a change: $OUT"
sed 's/^c-002,Beta,/c-002,Beta GmbH,/' c.csv >c2.csv
run_fo sync c2.csv --db c.db --out c.out.csv --products company,directory,individual --base-url "$MOCK_URL" "${opts[@]}"
expect_rc 0 "sync with one name fixed"
[ "$(requests m2.log)" = 0 ] || fail "a fixed name sent $(requests m2.log) requests"
expect_eq "links after a fixed name" "$(links)" "$before"
[ "$(q c.db "SELECT customer_name FROM customers WHERE customer_id = 'c-002'")" = "Beta GmbH" ] || fail "the name was not taken"
[ "$(fo export --db c.db --format jsonl | jq -r 'select(.customer_id == "c-002") | .changed')" = "customer_name,products" ] ||
	fail "c-002's mark: $(fo export --db c.db --format jsonl | jq -c 'select(.customer_id == "c-002")')"
stop_mock
pass "reordering products is no change; fixing a name keeps the link and adds customer_name to the mark"

# ---- a row without a link takes the change as before -------------------------------------------------
printf 'c-007,Eta,not-an-email\n' >>c2.csv
start_mock --log "$E2E_TMP/m3.log"
expect_exit 1 fo sync c2.csv --db c.db --out c.out.csv --products company,directory,individual --base-url "$MOCK_URL" "${opts[@]}"
sed -i 's/^c-007,Eta,not-an-email$/c-007,Eta AG,hr@eta.example/' c2.csv
expect_exit 0 fo sync c2.csv --db c.db --out c.out.csv --products company,directory,individual --base-url "$MOCK_URL" "${opts[@]}"
[ "$(requests m3.log)" = 1 ] && [ "$(jq -r .customer_id m3.log)" = c-007 ] || fail "the fixed invalid row: $(cat m3.log)"
[ "$(q c.db "SELECT state || ' ' || changed_fields FROM customers WHERE customer_id = 'c-007'")" = "created 0" ] ||
	fail "c-007: $(q c.db "SELECT state, changed_fields FROM customers WHERE customer_id = 'c-007'")"
stop_mock
pass "a row without a link (invalid, then fixed with a new name) is sent as before, unmarked"

# ---- retry --changed: one row -------------------------------------------------------------------------
start_mock --existing-every 3 --log "$E2E_TMP/m4.log"
run_fo retry --db c.db --changed --customer c-002
expect_rc 0 "retry --changed --customer c-002"
expect_eq "retry --changed" "$OUT" "re-queued 1 row"
expect_exit 0 fo run --db c.db --base-url "$MOCK_URL" "${opts[@]}"
[ "$(requests m4.log)" = 1 ] || fail "retry --changed sent $(requests m4.log)"
[ "$(q c.db "SELECT changed_fields FROM customers WHERE customer_id = 'c-002'")" = 0 ] || fail "c-002 still marked"
[ "$(fo status --db c.db --json | jq .changed)" = 5 ] || fail "status after retry --changed: $(fo status --db c.db --json | jq .changed)"
stop_mock
pass "retry --changed --customer: one request, its mark cleared by the new link"

# ---- sync --resend-changed: the rest -----------------------------------------------------------------
start_mock --existing-every 3 --log "$E2E_TMP/m5.log"
old_sessions=$(q c.db "SELECT group_concat(session_id) FROM customers WHERE state = 'created'")
run_fo sync c2.csv --db c.db --out c.out.csv --products company,directory,individual --resend-changed \
	--base-url "$MOCK_URL" --rate 0
expect_rc 0 "sync --resend-changed"
[ "$(requests m5.log)" = 5 ] || fail "--resend-changed sent $(requests m5.log) requests, want 5"
[ "$(requests m5.log /connect/sessions/reauthenticate)" = 2 ] || fail "the exists rows were not reauthenticated"
[ "$(fo status --db c.db --json | jq .changed)" = 0 ] || fail "marks left after --resend-changed"
for s in $(q c.db "SELECT session_id FROM customers WHERE state = 'created' AND customer_id IN ('c-001','c-003','c-004')"); do
	case ",$old_sessions," in *",$s,"*) fail "session $s was not replaced" ;; esac
done
[ "$(csv_col c.out.csv changed | grep -c .)" = 0 ] || fail "the export still shows marks"
# and a name changed tonight with --resend-changed is sent at once
sed -i 's/^c-003,Gamma,/c-003,Gamma Ltd,/' c2.csv
run_fo sync c2.csv --db c.db --out c.out.csv --products company,directory,individual --resend-changed \
	--base-url "$MOCK_URL" "${opts[@]}"
[ "$(requests m5.log)" = 6 ] || fail "a change with --resend-changed: $(requests m5.log) requests, want 6"
stop_mock
pass "sync --resend-changed: created rows get new sessions, exists rows a reauthentication, the marks go"

# ---- run --resend-changed ----------------------------------------------------------------------------
sed -i 's/^c-004,Delta,/c-004,Delta SA,/' c2.csv
start_mock --log "$E2E_TMP/m6.log"
expect_exit 0 fo sync c2.csv --db c.db --out c.out.csv --products company,directory,individual --base-url "$MOCK_URL" "${opts[@]}"
[ "$(requests m6.log)" = 0 ] || fail "a plain sync sent a changed row"
expect_exit 0 fo run --db c.db --resend-changed --base-url "$MOCK_URL" "${opts[@]}"
[ "$(requests m6.log)" = 1 ] || fail "run --resend-changed sent $(requests m6.log)"
stop_mock
pass "run --resend-changed sends the rows an earlier sync marked"

finish
