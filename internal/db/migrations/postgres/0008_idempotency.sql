-- Idempotency keys belong to their caller (issue 13, item 1). A key is
-- looked up by (idem_owner, idem_key): the owner is "user:ID" for a logged-in
-- caller, "client:<sha-256 of the whistle_client cookie>" for an anonymous
-- one and "system" for Open311 (whose keys name their API key). idem_hash is
-- the SHA-256 of the canonical request, so that the same key with another
-- body is refused instead of answered with the first case. Keys expire after
-- a day (casework.Config.IdempotencyTTL): an expired key is released
-- (idem_owner set to NULL) when it is used again.
ALTER TABLE cases ADD COLUMN idem_hash TEXT NOT NULL DEFAULT '';

-- Open311 keys were stored under the owner every anonymous caller shared,
-- namespaced by their API key: they belong to the system caller now.
UPDATE cases SET idem_owner = 'system' WHERE idem_owner = 'anonymous' AND idem_key LIKE 'open311:%';

-- Any other key of that shared owner could answer one anonymous reporter's
-- case to another: release them all.
UPDATE cases SET idem_owner = NULL WHERE idem_owner = 'anonymous';
