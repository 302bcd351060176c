"""Plan targets (chỉ tiêu kế hoạch CCHC): the file format, validation and lookup.

A targets file is a YAML list of mappings:
  {province, year | from/to, metric, level: all|province|district|commune|central_branch
   (or unit: CODE), comparator: ">=" | ">" | "=" | "<=" | "<", value: fraction 0..1,
   source, quote, inferred: bool}
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from .metrics import METRICS_BY_ID

LEVELS = {
    "all": None,
    "province": "PROVINCE",
    "district": "DISTRICT",
    "commune": "COMMUNE",
    "central_branch": "CENTRAL_BRANCH",
}
COMPARATORS = (">=", ">", "=", "<=", "<")
DEFAULT_TARGETS = Path(__file__).resolve().parents[3] / "deploy" / "targets" / "plan-targets.yaml"


class TargetError(ValueError):
    """A target entry that cannot be used; the message names the entry and the field."""


@dataclass(frozen=True)
class Target:
    province: str
    metric: str
    level: str | None  # a unit_level, or None for every level
    unit_code: str | None
    valid_from: date
    valid_to: date  # exclusive
    comparator: str
    value: float
    source: str = ""
    quote: str = ""
    inferred: bool = False

    def met(self, ratio: float | None) -> bool | None:
        if ratio is None:
            return None
        v = self.value
        return {
            ">=": ratio >= v - 1e-12, ">": ratio > v, "=": abs(ratio - v) < 1e-9,
            "<=": ratio <= v + 1e-12, "<": ratio < v,
        }[self.comparator]


def _fold(s: str) -> str:
    s = unicodedata.normalize("NFD", s.replace("Đ", "D").replace("đ", "d"))
    return "".join(c for c in s if not unicodedata.combining(c)).lower().strip()


def parse_targets(entries: Any, origin: str = "targets") -> list[Target]:
    if not isinstance(entries, list):
        raise TargetError(f"{origin}: expected a list of targets")
    out = []
    for i, e in enumerate(entries, start=1):
        where = f"{origin} entry {i}"
        if not isinstance(e, dict):
            raise TargetError(f"{where}: expected a mapping")
        for name in ("province", "metric", "value"):
            if name not in e:
                raise TargetError(f"{where}: missing '{name}'")
        metric = e["metric"]
        if metric not in METRICS_BY_ID:
            raise TargetError(f"{where}: unknown metric {metric!r}")
        level_name = str(e.get("level", "all")).lower()
        unit = e.get("unit")
        if unit is None and level_name not in LEVELS:
            raise TargetError(f"{where}: level must be one of {sorted(LEVELS)} (or give unit)")
        comparator = str(e.get("comparator", ">="))
        if comparator not in COMPARATORS:
            raise TargetError(f"{where}: comparator must be one of {COMPARATORS}")
        value = e["value"]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TargetError(f"{where}: value must be a number")
        if METRICS_BY_ID[metric].percent and not 0 <= value <= 1:
            raise TargetError(f"{where}: value {value} must be a fraction between 0 and 1")
        if "year" in e:
            year = int(e["year"])
            start, end = date(year, 1, 1), date(year + 1, 1, 1)
        elif "from" in e and "to" in e:
            start, end = date.fromisoformat(str(e["from"])), date.fromisoformat(str(e["to"]))
        else:
            raise TargetError(f"{where}: give year, or from and to")
        if end <= start:
            raise TargetError(f"{where}: 'to' must be after 'from'")
        out.append(Target(
            province=str(e["province"]), metric=metric,
            level=None if unit is not None else LEVELS[level_name],
            unit_code=str(unit) if unit is not None else None,
            valid_from=start, valid_to=end, comparator=comparator, value=float(value),
            source=str(e.get("source", "")), quote=str(e.get("quote", "")),
            inferred=bool(e.get("inferred", False)),
        ))
    return out


def load_targets(path: str | Path | None = None) -> list[Target]:
    import yaml

    p = Path(path) if path else DEFAULT_TARGETS
    with open(p, encoding="utf-8") as fh:
        return parse_targets(yaml.safe_load(fh) or [], origin=str(p))


PROVINCE_NAMES = {"75": "Đồng Nai", "42": "Hà Tĩnh", "27": "Bắc Ninh", "49": "Quảng Nam", "34": "Thái Bình"}


def targets_for(targets: list[Target], province: str, year: int | None = None) -> list[Target]:
    """Targets of a province (code or name). With ``year``: the ones valid that year, or,
    when the plan has none for that year, the latest year it has (plans repeat)."""
    name = _fold(PROVINCE_NAMES.get(str(province), str(province)))
    mine = [t for t in targets if _fold(t.province) == name]
    if year is None or not mine:
        return mine
    in_year = [t for t in mine if t.valid_from.year <= year < t.valid_to.year + (t.valid_to.month > 1)]
    if in_year:
        return in_year
    latest = max(t.valid_from.year for t in mine)
    return [t for t in mine if t.valid_from.year == latest]


def target_cells(targets: list[Target], province: str, year: int) -> dict[tuple[str, str | None], str]:
    """{(metric, unit_level): '≥ 96%'} for tables printed beside KPI rows."""
    from .formatting import fmt_percent

    cells: dict = {}
    for t in targets_for(targets, province, year):
        if t.unit_code is not None:
            continue
        text = f"{t.comparator.replace('>=', '≥').replace('<=', '≤')} {fmt_percent(t.value, 0)}"
        levels = [t.level] if t.level else list(LEVELS.values())[1:]
        for lv in levels:
            cells.setdefault((t.metric, lv), text)
    return cells
