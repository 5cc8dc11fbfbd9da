-- The eligibility batch's results in blocks (issue 18, the full run): one
-- row holds the results of the subjects of a kind whose ids share
-- id >> 4 (16 subjects), encoded by policy.encodeBlock, so that a full
-- run over a million subjects writes some 66,000 rows instead of a
-- million (docs/DECISIONS.md, "Stored results in blocks"). The rows of
-- elig_results are not converted: they are derived data, and the runs
-- that wrote them are forgotten with them, so that nothing claims a run
-- whose results are gone; the next full run (`whistle eligibility run`)
-- stores them again.
CREATE TABLE elig_blocks (
    subject_kind  TEXT NOT NULL,
    block         INTEGER NOT NULL,
    data          BLOB NOT NULL,
    PRIMARY KEY (subject_kind, block)
) WITHOUT ROWID;
DROP TABLE elig_results;
DELETE FROM elig_runs;
UPDATE elig_gen SET gen = gen + 1 WHERE id = 1;
