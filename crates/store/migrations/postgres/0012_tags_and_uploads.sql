-- Items' tags (comma-joined, as the portal takes them), and notebooks
-- uploaded in parts: a row per pending upload (the item it will become,
-- under the id the item will have) and a row per part, until the commit
-- makes them one item. Uploads that receive nothing for a day are removed.
ALTER TABLE items ADD COLUMN tags TEXT NOT NULL DEFAULT '';

CREATE TABLE uploads (
    id       TEXT PRIMARY KEY,
    owner    TEXT NOT NULL REFERENCES users (username),
    title    TEXT NOT NULL,
    tags     TEXT NOT NULL DEFAULT '',
    state    TEXT NOT NULL CHECK (state IN ('partial', 'processing', 'failed')),
    message  TEXT NOT NULL DEFAULT '',
    created  BIGINT NOT NULL,
    modified BIGINT NOT NULL
);
CREATE INDEX uploads_by_owner ON uploads (owner, state);
CREATE INDEX uploads_by_age ON uploads (modified);

CREATE TABLE upload_parts (
    upload_id TEXT NOT NULL REFERENCES uploads (id) ON DELETE CASCADE,
    part_num  BIGINT NOT NULL,
    data      BYTEA NOT NULL,
    PRIMARY KEY (upload_id, part_num)
);
