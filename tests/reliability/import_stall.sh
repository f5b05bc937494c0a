#!/usr/bin/env bash
# tests/reliability/import_stall.sh: `import -` from a pipe that stalls
# honours SIGTERM at once (issue 15). `(head; sleep 600) | import -` sent a
# header and two rows, then nothing: the reading thread waited in read()
# for 64 KiB more, past any signal, holding the database's lock, until the
# writer went away. Now it waits in poll() beside the signals' self-pipe:
# the import stops, rolls its one transaction back (the rows read so far are
# not imported: the database is as before) and exits 5, the lock free.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

e2e_setup rel-import-stall
writer=
stop_writer() {
	[ -z "$writer" ] || kill -TERM "$writer" 2>/dev/null || true
	e2e_cleanup
}
trap stop_writer EXIT

printf 'customer_id,customer_name,products\nok-1,Before,company\n' >before.csv
expect_exit 0 fo import before.csv --db s.db --quiet

mkfifo in.fifo
# the writer: a header and two rows, then silence with the pipe held open
{ printf 'customer_id,customer_name,products\nst-1,One,company\nst-2,Two,company\n'; exec sleep 600; } >in.fifo &
writer=$!
# not bg_fo: a command put in the background without job control reads /dev/null
"$FINCH_ONBOARD" import - --db s.db <in.fifo >imp.out 2>imp.err &
BG_PID=$!
# the reading thread exists once the import reads: its signal handlers are in place
reading() { [ "$(ls "/proc/$BG_PID/task" 2>/dev/null | wc -l)" -ge 2 ]; }
wait_for "the import to start reading" reading
kill -TERM "$BG_PID"
gone() { ! kill -0 "$BG_PID" 2>/dev/null; }
poll_until 30 gone || fail "import - still runs 30 s after SIGTERM, on a pipe that stalls"
bg_wait
[ "$BG_RC" = 5 ] || fail "import - after SIGTERM: exit $BG_RC, want 5: $(cat imp.err)"
grep -q "interrupted at line .*: nothing was imported" imp.err ||
	fail "no 'interrupted ... nothing was imported': $(cat imp.err)"
kill -0 "$writer" 2>/dev/null || fail "the writer ended: the pipe did not stall"
pass "SIGTERM stops import - on a pipe that stalls: exit 5, the writer still there"

expect_eq "customers after the interrupted import" \
	"$(q s.db "SELECT group_concat(customer_id) FROM customers")" ok-1
expect_eq "imports recorded" "$(q s.db "SELECT count(*) FROM imports")" 1
printf 'customer_id,customer_name,products\nok-2,After,company\n' >after.csv
expect_exit 0 fo import after.csv --db s.db --quiet # exit 4 if the lock were still held
expect_eq "integrity" "$(q s.db "PRAGMA integrity_check")" ok
pass "the rows read so far are rolled back (the database as before), and the lock is free"
finish
