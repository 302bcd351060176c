"""``motcua calendar show YEAR`` and ``motcua calendar check``: the working-day calendar.

The calendar is layered (docs/calendar.md): the ``holidays`` package < the official
schedule shipped in ``reference/data/official-calendar.yaml`` < the province's overrides
file ($MOTCUA_CALENDAR_OVERRIDES). ``show`` lists a year's days off on weekdays and
working weekend days with the layer that decided each; ``check`` says whether the years
that must be known are confirmed.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum

import typer
from rich.table import Table

from ..reports.tables import emit_rows
from .common import BomOption, CliError, StoreOption, console, load_calendar, out_console, parse_date

calendar_app = typer.Typer(
    help="The working-day calendar (lịch làm việc): show a year, check the coming years are confirmed.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)

WEEKDAY_VI = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")
KIND_VI = {
    "holiday": "Nghỉ lễ",
    "compensatory": "Nghỉ bù",
    "swap": "Nghỉ hoán đổi",
    "makeup": "Làm bù",
    "off": "Ngày nghỉ",
    "working": "Ngày làm việc",
}
LAYER_VI = {"package": "gói holidays", "official": "lịch chính thức", "override": "cấu hình của tỉnh"}
OVERRIDES_HINT = "tệp cấu hình lịch ($MOTCUA_CALENDAR_OVERRIDES)"


class Fmt(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


def _today() -> date:
    from ..domain.calendar import VN_TZ

    return datetime.now(tz=VN_TZ).date()


def _confirmation_vi(cal, year: int) -> str:
    sched = cal.official.get(year)
    if sched is not None and sched.confirmed:
        return "đã xác nhận (lịch chính thức)"
    if year in cal.override_confirmed_years:
        return "đã xác nhận (cấu hình của tỉnh)"
    return "chưa xác nhận (theo gói holidays)"


def year_rows(cal, year: int) -> list[dict]:
    """The rows ``calendar show`` prints for ``year`` (dates as ISO in ``date``)."""
    rows = []
    for dec in cal.year_decisions(year):
        rows.append(
            {
                "date": dec.day.isoformat(),
                "date_vi": f"{dec.day:%d/%m/%Y}",
                "weekday": WEEKDAY_VI[dec.day.weekday()],
                "working": dec.working,
                "kind": dec.kind,
                "kind_vi": KIND_VI.get(dec.kind or "", "Ngày làm việc" if dec.working else "Ngày nghỉ"),
                "what": dec.what,
                "source": dec.source,
                "layer": dec.layer,
                "layer_vi": LAYER_VI[dec.layer],
            }
        )
    return rows


@calendar_app.command("show")
def show(
    year: int | None = typer.Argument(None, help="The year (default: the current year)."),
    fmt: Fmt = typer.Option(
        Fmt.table, "--format", help="table | json | csv (json: codes as well as Vietnamese labels)."
    ),
    bom: bool = BomOption,
) -> None:
    """A year's days off on Monday–Friday and working Saturdays/Sundays (make-up days), each
    with its kind, description, source and the layer that decided it (gói holidays, lịch
    chính thức, cấu hình của tỉnh); whether the year is confirmed; how many working days
    the year has. Uses $MOTCUA_CALENDAR_OVERRIDES when set."""
    cal = load_calendar()
    year = _today().year if year is None else year
    first, last = date.fromordinal(cal.first).year, date.fromordinal(cal.last).year
    if not first <= year <= last:
        raise CliError(f"năm {year} nằm ngoài lịch làm việc (các năm {first}–{last})")
    rows = year_rows(cal, year)
    n_working = cal.working_days_in_year(year)
    confirmed = cal.year_confirmed(year)
    if fmt == Fmt.json:
        import orjson

        sched = cal.official.get(year)
        doc = {
            "year": year,
            "confirmed": confirmed,
            "confirmation": _confirmation_vi(cal, year),
            "working_days": n_working,
            "calendar_version": cal.version,
            "sources": list(sched.sources) if sched else [],
            "override_source": cal.override_sources.get(year),
            "days": rows,
        }
        sys.stdout.buffer.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n")
        return
    if fmt == Fmt.csv:
        table = [
            {
                "ngay": r["date_vi"],
                "thu": r["weekday"],
                "loai": r["kind_vi"],
                "noi_dung": r["what"],
                "nguon": r["source"],
                "quyet_dinh_boi": r["layer_vi"],
                "lam_viec": 1 if r["working"] else 0,
            }
            for r in rows
        ]
        if table:
            emit_rows(table, "csv", bom=bom)
        console.print(f"Năm {year}: {_confirmation_vi(cal, year)}; {_fmt_int(n_working)} ngày làm việc.")
        return
    t = Table(title=f"Lịch làm việc năm {year}: ngày nghỉ trong tuần và ngày làm bù")
    for col in ("Ngày", "Thứ", "Loại", "Nội dung", "Nguồn", "Quyết định bởi"):
        t.add_column(col)
    for r in rows:
        t.add_row(r["date_vi"], r["weekday"], r["kind_vi"], r["what"], r["source"], r["layer_vi"])
    out_console.print(t)
    out_console.print(f"Năm {year}: {_confirmation_vi(cal, year)}. Số ngày làm việc: {_fmt_int(n_working)}.")
    sched = cal.official.get(year)
    for s in sched.sources if sched else ():
        out_console.print(f"  • {s}", markup=False)
    if not confirmed:
        out_console.print(
            f"Chưa có lịch chính thức của năm {year}: các ngày trên lấy từ gói holidays và "
            f"{OVERRIDES_HINT}; xem `motcua calendar check`."
        )


def _fmt_int(n: int) -> str:
    from ..domain.formatting import fmt_int

    return fmt_int(n)


# -- check ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One result of ``calendar check``: ``ok`` False makes the command exit 1."""

    code: str
    ok: bool
    message: str  # one Vietnamese line


def year_confirmation_findings(cal, as_of: date) -> list[Finding]:
    """The current year, and from 1 October the next one, must have a confirmed schedule."""
    from ..domain.calendar import NEXT_YEAR_DUE_MONTH, required_years

    out = []
    for year in required_years(as_of):
        if cal.year_confirmed(year):
            out.append(Finding("year_confirmed", True, f"năm {year} {_confirmation_vi(cal, year)}"))
            continue
        why = (
            "năm hiện tại"
            if year == as_of.year
            else f"từ 01/{NEXT_YEAR_DUE_MONTH:02d} phải có lịch của năm sau"
        )
        out.append(
            Finding(
                "year_unconfirmed",
                False,
                f"Lịch làm việc năm {year} chưa được xác nhận ({why}): phần mềm chưa có lịch nghỉ "
                f"chính thức của năm này nên hạn giải quyết đang tính theo gói holidays. Khi có "
                f"thông báo của Chính phủ/Bộ Nội vụ về lịch nghỉ năm {year}, thêm các ngày nghỉ "
                f"(days_off) và ngày làm bù (working_days) vào {OVERRIDES_HINT} cùng "
                f"confirmed_years: [{year}] (và sources), rồi chạy lại `motcua calendar check`.",
            )
        )
    return out


def stored_figures_findings(cal, repo) -> list[Finding]:
    """Stored dossiers whose due dates were computed with another calendar than today's
    (a calendar corrected since): how many, received when, the days that differ where the
    store recorded the old calendar, and the ``motcua recompute`` that brings them up to
    date."""
    from ..domain.formatting import fmt_int

    counts = repo.calendar_version_counts()
    stale = [(v, n, a, b) for v, n, a, b in counts if v != cal.version]
    total = sum(n for _v, n, _a, _b in counts)
    if not stale:
        return [
            Finding("figures_current", True, f"{fmt_int(total)} hồ sơ trong kho đều tính theo lịch hiện hành")
        ]
    n_stale = sum(n for _v, n, _a, _b in stale)
    first = date.fromordinal(min(a for _v, _n, a, _b in stale))
    last = date.fromordinal(max(b for _v, _n, _a, b in stale))
    recorded = repo.calendar_versions()
    off, on = cal.departures()
    now = set(off) | {-o for o in on}
    changed: set[int] = set()
    unknown = 0
    for v, n, _a, _b in stale:
        if v in recorded:
            _f, _l, old_off, old_on = recorded[v]
            changed |= {abs(x) for x in now ^ (set(old_off) | {-o for o in old_on})}
        else:
            unknown += n
    days = sorted(changed)
    what = ""
    if days:
        shown = ", ".join(f"{date.fromordinal(o):%d/%m/%Y}" for o in days[:6])
        what = f"; các ngày đổi: {shown}" + (
            f" và {fmt_int(len(days) - 6)} ngày khác" if len(days) > 6 else ""
        )
    if unknown:
        what += f"; {fmt_int(unknown)} hồ sơ tính trước khi kho ghi nhận phiên bản lịch"
    return [
        Finding(
            "figures_stale",
            False,
            f"{fmt_int(n_stale)} hồ sơ trong kho (tiếp nhận từ {first:%d/%m/%Y} đến {last:%d/%m/%Y}) "
            f"có hạn giải quyết tính theo lịch làm việc cũ{what}. Chạy `motcua recompute --from "
            f"{first.isoformat()} --to {last.isoformat()}` để tính lại theo lịch hiện hành.",
        )
    ]


def calendar_findings(cal, as_of: date, repo=None) -> list[Finding]:
    """Every finding of ``calendar check``, in order: the years that must be confirmed,
    then (with a store) whether its figures were computed with this calendar."""
    findings: list[Finding] = []
    findings.extend(year_confirmation_findings(cal, as_of))
    if repo is not None:
        findings.extend(stored_figures_findings(cal, repo))
    return findings


@calendar_app.command("check")
def check(
    as_of: str | None = typer.Option(
        None, "--as-of", help="The day to check for (YYYY-MM-DD, default today in Asia/Ho_Chi_Minh)."
    ),
    store: str | None = StoreOption,
) -> None:
    """Check the calendar is known for the days ahead: the current year, and from
    1 October the next year, must have a confirmed schedule (shipped, or vouched for in
    $MOTCUA_CALENDAR_OVERRIDES with confirmed_years); and, with a store (--store, or the
    default store when there is one), that its figures were computed with this calendar
    (else: how many dossiers, which days changed, and the `motcua recompute` to run).
    Exit code 1 with what to do when not, 0 with a one-line OK otherwise."""
    from .common import open_store

    day = parse_date(as_of, "--as-of") if as_of else _today()
    cal = load_calendar()
    try:
        repo = open_store(store, must_exist=True)
    except CliError:
        if store is not None:
            raise
        repo = None  # no default store here: only the calendar itself is checked
    findings = calendar_findings(cal, day, repo)
    problems = [f for f in findings if not f.ok]
    if problems:
        for f in problems:
            out_console.print(f"Lỗi lịch: {f.message}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(code=1)
    out_console.print(
        f"Lịch làm việc ổn (ngày {day:%d/%m/%Y}) — " + "; ".join(f.message for f in findings) + ".",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    app.add_typer(calendar_app, name="calendar")
