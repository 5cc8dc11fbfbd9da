-- The current stage's deadline and SLA state, denormalised onto the case by
-- the SLA engine (in the same transaction) so queues filter on an index.
ALTER TABLE cases ADD COLUMN deadline_at TIMESTAMPTZ;
ALTER TABLE cases ADD COLUMN sla_state TEXT NOT NULL DEFAULT 'none';
CREATE INDEX cases_sla ON cases(sla_state, id);
CREATE INDEX cases_updated ON cases(updated_at);
CREATE INDEX case_events_public_at ON case_events(public, at);
