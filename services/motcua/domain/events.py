"""The v1 dossier event contract as plain Python: names, enums and validation.

An event inside the product is a plain ``dict`` with the contract's field names. Instants
are ``int`` milliseconds since the Unix epoch (UTC), whatever the wire encoding was; the
codecs (``motcua.adapters.codec``) convert to and from this canonical form. Keeping events
as dicts (not objects) keeps the hot path of replay and the processor cheap.

``validate`` raises :class:`InvalidEvent` with a short machine-readable ``code`` and a
human reason; callers send such events to the dead-letter path.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

SCHEMA_VERSION = 1

EVENT_TYPES = (
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
)
UNIT_LEVELS = ("CENTRAL_BRANCH", "PROVINCE", "DISTRICT", "COMMUNE")
CHANNELS = ("ONLINE", "DIRECT", "POSTAL")
ONLINE_SERVICES = ("FULL", "PARTIAL", "NONE")
TIME_LIMIT_UNITS = ("WORKING_DAYS", "DAYS", "HOURS")
PAYMENT_METHODS = ("ONLINE_DVCQG", "ONLINE_LOCAL", "CASH", "OTHER")
RATINGS = ("VERY_SATISFIED", "SATISFIED", "DISSATISFIED")
END_TYPES = ("RESOLVED", "RESULT_RETURNED", "STOPPED", "REJECTED", "WITHDRAWN")

ENVELOPE_REQUIRED = (
    "event_id",
    "event_type",
    "occurred_at",
    "source_system",
    "dossier_id",
    "province_code",
    "unit_code",
    "unit_level",
    "procedure_code",
    "field_code",
)
ENVELOPE_OPTIONAL = ("sequence",)

# Extra fields per event type: name -> kind. Kinds: "str", "bool", "int", "instant",
# "time_limit", or a tuple of allowed enum values.
EXTRA_FIELDS: dict[str, dict[str, Any]] = {
    "SUBMITTED": {"channel": CHANNELS, "online_service": ONLINE_SERVICES},
    "RECEIVED": {
        "channel": CHANNELS,
        "online_service": ONLINE_SERVICES,
        "due_at": "instant",
        "time_limit": "time_limit",
        "has_fee": "bool",
        "requires_paper_result": "bool",
    },
    "REJECTED": {"reason": "str"},
    "PROCESSING": {"transferred_to_unit": "str"},
    "SUPPLEMENT_REQUESTED": {},
    "SUPPLEMENT_RECEIVED": {},
    "PAYMENT_REQUESTED": {"amount_vnd": "int"},
    "PAYMENT_COMPLETED": {"amount_vnd": "int", "method": PAYMENT_METHODS},
    "WITHDRAWN": {},
    "STOPPED": {"reason": "str"},
    "DEADLINE_EXTENDED": {"new_due_at": "instant", "apology_issued": "bool"},
    "RESOLVED": {"electronic_result": "bool"},
    "RESULT_RETURNED": {"return_channel": CHANNELS},
    "DIGITISED": {
        "components_total": "int",
        "components_digitised": "int",
        "components_reused": "int",
        "from_personal_store": "bool",
        "population_data_used": "bool",
    },
    "RATED": {"rating": RATINGS},
}
# Extras a given type cannot do without.
REQUIRED_EXTRAS: dict[str, tuple[str, ...]] = {
    "SUBMITTED": ("channel",),
    "RECEIVED": ("channel",),
    "PAYMENT_COMPLETED": ("method",),
    "DEADLINE_EXTENDED": ("new_due_at",),
    "DIGITISED": ("components_total", "components_digitised"),
    "RATED": ("rating",),
}
ALL_EXTRA_FIELDS: tuple[str, ...] = tuple(
    sorted({name for extras in EXTRA_FIELDS.values() for name in extras})
)
ALL_FIELDS = ENVELOPE_REQUIRED + ENVELOPE_OPTIONAL + ALL_EXTRA_FIELDS
INSTANT_FIELDS = ("occurred_at", "due_at", "new_due_at")

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MS = timedelta(milliseconds=1)

MAX_ID_LEN = 64
MAX_STR_LEN = 512
MAX_EVENT_BYTES = 64 * 1024
FUTURE_TOLERANCE_MS = 24 * 3600 * 1000

# Names that only personal data would carry; such a field is refused, never stored.
PERSONAL_FIELD_NAMES = re.compile(
    r"(name|ho_?ten|cccd|cmnd|citizen|id_?card|identity|passport|phone|mobile|"
    r"email|address|dia_?chi|birth|ngay_?sinh|so_?dien_?thoai)",
    re.IGNORECASE,
)
# A 9- or 12-digit citizen ID number, or a Vietnamese mobile number, standing alone.
PERSONAL_VALUE = re.compile(r"(?<!\d)(\d{9}|\d{12}|0\d{9}|\+84\d{9})(?!\d)")


class InvalidEvent(ValueError):
    """An event that breaks the contract. ``code`` is stable; ``reason`` is for humans."""

    def __init__(self, code: str, reason: str):
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


def parse_instant(value: Any, field: str) -> int:
    """ISO-8601 with an offset (or epoch millis) -> epoch millis. Naive times are refused."""
    if isinstance(value, bool):
        raise InvalidEvent("BAD_INSTANT", f"{field} must be an instant, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidEvent("BAD_INSTANT", f"{field} is not ISO-8601: {value[:40]!r}") from None
    else:
        raise InvalidEvent("BAD_INSTANT", f"{field} must be an ISO-8601 string")
    if dt.tzinfo is None:
        raise InvalidEvent("BAD_INSTANT", f"{field} has no zone offset: {str(value)[:40]!r}")
    # Integer arithmetic: float timestamps lose a millisecond on ~0.6% of instants.
    return (dt - _EPOCH) // _MS


def format_instant(ms: int) -> str:
    """Epoch millis -> ISO-8601 in UTC with millisecond precision (the JSON wire form)."""
    dt = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _check_str(name: str, value: Any, limit: int = MAX_STR_LEN) -> None:
    if type(value) is not str or not value:
        raise InvalidEvent("BAD_FIELD", f"{name} must be a non-empty string")
    if len(value) > limit:
        raise InvalidEvent("BAD_FIELD", f"{name} is longer than {limit} characters")


def _check_personal(name: str, value: Any) -> None:
    if isinstance(value, str) and PERSONAL_VALUE.search(value):
        raise InvalidEvent(
            "PERSONAL_DATA", f"{name} looks like a citizen ID or phone number; not stored"
        )


_ENVELOPE_STRINGS = ("event_id", "dossier_id", "source_system", "province_code", "unit_code",
                     "procedure_code", "field_code")
# Field names an event of each type may keep.
_KEEP = {t: frozenset(ENVELOPE_REQUIRED + ENVELOPE_OPTIONAL + tuple(x)) for t, x in EXTRA_FIELDS.items()}
_UNIT_LEVELS = frozenset(UNIT_LEVELS)


def validate(event: dict, now_ms: int | None = None) -> dict:
    """Check ``event`` (canonical form, instants already ints or ISO strings) against the
    contract and return it normalised in place (instants as epoch millis, absent optional
    fields dropped). Raises :class:`InvalidEvent`. This runs once per event on every
    path, so it is written for speed: cheap checks first, one pass over the keys."""
    if type(event) is not dict:
        raise InvalidEvent("NOT_AN_OBJECT", "an event must be a JSON object / Avro record")
    etype = event.get("event_type")
    keep = _KEEP.get(etype)
    if keep is None:
        if etype is None:
            raise InvalidEvent("MISSING_FIELD", "missing envelope field event_type")
        raise InvalidEvent("UNKNOWN_EVENT_TYPE", f"unknown event_type {str(etype)[:40]!r}")
    for name in ENVELOPE_REQUIRED:
        if event.get(name) is None:
            raise InvalidEvent("MISSING_FIELD", f"missing envelope field {name}")
    drop = None
    for name, value in event.items():
        if name in keep:
            if value is None:
                drop = (drop or []) + [name]
            continue
        if PERSONAL_FIELD_NAMES.search(name):
            raise InvalidEvent("PERSONAL_DATA", f"field {name[:40]!r} would carry personal data")
        # An extra of another type (a flat Avro record writes them all, as nulls) or a
        # field from a newer minor version: tolerated, not kept.
        drop = (drop or []) + [name]
    if drop:
        for name in drop:
            del event[name]
    for name in _ENVELOPE_STRINGS:
        value = event[name]
        if type(value) is not str or not value or len(value) > MAX_ID_LEN:
            _check_str(name, value, MAX_ID_LEN)
    dossier_id = event["dossier_id"]
    if dossier_id.isdigit() and len(dossier_id) in (9, 12):
        raise InvalidEvent("PERSONAL_DATA", "dossier_id looks like a citizen ID number")
    if event["unit_level"] not in _UNIT_LEVELS:
        raise InvalidEvent("BAD_ENUM", f"unit_level {str(event['unit_level'])[:40]!r} is not one of {UNIT_LEVELS}")
    occurred = event["occurred_at"]
    if type(occurred) is not int:
        occurred = event["occurred_at"] = parse_instant(occurred, "occurred_at")
    if now_ms is not None and occurred > now_ms + FUTURE_TOLERANCE_MS:
        raise InvalidEvent("FUTURE_EVENT", "occurred_at is more than 1 day in the future")
    seq = event.get("sequence")
    if seq is not None and (type(seq) is not int or seq < 0):
        raise InvalidEvent("BAD_FIELD", "sequence must be a non-negative integer")
    required = REQUIRED_EXTRAS.get(etype)
    if required:
        for name in required:
            if name not in event:
                raise InvalidEvent("MISSING_FIELD", f"{etype} needs {name}")
    extras = EXTRA_FIELDS[etype]
    for name, kind in extras.items():
        value = event.get(name)
        if value is None:
            continue
        if type(kind) is tuple:
            if value not in kind:
                raise InvalidEvent("BAD_ENUM", f"{name} {str(value)[:40]!r} is not one of {kind}")
        elif kind == "bool":
            if type(value) is not bool:
                raise InvalidEvent("BAD_FIELD", f"{name} must be true or false")
        elif kind == "int":
            if type(value) is not int or value < 0:
                raise InvalidEvent("BAD_FIELD", f"{name} must be a non-negative integer")
        elif kind == "instant":
            if type(value) is not int:
                event[name] = parse_instant(value, name)
        elif kind == "str":
            _check_str(name, value)
            _check_personal(name, value)
        elif kind == "time_limit":
            if type(value) is not dict:
                raise InvalidEvent("BAD_FIELD", "time_limit must be {value, unit}")
            tl_value, tl_unit = value.get("value"), value.get("unit")
            if type(tl_value) is not int or tl_value < 0:
                raise InvalidEvent("BAD_FIELD", "time_limit.value must be a non-negative integer")
            if tl_unit not in TIME_LIMIT_UNITS:
                raise InvalidEvent("BAD_ENUM", f"time_limit.unit must be one of {TIME_LIMIT_UNITS}")
            if len(value) != 2:
                event[name] = {"value": tl_value, "unit": tl_unit}
    if etype == "DIGITISED":
        total = event["components_total"]
        if event["components_digitised"] > total or event.get("components_reused", 0) > total:
            raise InvalidEvent("BAD_FIELD", "digitised/reused components exceed components_total")
    return event


def to_wire_json(event: dict) -> dict:
    """Canonical event -> the JSON wire form (instants as ISO-8601 strings)."""
    out = dict(event)
    for name in INSTANT_FIELDS:
        if out.get(name) is not None:
            out[name] = format_instant(out[name])
    return out
