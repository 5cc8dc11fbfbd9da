-- Foundation: regions, departments, accounts, sessions, logs, API keys.
CREATE TABLE regions (
    code          TEXT PRIMARY KEY,
    parent_code   TEXT REFERENCES regions(code),
    name          TEXT NOT NULL,
    level         TEXT NOT NULL CHECK (level IN ('city','district','street','community','grid')),
    path          TEXT NOT NULL UNIQUE,
    geometry      TEXT NOT NULL,
    min_lng       REAL NOT NULL,
    min_lat       REAL NOT NULL,
    max_lng       REAL NOT NULL,
    max_lat       REAL NOT NULL,
    interior_lng  REAL NOT NULL,
    interior_lat  REAL NOT NULL,
    illustrative  INTEGER NOT NULL DEFAULT 0,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);
CREATE INDEX regions_parent ON regions(parent_code);

CREATE TABLE departments (
    id           INTEGER PRIMARY KEY,
    code         TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    region_code  TEXT NOT NULL REFERENCES regions(code),
    created_at   TIMESTAMP NOT NULL
);

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE,
    display_name   TEXT NOT NULL DEFAULT '',
    phone          TEXT NOT NULL DEFAULT '',
    id_number      TEXT NOT NULL DEFAULT '',
    password_hash  TEXT NOT NULL,
    roles          TEXT NOT NULL,
    region_code    TEXT NOT NULL REFERENCES regions(code),
    department_id  INTEGER REFERENCES departments(id),
    disabled       INTEGER NOT NULL DEFAULT 0,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);
CREATE INDEX users_region ON users(region_code);
CREATE INDEX users_department ON users(department_id);

CREATE TABLE sessions (
    id            INTEGER PRIMARY KEY,
    token_hash    TEXT NOT NULL UNIQUE,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind          TEXT NOT NULL CHECK (kind IN ('web','api')),
    csrf          TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    last_seen_at  TIMESTAMP NOT NULL,
    expires_at    TIMESTAMP NOT NULL,
    ip            TEXT NOT NULL DEFAULT '',
    user_agent    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE login_log (
    id          INTEGER PRIMARY KEY,
    at          TIMESTAMP NOT NULL,
    username    TEXT NOT NULL,
    user_id     INTEGER,
    ip          TEXT NOT NULL,
    success     INTEGER NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    user_agent  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX login_log_username ON login_log(username, at);
CREATE INDEX login_log_ip ON login_log(ip, at);
CREATE INDEX login_log_at ON login_log(at);

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          TIMESTAMP NOT NULL,
    actor_id    INTEGER,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT NOT NULL DEFAULT '',
    ip          TEXT NOT NULL DEFAULT '',
    summary     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log(at);
CREATE INDEX audit_log_actor ON audit_log(actor, at);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

CREATE TABLE api_keys (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    prefix        TEXT NOT NULL,
    key_hash      TEXT NOT NULL UNIQUE,
    created_by    TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    revoked_at    TIMESTAMP,
    last_used_at  TIMESTAMP
);
