"""``motcua report``: form II.06a and the monthly CCHC report."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from .closed import LiveOption
from .common import StoreOption, console, load_calendar, open_store

if TYPE_CHECKING:
    from ..domain.periods import ReportPeriod
    from ..domain.targets import Target
    from ..reports.data import MonthlyData
    from ..reports.layout import Issuer

report_app = typer.Typer(
    help="Báo cáo CCHC: Biểu II.06a/VPCP/KSTT và báo cáo tháng (CCHC reports).",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)


class Kind(str, Enum):
    month = "month"
    quarter = "quarter"
    six = "6months"
    nine = "9months"
    year = "year"


class II06aFormat(str, Enum):
    xlsx = "xlsx"
    docx = "docx"
    csv = "csv"
    json = "json"


class MonthlyFormat(str, Enum):
    docx = "docx"
    pdf = "pdf"


LEVEL_ALIASES = {
    "province": "PROVINCE",
    "tinh": "PROVINCE",
    "so": "PROVINCE",
    "district": "DISTRICT",
    "huyen": "DISTRICT",
    "commune": "COMMUNE",
    "xa": "COMMUNE",
    "central_branch": "CENTRAL_BRANCH",
    "nganh_doc": "CENTRAL_BRANCH",
}


PROVINCE_HELP = (
    'Tỉnh, thành phố: mã GSO (75, 01), H75 hoặc tên ("Đồng Nai"); mặc định: tỉnh có nhiều '
    "hồ sơ nhất trong kho dữ liệu."
)


def now_ms() -> int:
    from ..domain.calendar import VN_TZ

    return int(datetime.now(tz=VN_TZ).timestamp() * 1000)


def today():
    from ..domain.calendar import VN_TZ

    return datetime.now(tz=VN_TZ).date()


def parse_period_option(text: str, kind: str | None, name: str, official: bool = True):
    from ..domain.periods import PeriodError, parse_period

    try:
        return parse_period(text, kind, official=official, today=today())
    except PeriodError as err:
        raise typer.BadParameter(str(err), param_hint=name) from None


def parse_level(level: str | None) -> str | None:
    if level is None:
        return None
    from ..domain.vocabulary import LEVEL_ORDER

    up = level.strip().upper()
    if up in LEVEL_ORDER:
        return up
    alias = LEVEL_ALIASES.get(level.strip().lower())
    if alias is None:
        raise typer.BadParameter(
            f"cấp không hợp lệ {level!r}: dùng PROVINCE, DISTRICT, COMMUNE hoặc CENTRAL_BRANCH "
            "(unknown level)",
            param_hint="--level",
        )
    return alias


def check_unit(store, unit: str | None, level: str | None) -> None:
    """Refuse a unit code neither the registry nor the store knows, or of another level."""
    if unit is None:
        return
    from ..adapters.clickhouse_reports import unit_codes
    from ..reference.registry import default_registry

    known = default_registry().unit(unit)
    if known is None and unit not in unit_codes(store):
        raise typer.BadParameter(
            f"không có đơn vị mã {unit!r} trong danh mục đơn vị và trong dữ liệu (unknown unit)",
            param_hint="--unit",
        )
    if known is not None and level is not None and known.level != level:
        raise typer.BadParameter(
            f"đơn vị {unit} ({known.name}) thuộc cấp {known.level}, không phải {level}", param_hint="--unit"
        )


def report_province(store, province: str | None):
    """(ReportProvince, store to read): ``--province`` (a GSO code, "H75", a name, or a
    code exactly as the events carry it), else the store's province with most dossiers
    (said on stderr when the store holds several). The store returned reads only that
    province's dossiers when the store has others. A province without dossiers in the
    store is refused (exit 2) with the provinces it has."""
    from ..adapters.clickhouse_reports import province_counts, province_scope
    from ..reports.province import ProvinceChoiceError, choose_province

    try:
        choice = choose_province(province_counts(store), province)
    except ProvinceChoiceError as err:
        raise typer.BadParameter(str(err), param_hint="--province") from None
    p = choice.province
    if province is not None and p.dossiers == 0:
        raise typer.BadParameter(choice.note or f"không có hồ sơ của {p.in_text}", param_hint="--province")
    if choice.note:
        console.print(choice.note)
    if p.unknown_note:
        console.print(p.unknown_note)
    return p, (province_scope(store, p.store_codes) if choice.needs_filter else store)


@contextmanager
def steps(title: str) -> Iterator:
    """A rich spinner whose message each step updates (on stderr)."""
    with console.status(title) as status:

        def say(msg: str) -> None:
            status.update(f"{title}: {msg}")

        yield say


def default_out(stem: str, ext: str) -> Path:
    return Path(f"{stem}.{ext}")


@report_app.command("ii06a")
def ii06a(
    period: str = typer.Option(
        ..., "--period", help="Kỳ báo cáo: 2025-03 (tháng), 2025-Q1, 2025-H1, 2025-9M, 2025."
    ),
    kind: Kind | None = typer.Option(
        None, "--kind", help="month | quarter | 6months | 9months | year (mặc định: theo --period)."
    ),
    level: str | None = typer.Option(
        None, "--level", help="Chỉ một cấp: PROVINCE, DISTRICT, COMMUNE, CENTRAL_BRANCH."
    ),
    unit: str | None = typer.Option(None, "--unit", help="Chỉ một đơn vị (mã đơn vị, ví dụ H75.SO.STP)."),
    fmt: II06aFormat = typer.Option(II06aFormat.xlsx, "--format", help="xlsx | docx | csv | json."),
    out: Path | None = typer.Option(None, "--out", help="Tệp kết quả (json/csv: mặc định ra stdout)."),
    province: str | None = typer.Option(None, "--province", help=PROVINCE_HELP),
    live: bool = LiveOption,
    store: str | None = StoreOption,
) -> None:
    """Biểu II.06a/VPCP/KSTT: hồ sơ tiếp nhận, đã giải quyết, đang giải quyết theo đơn vị và
    lĩnh vực, kỳ chốt số liệu 15 tháng trước → 14 tháng này; tổng theo cấp và toàn tỉnh.
    Kỳ đã chốt (motcua period close): in số liệu đã chốt và phần điều chỉnh sau khi chốt."""
    from ..reports.names import Names

    rp = parse_period_option(period, kind.value if kind else None, "--period")
    lv = parse_level(level)
    st = open_store(store, must_exist=True)
    prov, st = report_province(st, province)
    check_unit(st, unit, lv)
    cal = load_calendar()
    with steps(f"Biểu II.06a {rp.label_vi} — {prov.full_name}") as say:
        say("đọc số liệu")
        report, closed, rs = _ii06a_figures(st, rp, cal, prov.code, live, lv, unit)
        say("ghi tệp")
        names = Names.from_registry()
        if fmt == II06aFormat.json:
            import orjson

            from .closed import closed_json, restatement_rows

            doc = {**report.to_json(), "closed": closed_json(closed), "restatements": restatement_rows(rs)}
            _write_or_print(orjson.dumps(doc, option=orjson.OPT_INDENT_2), out)
        elif fmt == II06aFormat.csv:
            _write_or_print(_ii06a_csv(report, names).encode("utf-8"), out)
        elif fmt == II06aFormat.xlsx:
            from ..reports.xlsx import write_ii06a_xlsx

            out = out or default_out(f"bieu-II06a-{rp.code}", "xlsx")
            write_ii06a_xlsx(report, out, names, prov)
            if closed is not None:
                from ..reports.restated import add_xlsx_sheet

                add_xlsx_sheet(out, rs, names, closed.banner)
        else:
            from ..reports.word import write_ii06a_docx

            out = out or default_out(f"bieu-II06a-{rp.code}", "docx")
            write_ii06a_docx(report, out, names, prov)
            if closed is not None:
                from ..reports.restated import add_docx_section

                add_docx_section(out, rs, names, closed.banner)
    _say_closed_result(closed, live, rp, st, prov.code, rs, names)
    _say_result(report, out, fmt.value)


def _ii06a_figures(st, rp, cal, province_code: str, live: bool, level: str | None, unit: str | None):
    """(report, close or None, restatements): the closed figures of a closed period
    (unless ``live``), else today's."""
    from ..domain.closing import within
    from ..domain.ii06a import build_report
    from ..reports.closing import restatements_for
    from ..reports.data import ii06a_from_store
    from .closed import find_closed

    closed = find_closed(st, province_code, rp, live)
    if closed is None:
        return ii06a_from_store(st, rp, cal, now_ms(), level=level, unit=unit), None, []
    report = build_report(closed.kpi("unit_field"), rp.start, rp.end, level=level, unit=unit)
    rs = within(restatements_for(st, closed, rp, cal, now_ms(), tables=("ii06a",)), level, unit)
    return report, closed, rs


def _say_closed_result(closed, live, rp, st, province_code, rs, names) -> None:
    from .closed import print_restatements, say_closed

    say_closed(closed, live, rp, st, province_code)
    if closed is not None:
        print_restatements(rs, names)


def _write_or_print(data: bytes, out: Path | None) -> None:
    if out is None:
        sys.stdout.buffer.write(data + (b"" if data.endswith(b"\n") else b"\n"))
        sys.stdout.flush()
    else:
        out.write_bytes(data)


def _ii06a_csv(report, names) -> str:
    import csv
    import io

    from ..domain.ii06a import FIGURES, KEYS

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["period_from", "period_to", *KEYS, "unit_name", "field_name", *FIGURES])
    for r in report.rows:
        w.writerow(
            [
                report.start.isoformat(),
                report.end.isoformat(),
                *(r[k] for k in KEYS),
                names.unit(r["unit_code"]),
                names.field(r["field_code"]),
                *(r[f] for f in FIGURES),
            ]
        )
    return buf.getvalue()


def _say_result(report, out: Path | None, fmt: str) -> None:
    from ..domain.ii06a import identity_sentence

    if out is not None:
        console.print(f"Đã ghi {out} ({fmt}).")
    console.print(identity_sentence(report))
    if report.provisional:
        console.print("Lưu ý: kỳ báo cáo chưa kết thúc, số liệu là tạm tính.")


@report_app.command("monthly")
def monthly(
    month: str = typer.Option(
        ..., "--month", help="Tháng báo cáo, dạng 2025-03 (kỳ chốt số liệu 15/02 → 14/03)."
    ),
    fmt: MonthlyFormat = typer.Option(
        MonthlyFormat.docx, "--format", help="docx | pdf (PDF cần LibreOffice)."
    ),
    out: Path | None = typer.Option(None, "--out", help="Tệp kết quả."),
    province: str | None = typer.Option(None, "--province", help=PROVINCE_HELP),
    targets_file: Path | None = typer.Option(
        None,
        "--targets",
        help="Tệp chỉ tiêu (YAML); mặc định $MOTCUA_PLAN_TARGETS, nếu không có thì tệp chỉ tiêu kèm theo gói.",
    ),
    trend_months: int = typer.Option(6, "--trend-months", min=2, max=24, help="Số kỳ trên biểu đồ xu hướng."),
    issuer: str = typer.Option(
        "Sở Nội vụ", "--issuer", help="Cơ quan ban hành báo cáo (dòng dưới tên UBND tỉnh)."
    ),
    issuer_abbr: str | None = typer.Option(
        None,
        "--issuer-abbr",
        help="Chữ viết tắt trong số ký hiệu (…/BC-SNV); mặc định: chữ cái đầu của tên cơ quan.",
    ),
    signer: str | None = typer.Option(
        None,
        "--signer",
        help='Chức vụ người ký, ví dụ "KT. GIÁM ĐỐC\\nPHÓ GIÁM ĐỐC" (mặc định theo cơ quan: GIÁM ĐỐC).',
    ),
    live: bool = LiveOption,
    store: str | None = StoreOption,
) -> None:
    """Báo cáo tháng về tình hình, kết quả giải quyết TTHC: tóm tắt, kết quả theo cấp so với
    chỉ tiêu, đơn vị thấp nhất, biểu đồ, phụ lục Biểu II.06a."""
    from ..domain.targets import targets_for
    from ..reports.closing import kpi_with_closes
    from ..reports.data import monthly_data

    rp = _monthly_period(month)
    if fmt == MonthlyFormat.pdf:
        _require_soffice()
    all_targets = _plan_targets(targets_file)
    st = open_store(store, must_exist=True)
    prov, st = report_province(st, province)
    targets = targets_for(all_targets, prov.code, rp.year) if prov.known else []
    who = _issuer(issuer, issuer_abbr, signer)
    cal = load_calendar()
    out = out or default_out(f"bao-cao-thang-{rp.code}", fmt.value)
    with steps(f"Báo cáo {rp.label_vi} — {prov.full_name}") as say:
        data = monthly_data(
            kpi_with_closes(st, cal, prov.code, live),
            rp,
            now_ms(),
            targets,
            prov.code,
            prov.short_name,
            months=trend_months,
            progress=say,
            scope=prov,
        )
        closed, rs = _monthly_restatements(st, rp, cal, prov.code, live)
        say("soạn văn bản")
        _write_monthly(data, out, fmt, who, say, (closed, rs))
    console.print(f"Đã ghi {out} ({fmt.value}).")
    from ..reports.names import Names

    _say_closed_result(closed, live, rp, st, prov.code, rs, Names.from_registry())
    _say_result(data.ii06a, None, fmt.value)


def _monthly_restatements(st, rp, cal, province_code: str, live: bool):
    """(close or None, restatements of the form and the KPI rows) of the report's month."""
    from ..reports.closing import restatements_for
    from .closed import find_closed

    closed = find_closed(st, province_code, rp, live)
    if closed is None:
        return None, []
    return closed, restatements_for(
        st, closed, rp, cal, now_ms(), tables=("kpi_all", "kpi_level", "kpi_unit", "ii06a")
    )


def _monthly_period(month: str) -> ReportPeriod:
    """The reporting month of ``--month``: a month only (2025-03), not a quarter or year."""
    from ..domain.periods import _MONTH

    if not _MONTH.match(month.strip()):
        raise typer.BadParameter(
            f"tháng không hợp lệ {month!r}: dùng dạng 2025-03 (malformed month)", param_hint="--month"
        )
    return parse_period_option(month, "month", "--month")


def _issuer(issuer: str, issuer_abbr: str | None, signer: str | None) -> Issuer:
    """The issuing office of the options: a blank name is the default office, and a
    ``\\n`` typed in ``--signer`` is a line break (a title over two lines)."""
    from ..reports.layout import Issuer

    return Issuer(
        name=issuer.strip() or "Sở Nội vụ",
        abbreviation=issuer_abbr,
        signer=signer.replace("\\n", "\n") if signer else None,
    )


def _require_soffice() -> None:
    """Refuse ``--format pdf`` before any work when LibreOffice is missing."""
    from ..reports.pdf import soffice

    if soffice() is None:
        raise typer.BadParameter(
            "xuất PDF cần LibreOffice (soffice) nhưng máy này chưa cài; "
            "dùng --format docx hoặc cài libreoffice-writer-nogui",
            param_hint="--format",
        )


def _plan_targets(targets_file: Path | None) -> list[Target]:
    """Every plan target of ``--targets`` (or the default file); an unreadable or invalid
    file is a bad ``--targets``."""
    from .. import bootstrap
    from ..domain.targets import TargetError
    from ..settings import get_settings

    try:
        return bootstrap.plan_targets(get_settings(), targets_file)
    except (OSError, TargetError) as err:
        raise typer.BadParameter(str(err), param_hint="--targets") from None


def _write_monthly(
    data: MonthlyData,
    out: Path,
    fmt: MonthlyFormat,
    who: Issuer,
    say: Callable[[str], None],
    restated: tuple = (None, []),
) -> None:
    """Write the report to ``out``: the .docx itself, or a .docx in a temporary directory
    converted to PDF by LibreOffice; ``restated``: (close, restatements), the close's
    section added at the end."""
    from ..reports.names import Names
    from ..reports.restated import add_docx_section
    from ..reports.word import write_monthly_docx

    names = Names.from_registry()
    closed, rs = restated
    if fmt == MonthlyFormat.docx:
        write_monthly_docx(data, out, names, issuer=who, issued_on=today())
        if closed is not None:
            add_docx_section(out, rs, names, closed.banner)
        return
    import tempfile

    from ..reports.pdf import docx_to_pdf

    with tempfile.TemporaryDirectory() as tmp:
        docx_path = Path(tmp) / f"{out.stem}.docx"
        write_monthly_docx(data, docx_path, names, issuer=who, issued_on=today())
        if closed is not None:
            add_docx_section(docx_path, rs, names, closed.banner)
        say("chuyển sang PDF (LibreOffice)")
        docx_to_pdf(docx_path, out)


def register(app: typer.Typer) -> None:
    app.add_typer(report_app, name="report")
