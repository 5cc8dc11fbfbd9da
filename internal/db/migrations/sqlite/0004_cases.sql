-- The case loop: cases, their timeline, photos, links, followers, inbox.
CREATE TABLE case_numbers (
    district_code  TEXT NOT NULL,
    day            TEXT NOT NULL,
    seq            INTEGER NOT NULL,
    PRIMARY KEY (district_code, day)
);

CREATE TABLE cases (
    id                INTEGER PRIMARY KEY,
    number            TEXT NOT NULL,
    district_code     TEXT NOT NULL REFERENCES regions(code),
    workflow          TEXT NOT NULL,
    status            TEXT NOT NULL,
    prev_status       TEXT NOT NULL DEFAULT '',
    source            TEXT NOT NULL,
    category_code     TEXT NOT NULL,
    category_name     TEXT NOT NULL,
    description       TEXT NOT NULL,
    address           TEXT NOT NULL DEFAULT '',
    lat               REAL NOT NULL,
    lng               REAL NOT NULL,
    grid_code         TEXT NOT NULL REFERENCES regions(code),
    community_code    TEXT NOT NULL DEFAULT '',
    street_code       TEXT NOT NULL DEFAULT '',
    region_path       TEXT NOT NULL,
    reporter_id       INTEGER REFERENCES users(id),
    reporter_phone    TEXT NOT NULL DEFAULT '',
    anonymous         INTEGER NOT NULL DEFAULT 0,
    urgent            INTEGER NOT NULL DEFAULT 0,
    visibility        TEXT NOT NULL CHECK (visibility IN ('public','private')),
    department_id     INTEGER REFERENCES departments(id),
    assignee_id       INTEGER REFERENCES users(id),
    rating            INTEGER,
    rating_comment    TEXT NOT NULL DEFAULT '',
    revisit_result    TEXT NOT NULL DEFAULT '',
    reopens           INTEGER NOT NULL DEFAULT 0,
    rework            INTEGER NOT NULL DEFAULT 0,
    returns           INTEGER NOT NULL DEFAULT 0,
    supervised        INTEGER NOT NULL DEFAULT 0,
    postpone_hours    INTEGER NOT NULL DEFAULT 0,
    postpone_reason   TEXT NOT NULL DEFAULT '',
    parent_id         INTEGER REFERENCES cases(id),
    fields            TEXT NOT NULL DEFAULT '{}',
    tags              TEXT NOT NULL DEFAULT '',
    routed_department TEXT NOT NULL DEFAULT '',
    idem_owner        TEXT,
    idem_key          TEXT,
    version           INTEGER NOT NULL DEFAULT 1,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL,
    closed_at         TIMESTAMP,
    UNIQUE (district_code, number),
    UNIQUE (idem_owner, idem_key)
);
CREATE INDEX cases_region ON cases(region_path, id);
CREATE INDEX cases_status ON cases(status, id);
CREATE INDEX cases_department ON cases(department_id, status);
CREATE INDEX cases_reporter ON cases(reporter_id);
CREATE INDEX cases_assignee ON cases(assignee_id);
CREATE INDEX cases_category ON cases(category_code, created_at);
CREATE INDEX cases_created ON cases(created_at);
CREATE INDEX cases_geo ON cases(lat, lng);

CREATE TABLE case_events (
    id           INTEGER PRIMARY KEY,
    case_id      INTEGER NOT NULL REFERENCES cases(id),
    at           TIMESTAMP NOT NULL,
    actor_id     INTEGER,
    actor_name   TEXT NOT NULL,
    role         TEXT NOT NULL DEFAULT '',
    action       TEXT NOT NULL,
    from_status  TEXT NOT NULL DEFAULT '',
    to_status    TEXT NOT NULL DEFAULT '',
    note         TEXT NOT NULL DEFAULT '',
    data         TEXT NOT NULL DEFAULT '{}',
    public       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX case_events_case ON case_events(case_id, id);
CREATE INDEX case_events_at ON case_events(at);

CREATE TABLE case_photos (
    id           INTEGER PRIMARY KEY,
    case_id      INTEGER NOT NULL REFERENCES cases(id),
    event_id     INTEGER REFERENCES case_events(id),
    kind         TEXT NOT NULL CHECK (kind IN ('before','after')),
    blob_key     TEXT NOT NULL,
    mime         TEXT NOT NULL,
    size         INTEGER NOT NULL,
    width        INTEGER NOT NULL,
    height       INTEGER NOT NULL,
    sha256       TEXT NOT NULL,
    uploaded_by  INTEGER,
    created_at   TIMESTAMP NOT NULL
);
CREATE INDEX case_photos_case ON case_photos(case_id);

CREATE TABLE case_links (
    case_id   INTEGER NOT NULL REFERENCES cases(id),
    other_id  INTEGER NOT NULL REFERENCES cases(id),
    kind      TEXT NOT NULL CHECK (kind IN ('duplicate','related')),
    PRIMARY KEY (case_id, other_id)
);

CREATE TABLE case_followers (
    case_id  INTEGER NOT NULL REFERENCES cases(id),
    user_id  INTEGER NOT NULL REFERENCES users(id),
    PRIMARY KEY (case_id, user_id)
);
CREATE INDEX case_followers_user ON case_followers(user_id);

CREATE TABLE notifications (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    case_id     INTEGER REFERENCES cases(id),
    kind        TEXT NOT NULL,
    msg_key     TEXT NOT NULL,
    msg_args    TEXT NOT NULL DEFAULT '[]',
    created_at  TIMESTAMP NOT NULL,
    read_at     TIMESTAMP
);
CREATE INDEX notifications_user ON notifications(user_id, id);
