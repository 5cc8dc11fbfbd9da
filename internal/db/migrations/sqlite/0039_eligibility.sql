-- Eligibility (issue 18): verified facts of the registry's subjects, the
-- policies as data with dated versions, and the batch's stored results.

-- A fact of a person, household or organisation (income band, 低保 status,
-- disability grade, an enterprise's R&D spend …): a typed value as JSON,
-- whether it was verified against its source, and the region path of its
-- subject for data scope. A fact that has no row is unknown, never false.
CREATE TABLE reg_facts (
    subject_kind  TEXT NOT NULL CHECK (subject_kind IN ('person','household','organisation')),
    subject_id    INTEGER NOT NULL,
    key           TEXT NOT NULL,
    value         TEXT NOT NULL,
    verified      INTEGER NOT NULL DEFAULT 0,
    source        TEXT NOT NULL DEFAULT '',
    region_path   TEXT NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (subject_kind, subject_id, key)
);
CREATE INDEX reg_facts_key ON reg_facts(key, subject_kind);

CREATE TABLE policies (
    id          INTEGER PRIMARY KEY,
    key         TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL CHECK (kind IN ('resident','enterprise')),
    target      TEXT NOT NULL CHECK (target IN ('person','household','organisation')),
    title_zh    TEXT NOT NULL,
    title_en    TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);

-- A version's body is the Version as JSON (conditions, rule, amount …);
-- effective_at is set at publication, and the version in force on a date
-- is the published one with the latest effective_at not after it.
CREATE TABLE policy_versions (
    policy_id     INTEGER NOT NULL REFERENCES policies(id),
    version       INTEGER NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('draft','published')),
    effective_at  TIMESTAMP,
    body          TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (policy_id, version)
);

-- The batch's results, one row per subject: packed holds one letter per
-- policy of the run that wrote it (E eligible, N not, M may be), in the
-- order of elig_runs.policies; a run rewrites only the rows that changed.
CREATE TABLE elig_results (
    subject_kind  TEXT NOT NULL,
    subject_id    INTEGER NOT NULL,
    region_path   TEXT NOT NULL,
    packed        TEXT NOT NULL,
    run_id        INTEGER NOT NULL,
    PRIMARY KEY (subject_kind, subject_id)
);
CREATE INDEX elig_results_path ON elig_results(region_path);

CREATE TABLE elig_runs (
    id         INTEGER PRIMARY KEY,
    at         TIMESTAMP NOT NULL,
    policies   TEXT NOT NULL,
    evaluated  INTEGER NOT NULL,
    changed    INTEGER NOT NULL,
    took_ms    INTEGER NOT NULL
);
