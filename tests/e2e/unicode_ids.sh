#!/usr/bin/env bash
# tests/e2e/unicode_ids.sh: one employer, one id (issue 15). müller-001 typed
# on Windows (U+00FC, NFC) and pasted on a Mac from a PDF (u + U+0308, NFD)
# look alike everywhere: ids are compared in Unicode NFC, so the two are one
# customer, within a file (the second a duplicate of the first) and across
# nights (no second session), and the spelling first stored is the one sent.
# finch-mock's request log holds the bytes the server got.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

e2e_setup unicode_ids
nfc=$(printf 'm\xc3\xbcller')
nfd=$(printf 'mu\xcc\x88ller')
opts=(--rate 0 --quiet --seed 5)
sent_ids() { jq -j '.customer_id' "$1" | od -An -tx1 | tr -d ' \n'; }
hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }

# ---- two spellings in one file: the second is a duplicate of the first ---------------------
printf 'customer_id,customer_name,products\n%s-001,Müller GmbH,company\n%s-001,Müller GmbH,company\n' \
	"$nfc" "$nfd" >both.csv
expect_exit 1 fo import both.csv --db one.db
grep -qF "both.csv:3: customer_id: duplicate of line 2" err.txt ||
	fail "the second spelling is not a duplicate of line 2: $(cat err.txt)"
expect_eq "customers" "$(q one.db "SELECT count(*) FROM customers WHERE keyless = 0")" 1
expect_eq "stored spelling" "$(q one.db "SELECT hex(customer_id) FROM customers WHERE keyless = 0")" \
	"$(hex "$nfc-001" | tr a-f A-F)"
pass "NFC then NFD of one id in one file: one customer, line 3 a duplicate of line 2"

# ---- another spelling on a later night: the same customer, no second session --------------
start_mock --log "$E2E_TMP/m.log"
printf 'customer_id,customer_name,products\n%s-001,Müller GmbH,company\n' "$nfc" >night1.csv
printf 'customer_id,customer_name,products\n%s-001,Müller GmbH,company\n' "$nfd" >night2.csv
expect_exit 0 fo sync night1.csv --db u.db --out out.csv --base-url "$MOCK_URL" "${opts[@]}"
expect_exit 0 fo sync night2.csv --db u.db --out out.csv --base-url "$MOCK_URL" "${opts[@]}"
expect_eq "POSTs over two nights" "$(requests m.log /connect/sessions)" 1
expect_eq "created" "$(count_state u.db created)" 1
expect_eq "rows" "$(q u.db "SELECT count(*) FROM customers WHERE keyless = 0")" 1
pass "NFC one night, NFD the next: one customer, one session"

# ---- the stored spelling is what is sent, whichever came first ----------------------------
: >"$E2E_TMP/m.log"
printf 'customer_id,customer_name,products\n%s-001,Müller GmbH,company\n%s-002,Müller AG,company\n' \
	"$nfc" "$nfd" >a.csv
printf 'customer_id,customer_name,products\n%s-001,Müller GmbH,company\n%s-002,Müller AG,directory\n' \
	"$nfd" "$nfc" >b.csv
expect_exit 0 fo import a.csv --db u.db --quiet
expect_exit 0 fo sync b.csv --db u.db --out out.csv --base-url "$MOCK_URL" "${opts[@]}"
expect_eq "POSTs" "$(requests m.log /connect/sessions)" 1
expect_eq "the id sent" "$(sent_ids m.log)" "$(hex "$nfd-002")"
expect_eq "rows" "$(q u.db "SELECT count(*) FROM customers WHERE keyless = 0")" 2
pass "a row stored as NFD and changed by an NFC line is sent with its stored (NFD) spelling"

# ---- connections import and retry --customer take either spelling -------------------------
printf 'customer_id,connection_id\n%s-001,conn-1\n' "$nfd" >conns.csv
expect_exit 0 fo connections import conns.csv --db u.db
expect_eq "connected" \
	"$(q u.db "SELECT state || ',' || connection_id FROM customers WHERE customer_id = '$nfc-001'")" \
	"exists,conn-1"
expect_exit 0 fo retry --db u.db --state created --customer "$nfc-002"
expect_eq "retried" "$(q u.db "SELECT state FROM customers WHERE customer_id = '$nfd-002'")" pending
stop_mock
pass "connections import and retry --customer find a customer by another spelling of its id"

finish
