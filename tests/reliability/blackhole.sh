#!/usr/bin/env bash
# tests/reliability/blackhole.sh: a firewall that drops packets (the usual
# way egress is blocked) makes every connect time out. Such a timeout left
# nothing of the request: it is the breaker's "not there" (breaker.h), like a
# refused port: exit 6 at the start with every row pending and its budget
# untouched. Before, each timeout was a per-row transient error: every row
# spent its budget and ended failed (exit 1), 20,000 rows in about 17 h.
#
# The contrast: a server that accepts the connection but never reads nor
# answers got the request. Its timeouts stay the retry policy's: each row
# spends its attempts and fails, since Finch may have seen them.
#
# The black hole is a listener on loopback that never accepts, its accept
# queue filled by connections of its own: the kernel drops every further
# SYN, as a firewall would (no network needed).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)

e2e_setup rel-blackhole
trap py_servers_stop EXIT

cat >hole.py <<'PY'
import socket, sys, time

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, sys.argv[2])
from synhole import black_hole

mode = sys.argv[1]
if mode == "blackhole":
    # Never accepted: once the queue is full, every new SYN is dropped.
    port, held = black_hole()
else:
    # Accepts, never reads, never answers: the request is sent, then silence.
    l = socket.socket()
    l.bind(("127.0.0.1", 0))
    l.listen(64)
    port = l.getsockname()[1]
    held = []
print(port, flush=True)
while True:
    if mode == "blackhole":
        time.sleep(3600)
    c, _ = l.accept()
    held.append(c)
PY

# ---- a black hole from the start: exit 6, every row pending, no budget spent ----------
WAIT_FOR_SECONDS=60 py_server blackhole hole.py blackhole "$here" # filling the queue is slow on a loaded machine
new_db b.db 40 b
expect_exit 6 fo run --db b.db --base-url "$PY_URL" --rate 0 --quiet --max-attempts 2 \
	--connect-timeout 1s --timeout 2s
grep -q "the API could not be reached; nothing was marked failed" err.txt ||
	fail "a black hole: exit 6 without its message: $(cat err.txt)"
grep -qi "timeout\|timed out" err.txt || fail "a black hole: the timeout is not named: $(cat err.txt)"
[ "$(count_state b.db pending)" = 40 ] || fail "a black hole: $(count_state b.db pending) pending, want 40"
n=$(q b.db "SELECT count(*) FROM attempts")
[ "$n" -ge 3 ] && [ "$n" -le 32 ] || fail "a black hole: $n attempts, want 3..32"
[ "$(q b.db "SELECT count(*) FROM customers WHERE attempts > 0")" = 0 ] ||
	fail "a black hole: a row spent its attempt budget"
[ "$(q b.db "SELECT exit_reason FROM runs ORDER BY id DESC LIMIT 1")" = unreachable ] ||
	fail "a black hole: exit_reason $(q b.db "SELECT exit_reason FROM runs ORDER BY id DESC LIMIT 1")"
pass "connects that time out (a black hole): exit 6 after $n attempts, 40 of 40 rows pending, no budget spent"

# ---- the contrast: sent, never answered: the rows spend and fail -----------------
py_server silent hole.py silent "$here"
new_db s.db 3 s
expect_exit 8 fo run --db s.db --base-url "$PY_URL" --rate 0 --quiet --max-attempts 2 \
	--connect-timeout 1s --timeout 1s
[ "$(count_state s.db failed)" = 3 ] || fail "sent, no answer: $(count_state s.db failed) failed, want 3"
[ "$(q s.db "SELECT count(*) FROM attempts")" = 6 ] ||
	fail "sent, no answer: $(q s.db "SELECT count(*) FROM attempts") attempts, want 6"
pass "a request sent and never answered is the row's: each spends its 2 attempts and fails"

finish
