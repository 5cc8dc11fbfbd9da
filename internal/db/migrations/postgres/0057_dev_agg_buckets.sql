-- The aggregates as one row per device and bucket with all its fields
-- (a JSON object: field → [n, sum, min, max, last]) instead of one row per
-- field: the flush writes a third of the rows. dev_aggregates stays, as a
-- view, with its columns.
CREATE TABLE dev_agg_buckets (
    device_id  BIGINT NOT NULL,
    bucket     TIMESTAMPTZ NOT NULL,
    data       TEXT NOT NULL,
    PRIMARY KEY (device_id, bucket)
);
INSERT INTO dev_agg_buckets (device_id, bucket, data)
SELECT device_id, bucket, json_object_agg(field, json_build_array(n, sum, min, max, last))::text
FROM dev_aggregates GROUP BY device_id, bucket;
DROP TABLE dev_aggregates;
CREATE VIEW dev_aggregates AS
SELECT a.device_id, a.bucket, f.key AS field,
       (f.value->>0)::bigint AS n, (f.value->>1)::float8 AS sum,
       (f.value->>2)::float8 AS min, (f.value->>3)::float8 AS max,
       (f.value->>4)::float8 AS last
FROM dev_agg_buckets a, jsonb_each(a.data::jsonb) f;
