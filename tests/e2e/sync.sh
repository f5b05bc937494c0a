#!/usr/bin/env bash
# tests/e2e/sync.sh: the nightly job end to end, against finch-mock.
#
# sync twice (the emulator's log shows zero requests the second time),
# transient failures retried within one sync, the exit codes, the export
# written even when the run stops, --renew-expired with --minutes-to-expire 1
# and an injected clock, --reauthenticate, --dry-run sending nothing and
# changing nothing, the lock; and the man page renders and documents every
# option the commands accept.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

e2e_setup sync
work=$E2E_TMP

e2e_credentials sync

sync_opts=(--rate 0 --quiet)

cat >nightly.csv <<EOF
customer_id,customer_name,customer_email,products
n-001,North One,,company directory
n-002,"North Two, Inc.",,company
n-003,North Three,,company
n-004,North Four,,company
n-005,North Five,,company
n-006,North Six,not-an-email,company
EOF

# ---- sync twice ---------------------------------------------------------------
start_mock --log "$work/m1.log"
expect_exit 1 fo sync nightly.csv --db n.db --out n.csv --base-url "$MOCK_URL" "${sync_opts[@]}"
[ "$(requests m1.log /connect/sessions)" = 5 ] || fail "first sync sent $(requests m1.log) requests, want 5"
[ "$(stat -c %a n.csv)" = 600 ] || fail "the export is not mode 600"
[ "$(sqlite3 :memory: ".import --csv n.csv t" "SELECT group_concat(status) FROM (SELECT status FROM t ORDER BY customer_id)")" = \
	created,created,created,created,created,invalid ] || fail "first export: $(cat n.csv)"
pass "sync imports, creates 5 sessions, reports the invalid row (exit 1) and exports with mode 0600"

stop_mock
start_mock --log "$work/m2.log"
cp n.csv n-first.csv
expect_exit 1 fo sync nightly.csv --db n.db --out n.csv --base-url "$MOCK_URL" "${sync_opts[@]}"
[ "$(requests m2.log)" = 0 ] || fail "second sync sent $(requests m2.log) requests, want 0"
cmp -s n.csv n-first.csv || fail "the second export differs from the first"
pass "a second sync in a row sends no request and exports the same file"

# All valid: exit 0. A new row is sent, the others are left alone.
grep -v n-006 nightly.csv >valid.csv
echo "n-007,North Seven,,company" >>valid.csv
expect_exit 0 fo sync valid.csv --db v.db --out v.csv --base-url "$MOCK_URL" "${sync_opts[@]}"
before=$(requests m2.log)
expect_exit 0 fo sync valid.csv --db v.db --out v.csv --base-url "$MOCK_URL" "${sync_opts[@]}"
[ "$(requests m2.log)" = "$before" ] || fail "an unchanged file was sent again"
echo "n-008,North Eight,,company" >>valid.csv
expect_exit 0 fo sync valid.csv --db v.db --out v.csv --base-url "$MOCK_URL" "${sync_opts[@]}"
[ "$(($(requests m2.log) - before))" = 1 ] || fail "one new row should be one request"
[ "$(jq -r 'select(.path == "/connect/sessions") | .customer_id' m2.log | tail -n 1)" = n-008 ] ||
	fail "the new row was not the one sent"
pass "exit 0 when every row is done; only new rows are sent"
stop_mock

# ---- transient failures are retried inside one sync -----------------------------
# One 503 each: two each would be 14 in a row, a window the breaker opens on (unreachable.sh).
start_mock --fail-first 1 --log "$work/m3.log"
expect_exit 0 fo sync valid.csv --db t.db --out t.csv --base-url "$MOCK_URL" "${sync_opts[@]}"
[ "$(q t.db "SELECT count(*) FROM customers WHERE state = 'created' AND attempt_total = 2")" = 7 ] ||
	fail "rows did not end created after a transient failure: $(q t.db 'SELECT customer_id, state, attempt_total FROM customers')"
pass "transient failures are retried within one sync"
stop_mock

# ---- --renew-expired with an injected clock --------------------------------------
start_mock --log "$work/m4.log"
expect_exit 0 fo sync valid.csv --db r.db --out r.csv --minutes-to-expire 1 --base-url "$MOCK_URL" \
	"${sync_opts[@]}"
[ "$(requests m4.log)" = 7 ] || fail "renewal setup sent $(requests m4.log) requests"
old_sessions=$(q r.db "SELECT group_concat(session_id) FROM customers ORDER BY id")
t0=$(date +%s)
# Two minutes later the links have expired; without --renew-expired nothing is sent.
FINCH_ONBOARD_NOW=$((t0 + 120)) expect_exit 0 fo sync valid.csv --db r.db --out r.csv \
	--minutes-to-expire 1 --base-url "$MOCK_URL" "${sync_opts[@]}"
[ "$(requests m4.log)" = 7 ] || fail "expired links were renewed without --renew-expired"
stop_mock
# One employer connected in the meantime: its renewal answers connection_already_exists.
echo "n-003,conn-n-003" >existing.txt
start_mock --existing "$work/existing.txt" --log "$work/m5.log"
FINCH_ONBOARD_NOW=$((t0 + 120)) expect_exit 0 fo sync valid.csv --db r.db --out r.csv \
	--minutes-to-expire 1 --renew-expired --base-url "$MOCK_URL" "${sync_opts[@]}"
[ "$(requests m5.log /connect/sessions)" = 7 ] || fail "--renew-expired sent $(requests m5.log) requests, want 7"
[ "$(q r.db "SELECT count(*) FROM customers WHERE state = 'created'")" = 6 ] || fail "renewed rows are not created"
[ "$(q r.db "SELECT state || ' ' || connection_id FROM customers WHERE customer_id = 'n-003'")" = "exists conn-n-003" ] ||
	fail "the connected employer is not 'exists' with its connection_id"
new_sessions=$(q r.db "SELECT group_concat(session_id) FROM customers WHERE state = 'created' ORDER BY id")
for s in ${new_sessions//,/ }; do
	case ",$old_sessions," in *",$s,"*) fail "session $s was not renewed" ;; esac
done
[ "$(q r.db "SELECT count(*) FROM customers WHERE state = 'created' AND expires_at > ($t0 + 120) * 1000")" = 6 ] ||
	fail "renewed links do not expire after the injected now"
pass "--renew-expired sends expired links again: new sessions, or exists for a connected employer"

# The renewed links are fresh: one more sync at the same instant sends nothing.
FINCH_ONBOARD_NOW=$((t0 + 125)) expect_exit 0 fo sync valid.csv --db r.db --out r.csv \
	--minutes-to-expire 1 --renew-expired --base-url "$MOCK_URL" "${sync_opts[@]}"
[ "$(requests m5.log)" = 7 ] || fail "fresh links were renewed again"
pass "links that have not expired are left alone"
stop_mock

# ---- --reauthenticate=all --------------------------------------------------------
printf 'n-002,conn-n-002\nn-005,conn-n-005\n' >existing2.txt
start_mock --existing "$work/existing2.txt" --log "$work/m6.log"
expect_exit 0 fo sync valid.csv --db a.db --out a.csv --base-url "$MOCK_URL" "${sync_opts[@]}"
[ "$(q a.db "SELECT group_concat(customer_id || '=' || connection_id) FROM customers WHERE state = 'exists' ORDER BY id")" = \
	"n-002=conn-n-002,n-005=conn-n-005" ] || fail "setup: no exists rows"
before=$(requests m6.log)
expect_exit 0 fo sync valid.csv --db a.db --out a.csv --reauthenticate=all --base-url "$MOCK_URL" "${sync_opts[@]}"
[ "$(requests m6.log)" = $((before + 2)) ] || fail "--reauthenticate sent $(($(requests m6.log) - before)) requests, want 2"
[ "$(jq -r 'select(.path == "/connect/sessions/reauthenticate") | .connection_id' m6.log | sort | paste -sd,)" = \
	conn-n-002,conn-n-005 ] || fail "reauthenticate requests did not carry the connection_ids: $(tail -n 2 m6.log)"
[ "$(q a.db "SELECT count(*) FROM customers WHERE customer_id IN ('n-002', 'n-005')
	AND session_id IS NOT NULL AND connect_url IS NOT NULL AND connection_id IS NOT NULL")" = 2 ] ||
	fail "reauthenticated rows must keep connection_id and gain a session"
[ "$(jq -r 'select(.customer_id == "n-005") | [.connection_id, (.connect_url | length > 0)] | @tsv' \
	<(fo export --db a.db --format jsonl))" = $'conn-n-005\ttrue' ] || fail "the export lacks the new link"
pass "--reauthenticate=all sends exists rows to /connect/sessions/reauthenticate with their connection_id"
stop_mock

# ---- --dry-run sends nothing and changes nothing ---------------------------------
start_mock --log "$work/m7.log"
cp valid.csv dry.csv
echo "n-009,North Nine,,company" >>dry.csv
sum_before=$(q v.db "SELECT group_concat(customer_id || state || ifnull(session_id, '')) FROM customers")
cp v.csv v-before.csv
expect_exit 0 fo sync dry.csv --db v.db --out v.csv --dry-run --renew-expired --base-url "$MOCK_URL" --rate 0
[ "$(requests m7.log)" = 0 ] || fail "--dry-run sent $(requests m7.log) requests"
cat out.txt err.txt >dry.txt
grep -q "n-009" dry.txt || fail "--dry-run does not show the request it would send: $(cat dry.txt)"
grep -q "n-001" dry.txt && fail "--dry-run shows a row that is done"
grep -qF -- "$FINCH_CLIENT_SECRET" dry.txt && fail "--dry-run printed the secret"
[ "$(q v.db "SELECT group_concat(customer_id || state || ifnull(session_id, '')) FROM customers")" = "$sum_before" ] ||
	fail "--dry-run changed the database"
cmp -s v.csv v-before.csv || fail "--dry-run rewrote the export"
pass "sync --dry-run shows the new row's request, sends nothing, changes nothing"
stop_mock

# ---- stops: the export is still written, with the run's exit code ----------------
FINCH_CLIENT_SECRET=wrong-secret start_mock --log "$work/m8.log"
echo "n-010,North Ten,,company" >>valid.csv
rm -f v.csv
expect_exit 3 fo sync valid.csv --db v.db --out v.csv --base-url "$MOCK_URL" "${sync_opts[@]}"
[ -f v.csv ] || fail "no export after a 401"
[ "$(q v.db "SELECT state FROM customers WHERE customer_id = 'n-010'")" = pending ] ||
	fail "a 401 must leave the row pending"
pass "a rejected secret exits 3, and the export is still written"
stop_mock

# A signal mid-run: the answers in flight are recorded, the export is
# written, and the exit code says interrupted.
start_mock --latency 1s --log "$work/m9.log"
{
	echo "customer_id,customer_name,products"
	for i in 1 2 3 4 5 6; do echo "i-$i,Interrupted $i,company"; done
} >int.csv
"$FINCH_ONBOARD" sync int.csv --db i.db --out i.csv --concurrency 2 --grace 5 --base-url "$MOCK_URL" \
	"${sync_opts[@]}" >out.txt 2>err.txt &
sync_pid=$!
in_flight() { [ "$(q i.db "SELECT count(*) FROM customers WHERE state = 'in_flight'" 2>/dev/null)" = 2 ]; }
poll_until 10 in_flight || fail "the sync never had 2 requests in flight"
kill -TERM "$sync_pid"
rc=0
wait "$sync_pid" || rc=$?
[ "$rc" = 5 ] || fail "an interrupted sync exited $rc, want 5: $(cat err.txt)"
[ -f i.csv ] || fail "no export after an interruption"
[ "$(sqlite3 :memory: ".import --csv i.csv t" "SELECT count(*) FROM t WHERE status = 'created'")" = 2 ] ||
	fail "the export does not show the 2 answers received during the grace period: $(cat i.csv)"
[ "$(sqlite3 :memory: ".import --csv i.csv t" "SELECT count(*) FROM t WHERE status = 'pending'")" = 4 ] ||
	fail "the rows never sent are not pending in the export"
pass "SIGTERM mid-run: answers in flight recorded, export written, exit 5"
stop_mock

# ---- usage and input errors --------------------------------------------------------
expect_exit 2 fo sync valid.csv --db v.db
grep -q -- "--out" err.txt || fail "missing --out not named: $(cat err.txt)"
expect_exit 2 fo sync --db v.db --out v.csv
expect_exit 2 fo sync no-such.csv --db v.db --out v.csv --base-url http://127.0.0.1:9
printf 'customer_id,customer_name,products\n"unterminated,x,company\n' >broken.csv
rm -f b.csv
expect_exit 2 fo sync broken.csv --db b.db --out b.csv --base-url http://127.0.0.1:9 "${sync_opts[@]}"
[ ! -e b.csv ] || fail "an unreadable CSV still produced an export"
expect_exit 2 fo sync valid.csv --db v.db --out v.csv --bogus
grep -q -- "--bogus" err.txt || fail "unknown option not named"
expect_exit 0 fo sync --help
for opt in --out --renew-expired --reauthenticate --dry-run --rate --format; do
	grep -q -- "$opt" out.txt || fail "sync --help does not mention $opt"
done
flock v.db "$FINCH_ONBOARD" sync valid.csv --db v.db --out v.csv --base-url http://127.0.0.1:9 \
	>out.txt 2>err.txt && rc=0 || rc=$?
[ "$rc" = 4 ] || fail "sync on a locked database exited $rc, want 4"
pass "usage errors exit 2, an unreadable CSV exports nothing, a locked database exits 4"

# ---- the secret stays out --------------------------------------------------------
! grep -rqF -- "$FINCH_CLIENT_SECRET" ./*.csv ./*.db ./*.log || fail "the secret leaked"
pass "the client secret is in no export, database or log"

# ---- the man page ----------------------------------------------------------------
man_page=$FINCH_SOURCE_DIR/src/finch-onboard.1
MANWIDTH=80 MANPAGER=cat PAGER=cat man -l "$man_page" >man.txt 2>man.err || fail "man -l failed: $(cat man.err)"
[ ! -s man.err ] || fail "man reported problems: $(cat man.err)"
for word in NAME SYNOPSIS "EXIT STATUS" ENVIRONMENT FILES EXAMPLES FINCH_CLIENT_SECRET FINCH_ONBOARD_NOW; do
	grep -q "$word" man.txt || fail "the man page lacks $word"
done
pass "the man page renders with man -l"
# Every option of every command's --help is documented.
for cmd in import run status export retry sync; do
	fo "$cmd" --help >help.txt 2>&1 || fail "$cmd --help failed"
	for opt in $(grep -o -- '--[a-z][a-z-]*' help.txt | sort -u); do
		[ "$opt" = --help ] && continue
		grep -q -- "$opt" man.txt || fail "the man page does not document '$cmd $opt'"
	done
done
pass "the man page documents every option that --help lists"

finish
