-- Fewer index entries a timer fire writes (docs/DECISIONS.md, "Leaner
-- indexes for the timer scheduler's rows"). No query reads supervisions by
-- status and level: they are read by case (supervisions_case) and by id.
DROP INDEX supervisions_open;
-- Only the public feed (casework.Service.PublicEvents: public steps in a
-- time range) reads case_events by public and time; the scheduler's steps
-- and most staff steps are not public, so the index holds the public ones
-- only. The query names the same condition, public = TRUE, so that the
-- planner may use it.
DROP INDEX case_events_public_at;
CREATE INDEX case_events_public_at ON case_events(at) WHERE public = TRUE;
