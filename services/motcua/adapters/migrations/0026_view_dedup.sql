-- The materialized-view targets deduplicate like their sources. An insert that
-- kpi_daily or open_backlog drops by its deduplication token is still pushed to the
-- views (checked on ClickHouse 26.9 / chDB 4.4, contrary to what 0021 assumed); each view
-- block carries a token derived from the source's, so with a deduplication window on
-- the target the repeated block is dropped there too. Without it a retried or re-formed
-- writer batch counted twice in the panel rollups (kpi_daily itself stayed right).
ALTER TABLE {db}.kpi_daily_unit MODIFY SETTING non_replicated_deduplication_window = 10000;
ALTER TABLE {db}.open_backlog_unit MODIFY SETTING non_replicated_deduplication_window = 10000;
ALTER TABLE {db}.kpi_daily_level MODIFY SETTING non_replicated_deduplication_window = 10000;
ALTER TABLE {db}.kpi_monthly_unit MODIFY SETTING non_replicated_deduplication_window = 10000;
ALTER TABLE {db}.open_backlog_level MODIFY SETTING non_replicated_deduplication_window = 10000;
ALTER TABLE {db}.open_backlog_total_unit MODIFY SETTING non_replicated_deduplication_window = 10000;
ALTER TABLE {db}.open_backlog_due_unit MODIFY SETTING non_replicated_deduplication_window = 10000;
