-- open_backlog: dossiers in progress keyed by the date they become overdue (signed deltas)
CREATE TABLE IF NOT EXISTS {db}.open_backlog (
    due_date Date,
    province_code LowCardinality(String),
    unit_level LowCardinality(String),
    unit_code LowCardinality(String),
    procedure_code LowCardinality(String),
    field_code LowCardinality(String),
    channel LowCardinality(String),
    open Int64
) ENGINE = SummingMergeTree
ORDER BY (unit_level, unit_code, due_date, procedure_code, field_code, channel, province_code)
SETTINGS non_replicated_deduplication_window = 10000;
