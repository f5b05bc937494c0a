#!/usr/bin/env bash
# tests/e2e/job_config.sh: a nightly job in one config file, as the packaged
# service runs it (sync --config FILE and nothing else): client_id (the
# --client-id option; FINCH_CLIENT_ID over the file, the command line over
# both), csv (sync --csv; the argument over it, "-" for standard input), db,
# out and metrics_file, checked against finch-mock, which accepts only the
# file's client id.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_setup job-config
e2e_credentials job-config
unset FINCH_ONBOARD_CONFIG

printf 'customer_id,customer_name,products\nj-001,Jay,company\nj-002,Kay,directory\n' >c.csv
start_mock --client-id file-client
mkdir state logs
cat >job.conf <<INI
[common]
db = state/onboard.db
[sync]
client_id = file-client
csv = c.csv
out = logs/results.csv
metrics_file = logs/finch_onboard.prom
base_url = $MOCK_URL
quiet = true
INI
chmod 644 job.conf

# ---- where each setting comes from ---------------------------------------------------
expect_exit 0 env -u FINCH_CLIENT_ID "$FINCH_ONBOARD" config --config job.conf sync
for key in db client_id csv out metrics_file; do
	grep -q "^file:job.conf:[0-9]*	$key=" out.txt || fail "config sync: $key not from the file: $(cat out.txt)"
done
expect_exit 0 env FINCH_CLIENT_ID=env-client "$FINCH_ONBOARD" config --config job.conf sync
grep -q "^env:FINCH_CLIENT_ID	client_id=env-client$" out.txt || fail "FINCH_CLIENT_ID over the file: $(cat out.txt)"
grep -q "client_id=file-client" out.txt && fail "the file's client_id still shown beside the environment's: $(cat out.txt)"
expect_exit 0 env FINCH_CLIENT_ID=env-client "$FINCH_ONBOARD" config --config job.conf sync --client-id cli-client
grep -q "^command line	client_id=cli-client$" out.txt || fail "--client-id over the environment: $(cat out.txt)"
pass "config sync: db, client_id, csv, out, metrics_file from the file; FINCH_CLIENT_ID over it, --client-id over both"

# ---- the job runs from the file alone --------------------------------------------
expect_exit 0 env -u FINCH_CLIENT_ID "$FINCH_ONBOARD" sync --config job.conf
expect_eq "created" "$(count_state state/onboard.db created)" 2
[ -s logs/results.csv ] && [ -s logs/finch_onboard.prom ] || fail "no export or metrics: $(ls logs)"
# the environment's client id wins over the file's: the emulator refuses it (exit 3)
printf 'customer_id,customer_name,products\nj-003,Ell,company\n' >d.csv
# (--keep-missing: the one-row file would withdraw the first night's rows)
expect_exit 3 env FINCH_CLIENT_ID=env-client "$FINCH_ONBOARD" sync --config job.conf --keep-missing d.csv
# and the command line's over the environment's
expect_exit 0 env FINCH_CLIENT_ID=env-client "$FINCH_ONBOARD" sync --config job.conf --keep-missing --client-id file-client d.csv
expect_eq "created after d.csv (the argument over csv)" "$(count_state state/onboard.db created)" 3
# csv = - reads standard input, as the service's StandardInput=file: gives it
sed 's/^csv = .*/csv = -/' job.conf >stdin.conf
chmod 644 stdin.conf
printf 'customer_id,customer_name,products\nj-004,Em,company\n' |
	expect_exit 0 env -u FINCH_CLIENT_ID "$FINCH_ONBOARD" sync --config stdin.conf --keep-missing
expect_eq "created after stdin" "$(count_state state/onboard.db created)" 4
pass "sync --config FILE alone: client id, CSV, database, export and metrics from the file; the environment's id refused by the emulator (exit 3); --client-id and the argument win"

# ---- what is missing is named --------------------------------------------------------
grep -v '^csv = ' job.conf >nocsv.conf
chmod 644 nocsv.conf
expect_exit 2 env -u FINCH_CLIENT_ID "$FINCH_ONBOARD" sync --config nocsv.conf
grep -q "missing the CSV file (an argument, or --csv FILE: csv = FILE in the config file)" err.txt ||
	fail "no CSV: $(cat err.txt)"
grep -v '^client_id = ' job.conf >noid.conf
chmod 644 noid.conf
expect_exit 2 env -u FINCH_CLIENT_ID "$FINCH_ONBOARD" sync --config noid.conf d.csv
grep -q "FINCH_CLIENT_ID is not set; export FINCH_CLIENT_ID (or give --client-id, or client_id in the config file)" err.txt ||
	fail "no client id: $(cat err.txt)"
expect_exit 2 fo sync --config job.conf --client-id ''
grep -q "option '--client-id' expects the application's client id, not an empty value" err.txt ||
	fail "--client-id '': $(cat err.txt)"
pass "no CSV, no client id and an empty --client-id are exit 2, each named"

# ---- the secret: the command line, then the environment, then the file --------------
printf 'not-the-secret\n' >wrong.secret
printf '%s\n' "$FINCH_CLIENT_SECRET" >right.secret
chmod 600 wrong.secret right.secret
{ cat job.conf; printf '[common]\nclient_secret_file = wrong.secret\n'; } >secret.conf
chmod 644 secret.conf
expect_exit 0 "$FINCH_ONBOARD" config --config secret.conf sync
grep -q "^env:FINCH_CLIENT_SECRET	client_secret=\[redacted\]$" out.txt || fail "FINCH_CLIENT_SECRET not in force: $(cat out.txt)"
grep -q "wrong.secret" out.txt && fail "the file's client_secret_file shown beside the environment's secret: $(cat out.txt)"
expect_exit 0 "$FINCH_ONBOARD" config --config secret.conf sync --client-secret-file right.secret
grep -q "^command line	client_secret_file=right.secret$" out.txt || fail "--client-secret-file not in force: $(cat out.txt)"
grep -q "FINCH_CLIENT_SECRET" out.txt && fail "the environment's secret shown beside --client-secret-file: $(cat out.txt)"
printf 'customer_id,customer_name,products\nj-005,Eve,company\n' >e.csv
expect_exit 0 env -u FINCH_CLIENT_ID "$FINCH_ONBOARD" sync --config secret.conf --keep-missing e.csv
expect_eq "created with the environment's secret" "$(count_state state/onboard.db created)" 5
# without the environment's, the file's (wrong) secret is used: the emulator refuses it
printf 'customer_id,customer_name,products\nj-006,Fay,company\n' >f.csv
expect_exit 3 env -u FINCH_CLIENT_ID -u FINCH_CLIENT_SECRET "$FINCH_ONBOARD" sync --config secret.conf --keep-missing f.csv
pass "FINCH_CLIENT_SECRET over the file's client_secret_file, --client-secret-file over both; config sync shows the one in force"
stop_mock
finish
