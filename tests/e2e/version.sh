#!/usr/bin/env bash
# tests/e2e/version.sh: `--version` of both binaries names, for a bug report,
# the version, the commit and every library's version, like curl --version.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
tmpdir version
cd "$E2E_TMP"

# check PROG OUTPUT EXTRA_RE: the four lines version.h promises.
check() {
	local first
	first=$(sed -n 1p <<<"$2")
	[[ $first =~ ^$1\ [0-9]+\.[0-9]+\.[0-9]+\ \(commit\ [0-9A-Za-z.+_-]+\)\ libcurl/[0-9.]+\ SQLite/[0-9.]+\ cJSON/[0-9.]+\ libcsv/[0-9]+\.[0-9]+\.[0-9]+$3$ ]] ||
		fail "$1 --version, first line: '$first'"
	grep -qE '^libcurl: libcurl/[0-9.]+ ' <<<"$2" || fail "$1 --version: no libcurl line: $2"
	grep -qE '^TLS: (OpenSSL|GnuTLS|mbedTLS|wolfSSL|rustls|BoringSSL|LibreSSL|Schannel)[^ ]*|^TLS: none$' <<<"$2" ||
		fail "$1 --version: no TLS line: $2"
	grep -qE '^HTTP/2: (yes \(nghttp2/[0-9.]+\)|yes|no)$' <<<"$2" || fail "$1 --version: no HTTP/2 line: $2"
	[ "$(wc -l <<<"$2")" = 4 ] || fail "$1 --version: not four lines: $2"
}

out=$("$FINCH_ONBOARD" --version) || fail "finch-onboard --version failed"
check finch-onboard "$out" ""
sqlite=$(sqlite3 :memory: 'select sqlite_version()')
grep -q "SQLite/$sqlite " <<<"$out" || fail "SQLite's version is not the library's ($sqlite): $out"
pass "finch-onboard --version: version, commit, libcurl, TLS, HTTP/2, SQLite, cJSON, libcsv"

out=$("$FINCH_MOCK" --version) || fail "finch-mock --version failed"
check finch-mock "$out" " libmicrohttpd/[0-9.]+"
pass "finch-mock --version: the same, and libmicrohttpd"
finish
