"""Period close and restatements over a store: the service behind ``motcua period`` and
the closed figures of the reports.

A close freezes, for one province and one official period, the rows every report of
that period reads (``ClickHouseStore.kpi`` per grouping at the period end, the 766 items
per unit) and the fingerprint of every dossier that counted. Reports of a closed period
read those rows (``ClosedPeriod.kpi``), so a closed report prints exactly what was sent;
``restatements`` compares them with today's figures cell by cell and names the dossiers
whose facts changed since.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..adapters.clickhouse_closes import CloseHeader, ClosesRepository, live_fingerprints
from ..adapters.clickhouse_store import ClickHouseStore
from ..domain.calendar import WorkingCalendar
from ..domain.closing import (
    CLOSE_GROUPINGS,
    INDEX766,
    KPI_GROUPINGS,
    Cell,
    CloseError,
    Restatement,
    check_note,
    content_hash,
    dossier_changes,
    ii06a_cells,
    index766_cells,
    kpi_cells,
    restatements,
)
from ..domain.metrics import regroup
from ..domain.periods import Period, ReportPeriod

Progress = Callable[[str], None]


@dataclass
class ClosedPeriod:
    """A close read back: its header and its rows by grouping."""

    header: CloseHeader
    rows: dict[str, list[dict]]

    def kpi(self, by: str) -> list[dict]:
        """The KPI rows of grouping ``by`` as they were at the close (a grouping a close
        does not hold, ``procedure``: KeyError; see ``holds``)."""
        if not self.holds(by):
            raise KeyError(f"a close holds no KPI rows by {by}")
        return [dict(r) for r in self.rows.get(by, [])]

    @staticmethod
    def holds(by: str) -> bool:
        return by in CLOSE_GROUPINGS

    def index766(self, by_unit: bool) -> list[dict]:
        items = [dict(r) for r in self.rows.get(INDEX766, [])]
        return items if by_unit else items[:1]

    @property
    def banner(self) -> str:
        """What a report of the closed period says above its figures."""
        from datetime import datetime

        from ..domain.calendar import VN_TZ

        h = self.header
        at = datetime.fromtimestamp(h.closed_at_ms / 1000, tz=VN_TZ)
        return f"Số liệu đã chốt ngày {at:%d/%m/%Y %H:%M}, phiên bản {h.version}"


def close_period(
    store: ClickHouseStore,
    rp: ReportPeriod,
    cal: WorkingCalendar,
    now_ms: int,
    province_code: str,
    note: str | None = None,
    progress: Progress | None = None,
) -> CloseHeader:
    """Freeze the figures of official period ``rp`` for one province (``store`` scoped to
    it) as the next version of its close. Refused (``CloseError``) for a calendar period
    and for a period that has not ended."""
    if not rp.official:
        raise CloseError("chỉ chốt số liệu kỳ báo cáo chính thức (15 tháng trước → 14 tháng này)")
    if now_ms < rp.period.end_ms:
        raise CloseError(
            f"kỳ {rp.label_vi} chưa kết thúc (đến hết ngày {rp.last_day:%d/%m/%Y}); chưa chốt được"
        )
    text = check_note(note)
    say = progress or (lambda _m: None)
    say("chỉ số theo đơn vị, lĩnh vực")
    rows = period_rows(store, rp, cal)
    say("dấu vân tay hồ sơ")
    prints = live_fingerprints(store, rp.period)
    repo = ClosesRepository(store)
    before = repo.headers(province_code, rp.code)
    header = CloseHeader(
        province_code=province_code,
        period_code=rp.code,
        kind=rp.kind,
        start=rp.start,
        end=rp.end,
        version=(before[-1].version + 1) if before else 1,
        closed_at_ms=now_ms,
        content_hash=content_hash(rows),
        note=text,
        calendar_version=cal.version,
        rows=sum(len(v) for v in rows.values()),
        dossiers=len(prints),
    )
    say("ghi")
    repo.write(header, rows, prints)
    return header


def period_rows(store: ClickHouseStore, rp: ReportPeriod, cal: WorkingCalendar) -> dict[str, list[dict]]:
    """What a close of ended period ``rp`` holds: the KPI rows per grouping at the period
    end (one store query: the coarser groupings are summed from unit × lĩnh vực) and the
    766 items per unit (default scoring)."""
    from ..adapters.clickhouse_reports import counters_by
    from ..domain.index766 import ScoringConfig
    from .data import index766_items, online_service_lookup

    unit_field = store.kpi(rp.period, rp.period.end_ms, "unit_field", cal)
    rows = {by: regroup(unit_field, by) for by in KPI_GROUPINGS if by != "unit_field"}
    rows["unit_field"] = unit_field
    per_up = counters_by(store, rp.period, ("unit_level", "unit_code", "procedure_code"))
    rows[INDEX766] = index766_items(
        rows["all"], rows["unit"], per_up, ScoringConfig(), online_service_lookup(), by_unit=True
    )
    return rows


def find_close(
    store: ClickHouseStore, province_code: str, rp: ReportPeriod, version: int | None = None
) -> ClosedPeriod | None:
    """The close of ``rp`` (its last version, or ``version``), None if it was never closed
    (a calendar period never is)."""
    if not rp.official:
        return None
    repo = ClosesRepository(store)
    h = repo.latest(province_code, rp.code, version)
    return None if h is None else ClosedPeriod(h, repo.rows(h))


# Which cells each report compares: (table, the grouping its rows come from).
TABLES = {
    "ii06a": "unit_field",
    "kpi_all": "all",
    "kpi_level": "level",
    "kpi_unit": "unit",
    "kpi_field": "field",
    "kpi_unit_field": "unit_field",
    "index766": INDEX766,
}
# What a report compares by default: the form, the KPI rows by level and unit, the 766.
REPORT_TABLES = ("ii06a", "kpi_all", "kpi_level", "kpi_unit", "index766")


def cells_of(rows_by: Callable[[str], list[dict]], tables: Iterable[str]) -> dict[Cell, float | None]:
    out: dict[Cell, float | None] = {}
    for t in tables:
        rows = rows_by(TABLES[t])
        if t == "ii06a":
            out.update(ii06a_cells(rows))
        elif t == INDEX766:
            out.update(index766_cells(rows))
        else:
            out.update(kpi_cells(rows, TABLES[t]))
    return out


def restatements_for(
    store: ClickHouseStore,
    closed: ClosedPeriod,
    rp: ReportPeriod,
    cal: WorkingCalendar,
    now_ms: int,
    tables: Iterable[str] = REPORT_TABLES,
) -> list[Restatement]:
    """Every cell of ``tables`` whose live value differs from the close, with the dossiers
    that changed since the close in the cell's row."""
    tables = tuple(tables)
    live_rows = period_rows(store, rp, cal)
    then, now = cells_of(closed.kpi, tables), cells_of(lambda by: live_rows[by], tables)
    if not restatements(then, now, []):
        return []
    changes = dossier_changes(
        ClosesRepository(store).fingerprints(closed.header), live_fingerprints(store, rp.period)
    )
    return restatements(then, now, changes)


def kpi_with_closes(
    store: ClickHouseStore, cal: WorkingCalendar, province_code: str, live: bool = False
) -> Callable[[Period, int, str], list[dict]]:
    """``kpi(period, as_of_ms, by) -> rows`` for the reports: a closed official period's
    rows as closed (its last version), any other period's live rows (``live``: always)."""
    closes: dict[tuple, CloseHeader] = {}
    if not live:
        for h in ClosesRepository(store).headers(province_code):
            closes[(h.start, h.end)] = h  # headers come by version: the last one wins
    loaded: dict[tuple, ClosedPeriod] = {}

    def kpi(period: Period, as_of_ms: int, by: str) -> list[dict]:
        key = (period.start, period.end)
        h = closes.get(key)
        if h is None or not ClosedPeriod.holds(by):
            return store.kpi(period, as_of_ms, by, cal)
        if key not in loaded:
            loaded[key] = ClosedPeriod(h, ClosesRepository(store).rows(h))
        return loaded[key].kpi(by)

    return kpi
