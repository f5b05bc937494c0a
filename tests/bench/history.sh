#!/usr/bin/env bash
# tests/bench/history.sh: the database's size over a simulated year of
# nightly syncs (issue 16, retention). 10,000 rows whose links expire after
# 30 to 89 days (so about 170 are renewed each night with --renew-expired),
# 2% of requests answered 503 by finch-mock (transient failures, carried
# over to the next night: --max-attempts 1), 365 nights on the test clock
# (FINCH_ONBOARD_NOW a day later each night), once per window of
# --keep-history, side by side on databases of their own against one emulator.
# Prints each database's size (and its attempts and free pages) every 30
# nights and at the end, then per window the median sync time of a night
# and the final size. Goal: with a window, the size stops growing once the
# window is full; `forever` grows all year.
#
# Usage: tests/bench/history.sh [BUILD_DIR]   (default: build)
# Environment: FINCH_ONBOARD, FINCH_MOCK (binaries), BENCH_ROWS (10000),
# BENCH_NIGHTS (365), BENCH_KEEP (windows, default "forever 90d"),
# BENCH_ERROR_RATE (0.02).
set -euo pipefail
. "$(dirname "$0")/lib.sh" "$@"

rows=${BENCH_ROWS:-10000}
nights=${BENCH_NIGHTS:-365}
keeps=${BENCH_KEEP:-forever 90d}
error_rate=${BENCH_ERROR_RATE:-0.02}

bench_setup history "$FINCH_ONBOARD" "$FINCH_MOCK" sqlite3

awk -v n="$rows" 'BEGIN {
	print "customer_id,customer_name,customer_email,products,minutes_to_expire"
	for (i = 1; i <= n; i++)
		printf "hist-%06d,Employer %d,hr%d@example.com,company directory,%d\n",
			i, i, i, 1440 * (30 + i % 60)
}' >customers.csv

start_bench_mock --error-rate "$error_rate" --error-status 503 --seed 7
t0=$(date +%s)
day=86400

# size DB: "bytes attempts runs free_pages"
size() {
	printf '%s %s\n' "$(stat -c %s "$1")" \
		"$(sqlite3 -batch -noheader -separator ' ' "$1" \
			"SELECT (SELECT count(*) FROM attempts), (SELECT count(*) FROM runs),
			 (SELECT freelist_count FROM pragma_freelist_count)")"
}

# year KEEP: the 365 nights of one window, with its sizes in sizes-KEEP.txt
year() {
	local k=$1 n start rc
	for n in $(seq 0 $((nights - 1))); do
		start=$(now_ms)
		rc=0
		FINCH_ONBOARD_NOW=$((t0 + n * day)) "$FINCH_ONBOARD" sync customers.csv --db "h-$k.db" \
			--out "h-$k.csv" --base-url "$mock_url" --rate 0 --quiet --renew-expired \
			--max-attempts 1 --keep-history "$k" >/dev/null 2>>"sync-$k.err" || rc=$?
		case $rc in
		0 | 1) ;;
		*) echo "night $n ($k): exit $rc: $(tail -n 3 "sync-$k.err")" >&2 && return 1 ;;
		esac
		echo $(($(now_ms) - start)) >>"ms-$k.txt"
		if [ $(((n + 1) % 30)) = 0 ] || [ "$n" = $((nights - 1)) ]; then
			printf '%-6s %-8s %12s %10s %6s %8s\n' $((n + 1)) "$k" $(size "h-$k.db") >>"sizes-$k.txt"
		fi
	done
}

# the windows side by side, each on its own database (the emulator serves them all)
pids=()
for k in $keeps; do
	year "$k" &
	pids+=($!)
done
for p in "${pids[@]}"; do
	wait "$p" || exit 1
done
printf '%-6s %-8s %12s %10s %6s %8s\n' night window bytes attempts runs free_pg
sort -k1,1n -s sizes-*.txt

echo
printf '%-8s %12s %10s %18s\n' window final_bytes attempts median_night_ms
for k in $keeps; do
	set -- $(size "h-$k.db")
	printf '%-8s %12s %10s %18s\n' "$k" "$1" "$2" "$(median <"ms-$k.txt")"
done
