-- A running job's notebook as far as it has executed, written about once a
-- second by the node running it when the site has several nodes, so that
-- a page open on any node can show the run as it goes. The row goes when
-- the attempt ends (and with its job).
CREATE TABLE job_progress (
    job_id     TEXT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    notebook   BLOB NOT NULL,
    updated_at INTEGER NOT NULL
);
