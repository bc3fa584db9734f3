-- Failure notices. A user's destination: a URL notices are posted to,
-- signed with a Standard Webhooks secret (sealed, like receivers'), and
-- an email address. A notice is made in the same transaction that ends a
-- job FAILED, one per channel the owner's destination has; it is pending
-- until delivered or given up, and `due` is when its next attempt may
-- start (a node sending it moves `due` forward first: its lease).
CREATE TABLE notice_destinations (
    username TEXT PRIMARY KEY,
    url      TEXT,
    secret   BYTEA NOT NULL,
    email    TEXT,
    modified BIGINT NOT NULL
);
CREATE TABLE notices (
    job_id       TEXT NOT NULL,
    channel      TEXT NOT NULL CHECK (channel IN ('webhook', 'email')),
    username     TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts     BIGINT NOT NULL DEFAULT 0,
    due          BIGINT NOT NULL,
    created      BIGINT NOT NULL,
    last_time    BIGINT,
    last_outcome TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (job_id, channel)
);
CREATE INDEX notices_due ON notices (due) WHERE status = 'pending';
CREATE INDEX notices_by_user ON notices (username, created);
