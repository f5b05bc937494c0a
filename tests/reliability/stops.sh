#!/usr/bin/env bash
# tests/reliability/stops.sh: every stop but a second signal drains. A run
# that stops early (exit 7 for a per-IP 429 with a long hint, exit 6 when the
# breaker gives up) sends nothing more, but waits up to --grace for the
# answers in flight and records them, as a 401 does (auth_401.sh). Before,
# they were cut short unread: with the emulator limiting at 20 and 429s
# arriving before some 201s, it created 20 sessions and the database
# recorded 9; the next run gave 11 customers a second session.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

e2e_setup rel-stops

# every_201_recorded DB LOG: each session the emulator created is in the database.
every_201_recorded() {
	local sid missing=0
	for sid in $(jq -r 'select(.status == 201) | .session_id' "$2"); do
		[ "$(q "$1" "SELECT count(*) FROM attempts WHERE session_id = '$sid'")" = 1 ] ||
			missing=$((missing + 1))
	done
	[ "$missing" = 0 ] || fail "$1: $missing of $(jq -c 'select(.status == 201)' "$2" | wc -l) sessions the emulator created are not recorded"
}

# ---- exit 7: the per-IP limit crossed while 16 requests are in flight ---------------
new_db p.db 60 p
start_mock --rate-limit 20/60s --penalty 60m --latency 150ms --jitter 140ms --seed 4 \
	--log "$E2E_TMP/m-ip.log"
expect_exit 7 fo run --db p.db --base-url "$MOCK_URL" --rate 0 --concurrency 16 --quiet
stop_mock
sent_201=$(jq -c 'select(.status == 201)' m-ip.log | wc -l)
[ "$sent_201" = 20 ] || fail "the emulator created $sent_201 sessions, want 20 (its limit)"
every_201_recorded p.db m-ip.log
[ "$(count_state p.db created)" = 20 ] || fail "created: $(count_state p.db created), want 20"
[ "$(count_state p.db failed)" = 0 ] || fail "a per-IP stop marked rows failed"
check_invariants p.db m-ip.log --one-201
# The next run, an hour later (the penalty over), sends only the 40 rows without a session.
start_mock --log "$E2E_TMP/m-ip2.log"
FINCH_ONBOARD_NOW=$(($(date +%s) + 3700)) expect_exit 0 fo run --db p.db --base-url "$MOCK_URL" \
	--rate 0 --quiet
stop_mock
[ "$(requests m-ip2.log)" = 40 ] || fail "the next run sent $(requests m-ip2.log) requests, want 40"
pass "exit 7 with requests in flight: all 20 sessions recorded, the next run sends the other 40 only"

# ---- exit 6: a backend of a load balancer answers bare 404s --------------------------
# Every other request reaches a backend that answers 404 at once (no
# finch_code: "not the API"); the others reach a good one that answers 201
# after 400 ms. Three quick 404s make the breaker give up at the start
# (exit 6) while the slow 201s are in flight: they must be recorded (before:
# 5 created, 0 recorded).
trap py_servers_stop EXIT
cat >lb.py <<'PY'
import threading, time
from gateway import Handler, log_to, serve

lock = threading.Lock()
count = [0]

class H(Handler):
    def do_POST(self):
        body = self.read_json()
        with lock:
            count[0] += 1
            n = count[0]
        entry = {"path": self.path, "customer_id": body.get("customer_id")}
        if n % 2 == 0:
            status, ctype, answer = 404, "text/html", b"<html>not found</html>"
        else:
            time.sleep(0.4)
            entry["session_id"], answer = self.new_session()
            status, ctype = 201, "application/json"
        entry["status"] = status
        log_to("lb.log", entry)
        self.answer(status, ctype, answer)

serve(H)
PY
py_server lb lb.py
new_db u.db 40 u
expect_exit 6 fo run --db u.db --base-url "$PY_URL" --rate 0 \
	--concurrency 8 --quiet
grep -q "HTTP 404" err.txt || fail "exit 6 does not name the 404: $(cat err.txt)"
sent_201=$(jq -c 'select(.status == 201)' lb.log | wc -l)
[ "$sent_201" -ge 3 ] || fail "only $sent_201 sessions in flight at the stop: the test is too weak"
every_201_recorded u.db lb.log
[ "$(count_state u.db created)" = "$sent_201" ] ||
	fail "created: $(count_state u.db created), want $sent_201"
[ "$(count_state u.db failed)" = 0 ] || fail "exit 6 marked rows failed"
check_invariants u.db lb.log --one-201
pass "exit 6 at the start with slow 201s in flight: all $sent_201 recorded, nothing failed"
finish
