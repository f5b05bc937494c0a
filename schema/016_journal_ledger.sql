-- 016_journal_ledger.sql: the answers journal is tied to its database, and
-- its replay is idempotent (issue 15).
--
-- identity holds the database's own random id: 128 bits from getrandom(2),
-- written by finch-onboard in the transaction of this migration (or of a
-- new database's), as 32 hex digits. Every line of the answers journal
-- carries it (store/journal.h): a journal is applied to its own database
-- only, never to another one that happens to sit at the same path (a new
-- database after the old one was moved aside), and a restored backup, a
-- copy of the same database, still takes it.
--
-- journal_applied is the ledger of the journal lines recorded: each line's
-- own random id, inserted in the same transaction as the answer it carries.
-- A crash between that commit and the journal's removal leaves the lines
-- in the ledger, so the next replay skips them: nothing is recorded twice.

CREATE TABLE identity (
	id          INTEGER PRIMARY KEY CHECK (id = 1),
	database_id TEXT NOT NULL CHECK (length(database_id) = 32)
);

CREATE TABLE journal_applied (
	line_id    TEXT PRIMARY KEY,  -- the line's "line_id"; "sha256:..." for version 1 lines
	applied_at INTEGER NOT NULL
) WITHOUT ROWID;

PRAGMA user_version = 16;
