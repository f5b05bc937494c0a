#!/usr/bin/env bash
# tests/e2e/logformat.sh: under --log-format json, every command's standard
# error is JSON objects only, one a line (jq reads each line), whatever it
# reports: warnings, notices, invalid rows, usage errors, refusals, a run's
# trace, the export's end, the webhook receiver's summary. Each case also
# checks that something was said, so a silent command cannot pass it.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

e2e_setup logformat
export FINCH_WEBHOOK_SECRET=5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH
J=(--log-format json)

# all_json WHAT FILE: each line of FILE is one JSON object, and there is one at least.
all_json() {
	[ -s "$2" ] || fail "$1: nothing on stderr (the case must say something)"
	jq -R 'fromjson | if type == "object" then empty else error("not an object") end' \
		"$2" >/dev/null 2>jq.err || fail "$1: a line of stderr is not a JSON object: $(grep -v '^{' "$2" | head -3)"
}

# js RC WHAT ARGS...: finch-onboard ARGS (with --log-format json) exits RC, its stderr JSON only.
js() {
	local want=$1 what=$2
	shift 2
	expect_exit "$want" fo "$@" "${J[@]}"
	all_json "$what" err.txt
}

# has_event WHAT EVENT: err.txt holds a line of that event
has_event() {
	jq -s -e --arg e "$2" 'any(.[]; .event == $e)' err.txt >/dev/null ||
		fail "$1: no '$2' event: $(cat err.txt)"
}

# ---- import ----------------------------------------------------------------------------
printf 'Customer ID,Company Name,Email,Products,Tier\r\nc-1,One,hr@one.example,company,A\r\nc-2,Two,not-an-email,company,B\r\n"a note"\r\nc-3,Three,hr@three.example,company,C\r\n"Grand Totals (3 records)"\r\n' >c.csv
js 1 "import: a synonym, an unknown column, invalid rows, a footer" import c.csv --db c.db
expect_eq "the events" "$(jq -r .event err.txt | sort | uniq -c | tr -s ' ' | sed 's/^ //' | tr '\n' ' ')" "2 row_invalid 3 warning "
js 1 "import --check" import c.csv --db c.db --check
js 2 "import: a bad option" import c.csv --db c.db --bogus
js 2 "import: a bad value" import c.csv --db c.db --skip-lines lots
printf 'name\nx\n' >bad.csv
js 2 "import: missing columns" import bad.csv --db c.db
js 2 "import: no CSV" import --db c.db
pass "import: warnings, notices, invalid rows and refusals are JSON lines"

# ---- config ------------------------------------------------------------------------------
printf '[run]\nconcurrency = lots\n' >bad.ini
chmod 600 bad.ini
js 2 "config: a bad value in the file" config --config bad.ini run
js 2 "config: a bad value on the command line" config run --rate lots
js 2 "a command that takes no settings" config bogus
js 2 "run with the file" run --config bad.ini --db c.db
pass "config and the config file's refusals are JSON lines"

# ---- run, status, retry ------------------------------------------------------------------
start_mock --log "$E2E_TMP/mock.log"
js 1 "run --verbose: the trace and the run's events" run --db c.db --base-url "$MOCK_URL" --rate 0 --verbose
has_event "run" trace
js 2 "run: a bad option value" run --db c.db --concurrency 0
js 2 "run: no database" run --db missing.db --base-url "$MOCK_URL"
expect_exit 0 fo status --db c.db "${J[@]}"
[ ! -s err.txt ] || all_json "status" err.txt
js 2 "status: no database" status --db missing.db
expect_exit 0 fo retry --db c.db "${J[@]}"
[ ! -s err.txt ] || all_json "retry" err.txt
js 2 "retry: invalid rows" retry --db c.db --state invalid
js 2 "retry: a bad state" retry --db c.db --state bogus
pass "run (with its trace), status and retry: JSON lines"

# ---- export ------------------------------------------------------------------------------
js 0 "export --out" export --db c.db --out links.csv
has_event "export --out" export_done
expect_eq "a notice is info" "$(jq -r 'select(.event == "export_done") | .level' err.txt)" info
expect_exit 0 fo export --db c.db --format jsonl "${J[@]}"
[ ! -s err.txt ] || all_json "export to stdout" err.txt
js 2 "export: an unknown column" export --db c.db --columns customer_id,bogus
js 2 "export: --out the database" export --db c.db --out c.db
pass "export: its end and its refusals are JSON lines"

# ---- sync ----------------------------------------------------------------------------------
js 1 "sync --out FILE" sync c.csv --db s.db --out s.csv --base-url "$MOCK_URL" --rate 0
js 1 "sync --out - (the export on stdout)" sync c.csv --db s2.db --out - --base-url "$MOCK_URL" --rate 0
js 1 "sync --dry-run" sync c.csv --db s3.db --out s3.csv --dry-run
js 2 "sync: no --out" sync c.csv --db s.db
pass "sync: JSON lines, with the export in a file or on stdout, and dry"

# ---- connections, webhooks -----------------------------------------------------------------
printf 'customer_id,connection_id\nc-1,conn-1\nc-9,conn-9\n' >conns.csv
js 1 "connections import: an unknown customer" connections import conns.csv --db c.db
js 2 "connections: no file" connections --db c.db
js 2 "webhooks: a bad address" webhooks serve --listen nowhere --db c.db
"$FINCH_ONBOARD" webhooks serve --listen 127.0.0.1:0 --db c.db "${J[@]}" >recv.out 2>recv.err &
RECV_PID=$!
# under json, the first line on stdout is the listening event, with the URL
recv_url() { RECV_URL=$(head -1 recv.out | jq -r 'select(.event == "listening") | .url' 2>/dev/null); [ -n "$RECV_URL" ]; }
wait_for "the receiver" recv_url
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$RECV_URL/finch" -H 'Content-Type: application/json' \
	-H 'finch-event-id: msg_1' -H 'finch-timestamp: 1' -H 'finch-signature: v1,AAAA' -d '{}')
[ "$code" -ge 400 ] || fail "a forged webhook was answered $code"
kill -TERM "$RECV_PID"
wait "$RECV_PID"
expect_eq "the receiver's exit" "$?" 0
all_json "webhooks serve" recv.err
jq -s -e 'any(.[]; .event == "webhooks_stopped" and .refused == 1)' recv.err >/dev/null ||
	fail "webhooks serve: no summary event: $(cat recv.err)"
printf 'finch-event-id: msg_1\r\n\r\n{}' >saved.txt
expect_exit 1 fo webhooks verify saved.txt "${J[@]}"
[ ! -s err.txt ] || all_json "webhooks verify" err.txt
js 2 "webhooks: no subcommand" webhooks --db c.db
js 2 "an unknown command" bogus
pass "connections, webhooks serve (its summary too) and an unknown command: JSON lines"
finish
