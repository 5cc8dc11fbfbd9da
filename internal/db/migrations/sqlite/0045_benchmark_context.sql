-- 对标 (issue 19): an indicator may be a context variable (population,
-- area, the share of elderly residents): it describes a unit rather than
-- measuring how well it does, so it is left out of composites and weak
-- points, and "similar units" peer groups are found on such variables.
ALTER TABLE bm_indicators ADD COLUMN kind TEXT NOT NULL DEFAULT 'ranked' CHECK (kind IN ('ranked', 'context'));
