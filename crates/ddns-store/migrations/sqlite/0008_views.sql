-- Split-horizon views: a view's own RRsets, laid over the zone's default ones (`records`) for
-- the clients of that view. A host's view RRsets go with the host. SOA, apex NS and static
-- records are the configuration's and never per view.
CREATE TABLE view_records (
    zone_id     INTEGER NOT NULL REFERENCES zones(id),
    view        TEXT NOT NULL,              -- `[[view]] name`
    owner       TEXT NOT NULL,              -- lower-case, no trailing dot
    rtype       INTEGER NOT NULL,
    ttl         INTEGER NOT NULL,
    rdata       BLOB NOT NULL,
    host_id     INTEGER REFERENCES hosts(id),
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (zone_id, view, owner, rtype)
) WITHOUT ROWID;
CREATE INDEX view_records_host ON view_records(host_id);

-- Which view a history row changed (NULL: the default data).
ALTER TABLE history ADD COLUMN view TEXT;
