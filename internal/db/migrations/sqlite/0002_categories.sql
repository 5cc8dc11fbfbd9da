-- Problem categories (CJ/T 214 parts and events, grassroots governance
-- classes) and the admin's routing rules "category × region subtree →
-- handling department". Categories are never deleted, only deactivated:
-- historic cases keep pointing at them.
CREATE TABLE categories (
    code             TEXT PRIMARY KEY,
    parent_code      TEXT REFERENCES categories(code),
    name             TEXT NOT NULL,
    name_en          TEXT NOT NULL DEFAULT '',
    kind             TEXT NOT NULL CHECK (kind IN ('part','event','governance')),
    edition          TEXT NOT NULL,
    workflow         TEXT NOT NULL CHECK (workflow IN ('whistle','urban')),
    department_code  TEXT NOT NULL DEFAULT '',
    time_limit       TEXT NOT NULL DEFAULT '',
    urgent           INTEGER NOT NULL DEFAULT 0,
    open311          INTEGER NOT NULL DEFAULT 0,
    common           INTEGER NOT NULL DEFAULT 0,
    fields           TEXT NOT NULL DEFAULT '[]',
    active           INTEGER NOT NULL DEFAULT 1,
    sort             INTEGER NOT NULL DEFAULT 0,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
CREATE INDEX categories_parent ON categories(parent_code);

CREATE TABLE routing_rules (
    id               INTEGER PRIMARY KEY,
    category_code    TEXT NOT NULL REFERENCES categories(code),
    region_code      TEXT NOT NULL REFERENCES regions(code),
    department_code  TEXT NOT NULL,
    priority         INTEGER NOT NULL DEFAULT 0,
    created_at       TIMESTAMP NOT NULL,
    UNIQUE (category_code, region_code, priority)
);
CREATE INDEX routing_rules_region ON routing_rules(region_code);
