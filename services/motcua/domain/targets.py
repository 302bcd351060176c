"""Plan targets (chỉ tiêu kế hoạch CCHC): the file format, validation and lookup.

A targets file (read by ``reference.targets_loader``) is a YAML list of mappings::

  - province: "Đồng Nai"          # name or GSO code; province_code: "75" may be given too
    year: 2023                     # or from: 2023-01-01 / to: 2024-01-01 (half-open)
    metric: on_time_rate           # an id of domain.metrics.METRICS
    level: all                     # all | province | district | commune | central_branch
    # unit: H75.SO.STP             # ... or one unit instead of a level
    comparator: ">="               # >= | > | = | <= | <
    value: 0.96                    # a fraction for rates; working days for averages
    source: 004_b66602fc151d740b.txt
    quote: "Tỷ lệ giải quyết hồ sơ đúng hạn đạt tối thiểu 96%"
    inferred: false                # the plan implies the target without a number

Which target applies to (metric, level or unit) on a day ``effective_target``: among the
targets of the province that started on or before that day, one still valid beats one
that expired, then the latest start wins, then the most specific (unit > level > all).
A target therefore stays in force after its plan year until a later plan restates it
(plans repeat); dashboards, alerts and ``motcua targets check`` all use this rule, and
the SQL of the dashboards implements the same one.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .metrics import METRICS_BY_ID
from .vocabulary import LEVEL_ORDER, level_rank

LEVELS = {
    "all": None,
    "province": "PROVINCE",
    "district": "DISTRICT",
    "commune": "COMMUNE",
    "central_branch": "CENTRAL_BRANCH",
}
COMPARATORS = (">=", ">", "=", "<=", "<")
COMPARATOR_SIGNS = {">=": "≥", ">": ">", "=": "=", "<=": "≤", "<": "<"}
KNOWN_KEYS = {
    "province",
    "province_code",
    "year",
    "from",
    "to",
    "metric",
    "level",
    "unit",
    "comparator",
    "value",
    "source",
    "quote",
    "inferred",
    "note",
}
_UNIT_CODE = re.compile(r"^H\d{2}\.[A-Z0-9_.]+$")
MAX_AVG_DAYS = 365.0


class TargetError(ValueError):
    """Target entries that cannot be used; ``problems`` lists one message per problem,
    each naming the file, the entry (number and metric) and the field."""

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


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
    province_code: str = ""  # GSO code; "" when the name is no current province

    def met(self, ratio: float | None) -> bool | None:
        if ratio is None:
            return None
        v = self.value
        return {
            ">=": ratio >= v - 1e-12,
            ">": ratio > v,
            "=": abs(ratio - v) < 1e-9,
            "<=": ratio <= v + 1e-12,
            "<": ratio < v,
        }[self.comparator]

    @property
    def target_id(self) -> str:
        """Stable id: the same target in a reloaded file keeps its id."""
        key = "|".join(
            [
                _fold(self.province),
                self.metric,
                self.level or "",
                self.unit_code or "",
                self.valid_from.isoformat(),
                self.valid_to.isoformat(),
            ]
        )
        return hashlib.blake2b(key.encode(), digest_size=8).hexdigest()

    @property
    def scope(self) -> str:
        return self.unit_code or self.level or ""

    def text_vi(self) -> str:
        """'≥ 96%' (rates) or '≤ 5,0 ngày' (average working days)."""
        from .formatting import fmt_decimal, fmt_percent

        if METRICS_BY_ID[self.metric].percent:
            digits = 0 if abs(self.value * 100 - round(self.value * 100)) < 1e-9 else 1
            return f"{COMPARATOR_SIGNS[self.comparator]} {fmt_percent(self.value, digits)}"
        return f"{COMPARATOR_SIGNS[self.comparator]} {fmt_decimal(self.value)} ngày"


def _fold(s: str) -> str:
    s = unicodedata.normalize("NFD", s.replace("Đ", "D").replace("đ", "d"))
    return "".join(c for c in s if not unicodedata.combining(c)).lower().strip()


def _province_code(name: str, explicit: Any, province_code_of: Callable[[str], str] | None) -> str:
    if explicit is not None:
        return str(explicit)
    return province_code_of(name) if province_code_of else ""


def _as_date(v: Any, where: str, name: str, problems: list[str]) -> date | None:
    if isinstance(v, date):
        return v
    try:
        return date.fromisoformat(str(v))
    except ValueError:
        problems.append(f"{where}: '{name}' {v!r} is not a date (YYYY-MM-DD)")
        return None


def _check_scope(e: dict, where: str, problems: list[str]) -> str:
    """An entry is for a level or for one unit, never both; the level's name, lowercased ("all" when none)."""
    unit = e.get("unit")
    level_raw = e.get("level")
    level_name = str(level_raw if level_raw is not None else "all").lower()
    if unit is not None and level_raw is not None and level_name != "all":
        problems.append(f"{where}: give either 'level' or 'unit', not both")
    if unit is None and level_name not in LEVELS:
        problems.append(
            f"{where}: bad level {level_raw!r}; level must be one of {', '.join(LEVELS)} (or give unit: CODE)"
        )
    if unit is not None and not _UNIT_CODE.match(str(unit)):
        problems.append(f"{where}: bad unit code {unit!r} (expected like H75.SO.STP)")
    return level_name


def _check_value(value: Any, metric: Any, where: str, problems: list[str]) -> None:
    """A target is a number in its metric's range: a rate's fraction, or an average's working days."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        problems.append(f"{where}: value {value!r} must be a number")
    elif metric in METRICS_BY_ID:
        if METRICS_BY_ID[metric].percent and not 0 <= value <= 1:
            hint = f" (write {value / 100:g} for {value:g}%)" if 1 < value <= 100 else ""
            problems.append(
                f"{where}: value {value} out of range: a rate target is a fraction between 0 and 1{hint}"
            )
        elif not METRICS_BY_ID[metric].percent and not 0 < value <= MAX_AVG_DAYS:
            problems.append(
                f"{where}: value {value} out of range: working days between 0 and {MAX_AVG_DAYS:g}"
            )


def _parse_period(e: dict, where: str, problems: list[str]) -> tuple[date | None, date | None]:
    """The period [from, to) an entry applies to, given as a year or as from/to dates (None when bad)."""
    start = end = None
    if "year" in e:
        if "from" in e or "to" in e:
            problems.append(f"{where}: give either 'year' or 'from'/'to', not both")
        try:
            year = int(e["year"])
            if not 2000 <= year <= 2100:
                raise ValueError
            start, end = date(year, 1, 1), date(year + 1, 1, 1)
        except (TypeError, ValueError):
            problems.append(f"{where}: bad year {e['year']!r}")
    elif "from" in e and "to" in e:
        start = _as_date(e["from"], where, "from", problems)
        end = _as_date(e["to"], where, "to", problems)
        if start and end and end <= start:
            problems.append(f"{where}: 'to' ({end}) must be after 'from' ({start}); the period is [from, to)")
    else:
        problems.append(f"{where}: give 'year', or 'from' and 'to'")
    return start, end


def _parse_entry(
    e: Any, where: str, problems: list[str], province_code_of: Callable[[str], str] | None = None
) -> Target | None:
    if not isinstance(e, dict):
        problems.append(f"{where}: expected a mapping, got {type(e).__name__}")
        return None
    start_count = len(problems)
    unknown = sorted(set(map(str, e)) - KNOWN_KEYS)
    if unknown:
        problems.append(
            f"{where}: unknown field(s) {', '.join(unknown)} (known: {', '.join(sorted(KNOWN_KEYS))})"
        )
    for name in ("province", "metric", "value"):
        if name not in e or e[name] in (None, ""):
            problems.append(f"{where}: missing '{name}'")
    metric = e.get("metric")
    if metric is not None and metric not in METRICS_BY_ID:
        problems.append(f"{where}: unknown metric {metric!r}; known metrics: {', '.join(METRICS_BY_ID)}")
    unit = e.get("unit")
    level_name = _check_scope(e, where, problems)
    comparator = str(e.get("comparator", ">="))
    if comparator not in COMPARATORS:
        problems.append(f"{where}: bad comparator {comparator!r}; use one of {' '.join(COMPARATORS)}")
    value = e.get("value")
    if value is not None:
        _check_value(value, metric, where, problems)
    start, end = _parse_period(e, where, problems)
    if len(problems) > start_count:
        return None
    # a missing or bad metric, value or period added a problem above
    assert metric is not None and value is not None and start is not None and end is not None
    province = str(e["province"])
    return Target(
        province=province,
        metric=metric,
        level=None if unit is not None else LEVELS[level_name],
        unit_code=str(unit) if unit is not None else None,
        valid_from=start,
        valid_to=end,
        comparator=comparator,
        value=float(value),
        source=str(e.get("source", "") or ""),
        quote=str(e.get("quote", "") or ""),
        inferred=bool(e.get("inferred", False)),
        province_code=_province_code(province, e.get("province_code"), province_code_of),
    )


def _overlaps(targets: list[tuple[str, Target]]) -> list[str]:
    """Two targets for the same province, metric and scope whose periods overlap are
    ambiguous: which one applies? (A level target beside an 'all' target is fine: the
    level one is more specific.)"""
    problems = []
    by_key: dict[tuple, list[tuple[str, Target]]] = {}
    for where, t in targets:
        key = (_fold(t.province), t.metric, t.level, t.unit_code)
        by_key.setdefault(key, []).append((where, t))
    for items in by_key.values():
        items.sort(key=lambda x: x[1].valid_from)
        for i, (w1, a) in enumerate(items):
            for w2, b in items[i + 1 :]:
                if b.valid_from >= a.valid_to:
                    break
                same = (a.comparator, a.value) == (b.comparator, b.value)
                problems.append(
                    f"{w2}: {'duplicates' if same else 'overlaps'} {w1.split(': ')[-1]} — same province, "
                    f"metric {a.metric} and {'unit ' + a.unit_code if a.unit_code else 'level ' + (a.level or 'all')}, "
                    f"periods [{a.valid_from}, {a.valid_to}) and [{b.valid_from}, {b.valid_to}) overlap"
                )
    return problems


def parse_targets(
    entries: Any, origin: str = "targets", province_code_of: Callable[[str], str] | None = None
) -> list[Target]:
    """Validate and convert; raises TargetError listing every problem found.
    ``province_code_of``: the current GSO code of a province name ("" when none) for the
    entries without ``province_code`` (``reference.targets_loader`` passes the
    registry's); without it such entries keep "" (shown by name)."""
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise TargetError(f"{origin}: expected a YAML list of targets, got {type(entries).__name__}")
    problems: list[str] = []
    parsed: list[tuple[str, Target]] = []
    for i, e in enumerate(entries, start=1):
        label = f"entry {i}" + (f" ({e.get('metric')})" if isinstance(e, dict) and e.get("metric") else "")
        t = _parse_entry(e, f"{origin}: {label}", problems, province_code_of)
        if t is not None:
            parsed.append((f"{origin}: {label}", t))
    problems += _overlaps(parsed)
    if problems:
        raise TargetError(problems)
    return [t for _, t in parsed]


PROVINCE_NAMES = {
    "75": "Đồng Nai",
    "42": "Hà Tĩnh",
    "27": "Bắc Ninh",
    "24": "Bắc Ninh",
    "49": "Quảng Nam",
    "34": "Thái Bình",
}


def _same_province(t: Target, province: str) -> bool:
    p = str(province)
    if t.province_code and t.province_code == p:
        return True
    return _fold(t.province) == _fold(PROVINCE_NAMES.get(p, p))


def targets_for(targets: list[Target], province: str, year: int | None = None) -> list[Target]:
    """Targets of a province (code or name). With ``year``: the ones valid that year, or,
    when the plan has none for that year, the latest year it has (plans repeat)."""
    mine = [t for t in targets if _same_province(t, province)]
    if year is None or not mine:
        return mine
    in_year = [t for t in mine if t.valid_from.year <= year < t.valid_to.year + (t.valid_to.month > 1)]
    if in_year:
        return in_year
    latest = max(t.valid_from.year for t in mine)
    return [t for t in mine if t.valid_from.year == latest]


def target_cells(targets: list[Target], province: str, year: int) -> dict[tuple[str, str | None], str]:
    """{(metric, unit_level): '≥ 96%'} for tables printed beside KPI rows."""
    cells: dict = {}
    # level targets first so they win over 'all'
    for t in sorted(targets_for(targets, province, year), key=lambda t: t.level is None):
        if t.unit_code is not None:
            continue
        levels = [t.level] if t.level else list(LEVEL_ORDER)
        for lv in levels:
            cells.setdefault((t.metric, lv), t.text_vi())
    return cells


def _rank(t: Target, day: date) -> tuple:
    return (t.valid_to > day, t.valid_from, 2 if t.unit_code else 1 if t.level else 0)


def effective_target(
    targets: Iterable[Target],
    province: str,
    metric: str,
    day: date,
    level: str | None = None,
    unit_code: str | None = None,
) -> Target | None:
    """The target that applies on ``day`` to a level (unit_code None) or to a unit of
    ``level``: see the module docstring for the rule."""
    best = None
    for t in targets:
        if t.metric != metric or t.valid_from > day or not _same_province(t, province):
            continue
        if t.unit_code is not None:
            if t.unit_code != unit_code:
                continue
        elif t.level is not None and t.level != level:
            continue
        if best is None or _rank(t, day) > _rank(best, day):
            best = t
    return best


@dataclass
class CheckRow:
    metric: str
    level: str | None
    unit_code: str | None
    target: Target
    numerator: int
    denominator: int
    ratio: float | None
    met: bool | None
    notes: list[str] = field(default_factory=list)

    @property
    def gap(self) -> float | None:
        return None if self.ratio is None else self.ratio - self.target.value


def check_rows(
    kpi_rows: list[dict], targets: list[Target], province: str, day: date, by: str = "level"
) -> list[CheckRow]:
    """Compare KPI rows (``by`` level or unit) with the targets in force on ``day``."""
    out = []
    for row in kpi_rows:
        level = row.get("unit_level")
        unit = row.get("unit_code") if by == "unit" else None
        for metric in METRICS_BY_ID:
            t = effective_target(targets, province, metric, day, level=level, unit_code=unit)
            if t is None:
                continue
            num, den = row[f"{metric}_num"], row[f"{metric}_den"]
            ratio = row[metric]
            out.append(CheckRow(metric, level, unit, t, num, den, ratio, t.met(ratio)))
    metric_order = {m: i for i, m in enumerate(METRICS_BY_ID)}
    out.sort(key=lambda r: (level_rank(r.level), r.unit_code or "", metric_order[r.metric]))
    return out
