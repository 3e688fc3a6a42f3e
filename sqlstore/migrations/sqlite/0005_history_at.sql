-- PruneHistory walks the history in write order (id) instead: the index on
-- at cost every event an index entry for a read that runs once a day.
DROP INDEX IF EXISTS {{history_at_idx}};
