"""What every report of a closed period shares: find the close, say so, and print the
restatement section (Điều chỉnh sau khi chốt)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from .common import console

if TYPE_CHECKING:
    from ..domain.closing import Restatement
    from ..domain.periods import ReportPeriod
    from ..reports.closing import ClosedPeriod
    from ..reports.names import Names

LiveOption = typer.Option(
    False,
    "--live",
    help="In số liệu hiện tại. Mặc định, kỳ đã chốt in số liệu đã chốt (phiên bản mới nhất) "
    "kèm phần điều chỉnh sau khi chốt.",
)


def find_closed(store, province_code: str, rp: ReportPeriod, live: bool) -> ClosedPeriod | None:
    """The close of ``rp`` the report prints (None: live figures, or never closed)."""
    if live:
        return None
    from ..reports.closing import find_close

    return find_close(store, province_code, rp)


def say_closed(closed: ClosedPeriod | None, live: bool, rp: ReportPeriod, store, province_code: str) -> None:
    """The line above the figures: closed (which version, when), or live of a closed period."""
    if closed is not None:
        console.print(f"{closed.banner} (dùng --live để xem số liệu hiện tại).")
        return
    if live and rp.official:
        from ..reports.closing import find_close

        c = find_close(store, province_code, rp)
        if c is not None:
            console.print(
                f"Số liệu hiện tại (--live); kỳ {rp.label_vi} đã chốt: {c.banner[0].lower()}{c.banner[1:]}."
            )


def print_restatements(rs: list[Restatement], names: Names) -> None:
    """The restatement section on the console (stderr): one line per moved cell."""
    from rich.table import Table

    from ..reports.restated import HEADINGS, summary_text, table_rows

    if not rs:
        console.print(summary_text(rs))
        return
    t = Table(title=summary_text(rs), title_justify="left")
    for h in HEADINGS:
        t.add_column(h, justify="right" if h in ("Đã chốt", "Hiện tại", "Chênh lệch") else "left")
    for row in table_rows(rs, names):
        t.add_row(*row)
    console.print(t)


def closed_json(closed: ClosedPeriod | None) -> dict | None:
    """``closed`` of a report's JSON: the version printed (None: live figures)."""
    if closed is None:
        return None
    from .common import iso_instant

    h = closed.header
    return {"version": h.version, "closed_at": iso_instant(h.closed_at_ms), "content_hash": h.content_hash}


def restatement_rows(rs: list[Restatement]) -> list[dict]:
    return [r.to_json() for r in rs]
