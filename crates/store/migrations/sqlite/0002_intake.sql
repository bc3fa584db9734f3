-- Accepted events, their jobs, and the per-receiver delivery log.

-- An event is stored with its job in one transaction. The unique pair makes
-- a repeated delivery id for the same receiver a duplicate, however the two
-- copies race. SQLite treats NULL delivery ids as distinct.
CREATE TABLE events (
    id          TEXT PRIMARY KEY,
    receiver_id TEXT NOT NULL,
    delivery_id TEXT,
    received    INTEGER NOT NULL,
    headers     TEXT NOT NULL,
    body        BLOB NOT NULL,
    UNIQUE (receiver_id, delivery_id)
);

CREATE TABLE jobs (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('webhook', 'executeNotebook')),
    status      TEXT NOT NULL CHECK (status IN ('SUBMITTED', 'EXECUTING', 'COMPLETED', 'FAILED', 'CANCELLED')),
    item_id     TEXT NOT NULL,
    receiver_id TEXT,
    event_id    TEXT REFERENCES events (id),
    username    TEXT NOT NULL,
    parameters  TEXT NOT NULL DEFAULT '{}',
    submitted   INTEGER NOT NULL,
    start_time  INTEGER,
    end_time    INTEGER,
    messages    TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX jobs_by_status ON jobs (status, submitted);
CREATE INDEX jobs_by_event ON jobs (event_id);

-- The number of SUBMITTED jobs, kept by triggers so that the queue-depth
-- limit costs one row read instead of a count.
CREATE TABLE queue_depth (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    waiting INTEGER NOT NULL
);
INSERT INTO queue_depth (id, waiting) VALUES (1, 0);
CREATE TRIGGER jobs_waiting_insert AFTER INSERT ON jobs WHEN NEW.status = 'SUBMITTED'
BEGIN
    UPDATE queue_depth SET waiting = waiting + 1 WHERE id = 1;
END;
CREATE TRIGGER jobs_waiting_update AFTER UPDATE OF status ON jobs
WHEN (OLD.status = 'SUBMITTED') <> (NEW.status = 'SUBMITTED')
BEGIN
    UPDATE queue_depth SET waiting = waiting + (CASE WHEN NEW.status = 'SUBMITTED' THEN 1 ELSE -1 END) WHERE id = 1;
END;
CREATE TRIGGER jobs_waiting_delete AFTER DELETE ON jobs WHEN OLD.status = 'SUBMITTED'
BEGIN
    UPDATE queue_depth SET waiting = waiting - 1 WHERE id = 1;
END;

-- What happened to each delivery attempt; never the payload or a signature.
CREATE TABLE deliveries (
    seq         INTEGER PRIMARY KEY,
    receiver_id TEXT NOT NULL,
    time        INTEGER NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('accepted', 'duplicate', 'rejected')),
    reason      TEXT NOT NULL DEFAULT '',
    job_id      TEXT,
    size        INTEGER NOT NULL
);
CREATE INDEX deliveries_by_receiver ON deliveries (receiver_id, seq);
CREATE INDEX deliveries_by_time ON deliveries (time);
