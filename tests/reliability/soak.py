#!/usr/bin/env python3
"""tests/reliability/soak.py: the fault soak. Randomised schedules of writer
runs against finch-mock and a small server of its own, with stops, crashes,
a foreign lock, a full disk and a clock step, each schedule checked against
the servers' own request logs.

A schedule (seeded; the seed is printed) imports 3 to SOAK_ROWS customers
into a fresh database, then runs one to three writer steps (`run`, or `sync`
with the same CSV). Each step aims at one server:
- finch-mock, started for the step with a random mix of its faults: resets,
  cut and short 201 bodies, 429 bursts with short or long Retry-After hints,
  the per-IP limit and its penalty, server errors, 401 mid-run, customers
  already connected, malformed 201 bodies, latency;
- or one port of this script's own server (`soak.py --serve`, asyncio on
  127.0.0.1, stopped by pid), for what the emulator cannot do: 201s gzip'd
  though nobody asked, 201s cut inside their body or closed short of their
  Content-Length, a load balancer whose other backend answers bare 404s, a
  server that takes the request and never answers, one that creates the
  session but answers after the client's --timeout (half of its answers),
  and a black hole (a listener whose full accept queue drops every SYN).
and may be disturbed by: SIGHUP, SIGTERM or SIGINT at a random moment (once,
or twice 5 ms apart, or twice over a second apart: the second stops at
once), kill -9, another process holding the database's flock (the writer
lock) at the start or SQLite's write lock mid-run, a full disk (RLIMIT_FSIZE;
the program ignores SIGXFSZ, so writes fail with EFBIG), and a clock step
(FINCH_ONBOARD_NOW hours or days away).

Then a last writer runs against a clean finch-mock, to recover a crash and
apply any answers journal, and the invariants are checked:
- every POST a server logged is an attempt row (and no attempt claims an
  answer no server gave);
- no customer got two 201s, except where an attempt says its outcome is
  unknown (a kill -9 between a request and its commit, a request cut short
  by a second signal or the end of --grace, or one that got no answer within
  --timeout after it went out: no run sends it again before Finch's own
  6-minute timeout, and the soak's clock steps can pass that);
- every 201 a server sent is recorded: its session_id is in the database,
  or the attempt is a 201 whose body could not be read, or its outcome is
  unknown;
- an attempt says "outcome unknown" only when it timed out after it went
  out, or in a schedule where a writer died or cut requests short (a second
  signal, the end of --grace: its log says so); a full disk, a lock or a
  stop must keep every answer: committed, or in the journal the next writer
  applies;
- every session_id and connection_id in the database is one a server gave
  that customer;
- nothing is left in_flight, no answers journal is left, PRAGMA
  integrity_check is ok;
- every step exits with a code of the README's table (a sanitizer report,
  or a death by another signal than the one sent it, fails it; one by the
  signal sent it before any request is a known failure, see KNOWN_SIGNAL); a step against a
  foreign flock exits 4 having sent nothing, and a step that could not
  reserve its answers journal sent nothing.

Environment: FINCH_ONBOARD, FINCH_MOCK (the binaries), SOAK_SCHEDULES
(default 200), SOAK_FIRST_SEED (default random), SOAK_SEED=N (replay that one
schedule, keeping its folder), SOAK_ROWS (most rows per schedule, default
24; 10 under FINCH_SANITIZED=1), SOAK_JOBS (schedules at a time, default 3:
they mostly wait), SOAK_KEEP=1 (keep the work folder).
Exit 0 when every schedule holds, 1 otherwise (each failure names its seed,
the invariant and the customer ids).
"""
import asyncio
import collections
import concurrent.futures
import fcntl
import gzip
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid

sys.dont_write_bytecode = True  # nothing written into the source tree
from synhole import black_hole  # noqa: E402

# ---- the server of its own ------------------------------------------------------------


def draw(*parts):
    """A number in [0, 1) from the parts: the same request, the same answer."""
    h = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(h[:8], "big") / 2**64


class Server:
    """Every mode on a port of its own; one JSON line per request to the log."""

    def __init__(self, log_path):
        self.log = open(log_path, "a", buffering=1)
        self.attempts = collections.Counter()
        self.flips = collections.Counter()
        self.held = []

    def write_log(self, entry):
        self.log.write(json.dumps(entry) + "\n")

    async def handle(self, reader, writer, mode):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                hdrs = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        hdrs[k.strip().lower()] = v.strip()
                n = int(hdrs.get("content-length", "0"))
                body = await reader.readexactly(n) if n else b""
                received = time.time()
                try:
                    cid = json.loads(body).get("customer_id")
                except ValueError:
                    cid = None
                self.attempts[cid] += 1
                if not await self.answer(writer, mode, path, hdrs, cid, self.attempts[cid],
                                         received):
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def answer(self, writer, mode, path, hdrs, cid, attempt, received):
        """Answers one request; False when the connection must close. Its log line
        is written when it is answered, up to 0.3 s later, and says when it came
        ("received"): a step counts only the requests that came after it started,
        not the late lines of an earlier step's killed writer."""
        r = draw(mode, cid, attempt)
        entry = {"path": path, "customer_id": cid, "attempt": attempt, "mode": mode,
                 "status": 0, "session_id": None, "fault": "none", "received": received}
        if mode == "silent":  # the request is taken, then nothing, ever
            self.write_log(entry)
            self.held.append(writer)
            await asyncio.sleep(3600)
            return False
        if mode == "flip404":
            self.flips[mode] += 1
            if self.flips[mode] % 2 == 0:  # the other backend: not the API at all
                entry.update(status=404, fault="bare_404")
                self.write_log(entry)
                await self.send(writer, 404, b"<html>not found</html>", ctype="text/html")
                return True
            await asyncio.sleep(0.3)
        elif mode == "late" and r < 0.5:  # created, answered after the client gave up
            await asyncio.sleep(2.0)
        else:
            await asyncio.sleep(r * 0.03)
        if mode == "gzip" and r < 0.15:
            entry.update(status=503, fault="gzip_503")
            self.write_log(entry)
            await self.send(writer, 503, gzip.compress(
                b'{"statusCode":503,"name":"server_error","message":"try again"}'),
                encoding="gzip")
            return True
        sid = "sess_" + uuid.uuid4().hex
        data = json.dumps({"session_id": sid, "connect_url": "http://" + hdrs.get("host", "")
                           + "/authorize?session=" + sid}).encode()
        entry.update(status=201, session_id=sid)
        if mode == "gzip" and r < 0.85:
            entry["fault"] = "gzip"
            self.write_log(entry)
            await self.send(writer, 201, gzip.compress(data), encoding="gzip")
            return True
        if mode == "cut" and r < 0.3:  # the real length promised, half of it sent
            entry["fault"] = "cut_body"
            self.write_log(entry)
            await self.send(writer, 201, data[:len(data) // 2], length=len(data))
            return False
        if mode == "short" and r < 0.3:  # the whole body, 64 bytes more promised
            entry["fault"] = "short_body"
            self.write_log(entry)
            await self.send(writer, 201, data, length=len(data) + 64)
            return False
        self.write_log(entry)
        await self.send(writer, 201, data)
        return True

    @staticmethod
    async def send(writer, status, data, ctype="application/json", encoding=None, length=None):
        reason = {201: "Created", 404: "Not Found", 503: "Service Unavailable"}[status]
        head = "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n" % (
            status, reason, ctype, len(data) if length is None else length)
        if encoding:
            head += "Content-Encoding: %s\r\n" % encoding
        head += "Finch-Request-Id: %s\r\n\r\n" % uuid.uuid4()
        writer.write(head.encode() + data)
        await writer.drain()


def serve(log_path):
    srv = Server(log_path)
    hole_port, hole = black_hole()

    async def main():
        ports = {"blackhole": hole_port}
        for mode in ("gzip", "cut", "short", "flip404", "silent", "late"):
            s = await asyncio.start_server(
                lambda r, w, m=mode: srv.handle(r, w, m), "127.0.0.1", 0)
            ports[mode] = s.sockets[0].getsockname()[1]
        print(json.dumps(ports), flush=True)
        await asyncio.Event().wait()

    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    asyncio.run(main())
    del hole


# ---- the driver -----------------------------------------------------------------------

ONBOARD = os.environ.get("FINCH_ONBOARD", "")
MOCK = os.environ.get("FINCH_MOCK", "")
SANITIZED = os.environ.get("FINCH_SANITIZED", "") in ("1", "ON", "on", "TRUE", "true")
SLOW = 4 if SANITIZED else 1
ALLOWED_EXITS = {0, 1, 2, 3, 4, 5, 6, 7, 8}
# The attempts whose request may have created a session unseen: a crash's, and
# a request cut short after it went out ("cut short" alone never went out).
UNKNOWN = ("outcome unknown",)

# Known failures: met in a schedule whose invariants hold, each printed as
# "known: ..." with its seed, not as a failure. One today: a signal that lands
# before the writer has installed its handlers (while it starts and reads its
# options) kills it with the default action, before any request. `run` and
# `sync` install them before the lock and keep them to their last line, so a
# death by the signal sent after a request left is a failure.
KNOWN_SIGNAL = ("a writer killed by the signal it was sent before it installed its "
                "handlers (nothing sent)")


class Failure(Exception):
    pass


STOP = threading.Event()  # SIGINT or SIGTERM: no new schedule, no new process


class Procs:
    """Every process the soak starts, stopped by pid at the end whatever happens."""

    def __init__(self):
        self.live = set()
        self.lock = threading.Lock()

    def start(self, *args, **kw):
        if STOP.is_set():
            raise Failure("the soak was stopped")
        p = subprocess.Popen(*args, **kw)
        with self.lock:
            self.live.add(p)
        return p

    def forget(self, p):
        with self.lock:
            self.live.discard(p)

    def stop(self, p, sig=signal.SIGTERM):
        if p.poll() is None:
            try:
                p.send_signal(sig)
                p.wait(timeout=10 * SLOW)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.forget(p)

    def stop_all(self):
        with self.lock:
            live = list(self.live)
        for p in live:
            self.stop(p)


PROCS = Procs()


class LogReader:
    """A JSON Lines log read as it grows, its lines by customer prefix."""

    def __init__(self, path):
        self.path = path
        self.offset = 0
        self.by_prefix = collections.defaultdict(list)
        self.lock = threading.Lock()

    def refresh(self):
        with self.lock:
            self._refresh()

    def entries(self, prefix):
        self.refresh()
        with self.lock:
            return list(self.by_prefix.get(prefix, ()))

    def _refresh(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return
        end = data.rfind(b"\n") + 1
        self.offset += end
        for line in data[:end].splitlines():
            e = json.loads(line)
            cid = e.get("customer_id") or ""
            self.by_prefix[cid.rsplit("-", 1)[0]].append(e)

    def count(self, prefix, since=0.0):
        """The requests of that prefix received at or after `since` (a time.time());
        finch-mock's lines, which have no "received", all count."""
        self.refresh()
        with self.lock:
            return sum(1 for e in self.by_prefix.get(prefix, ())
                       if e.get("received", since) >= since)


def mock_faults(rng):
    """A random mix of finch-mock's faults: (arguments, names). At most three
    probabilities of at most 0.3 each: finch-mock refuses a sum over 1."""
    args, names = ["--seed", str(rng.randint(1, 1 << 30))], []
    kinds = rng.sample(["reset", "cut", "short", "malformed", "429", "429-long", "per-ip", "5xx", "401",
                        "exists", "fail-first", "latency", "none"], rng.randint(1, 3))
    for k in kinds:
        if k == "reset":
            args += ["--reset-rate", "%.2f" % rng.uniform(0.05, 0.3)]
        elif k == "cut":
            args += ["--cut-body-rate", "%.2f" % rng.uniform(0.05, 0.3)]
        elif k == "short":
            args += ["--short-body-rate", "%.2f" % rng.uniform(0.05, 0.3)]
        elif k == "malformed":
            args += ["--malformed-rate", "%.2f" % rng.uniform(0.05, 0.3)]
        elif k == "429":
            args += ["--rate-limit-fault", "%.2f" % rng.uniform(0.1, 0.3),
                     "--retry-after", rng.choice(["20ms", "100ms", "mix"])]
        elif k == "429-long":  # a burst whose hint leaves rows for a later run
            args += ["--rate-limit-fault", "%.2f" % rng.uniform(0.1, 0.3),
                     "--retry-after", rng.choice(["1h", "2d", "31536000s"])]
        elif k == "per-ip":
            args += ["--rate-limit", "%d/60s" % rng.randint(1, 12),
                     "--penalty", rng.choice(["300ms", "60m", "60m"])]
        elif k == "5xx":
            args += ["--error-rate", "%.2f" % rng.uniform(0.05, 0.3)]
        elif k == "401":
            args += ["--revoke-after", str(rng.randint(1, 10))]
        elif k == "exists":
            args += ["--existing-every", str(rng.randint(2, 5))]
        elif k == "fail-first":
            args += ["--fail-first", "1"]
        elif k == "latency":
            args += ["--latency", "%dms" % rng.randint(5, 60), "--jitter", "%dms" % rng.randint(0, 30)]
        names.append(k)
    if "latency" not in kinds:
        args += ["--latency", "%dms" % rng.randint(0, 15)]
    return args, names


def plan_step(rng):
    """One writer step: what it aims at, how it runs and what disturbs it."""
    target = rng.choices(["mock", "gzip", "cut", "short", "flip404", "silent", "blackhole", "late"],
                         [64, 9, 7, 6, 7, 3, 4, 5])[0]
    mock_args, faults = mock_faults(rng) if target == "mock" else ([], [target])
    trouble = rng.choices(["none", "signal", "signal2-5ms", "signal2-late", "kill9", "disk",
                           "flock", "sqlite-lock"], [30, 22, 6, 3, 18, 8, 4, 9])[0]
    opts = ["--rate", rng.choice(["0", "0", "0", "50/s"]),
            "--concurrency", str(rng.choice([1, 2, 4, 8, 16])),
            "--max-attempts", str(rng.randint(1, 5)),
            "--timeout", "1500ms", "--connect-timeout", "500ms",
            "--grace", rng.choice(["200ms", "1s", "3s", "10s"]),
            "--max-retry-after", rng.choice(["1s", "10m"]),
            "--max-outage", "1s", "--seed", str(rng.randint(1, 1 << 30)), "--quiet"]
    if target == "silent":  # each attempt waits for its --timeout
        opts[4:8] = ["--max-attempts", str(rng.randint(1, 2)), "--timeout", "1s"]
    return {
        "cmd": "sync" if rng.random() < 0.25 else "run",
        "target": target, "mock_args": mock_args, "faults": faults, "opts": opts,
        "trouble": trouble, "signal": rng.choice(["HUP", "TERM", "INT"]),
        "at": rng.choice(["time", "requests", "requests"]),
        "at_ms": rng.randint(0, 200), "at_requests": rng.randint(0, 12),
        "fsize": rng.choice([8, 16, 32, 64, 96, 128, 256]) * 1024,
        "lock_ms": rng.randint(100, 2000),
        "clock": rng.choices([0, -3600, 3600, -86400, 2 * 86400], [70, 8, 8, 7, 7])[0],
    }


class Schedule:
    def __init__(self, soak, seed):
        self.soak = soak
        self.seed = seed
        self.rng = random.Random(seed)
        self.prefix = "k%d" % seed
        self.dir = os.path.join(soak.work, "s%d" % seed)
        self.db = os.path.join(self.dir, "k.db")
        self.mock_logs = []
        self.exits = []
        self.totals = collections.Counter()
        self.died = 0  # steps killed by kill -9: a source of "outcome unknown"
        self.cut = 0  # steps that cut requests short after they went out: the other
        self.known = []  # known failures met, each "known: ..." in the report

    def fo(self, args, **kw):
        return subprocess.run([ONBOARD] + args, cwd=self.dir, capture_output=True, text=True,
                              env=self.soak.env, timeout=120 * SLOW, **kw)

    def start_mock(self, args, tag):
        log = os.path.join(self.dir, "mock-%s.log" % tag)
        out = open(os.path.join(self.dir, "mock-%s.out" % tag), "w+")
        p = PROCS.start([MOCK, "--port", "0", "--client-id", self.soak.env["FINCH_CLIENT_ID"],
                         "--log", log] + args, stdout=out, stderr=subprocess.STDOUT,
                        env=self.soak.env)
        deadline = time.monotonic() + 10 * SLOW
        with out:
            while True:
                out.seek(0)
                first = out.readline()
                if first.startswith("listening on ") and first.endswith("\n"):
                    break
                if p.poll() is not None or time.monotonic() > deadline:
                    raise Failure("finch-mock %s did not start: %s" % (" ".join(args), first))
                time.sleep(0.002)
        self.mock_logs.append(log)
        return p, first.split()[2], LogReader(log)

    def run(self):
        os.makedirs(self.dir)
        rows = self.rng.randint(3, self.soak.rows)
        csv = os.path.join(self.dir, "k.csv")
        with open(csv, "w") as f:
            f.write("customer_id,customer_name,products\n")
            for i in range(1, rows + 1):
                f.write("%s-%d,Employer %d,company directory\n" % (self.prefix, i, i))
        r = self.fo(["import", csv, "--db", self.db, "--quiet"])
        if r.returncode != 0:
            raise Failure("import: exit %d: %s" % (r.returncode, r.stderr))
        nsteps = self.rng.choices([1, 2, 3], [45, 35, 20])[0]
        desc = []
        for i in range(nsteps):
            step = plan_step(self.rng)
            desc.append(self.step(i, step, csv))
        # The last writer: recovers a crash, applies any journal, sends what is due.
        mock, url, _ = self.start_mock([], "final")
        r = self.fo(["run", "--db", self.db, "--base-url", url, "--rate", "0", "--quiet"])
        PROCS.stop(mock)
        self.exits.append(r.returncode)
        self.sanitizer_check(r.stderr, "the last writer")
        if r.returncode not in (0, 1):
            raise Failure("the last writer (a clean finch-mock) exited %d: %s"
                          % (r.returncode, r.stderr.strip()[-600:]))
        self.check()
        return "rows=%d %s -> exits %s" % (rows, " ; ".join(desc),
                                          ",".join(str(x) for x in self.exits))

    def sanitizer_check(self, err, what):
        for mark in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
            if mark in err:
                raise Failure("%s: a sanitizer report: %s" % (what, err[-2000:]))

    def step(self, i, s, csv):
        tag = str(i)
        env = dict(self.soak.env)
        if s["clock"]:
            env["FINCH_ONBOARD_NOW"] = str(int(time.time()) + s["clock"])
        mock = None
        if s["target"] == "mock":
            mock, url, log = self.start_mock(s["mock_args"], tag)
        else:
            url = "http://127.0.0.1:%d" % self.soak.ports[s["target"]]
            log = self.soak.server_log
        started = time.time()
        seen0 = log.count(self.prefix, started)
        args = [s["cmd"]] + ([csv, "--out", os.path.join(self.dir, "out%s.csv" % tag)]
                             if s["cmd"] == "sync" else [])
        args += ["--db", self.db, "--base-url", url] + s["opts"]
        trouble = s["trouble"]
        cmd = [ONBOARD] + args
        if trouble == "disk":  # the program ignores SIGXFSZ: a write past it fails, EFBIG
            kib = (os.path.getsize(self.db) + s["fsize"]) // 1024
            cmd = ["bash", "-c", 'ulimit -f %d; exec "$0" "$@"' % kib] + cmd
        flock = None
        if trouble == "flock":  # another process holds the writer lock (base/lockfile.c)
            flock = open(self.db, "rb")
            fcntl.flock(flock, fcntl.LOCK_EX)
        err_path = os.path.join(self.dir, "step%s.err" % tag)
        with open(err_path, "w") as err:
            p = PROCS.start(cmd, cwd=self.dir, stdout=subprocess.DEVNULL, stderr=err, env=env)
            sent_signal = self.disturb(p, s, log, seen0, started)
            try:
                rc = p.wait(timeout=120 * SLOW)
            except subprocess.TimeoutExpired:
                PROCS.stop(p, signal.SIGKILL)
                raise Failure("step %s (%s) did not end within %d s" % (tag, " ".join(args),
                                                                      120 * SLOW))
            PROCS.forget(p)
        if flock:
            flock.close()
        if mock:
            PROCS.stop(mock)
        seen = log.count(self.prefix, started) - seen0
        with open(err_path) as f:
            err = f.read()
        self.sanitizer_check(err, "step %s" % tag)
        if "cut short with their outcome unknown" in err:
            self.cut += 1
        self.exits.append(rc)
        what = "step %s (%s %s, %s)" % (tag, s["cmd"], "+".join(s["faults"]), trouble)
        if rc < 0:
            if -rc == signal.SIGKILL and trouble == "kill9":
                self.died += 1
            elif sent_signal and -rc == sent_signal and seen == 0:
                # Not counted as a death: had it landed with answers in flight, their
                # rows would come back "outcome unknown" and fail the check below.
                self.known.append("%s died of the SIG%s sent it before any request"
                                  % (what, s["signal"]))
            else:
                raise Failure("%s died of signal %d after %d requests: %s"
                              % (what, -rc, seen, err.strip()[-600:]))
        elif rc not in ALLOWED_EXITS:
            raise Failure("%s exited %d: %s" % (what, rc, err.strip()[-600:]))
        if "cannot reserve" in err and seen:
            raise Failure("%s: %d requests sent though the answers journal could not be "
                          "reserved: %s" % (what, seen, err.strip()[-600:]))
        if trouble == "flock" and (rc != 4 or seen):
            raise Failure("%s: with another process holding the database's lock: exit %d "
                          "(want 4), %d requests sent" % (what, rc, seen))
        self.totals["trouble " + trouble] += 1
        self.totals["server " + s["target"]] += 1
        self.totals["clock step"] += bool(s["clock"])
        clock = " clock%+dh" % (s["clock"] // 3600) if s["clock"] else ""
        at = "%dms" % s["at_ms"] if s["at"] == "time" else "req%d" % s["at_requests"]
        t = trouble if trouble in ("none", "disk", "flock") else "%s@%s" % (trouble, at)
        if trouble.startswith("signal"):
            t = "SIG%s%s@%s" % (s["signal"], trouble[6:], at)
        return "%s %s/%s/%s%s seen=%d" % (s["cmd"], s["target"], "+".join(s["faults"]) if
                                          s["target"] == "mock" else "-", t, clock, seen)

    def disturb(self, p, s, log, seen0, started):
        """Waits for the step's moment, then disturbs the writer. The signal sent, or 0."""
        trouble = s["trouble"]
        if trouble in ("none", "disk", "flock"):
            return 0
        start = time.monotonic()
        deadline = start + 60 * SLOW
        while p.poll() is None and time.monotonic() < deadline:
            if s["at"] == "time":
                if (time.monotonic() - start) * 1000 >= s["at_ms"] * SLOW:
                    break
            elif log.count(self.prefix, started) - seen0 >= s["at_requests"]:
                break
            time.sleep(0.002)
        if p.poll() is not None:
            return 0
        if trouble == "kill9":
            p.send_signal(signal.SIGKILL)
            return signal.SIGKILL
        if trouble == "sqlite-lock":  # SQLite's own write lock, held by another process
            con = sqlite3.connect(self.db, timeout=30 * SLOW, isolation_level=None)
            try:
                con.execute("BEGIN IMMEDIATE")
                end = time.monotonic() + s["lock_ms"] / 1000
                while p.poll() is None and time.monotonic() < end:
                    time.sleep(0.005)
                con.execute("ROLLBACK")
            except sqlite3.OperationalError:
                pass  # the writer held it all along
            finally:
                con.close()
            return 0
        sig = getattr(signal, "SIG" + s["signal"])
        p.send_signal(sig)
        if trouble == "signal2-5ms":  # one request (signals within a second are one)
            time.sleep(0.005)
            if p.poll() is None:
                p.send_signal(sig)
        elif trouble == "signal2-late":  # the second request: stop at once
            end = time.monotonic() + 1.2
            while p.poll() is None and time.monotonic() < end:
                time.sleep(0.01)
            if p.poll() is None:
                p.send_signal(sig)
        return sig

    # ---- the invariants ---------------------------------------------------------------

    def check(self):
        entries = []
        for path in self.mock_logs:
            entries += LogReader(path).entries(self.prefix)
        entries += self.soak.server_log.entries(self.prefix)
        posts, n201, logged = (collections.Counter(), collections.Counter(),
                               collections.defaultdict(set))
        for e in entries:
            if e.get("path") != "/connect/sessions":
                continue
            c = e["customer_id"]
            posts[c] += 1
            if e.get("status") == 201:
                n201[c] += 1
            for k in ("session_id", "connection_id"):
                if e.get(k):
                    logged[c].add(e[k])
        self.totals["posts"] += sum(posts.values())
        self.totals["201s"] += sum(n201.values())
        con = sqlite3.connect(self.db)
        try:
            att = {}
            for c, n, answered, unknown, unreadable in con.execute(
                    "SELECT c.customer_id, count(*), count(a.http_status), "
                    "count(CASE WHEN a.transport_error IN (?) THEN 1 END), "
                    "count(CASE WHEN a.http_status BETWEEN 200 AND 299 "
                    "AND a.session_id IS NULL THEN 1 END) "
                    "FROM attempts a JOIN customers c ON c.id = a.customer "
                    "WHERE a.kind = 'create' GROUP BY 1", UNKNOWN):
                att[c] = (n, answered, unknown, unreadable)
            # a request that timed out after it went out is always of unknown outcome
            # (finch/retry.h, RETRY_UNKNOWN_SETTLE_MS); any other needs a death or a cut
            lost = [c for (c,) in con.execute(
                "SELECT DISTINCT c.customer_id FROM attempts a JOIN customers c "
                "ON c.id = a.customer WHERE a.transport_error = 'outcome unknown' "
                "AND a.message NOT LIKE 'outcome unknown: no answer within --timeout %' "
                "ORDER BY 1")]
            ids = collections.defaultdict(set)
            for c, v in con.execute(
                    "SELECT customer_id, session_id FROM customers WHERE session_id IS NOT NULL "
                    "UNION SELECT customer_id, connection_id FROM customers "
                    "WHERE connection_id IS NOT NULL AND keyless = 0 "
                    "UNION SELECT c.customer_id, a.session_id FROM attempts a JOIN customers c "
                    "ON c.id = a.customer WHERE a.session_id IS NOT NULL "
                    "UNION SELECT c.customer_id, a.connection_id FROM attempts a "
                    "JOIN customers c ON c.id = a.customer WHERE a.connection_id IS NOT NULL"):
                ids[c].add(v)
            in_flight = [c for (c,) in con.execute(
                "SELECT customer_id FROM customers WHERE state = 'in_flight'")]
            integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            con.close()
        self.totals["unknown"] += sum(a[2] for a in att.values())
        self.totals["unreadable"] += sum(a[3] for a in att.values())
        broken = []

        def bad(invariant, rows):
            if rows:
                broken.append("%s: %s" % (invariant, ", ".join(rows[:8])))

        bad("a POST the server saw is not an attempt row (customer POSTs/attempts)",
            ["%s %d/%d" % (c, posts[c], att.get(c, (0,))[0]) for c in sorted(posts)
             if posts[c] > att.get(c, (0,))[0]])
        bad("an attempt claims an answer no server gave (customer answered/POSTs)",
            ["%s %d/%d" % (c, a[1], posts[c]) for c, a in sorted(att.items()) if a[1] > posts[c]])
        bad("a customer got two 201s without an attempt whose outcome is unknown "
            "(customer 201s/unknown)",
            ["%s %d/%d" % (c, n201[c], att.get(c, (0, 0, 0))[2]) for c in sorted(n201)
             if n201[c] > 1 + att.get(c, (0, 0, 0))[2]])
        unrecorded = []
        for c in sorted(n201):
            sids = [e["session_id"] for e in entries if e.get("customer_id") == c and
                    e.get("status") == 201 and e.get("path") == "/connect/sessions"]
            missing = sum(1 for sid in sids if sid not in ids[c])
            _, _, unknown, unreadable = att.get(c, (0, 0, 0, 0))
            if missing > unknown + unreadable:
                unrecorded.append("%s %d/%d" % (c, missing, unknown + unreadable))
        bad("a 201 the server sent is not recorded (customer missing/unknown or unreadable)",
            unrecorded)
        bad("an id in the database no server gave that customer",
            ["%s %s" % (c, v) for c in sorted(ids) for v in sorted(ids[c] - logged[c])])
        bad("rows left in_flight", in_flight)
        if not self.died and not self.cut:
            bad("attempts of unknown outcome though no writer died nor cut requests short "
                "(a stop that lost answers)",
                lost)
        if integrity != "ok":
            broken.append("PRAGMA integrity_check: %s" % integrity)
        if os.path.exists(self.db + "-answers"):
            broken.append("an answers journal is left after the last writer: %s-answers"
                          % self.db)
        if broken:
            raise Failure("; ".join(broken))


class Soak:
    def __init__(self, work, rows):
        self.work = work
        self.rows = rows
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("FINCH_BASE_URL", "FINCH_ONBOARD_NOW")}
        self.env["FINCH_CLIENT_ID"] = "soak-client"
        self.env["FINCH_CLIENT_SECRET"] = "soak-secret-%s" % uuid.uuid4().hex
        log = os.path.join(work, "server.log")
        self.server = PROCS.start([sys.executable, os.path.abspath(__file__), "--serve", log],
                                  stdout=subprocess.PIPE, text=True)
        self.ports = json.loads(self.server.stdout.readline())
        self.server_log = LogReader(log)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        serve(sys.argv[2])
        return 0
    if not ONBOARD or not MOCK:
        print("soak: set FINCH_ONBOARD and FINCH_MOCK", file=sys.stderr)
        return 2
    replay = os.environ.get("SOAK_SEED")
    count = 1 if replay else int(os.environ.get("SOAK_SCHEDULES", "200"))
    first = int(replay or os.environ.get("SOAK_FIRST_SEED") or random.randint(1, 10**6))
    rows = int(os.environ.get("SOAK_ROWS", "10" if SANITIZED else "24"))
    jobs = 1 if replay else int(os.environ.get("SOAK_JOBS", "3"))
    keep = bool(replay) or os.environ.get("SOAK_KEEP") == "1"
    work = tempfile.mkdtemp(prefix="soak.", dir=os.environ.get("TMPDIR"))
    print("# soak: %d schedules, seeds %d..%d, up to %d rows each, %d at a time%s; work folder %s"
          % (count, first, first + count - 1, rows, jobs,
             " (sanitizer build)" if SANITIZED else "", work), flush=True)
    failed, known, times = [], [], []
    exits, tot = collections.Counter(), collections.Counter()
    lock = threading.Lock()
    t0 = time.monotonic()

    def one(soak, seed):
        if STOP.is_set():
            return
        s = Schedule(soak, seed)
        t = time.monotonic()
        try:
            line, ok = "ok seed %d: %s" % (seed, s.run()), True
            line += " (%.1f s)" % (time.monotonic() - t)
            line += "".join("\nknown: seed %d: %s" % (seed, k) for k in s.known)
        except (Failure, subprocess.TimeoutExpired) as e:
            line = ("FAIL seed %d: %s (replay: SOAK_SEED=%d; steps' exits %s; folder %s)"
                    % (seed, e, seed, s.exits, s.dir))
            ok = False
        with lock:
            print(line, flush=True)
            times.append(time.monotonic() - t)
            exits.update(s.exits)
            tot.update(s.totals)
            known.extend([seed] * len(s.known) if ok else [])
            if not ok:
                failed.append(seed)
        if ok and not keep:
            shutil.rmtree(s.dir, ignore_errors=True)

    def stop(signum, frame):
        STOP.set()
        PROCS.stop_all()  # the schedules running fail at once

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        soak = Soak(work, rows)
        with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
            for f in [pool.submit(one, soak, seed) for seed in range(first, first + count)]:
                f.result()
    finally:
        PROCS.stop_all()
        if not keep and (not failed or STOP.is_set()):
            shutil.rmtree(work, ignore_errors=True)
    if STOP.is_set():
        print("# soak: stopped by a signal after %d schedules" % len(times))
        return 2
    times.sort()
    failed.sort()
    print("# soak: %d schedules in %.1f s (median %.2f s, slowest %.2f s); %d POSTs, %d 201s, "
          "%d attempts of unknown outcome, %d unreadable 201s; exits %s"
          % (count, time.monotonic() - t0, times[len(times) // 2], times[-1], tot["posts"],
             tot["201s"], tot["unknown"], tot["unreadable"],
             " ".join("%d:%d" % kv for kv in sorted(exits.items()))))
    for kind in ("trouble", "server"):
        print("# steps by %s: %s" % (kind, " ".join(
            "%s:%d" % (k.split(" ", 1)[1], v) for k, v in sorted(tot.items())
            if k.startswith(kind + " "))))
    print("# steps with a clock step: %d" % tot["clock step"])
    if known:
        print("known: %s: %d steps, seeds %s" % (KNOWN_SIGNAL, len(known),
                                                 " ".join(map(str, sorted(set(known))))))
    if failed:
        print("# soak: %d of %d schedules failed: seeds %s" % (len(failed), count,
                                                            " ".join(map(str, failed))))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
