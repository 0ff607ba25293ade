-- What each node of a cluster charged to its rate limits, so every node charges the others'
-- requests too (rates.rs). Rows older than two minutes are pruned; nothing here is history.
CREATE TABLE rate_charges (
    id BIGSERIAL PRIMARY KEY,
    node TEXT NOT NULL,
    key TEXT NOT NULL,
    n BIGINT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX rate_charges_at ON rate_charges (at);
