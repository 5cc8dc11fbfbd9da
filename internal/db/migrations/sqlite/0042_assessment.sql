-- 考核 and 经验库 (internal/assess). Items are the scored catalogue per
-- unit type; a period is open, then frozen (scores snapshotted in
-- frozen_score, changed afterwards only by a decided appeal, each change in
-- assess_score_history), then published. Units are region codes (streets,
-- communities) or department codes. Cases are referred to by id only: the
-- rows copy the case's street, department and region path at the time of
-- the step, so no query here joins cases.
CREATE TABLE assess_items (
    id          INTEGER PRIMARY KEY,
    unit_type   TEXT NOT NULL CHECK (unit_type IN ('street','community','department')),
    code        TEXT NOT NULL,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('indicator','manual')),
    indicator   TEXT NOT NULL DEFAULT '',
    direction   TEXT NOT NULL DEFAULT 'higher_better' CHECK (direction IN ('higher_better','lower_better')),
    target      REAL NOT NULL DEFAULT 0,
    points      REAL NOT NULL,
    rule        TEXT NOT NULL DEFAULT 'ratio' CHECK (rule IN ('ratio','threshold','manual')),
    created_at  TIMESTAMP NOT NULL,
    UNIQUE (unit_type, code)
);
CREATE TABLE assess_periods (
    code          TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    starts_on     TEXT NOT NULL,
    ends_on       TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open','frozen','published')),
    created_at    TIMESTAMP NOT NULL,
    frozen_at     TIMESTAMP,
    frozen_by     INTEGER REFERENCES users(id),
    published_at  TIMESTAMP,
    published_by  INTEGER REFERENCES users(id)
);
CREATE TABLE assess_scores (
    period        TEXT NOT NULL REFERENCES assess_periods(code),
    unit_type     TEXT NOT NULL,
    unit_code     TEXT NOT NULL,
    unit_path     TEXT NOT NULL DEFAULT '',
    item_id       INTEGER NOT NULL REFERENCES assess_items(id),
    value         REAL,
    score         REAL NOT NULL,
    frozen_score  REAL,
    evidence      TEXT NOT NULL DEFAULT '',
    source        TEXT NOT NULL CHECK (source IN ('computed','manual','appeal')),
    updated_at    TIMESTAMP NOT NULL,
    updated_by    INTEGER REFERENCES users(id),
    PRIMARY KEY (period, unit_code, item_id)
);
CREATE INDEX assess_scores_unit ON assess_scores(unit_code, period);
CREATE TABLE assess_appeals (
    id            INTEGER PRIMARY KEY,
    period        TEXT NOT NULL REFERENCES assess_periods(code),
    unit_type     TEXT NOT NULL,
    unit_code     TEXT NOT NULL,
    item_id       INTEGER NOT NULL REFERENCES assess_items(id),
    reason        TEXT NOT NULL,
    evidence      TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','upheld','rejected')),
    filed_by      INTEGER NOT NULL REFERENCES users(id),
    filed_at      TIMESTAMP NOT NULL,
    decided_by    INTEGER REFERENCES users(id),
    decided_at    TIMESTAMP,
    decision_note TEXT NOT NULL DEFAULT '',
    old_score     REAL,
    new_score     REAL
);
CREATE INDEX assess_appeals_unit ON assess_appeals(unit_code, period);
CREATE TABLE assess_score_history (
    id          INTEGER PRIMARY KEY,
    period      TEXT NOT NULL,
    unit_code   TEXT NOT NULL,
    item_id     INTEGER NOT NULL,
    old_score   REAL,
    new_score   REAL NOT NULL,
    cause       TEXT NOT NULL,
    appeal_id   INTEGER REFERENCES assess_appeals(id),
    at          TIMESTAMP NOT NULL,
    by_user     INTEGER REFERENCES users(id)
);
CREATE INDEX assess_score_history_unit ON assess_score_history(unit_code, period, id);
CREATE TABLE assess_unreasonable (
    case_id        INTEGER PRIMARY KEY,
    case_number    TEXT NOT NULL,
    street_code    TEXT NOT NULL DEFAULT '',
    dept_code      TEXT NOT NULL DEFAULT '',
    region_path    TEXT NOT NULL DEFAULT '',
    case_created   TIMESTAMP NOT NULL,
    reason         TEXT NOT NULL,
    marked_by      INTEGER NOT NULL REFERENCES users(id),
    marked_at      TIMESTAMP NOT NULL,
    confirmed_by   INTEGER REFERENCES users(id),
    confirmed_at   TIMESTAMP
);
CREATE INDEX assess_unreasonable_marked ON assess_unreasonable(marked_at);
CREATE TABLE assess_ratings (
    id           INTEGER PRIMARY KEY,
    period       TEXT NOT NULL REFERENCES assess_periods(code),
    case_id      INTEGER NOT NULL,
    direction    TEXT NOT NULL CHECK (direction IN ('street_to_department','department_to_street')),
    street_code  TEXT NOT NULL,
    dept_code    TEXT NOT NULL,
    score        INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
    comment      TEXT NOT NULL DEFAULT '',
    rated_by     INTEGER NOT NULL REFERENCES users(id),
    rated_at     TIMESTAMP NOT NULL,
    UNIQUE (case_id, direction)
);
CREATE INDEX assess_ratings_period ON assess_ratings(period, direction);
CREATE TABLE assess_practices (
    id          INTEGER PRIMARY KEY,
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    tags        TEXT NOT NULL DEFAULT '',
    unit_code   TEXT NOT NULL DEFAULT '',
    indicators  TEXT NOT NULL DEFAULT '',
    period      TEXT NOT NULL DEFAULT '',
    attachments TEXT NOT NULL DEFAULT '',
    created_by  INTEGER NOT NULL REFERENCES users(id),
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX assess_practices_unit ON assess_practices(unit_code);
