#!/usr/bin/env bash
# tests/security/hardening.sh: what a run holds and what it hands out
# (issue 20, items 6 to 9).
# A process holding the secret cannot dump core (undumpable, RLIMIT_CORE 0)
# and keeps the secret in locked memory; $SSLKEYLOGFILE is refused unless
# --allow-keylog; a connect_url that is not Finch's (javascript:, data:,
# another host) fails its row with the raw value on record, is never
# exported as a link and never re-sent; export to a terminal shows control
# characters escaped while a file gets them as they are.
set -euo pipefail
. "$(dirname "$0")/../e2e/lib.sh"
tmpdir hardening
cd "$E2E_TMP"
chmod 755 "$E2E_TMP"

q() { sqlite3 -batch -noheader "$1" "$2"; }
csv() { # csv FILE N: N employers
	awk -v n="$2" 'BEGIN { print "customer_id,customer_name,products"
		for (i = 1; i <= n; i++) printf "c-%03d,Employer %d,company\n", i, i }' >"$1"
}

# ---- no core dump: undumpable, RLIMIT_CORE 0, the secret in locked memory ------------
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null; then
	NOBODY=$(id -u nobody)
	start_mock --log mock-core.jsonl
	mkdir -m 755 nb
	csv nb/c.csv 1
	mkfifo nb/out.fifo
	chown -R nobody nb
	# sync blocks opening its --out FIFO until a reader comes: the process is there to look at
	setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups "$FINCH_ONBOARD" sync nb/c.csv \
		--db nb/o.db --out nb/out.fifo --base-url "$MOCK_URL" --rate 0 --quiet 2>core.err &
	pid=$!
	poll_until 20 grep -q '"status":201' mock-core.jsonl || fail "the sync sent nothing: $(cat core.err)"
	owner=$(stat -c %u "/proc/$pid/status")
	core=$(awk '/^Max core file size/ { print $5 " " $6 }' "/proc/$pid/limits")
	locked=$(awk '/^VmLck:/ { print $2 }' "/proc/$pid/status")
	memlock=$(setpriv --reuid=nobody bash -c 'ulimit -l')
	cat nb/out.fifo >/dev/null
	wait "$pid" || fail "the sync as nobody failed: $(cat core.err)"
	expect_eq "owner of /proc/PID of an undumpable process (nobody is uid $NOBODY)" "$owner" 0
	expect_eq "RLIMIT_CORE of the run (soft hard)" "$core" "0 0"
	# Under the sanitizers the run shows no locked pages (VmLck 0 in CI's
	# ASan build, not yet explained); the plain build, run first by CI, checks it.
	if [ "${FINCH_SANITIZED:-0}" = 1 ]; then
		echo "# VmLck not checked under the sanitizers"
	elif [ "$memlock" = unlimited ] || [ "$memlock" -gt 64 ]; then
		[ "$locked" -ge 4 ] || fail "the secret is not in locked memory (VmLck $locked kB, limit $memlock)"
	fi
	stop_mock
	pass "a run holding the secret is undumpable, its core limit 0, its secret in locked memory (VmLck $locked kB)"
else
	pass "skipped: the core-dump test needs root, setpriv and the user nobody"
fi

# ---- SSLKEYLOGFILE is refused unless --allow-keylog -------------------------------
start_mock --log mock.jsonl
csv c.csv 3
expect_exit 0 fo import c.csv --db o.db --quiet
for cmd in "run --db o.db" "sync c.csv --db o.db --out r.csv"; do
	# shellcheck disable=SC2086
	expect_exit 2 env SSLKEYLOGFILE="$PWD/keys.log" "$FINCH_ONBOARD" $cmd --base-url "$MOCK_URL"
	grep -q "error: SSLKEYLOGFILE is set ('$PWD/keys.log'): every TLS session key would be written there; unset it, or give --allow-keylog" err.txt ||
		fail "$cmd with SSLKEYLOGFILE: $(cat err.txt)"
done
[ ! -e keys.log ] || fail "keys.log was created"
expect_eq "requests sent with SSLKEYLOGFILE" "$(requests mock.jsonl)" 0
expect_exit 0 env SSLKEYLOGFILE="$PWD/keys.log" "$FINCH_ONBOARD" run --db o.db --base-url "$MOCK_URL" \
	--rate 0 --quiet --allow-keylog
pass "SSLKEYLOGFILE: exit 2 naming it and nothing sent; --allow-keylog lets a debugging run go"
stop_mock

# ---- a connect_url that is not Finch's is a malformed answer, never retried ----------
for base in 'javascript:alert(1)//' 'data:text/html,x' 'https://connect.tryfinch.com.evil.example' \
	'https://user@connect.tryfinch.com' 'http://127.0.0.1:1'; do
	rm -f l.db*
	start_mock --log links.jsonl --connect-base "$base"
	csv l.csv 2
	expect_exit 0 fo import l.csv --db l.db --quiet
	expect_exit 8 fo run --db l.db --base-url "$MOCK_URL" --rate 0 --quiet
	expect_eq "$base: failed rows" "$(q l.db "SELECT count(*) FROM customers WHERE state = 'failed' AND connect_url IS NULL")" 2
	q l.db "SELECT message FROM attempts" >reasons.txt
	grep -qF "connect_url '$base/authorize?session=" reasons.txt || fail "$base: the raw value is not on record: $(head -3 reasons.txt)"
	expect_eq "$base: requests (never re-sent)" "$(requests links.jsonl)" 2
	fo export --db l.db --format jsonl >l.jsonl
	expect_eq "$base: links exported" "$(jq -r 'select(.connect_url != null) | .connect_url' l.jsonl | wc -l)" 0
	stop_mock
	rm -f links.jsonl
done
# Finch's host, --connect-host's, and the emulator's own origin are links
start_mock --log ok.jsonl --connect-base https://connect.tryfinch.com
expect_exit 0 fo import c.csv --db ok.db --quiet
expect_exit 0 fo run --db ok.db --base-url "$MOCK_URL" --rate 0 --quiet
expect_eq "created on connect.tryfinch.com" "$(q ok.db "SELECT count(*) FROM customers WHERE connect_url LIKE 'https://connect.tryfinch.com/authorize?session=%'")" 3
stop_mock
rm -f l.db* && expect_exit 0 fo import l.csv --db l.db --quiet
start_mock --connect-base https://CONNECT.example.org:443
expect_exit 8 fo run --db l.db --base-url "$MOCK_URL" --rate 0 --quiet
expect_exit 0 fo retry --db l.db
expect_exit 0 fo run --db l.db --base-url "$MOCK_URL" --rate 0 --quiet --connect-host connect.example.org
expect_eq "created with --connect-host" "$(q l.db "SELECT count(*) FROM customers WHERE state = 'created'")" 2
stop_mock
pass "a connect_url elsewhere (javascript:, data:, a look-alike host, userinfo, another port) fails its row with the raw value on record, one request each, no link exported; Finch's host and --connect-host's are links"

# ---- export to a terminal is inert; to a file it is the data ------------------------
printf 'customer_id,customer_name,products\nesc-001,"Evil\033]0;owned\007\033[2J Corp",company\n' >esc.csv
expect_exit 0 fo import esc.csv --db e.db --quiet
python3 - "$FINCH_ONBOARD" e.db >tty.out <<'PY'
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "export", "--db", sys.argv[2]])
out = b""
while True:
    try:
        chunk = os.read(fd, 65536)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
PY
grep -q 'esc-001' tty.out || fail "the terminal got no row: $(cat -v tty.out)"
! grep -q $'\033' tty.out || fail "the terminal got a raw escape: $(cat -v tty.out)"
grep -qF 'Evil\x1b]0;owned\x07\x1b[2J Corp' tty.out || fail "the escape is not shown escaped: $(cat -v tty.out)"
fo export --db e.db --out e.csv
grep -q $'\033\\[2J' e.csv || fail "the file lost its bytes"
fo export --db e.db | grep -q $'\033\\[2J' || fail "the pipe lost its bytes"
pass "export to a terminal escapes control characters; a file and a pipe get them as they are"

finish
