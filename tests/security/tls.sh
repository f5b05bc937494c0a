#!/usr/bin/env bash
# tests/security/tls.sh: HTTP/2 over TLS with a throwaway CA (openssl) and
# nghttpd.
#
# --verbose over HTTP/2 (libcurl prints the request headers as info lines),
# for run and sync, shows no form of the secret anywhere: stdout, stderr,
# text and JSON logs, the database and its dump, exports, status. --cacert with the CA works;
# without it, and with an expired or a wrong-host certificate, the run stops
# at once: no row failed, every row still pending, at most one request per
# slot sent.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
sec_setup tls
sec_make_ca

# ---- HTTP/2 with --verbose, both log formats ---------------------------------------
start_h2 good.pem
new_db v.db 6
expect_exit 0 fo run --db v.db --base-url "$H2_URL" --cacert "$SEC_SRV/ca.pem" --rate 0 \
	--concurrency 2 --verbose
grep -q '^\* ALPN: server accepted h2' err.txt || fail "the run did not use HTTP/2: $(head -n 20 err.txt)"
grep -qi 'authorization: Basic \[redacted\]' err.txt || fail "no redacted authorization line in the HTTP/2 trace"
grep -q "sensitive) authorization: Basic $(printf '%s:%s' "$FINCH_CLIENT_ID" "$FINCH_CLIENT_SECRET" | base64 -w0)" \
	"$H2_LOG" || fail "the server did not receive the credentials over HTTP/2"
[ "$(count_state v.db created)" = 6 ] || fail "--cacert: not every row created"
sec_assert_clean "HTTP/2 --verbose"
pass "HTTP/2 over TLS with --cacert and --verbose: rows created, authorization redacted in every trace form"

new_db j.db 3
expect_exit 0 fo run --db j.db --base-url "$H2_URL" --cacert "$SEC_SRV/ca.pem" --rate 0 \
	--verbose --log-format json
grep -qi 'authorization: Basic \[redacted\]' err.txt || fail "no redacted authorization line under JSON logs"
awk 'BEGIN { print "customer_id,customer_name,products"; print "s-1,Sync Co,company" }' >s.csv
expect_exit 0 fo sync s.csv --db s.db --out s.results.csv --base-url "$H2_URL" \
	--cacert "$SEC_SRV/ca.pem" --rate 0 --verbose
grep -qi 'authorization: Basic \[redacted\]' err.txt || fail "no redacted authorization line under sync"
sec_dump v.db
sec_dump j.db
sec_dump s.db
sec_assert_clean "HTTP/2 --verbose --log-format json, sync, dumps, exports, status"
pass "the secret (raw, base64, percent-encoded) is in no output, log, database, dump, export or status"

# ---- untrusted certificates stop the run at once -------------------------------------
# expect_tls_stop WHAT: the last run stopped for TLS; n.db's 20 rows all pending.
expect_tls_stop() {
	grep -q "cannot trust the server" err.txt || fail "$1: no TLS error: $(tail -n 3 err.txt)"
	[ "$(count_state n.db failed)" = 0 ] || fail "$1: rows were marked failed"
	[ "$(count_state n.db pending)" = 20 ] || fail "$1: not every row is still pending"
	local sent
	sent=$(q n.db "SELECT count(*) FROM attempts WHERE run_id = (SELECT max(id) FROM runs)")
	[ "$sent" -le 2 ] || fail "$1: $sent requests went out, want at most one per slot (2)"
	[ "$(q n.db "SELECT count(*) FROM attempts WHERE http_status != 0")" = 0 ] ||
		fail "$1: an attempt records an HTTP answer"
}

new_db n.db 20
expect_exit "$SEC_TLS_EXIT" fo run --db n.db --base-url "$H2_URL" --rate 0 --concurrency 2
expect_tls_stop "no --cacert"
grep -q -- "--cacert" err.txt || fail "the TLS error does not point to --cacert"
pass "without --cacert the private CA is refused: the run stops at once, no row failed"
stop_h2

# CERT WORD WHAT: served with CERT (signed by the CA), the error says WORD
for c in "expired.pem expired an-expired-certificate" "wronghost.pem localhost a-certificate-for-another-host"; do
	set -- $c
	start_h2 "$1"
	expect_exit "$SEC_TLS_EXIT" fo run --db n.db --base-url "$H2_URL" --cacert "$SEC_SRV/ca.pem" \
		--rate 0 --concurrency 2
	expect_tls_stop "$1"
	grep -qi "$2" err.txt || fail "$1: the error does not say '$2': $(tail -n 3 err.txt)"
	pass "${3//-/ } stops the run at once, no row failed"
	stop_h2
done

sec_dump n.db
sec_assert_clean "TLS failures"
pass "no form of the secret after the TLS failures either"
finish
