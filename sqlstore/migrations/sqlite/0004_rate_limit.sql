-- The rate limiters' admissions: one row per admitted request of a
-- limiter, numbered per name in the order of admission (seq); at is its
-- time, Unix microseconds, UTC, never below the time of the admission
-- before it. Only the last admissions of a name, as many as its limit, are
-- kept.
CREATE TABLE {{rate_limit}} (
    name TEXT    NOT NULL,
    seq  INTEGER NOT NULL,
    at   INTEGER NOT NULL,
    PRIMARY KEY (name, seq)
) WITHOUT ROWID;
