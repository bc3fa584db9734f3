-- The number of SUBMITTED jobs, kept by statement-level triggers so that
-- intake's queue-depth check costs a sum over 16 rows instead of a count
-- over the queue. Each connection adds its changes to its own slot
-- (backend pid modulo 16), so concurrent transactions seldom wait on one
-- another; the depth is the sum of the slots.
CREATE TABLE queue_depth (
    slot    INTEGER PRIMARY KEY,
    waiting BIGINT NOT NULL
);
INSERT INTO queue_depth (slot, waiting) SELECT s, 0 FROM generate_series(0, 15) AS s;
UPDATE queue_depth SET waiting = (SELECT count(*) FROM jobs WHERE status = 'SUBMITTED') WHERE slot = 0;

CREATE FUNCTION queue_depth_add(delta BIGINT) RETURNS VOID LANGUAGE plpgsql AS $$
BEGIN
    IF delta <> 0 THEN
        UPDATE queue_depth SET waiting = waiting + delta WHERE slot = pg_backend_pid() % 16;
    END IF;
END
$$;

CREATE FUNCTION jobs_waiting_inserted() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    PERFORM queue_depth_add((SELECT count(*) FROM added WHERE status = 'SUBMITTED'));
    RETURN NULL;
END
$$;

CREATE FUNCTION jobs_waiting_updated() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    PERFORM queue_depth_add((SELECT count(*) FROM after WHERE status = 'SUBMITTED')
                          - (SELECT count(*) FROM before WHERE status = 'SUBMITTED'));
    RETURN NULL;
END
$$;

CREATE FUNCTION jobs_waiting_deleted() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    PERFORM queue_depth_add(-(SELECT count(*) FROM removed WHERE status = 'SUBMITTED'));
    RETURN NULL;
END
$$;

CREATE TRIGGER jobs_waiting_insert AFTER INSERT ON jobs
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION jobs_waiting_inserted();
CREATE TRIGGER jobs_waiting_update AFTER UPDATE ON jobs
    REFERENCING OLD TABLE AS before NEW TABLE AS after FOR EACH STATEMENT EXECUTE FUNCTION jobs_waiting_updated();
CREATE TRIGGER jobs_waiting_delete AFTER DELETE ON jobs
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION jobs_waiting_deleted();
