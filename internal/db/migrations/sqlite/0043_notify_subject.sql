-- The subject of an inbox entry about something other than a case (a
-- dispute, a hazard, a benefit application: notify's Subjects), so that the
-- message can link to the item's page as a case entry links to its case.
-- Empty kind and NULL id for case entries and older rows.
ALTER TABLE notifications ADD COLUMN subject_kind TEXT NOT NULL DEFAULT '';
ALTER TABLE notifications ADD COLUMN subject_id INTEGER;
