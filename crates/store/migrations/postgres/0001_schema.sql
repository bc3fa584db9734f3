-- hookbook on PostgreSQL: the same tables as on SQLite, in one step.
-- Ids are text (as the API shows them), times are milliseconds since the
-- epoch, secrets are bytes sealed by the vault.

CREATE TABLE users (
    username      TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('administrator', 'user')),
    privileges    TEXT NOT NULL DEFAULT '',
    created       BIGINT NOT NULL
);

-- Tokens are kept only as SHA-256 hashes of what the client holds.
CREATE TABLE tokens (
    hash     BYTEA PRIMARY KEY,
    username TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    created  BIGINT NOT NULL,
    expires  BIGINT NOT NULL
);
CREATE INDEX tokens_by_expiry ON tokens (expires);

CREATE TABLE items (
    id       TEXT PRIMARY KEY,
    owner    TEXT NOT NULL REFERENCES users (username),
    title    TEXT NOT NULL,
    created  BIGINT NOT NULL,
    modified BIGINT NOT NULL,
    data     BYTEA NOT NULL
);
CREATE INDEX items_by_owner ON items (owner, created);

CREATE TABLE receivers (
    id                    TEXT PRIMARY KEY,
    name                  TEXT NOT NULL,
    item_id               TEXT NOT NULL,
    owner                 TEXT NOT NULL REFERENCES users (username),
    signature_headers     TEXT NOT NULL,
    disabled              BOOLEAN NOT NULL DEFAULT FALSE,
    secret                BYTEA NOT NULL,
    previous_secret       BYTEA,
    previous_secret_until BIGINT,
    api_token             BYTEA,
    parameters            TEXT NOT NULL,
    message               TEXT NOT NULL DEFAULT '',
    created               BIGINT NOT NULL,
    modified              BIGINT NOT NULL
);
CREATE INDEX receivers_by_owner ON receivers (owner, created);

-- A repeated delivery id for the same receiver is a duplicate by this
-- unique pair, whichever node takes the copies; NULL ids are distinct.
CREATE TABLE events (
    id          TEXT PRIMARY KEY,
    receiver_id TEXT NOT NULL,
    delivery_id TEXT,
    received    BIGINT NOT NULL,
    headers     TEXT NOT NULL,
    body        BYTEA NOT NULL,
    UNIQUE (receiver_id, delivery_id)
);

-- node and lease_until: who runs an EXECUTING job, and until when its
-- claim holds unless renewed.
CREATE TABLE jobs (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('webhook', 'executeNotebook')),
    status          TEXT NOT NULL CHECK (status IN ('SUBMITTED', 'EXECUTING', 'COMPLETED', 'FAILED', 'CANCELLED')),
    item_id         TEXT NOT NULL,
    receiver_id     TEXT,
    event_id        TEXT REFERENCES events (id),
    username        TEXT NOT NULL,
    parameters      TEXT NOT NULL DEFAULT '{}',
    submitted       BIGINT NOT NULL,
    start_time      BIGINT,
    end_time        BIGINT,
    messages        TEXT NOT NULL DEFAULT '[]',
    attempts        BIGINT NOT NULL DEFAULT 0,
    timeout_minutes BIGINT,
    inputs          TEXT NOT NULL DEFAULT '{}',
    notebook        BYTEA,
    node            TEXT,
    lease_until     BIGINT
);
CREATE INDEX jobs_waiting ON jobs (submitted, id) WHERE status = 'SUBMITTED';
CREATE INDEX jobs_executing ON jobs (node) WHERE status = 'EXECUTING';
CREATE INDEX jobs_by_status ON jobs (status, submitted);
CREATE INDEX jobs_by_event ON jobs (event_id);
CREATE INDEX jobs_by_receiver ON jobs (receiver_id, submitted);
CREATE INDEX jobs_by_user ON jobs (username, submitted);
CREATE INDEX jobs_by_end ON jobs (end_time);

-- What happened to each delivery attempt; never the payload or a signature.
CREATE TABLE deliveries (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    receiver_id TEXT NOT NULL,
    time        BIGINT NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('accepted', 'duplicate', 'rejected')),
    reason      TEXT NOT NULL DEFAULT '',
    job_id      TEXT,
    size        BIGINT NOT NULL
);
CREATE INDEX deliveries_by_receiver ON deliveries (receiver_id, seq);
CREATE INDEX deliveries_by_time ON deliveries (time);

-- The nodes of a site, as they report themselves.
CREATE TABLE nodes (
    id           TEXT PRIMARY KEY,
    takes_events BOOLEAN NOT NULL,
    seen         BIGINT NOT NULL
);
