"""Rows of a table as CSV or JSON text: what ``motcua kpi``, ``motcua calendar``, the
registry commands and others write to stdout for Excel or a script."""

from __future__ import annotations

import csv
import io
import sys

import orjson

UTF8_BOM = "\ufeff"


def csv_text(rows: list[dict]) -> str:
    """CSV with a header from the first row's keys, CRLF line ends (what Excel writes)."""
    buf = io.StringIO()
    if rows:
        writer = csv.DictWriter(buf, fieldnames=list(rows[0].keys()), lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
    return buf.getvalue()


def emit_rows(rows: list[dict], fmt: str, out=None, bom: bool = True) -> None:
    """Write rows as json (array) or csv to ``out`` (default stdout). CSV starts with a
    UTF-8 BOM (Excel then reads UTF-8) unless ``bom`` is False or it goes to a terminal."""
    out = out or sys.stdout
    if fmt == "json":
        out.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode() + "\n")
    elif fmt == "csv":
        isatty = getattr(out, "isatty", None)
        prefix = UTF8_BOM if bom and not (isatty is not None and isatty()) else ""
        out.write(prefix + csv_text(rows))
