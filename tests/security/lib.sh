# tests/security/lib.sh: helpers of the security suite, on top of
# ../e2e/lib.sh. Source it:
#
#	. "$(dirname "$0")/lib.sh"
#
# It sets a secret with characters that URL-encoding changes, and knows the
# forms a leak could take (sec_assert_clean). It makes a throwaway CA and
# certificates with openssl (sec_make_ca), serves HTTP/2 over TLS with
# nghttpd from Debian's nghttp2-server (start_h2), and runs a proxy that only
# records what reaches it (start_capture). Every server listens on loopback
# and is stopped by pid. Nothing sleeps to wait: it polls with a deadline.
#
# Layout: the test works in $E2E_TMP (cd there); servers keep their files
# in $SEC_SRV, which the leak check skips (a server may log what it got).

. "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"

export FINCH_CLIENT_ID="sec-client-$$"
FINCH_CLIENT_SECRET="sec+ret/$RANDOM$RANDOM=A~b c"
export FINCH_CLIENT_SECRET
unset FINCH_BASE_URL http_proxy HTTP_PROXY https_proxy HTTPS_PROXY ALL_PROXY all_proxy \
	NO_PROXY no_proxy

# The exit code of a run stopped by an untrusted certificate (src/cmd.h).
SEC_TLS_EXIT=6

SEC_PIDS=()
SEC_SRV=

sec_cleanup() {
	local p
	for p in "${SEC_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	SEC_PIDS=()
	e2e_cleanup
}

# sec_setup NAME: a work directory (cd'ed into) and $SEC_SRV inside it.
sec_setup() {
	command -v python3 >/dev/null || fail "python3 is needed (apt-get install python3)"
	tmpdir "sec-$1"
	trap sec_cleanup EXIT
	SEC_SRV=$E2E_TMP/srv
	mkdir -p "$SEC_SRV"
	cd "$E2E_TMP"
}

# The forms the secret could leak in: raw, base64 of the Basic header and of
# the secret alone, percent-encoded (RFC 3986's minimum, both hex cases;
# every non-alphanumeric byte; HTML form encoding).
sec_forms() {
	local s=$FINCH_CLIENT_SECRET enc
	printf '%s\n' "$s"
	printf '%s:%s' "$FINCH_CLIENT_ID" "$s" | base64 -w0
	echo
	printf '%s' "$s" | base64 -w0
	echo
	enc=$(jq -rn --arg s "$s" '$s | @uri')
	printf '%s\n' "$enc" "${enc,,}"
	python3 -c 'import sys, urllib.parse as u; s = sys.argv[1]
print("".join(c if c.isalnum() else "%%%02X" % ord(c) for c in s))
print(u.quote_plus(s))' "$s"
}

# sec_assert_clean WHAT: no form of the secret in any file under the work
# directory but $SEC_SRV (databases, WAL, outputs, logs, exports, dumps).
sec_assert_clean() {
	local leaks
	sec_forms >"$SEC_SRV/forms"
	leaks=$(grep -rlaF -f "$SEC_SRV/forms" --exclude-dir=srv . || true)
	[ -z "$leaks" ] || fail "$1: the secret leaked into: $(echo $leaks)"
}

# sec_dump DB: what a user could get out of DB: sqlite3 .dump, both
# exports and status, kept in files for sec_assert_clean.
sec_dump() {
	sqlite3 "$1" .dump >"$1.dump" || fail "sqlite3 .dump $1 failed"
	fo export --db "$1" --format csv >"$1.export.csv" 2>>all-stderr.log || true
	fo export --db "$1" --format jsonl >"$1.export.jsonl" 2>>all-stderr.log || true
	fo status --db "$1" >"$1.status.txt" 2>>all-stderr.log || true
	fo status --db "$1" --json >"$1.status.json" 2>>all-stderr.log || true
}


# new_db DB N: a fresh database of N pending rows.
new_db() {
	rm -f "$1" "$1-wal" "$1-shm"
	awk -v n="$2" 'BEGIN {
		print "customer_id,customer_name,products"
		for (i = 1; i <= n; i++)
			printf "c-%03d,Employer %d,company directory\n", i, i
	}' >"$1.csv"
	fo import --db "$1" "$1.csv" >/dev/null 2>>all-stderr.log || fail "import of $1.csv failed"
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# sec_make_ca: in $SEC_SRV, a throwaway CA (ca.pem) and server certificates
# it signed: good.pem (localhost and 127.0.0.1), expired.pem (same names,
# expired yesterday), wronghost.pem (other.example only); one key, srv.key.
sec_make_ca() {
	local d=$SEC_SRV
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$d/ca.key" -out "$d/ca.pem" -days 2 -subj /CN=finch-onboard-test-ca \
		>/dev/null 2>&1 || fail "openssl could not make the test CA"
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$d/srv.key" -out "$d/srv.csr" -subj /CN=localhost >/dev/null 2>&1 ||
		fail "openssl could not make the server key"
	_sec_sign good "DNS:localhost,IP:127.0.0.1" 2
	_sec_sign expired "DNS:localhost,IP:127.0.0.1" -1
	_sec_sign wronghost "DNS:other.example" 2
}

_sec_sign() { # NAME SAN DAYS
	printf 'subjectAltName=%s\n' "$2" >"$SEC_SRV/$1.ext"
	openssl x509 -req -in "$SEC_SRV/srv.csr" -CA "$SEC_SRV/ca.pem" -CAkey "$SEC_SRV/ca.key" \
		-CAcreateserial -days "$3" -extfile "$SEC_SRV/$1.ext" -out "$SEC_SRV/$1.pem" \
		>/dev/null 2>&1 || fail "openssl could not sign $1.pem"
}

# start_h2 CERT: nghttpd, HTTP/2 over TLS with $SEC_SRV/CERT, on a free
# loopback port; POST /connect/sessions answers a created session. Sets
# H2_PID, H2_URL (https://localhost:PORT) and H2_LOG (its verbose log, which
# shows the request headers it received).
start_h2() {
	command -v nghttpd >/dev/null ||
		fail "nghttpd is needed: apt-get install nghttp2-server"
	mkdir -p "$SEC_SRV/htdocs/connect"
	printf '{"session_id":"h2-session","connect_url":"https://connect.tryfinch.com/authorize?session=h2"}' \
		>"$SEC_SRV/htdocs/connect/sessions"
	for _ in 1 2 3 4 5; do
		H2_PORT=$(free_port)
		H2_LOG=$SEC_SRV/h2-$H2_PORT.log
		nghttpd -v -a 127.0.0.1 -d "$SEC_SRV/htdocs" "$H2_PORT" "$SEC_SRV/srv.key" \
			"$SEC_SRV/$1" >"$H2_LOG" 2>&1 &
		H2_PID=$!
		SEC_PIDS+=("$H2_PID")
		poll_until 10 _h2_up || fail "nghttpd did not start within 10 s"
		if kill -0 "$H2_PID" 2>/dev/null; then
			H2_URL=https://localhost:$H2_PORT
			return 0
		fi
	done
	fail "nghttpd could not bind a port: $(tail -n 3 "$H2_LOG")"
}

_h2_up() { # listening, or gone (the port was taken)
	grep -q "listen 127.0.0.1:$H2_PORT" "$H2_LOG" 2>/dev/null || ! kill -0 "$H2_PID" 2>/dev/null
}

stop_h2() {
	kill -TERM "$H2_PID" 2>/dev/null || true
	wait "$H2_PID" 2>/dev/null || true
}

# start_capture: a proxy that forwards nothing: it records the head of
# every request that reaches it in $CAPTURE_LOG and answers 403. Sets
# CAPTURE_PID and CAPTURE_URL (http://127.0.0.1:PORT).
start_capture() {
	CAPTURE_LOG=$SEC_SRV/capture.log
	: >"$CAPTURE_LOG"
	rm -f "$SEC_SRV/capture.port"
	python3 - "$CAPTURE_LOG" "$SEC_SRV/capture.port" <<'PY' &
import os, socket, sys

log, port_file = sys.argv[1], sys.argv[2]
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(64)
with open(port_file + ".tmp", "w") as f:
    f.write(str(srv.getsockname()[1]))
os.rename(port_file + ".tmp", port_file)
while True:
    c, _ = srv.accept()
    c.settimeout(5)
    head = b""
    try:
        while b"\r\n\r\n" not in head and len(head) < 65536:
            b = c.recv(4096)
            if not b:
                break
            head += b
    except OSError:
        pass
    with open(log, "ab") as f:
        f.write(head.split(b"\r\n\r\n")[0] + b"\n\n")
    try:
        c.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    except OSError:
        pass
    c.close()
PY
	CAPTURE_PID=$!
	SEC_PIDS+=("$CAPTURE_PID")
	wait_for "the capture proxy" test -s "$SEC_SRV/capture.port"
	CAPTURE_URL=http://127.0.0.1:$(cat "$SEC_SRV/capture.port")
}
