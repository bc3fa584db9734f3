-- A job that runs a stored event again names the job it repeats.
ALTER TABLE jobs ADD COLUMN replay_of TEXT;
