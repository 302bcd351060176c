"""Shared pieces of the command line: store option, dates, calendar, progress, output."""

from __future__ import annotations

import csv
import io
import sys
from datetime import date, datetime
from typing import Optional

import orjson
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ..domain.calendar import VN_TZ, WorkingCalendar, calendar_from_overrides, local_midnight_ms
from ..settings import get_settings

console = Console(stderr=True)  # progress and summaries
# Results go to stdout; when piped, use a width that keeps Vietnamese labels on one line.
out_console = Console(width=None if sys.stdout.isatty() else 170)

StoreOption = typer.Option(
    None,
    "--store",
    help="Store DSN: chdb:///path (embedded ClickHouse) or http(s)://user:pass@host:8123/db. "
    "Default: $MOTCUA_STORE, else the embedded store under $MOTCUA_DATA_DIR (./.motcua).",
)


def store_dsn(store: Optional[str]) -> str:
    return store or get_settings().store_dsn()


def open_store(store: Optional[str]):
    from ..adapters.clickhouse_store import ClickHouseStore

    try:
        return ClickHouseStore(store_dsn(store))
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--store") from None


def load_calendar() -> WorkingCalendar:
    import yaml

    path = get_settings().calendar_overrides
    if path is None:
        return calendar_from_overrides(None)
    with open(path, encoding="utf-8") as fh:
        return calendar_from_overrides(yaml.safe_load(fh) or {})


def parse_date(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=name) from None


def parse_instant_option(value: Optional[str], name: str) -> int:
    """An instant for --as-of: ISO date (start of that local day) or datetime; naive times
    are taken as Asia/Ho_Chi_Minh. Default: now."""
    if value is None:
        return int(datetime.now(tz=VN_TZ).timestamp() * 1000)
    try:
        if len(value) == 10:
            return local_midnight_ms(date.fromisoformat(value))
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO date or datetime", param_hint=name) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=VN_TZ)
    return int(dt.timestamp() * 1000)


def progress_bar(transient: bool = False) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=transient,
    )


def emit_rows(rows: list[dict], fmt: str, out=None) -> None:
    """Write rows as json (array), csv or nothing (the caller prints a table)."""
    out = out or sys.stdout
    if fmt == "json":
        out.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode() + "\n")
    elif fmt == "csv":
        buf = io.StringIO()
        if rows:
            writer = csv.DictWriter(buf, fieldnames=list(rows[0].keys()))
            writer.writeheader()
            writer.writerows(rows)
        out.write(buf.getvalue())
