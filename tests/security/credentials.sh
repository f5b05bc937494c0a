#!/usr/bin/env bash
# tests/security/credentials.sh: the secret systemd hands the service
# (LoadCredential=client_secret:FILE), tested without systemd by setting
# CREDENTIALS_DIRECTORY as the service manager does. The order is
# --client-secret-file, then FINCH_CLIENT_SECRET, then the credential; the
# credential is held to the secret file's rules, and a folder without it is
# the same as no folder.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
sec_setup credentials
start_mock --log "$SEC_SRV/mock.log"
secret=$FINCH_CLIENT_SECRET
unset FINCH_CLIENT_SECRET
umask 077
mkdir creds
printf '%s\n' "$secret" >creds/client_secret
chmod 400 creds/client_secret
export CREDENTIALS_DIRECTORY=$E2E_TMP/creds

new_db c.db 2
expect_exit 0 fo run --db c.db --base-url "$MOCK_URL"
[ "$(count_state c.db created)" = 2 ] || fail "the credential's secret did not create the sessions"
[ ! -s err.txt ] || ! grep -q warning err.txt || fail "unexpected warning: $(cat err.txt)"
pass "with only \$CREDENTIALS_DIRECTORY/client_secret, the run authenticates"

# systemd grants the service read access with an ACL, which stat shows as group bits
chmod 440 creds/client_secret
new_db c.db 1
expect_exit 0 fo run --db c.db --base-url "$MOCK_URL"
! grep -q warning err.txt || fail "a credential readable through its ACL mask drew a warning: $(cat err.txt)"
pass "a credential with group read bits (systemd's ACL mask) draws no warning"

# The order: an explicit source wins over the credential.
printf 'wrong-secret\n' >wrong.txt
new_db c.db 1
FINCH_CLIENT_SECRET=wrong-secret expect_exit 3 fo run --db c.db --base-url "$MOCK_URL"
pass "FINCH_CLIENT_SECRET comes before the credential (a wrong one is used: exit 3)"
new_db c.db 1
expect_exit 3 fo run --db c.db --base-url "$MOCK_URL" --client-secret-file wrong.txt
pass "--client-secret-file comes before the credential"
printf '%s\n' "$secret" >right.txt
chmod 600 creds/client_secret
printf 'wrong-secret\n' >creds/client_secret
new_db c.db 1
FINCH_CLIENT_SECRET=wrong-secret expect_exit 0 fo run --db c.db --base-url "$MOCK_URL" \
	--client-secret-file right.txt
new_db c.db 1
FINCH_CLIENT_SECRET=$secret expect_exit 0 fo run --db c.db --base-url "$MOCK_URL"
pass "--client-secret-file, then FINCH_CLIENT_SECRET, then the credential"
rm -f right.txt wrong.txt

# The secret file's rules, naming the credential.
sent=$(requests "$SEC_SRV/mock.log")
for content in "FINCH_CLIENT_SECRET=$secret" "$(printf '\357\273\277')$secret" ""; do
	printf '%s\n' "$content" >creds/client_secret
	new_db c.db 1
	expect_exit 2 fo run --db c.db --base-url "$MOCK_URL"
	grep -q "credential 'client_secret': '$CREDENTIALS_DIRECTORY/client_secret' \(is an environment file\|starts with a UTF-8 byte order mark\|is empty\)" \
		err.txt || fail "a credential with a known mistake is not refused clearly: $(cat err.txt)"
done
printf '%s\n' "$secret" >creds/client_secret
chmod 620 creds/client_secret
new_db c.db 1
expect_exit 2 fo run --db c.db --base-url "$MOCK_URL"
grep -q "credential 'client_secret': others can write" err.txt ||
	fail "a credential others can write is not refused: $(cat err.txt)"
[ "$(requests "$SEC_SRV/mock.log")" = "$sent" ] || fail "a refused credential still sent requests"
pass "an env-file, BOM, empty or writable credential is refused, naming it, nothing sent"

# A credentials folder without client_secret (the service loaded others).
rm creds/client_secret
new_db c.db 1
expect_exit 2 fo run --db c.db --base-url "$MOCK_URL"
# under systemd the environment variables are beside the point: the message
# names the credential's file and the unit's line that should load it
grep -qF "credential 'client_secret': '$CREDENTIALS_DIRECTORY/client_secret' is not there" err.txt &&
	grep -qF "'LoadCredential=client_secret:/etc/finch-onboard/%i.secret'" err.txt ||
	fail "a missing credential does not name its file and LoadCredential=: $(cat err.txt)"
! grep -q FINCH_CLIENT_SECRET err.txt || fail "a missing credential names the environment: $(cat err.txt)"
pass "a credentials folder without client_secret: exit 2, naming \$CREDENTIALS_DIRECTORY/client_secret and LoadCredential="
# a dry run needs no secret: a missing credential is no error there
new_db c.db 1
expect_exit 0 fo run --db c.db --base-url "$MOCK_URL" --dry-run
# unreadable by the job's user (systemd's ACL gone wrong); root reads anything,
# so the job runs as nobody when the test is root
printf '%s\n' "$secret" >creds/client_secret
chmod 000 creds/client_secret
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	chmod 711 "$E2E_TMP" && chmod 755 creds # the folders open to nobody, the file not
	new_db c.db 1
	expect_exit 2 setpriv --reuid=65534 --regid=65534 --clear-groups "$FINCH_ONBOARD" run \
		--db "$E2E_TMP/nowhere/c.db" --base-url "$MOCK_URL"
	grep -qF "credential 'client_secret': cannot read '$CREDENTIALS_DIRECTORY/client_secret'; check the unit's line 'LoadCredential=client_secret:" err.txt ||
		fail "an unreadable credential does not name its file and LoadCredential=: $(cat err.txt)"
	pass "an unreadable credential: exit 2, naming its file and LoadCredential="
else
	echo "skipped: the unreadable credential needs root and setpriv"
fi
rm -f creds/client_secret
unset CREDENTIALS_DIRECTORY
new_db c.db 1
expect_exit 2 fo run --db c.db --base-url "$MOCK_URL"
pass "no secret anywhere: exit 2, naming the three sources"

stop_mock
export FINCH_CLIENT_SECRET=$secret
rm -rf creds
sec_dump c.db
sec_assert_clean "credentials"
pass "no form of the secret in any output or database"
finish
