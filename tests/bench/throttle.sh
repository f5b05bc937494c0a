#!/usr/bin/env bash
# tests/bench/throttle.sh: how `finch-onboard run` behaves when the server
# says "too many" (issue 10), figures side by side, medians.
#
#   case 1: 2,000 rows, 100 ms emulator latency, concurrency 16, --rate 0,
#           without and with 10% of answers a 429 (finch_application_rl,
#           Retry-After: 1). Goal: with 429s at most 1.3x as long.
#   case 2: a server capped at 50 requests/s (--rate-limit 50/1s --penalty 1s,
#           429 finch_api_ip_rl), same latency, --rate 0. Goal: at least 90%
#           of the cap in sessions/s, and 429s under 10% of requests.
#   case 3: --rate 20/s for 60 s (1,200 rows): the emulator's --log counts
#           per 10 s window. Goal: 20/s +- 2% in every window, never more.
#   case 4: Finch's per-IP limit, --rate-limit 1000/300s --penalty 60m:
#           with --rate 0 the run crosses once, then ends within seconds
#           with exit 7 and no row failed. With the default --rate (3/s) it
#           never crosses; that half runs at 1/10 scale (100/30s, 135 rows:
#           45 s at 3/s), the same ratio of rate to limit (90 of 100 per
#           window), so it need not take 5 minutes.
#
# Usage: tests/bench/throttle.sh [BUILD_DIR]   (default: build)
# Environment: FINCH_ONBOARD, FINCH_MOCK (binaries), BENCH_RUNS (default 3;
# medians of cases 1 and 2), BENCH_ROWS (2000), BENCH_CASES (default
# "1 2 3 4"), BENCH_STRESS=1: `stress-ng --cpu 2` keeps both cores busy for
# the whole bench (issue 21: the rate's accuracy while commits fsync on the
# event loop of a busy machine), stopped by pid at the end.
set -euo pipefail
. "$(dirname "$0")/lib.sh" "$@"

rows=${BENCH_ROWS:-2000}
cases=" ${BENCH_CASES:-1 2 3 4} "
want() { [[ $cases == *" $1 "* ]]; }

bench_setup throttle "$FINCH_ONBOARD" "$FINCH_MOCK" jq
stress_pid=
if [ "${BENCH_STRESS:-0}" = 1 ]; then
	bench_need stress-ng
	stress-ng --cpu 2 --quiet &
	stress_pid=$!
	trap 'kill "$stress_pid" 2>/dev/null; wait "$stress_pid" 2>/dev/null; bench_cleanup' EXIT
fi

# logged_mock ARGS...: a fresh emulator logging every request to mock.log.
logged_mock() {
	rm -f mock.log
	start_bench_mock --log mock.log "$@"
}

count() { sqlite3 run.db "SELECT count(*) FROM customers WHERE state = '$1'"; }

# onboard N ARGS...: a run of a fresh N-row database; sets rc, elapsed_s, end_ms.
onboard() {
	local n=$1 t0
	shift
	rm -f run.db run.db-wal run.db-shm
	plain_csv "$n"
	"$FINCH_ONBOARD" import --db run.db "customers-$n.csv" >/dev/null
	t0=$(now_ms)
	rc=0
	"$FINCH_ONBOARD" run --db run.db --base-url "$mock_url" --quiet "$@" >run.out 2>run.err ||
		rc=$?
	end_ms=$(now_ms)
	elapsed_s=$(awk -v a="$t0" -v b="$end_ms" 'BEGIN { printf "%.2f", (b - a) / 1000 }')
}

echo "finch-onboard throttling benchmark: $(nproc) cores${stress_pid:+, stress-ng --cpu 2 running}"

# ---- case 1 -------------------------------------------------------------------
if want 1; then
	: >plain.txt
	: >share.txt
	for _ in $(seq "$runs"); do
		logged_mock --latency 100ms
		onboard "$rows" --rate 0 --concurrency 16
		[ "$rc" = 0 ] || { echo "bench: run without 429s exited $rc" >&2; exit 1; }
		echo "$elapsed_s" >>plain.txt
		logged_mock --latency 100ms --seed "$RANDOM" --rate-limit-fault 0.1 --retry-after 1s
		onboard "$rows" --rate 0 --concurrency 16
		[ "$rc" = 0 ] || { echo "bench: run with 429s exited $rc" >&2; exit 1; }
		echo "$elapsed_s $(jq -s '[.[] | select(.status == 429)] | length' mock.log)" >>share.txt
	done
	plain=$(median <plain.txt)
	share=$(cut -d' ' -f1 share.txt | median)
	n429=$(cut -d' ' -f2 share.txt | median)
	echo "case 1: $rows rows, 100 ms latency, concurrency 16, --rate 0 (median of $runs)"
	printf "  %-36s %7.2f s  %5.0f sessions/s\n" "no 429s" "$plain" "$(awk -v n="$rows" -v e="$plain" 'BEGIN { print n / e }')"
	printf "  %-36s %7.2f s  %5.0f sessions/s  (%s 429s)\n" "10% 429s, Retry-After: 1" "$share" \
		"$(awk -v n="$rows" -v e="$share" 'BEGIN { print n / e }')" "$n429"
	awk -v a="$share" -v b="$plain" 'BEGIN {
		printf "  ratio: %.2fx (goal <= 1.3x: %s)\n", a / b, (a <= 1.3 * b ? "met" : "NOT met") }'
fi

# ---- case 2 -------------------------------------------------------------------
if want 2; then
	: >cap.txt
	for _ in $(seq "$runs"); do
		logged_mock --latency 100ms --rate-limit 50/1s --penalty 1s
		onboard "$rows" --rate 0 --concurrency 16 --max-attempts 20
		[ "$(count created)" = "$rows" ] || { echo "bench: capped run created $(count created) of $rows" >&2; exit 1; }
		jq -s --arg n "$rows" --arg e "$elapsed_s" '[($n | tonumber) / ($e | tonumber),
			([.[] | select(.status == 429)] | length) * 100 / length, length] | map(tostring) | join(" ")' \
			-r mock.log >>cap.txt
	done
	cap_rate=$(cut -d' ' -f1 cap.txt | median)
	cap_share=$(cut -d' ' -f2 cap.txt | median)
	echo "case 2: $rows rows, server capped at 50 requests/s (--penalty 1s), --rate 0 (median of $runs)"
	awk -v r="$cap_rate" -v s="$cap_share" 'BEGIN {
		printf "  %.1f sessions/s = %.1f%% of the cap (goal >= 90%%: %s); 429s %.1f%% of requests (goal < 10%%: %s)\n",
			r, r * 2, (r >= 45 ? "met" : "NOT met"), s, (s < 10 ? "met" : "NOT met") }'
fi

# ---- case 3 -------------------------------------------------------------------
if want 3; then
	logged_mock
	onboard 1200 --rate 20/s
	[ "$rc" = 0 ] || { echo "bench: --rate 20/s run exited $rc" >&2; exit 1; }
	echo "case 3: --rate 20/s, 1,200 rows, requests per 10 s window (emulator log)"
	jq -s -r 'map(.t_ms) | sort | .[0] as $t0 | map(((. - $t0) / 10000) | floor)
		| group_by(.) | map(length) | .[0:6] | map(tostring) | join(" ")' mock.log >windows.txt
	awk '{
		ok = 1; line = ""
		for (i = 1; i <= NF; i++) {
			r = $i / 10; line = line sprintf(" %.1f", r)
			if (r < 19.6 || r > 20.4) ok = 0
		}
		printf "  per window (/s):%s (goal 20 +- 2%% in each: %s)\n", line, (ok ? "met" : "NOT met")
	}' windows.txt
fi

# ---- case 4 -------------------------------------------------------------------
if want 4; then
	logged_mock --rate-limit 1000/300s --penalty 60m
	onboard 1500 --rate 0 --concurrency 16
	first429=$(jq -s '[.[] | select(.status == 429) | .t_ms] | min // 0' mock.log)
	echo "case 4: --rate-limit 1000/300s --penalty 60m, 1,500 rows"
	printf "  --rate 0: exit %s after %.2f s; %s requests, %s of them 429s; failed %s, pending %s, retry_wait %s\n" \
		"$rc" "$elapsed_s" "$(wc -l <mock.log)" "$(jq -s '[.[] | select(.status == 429)] | length' mock.log)" \
		"$(count failed)" "$(count pending)" "$(count retry_wait)"
	printf "    ended %d ms after the first 429 (goal: exit 7, no row failed, within seconds: %s)\n" \
		"$((end_ms - first429))" \
		"$([ "$rc" = 7 ] && [ "$(count failed)" = 0 ] && echo met || echo NOT met)"
	logged_mock --rate-limit 100/30s --penalty 60m
	onboard 135
	printf "  default --rate (3/s), 1/10 scale (100/30s, 135 rows): exit %s in %.0f s, %s 429s (goal 0: %s)\n" \
		"$rc" "$elapsed_s" "$(jq -s '[.[] | select(.status == 429)] | length' mock.log)" \
		"$([ "$(jq -s '[.[] | select(.status == 429)] | length' mock.log)" = 0 ] && echo met || echo NOT met)"
fi

stop_bench_mock
