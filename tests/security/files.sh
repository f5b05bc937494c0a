#!/usr/bin/env bash
# tests/security/files.sh: --out and --metrics-file never destroy anything
# (issue 11, item 4).
# It is refused (exit 2, before anything is sent) when it names the
# database, a side file or the input CSV, through any path, symlink or hard
# link; a FIFO, a character device and /dev/stdout are written to directly;
# a symlink is kept and its target replaced; a missing folder stops a sync
# before its first request.
set -euo pipefail
. "$(dirname "$0")/../e2e/lib.sh"
tmpdir files
cd "$E2E_TMP"

digest() { sha256sum "$1" | cut -d' ' -f1; }
printf 'customer_id,customer_name,products\nacme-001,Acme,company\nbeta-002,Beta,directory\n' >c.csv
start_mock --log mock.jsonl
expect_exit 0 fo sync c.csv --db o.db --out first.csv --base-url "$MOCK_URL" --rate 0 --quiet
sent=$(requests mock.jsonl)
[ "$sent" = 2 ] || fail "the first sync sent $sent requests"
csv_sum=$(digest c.csv)

# ---- --out naming the database, a side file or the CSV: refused, nothing sent ----
mkdir sub
ln -s ../o.db sub/db-link
ln o.db db-hard
ln -s c.csv csv-link
ln c.csv csv-hard
sqlite3 o.db "PRAGMA journal_mode" >/dev/null
for out in o.db ./o.db "$E2E_TMP/o.db" sub/../o.db sub/db-link db-hard o.db-wal o.db-shm \
	o.db-journal o.db-lock o.db-answers c.csv ./c.csv csv-link csv-hard; do
	before=$(digest o.db)
	expect_exit 2 fo sync c.csv --db o.db --out "$out" --base-url "$MOCK_URL" --rate 0 \
		--renew-expired --reauthenticate
	grep -q "error: --out '$out' is the .*refusing to overwrite it" err.txt ||
		fail "sync --out $out: $(cat err.txt)"
	expect_eq "database after sync --out $out" "$(digest o.db)" "$before"
	expect_eq "CSV after sync --out $out" "$(digest c.csv)" "$csv_sum"
	case $out in *csv*) continue ;; esac
	expect_exit 2 fo export --db o.db --out "$out"
	grep -q "error: --out '$out' is the database.*refusing to overwrite it" err.txt ||
		fail "export --out $out: $(cat err.txt)"
	expect_eq "database after export --out $out" "$(digest o.db)" "$before"
done
[ -L sub/db-link ] && [ -L csv-link ] || fail "a refused --out replaced a symlink"
expect_eq "requests after the refusals" "$(requests mock.jsonl)" "$sent"
rm db-hard # a second name for the database is refused by every command (reliability/lock.sh)
expect_exit 0 fo status --db o.db
pass "--out at the database, its -wal/-shm/-journal/-lock/-answers or the CSV (paths, symlinks, hard links) is exit 2 and sends nothing"

# ---- a symlink is kept and its target replaced ------------------------------------
mkdir target
printf 'old\n' >target/results.csv
chmod 644 target/results.csv
ln -s target/results.csv link.csv
expect_exit 0 fo export --db o.db --out link.csv
[ -L link.csv ] || fail "export replaced the symlink with a file"
expect_eq "the link's target" "$(readlink link.csv)" target/results.csv
grep -q '^acme-001,' target/results.csv || fail "the link's target was not replaced: $(cat target/results.csv)"
expect_eq "the target's mode" "$(stat -c %a target/results.csv)" 600
[ -z "$(find . -maxdepth 2 -name '.*.??????' -newer c.csv)" ] || fail "a temporary file was left behind"
# a dangling link gets its target created
ln -s target/new.csv dangling.csv
expect_exit 0 fo export --db o.db --out dangling.csv --format jsonl
[ -L dangling.csv ] && [ -f target/new.csv ] || fail "the dangling link's target was not created"
expect_eq "rows through the dangling link" "$(wc -l <target/new.csv)" 2
pass "a symlink --out is kept and its target replaced atomically (also a dangling one)"

# ---- a FIFO gets the rows; /dev/null stays a character device -----------------------
mkfifo pipe
cat pipe >from-pipe.csv &
reader=$!
expect_exit 0 fo export --db o.db --out pipe --no-bom
wait "$reader"
[ -p pipe ] || fail "the FIFO was replaced"
fo export --db o.db --no-bom >direct.csv
cmp -s from-pipe.csv direct.csv || fail "the FIFO's reader got something else: $(head -c 200 from-pipe.csv)"
# and through sync, which writes after its run
cat pipe >from-pipe2.csv &
reader=$!
expect_exit 0 fo sync c.csv --db o.db --out pipe --no-bom --base-url "$MOCK_URL" --rate 0 --quiet
wait "$reader"
[ -p pipe ] && cmp -s from-pipe2.csv direct.csv || fail "sync --out FIFO"
[ "$(id -u)" = 0 ] || echo "note: not root; /dev/null is checked as this user"
expect_exit 0 fo export --db o.db --out /dev/null
[ -c /dev/null ] || fail "/dev/null is no longer a character device"
expect_exit 0 fo sync c.csv --db o.db --out /dev/null --base-url "$MOCK_URL" --rate 0 --quiet
[ -c /dev/null ] && [ ! -s /dev/null ] || fail "sync made /dev/null a file"
pass "a FIFO's reader gets the export and the FIFO stays; /dev/null (as $(id -un)) stays a character device"

# ---- /dev/stdout is standard output, even when that is a regular file ----------------
fo export --db o.db --out /dev/stdout --no-bom >stdout.csv 2>stdout.err || fail "--out /dev/stdout: $(cat stdout.err)"
cmp -s stdout.csv direct.csv || fail "--out /dev/stdout wrote something else"
fo sync c.csv --db o.db --out /dev/stdout --base-url "$MOCK_URL" --rate 0 >sync-stdout.csv 2>sync-stdout.err ||
	fail "sync --out /dev/stdout: $(cat sync-stdout.err)"
grep -q '^imported c.csv' sync-stdout.err || fail "sync --out /dev/stdout: the reports did not go to stderr"
grep -q 'acme-001' sync-stdout.csv || fail "sync --out /dev/stdout wrote no rows"
pass "--out /dev/stdout writes to standard output directly (reports on stderr)"

# ---- a missing output folder stops sync before anything is sent --------------------
printf 'customer_id,customer_name,products\nnew-003,New,company\n' >new.csv
before=$(requests mock.jsonl)
expect_exit 2 fo sync new.csv --db o.db --out no/such/folder/r.csv --base-url "$MOCK_URL" --rate 0
grep -q "error: --out 'no/such/folder/r.csv': folder 'no/such/folder' does not exist" err.txt ||
	fail "missing folder: $(cat err.txt)"
expect_eq "requests after a missing folder" "$(requests mock.jsonl)" "$before"
expect_eq "new-003 was not imported" "$(sqlite3 o.db "SELECT count(*) FROM customers WHERE customer_id = 'new-003'")" 0
expect_exit 2 fo sync new.csv --db o.db --out sub --base-url "$MOCK_URL" --rate 0
grep -q "error: --out 'sub' is a folder" err.txt || fail "--out a folder: $(cat err.txt)"
expect_eq "requests after --out a folder" "$(requests mock.jsonl)" "$before"
pass "a missing folder or a folder as --out stops sync with exit 2 before any request"

# ---- a symlinked --db: the side files of its target are guarded too ---------------
mkdir dbdir
ln -s o.db link.db
ln -s ../o.db dbdir/l.db
before=$(requests mock.jsonl)
for pair in link.db:o.db-wal link.db:o.db-answers dbdir/l.db:o.db-shm dbdir/l.db:"$E2E_TMP/o.db-journal"; do
	db=${pair%%:*} out=${pair#*:}
	expect_exit 2 fo export --db "$db" --out "$out"
	grep -q "error: --out '$out' is the database's .*refusing" err.txt || fail "export --db $db --out $out: $(cat err.txt)"
	expect_exit 2 fo sync c.csv --db "$db" --out "$out" --base-url "$MOCK_URL" --rate 0
	grep -q "error: --out '$out' is the database's .*refusing" err.txt || fail "sync --db $db --out $out: $(cat err.txt)"
done
expect_eq "requests after the symlinked --db refusals" "$(requests mock.jsonl)" "$before"
pass "with --db a symlink, --out at the side files of its target (-wal, -shm, -journal, -answers) is exit 2"

# ---- the CSV read from standard input is guarded by its identity ------------------
for out in c.csv csv-hard csv-link; do
	expect_exit 2 fo sync - --db o.db --out "$out" --base-url "$MOCK_URL" --rate 0 <c.csv
	grep -q "error: --out '$out' is the input CSV (standard input): refusing" err.txt ||
		fail "sync - --out $out <c.csv: $(cat err.txt)"
	expect_eq "CSV after sync - --out $out" "$(digest c.csv)" "$csv_sum"
done
expect_eq "requests after the stdin refusals" "$(requests mock.jsonl)" "$before"
pass "sync - --out FILE <FILE (also by hard link or symlink) is exit 2 and the CSV stays"

# ---- a dangling --out symlink whose target's folder is missing ---------------------
ln -s nowhere/r.csv dangling-far.csv
expect_exit 2 fo export --db o.db --out dangling-far.csv
grep -q "error: --out 'dangling-far.csv' is a symlink to 'nowhere/r.csv': folder 'nowhere' does not exist" err.txt ||
	fail "dangling symlink: $(cat err.txt)"
pass "a dangling --out symlink's error names the link, its target and the missing folder"

# ---- --metrics-file: the same rules as --out ---------------------------------------
printf 'r\n' >r.csv
r_sum=$(digest r.csv)
ln o.db db-hard # refused before the database is opened, so its second name is safe here
for mf in o.db ./o.db sub/db-link db-hard o.db-wal o.db-shm o.db-journal o.db-answers link.db; do
	db_sum=$(digest o.db)
	expect_exit 2 fo run --db o.db --metrics-file "$mf" --base-url "$MOCK_URL" --rate 0
	grep -q "error: --metrics-file '$mf' is the database.*refusing" err.txt || fail "run --metrics-file $mf: $(cat err.txt)"
	expect_eq "database after run --metrics-file $mf" "$(digest o.db)" "$db_sum"
	expect_exit 2 fo sync c.csv --db link.db --out r.csv --metrics-file "$mf" --base-url "$MOCK_URL" --rate 0
	grep -q "error: --metrics-file '$mf' is the database.*refusing" err.txt || fail "sync --metrics-file $mf: $(cat err.txt)"
	expect_eq "database after sync --metrics-file $mf" "$(digest o.db)" "$db_sum"
done
rm db-hard
for mf in c.csv csv-link csv-hard; do
	expect_exit 2 fo sync c.csv --db o.db --out r.csv --metrics-file "$mf" --base-url "$MOCK_URL" --rate 0
	grep -q "error: --metrics-file '$mf' is the input CSV" err.txt || fail "sync --metrics-file $mf: $(cat err.txt)"
done
expect_exit 2 fo sync - --db o.db --out r.csv --metrics-file c.csv --base-url "$MOCK_URL" --rate 0 <c.csv
grep -q "error: --metrics-file 'c.csv' is the input CSV (standard input)" err.txt || fail "sync - --metrics-file c.csv: $(cat err.txt)"
expect_eq "CSV after the --metrics-file refusals" "$(digest c.csv)" "$csv_sum"
ln -s r.csv r-link.csv
for mf in r.csv ./r.csv r-link.csv; do
	expect_exit 2 fo sync c.csv --db o.db --out r.csv --metrics-file "$mf" --base-url "$MOCK_URL" --rate 0
	grep -q "error: --metrics-file '$mf' is the export (--out)" err.txt || fail "sync --out r.csv --metrics-file $mf: $(cat err.txt)"
done
expect_eq "the export after the --metrics-file refusals" "$(digest r.csv)" "$r_sum"
expect_exit 2 fo run --db o.db --metrics-file no/such/m.prom --base-url "$MOCK_URL" --rate 0
grep -q "error: --metrics-file 'no/such/m.prom': folder 'no/such' does not exist" err.txt || fail "missing folder: $(cat err.txt)"
expect_exit 2 fo run --db o.db --metrics-file sub --base-url "$MOCK_URL" --rate 0
grep -q "error: --metrics-file 'sub' is a folder" err.txt || fail "--metrics-file a folder: $(cat err.txt)"
expect_eq "requests after the --metrics-file refusals" "$(requests mock.jsonl)" "$before"
pass "--metrics-file at the database (any alias), its side files, the CSV (also stdin) or --out's file, a missing folder or a folder: exit 2, nothing sent or written"

cat pipe >metrics-pipe.txt &
reader=$!
expect_exit 0 fo run --db o.db --metrics-file pipe --base-url "$MOCK_URL" --rate 0 --quiet
wait "$reader"
[ -p pipe ] || fail "--metrics-file replaced the FIFO"
grep -q '^finch_onboard_last_run_exit_code{onboard_job="o"} 0$' metrics-pipe.txt || fail "the FIFO's reader got: $(head -c 300 metrics-pipe.txt)"
expect_exit 0 fo run --db o.db --metrics-file /dev/null --base-url "$MOCK_URL" --rate 0 --quiet
[ -c /dev/null ] && [ ! -s /dev/null ] || fail "--metrics-file made /dev/null a file"
ln -s target/m.prom m-link.prom
expect_exit 0 fo sync c.csv --db o.db --out r.csv --metrics-file m-link.prom --base-url "$MOCK_URL" --rate 0 --quiet
[ -L m-link.prom ] || fail "--metrics-file replaced the symlink with a file"
grep -q '^finch_onboard_last_run_exit_code{onboard_job="o"} 0$' target/m.prom || fail "the link's target: $(head -c 300 target/m.prom)"
expect_eq "the metrics target's mode" "$(stat -c %a target/m.prom)" 644
pass "--metrics-file: a FIFO's reader gets the metrics, /dev/null stays, a symlink is kept and its target replaced"

finish
