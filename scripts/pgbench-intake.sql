-- The PostgreSQL baseline of the intake benchmark (scripts/bench.sh): one
-- transaction of four INSERTs into an indexed table, as a submission makes
-- a case row, its timeline entry, its stage and its timers.
\set k random(1, 1000000)
BEGIN;
INSERT INTO intake (k, v) VALUES (:k, 'case');
INSERT INTO intake (k, v) VALUES (:k + 1, 'event');
INSERT INTO intake (k, v) VALUES (:k + 2, 'stage');
INSERT INTO intake (k, v) VALUES (:k + 3, 'timer');
END;
