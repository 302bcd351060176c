"""Synthetic dossier event stream for one province, calibrated to a large province.

Default calibration (scale 1.0): about 600,000 dossiers a year (≈ 50,000 a month), 88 %
on time (judged on the working-day due date), 98 % filed online, 86 % of fee dossiers
paid online, 72 % electronic results among dossiers whose procedure requires a paper
result, 24 % fully digitised, some data reuse, few DISSATISFIED ratings, a few % postal,
some supplement requests (a few % twice, which makes them late), a few withdrawn /
rejected / stopped, deadline extensions with apology for most late dossiers.

The stream is ordered by ``occurred_at`` (day buckets sorted), events after the end of
the window are not emitted (dossiers received late in the window stay in progress).
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Iterator
from datetime import date, timedelta
from itertools import accumulate
from operator import itemgetter

from motcua.domain.calendar import MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE, VN_OFFSET_MS
from motcua.reference import (
    DISTRICT_ABOLISHED,
    SO_MERGER,
    fields,
    procedures,
    resolve_province,
    units_for_province,
)

from .calendar import WorkCalendar, local_ordinal

DAY_OPEN = 7 * MS_PER_HOUR + 30 * MS_PER_MINUTE  # 07:30 local
DAY_CLOSE = 17 * MS_PER_HOUR  # 17:00 local
END_OF_DAY = MS_PER_DAY - 1000  # 23:59:59 local

DOSSIERS_PER_YEAR = 600_000
WORKING_DAYS_PER_YEAR = 248

# Calibration knobs (probabilities per dossier unless said).
P_REJECTED = 0.010
P_WITHDRAWN = 0.006
P_STOPPED = 0.004
P_SUPP_ONE = 0.060
P_SUPP_TWO = 0.022
P_SUPP_NO_ANSWER = 0.08  # of supplement requests: the citizen never answers -> STOPPED
P_LATE = 0.105  # of the other dossiers
P_ONLINE = 0.985  # for procedures with an online service
P_POSTAL_IN = 0.25  # of the non-online dossiers
P_POSTAL_RETURN = 0.03
P_DUE_AT_GIVEN = 0.6
P_TRANSFER = 0.03
P_DIGITISED_EVENT = 0.80
P_ALL_DIGITISED = 0.30  # of dossiers with a DIGITISED event -> 24 %
P_REUSE = 0.35  # of dossiers with a DIGITISED event and >= 1 digitised component
P_PERSONAL_STORE = 0.15
P_POPULATION_DATA = 0.45
P_E_RESULT_PAPER = 0.735  # procedures that require a paper result
P_E_RESULT_OTHER = 0.93
P_EXTENSION = 0.90  # of late dossiers
P_APOLOGY = 0.96
P_RATED = 0.30
P_DISSATISFIED_OK = 0.012
P_DISSATISFIED_LATE = 0.10
P_VERY_SATISFIED = 0.55
PAYMENT_METHODS_CUM = (("ONLINE_DVCQG", 0.55), ("ONLINE_LOCAL", 0.865), ("CASH", 0.985), ("OTHER", 1.0))

LEVEL_SHARE_AFTER = (("COMMUNE", 0.62), ("PROVINCE", 0.24), ("CENTRAL_BRANCH", 0.14))
LEVEL_SHARE_BEFORE = (("COMMUNE", 0.42), ("DISTRICT", 0.22), ("PROVINCE", 0.24), ("CENTRAL_BRANCH", 0.12))
WEEKDAY_FACTOR = (1.12, 1.05, 1.0, 0.98, 0.85, 0.7, 0.5)
MONTH_FACTOR = (1.08, 0.92, 1.02, 0.98, 1.0, 1.02, 1.0, 1.0, 0.97, 1.02, 1.0, 1.05)

REJECT_REASONS = (
    "Hồ sơ không thuộc thẩm quyền giải quyết",
    "Hồ sơ không đúng thành phần theo quy định",
    "Thông tin kê khai không chính xác",
)
STOP_REASONS = (
    "Quá thời hạn bổ sung hồ sơ theo yêu cầu",
    "Tổ chức, cá nhân không thực hiện nghĩa vụ tài chính",
    "Hồ sơ không đủ điều kiện giải quyết",
)
FEE_BY_FIELD = {
    "HOTICH": 8_000,
    "CHUNGTHUC": 10_000,
    "TUPHAP": 200_000,
    "DATDAI": 120_000,
    "DKKD": 100_000,
    "XAYDUNG": 75_000,
    "GTVT": 135_000,
    "THUE": 500_000,
    "CUTRU": 20_000,
    "CANCUOC": 30_000,
    "XUATNHAPCANH": 200_000,
    "DANGKYXE": 150_000,
}


def _cum(weights):
    return list(accumulate(weights))


class _Sampler:
    __slots__ = ("cum", "items", "total")

    def __init__(self, items, weights):
        self.items = list(items)
        self.cum = _cum(weights)
        self.total = self.cum[-1]

    def pick(self, u: float):
        return self.items[bisect_right(self.cum, u * self.total)]


def _unit_sampler(us, urng: random.Random, phuong_boost: bool = True) -> _Sampler:
    """Units drawn with Zipf-like sizes (shuffled by ``urng``, phường bigger): a few large, many small."""
    order = list(range(len(us)))
    urng.shuffle(order)
    w = [0.0] * len(us)
    for rank, i in enumerate(order):
        w[i] = 1.0 / (rank + 1) ** 0.7
        if phuong_boost and "phường" in us[i].name.lower():
            w[i] *= 1.8
    return _Sampler([u.code for u in us], w)


def _proc_tuple(p, unit_code, frng: random.Random) -> tuple:
    """The flat tuple the hot dossier loop reads a procedure from; its fee is drawn from ``frng``."""
    tl = p.time_limit
    fee = 0
    if p.has_fee:
        base = FEE_BY_FIELD.get(p.field_code, 50_000)
        fee = base * frng.choice((1, 1, 1, 2, 3))
    return (
        p.code,
        p.field_code,
        p.has_fee,
        p.requires_paper_result,
        p.online_service,
        tl["value"],
        tl["unit"],
        fee,
        unit_code,
    )


class Simulator:
    def __init__(self, province, start: date, end: date, seed: int = 0, scale: float = 1.0):
        if end < start:
            raise ValueError("end is before start")
        self.info = resolve_province(province)
        self.start, self.end, self.seed, self.scale = start, end, seed, scale
        self.source_system = f"motcua-{self.info.slug}"
        self.cal = WorkCalendar(start - timedelta(days=10), end + timedelta(days=400))
        self._build_tables()

    # ------------------------------------------------------------------ tables
    def _build_tables(self) -> None:
        """Per-era samplers (level, then procedure and unit); RNG call order is the seed's contract."""
        info = self.info
        units = units_for_province(info.gso)
        flds = fields()
        procs = list(procedures().values())
        # Unit sizes are a property of the province, not of the seed.
        urng = random.Random(f"unit-sizes-{info.code}")
        new_communes = [u for u in units if u.level == "COMMUNE" and u.valid_from == DISTRICT_ABOLISHED]
        old_communes = [u for u in units if u.level == "COMMUNE" and u.valid_to is not None]
        districts = [u for u in units if u.level == "DISTRICT"]
        prefix = info.prefix
        frng = random.Random(f"fees-{info.code}")

        def level_procs(level, unit_of):
            items, weights = [], []
            for p in procs:
                if level in p.levels:
                    items.append(_proc_tuple(p, unit_of(p), frng))
                    weights.append(p.volume_weight)
            return _Sampler(items, weights)

        def so_unit(before_merger):
            def f(p):
                fl = flds.get(p.field_code)
                abbr = (
                    (fl.province_unit_before_2025_03 if before_merger else fl.province_unit) if fl else None
                )
                return f"{prefix}.SO.{abbr or 'PVHCC'}"

            return f

        def cb_unit(p):
            fl = flds.get(p.field_code)
            return f"{prefix}.TW.{fl.central_unit if fl and fl.central_unit else 'THUE'}"

        none = lambda p: None  # noqa: E731

        # Three eras: before the sở merger, between it and the district abolition, after.
        self.eras = {}
        for era in ("pre_merger", "pre_abolition", "post"):
            before_merger = era == "pre_merger"
            shares: tuple[tuple[str, float], ...]
            if era == "post":
                shares = LEVEL_SHARE_AFTER
                commune_units = new_communes
            else:
                shares = LEVEL_SHARE_BEFORE
                commune_units = old_communes
            levels: dict[str, tuple[_Sampler, _Sampler | None]] = {}  # procedures, units
            for level, _ in shares:
                if level == "PROVINCE":
                    levels[level] = (level_procs(level, so_unit(before_merger)), None)
                elif level == "CENTRAL_BRANCH":
                    levels[level] = (level_procs(level, cb_unit), None)
                elif level == "COMMUNE":
                    levels[level] = (level_procs(level, none), _unit_sampler(commune_units, urng))
                else:
                    levels[level] = (level_procs(level, none), _unit_sampler(districts, urng, False))
            self.eras[era] = (_Sampler([s[0] for s in shares], [s[1] for s in shares]), levels)

    def _era(self, d: date) -> str:
        if d < SO_MERGER:
            return "pre_merger"
        if d < DISTRICT_ABOLISHED:
            return "pre_abolition"
        return "post"

    # ------------------------------------------------------------------ volume
    def _tet_factor(self, off: int) -> float:
        """Dip in the two weeks after Tết (recovering), rush in the week before it."""
        tf = getattr(self, "_tet", None)
        if tf is None:
            cal = self.cal
            tet = cal.tet
            tf = self._tet = [1.0] * cal.size
            for i in range(cal.size):
                if not tet[i]:
                    continue
                for k in range(1, 11):
                    if i + k < cal.size and not tet[i + k]:
                        tf[i + k] = min(tf[i + k], 0.45 + 0.05 * k)
                for k in range(1, 7):
                    if i - k >= 0 and not tet[i - k] and tf[i - k] == 1.0:
                        tf[i - k] = 1.15
        return tf[off]

    def _daily_mean(self, off: int) -> float:
        d = self.cal.days[off]
        base = DOSSIERS_PER_YEAR / WORKING_DAYS_PER_YEAR * self.scale
        return base * WEEKDAY_FACTOR[d.weekday()] * MONTH_FACTOR[d.month - 1] * self._tet_factor(off)

    # ------------------------------------------------------------------ stream
    def events(self) -> Iterator[dict]:
        cal = self.cal
        rng = random.Random(self.seed)
        first = cal.offset(self.start)
        last = cal.offset(self.end)
        lookahead = 4
        buckets: dict[int, list] = {}
        counters: dict[tuple[int, int], int] = {}
        cutoff_ms = cal.midnight[last] + MS_PER_DAY  # exclusive
        base_ord = cal.base
        key = itemgetter("occurred_at")

        def gen_day(off: int) -> None:
            if not cal.is_wd[off]:
                return
            mean = self._daily_mean(off)
            n = max(0, round(rng.gauss(mean, 0.07 * mean + mean**0.5)))
            d = cal.days[off]
            level_sampler, levels = self.eras[self._era(d)]
            ym = (d.year, d.month)
            c0 = counters.get(ym, 0)
            counters[ym] = c0 + n
            # The seed is part of the id: two simulated histories never share a dossier
            # (or event) id, so replaying both into one store adds them up, not conflicts.
            head = f"{self.info.prefix}.S{self.seed}.{d.year}-{d.month:02d}-"
            for i in range(n):
                dossier_id = f"{head}{c0 + i + 1:06d}"
                evs = self._dossier(rng, off, dossier_id, level_sampler, levels)
                for ev in evs:
                    ms = ev["occurred_at"]
                    if ms >= cutoff_ms:
                        break
                    b = (ms + VN_OFFSET_MS) // MS_PER_DAY + 719_163 - base_ord
                    if b < first:
                        b = first
                    lst = buckets.get(b)
                    if lst is None:
                        buckets[b] = [ev]
                    else:
                        lst.append(ev)

        for off in range(first, min(first + lookahead, last + 1)):
            gen_day(off)
        for off in range(first, last + 1):
            ahead = off + lookahead
            if ahead <= last:
                gen_day(ahead)
            lst = buckets.pop(off, None)
            if lst:
                lst.sort(key=key)
                yield from lst

    # ------------------------------------------------------------------ one dossier
    # Each step draws from ``r`` in a fixed order: the order is part of the seed's
    # contract (change it and every simulated history, test and benchmark changes).
    def _dossier(self, rng: random.Random, off: int, dossier_id: str, level_sampler, levels) -> list:
        """The events of one dossier received on day ``off``, from submission to rating."""
        r = rng.random
        envelope, proc = self._envelope(r, dossier_id, level_sampler, levels)
        _pcode, _fcode, has_fee, paper, online_service, tl_value, tl_unit, fee, _unit = proc
        recv, channel, out = self._submission(r, off, online_service)
        if r() < P_REJECTED:
            out.append((recv, "REJECTED", {"reason": REJECT_REASONS[int(r() * 3)]}))
            return self._materialise(envelope, out)
        recv_k, due_k, due_ms = self._due(off, recv, tl_value, tl_unit)
        t_proc = self._received(r, out, recv, due_ms, channel, proc)
        self._digitised(r, out, recv)
        last = self._payment(r, out, t_proc, fee) if has_fee else t_proc
        if self._ended_early(r, out, recv_k, due_k, last):
            return self._materialise(envelope, out)
        supplements = self._supplements(r, out, recv_k, due_k, last)
        if supplements is None:  # stopped: the citizen never answered
            return self._materialise(envelope, out)
        n_supp, eff_due_k, start_k, last = supplements
        late = n_supp == 2 or r() < P_LATE
        if tl_unit == "HOURS" and n_supp == 0:
            end_t, end_k = self._end_within_hours(r, late, recv, due_ms, last), None
        else:
            end_t, end_k = self._end_on_working_day(r, late, eff_due_k, start_k, last)
        if late and r() < P_EXTENSION:
            out.append(self._extension(r, start_k, eff_due_k, end_t, end_k, last))
        self._result(r, out, end_t, paper, channel, late)
        return self._materialise(envelope, out)

    def _envelope(self, r, dossier_id: str, level_sampler, levels) -> tuple[dict, tuple]:
        """The level, the procedure (as ``proc_tuple``) and the unit: the envelope's fields."""
        level = level_sampler.pick(r())
        proc_sampler, unit_sampler = levels[level]
        proc = proc_sampler.pick(r())
        unit_code = proc[8]
        if unit_code is None:
            unit_code = unit_sampler.pick(r())
        envelope = {
            "source_system": self.source_system,
            "dossier_id": dossier_id,
            "province_code": self.info.code,
            "unit_code": unit_code,
            "unit_level": level,
            "procedure_code": proc[0],
            "field_code": proc[1],
        }
        return envelope, proc

    def _submission(self, r, off: int, online_service: str) -> tuple[int, str, list]:
        """The receipt instant (working hours, a morning peak), the channel, and SUBMITTED."""
        u = r()
        if u < 0.6:
            tod = DAY_OPEN + int(r() * (4 * MS_PER_HOUR))  # 07:30-11:30
        else:
            tod = 13 * MS_PER_HOUR + int(r() * (4 * MS_PER_HOUR))  # 13:00-17:00
        recv = self.cal.midnight[off] + tod
        if online_service != "NONE" and r() < P_ONLINE:
            channel = "ONLINE"
            lag = (
                int(r() * 3 * MS_PER_HOUR) + 5 * MS_PER_MINUTE
                if r() < 0.6
                else 3 * MS_PER_HOUR + int(r() * 60 * MS_PER_HOUR)
            )
            submitted = recv - lag
        else:
            channel = "POSTAL" if r() < P_POSTAL_IN else "DIRECT"
            submitted = recv - 2 * MS_PER_MINUTE - int(r() * 15 * MS_PER_MINUTE)
        return (
            recv,
            channel,
            [(submitted, "SUBMITTED", {"channel": channel, "online_service": online_service})],
        )

    def _due(self, off: int, recv: int, tl_value: int, tl_unit: str) -> tuple[int, int, int]:
        """The receipt and due dates as working-day indexes, and the due instant (no draw)."""
        cal = self.cal
        recv_k = cal.wd_next[off]  # the receipt day is a working day
        if tl_unit == "WORKING_DAYS":
            due_k = cal.due_working_days(off, tl_value)
            due_ms = cal.wd_midnight(due_k) + END_OF_DAY
        elif tl_unit == "DAYS":
            due_off = off + tl_value
            due_k = cal.wd_prev[due_off]
            due_ms = cal.midnight[due_off] + END_OF_DAY
        else:  # HOURS
            due_ms = recv + tl_value * MS_PER_HOUR
            due_off = (due_ms - cal.midnight[off]) // MS_PER_DAY + off
            due_k = cal.wd_prev[due_off]
            if due_k < recv_k:
                due_k = recv_k
        return recv_k, due_k, due_ms

    def _received(self, r, out: list, recv: int, due_ms: int, channel: str, proc: tuple) -> int:
        """RECEIVED (with the due instant when the source gives it) and PROCESSING; its instant."""
        fcode, has_fee, paper, online_service, tl_value, tl_unit = proc[1:7]
        received = {
            "channel": channel,
            "online_service": online_service,
            "time_limit": {"value": tl_value, "unit": tl_unit},
            "has_fee": has_fee,
            "requires_paper_result": paper,
        }
        if r() < P_DUE_AT_GIVEN:
            received["due_at"] = due_ms
        out.append((recv, "RECEIVED", received))
        t_proc = recv + 2 * MS_PER_MINUTE + int(r() * 90 * MS_PER_MINUTE)
        proc_extra = None
        if r() < P_TRANSFER:
            proc_extra = {
                "transferred_to_unit": f"{self.info.prefix}.TW.THUE"
                if fcode == "DATDAI"
                else f"{self.info.prefix}.SO.PVHCC"
            }
        out.append((t_proc, "PROCESSING", proc_extra))
        return t_proc

    @staticmethod
    def _digitised(r, out: list, recv: int) -> None:
        """Most dossiers: a DIGITISED event with its components (some reused from data)."""
        if r() < P_DIGITISED_EVENT:
            total = 1 + int(r() * 6)
            full = r() < P_ALL_DIGITISED
            dig = total if full else int(r() * total)
            reused = (1 + int(r() * dig)) if (dig and r() < P_REUSE) else 0
            out.append(
                (
                    recv + MS_PER_MINUTE + int(r() * 60 * MS_PER_MINUTE),
                    "DIGITISED",
                    {
                        "components_total": total,
                        "components_digitised": dig,
                        "components_reused": reused,
                        "from_personal_store": r() < P_PERSONAL_STORE,
                        "population_data_used": r() < P_POPULATION_DATA,
                    },
                )
            )

    @staticmethod
    def _payment(r, out: list, t_proc: int, fee: int) -> int:
        """A fee dossier: PAYMENT_REQUESTED then PAYMENT_COMPLETED by a method; its instant."""
        t_req = t_proc + MS_PER_MINUTE + int(r() * 30 * MS_PER_MINUTE)
        t_paid = t_req + 3 * MS_PER_MINUTE + int(r() * 120 * MS_PER_MINUTE)
        out.append((t_req, "PAYMENT_REQUESTED", {"amount_vnd": fee}))
        u = r()
        method = next((m for m, c in PAYMENT_METHODS_CUM if u < c), PAYMENT_METHODS_CUM[-1][0])
        out.append((t_paid, "PAYMENT_COMPLETED", {"amount_vnd": fee, "method": method}))
        return t_paid

    def _at_wd(self, r, k: int, not_before: int) -> int:
        """A working-hours instant on working day k, after `not_before`."""
        cal = self.cal
        t = cal.midnight[cal.wd[k] - cal.base] + DAY_OPEN + int(r() * (DAY_CLOSE - DAY_OPEN))
        if t <= not_before:
            t = not_before + 10 * MS_PER_MINUTE + int(r() * 90 * MS_PER_MINUTE)
        return t

    def _ended_early(self, r, out: list, recv_k: int, due_k: int, last: int) -> bool:
        """A few dossiers are withdrawn or stopped before their due date: True when so."""
        u = r()
        if u >= P_WITHDRAWN + P_STOPPED:
            return False
        k = recv_k + int(r() * (due_k - recv_k + 1))
        t = self._at_wd(r, k, last)
        if u < P_WITHDRAWN:
            out.append((t, "WITHDRAWN", None))
        else:
            out.append((t, "STOPPED", {"reason": STOP_REASONS[1 + int(r() * 2)]}))
        return True

    def _supplements(self, r, out: list, recv_k: int, due_k: int, last: int) -> tuple | None:
        """None, one or two supplement requests, each pausing the clock until answered:
        (their number, the effective due day, the day work resumed, the last instant), or
        None when the citizen never answered and the dossier was stopped."""
        u = r()
        n_supp = 2 if u < P_SUPP_TWO else (1 if u < P_SUPP_TWO + P_SUPP_ONE else 0)
        eff_due_k = due_k
        start_k = recv_k
        for _ in range(n_supp):
            span = eff_due_k - start_k
            req_k = start_k + int(r() * (span + 1)) if span > 0 else start_k
            t_req = self._at_wd(r, req_k, last)
            out.append((t_req, "SUPPLEMENT_REQUESTED", None))
            if r() < P_SUPP_NO_ANSWER:
                k = req_k + 20
                out.append((self._at_wd(r, k, t_req), "STOPPED", {"reason": STOP_REASONS[0]}))
                return None
            resp_k = req_k + 1 + int(r() * 8)
            t_resp = self._at_wd(r, resp_k, t_req)
            out.append((t_resp, "SUPPLEMENT_RECEIVED", None))
            eff_due_k += resp_k - req_k
            start_k = resp_k
            last = t_resp
        return n_supp, eff_due_k, start_k, last

    def _end_within_hours(self, r, late: bool, recv: int, due_ms: int, last: int) -> int:
        """The end of an hours-limited dossier: before the due instant, or days after it."""
        if late:
            # ends on a working day after the local date of the due instant
            cal = self.cal
            k = cal.wd_next[local_ordinal(due_ms) + 1 - cal.base] + int(r() ** 2 * 4)
            return self._at_wd(r, k, last)
        end_t = recv + 20 * MS_PER_MINUTE + int(r() * (due_ms - recv - 20 * MS_PER_MINUTE) * 0.9)
        if end_t <= last:
            end_t = last + 5 * MS_PER_MINUTE
        return end_t

    def _end_on_working_day(self, r, late: bool, eff_due_k: int, start_k: int, last: int) -> tuple[int, int]:
        """The end instant and working day: by the effective due day, or up to 16 days late."""
        cal = self.cal
        span = eff_due_k - start_k
        if late:
            end_k = max(eff_due_k, start_k) + 1 + int(r() ** 2 * 15)
        elif span <= 0:
            end_k = start_k
        else:
            end_k = start_k + int(span * r() ** 1.4 + 0.5)
        end_t = self._at_wd(r, end_k, last)
        if not late and end_t >= cal.wd_midnight(eff_due_k) + MS_PER_DAY:
            # Pushed past midnight by earlier events on the due day: nudge it back.
            end_t = cal.wd_midnight(eff_due_k) + END_OF_DAY - int(r() * 30 * MS_PER_MINUTE)
            if end_t <= last:
                end_t = last + MS_PER_MINUTE
        return end_t, end_k

    def _extension(self, r, start_k: int, eff_due_k: int, end_t: int, end_k: int | None, last: int) -> tuple:
        """Hẹn lại: before the (effective) due date, with an apology letter (Mẫu 04)."""
        cal = self.cal
        ext_k = max(start_k, eff_due_k - int(r() * 3))
        t_ext = self._at_wd(r, ext_k, last)
        if end_k is not None and t_ext >= end_t:
            t_ext = max(last + MS_PER_MINUTE, end_t - 30 * MS_PER_MINUTE)
        ext_to = (end_k if end_k is not None else cal.wd_next[local_ordinal(end_t) - cal.base]) + int(r() * 3)
        return (
            t_ext,
            "DEADLINE_EXTENDED",
            {
                "new_due_at": cal.wd_midnight(ext_to) + END_OF_DAY,
                "apology_issued": r() < P_APOLOGY,
            },
        )

    @staticmethod
    def _result(r, out: list, end_t: int, paper: bool, channel: str, late: bool) -> None:
        """RESOLVED, RESULT_RETURNED by a channel, and for some a rating (late: worse)."""
        e_result = r() < (P_E_RESULT_PAPER if paper else P_E_RESULT_OTHER)
        out.append((end_t, "RESOLVED", {"electronic_result": e_result}))
        if r() < P_POSTAL_RETURN or channel == "POSTAL":
            ret_channel = "POSTAL"
            t_ret = end_t + MS_PER_HOUR + int(r() * 48 * MS_PER_HOUR)
        elif channel == "ONLINE" and (e_result or r() < 0.3):
            ret_channel = "ONLINE"
            t_ret = end_t + MS_PER_MINUTE + int(r() * 30 * MS_PER_MINUTE)
        else:
            ret_channel = "DIRECT"
            t_ret = end_t + 30 * MS_PER_MINUTE + int(r() * 72 * MS_PER_HOUR)
        out.append((t_ret, "RESULT_RETURNED", {"return_channel": ret_channel}))
        if r() < P_RATED:
            u = r()
            if u < (P_DISSATISFIED_LATE if late else P_DISSATISFIED_OK):
                rating = "DISSATISFIED"
            elif r() < P_VERY_SATISFIED:
                rating = "VERY_SATISFIED"
            else:
                rating = "SATISFIED"
            out.append((t_ret + 5 * MS_PER_MINUTE + int(r() * 24 * MS_PER_HOUR), "RATED", {"rating": rating}))

    @staticmethod
    def _materialise(envelope: dict, out: list) -> list:
        out.sort(key=itemgetter(0))
        did = envelope["dossier_id"]
        evs = []
        n = 0
        for ms, etype, extra in out:
            n += 1
            ev = {"event_id": f"{did}-{n}", "event_type": etype, "occurred_at": ms, "sequence": n}
            ev.update(envelope)
            if extra:
                ev.update(extra)
            evs.append(ev)
        return evs
