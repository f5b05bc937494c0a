#!/usr/bin/env bash
# tests/e2e/products.sh: the products Finch added since the seed page
# (recordkeeping in SDK 9.12.0; plans, plans_dependents, plans_enrollments in
# 10.5.0), the recordkeeping object (recordkeeping_recordkeeper and
# recordkeeping_plan_id, only with the recordkeeping product), and
# --allow-product for a product newer than this build, through import, run
# and the emulator.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

tmpdir products
cd "$E2E_TMP" || fail "cannot cd to $E2E_TMP"

cat >p.csv <<'CSV'
customer_id,customer_name,products,recordkeeping_recordkeeper,recordkeeping_plan_id
p-1,Plans One,plans plans_dependents plans_enrollments,,
p-2,Keeper Two,recordkeeping company,fidelity,401k-7
p-3,Keeper Three,recordkeeping,,
p-4,No Product,company,voya,
p-5,Plan Id Only,company,,p-9
p-6,Bad Keeper,recordkeeping,vanguard,
CSV
expect_exit 1 fo import p.csv --db p.db
grep -q "p.csv:4: recordkeeping_recordkeeper: is required with the 'recordkeeping' product" err.txt ||
	fail "the recordkeeping product without its object: $(cat err.txt)"
for line in 5 6; do
	grep -q "p.csv:$line: recordkeeping_recordkeeper, recordkeeping_plan_id: is sent only with the 'recordkeeping' product" err.txt ||
		fail "line $line: the object without the product does not name both columns: $(cat err.txt)"
done
grep -q "p.csv:7: recordkeeping_recordkeeper: must be voya, empower, fidelity or transamerica" err.txt ||
	fail "an unknown recordkeeper: $(cat err.txt)"
expect_eq "stored products" "$(q p.db "SELECT products FROM customers WHERE customer_id IN ('p-1','p-2') ORDER BY customer_id")" \
	"plans plans_dependents plans_enrollments
company recordkeeping"
expect_eq "stored object" "$(q p.db "SELECT recordkeeping_recordkeeper || '/' || recordkeeping_plan_id FROM customers WHERE customer_id = 'p-2'")" \
	"fidelity/401k-7"
expect_exit 0 fo export --db p.db --state pending --columns 'customer_id,recordkeeping_recordkeeper,Recordkeeping Plan ID' --out rk.csv
expect_eq "export of the object" "$(tr -d '\r' <rk.csv | sed 's/^\xef\xbb\xbf//')" "customer_id,recordkeeping_recordkeeper,Recordkeeping Plan ID
p-1,,
p-2,fidelity,401k-7"
expect_exit 0 fo export --db p.db --state pending --format jsonl --columns customer_id,recordkeeping_recordkeeper,recordkeeping_plan_id
expect_eq "JSON Lines of the object" "$(jq -c 'select(.customer_id == "p-2")' out.txt)" \
	'{"customer_id":"p-2","recordkeeping_recordkeeper":"fidelity","recordkeeping_plan_id":"401k-7"}'
pass "import takes the new products and the recordkeeping object, and refuses it without its product, naming both columns"

start_mock --log "$E2E_TMP/m.log"
expect_exit 1 fo run --db p.db --base-url "$MOCK_URL" --rate 0 --quiet # 4 rows stay invalid
expect_eq "sent rows" "$(q p.db "SELECT group_concat(state) FROM customers WHERE customer_id IN ('p-1','p-2')")" "created,created"
pass "finch-mock accepts the new products and the object with its product"

# The object is sent: the emulator refuses it once the product is gone.
q p.db "UPDATE customers SET state = 'pending', products = 'company' WHERE customer_id = 'p-2'"
expect_exit 8 fo run --db p.db --base-url "$MOCK_URL" --rate 0 --quiet
expect_eq "refusal" "$(q p.db "SELECT state || ': ' || error FROM customers WHERE customer_id = 'p-2'")" \
	"failed: recordkeeping: is sent only with the 'recordkeeping' product"
pass "the recordkeeping object travels in the request (finch-mock checks it against the products)"

# --products takes them too; a product newer than this build needs --allow-product.
printf 'customer_id,customer_name\na-1,Allowed One\n' >a.csv
expect_exit 0 fo import a.csv --db a.db --products plans_enrollments
expect_exit 2 fo import a.csv --db b.db --products 'company payroll_v2'
grep -q "\-\-products 'company payroll_v2': unknown product 'payroll_v2' (a product newer than this build needs --allow-product NAME)" err.txt ||
	fail "the unknown product's error: $(cat err.txt)"
expect_exit 0 fo import a.csv --db b.db --products 'company payroll_v2' --allow-product payroll_v2 --allow-product payroll_v2
expect_eq "warnings" "$(grep -c "product 'payroll_v2' is newer than this build" err.txt)" 1
expect_exit 8 fo run --db b.db --base-url "$MOCK_URL" --rate 0 --quiet
expect_eq "sent as given" "$(q b.db "SELECT error FROM customers")" \
	"products: unknown product 'payroll_v2'"
expect_exit 2 fo import a.csv --db c.db --allow-product Payroll
grep -q "\-\-allow-product 'Payroll': a product name is lowercase letters, digits and '_'" err.txt ||
	fail "a bad --allow-product: $(cat err.txt)"
pass "--products takes the new products; --allow-product (after --products too) warns once and the run sends the name as given"
stop_mock
finish
