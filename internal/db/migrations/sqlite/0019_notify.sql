-- Notifications come from the change feed (internal/notify's consumer):
-- each entry names what happened (action), what its reader may now do
-- (expected, a JSON array of action names) and further message parts
-- (parts, JSON [{"k": key, "a": [args]}]: the expected actions, the
-- deadline, a leader's instruction, a rating). urgent entries (督办,
-- breach) are not held by quiet hours.
ALTER TABLE notifications ADD COLUMN action TEXT NOT NULL DEFAULT '';
ALTER TABLE notifications ADD COLUMN expected TEXT NOT NULL DEFAULT '[]';
ALTER TABLE notifications ADD COLUMN parts TEXT NOT NULL DEFAULT '[]';
ALTER TABLE notifications ADD COLUMN urgent INTEGER NOT NULL DEFAULT 0;

-- A user's outbound channels (JSON {"channels": [names], "email": address};
-- the inbox is always on) and quiet hours (minutes after local midnight, Asia/Shanghai;
-- equal values mean none).
CREATE TABLE notification_settings (
    user_id     INTEGER PRIMARY KEY REFERENCES users(id),
    channels    TEXT NOT NULL DEFAULT '[]',
    quiet_from  INTEGER NOT NULL DEFAULT 0,
    quiet_to    INTEGER NOT NULL DEFAULT 0,
    updated_at  TIMESTAMP NOT NULL
);

-- Copies to send outside the app: written with the inbox entry, sent after
-- commit by the delivery loop, retried with a growing delay; not_before
-- holds a message in quiet hours.
CREATE TABLE notification_deliveries (
    id              INTEGER PRIMARY KEY,
    notification_id INTEGER NOT NULL REFERENCES notifications(id),
    channel         TEXT NOT NULL,
    not_before      TIMESTAMP NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    sent_at         TIMESTAMP
);
CREATE INDEX notification_deliveries_due ON notification_deliveries(not_before) WHERE sent_at IS NULL;
