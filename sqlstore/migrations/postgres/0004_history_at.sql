-- PruneHistory walks the history in its physical order, a range of pages
-- per transaction (a TID range scan, PostgreSQL 14 or later), instead of
-- reading the oldest events through an index on at: that index cost every
-- event an index entry for a delete that runs once a day. Found through its
-- table, since index names are not schema-qualified.
DO $$
DECLARE
    idx regclass;
BEGIN
    SELECT c.oid::regclass INTO idx FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid
        WHERE i.indrelid = '{{history}}'::regclass AND '"' || c.relname || '"' = '{{history_at_idx}}';
    IF idx IS NOT NULL THEN
        EXECUTE 'DROP INDEX ' || idx::text;
    END IF;
END
$$;
