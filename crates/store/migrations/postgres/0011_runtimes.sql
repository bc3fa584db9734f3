-- Runtimes: named Python environments notebooks run in. Each update makes
-- a new version (built beside the old one from its lock); `name_key` is
-- the name in lower case, unique, as notebooks name runtimes without
-- regard to case.
CREATE TABLE runtimes (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    name_key     TEXT NOT NULL UNIQUE,
    version      BIGINT NOT NULL,
    requirements TEXT NOT NULL,
    preload      TEXT NOT NULL,
    max_cpu      DOUBLE PRECISION,
    max_memory   BIGINT,
    lock         TEXT,
    state        TEXT NOT NULL CHECK (state IN ('building', 'ready', 'failed')),
    message      TEXT NOT NULL DEFAULT '',
    created      BIGINT NOT NULL,
    modified     BIGINT NOT NULL
);
