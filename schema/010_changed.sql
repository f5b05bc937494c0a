-- 010_changed.sql: a row that has a link keeps it unless the user asks for a
-- new one (issue 16).
--
-- A created or exists row whose request fields a later import changes keeps
-- its state, its session and its link (an account manager may have sent it
-- already): its fields take the new values, and changed_fields says which
-- of them differ from those its link was made for, as src/finch/reconcile.h's
-- mask (1 customer_name, 2 customer_email, 4 products, 8 redirect_uri,
-- 16 minutes_to_expire, 32 sandbox or manual, 64 the integration, 128 the
-- recordkeeping object). Only
-- `sync|run --resend-changed` or `retry --changed` send it again; a new link
-- (created or exists) clears the mark. Rows without a link take changes as
-- before: back to pending.

ALTER TABLE customers ADD COLUMN changed_fields INTEGER NOT NULL DEFAULT 0;

-- The import's count of such rows, beside updated.
ALTER TABLE imports ADD COLUMN changed INTEGER NOT NULL DEFAULT 0;

PRAGMA user_version = 10;
