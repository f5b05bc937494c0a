#!/usr/bin/env bash
# tests/e2e/config.sh: the config file (--config FILE, FINCH_ONBOARD_CONFIG):
# its settings applied, the command line over the environment over the file,
# `finch-onboard config` showing where each setting comes from with the
# secret redacted, and every refusal naming the file, the line and the key.
set -uo pipefail

. "$(dirname "$0")/lib.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/e2e-config.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || fail "cannot cd to $work"
unset FINCH_ONBOARD_CONFIG FINCH_BASE_URL

ini() { # FILE LINE...: a config file of these lines, mode 0600
	printf '%s\n' "${@:2}" >"$1"
	chmod 600 "$1"
}

printf 'Account ID,Account Name,HR Email,Products,Notes,Region\r\na-1,Acme,hr@acme.example,company,x,EU\r\n' >crm.csv
cat >onboard.ini <<'INI'
# the nightly job's settings
[common]
db = crm.db

[import]
column = customer_id = Account ID
column = customer_name=Account Name
column = customer_email = HR Email
ignore_column = Notes, Region

[sync]
renew_expired = true
INI
chmod 600 onboard.ini

# ---- the settings applied, and the same through the environment -------------------
run_fo import crm.csv --config onboard.ini
expect_rc 0 "import with --config"
expect_eq "summary" "$OUT" "imported crm.csv: 1 rows read, 1 accepted, 0 invalid, 0 unchanged, 0 updated"
expect_eq "no warning: the unknown columns are expected" "$ERR" ""
expect_eq "stored" "$(sqlite3 crm.db 'SELECT customer_id, customer_name, customer_email FROM customers')" \
	"a-1|Acme|hr@acme.example"
FINCH_ONBOARD_CONFIG=onboard.ini run_fo import crm.csv
expect_rc 0 "import with FINCH_ONBOARD_CONFIG"
expect_eq "again: unchanged" "$OUT" "imported crm.csv: 1 rows read, 0 accepted, 0 invalid, 1 unchanged, 0 updated"
pass "the file's [common] and [import] settings apply, from --config and from FINCH_ONBOARD_CONFIG"

# ---- precedence: command line, then environment, then file -----------------------
cat >run.ini <<'INI'
[run]
base_url = https://file.example
rate = 1/s
INI
chmod 600 run.ini
FINCH_BASE_URL=https://env.example run_fo config --config run.ini run --rate 5/s
expect_rc 0 "config run"
expect_eq "origins" "$OUT" "command line	config=run.ini
env:FINCH_BASE_URL	base_url=https://env.example
env:FINCH_CLIENT_ID	client_id=$FINCH_CLIENT_ID
env:FINCH_CLIENT_SECRET	client_secret=[redacted]
command line	rate=5/s"
case "$OUT$ERR" in *"$FINCH_CLIENT_SECRET"*) fail "the secret is printed" ;; esac
run_fo config --config run.ini run
expect_eq "the file's when nothing else says" "$(grep -v '^env:' out.txt)" "command line	config=run.ini
file:run.ini:2	base_url=https://file.example
file:run.ini:3	rate=1/s"
run_fo config --config onboard.ini
expect_eq "every setting of the file" "$OUT" "command line	config=onboard.ini
file:onboard.ini:3	common.db=crm.db
file:onboard.ini:6	import.column=customer_id = Account ID
file:onboard.ini:7	import.column=customer_name=Account Name
file:onboard.ini:8	import.column=customer_email = HR Email
file:onboard.ini:9	import.ignore_column=Notes, Region
file:onboard.ini:12	sync.renew_expired=true
env:FINCH_CLIENT_ID	client_id=$FINCH_CLIENT_ID
env:FINCH_CLIENT_SECRET	client_secret=[redacted]"
# a real (dry) run sends to the URL in force: the file's, the environment's, the command line's
run_fo run --config run.ini --dry-run --db crm.db
expect_rc 0 "dry run with the file"
expect_eq "the file's URL" "$(head -1 out.txt)" "POST https://file.example/connect/sessions"
FINCH_BASE_URL=https://env.example run_fo run --config run.ini --dry-run --db crm.db
expect_eq "the environment's URL" "$(head -1 out.txt)" "POST https://env.example/connect/sessions"
FINCH_BASE_URL=https://env.example run_fo run --config run.ini --dry-run --db crm.db --base-url https://cli.example
expect_eq "the command line's URL" "$(head -1 out.txt)" "POST https://cli.example/connect/sessions"
pass "the command line wins over the environment, the environment over the file; config shows the origins, the secret redacted"

# ---- refusals name the file, the line and the key --------------------------------
ini secret.ini '[run]' 'client_secret = s3cr3t-in-file'
run_fo run --config secret.ini --db crm.db
expect_rc 2 "a secret in the file"
expect_eq "secret refused" "$ERR" "finch-onboard: error: secret.ini:2: client_secret: the secret is never read from a config file; put it in a file of its own (mode 0600) and set client_secret_file = PATH, or use FINCH_CLIENT_SECRET"
case "$ERR" in *s3cr3t-in-file*) fail "the secret is echoed" ;; esac

ini typo.ini '[import]' 'ignore_colum = Notes'
run_fo import crm.csv --config typo.ini
expect_rc 2 "an unknown key"
expect_eq "did you mean" "$ERR" "finch-onboard: error: typo.ini:2: unknown key 'ignore_colum' in [import] (did you mean 'ignore_column'?)"

ini bad.ini '[common]' 'db = crm.db' '[run]' '' 'concurrency = lots'
run_fo run --config bad.ini
expect_rc 2 "a bad value"
expect_eq "file, line and key" "$ERR" "finch-onboard: error: bad.ini:5: concurrency: option '--concurrency' expects a number from 1 to 1024, not 'lots'"
run_fo run --config bad.ini --log-format json
expect_rc 2 "a bad value, json"
jq -e 'select(.level == "error") | .msg | startswith("bad.ini:5: concurrency:")' err.txt >/dev/null ||
	fail "the json error does not name the file: $ERR"

# `config` checks every value as the command would read it, with or without a command
run_fo config --config bad.ini
expect_rc 2 "config: a bad value"
expect_eq "config names file, line and key" "$ERR" "finch-onboard: error: bad.ini:5: concurrency: option '--concurrency' expects a number from 1 to 1024, not 'lots'"
expect_eq "config prints no settings then" "$OUT" ""
run_fo config --config bad.ini run
expect_rc 2 "config run: a bad value"
run_fo config --config bad.ini import
expect_rc 0 "config import: [run] is not import's"
run_fo config --config onboard.ini sync --rate lots
expect_rc 2 "config: a bad value on the command line"
ini field.ini '[import]' 'column = custmer_id = Account ID'
run_fo config --config field.ini
expect_rc 2 "config: an unknown field"
expect_eq "did you mean the field" "$ERR" "finch-onboard: error: field.ini:2: column: --column 'custmer_id = Account ID': unknown field 'custmer_id' (did you mean 'customer_id'?)"
ini prod.ini '[import]' 'products = company payroll_v2'
run_fo config --config prod.ini
expect_rc 2 "config: a product newer than the build"
expect_eq "products checked once all is read" "$ERR" "finch-onboard: error: prod.ini:2: products: --products 'company payroll_v2': unknown product 'payroll_v2' (a product newer than this build needs --allow-product NAME)"

# --allow-product, like every long option, in the file: repeated, or a list
printf '[import]
products = company payroll_v2
allow_product = payroll_v2, plans_v9
allow_product = benefits_v2
' >prod.ini
run_fo config --config prod.ini import
expect_rc 0 "config: allowed products"
expect_eq "each allowed product" "$(grep allow_product out.txt)" "file:prod.ini:3	allow_product=payroll_v2
file:prod.ini:3	allow_product=plans_v9
file:prod.ini:4	allow_product=benefits_v2"
printf 'customer_id,customer_name\np-1,P One\n' >p.csv
run_fo import p.csv --config prod.ini --db prod.db --quiet
expect_rc 0 "import with allow_product from the file"
expect_eq "stored" "$(sqlite3 prod.db 'SELECT products FROM customers')" "company payroll_v2"

# a mapping's header is read without the blanks around it, and a later --column of a field replaces the file's
ini map.ini '[import]' 'column = customer_id =   Acount ID'
run_fo import crm.csv --config map.ini --db map.db
expect_rc 2 "a mapping to a header the file lacks"
expect_eq "the header as the user wrote it" "$(head -1 err.txt)" "finch-onboard: error: crm.csv:1: map.ini:2: column: --column customer_id='Acount ID': the header has no such column (did you mean 'Account ID'?); nothing was imported"
run_fo config --config map.ini import --column 'customer_id=Account ID'
expect_eq "the command line's mapping only" "$(grep column out.txt)" "command line	column=customer_id=Account ID"
pass "config checks every value (file, line and key), allow_product and other lists in the file, mappings trimmed"

# connections and webhooks read the file too: [common] db is theirs, and their own sections
ini hooks.ini '[common]' 'db = crm.db' '[webhooks]' 'at = 1676312382'
run_fo config --config hooks.ini webhooks
expect_rc 0 "config webhooks"
expect_eq "webhooks' settings" "$(grep -v '^env:' out.txt)" "command line	config=hooks.ini
file:hooks.ini:2	db=crm.db
file:hooks.ini:4	at=1676312382"
printf 'customer_id,connection_id\na-1,conn-1\n' >conns.csv
run_fo connections import conns.csv --config hooks.ini
expect_rc 0 "connections import with the file's db"
expect_eq "connected" "$(sqlite3 crm.db "SELECT state || ' ' || connection_id FROM customers WHERE customer_id = 'a-1'")" "exists conn-1"
printf '[webhooks]\nat = lots\n' >hooks.ini
run_fo config --config hooks.ini
expect_rc 2 "a bad value in [webhooks]"
expect_eq "webhooks' error" "$ERR" "finch-onboard: error: hooks.ini:2: at: --at 'lots': must be Unix seconds"
pass "connections and webhooks take the file's settings, [common] db among them, and config checks them"

chmod 620 onboard.ini
run_fo import crm.csv --config onboard.ini
expect_rc 2 "a file others can write"
expect_eq "writable refused" "$ERR" "finch-onboard: error: config file: others can write 'onboard.ini' (mode 0620); run 'chmod 600 onboard.ini'"
chmod 600 onboard.ini
run_fo import crm.csv --config missing.ini
expect_rc 2 "a missing file"
expect_eq "missing" "$ERR" "finch-onboard: error: cannot open config file 'missing.ini': No such file or directory"
pass "a secret, an unknown key, a bad value, a writable or missing file: exit 2, naming file, line and key"

finish
