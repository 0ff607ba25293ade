-- Zones served: the row holds the SOA serial, bumped once per committed change set.
CREATE TABLE zones (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,      -- lower-case, no trailing dot
    serial      INTEGER NOT NULL,          -- u32, RFC 1982
    created_at  TEXT NOT NULL
);

-- Names that tokens may update. `version` is the ETag: it grows on every change of the host's
-- record sets, so REST writers can detect that someone else changed it (If-Match).
CREATE TABLE hosts (
    id          INTEGER PRIMARY KEY,
    zone_id     INTEGER NOT NULL REFERENCES zones(id),
    name        TEXT NOT NULL UNIQUE,
    version     INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX hosts_zone ON hosts(zone_id);

-- One dynamic RRset per (host, type). Values are a JSON array in presentation form.
CREATE TABLE rrsets (
    host_id     INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    rtype       TEXT NOT NULL,
    ttl         INTEGER NOT NULL,
    rdata       TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (host_id, rtype)
) WITHOUT ROWID;

-- API tokens: only the SHA-256 of the secret part is kept.
CREATE TABLE tokens (
    id             TEXT PRIMARY KEY,
    secret_sha256  BLOB NOT NULL,
    label          TEXT NOT NULL DEFAULT '',
    admin          INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT NOT NULL,
    revoked_at     TEXT
);

CREATE TABLE token_scopes (
    token_id    TEXT NOT NULL REFERENCES tokens(id) ON DELETE CASCADE,
    pattern     TEXT NOT NULL,              -- "name" or "*.name"
    PRIMARY KEY (token_id, pattern)
) WITHOUT ROWID;

-- Every change of an RRset, written in the same transaction as the change. It is the audit
-- history and the change journal (other processes replay it; IXFR will read it).
CREATE TABLE history (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT NOT NULL,
    zone        TEXT NOT NULL,
    name        TEXT NOT NULL,
    rtype       TEXT NOT NULL,
    old_ttl     INTEGER,
    old_rdata   TEXT,                        -- NULL: the RRset did not exist
    new_ttl     INTEGER,
    new_rdata   TEXT,                        -- NULL: the RRset was removed
    serial      INTEGER NOT NULL,            -- the zone's serial after this change set
    actor       TEXT NOT NULL,
    source_ip   TEXT,
    user_agent  TEXT
);
CREATE INDEX history_name ON history(name, id);
