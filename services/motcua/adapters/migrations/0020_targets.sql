-- targets: plan targets (chỉ tiêu kế hoạch CCHC) loaded by `motcua targets load`;
-- reference_names: Vietnamese names of units, fields and procedures for dashboards.
-- unit_level '' with unit_code '' = every level; unit_code set = one unit.
CREATE TABLE IF NOT EXISTS {db}.targets (
    target_id String,
    province String,
    province_code LowCardinality(String),
    metric LowCardinality(String),
    unit_level LowCardinality(String),
    unit_code String,
    valid_from Date,
    valid_to Date,
    comparator LowCardinality(String),
    value Float64,
    source String,
    quote String,
    inferred UInt8,
    loaded_at DateTime64(3, 'UTC')
) ENGINE = MergeTree
ORDER BY (province_code, metric, unit_level, unit_code, valid_from);

CREATE TABLE IF NOT EXISTS {db}.reference_names (
    kind LowCardinality(String),
    code String,
    name String,
    unit_level LowCardinality(String),
    province_code LowCardinality(String),
    province_name String
) ENGINE = ReplacingMergeTree
ORDER BY (kind, code);
