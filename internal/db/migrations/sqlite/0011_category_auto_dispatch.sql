-- A category may dispatch its cases automatically when they are accepted
-- (受理) or registered (立案): to the department its routing picks, through
-- the workflow's own dispatch step, recorded on the timeline as automatic.
ALTER TABLE categories ADD COLUMN auto_dispatch INTEGER NOT NULL DEFAULT 0;
