-- 006_attempt_minutes.sql: every session request sends minutes_to_expire
-- (the row's value, or 129,600 for a new session and 43,200 for a
-- reauthentication), because Finch's own default moved four times and its
-- answer carries no expiry. Each attempt records what it sent, and the row's
-- expires_at follows it. NULL: an attempt made before this migration, which
-- sent the field only when the row had one.

ALTER TABLE attempts ADD COLUMN minutes_to_expire INTEGER;

PRAGMA user_version = 6;
