#!/usr/bin/env bash
# tests/security/shared.sh: files in shared folders (issue 20, items 1 and 2).
# Another user's symlink at --out, --metrics-file or the input CSV is never
# followed (exit 2, nothing written, nothing read); a FIFO or a device that
# another user owns is never written; a device or socket is never read as a
# CSV; a file with none of our columns (a secret?) is never quoted, and an
# unknown header name only by its first 24 bytes. "Another user" is nobody,
# made the owner with chown (the script runs as root; as anyone else it skips).
# Everything lives in a mktemp -d folder.
set -euo pipefail
. "$(dirname "$0")/../e2e/lib.sh"
tmpdir shared
cd "$E2E_TMP"

if [ "$(id -u)" != 0 ] || ! id nobody >/dev/null 2>&1 || ! command -v setpriv >/dev/null; then
	pass "skipped: the shared-folder tests need root, setpriv and the user nobody"
	finish
	exit 0
fi
chmod 755 "$E2E_TMP"
NOBODY=$(id -u nobody)
as_nobody() { setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups "$@"; }
digest() { sha256sum "$1" | cut -d' ' -f1; }

printf 'customer_id,customer_name,products\nacme-001,Acme,company\n' >c.csv
expect_exit 0 fo import c.csv --db o.db --quiet
printf 'precious\n' >victim.txt
victim=$(digest victim.txt)
mkdir -m 1777 drop
start_mock --log mock.jsonl

# ---- another user's symlink at --out or --metrics-file: exit 2, target intact ---------
ln -s ../victim.txt drop/results.csv
chown -h nobody drop/results.csv
expect_exit 2 fo export --db o.db --out drop/results.csv
grep -q "error: --out 'drop/results.csv' is a symlink owned by uid $NOBODY in folder 'drop' owned by uid 0: refusing to follow it" err.txt ||
	fail "export --out another user's link: $(cat err.txt)"
expect_exit 2 fo run --db o.db --metrics-file drop/results.csv --base-url "$MOCK_URL"
grep -q "error: --metrics-file 'drop/results.csv' is a symlink owned by uid $NOBODY" err.txt ||
	fail "run --metrics-file another user's link: $(cat err.txt)"
expect_eq "the link's target" "$(digest victim.txt)" "$victim"
[ -L drop/results.csv ] || fail "the planted link was replaced"
# root's link in a folder another user owns is refused too (they could swap it)
mkdir nbdir
ln -s ../victim.txt nbdir/results.csv
chown nobody nbdir
expect_exit 2 fo export --db o.db --out nbdir/results.csv
grep -q "is a symlink owned by uid 0 in folder 'nbdir' owned by uid $NOBODY: refusing" err.txt ||
	fail "export --out a link in another user's folder: $(cat err.txt)"
expect_eq "the link's target" "$(digest victim.txt)" "$victim"
# a link of one's own in a folder of one's own (or root's) is followed, as before
ln -s ../victim.txt drop/mine.csv
expect_exit 0 fo export --db o.db --out drop/mine.csv
grep -q '^acme-001,' victim.txt || fail "our own link was not followed"
printf 'precious\n' >victim.txt
pass "another user's symlink (or one in another user's folder) at --out/--metrics-file: exit 2, target intact"

# ---- a FIFO or a device another user owns is never written ------------------------
mkfifo drop/pipe
chown nobody drop/pipe
expect_exit 2 timeout 20 "$FINCH_ONBOARD" export --db o.db --out drop/pipe
grep -q "error: --out 'drop/pipe' is a FIFO owned by uid $NOBODY, not by this user (uid 0): refusing" err.txt ||
	fail "export --out another user's FIFO: $(cat err.txt)"
expect_exit 2 timeout 20 "$FINCH_ONBOARD" run --db o.db --metrics-file drop/pipe --base-url "$MOCK_URL"
grep -q "error: --metrics-file 'drop/pipe' is a FIFO owned by uid $NOBODY" err.txt ||
	fail "run --metrics-file another user's FIFO: $(cat err.txt)"
mkdir -m 755 nb
cp o.db nb/o.db
chown -R nobody nb
expect_exit 2 as_nobody "$FINCH_ONBOARD" export --db nb/o.db --out /dev/zero
grep -q "error: --out '/dev/zero' is a character device owned by uid 0, not by this user (uid $NOBODY)" err.txt ||
	fail "nobody's export --out /dev/zero: $(cat err.txt)"
expect_exit 0 as_nobody "$FINCH_ONBOARD" export --db nb/o.db --out /dev/null
pass "a FIFO or a device another user owns is refused (exit 2); /dev/null is still written"

# ---- the input CSV: another user's link is not followed, nothing of it is quoted --------
secret_line="s3cr3t-$RANDOM$RANDOM-value-that-must-stay"
printf '%s\n' "$secret_line" >secret
chmod 600 secret
ln -s ../secret drop/in.csv
chown -h nobody drop/in.csv
expect_exit 2 fo import drop/in.csv --db o.db
grep -q "error: 'drop/in.csv' is a symlink owned by uid $NOBODY in folder 'drop' owned by uid 0: refusing to follow it" err.txt ||
	fail "import through another user's link: $(cat err.txt)"
! grep -qF "${secret_line:0:8}" err.txt || fail "import quoted the linked file: $(cat err.txt)"
expect_exit 2 fo sync drop/in.csv --db o.db --out r.csv --base-url "$MOCK_URL"
grep -q "is a symlink owned by uid $NOBODY" err.txt || fail "sync through another user's link: $(cat err.txt)"
# our own file that is no CSV of ours (a secret file): refused, nothing of it quoted
for cmd in "import secret --db o.db" "import secret --db o.db --check" "sync secret --db o.db --out r.csv --base-url $MOCK_URL"; do
	# shellcheck disable=SC2086 # the words of cmd
	expect_exit 2 fo $cmd
	grep -q "the header has no 'customer_id' column" err.txt || fail "$cmd: $(cat err.txt)"
	! grep -qF "${secret_line:0:8}" err.txt || fail "$cmd quoted a file refused as not CSV: $(cat err.txt)"
done
# a long unknown name is quoted by its start only, in a warning and in a hint
long=$(printf 'x%.0s' $(seq 1 200))
printf 'customer_id,customer_name,products,%s\nb-002,B,company,1\n' "$long" >long.csv
expect_exit 0 fo import long.csv --db o.db
grep -q "unknown column 'xxxxxxxxxxxxxxxxxxxxxxxx \[\.\.\. 200 bytes in all\]'" err.txt || fail "a long header name: $(cat err.txt)"
printf 'customer_name,products,%s_id\nB,company,b-003\n' "$long" >long_id.csv
expect_exit 2 fo import long_id.csv --db o.db
grep -q "the file has 'xxxxxxxxxxxxxxxxxxxxxxxx \[\.\.\. 203 bytes in all\]'" err.txt || fail "a long header name in a hint: $(cat err.txt)"
[ "$(grep -o 'x*' err.txt | awk '{ if (length > m) m = length } END { print m }')" -le 24 ] ||
	fail "the header name was quoted beyond 24 bytes: $(cat err.txt)"
pass "the CSV through another user's link: exit 2; a file with none of our columns is not quoted; header names are cut at 24 bytes"

# ---- only files, FIFOs and terminals are read -------------------------------------
expect_exit 2 fo import /dev/zero --db o.db
grep -q "error: '/dev/zero' is a device, not a regular file, a FIFO or a terminal: refusing to read it" err.txt ||
	fail "import /dev/zero: $(cat err.txt)"
python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' sock
expect_exit 2 fo import sock --db o.db
grep -q "error: 'sock' is not a regular file, a FIFO or a terminal: refusing to read it" err.txt ||
	fail "import a socket: $(cat err.txt)"
mkfifo in.fifo
cat c.csv >in.fifo &
writer=$!
expect_exit 0 fo import in.fifo --db o.db --quiet
wait "$writer"
pass "a device or a socket is never read as a CSV; a FIFO still is"
expect_eq "requests sent" "$(requests mock.jsonl)" 0

finish
