"""Vietnamese number formats: 96,5% ; 1.234.567 hồ sơ."""

from __future__ import annotations


def fmt_int(n: int | float | None) -> str:
    if n is None:
        return "–"
    return f"{round(n):,}".replace(",", ".")


def fmt_decimal(x: float | None, digits: int = 1) -> str:
    if x is None:
        return "–"
    s = f"{x:,.{digits}f}"  # 1,234.5 -> 1.234,5
    return s.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def fmt_percent(ratio: float | None, digits: int = 1) -> str:
    """0.965 -> '96,5%'; None (no denominator) -> '–'."""
    if ratio is None:
        return "–"
    return fmt_decimal(ratio * 100, digits) + "%"
