-- 007_connections.sql: what happens after the link. Nothing at Finch lists
-- connections, so the program learns of them from the app's /auth/token
-- exchange (connections import) and from account.updated webhooks (webhooks
-- serve), which name a connection_id and a status but no customer_id.

-- pending processing connected reauth error_permissions error_no_account_setup
-- disconnected (account.updated's data.status); NULL: never heard of
ALTER TABLE customers ADD COLUMN connection_status TEXT;
ALTER TABLE customers ADD COLUMN connection_status_at INTEGER;
-- when the employer was first known to be connected (import or webhook)
ALTER TABLE customers ADD COLUMN connected_at INTEGER;

CREATE INDEX customers_by_connection ON customers(connection_id) WHERE connection_id IS NOT NULL;

-- Every verified delivery, once: a retried or replayed Finch-Event-Id is a
-- duplicate. Forged, stale or malformed deliveries are never stored.
CREATE TABLE webhook_events (
	event_id      TEXT PRIMARY KEY,
	received_at   INTEGER NOT NULL,
	event_type    TEXT NOT NULL,
	connection_id TEXT,
	status        TEXT,
	rows_updated  INTEGER NOT NULL DEFAULT 0
);

-- A customer known to be connected (connections import) is an exists row:
-- created, pending, failed and retry_wait rows may now become exists too,
-- and a created one is never renewed again.
DROP TRIGGER customers_state_transition;
CREATE TRIGGER customers_state_transition
BEFORE UPDATE OF state ON customers
WHEN NEW.state IS NOT OLD.state AND NOT (
	(OLD.state = 'pending' AND NEW.state IN ('in_flight', 'invalid', 'exists')) OR
	(OLD.state = 'in_flight' AND NEW.state IN ('created', 'exists', 'failed', 'retry_wait',
	                                           'pending')) OR
	(OLD.state = 'retry_wait' AND NEW.state IN ('in_flight', 'pending', 'invalid', 'exists')) OR
	(OLD.state IN ('created', 'exists', 'failed') AND NEW.state IN ('pending', 'invalid')) OR
	(OLD.state IN ('created', 'failed') AND NEW.state = 'exists') OR
	(OLD.state = 'invalid' AND NEW.state = 'pending'))
BEGIN
	SELECT RAISE(ABORT, 'illegal customer state transition');
END;

PRAGMA user_version = 7;
