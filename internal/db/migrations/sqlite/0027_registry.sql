-- The grid's base data registry (internal/registry, issue 16): buildings,
-- houses, people, their links, groups needing attention and organisations.
-- Every record carries the materialised region path of its grid, which data
-- scope tests (account.Scope.Apply), and every change leaves a reg_history
-- row (personal values masked there too). Identity numbers and credit codes
-- are stored in the canonical form of internal/idcode.
CREATE TABLE reg_buildings (
    id           INTEGER PRIMARY KEY,
    grid_code    TEXT NOT NULL REFERENCES regions(code),
    region_path  TEXT NOT NULL,
    name         TEXT NOT NULL DEFAULT '',
    address      TEXT NOT NULL,
    lat          REAL NOT NULL,
    lng          REAL NOT NULL,
    floors       INTEGER NOT NULL DEFAULT 0,
    units        INTEGER NOT NULL DEFAULT 0,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
CREATE INDEX reg_buildings_path ON reg_buildings(region_path, id);

CREATE TABLE reg_people (
    id                  INTEGER PRIMARY KEY,
    id_number           TEXT NOT NULL UNIQUE,
    name                TEXT NOT NULL,
    sex                 TEXT NOT NULL CHECK (sex IN ('M','F')),
    birth_date          TEXT NOT NULL,
    phone               TEXT NOT NULL DEFAULT '',
    hukou_address       TEXT NOT NULL DEFAULT '',
    residence_address   TEXT NOT NULL DEFAULT '',
    status              TEXT NOT NULL CHECK (status IN ('resident','floating','lodging')),
    registered_on       TEXT NOT NULL DEFAULT '',
    household_id        TEXT NOT NULL DEFAULT '',
    household_relation  TEXT NOT NULL DEFAULT '',
    grid_code           TEXT NOT NULL REFERENCES regions(code),
    region_path         TEXT NOT NULL,
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL
);
CREATE INDEX reg_people_path ON reg_people(region_path, status, id);
CREATE INDEX reg_people_household ON reg_people(household_id) WHERE household_id <> '';

CREATE TABLE reg_houses (
    id           INTEGER PRIMARY KEY,
    building_id  INTEGER NOT NULL REFERENCES reg_buildings(id),
    grid_code    TEXT NOT NULL REFERENCES regions(code),
    region_path  TEXT NOT NULL,
    unit         TEXT NOT NULL DEFAULT '',
    room         TEXT NOT NULL,
    use          TEXT NOT NULL CHECK (use IN ('residential','shop','vacant')),
    ownership    TEXT NOT NULL CHECK (ownership IN ('private','public','collective','enterprise','other')),
    rental       TEXT NOT NULL CHECK (rental IN ('not_rented','rented','partly_rented')),
    landlord_id  INTEGER REFERENCES reg_people(id),
    area         REAL NOT NULL DEFAULT 0,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    UNIQUE (building_id, unit, room)
);
CREATE INDEX reg_houses_path ON reg_houses(region_path, use, id);

-- A person's link to a house, read both ways: the residents of a house
-- (primary key order) and the houses of a person (reg_person_houses_person).
CREATE TABLE reg_person_houses (
    house_id   INTEGER NOT NULL REFERENCES reg_houses(id),
    person_id  INTEGER NOT NULL REFERENCES reg_people(id),
    relation   TEXT NOT NULL CHECK (relation IN ('owner','tenant','family')),
    since      TIMESTAMP NOT NULL,
    PRIMARY KEY (house_id, person_id)
);
CREATE INDEX reg_person_houses_person ON reg_person_houses(person_id, house_id);

-- Groups needing attention (重点人群 kind 'key', 关爱人群 kind 'care'), as
-- data: each with the frequency its members are visited at.
CREATE TABLE reg_groups (
    code       TEXT PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('key','care')),
    name       TEXT NOT NULL,
    name_en    TEXT NOT NULL,
    frequency  TEXT NOT NULL CHECK (frequency IN ('weekly','fortnightly','monthly','quarterly','half_yearly','yearly')),
    sort       INTEGER NOT NULL DEFAULT 0
);
INSERT INTO reg_groups (code, kind, name, name_en, frequency, sort) VALUES
    ('elderly_alone', 'care', '独居老人', 'Elderly living alone', 'weekly', 10),
    ('disabled', 'care', '残疾人', 'Disabled', 'monthly', 20),
    ('dibao', 'care', '低保户', 'Minimum-subsistence (低保) household', 'quarterly', 30),
    ('veteran', 'care', '退役军人', 'Veteran', 'quarterly', 40),
    ('left_behind_child', 'care', '留守儿童', 'Left-behind child', 'monthly', 50),
    ('community_correction', 'key', '社区矫正人员', 'Under community correction', 'weekly', 60),
    ('mental_illness', 'key', '严重精神障碍患者', 'Serious mental illness', 'monthly', 70),
    ('petitioner', 'key', '信访重点人员', 'Petitioner', 'monthly', 80);

CREATE TABLE reg_group_members (
    group_code  TEXT NOT NULL REFERENCES reg_groups(code),
    person_id   INTEGER NOT NULL REFERENCES reg_people(id),
    since       TIMESTAMP NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (group_code, person_id)
);
CREATE INDEX reg_group_members_person ON reg_group_members(person_id, group_code);

CREATE TABLE reg_organisations (
    id               INTEGER PRIMARY KEY,
    credit_code      TEXT NOT NULL UNIQUE,
    name             TEXT NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('company','shop','public_place','other')),
    address          TEXT NOT NULL,
    house_id         INTEGER REFERENCES reg_houses(id),
    contact_name     TEXT NOT NULL DEFAULT '',
    contact_phone    TEXT NOT NULL DEFAULT '',
    industry         TEXT NOT NULL DEFAULT '',
    size             TEXT NOT NULL CHECK (size IN ('micro','small','medium','large')),
    safety_category  TEXT NOT NULL CHECK (safety_category IN ('none','general','key','major')),
    grid_code        TEXT NOT NULL REFERENCES regions(code),
    region_path      TEXT NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
CREATE INDEX reg_organisations_path ON reg_organisations(region_path, id);
CREATE INDEX reg_organisations_house ON reg_organisations(house_id) WHERE house_id IS NOT NULL;

-- One row per change of a registry record: who, when, which record, and
-- the changed fields as JSON {"field": [old, new]}, personal values masked.
CREATE TABLE reg_history (
    id           INTEGER PRIMARY KEY,
    at           TIMESTAMP NOT NULL,
    actor_id     INTEGER,
    actor        TEXT NOT NULL,
    tbl          TEXT NOT NULL,
    record_id    INTEGER NOT NULL,
    action       TEXT NOT NULL,
    region_path  TEXT NOT NULL,
    diff         TEXT NOT NULL
);
CREATE INDEX reg_history_record ON reg_history(tbl, record_id, id);
