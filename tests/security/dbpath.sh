#!/usr/bin/env bash
# tests/security/dbpath.sh: --db is one name for one file (issue 20, items 2
# and 3). "file:o.db" is refused with a hint (SQLite would read it as a URI
# naming o.db while the lock took it as a path), so it can never run beside
# a writer on ./o.db; a dangling symlink at --db never creates its target;
# another user's symlink at --db is not followed (the lock opens the path
# with O_NOFOLLOW, SQLite with SQLITE_OPEN_NOFOLLOW); o.db, ./o.db, its absolute
# path and our own symlink to it share one lock.
set -euo pipefail
. "$(dirname "$0")/../e2e/lib.sh"
tmpdir dbpath
cd "$E2E_TMP"

csv() { # csv FILE FIRST N
	awk -v f="$2" -v n="$3" 'BEGIN { print "customer_id,customer_name,products"
		for (i = f; i < f + n; i++) printf "c-%03d,Employer %d,company\n", i, i }' >"$1"
}
csv c.csv 1 4
csv more.csv 100 3
expect_exit 0 fo import c.csv --db o.db --quiet

# ---- file:o.db is refused by every command, with a hint --------------------------
for cmd in "import more.csv" "run --base-url http://127.0.0.1:1" "status" "export" "retry"; do
	# shellcheck disable=SC2086
	expect_exit 2 fo $cmd --db file:o.db
	grep -q "error: database 'file:o.db' reads as a SQLite URI, and --db takes a file name; for a file really named so, write './file:o.db'" err.txt ||
		fail "$cmd --db file:o.db: $(cat err.txt)"
done
[ ! -e file:o.db ] || fail "a file 'file:o.db' was created"
expect_eq "rows after the refusals" "$(sqlite3 o.db 'SELECT count(*) FROM customers')" 4
# the refusal is what keeps a URI from running beside a writer on ./o.db
start_mock --latency 3s --log mock.jsonl
fo run --db ./o.db --base-url "$MOCK_URL" --rate 0 --concurrency 1 --quiet 2>run.err &
runner=$!
wait_for "the run on ./o.db" grep -q '"path"' mock.jsonl
expect_exit 2 fo import more.csv --db file:o.db
expect_exit 4 fo import more.csv --db ./o.db
grep -q "database './o.db' is in use by" err.txt || fail "a second writer on ./o.db: $(cat err.txt)"
wait "$runner" || fail "the run on ./o.db failed: $(cat run.err)"
expect_eq "rows: the URI never imported beside the run" "$(sqlite3 o.db 'SELECT count(*) FROM customers')" 4
# a file really named so works as ./file:o.db
expect_exit 0 fo import more.csv --db ./file:p.db --quiet
expect_eq "./file:p.db is a file of that name" "$(sqlite3 ./file:p.db 'SELECT count(*) FROM customers')" 3
pass "--db file:o.db is exit 2 with a hint for every command, so it never writes beside a run on ./o.db; ./file:p.db is a file"

# ---- o.db, ./o.db, its absolute path and our own symlink to it share one lock -------
# flock(1) holds the lock a writer takes (flock(2) on the database file itself)
ln -s o.db alias.db
flock o.db sh -c 'touch held; while [ ! -e release ]; do sleep 0.05; done' &
holder=$!
wait_for "flock(1) holding o.db" test -e held
for name in o.db ./o.db "$PWD/o.db" alias.db; do
	expect_exit 4 fo import more.csv --db "$name"
	grep -q "database '$name' is in use by" err.txt ||
		fail "--db $name beside a holder of o.db: $(cat err.txt)"
done
touch release
wait "$holder"
rm alias.db
expect_eq "rows: nothing imported beside the holder" "$(sqlite3 o.db 'SELECT count(*) FROM customers')" 4
pass "o.db, ./o.db, its absolute path and a symlink to it are one database: each is exit 4 while another holds it"

# ---- a dangling symlink at --db creates nothing -----------------------------------
mkdir elsewhere
ln -s elsewhere/new.db dangling.db
expect_exit 2 fo import c.csv --db dangling.db
grep -q "error: 'dangling.db' is a symlink to 'elsewhere/new.db', which does not exist: refusing to create the database through it" err.txt ||
	fail "import --db dangling link: $(cat err.txt)"
[ -z "$(ls elsewhere)" ] || fail "the dangling link's target was created: $(ls elsewhere)"
# a link to an existing database still works
ln -s o.db link.db
expect_exit 0 fo status --db link.db
expect_exit 0 fo import more.csv --db link.db --quiet
[ ! -e link.db-wal ] || fail "SQLite kept a log beside the link's name"
pass "a dangling symlink at --db is exit 2 and creates nothing; a symlink to the database still works"

# ---- another user's symlink at --db is not followed -------------------------------
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	mkdir -m 1777 shared
	ln -s ../o.db shared/o.db
	chown -h nobody shared/o.db
	before=$(sha256sum o.db | cut -d' ' -f1)
	for cmd in "import more.csv" "status" "export"; do
		# shellcheck disable=SC2086
		expect_exit 2 fo $cmd --db shared/o.db
		grep -q "database 'shared/o.db' is a symlink owned by uid $(id -u nobody)" err.txt ||
			fail "$cmd --db another user's link: $(cat err.txt)"
	done
	expect_eq "the database through another user's link" "$(sha256sum o.db | cut -d' ' -f1)" "$before"
	pass "another user's symlink at --db is exit 2 for writers and readers"

	# a journal or log planted beside the database: SQLite would roll it
	# back into the database (one page of zeros wiped it whole)
	printf 'planted' >shared/p.db-journal # any content: the owner is what counts
	cp o.db shared/p.db
	before=$(sha256sum shared/p.db | cut -d' ' -f1)
	for side in journal wal shm; do
		mv shared/p.db-* shared/p.db-$side 2>/dev/null || true
		chown nobody shared/p.db-$side
		for cmd in "import more.csv" "run --base-url http://127.0.0.1:9" "status"; do
			# shellcheck disable=SC2086
			expect_exit 2 fo $cmd --db shared/p.db
			grep -q "database 'shared/p.db': 'shared/p.db-$side' beside it belongs to uid $(id -u nobody), not to the database's owner (uid 0)" err.txt ||
				fail "$cmd with another user's -$side: $(cat err.txt)"
		done
	done
	rm -f shared/p.db-shm
	ln -s ../o.db shared/p.db-wal
	expect_exit 2 fo status --db shared/p.db
	grep -q "'shared/p.db-wal' beside it is not a regular file" err.txt || fail "a link at -wal: $(cat err.txt)"
	rm -f shared/p.db-wal
	expect_eq "the database beside another user's journal" "$(sha256sum shared/p.db | cut -d' ' -f1)" "$before"
	expect_exit 0 fo status --db shared/p.db
	pass "a -journal, -wal or -shm of another user's, or a link, beside the database: exit 2, the database untouched"

	# a database planted in the shared folder: another user's links, for our export
	cp o.db shared/q.db
	chown nobody shared/q.db
	for cmd in "import more.csv" "run --base-url http://127.0.0.1:9" "status" "export --out q.csv"; do
		# shellcheck disable=SC2086
		expect_exit 2 fo $cmd --db shared/q.db
		grep -q "database 'shared/q.db' belongs to uid $(id -u nobody), and the folder '[^']*/shared' on its path can be written by every user" err.txt ||
			fail "$cmd with another user's database in a shared folder: $(cat err.txt)"
	done
	[ ! -e q.csv ] || fail "an export from another user's database was written"
	# one folder down: a folder the other user made in the shared one
	mkdir shared/theirs
	cp o.db shared/theirs/t.db
	chown -R nobody shared/theirs
	for cmd in "status" "export --out t.csv"; do
		# shellcheck disable=SC2086
		expect_exit 2 fo $cmd --db shared/theirs/t.db
		grep -q "database 'shared/theirs/t.db' belongs to uid $(id -u nobody), and the folder '[^']*/shared' on its path" err.txt ||
			fail "$cmd with another user's database one folder below a shared one: $(cat err.txt)"
	done
	cp o.db r.db
	chown nobody r.db
	expect_exit 0 fo status --db r.db # a folder of ours: its owner put it there
	pass "another user's database below a folder every user can write: exit 2 for writers and readers; in a folder of ours it opens"
else
	pass "skipped: the other-user link test needs root and the user nobody"
fi
# a database every user can write: anyone could change its links
cp o.db w.db
chmod 666 w.db
for cmd in "import more.csv" "status"; do
	# shellcheck disable=SC2086
	expect_exit 2 fo $cmd --db w.db
	grep -q "database 'w.db' can be written by every user (mode 0666)" err.txt ||
		fail "$cmd with a database every user can write: $(cat err.txt)"
done
chmod 600 w.db
expect_exit 0 fo status --db w.db
pass "a database every user can write is exit 2 for writers and readers, until chmod 600"
# a FIFO at --db: refused at once by readers too (it blocked them in open(2))
mkfifo f.db
for cmd in "status" "status --json" "export --out f.csv" "run --dry-run"; do
	# shellcheck disable=SC2086
	expect_exit 2 timeout 20 "$FINCH_ONBOARD" $cmd --db f.db
	grep -q "database 'f.db' is not a regular file" err.txt || fail "$cmd with a FIFO at --db: $(cat err.txt)"
done
pass "a FIFO at --db is exit 2 for readers, without blocking"
finish
