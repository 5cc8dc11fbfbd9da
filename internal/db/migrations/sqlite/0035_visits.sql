-- Visits (走访, internal/visit): every member of a group with a visit
-- frequency gets one task a period. period_start is the period's first day
-- and due_on its last (the last working day when so configured), both
-- YYYY-MM-DD in the district's time zone; due_at is the instant the task
-- becomes overdue (the end of due_on). Done tasks keep what the grid
-- worker recorded; a found problem's case is linked by case_id.
CREATE TABLE visit_tasks (
    id            INTEGER PRIMARY KEY,
    person_id     INTEGER NOT NULL REFERENCES reg_people(id),
    group_code    TEXT NOT NULL REFERENCES reg_groups(code),
    grid_code     TEXT NOT NULL,
    region_path   TEXT NOT NULL,
    period_start  TEXT NOT NULL,
    due_on        TEXT NOT NULL,
    due_at        TIMESTAMP NOT NULL,
    status        TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open','done','cancelled')),
    created_at    TIMESTAMP NOT NULL,
    visited_at    TIMESTAMP,
    visited_by    INTEGER REFERENCES users(id),
    lat           REAL,
    lng           REAL,
    distance_m    REAL,
    far           INTEGER NOT NULL DEFAULT 0,
    reason        TEXT NOT NULL DEFAULT '',
    notes         TEXT NOT NULL DEFAULT '',
    photos        TEXT NOT NULL DEFAULT '',
    case_id       INTEGER REFERENCES cases(id),
    UNIQUE (person_id, group_code, period_start)
);
CREATE INDEX visit_tasks_path ON visit_tasks(region_path, status, due_at);
CREATE INDEX visit_tasks_due ON visit_tasks(status, due_at);
