-- An account is locked only by an admin (users.locked): failed logins
-- slow down the client that makes them, per username, and lock nobody out.
ALTER TABLE users ADD COLUMN locked INTEGER NOT NULL DEFAULT 0;

-- An API key acts within a region subtree (region_code) and posts only to
-- the services it lists (services, comma-separated; empty means every
-- service). A key without a known region may do nothing. Keys made before
-- this migration get the district (the shallowest district of the tree,
-- else its root) and every service, which is what they could do before.
ALTER TABLE api_keys ADD COLUMN region_code TEXT;
ALTER TABLE api_keys ADD COLUMN services TEXT NOT NULL DEFAULT '';
UPDATE api_keys SET region_code = COALESCE(
    (SELECT code FROM regions WHERE level = 'district' ORDER BY length(path), code LIMIT 1),
    (SELECT code FROM regions WHERE parent_code IS NULL ORDER BY code LIMIT 1));
