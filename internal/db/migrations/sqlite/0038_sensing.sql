-- Sensing (issue 17, internal/sensing): rules over device readings, the
-- alarms they raise, away-from-home periods, family contacts, the outbound
-- messages of the escalation ladder and parking stays. Per-key state of
-- absence and low use lives in the kernel's sweep (kernel_sweep), and the
-- duration and escalation deadlines in kernel timers; sensing_state keeps
-- only counters (repeats, sums, learned medians).
CREATE TABLE sensing_rules (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('threshold','duration','repeat','absence','low_use','high_use','baseline')),
    device_type  TEXT NOT NULL,
    expr         TEXT NOT NULL DEFAULT '',
    field        TEXT NOT NULL DEFAULT '',
    limit_value  REAL NOT NULL DEFAULT 0,
    seconds      INTEGER NOT NULL DEFAULT 0,
    repeat_count INTEGER NOT NULL DEFAULT 0,
    key_by       TEXT NOT NULL CHECK (key_by IN ('device','person','space')),
    alarm_type   TEXT NOT NULL,
    severity     TEXT NOT NULL CHECK (severity IN ('info','minor','major','critical')),
    quiet_from   INTEGER NOT NULL DEFAULT -1,
    quiet_to     INTEGER NOT NULL DEFAULT -1,
    enabled      INTEGER NOT NULL DEFAULT 1,
    version      INTEGER NOT NULL DEFAULT 1,
    created_by   INTEGER NOT NULL DEFAULT 0,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
CREATE INDEX sensing_rules_type ON sensing_rules(device_type, enabled);

CREATE TABLE sensing_state (
    rule_id  INTEGER NOT NULL,
    key      TEXT NOT NULL,
    n        INTEGER NOT NULL DEFAULT 0,
    acc      REAL NOT NULL DEFAULT 0,
    mark     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (rule_id, key)
);

CREATE TABLE sensing_alarms (
    id               INTEGER PRIMARY KEY,
    rule_id          INTEGER NOT NULL,
    type             TEXT NOT NULL,
    severity         TEXT NOT NULL,
    subject          TEXT NOT NULL,
    device_id        INTEGER NOT NULL DEFAULT 0,
    devices          TEXT NOT NULL DEFAULT '',
    person_id        INTEGER NOT NULL DEFAULT 0,
    house_id         INTEGER NOT NULL DEFAULT 0,
    space_id         INTEGER NOT NULL DEFAULT 0,
    district         TEXT NOT NULL DEFAULT '',
    grid_code        TEXT NOT NULL DEFAULT '',
    region_path      TEXT NOT NULL,
    lat              REAL NOT NULL DEFAULT 0,
    lng              REAL NOT NULL DEFAULT 0,
    status           TEXT NOT NULL,
    open_key         TEXT,
    workflow_version INTEGER NOT NULL,
    version          INTEGER NOT NULL DEFAULT 1,
    count            INTEGER NOT NULL DEFAULT 1,
    value            REAL NOT NULL DEFAULT 0,
    detail           TEXT NOT NULL DEFAULT '',
    level            INTEGER NOT NULL DEFAULT 0,
    case_pending     INTEGER NOT NULL DEFAULT 0,
    case_id          INTEGER,
    visit_task_id    INTEGER,
    close_reason     TEXT NOT NULL DEFAULT '',
    first_at         TIMESTAMP NOT NULL,
    last_at          TIMESTAMP NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    closed_at        TIMESTAMP
);
-- One open alarm per type and subject: open_key is type|subject while the
-- alarm is not cleared, NULL after.
CREATE UNIQUE INDEX sensing_alarms_open ON sensing_alarms(open_key);
CREATE INDEX sensing_alarms_path ON sensing_alarms(region_path, status, id);
CREATE INDEX sensing_alarms_rule ON sensing_alarms(rule_id, close_reason);
CREATE INDEX sensing_alarms_pending ON sensing_alarms(case_pending) WHERE case_pending = 1;

CREATE TABLE sensing_firings (
    id          INTEGER PRIMARY KEY,
    rule_id     INTEGER NOT NULL,
    subject     TEXT NOT NULL,
    alarm_id    INTEGER,
    suppressed  TEXT NOT NULL DEFAULT '',
    value       REAL NOT NULL DEFAULT 0,
    at          TIMESTAMP NOT NULL
);
CREATE INDEX sensing_firings_rule ON sensing_firings(rule_id, at);

CREATE TABLE sensing_away (
    id          INTEGER PRIMARY KEY,
    person_id   INTEGER NOT NULL,
    region_path TEXT NOT NULL,
    from_at     TIMESTAMP NOT NULL,
    to_at       TIMESTAMP NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    created_by  INTEGER NOT NULL DEFAULT 0,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX sensing_away_person ON sensing_away(person_id, to_at);

CREATE TABLE sensing_contacts (
    id          INTEGER PRIMARY KEY,
    person_id   INTEGER NOT NULL,
    name        TEXT NOT NULL,
    phone       TEXT NOT NULL,
    relation    TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX sensing_contacts_person ON sensing_contacts(person_id);

CREATE TABLE sensing_outbox (
    id          INTEGER PRIMARY KEY,
    alarm_id    INTEGER NOT NULL DEFAULT 0,
    space_id    INTEGER NOT NULL DEFAULT 0,
    phone       TEXT NOT NULL DEFAULT '',
    text        TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    sent_at     TIMESTAMP,
    attempts    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sensing_outbox_unsent ON sensing_outbox(id) WHERE sent_at IS NULL;

CREATE TABLE sensing_stays (
    id           INTEGER PRIMARY KEY,
    space_id     INTEGER NOT NULL,
    no_parking   INTEGER NOT NULL DEFAULT 0,
    region_path  TEXT NOT NULL,
    district     TEXT NOT NULL DEFAULT '',
    lat          REAL NOT NULL DEFAULT 0,
    lng          REAL NOT NULL DEFAULT 0,
    start_at     TIMESTAMP NOT NULL,
    end_at       TIMESTAMP,
    warned       INTEGER NOT NULL DEFAULT 0,
    case_pending INTEGER NOT NULL DEFAULT 0,
    case_id      INTEGER
);
CREATE UNIQUE INDEX sensing_stays_open ON sensing_stays(space_id) WHERE end_at IS NULL;
CREATE INDEX sensing_stays_path ON sensing_stays(region_path, start_at);
