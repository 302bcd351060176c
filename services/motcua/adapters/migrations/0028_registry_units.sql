-- registry_units: a province's own unit catalogue (danh mục cơ quan, đơn vị), loaded by
-- `motcua registry load units`. One row per unit code; a later load of the same code
-- replaces it (version loaded_at). These units win over the shipped reference data
-- wherever a unit's name or level is looked up. No personal data: agencies only.
-- valid_from / valid_to NULL = no bound; parent / successor '' = none.
CREATE TABLE IF NOT EXISTS {db}.registry_units (
    code String,
    name String,
    unit_level LowCardinality(String),
    parent String,
    valid_from Nullable(Date),
    valid_to Nullable(Date),
    successor String,
    province_code LowCardinality(String),
    source String,
    loaded_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(loaded_at)
ORDER BY code;
