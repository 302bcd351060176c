-- events, dossier_state, kpi_daily, dead_letters, work_calendar
CREATE TABLE IF NOT EXISTS {db}.events (
    event_id String,
    dossier_id String,
    event_type LowCardinality(String),
    occurred_at DateTime64(3, 'UTC'),
    sequence Nullable(Int64),
    source_system LowCardinality(String),
    province_code LowCardinality(String),
    unit_code LowCardinality(String),
    payload String CODEC(ZSTD(3))
) ENGINE = ReplacingMergeTree
ORDER BY (dossier_id, event_id)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE TABLE IF NOT EXISTS {db}.dossier_state (
    dossier_id String,
    version UInt32,
    province_code LowCardinality(String),
    unit_code LowCardinality(String),
    unit_level LowCardinality(String),
    procedure_code LowCardinality(String),
    field_code LowCardinality(String),
    received UInt8,
    received_at DateTime64(3, 'UTC'),
    received_date Date,
    channel LowCardinality(String),
    online_service LowCardinality(String),
    has_fee UInt8,
    requires_paper_result UInt8,
    ended UInt8,
    end_type LowCardinality(String),
    end_at DateTime64(3, 'UTC'),
    end_date Date,
    supplement_requests UInt8,
    request_times Array(DateTime64(3, 'UTC')),
    pause_starts Array(DateTime64(3, 'UTC')),
    pause_ends Array(DateTime64(3, 'UTC')),
    due_known UInt8,
    due_date Date,
    effective_due_dates Array(Date),
    effective_due_date Date,
    outcome LowCardinality(String),
    working_days UInt16,
    electronic_result UInt8,
    postal UInt8,
    digitised_all UInt8,
    reused UInt8,
    from_personal_store UInt8,
    population_data_used UInt8,
    paid_online UInt8,
    apology_ok UInt8,
    rating LowCardinality(String)
) ENGINE = ReplacingMergeTree(version)
ORDER BY dossier_id
SETTINGS non_replicated_deduplication_window = 10000;

CREATE TABLE IF NOT EXISTS {db}.kpi_daily (
    day Date,
    province_code LowCardinality(String),
    unit_level LowCardinality(String),
    unit_code LowCardinality(String),
    procedure_code LowCardinality(String),
    field_code LowCardinality(String),
    channel LowCardinality(String),
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
PARTITION BY toYear(day)
ORDER BY (day, unit_level, unit_code, procedure_code, field_code, channel, province_code)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE TABLE IF NOT EXISTS {db}.dead_letters (
    dead_letter_id String,
    received_at DateTime64(3, 'UTC'),
    source String,
    stage LowCardinality(String),
    code LowCardinality(String),
    reason String,
    event_id Nullable(String),
    dossier_id Nullable(String),
    payload String CODEC(ZSTD(3)),
    schema_version UInt16
) ENGINE = ReplacingMergeTree
ORDER BY dead_letter_id;

CREATE TABLE IF NOT EXISTS {db}.work_calendar (
    day Date,
    is_working UInt8,
    working_index UInt32
) ENGINE = ReplacingMergeTree ORDER BY day;
