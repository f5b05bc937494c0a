#!/usr/bin/env bash
# tests/reliability/gzip_201.sh: a gateway that compresses a 201 the client
# never asked to be compressed (RFC 9110 section 12.5.3 allows a server to).
# libcurl decodes every content coding it supports (CURLOPT_ACCEPT_ENCODING
# ""), so the 201 is read as the answer it is: recorded once, never sent
# again. Before, its gzip bytes were "not a JSON object" and each row was
# retried to its budget (15 POSTs for 3 customers, every row failed).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

e2e_setup rel-gzip
trap py_servers_stop EXIT

# A tiny gateway of the test's own: every POST answers 201 with a gzip'd
# body (Content-Encoding: gzip), whatever Accept-Encoding said, and logs it.
cat >gw.py <<'PY'
import gzip, http.server, json, sys, uuid

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        sid = "sess_" + uuid.uuid4().hex
        answer = json.dumps({"session_id": sid,
                             "connect_url": "http://" + self.headers["Host"] + "/authorize?session=" + sid})
        z = gzip.compress(answer.encode())
        with open("gw.log", "a") as log:
            log.write(json.dumps({"path": self.path, "customer_id": body.get("customer_id"),
                                  "status": 201, "session_id": sid,
                                  "accept_encoding": self.headers.get("Accept-Encoding")}) + "\n")
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(z)))
        self.end_headers()
        self.wfile.write(z)

    def log_message(self, *args):
        pass

srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
srv.serve_forever()
PY
py_server gw gw.py
url=$PY_URL

new_db g.db 3 g
expect_exit 0 fo run --db g.db --base-url "$url" --rate 0 --quiet
[ "$(wc -l <gw.log)" = 3 ] || fail "$(wc -l <gw.log) POSTs for 3 customers: a compressed 201 was retried"
[ "$(count_state g.db created)" = 3 ] || fail "created: $(count_state g.db created), want 3"
for sid in $(jq -r .session_id gw.log); do
	[ "$(sqlite3 g.db "SELECT count(*) FROM customers WHERE session_id = '$sid'")" = 1 ] ||
		fail "session $sid the gateway created is not recorded"
done
pass "a gzip'd 201 nobody asked for is decoded and recorded once (3 POSTs, 3 created)"
finish
