-- The acquired numbers. status is removal.NumberStatus (0-3);
-- status_changed_at is Unix microseconds, UTC.
CREATE TABLE {{numbers}} (
    telephone_number  TEXT    NOT NULL PRIMARY KEY,
    ms_tenant_id      TEXT    NOT NULL,
    operator_connect  INTEGER NOT NULL CHECK (operator_connect IN (0, 1)),
    status            INTEGER NOT NULL CHECK (status BETWEEN 0 AND 3),
    status_changed_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Summary reads only the Operator Connect rows in the two removal statuses.
-- Queries must repeat this WHERE clause term for term to use the index.
-- operator_connect is a column too: SQLite re-checks that term, and without
-- it would read every matching row from the table (20x slower). status
-- first: the global count then needs no sort.
CREATE INDEX {{numbers_removal_idx}} ON {{numbers}} (status, ms_tenant_id, operator_connect)
    WHERE status IN (2, 3) AND operator_connect;
