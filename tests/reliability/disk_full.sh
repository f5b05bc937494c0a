#!/usr/bin/env bash
# tests/reliability/disk_full.sh: the disk fills in the middle of a run (a
# small tmpfs filled up; without the right to mount one, a file size limit,
# ulimit -f, which SQLite sees as an I/O error). The run must stop naming
# the real cause, after writing every answer it could not commit to the
# answers journal beside the database; `status` says the journal waits; once
# space is freed, the next run replays it first and finishes the batch with
# no customer getting a second session. When the journal's space cannot be
# reserved at all, the run refuses before its first request.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

tmpdir rel-disk
fs="$E2E_TMP/fs"
mkdir "$fs"
mounted=
fs2="$E2E_TMP/fs2"
cleanup() {
	[ -z "$mounted" ] || umount "$fs" 2>/dev/null || true
	[ -z "$mounted" ] || umount "$fs2" 2>/dev/null || true
	e2e_cleanup
}
trap cleanup EXIT
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=8m,mode=0700 tmpfs "$fs" 2>/dev/null; then
	mounted=1
fi
cd "$E2E_TMP"
unset FINCH_ONBOARD_NOW FINCH_BASE_URL

db="$fs/d.db"
new_db "$db" 600 d
start_mock --latency 30ms --log "$E2E_TMP/m.log"
if [ -n "$mounted" ]; then
	fo run --db "$db" --base-url "$MOCK_URL" --rate 100 --concurrency 8 --quiet \
		>run.out 2>run.err &
	run_pid=$!
	at_least() { [ "$(requests m.log)" -ge "$1" ]; }
	wait_for "the first 100 requests" at_least 100
	dd if=/dev/zero of="$fs/fill" bs=64k >/dev/null 2>&1 || true # until ENOSPC
	rc=0
	wait "$run_pid" || rc=$?
	cause="database or disk is full"
else
	# the limit of ulimit -f as it comes (SIGXFSZ's default is death): the program
	# ignores SIGXFSZ, so writes past it fail with EFBIG instead of killing the run
	rc=0
	(ulimit -f 256; exec "$FINCH_ONBOARD" run --db "$db" --base-url "$MOCK_URL" \
		--rate 100 --concurrency 8 --quiet) >run.out 2>run.err || rc=$?
	cause="disk I/O error"
fi
[ "$rc" = 2 ] || fail "run on a full disk exited $rc, want 2: $(cat run.err)"
grep -q "$cause" run.err || fail "the real cause ($cause) is not named: $(cat run.err)"
if grep -q "an import holds" run.err; then fail "the message blames an import: $(cat run.err)"; fi
journal="$fs/d.db-answers"
[ -s "$journal" ] || fail "no answers journal: $(cat run.err)"
held=$(wc -l <"$journal")
grep -q "kept $held answers in the answers journal" run.err || fail "the journal is not named: $(cat run.err)"
dbid=$(sqlite3 "$db" "SELECT database_id FROM identity")
[ "$(jq -c --arg db "$dbid" 'select(.v == 2 and .db == $db and (.outcome |
	test("^(created|exists|failed|retry|unsent|unconfirmed)$")))' "$journal" | wc -l)" = "$held" ] ||
	fail "the journal is not JSON Lines of outcomes of its database"
pass "a full disk stops the run (exit 2, '$cause'), $held answers kept in $(basename "$journal")"

rm -f "$fs/fill"
run_fo status --db "$db"
expect_rc 0 "status with a journal waiting"
case $OUT in *"answers journal: $held answers"*) ;; *) fail "status does not say the journal waits: $OUT" ;; esac
run_fo status --db "$db" --json
[ "$(echo "$OUT" | jq '.answers_journal.answers')" = "$held" ] || fail "status --json: $OUT"
pass "status says $held answers wait in the journal"

expect_exit 0 fo run --db "$db" --base-url "$MOCK_URL" --rate 0 --concurrency 8
grep -q "recorded the answers a stopped run kept" err.txt || fail "no replay reported: $(cat err.txt)"
[ ! -e "$journal" ] || fail "the journal is still there after its replay"
[ "$(count_state "$db" created)" = 600 ] || fail "created: $(count_state "$db" created)"
[ "$(sqlite3 "$db" "SELECT count(*) FROM attempts WHERE transport_error = 'outcome unknown'")" = 0 ] ||
	fail "answers were lost: some attempts are 'outcome unknown'"
check_invariants "$db" m.log --one-201
pass "space freed: the next run replays the journal first, 600 sessions, no second 201"

# ---- no room to reserve the journal: refused before the first request -------------
# 200 KiB free on a 1 MiB tmpfs: enough for the database, not for the 1 MiB
# journal reservation of --concurrency 64. Before, the run warned and sent
# anyway (15 created sessions with no place to go on a later full disk).
if [ -n "$mounted" ] && mkdir "$fs2" && mount -t tmpfs -o size=1m,mode=0700 tmpfs "$fs2" 2>/dev/null; then
	new_db "$fs2/r.db" 5 r
	used=$(df -B1 --output=used "$fs2" | tail -n 1)
	fallocate -l $((1048576 - used - 200 * 1024)) "$fs2/fill"
	before=$(requests m.log)
	expect_exit 2 fo run --db "$fs2/r.db" --base-url "$MOCK_URL" --rate 0 --concurrency 64 --quiet
	grep -q "cannot reserve 1048576 bytes for the answers journal '.*r.db-answers' (No space left on device; [0-9]* bytes free): nothing was sent" err.txt ||
		fail "the refusal does not name the journal and the free space: $(cat err.txt)"
	[ "$(requests m.log)" = "$before" ] || fail "requests went out without room for their answers"
	[ "$(count_state "$fs2/r.db" pending)" = 5 ] || fail "rows changed state"
	[ ! -e "$fs2/r.db-answers" ] || fail "an empty journal was left behind"
	pass "no room to reserve the answers journal: exit 2 naming it and the free space, nothing sent"
fi
finish
