#!/usr/bin/env bash
# tests/bench/import_reader.sh BUILD_DIR: what an outside reader sees during a
# bulk import, and what it costs the import. Prints, side by side: the import
# alone; with a plain sqlite3 shell polling every 50 ms; with a shell (with
# .timeout) holding a 3-second read transaction begun mid-import. Figures go
# in the README; nothing is asserted. BENCH_ROWS changes the size (200000).
set -euo pipefail
build=${1:-build}
fo=$(cd "$build" && pwd)/finch-onboard
src=$(cd "$(dirname "$0")/../.." && pwd)
rows=${BENCH_ROWS:-200000}
work=$(mktemp -d "${TMPDIR:-/tmp}/bench-reader.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
"$src/samples/gen_customers" 300 >small.csv
"$src/samples/gen_customers" "$rows" >big.csv

measure() { # MODE: none, poll or hold
	local mode=$1 pid rp= t0 t1
	rm -f d.db d.db-*
	"$fo" import small.csv --db d.db --quiet >/dev/null
	: >reader.txt
	t0=$(date +%s%3N)
	"$fo" import big.csv --db d.db --quiet >/dev/null &
	pid=$!
	until [ -s d.db-journal ] || ! kill -0 "$pid" 2>/dev/null; do sleep 0.005; done
	case $mode in
	poll) (while kill -0 "$pid" 2>/dev/null; do
		sqlite3 d.db "SELECT count(*) FROM customers" >>reader.txt 2>&1 || true
		sleep 0.05
	done) &
		rp=$! ;;
	hold) sqlite3 d.db ".timeout 20000" "BEGIN; SELECT count(*) FROM customers;" ".shell sleep 3" \
		"COMMIT;" >>reader.txt 2>&1 &
		rp=$! ;;
	esac
	wait "$pid"
	t1=$(date +%s%3N)
	[ -z "$rp" ] || wait "$rp" || true
	printf '%-5s import %5d ms; the reader saw: %s\n' "$mode" $((t1 - t0)) \
		"$(sort reader.txt | uniq -c | sed 's/^ *//' | paste -sd ';' -)"
}
echo "import of $rows rows over 300, with an outside reader ($fo)"
for mode in none poll hold; do measure "$mode"; done
