-- 013_unconfirmed.sql: a 2xx whose body could not be read is a row of its
-- own kind (issue 15).
--
-- Finch has no idempotency key: a 201 that was cut short, or whose body is
-- not the documented JSON, may well have created a session. Such a row is
-- failed and unconfirmed: no bare `retry`, no `run` or `sync` sends it
-- again; only `retry --unconfirmed` (or one naming it: --customer, or
-- --http-status 2xx) does, once the user has checked with Finch. It keeps
-- the answer's Finch-Request-Id, for Finch's support, and the body, bounded
-- and escaped. A flag, not a state: the state's CHECK and its transitions
-- stay as they are (schema/001_init.sql).

ALTER TABLE customers ADD COLUMN unconfirmed INTEGER NOT NULL DEFAULT 0
	CHECK (unconfirmed IN (0, 1));
ALTER TABLE customers ADD COLUMN unconfirmed_request_id TEXT;
ALTER TABLE customers ADD COLUMN unconfirmed_body TEXT;

-- The rows an older binary failed this way: their last answer was a 2xx.
UPDATE customers SET unconfirmed = 1,
	unconfirmed_request_id = (SELECT request_id FROM attempts
	                          WHERE attempts.customer = customers.id
	                          ORDER BY attempt_no DESC, id DESC LIMIT 1)
WHERE state = 'failed' AND http_status BETWEEN 200 AND 299;

PRAGMA user_version = 13;
