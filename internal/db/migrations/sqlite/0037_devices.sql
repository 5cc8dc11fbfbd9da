-- Sensing, part 1 (internal/device, issue 17): parking spaces, devices with
-- their per-device MQTT credentials, the accepted readings (raw, expiring)
-- and their per-interval aggregates (kept), and the counters of malformed
-- messages per device and reason. A device's region_path is its grid's
-- materialised path, which data scope tests (account.Scope.Apply).
CREATE TABLE dev_parking_spaces (
    id           INTEGER PRIMARY KEY,
    code         TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL DEFAULT '',
    grid_code    TEXT NOT NULL,
    region_path  TEXT NOT NULL,
    lat          REAL NOT NULL,
    lng          REAL NOT NULL,
    no_parking   INTEGER NOT NULL DEFAULT 0,
    created_at   TIMESTAMP NOT NULL
);
CREATE INDEX dev_parking_spaces_path ON dev_parking_spaces(region_path, id);

-- secret_hash is the argon2id hash of the MQTT password; '' once revoked.
CREATE TABLE devices (
    id            INTEGER PRIMARY KEY,
    district      TEXT NOT NULL,
    type          TEXT NOT NULL,
    model         TEXT NOT NULL DEFAULT '',
    serial        TEXT NOT NULL,
    owner_kind    TEXT NOT NULL CHECK (owner_kind IN ('person','house','organisation','parking_space')),
    owner_id      INTEGER NOT NULL,
    person_id     INTEGER NOT NULL DEFAULT 0,
    house_id      INTEGER NOT NULL DEFAULT 0,
    grid_code     TEXT NOT NULL,
    region_path   TEXT NOT NULL,
    lat           REAL NOT NULL DEFAULT 0,
    lng           REAL NOT NULL DEFAULT 0,
    installed_on  TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL DEFAULT 'offline' CHECK (status IN ('online','offline','retired')),
    last_seen     TIMESTAMP,
    battery       REAL NOT NULL DEFAULT -1,
    secret_hash   TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    UNIQUE (type, serial)
);
CREATE INDEX devices_path ON devices(region_path, type, id);
CREATE INDEX devices_person ON devices(person_id) WHERE person_id <> 0;
CREATE INDEX devices_owner ON devices(owner_kind, owner_id);
CREATE INDEX devices_seen ON devices(status, type, last_seen);

-- Raw readings, pruned after the configured retention. seq is the
-- JetStream stream sequence of an MQTT message (NULL for HTTP) and epoch the
-- stream's creation time (unix ns), so that a recreated stream's sequences
-- start afresh: the unique index makes a redelivered message a duplicate the
-- ingest skips.
CREATE TABLE dev_readings (
    device_id    INTEGER NOT NULL,
    ts           TIMESTAMP NOT NULL,
    received_at  TIMESTAMP NOT NULL,
    data         TEXT NOT NULL,
    seq          INTEGER,
    epoch        INTEGER
);
CREATE INDEX dev_readings_device ON dev_readings(device_id, ts);
CREATE INDEX dev_readings_ts ON dev_readings(ts);
CREATE UNIQUE INDEX dev_readings_seq ON dev_readings(seq, epoch) WHERE seq IS NOT NULL;

-- Aggregates of each numeric field per device and bucket (the configured
-- resolution), kept for trends and evidence after the raw rows expire.
CREATE TABLE dev_aggregates (
    device_id  INTEGER NOT NULL,
    bucket     TIMESTAMP NOT NULL,
    field      TEXT NOT NULL,
    n          INTEGER NOT NULL,
    sum        REAL NOT NULL,
    min        REAL NOT NULL,
    max        REAL NOT NULL,
    last       REAL NOT NULL,
    PRIMARY KEY (device_id, field, bucket)
);

-- Malformed messages per device (0: unknown or unparsable device) and reason.
CREATE TABLE dev_malformed (
    device_id  INTEGER NOT NULL,
    reason     TEXT NOT NULL,
    n          INTEGER NOT NULL,
    last_at    TIMESTAMP NOT NULL,
    sample     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (device_id, reason)
);
