-- Workflows are data (internal/workflow): every version of every definition
-- is kept, one is active per name, and a case keeps the version it was
-- submitted under. diff is the readable change from the version that was
-- active when this one was uploaded.
CREATE TABLE workflow_versions (
    name        TEXT NOT NULL,
    version     INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    body        TEXT NOT NULL,
    diff        TEXT NOT NULL DEFAULT '',
    created_by  TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    active      BOOLEAN NOT NULL DEFAULT false,
    PRIMARY KEY (name, version)
);
CREATE UNIQUE INDEX workflow_versions_active ON workflow_versions(name) WHERE active;
ALTER TABLE cases ADD COLUMN workflow_version INTEGER NOT NULL DEFAULT 1;
