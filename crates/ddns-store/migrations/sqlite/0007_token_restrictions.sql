-- What a token is held to beyond its names: the record types it may write and the client
-- networks it may be used from (comma-separated text, NULL: any), when it stops working
-- (seconds since the epoch, NULL: never; a rotation sets the old token's to the end of its
-- grace period), whether it may only read; and when it was last used (seconds since the
-- epoch, written at most once a minute per token, off the request path).
ALTER TABLE tokens ADD COLUMN types TEXT;
ALTER TABLE tokens ADD COLUMN subnets TEXT;
ALTER TABLE tokens ADD COLUMN expires_at INTEGER;
ALTER TABLE tokens ADD COLUMN read_only INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tokens ADD COLUMN last_used_at INTEGER;
-- The token a rotation issued in place of this one.
ALTER TABLE tokens ADD COLUMN successor TEXT;
