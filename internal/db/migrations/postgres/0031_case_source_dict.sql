-- The case_source dictionary names casework's sources (casework.Sources), so
-- that the case forms read their options, order and labels from it: the
-- seeded 'app' and 'grid' are the resident's report and the grid patrol;
-- staff, Open311 and sensor reports join them. 'hotline' and 'visit' (来访,
-- a walk-in registered by staff) were already there. A district that
-- already added an item of the same code keeps its own.
UPDATE dict_items SET code = 'resident', label = CASE WHEN label = '随手拍' THEN '居民上报' ELSE label END,
    label_en = CASE WHEN label_en = 'Resident app' THEN 'Resident report' ELSE label_en END
    WHERE type_code = 'case_source' AND code = 'app'
    AND NOT EXISTS (SELECT 1 FROM dict_items d WHERE d.type_code = 'case_source' AND d.code = 'resident');
UPDATE dict_items SET code = 'grid_patrol'
    WHERE type_code = 'case_source' AND code = 'grid'
    AND NOT EXISTS (SELECT 1 FROM dict_items d WHERE d.type_code = 'case_source' AND d.code = 'grid_patrol');
INSERT INTO dict_items (type_code, code, label, label_en, sort, enabled) VALUES
    ('case_source', 'staff', '工作人员代报', 'Reported by staff', 50, true),
    ('case_source', 'open311', 'Open311 接口', 'Open311', 60, true),
    ('case_source', 'sensor', '物联感知', 'Sensor', 70, true)
    ON CONFLICT (type_code, code) DO NOTHING;
