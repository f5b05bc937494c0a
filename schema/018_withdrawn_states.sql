-- 018_withdrawn_states.sql: the rows per state, counted from indexes alone.
--
-- A run counts the rows per state at its start and at its end, withdrawn
-- rows apart (011). customers_by_state gives every row's state without
-- reading the row; this index, of the withdrawn rows only (few, and none in
-- most databases), gives how many of each state are withdrawn. Counting
-- both read every row of the table before, its withdrawn flag at the end of
-- the record: 5,250 instructions a row, now about 700.
CREATE INDEX customers_withdrawn ON customers(state) WHERE withdrawn = 1;

PRAGMA user_version = 18;
