-- A history row that summarises a change set instead of one RRset (a zone import writes one
-- such row at the apex, not one per host) says what it stands for.
ALTER TABLE history ADD COLUMN note TEXT;
