-- 015_customer_key.sql: one employer, one id (issue 15).
--
-- customer_key is customer_id in Unicode NFC (base/utf8.c's utf8_nfc(), by
-- utf8proc). Every import, `connections import` and `retry --customer`
-- match a customer on it, so "müller-001" typed on Windows (one precomposed
-- ü) and pasted on a Mac from a PDF (u and a combining diaeresis) are one
-- customer. customer_id keeps the spelling first stored, the one sent to
-- Finch; customers_by_customer_id still finds a row by that exact spelling
-- (the answers journal's). Keyless rows (reports of a line, schema/001) have
-- none.
--
-- finch_nfc() is the program's own SQL function (store_open.c): this file
-- runs inside finch-onboard alone.
--
-- Two rows stored before this rule whose ids have one NFC form are two
-- employers to Finch already, and no rule can tell which is right. The one
-- whose id is in NFC (or else the older) takes the key: a CSV's spelling,
-- whichever it is, is that customer from now on. The others keep their own
-- spelling as key, which no NFC form can equal: they stay as they were, and
-- a sync withdraws them, since no CSV line reaches them any more.

ALTER TABLE customers ADD COLUMN customer_key TEXT;

UPDATE customers SET customer_key = finch_nfc(customer_id) WHERE keyless = 0;

CREATE INDEX customers_key_backfill ON customers(customer_key);
UPDATE customers SET customer_key = customer_id
WHERE keyless = 0 AND EXISTS (
	SELECT 1 FROM customers w
	WHERE w.keyless = 0 AND w.customer_key = customers.customer_key AND w.id <> customers.id AND (
	      (w.customer_id = w.customer_key) > (customers.customer_id = customers.customer_key) OR
	      ((w.customer_id = w.customer_key) = (customers.customer_id = customers.customer_key)
	       AND w.id < customers.id)));
DROP INDEX customers_key_backfill;

CREATE UNIQUE INDEX customers_by_customer_key ON customers(customer_key) WHERE keyless = 0;

PRAGMA user_version = 15;
