#!/usr/bin/env bash
# tests/reliability/clock_step.sh: intervals on the monotonic clock (issue
# 15). A retry due in 2 s within a run fires in about 2 s when the wall clock
# steps back an hour mid-run (NTP, `date -s`); it waited the hour before,
# holding the database lock. The wall clock is stepped by the test hook
# FINCH_ONBOARD_CLOCK_STEP (base/util.h), 1 s after the run's first reading:
# after the first answer has set the retry's due time, before it is due.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

e2e_setup rel-clock-step
trap py_servers_stop EXIT

# A server of the test's own: each customer's first POST is a 503 with
# Retry-After: 2, the second a 201; every request logged.
cat >srv.py <<'PY'
import http.server, json, uuid

seen = set()

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        cid = body.get("customer_id")
        if cid not in seen:
            seen.add(cid)
            status, sid, answer = 503, None, {"error": {"message": "try again"}}
        else:
            sid = "sess_" + uuid.uuid4().hex
            status = 201
            answer = {"session_id": sid,
                      "connect_url": "http://" + self.headers["Host"] + "/authorize?session=" + sid}
        raw = json.dumps(answer).encode()
        with open("srv.log", "a") as log:
            log.write(json.dumps({"path": self.path, "customer_id": cid, "status": status,
                                  "session_id": sid}) + "\n")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if status == 503:
            self.send_header("Retry-After", "2")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args):
        pass

srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
srv.serve_forever()
PY
py_server srv srv.py

new_db c.db 1 c
FINCH_ONBOARD_CLOCK_STEP=1000,-3600000 bg_fo run run --db c.db --base-url "$PY_URL" --rate 0 \
	--log-format json
_run_done() { ! kill -0 "$BG_PID" 2>/dev/null; }
poll_until 60 _run_done || fail "the run still waits 60 s after a retry due in 2 s: the wall clock's step back an hour stretched it"
bg_wait
[ "$BG_RC" = 0 ] || fail "run exited $BG_RC: $(tail -n 3 run.err)"
[ "$(wc -l <srv.log)" = 2 ] || fail "$(wc -l <srv.log) POSTs, want 2 (a 503, then its retry)"
[ "$(count_state c.db created)" = 1 ] || fail "created: $(count_state c.db created), want 1"
check_invariants c.db srv.log --one-201
pass "a retry due in 2 s fires and the run finishes although the wall clock stepped back an hour"
finish
