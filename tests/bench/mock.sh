#!/usr/bin/env bash
# tests/bench/mock.sh: how many POST /connect/sessions per second finch-mock
# answers with keep-alive, the load generator (wrk) on the same machine.
#
# Starts finch-mock --port 0 (BENCH_THREADS worker threads, default 2), then
# runs BENCH_RUNS (default 3) rounds of `wrk -t2 -c64 -dBENCH_SECONDS`
# POSTing a valid body with Basic auth and Finch-API-Version, and prints each
# round's requests/s and the median. Every answer must be a 201: wrk's count
# of non-2xx responses must be 0. Goal (issue 3): >= 40,000 req/s on 2 cores.
# BENCH_UNIQUE=1 gives every request its own customer_id (a Lua request()
# per request: slower for wrk, and the server's attempt map grows).
#
# Usage: tests/bench/mock.sh [BUILD_DIR]   (default: build)
# Environment: FINCH_MOCK (default BUILD_DIR/finch-mock), BENCH_RUNS,
# BENCH_SECONDS (default 5), BENCH_CONNECTIONS (default 64), BENCH_THREADS,
# BENCH_UNIQUE, BENCH_KEEP=1 keeps the work directory.
set -euo pipefail
. "$(dirname "$0")/lib.sh" "$@"

secs=${BENCH_SECONDS:-5}
conns=${BENCH_CONNECTIONS:-64}
threads=${BENCH_THREADS:-2}

bench_need "$FINCH_MOCK" wrk
bench_workdir mock

# bench-only credentials; the secret reaches wrk (as Basic auth) through its environment
export FINCH_CLIENT_ID=bench-client
export FINCH_CLIENT_SECRET="bench-secret-$$-$RANDOM"
BENCH_AUTH=$(printf '%s:%s' "$FINCH_CLIENT_ID" "$FINCH_CLIENT_SECRET" | base64 -w0)
export BENCH_AUTH

cat >"$work/post.lua" <<'EOF'
-- POST /connect/sessions with a valid body, Basic auth and the version header
wrk.method = "POST"
wrk.path = "/connect/sessions"
wrk.headers["Authorization"] = "Basic " .. os.getenv("BENCH_AUTH")
wrk.headers["Finch-API-Version"] = "2020-09-17"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"customer_id":"bench-1","customer_name":"Bench Co","products":["directory","individual","employment"]}'

if os.getenv("BENCH_UNIQUE") == "1" then
	local n = 0
	local prefix = tostring(math.random(1, 1000000000))
	request = function()
		n = n + 1
		local body = '{"customer_id":"bench-' .. prefix .. '-' .. n ..
			'","customer_name":"Bench Co","products":["directory","individual","employment"]}'
		return wrk.format(nil, nil, nil, body)
	end
end

EOF

"$FINCH_MOCK" --port 0 --threads "$threads" >"$work/mock.out" 2>"$work/mock.err" &
mock_pid=$!
url=
for _ in $(seq 1 200); do
	url=$(sed -n '1s/^listening on //p' "$work/mock.out")
	[ -n "$url" ] && break
	kill -0 "$mock_pid" 2>/dev/null || { cat "$work/mock.err" >&2; exit 2; }
	sleep 0.05
done
[ -n "$url" ] || { echo "bench: finch-mock did not start" >&2; exit 2; }

# check one request by hand before timing anything
code=$(printf 'user = "%s:%s"\n' "$FINCH_CLIENT_ID" "$FINCH_CLIENT_SECRET" |
	curl -s -o /dev/null -w '%{http_code}' -K - -H 'Finch-API-Version: 2020-09-17' \
		-H 'Content-Type: application/json' \
		--data-binary '{"customer_id":"c","customer_name":"C","products":["directory"]}' \
		"$url/connect/sessions")
[ "$code" = 201 ] || { echo "bench: a valid POST got $code, not 201" >&2; exit 1; }

echo "finch-mock $url, $threads worker threads; wrk -t2 -c$conns -d${secs}s; $(nproc) CPUs"
: >"$work/rates"
for r in $(seq 1 "$runs"); do
	wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$work/post.lua" "$url" >"$work/wrk.$r" 2>&1 ||
		{ cat "$work/wrk.$r" >&2; exit 1; }
	rate=$(awk '/^Requests\/sec:/ { print $2 }' "$work/wrk.$r")
	p99=$(awk '$1 == "99%" { print $2 }' "$work/wrk.$r")
	if grep -q -e 'Non-2xx' -e 'Socket errors' "$work/wrk.$r"; then
		cat "$work/wrk.$r" >&2
		echo "bench: run $r had errors or non-2xx answers" >&2
		exit 1
	fi
	printf 'run %d: %.0f req/s (p99 latency %s)\n' "$r" "$rate" "$p99"
	echo "$rate" >>"$work/rates"
done
med=$(median <"$work/rates")
printf 'median: %.0f req/s (goal >= 40000)\n' "$med"
awk -v m="$med" 'BEGIN { exit !(m >= 40000) }' || { echo "bench: below the goal" >&2; exit 1; }
