-- What of an event's body its signature covered: 'body' (the exact body)
-- or 'payload' (the payload field of a form): a run receives only that.
ALTER TABLE events ADD COLUMN signed TEXT NOT NULL DEFAULT 'body'
    CHECK (signed IN ('body', 'payload'));

-- Values of the whole site, such as the encryption key's check value (a
-- constant sealed with the key), by which a node with another key refuses
-- to start.
CREATE TABLE site (
    name  TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);
