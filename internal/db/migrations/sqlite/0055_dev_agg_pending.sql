-- Aggregates not yet added to dev_aggregates: each ingest transaction
-- writes its batch's per-field aggregates here as one row (n entries),
-- committed with the raw readings; the ingester's flush adds them to
-- dev_aggregates and deletes them in one transaction, so each reading
-- counts once whatever crashes in between.
CREATE TABLE dev_agg_pending (
    id    INTEGER PRIMARY KEY,
    n     INTEGER NOT NULL,
    data  TEXT NOT NULL
);
