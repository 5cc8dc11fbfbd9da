-- Follow-up visits (issue 17): a device alarm's case comes with a visit
-- task for the grid worker, outside the groups' periodic plan. Such a task
-- has no group (group_code NULL), origin 'alarm', the case it follows up
-- (origin_case_id, one task a case) and a brief saying why. SQLite cannot
-- drop a NOT NULL, so the table is rebuilt; nothing references it.
CREATE TABLE visit_tasks_new (
    id             INTEGER PRIMARY KEY,
    person_id      INTEGER NOT NULL REFERENCES reg_people(id),
    group_code     TEXT REFERENCES reg_groups(code),
    grid_code      TEXT NOT NULL,
    region_path    TEXT NOT NULL,
    period_start   TEXT NOT NULL,
    due_on         TEXT NOT NULL,
    due_at         TIMESTAMP NOT NULL,
    status         TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open','done','cancelled')),
    created_at     TIMESTAMP NOT NULL,
    visited_at     TIMESTAMP,
    visited_by     INTEGER REFERENCES users(id),
    lat            REAL,
    lng            REAL,
    distance_m     REAL,
    far            INTEGER NOT NULL DEFAULT 0,
    reason         TEXT NOT NULL DEFAULT '',
    notes          TEXT NOT NULL DEFAULT '',
    photos         TEXT NOT NULL DEFAULT '',
    case_id        INTEGER REFERENCES cases(id),
    origin         TEXT NOT NULL DEFAULT 'plan' CHECK (origin IN ('plan','alarm')),
    origin_case_id INTEGER REFERENCES cases(id),
    brief          TEXT NOT NULL DEFAULT '',
    CHECK ((origin = 'plan') = (group_code IS NOT NULL)),
    UNIQUE (person_id, group_code, period_start)
);
INSERT INTO visit_tasks_new (id, person_id, group_code, grid_code, region_path, period_start, due_on, due_at, status, created_at,
    visited_at, visited_by, lat, lng, distance_m, far, reason, notes, photos, case_id)
SELECT id, person_id, group_code, grid_code, region_path, period_start, due_on, due_at, status, created_at,
    visited_at, visited_by, lat, lng, distance_m, far, reason, notes, photos, case_id FROM visit_tasks;
DROP TABLE visit_tasks;
ALTER TABLE visit_tasks_new RENAME TO visit_tasks;
CREATE INDEX visit_tasks_path ON visit_tasks(region_path, status, due_at);
CREATE INDEX visit_tasks_due ON visit_tasks(status, due_at);
CREATE UNIQUE INDEX visit_tasks_origin_case ON visit_tasks(origin_case_id) WHERE origin_case_id IS NOT NULL;
