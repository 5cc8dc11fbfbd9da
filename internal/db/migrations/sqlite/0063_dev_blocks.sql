-- A gateway's batch of readings (POST /api/v1/telemetry) is stored as one
-- block: its accepted readings encoded together in data (device.Block),
-- instead of a row and three index entries each. MQTT messages keep their
-- row in dev_readings: each needs its stream sequence's unique index, so
-- that a redelivered message is skipped. ts_max prunes a block after the
-- retention, as dev_readings' ts prunes a row.
CREATE TABLE dev_reading_blocks (
    id           INTEGER PRIMARY KEY,
    ts_min       TIMESTAMP NOT NULL,
    ts_max       TIMESTAMP NOT NULL,
    received_at  TIMESTAMP NOT NULL,
    n            INTEGER NOT NULL,
    data         TEXT NOT NULL
);
CREATE INDEX dev_reading_blocks_ts ON dev_reading_blocks(ts_max);

-- The devices' generation: counted up by every write of a device row that
-- sets its updated_at (every write but the ingest's own last seen, status
-- and battery) and by every delete. An ingester keeps the devices' state
-- in memory and reads this one row a batch instead of the batch's devices:
-- while the number stays, what it kept is what is stored.
CREATE TABLE dev_gen (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    n   INTEGER NOT NULL
);
INSERT INTO dev_gen (id, n) VALUES (1, 0);
CREATE TRIGGER devices_gen_update AFTER UPDATE ON devices
WHEN NEW.updated_at IS NOT OLD.updated_at
BEGIN
    UPDATE dev_gen SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER devices_gen_delete AFTER DELETE ON devices
BEGIN
    UPDATE dev_gen SET n = n + 1 WHERE id = 1;
END;
