-- Landmarks and roads that administrators name for the place search
-- (internal/places): a point in WGS-84 each, and other names it goes by
-- (aliases, one per line). Where one lies (street, community) is found
-- from the grids, not stored.
CREATE TABLE landmarks (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    aliases     TEXT NOT NULL DEFAULT '',
    lng         REAL NOT NULL,
    lat         REAL NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX landmarks_name ON landmarks(name);
