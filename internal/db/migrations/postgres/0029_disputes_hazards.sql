-- The first non-case modules on the kernel (issue 16, Build 5 and 6):
-- disputes under mediation (矛盾纠纷调解) and safety hazards (安全隐患).
--
-- workflow_steps is the kernel's timeline of any subject kind
-- (workflow.RecordStep): one row per step, a person's or the system's.
CREATE TABLE workflow_steps (
    id           BIGSERIAL PRIMARY KEY,
    subject_kind TEXT NOT NULL,
    subject_id   BIGINT NOT NULL,
    action       TEXT NOT NULL,
    from_state   TEXT NOT NULL DEFAULT '',
    to_state     TEXT NOT NULL DEFAULT '',
    role         TEXT NOT NULL DEFAULT '',
    actor_id     BIGINT NOT NULL DEFAULT 0,
    actor_name   TEXT NOT NULL DEFAULT '',
    note         TEXT NOT NULL DEFAULT '',
    data         TEXT NOT NULL DEFAULT '{}',
    at           TIMESTAMPTZ NOT NULL
);
CREATE INDEX workflow_steps_subject ON workflow_steps (subject_kind, subject_id, id);

-- A dispute lives in the grid whose region path scopes it.
CREATE TABLE disputes (
    id               BIGSERIAL PRIMARY KEY,
    district         TEXT NOT NULL,
    region_code      TEXT NOT NULL,
    region_path      TEXT NOT NULL,
    type             TEXT NOT NULL,
    title            TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL,
    workflow_version INTEGER NOT NULL,
    version          INTEGER NOT NULL DEFAULT 1,
    created_by       BIGINT NOT NULL DEFAULT 0,
    mediator_id      BIGINT NOT NULL DEFAULT 0,
    agreement        TEXT NOT NULL DEFAULT '',
    agreed_at        TIMESTAMPTZ,
    referral         TEXT NOT NULL DEFAULT '',
    stage_due_at     TIMESTAMPTZ,
    sla_state        TEXT NOT NULL DEFAULT 'none',
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    closed_at        TIMESTAMPTZ
);
CREATE INDEX disputes_path ON disputes (region_path, id);

-- A party's identity number is stored canonical (idcode.ResidentID), the
-- key on which it links to the registry's person (person_id, 0 until then).
CREATE TABLE dispute_parties (
    id          BIGSERIAL PRIMARY KEY,
    dispute_id  BIGINT NOT NULL REFERENCES disputes(id),
    role        TEXT NOT NULL,
    name        TEXT NOT NULL,
    id_number   TEXT NOT NULL DEFAULT '',
    phone       TEXT NOT NULL DEFAULT '',
    person_id   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX dispute_parties_dispute ON dispute_parties (dispute_id, id);
CREATE INDEX dispute_parties_id_number ON dispute_parties (id_number);

-- The mediation sessions (调解记录), each with its participants and notes.
CREATE TABLE dispute_sessions (
    id           BIGSERIAL PRIMARY KEY,
    dispute_id   BIGINT NOT NULL REFERENCES disputes(id),
    step_id      BIGINT NOT NULL,
    held_at      TIMESTAMPTZ NOT NULL,
    participants TEXT NOT NULL,
    notes        TEXT NOT NULL,
    recorded_by  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX dispute_sessions_dispute ON dispute_sessions (dispute_id, id);

-- The facts the dispute indicators read, per region node (every ancestor
-- of the grid, the grid included), day (the district's) and type, counted
-- in the transaction of the change.
CREATE TABLE dispute_daily (
    region_code TEXT NOT NULL,
    day         TEXT NOT NULL,
    type        TEXT NOT NULL,
    registered  INTEGER NOT NULL DEFAULT 0,
    concluded   INTEGER NOT NULL DEFAULT 0,
    agreed      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (region_code, day, type)
);

-- A hazard is found on a visit or a patrol (their ids, 0 if none) or
-- registered directly, at an organisation or a house (the registry's ids,
-- 0 if none; place describes it in words), in a grid. escalated_path is the
-- region node it was escalated to when its rectification deadline passed.
CREATE TABLE hazards (
    id               BIGSERIAL PRIMARY KEY,
    district         TEXT NOT NULL,
    region_code      TEXT NOT NULL,
    region_path      TEXT NOT NULL,
    type             TEXT NOT NULL,
    title            TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    place            TEXT NOT NULL DEFAULT '',
    source           TEXT NOT NULL,
    visit_id         BIGINT NOT NULL DEFAULT 0,
    patrol_id        BIGINT NOT NULL DEFAULT 0,
    org_id           BIGINT NOT NULL DEFAULT 0,
    house_id         BIGINT NOT NULL DEFAULT 0,
    status           TEXT NOT NULL,
    workflow_version INTEGER NOT NULL,
    version          INTEGER NOT NULL DEFAULT 1,
    created_by       BIGINT NOT NULL DEFAULT 0,
    deadline_at      TIMESTAMPTZ,
    escalations      INTEGER NOT NULL DEFAULT 0,
    escalated_path   TEXT NOT NULL DEFAULT '',
    rechecks         INTEGER NOT NULL DEFAULT 0,
    stage_due_at     TIMESTAMPTZ,
    sla_state        TEXT NOT NULL DEFAULT 'none',
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    closed_at        TIMESTAMPTZ
);
CREATE INDEX hazards_path ON hazards (region_path, id);
