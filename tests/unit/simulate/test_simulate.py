"""The simulator: contract validity, determinism, calibration (measured independently
from the events, with our own working-day arithmetic) and delivery faults."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone
from functools import cache
from itertools import pairwise

import holidays
import orjson
import pytest

from motcua.domain.events import MAX_EVENT_BYTES, InvalidEvent, validate
from motcua.simulate import MALFORMED_KINDS, simulate, write_events

VN = timezone(timedelta(hours=7))
END_TYPES = ("RESOLVED", "RESULT_RETURNED", "STOPPED", "REJECTED", "WITHDRAWN")
HOL = holidays.country_holidays("VN", years=range(2024, 2027))


def local_dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, VN)


def local_date(ms: int) -> date:
    return local_dt(ms).date()


def add_working_days(d: date, n: int) -> date:
    while n > 0:
        d += timedelta(days=1)
        if HOL.is_working_day(d):
            n -= 1
    return d


def working_days_between(a: date, b: date) -> int:
    """Working days d with a < d <= b."""
    n, d = 0, a
    while d < b:
        d += timedelta(days=1)
        n += HOL.is_working_day(d)
    return n


def end_of_day_ms(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, 23, 59, 59, tzinfo=VN).timestamp() * 1000)


def measure(events, received_from: date, received_to: date) -> dict:
    """Shares over dossiers received in [received_from, received_to], computed from the
    events alone, following docs/metrics.md."""
    by = defaultdict(list)
    for e in events:
        if isinstance(e, dict):
            by[e["dossier_id"]].append(e)
    st = Counter()
    for evs in by.values():
        evs.sort(key=lambda e: (e["occurred_at"], e["sequence"]))
        rec = next((e for e in evs if e["event_type"] == "RECEIVED"), None)
        if rec is None:
            continue
        rd = local_date(rec["occurred_at"])
        if not received_from <= rd <= received_to:
            continue
        st["received"] += 1
        st["online"] += rec["channel"] == "ONLINE"
        st["postal"] += rec["channel"] == "POSTAL" or any(
            e["event_type"] == "RESULT_RETURNED" and e["return_channel"] == "POSTAL" for e in evs
        )
        if rec["has_fee"]:
            st["fee"] += 1
            st["fee_online"] += any(
                e["event_type"] == "PAYMENT_COMPLETED" and e["method"].startswith("ONLINE_") for e in evs
            )
        dig = [e for e in evs if e["event_type"] == "DIGITISED"]
        st["digitised"] += any(e["components_digitised"] == e["components_total"] for e in dig)
        st["reuse"] += any(e.get("components_reused", 0) >= 1 for e in dig)
        ratings = [e["rating"] for e in evs if e["event_type"] == "RATED"]
        st["rated"] += len(ratings)
        st["dissatisfied"] += ratings.count("DISSATISFIED")
        end = next((e for e in evs if e["event_type"] in END_TYPES), None)
        if end is None:
            st["in_progress"] += 1
            continue
        st["ended"] += 1
        if rec["requires_paper_result"]:
            st["paper_ended"] += 1
            st["e_result"] += any(e["event_type"] == "RESOLVED" and e["electronic_result"] for e in evs)
        if end["event_type"] not in ("RESOLVED", "RESULT_RETURNED"):
            st["on_time"] += 1  # STOPPED / WITHDRAWN count as on time
            continue
        tl = rec["time_limit"]
        if tl["unit"] == "WORKING_DAYS":
            due = add_working_days(rd, tl["value"])
        elif tl["unit"] == "DAYS":
            due = rd + timedelta(days=tl["value"])
        else:
            due = local_date(rec["occurred_at"] + tl["value"] * 3_600_000)
        if "due_at" in rec:
            assert local_date(rec["due_at"]) == due
            st["due_at_given"] += 1
        requests = [e for e in evs if e["event_type"] == "SUPPLEMENT_REQUESTED"]
        answers = [e for e in evs if e["event_type"] == "SUPPLEMENT_RECEIVED"]
        for q, a in zip(requests, answers):
            due = add_working_days(
                due, working_days_between(local_date(q["occurred_at"]), local_date(a["occurred_at"]))
            )
        late = len(requests) >= 2 or local_date(end["occurred_at"]) > due
        if late:
            st["late"] += 1
            st["late_apology"] += any(
                e["event_type"] == "DEADLINE_EXTENDED"
                and e["apology_issued"]
                and e["occurred_at"] <= end_of_day_ms(due)
                for e in evs
            )
        else:
            st["on_time"] += 1
    out = dict(st)
    out.update(
        on_time_rate=st["on_time"] / st["ended"],
        online_filing_rate=st["online"] / st["received"],
        online_payment_rate=st["fee_online"] / st["fee"],
        result_digitisation_rate=st["e_result"] / st["paper_ended"],
        dossier_digitisation_rate=st["digitised"] / st["received"],
        data_reuse_rate=st["reuse"] / st["received"],
        postal_rate=st["postal"] / st["received"],
        dissatisfied_share=st["dissatisfied"] / st["rated"],
        late_apology_rate=st["late_apology"] / max(1, st["late"]),
    )
    return out


@cache
def _events(province, start, end, seed, scale, **faults):
    return tuple(simulate(province, start, end, seed, scale=scale, **faults))


def month_after_merger():
    # Dossiers received in September 2025, followed through October.
    return _events("75", date(2025, 9, 1), date(2025, 10, 31), 11, 0.05)


def test_every_event_is_valid_and_well_formed():
    # Two windows crossing the sở merger (2025-03-01) and the end of districts (2025-07-01).
    for start, end in ((date(2025, 2, 10), date(2025, 3, 10)), (date(2025, 6, 16), date(2025, 7, 15))):
        events = _events("75", start, end, 1, 0.02)
        assert len(events) > 5000
        ids = set()
        seqs = defaultdict(list)
        last = None
        cutoff = end_of_day_ms(end)
        for e in events:
            assert isinstance(e, dict)
            v = validate(orjson.loads(orjson.dumps(e)))  # validate normalises a copy
            assert v["event_id"] == e["event_id"]
            assert e["event_id"] not in ids
            ids.add(e["event_id"])
            assert not e["dossier_id"].isdigit() and e["dossier_id"].startswith("H75.")
            assert e["source_system"] == "motcua-dongnai" and e["province_code"] == "75"
            assert e["occurred_at"] <= cutoff
            if last is not None:
                assert e["occurred_at"] >= last  # ordered stream
            last = e["occurred_at"]
            seqs[e["dossier_id"]].append(e)
            d = local_date(e["occurred_at"])
            if e["unit_level"] == "DISTRICT":
                assert d < date(2025, 7, 1) or e["event_type"] != "RECEIVED"
        for evs in seqs.values():
            assert [e["sequence"] for e in evs] == list(range(1, len(evs) + 1))
            assert evs[0]["event_type"] == "SUBMITTED"
            assert len({(e["unit_code"], e["procedure_code"]) for e in evs}) == 1
        levels = Counter(e["unit_level"] for e in events if e["event_type"] == "RECEIVED")
        assert levels.keys() == {"CENTRAL_BRANCH", "PROVINCE", "DISTRICT", "COMMUNE"}
        assert levels["COMMUNE"] == max(levels.values())


def test_receipts_in_working_hours_on_working_days():
    events = month_after_merger()
    received = [e for e in events if e["event_type"] == "RECEIVED"]
    for e in received:
        t = local_dt(e["occurred_at"])
        assert HOL.is_working_day(t.date())
        assert (7, 30) <= (t.hour, t.minute) and t.hour < 17
    days = Counter(local_date(e["occurred_at"]) for e in received)
    assert date(2025, 9, 2) not in days and date(2025, 9, 1) not in days  # National Day
    assert date(2025, 9, 6) not in days  # Saturday


def test_determinism():
    a = list(simulate("75", date(2025, 9, 1), date(2025, 9, 10), seed=4, scale=0.02))
    b = list(simulate("H75", date(2025, 9, 1), date(2025, 9, 10), seed=4, scale=0.02))
    c = list(simulate("75", date(2025, 9, 1), date(2025, 9, 10), seed=5, scale=0.02))
    assert a == b
    assert a != c
    fa = list(
        simulate(
            "75",
            date(2025, 9, 1),
            date(2025, 9, 10),
            seed=4,
            scale=0.02,
            duplicates=0.02,
            reorder=0.02,
            late=0.01,
            malformed=0.01,
        )
    )
    fb = list(
        simulate(
            "dong_nai",
            date(2025, 9, 1),
            date(2025, 9, 10),
            seed=4,
            scale=0.02,
            duplicates=0.02,
            reorder=0.02,
            late=0.01,
            malformed=0.01,
        )
    )
    assert fa == fb


def test_volume_about_50000_a_month_at_scale_1():
    events = month_after_merger()
    n = sum(1 for e in events if e["event_type"] == "SUBMITTED" and local_date(e["occurred_at"]).month == 9)
    # 0.05 * ~50,000 (September 2025 has 20 working days)
    assert 2000 <= n <= 3000


def test_calibration():
    m = measure(month_after_merger(), date(2025, 9, 1), date(2025, 9, 30))
    assert m["received"] > 2000
    assert m["in_progress"] < 0.05 * m["received"]  # followed for a month after
    assert m["on_time_rate"] == pytest.approx(0.88, abs=0.03)
    assert m["online_filing_rate"] == pytest.approx(0.98, abs=0.01)
    assert m["online_payment_rate"] == pytest.approx(0.86, abs=0.03)
    assert m["result_digitisation_rate"] == pytest.approx(0.72, abs=0.04)
    assert m["dossier_digitisation_rate"] == pytest.approx(0.24, abs=0.03)
    assert 0.05 < m["data_reuse_rate"] < 0.5
    assert 0.01 < m["postal_rate"] < 0.08
    assert m["dissatisfied_share"] < 0.06
    assert m["late_apology_rate"] > 0.7
    assert m["due_at_given"] > 0


def test_lifecycle_variety_and_in_progress_at_the_end():
    events = month_after_merger()
    types = Counter(e["event_type"] for e in events)
    assert set(types) == {
        "SUBMITTED",
        "RECEIVED",
        "REJECTED",
        "PROCESSING",
        "SUPPLEMENT_REQUESTED",
        "SUPPLEMENT_RECEIVED",
        "PAYMENT_REQUESTED",
        "PAYMENT_COMPLETED",
        "WITHDRAWN",
        "STOPPED",
        "DEADLINE_EXTENDED",
        "RESOLVED",
        "RESULT_RETURNED",
        "DIGITISED",
        "RATED",
    }
    by = defaultdict(list)
    for e in events:
        by[e["dossier_id"]].append(e["event_type"])
    supp2 = sum(1 for t in by.values() if t.count("SUPPLEMENT_REQUESTED") >= 2)
    assert 0.005 < supp2 / len(by) < 0.05
    # Dossiers received in the last days of the window are still in progress.
    late_ids = {
        e["dossier_id"]
        for e in events
        if e["event_type"] == "RECEIVED" and local_date(e["occurred_at"]) >= date(2025, 10, 27)
    }
    open_ = [d for d in late_ids if not set(by[d]) & set(END_TYPES)]
    assert len(open_) > 0.2 * len(late_ids)
    assert any(e.get("transferred_to_unit") for e in events if e["event_type"] == "PROCESSING")


def test_pre_merger_history_uses_districts_and_old_communes():
    events = _events("75", date(2024, 11, 1), date(2024, 11, 30), 2, 0.02)
    units = Counter(e["unit_code"].split(".")[1] for e in events if e["event_type"] == "RECEIVED")
    assert units["H"] > 0 and units["XC"] > 0 and units["X"] == 0
    assert any(e["unit_code"] == "H75.SO.STNMT" for e in events)
    later = _events("75", date(2025, 9, 1), date(2025, 10, 31), 11, 0.05)
    assert not any(e["unit_code"] in ("H75.SO.STNMT",) or ".H." in e["unit_code"] for e in later)


def _clean_and_faulty(**faults):
    args = ("75", date(2025, 9, 8), date(2025, 9, 19), 9)
    clean = list(simulate(*args, scale=0.03))
    faulty = list(simulate(*args, scale=0.03, **faults))
    return clean, faulty


def test_duplicates_are_identical_copies():
    clean, faulty = _clean_and_faulty(duplicates=0.05)
    assert all(isinstance(e, dict) for e in faulty)
    counts = Counter(e["event_id"] for e in faulty)
    extra = len(faulty) - len(clean)
    assert extra == sum(c - 1 for c in counts.values())
    assert extra / len(clean) == pytest.approx(0.05, abs=0.01)
    first = {}
    for e in faulty:
        if e["event_id"] in first:
            assert e == first[e["event_id"]] and e is not first[e["event_id"]]
        else:
            first[e["event_id"]] = e
    assert {e["event_id"] for e in faulty} == {e["event_id"] for e in clean}


def test_reorder_and_late_keep_the_same_events():
    clean, faulty = _clean_and_faulty(reorder=0.05, late=0.01)
    assert sorted(e["event_id"] for e in faulty) == sorted(e["event_id"] for e in clean)
    assert faulty != clean
    inversions = sum(1 for a, b in pairwise(faulty) if b["occurred_at"] < a["occurred_at"])
    assert inversions > 0.02 * len(clean)
    # late: some events are emitted after events that occurred more than a day later
    max_seen = 0
    days_late = []
    for e in faulty:
        if max_seen - e["occurred_at"] > 86_400_000:
            days_late.append((max_seen - e["occurred_at"]) / 86_400_000)
        max_seen = max(max_seen, e["occurred_at"])
    assert len(days_late) > 0.005 * len(clean)
    # a dossier's events can now arrive out of sequence order
    pos = {}
    out_of_order = 0
    for e in faulty:
        prev = pos.get(e["dossier_id"], 0)
        out_of_order += e["sequence"] < prev
        pos[e["dossier_id"]] = max(prev, e["sequence"])
    assert out_of_order > 0


def classify(raw: bytes) -> str:
    if len(raw) > MAX_EVENT_BYTES:
        return "oversize"
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return "broken_json"
    try:
        validate(obj)
    except InvalidEvent as exc:
        return {
            "UNKNOWN_EVENT_TYPE": "unknown_event_type",
            "MISSING_FIELD": "missing_field",
            "PERSONAL_DATA": "personal_data",
        }.get(exc.code, exc.code)
    return "valid"


def test_malformed_items_are_bytes_of_every_kind():
    clean, faulty = _clean_and_faulty(malformed=0.02)
    bad = [e for e in faulty if isinstance(e, bytes)]
    good = [e for e in faulty if isinstance(e, dict)]
    assert good == clean
    assert len(bad) / len(clean) == pytest.approx(0.02, abs=0.006)
    kinds = Counter(classify(b) for b in bad)
    assert set(kinds) == set(MALFORMED_KINDS)
    assert any(b"012345678901" in b for b in bad)


def test_write_events_round_trip(tmp_path):
    events = list(simulate("75", date(2025, 9, 8), date(2025, 9, 9), seed=1, scale=0.01, malformed=0.05))
    path = tmp_path / "events.jsonl"
    n = write_events(iter(events), path, progress=False)
    lines = path.read_bytes().splitlines()
    assert n == len(events) == len(lines)
    dicts = [e for e in events if isinstance(e, dict)]
    parsed = []
    for line, item in zip(lines, events):
        if isinstance(item, bytes):
            assert line == item
            continue
        obj = orjson.loads(line)
        assert isinstance(obj["occurred_at"], str) and obj["occurred_at"].endswith("Z")
        parsed.append(validate(obj))
    assert parsed == [validate(dict(e)) for e in dicts]  # free text (reason) is not kept
    gz = tmp_path / "events.jsonl.gz"
    assert write_events(iter(events), gz, progress=True) == n


def test_other_provinces():
    for p in ("01", "Cao Bằng", 79):
        events = list(simulate(p, date(2025, 9, 8), date(2025, 9, 9), seed=1, scale=0.01))
        assert events
        for e in events[:500]:
            validate(dict(e))
    with pytest.raises(ValueError):
        simulate("zz", date(2025, 9, 8), date(2025, 9, 9))
