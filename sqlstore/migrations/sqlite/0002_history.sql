-- The history: one row per change of a number, written in the same
-- transaction as the change. id gives the order of writing; action is a
-- removal.EventAction; from_status is NULL when the change inserted the
-- number, to_status NULL when it deleted it; at is Unix microseconds, UTC;
-- trace_id and actor are NULL when unknown. Rows outlive their number.
CREATE TABLE {{history}} (
    id               INTEGER PRIMARY KEY,
    telephone_number TEXT    NOT NULL,
    ms_tenant_id     TEXT    NOT NULL,
    action           TEXT    NOT NULL,
    from_status      INTEGER CHECK (from_status BETWEEN 0 AND 3),
    to_status        INTEGER CHECK (to_status BETWEEN 0 AND 3),
    at               INTEGER NOT NULL,
    trace_id         TEXT,
    actor            TEXT
);

-- History reads one number's events, newest first, ties by write order.
CREATE INDEX {{history_number_idx}} ON {{history}} (telephone_number, at DESC, id DESC);
-- PruneHistory deletes the oldest events.
CREATE INDEX {{history_at_idx}} ON {{history}} (at);

-- Listing in telephone_number order, per tenant, per status and per
-- tenant and status (Operator Connect numbers only for the latter two, as
-- lists show by default); the primary key serves the unfiltered list.
CREATE INDEX {{numbers_tenant_idx}} ON {{numbers}} (ms_tenant_id, telephone_number);
CREATE INDEX {{numbers_status_idx}} ON {{numbers}} (status, telephone_number)
    WHERE operator_connect;
CREATE INDEX {{numbers_tenant_st_idx}} ON {{numbers}} (ms_tenant_id, status, telephone_number)
    WHERE operator_connect;
