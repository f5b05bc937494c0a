#!/usr/bin/env bash
# tests/security/proxy.sh: proxies and the plain-http rules.
#
# With every proxy variable pointing at a capture proxy on loopback, a
# plain-http run to 127.0.0.1 or localhost never reaches it (CURLOPT_NOPROXY
# "*"), and localhost is pinned to the loopback addresses (CURLOPT_RESOLVE),
# never resolved. http://localhost. (trailing dot) and other names are
# refused before anything is sent. For https, libcurl's proxy variables work
# as curl users expect: https_proxy, HTTPS_PROXY and ALL_PROXY each route
# the run through the proxy (a CONNECT tunnel; the proxy never sees the
# secret), the proxy's password and Proxy-Authorization are redacted in
# --verbose, and NO_PROXY sends it direct.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
sec_setup proxy
sec_make_ca
start_capture
start_mock --log "$SEC_SRV/mock.log"
port=${MOCK_URL##*:}

proxy_vars=(http_proxy HTTP_PROXY https_proxy HTTPS_PROXY ALL_PROXY all_proxy)
with_proxies() { # CMD...: runs CMD with every proxy variable set to the capture proxy
	env $(for v in "${proxy_vars[@]}"; do printf '%s=%s ' "$v" "$CAPTURE_URL"; done) "$@"
}
captured() { grep -c '^[A-Z]* ' "$CAPTURE_LOG" || true; }

# ---- plain http: never through a proxy, never through DNS -----------------------------
new_db a.db 3
expect_exit 0 with_proxies "$FINCH_ONBOARD" run --db a.db --base-url "http://127.0.0.1:$port" --rate 0
new_db b.db 3
expect_exit 0 with_proxies "$FINCH_ONBOARD" run --db b.db --base-url "http://localhost:$port" \
	--rate 0 --verbose
grep -q "^\* Added localhost:$port:127.0.0.1,\[::1\] to DNS cache" err.txt ||
	fail "localhost is not pinned to the loopback addresses: $(grep -i 'dns\|resolv' err.txt)"
grep -q "^\* Hostname localhost was found in DNS cache" err.txt ||
	fail "localhost was resolved, not taken from the pinned entry"
! grep -qi "proxy" err.txt || fail "the plain-http run mentions a proxy: $(grep -i proxy err.txt)"
[ "$(captured)" = 0 ] || fail "a plain-http request reached the proxy: $(head -n 5 "$CAPTURE_LOG")"
[ "$(count_state a.db created)" = 3 ] && [ "$(count_state b.db created)" = 3 ] ||
	fail "the plain-http runs did not create every row"
[ "$(requests "$SEC_SRV/mock.log")" = 6 ] || fail "the mock did not get the 6 requests directly"
pass "with every proxy variable set, plain http to 127.0.0.1 and localhost goes direct; localhost is pinned"

for url in "http://localhost.:$port" "http://localhost." "http://LOCALHOST.:$port/" \
	"http://localhost.localdomain:$port" "http://127.0.0.1.nip.io:$port" "http://[::2]:$port"; do
	new_db r.db 1
	expect_exit 2 with_proxies "$FINCH_ONBOARD" run --db r.db --base-url "$url"
	grep -q -- "--base-url" err.txt || fail "$url: the refusal does not name --base-url"
	grep -q "not loopback" err.txt || fail "$url: the refusal does not say why: $(cat err.txt)"
done
[ "$(captured)" = 0 ] && [ "$(requests "$SEC_SRV/mock.log")" = 6 ] ||
	fail "a refused base URL still sent something"
pass "http://localhost. (trailing dot) and other names are refused before anything is sent"
stop_mock

# ---- https: the proxy variables work as in curl ------------------------------------------
start_h2 good.pem
proxy_pass="proxy-pw-$RANDOM$RANDOM"
proxy_url="http://puser:$proxy_pass@127.0.0.1:${CAPTURE_URL##*:}"
proxy_b64=$(printf 'puser:%s' "$proxy_pass" | base64 -w0)
for v in https_proxy HTTPS_PROXY ALL_PROXY; do
	before=$(captured)
	new_db p.db 1
	rc=0
	env "$v=$proxy_url" "$FINCH_ONBOARD" run --db p.db --base-url "$H2_URL" \
		--cacert "$SEC_SRV/ca.pem" --max-attempts 1 --verbose >out.txt 2>err.txt || rc=$?
	cat out.txt >>all-stdout.log
	cat err.txt >>all-stderr.log
	# A proxy that refuses the tunnel is an API out of reach: exit 6, nothing failed.
	[ "$rc" = 6 ] || fail "$v: a proxy refusing every CONNECT: exit $rc, want 6"
	[ "$(count_state p.db pending)" = 1 ] || fail "$v: a proxy's refusal changed the row's state"
	[ "$(captured)" -gt "$before" ] || fail "$v: the https run did not go through the proxy"
	tail -n 20 "$CAPTURE_LOG" | grep -q "^CONNECT localhost:${H2_URL##*:} " ||
		fail "$v: the proxy did not get a CONNECT for the server"
	grep -q "^Proxy-Authorization: Basic $proxy_b64" "$CAPTURE_LOG" ||
		fail "$v: the proxy credentials were not sent to the proxy"
	grep -q 'Proxy-Authorization: Basic \[redacted\]' err.txt ||
		fail "$v: Proxy-Authorization is not redacted in --verbose: $(grep -i proxy err.txt)"
	grep -q "puser:\[redacted\]@127.0.0.1" err.txt ||
		fail "$v: the proxy URL's password is not hidden: $(grep -i 'proxy env' err.txt)"
	! grep -qF -e "$proxy_pass" -e "$proxy_b64" err.txt out.txt ||
		fail "$v: the proxy password leaked in --verbose"
done
# whatever the password holds (/ ? # @ and quotes, unencoded as people paste them), it is cut
for pw in "pw/$RANDOM?x#y@z" "it's\"$RANDOM\"@x" "a b@c:d/$RANDOM"; do
	new_db p.db 1
	env "https_proxy=http://puser:$pw@127.0.0.1:${CAPTURE_URL##*:}" "$FINCH_ONBOARD" run --db p.db \
		--base-url "$H2_URL" --cacert "$SEC_SRV/ca.pem" --max-attempts 1 --verbose >out.txt 2>err.txt || true
	cat err.txt >>all-stderr.log
	grep -q "Uses proxy env variable https_proxy == 'http://puser:\[redacted\]@127.0.0.1:" err.txt ||
		fail "password '$pw': the proxy line is not cut: $(grep -i 'proxy env' err.txt)"
	! grep -qF -e "$pw" -e "${pw%%@*}" err.txt out.txt || fail "password '$pw' leaked in --verbose: $(grep -F "${pw%%@*}" err.txt | head -3)"
done
sec_forms >"$SEC_SRV/forms"
! grep -qaF -f "$SEC_SRV/forms" "$CAPTURE_LOG" || fail "the proxy saw the client secret"
pass "https_proxy, HTTPS_PROXY and ALL_PROXY route https through the proxy; its password is redacted whatever it holds; its refusal exits 6"

before=$(captured)
new_db d.db 2
expect_exit 0 with_proxies env NO_PROXY=localhost "$FINCH_ONBOARD" run --db d.db \
	--base-url "$H2_URL" --cacert "$SEC_SRV/ca.pem" --rate 0
[ "$(captured)" = "$before" ] || fail "NO_PROXY=localhost still went through the proxy"
[ "$(count_state d.db created)" = 2 ] || fail "the NO_PROXY run did not create the rows"
pass "NO_PROXY sends an https run direct"
stop_h2

for d in a.db b.db p.db d.db; do sec_dump "$d"; done
sec_assert_clean "proxies"
pass "no form of the secret in any output, database or export"
finish
