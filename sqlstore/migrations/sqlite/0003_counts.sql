-- The counters: how many Operator Connect numbers each tenant has in each
-- status, and (ms_tenant_id '') all tenants together. Every writer changes
-- them in the same transaction as the rows; CountByStatus and Summary read
-- them instead of counting rows. A counter that drops to 0 stays, at 0.
CREATE TABLE {{counts}} (
    status       INTEGER NOT NULL CHECK (status BETWEEN 0 AND 3),
    ms_tenant_id TEXT    NOT NULL,
    n            INTEGER NOT NULL,
    PRIMARY KEY (status, ms_tenant_id)
) WITHOUT ROWID;

INSERT INTO {{counts}} (status, ms_tenant_id, n)
    SELECT status, ms_tenant_id, COUNT(*) FROM {{numbers}}
    WHERE operator_connect GROUP BY ms_tenant_id, status;
INSERT INTO {{counts}} (status, ms_tenant_id, n)
    SELECT status, '', COUNT(*) FROM {{numbers}}
    WHERE operator_connect GROUP BY status;

-- Summary read this index; the counters replace it.
DROP INDEX {{numbers_removal_idx}};
