-- The registry's counts per region node (issue 16, Build 7): the grid page
-- and the big screen's base-data panel read community, street and district
-- counts from here, not by scanning reg_people. Each write transaction
-- recounts the grids it touched and adds the difference to every ancestor
-- (internal/registry/counts.go). The metric '_lock' is a grid's row that
-- serialises the recounts of one grid on PostgreSQL.
CREATE TABLE reg_counts (
    node    TEXT NOT NULL,
    metric  TEXT NOT NULL,
    n       BIGINT NOT NULL,
    PRIMARY KEY (node, metric)
);
