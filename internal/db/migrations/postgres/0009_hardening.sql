-- The audit log is append-only: 0001 refuses UPDATE and DELETE row by row,
-- but TRUNCATE fires no row trigger and emptied it. A statement-level
-- trigger refuses it too (it fires for the table's owner and superusers).
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
