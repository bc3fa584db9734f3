-- When each user last signed in (a token issued for a name and password),
-- for `hookbook user list`.
ALTER TABLE users ADD COLUMN last_sign_in BIGINT;
