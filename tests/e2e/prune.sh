#!/usr/bin/env bash
# tests/e2e/prune.sh: retention (issue 16). Several nights on the test clock
# (a row failing on 503s and given up, four created rows renewed twice, one
# connected row), then `prune --older-than` and `sync --keep-history` on
# copies of the database: exactly the attempts and runs nobody needs are
# gone; every row's latest attempt, the attempts holding the session or
# connection a row shows and the runs they reference stay; status and the
# export are what they were; the metrics' counters do not go down; the
# database passes integrity_check and foreign_key_check.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

e2e_setup prune
t0=$(date +%s)
day=86400
# links live 2 days: renewed on day 4 and day 7
{
	echo "customer_id,customer_name,products,minutes_to_expire"
	echo "f1,Failing,company,2880"
	for i in 1 2 3 4; do echo "c$i,Created $i,company,2880"; done
	echo "e1,Connected,company,2880"
} >all.csv
head -2 all.csv >f1.csv
printf 'e1,conn-e1\n' >existing.txt
night() { # DAY DB [ARGS...]: a sync of all.csv on day DAY
	local d=$1 db=$2
	shift 2
	FINCH_ONBOARD_NOW=$((t0 + d * day)) run_fo sync all.csv --db "$db" --out "${db%.db}.csv" \
		--base-url "$MOCK_URL" --rate 0 --quiet --max-attempts 1 --give-up-after 1h "$@"
}
attempts_left() { q "$1" "SELECT c.customer_id || ':' || a.attempt_no FROM attempts a
	JOIN customers c ON c.id = a.customer ORDER BY 1" | paste -sd' '; }
runs_left() { q "$1" "SELECT id FROM runs ORDER BY id" | paste -sd' '; }
db_ok() { # DB: integrity_check and foreign_key_check
	expect_eq "$1 integrity_check" "$(q "$1" 'PRAGMA integrity_check')" ok
	expect_eq "$1 foreign_key_check" "$(q "$1" 'PRAGMA foreign_key_check')" ""
}

# day 0: f1 alone, every request a 503: failed on a transient error
start_mock --error-rate 1 --error-status 503
FINCH_ONBOARD_NOW=$t0 run_fo sync f1.csv --db o.db --out o.csv --base-url "$MOCK_URL" --rate 0 \
	--quiet --max-attempts 1
expect_rc 8 "day 0 (503s)"
stop_mock

start_mock --existing existing.txt --log "$E2E_TMP/m.log"
night 1 o.db # f1 given up (1h), c1..c4 created, e1 exists
expect_rc 1 "day 1"
night 4 o.db --renew-expired --keep-history forever
expect_rc 1 "day 4"
night 7 o.db --renew-expired # the default window, 90d: nothing is old enough
expect_rc 1 "day 7"
expect_eq "requests" "$(requests m.log)" 13
expect_eq "attempts before" "$(attempts_left o.db)" \
	"c1:1 c1:2 c1:3 c2:1 c2:2 c2:3 c3:1 c3:2 c3:3 c4:1 c4:2 c4:3 e1:1 f1:1"
expect_eq "runs before" "$(runs_left o.db)" "1 2 3 4"
for db in p s k; do cp o.db $db.db; done
# two verified webhook deliveries: day -1, and day 3 (older than 2d, but within the 7 days kept)
q p.db "INSERT INTO webhook_events(event_id, received_at, event_type) VALUES
	('msg_old', $(((t0 - day) * 1000)), 'account.updated'),
	('msg_recent', $(((t0 + 3 * day) * 1000)), 'account.updated')"
pass "four nights: 14 attempts in 4 runs, none pruned by --keep-history forever or the 90d default"

# ---- prune --older-than 2d on day 8 -----------------------------------------------------------------
export FINCH_ONBOARD_NOW=$((t0 + 8 * day))
run_fo status --db p.db --json
status_before=$OUT
run_fo export --db p.db --out p-before.csv --no-bom
expect_rc 0 "export before"

run_fo prune --db p.db --older-than 2d --dry-run
expect_rc 0 "prune --dry-run"
grep -q "^dry run: prune would delete 4 attempts and 1 run older than 2d " out.txt ||
	fail "prune --dry-run says: $OUT"
expect_eq "attempts after the dry run" "$(q p.db 'SELECT count(*) FROM attempts')" 14

run_fo prune --db p.db --older-than 2d --log-format json
expect_rc 0 "prune"
grep -q "^pruned: deleted 4 attempts and 1 run older than 2d (started before " out.txt ||
	fail "prune says: $OUT"
expect_eq "the pruned event" \
	"$(jq -r 'select(.event == "pruned") | "\(.level) \(.attempts) \(.runs) \(.imports) \(.webhook_events) \(.older_than) \(.dry_run)"' err.txt)" \
	"info 4 1 1 1 2d 0"
# f1's only attempt is its latest; e1's holds the connection it shows; c*:3 hold the sessions
# the rows show; c*:1 and c*:2 made sessions since replaced. Run 3 (day 4) had only those.
expect_eq "attempts after prune" "$(attempts_left p.db)" "c1:1 c1:3 c2:1 c2:3 c3:1 c3:3 c4:1 c4:3 e1:1 f1:1"
expect_eq "runs after prune" "$(runs_left p.db)" "1 2 4"
# imports 1 (day 0) and 2 (day 1) are rows' first_import, 4 (day 7) the latest and every row's last
expect_eq "imports after prune" "$(q p.db 'SELECT id FROM imports ORDER BY id' | paste -sd' ')" "1 2 4"
expect_eq "webhook deliveries after prune" "$(q p.db 'SELECT event_id FROM webhook_events')" msg_recent
grep -q ", 1 import and 1 webhook delivery$" out.txt || fail "prune says: $OUT"
expect_eq "sessions kept" "$(q p.db "SELECT count(*) FROM customers c JOIN attempts a
	ON a.customer = c.id AND a.session_id = c.session_id")" 4
db_ok p.db
pass "prune --older-than 2d deletes exactly the attempts and runs nobody needs"

run_fo status --db p.db --json
expect_eq "status --json after prune" "$OUT" "$status_before"
run_fo export --db p.db --out p-after.csv --no-bom
cmp -s p-before.csv p-after.csv || fail "the export changed: $(diff p-before.csv p-after.csv)"
expect_eq "links in the export" "$(sqlite3 -batch -noheader :memory: ".import --csv p-after.csv t" \
	"SELECT customer_id || ' ' || status || ' ' || (connect_url != '' OR connection_id != '')
	 FROM t ORDER BY 1" | paste -sd,)" \
	"c1 created 1,c2 created 1,c3 created 1,c4 created 1,e1 exists 1,f1 failed 0"
run_fo prune --db p.db --older-than 2d
case $OUT in
"pruned: deleted 0 attempts and 0 runs older than 2d (started before $(date -u -d @$((t0 + 6 * day)) +%Y-%m-%d)T"*) ;;
*) fail "a second prune says: $OUT" ;;
esac
pass "status and the export show every row, its session or connection and its link as before"

# ---- sync --keep-history 2d on day 8: the same, and the metrics' counters go on -----------------------
night 8 s.db --renew-expired --keep-history 2d --metrics-file s.prom --metrics-job job
expect_rc 1 "sync --keep-history 2d"
night 8 k.db --renew-expired --keep-history forever --metrics-file k.prom --metrics-job job
expect_rc 1 "sync --keep-history forever"
expect_eq "requests on day 8" "$(requests m.log)" 13
expect_eq "attempts after sync --keep-history" "$(attempts_left s.db)" "c1:1 c1:3 c2:1 c2:3 c3:1 c3:3 c4:1 c4:3 e1:1 f1:1"
expect_eq "runs after sync --keep-history" "$(runs_left s.db)" "1 2 4 5"
expect_eq "attempts kept forever" "$(q k.db 'SELECT count(*) FROM attempts')" 14
db_ok s.db
counters() { grep -E '^finch_onboard_(requests|throttled_requests|pauses|runs)_total' "$1"; }
[ -n "$(counters k.prom)" ] || fail "no counters in k.prom: $(cat k.prom)"
expect_eq "counters after pruning" "$(counters s.prom)" "$(counters k.prom)"
FINCH_ONBOARD_NOW=$((t0 + 8 * day)) run_fo sync all.csv --db s.db --out s.csv --base-url "$MOCK_URL" \
	--rate 0 --keep-history 2d --max-attempts 1 --give-up-after 1h
expect_rc 1 "a sync with nothing to prune"
grep -q "pruned" out.txt && fail "a sync that pruned nothing says so: $OUT"
pass "sync --keep-history 2d prunes the same after its run; the metrics' counters do not go down"

# ---- the options ------------------------------------------------------------------------------------
run_fo prune --db p.db --older-than 7
expect_rc 2 "--older-than 7"
expect_eq "--older-than 7" "$ERR" "finch-onboard: error: option '--older-than': 7 what? say 90d, 36h or 30m"
run_fo prune --db p.db --older-than 0
expect_rc 2 "--older-than 0"
run_fo prune --db p.db
expect_rc 2 "no --older-than"
run_fo prune --db missing.db --older-than 1d
expect_rc 2 "a missing database"
[ -e missing.db ] && fail "prune created missing.db"
run_fo sync all.csv --db s.db --out s.csv --keep-history 30
expect_rc 2 "--keep-history 30"
expect_eq "--keep-history 30" "$ERR" "finch-onboard: error: option '--keep-history': 30 what? say 90d, 36h or forever"
printf '[sync]\nkeep_history = 2d\n[prune]\nolder_than = 36h\n' >job.conf
run_fo config --config job.conf sync all.csv --out x.csv
grep -q "^file:job.conf:2	keep_history=2d$" out.txt || fail "config sync: $OUT"
run_fo config --config job.conf prune
grep -q "^file:job.conf:4	older_than=36h$" out.txt || fail "config prune: $OUT"
pass "durations need their unit; 0 or forever keeps everything for --keep-history only; the config file sets both"

finish
