-- The SLA's warning, breach and supervision timers move onto the kernel's
-- timers (internal/timer): kind sla.<kind>, subject the case id, name the
-- stage id (warning, breach) or the supervision id, with the same due
-- times. Only pending timers move (the kernel keeps no fired ones), and
-- the SLA's own table, with its leases, goes.
INSERT INTO kernel_timers (kind, subject, name, due_at, run_at)
SELECT 'sla.' || kind, CAST(case_id AS TEXT), CAST(COALESCE(stage_id, supervision_id) AS TEXT), due_at, due_at
FROM timers
WHERE fired_at IS NULL AND COALESCE(stage_id, supervision_id) IS NOT NULL
ORDER BY due_at, id
ON CONFLICT (kind, subject, name) DO NOTHING;

DROP TABLE timers;
