-- A delivery without an id (most of ArcGIS's) enters no index for
-- duplicates: the unique pair becomes a partial index over the deliveries
-- that have one. SQLite cannot drop a table's own UNIQUE constraint, so
-- the table is made again and its rows copied back. Foreign keys stay on:
-- checked at the commit (deferred), the jobs that lose their event when
-- the old table goes have it again when its row is copied back.
PRAGMA defer_foreign_keys = ON;
CREATE TABLE events_copy AS SELECT id, receiver_id, delivery_id, received, headers, body, signed FROM events;
DROP TABLE events;
CREATE TABLE events (
    id          TEXT PRIMARY KEY,
    receiver_id TEXT NOT NULL,
    delivery_id TEXT,
    received    INTEGER NOT NULL,
    headers     TEXT NOT NULL,
    body        BLOB NOT NULL,
    signed      TEXT NOT NULL DEFAULT 'body' CHECK (signed IN ('body', 'payload'))
);
INSERT INTO events (id, receiver_id, delivery_id, received, headers, body, signed)
    SELECT id, receiver_id, delivery_id, received, headers, body, signed FROM events_copy;
DROP TABLE events_copy;
CREATE UNIQUE INDEX events_by_delivery ON events (receiver_id, delivery_id)
    WHERE delivery_id IS NOT NULL;
