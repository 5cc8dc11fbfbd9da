-- The change feed (an outbox): every change appends one row in its own
-- transaction; consumers read it from their stored cursors (internal/feed).
-- SQLite has one writer, so commits happen in insertion order and the
-- position is the row id itself; AUTOINCREMENT never reuses a position,
-- even after pruning has deleted every row.
CREATE TABLE feed_events (
    position     INTEGER PRIMARY KEY AUTOINCREMENT,
    subject_kind TEXT NOT NULL,
    subject_id   INTEGER NOT NULL,
    district     TEXT NOT NULL DEFAULT '',
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL DEFAULT '{}',
    at           TIMESTAMP NOT NULL
);

-- Where each consumer has got to: it has handled every position up to and
-- including position.
CREATE TABLE feed_cursors (
    consumer   TEXT PRIMARY KEY,
    position   INTEGER NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
