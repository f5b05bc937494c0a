-- 014_pruned.sql: retention (issue 16). `prune --older-than` and
-- `sync --keep-history` delete the attempts and runs older than a window,
-- but for what the database still needs (store.h, store_prune()).
--
-- The metrics file's counters (finch_onboard_requests_total,
-- finch_onboard_throttled_requests_total, finch_onboard_pauses_total,
-- finch_onboard_runs_total) count the whole history: a counter that went
-- down would read to Prometheus as a reset, and increase() would count the
-- whole history again. So what a prune deletes is added here first, and the
-- metrics add it back.
--
-- No index is added: the delete scans the attempts once (a table kept to
-- the window's size), and an index on started_at would cost every attempt
-- an insert. Freed pages are reused by the next nights' attempts, so the
-- file stops growing at the window's size instead of shrinking
-- (auto_vacuum is off; VACUUM by hand gives the space back).

-- The deleted attempts by the class of their answer: http_status / 100,
-- 0 for no answer (a transport error).
CREATE TABLE pruned_requests (
	class     INTEGER PRIMARY KEY,
	requests  INTEGER NOT NULL DEFAULT 0,
	throttled INTEGER NOT NULL DEFAULT 0 -- of them, answered 429
);

-- The deleted runs, one row.
CREATE TABLE pruned_runs (
	id      INTEGER PRIMARY KEY CHECK (id = 1),
	runs    INTEGER NOT NULL DEFAULT 0,
	pauses  INTEGER NOT NULL DEFAULT 0,
	outages INTEGER NOT NULL DEFAULT 0
);

PRAGMA user_version = 14;
