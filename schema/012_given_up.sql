-- 012_given_up.sql: giving up is told once per row (issue 16).
--
-- A row that failed on transient errors is carried over by each sync until
-- --give-up-after past its first transient failure, the limit given on the
-- night it is checked (give_up_at is set again by every sync). given_up_at
-- is when a sync found that window over and logged it: the log line comes
-- once per row, and `status` counts such rows and says why. A row that
-- enters a new transient cycle (a later first_transient_at) can be given up
-- again.

ALTER TABLE customers ADD COLUMN given_up_at INTEGER;

PRAGMA user_version = 12;
