-- Counts kept with every change, and the rate limiter's table.

-- Per-tenant, per-status counts of the Operator Connect numbers, kept in
-- the same transaction as every change, so that Summary and list totals
-- read a few rows instead of counting the table; the tenant '' holds the
-- counts of all tenants. A count is n of its row in counts plus the d of
-- its rows in counts_delta.
--
-- Writers never update counts, so they never wait for each other on a
-- count: a batch inserts its changes as new counts_delta rows (slot: minus
-- its transaction id, unique to it); Import and Delete add theirs to rows
-- of their own (slot: their backend's process id, which no other open
-- transaction shares). A fold moves counts_delta rows into counts from
-- time to time (any process, one at a time, skipping rows a writer holds).
CREATE TABLE {{counts}} (
    ms_tenant_id text COLLATE "C" NOT NULL,
    status       smallint NOT NULL CHECK (status BETWEEN 0 AND 3),
    n            bigint   NOT NULL,
    PRIMARY KEY (ms_tenant_id, status)
);

CREATE TABLE {{counts_delta}} (
    ms_tenant_id text COLLATE "C" NOT NULL,
    status       smallint NOT NULL CHECK (status BETWEEN 0 AND 3),
    slot         bigint   NOT NULL,
    d            bigint   NOT NULL,
    PRIMARY KEY (ms_tenant_id, status, slot)
) WITH (fillfactor = 50, autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_scale_factor = 0);

-- The backfill counts the rows as they are: no writer may change them
-- until this transaction commits.
LOCK TABLE {{numbers}} IN SHARE MODE;

INSERT INTO {{counts}} (ms_tenant_id, status, n)
SELECT COALESCE(ms_tenant_id, ''), status, COUNT(*) FROM {{numbers}}
WHERE operator_connect GROUP BY GROUPING SETS ((ms_tenant_id, status), (status));

-- Events are written far more often than they are looked up by id, which
-- nothing does (they are read by number and pruned by time): the primary
-- key's index goes, the column and its identity stay.
DO $$
DECLARE
    pk name;
BEGIN
    SELECT conname INTO pk FROM pg_constraint WHERE conrelid = '{{history}}'::regclass AND contype = 'p';
    IF pk IS NOT NULL THEN
        EXECUTE format('ALTER TABLE {{history}} DROP CONSTRAINT %I', pk);
    END IF;
END
$$;

-- Summary no longer reads the rows: drop the index that served it (found
-- through its table, since index names are not schema-qualified).
DO $$
DECLARE
    idx regclass;
BEGIN
    SELECT c.oid::regclass INTO idx FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid
        WHERE i.indrelid = '{{numbers}}'::regclass AND '"' || c.relname || '"' = '{{numbers_removal_idx}}';
    IF idx IS NOT NULL THEN
        EXECUTE 'DROP INDEX ' || idx::text;
    END IF;
END
$$;

-- The limiter: for each name, a ring of the last "size" admission times
-- (slot 0 to size-1) and a head row (slot -1) holding the number of
-- admissions so far (next) and the ring's size. A request is admitted when
-- the admission "size" places back is at least one window old; the head
-- row's lock orders the decisions of every process.
CREATE TABLE {{rate_limit}} (
    name text COLLATE "C" NOT NULL,
    slot integer NOT NULL,
    at   timestamptz,
    next bigint,
    size integer,
    PRIMARY KEY (name, slot)
);

-- allow(name, limit, window in microseconds): admitted, and when refused
-- the microseconds until the oldest admission in the window leaves it. The
-- time is the database's clock, read after the head row's lock is granted,
-- so that instances on several machines agree and decisions are in lock
-- order. A changed limit starts the ring anew.
CREATE FUNCTION {{rate_limit_allow}}(p_name text, p_limit integer, p_window_us bigint,
    OUT allowed boolean, OUT retry_after_us bigint)
LANGUAGE plpgsql AS $$
DECLARE
    h_next bigint;
    h_size integer;
    s integer;
    t timestamptz;
    oldest timestamptz;
    win interval := p_window_us * interval '1 microsecond';
BEGIN
    SELECT r.next, r.size INTO h_next, h_size FROM {{rate_limit}} AS r
        WHERE r.name = p_name AND r.slot = -1 FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO {{rate_limit}} (name, slot, next, size) VALUES (p_name, -1, 0, p_limit)
            ON CONFLICT (name, slot) DO NOTHING;
        SELECT r.next, r.size INTO h_next, h_size FROM {{rate_limit}} AS r
            WHERE r.name = p_name AND r.slot = -1 FOR UPDATE;
    END IF;
    IF h_size <> p_limit THEN
        DELETE FROM {{rate_limit}} AS r WHERE r.name = p_name AND r.slot >= 0;
        h_next := 0;
        h_size := p_limit;
        UPDATE {{rate_limit}} AS r SET next = 0, size = p_limit WHERE r.name = p_name AND r.slot = -1;
    END IF;
    t := clock_timestamp();
    s := (h_next % p_limit)::integer;
    SELECT r.at INTO oldest FROM {{rate_limit}} AS r WHERE r.name = p_name AND r.slot = s;
    IF oldest IS NOT NULL AND oldest > t - win THEN
        allowed := false;
        retry_after_us := GREATEST(1, CEIL(EXTRACT(EPOCH FROM (oldest + win - t)) * 1000000))::bigint;
        RETURN;
    END IF;
    INSERT INTO {{rate_limit}} AS r (name, slot, at) VALUES (p_name, s, t)
        ON CONFLICT (name, slot) DO UPDATE SET at = excluded.at;
    UPDATE {{rate_limit}} AS r SET next = h_next + 1 WHERE r.name = p_name AND r.slot = -1;
    allowed := true;
    retry_after_us := 0;
END
$$;
