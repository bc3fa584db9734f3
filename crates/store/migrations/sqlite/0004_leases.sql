-- The node running each EXECUTING job and until when its claim holds, and
-- the nodes that report themselves alive.
ALTER TABLE jobs ADD COLUMN node TEXT;
ALTER TABLE jobs ADD COLUMN lease_until INTEGER;
CREATE INDEX jobs_by_node ON jobs (node) WHERE status = 'EXECUTING';

CREATE TABLE nodes (
    id           TEXT PRIMARY KEY,
    takes_events INTEGER NOT NULL,
    seen         INTEGER NOT NULL
);
