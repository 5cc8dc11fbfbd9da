-- Dictionaries (字典管理, internal/dict): value lists a district customises
-- without a release. A type holds items; an item is retired by disabling
-- it, never deleted, so stored values keep their label.
CREATE TABLE dict_types (
    code     TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    name_en  TEXT NOT NULL DEFAULT '',
    sort     INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE dict_items (
    type_code  TEXT NOT NULL REFERENCES dict_types(code),
    code       TEXT NOT NULL,
    label      TEXT NOT NULL,
    label_en   TEXT NOT NULL DEFAULT '',
    sort       INTEGER NOT NULL DEFAULT 0,
    enabled    BOOLEAN NOT NULL DEFAULT true,
    PRIMARY KEY (type_code, code)
);
INSERT INTO dict_types (code, name, name_en, sort) VALUES
    ('case_source', '事件来源', 'Case sources', 10),
    ('resident_type', '居民身份类型', 'Resident types', 20),
    ('id_doc_type', '证件类型', 'Identity document types', 30);
INSERT INTO dict_items (type_code, code, label, label_en, sort, enabled) VALUES
    ('case_source', 'hotline', '12345热线', '12345 hotline', 10, true),
    ('case_source', 'app', '随手拍', 'Resident app', 20, true),
    ('case_source', 'grid', '网格员巡查', 'Grid patrol', 30, true),
    ('case_source', 'visit', '来访', 'Walk-in', 40, true),
    ('resident_type', 'registered', '户籍人口', 'Registered resident', 10, true),
    ('resident_type', 'migrant', '流动人口', 'Migrant resident', 20, true),
    ('resident_type', 'overseas', '境外人员', 'Overseas resident', 30, true),
    ('id_doc_type', 'id_card', '居民身份证', 'Resident ID card', 10, true),
    ('id_doc_type', 'passport', '护照', 'Passport', 20, true),
    ('id_doc_type', 'hk_macao_permit', '港澳居民来往内地通行证', 'Mainland travel permit (HK/Macao)', 30, true);
