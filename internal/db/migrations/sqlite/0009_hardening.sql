-- SQLite has no TRUNCATE: "DELETE FROM audit_log" without WHERE is its
-- equivalent, and the row trigger of 0001 (audit_log_no_delete) already
-- refuses it, since SQLite skips its truncate optimisation on a table with
-- a DELETE trigger. Nothing to add for the audit log on this dialect.

-- A stage whose deadline was computed across a year with only a
-- provisional calendar (statutory holidays, no official schedule yet) is
-- marked, so that the SLA engine recomputes it once the official schedule
-- is imported, even after a restart.
ALTER TABLE sla_stages ADD COLUMN provisional INTEGER NOT NULL DEFAULT 0;
CREATE INDEX sla_stages_provisional ON sla_stages(id) WHERE provisional AND ended_at IS NULL;
