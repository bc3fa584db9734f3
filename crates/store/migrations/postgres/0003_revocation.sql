-- When a user's tokens were last revoked: receivers of that user not
-- updated since do not run.
ALTER TABLE users ADD COLUMN tokens_revoked BIGINT;
