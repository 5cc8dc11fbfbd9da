-- Sign-in by phone number and SMS code (issue 15, item 2; account.PhoneStore).
--
-- sms_codes: one row per code sent. Only a salted SHA-256 of the code is
-- kept; a code lives a few minutes, is used once and allows a few
-- attempts. The rows also count the codes asked for per number and per
-- client address, so the send limits hold across restarts and replicas.
CREATE TABLE sms_codes (
    id          INTEGER PRIMARY KEY,
    phone       TEXT NOT NULL,
    salt        TEXT NOT NULL,
    code_hash   TEXT NOT NULL,
    ip          TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    used_at     TIMESTAMP
);
CREATE INDEX sms_codes_phone ON sms_codes(phone, created_at);
CREATE INDEX sms_codes_ip ON sms_codes(ip, created_at);

-- phone_logins: a number proven by an SMS code and the resident account
-- it signs in to. Written only after the proof; a number is linked to one
-- account. Staff accounts are never linked (they sign in by password or
-- single sign-on).
CREATE TABLE phone_logins (
    phone        TEXT PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    verified_at  TIMESTAMP NOT NULL
);
CREATE INDEX phone_logins_user ON phone_logins(user_id);

-- The reports filed without an account, by number: a sign-in by SMS code
-- claims them (casework.ClaimByPhone).
CREATE INDEX cases_unclaimed_phone ON cases(reporter_phone) WHERE reporter_id IS NULL AND reporter_phone <> '';
