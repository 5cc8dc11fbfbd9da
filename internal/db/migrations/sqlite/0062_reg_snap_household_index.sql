-- PostgreSQL's 0062 rewrites its statement-level trigger on reg_people so
-- that a household's members are found through the household index. On
-- SQLite the row triggers of 0061 already compare NEW.household_id and
-- OLD.household_id, one index lookup a row: nothing changes here; this
-- file keeps the two dialects' migrations numbered alike.
SELECT 1;
