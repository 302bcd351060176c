-- Period close (`motcua period close`): the figures of an official period as they were
-- sent upward, frozen, versioned and append-only. Closing a period again writes the next
-- version; nothing is ever updated or deleted.
--
-- - period_closes: one row per close (the header). A close exists once its header is
--   written: rows and dossiers are written first (an interrupted close leaves rows without
--   a header, which nothing reads and the retry, same version, replaces: the two tables
--   below are ReplacingMergeTree on their whole key).
-- - period_close_rows: every KPI row of the period (per grouping: all, level, unit,
--   procedure, field, unit_field) and every 766 item per unit, as the reports read them
--   (`row` is the row's JSON; `row_key` the JSON of its grouping keys).
-- - period_close_dossiers: for every dossier that counted in the period (received before
--   its end and not ended before its start), its unit, lĩnh vực and a fingerprint of its
--   facts, so a restatement can name the dossiers whose facts changed since the close.
--   Dossier ids and codes only, as everywhere.
CREATE TABLE IF NOT EXISTS {db}.period_closes (
    province_code LowCardinality(String),
    period_code String,
    kind LowCardinality(String),
    start Date,
    `end` Date,
    version UInt32,
    closed_at DateTime64(3, 'UTC'),
    content_hash String,
    note String,
    calendar_version String,
    rows UInt32,
    dossiers UInt32
) ENGINE = MergeTree
ORDER BY (province_code, period_code, version);

CREATE TABLE IF NOT EXISTS {db}.period_close_rows (
    province_code LowCardinality(String),
    period_code String,
    version UInt32,
    grouping LowCardinality(String),
    row_key String,
    row String
) ENGINE = ReplacingMergeTree
ORDER BY (province_code, period_code, version, grouping, row_key);

CREATE TABLE IF NOT EXISTS {db}.period_close_dossiers (
    province_code LowCardinality(String),
    period_code String,
    version UInt32,
    dossier_id String,
    unit_level LowCardinality(String),
    unit_code LowCardinality(String),
    field_code LowCardinality(String),
    fingerprint UInt64
) ENGINE = ReplacingMergeTree
ORDER BY (province_code, period_code, version, dossier_id);
