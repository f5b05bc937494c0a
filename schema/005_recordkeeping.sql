-- 005_recordkeeping.sql: the recordkeeping object of a session request
-- (finch-api-node 9.12.0), sent only with the recordkeeping product; the
-- products column may now also hold recordkeeping, plans, plans_dependents,
-- plans_enrollments (10.5.0) and names allowed with --allow-product.
ALTER TABLE customers ADD COLUMN recordkeeping_recordkeeper TEXT; -- NULL: no object
ALTER TABLE customers ADD COLUMN recordkeeping_plan_id TEXT;

PRAGMA user_version = 5;
