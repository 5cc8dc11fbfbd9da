-- Follow-up visits (issue 17): a device alarm's case comes with a visit
-- task for the grid worker, outside the groups' periodic plan. Such a task
-- has no group (group_code NULL), origin 'alarm', the case it follows up
-- (origin_case_id, one task a case) and a brief saying why.
ALTER TABLE visit_tasks ALTER COLUMN group_code DROP NOT NULL;
ALTER TABLE visit_tasks ADD COLUMN origin TEXT NOT NULL DEFAULT 'plan' CHECK (origin IN ('plan','alarm'));
ALTER TABLE visit_tasks ADD COLUMN origin_case_id BIGINT REFERENCES cases(id);
ALTER TABLE visit_tasks ADD COLUMN brief TEXT NOT NULL DEFAULT '';
ALTER TABLE visit_tasks ADD CONSTRAINT visit_tasks_origin_group CHECK ((origin = 'plan') = (group_code IS NOT NULL));
CREATE UNIQUE INDEX visit_tasks_origin_case ON visit_tasks(origin_case_id) WHERE origin_case_id IS NOT NULL;
