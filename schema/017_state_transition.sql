-- 017_state_transition.sql: the same transitions, checked without IN lists.
--
-- SQLite evaluates an IN list of more than two values by building an
-- ephemeral table, and a trigger builds it again on every row it fires
-- for: the claim of a pending row (to in_flight) and its answer (in_flight
-- to created) built two each, 13 M of the 218 M instructions a run of 3,000
-- rows spent claiming (callgrind), a third of them zeroing the pages of
-- those tables. Comparisons joined by OR allow exactly what 007 allowed.
DROP TRIGGER customers_state_transition;
CREATE TRIGGER customers_state_transition
BEFORE UPDATE OF state ON customers
WHEN NEW.state IS NOT OLD.state AND NOT (
	(OLD.state = 'pending' AND (NEW.state = 'in_flight' OR NEW.state = 'invalid' OR
	                            NEW.state = 'exists')) OR
	(OLD.state = 'in_flight' AND (NEW.state = 'created' OR NEW.state = 'exists' OR
	                              NEW.state = 'failed' OR NEW.state = 'retry_wait' OR
	                              NEW.state = 'pending')) OR
	(OLD.state = 'retry_wait' AND (NEW.state = 'in_flight' OR NEW.state = 'pending' OR
	                               NEW.state = 'invalid' OR NEW.state = 'exists')) OR
	((OLD.state = 'created' OR OLD.state = 'exists' OR OLD.state = 'failed') AND
	 (NEW.state = 'pending' OR NEW.state = 'invalid')) OR
	((OLD.state = 'created' OR OLD.state = 'failed') AND NEW.state = 'exists') OR
	(OLD.state = 'invalid' AND NEW.state = 'pending'))
BEGIN
	SELECT RAISE(ABORT, 'illegal customer state transition');
END;

PRAGMA user_version = 17;
