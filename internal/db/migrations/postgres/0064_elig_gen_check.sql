-- The re-check's guard (policy: the feed consumer on PostgreSQL): instead of
-- reading elig_gen before its work and taking the counter with an answer
-- (two round trips), the consumer trusts its copy of the stored rows and
-- sends this with its commit. It moves the counter on (bump) or only
-- checks it, and refuses the transaction when another writer moved it
-- since the copy was exact: 40001, which the consumer's runner retries.
CREATE FUNCTION elig_gen_check(expect BIGINT, bump BOOLEAN) RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE
    g BIGINT;
BEGIN
    IF bump THEN
        UPDATE elig_gen SET gen = gen + 1 WHERE id = 1 AND gen = expect RETURNING gen INTO g;
    ELSE
        SELECT gen INTO g FROM elig_gen WHERE id = 1 AND gen = expect;
    END IF;
    IF g IS NULL THEN
        RAISE EXCEPTION 'elig_gen moved on from %: the stored results changed meanwhile', expect USING ERRCODE = '40001';
    END IF;
    RETURN g;
END
$$;
