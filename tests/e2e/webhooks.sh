#!/usr/bin/env bash
# tests/e2e/webhooks.sh: `webhooks serve` end to end, under --log-format json:
# what it refuses (413 oversized, 400 non-JSON, no event_type, a NUL in a
# connection_id, a malformed timestamp; 401 forged or stale) and never stores;
# 1,000 deliveries (a tenth forged, a tenth replayed, a tenth duplicates)
# while a sync writes the same database; events for connections no row knows
# yet, kept and applied when a connections import names them; the secret's
# own checks. The flood is signed by tests/e2e/webhook_send.py.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

e2e_setup webhooks
export FINCH_WEBHOOK_SECRET=5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH
flood() { python3 "$FINCH_SOURCE_DIR/tests/e2e/webhook_send.py" flood "$@"; }
# send URL ID TIMESTAMP BODY [--forge]: one delivery signed as Finch signs it
# (the whole seconds of the timestamp, as the SDKs check it), or with a wrong
# key; prints the status and the answer's message (python starts too slowly
# for one delivery)
send() {
	local key hex sig
	key=$FINCH_WEBHOOK_SECRET
	[ "${5:-}" = --forge ] && key=bm90IHRoZSBrZXkgbm90IHRoZSBrZXkg
	hex=$(printf '%s' "$key" | base64 -d | od -An -v -tx1 | tr -d ' \n')
	sig=$(printf '%s.%s.%s' "$2" "${3%%.*}" "$4" |
		openssl dgst -sha256 -mac HMAC -macopt "hexkey:$hex" -binary | base64)
	curl -s -X POST "$1" -H 'Content-Type: application/json' -H "Finch-Event-Id: $2" \
		-H "Finch-Timestamp: $3" -H "Finch-Signature: v1,$sig" --data-binary "$4" \
		-w ' %{http_code}' | sed 's/^\(.*\) \([0-9]*\)$/\2 \1/' |
		{ read -r code json; printf '%s %s\n' "$code" "$(jq -r .message <<<"$json")"; }
}
ROWS=600

printf 'customer_id,customer_name,products\n' >w.csv
for i in $(seq 1 $ROWS); do echo "w-$i,Webhook $i,company"; done >>w.csv
expect_exit 0 fo import w.csv --db w.db

# not through fo(): $! would be a subshell, and SIGTERM would orphan the receiver
"$FINCH_ONBOARD" webhooks serve --listen 127.0.0.1:0 --db w.db --log-format json >recv.out 2>recv.err &
RECV_PID=$!
stop_recv() {
	[ -n "$RECV_PID" ] || return 0
	kill -TERM "$RECV_PID" 2>/dev/null
	wait "$RECV_PID" 2>/dev/null
	RECV_PID=
}
trap 'stop_recv; e2e_cleanup' EXIT
recv_url() { RECV_URL=$(head -n 1 recv.out | jq -r 'select(.event == "listening") | .url' 2>/dev/null) && [ -n "$RECV_URL" ]; }
wait_for "the receiver" recv_url
U=$RECV_URL/finch
now=$(date +%s)

# ---- refusals: each answered 4xx, none stored ----------------------------------
expect_eq "non-JSON" "$(send "$U" evt-a "$now" 'not json')" \
	"400 signed by Finch's key, but the body is not a JSON object"
expect_eq "no event_type" "$(send "$U" evt-b "$now" '{"company_id":"720be419-0293-4d32-a707-32179b0827ab"}')" \
	"400 signed by Finch's key, but event_type is missing or not a string"
nul='{"event_type":"account.updated","connection_id":"conn-x\u0000w-1","data":{"status":"reauth"}}'
got=$(send "$U" evt-c "$now" "$nul")
case $got in "400 signed by Finch's key, but the body holds a NUL character"*) ;; *) fail "NUL in connection_id: $got" ;; esac
expect_eq "malformed timestamp" "$(send "$U" evt-d nan '{"event_type":"company.updated"}')" \
	"400 Finch-Timestamp is not Unix seconds"
expect_eq "timestamp with letters" "$(send "$U" evt-d "${now}abc" '{"event_type":"company.updated"}')" \
	"400 Finch-Timestamp is not Unix seconds"
expect_eq "forged" "$(send "$U" evt-e "$now" '{"event_type":"company.updated"}' --forge)" \
	"401 no v1 entry of Finch-Signature matches the body"
expect_eq "stale" "$(send "$U" evt-f $((now - 301 - 60)) '{"event_type":"company.updated"}' | cut -c1-3)" 401
head -c 70000 /dev/zero | tr '\0' x >big.txt
expect_eq "oversized" "$(curl -s -o big.out -w '%{http_code}' -X POST "$U" -H 'Finch-Event-Id: evt-g' \
	-H "Finch-Timestamp: $now" -H 'Finch-Signature: v1,x' --data-binary @big.txt)" 413
grep -q 'larger than 65536 bytes' big.out || fail "413 without a reason: $(cat big.out)"
expect_eq "stored after refusals" "$(q w.db "SELECT count(*) FROM webhook_events")" 0
# a fraction of a second is dropped and the whole seconds signed, as both SDKs do
expect_eq "fractional timestamp" "$(send "$U" evt-h "$now.25" '{"event_type":"company.updated"}')" \
	"200 stored; 0 rows updated"
expect_eq "its time" "$(q w.db "SELECT event_at FROM webhook_events WHERE event_id = 'evt-h'")" "${now}000"
pass "413 oversized, 400 non-JSON, no event_type, a NUL in connection_id or a malformed timestamp, 401 forged or stale: none stored"

# ---- an event before its connection is known: kept --------------------------
early='{"event_type":"account.updated","connection_id":"conn-early","data":{"status":"reauth"}}'
expect_eq "early event" "$(send "$U" evt-early "$now" "$early")" "200 stored; 0 rows updated"

# ---- 1,000 deliveries while a sync writes the same database ------------------
start_mock --log mock.log
bg_fo sync sync w.csv --db w.db --out w-out.csv --base-url "$MOCK_URL" --rate 200/s --quiet
sync_started() { [ "$(requests mock.log)" -gt 0 ]; }
wait_for "the sync's first request" sync_started
kill -0 "$BG_PID" 2>/dev/null || fail "the sync ended before the deliveries began"
flood "$U" 1000 conn-f >flood.json || fail "the flood failed"
bg_wait
expect_eq "sync exit" "$BG_RC" 0
! grep -qiE 'lock|busy' sync.err || fail "the sync met a lock: $(cat sync.err)"
expect_eq "sync lost nothing" "$(count_state w.db created) $(($(wc -l <w-out.csv) - 1))" "$ROWS $ROWS"
expect_eq "answers" "$(jq -c '.answers | to_entries | sort_by(.key) | from_entries' flood.json)" \
	'{"duplicate:200":100,"forged:401":100,"genuine:200":700,"replayed:401":100}'
jq -r '.genuine[]' flood.json >genuine.txt
q w.db "SELECT event_id FROM webhook_events WHERE event_id LIKE 'evt-%' AND event_id NOT IN ('evt-h', 'evt-early') ORDER BY event_id" >stored.txt
expect_eq "every genuine one stored once, nothing forged or replayed" "$(sort genuine.txt | tr '\n' ' ')" "$(sort stored.txt | tr '\n' ' ')"
echo "flood: $(jq -c '{busy_retried, seconds: ((.last - .first) * 100 | floor / 100)}' flood.json)"
pass "1,000 deliveries during a sync: 700 genuine stored once, 100 duplicates, 200 forged or replayed refused; the sync lost nothing"

# ---- the connections become known: kept events applied -----------------------
{
	echo "customer_id,connection_id,time"
	echo "w-1,conn-early,1700000000"
	for i in $(seq 3 10 500); do echo "w-$i,conn-f-$i,1700000000"; done
} >conns.csv
expect_exit 0 fo connections import conns.csv --db w.db
expect_eq "w-1" "$(q w.db "SELECT connection_status || ' ' || (connection_status_at = ${now}000) FROM customers WHERE customer_id = 'w-1'")" "reauth 1"
expect_eq "flood rows" "$(q w.db "SELECT count(*) FROM customers WHERE connection_id LIKE 'conn-f-%' AND connection_status = 'connected' AND connection_status_at > 1700000000000")" 50
pass "events kept for unknown connections are applied when a connections import names them"

# a line without a time is older than any status that has one (a webhook's): w-1 stays reauth;
# w-4, with no status yet, takes it, connected now at the latest
printf 'customer_id,connection_id,status,time\nw-1,conn-early,,\nw-4,conn-w4,,\n' >untimed.csv
expect_exit 0 fo connections import untimed.csv --db w.db
expect_eq "w-1 after an untimed line" "$(q w.db "SELECT connection_status FROM customers WHERE customer_id = 'w-1'")" reauth
expect_eq "w-4 after an untimed line" "$(q w.db "SELECT state || ' ' || connection_status || ' ' || coalesce(connection_status_at, 'null') || ' ' || (connected_at >= ${now}000) FROM customers WHERE customer_id = 'w-4'")" "exists connected null 1"
pass "a connections line without a time never overrides a webhook's status"

# ---- under --log-format json the receiver prints JSON only -------------------
stop_recv
# one JSON object per line: as many objects as lines, and jq reads them all
for f in recv.out recv.err; do
	objects=$(jq -c . "$f" 2>/dev/null | wc -l) || fail "$f is not JSON: $(grep -v '^{' "$f" | head -3)"
	expect_eq "JSON lines of $f" "$objects" "$(wc -l <"$f")"
done
expect_eq "summary" "$(jq -c 'select(.event == "webhooks_stopped") | [.stored, .duplicates, .refused]' recv.err)" "[702,100,208]"
pass "--log-format json: every line on stdout and stderr is JSON, the summary too"

# ---- the secret -------------------------------------------------------------
FINCH_WEBHOOK_SECRET=test expect_exit 2 fo webhooks serve --listen 127.0.0.1:0 --db w.db
grep -q "decodes to 3 bytes, fewer than 16" err.txt || fail "short secret: $(cat err.txt)"
FINCH_WEBHOOK_SECRET=AAAAAAAAAAAAAAAAAAAAAB== expect_exit 2 fo webhooks serve --listen 127.0.0.1:0 --db w.db
grep -q "bits that encode nothing" err.txt || fail "non-canonical secret: $(cat err.txt)"
FINCH_WEBHOOK_SECRET= expect_exit 2 fo webhooks verify w.csv
grep -q "is not set" err.txt || fail "no secret: $(cat err.txt)"
pass "a secret too short, not canonical base64 or absent is refused"
stop_mock
finish
