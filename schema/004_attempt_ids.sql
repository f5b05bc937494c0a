-- 004_attempt_ids.sql: the attempts table keeps every id the API gave.
--
-- Finch has no idempotency key: a session it created but we replaced later
-- (a renewal, a re-queue, an answer replayed from the answers journal) is
-- still a live link somewhere. Each attempt now records the session_id of
-- its 201 and the connection_id of its connection_already_exists, so the
-- history shows every session the API ever created for a customer.

ALTER TABLE attempts ADD COLUMN session_id TEXT;    -- the 201's session_id
ALTER TABLE attempts ADD COLUMN connection_id TEXT; -- connection_already_exists' context

PRAGMA user_version = 4;
