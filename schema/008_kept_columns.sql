-- 008_kept_columns.sql: the columns an import keeps for the export.
--
-- `import --keep-column 'Account Owner'` stores a source column's value with
-- its row, so the export can carry a CRM's own columns (owner, region) to the
-- file a mail merge reads. It is never sent and is no part of the request:
-- a change of it never makes a row pending again, nor moves updated_at.
-- A JSON object, {"Account Owner": "Pat O'Brien"}, keyed by the names given
-- to --keep-column; NULL when no import kept anything for the row.

ALTER TABLE customers ADD COLUMN kept TEXT;

PRAGMA user_version = 8;
