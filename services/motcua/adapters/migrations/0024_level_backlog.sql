-- Per-level open backlog for the overview's backlog panels (unit = All, field = All),
-- fed like 0021 by a materialized view over the signed deltas inserted into open_backlog.
CREATE TABLE IF NOT EXISTS {db}.open_backlog_level (
    due_date Date,
    province_code LowCardinality(String),
    unit_level LowCardinality(String),
    open Int64
) ENGINE = SummingMergeTree
ORDER BY (province_code, unit_level, due_date);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.open_backlog_level_mv TO {db}.open_backlog_level AS
SELECT due_date, province_code, unit_level, sum(open) AS open
FROM {db}.open_backlog
GROUP BY due_date, province_code, unit_level;

INSERT INTO {db}.open_backlog_level
SELECT due_date, province_code, unit_level, sum(open)
FROM {db}.open_backlog
GROUP BY due_date, province_code, unit_level;
