#!/usr/bin/env bash
# tests/security/formula.sh: CSV export neutralises formula cells after
# leading blanks and in fullwidth (OWASP's CSV injection guidance); JSON
# Lines is never altered; --raw turns the CSV rule off; retry --customer
# takes an id as the CSV export printed it (issue 11, item 6).
set -euo pipefail
. "$(dirname "$0")/../e2e/lib.sh"
tmpdir formula
cd "$E2E_TMP"

# Each name is a cell a spreadsheet could run; the id says which rule.
python3 - <<'PY'
import csv
rows = [
    ("space-eq", ' =HYPERLINK("http://evil.example","click")'),
    ("space-at", " @SUM(1,2)"),
    ("lf-eq", "\n=1+2"),
    ("crlf-plus", "\r\n+1"),
    ("tab-minus", "\t-1"),
    ("nbsp-eq", "\u00a0=1"),
    ("ideo-at", "\u3000@x"),
    ("fw-eq", "\uff1d1+2"),
    ("fw-plus", "\uff0b1"),
    ("fw-minus", "\uff0d1"),
    ("fw-at", "\uff20x"),
    ("zwsp-eq", "\u200b=1"),
    ("plain", "Acme, Inc."),
    ("spaced-plain", "   Acme"),
]
with open("c.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f, lineterminator="\r\n")
    w.writerow(["customer_id", "customer_name", "products"])
    for i, n in rows:
        w.writerow([i, n, "company"])
    w.writerow(["-001", "Minus Id", "company"])
    w.writerow(["@002", "At Id", "company"])
PY
expect_exit 0 fo import c.csv --db f.db
# The import trims white space around a cell (ASCII and Unicode); a value
# stored before that rule, or set from a server's answer, keeps it: store
# the names exactly as written.
python3 - f.db <<'PY'
import csv, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for r in csv.DictReader(open("c.csv", newline="", encoding="utf-8")):
    db.execute("UPDATE customers SET customer_name = ? WHERE customer_id = ?", (r["customer_name"], r["customer_id"]))
db.commit()
PY

# A server-sourced field (error, as an API message sets it) with leading blanks.
sqlite3 f.db "UPDATE customers SET error = ' =HYPERLINK(\"http://evil\")' WHERE customer_id = 'plain';
	UPDATE customers SET error = char(10) || '@SUM(1,2)' WHERE customer_id = 'spaced-plain';
	UPDATE customers SET error = char(9, 32) || '-2+3' WHERE customer_id = 'tab-minus'"
expect_exit 0 fo export --db f.db --out out.csv --no-bom
expect_exit 0 fo export --db f.db --out raw.csv --no-bom --raw
expect_exit 0 fo export --db f.db --out out.jsonl --format jsonl
expect_exit 0 fo export --db f.db --out raw.jsonl --format jsonl --raw
python3 - f.db out.csv raw.csv <<'PY' || fail "CSV formula cells"
import csv, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
stored = {i: (n, e) for i, n, e in db.execute("SELECT customer_id, customer_name, error FROM customers")}
def load(path):
    return {r["customer_id"]: r for r in csv.DictReader(open(path, newline="", encoding="utf-8"))}
out, raw = load(sys.argv[2]), load(sys.argv[3])
bad = 0
# every name but the two plain ones, every error set above, and both ids are formulas
for i, (name, err) in stored.items():
    printed = "'" + i if i in ("-001", "@002") else i
    for col, val in (("customer_name", name), ("error", err or "")):
        formula = (col == "customer_name" and i not in ("plain", "spaced-plain", "-001", "@002")) or (col == "error" and val != "")
        want = "'" + val if formula else val
        if out[printed][col] != want:
            print("%s %s: got %r, want %r" % (i, col, out[printed][col], want)); bad += 1
        if raw[i][col] != val:
            print("--raw %s %s: got %r, want %r" % (i, col, raw[i][col], val)); bad += 1
# the blanks that survive the import really are there before the sign
for i, lead in (("nbsp-eq", "\u00a0"), ("ideo-at", "\u3000"), ("zwsp-eq", "\u200b"), ("lf-eq", "\n")):
    if not stored[i][0].startswith(lead):
        print("%s: stored %r lost its leading blank" % (i, stored[i][0])); bad += 1
sys.exit(1 if bad else 0)
PY
pass "CSV neutralises = + - @ after spaces, tabs, LF, U+00A0, U+3000, U+200B and fullwidth signs; --raw does not"

cmp -s out.jsonl raw.jsonl || fail "--raw changed JSON Lines"
expect_eq "JSON Lines ids" "$(jq -r .customer_id out.jsonl | tail -n 2 | paste -sd' ')" "-001 @002"
sqlite3 f.db "SELECT customer_id, customer_name FROM customers ORDER BY id" >db.txt
jq -r '[.customer_id, .customer_name] | join("|")' out.jsonl >jsonl.txt
cmp -s db.txt jsonl.txt || fail "JSON Lines differ from the stored values: $(diff db.txt jsonl.txt | head)"
pass "JSON Lines carry every id and name byte for byte, with or without --raw"

# retry --customer takes the id as the CSV export printed it
printed=$(grep -o "^'-001" out.csv)
expect_eq "the printed id" "$printed" "'-001"
expect_exit 2 fo retry --db f.db --customer "'-009"
grep -q "no customer '-009' in 'f.db'" err.txt || fail "unknown printed id: $(cat err.txt)"
# a customer whose id really is "'-003" is found as itself, not as -003
printf "customer_id,customer_name,products\n'-003,Quoted,company\n-003,Minus,company\n" >q.csv
expect_exit 0 fo import q.csv --db f.db
start_mock
expect_exit 0 fo run --db f.db --base-url "$MOCK_URL" --rate 0 --quiet
stop_mock
expect_exit 0 fo retry --db f.db --state created --customer "$printed" --customer "'@002"
expect_eq "retry of printed ids" "$(cat out.txt)" "re-queued 2 rows"
expect_eq "rows re-queued" "$(sqlite3 f.db "SELECT group_concat(customer_id) FROM customers WHERE state = 'pending'")" "-001,@002"
expect_exit 0 fo retry --db f.db --state created --customer "'-003"
expect_eq "the literal id wins" "$(sqlite3 f.db "SELECT group_concat(customer_id) FROM customers WHERE customer_id LIKE '%-003' AND state = 'pending'")" "'-003"
pass "retry --customer accepts '-001 as the CSV export printed it; a literal '-003 is itself"

finish
