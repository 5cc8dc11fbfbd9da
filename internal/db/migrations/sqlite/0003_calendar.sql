-- Working calendar (工作日历). calendar_days lists the dates that depart
-- from Monday to Friday: holidays (休) and weekend make-up workdays (调休上班).
-- A date is the local date in Asia/Shanghai, written YYYY-MM-DD so that text
-- order is date order. calendar_settings holds the district's working hours.
CREATE TABLE calendar_days (
    date        TEXT PRIMARY KEY CHECK (date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    kind        TEXT NOT NULL CHECK (kind IN ('holiday','workday')),
    name        TEXT NOT NULL DEFAULT '',
    source      TEXT NOT NULL DEFAULT '',
    updated_at  TIMESTAMP NOT NULL
);

CREATE TABLE calendar_settings (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    work_hours  TEXT NOT NULL,  -- e.g. '08:30-12:00,13:30-17:30'
    updated_at  TIMESTAMP NOT NULL
);
