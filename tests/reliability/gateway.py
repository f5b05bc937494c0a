"""tests/reliability/gateway.py: what a test's own small HTTP server shares
(py_server in lib.sh runs it with this folder on PYTHONPATH).

A script subclasses Handler, answers in do_POST with read_json, new_session,
answer and log_to, and ends with serve(H): it listens on a free loopback port
and prints the port on its first line, which py_server waits for.
"""
import http.server
import json
import threading
import uuid

_log_lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def read_json(self):
        """The request's JSON body."""
        return json.loads(self.rfile.read(int(self.headers["Content-Length"])))

    def new_session(self):
        """A new session_id and the body of the 201 that creates it."""
        sid = "sess_" + uuid.uuid4().hex
        body = json.dumps({"session_id": sid,
                           "connect_url": "http://" + self.headers["Host"] + "/authorize?session=" + sid})
        return sid, body.encode()

    def answer(self, status, ctype, body, headers=()):
        """Sends status with body (bytes) and headers (name, value pairs)."""
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def log_to(path, entry):
    """Appends entry to path as one JSON line, one writer at a time."""
    with _log_lock, open(path, "a") as log:
        log.write(json.dumps(entry) + "\n")


def serve(handler):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    print(srv.server_address[1], flush=True)
    srv.serve_forever()
