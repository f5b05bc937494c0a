-- 009_webhook_pending.sql: an account.updated that arrives before any row
-- knows its connection_id (an employer who connected from a link, and whom
-- only a later connections import or connection_already_exists names) is
-- kept, and applied the moment a row learns that connection_id.

-- Finch-Timestamp of the delivery, in ms: orders statuses that arrive late.
-- NULL for events stored before this migration (received_at stands in).
ALTER TABLE webhook_events ADD COLUMN event_at INTEGER;

CREATE INDEX webhook_events_by_connection ON webhook_events(connection_id)
	WHERE connection_id IS NOT NULL AND status IS NOT NULL;

-- A row that learns a connection_id takes the newest status kept for it,
-- unless what it was told is newer (S_WEBHOOK_APPLY's rule). Every writer of
-- connection_id (connections import, an exists answer, a journal replay)
-- goes through here, so none can forget it.
CREATE TRIGGER customers_connection_learned
AFTER UPDATE OF connection_id ON customers
WHEN NEW.connection_id IS NOT NULL AND NEW.connection_id IS NOT OLD.connection_id
	AND NEW.keyless = 0
	AND EXISTS (SELECT 1 FROM webhook_events
		    WHERE connection_id = NEW.connection_id AND status IS NOT NULL)
BEGIN
	UPDATE customers SET
		connection_status = (SELECT status FROM webhook_events
				     WHERE connection_id = NEW.connection_id AND status IS NOT NULL
				     ORDER BY coalesce(event_at, received_at) DESC, rowid DESC
				     LIMIT 1),
		connection_status_at = (SELECT max(coalesce(event_at, received_at))
					FROM webhook_events
					WHERE connection_id = NEW.connection_id
					AND status IS NOT NULL),
		connected_at = coalesce(connected_at,
					(SELECT min(coalesce(event_at, received_at))
					 FROM webhook_events
					 WHERE connection_id = NEW.connection_id
					 AND status = 'connected'))
	WHERE rowid = NEW.rowid
	AND coalesce(connection_status_at, 0) <= (SELECT max(coalesce(event_at, received_at))
						  FROM webhook_events
						  WHERE connection_id = NEW.connection_id
						  AND status IS NOT NULL);
END;

PRAGMA user_version = 9;
