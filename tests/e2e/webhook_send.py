#!/usr/bin/env python3
"""tests/e2e/webhook_send.py: Finch's side of a webhook delivery, for the
e2e tests of `webhooks serve` (webhooks.sh signs single deliveries with
openssl). The secret comes from $FINCH_WEBHOOK_SECRET.

  webhook_send.py flood URL N PREFIX
      POSTs N deliveries from 4 threads: of every 10, 7 genuine
      account.updated (connection PREFIX-<i>, status connected), 1 forged
      (wrong key), 1 replayed (a genuine body signed 10 minutes ago) and 1
      duplicate (a genuine event id sent again, freshly signed). A 503 (the
      database busy) is delivered again, as Finch does, until a deadline.
      Prints a JSON summary: the genuine ids, the answers by status, how many
      503s were retried, and the first and last send times.
"""
import base64
import hashlib
import hmac
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse


def sign(key, event_id, ts, body):
    msg = f"{event_id}.{ts}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, msg, hashlib.sha256).digest()).decode()


class Sender:
    def __init__(self, url):
        u = urllib.parse.urlsplit(url)
        self.host, self.port, self.path = u.hostname, u.port, u.path or "/"
        self.conn = None

    def post(self, headers, body):
        for _ in range(3):  # a closed keep-alive connection is opened again
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
                self.conn.request("POST", self.path, body=body, headers=headers)
                r = self.conn.getresponse()
                text = r.read()
                return r.status, text
            except (http.client.HTTPException, ConnectionError):
                self.conn = None
        raise RuntimeError("cannot deliver to %s:%s" % (self.host, self.port))


def delivery(key, event_id, ts, body):
    # the SDKs sign a fractional Finch-Timestamp's whole seconds
    whole = str(ts).split(".")[0]
    return {
        "Content-Type": "application/json",
        "Finch-Event-Id": event_id,
        "Finch-Timestamp": str(ts),
        "Finch-Signature": sign(key, event_id, whole, body),
    }


def event(prefix, i):
    return json.dumps({
        "event_type": "account.updated",
        "connection_id": "%s-%d" % (prefix, i),
        "company_id": "00000000-0000-0000-0000-%012d" % i,
        "data": {"status": "connected"},
    }).encode()


def flood(argv):
    url, n, prefix = argv[0], int(argv[1]), argv[2]
    key = base64.b64decode(os.environ["FINCH_WEBHOOK_SECRET"])
    forged_key = b"not the key" * 3
    lock = threading.Lock()
    answers, genuine = {}, []
    stats = {"busy_retried": 0, "first": None, "last": None}
    deadline = time.time() + 120

    def send(sender, headers, body):
        while True:
            status, _ = sender.post(headers, body)
            if status != 503 or time.time() > deadline:
                return status
            with lock:
                stats["busy_retried"] += 1
            time.sleep(0.05)

    def worker(start):
        sender = Sender(url)
        for i in range(start, n, 4):
            kind = i % 10
            now = int(time.time())
            if kind == 0:
                eid = "evt-forged-%d" % i
                body = event(prefix, i)
                headers = delivery(forged_key, eid, now, body)
            elif kind == 1:
                eid = "evt-replayed-%d" % i
                body = event(prefix, i)
                headers = delivery(key, eid, now - 600, body)
            elif kind == 2:
                # the id of a genuine one (kind 7), sent by another thread before
                # or after this: either way one of the two is a duplicate
                j = i + 5 if i + 5 < n else i - 5
                eid = "evt-%d" % j
                body = event(prefix, j)
                headers = delivery(key, eid, now, body)
            else:
                eid = "evt-%d" % i
                body = event(prefix, i)
                headers = delivery(key, eid, now, body)
            t = time.time()
            status = send(sender, headers, body)
            with lock:
                stats["first"] = t if stats["first"] is None else min(stats["first"], t)
                stats["last"] = time.time()
                key_ = "%s:%d" % (eid.split("-")[1] if kind in (0, 1) else
                                  "duplicate" if kind == 2 else "genuine", status)
                answers[key_] = answers.get(key_, 0) + 1
                if kind >= 3:
                    genuine.append(eid)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps({"genuine": sorted(genuine), "answers": answers, **stats}))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "flood":
        flood(sys.argv[2:])
    else:
        sys.exit(__doc__)
