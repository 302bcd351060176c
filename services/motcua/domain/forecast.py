"""The month-end forecast of the on-time rate and the 766 progress score (TD1), as of
an instant inside a running period (docs/forecast.md).

Per level and unit, three figures and the bounds they rest on:

* **decided bounds** (``decided_best``, ``decided_worst``): what the period can still
  reach over the *decided population*, the dossiers received by the as-of instant T.
  Each is, at T, either ended in the period (its outcome is known), in progress and
  overdue (if it ends in the period it ends late, and if it does not it is still overdue
  at the period end), or in progress and not overdue ("open": it can still end on time,
  end late, or stay in progress). Best: every open dossier ends on time (TD1: or stays
  within its deadline) and no overdue one ends; worst: every dossier in progress ends
  late. The premise "overdue stays overdue" has two exceptions the rules allow and the
  bounds do not cover: an overdue dossier withdrawn, stopped or refused (a neutral end,
  counted on time), and one put on hold by a new supplement request (its clock stops).
* **best** and **worst**: the same, plus the newcomers the model expects (received after
  T and, for the rate, ending in the period), all on time / all late. No bound over known
  dossiers can cover dossiers still to come; these hold if the expected number comes.
* **expected**: an explainable model fitted on the history before T: for the dossiers in
  progress at T, by *bucket* (overdue, waiting for a supplement, no due date, working
  days left to the due date 0-2, 3-5, 6-10, 11+), the shares that ended in the period on
  time, ended at all, and stayed within the deadline at the period end, observed at the
  same instant (the same time before the period end) of the previous periods of the same
  kind; a unit's share is pulled toward its level's (and a level's toward the
  province's) by ``SHRINK`` pseudo-dossiers. Plus the newcomers: the unit's average, over
  those periods, of the dossiers received after the instant (and how they ended), scaled
  by the working days left. The premise applies to the model too (an overdue dossier
  never ends on time in it), so expected always lies in [worst, best].

``tally`` is the pure reference of what the store reads (``adapters/clickhouse_forecast``
computes the same cells in SQL; a differential test holds them equal); ``forecast``
turns cells into rows. No I/O here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .calendar import WorkingCalendar, local_day_number
from .lifecycle import EARLY, ON_TIME, clock_at
from .metrics import ratio
from .periods import ReportPeriod
from .targets import Target

OVERDUE, WAITING, NO_DUE = "overdue", "waiting", "no_due"
DUE_BUCKETS = ("due_0_2", "due_3_5", "due_6_10", "due_11_plus")
# A not-overdue dossier's bucket: the first edge e with due < add_working_days(today, e),
# i.e. fewer than e working days d with today < d <= due.
DUE_EDGES = (3, 6, 11)
OPEN_BUCKETS = (WAITING, NO_DUE, *DUE_BUCKETS)
BUCKETS = (OVERDUE, *OPEN_BUCKETS)
ENDED, ARRIVAL = "ended", "arrival"
CLASSES = (ENDED, ARRIVAL, *BUCKETS)
SHRINK = 20.0  # pseudo-dossiers pulling a unit's share toward its level's
DEFAULT_HISTORY = 6  # previous periods the model learns from
METRICS = ("on_time_rate", "progress_766")
OK_OUTCOMES = (EARLY, ON_TIME)


@dataclass(frozen=True)
class Instant:
    """One evaluation: the forecast's own (k = 0) or its counterpart in the k-th period
    before (the same time before the period end, not before the period start)."""

    k: int
    start_ms: int
    end_ms: int  # exclusive
    at_ms: int
    working_days_left: int  # working days from the day of at_ms (included) to the period end

    def edges(self, cal: WorkingCalendar) -> tuple[int, ...]:
        today = local_day_number(self.at_ms)
        return tuple(cal.add_working_days(today, e) for e in DUE_EDGES)


def instants(rp: ReportPeriod, as_of_ms: int, cal: WorkingCalendar, history: int = DEFAULT_HISTORY):
    """The forecast's instant and its counterparts in the ``history`` previous periods."""
    out = []
    p = rp
    before_end = rp.period.end_ms - as_of_ms
    for k in range(history + 1):
        period = p.period
        at = as_of_ms if k == 0 else max(period.start_ms, period.end_ms - before_end)
        left = cal.working_days_between(local_day_number(at) - 1, period.end.toordinal() - 1)
        out.append(Instant(k, period.start_ms, period.end_ms, at, left))
        p = p.previous()
    return out


@dataclass
class Cell:
    """Counts of the dossiers of one class at one instant: how many, how many received
    before the period (carried over), ended in the period, of those on time, and not
    ended in the period yet within the deadline at its end."""

    n: int = 0
    carried: int = 0
    ended: int = 0
    ok: int = 0
    within: int = 0

    def add(self, other: Cell) -> None:
        self.n += other.n
        self.carried += other.carried
        self.ended += other.ended
        self.ok += other.ok
        self.within += other.within

    def as_tuple(self) -> tuple[int, int, int, int, int]:
        return (self.n, self.carried, self.ended, self.ok, self.within)


def current_due(f: dict, t_ms: int) -> int:
    """The effective due date ``clock_at`` judges by at ``t_ms`` (due date known)."""
    closed = sum(1 for e in f["pause_ends"] if e <= t_ms)
    dues = f["effective_due_dates"]
    return dues[min(closed, len(dues) - 1)]


def classify(f: dict, inst: Instant, edges: tuple[int, ...], cal: WorkingCalendar) -> str | None:
    """The class of a dossier at an instant (None: not counted there)."""
    if not f["received"]:
        return None
    t = inst.at_ms
    if f["received_at"] > t:
        return ARRIVAL if inst.k > 0 and f["received_at"] < inst.end_ms else None
    if f["ended"] and f["end_at"] <= t:
        return ENDED if f["end_at"] >= inst.start_ms else None
    clock = clock_at(f, t, cal)
    if clock.overdue:
        return OVERDUE
    if clock.waiting:
        return WAITING
    if not f["due_known"]:
        return NO_DUE
    due = current_due(f, t)
    for edge, name in zip(edges, DUE_BUCKETS):
        if due < edge:
            return name
    return DUE_BUCKETS[-1]


def cell_of(f: dict, inst: Instant, cal: WorkingCalendar) -> Cell:
    ended = bool(f["ended"]) and inst.start_ms <= f["end_at"] < inst.end_ms
    within = not (f["ended"] and f["end_at"] < inst.end_ms) and not clock_at(f, inst.end_ms - 1, cal).overdue
    return Cell(
        1,
        int(f["received_at"] < inst.start_ms),
        int(ended),
        int(ended and f["outcome"] in OK_OUTCOMES),
        int(within),
    )


Key = tuple[int, str, str, str]  # (k, unit_code, unit_level, class)


def tally(facts: Iterable[dict], insts: list[Instant], cal: WorkingCalendar) -> dict[Key, Cell]:
    """The reference of what the store computes: per instant, unit and class, the cell."""
    out: dict[Key, Cell] = {}
    edges = [inst.edges(cal) for inst in insts]
    for f in facts:
        for inst, e in zip(insts, edges):
            cls = classify(f, inst, e, cal)
            if cls is None:
                continue
            key = (inst.k, f["unit_code"], f["unit_level"], cls)
            out.setdefault(key, Cell()).add(cell_of(f, inst, cal))
    return out


# -- the model -------------------------------------------------------------------------


@dataclass(frozen=True)
class Shares:
    ended: float
    ok: float
    within: float


def _shares(c: Cell, parent: Shares | None) -> Shares | None:
    if parent is None:
        return None if c.n == 0 else Shares(c.ended / c.n, c.ok / c.n, c.within / c.n)
    w = SHRINK
    return Shares(
        (c.ended + w * parent.ended) / (c.n + w),
        (c.ok + w * parent.ok) / (c.n + w),
        (c.within + w * parent.within) / (c.n + w),
    )


@dataclass
class Figures:
    """Additive figures of a group: the decided part (counts) and the expected sums."""

    ended: int = 0
    ended_ok: int = 0
    received: int = 0  # received in the period by T
    carried: int = 0
    open: int = 0
    overdue: int = 0
    exp_ok: float = 0.0  # expected ended on time in the period (decided + arrivals)
    exp_ended: float = 0.0
    exp_within: float = 0.0
    arr_received: float = 0.0  # expected newcomers: received after T
    arr_ended: float = 0.0  # of them, expected to end in the period
    has_model: bool = True

    def add(self, o: Figures) -> None:
        for name in ("ended", "ended_ok", "received", "carried", "open", "overdue"):
            setattr(self, name, getattr(self, name) + getattr(o, name))
        for name in ("exp_ok", "exp_ended", "exp_within", "arr_received", "arr_ended"):
            setattr(self, name, getattr(self, name) + getattr(o, name))
        self.has_model = self.has_model and o.has_model


@dataclass
class Model:
    """The shares by bucket (unit, level, province) and the arrivals per unit."""

    unit: dict[tuple[str, str, str], Shares] = field(default_factory=dict)
    level: dict[tuple[str, str], Shares] = field(default_factory=dict)
    province: dict[str, Shares] = field(default_factory=dict)
    arrivals: dict[tuple[str, str], tuple[float, float, float, float]] = field(default_factory=dict)
    pooled: Shares | None = None  # every bucket but overdue, province-wide: the last fall-back
    periods: int = 0  # history periods with any dossier

    def shares(self, unit: str, level: str, bucket: str) -> Shares | None:
        s = self.unit.get((unit, level, bucket))
        if s is None:
            s = self.level.get((level, bucket), self.province.get(bucket, self.pooled))
        return s


def fit(cells: Mapping[Key, Cell], insts: list[Instant]) -> Model:
    """Pool the history cells (k >= 1) and shrink unit -> level -> province."""
    by_unit: dict[tuple[str, str, str], Cell] = {}
    by_level: dict[tuple[str, str], Cell] = {}
    by_prov: dict[str, Cell] = {}
    pooled = Cell()
    arrivals: dict[tuple[str, str], list[float]] = {}
    active = {k for (k, _u, _l, _c) in cells if k > 0}
    now = insts[0].working_days_left
    for (k, unit, level, cls), c in cells.items():
        if k == 0:
            continue
        if cls == ARRIVAL:
            left = insts[k].working_days_left
            scale = now / left if left else 1.0
            acc = arrivals.setdefault((unit, level), [0.0, 0.0, 0.0, 0.0])
            for i, v in enumerate((c.n, c.ended, c.ok, c.within)):
                acc[i] += v * scale
            continue
        if cls == ENDED:
            continue
        by_unit.setdefault((unit, level, cls), Cell()).add(c)
        by_level.setdefault((level, cls), Cell()).add(c)
        by_prov.setdefault(cls, Cell()).add(c)
        if cls != OVERDUE:
            pooled.add(c)
    base = _shares(pooled, None)
    m = Model(pooled=base, periods=len(active))
    for cls, c in by_prov.items():
        s = _shares(c, base) if base is not None else _shares(c, None)
        if s is not None:
            m.province[cls] = s
    for (level, cls), c in by_level.items():
        s = _shares(c, m.province.get(cls))
        if s is not None:
            m.level[(level, cls)] = s
    for (unit, level, cls), c in by_unit.items():
        s = _shares(c, m.level.get((level, cls)))
        if s is not None:
            m.unit[(unit, level, cls)] = s
    n = max(len(active), 1)
    m.arrivals = {key: (a / n, b / n, c / n, d / n) for key, (a, b, c, d) in arrivals.items()}
    return m


def unit_figures(cells: Mapping[Key, Cell], model: Model) -> dict[tuple[str, str], Figures]:
    """Per unit at k = 0: the decided counts and the expected sums."""
    out: dict[tuple[str, str], Figures] = {}
    for (k, unit, level, cls), c in cells.items():
        if k != 0 or cls == ARRIVAL:
            continue
        f = out.setdefault((unit, level), Figures())
        f.carried += c.carried
        f.received += c.n - c.carried
        if cls == ENDED:
            f.ended += c.n
            f.ended_ok += c.ok
            f.exp_ended += c.n
            f.exp_ok += c.ok
            continue
        if cls == OVERDUE:
            f.overdue += c.n
        else:
            f.open += c.n
        s = model.shares(unit, level, cls)
        if s is None:
            f.has_model = False
            continue
        f.exp_ended += c.n * s.ended
        if cls != OVERDUE:  # the premise: an overdue dossier never ends on time, nor is within
            f.exp_ok += c.n * min(s.ok, s.ended)
            f.exp_within += c.n * min(s.within, 1.0 - s.ended)
    for (unit, level), (n, ended, ok, within) in model.arrivals.items():
        f = out.setdefault((unit, level), Figures())
        f.arr_received += n
        f.arr_ended += ended
        f.exp_ended += ended
        f.exp_ok += ok
        f.exp_within += within
    if model.periods == 0:
        for f in out.values():
            f.has_model = False
    return out


def rate_bounds(f: Figures, intake: bool = True) -> tuple[float | None, float | None, float | None]:
    """(expected, best, worst) of the on-time rate. With ``intake``, the bounds take the
    expected newcomers that end in the period as ending on time (best) or late (worst);
    without, they are the bounds over the decided dossiers alone."""
    a = f.arr_ended if intake else 0.0
    best_den = f.ended + f.open + a
    if best_den:
        best: float | None = (f.ended_ok + f.open + a) / best_den
    else:
        best = 0.0 if f.overdue else None
    worst = ratio(f.ended_ok, f.ended + f.open + f.overdue + a)
    expected = ratio(f.exp_ok, f.exp_ended) if f.has_model else None
    return expected, best, worst


def progress_bounds(f: Figures, intake: bool = True) -> tuple[float | None, float | None, float | None]:
    """(expected, best, worst) of TD1 = (ended on time + within the deadline at the end) /
    (received + carried over); ``intake`` as for ``rate_bounds`` (a newcomer counts or not)."""
    a = f.arr_received if intake else 0.0
    den = f.received + f.carried + a
    best = ratio(f.ended_ok + f.open + a, den)
    worst = ratio(f.ended_ok, den)
    expected = (
        ratio(f.exp_ok + f.exp_within, f.received + f.carried + f.arr_received) if f.has_model else None
    )
    return expected, best, worst


CANNOT, AT_RISK, ON_TRACK, REACHABLE = "cannot_meet", "at_risk", "on_track", "reachable"
VERDICT_LABELS = {
    CANNOT: "không thể đạt chỉ tiêu",
    AT_RISK: "có nguy cơ không đạt",
    ON_TRACK: "dự kiến đạt",
    REACHABLE: "còn có thể đạt (chưa đủ số liệu để dự báo)",
}


def verdict(target: Target | None, expected: float | None, best: float | None) -> str | None:
    """cannot_meet when even the best case misses the target; at_risk when the expected
    value does; on_track when it meets it; reachable when the best case meets it but there
    is no expected value (no history to learn from); None without a target or figures."""
    if target is None or best is None:
        return None
    if not target.met(best):
        return CANNOT
    if expected is None:
        return REACHABLE
    return ON_TRACK if target.met(expected) else AT_RISK


GROUP_KEYS = {"province": (), "level": ("unit_level",), "unit": ("unit_code", "unit_level")}


def group_figures(per_unit: Mapping[tuple[str, str], Figures], by: str) -> dict[tuple, Figures]:
    out: dict[tuple, Figures] = {}
    for (unit, level), f in per_unit.items():
        key = {"province": (), "level": (level,), "unit": (unit, level)}[by]
        out.setdefault(key, Figures()).add(f)
    return out


def forecast_rows(cells: Mapping[Key, Cell], insts: list[Instant], by: str) -> list[dict]:
    """One row per group: the keys, per metric expected / best / worst, and the decided counts."""
    model = fit(cells, insts)
    groups = group_figures(unit_figures(cells, model), by)
    rows = []
    for key, f in groups.items():
        row: dict = dict(zip(GROUP_KEYS[by], key))
        for metric, bounds in (("on_time_rate", rate_bounds), ("progress_766", progress_bounds)):
            exp, best, worst = bounds(f)
            _e, decided_best, decided_worst = bounds(f, intake=False)
            row[metric] = {
                "expected": _round(exp),
                "best": _round(best),
                "worst": _round(worst),
                "decided_best": _round(decided_best),
                "decided_worst": _round(decided_worst),
            }
        row["decided"] = {
            "ended": f.ended,
            "ended_on_time": f.ended_ok,
            "in_progress_open": f.open,
            "in_progress_overdue": f.overdue,
            "received": f.received,
            "carried_over": f.carried,
        }
        row["expected_newcomers"] = {"received": round(f.arr_received, 1), "ended": round(f.arr_ended, 1)}
        rows.append(row)
    rows.sort(key=lambda r: tuple(str(r[k]) for k in GROUP_KEYS[by]))
    return rows


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 6)
