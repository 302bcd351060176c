-- registry_procedures: the province's own procedure catalogue (danh mục TTHC), loaded by
-- `motcua registry load procedures` from DVCQG JSON, CSV or XLSX. One row per procedure
-- code; a reload that changes an entry inserts a newer version (loaded_at), an unchanged
-- one inserts nothing. Names win over the shipped synthetic list everywhere; the flags
-- fill what a RECEIVED event leaves out (NULL / '' = the catalogue cannot say).
CREATE TABLE IF NOT EXISTS {db}.registry_procedures (
    code String,
    name String,
    field_code String,
    field_name String,
    has_fee Nullable(UInt8),
    requires_paper_result Nullable(UInt8),
    time_limit_value Nullable(UInt32),
    time_limit_unit LowCardinality(String),
    channels Array(LowCardinality(String)),
    digest String,
    loaded_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(loaded_at)
ORDER BY code;
