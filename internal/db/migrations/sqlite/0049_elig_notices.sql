-- Proactive notices (主动告知, issue 18): staff tell the people on a
-- region's 应享未享 list that they may apply. One notice a subject and
-- policy, ever; the phone is read from the registry when it is sent (no
-- second copy of it here); a failed send is tried again up to five times.
CREATE TABLE elig_notices (
    id            INTEGER PRIMARY KEY,
    subject_kind  TEXT NOT NULL CHECK (subject_kind IN ('person','organisation')),
    subject_id    INTEGER NOT NULL,
    policy_key    TEXT NOT NULL,
    region_path   TEXT NOT NULL,
    text          TEXT NOT NULL,
    queued_by     TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    sent_at       TIMESTAMP,
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT NOT NULL DEFAULT '',
    UNIQUE (subject_kind, subject_id, policy_key)
);
CREATE INDEX elig_notices_pending ON elig_notices(sent_at, attempts);
