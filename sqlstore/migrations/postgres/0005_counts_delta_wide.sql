-- A count delta row holds the changes of one writer to one tenant's counts
-- in all four statuses (d0 to d3): a batch, which moves numbers from one
-- status to another, writes one row per tenant instead of two. The pending
-- deltas are folded into counts first. Stop the instances of an older
-- version before this migration runs: their writes of the old columns fail
-- once it has committed.
LOCK TABLE {{counts_delta}} IN ACCESS EXCLUSIVE MODE;

INSERT INTO {{counts}} AS c (ms_tenant_id, status, n)
SELECT ms_tenant_id, status, SUM(d) FROM {{counts_delta}} GROUP BY ms_tenant_id, status
ORDER BY ms_tenant_id, status
ON CONFLICT (ms_tenant_id, status) DO UPDATE SET n = c.n + excluded.n;

DROP TABLE {{counts_delta}};

CREATE TABLE {{counts_delta}} (
    ms_tenant_id text COLLATE "C" NOT NULL,
    slot         bigint NOT NULL,
    d0           bigint NOT NULL,
    d1           bigint NOT NULL,
    d2           bigint NOT NULL,
    d3           bigint NOT NULL,
    PRIMARY KEY (ms_tenant_id, slot)
) WITH (fillfactor = 50, autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_scale_factor = 0);
