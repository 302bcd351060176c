"""Event builders shared by the tests."""

from __future__ import annotations

from datetime import datetime

from motcua.domain.calendar import VN_TZ


def local_ms(y, m, d, hh=9, mm=0) -> int:
    """Epoch millis of a local (Asia/Ho_Chi_Minh) wall-clock time."""
    return int(datetime(y, m, d, hh, mm, tzinfo=VN_TZ).timestamp() * 1000)


ENVELOPE = dict(
    source_system="test",
    province_code="75",
    unit_code="H75.01",
    unit_level="COMMUNE",
    procedure_code="1.004227",
    field_code="HT",
)


def make_event(dossier_id: str, n: int, etype: str, at: int, **extra) -> dict:
    e = dict(ENVELOPE, event_id=f"{dossier_id}-{n}", dossier_id=dossier_id, event_type=etype, occurred_at=at)
    e.update(extra)
    return e


def received(dossier_id, at, days=3, unit="WORKING_DAYS", channel="ONLINE", **extra):
    return make_event(
        dossier_id, 1, "RECEIVED", at, channel=channel, time_limit={"value": days, "unit": unit}, **extra
    )
