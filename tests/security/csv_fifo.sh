#!/usr/bin/env bash
# tests/security/csv_fifo.sh: a FIFO planted at the CSV's path of `import`
# or `sync` (issue 20, item 2: whoever can write the drop folder can do it).
# It made the writer block in open(2) after it had taken the database's
# lock, deaf to SIGTERM: every other writer got exit 4 all night. Now, for
# both commands:
#  1. a FIFO with no writer: --read-timeout ends the wait (exit 2, naming the
#     file); without it the command waits holding no lock (another import
#     runs beside it, exit 0) and SIGTERM ends it (exit 5, nothing imported);
#  2. a FIFO whose writer sent half a CSV and stalls: SIGTERM ends it under
#     the lock (exit 5), nothing of it imported, the lock free; and
#     --read-timeout ends it too (exit 2).
# The test holds a stalled FIFO open read-write itself (fd 7), so no helper
# process is left; the commands in the background are killed by pid.
set -euo pipefail
. "$(dirname "$0")/../e2e/lib.sh"
tmpdir csv-fifo
cd "$E2E_TMP"

printf 'customer_id,customer_name,products\nok-1,Before,company\n' >before.csv
expect_exit 0 fo import before.csv --db d.db --quiet
mkfifo in.fifo
n=0

# the commands under test, on in.fifo; sync's run would go to a port where
# nothing listens on loopback, but it never gets there
cmd_import() { echo import in.fifo --db d.db "$@"; }
cmd_sync() { echo sync in.fifo --db d.db --out out.csv --base-url http://127.0.0.1:9 "$@"; }

# another writer of the database: a real file's import, exit 0 (4 when locked)
other_writer() {
	n=$((n + 1))
	printf 'customer_id,customer_name,products\nother-%s,Other,company\n' "$n" >other.csv
	expect_exit 0 fo import other.csv --db d.db --quiet
}
# the customers, to compare before and after
customers() { q d.db "SELECT group_concat(customer_id, ' ') FROM (SELECT customer_id FROM customers ORDER BY 1)"; }
has_open() { ls -l "/proc/$BG_PID/fd" 2>/dev/null | grep -qE "$1"; }
gone() { ! kill -0 "$BG_PID" 2>/dev/null; }
# term_and_wait WHAT: SIGTERM to the command in the background; it must end
# (within a generous deadline, not a timing) with exit 5
term_and_wait() {
	kill -TERM "$BG_PID"
	poll_until 30 gone || fail "$1: still runs 30 s after SIGTERM"
	bg_wait
	[ "$BG_RC" = 5 ] || fail "$1: exit $BG_RC after SIGTERM, want 5: $(cat bg.err)"
}

for c in import sync; do
	# ---- 1. a FIFO with no writer ---------------------------------------------------
	rm -f out.csv
	# shellcheck disable=SC2046
	expect_exit 2 timeout 60 "$FINCH_ONBOARD" $(cmd_$c --read-timeout 1s)
	expect_eq "$c: no writer, --read-timeout 1s" "$(cat err.txt)" \
		"finch-onboard: error: 'in.fifo' sent nothing for 1s (--read-timeout): nothing was imported"
	[ ! -e out.csv ] || fail "$c: an export was written for a FIFO that sent nothing"
	pass "$c FIFO with no writer, --read-timeout 1s: exit 2 naming the file"

	before=$(customers)
	# shellcheck disable=SC2046
	bg_fo bg $(cmd_$c --read-timeout 0)
	# under way: it has the FIFO open (without the fix it blocks in open(2)
	# holding the lock, the database open)
	wait_for "$c to open the FIFO" has_open "in.fifo|d.db\$"
	other_writer # exit 4 if the waiting command held the lock
	term_and_wait "$c on a FIFO with no writer"
	grep -q "in.fifo: interrupted while waiting for its first bytes: nothing was imported" bg.err ||
		fail "$c: no 'interrupted ... nothing was imported': $(cat bg.err)"
	[ ! -e out.csv ] || fail "$c: an export was written for a FIFO that sent nothing"
	expect_eq "$c: customers" "$(customers)" "$before other-$n"
	other_writer
	pass "$c FIFO with no writer holds no lock (another import runs beside it); SIGTERM: exit 5"

	# ---- 2. a writer that sent half a CSV and stalls ----------------------------------
	exec 7<>in.fifo
	printf 'customer_id,customer_name,products\nhalf-1,Half,company\nhalf-2,Ha' >&7
	before=$(customers)
	imports=$(q d.db "SELECT count(*) FROM imports")
	# shellcheck disable=SC2046
	bg_fo bg $(cmd_$c --read-timeout 0)
	# reading under the lock: the database is open
	wait_for "$c to lock and open the database" has_open "d.db\$"
	term_and_wait "$c on a FIFO that stalls"
	grep -q "in.fifo: interrupted at line .*: nothing was imported" bg.err ||
		fail "$c: no 'interrupted at line ... nothing was imported': $(cat bg.err)"
	expect_eq "$c: customers after a stalled FIFO" "$(customers)" "$before"
	expect_eq "$c: imports after a stalled FIFO" "$(q d.db "SELECT count(*) FROM imports")" "$imports"
	other_writer # the lock is free
	pass "$c FIFO that stalls after half a CSV: SIGTERM is exit 5, nothing of it imported, the lock free"

	# the same with --read-timeout 1s: exit 2 naming the file
	printf 'customer_id,customer_name,products\nhalf-1,Half,company\nhalf-2,Ha' >&7
	# shellcheck disable=SC2046
	expect_exit 2 timeout 60 "$FINCH_ONBOARD" $(cmd_$c --read-timeout 1s)
	grep -q "error: 'in.fifo' sent nothing for 1s (--read-timeout): nothing was imported" err.txt ||
		fail "$c: a stalled FIFO with --read-timeout 1s: $(cat err.txt)"
	exec 7>&-
	expect_eq "$c: customers after a timed-out FIFO" "$(customers)" "$before other-$n"
	other_writer
	pass "$c FIFO that stalls, --read-timeout 1s: exit 2 naming the file, nothing imported"
done

expect_exit 2 fo import before.csv --db d.db --read-timeout soon
expect_eq "a bad --read-timeout" "$(cat err.txt)" \
	"finch-onboard: error: option '--read-timeout': 'soon' is not a duration (30s, 5m, 0)"
pass "a bad --read-timeout is exit 2 naming the option"
finish
