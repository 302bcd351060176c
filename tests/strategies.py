"""Hypothesis strategies: random but contract-valid dossier histories."""

from __future__ import annotations

from hypothesis import strategies as st

from tests.builders import ENVELOPE, local_ms

BASE = local_ms(2025, 2, 20, 8)
HOUR = 3_600_000
UNITS = [
    ("H75.01", "COMMUNE"),
    ("H75.02", "COMMUNE"),
    ("H75.SO.TP", "PROVINCE"),
    ("H75.CT", "CENTRAL_BRANCH"),
]


@st.composite
def dossier_history(draw, dossier_id: str) -> list[dict]:
    unit, level = draw(st.sampled_from(UNITS))
    env = dict(
        ENVELOPE,
        unit_code=unit,
        unit_level=level,
        dossier_id=dossier_id,
        procedure_code=draw(st.sampled_from(["1.1", "1.2", "2.1"])),
        field_code=draw(st.sampled_from(["HT", "DD"])),
    )
    t = BASE + draw(st.integers(0, 60 * 24)) * HOUR  # received within ~2 months
    n = 0
    events = []

    def add(etype, at, **extra):
        nonlocal n
        n += 1
        e = dict(env, event_id=f"{dossier_id}-{n}", event_type=etype, occurred_at=at)
        if draw(st.booleans()):
            e["sequence"] = n
        e.update(extra)
        events.append(e)

    channel = draw(st.sampled_from(["ONLINE", "DIRECT", "POSTAL"]))
    if draw(st.integers(0, 9)) > 0:  # most dossiers are received
        add(
            "RECEIVED",
            t,
            channel=channel,
            online_service=draw(st.sampled_from(["FULL", "PARTIAL", "NONE"])),
            time_limit={
                "value": draw(st.integers(0, 15)),
                "unit": draw(st.sampled_from(["WORKING_DAYS", "WORKING_DAYS", "DAYS", "HOURS"])),
            },
            has_fee=draw(st.booleans()),
            requires_paper_result=draw(st.booleans()),
        )
    steps = draw(
        st.lists(
            st.sampled_from(
                [
                    "SUPPLEMENT_REQUESTED",
                    "SUPPLEMENT_RECEIVED",
                    "PAYMENT_COMPLETED",
                    "DIGITISED",
                    "DEADLINE_EXTENDED",
                    "RATED",
                    "PROCESSING",
                ]
            ),
            max_size=6,
        )
    )
    for step in steps:
        t += draw(st.integers(1, 96)) * HOUR
        if step == "PAYMENT_COMPLETED":
            add(step, t, method=draw(st.sampled_from(["ONLINE_DVCQG", "CASH"])), amount_vnd=10000)
        elif step == "DIGITISED":
            total = draw(st.integers(1, 4))
            add(
                step,
                t,
                components_total=total,
                components_digitised=draw(st.integers(0, total)),
                components_reused=draw(st.integers(0, total)),
            )
        elif step == "DEADLINE_EXTENDED":
            add(step, t, new_due_at=t + 72 * HOUR, apology_issued=draw(st.booleans()))
        elif step == "RATED":
            add(step, t, rating=draw(st.sampled_from(["VERY_SATISFIED", "SATISFIED", "DISSATISFIED"])))
        else:
            add(step, t)
    end = draw(st.sampled_from([None, "RESOLVED", "RESOLVED", "RESULT_RETURNED", "WITHDRAWN", "STOPPED"]))
    if end:
        t += draw(st.integers(1, 400)) * HOUR
        extra = {"electronic_result": draw(st.booleans())} if end == "RESOLVED" else {}
        if end == "RESULT_RETURNED":
            extra = {"return_channel": draw(st.sampled_from(["ONLINE", "POSTAL"]))}
        add(end, t, **extra)
    return events


@st.composite
def histories(draw, max_dossiers: int = 12) -> list[dict]:
    count = draw(st.integers(1, max_dossiers))
    events = []
    for i in range(count):
        events.extend(draw(dossier_history(f"D{i:03d}")))
    return events


@st.composite
def delivered(draw, events: list[dict]) -> list[dict]:
    """The same events as a source would deliver them: shuffled, some duplicated."""
    dups = draw(st.lists(st.sampled_from(events), max_size=len(events))) if events else []
    stream = [dict(e) for e in events + dups]
    return draw(st.permutations(stream))
