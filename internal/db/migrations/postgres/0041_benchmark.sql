-- 对标 (issue 19): indicator values per unit and period, the periods
-- published to peers, and hand-picked peer groups (internal/benchmark).
-- An indicator's definition_version rises when its definition changes; a
-- value keeps the version it was measured under, so a new definition
-- starts a new series and comparisons across it are flagged.
CREATE TABLE bm_indicators (
    key                 TEXT PRIMARY KEY,
    name_zh             TEXT NOT NULL,
    name_en             TEXT NOT NULL,
    unit                TEXT NOT NULL,
    direction           TEXT NOT NULL CHECK (direction IN ('higher_better','lower_better')),
    source              TEXT NOT NULL,
    definition_version  INTEGER NOT NULL,
    definition_zh       TEXT NOT NULL,
    definition_en       TEXT NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL
);

-- unit_code is a region code, or an imported unit's code (the districts of
-- a city) that need not be in regions.
CREATE TABLE bm_values (
    indicator           TEXT NOT NULL REFERENCES bm_indicators(key),
    unit_code           TEXT NOT NULL,
    period              TEXT NOT NULL,
    value               DOUBLE PRECISION NOT NULL,
    definition_version  INTEGER NOT NULL,
    PRIMARY KEY (indicator, period, unit_code)
);
CREATE INDEX bm_values_unit ON bm_values (unit_code, period);

-- A period's values are visible to peers outside the unit's own scope
-- only once the period is published (考核 freeze-and-publish).
CREATE TABLE bm_published (
    period        TEXT PRIMARY KEY,
    published_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE bm_groups (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT NOT NULL,
    owner_path  TEXT NOT NULL,
    created_by  BIGINT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE bm_group_members (
    group_id   BIGINT NOT NULL REFERENCES bm_groups(id) ON DELETE CASCADE,
    unit_code  TEXT NOT NULL,
    PRIMARY KEY (group_id, unit_code)
);
