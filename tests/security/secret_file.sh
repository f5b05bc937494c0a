#!/usr/bin/env bash
# tests/security/secret_file.sh: --client-secret-file is checked as ssh
# checks its keys: refused (exit 2, nothing sent) when a group or others can
# write it or another user owns it; a warning naming the fix when others can
# read it; a symlink to a good file is fine.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
sec_setup secret-file
start_mock --log "$SEC_SRV/mock.log"
secret=$FINCH_CLIENT_SECRET
unset FINCH_CLIENT_SECRET
umask 077
printf '%s\n' "$secret" >secret.txt

# try MODE WANT_RC: a run with the secret file at MODE.
try() {
	chmod "$1" secret.txt
	new_db s.db 1
	expect_exit "$2" fo run --db s.db --base-url "$MOCK_URL" --client-secret-file secret.txt
}

try 600 0
[ ! -s err.txt ] || ! grep -q "warning" err.txt || fail "0600: unexpected warning: $(cat err.txt)"
try 400 0
pass "a 0600 or 0400 secret file is used without a word"

for m in 644 640 604; do
	try "$m" 0
	grep -q "others can read it (mode 0$m); run 'chmod 600 secret.txt'" err.txt ||
		fail "$m: no warning naming the fix: $(cat err.txt)"
done
pass "a secret file others can read draws a warning naming the fix, and the run goes on"

sent=$(requests "$SEC_SRV/mock.log")
for m in 620 602 660 666 622 777; do
	try "$m" 2
	grep -q "option '--client-secret-file': others can write 'secret.txt' (mode 0$m); run 'chmod 600 secret.txt'" \
		err.txt || fail "$m: the refusal is not clear: $(cat err.txt)"
done
[ "$(requests "$SEC_SRV/mock.log")" = "$sent" ] || fail "a refused secret file still sent requests"
pass "a secret file a group or others can write is refused, nothing sent"

# An environment file or a Windows editor's BOM would be sent as part of the secret.
cp secret.txt secret.keep
secret=$(cat secret.keep)
for content in "FINCH_CLIENT_SECRET=$secret" "export FINCH_CLIENT_SECRET=$secret" \
	"$(printf '\357\273\277')$secret"; do
	printf '%s\n' "$content" >secret.txt
	try 600 2
	grep -q "option '--client-secret-file': 'secret.txt' \(is an environment file\|starts with a UTF-8 byte order mark\)" \
		err.txt || fail "a secret file with a known mistake is not refused clearly: $(cat err.txt)"
done
[ "$(requests "$SEC_SRV/mock.log")" = "$sent" ] || fail "a refused secret file still sent requests"
mv secret.keep secret.txt
pass "a secret file in environment-file form or with a BOM is refused, naming the mistake"

chmod 600 secret.txt
ln -s secret.txt link.txt
new_db s.db 1
expect_exit 0 fo run --db s.db --base-url "$MOCK_URL" --client-secret-file link.txt
pass "a symlink to a private secret file is accepted"

if [ "$(id -u)" = 0 ]; then
	chown 65534 secret.txt
	new_db s.db 1
	expect_exit 2 fo run --db s.db --base-url "$MOCK_URL" --client-secret-file secret.txt
	grep -q "'secret.txt' is owned by another user (uid 65534)" err.txt ||
		fail "another user's secret file: the refusal is not clear: $(cat err.txt)"
	chown 0 secret.txt
	pass "a secret file another user owns is refused"
else
	# Only root can give a file away; root's own files are accepted (as ssh does).
	pass "skipped: another owner needs root (ran as uid $(id -u))"
fi
stop_mock
export FINCH_CLIENT_SECRET=$secret
rm -f secret.txt link.txt
sec_dump s.db
sec_assert_clean "secret files"
pass "no form of the secret in any output or database"
finish
