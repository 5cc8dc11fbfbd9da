-- SQLite has no TRUNCATE: "DELETE FROM audit_log" without WHERE is its
-- equivalent, and the row trigger of 0001 (audit_log_no_delete) already
-- refuses it, since SQLite skips its truncate optimisation on a table with
-- a DELETE trigger. Nothing to add for the audit log on this dialect.
SELECT 1;
