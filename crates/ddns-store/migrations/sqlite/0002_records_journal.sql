-- Every record type, in wire form; static records from the configuration beside dynamic ones;
-- a per-zone journal in serial order for replay and IXFR.

-- The SOA the zone is served with (RDATA at the current serial) and the zone's journal position.
ALTER TABLE zones ADD COLUMN soa BLOB;
ALTER TABLE zones ADD COLUMN soa_ttl INTEGER;
ALTER TABLE zones ADD COLUMN journal_seq INTEGER NOT NULL DEFAULT 0;

-- Every RRset of a zone but its SOA. `rdata` is each record's RDATA (wire form, names
-- uncompressed) behind a 16-bit length. Static RRsets come from the configuration and have no
-- host; dynamic ones belong to the host they were written for.
CREATE TABLE records (
    zone_id     INTEGER NOT NULL REFERENCES zones(id),
    owner       TEXT NOT NULL,              -- lower-case, no trailing dot
    rtype       INTEGER NOT NULL,
    ttl         INTEGER NOT NULL,
    rdata       BLOB NOT NULL,
    static      INTEGER NOT NULL DEFAULT 0,
    host_id     INTEGER REFERENCES hosts(id),
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (zone_id, owner, rtype)
) WITHOUT ROWID;
CREATE INDEX records_host ON records(host_id);

-- One row per committed change set and zone: one serial step. `seq` counts per zone in commit
-- order (the order every reader replays in); `body` holds both SOAs and the changed RRsets.
CREATE TABLE journal (
    zone_id        INTEGER NOT NULL REFERENCES zones(id),
    seq            INTEGER NOT NULL,
    serial_before  INTEGER NOT NULL,
    serial_after   INTEGER NOT NULL,
    at             TEXT NOT NULL,
    body           BLOB NOT NULL,
    PRIMARY KEY (zone_id, seq)
) WITHOUT ROWID;

-- The old presentation-form table is converted row by row by the store on first open
-- (`legacy.rs`) and then dropped.
ALTER TABLE rrsets RENAME TO legacy_rrsets;

-- History rows now hold RDATA in wire form (BLOB); older rows hold JSON text until converted.
CREATE INDEX history_zone ON history(zone, id);
