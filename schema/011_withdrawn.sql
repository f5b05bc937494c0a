-- 011_withdrawn.sql: rows missing from a sync's CSV are withdrawn, not
-- forgotten (issue 16).
--
-- The CSV is the list of employers the user wants onboarded. A row of the
-- database that tonight's CSV (a sync, or `import --withdraw-missing`) does
-- not have is withdrawn: it keeps its state, its link and its history, but
-- it is never sent, renewed or reauthenticated, and `status`, the export
-- and the metrics count it apart. A later CSV that has it again brings it
-- back as it was. A flag, not a state: coming back restores the state.

ALTER TABLE customers ADD COLUMN withdrawn INTEGER NOT NULL DEFAULT 0
	CHECK (withdrawn IN (0, 1));

-- What each import withdrew and brought back.
ALTER TABLE imports ADD COLUMN withdrawn INTEGER NOT NULL DEFAULT 0;
ALTER TABLE imports ADD COLUMN returned INTEGER NOT NULL DEFAULT 0;

PRAGMA user_version = 11;
