#!/usr/bin/env bash
# tests/security/mock_limits.sh: finch-mock holds up against a local user
# (issue 20, item 10). A session request without the credentials gets its
# 401 before any body byte is sent, and one announcing a body over
# --max-body its 413; a body comes whole whether announced, chunked or in
# pieces, and one no answer reads is dropped; an idle connection is closed after --idle-timeout; a
# client past --max-per-client is turned away; the defaults serve 1,000
# concurrent keep-alive connections (two requests on each); it listens on
# loopback unless --bind says otherwise.
set -euo pipefail
. "$(dirname "$0")/../e2e/lib.sh"
tmpdir mock-limits
cd "$E2E_TMP"
port() { echo "${MOCK_URL##*:}"; }

cat >probe.py <<'PY'
import asyncio, base64, os, resource, socket, sys, time
mode, port = sys.argv[1], int(sys.argv[2])
auth = base64.b64encode(("%s:%s" % (os.environ["FINCH_CLIENT_ID"], os.environ["FINCH_CLIENT_SECRET"])).encode()).decode()

def head(auth_value, length):
    return ("POST /connect/sessions HTTP/1.1\r\nHost: t\r\nAuthorization: Basic %s\r\n"
            "Finch-API-Version: 2020-09-17\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\n\r\n" % (auth_value, length)).encode()

def first_line(s):
    s.settimeout(60)  # a deadline for a loaded machine, not a measure
    data = s.recv(4096)
    return data.split(b"\r\n")[0].decode()

if mode == "early":  # headers only, the announced body never sent: the answer must come anyway
    for who, length in (("bad", 50_000_000), (auth, 50_000_000)):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(head(who, length))
        print(first_line(s))
elif mode == "pieces":  # bodies in pieces: announced, chunked, up to --max-body, and one no answer reads
    body = b'{"customer_id":"p-1","customer_name":"P","products":["directory"]}'
    pad = b'{"customer_id":"p-2","customer_name":"P","products":["directory"],"x":"'
    full = pad + b"a" * (1000 - len(pad) - 2) + b'"}'  # exactly --max-body 1000
    chunked = ("POST /connect/sessions HTTP/1.1\r\nHost: t\r\nAuthorization: Basic %s\r\n"
               "Finch-API-Version: 2020-09-17\r\nContent-Type: application/json\r\n"
               "Transfer-Encoding: chunked\r\n\r\n" % auth).encode()
    for first, rest in ((head(auth, len(body)) + body[:10], [body[10:40], body[40:]]),
                        (chunked, [b"%x\r\n%s\r\n" % (len(body) - 30, body[:-30]),
                                   b"%x\r\n%s\r\n0\r\n\r\n" % (30, body[-30:])]),
                        (head(auth, len(full)) + full[:500], [full[500:]]),
                        (chunked, [b"%x\r\n%s \r\n0\r\n\r\n" % (len(full) + 1, full)]),
                        (b"POST /nowhere HTTP/1.1\r\nHost: t\r\nContent-Length: 900\r\n\r\n"
                         + b"x" * 400, [b"x" * 500])):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(first)
        for piece in rest:
            s.sendall(piece)
        print(first_line(s))
        s.close()
elif mode == "idle":  # connect, send nothing: closed long before the 60 s deadline
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(60)
    t0 = time.monotonic()
    try:
        what = "closed" if s.recv(1) == b"" else "data"
    except socket.timeout:
        what = "open"
    print(what, round(time.monotonic() - t0, 1))
elif mode == "per-client":  # N connections held open, then one more request
    # the server may not have seen an earlier probe's connections close yet:
    # an "answered" is final, a "closed" is tried again until the deadline
    n, want = int(sys.argv[3]), sys.argv[4]
    deadline = time.monotonic() + 60
    while True:
        held = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
        for h in held:  # each one answered, so the server has taken (and counts) them all
            h.sendall(head(auth, 2) + b"{}")
            first_line(h)
        s = socket.create_connection(("127.0.0.1", port))
        s.settimeout(60)
        try:
            s.sendall(head(auth, 2) + b"{}")
            got = "answered" if s.recv(4096) else "closed"
        except (ConnectionResetError, BrokenPipeError):
            got = "closed"
        for h in held + [s]:
            h.close()
        if got == want or got == "answered" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    print(got)
elif mode == "thousand":  # 1,000 connections open at once, then two requests on each (keep-alive)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    async def answer(r):
        line = await r.readline()
        length = 0
        while True:
            h = await r.readline()
            if h in (b"\r\n", b""):
                break
            if h.lower().startswith(b"content-length:"):
                length = int(h.split(b":")[1])
        await r.readexactly(length)
        return line.split(b" ")[1] if line else b"none"
    async def one(i, opened, go):
        r, w = await asyncio.open_connection("127.0.0.1", port)
        opened.append(1)
        await go.wait()
        codes = []
        for k in range(2):
            body = ('{"customer_id":"k-%d-%d","customer_name":"K","products":["directory"]}' % (i, k)).encode()
            w.write(head(auth, len(body)) + body)
            codes.append(await answer(r))
        w.close()
        return codes == [b"201", b"201"]
    async def main():
        opened, go = [], asyncio.Event()
        tasks = [asyncio.create_task(one(i, opened, go)) for i in range(1000)]
        while len(opened) < 1000 and not any(t.done() for t in tasks):
            await asyncio.sleep(0.05)
        print("open", len(opened))
        go.set()
        res = await asyncio.gather(*tasks, return_exceptions=True)
        print("201 201", sum(1 for x in res if x is True))
    asyncio.run(main())
PY

# ---- credentials before the body, and the body's size, before it is read ----------------
start_mock --log mock.jsonl
python3 probe.py early "$(port)" >early.txt
expect_eq "answers before any body byte" "$(cat early.txt)" "$(printf 'HTTP/1.1 401 Unauthorized\nHTTP/1.1 413 Content Too Large')"
expect_eq "logged statuses" "$(jq -r .status mock.jsonl | paste -sd' ')" "401 413"
pass "a session request without credentials gets 401, one announcing 50 MB gets 413, before a body byte is sent"

# ---- loopback only unless --bind ------------------------------------------------------
hexport=$(printf '%04X' "$(port)")
grep -q " 0100007F:$hexport 00000000:0000 0A " /proc/net/tcp || fail "not listening on 127.0.0.1:$(port): $(grep ":$hexport " /proc/net/tcp)"
! grep -q " 00000000:$hexport 00000000:0000 0A " /proc/net/tcp || fail "listening on every address"
stop_mock
pass "finch-mock listens on 127.0.0.1 only by default"

# ---- bodies: in pieces, chunked, at the limit; a body no answer reads is dropped ---------
start_mock --max-body 1000
python3 probe.py pieces "$(port)" >pieces.txt
expect_eq "bodies in pieces" "$(cut -d' ' -f2 pieces.txt | paste -sd' ')" "201 201 201 400 404"
stop_mock
pass "a session body sent in pieces, chunked, or of exactly --max-body is read whole; a chunked one a byte longer gets 400; a body no answer reads is dropped (404)"

# ---- idle connections are closed, one client's connections are bounded -----------------------
start_mock --idle-timeout 1s --max-per-client 5
read -r what secs < <(python3 probe.py idle "$(port)")
[ "$what" = closed ] || fail "an idle connection got '$what' after ${secs}s"
expect_eq "a sixth connection from one client" "$(python3 probe.py per-client "$(port)" 5 closed)" closed
expect_eq "the fifth is still served" "$(python3 probe.py per-client "$(port)" 4 answered)" answered
stop_mock
pass "an idle connection is closed after --idle-timeout (${secs}s); a client past --max-per-client 5 is turned away"

# ---- the defaults serve 1,000 concurrent connections ------------------------------------
start_mock
python3 probe.py thousand "$(port)" >thousand.txt
expect_eq "1,000 concurrent connections" "$(cat thousand.txt)" "$(printf 'open 1000\n201 201 1000')"
stop_mock
pass "with the default limits, 1,000 concurrent keep-alive connections are all served (two 201s on each)"
finish
