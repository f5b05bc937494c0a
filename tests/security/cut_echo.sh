#!/usr/bin/env bash
# tests/security/cut_echo.sh: a server that echoes the secret cut short
# (a truncated error message) never gets that prefix into the database, the
# log or an export (issue 20, item 4): bodies and headers are scrubbed of
# the secret and of any prefix of it of 8 bytes or more before they are
# classified, stored or logged, and the identifiers stay intact.
set -euo pipefail
. "$(dirname "$0")/../e2e/lib.sh"
tmpdir cut-echo
cd "$E2E_TMP"
export FINCH_CLIENT_SECRET="cut-echo-secret-$RANDOM$RANDOM-tail"
prefix=${FINCH_CLIENT_SECRET:0:12}

# A server answering each customer with an echo of the secret's first 12 bytes.
python3 - "$prefix" >server.log 2>&1 <<'PY' &
import http.server, json, sys
prefix = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        cid = body.get("customer_id", "")
        extra = {}
        if cid == "c-001":
            status, obj = 400, {"finch_code": "invalid_request",
                                "message": "client_secret '%s' is not valid" % prefix[:10]}
        elif cid == "c-002":
            status, obj = 503, {"message": "upstream refused %s..." % prefix}
            extra["x-should-retry"] = "false"
        else:
            port = self.server.server_address[1]
            status, obj = 201, {"session_id": "s-" + cid, "note": prefix,
                                "connect_url": "http://127.0.0.1:%d/authorize?session=s-%s" % (port, cid)}
        out = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.send_header("Finch-Request-Id", "req-" + prefix)
        for k, v in extra.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(out)
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open("port", "w").write(str(s.server_address[1]))
s.serve_forever()
PY
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; e2e_cleanup' EXIT
wait_for "the echo server" test -s port
url="http://127.0.0.1:$(cat port)"

printf 'customer_id,customer_name,products\nc-001,A,company\nc-002,B,company\nc-003,C,company\n' >c.csv
expect_exit 0 fo import c.csv --db o.db --quiet
expect_exit 1 fo run --db o.db --base-url "$url" --rate 0 --max-attempts 1 --verbose --log-format json
expect_eq "states" "$(sqlite3 o.db "SELECT group_concat(state, ' ') FROM (SELECT state FROM customers ORDER BY customer_id)")" \
	"failed failed created"
expect_eq "the session kept intact" "$(sqlite3 o.db "SELECT session_id FROM customers WHERE customer_id = 'c-003'")" s-c-003
sqlite3 o.db .dump >o.dump
fo export --db o.db --format jsonl >o.jsonl
fo export --db o.db --out o.csv
fo status --db o.db >o.status 2>&1
grep -q 'redacted' o.dump || fail "nothing was redacted: $(grep -i 'valid\|upstream' o.dump | head -3)"
for f in o.dump o.jsonl o.csv o.status all-stderr.log all-stdout.log; do
	! grep -qF "${FINCH_CLIENT_SECRET:0:8}" "$f" || fail "the secret's first 8 bytes are in $f: $(grep -F "${FINCH_CLIENT_SECRET:0:8}" "$f" | head -3)"
done
pass "a secret echoed cut short (10 and 12 bytes, in bodies and Finch-Request-Id) reaches no database, log or export; the session stays intact"
finish
