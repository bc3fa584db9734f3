-- Retry policies: the site's (scope 'site') and each receiver's own (scope
-- the receiver's id; a receiver without one follows the site's). A job
-- records the most attempts its policy gave it when its last attempt
-- began, and while it waits for its next attempt, when that is due.
CREATE TABLE retry_policies (
    scope             TEXT PRIMARY KEY,
    max_attempts      BIGINT NOT NULL,
    delay_seconds     BIGINT NOT NULL,
    backoff_factor    DOUBLE PRECISION NOT NULL,
    max_delay_seconds BIGINT NOT NULL,
    on_error          BOOLEAN NOT NULL,
    on_timeout        BOOLEAN NOT NULL,
    on_lost_node      BOOLEAN NOT NULL
);
-- Until an administrator changes it, a job whose node was lost runs once
-- more (as before policies existed); other failures are final.
INSERT INTO retry_policies VALUES ('site', 2, 0, 2.0, 3600, FALSE, FALSE, TRUE);
ALTER TABLE jobs ADD COLUMN max_attempts BIGINT;
ALTER TABLE jobs ADD COLUMN retry_at BIGINT;
