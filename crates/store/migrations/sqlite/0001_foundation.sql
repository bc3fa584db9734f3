-- Users, access tokens, notebook items and webhook receivers.

CREATE TABLE users (
    username      TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('administrator', 'user')),
    privileges    TEXT NOT NULL DEFAULT '',
    created       INTEGER NOT NULL
);

-- Tokens are kept only as SHA-256 hashes of what the client holds.
CREATE TABLE tokens (
    hash     BLOB PRIMARY KEY,
    username TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    created  INTEGER NOT NULL,
    expires  INTEGER NOT NULL
);
CREATE INDEX tokens_by_expiry ON tokens (expires);

CREATE TABLE items (
    id       TEXT PRIMARY KEY,
    owner    TEXT NOT NULL REFERENCES users (username),
    title    TEXT NOT NULL,
    created  INTEGER NOT NULL,
    modified INTEGER NOT NULL,
    data     BLOB NOT NULL
);
CREATE INDEX items_by_owner ON items (owner, created);

-- secret, previous_secret and api_token hold values sealed by the vault.
CREATE TABLE receivers (
    id                    TEXT PRIMARY KEY,
    name                  TEXT NOT NULL,
    item_id               TEXT NOT NULL,
    owner                 TEXT NOT NULL REFERENCES users (username),
    signature_headers     TEXT NOT NULL,
    disabled              INTEGER NOT NULL DEFAULT 0,
    secret                BLOB NOT NULL,
    previous_secret       BLOB,
    previous_secret_until INTEGER,
    api_token             BLOB,
    parameters            TEXT NOT NULL,
    message               TEXT NOT NULL DEFAULT '',
    created               INTEGER NOT NULL,
    modified              INTEGER NOT NULL
);
CREATE INDEX receivers_by_owner ON receivers (owner, created);
