#!/usr/bin/env bash
# tests/bench/keepalive.sh: finch-mock with its default limits under 1,000
# concurrent keep-alive connections (issue 20, item 10: "defaults that serve
# a load test of 1,000 concurrent connections").
#
# Opens 1,000 connections to one finch-mock (one client address, so
# --max-per-client binds too), waits until all are open, then each sends
# session requests one after the other on its own connection for
# BENCH_SECONDS (default 30). Prints the connections opened, the requests
# answered 201 and their rate, failures, connections the server closed,
# latency percentiles, and finch-mock's resident memory at the start and
# the end. The load generator (Python asyncio, one core) shares the machine
# with the server: the rate is the client's as much as the server's.
#
# Usage: tests/bench/keepalive.sh [BUILD_DIR]   (default: build)
# Environment: FINCH_MOCK (default BUILD_DIR/finch-mock), BENCH_SECONDS,
# BENCH_CONNECTIONS (default 1000).
set -euo pipefail
. "$(dirname "$0")/lib.sh" "$@"

secs=${BENCH_SECONDS:-30}
conns=${BENCH_CONNECTIONS:-1000}
bench_setup keepalive "$FINCH_MOCK" python3
start_bench_mock
echo "finch-mock $mock_url (pid $mock_pid), default limits; $conns keep-alive connections for ${secs}s; $(nproc) CPUs"

python3 - "${mock_url##*:}" "$secs" "$mock_pid" "$conns" <<'PY'
import asyncio, base64, os, resource, sys, time
port, secs, pid, nconn = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3], int(sys.argv[4])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
auth = base64.b64encode(("%s:%s" % (os.environ["FINCH_CLIENT_ID"], os.environ["FINCH_CLIENT_SECRET"])).encode()).decode()
stats = {"ok": 0, "other": 0, "closed": 0, "errors": 0}
lat = []

def rss_kib():
    with open("/proc/%s/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])

async def client(i, opened, go, end):
    r, w = await asyncio.open_connection("127.0.0.1", port)
    opened.append(1)
    await go.wait()
    n = 0
    while time.monotonic() < end[0]:
        n += 1
        body = ('{"customer_id":"ka-%d-%d","customer_name":"K","products":["directory"]}' % (i, n)).encode()
        t0 = time.monotonic()
        try:
            w.write(("POST /connect/sessions HTTP/1.1\r\nHost: b\r\nAuthorization: Basic %s\r\n"
                     "Finch-API-Version: 2020-09-17\r\nContent-Type: application/json\r\n"
                     "Content-Length: %d\r\n\r\n" % (auth, len(body))).encode() + body)
            status = (await r.readline()).split(b" ")[1:2]
            length, close = 0, False
            while True:
                h = (await r.readline()).lower()
                if h in (b"\r\n", b""):
                    break
                if h.startswith(b"content-length:"):
                    length = int(h.split(b":")[1])
                if h.startswith(b"connection:") and b"close" in h:
                    close = True
            await r.readexactly(length)
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            stats["errors"] += 1
            return
        lat.append(time.monotonic() - t0)
        stats["ok" if status == [b"201"] else "other"] += 1
        if close:
            stats["closed"] += 1
            return
    w.close()

async def main():
    opened, go, end = [], asyncio.Event(), [0.0]
    tasks = [asyncio.create_task(client(i, opened, go, end)) for i in range(nconn)]
    deadline = time.monotonic() + 60
    while len(opened) < nconn and time.monotonic() < deadline and not any(t.done() for t in tasks):
        await asyncio.sleep(0.05)
    rss0 = rss_kib()
    print("connections open: %d of %d; VmRSS %.1f MiB" % (len(opened), nconn, rss0 / 1024))
    t0 = time.monotonic()
    end[0] = t0 + secs
    go.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    elapsed = time.monotonic() - t0
    lat.sort()
    pct = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else 0
    print("requests: %d 201s (%.0f/s), %d other answers, %d errors, %d closed by the server"
          % (stats["ok"], stats["ok"] / elapsed, stats["other"], stats["errors"], stats["closed"]))
    print("latency: p50 %.1f ms, p99 %.1f ms, max %.1f ms" % (pct(0.5), pct(0.99), pct(1.0)))
    print("VmRSS: %.1f MiB with the connections open, %.1f MiB at the end" % (rss0 / 1024, rss_kib() / 1024))
asyncio.run(main())
PY
stop_bench_mock
