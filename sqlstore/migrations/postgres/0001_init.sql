-- The acquired numbers. status is removal.NumberStatus (0-3). COLLATE "C":
-- keys are ASCII, and byte order is the cheapest to compare.
CREATE TABLE {{numbers}} (
    telephone_number  text COLLATE "C" NOT NULL PRIMARY KEY,
    ms_tenant_id      text COLLATE "C" NOT NULL,
    operator_connect  boolean     NOT NULL,
    status            smallint    NOT NULL CHECK (status BETWEEN 0 AND 3),
    status_changed_at timestamptz NOT NULL
);

-- Summary reads only the Operator Connect rows in the two removal statuses.
-- Queries must repeat this WHERE clause term for term to use the index.
CREATE INDEX {{numbers_removal_idx}} ON {{numbers}} (ms_tenant_id, status)
    WHERE status IN (2, 3) AND operator_connect;
