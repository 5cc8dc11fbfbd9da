-- The people's trigger of 0061 marked the blocks of a household's members
-- with a join of the statement's rows against reg_people. Without
-- statistics for reg_people (a first import runs in one transaction, so
-- no ANALYZE sees its rows; or autovacuum is off) the planner guessed
-- that each household holds a large share of the table and joined by
-- scanning all of it, once a statement: an import's cost grew with the
-- square of its size (a million people had not finished their first
-- table after six minutes, where 100,000 people and their facts took
-- 25 s). Each household's members are now looked up on
-- their own through the household index (the LATERAL subquery's OFFSET 0
-- keeps the planner from flattening it back into that join). The same
-- guess prices the lookups above jit_above_cost, and compiling the plan
-- would cost each statement more than its lookups: jit is off inside
-- the function.
CREATE OR REPLACE FUNCTION reg_snap_mark_people() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO reg_snap_dirty (kind, block)
        SELECT DISTINCT 'person', c.id >> 5 FROM (
            SELECT id FROM new_rows
            UNION ALL
            SELECT m.id FROM (SELECT DISTINCT household_id FROM new_rows WHERE household_id <> '') hh
            CROSS JOIN LATERAL (SELECT h.id FROM reg_people h WHERE h.household_id = hh.household_id AND h.household_id <> '' OFFSET 0) m
        ) c;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO reg_snap_dirty (kind, block)
        SELECT DISTINCT 'person', c.id >> 5 FROM (
            SELECT id FROM new_rows
            UNION ALL
            SELECT m.id FROM (
                SELECT o.household_id FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE o.household_id <> n.household_id AND o.household_id <> ''
                UNION SELECT n.household_id FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE o.household_id <> n.household_id AND n.household_id <> ''
            ) hh
            CROSS JOIN LATERAL (SELECT h.id FROM reg_people h WHERE h.household_id = hh.household_id AND h.household_id <> '' OFFSET 0) m
        ) c;
    ELSE
        INSERT INTO reg_snap_dirty (kind, block)
        SELECT DISTINCT 'person', c.id >> 5 FROM (
            SELECT id FROM old_rows
            UNION ALL
            SELECT m.id FROM (SELECT DISTINCT household_id FROM old_rows WHERE household_id <> '') hh
            CROSS JOIN LATERAL (SELECT h.id FROM reg_people h WHERE h.household_id = hh.household_id AND h.household_id <> '' OFFSET 0) m
        ) c;
    END IF;
    RETURN NULL;
END $$;
