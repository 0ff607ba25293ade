-- Administrative actions (token create/revoke/rotate, host removal, zone import, rollback,
-- restore), one row each, written in the same transaction as the action where the action is
-- a database change. Record changes stay in `history`; `ddns audit` merges both by time.
CREATE TABLE audit (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,              -- e.g. token.create, host.rollback
    target      TEXT NOT NULL,              -- a token id, a host, a zone, a file
    source_ip   TEXT,
    user_agent  TEXT,                       -- bounded by the HTTP edge, as in history
    detail      TEXT
);
CREATE INDEX audit_at ON audit(at);
