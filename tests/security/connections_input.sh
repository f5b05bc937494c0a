#!/usr/bin/env bash
# tests/security/connections_input.sh: 'connections import' reads a bounded
# input (issue 20, item 2). A FIFO whose writer never sends a newline (64 MiB
# of one line, then silence) is refused at the line limit with FILE:LINE,
# instead of growing until the writer stops; a line just under the limit is
# read; an empty file is an error, not a silent exit 0. A FIFO that sends
# nothing never holds the database: the file is read whole before the
# writer's lock is taken (a sync beside it runs), a late writer's lines are
# all imported, and --read-timeout bounds the wait (exit 2, naming the file).
set -euo pipefail
. "$(dirname "$0")/../e2e/lib.sh"
tmpdir connections-input
cd "$E2E_TMP"

printf 'customer_id,customer_name,products\nc-001,C,company\n' >c.csv
expect_exit 0 fo import c.csv --db c.db --quiet

# ---- a FIFO that never sends a newline ------------------------------------------
# The writer sends 64 MiB without a line end and then holds the FIFO open
# until it is told to go: without the limit the import would read it all and
# wait for more, and timeout(1) would end it (exit 124, the test fails).
mkfifo endless.fifo
python3 - endless.fifo <<'PY' &
import os, signal, sys, time
signal.signal(signal.SIGPIPE, signal.SIG_DFL)
with open(sys.argv[1], "wb") as f:
    try:
        for _ in range(1024):
            f.write(b"x" * 65536)
        f.flush()
        while not os.path.exists("release"):
            time.sleep(0.05)
    except BrokenPipeError:
        pass
PY
writer=$!
expect_exit 2 timeout 60 "$FINCH_ONBOARD" connections import endless.fifo --db c.db
touch release
wait "$writer" || true
expect_eq "the error" "$(cat err.txt)" \
	"finch-onboard: error: endless.fifo:1: a line longer than 65536 bytes: not a connections file"
pass "a FIFO that never sends a newline is refused at 64 KiB (exit 2, FILE:LINE)"

# ---- a long line under the limit is still a line --------------------------------
long=$(printf 'y%.0s' $(seq 1 60000))
printf 'customer_id,connection_id\n%s,conn-1\n' "$long" >long.csv
expect_exit 1 fo connections import long.csv --db c.db
grep -q "long.csv:2: customer '${long:0:20}" err.txt || fail "a 60,000-byte line: $(head -c 300 err.txt)"
pass "a line of 60,000 bytes is read (an unknown customer, exit 1)"

# ---- an empty file, or one of blank lines, is an error ----------------------------
: >empty.csv
printf '\n\r\n  \n' >blank.csv
for f in empty.csv blank.csv; do
	expect_exit 2 fo connections import "$f" --db c.db
	expect_eq "$f" "$(cat err.txt)" "finch-onboard: error: '$f' is empty: no header and no connection"
	[ ! -s out.txt ] || fail "$f: a summary was printed: $(cat out.txt)"
done
# a header alone is a day without connections: counted, exit 0
printf 'customer_id,connection_id\n' >header.csv
expect_exit 0 fo connections import header.csv --db c.db
grep -q "connections header.csv: 0 lines" out.txt || fail "a header alone: $(cat out.txt)"
pass "an empty or blank file is exit 2 naming it; a header alone is 0 lines, exit 0"

# ---- a FIFO that sends nothing holds no lock --------------------------------------
# The import waits on a FIFO with no writer (--read-timeout 0: as long as it
# takes) while another writer of the database runs: it must not be refused
# as "in use" (exit 4). Then the FIFO's late writer sends its lines, and
# every one is imported.
mkfifo late.fifo
bg_fo late connections import late.fifo --db c.db --read-timeout 0
# under way: it has the FIFO (or, holding the lock, the database) open
under_way() { ls -l "/proc/$BG_PID/fd" 2>/dev/null | grep -qE "late.fifo|c.db\$"; }
wait_for "the import to open the FIFO" under_way
expect_exit 0 fo retry --db c.db
printf 'customer_id,connection_id\nc-001,conn-late\n' >late.fifo
bg_wait
[ "$BG_RC" = 0 ] || fail "the late FIFO's import exited $BG_RC: $(cat late.err)"
[ "$(q c.db "SELECT connection_id FROM customers WHERE customer_id = 'c-001'")" = conn-late ] ||
	fail "the late FIFO's line was not imported: $(cat late.out late.err)"
pass "a FIFO with no writer yet holds no lock (another writer runs beside it); its late lines are imported"

# --read-timeout: a FIFO whose writer never comes, and one that stops mid-line
expect_exit 2 timeout 60 "$FINCH_ONBOARD" connections import late.fifo --db c.db --read-timeout 1s
expect_eq "the error" "$(cat err.txt)" \
	"finch-onboard: error: 'late.fifo' sent nothing for 1s (--read-timeout): nothing was imported"
# a writer that sent a line and a half and went quiet: the test holds the
# FIFO open read-write, so nothing waits on anyone and no EOF comes
exec 7<>late.fifo
printf 'customer_id,connection_id\nc-001,conn-stalled' >&7
expect_exit 2 timeout 60 "$FINCH_ONBOARD" connections import late.fifo --db c.db --read-timeout 1s
exec 7>&-
grep -q "'late.fifo' sent nothing for 1s" err.txt || fail "a stalled FIFO: $(cat err.txt)"
[ "$(q c.db "SELECT connection_id FROM customers WHERE customer_id = 'c-001'")" = conn-late ] ||
	fail "a stalled FIFO's partial line changed the database"
expect_exit 2 fo connections import header.csv --db c.db --read-timeout soon
expect_eq "a bad --read-timeout" "$(cat err.txt)" \
	"finch-onboard: error: option '--read-timeout': 'soon' is not a duration (30s, 5m, 0)"
pass "--read-timeout: a FIFO that sends nothing, or stops mid-line, is exit 2 naming it, nothing imported"
finish
