# tests/bench/lib.sh: what the benchmark scripts share. Source it with the
# script's arguments, before anything else:
#
#	. "$(dirname "$0")/lib.sh" "$@"
#
# It sets src (the source tree), build (the first argument, BUILD_DIR;
# default src/build), FINCH_ONBOARD and FINCH_MOCK (from the environment,
# else in build) and runs (BENCH_RUNS, default 3), and defines:
#
#   bench_need WHAT...        exit 2 unless each is built (a path) or installed
#                             (a command)
#   bench_workdir NAME        a fresh work folder, $work (bench-NAME.XXXXXX);
#                             on exit the emulator is stopped and the folder
#                             removed (BENCH_KEEP=1 keeps it)
#   bench_enter               into $work, umask 077, bench-only credentials
#   bench_setup NAME WHAT...  bench_need WHAT..., bench_workdir NAME, bench_enter
#   start_bench_mock ARGS...  a fresh finch-mock on a free port (mock.out,
#                             mock.err in the current folder); sets mock_pid
#                             and mock_url
#   stop_bench_mock
#   plain_csv N               customers-N.csv: N rows of the four columns
#                             alone, the same every time
#   make_db N FILE [BINARY]   a database of N pending rows, imported by
#                             BINARY (default $FINCH_ONBOARD) from
#                             customers-N.csv as samples/gen_customers writes
#                             it (every column, varied), else plain_csv's
#   median                    the median of the numbers on stdin, one a line
#   now_ms                    the time in milliseconds since the epoch
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$src/build}
# absolute, since the scripts work in a folder of their own
if [ -d "$build" ]; then build=$(cd "$build" && pwd); fi
FINCH_ONBOARD=${FINCH_ONBOARD:-$build/finch-onboard}
FINCH_MOCK=${FINCH_MOCK:-$build/finch-mock}
runs=${BENCH_RUNS:-3}
work=
mock_pid=
mock_url=

bench_need() {
	local w
	for w in "$@"; do
		case $w in
		*/*) [ -x "$w" ] || { echo "bench: '$w' is not built" >&2; exit 2; } ;;
		*) command -v "$w" >/dev/null || { echo "bench: $w is not installed" >&2; exit 2; } ;;
		esac
	done
}

bench_cleanup() {
	stop_bench_mock
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		echo "kept $work"
	else
		rm -rf "$work"
	fi
}

bench_workdir() {
	work=$(mktemp -d "${TMPDIR:-/tmp}/bench-$1.XXXXXX")
	trap bench_cleanup EXIT
}

bench_enter() {
	cd "$work"
	umask 077
	export FINCH_CLIENT_ID=bench-client
	FINCH_CLIENT_SECRET=bench-secret-$RANDOM$RANDOM
	export FINCH_CLIENT_SECRET
}

bench_setup() {
	local name=$1
	shift
	bench_need "$@"
	bench_workdir "$name"
	bench_enter
}

start_bench_mock() {
	stop_bench_mock
	rm -f mock.out
	"$FINCH_MOCK" --port 0 "$@" >mock.out 2>mock.err &
	mock_pid=$!
	for _ in $(seq 100); do
		mock_url=$(sed -n 's/^listening on \(http:[^ ]*\).*/\1/p' mock.out | head -n 1)
		[ -n "$mock_url" ] && return 0
		sleep 0.05
	done
	echo "bench: finch-mock did not start: $(cat mock.err)" >&2
	exit 2
}

stop_bench_mock() {
	if [ -n "$mock_pid" ]; then
		kill "$mock_pid" 2>/dev/null || true
		wait "$mock_pid" 2>/dev/null || true
		mock_pid=
	fi
}

plain_csv() {
	awk -v n="$1" 'BEGIN {
		print "customer_id,customer_name,customer_email,products"
		for (i = 1; i <= n; i++)
			printf "bench-%06d,Bench Employer %d,hr%d@example.com,company directory\n", i, i, i
	}' >"customers-$1.csv"
}

make_db() {
	local n=$1 db=$2 bin=${3:-$FINCH_ONBOARD}
	rm -f "$db" "$db-wal" "$db-shm"
	if [ -x "$src/samples/gen_customers" ]; then
		"$src/samples/gen_customers" "$n" >"customers-$n.csv"
	else
		plain_csv "$n"
	fi
	"$bin" import --db "$db" "customers-$n.csv" >/dev/null
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
now_ms() { date +%s%3N; }
