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
import gzip
from gateway import Handler, log_to, serve

class H(Handler):
    def do_POST(self):
        body = self.read_json()
        sid, answer = self.new_session()
        log_to("gw.log", {"path": self.path, "customer_id": body.get("customer_id"), "status": 201,
                          "session_id": sid, "accept_encoding": self.headers.get("Accept-Encoding")})
        self.answer(201, "application/json", gzip.compress(answer), [("Content-Encoding", "gzip")])

serve(H)
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
