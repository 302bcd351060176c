-- Open backlog "now" for the backlog and ranking panels without scanning every due date:
-- in progress = the total per unit (whatever the due date), not yet overdue = the rows due
-- on or after today, read from a copy ordered by due date (a few granules), and
-- overdue = in progress − not yet overdue. Both grow with units (× future days), not with
-- the history of due dates that open_backlog_unit / open_backlog_level keep.
-- Fed, like 0021, by materialized views over the signed deltas inserted into open_backlog
-- (+1 at the due date when received, −1 when ended, −old +new when the due date moves).
CREATE TABLE IF NOT EXISTS {db}.open_backlog_total_unit (
    province_code LowCardinality(String),
    unit_level LowCardinality(String),
    unit_code LowCardinality(String),
    open Int64
) ENGINE = SummingMergeTree
ORDER BY (province_code, unit_level, unit_code);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.open_backlog_total_unit_mv TO {db}.open_backlog_total_unit AS
SELECT province_code, unit_level, unit_code, sum(open) AS open
FROM {db}.open_backlog
GROUP BY province_code, unit_level, unit_code;

INSERT INTO {db}.open_backlog_total_unit
SELECT province_code, unit_level, unit_code, sum(open)
FROM {db}.open_backlog
GROUP BY province_code, unit_level, unit_code;

CREATE TABLE IF NOT EXISTS {db}.open_backlog_due_unit (
    due_date Date,
    province_code LowCardinality(String),
    unit_level LowCardinality(String),
    unit_code LowCardinality(String),
    open Int64
) ENGINE = SummingMergeTree
ORDER BY (due_date, province_code, unit_level, unit_code);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.open_backlog_due_unit_mv TO {db}.open_backlog_due_unit AS
SELECT due_date, province_code, unit_level, unit_code, sum(open) AS open
FROM {db}.open_backlog
GROUP BY due_date, province_code, unit_level, unit_code;

INSERT INTO {db}.open_backlog_due_unit
SELECT due_date, province_code, unit_level, unit_code, sum(open)
FROM {db}.open_backlog
GROUP BY due_date, province_code, unit_level, unit_code;
