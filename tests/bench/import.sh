#!/usr/bin/env bash
# tests/bench/import.sh: how fast `finch-onboard import` loads a CSV, next to
# `sqlite3 .import --csv` loading the same file into a plain table.
#
# Generates BENCH_ROWS (default 1,000,000) rows with samples/gen_customers
# once, then runs BENCH_RUNS (default 3) rounds of both, each into a fresh
# database, and prints every time, the medians, their ratio, and the peak RSS
# of finch-onboard import ("Maximum resident set size" of /usr/bin/time -v).
# Each round also imports the same file again, unchanged (what a nightly
# sync does with a file that did not change), for information.
# Goals (issue 21): ratio <= 1.3, peak RSS <= 16 MiB. Builds nothing.
# Then the peak RSS of imports that try to make memory grow (issue 12): a
# 150 MB cell, a stray quote on line 3 of the same million rows, and a
# 900 KiB cell (over the cell limit, under the record limit): each must
# stay under 32 MiB too (the first two are refused with exit 2).
#
# Usage: tests/bench/import.sh [BUILD_DIR]   (default: build)
# Environment: FINCH_ONBOARD (the binary; default BUILD_DIR/finch-onboard),
# FINCH_ONBOARD_BEFORE (another build, timed in the same rounds: what a
# change bought), BENCH_ROWS, BENCH_RUNS, BENCH_KEEP=1 keeps the work directory.
set -euo pipefail
. "$(dirname "$0")/lib.sh" "$@"

rows=${BENCH_ROWS:-1000000}

bench_need "$FINCH_ONBOARD" sqlite3
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time is not installed (apt-get install time)" >&2; exit 2; }

bench_workdir import

csv=$work/customers.csv
echo "generating $rows rows ..."
"$src/samples/gen_customers" "$rows" >"$csv"
echo "$(du -m "$csv" | cut -f1) MiB, $(sqlite3 --version | cut -d' ' -f1) sqlite3, $(nproc) CPUs"

# "wall cpu rss" of a command from /usr/bin/time -v: elapsed seconds, user +
# system CPU seconds (steadier than wall time on a shared machine), peak KiB
timed() {
	local out=$work/time.txt
	/usr/bin/time -v -o "$out" "$@" >/dev/null 2>"$work/stderr.txt" || {
		echo "bench: '$*' failed:" >&2
		cat "$work/stderr.txt" >&2
		exit 1
	}
	awk -F': ' '/Elapsed \(wall clock\)/ {
		n = split($2, p, ":"); s = 0
		for (i = 1; i <= n; i++) s = s * 60 + p[i]
		t = s
	}
	/User time \(seconds\)/ { cpu += $2 }
	/System time \(seconds\)/ { cpu += $2 }
	/Maximum resident set size/ { rss = $2 }
	END { printf "%.2f %.2f %d\n", t, cpu, rss }' "$out"
}

# timed for a command that must exit with status $1
timed_rc() {
	local want=$1 out=$work/time.txt rc=0
	shift
	/usr/bin/time -v -o "$out" "$@" >/dev/null 2>"$work/stderr.txt" || rc=$?
	[ "$rc" = "$want" ] || {
		echo "bench: '$*' exited $rc, not $want:" >&2
		cat "$work/stderr.txt" >&2
		exit 1
	}
	awk -F': ' '/Maximum resident set size/ { print $2 }' "$out"
}

before=${FINCH_ONBOARD_BEFORE:-}
[ -z "$before" ] || [ -x "$before" ] || { echo "bench: '$before' is not built" >&2; exit 2; }
ours=() theirs=() ours_cpu=() theirs_cpu=() rss=() again=() prev=() prev_cpu=()
for r in $(seq 1 "$runs"); do
	rm -f "$work"/f.db* "$work"/s.db*
	read -r t1 c1 m1 < <(timed "$FINCH_ONBOARD" import "$csv" --db "$work/f.db" --quiet)
	read -r t2 c2 _ < <(timed sqlite3 "$work/s.db" ".import --csv $csv t")
	got=$(sqlite3 "$work/f.db" "SELECT count(*) FROM customers WHERE state = 'pending'")
	[ "$got" = "$rows" ] || { echo "bench: finch-onboard stored $got pending rows, not $rows" >&2; exit 1; }
	read -r t3 _ m3 < <(timed "$FINCH_ONBOARD" import "$csv" --db "$work/f.db" --quiet)
	printf 'round %d: finch-onboard import %6.2f s (%5.2f s CPU, peak RSS %d KiB)   sqlite3 .import %6.2f s (%5.2f s CPU)   again, unchanged %6.2f s\n' \
		"$r" "$t1" "$c1" "$m1" "$t2" "$c2" "$t3"
	if [ -n "$before" ]; then
		rm -f "$work"/b.db*
		read -r t4 c4 _ < <(timed "$before" import "$csv" --db "$work/b.db" --quiet)
		printf 'round %d: the build before %6.2f s (%5.2f s CPU)\n' "$r" "$t4" "$c4"
		prev+=("$t4") prev_cpu+=("$c4")
	fi
	ours+=("$t1") theirs+=("$t2") ours_cpu+=("$c1") theirs_cpu+=("$c2") rss+=("$m1" "$m3") again+=("$t3")
done

med() { printf '%s\n' "$@" | median; }
max_rss=$(printf '%s\n' "${rss[@]}" | sort -n | tail -1)
awk -v a="$(med "${ours[@]}")" -v b="$(med "${theirs[@]}")" \
	-v ac="$(med "${ours_cpu[@]}")" -v bc="$(med "${theirs_cpu[@]}")" \
	-v r="$max_rss" -v n="$rows" -v load="$(cut -d' ' -f1 /proc/loadavg)" \
	-v again="$(med "${again[@]}")" 'BEGIN {
	printf "median: finch-onboard import %.2f s (%.0f rows/s, %.2f s CPU), sqlite3 .import %.2f s (%.2f s CPU)\n",
		a, n / a, ac, b, bc
	printf "ratio: %.2fx wall, %.2fx CPU (goal <= 1.3x: %s); load average %s\n",
		a / b, ac / bc, a / b <= 1.3 ? "met" : "NOT met", load
	printf "peak RSS of finch-onboard import: %d KiB = %.1f MiB (goal <= 16 MiB: %s)\n",
		r, r / 1024, r <= 16384 ? "met" : "NOT met"
	printf "the same file again, unchanged: %.2f s (%.0f rows/s)\n", again, n / again
}'
[ -z "$before" ] || awk -v a="$(med "${prev[@]}")" -v ac="$(med "${prev_cpu[@]}")" \
	-v b="$(med "${theirs[@]}")" -v bc="$(med "${theirs_cpu[@]}")" 'BEGIN {
	printf "the build before: %.2f s (%.2f s CPU): %.2fx wall, %.2fx CPU\n", a, ac, a / b, ac / bc
}'

# ---- inputs that try to make memory grow --------------------------------------
python3 - "$work" <<'PY'
import sys
w = sys.argv[1]
with open(w + '/cell150.csv', 'wb') as f:
    f.write(b'customer_id,customer_name,products\nbig-1,"')
    block = b'x' * (1 << 20)
    for _ in range(150):
        f.write(block)
    f.write(b'",company\n')
with open(w + '/cell900k.csv', 'wb') as f:
    f.write(b'customer_id,customer_name,products\nok-1,Fine,company\nbig-1,"' + b'x' * 900 * 1024 +
            b'",company\nok-2,Fine,company\n')
PY
{ head -n 2 "$csv"; echo 'stray-1,"Stray quote,company'; tail -n +3 "$csv"; } >"$work/stray.csv"
rm -f "$work"/m.db*
m1=$(timed_rc 2 "$FINCH_ONBOARD" import "$work/cell150.csv" --db "$work/m.db" --quiet)
m2=$(timed_rc 2 "$FINCH_ONBOARD" import "$work/stray.csv" --db "$work/m.db" --quiet)
m3=$(timed_rc 1 "$FINCH_ONBOARD" import "$work/cell900k.csv" --db "$work/m.db" --quiet)
for pair in "a 150 MB cell (exit 2)":$m1 "a stray quote on line 3 of $rows rows (exit 2)":$m2 \
	"a 900 KiB cell (its row invalid)":$m3; do
	awk -v what="${pair%:*}" -v r="${pair##*:}" 'BEGIN {
		printf "peak RSS, %s: %d KiB = %.1f MiB (goal < 32 MiB: %s)\n", what, r, r / 1024,
			r < 32768 ? "met" : "NOT met" }'
done
