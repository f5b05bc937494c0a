#!/usr/bin/env bash
# tests/reliability/blackhole.sh: a firewall that drops packets (the usual
# way egress is blocked) makes every connect time out. Such a timeout left
# nothing of the request: it is the breaker's "not there" (breaker.h), like a
# refused port: exit 6 at the start with every row pending and its budget
# untouched. Before, each timeout was a per-row transient error: every row
# spent its budget and ended failed (exit 1), 20,000 rows in about 17 h.
#
# The contrast: a server that accepts the connection but never reads nor
# answers got the request. Its timeouts are attempts of unknown outcome
# (finch/retry.h, RETRY_UNKNOWN_SETTLE_MS): Finch may still be creating the
# session, so the run does not send the row again, and no run does before 6
# minutes; then each later run sends it once, within its budget.
#
# Mid-run, the API answers K requests and then drops every packet (a
# firewall rule that lands during the night): as for a refused port
# (e2e/unreachable.sh), the run pauses and probes, and ends with exit 6 after
# --max-outage; the K rows keep their sessions, the others go back to pending
# with their budget untouched, and the next run sends each of them once.
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
import json, socket, sys, time, uuid

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, sys.argv[2])
from synhole import black_hole, fill_queue

mode = sys.argv[1]
if mode == "midrun":
    # Answers the first K requests with 201s (Connection: close), then is a
    # black hole on the same port. The hole is made before the K-th answer
    # leaves: with --concurrency 1 no connect of the client's waits in the
    # queue meanwhile, so each later request times out on its connect.
    k, log = int(sys.argv[3]), sys.argv[4]
    l = socket.socket()
    l.bind(("127.0.0.1", 0))
    l.listen(16)
    print(l.getsockname()[1], flush=True)
    held = [l]
    for i in range(k):
        c, _ = l.accept()
        f = c.makefile("rb")
        length = 0
        while True:
            line = f.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode().partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        cid = json.loads(f.read(length))["customer_id"]
        sid = "sess_" + uuid.uuid4().hex
        body = json.dumps({"session_id": sid,
                           "connect_url": "https://connect.tryfinch.com/authorize?session=" + sid}).encode()
        if i == k - 1:
            held += fill_queue(l)
        c.sendall(b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
                  b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        c.close()
        with open(log, "a") as out:
            out.write(json.dumps({"customer_id": cid, "session_id": sid, "status": 201}) + "\n")
    while True:
        time.sleep(3600)
elif mode == "blackhole":
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

# ---- a black hole mid-run: pause, probe, exit 6 as for a refused port -------------
# 5 answered, then every connect times out. --concurrency 1: one request at
# a time, so the 6th connect is the first to meet the hole.
k=5
py_server midrun hole.py midrun "$here" "$k" "$E2E_TMP/midrun.log"
new_db m.db 12 m
expect_exit 6 fo run --db m.db --base-url "$PY_URL" --rate 0 --concurrency 1 --max-attempts 2 \
	--connect-timeout 1s --timeout 20s --max-outage 2s --log-format json
[ "$(wc -l <midrun.log)" = "$k" ] || fail "mid-run: the server answered $(wc -l <midrun.log), want $k"
# The K answered rows hold the sessions the server gave them.
jq -r '.customer_id + " " + .session_id' midrun.log | sort >answered.txt
q m.db "SELECT customer_id || ' ' || session_id FROM customers WHERE state = 'created'" |
	sort >created.txt
cmp -s answered.txt created.txt || fail "mid-run: the created rows are not the answered ones:
$(diff answered.txt created.txt)"
# The rest met the hole: pending, budget untouched, their attempts timed-out connects.
[ "$(count_state m.db pending)" = $((12 - k)) ] ||
	fail "mid-run: $(count_state m.db pending) pending, want $((12 - k))"
[ "$(q m.db "SELECT count(*) FROM customers WHERE attempts > 0 AND state <> 'created'")" = 0 ] ||
	fail "mid-run: a row that met the black hole spent its attempt budget"
n=$(q m.db "SELECT count(*) FROM attempts a JOIN customers c ON c.id = a.customer
	WHERE c.state = 'pending'")
[ "$n" -ge 3 ] || fail "mid-run: $n attempts of pending rows, want 3 at least (the breaker's threshold)"
[ "$(q m.db "SELECT count(*) FROM attempts a JOIN customers c ON c.id = a.customer
	WHERE c.state = 'pending' AND (a.http_status IS NOT NULL OR a.transport_error NOT LIKE '%onnect%time%')")" = 0 ] ||
	fail "mid-run: an attempt of a pending row is not a connect that timed out: $(q m.db \
		"SELECT transport_error FROM attempts WHERE http_status IS NULL LIMIT 3")"
# Paused and probed, ended as a refused port mid-run ends (e2e/unreachable.sh).
grep -q '"event":"outage"' err.txt || fail "mid-run: the outage was not logged: $(tail -n 3 err.txt)"
grep -q '"event":"outage".*rows keep their attempt budget' err.txt ||
	fail "mid-run: the outage line does not say that rows keep their budget"
grep -q "had not come back after 2 s" err.txt ||
	fail "mid-run: the give-up is not explained: $(tail -n 3 err.txt)"
grep -q "the API could not be reached; nothing was marked failed" err.txt ||
	fail "mid-run: exit 6 without its message: $(tail -n 3 err.txt)"
[ "$(q m.db "SELECT exit_reason FROM runs ORDER BY id DESC LIMIT 1")" = unreachable ] ||
	fail "mid-run: exit_reason $(q m.db "SELECT exit_reason FROM runs ORDER BY id DESC LIMIT 1")"
# The morning after: each remaining row is sent once, none of the K again.
start_mock --log "$E2E_TMP/m-after.log"
expect_exit 0 fo run --db m.db --base-url "$MOCK_URL" --rate 0 --quiet
stop_mock
[ "$(count_state m.db created)" = 12 ] || fail "mid-run: the next run did not finish the batch"
jq -r 'select(.path == "/connect/sessions") | .customer_id' m-after.log | sort >posts.txt
q m.db "SELECT customer_id FROM customers WHERE customer_id NOT IN ($(
	jq -r '"\u0027" + .customer_id + "\u0027"' midrun.log | paste -sd,))" | sort >remaining.txt
cmp -s posts.txt remaining.txt || fail "mid-run: the next run's POSTs are not one per remaining row:
$(diff posts.txt remaining.txt)"
pass "a black hole mid-run: $k created, then pause and probe ($n timed-out connects), exit 6; $((12 - k)) rows pending with their budget, each sent once the next run"

# ---- the contrast: sent, never answered: an outcome unknown, once per run ----------
py_server silent hole.py silent "$here"
new_db s.db 3 s
expect_exit 8 fo run --db s.db --base-url "$PY_URL" --rate 0 --quiet --max-attempts 2 \
	--connect-timeout 1s --timeout 1s
[ "$(count_state s.db retry_wait)" = 3 ] ||
	fail "sent, no answer: $(count_state s.db retry_wait) rows waiting, want 3: $(cat err.txt)"
[ "$(q s.db "SELECT count(*) FROM attempts WHERE transport_error = 'outcome unknown'")" = 3 ] ||
	fail "sent, no answer: $(q s.db "SELECT count(*) FROM attempts") attempts, want 3, each of unknown outcome"
[ "$(q s.db "SELECT count(*) FROM customers WHERE error LIKE 'outcome unknown: no answer within --timeout%'
	AND next_attempt_at >= updated_at + 350000")" = 3 ] ||
	fail "sent, no answer: the rows do not say why, or are due before 6 minutes: $(q s.db "SELECT error, next_attempt_at - updated_at FROM customers")"
expect_exit 0 fo status --db s.db
grep -q "^outcome unknown: 3 rows" out.txt || fail "status does not count them: $(cat out.txt)"
# retry, bare or naming a row, leaves them alone too, and says until when
expect_exit 0 fo retry --db s.db --state failed,retry_wait
grep -q "^re-queued 0 rows" out.txt && grep -q "3 rows left alone: the last request went out and its answer was lost" err.txt ||
	fail "a bare retry re-queued rows of unknown outcome: $(cat out.txt err.txt)"
expect_exit 0 fo retry --db s.db --state retry_wait --customer s-1
grep -q "customer 's-1' left alone: its last request went out and its answer was lost" err.txt ||
	fail "retry --customer re-queued a row of unknown outcome: $(cat out.txt err.txt)"
expect_exit 1 fo run --db s.db --base-url "$PY_URL" --rate 0 --quiet --max-attempts 2 \
	--connect-timeout 1s --timeout 1s
[ "$(q s.db "SELECT count(*) FROM attempts")" = 3 ] ||
	fail "a run at once sent again what Finch may still be creating: $(q s.db "SELECT count(*) FROM attempts") attempts"
FINCH_ONBOARD_NOW=$(($(date +%s) + 420)) expect_exit 8 fo run --db s.db --base-url "$PY_URL" \
	--rate 0 --max-attempts 2 --connect-timeout 1s --timeout 1s --log-format json
[ "$(jq -r 'select(.event == "resend_unknown") | .customer_id' err.txt | sort -u | wc -l)" = 3 ] ||
	fail "7 minutes later: the rows are not each sent again once, naming it: $(cat err.txt)"
[ "$(jq -r 'select(.event == "run_end") | "\(.exit_code) \(.exit_reason)"' err.txt)" = "8 no_success" ] ||
	fail "the run_end event does not give the exit code and reason of the process (8, no_success): $(grep run_end err.txt)"
[ "$(count_state s.db failed)" = 3 ] && [ "$(q s.db "SELECT count(*) FROM attempts")" = 6 ] ||
	fail "7 minutes later: $(count_state s.db failed) failed, $(q s.db "SELECT count(*) FROM attempts") attempts, want 3 and 6"
pass "a request sent and never answered has an unknown outcome: never sent again in its run, nor by a run before 6 minutes; then once per run, within the budget"

finish
