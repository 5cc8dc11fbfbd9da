-- Rollups for the command-centre screen and outside dashboards (package
-- stats). They are counters kept in the same transaction as every case
-- change, so they never disagree with the cases; `whistle rollup rebuild`
-- recomputes them from the cases and reports any difference.
--
-- node is a region code: every code on a case's region_path (city,
-- district, street, community, grid) gets the case's contribution. day is
-- the calendar date in Asia/Shanghai, YYYY-MM-DD. Rows whose counters are
-- all zero are deleted, so a missing row means zero.

-- rollup_flow: what happened on a day. reports counts the cases submitted
-- that day; the other counters are about the cases closed (结案) that day:
-- on_time (no stage the handling units own breached or missed), rated and
-- satisfied (满意率: the return visit's result, or else 4–5 stars), stars_n
-- and stars_sum (the residents' ratings), handled and handling_s (the
-- working time from submission to closing, in seconds).
CREATE TABLE rollup_flow (
    node        TEXT COLLATE "C" NOT NULL,
    day         TEXT COLLATE "C" NOT NULL,
    category    TEXT COLLATE "C" NOT NULL,
    reports     INTEGER NOT NULL DEFAULT 0,
    closed      INTEGER NOT NULL DEFAULT 0,
    on_time     INTEGER NOT NULL DEFAULT 0,
    rated       INTEGER NOT NULL DEFAULT 0,
    satisfied   INTEGER NOT NULL DEFAULT 0,
    stars_n     INTEGER NOT NULL DEFAULT 0,
    stars_sum   INTEGER NOT NULL DEFAULT 0,
    handled     INTEGER NOT NULL DEFAULT 0,
    handling_s  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (node, day, category)
);

-- rollup_status: the cases submitted on a day, by category and by the
-- status they are in now (node × day × category × status).
CREATE TABLE rollup_status (
    node      TEXT COLLATE "C" NOT NULL,
    day       TEXT COLLATE "C" NOT NULL,
    category  TEXT COLLATE "C" NOT NULL,
    status    TEXT NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (node, day, category, status)
);

-- rollup_state: every case as it stands now, by category, status, SLA
-- state and supervision flag. Finished cases (closed, rejected, declined,
-- merged) count with sla_state '' and supervised 0.
CREATE TABLE rollup_state (
    node        TEXT COLLATE "C" NOT NULL,
    category    TEXT COLLATE "C" NOT NULL,
    status      TEXT NOT NULL,
    sla_state   TEXT NOT NULL,
    supervised  INTEGER NOT NULL,
    n           INTEGER NOT NULL,
    PRIMARY KEY (node, category, status, sla_state, supervised)
);

-- rollup_source: the cases submitted on a day, by source.
CREATE TABLE rollup_source (
    node    TEXT COLLATE "C" NOT NULL,
    day     TEXT COLLATE "C" NOT NULL,
    source  TEXT NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (node, day, source)
);

-- rollup_open_cases: for each open case, the status, SLA state and flag it
-- is counted with in rollup_state, so that a change made outside a case
-- transition (the SLA scheduler's warnings and breaches) moves exactly the
-- count it was added to.
CREATE TABLE rollup_open_cases (
    case_id     BIGINT PRIMARY KEY REFERENCES cases(id),
    status      TEXT NOT NULL,
    sla_state   TEXT NOT NULL,
    supervised  INTEGER NOT NULL
);
