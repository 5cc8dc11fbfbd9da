-- kernel_timers: durable timers for any subject (internal/timer). A timer
-- is keyed by (kind, subject, name), so re-arming is an upsert that moves
-- its due time. Only pending timers are kept: firing deletes the row in the
-- transaction that applies the timer's effect, so the row's absence is the
-- proof that it fired and the key is free to be armed again. run_at is
-- when a runner may next take it: due_at, or later after a failed handler
-- (attempts, last_error, with backoff).
CREATE TABLE kernel_timers (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    subject     TEXT NOT NULL,
    name        TEXT NOT NULL,
    due_at      TIMESTAMP NOT NULL,
    run_at      TIMESTAMP NOT NULL,
    payload     TEXT NOT NULL DEFAULT 'null',
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT NOT NULL DEFAULT '',
    UNIQUE (kind, subject, name)
);
CREATE INDEX kernel_timers_run ON kernel_timers(run_at, id);

-- kernel_sweep: the sweep mode, for timers that every message would re-arm
-- ("no data for 12 hours"): the last time each (kind, key) was seen. A key
-- is silent once last_seen is older than its kind's expiry; silenced_at
-- records that its silence fired, so it fires once per silence, until the
-- key is seen again. The partial index holds only keys not yet silenced,
-- ordered by last_seen, so one range scan finds the expired ones.
CREATE TABLE kernel_sweep (
    kind         TEXT NOT NULL,
    key          TEXT NOT NULL,
    last_seen    TIMESTAMP NOT NULL,
    silenced_at  TIMESTAMP,
    PRIMARY KEY (kind, key)
) WITHOUT ROWID;
CREATE INDEX kernel_sweep_live ON kernel_sweep(kind, last_seen) WHERE silenced_at IS NULL;
