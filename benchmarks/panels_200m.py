"""Latency of the control-room panel queries at national scale.

Loads N dossiers (default 200,000,000; five years 2021–2025, 34 provinces, ~4,000 units)
generated INSIDE ClickHouse (INSERT … SELECT FROM numbers(), no Python rows) into its own
embedded store, the way the pipeline writes them:

- dossier_state: version 1 (received, in progress) for every dossier, version 2 (ended)
  for those that ended, version 3 for the share whose facts changed after they were first
  counted (outcome corrected by a late supplement event, or channel corrected);
- kpi_daily: signed deltas per batch of 1,000,000 dossiers (received in time order, so a
  batch covers a few days, as in the live pipeline), merged per key within a
  batch like ``pipeline.dossiers.rollup_deltas``: received-role counters when received,
  ended-role counters when ended (a later batch), then retractions for the changed ones
  (−old +new, a later batch again); the materialized views feed kpi_daily_unit and kpi_daily_level;
- open_backlog: +1 at the due date for every dossier when received, −1 when it ended.

Then it runs every overview and ranking panel query (the SQL of
``motcua.dashboards.panels`` with the macros expanded for the last day of data) R times,
and prints median and p95 latency next to the same figure computed by a plain scan of
dossier_state with FINAL, in the same run.

    python benchmarks/panels_200m.py --dossiers 200000000 --path /work/.bench/panels
    python benchmarks/panels_200m.py --dossiers 2000000 --runs 10      # a quick look

The load is resumable: batches already loaded (recorded in bench_progress) are skipped.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date
from functools import partial
from pathlib import Path

FIRST_DAY = date(2021, 1, 1)
DAYS = (date(2026, 1, 1) - FIRST_DAY).days  # five years
LAST_DAY = date(2025, 12, 31)
BATCH = 1_000_000
CHANGED_OUTCOME = 0.15  # share of ended dossiers whose outcome was corrected later
CHANGED_CHANNEL = 0.05  # share whose channel was corrected later (a key change)
DISTRICTS_END = date(2025, 7, 1)

# Per dossier n: deterministic pseudo-random draws from cityHash64(n, salt).
R = "(cityHash64(n, {salt}) % 1000000) / 1000000.0"


def r(salt: int) -> str:
    return R.format(salt=salt)


DOSSIER_SQL = f"""
SELECT
    number AS n,
    concat('D', toString(n)) AS dossier_id,
    toUInt32(1 + cityHash64(n, 1) % 34) AS prov_i,
    leftPad(toString(prov_i * 3 - 1), 2, '0') AS province_code,
    -- dossiers arrive in time order (like the live pipeline's batches): n -> its day
    toDate('{FIRST_DAY}') + toUInt32(intDiv(n * {DAYS}, {{total}})) AS received_date,
    {r(3)} AS u_level,
    multiIf(u_level < 0.05, 'CENTRAL_BRANCH', u_level < 0.30, 'PROVINCE',
            u_level < 0.45 AND received_date < toDate('{DISTRICTS_END}'), 'DISTRICT', 'COMMUNE') AS unit_level,
    concat('H', province_code, '.',
           multiIf(unit_level = 'CENTRAL_BRANCH', concat('TW.', toString(cityHash64(n, 4) % 3)),
                   unit_level = 'PROVINCE', concat('SO.', toString(cityHash64(n, 4) % 20)),
                   unit_level = 'DISTRICT', concat('H.', toString(cityHash64(n, 4) % 20)),
                   concat('XC.', toString(cityHash64(n, 4) % 98)))) AS unit_code,
    toUInt32(floor(60 * pow({r(5)}, 2.5))) AS proc_i,
    concat(substring(unit_level, 1, 1), '.', toString(proc_i)) AS procedure_code,
    concat('F', toString(proc_i % 25)) AS field_code,
    {r(6)} AS u_ch,
    multiIf(u_ch < 0.70, 'ONLINE', u_ch < 0.97, 'DIRECT', 'POSTAL') AS channel,
    toUInt32(1 + cityHash64(n, 7) % 15) AS limit_days,
    received_date + limit_days AS due_date,
    {r(8)} AS u_end,
    -- 3% still open; the rest end within 0..1.3 x the limit (a share late)
    u_end >= 0.03 AND received_date + toUInt32(({r(9)}) * limit_days * 1.3) <= toDate('{LAST_DAY}') AS ended,
    received_date + toUInt32(({r(9)}) * limit_days * 1.3) AS end_date,
    multiIf(end_date < due_date, 'EARLY', end_date = due_date, 'ON_TIME', 'LATE') AS outcome0,
    {r(10)} AS u_change,
    ended AND u_change < {CHANGED_OUTCOME} AS outcome_changed,
    if(outcome_changed, if(outcome0 = 'LATE', 'ON_TIME', 'LATE'), outcome0) AS outcome1,
    u_change >= {CHANGED_OUTCOME} AND u_change < {CHANGED_OUTCOME + CHANGED_CHANNEL} AND channel = 'DIRECT' AS channel_changed,
    if(channel_changed, 'ONLINE', channel) AS channel1,
    {r(11)} < 0.3 AS digitised_all,
    {r(12)} < 0.1 AS reused,
    {r(13)} < 0.4 AS has_fee,
    has_fee AND {r(14)} < 0.6 AS paid_online,
    {r(15)} < 0.3 AS rated,
    rated AND {r(16)} < 0.95 AS rated_satisfied,
    {r(17)} < 0.5 AS paper_result,
    paper_result AND {r(18)} < 0.6 AS electronic_result
FROM numbers({{start}}, {{count}})
"""

RECEIVED_COLS = (
    "received",
    "received_online",
    "received_online_full",
    "received_postal",
    "digitised_all",
    "reused",
    "has_fee",
    "paid_online",
    "rated",
    "rated_satisfied",
    "personal_store",
    "population_data",
)
ENDED_COLS = (
    "ended",
    "ended_early",
    "ended_on_time",
    "ended_late",
    "ended_ok",
    "late_with_apology",
    "paper_result",
    "electronic_result",
    "electronic_result_any",
    "working_days",
)
KEYS = "day, province_code, unit_level, unit_code, procedure_code, field_code, channel"


def received_role(sign: str, chan: str) -> str:
    return (
        f"received_date AS day, province_code, unit_level, unit_code, procedure_code, field_code, {chan} AS channel, "
        f"{sign} AS received, {sign} * ({chan} = 'ONLINE') AS received_online, "
        f"{sign} * ({chan} = 'ONLINE' AND u_ch < 0.5) AS received_online_full, {sign} * ({chan} = 'POSTAL') AS received_postal, "
        f"{sign} * digitised_all AS digitised_all, {sign} * reused AS reused, {sign} * has_fee AS has_fee, "
        f"{sign} * paid_online AS paid_online, {sign} * rated AS rated, {sign} * rated_satisfied AS rated_satisfied, "
        f"0 AS personal_store, 0 AS population_data"
    )


def ended_role(sign: str, outcome: str, chan: str) -> str:
    return (
        f"end_date AS day, province_code, unit_level, unit_code, procedure_code, field_code, {chan} AS channel, "
        f"{sign} AS ended, {sign} * ({outcome} = 'EARLY') AS ended_early, {sign} * ({outcome} = 'ON_TIME') AS ended_on_time, "
        f"{sign} * ({outcome} = 'LATE') AS ended_late, {sign} * ({outcome} != 'LATE') AS ended_ok, "
        f"{sign} * ({outcome} = 'LATE' AND u_change > 0.5) AS late_with_apology, {sign} * paper_result AS paper_result, "
        f"{sign} * electronic_result AS electronic_result, {sign} * electronic_result AS electronic_result_any, "
        f"{sign} * toInt64(dateDiff('day', received_date, end_date)) AS working_days"
    )


def rollup_insert(db: str, role_sql: str, cols: tuple[str, ...], where: str) -> str:
    zero = [c for c in RECEIVED_COLS + ENDED_COLS if c not in cols]
    sums = ", ".join(f"sum({c}) AS {c}" for c in cols)
    zeros = ", ".join(f"0 AS {c}" for c in zero)
    return (
        f"INSERT INTO {db}.kpi_daily ({KEYS}, {', '.join(cols)}, {', '.join(zero)}) "
        f"SELECT {KEYS}, {sums}, {zeros} FROM (SELECT {role_sql} FROM ({DOSSIER_SQL}) WHERE {where}) "
        f"GROUP BY {KEYS}"
    )


def state_insert(db: str, version: int, where: str, ended: str, outcome: str, chan: str) -> str:
    return f"""INSERT INTO {db}.dossier_state (dossier_id, version, province_code, unit_code, unit_level,
    procedure_code, field_code, received, received_at, received_date, channel, online_service, has_fee,
    requires_paper_result, ended, end_type, end_at, end_date, supplement_requests, due_known, due_date,
    effective_due_dates, effective_due_date, outcome, working_days, electronic_result, postal, digitised_all,
    reused, paid_online, rating)
SELECT dossier_id, {version}, province_code, unit_code, unit_level, procedure_code, field_code, 1,
    toDateTime64(toDateTime(received_date, 'Asia/Ho_Chi_Minh') + 3600 * 9, 3, 'UTC'), received_date, {chan}, '', has_fee,
    paper_result, {ended}, if({ended}, 'RESOLVED', ''),
    if({ended}, toDateTime64(toDateTime(end_date, 'Asia/Ho_Chi_Minh') + 3600 * 15, 3, 'UTC'), toDateTime64(0, 3, 'UTC')),
    if({ended}, end_date, toDate(0)), 0, 1, due_date, [due_date], due_date, if({ended}, {outcome}, ''),
    if({ended}, dateDiff('day', received_date, end_date), 0), electronic_result, {chan} = 'POSTAL', digitised_all,
    reused, paid_online, if(rated, if(rated_satisfied, 'SATISFIED', 'DISSATISFIED'), '')
FROM ({DOSSIER_SQL}) WHERE {where}"""


def backlog_insert(db: str, sign: str, where: str) -> str:
    return (
        f"INSERT INTO {db}.open_backlog (due_date, province_code, unit_level, unit_code, procedure_code, field_code, channel, open) "
        f"SELECT due_date, province_code, unit_level, unit_code, procedure_code, field_code, channel, sum({sign}) "
        f"FROM ({DOSSIER_SQL}) WHERE {where} GROUP BY due_date, province_code, unit_level, unit_code, procedure_code, field_code, channel"
    )


def batch_statements(db: str) -> list[tuple[str, str]]:
    """(what, SQL) in pipeline order: receipt, end, later corrections."""
    return [
        ("state v1", state_insert(db, 1, "1", "0", "''", "channel")),
        ("rollup received", rollup_insert(db, received_role("1", "channel"), RECEIVED_COLS, "1")),
        ("backlog +", backlog_insert(db, "1", "1")),
        ("state v2", state_insert(db, 2, "ended", "ended", "outcome0", "channel")),
        ("rollup ended", rollup_insert(db, ended_role("1", "outcome0", "channel"), ENDED_COLS, "ended")),
        ("backlog -", backlog_insert(db, "-1", "ended")),
        (
            "state v3",
            state_insert(db, 3, "outcome_changed OR channel_changed", "ended", "outcome1", "channel1"),
        ),
        (
            "retract outcome",
            rollup_insert(db, ended_role("-1", "outcome0", "channel"), ENDED_COLS, "outcome_changed"),
        ),
        (
            "new outcome",
            rollup_insert(db, ended_role("1", "outcome1", "channel"), ENDED_COLS, "outcome_changed"),
        ),
        (
            "retract channel",
            rollup_insert(db, received_role("-1", "channel"), RECEIVED_COLS, "channel_changed"),
        ),
        ("new channel", rollup_insert(db, received_role("1", "channel1"), RECEIVED_COLS, "channel_changed")),
    ]


def load(store, total: int) -> None:
    db, c = store.db, store.client
    c.command(
        f"CREATE TABLE IF NOT EXISTS {db}.bench_progress (start UInt64, count UInt64) ENGINE = MergeTree ORDER BY start"
    )
    done = {r[0] for r in c.query(f"SELECT start FROM {db}.bench_progress").result_rows}
    statements = batch_statements(db)
    t0 = time.time()
    batches = range(0, total, BATCH)
    todo = [s for s in batches if s not in done]
    print(f"loading {total:,} dossiers in {len(batches)} batches ({len(done)} already loaded)", flush=True)
    for i, start in enumerate(todo, 1):
        count = min(BATCH, total - start)
        for _what, sql in statements:
            c.command(
                sql.replace("{start}", str(start))
                .replace("{count}", str(count))
                .replace("{total}", str(total)),
                settings={"max_threads": 2, "optimize_on_insert": 0},
            )
        c.command(f"INSERT INTO {db}.bench_progress VALUES ({start}, {count})")
        el = time.time() - t0
        rate = i * BATCH / el
        left = (len(todo) - i) * BATCH / rate
        print(
            f"  batch {i}/{len(todo)}: {(len(done) + i) * BATCH / 1e6:,.0f}M dossiers, "
            f"{rate / 1e3:,.0f}k dossiers/s, {el / 60:.1f} min elapsed, ~{left / 60:.0f} min left",
            flush=True,
        )


def timed(fn, runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, max(0, round(0.95 * len(times) + 0.5) - 1))]
    return statistics.median(times), p95


def baselines(db: str, d0: str, d1: str) -> dict[str, str]:
    """The same figures from a plain scan of dossier_state FINAL."""
    rate_cols = (
        "countIf(received_date BETWEEN d0 AND d1) AS b_received, "
        "countIf(received_date BETWEEN d0 AND d1 AND channel = 'ONLINE') AS b_received_online, "
        "countIf(received_date BETWEEN d0 AND d1 AND digitised_all) AS b_digitised_all, "
        "countIf(received_date BETWEEN d0 AND d1 AND has_fee) AS b_has_fee, "
        "countIf(received_date BETWEEN d0 AND d1 AND paid_online) AS b_paid_online, "
        "countIf(ended AND end_date BETWEEN d0 AND d1) AS b_ended, "
        "countIf(ended AND end_date BETWEEN d0 AND d1 AND outcome != 'LATE') AS b_ended_ok, "
        "countIf(ended AND end_date BETWEEN d0 AND d1 AND requires_paper_result) AS b_paper_result, "
        "countIf(ended AND end_date BETWEEN d0 AND d1 AND requires_paper_result AND electronic_result) AS b_electronic_result"
    )
    scope = "received = 1 AND (received_date BETWEEN d0 AND d1 OR (ended AND end_date BETWEEN d0 AND d1))"
    return {
        "rates": f"WITH toDate('{d0}') AS d0, toDate('{d1}') AS d1 SELECT unit_level, {rate_cols} "
        f"FROM {db}.dossier_state FINAL WHERE {scope} GROUP BY unit_level",
        "headline": f"WITH toDate('{d0}') AS d0, toDate('{d1}') AS d1 SELECT countIf(ended AND end_date BETWEEN d0 AND d1 AND outcome != 'LATE'), "
        f"countIf(ended AND end_date BETWEEN d0 AND d1) FROM {db}.dossier_state FINAL WHERE received = 1 AND ended AND end_date BETWEEN d0 AND d1",
        "trend": f"WITH toDate('{d0}') AS d0, toDate('{d1}') AS d1 SELECT end_date, unit_level, countIf(outcome != 'LATE') / count() "
        f"FROM {db}.dossier_state FINAL WHERE received = 1 AND ended AND end_date BETWEEN d0 AND d1 GROUP BY end_date, unit_level",
        "ranking": f"WITH toDate('{d0}') AS d0, toDate('{d1}') AS d1 SELECT unit_code, countIf(outcome != 'LATE') / count() AS ratio "
        f"FROM {db}.dossier_state FINAL WHERE received = 1 AND ended AND end_date BETWEEN d0 AND d1 "
        "GROUP BY unit_code ORDER BY ratio LIMIT 20",
        "backlog": f"WITH toDate('{d1}') AS today SELECT unit_level, count(), countIf(effective_due_date < today), "
        "countIf(effective_due_date IN (today, today + 1)) "
        f"FROM {db}.dossier_state FINAL WHERE received = 1 AND ended = 0 GROUP BY unit_level",
    }


# SummingMergeTree tables fed by the load (kpi_daily, open_backlog) and their materialized views
RAW_DELTAS = ("kpi_daily", "open_backlog")
ROLLUPS = (
    "kpi_daily",
    "kpi_daily_unit",
    "kpi_monthly_unit",
    "kpi_daily_level",
    "open_backlog",
    "open_backlog_unit",
    "open_backlog_level",
    "open_backlog_total_unit",
    "open_backlog_due_unit",
)

# panel key -> (dashboard, baseline key, period kind for the ratio check)
PANELS = {
    "rates_day": ("baseline rates (day)", "day"),
    "rates_month": ("rates", "month"),
    "rates_year": ("rates", "year"),
    "headline_on_time_month": ("headline", "month"),
    "headline_on_time_year": ("headline", "year"),
    "backlog_total": ("backlog", "now"),
    "backlog_by_level": ("backlog", "now"),
    "ranking_rate": ("ranking", "range"),
    "ranking_gap": ("ranking", "range"),
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dossiers", type=int, default=200_000_000)
    ap.add_argument("--path", default="/work/.bench/panels", help="chDB data path (its own: one per process)")
    ap.add_argument("--runs", type=int, default=30, help="runs per panel query")
    ap.add_argument("--baseline-runs", type=int, default=5)
    ap.add_argument("--skip-load", action="store_true")
    ap.add_argument(
        "--settle-panels-only",
        action="store_true",
        help="merge only the rollups the overview/ranking panels read, not the raw delta "
        "tables kpi_daily and open_backlog (read only with a lĩnh vực filter); "
        "merging those at 200M takes longer than the measurement",
    )
    ap.add_argument(
        "--no-settle", action="store_true", help="measure the rollups as loaded, without merging them first"
    )
    ap.add_argument(
        "--range",
        choices=("year", "month"),
        default="year",
        help="the dashboard range for range panels (trends, ranking)",
    )
    args = ap.parse_args()

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "services"))
    from motcua.adapters.clickhouse_store import ClickHouseStore
    from motcua.adapters.clickhouse_targets import TargetsRepository
    from motcua.bootstrap import plan_targets
    from motcua.dashboards import panels as P
    from motcua.dashboards.macros import PanelContext
    from motcua.dashboards.runner import PanelRunner
    from motcua.reference.official_calendar import default_calendar
    from motcua.settings import get_settings

    Path(args.path).mkdir(parents=True, exist_ok=True)
    store = ClickHouseStore(f"chdb://{args.path}?database=bench")
    db, c = store.db, store.client
    if not args.skip_load:
        store.load_calendar(default_calendar())
        TargetsRepository(store).replace(plan_targets(get_settings()))
        load(store, args.dossiers)
    if not args.no_settle:
        # Steady state of a live system: background merges have summed the signed deltas
        # of the rollups (and dropped the +1/-1 backlog pairs of closed dossiers). Only the
        # SummingMergeTree rollups are merged; dossier_state keeps whatever versions the
        # background merges left, so the FINAL baseline still pays for them.
        t = time.time()
        for table in ROLLUPS:
            if args.settle_panels_only and table in RAW_DELTAS:
                continue
            c.command(f"OPTIMIZE TABLE {db}.{table} FINAL", settings={"max_execution_time": 0})
            print(f"  {table} merged ({time.time() - t:.0f} s)", flush=True)
        print(f"rollups merged in {time.time() - t:.0f} s", flush=True)
    sizes = {
        t: c.query(
            f"SELECT sum(rows), formatReadableSize(sum(bytes_on_disk)), count() FROM system.parts "
            f"WHERE database = '{db}' AND table = '{t}' AND active"
        ).result_rows[0]
        for t in ("dossier_state",) + ROLLUPS
    }
    for t, (rows, size, parts) in sizes.items():
        print(f"{t:24s} {int(rows or 0):>14,} rows {size:>10s} {parts:>5} parts")
    n_dossiers = c.query(f"SELECT sum(count) FROM {db}.bench_progress").result_rows[0][0]
    print(f"dossiers loaded: {int(n_dossiers or 0):,}")

    runner = PanelRunner(store)
    first = date(2025, 1, 1) if args.range == "year" else date(2025, 12, 1)
    ctx = PanelContext.for_days(first, LAST_DAY, bottom_n="20", min_volume="10")
    queries = {q.key: q.sql for q in P.overview_queries() + P.ranking_queries()}
    base = baselines(db, str(first), str(LAST_DAY))
    base["baseline rates (day)"] = baselines(db, str(LAST_DAY), str(LAST_DAY))["rates"]
    base["rates_month"] = baselines(db, "2025-12-01", str(LAST_DAY))["rates"]
    base["headline_month"] = baselines(db, "2025-12-01", str(LAST_DAY))["headline"]

    def baseline_key(key: str) -> str:
        if key == "rates_month":
            return "rates_month"
        if key == "headline_on_time_month":
            return "headline_month"
        if key.startswith("trend_targets"):
            return ""
        if key.startswith("trend_"):
            return "trend"
        return PANELS.get(key, ("", ""))[0]

    print(f"\npanel latency over {args.runs} runs, range {first} – {LAST_DAY} (ms)")
    print(
        f"{'panel':34s} {'median':>8s} {'p95':>8s} | {'FINAL scan median':>17s} {'p95':>8s} {'speed-up':>9s}"
    )
    base_cache: dict[str, tuple[float, float]] = {}
    worst = 0.0
    for key, sql in queries.items():
        runner.query(sql, ctx)  # warm-up
        med, p95 = timed(partial(runner.query, sql, ctx), args.runs)
        worst = max(worst, p95)
        bk = baseline_key(key)
        line = f"{key:34s} {med:8.1f} {p95:8.1f} |"
        if bk:
            if bk not in base_cache:
                c.query(base[bk])
                base_cache[bk] = timed(partial(c.query, base[bk]), args.baseline_runs)
            bmed, bp95 = base_cache[bk]
            line += f" {bmed:17.1f} {bp95:8.1f} {bmed / med:8.1f}x"
        print(line, flush=True)
    print(f"\nworst p95: {worst:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
