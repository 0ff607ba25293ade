-- Token changes as a stream other processes follow cheaply: one counter, bumped in the same
-- transaction as every token insert and revoke, and on each token the counter's value at its
-- latest change. A server that keeps verified tokens in memory reads the counter on every poll
-- and, when it moved, drops the tokens whose `change_seq` is past the value it had seen.
CREATE TABLE token_changes (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL
);
INSERT INTO token_changes (id, seq) VALUES (1, 0);

ALTER TABLE tokens ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0;
CREATE INDEX tokens_change_seq ON tokens(change_seq);
