-- The workflow definitions declare their time-limit stages (issue 14): a
-- default limit each, and whether the stage is assessed (counts in the
-- on-time indicators). A stage row records whether it was assessed under
-- the version its case entered it with; before, every stage but the
-- resident's rating counted, so the existing rows say so.
ALTER TABLE sla_stages ADD COLUMN assessed INTEGER NOT NULL DEFAULT 1;
UPDATE sla_stages SET assessed = 0 WHERE stage = 'rate';
-- The district-wide rules that SeedDefaults wrote are now the definitions'
-- default limits. Those still as seeded go, so that a limit changed in the
-- definition applies; a rule an administrator changed or added stays and
-- overrides the default.
DELETE FROM time_limits WHERE category_prefix = '' AND region_code = '' AND warn_pct = 0 AND (
       (workflow = 'whistle' AND stage = 'accept' AND limit_spec = '2h' AND use_category = 0)
    OR (workflow = 'whistle' AND stage = 'dispatch' AND limit_spec = '30m' AND use_category = 0)
    OR (workflow = 'whistle' AND stage = 'claim' AND limit_spec = '4h' AND use_category = 0)
    OR (workflow = 'whistle' AND stage = 'handle' AND limit_spec = '2wd' AND use_category <> 0)
    OR (workflow = 'whistle' AND stage = 'verify' AND limit_spec = '1wd' AND use_category = 0)
    OR (workflow = 'whistle' AND stage = 'rate' AND limit_spec = '3wd' AND use_category = 0)
    OR (workflow = 'urban' AND stage = 'register' AND limit_spec = '1h' AND use_category = 0)
    OR (workflow = 'urban' AND stage = 'dispatch' AND limit_spec = '30m' AND use_category = 0)
    OR (workflow = 'urban' AND stage = 'handle' AND limit_spec = '2wd' AND use_category <> 0)
    OR (workflow = 'urban' AND stage = 'verify' AND limit_spec = '4h' AND use_category = 0)
    OR (workflow = 'urban' AND stage = 'close' AND limit_spec = '1h' AND use_category = 0));
