-- The aggregates as one row per device and bucket with all its fields
-- (a JSON object: field → [n, sum, min, max, last]) instead of one row per
-- field: the flush writes a third of the rows. dev_aggregates stays, as a
-- view, with its columns.
CREATE TABLE dev_agg_buckets (
    device_id  INTEGER NOT NULL,
    bucket     TIMESTAMP NOT NULL,
    data       TEXT NOT NULL,
    PRIMARY KEY (device_id, bucket)
) WITHOUT ROWID;
INSERT INTO dev_agg_buckets (device_id, bucket, data)
SELECT device_id, bucket, json_group_object(field, json_array(n, sum, min, max, last))
FROM dev_aggregates GROUP BY device_id, bucket;
DROP TABLE dev_aggregates;
CREATE VIEW dev_aggregates AS
SELECT a.device_id AS device_id, a.bucket AS bucket, f.key AS field,
       json_extract(f.value, '$[0]') AS n, json_extract(f.value, '$[1]') AS sum,
       json_extract(f.value, '$[2]') AS min, json_extract(f.value, '$[3]') AS max,
       json_extract(f.value, '$[4]') AS last
FROM dev_agg_buckets a, json_each(a.data) f;
