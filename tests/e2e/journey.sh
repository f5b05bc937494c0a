#!/usr/bin/env bash
# tests/e2e/journey.sh: the employer's journey against the emulator: sync,
# some employers complete their session (POST /_mock/complete), signed
# account.updated webhooks reach `webhooks serve` (forged, replayed and
# duplicated ones too: --webhook-fault), a connections file arrives, and the
# next sync renews only the unconverted links; --reauthenticate sends only the
# reauth connection, retry --reauthenticate --customer the one named.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

tmpdir journey
cd "$E2E_TMP" || fail "cannot cd to $E2E_TMP"
export FINCH_WEBHOOK_SECRET=5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH
opts=(--rate 0 --quiet)

printf 'customer_id,customer_name,products,minutes_to_expire\n' >j.csv
for i in 1 2 3 4; do echo "j-$i,Journey $i,company,60" >>j.csv; done
expect_exit 0 fo import j.csv --db j.db

# the receiver, on a free port
# not through fo(): $! would be a subshell, and SIGTERM would orphan the receiver
"$FINCH_ONBOARD" webhooks serve --listen 127.0.0.1:0 --db j.db >recv.out 2>recv.err &
RECV_PID=$!
recv_url() { RECV_URL=$(sed -n '1s/^listening on \(http:\/\/[^ ]*\)$/\1/p' recv.out); [ -n "$RECV_URL" ]; }
wait_for "the receiver" recv_url
stop_recv() { kill -TERM "$RECV_PID" 2>/dev/null; wait "$RECV_PID" 2>/dev/null; }
trap 'stop_recv; e2e_cleanup' EXIT

start_mock --webhook-url "$RECV_URL/finch" --webhook-fault bad-signature,old-timestamp,duplicate --log mock.log
expect_exit 0 fo sync j.csv --db j.db --out j-out.csv --base-url "$MOCK_URL" "${opts[@]}"
expect_eq "sessions" "$(q j.db "SELECT count(*) FROM customers WHERE state = 'created'")" 4

admin() { curl -s -X POST "$MOCK_URL/_mock/$1" -H 'Content-Type: application/json' -d "$2"; }
s1=$(q j.db "SELECT session_id FROM customers WHERE customer_id = 'j-1'")
s2=$(q j.db "SELECT session_id FROM customers WHERE customer_id = 'j-2'")
c1=$(admin complete "{\"session_id\":\"$s1\"}" | jq -r .connection_id)
c2=$(admin complete "{\"session_id\":\"$s2\"}" | jq -r .connection_id)
[ -n "$c1" ] && [ "$c1" != null ] || fail "/_mock/complete gave no connection"
expect_eq "unknown session" "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$MOCK_URL/_mock/complete" -d '{"session_id":"nope"}')" 404
delivered() { [ "$(curl -s "$MOCK_URL/_mock/deliveries" | jq -r '.idle and .queued == .answered + .wrong')" = true ]; }
wait_for "the webhook deliveries" delivered
expect_eq "wrong answers" "$(curl -s "$MOCK_URL/_mock/deliveries" | jq -c '[.events, .queued, .wrong]')" "[2,8,0]"
expect_eq "stored events" "$(q j.db "SELECT count(*) || ' ' || group_concat(DISTINCT status) FROM webhook_events")" "2 connected"
pass "completed sessions send signed account.updated; forged, replayed and duplicate deliveries are refused or stored once"

# the app's connections file: j-1 connected (j-2 only through the webhook, which names no customer)
printf 'customer_id,connection_id,time\nj-1,%s,1700000000\nj-9,conn-9,\n' "$c1" >conns.csv
expect_exit 1 fo connections import conns.csv --db j.db
grep -q "customer 'j-9' is not in the database; not created" err.txt || fail "unknown customer not reported: $(cat err.txt)"
expect_eq "j-1" "$(q j.db "SELECT state || ' ' || connection_id || ' ' || connection_status FROM customers WHERE customer_id = 'j-1'")" "exists $c1 connected"
expect_exit 1 fo connections import conns.csv --db j.db
grep -q "0 marked connected, 1 unchanged" out.txt || fail "a second import changed something: $(cat out.txt)"
expect_eq "no j-9" "$(q j.db "SELECT count(*) FROM customers WHERE customer_id = 'j-9'")" 0
pass "connections import marks j-1 connected (exists), reports the unknown customer, and is idempotent"

# a status change reaches the row that knows the connection
admin status "{\"connection_id\":\"$c1\",\"status\":\"reauth\"}" >/dev/null
wait_for "the reauth delivery" delivered
expect_eq "j-1 status" "$(q j.db "SELECT connection_status FROM customers WHERE customer_id = 'j-1'")" reauth
pass "account.updated sets the connection status of the row with its connection_id"

# two hours later the 60-minute links have expired: only the unconverted are renewed;
# j-2 connected, so its renewal answers connection_already_exists
t=$(( $(date +%s) + 7200 ))
FINCH_ONBOARD_NOW=$t expect_exit 0 fo sync j.csv --db j.db --out j-out.csv --renew-expired --base-url "$MOCK_URL" "${opts[@]}"
expect_eq "after renewal" "$(q j.db "SELECT group_concat(customer_id || '=' || state, ' ') FROM (SELECT * FROM customers ORDER BY customer_id)")" \
	"j-1=exists j-2=exists j-3=created j-4=created"
expect_eq "j-2 connection" "$(q j.db "SELECT connection_id FROM customers WHERE customer_id = 'j-2'")" "$c2"
# j-2's account.updated came before any row knew $c2: kept, and applied now
expect_eq "j-2 status" "$(q j.db "SELECT connection_status || ' ' || (connected_at > 0) FROM customers WHERE customer_id = 'j-2'")" "connected 1"
pass "the next sync renews only the unconverted links; a connected employer's renewal is exists, and takes the status its webhook left"

# the funnel: 4 links made; j-1 (the app's file) and j-2 (its renewal answered
# exists) connected, j-1 now needing a reauthentication; j-3 and j-4 renewed, open
# until their 60-minute links expire. j-1's file says it connected in 2023, before
# its link: left out of the median, which is j-2's (its webhook came seconds after)
FINCH_ONBOARD_NOW=$t expect_exit 0 fo status --db j.db --json
expect_eq "funnel" "$(jq -c '.funnel | [.links, .connected, .expired, .open, .already_connected]' out.txt)" "[4,2,0,2,0]"
expect_eq "statuses" "$(jq -c '.funnel.connection_status | [.connected, .reauth, .pending, .none]' out.txt)" "[1,1,0,0]"
expect_eq "groups" "$(jq -c '.funnel.connection_groups | [.connected, .needs_reauth, .syncing, .no_account, .disconnected, .unknown]' out.txt)" "[1,1,0,0,0,0]"
expect_eq "days to connect" "$(jq -r '.funnel.days_to_connect_median' out.txt)" 0
expect_eq "open link age" "$(jq -r '.funnel.open_days_median | . >= 0.08 and . <= 0.09' out.txt)" true
expect_eq "no expired" "$(jq -r '.funnel.expired_days_median' out.txt)" null
expect_eq "existing keys" "$(jq -c '[.total, .by_state.exists, .by_state.created]' out.txt)" "[4,2,2]"
FINCH_ONBOARD_NOW=$((t + 7200)) expect_exit 0 fo status --db j.db --json
expect_eq "two hours on" "$(jq -c '.funnel | [.links, .connected, .expired, .open]' out.txt)" "[4,2,2,0]"
FINCH_ONBOARD_NOW=$((t + 7200)) expect_exit 0 fo status --db j.db
grep -q "^funnel: 4 links made$" out.txt && grep -Eq "^  expired unconnected +2 " out.txt &&
	grep -q "^  needs_reauth   1  reauth or error_permissions" out.txt ||
	fail "status's funnel: $(cat out.txt)"
pass "status shows the funnel: 4 links, 2 connected (a median of 0 days), 2 open then expired, 1 needing reauthentication"

expect_exit 0 fo export --db j.db --state reauth --columns customer_id,connection_status
expect_eq "--state reauth" "$(tr -d '\r' <out.txt | paste -sd' ')" "customer_id,connection_status j-1,reauth"
expect_exit 0 fo export --db j.db --state connected,created --format jsonl
expect_eq "--state connected,created" "$(jq -r '[.customer_id, .status, .connection_status // "-"] | join(":")' out.txt | paste -sd' ')" \
	"j-2:exists:connected j-3:created:- j-4:created:-"
expect_eq "connected_at" "$(jq -r 'select(.customer_id == "j-2") | .connected_at | test("^20[0-9-]+T")' out.txt)" true
expect_exit 0 fo export --db j.db --state connection:pending
expect_eq "connection:pending" "$(tr -d '\r' <out.txt | wc -l)" 1
expect_exit 2 fo export --db j.db --state connection:created
grep -q "'connection:created' is neither a state" err.txt || fail "a bad --state: $(cat err.txt)"
pass "the export has connection_status and connected_at; --state selects by connection status (connection:NAME when it is also a state)"

# reauthentication targets the connections that need it: j-1's status is
# reauth (its webhook), j-2's connected; the emulator's log shows which
# connection went to which endpoint
REAUTH=/connect/sessions/reauthenticate
reauths_since() { jq -r --arg p "$REAUTH" 'select(.path == $p) | .connection_id' mock.log | tail -n +$(($1 + 1)) | sort | paste -sd,; }
n0=$(requests mock.log "$REAUTH")
s0=$(requests mock.log /connect/sessions)
FINCH_ONBOARD_NOW=$t expect_exit 0 fo sync j.csv --db j.db --out j-out.csv --reauthenticate --base-url "$MOCK_URL" --rate 0
grep -q "reauthenticate: 1 connected employer queued (status reauth or error_permissions)" out.txt err.txt ||
	fail "the summary does not say which: $(cat out.txt err.txt)"
expect_eq "reauthenticated" "$(reauths_since "$n0")" "$c1"
expect_eq "new sessions" "$(requests mock.log /connect/sessions)" "$s0"
expect_eq "j-1 after" "$(q j.db "SELECT state || ' ' || connection_id || ' ' || (session_id IS NOT NULL) FROM customers WHERE customer_id = 'j-1'")" "exists $c1 1"
pass "--reauthenticate sends only j-1 (status reauth) to $REAUTH, with its connection_id; the healthy j-2 is left alone"

n1=$(requests mock.log "$REAUTH")
expect_exit 0 fo retry --reauthenticate --customer j-2 --customer j-3 --db j.db
expect_eq "retry" "$(cat out.txt)" "queued 1 row for reauthentication"
grep -q "customer 'j-3' is created, not exists (connected): nothing to reauthenticate" err.txt || fail "j-3: $(cat err.txt)"
FINCH_ONBOARD_NOW=$t expect_exit 0 fo sync j.csv --db j.db --out j-out.csv --base-url "$MOCK_URL" "${opts[@]}"
expect_eq "reauthenticated" "$(reauths_since "$n1")" "$c2"
pass "retry --reauthenticate --customer j-2 queues that one connection, whatever its status; j-3 (not connected) is said and left alone"

n2=$(requests mock.log "$REAUTH")
FINCH_ONBOARD_NOW=$t expect_exit 0 fo sync j.csv --db j.db --out j-out.csv --reauthenticate=all --base-url "$MOCK_URL" --rate 0
grep -q "reauthenticate: 2 connected employers queued (=all: every connection, whatever its status)" out.txt err.txt ||
	fail "=all does not say so: $(cat out.txt err.txt)"
expect_eq "reauthenticated" "$(reauths_since "$n2")" "$(printf '%s\n' "$c1" "$c2" | sort | paste -sd,)"
pass "--reauthenticate=all sends every connected employer, and says so"

# webhooks verify: a saved delivery
body='{"company_id":"720be419-0293-4d32-a707-32179b0827ab"}'
printf 'finch-event-id: msg_2Lh9KRb0pzN4LePd3XiA4v12Axj\r\nFinch-Timestamp: 1676312382\r\nFINCH-SIGNATURE: v1,m7y0TV2C+hlHxU42wCieApTSTaA8/047OAplBqxIV/s=\r\n\r\n%s' "$body" >saved.txt
expect_exit 1 fo webhooks verify saved.txt --at 1676312382
grep -q "event_type is missing" out.txt || fail "verify: $(cat out.txt)"
expect_exit 1 fo webhooks verify saved.txt
grep -q "s old" out.txt || fail "verify of an old delivery: $(cat out.txt)"
pass "webhooks verify checks a saved delivery (the SDK's vector, headers in any case)"

# A mistyped --db is refused, never created: an event stored in a new empty
# database would be answered 200 and never redelivered by Finch.
expect_exit 2 fo webhooks serve --listen 127.0.0.1:0 --db typo.db
[ ! -e typo.db ] || fail "webhooks serve created the mistyped database typo.db"
# connections import reads files, not devices: /dev/zero (no line end, ever)
# grew until the OOM killer stopped it.
expect_exit 2 fo connections import /dev/zero --db j.db
pass "webhooks serve refuses a missing database; connections import refuses a device"
stop_mock
finish
