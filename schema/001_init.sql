-- 001_init.sql: the first schema of finch-onboard.
--
-- Times are INTEGER milliseconds since the Unix epoch (UTC).
--
-- customers.state and its allowed transitions (enforced by the trigger
-- customers_state_transition below):
--
--   (new row)   -> pending      import of a valid row
--   (new row)   -> invalid      import of a row that breaks a rule
--   pending     -> in_flight    claimed by a run; committed before the request goes out
--   in_flight   -> created      201: session_id, connect_url, expires_at recorded
--   in_flight   -> exists       400 connection_already_exists: connection_id recorded
--   in_flight   -> failed       a permanent rejection, or the attempt budget is spent
--   in_flight   -> retry_wait   a transient failure; next_attempt_at says when
--   in_flight   -> pending      401 or a signal cut the attempt short, or a crash
--                               was recovered (its attempt recorded as "outcome unknown")
--   retry_wait  -> in_flight    claimed again once next_attempt_at has passed
--   retry_wait, created, exists, failed -> pending
--                               import of changed fields, `retry`, `sync --renew-expired`
--                               (created) and `sync --reauthenticate` (exists)
--   pending, retry_wait, created, exists, failed -> invalid
--                               a later import of a broken row for the customer
--   invalid     -> pending      a later import of a fixed row
--
-- in_flight can only be left by a run: every writer holds the database lock.

CREATE TABLE imports (
	id          INTEGER PRIMARY KEY,
	path        TEXT NOT NULL,
	size        INTEGER NOT NULL,
	sha256      TEXT NOT NULL,
	rows_read   INTEGER NOT NULL DEFAULT 0,
	accepted    INTEGER NOT NULL DEFAULT 0,
	invalid     INTEGER NOT NULL DEFAULT 0,
	unchanged   INTEGER NOT NULL DEFAULT 0,
	updated     INTEGER NOT NULL DEFAULT 0,
	started_at  INTEGER NOT NULL,
	ended_at    INTEGER
);

CREATE TABLE runs (
	id          INTEGER PRIMARY KEY,
	started_at  INTEGER NOT NULL,
	ended_at    INTEGER,
	exit_reason TEXT            -- done, failed_rows, auth, interrupted, ...
);

CREATE TABLE customers (
	id                      INTEGER PRIMARY KEY,
	customer_id             TEXT NOT NULL,
	-- 1 for an invalid CSV line that names no usable customer (empty, too
	-- long or malformed id, or a duplicate within its file). Such rows are
	-- reports, not customers: the next import of the same source replaces them.
	keyless                 INTEGER NOT NULL DEFAULT 0 CHECK (keyless IN (0, 1)),

	-- the request fields, as the API takes them
	customer_name           TEXT NOT NULL,
	customer_email          TEXT,
	products                TEXT,       -- space-separated, in the contract's enum order
	redirect_uri            TEXT,
	minutes_to_expire       INTEGER,
	sandbox                 TEXT,
	manual                  INTEGER CHECK (manual IN (0, 1)),
	integration_provider    TEXT,
	integration_auth_method TEXT,

	source                  TEXT,       -- the CSV file that last had this customer
	source_line             INTEGER,    -- and the line its record starts on
	first_import            INTEGER REFERENCES imports(id),
	last_import             INTEGER,    -- the last import that had this customer:
	                                    -- how a duplicate within one file is found

	-- OR, not IN: an IN list of more than two values builds an ephemeral
	-- table on every INSERT/UPDATE, a third of the import's time.
	state                   TEXT NOT NULL DEFAULT 'pending' CHECK (
	                        state = 'pending' OR state = 'in_flight' OR state = 'retry_wait' OR
	                        state = 'created' OR state = 'exists' OR state = 'failed' OR
	                        state = 'invalid'),
	request_kind            TEXT NOT NULL DEFAULT 'create'
	                        CHECK (request_kind IN ('create', 'reauth')),
	attempts                INTEGER NOT NULL DEFAULT 0,  -- in the current budget
	attempt_total           INTEGER NOT NULL DEFAULT 0,  -- ever, over every budget
	next_attempt_at         INTEGER,    -- retry_wait only

	session_id              TEXT,
	connect_url             TEXT,
	connection_id           TEXT,
	expires_at              INTEGER,    -- of connect_url

	http_status             INTEGER,    -- of the last answer
	finch_code              TEXT,
	error                   TEXT,       -- why the row is invalid, failed or waiting

	created_at              INTEGER NOT NULL,
	updated_at              INTEGER NOT NULL
);

CREATE UNIQUE INDEX customers_by_customer_id ON customers(customer_id) WHERE keyless = 0;
-- Serves claiming (pending in id order, retry_wait by due time) and the counts.
CREATE INDEX customers_by_state ON customers(state, next_attempt_at);
CREATE INDEX customers_keyless ON customers(source) WHERE keyless = 1;

CREATE TRIGGER customers_state_transition
BEFORE UPDATE OF state ON customers
WHEN NEW.state IS NOT OLD.state AND NOT (
	(OLD.state = 'pending' AND NEW.state IN ('in_flight', 'invalid')) OR
	(OLD.state = 'in_flight' AND NEW.state IN ('created', 'exists', 'failed', 'retry_wait',
	                                           'pending')) OR
	(OLD.state = 'retry_wait' AND NEW.state IN ('in_flight', 'pending', 'invalid')) OR
	(OLD.state IN ('created', 'exists', 'failed') AND NEW.state IN ('pending', 'invalid')) OR
	(OLD.state = 'invalid' AND NEW.state = 'pending'))
BEGIN
	SELECT RAISE(ABORT, 'illegal customer state transition');
END;

CREATE TABLE attempts (
	id              INTEGER PRIMARY KEY,
	customer        INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
	run_id          INTEGER REFERENCES runs(id),
	attempt_no      INTEGER NOT NULL,   -- 1-based over the customer's whole history
	kind            TEXT NOT NULL CHECK (kind IN ('create', 'reauth')),
	started_at      INTEGER NOT NULL,
	elapsed_ms      INTEGER,
	http_status     INTEGER,            -- NULL: no answer
	transport_error TEXT,
	finch_code      TEXT,
	request_id      TEXT,               -- Finch-Request-Id, for support tickets
	message         TEXT
);

CREATE INDEX attempts_by_customer ON attempts(customer, attempt_no);
CREATE INDEX attempts_by_run ON attempts(run_id, elapsed_ms);

PRAGMA user_version = 1;
