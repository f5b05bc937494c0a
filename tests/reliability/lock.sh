#!/usr/bin/env bash
# tests/reliability/lock.sh: one writer per database file, whatever the path.
# While a run holds a database, a second run or import through a symlink,
# through a relative path from another folder, or through a hard link is
# refused with exit 4 naming the first run's pid; a cleaner deleting stray
# lock files changes nothing; a symlink planted where the old lock file lived
# is never followed, so nothing it points to is truncated. The first run,
# stopped by SIGTERM, and a resume through the symlink then leave every
# invariant true: every POST the emulator received is an attempt row, no
# customer got two sessions.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_setup lock

mkdir data other
echo "precious: must never be truncated" >victim.txt
ln -s ../victim.txt data/x.db-lock # where the lock file used to be
new_db data/x.db 40 l
ln -s data/x.db link.db

start_mock --latency 300ms --seed 3 --log "$E2E_TMP/m.log"
bg_run first data/x.db 2
wait_state "the first run to send" data/x.db in_flight 1
ln data/x.db hard.db # while the run holds it: the lock comes before any open

refused() { # WHAT CMD...
	local what=$1
	shift
	expect_exit 4 "$@"
	grep -q "is in use by pid $BG_PID (finch-onboard run)" err.txt ||
		fail "$what: the refusal does not name the first run: $(cat err.txt)"
}
refused "run through a symlink" fo run --db link.db --base-url "$MOCK_URL" --rate 0 --quiet
refused "run through a hard link" fo run --db hard.db --base-url "$MOCK_URL" --rate 0 --quiet
refused "import through a symlink" fo import --db link.db data/x.db.csv
refused "retry through a hard link" fo retry --db hard.db
(cd other && refused "run from another folder" fo run --db ../data/x.db --base-url "$MOCK_URL" --rate 0)
(cd data && refused "sync as ./x.db" fo sync x.db.csv --db ./x.db --out ../s.csv --base-url "$MOCK_URL")
rm hard.db
pass "a second writer through a symlink, a hard link or another folder's path is refused (exit 4, names the pid)"

# a cleaner removes every stray lock file: the lock lives on the database itself
rm -f data/x.db-lock data/*.lock
refused "run after a cleaner" fo run --db link.db --base-url "$MOCK_URL" --rate 0 --quiet
pass "deleting lock files while a run holds the database changes nothing"

bg_signal TERM
[ "$BG_RC" = 5 ] || fail "SIGTERM: the first run exited $BG_RC, want 5: $(cat first.err)"
[ "$(count_state data/x.db pending)" -gt 0 ] || fail "the first run finished before the test did"
check_invariants data/x.db m.log --one-201

# the resume, through the symlink, sends only what is left
ln -s ../victim.txt data/x.db-lock
expect_exit 0 fo run --db link.db --base-url "$MOCK_URL" --rate 0 --quiet
[ "$(count_state data/x.db created)" = 40 ] || fail "the resume did not finish the batch"
check_invariants data/x.db m.log --one-201
[ "$(cat victim.txt)" = "precious: must never be truncated" ] ||
	fail "a file a planted symlink points to was changed"
[ "$(readlink data/x.db-lock)" = ../victim.txt ] || fail "the planted symlink was replaced"
pass "after SIGTERM and a resume through the symlink: every POST is an attempt, one 201 per customer"

[ "$(cat victim.txt)" = "precious: must never be truncated" ] || fail "victim changed"
pass "a symlink planted as the old lock file is never followed nor truncated"

# a database path that is not a regular file is refused at once, without hanging
mkfifo fifo.db
expect_exit 2 fo import --db fifo.db data/x.db.csv
grep -q "not a regular file" err.txt || fail "a FIFO as the database: $(cat err.txt)"
pass "a FIFO as the database is refused (exit 2), not opened"

# Two names for one file: SQLite keeps its log beside the name, so each name
# would miss the other's answers. Refused by every command, nothing sent.
ln data/x.db twin.db
sent=$(requests m.log)
for cmd in "run --db data/x.db --base-url $MOCK_URL" "run --db twin.db --base-url $MOCK_URL" \
	"import --db data/x.db data/x.db.csv" "status --db twin.db" "export --db data/x.db"; do
	# shellcheck disable=SC2086 # the words are the arguments
	expect_exit 2 fo $cmd
	grep -q "has 2 hard links" err.txt || fail "$cmd with a hard link: $(cat err.txt)"
done
[ "$(requests m.log)" = "$sent" ] || fail "a hard-linked database still sent requests"
rm twin.db
pass "a database with a second hard link is refused by every command (exit 2), nothing sent"
stop_mock
finish
