-- Queued aggregate rows the flush could not decode: set aside with the
-- reason instead of stopping every later flush behind them. Their
-- readings are still in dev_readings (until the retention), from which
-- the aggregates can be recomputed.
CREATE TABLE dev_agg_rejected (
    id           INTEGER PRIMARY KEY,
    n            INTEGER NOT NULL,
    data         TEXT NOT NULL,
    reason       TEXT NOT NULL,
    rejected_at  TIMESTAMP NOT NULL
);
