#!/usr/bin/env bash
# tests/reliability/journal.sh: the answers journal is tied to its database
# (issue 15). A real journal is made as in disk_full.sh (a file size limit,
# which SQLite sees as an I/O error, stops a run that then journals the
# answers it holds), then:
# - put beside another database at the same path (the broken one moved
#   aside, a new one imported): refused whole, exit 2, the journal named
#   and kept, nothing sent (before: its lines were skipped, the journal
#   deleted, and 4 customers sent again);
# - replayed, put back (a crash between the replay's commit and the
#   journal's removal), replayed again: nothing recorded twice (before: 12
#   POSTs became 16 attempt rows);
# - replayed into a restored backup, taken before the run began: its run is
#   not there, yet it is applied (before: "FOREIGN KEY constraint failed"
#   every night), and no journaled customer is sent again;
# - `finch-onboard journal` shows it and saves it as CSV, read only.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

e2e_setup rel-journal
unset FINCH_ONBOARD_NOW FINCH_BASE_URL

new_db d.db 600 d
sqlite3 d.db "VACUUM INTO 'backup.db'" # a nightly backup, before the run
start_mock --latency 30ms --log "$E2E_TMP/m.log"
rc=0
# the limit of ulimit -f as it comes (SIGXFSZ's default is death): the program
# ignores SIGXFSZ, so writes past it fail with EFBIG instead of killing the run
(ulimit -f 256; exec "$FINCH_ONBOARD" run --db d.db --base-url "$MOCK_URL" \
	--rate 100 --concurrency 8 --quiet) >run.out 2>run.err || rc=$?
[ "$rc" = 2 ] || fail "run over the size limit exited $rc, want 2: $(cat run.err)"
[ -s d.db-answers ] || fail "no answers journal: $(cat run.err)"
held=$(wc -l <d.db-answers)
jcreated=$(jq -r 'select(.outcome == "created") | .customer_id' d.db-answers | sort)
[ -n "$jcreated" ] || fail "the journal holds no created session: the test is too weak"
dbid=$(sqlite3 d.db "SELECT database_id FROM identity")
[ "$(jq -r .db d.db-answers | sort -u)" = "$dbid" ] || fail "the journal's lines do not carry the database's id $dbid"
[ "$(jq -r .line_id d.db-answers | sort -u | wc -l)" = "$held" ] || fail "line ids are not unique"
cp d.db-answers journal.keep
sqlite3 d.db "VACUUM INTO 'd.db.broken'" # the database as the stopped run left it
pass "a run over the size limit journals $held answers, each with the database's id and its own"

# ---- the journal command: read only, without the lock --------------------
posts=$(requests m.log)
expect_exit 0 fo journal --db d.db
grep -q "^$held answers in '.*d.db-answers'" out.txt || fail "journal --db: $(head -n 3 out.txt)"
expect_exit 0 fo journal d.db-answers --csv
[ "$(head -n 1 out.txt | tr -d "\r")" = "line,outcome,customer_id,http_status,session_id,connect_url,connection_id,request_id,started_at,run_id,database_id,error" ] ||
	fail "journal --csv header: $(head -n 1 out.txt)"
[ "$(($(wc -l <out.txt) - 1))" = "$held" ] || fail "journal --csv: $(wc -l <out.txt) lines for $held answers"
cmp -s d.db-answers journal.keep || fail "the journal command changed the journal"
pass "'journal' shows the $held answers and saves them as CSV, the file untouched"

# ---- another database at the same path: refused, kept ------------------------
rm -f d.db d.db-wal d.db-shm d.db-answers
new_db d.db 600 d
cp journal.keep d.db-answers
expect_exit 2 fo run --db d.db --base-url "$MOCK_URL" --rate 0 --quiet
grep -q "answers journal '.*d.db-answers' cannot be applied to the database '.*d.db': it was written for another database (id [0-9a-f]\{32\}; this one is [0-9a-f]\{32\})" err.txt ||
	fail "the refusal does not name the journal and why: $(cat err.txt)"
grep -q "finch-onboard journal .*d.db-answers --csv" err.txt || fail "the ways out are not said: $(cat err.txt)"
cmp -s d.db-answers journal.keep || fail "the refused journal was changed or removed"
[ "$(requests m.log)" = "$posts" ] || fail "a run with a foreign journal sent $(($(requests m.log) - posts)) requests"
expect_exit 2 fo retry --db d.db
expect_exit 0 fo status --db d.db
grep -q "^answers journal: $held answers .* written for another database (id $dbid): every writer refuses it" out.txt ||
	fail "status does not say the journal is another database's: $(head -n 2 out.txt)"
expect_exit 0 fo status --db d.db --json
[ "$(jq -r .answers_journal.other_database out.txt)" = "$dbid" ] || fail "status --json: $(cat out.txt)"
expect_exit 2 fo sync d.db.csv --db d.db --out x.csv --base-url "$MOCK_URL" --rate 0 --quiet
cmp -s d.db-answers journal.keep || fail "the refused journal was changed or removed"
pass "a journal of another database: exit 2 naming it and the ways out, kept, nothing sent"

# ---- a journal someone else planted or may change: refused, kept -----------------
# (a shared folder: its links would reach the export, e.g. a phishing URL)
rm -f d.db d.db-wal d.db-shm d.db-answers
cp d.db.broken d.db
cp journal.keep d.db-answers
chmod 0666 d.db-answers
expect_exit 2 fo run --db d.db --base-url "$MOCK_URL" --rate 0 --quiet
grep -q "answers journal '.*d.db-answers' cannot be applied to the database '.*d.db': others may write it (mode 0666" err.txt ||
	fail "a journal others may write: $(cat err.txt)"
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	chmod 0600 d.db-answers
	chown nobody d.db-answers
	expect_exit 2 fo import d.db.csv --db d.db --quiet
	grep -q "cannot be applied to the database '.*d.db': it belongs to uid $(id -u nobody), not to this job's user (uid 0)" err.txt ||
		fail "a journal another user owns: $(cat err.txt)"
fi
cmp -s d.db-answers journal.keep || fail "the refused journal was changed or removed"
[ "$(requests m.log)" = "$posts" ] || fail "a run with a planted journal sent $(($(requests m.log) - posts)) requests"
rm -f d.db-answers
pass "a journal another user owns, or others may write: exit 2 naming it, kept, nothing sent"

# ---- dry runs see the waiting journal; a crash between the replay's commit and
# the journal's removal --------------------------------------------------------
rm -f d.db d.db-wal d.db-shm
cp d.db.broken d.db
cp journal.keep d.db-answers
posts=$(requests m.log)
expect_exit 0 fo run --db d.db --dry-run --quiet --log-format json
planned_run=$(jq .requests out.txt)
expect_exit 0 fo sync d.db.csv --db d.db --out dry.csv --dry-run --quiet --log-format json
planned_sync=$(jq -s 'map(select(.requests != null)) | .[0].requests' out.txt)
cmp -s d.db-answers journal.keep || fail "a dry run changed or removed the journal"
[ "$planned_run" = "$planned_sync" ] || fail "run --dry-run plans $planned_run requests, sync --dry-run $planned_sync"
expect_exit 0 fo import d.db.csv --db d.db --quiet # any writer replays first
grep -q "recorded the answers a stopped run kept" err.txt || fail "no replay: $(cat err.txt)"
[ ! -e d.db-answers ] || fail "the replayed journal is still there"
attempts=$(sqlite3 d.db "SELECT count(*) FROM attempts")
cp journal.keep d.db-answers # as if the replay's unlink never happened
expect_exit 0 fo import d.db.csv --db d.db --quiet
grep -q "already_recorded=$held" err.txt || fail "the second replay did not skip every line: $(cat err.txt)"
[ ! -e d.db-answers ] || fail "the journal replayed again is still there"
[ "$(sqlite3 d.db "SELECT count(*) FROM attempts")" = "$attempts" ] ||
	fail "a journal replayed twice: $attempts attempt rows became $(sqlite3 d.db "SELECT count(*) FROM attempts")"
pass "a journal put back after its replay records nothing twice ($attempts attempt rows)"
expect_exit 0 fo run --db d.db --base-url "$MOCK_URL" --rate 0 --concurrency 8 --quiet
sent=$(($(requests m.log) - posts))
[ "$sent" = "$planned_run" ] || fail "the dry runs planned $planned_run requests, the run sent $sent"
check_invariants d.db m.log --one-201
pass "with the journal waiting, run and sync --dry-run plan the $sent requests the run then sends; 600 sessions, no second 201"

# ---- a restored backup -------------------------------------------------------
rm -f d.db d.db-wal d.db-shm
cp backup.db d.db
cp journal.keep d.db-answers
posts=$(requests m.log)
expect_exit 0 fo run --db d.db --base-url "$MOCK_URL" --rate 0 --concurrency 8 --quiet
if grep -q "FOREIGN KEY" err.txt; then fail "a restored backup: $(cat err.txt)"; fi
[ ! -e d.db-answers ] || fail "the journal is still there after its replay into the backup"
resent=$(jq -r --argjson n "$posts" 'select(.path == "/connect/sessions") | .customer_id' m.log |
	tail -n +$((posts + 1)) | sort)
dup=$(comm -12 <(echo "$jcreated") <(echo "$resent") | head -n 3)
[ -z "$dup" ] || fail "journaled sessions were asked for again after the restore: $dup"
[ "$(sqlite3 d.db "SELECT count(*) FROM attempts WHERE run_id IS NULL AND session_id IS NOT NULL")" = "$(echo "$jcreated" | wc -l)" ] ||
	fail "the journaled sessions are not recorded in the backup"
[ "$(count_state d.db created)" = 600 ] || fail "created after the restore: $(count_state d.db created)"
stop_mock
pass "a restored backup takes the journal (its run missing), and no journaled customer is sent again"
finish
