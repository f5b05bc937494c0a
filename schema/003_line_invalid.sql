-- 003_line_invalid.sql: a done row is not undone by a bad edit.
--
-- A created or exists row whose CSV line a later import finds invalid keeps
-- its state, its session and its link (the employer may be onboarding with
-- it); the import reports the line, `error` holds its reason, and
-- line_invalid says so, for `status` to count such rows apart. The next
-- import of a valid line clears both.

ALTER TABLE customers ADD COLUMN line_invalid INTEGER NOT NULL DEFAULT 0
	CHECK (line_invalid IN (0, 1));

PRAGMA user_version = 3;
