#!/usr/bin/env bash
# tests/e2e/mock.sh: finch-mock driven over loopback by the curl CLI: the
# contract (201, 401, each 400, reauthenticate, existing connections), every
# fault at probability 1, --seed reproducibility, parallel instances on
# --port 0, Finch-Request-Id, /stats, the --log fields, a clean SIGTERM and
# bad options. The secret reaches curl only through a config file (-K).
set -uo pipefail

. "$(dirname "$0")/lib.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/e2e-mock.XXXXXX")
MOCKS=() # pids of every mock started here, for the trap
cleanup() {
	for p in "${MOCKS[@]}"; do
		kill -KILL "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	[ -n "$MOCK_OUT" ] && rm -f "$MOCK_OUT" "$MOCK_OUT.err"
	rm -rf "$work"
}
trap cleanup EXIT
cd "$work" || fail "cannot cd to $work"

VERSION=2020-09-17
UUID4='^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'
printf 'user = "%s:%s"\n' "$FINCH_CLIENT_ID" "$FINCH_CLIENT_SECRET" >auth.conf
printf 'user = "%s:%s"\n' "$FINCH_CLIENT_ID" "not-the-secret" >badauth.conf

# mock ARGS...: start_mock, remembering the pid for the trap
mock() {
	start_mock "$@"
	MOCKS+=("$MOCK_PID")
	case $MOCK_URL in
	http://127.0.0.1:*) ;;
	*) fail "finch-mock listens on '$MOCK_URL', not on 127.0.0.1" ;;
	esac
}

# http PATH BODY [CURL_ARGS...]: POSTs BODY to the mock with the credentials;
# sets STATUS, CURL_RC, TIME (seconds), and leaves the body in body.txt and
# the headers in head.txt.
http() {
	local path=$1 body=$2 out
	shift 2
	out=$(curl -sS -o body.txt -D head.txt -w '%{http_code} %{time_total}' \
		-H 'Content-Type: application/json' "$@" --data-binary "$body" \
		"$MOCK_URL$path" 2>curl.err)
	CURL_RC=$?
	STATUS=${out% *}
	TIME=${out#* }
	BODY=$(cat body.txt)
}

# post PATH BODY [CURL_ARGS...]: http with the credentials and the version header
post() {
	local path=$1 body=$2
	shift 2
	http "$path" "$body" -K auth.conf -H "Finch-API-Version: $VERSION" "$@"
}

# session CUSTOMER_ID: POST /connect/sessions with a minimal valid body
session() {
	post /connect/sessions "{\"customer_id\":\"$1\",\"customer_name\":\"Acme $1\",\"products\":[\"directory\"]}" "${@:2}"
}

expect_status() { # WANT WHAT
	[ "$CURL_RC" = 0 ] || fail "$2: curl exit $CURL_RC: $(cat curl.err)"
	[ "$STATUS" = "$1" ] || fail "$2: status $STATUS, expected $1; body: $BODY"
}

# jqb FILTER: a jq filter on the last body (fails the test if not JSON)
jqb() {
	jq -er "$1" body.txt 2>/dev/null
}

# header NAME: the value of a response header of the last request (or empty)
header() {
	tr -d '\r' <head.txt | sed -n "s/^$1: //Ip" | tail -n 1
}

# expect_error STATUS FINCH_CODE WHAT: Finch's error shape
expect_error() {
	expect_status "$1" "$3"
	jqb ".code == $1 and (.name | type == \"string\") and (.message | type == \"string\")" >/dev/null ||
		fail "$3: not Finch's error shape: $BODY"
	if [ -n "$2" ]; then
		[ "$(jqb .finch_code)" = "$2" ] || fail "$3: finch_code is not $2: $BODY"
	fi
}

expect_request_id() { # WHAT
	[[ $(header Finch-Request-Id) =~ $UUID4 ]] || fail "$1: no Finch-Request-Id: $(cat head.txt)"
}

# log_line N: line N of the mock's log (1-based; -1 the last one)
log_line() {
	if [ "$1" = -1 ]; then tail -n 1 "$MOCK_LOG"; else sed -n "$1p" "$MOCK_LOG"; fi
}

# jql N FILTER: a jq filter on log line N
jql() {
	log_line "$1" | jq -er "$2" 2>/dev/null
}

# log_has N: the log has at least N lines
log_has() {
	[ -f "$MOCK_LOG" ] && [ "$(wc -l <"$MOCK_LOG")" -ge "$1" ]
}

# ---- options ---------------------------------------------------------------
"$FINCH_MOCK" --help >out.txt 2>err.txt || fail "--help: exit $?"
grep -q '^usage: finch-mock' out.txt || fail "--help: no usage line: $(cat out.txt)"
pass "--help prints the usage, exit 0"

bad_options=(
	"--port abc|--port"
	"--port 70000|--port"
	"--error-rate 2|--error-rate"
	"--error-rate x|--error-rate"
	"--hang-rate -0.1|--hang-rate"
	"--error-status 404|--error-status"
	"--retry-after-mode sometimes|--retry-after-mode"
	"--retry-after soon|--retry-after"
	"--latency fast|--latency"
	"--rate-limit 1000|--rate-limit"
	"--rate-limit 0/5m|--rate-limit"
	"--rate-limit 10/0s|--rate-limit"
	"--revoke-after -1|--revoke-after"
	"--existing-every 0|--existing-every"
	"--threads 0|--threads"
	"--bogus|bogus"
	"--log|log"
	"stray|stray"
	"--error-rate 0.6 --reset-rate 0.6|add up"
	"--bind not-an-ip|--bind"
	"--existing $work/no-such-file|no-such-file"
	"--log $work/no-such-dir/log|--log"
)
for c in "${bad_options[@]}"; do
	args=${c%%|*}
	want=${c#*|}
	# shellcheck disable=SC2086
	timeout 10 "$FINCH_MOCK" --port 0 $args >out.txt 2>err.txt
	rc=$?
	[ "$rc" = 2 ] || fail "finch-mock $args: exit $rc, expected 2; stderr: $(cat err.txt)"
	grep -qF -- "$want" err.txt || fail "finch-mock $args: stderr does not name '$want': $(cat err.txt)"
	[ ! -s out.txt ] || fail "finch-mock $args: printed on stdout: $(cat out.txt)"
done
pass "bad options exit 2 and name the option (${#bad_options[@]} cases)"

# ---- the contract ----------------------------------------------------------
mock --log "$work/contract.log"

session cust-1
expect_status 201 "a valid request"
sid=$(jqb .session_id)
[[ $sid =~ $UUID4 ]] || fail "session_id '$sid' is not a UUIDv4"
[ "$(jqb .connect_url)" = "$MOCK_URL/authorize?session=$sid" ] ||
	fail "connect_url is $(jqb .connect_url), expected $MOCK_URL/authorize?session=$sid"
[ "$(jqb 'keys | join(",")')" = "connect_url,session_id" ] || fail "201 has other fields: $BODY"
case $(header Content-Type) in
application/json*) ;;
*) fail "201 Content-Type is '$(header Content-Type)'" ;;
esac
expect_request_id "201"
session cust-1
expect_status 201 "the same customer again"
[ "$(jqb .session_id)" != "$sid" ] || fail "two requests got the same session_id $sid"
[[ $(jqb .session_id) =~ $UUID4 ]] || fail "second session_id is not a UUIDv4"
pass "201: session_id is a fresh UUIDv4, connect_url = base/authorize?session=id"

rid1=$(header Finch-Request-Id)
session cust-2
[ "$(header Finch-Request-Id)" != "$rid1" ] || fail "Finch-Request-Id repeats: $rid1"
pass "Finch-Request-Id differs per response"

session cust-1 -K badauth.conf
expect_error 401 invalid_client "a wrong secret"
expect_request_id "401"
http /connect/sessions '{"customer_id":"c","customer_name":"C","products":["directory"]}' \
	-H "Finch-API-Version: $VERSION"
expect_error 401 invalid_client "no credentials"
[ "$(jqb .name)" = unauthorized ] || fail "401 name is $(jqb .name)"
pass "401 in Finch's error shape for a wrong secret and for none"

# BODY|FIELD: each must get 400 invalid_request with a message naming FIELD
long=$(printf '%*s' 256 '' | tr ' ' x)
ok='"customer_id":"c1","customer_name":"C","products":["directory"]'
invalid=(
	"{\"customer_name\":\"C\",\"products\":[\"directory\"]}|customer_id"
	"{\"customer_id\":\"\",\"customer_name\":\"C\",\"products\":[\"directory\"]}|customer_id"
	"{\"customer_id\":\"$long\",\"customer_name\":\"C\",\"products\":[\"directory\"]}|customer_id"
	"{\"customer_id\":\"c1\",\"products\":[\"directory\"]}|customer_name"
	"{\"customer_id\":\"c1\",\"customer_name\":\"$long\",\"products\":[\"directory\"]}|customer_name"
	"{\"customer_id\":\"c1\",\"customer_name\":\"C\"}|products"
	"{\"customer_id\":\"c1\",\"customer_name\":\"C\",\"products\":[\"payroll\"]}|products"
	"{\"customer_id\":\"c1\",\"customer_name\":\"C\",\"products\":[\"deduction\",\"benefits\"]}|products"
	"{$ok,\"customer_email\":\"not-an-email\"}|customer_email"
	"{$ok,\"minutes_to_expire\":0}|minutes_to_expire"
	"{$ok,\"minutes_to_expire\":129601}|minutes_to_expire"
	"{$ok,\"sandbox\":\"staging\"}|sandbox"
	"{$ok,\"manual\":\"yes\"}|manual"
	"{$ok,\"integration\":{\"auth_method\":\"oauth\"}}|integration.provider"
	"{$ok,\"integration\":{\"provider\":\"gusto\",\"auth_method\":\"magic\"}}|integration.auth_method"
	"not json at all|body"
	"[1,2]|body"
	"|body"
)
for c in "${invalid[@]}"; do
	body=${c%|*}
	field=${c##*|}
	post /connect/sessions "$body"
	expect_error 400 invalid_request "body ${body:0:60}"
	msg=$(jqb .message)
	case $msg in
	"$field:"*) ;;
	*) fail "body ${body:0:60}: message '$msg' does not name $field" ;;
	esac
	expect_request_id "400 $field"
done
pass "400 invalid_request naming the field (${#invalid[@]} kinds of invalid body)"

{
	printf '{"customer_id":"c1","customer_name":"C","products":["directory"],"redirect_uri":"https://x.example/'
	head -c 1100000 /dev/zero | tr '\0' a
	printf '"}'
} >big.json
post /connect/sessions @big.json
expect_error 413 invalid_request "a body over 64 KiB"
[ "$(jqb .message)" = "the body is larger than the server accepts" ] || fail "a body over 64 KiB: $BODY"
pass "a body over 64 KiB (--max-body) gets 413 invalid_request, unread"

valid=(
	"{$ok,\"minutes_to_expire\":1}"
	"{$ok,\"minutes_to_expire\":129600}"
	"{$ok,\"customer_email\":\"ops@acme.example\",\"sandbox\":\"finch\",\"manual\":true}"
	"{$ok,\"sandbox\":\"provider\",\"manual\":false,\"redirect_uri\":null}"
	"{$ok,\"integration\":{\"provider\":\"gusto\",\"auth_method\":\"oauth\"}}"
	"{\"customer_id\":\"c1\",\"customer_name\":\"C\",\"products\":[\"deduction\",\"directory\"]}"
)
for body in "${valid[@]}"; do
	post /connect/sessions "$body"
	expect_status 201 "valid body $body"
done
pass "the boundaries stay valid (${#valid[@]} bodies get 201)"

for v in "" "2020-9-17" "latest" "2020-09-17x"; do
	if [ -z "$v" ]; then
		http /connect/sessions "{$ok}" -K auth.conf
	else
		http /connect/sessions "{$ok}" -K auth.conf -H "Finch-API-Version: $v"
	fi
	expect_error 400 invalid_request "Finch-API-Version '$v'"
	case $(jqb .message) in
	Finch-API-Version*) ;;
	*) fail "Finch-API-Version '$v': message does not name the header: $BODY" ;;
	esac
done
pass "a missing or malformed Finch-API-Version gets 400 invalid_request"

post /connect/sessions/reauthenticate '{"connection_id":"conn-123","products":["directory"]}'
expect_status 201 "reauthenticate"
rsid=$(jqb .session_id)
[[ $rsid =~ $UUID4 ]] || fail "reauthenticate session_id '$rsid' is not a UUIDv4"
[ "$(jqb .connect_url)" = "$MOCK_URL/authorize?session=$rsid" ] || fail "reauthenticate connect_url: $BODY"
expect_request_id "reauthenticate"
jql -1 '.path == "/connect/sessions/reauthenticate" and .connection_id == "conn-123" and .status == 201' >/dev/null ||
	fail "reauthenticate log line: $(log_line -1)"
post /connect/sessions/reauthenticate '{"products":["directory"]}'
expect_error 400 invalid_request "reauthenticate without connection_id"
case $(jqb .message) in
connection_id:*) ;;
*) fail "reauthenticate without connection_id: $BODY" ;;
esac
post /connect/sessions/reauthenticate '{"connection_id":"conn-123","minutes_to_expire":0}'
expect_error 400 invalid_request "reauthenticate with minutes_to_expire 0"
pass "reauthenticate: 201 in the same shape, 400 without connection_id"

curl -sS -o body.txt -w '%{http_code}' -K auth.conf "$MOCK_URL/connect/sessions" >status.txt
[ "$(cat status.txt)" = 405 ] || fail "GET /connect/sessions: $(cat status.txt)"
curl -sS -o body.txt -D head.txt -w '%{http_code}' -K auth.conf "$MOCK_URL/nowhere" >status.txt
[ "$(cat status.txt)" = 404 ] || fail "GET /nowhere: $(cat status.txt)"
expect_request_id "404"
pass "405 for a wrong method, 404 for an unknown path"

# the log: one line per request, every field present
n=$(wc -l <"$MOCK_LOG")
[ "$n" -ge 30 ] || fail "the log has $n lines"
jq -e -s 'all(has("t_ms") and has("path") and has("customer_id") and has("attempt") and has("status")
	and has("fault") and has("retry_after_ms") and has("session_id") and has("connection_id"))' \
	"$MOCK_LOG" >/dev/null || fail "a log line lacks a field: $(head -n 3 "$MOCK_LOG")"
now_ms=$(($(date +%s) * 1000))
jql 1 "(.t_ms | type == \"number\") and (.t_ms > $now_ms - 120000) and (.t_ms <= $now_ms + 1000)
	and .path == \"/connect/sessions\" and .customer_id == \"cust-1\" and .attempt == 1
	and .status == 201 and .fault == \"none\" and .retry_after_ms == null
	and .session_id == \"$sid\" and .connection_id == null" >/dev/null ||
	fail "first log line: $(log_line 1)"
jql 2 '.customer_id == "cust-1" and .attempt == 2' >/dev/null || fail "second log line: $(log_line 2)"
pass "--log: one JSON line per request with t_ms, path, customer_id, attempt, status, fault, retry_after_ms, session_id, connection_id"
stop_mock

# ---- /stats ----------------------------------------------------------------
mock
session s-1
session s-2
session s-2
post /connect/sessions '{"customer_id":"s-3"}'
session s-4 -K badauth.conf
curl -sS -o body.txt -D head.txt -w '%{http_code}' "$MOCK_URL/stats" >status.txt
[ "$(cat status.txt)" = 200 ] || fail "GET /stats: $(cat status.txt)"
jqb '.requests == 5 and .sessions_created == 3 and .by_status["201"] == 3
	and .by_status["400"] == 1 and .by_status["401"] == 1 and .by_fault.none == 5
	and .by_fault["429"] == 0' >/dev/null || fail "GET /stats: $(cat body.txt)"
expect_request_id "/stats"
pass "GET /stats counts requests, sessions, statuses and faults"
stop_mock

# ---- existing connections --------------------------------------------------
cat >existing.txt <<'EOF'
# customer_id[,connection_id]
acme-1,conn-acme-1
acme-2

globex,conn-globex
EOF
existing_args=(--existing "$work/existing.txt" --existing-every 5)
mock "${existing_args[@]}" --log "$work/existing.log"

# exists CUSTOMER_ID: expects 400 connection_already_exists; sets CONN
exists() {
	session "$1"
	expect_error 400 connection_already_exists "existing $1"
	[ "$(jqb .context.customer_id)" = "$1" ] || fail "existing $1: context.customer_id: $BODY"
	CONN=$(jqb .context.connection_id) || fail "existing $1: no context.connection_id: $BODY"
	jql -1 ".customer_id == \"$1\" and .status == 400 and .connection_id == \"$CONN\"" >/dev/null ||
		fail "existing $1: log line $(log_line -1)"
}
declare -A conns
for c in acme-1 acme-2 globex cust-10 cust-15 shop-0005; do
	exists "$c"
	conns[$c]=$CONN
	exists "$c"
	[ "$CONN" = "${conns[$c]}" ] || fail "existing $c: connection_id changed from ${conns[$c]} to $CONN"
done
[ "${conns[acme-1]}" = conn-acme-1 ] || fail "acme-1: connection_id ${conns[acme-1]}, expected conn-acme-1"
[ "${conns[globex]}" = conn-globex ] || fail "globex: connection_id ${conns[globex]}"
for c in acme-2 cust-10 cust-15 shop-0005; do
	[[ ${conns[$c]} =~ ^[0-9a-f-]{36}$ ]] || fail "$c: made-up connection_id '${conns[$c]}' is not a UUID"
done
[ "${conns[cust-10]}" != "${conns[cust-15]}" ] || fail "cust-10 and cust-15 share a connection_id"
for c in cust-7 cust-11 acme acme-3 cust-10x; do
	session "$c"
	expect_status 201 "customer $c is not connected"
done
pass "--existing FILE (with and without connection_id) and --existing-every 5: 400 connection_already_exists, stable across calls"
stop_mock

mock "${existing_args[@]}"
for c in acme-1 acme-2 globex cust-10 cust-15; do
	session "$c"
	expect_error 400 connection_already_exists "existing $c after a restart"
	[ "$(jqb .context.connection_id)" = "${conns[$c]}" ] ||
		fail "existing $c after a restart: connection_id $(jqb .context.connection_id), was ${conns[$c]}"
done
stop_mock
pass "existing connection_ids are the same after a restart"

# ---- faults at probability 1 -----------------------------------------------
# 429 with each Retry-After mode
for mode in seconds date ms none; do
	mock --rate-limit-fault 1 --retry-after 3s --retry-after-mode "$mode" --log "$work/429-$mode.log"
	t0=$(date -u +%s)
	session "r-$mode"
	expect_error 429 finch_application_rl "429 $mode"
	expect_request_id "429 $mode"
	ra=$(header Retry-After)
	ra_ms=$(header retry-after-ms)
	logged=$(jql 1 '.retry_after_ms // "null"')
	jql 1 '.fault == "429" and .status == 429' >/dev/null || fail "429 $mode: log $(log_line 1)"
	case $mode in
	seconds)
		[ "$ra" = 3 ] && [ -z "$ra_ms" ] || fail "429 seconds: Retry-After '$ra', retry-after-ms '$ra_ms'"
		[ "$logged" = 3000 ] || fail "429 seconds: log retry_after_ms $logged"
		;;
	date)
		[[ $ra =~ ^(Mon|Tue|Wed|Thu|Fri|Sat|Sun),\ [0-9]{2}\ [A-Z][a-z]{2}\ [0-9]{4}\ [0-9]{2}:[0-9]{2}:[0-9]{2}\ GMT$ ]] ||
			fail "429 date: Retry-After '$ra' is not an IMF-fixdate"
		# against the answer's own Date (RFC 9110 §10.2.2): our clock may have moved on
		# since, on a loaded machine; and never before the request left
		srv=$(header Date)
		[ -n "$srv" ] || srv="@$t0"
		delta=$(($(date -u -d "$ra" +%s) - $(date -u -d "$srv" +%s)))
		[ "$delta" -ge 2 ] && [ "$delta" -le 6 ] || fail "429 date: Retry-After '$ra' is $delta s after Date '$srv'"
		[ "$(date -u -d "$ra" +%s)" -ge $((t0 + 2)) ] || fail "429 date: Retry-After '$ra' is before the request + 2 s"
		[ -z "$ra_ms" ] || fail "429 date: also retry-after-ms"
		[ "$logged" -ge 3000 ] && [ "$logged" -le 5000 ] || fail "429 date: log retry_after_ms $logged"
		;;
	ms)
		[ "$ra_ms" = 3000 ] && [ -z "$ra" ] || fail "429 ms: Retry-After '$ra', retry-after-ms '$ra_ms'"
		[ "$logged" = 3000 ] || fail "429 ms: log retry_after_ms $logged"
		;;
	none)
		[ -z "$ra" ] && [ -z "$ra_ms" ] || fail "429 none: Retry-After '$ra', retry-after-ms '$ra_ms'"
		[ "$logged" = null ] || fail "429 none: log retry_after_ms $logged"
		;;
	esac
	stop_mock
done
pass "429 finch_application_rl with Retry-After in seconds, as a date, as retry-after-ms, and none"

mock --rate-limit-fault 1 --retry-after-mode ms --retry-after 2500ms
session order-1
expect_status 429 "--retry-after-mode ms --retry-after 2500ms"
[ "$(header retry-after-ms)" = 2500 ] && [ -z "$(header Retry-After)" ] ||
	fail "--retry-after-mode ms --retry-after 2500ms: $(tr -d '\r' <head.txt)"
stop_mock
mock --rate-limit-fault 1 --retry-after ms
session order-2
[ "$(header retry-after-ms)" = 1000 ] || fail "--retry-after ms: $(tr -d '\r' <head.txt)"
stop_mock
pass "--retry-after takes a mode or a duration, in either order with --retry-after-mode"

mock --rate-limit-fault 1 --retry-after-mode mix --seed 3
declare -A kinds=()
for i in $(seq 1 40); do
	session "mix-$i"
	expect_status 429 "429 mix $i"
	if [ -n "$(header retry-after-ms)" ]; then
		kinds[ms]=1
	elif [[ $(header Retry-After) =~ ^[0-9]+$ ]]; then
		kinds[seconds]=1
	elif [ -n "$(header Retry-After)" ]; then
		kinds[date]=1
	else
		kinds[none]=1
	fi
done
[ "${#kinds[@]}" = 4 ] || fail "--retry-after-mode mix gave only: ${!kinds[*]}"
stop_mock
pass "--retry-after-mode mix sends all four kinds of hint"

for st in 500 502 503; do
	mock --error-rate 1 --error-status "$st" --log "$work/err-$st.log"
	session "e-$st"
	if [ "$st" = 502 ]; then
		expect_error "$st" upstream_provider_error "error $st"
	else
		expect_error "$st" "" "error $st"
	fi
	expect_request_id "error $st"
	jql 1 ".fault == \"error\" and .status == $st and .session_id == null" >/dev/null ||
		fail "error $st: log $(log_line 1)"
	stop_mock
done
mock --error-rate 1 --html-errors --seed 9
declare -A seen=()
for i in $(seq 1 30); do
	session "h-$i"
	[ "$CURL_RC" = 0 ] || fail "html error: curl exit $CURL_RC"
	seen[$STATUS]=1
	case $(header Content-Type) in
	text/html*) ;;
	*) fail "html error: Content-Type '$(header Content-Type)'" ;;
	esac
	case $BODY in
	"<html>"*) ;;
	*) fail "html error: body '$BODY'" ;;
	esac
	! jq -e . body.txt >/dev/null 2>&1 || fail "html error: the body parses as JSON"
done
[ "$(printf '%s\n' "${!seen[@]}" | sort | tr '\n' ' ')" = "500 502 503 " ] ||
	fail "--error-status mix gave: ${!seen[*]}"
stop_mock
pass "500, 502 and 503 at --error-rate 1, JSON or --html-errors, and a mix of the three"

mock --latency 400ms
session lat-1
expect_status 201 "--latency 400ms"
awk -v t="$TIME" 'BEGIN { exit !(t >= 0.4) }' || fail "--latency 400ms answered in $TIME s"
stop_mock
mock --latency 300ms --jitter 100ms
for i in 1 2 3 4 5; do
	session "jit-$i"
	expect_status 201 "--jitter"
	awk -v t="$TIME" 'BEGIN { exit !(t >= 0.2 && t < 2) }' || fail "--latency 300ms --jitter 100ms answered in $TIME s"
done
stop_mock
pass "--latency holds the answer back (curl time_total >= latency), --jitter within bounds"

mock --hang-rate 1 --hang-for 3s --log "$work/hang.log"
start=$SECONDS
session hang-1 --max-time 1
[ "$CURL_RC" = 28 ] || fail "--hang-rate 1: curl exit $CURL_RC, expected 28 (timeout)"
[ $((SECONDS - start)) -le 2 ] || fail "--hang-rate 1: curl took $((SECONDS - start)) s to time out"
jql 1 '.fault == "hang"' >/dev/null || fail "--hang-rate 1: log $(log_line 1)"
session hang-2 --max-time 10
expect_status 201 "a hang ends after --hang-for"
awk -v t="$TIME" 'BEGIN { exit !(t >= 3) }' || fail "--hang-for 3s answered after $TIME s"
stop_mock
pass "--hang-rate 1 --hang-for 3s: curl --max-time 1 times out; a patient client gets 201 after 3 s"

mock --reset-rate 1 --log "$work/reset.log"
session reset-1
[ "$CURL_RC" = 52 ] || fail "--reset-rate 1: curl exit $CURL_RC, expected 52 (empty reply): $(cat curl.err)"
jql 1 '.fault == "reset" and .status == 0' >/dev/null || fail "--reset-rate 1: log $(log_line 1)"
stop_mock
pass "--reset-rate 1: the connection closes with no reply (curl exit 52)"

mock --malformed-rate 1
session bad-json
expect_status 201 "--malformed-rate 1"
! jq -e . body.txt >/dev/null 2>&1 || fail "--malformed-rate 1: the body parses: $BODY"
stop_mock
pass "--malformed-rate 1: 201 with a body that is not JSON"

# the brief's spellings: --fail-429/500/502/503, --hang, --reset, --malformed
for spec in "--fail-429 1:429" "--fail-500 1:500" "--fail-502 1:502" "--fail-503 1:503" \
	"--malformed 1:201" "--reset 1:000" "--hang 1:000"; do
	opt=${spec%:*}
	want=${spec##*:}
	# shellcheck disable=SC2086 # "--opt P" is two words
	mock $opt --hang-for 5s
	session "alias-${opt#--}" --max-time 1
	[ "$STATUS" = "$want" ] || fail "$opt: status $STATUS, expected $want"
	stop_mock
done
"$FINCH_MOCK" --port 0 --fail-500 0.5 --fail-503 0.6 >/dev/null 2>alias.err &&
	fail "--fail-500 0.5 --fail-503 0.6 (sum 1.1) was accepted"
grep -q 'more than 1' alias.err || fail "a fault sum over 1: $(cat alias.err)"
pass "aliases --fail-429/500/502/503, --hang, --reset, --malformed; probabilities over 1 in sum refused"

mock --revoke-after 2 --log "$work/revoke.log"
for i in 1 2; do
	session "rv-$i"
	expect_status 201 "--revoke-after 2, request $i"
done
for i in 3 4 5; do
	session "rv-$i"
	expect_error 401 invalid_client "--revoke-after 2, request $i"
done
jql 5 '.fault == "revoked" and .status == 401' >/dev/null || fail "--revoke-after: log $(log_line 5)"
stop_mock
pass "--revoke-after 2: 401 for every request after the 2nd"

mock --fail-first 2 --log "$work/fail-first.log"
for c in ff-a ff-b; do
	for i in 1 2; do
		session "$c"
		expect_error 503 "" "--fail-first 2, $c attempt $i"
	done
	session "$c"
	expect_status 201 "--fail-first 2, $c attempt 3"
done
[ "$(jq -r -s 'map("\(.customer_id)/\(.attempt)/\(.status)/\(.fault)") | join(" ")' "$MOCK_LOG")" = \
	"ff-a/1/503/fail_first ff-a/2/503/fail_first ff-a/3/201/none ff-b/1/503/fail_first ff-b/2/503/fail_first ff-b/3/201/none" ] ||
	fail "--fail-first 2: log $(cat "$MOCK_LOG")"
stop_mock
pass "--fail-first 2: each customer's first 2 attempts get 503, the 3rd 201"

mock --rate-limit 3/10s --penalty 2s --log "$work/ratelimit.log"
for i in 1 2 3; do
	session "rl-$i"
	expect_status 201 "--rate-limit 3/10s, request $i"
done
session rl-4
expect_error 429 finch_api_ip_rl "--rate-limit 3/10s, request 4"
[ "$(header Retry-After)" = 2 ] || fail "finch_api_ip_rl: Retry-After '$(header Retry-After)', expected 2"
session rl-5
expect_error 429 finch_api_ip_rl "--rate-limit 3/10s, request 5 (in the penalty)"
_rl_open() {
	session rl-6
	[ "$STATUS" = 201 ]
}
poll_until 6 _rl_open || fail "--penalty 2s: still $STATUS after 6 s"
# the first 429 and the first 201 after it are at least the penalty apart
gap=$(jq -s '(map(select(.status == 429)) | first.t_ms) as $a
	| (map(select(.status == 201 and .t_ms > $a)) | first.t_ms) - $a' "$MOCK_LOG")
[ "$gap" -ge 1990 ] || fail "--penalty 2s: served again after $gap ms"
jq -e -s 'map(select(.status == 429)) | all(.fault == "rate_limit" and .retry_after_ms > 0)' "$MOCK_LOG" >/dev/null ||
	fail "--rate-limit: 429 log lines: $(grep 429 "$MOCK_LOG")"
stop_mock
pass "--rate-limit 3/10s --penalty 2s: 429 finch_api_ip_rl after 3, served again after the penalty"

# ---- --seed, and two mocks side by side on --port 0 ------------------------
seeded() { # NAME SEED: starts a mock, saves its pid, url, log and stdout
	mock --seed "$2" --error-rate 0.5 --log "$work/seed-$1.log"
	eval "${1}_pid=$MOCK_PID ${1}_url=$MOCK_URL ${1}_out=$MOCK_OUT"
}
seeded a 42
seeded b 42
seeded c 43
# shellcheck disable=SC2154 # set by seeded's eval
[ "$(printf '%s\n' "$a_url" "$b_url" "$c_url" | sort -u | wc -l)" = 3 ] ||
	fail "--port 0 gave the same port twice: $a_url $b_url $c_url"
# the same 40 requests to each: 20 customers, two attempts each
for i in $(seq 1 20); do
	for url in "$a_url" "$b_url" "$c_url" "$a_url" "$b_url" "$c_url"; do
		MOCK_URL=$url
		session "seed-$i"
		[ "$CURL_RC" = 0 ] || fail "--seed: curl exit $CURL_RC"
	done
done
# the statuses per (customer, attempt), in that order
statuses() {
	jq -r -s 'sort_by(.customer_id, .attempt) | map("\(.customer_id)/\(.attempt)/\(.status)") | join(" ")' "$1"
}
for n in a b c; do
	p=${n}_pid
	o=${n}_out
	MOCK_PID=${!p}
	MOCK_OUT=${!o}
	stop_mock
done
sa=$(statuses "$work/seed-a.log")
sb=$(statuses "$work/seed-b.log")
sc=$(statuses "$work/seed-c.log")
[ "$(wc -l <"$work/seed-a.log")" = 40 ] || fail "--seed: mock a logged $(wc -l <"$work/seed-a.log") requests, not 40"
[ "$sa" = "$sb" ] || fail "--seed 42 twice gave different statuses:
$sa
$sb"
[ "$sa" != "$sc" ] || fail "--seed 43 gave the same statuses as --seed 42"
n201=$(grep -o '/201' <<<"$sa" | wc -l)
[ "$n201" -ge 8 ] && [ "$n201" -le 32 ] || fail "--error-rate 0.5 gave $n201 of 40 201s"
pass "--seed 42 twice, side by side on --port 0: the same fault sequence; --seed 43 another"

# ---- stopping --------------------------------------------------------------
mock --hang-rate 1 --hang-for 60s --log "$work/stop.log"
(session stop-1 --max-time 30 && echo "$STATUS $CURL_RC" >inflight.txt) &
client=$!
poll_until 10 log_has 1 || fail "the hanging request never reached the mock"
kill -TERM "$MOCK_PID"
poll_until 10 _mock_gone || fail "finch-mock did not stop within 10 s of SIGTERM"
wait "$MOCK_PID"
rc=$?
[ "$rc" = 0 ] || fail "finch-mock exited $rc on SIGTERM"
wait "$client"
[ "$(cat inflight.txt 2>/dev/null)" = "201 0" ] || fail "the in-flight request got '$(cat inflight.txt 2>/dev/null)' at SIGTERM"
grep -qi '^connection: close' head.txt || fail "the answer at SIGTERM kept the connection: $(tr -d '\r' <head.txt)"
jql 1 '.customer_id == "stop-1" and .fault == "hang"' >/dev/null || fail "the log was not flushed: $(cat "$MOCK_LOG")"
MOCK_PID=
pass "SIGTERM: the in-flight (hanging) request is answered with Connection: close, exit 0, the log flushed"

mock --log "$work/sigint.log"
session int-1
kill -INT "$MOCK_PID"
poll_until 10 _mock_gone || fail "finch-mock did not stop within 10 s of SIGINT"
wait "$MOCK_PID"
rc=$?
[ "$rc" = 0 ] || fail "finch-mock exited $rc on SIGINT"
[ "$(wc -l <"$MOCK_LOG")" = 1 ] || fail "SIGINT: log $(cat "$MOCK_LOG")"
MOCK_PID=
pass "SIGINT stops it too, exit 0"

# ---- the secret ------------------------------------------------------------
grep -qF -- "$FINCH_CLIENT_SECRET" auth.conf || fail "the secret check cannot see the secret"
if grep -rlF --exclude=auth.conf -- "$FINCH_CLIENT_SECRET" "$work" >found.txt; then
	fail "the secret appears in: $(cat found.txt)"
fi
pass "the secret appears in no log or output"

finish
