-- The facts the indicator registry (internal/indicator, registered by
-- internal/stats) needs beyond 0007's, counted like them on the day a case
-- is closed (结案): first_due and first_met (响应率: the case's first stage,
-- 红哨 accept or 数字城管 register, ended, and in time or without a limit),
-- reworked (返工: at least one failed verification) and returned (退单: a
-- department returned it at least once).
--
-- rollup_flow, rollup_status and rollup_source also get rows for a
-- department's pseudo-node 'dept:<id>' (the department a case is assigned to
-- now), so that every case indicator is computable per department too.
--
-- Existing rows would start at zero and lack the departments' rows, so the
-- rollups are emptied: the server's start-up (stats.EnsureBuilt, which
-- rebuilds when cases exist and rollup_state is empty) or `whistle rollup
-- rebuild` recomputes them all from the cases.
ALTER TABLE rollup_flow ADD COLUMN first_due INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_flow ADD COLUMN first_met INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_flow ADD COLUMN reworked INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_flow ADD COLUMN returned INTEGER NOT NULL DEFAULT 0;
DELETE FROM rollup_flow;
DELETE FROM rollup_status;
DELETE FROM rollup_state;
DELETE FROM rollup_source;
DELETE FROM rollup_open_cases;
