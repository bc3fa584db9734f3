-- What runs need on a job: attempts (a job is re-queued at most once after
-- its node was lost), its time limit, its inputs, and the executed notebook.
ALTER TABLE jobs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN timeout_minutes INTEGER;
ALTER TABLE jobs ADD COLUMN inputs TEXT NOT NULL DEFAULT '{}';
ALTER TABLE jobs ADD COLUMN notebook BLOB;
CREATE INDEX jobs_by_receiver ON jobs (receiver_id, submitted);
CREATE INDEX jobs_by_receiver_status ON jobs (receiver_id, status);
CREATE INDEX jobs_by_user ON jobs (username, submitted);
CREATE INDEX jobs_by_end ON jobs (end_time);
