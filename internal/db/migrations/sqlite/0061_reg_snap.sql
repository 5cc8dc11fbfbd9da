-- The registry's snapshot for the eligibility batch (issue 18, the full
-- run): one row of reg_snap holds the subjects of a kind whose ids share
-- id >> 5 (32 people, or 32 organisations) with their columns, their
-- household's size and their fact rows as stored, encoded by registry.encodeSnap, so that a run reads
-- some 33,000 rows for a million people instead of their million rows
-- and two million facts. It is derived data: the triggers below mark a
-- block dirty whenever a row it is made of changes, whatever writes it,
-- and registry.Store.RefreshSnapshot rebuilds the marked blocks from the
-- rows before a run reads them (docs/DECISIONS.md, "The registry's
-- snapshot for the batch"). Kind 'person' holds the people with their
-- own facts and those of the household they head; 'organisation' the
-- organisations with theirs.
CREATE TABLE reg_snap (
    kind   TEXT NOT NULL,
    block  INTEGER NOT NULL,
    data   BLOB NOT NULL,
    PRIMARY KEY (kind, block)
) WITHOUT ROWID;

-- One mark a dirty block: SQLite has one writer, so a refresh that reads
-- the marks, rebuilds and deletes them in one transaction misses none.
-- NOT EXISTS rather than INSERT OR IGNORE: a trigger's conflict clause
-- gives way to that of the statement that fires it.
CREATE TABLE reg_snap_dirty (
    id     INTEGER PRIMARY KEY,
    kind   TEXT NOT NULL,
    block  INTEGER NOT NULL,
    UNIQUE (kind, block)
);

-- A person's block holds their household's size: a person who joins,
-- leaves or moves household changes the blocks of its members too (the
-- condition names the partial index on household_id).
CREATE TRIGGER reg_people_snap_insert AFTER INSERT ON reg_people BEGIN
    INSERT INTO reg_snap_dirty (kind, block) SELECT 'person', NEW.id >> 5
    WHERE NOT EXISTS (SELECT 1 FROM reg_snap_dirty WHERE kind = 'person' AND block = NEW.id >> 5);
    INSERT INTO reg_snap_dirty (kind, block) SELECT DISTINCT 'person', h.id >> 5 FROM reg_people h
    WHERE h.household_id = NEW.household_id AND h.household_id <> ''
      AND NOT EXISTS (SELECT 1 FROM reg_snap_dirty d WHERE d.kind = 'person' AND d.block = h.id >> 5);
END;
CREATE TRIGGER reg_people_snap_update AFTER UPDATE OF id, grid_code, region_path, sex, status, birth_date, household_id ON reg_people BEGIN
    INSERT INTO reg_snap_dirty (kind, block) SELECT 'person', OLD.id >> 5
    WHERE NOT EXISTS (SELECT 1 FROM reg_snap_dirty WHERE kind = 'person' AND block = OLD.id >> 5);
    INSERT INTO reg_snap_dirty (kind, block) SELECT 'person', NEW.id >> 5
    WHERE NOT EXISTS (SELECT 1 FROM reg_snap_dirty WHERE kind = 'person' AND block = NEW.id >> 5);
END;
CREATE TRIGGER reg_people_snap_household AFTER UPDATE OF household_id ON reg_people
WHEN OLD.household_id IS NOT NEW.household_id BEGIN
    INSERT INTO reg_snap_dirty (kind, block) SELECT DISTINCT 'person', h.id >> 5 FROM reg_people h
    WHERE h.household_id IN (OLD.household_id, NEW.household_id) AND h.household_id <> ''
      AND NOT EXISTS (SELECT 1 FROM reg_snap_dirty d WHERE d.kind = 'person' AND d.block = h.id >> 5);
END;
CREATE TRIGGER reg_people_snap_delete AFTER DELETE ON reg_people BEGIN
    INSERT INTO reg_snap_dirty (kind, block) SELECT 'person', OLD.id >> 5
    WHERE NOT EXISTS (SELECT 1 FROM reg_snap_dirty WHERE kind = 'person' AND block = OLD.id >> 5);
    INSERT INTO reg_snap_dirty (kind, block) SELECT DISTINCT 'person', h.id >> 5 FROM reg_people h
    WHERE h.household_id = OLD.household_id AND h.household_id <> ''
      AND NOT EXISTS (SELECT 1 FROM reg_snap_dirty d WHERE d.kind = 'person' AND d.block = h.id >> 5);
END;

CREATE TRIGGER reg_organisations_snap_insert AFTER INSERT ON reg_organisations BEGIN
    INSERT INTO reg_snap_dirty (kind, block) SELECT 'organisation', NEW.id >> 5
    WHERE NOT EXISTS (SELECT 1 FROM reg_snap_dirty WHERE kind = 'organisation' AND block = NEW.id >> 5);
END;
CREATE TRIGGER reg_organisations_snap_update AFTER UPDATE OF id, grid_code, region_path, kind, industry, size ON reg_organisations BEGIN
    INSERT INTO reg_snap_dirty (kind, block) SELECT 'organisation', OLD.id >> 5
    WHERE NOT EXISTS (SELECT 1 FROM reg_snap_dirty WHERE kind = 'organisation' AND block = OLD.id >> 5);
    INSERT INTO reg_snap_dirty (kind, block) SELECT 'organisation', NEW.id >> 5
    WHERE NOT EXISTS (SELECT 1 FROM reg_snap_dirty WHERE kind = 'organisation' AND block = NEW.id >> 5);
END;
CREATE TRIGGER reg_organisations_snap_delete AFTER DELETE ON reg_organisations BEGIN
    INSERT INTO reg_snap_dirty (kind, block) SELECT 'organisation', OLD.id >> 5
    WHERE NOT EXISTS (SELECT 1 FROM reg_snap_dirty WHERE kind = 'organisation' AND block = OLD.id >> 5);
END;

-- A household's facts are its head's: subject_id is a person's id.
CREATE TRIGGER reg_facts_snap_insert AFTER INSERT ON reg_facts BEGIN
    INSERT INTO reg_snap_dirty (kind, block)
    SELECT CASE NEW.subject_kind WHEN 'organisation' THEN 'organisation' ELSE 'person' END, NEW.subject_id >> 5
    WHERE NOT EXISTS (SELECT 1 FROM reg_snap_dirty WHERE kind = CASE NEW.subject_kind WHEN 'organisation' THEN 'organisation' ELSE 'person' END AND block = NEW.subject_id >> 5);
END;
CREATE TRIGGER reg_facts_snap_update AFTER UPDATE OF subject_kind, subject_id, key, value, verified ON reg_facts BEGIN
    INSERT INTO reg_snap_dirty (kind, block)
    SELECT CASE OLD.subject_kind WHEN 'organisation' THEN 'organisation' ELSE 'person' END, OLD.subject_id >> 5
    WHERE NOT EXISTS (SELECT 1 FROM reg_snap_dirty WHERE kind = CASE OLD.subject_kind WHEN 'organisation' THEN 'organisation' ELSE 'person' END AND block = OLD.subject_id >> 5);
    INSERT INTO reg_snap_dirty (kind, block)
    SELECT CASE NEW.subject_kind WHEN 'organisation' THEN 'organisation' ELSE 'person' END, NEW.subject_id >> 5
    WHERE NOT EXISTS (SELECT 1 FROM reg_snap_dirty WHERE kind = CASE NEW.subject_kind WHEN 'organisation' THEN 'organisation' ELSE 'person' END AND block = NEW.subject_id >> 5);
END;
CREATE TRIGGER reg_facts_snap_delete AFTER DELETE ON reg_facts BEGIN
    INSERT INTO reg_snap_dirty (kind, block)
    SELECT CASE OLD.subject_kind WHEN 'organisation' THEN 'organisation' ELSE 'person' END, OLD.subject_id >> 5
    WHERE NOT EXISTS (SELECT 1 FROM reg_snap_dirty WHERE kind = CASE OLD.subject_kind WHEN 'organisation' THEN 'organisation' ELSE 'person' END AND block = OLD.subject_id >> 5);
END;

-- What is there now is all dirty: the first run builds the snapshot.
INSERT INTO reg_snap_dirty (kind, block) SELECT DISTINCT 'person', id >> 5 FROM reg_people;
INSERT INTO reg_snap_dirty (kind, block) SELECT DISTINCT 'organisation', id >> 5 FROM reg_organisations;
