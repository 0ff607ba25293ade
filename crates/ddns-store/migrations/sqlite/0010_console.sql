-- The web console's admin password: one argon2id hash in PHC form (`$argon2id$v=19$…`), set by
-- `ddns admin password`; the console signs in with it or with an admin token.
CREATE TABLE console_password (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    hash    TEXT NOT NULL,
    set_at  TEXT NOT NULL
);
