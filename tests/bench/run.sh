#!/usr/bin/env bash
# tests/bench/run.sh: how fast `finch-onboard run` goes against finch-mock
# (no faults, --rate 0), next to curl's own CLI sending the same requests.
#
#   case 1: 20,000 rows at concurrency 64: finch-onboard run (every result
#           committed to SQLite) vs `curl --parallel --parallel-max 64` with
#           the same 20,000 bodies; sessions/s, CPU seconds and CPU per
#           request (user+sys), and the ratio. Goal: finch-onboard at least
#           as fast as curl. With BENCH_BASELINE=path/to/finch-onboard (a
#           build of an earlier commit), that binary runs in the same
#           rounds, on its own import of the rows, and the bench prints its
#           CPU per request next to this build's. Goal: no more than it.
#   case 2: 200 ms of emulator latency at concurrency 256: the ideal is
#           256 / 0.2 s = 1,280 sessions/s. Goal: at least 90% of it.
#   case 3: the progress line's cost: 50,000 rows at concurrency 64, run on a
#           pseudo-terminal (script(1)) with the progress line and with
#           --quiet, alternately. Goal: under 2% of throughput.
#
# Usage: tests/bench/run.sh [BUILD_DIR]   (default: build)
# Environment: FINCH_ONBOARD, FINCH_MOCK (binaries), BENCH_RUNS (default 3;
# medians are printed), BENCH_ROWS (20000), BENCH_LATENCY_ROWS (10000),
# BENCH_BASELINE (see case 1), BENCH_CASES (default "1 2 3").
set -euo pipefail
. "$(dirname "$0")/lib.sh" "$@"

rows=${BENCH_ROWS:-20000}
latency_rows=${BENCH_LATENCY_ROWS:-10000}
progress_rows=${BENCH_PROGRESS_ROWS:-50000}
baseline=${BENCH_BASELINE:-}
cases=" ${BENCH_CASES:-1 2 3} "

bench_setup run "$FINCH_ONBOARD" "$FINCH_MOCK" $baseline curl

# fresh_db PRISTINE COPY: a copy of a closed database (no WAL left behind).
fresh_db() {
	rm -f "$2" "$2-wal" "$2-shm" "$2-lock"
	cp "$1" "$2"
}

# timed OUTFILE CMD...: runs CMD under /usr/bin/time; OUTFILE gets "elapsed user sys".
timed() {
	local out=$1
	shift
	/usr/bin/time -f "%e %U %S" -o "$out" "$@"
}


# The curl config for the same requests: one block per body, credentials in the
# file (mode 0600), never on argv.
make_curl_config() {
	local db=$1 cfg=$2
	fresh_db "$db" dry.db
	"$FINCH_ONBOARD" run --db dry.db --base-url "$mock_url" --dry-run >dry.txt
	grep '^{' dry.txt | sed 's/\\/\\\\/g; s/"/\\"/g' |
		awk -v total="$(grep -c '^{' dry.txt)" -v url="$mock_url/connect/sessions" '{
			printf "url = \"%s\"\ndata = \"%s\"\n", url, $0
			print "header = \"Finch-API-Version: 2020-09-17\""
			print "header = \"Content-Type: application/json\""
			print "header = \"Accept: application/json\""
			# from the environment: the secret never appears in any argv
			printf "user = \"%s:%s\"\n", ENVIRON["FINCH_CLIENT_ID"], ENVIRON["FINCH_CLIENT_SECRET"]
			print "output = \"/dev/null\""
			print "write-out = \"%{http_code}\\n\""
			print "silent"
			if (NR < total)
				print "next"
		}' >"$cfg"
	[ "$(grep -c '^url' "$cfg")" -eq "$(grep -c '^{' dry.txt)" ]
}

# bench_onboard DB N CONC LABEL [BINARY]: one run; appends "elapsed cpu" to LABEL.txt.
bench_onboard() {
	local db=$1 n=$2 conc=$3 label=$4 bin=${5:-$FINCH_ONBOARD} created
	fresh_db "$db" run.db
	timed t.txt "$bin" run --db run.db --base-url "$mock_url" --rate 0 \
		--concurrency "$conc" --quiet
	created=$(sqlite3 run.db "SELECT count(*) FROM customers WHERE state = 'created'")
	if [ "$created" -ne "$n" ]; then
		echo "bench: finch-onboard created $created of $n sessions" >&2
		exit 1
	fi
	awk '{ printf "%s %.2f\n", $1, $2 + $3 }' t.txt >>"$label.txt"
}

# bench_tty DB N LABEL [--quiet]: one run on a pseudo-terminal, so the progress
# line is drawn unless --quiet; appends "elapsed cpu" to LABEL.txt.
bench_tty() {
	local db=$1 n=$2 label=$3 quiet=${4:-} created
	fresh_db "$db" run.db
	timed t.txt script -qec "'$FINCH_ONBOARD' run --db run.db --base-url '$mock_url' --rate 0 \
		--concurrency 64 $quiet" /dev/null >tty.out
	created=$(sqlite3 run.db "SELECT count(*) FROM customers WHERE state = 'created'")
	if [ "$created" -ne "$n" ]; then
		echo "bench: finch-onboard created $created of $n sessions on a terminal" >&2
		exit 1
	fi
	if [ -z "$quiet" ] && ! grep -q "sessions/s" tty.out; then
		echo "bench: no progress line was drawn" >&2
		exit 1
	fi
	awk '{ printf "%s %.2f\n", $1, $2 + $3 }' t.txt >>"$label.txt"
}

bench_curl() {
	local cfg=$1 n=$2 conc=$3 label=$4 ok
	timed t.txt curl -s --parallel --parallel-max "$conc" -K "$cfg" >codes.txt 2>curl.err ||
		{ echo "bench: curl failed: $(tail -n 3 curl.err)" >&2; exit 1; }
	ok=$(grep -c '^201$' codes.txt || true)
	if [ "$ok" -ne "$n" ]; then
		echo "bench: curl got $ok 201s of $n" >&2
		exit 1
	fi
	awk '{ printf "%s %.2f\n", $1, $2 + $3 }' t.txt >>"$label.txt"
}

# report LABEL N: "elapsed s, sessions/s, CPU s, CPU us per request" medians of
# LABEL.txt; sets rate_LABEL and cpu_LABEL (us per request).
report() {
	local label=$1 n=$2 el cpu rate per
	el=$(cut -d' ' -f1 "$label.txt" | median)
	cpu=$(cut -d' ' -f2 "$label.txt" | median)
	rate=$(awk -v n="$n" -v e="$el" 'BEGIN { printf "%.0f", (e > 0 ? n / e : 0) }')
	per=$(awk -v n="$n" -v c="$cpu" 'BEGIN { printf "%.0f", c * 1e6 / n }')
	printf "  %-22s %7.2f s  %7s sessions/s  %6.2f CPU s  %4s us CPU/request   (median of %d)\n" \
		"$3" "$el" "$rate" "$cpu" "$per" "$(wc -l <"$label.txt")"
	eval "rate_$label=$rate cpu_$label=$per"
}

echo "finch-onboard run benchmark: $(nproc) cores, $(curl --version | head -n 1 | cut -d' ' -f1-2)"

# ---- case 1 -------------------------------------------------------------------
if [[ $cases == *" 1 "* ]]; then
	make_db "$rows" pristine.db
	[ -z "$baseline" ] || make_db "$rows" pristine-base.db "$baseline"
	start_bench_mock
	make_curl_config pristine.db curl.cfg
	for _ in $(seq "$runs"); do
		bench_onboard pristine.db "$rows" 64 onboard
		bench_curl curl.cfg "$rows" 64 curl
		[ -z "$baseline" ] || bench_onboard pristine-base.db "$rows" 64 base "$baseline"
	done
	echo "case 1: $rows rows, concurrency 64, no emulator latency, --rate 0"
	report onboard "$rows" "finch-onboard run"
	report curl "$rows" "curl --parallel"
	[ -z "$baseline" ] || report base "$rows" "baseline run"
	awk -v a="$rate_onboard" -v b="$rate_curl" 'BEGIN {
		printf "  ratio finch-onboard / curl: %.2f (goal >= 1.00: %s)\n", a / b, (a >= b ? "met" : "NOT met")
	}'
	[ -z "$baseline" ] || awk -v a="$cpu_onboard" -v b="$cpu_base" -v r="$rate_base" -v c="$rate_curl" 'BEGIN {
		printf "  baseline / curl: %.2f; CPU per request, this build / baseline: %.2f (goal <= 1.00: %s)\n", r / c, a / b, (a <= b ? "met" : "NOT met")
	}'
fi

# ---- case 2 -------------------------------------------------------------------
if [[ $cases == *" 2 "* ]]; then
	make_db "$latency_rows" pristine2.db
	start_bench_mock --latency 200ms
	for _ in $(seq "$runs"); do
		bench_onboard pristine2.db "$latency_rows" 256 latency
	done
	echo "case 2: $latency_rows rows, concurrency 256, 200 ms emulator latency, --rate 0"
	report latency "$latency_rows" "finch-onboard run"
	awk -v a="$rate_latency" 'BEGIN {
		printf "  %.1f%% of the ideal 1280 sessions/s (goal >= 90%%: %s)\n", a * 100 / 1280, (a >= 1152 ? "met" : "NOT met")
	}'
fi

# ---- case 3 -------------------------------------------------------------------
if [[ $cases != *" 3 "* ]]; then
	:
elif command -v script >/dev/null; then
	make_db "$progress_rows" pristine3.db
	start_bench_mock
	for _ in $(seq "$runs"); do
		bench_tty pristine3.db "$progress_rows" progress_on
		bench_tty pristine3.db "$progress_rows" progress_off --quiet
	done
	echo "case 3: $progress_rows rows, concurrency 64, on a pseudo-terminal, --rate 0"
	report progress_on "$progress_rows" "with the progress line"
	report progress_off "$progress_rows" "--quiet"
	awk -v a="$rate_progress_on" -v b="$rate_progress_off" 'BEGIN {
		c = (b - a) * 100 / b
		printf "  cost of the progress line: %.1f%% of throughput (goal < 2%%: %s)\n", c, (c < 2 ? "met" : "NOT met")
	}'
	# CPU time is less at the mercy of other jobs on the machine than elapsed time.
	awk -v a="$(cut -d' ' -f2 progress_on.txt | median)" -v b="$(cut -d' ' -f2 progress_off.txt | median)" 'BEGIN {
		printf "  CPU with the progress line: %+.1f%%\n", (a - b) * 100 / b
	}'
else
	echo "case 3: skipped (no script(1) for a pseudo-terminal)"
fi
stop_bench_mock
