"""The dossier-based parts of the 766 index (Quyết định 766/QĐ-TTg, Cổng DVCQG).

Scoring follows docs/metrics.md#index766 exactly:

- a metric's ratio r = numerator / denominator, shown in percent rounded to 2 decimals
  (half up); r = 0 when the denominator is 0, except ELECTRONIC_CERTIFIED_COPY and the two
  PAKN metrics, which count as fully met (100%) when there is nothing to measure;
- the score is computed from the rounded ratio (the portal publishes 2-decimal ratios and
  the public fit reproduces its scores from them) and rounded to 2 decimals (half up);
- a group's score is the sum of its metrics' rounded scores; a group is reported only
  when all its metrics were given;
- PAYMENT_PROCEDURE_INTEGRATED scores 2.5·C, capped so the payment group is at most 10;
- Dịch vụ trực tuyến (12 points): the split is not published and is configurable;
  the default (2 / 4 / 6) is the public third-party fit (``min(2, 2A/0.8) + 4B +
  min(6, 6C/0.5)``), not an official rule;
- grades: 90–100 xuất sắc, < 50 yếu, the middle bands configurable.

All arithmetic is decimal (``Decimal``), so 2.675 rounds to 2.68 as a person expects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from itertools import pairwise
from typing import Any

CENT = Decimal("0.01")
HUNDRED = Decimal(100)

GROUPS: dict[str, tuple[str, int]] = {
    # key: (Vietnamese name, max)
    "progress": ("Tiến độ giải quyết", 20),
    "online": ("Dịch vụ công trực tuyến", 12),
    "payment": ("Thanh toán trực tuyến", 10),
    "digitisation": ("Số hóa hồ sơ", 22),
    "satisfaction": ("Mức độ hài lòng", 18),
}
# Not dossier-based: Công khai, minh bạch (18 points) needs the portal's publication data.
PUBLICITY_MAX = 18

ONLINE_CODES = ("ONLINE_PROCEDURES_PROVIDED", "ONLINE_SERVICE_DOSSIERS", "ONLINE_DOSSIERS")


@dataclass(frozen=True)
class MetricDef:
    code: str
    group: str
    max: Decimal
    label_vi: str
    full_at: Decimal | None = None  # ratio at which the score reaches max (linear below)
    zero_den_ratio: Decimal = Decimal(0)  # r when the denominator is 0
    may_exceed_one: bool = False  # numerator may exceed denominator


def _d(x) -> Decimal:
    return Decimal(str(x))


def _metrics(online_split: tuple[Decimal, Decimal, Decimal]) -> tuple[MetricDef, ...]:
    a, b, c = online_split
    return (
        MetricDef("PROGRESS", "progress", _d(20), "Tiến độ giải quyết hồ sơ (TD1)"),
        MetricDef(
            "ONLINE_PROCEDURES_PROVIDED",
            "online",
            a,
            "Tỷ lệ TTHC cung cấp dịch vụ công trực tuyến",
            full_at=_d("0.8"),
        ),
        MetricDef("ONLINE_SERVICE_DOSSIERS", "online", b, "Tỷ lệ dịch vụ công trực tuyến phát sinh hồ sơ"),
        MetricDef("ONLINE_DOSSIERS", "online", c, "Tỷ lệ hồ sơ tiếp nhận trực tuyến", full_at=_d("0.5")),
        MetricDef("PAYMENT_DOSSIER_ONLINE", "payment", _d(6), "Tỷ lệ hồ sơ thanh toán trực tuyến"),
        MetricDef(
            "PAYMENT_PROCEDURE_ONLINE",
            "payment",
            _d(2),
            "Tỷ lệ TTHC có phí phát sinh thanh toán trực tuyến",
            full_at=_d("0.8"),
        ),
        MetricDef(
            "PAYMENT_PROCEDURE_INTEGRATED",
            "payment",
            _d(2),
            "Tỷ lệ TTHC có phí tích hợp thanh toán trên Cổng DVCQG",
            may_exceed_one=True,
        ),
        MetricDef("ORIGINAL_RESULT_AVAILABLE", "digitisation", _d(6), "Tỷ lệ hồ sơ có kết quả điện tử"),
        MetricDef("SO_HOA_GIAY_TO_GIAI_QUYET", "digitisation", _d(4), "Tỷ lệ số hóa hồ sơ"),
        MetricDef(
            "REUSED_DIGITIZED_DATA",
            "digitisation",
            _d(2),
            "Tỷ lệ khai thác, sử dụng lại dữ liệu số hóa",
            full_at=_d("0.8"),
        ),
        MetricDef(
            "SYNCED_WITH_DVCQG_PERSONAL_STORAGE",
            "digitisation",
            _d(4),
            "Tỷ lệ hồ sơ đồng bộ kho dữ liệu cá nhân trên Cổng DVCQG",
        ),
        MetricDef(
            "CITIZEN_DATA_CONNECTED_DOSSIER", "digitisation", _d(2), "Tỷ lệ hồ sơ sử dụng dữ liệu dân cư"
        ),
        MetricDef(
            "CITIZEN_DATA_CONNECTED_FORMALITY", "digitisation", _d(2), "Tỷ lệ TTHC kết nối dữ liệu dân cư"
        ),
        MetricDef(
            "ELECTRONIC_CERTIFIED_COPY",
            "digitisation",
            _d(2),
            "Chứng thực bản sao điện tử",
            zero_den_ratio=Decimal(1),
        ),
        MetricDef(
            "DOSSIER_RECEIVING_SATISFACTION",
            "satisfaction",
            _d(6),
            "Mức độ hài lòng trong tiếp nhận, giải quyết hồ sơ",
            full_at=_d("0.9"),
        ),
        MetricDef(
            "PETITION_PROCESSING_ON_TIME",
            "satisfaction",
            _d(6),
            "Tỷ lệ xử lý phản ánh, kiến nghị đúng hạn",
            zero_den_ratio=Decimal(1),
        ),
        MetricDef(
            "PETITION_HANDLING_SATISFACTION",
            "satisfaction",
            _d(6),
            "Tỷ lệ hài lòng về xử lý phản ánh, kiến nghị",
            zero_den_ratio=Decimal(1),
        ),
    )


DEFAULT_BANDS: tuple[tuple[Decimal, str], ...] = (
    (Decimal(90), "Xuất sắc"),
    (Decimal(80), "Tốt"),
    (Decimal(65), "Khá"),
    (Decimal(50), "Trung bình"),
    (Decimal(0), "Yếu"),
)


class Index766Error(ValueError):
    """Bad scoring input or configuration; the message says where."""


@dataclass(frozen=True)
class ScoringConfig:
    online_split: tuple[Decimal, Decimal, Decimal] = (Decimal(2), Decimal(4), Decimal(6))
    bands: tuple[tuple[Decimal, str], ...] = DEFAULT_BANDS
    metrics: tuple[MetricDef, ...] = field(default=(), compare=False)

    def __post_init__(self):
        split = tuple(_d(x) for x in self.online_split)
        if len(split) != 3 or any(x < 0 for x in split) or sum(split) != 12:
            raise Index766Error(f"online split {self.online_split}: three non-negative numbers summing to 12")
        object.__setattr__(self, "online_split", split)
        object.__setattr__(self, "metrics", _metrics(split))
        bands = tuple((_d(lo), str(name)) for lo, name in self.bands)
        los = [lo for lo, _ in bands]
        if los[0] != 90 or los[-1] != 0 or any(b >= a for a, b in pairwise(los)):
            raise Index766Error("grade bands must start at 90 (xuất sắc), end at 0 (yếu) and descend")
        if len(los) > 2 and los[-2] != 50:
            raise Index766Error("the lowest middle band must start at 50 (below 50 is yếu)")
        object.__setattr__(self, "bands", bands)

    @property
    def by_code(self) -> dict[str, MetricDef]:
        return {m.code: m for m in self.metrics}

    def group_codes(self, group: str) -> tuple[str, ...]:
        return tuple(m.code for m in self.metrics if m.group == group)


def parse_middle_bands(text: str) -> tuple[tuple[Decimal, str], ...]:
    """'80:Tốt,65:Khá,50:Trung bình' -> the full band table (90 xuất sắc and 0 yếu added)."""
    middle = []
    for part in text.split(","):
        if not part.strip():
            continue
        lo, _, name = part.partition(":")
        try:
            value = Decimal(lo.strip())
        except Exception:
            raise Index766Error(f"bad grade band {part!r}: use MIN:NAME, e.g. 80:Tốt") from None
        if not 50 <= value < 90 or not name.strip():
            raise Index766Error(f"bad grade band {part!r}: middle bands lie in [50, 90) and have a name")
        middle.append((value, name.strip()))
    middle.sort(reverse=True)
    return (DEFAULT_BANDS[0], *middle, DEFAULT_BANDS[-1])


def parse_split(text: str) -> tuple[Decimal, Decimal, Decimal]:
    parts = [p.strip() for p in text.split(",")]
    try:
        values = tuple(Decimal(p) for p in parts)
    except Exception:
        raise Index766Error(f"bad online split {text!r}: three numbers, e.g. 2,4,6") from None
    if len(values) != 3:
        raise Index766Error(f"bad online split {text!r}: three numbers, e.g. 2,4,6")
    return values


def q2(x: Decimal) -> Decimal:
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


def ratio_percent(num: int, den: int, zero_den_ratio: Decimal = Decimal(0)) -> Decimal:
    """The portal's ratio: percent, 2 decimals, half up."""
    if den == 0:
        return q2(zero_den_ratio * HUNDRED)
    return q2(Decimal(num) * HUNDRED / Decimal(den))


def metric_score(m: MetricDef, pct: Decimal) -> Decimal:
    """The rounded score of a metric from its rounded percent ratio (before the payment cap)."""
    r = pct / HUNDRED
    if m.full_at is not None:
        return q2(min(m.max, m.max * r / m.full_at))
    if m.code == "PAYMENT_PROCEDURE_INTEGRATED":
        return q2(Decimal("2.5") * r)  # capped at group level
    return q2(m.max * r)


def grade(score_pct: Decimal, config: ScoringConfig) -> str:
    for lo, name in config.bands:
        if score_pct >= lo:
            return name
    return config.bands[-1][1]


def _check_count(where: str, code: str, c: Any, m: MetricDef) -> tuple[int, int]:
    if not isinstance(c, Mapping) or "numerator" not in c or "denominator" not in c:
        raise Index766Error(f'{where}: {code} needs {{"numerator": int, "denominator": int}}')
    num, den = c["numerator"], c["denominator"]
    for name, v in (("numerator", num), ("denominator", den)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise Index766Error(f"{where}: {code}.{name} must be a non-negative integer, got {v!r}")
    if num > den and not m.may_exceed_one:
        raise Index766Error(f"{where}: {code} numerator {num} exceeds its denominator {den}")
    return num, den


def score_counts(
    counts: Mapping[str, Any], config: ScoringConfig | None = None, where: str = "counts"
) -> dict:
    """Score one unit's counts {CODE: {numerator, denominator}} ->
    {"metrics": {CODE: {ratio, score, max}}, "groups": {group: {score, max}}} (floats)."""
    config = config or ScoringConfig()
    defs = config.by_code
    if not isinstance(counts, Mapping):
        raise Index766Error(f"{where}: 'counts' must be an object")
    pcts: dict[str, Decimal] = {}
    scores: dict[str, Decimal] = {}
    for code, c in counts.items():
        m = defs.get(code)
        if m is None:
            raise Index766Error(f"{where}: unknown metric code {code!r} (known: {', '.join(defs)})")
        num, den = _check_count(where, code, c, m)
        pcts[code] = ratio_percent(num, den, m.zero_den_ratio)
        scores[code] = metric_score(m, pcts[code])
    if "PAYMENT_PROCEDURE_INTEGRATED" in scores:
        others = sum(
            (scores[c] for c in ("PAYMENT_DOSSIER_ONLINE", "PAYMENT_PROCEDURE_ONLINE") if c in scores),
            Decimal(0),
        )
        cap = max(Decimal(0), Decimal(GROUPS["payment"][1]) - others)
        scores["PAYMENT_PROCEDURE_INTEGRATED"] = min(scores["PAYMENT_PROCEDURE_INTEGRATED"], cap)
    metrics = {
        code: {"ratio": float(pcts[code]), "score": float(scores[code]), "max": float(defs[code].max)}
        for code in (m.code for m in config.metrics)
        if code in scores
    }
    groups = {}
    for g, (_name, gmax) in GROUPS.items():
        codes = config.group_codes(g)
        if all(c in scores for c in codes):
            groups[g] = {"score": float(q2(sum((scores[c] for c in codes), Decimal(0)))), "max": float(gmax)}
    return {"metrics": metrics, "groups": groups}


def score_file(data: Any, config: ScoringConfig | None = None) -> list[dict]:
    """The ``index766 score`` input of docs/metrics.md#index766 (a JSON array of
    {unit_code, counts}) -> its output."""
    if not isinstance(data, list):
        raise Index766Error('input must be a JSON array of {"unit_code": ..., "counts": {...}}')
    out = []
    for i, item in enumerate(data, start=1):
        where = f"item {i}"
        if not isinstance(item, Mapping) or not isinstance(item.get("unit_code"), str):
            raise Index766Error(f"{where}: needs a string 'unit_code' and an object 'counts'")
        where = f"item {i} ({item['unit_code']})"
        scored = score_counts(item.get("counts", {}), config, where)
        out.append({"unit_code": item["unit_code"], **scored})
    return out


def total_and_grade(scored: dict, config: ScoringConfig | None = None) -> dict:
    """Sum of the groups present, their max, the percentage of it and the grade on it
    (the dossier-based part only: Công khai, minh bạch is not in the event stream)."""
    config = config or ScoringConfig()
    total = q2(sum((_d(g["score"]) for g in scored["groups"].values()), Decimal(0)))
    gmax = sum((_d(g["max"]) for g in scored["groups"].values()), Decimal(0))
    pct = q2(total * HUNDRED / gmax) if gmax else Decimal(0)
    return {
        "score": float(total),
        "max": float(gmax),
        "percent": float(pct),
        "grade": grade(pct, config) if gmax else None,
    }


# -- counts from the dossier figures ------------------------------------------------

FULL_OR_PARTIAL = ("FULL", "PARTIAL")


def _frac(f: Fraction) -> dict[str, int]:
    return {"numerator": f.numerator, "denominator": f.denominator}


def counts_from_figures(
    kpi: Mapping[str, int],
    counters: Mapping[str, int],
    procedures: Iterable[tuple[str, Mapping[str, int]]],
    online_service_of: Callable[[str], str],
) -> dict[str, dict[str, int]]:
    """The 766 counts of one unit (or the province) from our figures:

    ``kpi``: a KPI row (progress_766_num/den); ``counters``: the additive counters
    (metrics.COUNTERS) summed over the period; ``procedures``: (procedure_code, its
    additive counters) for every procedure with dossiers in the period;
    ``online_service_of``: a procedure's online service level (FULL / PARTIAL / NONE).

    Procedure-based metrics count the procedures with dossiers in the period (the
    unit's full catalogue is not in the event stream). PAYMENT_PROCEDURE_INTEGRATED uses
    fee procedures offering an online service as a proxy for "fee procedures integrated
    with payment on the portal". Petitions (PAKN) and e-certified copies are not in the
    event stream: they are given as 0/0, which docs/metrics.md#index766-ratio scores as met.
    """
    c = {k: int(v) for k, v in counters.items()}
    procs = {code: {k: int(v) for k, v in pc.items()} for code, pc in procedures}
    with_dossiers = sorted(p for p, pc in procs.items() if pc.get("received", 0) > 0)
    fee = [p for p in with_dossiers if procs[p].get("has_fee", 0) > 0]
    fee_paid = [p for p in fee if procs[p].get("paid_online", 0) > 0]
    fee_online = [p for p in fee if online_service_of(p) in FULL_OR_PARTIAL]
    online_procs = [p for p in with_dossiers if online_service_of(p) in FULL_OR_PARTIAL]
    online_with_dossiers = [p for p in online_procs if procs[p].get("received_online", 0) > 0]
    population = [p for p in with_dossiers if procs[p].get("population_data", 0) > 0]

    def nd(num: int, den: int) -> dict[str, int]:
        return {"numerator": int(num), "denominator": int(den)}

    ended, late = c.get("ended", 0), c.get("ended_late", 0)
    rated, satisfied = c.get("rated", 0), c.get("rated_satisfied", 0)
    satisfaction = Fraction(1)
    if ended:
        satisfaction -= Fraction(late, ended)
    if rated:
        satisfaction -= Fraction(rated - satisfied, rated)
    satisfaction = max(Fraction(0), satisfaction)
    received = c.get("received", 0)
    return {
        "PROGRESS": nd(kpi["progress_766_num"], kpi["progress_766_den"]),
        "ONLINE_PROCEDURES_PROVIDED": nd(len(online_procs), len(with_dossiers)),
        "ONLINE_SERVICE_DOSSIERS": nd(len(online_with_dossiers), len(online_procs)),
        "ONLINE_DOSSIERS": nd(c.get("received_online", 0), received),
        "PAYMENT_DOSSIER_ONLINE": nd(c.get("paid_online", 0), c.get("has_fee", 0)),
        "PAYMENT_PROCEDURE_ONLINE": nd(len(fee_paid), len(fee)),
        "PAYMENT_PROCEDURE_INTEGRATED": nd(len(fee_online), len(fee)),
        "ORIGINAL_RESULT_AVAILABLE": nd(c.get("electronic_result_any", 0), ended),
        "SO_HOA_GIAY_TO_GIAI_QUYET": nd(c.get("digitised_all", 0), received),
        "REUSED_DIGITIZED_DATA": nd(c.get("reused", 0), received),
        "SYNCED_WITH_DVCQG_PERSONAL_STORAGE": nd(c.get("personal_store", 0), received),
        "CITIZEN_DATA_CONNECTED_DOSSIER": nd(c.get("population_data", 0), received),
        "CITIZEN_DATA_CONNECTED_FORMALITY": nd(len(population), len(with_dossiers)),
        "ELECTRONIC_CERTIFIED_COPY": nd(0, 0),
        "DOSSIER_RECEIVING_SATISFACTION": _frac(satisfaction),
        "PETITION_PROCESSING_ON_TIME": nd(0, 0),
        "PETITION_HANDLING_SATISFACTION": nd(0, 0),
    }


def additive_counters(
    facts: Iterable[dict], start_ordinal: int, end_ordinal: int, keys: tuple[str, ...]
) -> dict[tuple, dict[str, int]]:
    """Pure reference for the rollup sums: additive counters (metrics.COUNTERS) per
    ``keys`` over local days [start_ordinal, end_ordinal)."""
    from .metrics import contributions

    out: dict[tuple, dict[str, int]] = {}
    for f in facts:
        for day, _role, counters in contributions(f):
            if start_ordinal <= day < end_ordinal:
                acc = out.setdefault(tuple(f[k] for k in keys), {})
                for name, v in counters.items():
                    acc[name] = acc.get(name, 0) + v
    return out
