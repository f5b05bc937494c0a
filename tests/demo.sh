#!/usr/bin/env bash
# tests/demo.sh FINCH_ONBOARD FINCH_MOCK CSV
#
# The `demo` build target: rehearse a whole batch on this machine. Starts
# finch-mock on a free loopback port, runs `finch-onboard sync` on CSV
# against it with a throw-away database, prints the exported table, and stops
# the emulator. The export stays in ./demo-results.csv (mode 0600).
set -euo pipefail

if [ $# -ne 3 ]; then
	echo "usage: $0 FINCH_ONBOARD FINCH_MOCK CSV" >&2
	exit 2
fi
onboard=$1 mock=$2 csv=$3

work=$(mktemp -d "${TMPDIR:-/tmp}/finch-demo.XXXXXX")
mock_pid=
drain_pid=
cleanup() {
	if [ -n "$mock_pid" ]; then
		kill -TERM "$mock_pid" 2>/dev/null || true
		wait "$mock_pid" 2>/dev/null || true
	fi
	if [ -n "$drain_pid" ]; then
		wait "$drain_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Demo credentials, shared by the emulator and the client through the
# environment: never on a command line.
export FINCH_CLIENT_ID=demo-client-id
FINCH_CLIENT_SECRET=demo-secret-$(od -An -N8 -tx8 /dev/urandom | tr -d ' \n')
export FINCH_CLIENT_SECRET

# Every 7th customer id "already has a connection", so the table shows the
# `exists` outcome too. The first line on stdout names the port.
mkfifo "$work/mock.out"
"$mock" --port 0 --existing-every 7 >"$work/mock.out" 2>"$work/mock.err" &
mock_pid=$!
exec 3<"$work/mock.out"
if ! IFS= read -r -t 10 line <&3 || [[ $line != "listening on "* ]]; then
	echo "demo: finch-mock did not start:" >&2
	cat "$work/mock.err" >&2
	exit 1
fi
# Keep reading its stdout so it can never block on a full pipe.
cat <&3 >/dev/null &
drain_pid=$!
exec 3<&-
export FINCH_BASE_URL=${line#listening on }
echo "== finch-mock listening on $FINCH_BASE_URL (pid $mock_pid)"

echo "== finch-onboard sync $(basename "$csv")"
set +e
"$onboard" sync "$csv" --db "$work/demo.db" --out demo-results.csv --rate 0
rc=$?
set -e
case $rc in
0) echo "== sync: exit 0, every row done" ;;
1) echo "== sync: exit 1, as expected: the sample has deliberately invalid rows" ;;
*)
	echo "demo: sync failed with exit $rc" >&2
	exit "$rc"
	;;
esac

echo
echo "== results (all columns in $(pwd)/demo-results.csv)"
# JSON Lines through jq, so names with commas or quotes cannot shift columns.
"$onboard" export --db "$work/demo.db" --format jsonl |
	jq -r '[.customer_id, .status,
		(.connect_url // .connection_id //
		 ((.error // "") | sub("^[^:]*/"; "") | .[0:80]))] | @tsv' |
	{
		printf 'customer_id\tstatus\tconnect_url / connection_id / reason\n'
		cat
	} | column -t -s "$(printf '\t')"

echo
"$onboard" status --db "$work/demo.db"
