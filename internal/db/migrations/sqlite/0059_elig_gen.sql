-- A counter that every transaction writing elig_results or elig_runs
-- moves on (policy's bumpGen, first in the transaction): an engine that
-- keeps the stored rows in memory trusts its copy only while the counter
-- is where its own last write left it (issue 18, the re-check).
CREATE TABLE elig_gen (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    gen  BIGINT NOT NULL
);
INSERT INTO elig_gen (id, gen) VALUES (1, 0);
