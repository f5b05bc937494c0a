#!/usr/bin/env bash
# tests/security/readonly.sh: the database is private, read-only commands
# only read, and a database that is not ours is refused (issue 11, items 2
# and 7): modes under umask 022, the warning on a readable database, status,
# export and every --dry-run leaving the file's bytes, mode and journal mode
# as they were, a foreign SQLite file given to every command, and status by
# a user who can read the database but not write its folder.
set -euo pipefail
. "$(dirname "$0")/../e2e/lib.sh"
tmpdir readonly
cd "$E2E_TMP"

mode() { stat -c %a "$1"; }
digest() { sha256sum "$1" | cut -d' ' -f1; }
# The journal mode the file's header records (byte 19: 1 rollback, 2 WAL).
header_mode() { od -An -j19 -N1 -tu1 "$1" | tr -d ' '; }

printf 'customer_id,customer_name,products\nacme-001,Acme,company\nbeta-002,Beta,directory\n' >c.csv

# ---- umask 022: the database and every side file are 0600 ---------------------------
umask 022
expect_exit 0 fo import c.csv --db modes.db
expect_eq "database mode" "$(mode modes.db)" 600
[ ! -e modes.db-lock ] || fail "a lock file beside the database (the lock is on the database itself)"
# A reader leaves the WAL's -wal and -shm in place (SQLite keeps them for a
# read-only connection): they are SQLite's, made under our umask.
expect_exit 0 fo status --db modes.db
for side in modes.db-wal modes.db-shm; do
	[ -e "$side" ] || fail "no $side to check"
	expect_eq "$side mode" "$(mode "$side")" 600
done
# A run keeps them open while it works (the emulator holds its requests);
# they are 0600 then too.
rm -f modes.db-wal modes.db-shm
start_mock --hang-rate 1 --hang-for 60s
"$FINCH_ONBOARD" run --db modes.db --base-url "$MOCK_URL" --rate 0 --quiet --grace 0.1 >run.out 2>run.err &
runpid=$!
in_flight() { [ "$(sqlite3 modes.db "SELECT count(*) FROM customers WHERE state = 'in_flight'")" -gt 0 ]; }
wait_for "the run's requests in flight" in_flight
for side in modes.db-wal modes.db-shm; do
	expect_eq "$side mode during a run" "$(mode "$side")" 600
done
kill -TERM "$runpid"
rc=0
wait "$runpid" || rc=$?
expect_eq "the interrupted run's exit" "$rc" 5
stop_mock
# The bulk import's rollback journal takes the database's mode as well.
"$FINCH_SOURCE_DIR/samples/gen_customers" 200000 >big.csv
"$FINCH_ONBOARD" import big.csv --db modes.db --quiet >/dev/null 2>&1 &
imppid=$!
wait_for "the import's rollback journal" test -e modes.db-journal
jmode=$(mode modes.db-journal 2>/dev/null || echo "vanished before its mode was read")
wait "$imppid" || fail "bulk import failed"
expect_eq "journal mode bits" "$jmode" 600
pass "umask 022: the database, -wal, -shm and -journal are all 0600; there is no lock file"

# ---- an existing database others can read gets a warning naming the fix ----------
chmod 644 modes.db
expect_exit 0 fo status --db modes.db
grep -q "database 'modes.db' can be read by other users (mode 0644).*chmod 600 modes.db" err.txt ||
	fail "no warning for a 0644 database: $(cat err.txt)"
expect_eq "status left the mode alone" "$(mode modes.db)" 644
chmod 600 modes.db
expect_exit 0 fo status --db modes.db
[ ! -s err.txt ] || fail "a 0600 database got a warning: $(cat err.txt)"
pass "a database others can read gets a warning with 'chmod 600'"

# ---- read-only commands leave the file's bytes, mode and journal mode alone -------
expect_exit 0 fo import c.csv --db ro.db
for jm in wal delete; do
	sqlite3 ro.db "PRAGMA journal_mode = $jm" >/dev/null
	rm -f ro.db-wal ro.db-shm
	before=$(digest ro.db)
	hdr=$(header_mode ro.db)
	chmod 640 ro.db
	for cmd in "status" "status --json" "export" "export --format jsonl --out ro.jsonl" \
		"run --dry-run" "sync c.csv --out ro-sync.csv --dry-run"; do
		# shellcheck disable=SC2086
		expect_exit 0 fo $cmd --db ro.db
		expect_eq "$cmd ($jm): database bytes" "$(digest ro.db)" "$before"
		expect_eq "$cmd ($jm): database mode" "$(mode ro.db)" 640
		expect_eq "$cmd ($jm): journal mode in the header" "$(header_mode ro.db)" "$hdr"
	done
	[ ! -e ro-sync.csv ] || fail "sync --dry-run wrote its export"
	chmod 600 ro.db
done
expect_eq "journal mode after the read-only commands" "$(sqlite3 ro.db 'PRAGMA journal_mode')" delete
pass "status, export, run --dry-run and sync --dry-run change neither bytes, mode nor journal mode"

# sync --dry-run on an empty file: no schema is created in it
: >empty.db
expect_exit 0 fo sync c.csv --db empty.db --out empty.csv --dry-run
expect_eq "empty file after sync --dry-run" "$(stat -c %s empty.db)" 0
[ ! -e empty.csv ] || fail "sync --dry-run wrote its export"
expect_exit 2 fo status --db empty.db
grep -q "'empty.db' is not a finch-onboard database (it is empty" err.txt || fail "status on an empty file: $(cat err.txt)"
expect_eq "empty file after status" "$(stat -c %s empty.db)" 0
pass "sync --dry-run and status never create a schema in an empty file"

# ---- a database that is not ours is refused by every command, untouched ----------
sqlite3 foreign.db "PRAGMA journal_mode = DELETE; CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT);
	INSERT INTO notes(body) VALUES ('keep me');" >/dev/null
sqlite3 foreign-v3.db "PRAGMA user_version = 3; CREATE TABLE customers(x); CREATE TABLE t(y);" >/dev/null
for db in foreign.db foreign-v3.db; do
	before=$(digest "$db")
	for cmd in "status" "status --json" "export" "export --out f.csv" "retry" "import c.csv" \
		"run" "run --dry-run" "sync c.csv --out f.csv" "sync c.csv --out f.csv --dry-run"; do
		# shellcheck disable=SC2086
		expect_exit 2 fo $cmd --db "$db"
		grep -q "error: '$db' is not a finch-onboard database" err.txt ||
			fail "$cmd --db $db: $(cat err.txt)"
		expect_eq "$cmd: $db bytes" "$(digest "$db")" "$before"
		[ ! -e f.csv ] || fail "$cmd --db $db wrote an export"
	done
	[ ! -e "$db-wal" ] || fail "$db got a -wal"
done
expect_eq "foreign rows" "$(sqlite3 foreign.db 'SELECT body FROM notes')" "keep me"
expect_eq "foreign journal mode" "$(sqlite3 foreign.db 'PRAGMA journal_mode')" delete
pass "another program's SQLite database is refused by every command (exit 2) and left byte-identical"

# ---- status by a user who can read the database but not write its folder ---------
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null; then
	as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
	mkdir shared
	expect_exit 0 fo import c.csv --db shared/o.db
	rm -f shared/o.db-wal shared/o.db-shm
	chmod 755 "$E2E_TMP" shared
	chmod 644 shared/o.db
	before=$(digest shared/o.db)
	expect_exit 0 as_nobody "$FINCH_ONBOARD" status --db shared/o.db --json
	expect_eq "nobody's status" "$(jq -c '[.total, .by_state.pending]' out.txt)" "[2,2]"
	expect_exit 0 as_nobody "$FINCH_ONBOARD" export --db shared/o.db --format jsonl
	expect_eq "nobody's export" "$(jq -r .customer_id out.txt | paste -sd,)" "acme-001,beta-002"
	expect_eq "database after nobody's reads" "$(digest shared/o.db)" "$before"
	# With a write-ahead log pending and no -shm, the message names what is missing.
	sqlite3 shared/o.db "PRAGMA journal_mode = WAL" >/dev/null
	python3 - shared/o.db <<'PY'
import os, shutil, sqlite3, sys
db = sys.argv[1]
c = sqlite3.connect(db)
c.execute("PRAGMA wal_autocheckpoint = 0")
c.execute("UPDATE customers SET customer_name = 'Acme 2' WHERE customer_id = 'acme-001'")
c.commit()
# copy the log aside while it holds the change, as a crashed writer leaves it
shutil.copy(db + "-wal", db + "-wal.keep")
c.close()
os.replace(db + "-wal.keep", db + "-wal")
for side in ("-shm",):
    if os.path.exists(db + side):
        os.remove(db + side)
os.chmod(db + "-wal", 0o644)
PY
	expect_exit 2 as_nobody "$FINCH_ONBOARD" status --db shared/o.db
	grep -q "needs 'shared/o.db-shm'.*write access to folder 'shared' is missing" err.txt ||
		fail "nobody's status with a pending WAL: $(cat err.txt)"
	pass "status and export work for a user who cannot write the folder; a pending WAL is named"
else
	pass "skipped: the non-root status test needs root, setpriv and the user nobody"
fi

finish
