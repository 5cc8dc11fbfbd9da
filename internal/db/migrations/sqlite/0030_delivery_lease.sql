-- The outbox's delivery loop runs on every replica: a runner claims the
-- due copies it will send (claimed_by, its id; claimed_until, the end of
-- its lease) before sending them, so each copy goes out once. A runner
-- that dies leaves its claims to expire; another then takes them.
ALTER TABLE notification_deliveries ADD COLUMN claimed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE notification_deliveries ADD COLUMN claimed_until TIMESTAMP;
