-- Per-unit monthly rollup: year-long rankings read ~12 rows per unit plus the days of
-- the partial months at the ends of the range (panels.counters splits the range).
-- Fed, like 0021, by a materialized view over the signed deltas inserted into kpi_daily.
CREATE TABLE IF NOT EXISTS {db}.kpi_monthly_unit (
    month Date,
    province_code LowCardinality(String),
    unit_level LowCardinality(String),
    unit_code LowCardinality(String),
    received Int64,
    received_online Int64,
    received_online_full Int64,
    received_postal Int64,
    digitised_all Int64,
    reused Int64,
    has_fee Int64,
    paid_online Int64,
    rated Int64,
    rated_satisfied Int64,
    personal_store Int64,
    population_data Int64,
    ended Int64,
    ended_early Int64,
    ended_on_time Int64,
    ended_late Int64,
    ended_ok Int64,
    late_with_apology Int64,
    paper_result Int64,
    electronic_result Int64,
    electronic_result_any Int64,
    working_days Int64
) ENGINE = SummingMergeTree
PARTITION BY toYear(month)
ORDER BY (month, province_code, unit_level, unit_code);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.kpi_monthly_unit_mv TO {db}.kpi_monthly_unit AS
SELECT toStartOfMonth(day) AS month, province_code, unit_level, unit_code,
    sum(received) AS received, sum(received_online) AS received_online,
    sum(received_online_full) AS received_online_full, sum(received_postal) AS received_postal,
    sum(digitised_all) AS digitised_all, sum(reused) AS reused, sum(has_fee) AS has_fee,
    sum(paid_online) AS paid_online, sum(rated) AS rated, sum(rated_satisfied) AS rated_satisfied,
    sum(personal_store) AS personal_store, sum(population_data) AS population_data,
    sum(ended) AS ended, sum(ended_early) AS ended_early, sum(ended_on_time) AS ended_on_time,
    sum(ended_late) AS ended_late, sum(ended_ok) AS ended_ok,
    sum(late_with_apology) AS late_with_apology, sum(paper_result) AS paper_result,
    sum(electronic_result) AS electronic_result, sum(electronic_result_any) AS electronic_result_any,
    sum(working_days) AS working_days
FROM {db}.kpi_daily
GROUP BY month, province_code, unit_level, unit_code;

INSERT INTO {db}.kpi_monthly_unit
SELECT toStartOfMonth(day) AS month, province_code, unit_level, unit_code,
    sum(received), sum(received_online), sum(received_online_full), sum(received_postal),
    sum(digitised_all), sum(reused), sum(has_fee), sum(paid_online), sum(rated),
    sum(rated_satisfied), sum(personal_store), sum(population_data), sum(ended),
    sum(ended_early), sum(ended_on_time), sum(ended_late), sum(ended_ok),
    sum(late_with_apology), sum(paper_result), sum(electronic_result),
    sum(electronic_result_any), sum(working_days)
FROM {db}.kpi_daily
GROUP BY month, province_code, unit_level, unit_code;
