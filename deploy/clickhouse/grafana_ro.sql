-- The same read-only Grafana user with SQL-driven access control (clusters managed by
-- SQL, or ClickHouse Cloud). Run as an administrator; replace the password.
CREATE SETTINGS PROFILE IF NOT EXISTS grafana_readonly SETTINGS
    readonly = 1,
    max_execution_time = 30 MAX 60 CHANGEABLE_IN_READONLY,
    join_use_nulls CHANGEABLE_IN_READONLY,
    additional_table_filters CHANGEABLE_IN_READONLY,
    max_memory_usage = 4000000000,
    max_result_rows = 100000,
    result_overflow_mode = 'break',
    max_threads = 4;
CREATE USER IF NOT EXISTS grafana_ro IDENTIFIED WITH sha256_password BY 'change-me'
    SETTINGS PROFILE grafana_readonly;
GRANT SELECT ON motcua.* TO grafana_ro;
