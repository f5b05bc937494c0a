-- 002_carry_over.sql: transient failures carried over to the next run, and
-- what monitoring needs to know of each run.
--
-- A row whose attempts ran out on transient errors (5xx, 408, 429, a
-- transport error) ends `failed` like any other, but keeps the start of its
-- streak of transient failures: the next run or sync puts it back to
-- `pending` with a fresh attempt budget while first_transient_at +
-- --give-up-after is still ahead. Permanent failures (invalid_request and
-- other 4xx) have first_transient_at NULL and are never re-queued that way.

ALTER TABLE customers ADD COLUMN first_transient_at INTEGER; -- NULL: no transient streak
ALTER TABLE customers ADD COLUMN give_up_at INTEGER;         -- re-queued until then

-- How each run ended, for `status` and --metrics-file.
ALTER TABLE runs ADD COLUMN pid INTEGER;       -- the process, while it runs
ALTER TABLE runs ADD COLUMN exit_code INTEGER; -- NULL: still running, or crashed
ALTER TABLE runs ADD COLUMN pauses INTEGER NOT NULL DEFAULT 0;  -- client-wide 429 pauses
ALTER TABLE runs ADD COLUMN outages INTEGER NOT NULL DEFAULT 0; -- times the breaker opened

PRAGMA user_version = 2;
