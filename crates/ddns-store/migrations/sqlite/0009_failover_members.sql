-- Addresses that nodes publish into a failover set with a lease (`[[zone.failover]] lease`):
-- one row per node (the token that published it) and address. `seen_ms` is when the node last
-- published (milliseconds since the epoch); a row older than the lease is no longer a target.
CREATE TABLE failover_members (
    name        TEXT NOT NULL,              -- the failover name
    node        TEXT NOT NULL,              -- token id of the publishing node
    addr        TEXT NOT NULL,              -- an IPv4 or IPv6 address, canonical text
    seen_ms     INTEGER NOT NULL,
    PRIMARY KEY (name, node, addr)
);
