-- PostgreSQL's elig_gen_check (its re-check guard); SQLite's re-check reads
-- elig_gen in-process, so it has nothing to add.
SELECT 1;
