-- Benefit applications and payouts (issue 18, Build 4 and 5): an
-- application runs the benefit workflow (受理 → 审核 → 发放, with 补正);
-- a payout is one subject's benefit of one policy for one period.
--
-- An application lives where its subject lives (region_path) and belongs
-- to the policy's department (department_id) and to the resident who
-- applied (applicant_id): account.Scope's three grants.
CREATE TABLE benefit_applications (
    id               BIGSERIAL PRIMARY KEY,
    district         TEXT NOT NULL DEFAULT '',
    region_code      TEXT NOT NULL,
    region_path      TEXT NOT NULL,
    department_id    BIGINT NOT NULL DEFAULT 0,
    applicant_id     BIGINT NOT NULL DEFAULT 0,
    subject_kind     TEXT NOT NULL,
    subject_id       BIGINT NOT NULL,
    subject_name     TEXT NOT NULL DEFAULT '',
    policy           TEXT NOT NULL,
    policy_version   INTEGER NOT NULL DEFAULT 0,
    title_zh         TEXT NOT NULL DEFAULT '',
    title_en         TEXT NOT NULL DEFAULT '',
    period           TEXT NOT NULL,
    amount_fen       BIGINT NOT NULL DEFAULT 0,
    eligibility      TEXT NOT NULL DEFAULT '',
    facts            TEXT NOT NULL DEFAULT '{}',
    documents        TEXT NOT NULL DEFAULT '[]',
    uploads          TEXT NOT NULL DEFAULT '[]',
    status           TEXT NOT NULL,
    prev_status      TEXT NOT NULL DEFAULT '',
    workflow_version INTEGER NOT NULL,
    version          INTEGER NOT NULL DEFAULT 1,
    reason           TEXT NOT NULL DEFAULT '',
    request          TEXT NOT NULL DEFAULT '',
    stage_due_at     TIMESTAMPTZ,
    paused_left_ms   BIGINT NOT NULL DEFAULT -1,
    paused_warn_ms   BIGINT NOT NULL DEFAULT -1,
    sla_state        TEXT NOT NULL DEFAULT 'none',
    eligible_at      TIMESTAMPTZ NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    closed_at        TIMESTAMPTZ
);
CREATE INDEX benefit_applications_path ON benefit_applications (region_path, id);
CREATE INDEX benefit_applications_department ON benefit_applications (department_id, id);
CREATE INDEX benefit_applications_applicant ON benefit_applications (applicant_id, id);
CREATE INDEX benefit_applications_subject ON benefit_applications (subject_kind, subject_id, policy, period);

-- The database says a subject receives a policy's benefit once a period.
CREATE TABLE benefit_payouts (
    id             BIGSERIAL PRIMARY KEY,
    subject_kind   TEXT NOT NULL,
    subject_id     BIGINT NOT NULL,
    subject_name   TEXT NOT NULL DEFAULT '',
    policy         TEXT NOT NULL,
    policy_version INTEGER NOT NULL DEFAULT 0,
    title_zh       TEXT NOT NULL DEFAULT '',
    title_en       TEXT NOT NULL DEFAULT '',
    period         TEXT NOT NULL,
    amount_fen     BIGINT NOT NULL DEFAULT 0,
    source         TEXT NOT NULL,
    application_id BIGINT NOT NULL DEFAULT 0,
    region_code    TEXT NOT NULL,
    region_path    TEXT NOT NULL,
    department_id  BIGINT NOT NULL DEFAULT 0,
    applicant_id   BIGINT NOT NULL DEFAULT 0,
    eligible_at    TIMESTAMPTZ NOT NULL,
    paid_at        TIMESTAMPTZ NOT NULL,
    UNIQUE (subject_kind, subject_id, policy, period)
);
CREATE INDEX benefit_payouts_path ON benefit_payouts (region_path, id);
CREATE INDEX benefit_payouts_department ON benefit_payouts (department_id, id);
CREATE INDEX benefit_payouts_policy ON benefit_payouts (policy, paid_at);

-- A policy's budget ceiling (预算上限): approvals add their amounts to
-- committed_fen in the UPDATE that checks the ceiling.
CREATE TABLE benefit_budgets (
    policy        TEXT PRIMARY KEY,
    ceiling_fen   BIGINT NOT NULL,
    committed_fen BIGINT NOT NULL DEFAULT 0,
    updated_at    TIMESTAMPTZ NOT NULL
);
