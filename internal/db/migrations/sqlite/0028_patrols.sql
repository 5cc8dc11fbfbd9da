-- Patrols (巡查, internal/patrol): a grid worker's walk through their grid,
-- recorded as a GPS track. Tracks are personal data: the worker and the
-- staff whose scope covers the grid see them, and they are pruned after
-- --patrol-retention days. The summary columns (distance, duration,
-- coverage) are recomputed from the points after every batch.
CREATE TABLE patrols (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id),
    grid_code    TEXT NOT NULL,
    region_path  TEXT NOT NULL,
    started_at   TIMESTAMP NOT NULL,
    stopped_at   TIMESTAMP,
    points       INTEGER NOT NULL DEFAULT 0,
    flagged      INTEGER NOT NULL DEFAULT 0,
    distance_m   REAL NOT NULL DEFAULT 0,
    duration_s   INTEGER NOT NULL DEFAULT 0,
    coverage     REAL NOT NULL DEFAULT 0
);
CREATE INDEX patrols_path ON patrols(region_path, started_at);
CREATE INDEX patrols_user ON patrols(user_id, started_at);
CREATE INDEX patrols_started ON patrols(started_at);
-- One row per GPS fix, compact: the time in Unix milliseconds (the key,
-- which makes a resent batch idempotent), the position in microdegrees
-- (about 0.1 m) and the reported accuracy in metres. flagged marks a fix
-- reached at an absurd speed from the one before: kept, not counted.
CREATE TABLE patrol_points (
    patrol_id  INTEGER NOT NULL REFERENCES patrols(id) ON DELETE CASCADE,
    at_ms      INTEGER NOT NULL,
    lat_e6     INTEGER NOT NULL,
    lng_e6     INTEGER NOT NULL,
    acc_m      INTEGER NOT NULL,
    flagged    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (patrol_id, at_ms)
) WITHOUT ROWID;
-- Cases reported during a patrol (written through casework.LinkPatrol).
CREATE TABLE case_patrols (
    case_id    INTEGER PRIMARY KEY REFERENCES cases(id),
    patrol_id  INTEGER NOT NULL REFERENCES patrols(id) ON DELETE CASCADE
);
CREATE INDEX case_patrols_patrol ON case_patrols(patrol_id);
