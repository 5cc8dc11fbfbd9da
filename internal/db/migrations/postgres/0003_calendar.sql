-- Working calendar (工作日历). calendar_days lists the dates that depart
-- from Monday to Friday: holidays (休) and weekend make-up workdays (调休上班).
-- A date is the local date in Asia/Shanghai, written YYYY-MM-DD so that text
-- order is date order; COLLATE "C" keeps range scans byte-ordered.
-- calendar_settings holds the district's working hours.
CREATE TABLE calendar_days (
    date        TEXT COLLATE "C" PRIMARY KEY CHECK (date ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'),
    kind        TEXT NOT NULL CHECK (kind IN ('holiday','workday')),
    name        TEXT NOT NULL DEFAULT '',
    source      TEXT NOT NULL DEFAULT '',
    updated_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE calendar_settings (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    work_hours  TEXT NOT NULL,  -- e.g. '08:30-12:00,13:30-17:30'
    updated_at  TIMESTAMPTZ NOT NULL
);
