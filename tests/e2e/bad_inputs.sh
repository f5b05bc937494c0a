#!/usr/bin/env bash
# tests/e2e/bad_inputs.sh: every file of tests/data/bad imported, its exit code and
# messages checked against tests/data/bad/expected.txt; then what some of them
# store, byte for byte, and the refusals that must leave the database empty.
set -uo pipefail

. "$(dirname "$0")/lib.sh"
: "${FINCH_TEST_DATA:?set FINCH_TEST_DATA to tests/data}"

work=$(mktemp -d "${TMPDIR:-/tmp}/e2e-bad.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || fail "cannot cd to $work"
cp "$FINCH_TEST_DATA"/bad/* .
table=expected.txt

q() { sqlite3 -batch -noheader "$DB" "$1"; }

# ---- the files too big to commit --------------------------------------------------
H='customer_id,customer_name,products'
python3 - <<'PY' || fail "cannot generate the big files"
H = b'customer_id,customer_name,products\n'
ok = b'ok-1,Fine,company\n'
with open('gen_cell_100k.csv', 'wb') as f:
    f.write(H + ok + b'long-1,"' + b'x' * 102400 + b'",company\nok-2,Fine,company\n')
with open('gen_cell_10mb.csv', 'wb') as f:
    f.write(H + ok + b'huge-1,"' + b'y' * (10 * 1024 * 1024) + b'",company\nok-2,Fine,company\n')
with open('gen_million_columns.csv', 'wb') as f:
    f.write(H.rstrip(b'\n') + b',x' * 1000000 + b'\n' + ok)
with open('gen_stray_quote_early.csv', 'wb') as f:
    f.write(H + ok + b'bad-1,"Stray,company\n')
    f.write(b''.join(b'id-%06d,Employer %d,company\n' % (i, i) for i in range(60000)))
PY
pass "generated a 100 KiB cell, a 10 MiB cell, a million columns and an early stray quote"

# ---- the table --------------------------------------------------------------------
checked=0
files=" "
while IFS=$'\t' read -r file opts rc want; do
	case $file in '' | '#'*) continue ;; esac
	[ -e "$file" ] || fail "$table names '$file', which does not exist"
	DB=t.db
	rm -f t.db t.db-*
	args=()
	[ "$opts" = - ] || read -r -a args <<<"$opts"
	run_fo import "$file" --db "$DB" "${args[@]}"
	expect_rc "$rc" "import $file $opts"
	if [ "$want" != - ]; then
		grep -qxF -- "$want" out.txt err.txt ||
			fail "import $file $opts: no line '$want' in: $(cat out.txt err.txt)"
	fi
	if [ "$rc" = 2 ] && [ -e "$DB" ]; then
		expect_eq "$file: rows after a refusal" "$(q "SELECT count(*) FROM customers")" 0
		expect_eq "$file: imports after a refusal" "$(q "SELECT count(*) FROM imports")" 0
	fi
	checked=$((checked + 1))
	case $files in *" $file "*) ;; *) files="$files$file " ;; esac
done <"$table"
nfiles=$(wc -w <<<"$files")
[ "$nfiles" -ge 30 ] || fail "the table checks only $nfiles files"
for f in *; do
	case $f in "$table" | t.db* | out.txt | err.txt) continue ;; esac
	case $files in *" $f "*) ;; *) fail "$f has no line in $table" ;; esac
done
pass "$checked checks of $nfiles files: exit codes and messages as $table says; refusals import nothing"

# ---- what some of them store, byte for byte ---------------------------------------------
stored() { # FILE OPTS... : imports FILE into a new database DB
	DB=s.db
	rm -f s.db s.db-*
	run_fo import "$@" --db "$DB" --quiet
}
stored excel_windows_cp1252.csv --encoding windows-1252
expect_eq "cp1252 names" "$(q "SELECT group_concat(customer_name, '|') FROM customers")" \
	"Müller GmbH|Société Générale|Ærø Fisk ApS"
stored excel_mac_roman.csv --encoding macintosh
expect_eq "mac roman names" "$(q "SELECT group_concat(customer_name || '@' || source_line, '|') FROM customers")" \
	"Müller GmbH@2|Société Générale@3|Ærø Fisk ApS@4"
stored excel_windows_cp1252.csv
expect_eq "bad bytes shown as \\xNN" "$(q "SELECT customer_name FROM customers WHERE customer_id = 'mueller-001'")" \
	'M\xFCller GmbH'
stored excel_unicode_text.txt
expect_eq "utf-16 tab text" "$(q "SELECT group_concat(customer_id || '=' || customer_name, '|') FROM customers")" \
	"mueller-001=Müller GmbH|sg-002=Société Générale"
stored excel_de_semicolon.csv
expect_eq "semicolon file" "$(q "SELECT group_concat(customer_name || '=' || products, '|') FROM customers")" \
	"Müller GmbH=company directory|Société; Générale=company|Ærø Fisk ApS=company"
pass "encodings decode to the right UTF-8; a UTF-8 import shows bad bytes as \\xNN"

stored header_variants.csv
expect_eq "header variants" "$(q "SELECT customer_id, customer_name, products, customer_email FROM customers")" \
	"h-001|Header Co|company directory|hr@header.example"
pass "Customer ID, Customer-Name and no-break spaces in headers and cells"

# stored_is FILE WHAT SQL WANT: FILE imported, SQL on the database gives WANT.
stored_is() {
	stored "$1"
	expect_eq "$2" "$(q "$3")" "$4"
}
stored_is deeply_quoted.csv "deep quotes" "SELECT group_concat(customer_name, '|') FROM customers" \
	'"""""""|a "b "c "d"" c" b" a|"'
stored_is formula_cells.csv "formula cells stored as written" \
	"SELECT group_concat(customer_id || '=' || customer_name, '|') FROM customers" \
	"f-001==HYPERLINK(\"http://evil.example\",\"x\")|f-002=+33 1 23 45|f-003=@SUM(A1:A2)|f-004=-1+2|=cmd|' /C calc'!A0=Formula Id"
stored_is path_like_ids.csv "path-like ids" "SELECT group_concat(customer_id, '|') FROM customers" \
	'../../etc/passwd|C:\Windows\System32|/dev/null|%2e%2e%2f'
stored_is sql_text.csv "sql-looking text" \
	"SELECT group_concat(customer_id || '=' || customer_name, '|') FROM customers" \
	"'; DROP TABLE customers; --=Bobby|robert-001=Robert'); DROP TABLE customers;--|x-001=OR 1=1 --"
pass "quotes, formulas, paths and SQL are stored as written (the export neutralises formulas)"

stored excel_rounded_ids.csv
expect_eq "rounded ids" "$(q "SELECT customer_id, keyless, state FROM customers ORDER BY id")" \
	"1.23457E+11|1|invalid
1.23457E+11|1|invalid
123456789012|0|pending"
pass "two employers Excel rounded to one id are both invalid, neither taken for the other"

stored cr_only_lf_in_quotes.csv
expect_eq "cr-only rows" "$(q "SELECT customer_id, source_line, state FROM customers ORDER BY id")" \
	"a1|2|pending
a1|4|invalid"
pass "the CR-only file with a LF in quotes keeps both rows, on lines 2 and 4"

stored gen_cell_100k.csv
expect_eq "long cell display" "$(q "SELECT length(customer_name), substr(customer_name, 1020)
	FROM customers WHERE customer_id = 'long-1'")" "1050|xxxxx [... 102400 bytes in all]"
expect_eq "rows around the long cell" "$(q "SELECT count(*) FROM customers WHERE state = 'pending'")" 2
pass "a cell over 64 KiB makes its row invalid, its stored value cut with a marker"

# ---- pipes ----------------------------------------------------------------------------------
DB=pipe.db
"$FINCH_ONBOARD" import - --db "$DB" <excel_de_semicolon.csv >out.txt 2>err.txt
expect_eq "import - rc" "$?" 0
expect_eq "import - imports row" "$(q "SELECT path, size, sha256 FROM imports")" \
	"stdin|$(stat -c %s excel_de_semicolon.csv)|$(sha256sum excel_de_semicolon.csv | cut -d' ' -f1)"
cat excel_de_semicolon.csv | "$FINCH_ONBOARD" import /dev/stdin --db "$DB" >out.txt 2>err.txt
expect_eq "import /dev/stdin rc" "$?" 0
expect_eq "import /dev/stdin summary" "$(cat out.txt)" \
	"imported /dev/stdin: 3 rows read, 0 accepted, 0 invalid, 3 unchanged, 0 updated"
run_fo import <(iconv -f cp1252 -t utf-8 excel_windows_cp1252.csv) --db "$DB"
expect_rc 0 "import <(iconv ...)"
case $OUT in "imported /dev/fd/"*": 3 rows read, 0 accepted, 0 invalid, 2 unchanged, 1 updated") ;;
*) fail "process substitution: $OUT" ;; esac
run_fo import <(iconv -f cp1252 -t utf-8 excel_windows_cp1252.csv) --db "$DB"
case $OUT in *": 3 rows read, 0 accepted, 0 invalid, 3 unchanged, 0 updated") ;;
*) fail "process substitution again: $OUT" ;; esac
expect_eq "pipe hashes" "$(q "SELECT count(DISTINCT sha256), min(size) FROM imports WHERE path LIKE '/dev/fd/%'")" \
	"1|$(stat -c %s excel_csv_utf8_bom.csv | awk '{print $1 - 3}')"
run_fo import . --db "$DB"
expect_rc 2 "import a directory"
expect_eq "directory message" "$ERR" "finch-onboard: error: '.' is a directory, not a CSV file"
pass "import -, /dev/stdin and <(...) stream like a file, keep the content's sha256, and re-import as a no-op"

finish
