-- Time limits (时限): the rules, each case's stage deadlines, supervisions
-- (督办) and the durable timers that fire warnings and breaches.
--
-- time_limits: the limit of a workflow stage, for the categories under a
-- code prefix ('' = all) and optionally a region subtree ('' = the whole
-- district). The most specific rule wins: the longest category prefix, then
-- the deepest region. limit_spec is a calendar limit ("2h", "30m", "2wd",
-- "6ch"); with use_category the category's own time limit wins when it has
-- one. warn_pct is the share of the limit at which the warning comes
-- (0 = the engine's default, 80%).
CREATE TABLE time_limits (
    id               INTEGER PRIMARY KEY,
    workflow         TEXT NOT NULL,
    stage            TEXT NOT NULL,
    category_prefix  TEXT NOT NULL DEFAULT '',
    region_code      TEXT NOT NULL DEFAULT '',
    region_path      TEXT NOT NULL DEFAULT '',
    limit_spec       TEXT NOT NULL,
    use_category     INTEGER NOT NULL DEFAULT 0,
    warn_pct         INTEGER NOT NULL DEFAULT 0 CHECK (warn_pct >= 0 AND warn_pct < 100),
    updated_at       TIMESTAMP NOT NULL,
    UNIQUE (workflow, stage, category_prefix, region_code)
);

-- sla_stages: one row per stage a case entered, with the deadline computed
-- on entry. A rule changed later does not touch it. Working-clock amounts
-- (budget, paused, extended) are in nanoseconds: working time for working
-- limits, natural time when natural_time is set.
CREATE TABLE sla_stages (
    id           INTEGER PRIMARY KEY,
    case_id      INTEGER NOT NULL REFERENCES cases(id),
    stage        TEXT NOT NULL,
    status       TEXT NOT NULL,
    limit_spec   TEXT NOT NULL DEFAULT '',
    rule_id      INTEGER,
    natural_time INTEGER NOT NULL DEFAULT 0,
    warn_pct     INTEGER NOT NULL DEFAULT 80,
    budget_ns    INTEGER NOT NULL DEFAULT 0,
    paused_ns    INTEGER NOT NULL DEFAULT 0,
    extended_ns  INTEGER NOT NULL DEFAULT 0,
    started_at   TIMESTAMP NOT NULL,
    deadline_at  TIMESTAMP,
    warn_at      TIMESTAMP,
    paused_at    TIMESTAMP,
    warned_at    TIMESTAMP,
    breached_at  TIMESTAMP,
    ended_at     TIMESTAMP,
    outcome      TEXT NOT NULL DEFAULT 'open' CHECK (outcome IN ('open','met','missed','none'))
);
CREATE INDEX sla_stages_case ON sla_stages(case_id, id);
CREATE UNIQUE INDEX sla_stages_open ON sla_stages(case_id) WHERE ended_at IS NULL;

-- supervisions (督办): automatic ones opened by a breach at the next level
-- up (street, then district), and leaders' manual ones. Each has its own
-- deadline; the handler's reply answers every open one.
CREATE TABLE supervisions (
    id           INTEGER PRIMARY KEY,
    case_id      INTEGER NOT NULL REFERENCES cases(id),
    kind         TEXT NOT NULL CHECK (kind IN ('auto','manual')),
    level        TEXT NOT NULL CHECK (level IN ('community','street','district')),
    region_code  TEXT NOT NULL DEFAULT '',
    reason       TEXT NOT NULL CHECK (reason IN ('stage_breach','supervision_breach','manual')),
    stage_id     INTEGER REFERENCES sla_stages(id),
    parent_id    INTEGER REFERENCES supervisions(id),
    instruction  TEXT NOT NULL DEFAULT '',
    issued_by    INTEGER REFERENCES users(id),
    opened_at    TIMESTAMP NOT NULL,
    deadline_at  TIMESTAMP NOT NULL,
    status       TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open','answered','closed')),
    breached_at  TIMESTAMP,
    answered_at  TIMESTAMP,
    answer       TEXT NOT NULL DEFAULT '',
    closed_at    TIMESTAMP
);
CREATE INDEX supervisions_case ON supervisions(case_id, id);
CREATE INDEX supervisions_open ON supervisions(status, level);

-- timers: durable timers. A scheduler claims due ones (lease_owner,
-- lease_until) and fires each in one transaction that sets fired_at, so a
-- timer fires exactly once across restarts and replicas. Pending timers of
-- a stage or supervision that ends are deleted.
CREATE TABLE timers (
    id              INTEGER PRIMARY KEY,
    due_at          TIMESTAMP NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('warning','breach','supervision')),
    case_id         INTEGER NOT NULL REFERENCES cases(id),
    stage_id        INTEGER REFERENCES sla_stages(id),
    supervision_id  INTEGER REFERENCES supervisions(id),
    created_at      TIMESTAMP NOT NULL,
    lease_owner     TEXT NOT NULL DEFAULT '',
    lease_until     TIMESTAMP,
    fired_at        TIMESTAMP,
    effective       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX timers_pending ON timers(due_at, id) WHERE fired_at IS NULL;
CREATE INDEX timers_case ON timers(case_id);
