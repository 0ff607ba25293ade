-- History is pruned by age (oldest rows first) and by count per name: the age cut walks this
-- index instead of the whole table.
CREATE INDEX history_at ON history(at);
