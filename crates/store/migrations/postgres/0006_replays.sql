-- A job that runs a stored event again names the job it repeats, and the
-- replay of many jobs at once that made it (so that it can be undone).
-- Both indexes hold replays only: a delivery's insert never enters them.
ALTER TABLE jobs ADD COLUMN replay_of TEXT;
ALTER TABLE jobs ADD COLUMN replay_batch TEXT;
CREATE INDEX jobs_by_replay_of ON jobs (replay_of) WHERE replay_of IS NOT NULL;
CREATE INDEX jobs_by_replay_batch ON jobs (replay_batch) WHERE replay_batch IS NOT NULL;
