#!/usr/bin/env bash
# tests/bench/slow_clients.sh: finch-mock under 100 slow clients for ten
# minutes, its memory sampled (issue 20, item 10).
#
# Starts finch-mock with its default limits, then for BENCH_SECONDS (default
# 600) keeps 100 hostile clients on it: 40 that dribble their headers a byte
# a second, 30 that send a valid request's headers and then its body a byte
# a second, 30 that announce a 50 MB body without credentials; each
# reconnects when the server closes it. Meanwhile 32 well-behaved clients
# POST valid requests with keep-alive. Every 10 s it samples finch-mock's
# resident memory (VmRSS) and, from GET /stats, the heap as glibc's malloc
# sees it: bytes in use and bytes free but held. It prints the good clients'
# answers and rate, the hostile clients' reconnects, and the RSS at the start,
# the end, its minimum and maximum, then the RSS at 1 min and the slope of a
# least-squares fit of VmRSS over the samples after the first minute (the
# warm-up: the journey's 65,536 sessions are kept by then), in MiB a minute,
# and a verdict: "flat" under 0.05 MiB/min. A heap in use that stays flat
# while RSS creeps is the allocator holding freed memory, not a leak.
#
# Usage: tests/bench/slow_clients.sh [BUILD_DIR]   (default: build)
# Environment: FINCH_MOCK (default BUILD_DIR/finch-mock), BENCH_SECONDS.
set -euo pipefail
. "$(dirname "$0")/lib.sh" "$@"

secs=${BENCH_SECONDS:-600}
bench_setup slow "$FINCH_MOCK" python3
start_bench_mock
url=$mock_url
echo "finch-mock $url (pid $mock_pid), default limits; 100 slow clients and 32 good ones for ${secs}s; $(nproc) CPUs"

python3 - "${url##*:}" "$secs" "$mock_pid" <<'PY'
import asyncio, base64, json, os, sys, time, urllib.request
port, secs, pid = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
auth = base64.b64encode(("%s:%s" % (os.environ["FINCH_CLIENT_ID"], os.environ["FINCH_CLIENT_SECRET"])).encode()).decode()
body = b'{"customer_id":"bench-1","customer_name":"Bench Co","products":["directory"]}'
good_head = ("POST /connect/sessions HTTP/1.1\r\nHost: b\r\nAuthorization: Basic %s\r\n"
             "Finch-API-Version: 2020-09-17\r\nContent-Type: application/json\r\n"
             "Content-Length: %%d\r\n\r\n" % auth)
stats = {"good": 0, "good_fail": 0, "reconnects": 0}
end = time.monotonic() + secs

def rss_kib():
    for line in open("/proc/%s/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

async def dribble(payload, gap):
    while time.monotonic() < end:
        try:
            r, w = await asyncio.open_connection("127.0.0.1", port)
            for i in range(len(payload)):
                if time.monotonic() >= end:
                    break
                w.write(payload[i:i + 1])
                await w.drain()
                if r.at_eof():
                    break
                await asyncio.sleep(gap)
            w.close()
        except (ConnectionError, OSError):
            pass
        stats["reconnects"] += 1
        await asyncio.sleep(0.5)

async def slow_headers():
    await dribble(b"POST /connect/sessions HTTP/1.1\r\nHost: b\r\n" + b"X-Pad: " + b"a" * 4000 + b"\r\n\r\n", 1.0)

async def slow_body():
    await dribble((good_head % 60000).encode() + b"{" * 60000, 1.0 / 64)

async def big_unauth():
    while time.monotonic() < end:
        try:
            r, w = await asyncio.open_connection("127.0.0.1", port)
            w.write(b"POST /connect/sessions HTTP/1.1\r\nHost: b\r\nAuthorization: Basic eDp5\r\n"
                    b"Content-Length: 50000000\r\n\r\n")
            await w.drain()
            await asyncio.wait_for(r.read(), 30)
            w.close()
        except (ConnectionError, OSError, asyncio.TimeoutError):
            pass
        stats["reconnects"] += 1
        await asyncio.sleep(0.2)

async def good():
    r = w = None
    while time.monotonic() < end:
        try:
            if w is None:
                r, w = await asyncio.open_connection("127.0.0.1", port)
            w.write((good_head % len(body)).encode() + body)
            line = await asyncio.wait_for(r.readline(), 10)
            hdrs = {}
            while True:
                h = await r.readline()
                if h in (b"\r\n", b""):
                    break
                k, _, v = h.decode().partition(":")
                hdrs[k.strip().lower()] = v.strip()
            await r.readexactly(int(hdrs.get("content-length", "0")))
            if line.split(b" ")[1:2] == [b"201"]:
                stats["good"] += 1
            else:
                stats["good_fail"] += 1
            if hdrs.get("connection", "").lower() == "close":
                w.close()
                w = None
        except (ConnectionError, OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, IndexError):
            stats["good_fail"] += 1
            w = None
            await asyncio.sleep(0.1)

def heap_kib():
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/stats" % port, timeout=10) as f:
            h = json.load(f).get("heap", {})
        return h.get("in_use", 0) // 1024, h.get("free", 0) // 1024
    except (OSError, ValueError):
        return -1, -1

async def sample(out):
    while True:
        t = round(secs - max(end - time.monotonic(), 0))
        used, free = await asyncio.to_thread(heap_kib)
        out.append((t, rss_kib(), used, free))
        if time.monotonic() >= end:
            break
        await asyncio.sleep(min(10, max(end - time.monotonic(), 0)))

async def main():
    samples = []
    t0 = time.monotonic()
    tasks = [slow_headers() for _ in range(40)] + [slow_body() for _ in range(30)] + \
            [big_unauth() for _ in range(30)] + [good() for _ in range(32)] + [sample(samples)]
    await asyncio.gather(*tasks)
    elapsed = time.monotonic() - t0
    rss = [k for _, k, _, _ in samples]
    tail = [k for t, k, _, _ in samples if t >= secs - 60]
    head = [k for t, k, _, _ in samples if t <= 60]
    print("samples (s:VmRSS KiB/heap in use KiB/heap free KiB):",
          " ".join("%d:%d/%d/%d" % s for s in samples))
    print("good requests: %d 201s (%.0f/s), %d failed; hostile reconnects: %d"
          % (stats["good"], stats["good"] / elapsed, stats["good_fail"], stats["reconnects"]))
    print("VmRSS: start %.1f MiB, end %.1f MiB, min %.1f, max %.1f; max of the first minute %.1f, of the last %.1f"
          % (rss[0] / 1024, rss[-1] / 1024, min(rss) / 1024, max(rss) / 1024, max(head) / 1024, max(tail) / 1024))
    used = [u for _, _, u, _ in samples if u >= 0]
    free = [f for _, _, _, f in samples if f >= 0]
    if used:
        print("heap (glibc, all arenas): in use %.1f MiB at the first sample, %.1f at the last, %.1f at most;"
              " free but held %.1f MiB at the first, %.1f at the last"
              % (used[0] / 1024, used[-1] / 1024, max(used) / 1024, free[0] / 1024, free[-1] / 1024))
    # the first minute is the warm-up (the journey's 65,536 sessions are kept by then):
    # the slope is the least-squares fit of VmRSS on time over the samples after it
    # the last sample is taken as the clients stop: it is left out of the fit
    fit = [s for s in samples[:-1] if s[0] >= 60 or secs <= 120]
    late = [(t, k) for t, k, _, _ in fit]
    at1 = min(samples, key=lambda s: abs(s[0] - 60))[1]
    slope = slope_mib_min(late)
    heap_slope = slope_mib_min([(t, u) for t, _, u, _ in fit if u >= 0])
    print("RSS: start %.1f MiB, at 1 min %.1f MiB, at %d s %.1f MiB; slope from %d s to %d s"
          " %.3f MiB/min (heap in use %.3f MiB/min): %s"
          % (rss[0] / 1024, at1 / 1024, late[-1][0], late[-1][1] / 1024, late[0][0], late[-1][0], slope,
             heap_slope,
             "flat" if slope < 0.05 else "creeps (goal < 0.05 MiB/min)"))

def slope_mib_min(points):
    """The least-squares slope of KiB on seconds, in MiB a minute."""
    n = len(points)
    if n < 2:
        return float("nan")
    mt = sum(t for t, _ in points) / n
    mk = sum(k for _, k in points) / n
    var = sum((t - mt) ** 2 for t, _ in points)
    return sum((t - mt) * (k - mk) for t, k in points) / var * 60 / 1024 if var else float("nan")

asyncio.run(main())
PY
stop_bench_mock
