-- What the dashboards draw that jobs and the delivery log do not hold:
-- when a run's first cell was sent (set with the job's end, so it costs
-- no write of its own), and each node's queue depth and warm kernels,
-- sampled once a minute (kept eight days).
ALTER TABLE jobs ADD COLUMN first_cell INTEGER;
CREATE TABLE node_samples (
    minute       INTEGER NOT NULL,
    node         TEXT NOT NULL,
    queue_depth  INTEGER NOT NULL,
    warm_kernels INTEGER NOT NULL,
    PRIMARY KEY (minute, node)
);
