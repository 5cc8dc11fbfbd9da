-- The audit log is append-only: 0001 refuses UPDATE and DELETE row by row,
-- but TRUNCATE fires no row trigger and emptied it. A statement-level
-- trigger refuses it too (it fires for the table's owner and superusers).
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- A stage whose deadline was computed across a year with only a
-- provisional calendar (statutory holidays, no official schedule yet) is
-- marked, so that the SLA engine recomputes it once the official schedule
-- is imported, even after a restart.
ALTER TABLE sla_stages ADD COLUMN provisional BOOLEAN NOT NULL DEFAULT false;
CREATE INDEX sla_stages_provisional ON sla_stages(id) WHERE provisional AND ended_at IS NULL;
