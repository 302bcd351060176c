-- Which calendar computed a dossier's stored facts, and a way for a recompute to replace
-- them. Every due date, "late" and working-day count of dossier_state was computed with
-- the working-day calendar of its day; when the calendar is corrected (an official swap
-- the package did not know), `motcua recompute` refolds the dossiers under the new one.
--
-- - calendar_version: WorkingCalendar.version of the calendar that computed the row
--   ('' for rows written before this migration: unknown, hence stale).
-- - revision: how many times the row's facts were recomputed at the same version (the
--   number of events). A recompute writes version v, revision r + 1; a new event writes
--   version v + 1 (revision 0), which must win over any recompute of version v.
-- - state_rank orders the two: the ReplacingMergeTree keeps the highest. The engine's
--   version column cannot be altered, so the table is rebuilt and swapped.
--
-- calendar_versions: each calendar that computed something, by its days that differ from
-- the Monday-Friday rule, so `motcua calendar check` can say which days changed.
CREATE TABLE IF NOT EXISTS {db}.dossier_state_0027 (
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
    rating LowCardinality(String),
    calendar_version LowCardinality(String) DEFAULT '',
    revision UInt32 DEFAULT 0,
    state_rank UInt64 MATERIALIZED toUInt64(version) * 4294967296 + revision
) ENGINE = ReplacingMergeTree(state_rank)
ORDER BY dossier_id
SETTINGS non_replicated_deduplication_window = 10000;

INSERT INTO {db}.dossier_state_0027 (dossier_id, version, province_code, unit_code, unit_level,
    procedure_code, field_code, received, received_at, received_date, channel, online_service,
    has_fee, requires_paper_result, ended, end_type, end_at, end_date, supplement_requests,
    request_times, pause_starts, pause_ends, due_known, due_date, effective_due_dates,
    effective_due_date, outcome, working_days, electronic_result, postal, digitised_all, reused,
    from_personal_store, population_data_used, paid_online, apology_ok, rating)
SELECT dossier_id, version, province_code, unit_code, unit_level,
    procedure_code, field_code, received, received_at, received_date, channel, online_service,
    has_fee, requires_paper_result, ended, end_type, end_at, end_date, supplement_requests,
    request_times, pause_starts, pause_ends, due_known, due_date, effective_due_dates,
    effective_due_date, outcome, working_days, electronic_result, postal, digitised_all, reused,
    from_personal_store, population_data_used, paid_online, apology_ok, rating
FROM {db}.dossier_state FINAL;

EXCHANGE TABLES {db}.dossier_state AND {db}.dossier_state_0027;

DROP TABLE {db}.dossier_state_0027;

CREATE TABLE IF NOT EXISTS {db}.calendar_versions (
    version String,
    first_day Date,
    last_day Date,
    weekdays_off Array(Date),
    weekend_working_days Array(Date),
    recorded_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(recorded_at)
ORDER BY version;
