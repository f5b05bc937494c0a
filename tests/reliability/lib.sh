# tests/reliability/lib.sh: helpers of the reliability suite, on top of
# ../e2e/lib.sh (which it sources): new_db, and what must hold after any
# fault, checked from the emulator's own request log and the database.
# Source it:
#
#	. "$(dirname "$0")/lib.sh"
#	e2e_setup NAME
#	...
#	check_invariants DB MOCKLOG [--one-201]
#
# - every POST the emulator received for a customer is an attempt row
#   (per customer: POSTs <= attempts), and no attempt claims an answer the
#   emulator never gave (attempts with an HTTP status <= POSTs); a request a
#   crash lost is an "outcome unknown" attempt, which counts as a row;
# - every session_id and connection_id in the database (rows and attempts)
#   is one the emulator issued to that customer;
# - no row is left in_flight, and PRAGMA integrity_check is ok;
# - with --one-201: no customer received two 201s (runs without crashes,
#   renewals or re-queues).

. "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"

_inv_q() { sqlite3 -batch -noheader "$1" "$2"; }

# check_invariants DB MOCKLOG [--one-201]
check_invariants() {
	local db=$1 log=$2 one=${3:-} dir bad
	dir=$(mktemp -d "${TMPDIR:-/tmp}/inv.XXXXXX")
	jq -r 'select(.path == "/connect/sessions") | .customer_id' "$log" | sort | uniq -c |
		awk '{print $2, $1}' | sort >"$dir/posts"
	_inv_q "$db" "SELECT c.customer_id, count(*), count(a.http_status) FROM attempts a
		JOIN customers c ON c.id = a.customer WHERE a.kind = 'create'
		GROUP BY c.customer_id ORDER BY 1" | tr '|' ' ' | sort >"$dir/attempts"
	# customer posts attempts answered (0 when absent on one side)
	bad=$(join -a1 -a2 -e 0 -o 0,1.2,2.2,2.3 "$dir/posts" "$dir/attempts" |
		awk '$2 > $3 || $4 > $2' | head -n 5)
	[ -z "$bad" ] || { rm -rf "$dir"; fail "$db: customer, POSTs, attempt rows, answered attempts that disagree:
$bad"; }
	_inv_q "$db" "SELECT customer_id || ' ' || session_id FROM customers
		WHERE session_id IS NOT NULL" | sort >"$dir/db-sessions"
	if _inv_q "$db" "SELECT 1 FROM pragma_table_info('attempts') WHERE name = 'session_id'" |
		grep -q 1; then
		_inv_q "$db" "SELECT c.customer_id || ' ' || a.session_id FROM attempts a
			JOIN customers c ON c.id = a.customer WHERE a.session_id IS NOT NULL" |
			sort -u >>"$dir/db-sessions"
		sort -u -o "$dir/db-sessions" "$dir/db-sessions"
	fi
	jq -r 'select(.session_id != null and .customer_id != null) |
		.customer_id + " " + .session_id' "$log" | sort -u >"$dir/mock-sessions"
	bad=$(comm -23 "$dir/db-sessions" "$dir/mock-sessions" | head -n 5)
	[ -z "$bad" ] || { rm -rf "$dir"; fail "$db: session_ids the emulator never issued to that customer: $bad"; }
	_inv_q "$db" "SELECT customer_id || ' ' || connection_id FROM customers
		WHERE connection_id IS NOT NULL AND keyless = 0" | sort >"$dir/db-conns"
	if _inv_q "$db" "SELECT 1 FROM pragma_table_info('attempts') WHERE name = 'connection_id'" |
		grep -q 1; then
		_inv_q "$db" "SELECT c.customer_id || ' ' || a.connection_id FROM attempts a
			JOIN customers c ON c.id = a.customer WHERE a.connection_id IS NOT NULL" \
			>>"$dir/db-conns"
		sort -u -o "$dir/db-conns" "$dir/db-conns"
	fi
	jq -r 'select(.connection_id != null and .customer_id != null) |
		.customer_id + " " + .connection_id' "$log" | sort -u >"$dir/mock-conns"
	bad=$(comm -23 "$dir/db-conns" "$dir/mock-conns" | head -n 5)
	[ -z "$bad" ] || { rm -rf "$dir"; fail "$db: connection_ids the emulator never gave that customer: $bad"; }
	if [ "$one" = --one-201 ]; then
		bad=$(jq -r 'select(.status == 201 and .customer_id != null) | .customer_id' "$log" |
			sort | uniq -d | head -n 5)
		[ -z "$bad" ] || { rm -rf "$dir"; fail "$db: customers that received two 201s: $bad"; }
	fi
	rm -rf "$dir"
	[ "$(_inv_q "$db" "SELECT count(*) FROM customers WHERE state = 'in_flight'")" = 0 ] ||
		fail "$db: rows left in_flight"
	[ "$(_inv_q "$db" 'PRAGMA integrity_check')" = ok ] || fail "$db: integrity_check is not ok"
}

# new_db DB N PREFIX: imports N valid customers PREFIX-1..PREFIX-N into DB
# (the CSV is DB.csv).
new_db() {
	local db=$1 n=$2 prefix=$3
	{
		echo "customer_id,customer_name,products"
		seq 1 "$n" | awk -v p="$prefix" '{printf "%s-%d,Employer %d,company directory\n", p, $1, $1}'
	} >"$db.csv"
	"$FINCH_ONBOARD" import "$db.csv" --db "$db" --quiet >/dev/null || fail "cannot import $db.csv"
}

# py_server TAG SCRIPT [ARGS...]: runs python3 SCRIPT ARGS (a test's own
# small server, which prints its port on its first line; gateway.py is its
# module of what such servers share) in the background,
# waits for the port and sets PY_URL. py_servers_stop stops every one by pid
# (and cleans up as e2e_cleanup does): trap it on EXIT.
PY_PIDS=()
REL_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
py_server() {
	local tag=$1 script=$2
	shift 2
	rm -f "$tag.port"
	PYTHONPATH="$REL_DIR${PYTHONPATH:+:$PYTHONPATH}" python3 "$script" "$@" >"$tag.port" 2>"$tag.err" &
	PY_PIDS+=($!)
	_py_port() { [ -s "$1.port" ]; }
	# generous: python3 alone takes seconds to start on a loaded machine
	WAIT_FOR_SECONDS=60 wait_for "the $tag server's port" _py_port "$tag"
	PY_URL="http://127.0.0.1:$(head -n 1 "$tag.port")"
}

py_servers_stop() {
	local p
	for p in "${PY_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	e2e_cleanup
}
