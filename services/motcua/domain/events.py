"""The v1 dossier event contract as plain Python: names, enums and validation.

An event inside the product is a plain ``dict`` with the contract's field names. Instants
are ``int`` milliseconds since the Unix epoch (UTC), whatever the wire encoding was; the
codecs (``motcua.adapters.codec``) convert to and from this canonical form. Keeping events
as dicts (not objects) keeps the hot path of replay and the processor cheap.

``validate`` raises :class:`InvalidEvent` with a short machine-readable ``code`` and a
human reason; callers send such events to the dead-letter path. Reasons never quote a
value that may be personal (``shown``): only short code-like values are quoted.

Personal data (the contract's "no personal data" rule). The product keeps **no free
text**: ``reason`` (REJECTED, STOPPED) is accepted on the wire but dropped by ``validate``
(``FREE_TEXT_FIELDS``; the event itself is kept), because a name, an address or a number
in free text cannot be recognised reliably. Every string that is kept is a code:
identifiers, unit/procedure/field codes and ``transferred_to_unit`` must contain no
whitespace, control character or ``@``, and no value that ``looks_personal`` (a citizen
ID / ID-card / phone number however it is written: ``0912 345 678``, ``0912.345.678``,
``+84-912-345-678``, ``079.203.001.234``, ``0792 0300 1234``, ... or an e-mail address);
such an event is refused (``PERSONAL_DATA``, or ``BAD_FIELD`` for whitespace), never
stored. Field names that only personal data would carry are refused too.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any

from .calendar import MS_PER_DAY

SCHEMA_VERSION = 2  # v2 = v1 + SNAPSHOT and PROCESSING.resumes (docs/event-contract.md)

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
    "SNAPSHOT",
)
UNIT_LEVELS = ("CENTRAL_BRANCH", "PROVINCE", "DISTRICT", "COMMUNE")
CHANNELS = ("ONLINE", "DIRECT", "POSTAL")
ONLINE_SERVICES = ("FULL", "PARTIAL", "NONE")
TIME_LIMIT_UNITS = ("WORKING_DAYS", "DAYS", "HOURS")
PAYMENT_METHODS = ("ONLINE_DVCQG", "ONLINE_LOCAL", "CASH", "OTHER")
RATINGS = ("VERY_SATISFIED", "SATISFIED", "DISSATISFIED")
SNAPSHOT_PAYMENTS = ("ONLINE_DVCQG", "ONLINE_LOCAL", "NONE")  # DuocThanhToanTrucTuyen 1 / 2 / 0
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

# Extra fields per event type: name -> kind. Kinds: "code" (a short identifier, checked
# like the envelope's), "text" (free text: accepted on the wire, never kept), "bool",
# "int", "instant", "time_limit", or a tuple of allowed enum values.
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
    "REJECTED": {"reason": "text"},
    "PROCESSING": {"transferred_to_unit": "code", "resumes": "bool"},
    "SUPPLEMENT_REQUESTED": {},
    "SUPPLEMENT_RECEIVED": {},
    "PAYMENT_REQUESTED": {"amount_vnd": "int"},
    "PAYMENT_COMPLETED": {"amount_vnd": "int", "method": PAYMENT_METHODS},
    "WITHDRAWN": {},
    "STOPPED": {"reason": "text"},
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
    # v2: the dossier as its source states it now (a DVCQG DongBoHoSoMC item, a row of a
    # dossier-list sheet). State, not an event: the snapshot with the greatest
    # snapshot_rank replaces the earlier ones (domain.lifecycle). Absent = not stated.
    "SNAPSHOT": {
        "received_at": "instant",
        "channel": CHANNELS,
        "due_at": "instant",
        "has_fee": "bool",
        "resolved_at": "instant",
        "electronic_result": "bool",
        "returned_at": "instant",
        "return_channel": CHANNELS,
        "rejected_at": "instant",
        "source_status": "status",
        "payment": SNAPSHOT_PAYMENTS,
        "components_total": "int",
        "components_digitised": "int",
        "components_reused": "int",
        "from_personal_store": "bool",
        "population_data_used": "bool",
        "snapshot_rank": "int",
    },
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
INSTANT_FIELDS = (
    "occurred_at",
    "due_at",
    "new_due_at",
    "received_at",
    "resolved_at",
    "returned_at",
    "rejected_at",
)
# Not part of what a snapshot says: the order in which the fold first saw it (stamped by
# the fold, so a re-sent snapshot is a duplicate of the first one: lifecycle.event_digest).
RANK_FIELD = "snapshot_rank"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)

MAX_ID_LEN = 64
MAX_STR_LEN = 512
MAX_EVENT_BYTES = 64 * 1024
FUTURE_TOLERANCE_MS = MS_PER_DAY
# The instants the product folds: [2010-01-01, 2036-01-01) in Asia/Ho_Chi_Minh, for
# occurred_at, due_at and new_due_at alike, and time limits up to MAX_TIME_LIMIT days
# (x 24 in HOURS). Anything outside is refused (INSTANT_OUT_OF_RANGE, TIME_LIMIT_TOO_LONG):
# within them every due date, pause shift and period the fold computes stays inside the
# working-day calendar (domain.calendar, 2010-2070), so an accepted event always folds.
MIN_INSTANT_MS = 1262278800000  # 2010-01-01T00:00:00+07:00
MAX_INSTANT_MS = 2082733200000  # 2036-01-01T00:00:00+07:00 (exclusive)
MAX_TIME_LIMIT = 1000

# Names that only personal data would carry; such a field is refused, never stored.
PERSONAL_FIELD_NAMES = re.compile(
    r"(name|ho_?ten|cccd|cmnd|citizen|id_?card|identity|passport|phone|mobile|"
    r"email|address|dia_?chi|birth|ngay_?sinh|so_?dien_?thoai)",
    re.IGNORECASE,
)
# Free-text fields: accepted on the wire, dropped by ``validate`` (never stored).
FREE_TEXT_FIELDS = frozenset(n for x in EXTRA_FIELDS.values() for n, k in x.items() if k == "text")


def personal_number_pattern(flavour: str = "python", part: str = "all") -> str:
    """The shapes of a citizen ID (CCCD, 12 digits), an old ID card (CMND, 9) or a
    Vietnamese phone number (0 + 9 or 10 digits, +84 / 84 + 9 or 10) as they are written:
    bare, or in groups of 2-4 digits separated by one space, dot, dash, underscore or
    slash, with ``(028)``/``(+84)``/``(0)`` forms. Groups must look like these numbers'
    groupings, so codes such as ``H44.07-250101-0001`` or ``2025-03-01`` do not match.
    ``flavour`` "python" (``re``, for ASCII digits: see ``looks_personal``) or "re2"
    (ClickHouse ``match``: lookarounds become consuming boundaries; the same language for
    a yes/no search). ``part``: "all", "national" (bare and grouped national numbers) or
    "other" (the ``+84`` / ``(0xx)`` forms, which need a ``+`` or ``(``)."""
    sep, space = r"(?:[.\-_/]|\s)", r"\s"
    if flavour == "python":
        left, right = "(?<![0-9])", "(?![0-9])"
    else:
        left, right = "(?:^|[^0-9])", "(?:[^0-9]|$)"
    d = "[0-9]"
    national = (
        f"{d}{{3}}(?:{d}{{6}}(?:{d}{{3}})?|S{d}{{3}}S{d}{{3}})"  # 9 / 12 bare, 3-3-3
        f"|0{d}(?:{d}{{8,9}}|{d}{{1,2}}(?:S{d}{{3,4}}){{2,3}}|{d}{{1,2}}S{d}{{6,8}}|(?:S{d}{{2}}){{4}})"
        f"|84(?:{d}{{9}}|S{d}{{2,3}}S{d}{{3,4}}S{d}{{3,4}})"
    )
    plus = f"(?:\\+|\\(\\+)W?84\\)?(?:S?\\(0\\))?(?:S?{d}){{8,10}}"
    area = f"\\(0{d}{{2,3}}\\)W?(?:{d}{{3,4}}S{d}{{3,4}}|{d}{{7,8}})"
    body = {
        "all": f"{left}(?:{national}){right}|{plus}{right}|{area}{right}",
        "national": f"{left}(?:{national}){right}",
        "other": f"{plus}{right}|{area}{right}",
    }[part]
    return body.replace("S", sep).replace("W", space)


# Searched on ``ascii_digits(text)`` (ASCII digits and spaces), so the ASCII flag is safe;
# the national forms first (the "other" ones need a '+' or a '(').
_NATIONAL = re.compile(personal_number_pattern(part="national"), re.ASCII)
_OTHER = re.compile(personal_number_pattern(part="other"), re.ASCII)
_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
# Either kind, for a search over any text (apply to ``ascii_digits(text)``).
PERSONAL_VALUE = re.compile(f"{personal_number_pattern()}|{_EMAIL.pattern}")


class _AsciiDigits(dict):
    """str.translate table, filled on demand: a Unicode decimal digit (fullwidth,
    Arabic-Indic, ...) -> its ASCII digit, Unicode whitespace -> a space, others kept."""

    def __missing__(self, c: int) -> int:
        ch = chr(c)
        if unicodedata.category(ch) == "Nd":
            out = ord("0") + unicodedata.digit(ch)
        elif ch.isspace():
            out = 32
        else:
            out = c
        self[c] = out
        return out


_TO_ASCII_DIGITS = _AsciiDigits()


def ascii_digits(text: str) -> str:
    """``text`` with every Unicode decimal digit written as an ASCII digit and every
    Unicode space as an ASCII space (same length), so "０９１２ ３４５ ６７８" is seen."""
    return text if text.isascii() else text.translate(_TO_ASCII_DIGITS)


def looks_personal(text: str) -> bool:
    """True when ``text`` holds something shaped like a citizen ID / ID-card / phone
    number (however it is grouped) or an e-mail address."""
    text = text if text.isascii() else text.translate(_TO_ASCII_DIGITS)
    if _NATIONAL.search(text) is not None:
        return True
    if ("+" in text or "(" in text) and _OTHER.search(text) is not None:
        return True
    return "@" in text and _EMAIL.search(text) is not None


_SAFE_CODES: dict[str, bool] = {}  # codes that passed (ids and codes repeat a lot); bounded
_SHOWABLE = re.compile(r"[A-Za-z0-9_.:+\-]{1,40}")


def shown(value: Any) -> str:
    """A value as a reason may quote it: short code-like strings that are not personal
    are quoted, anything else is described (kind and length), never shown."""
    if type(value) is str:
        if _SHOWABLE.fullmatch(value) and not looks_personal(value):
            return f"'{value}'"
        return f"(một chuỗi {len(value)} ký tự, không hiển thị)"
    return f"({kind_of(value)})"


def kind_of(value: Any) -> str:
    """The JSON kind of a value, in words for people."""
    if value is None:
        return "giá trị null"
    if type(value) is bool:
        return "giá trị true/false"
    if isinstance(value, (int, float)):
        return "một số"
    if isinstance(value, str):
        return "một chuỗi"
    if isinstance(value, (list, tuple)):
        return "một mảng"
    if isinstance(value, dict):
        return "một đối tượng"
    return type(value).__name__


def _check_code(name: str, value: str) -> None:
    """``value`` (a non-empty string within the length limit) is a code: no whitespace,
    control character, '@' or personal number. Passing values are remembered."""
    text = value if value.isascii() else value.translate(_TO_ASCII_DIGITS)
    # isprintable: no control, format or separator character other than the ASCII space
    if (
        text.isprintable()
        and " " not in text
        and "@" not in text
        and _NATIONAL.search(text) is None
        and (("+" not in text and "(" not in text) or _OTHER.search(text) is None)
    ):
        if len(_SAFE_CODES) >= 100_000:
            _SAFE_CODES.clear()
        _SAFE_CODES[value] = True
        return
    if looks_personal(value):
        raise InvalidEvent(
            "PERSONAL_DATA", f"{name} trông giống số CCCD/CMND, số điện thoại hoặc địa chỉ e-mail; không lưu"
        )
    raise InvalidEvent(
        "BAD_FIELD",
        f"{name} phải là một mã: không có khoảng trắng, ký tự điều khiển "
        f"hay '@' (tên, địa chỉ không được gửi ở đây)",
    )


# Hex digits written as letters, for identifiers the product makes itself (content
# digests, request ids): a run of digits in them would be masked as a possible phone or
# citizen-ID number wherever they are quoted (dead-letter reasons and sources).
_HEX_AS_LETTERS = str.maketrans("0123456789", "ghijklmnop")


def hex_as_letters(hex_text: str) -> str:
    return hex_text.translate(_HEX_AS_LETTERS)


class InvalidEvent(ValueError):
    """An event that breaks the contract. ``code`` is stable; ``reason`` is for humans."""

    def __init__(self, code: str, reason: str):
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


def parse_instant(value: Any, field: str) -> int:
    """ISO-8601 with an offset (or epoch millis) -> epoch millis. Naive times are refused."""
    if isinstance(value, bool):
        raise InvalidEvent("BAD_INSTANT", f"{field} phải là một thời điểm, không phải giá trị true/false")
    if isinstance(value, int):
        return value
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidEvent(
                "BAD_INSTANT", f"{field} không phải thời điểm ISO-8601: {shown(value)}"
            ) from None
    else:
        raise InvalidEvent("BAD_INSTANT", f"{field} phải là chuỗi ISO-8601, không phải {kind_of(value)}")
    if dt.tzinfo is None:
        raise InvalidEvent("BAD_INSTANT", f"{field} thiếu độ lệch múi giờ (ví dụ +07:00): {shown(value)}")
    # Integer arithmetic: float timestamps lose a millisecond on ~0.6% of instants.
    return (dt - _EPOCH) // _MS


def format_instant(ms: int) -> str:
    """Epoch millis -> ISO-8601 in UTC with millisecond precision (the JSON wire form)."""
    dt = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _check_str(name: str, value: Any, limit: int = MAX_STR_LEN) -> None:
    if type(value) is not str or not value:
        raise InvalidEvent("BAD_FIELD", f"{name} must be a non-empty string")
    if len(value) > limit:
        raise InvalidEvent("BAD_FIELD", f"{name} is longer than {limit} characters")


_ENVELOPE_STRINGS = (
    "event_id",
    "dossier_id",
    "source_system",
    "province_code",
    "unit_code",
    "procedure_code",
    "field_code",
)
# Field names an event of each type keeps (free text is not kept: it is dropped like an
# unknown field).
KEPT_FIELDS = {
    t: frozenset(ENVELOPE_REQUIRED + ENVELOPE_OPTIONAL + tuple(n for n in x if n not in FREE_TEXT_FIELDS))
    for t, x in EXTRA_FIELDS.items()
}
_KEEP = KEPT_FIELDS
_UNIT_LEVELS = frozenset(UNIT_LEVELS)


def _out_of_range(name: str) -> None:
    raise InvalidEvent(
        "INSTANT_OUT_OF_RANGE", f"{name} must lie in 2010-01-01 .. 2035-12-31 (Asia/Ho_Chi_Minh)"
    )


def validate(event: dict, now_ms: int | None = None) -> dict:
    """Check ``event`` (canonical form, instants already ints or ISO strings) against the
    contract and return it normalised in place (instants as epoch millis, absent optional
    fields dropped). Raises :class:`InvalidEvent`. This runs once per event on every
    path, so it is written for speed: cheap checks first, one pass over the keys, the
    envelope here and the extras in one call."""
    if type(event) is not dict:
        raise InvalidEvent("NOT_AN_OBJECT", "an event must be a JSON object / Avro record")
    etype: Any = event.get("event_type")  # any value the sender put there, until _KEEP knows it
    keep = _KEEP.get(etype) if type(etype) is str else None  # a dict or list is unhashable
    if keep is None:
        if etype is None:
            raise InvalidEvent("MISSING_FIELD", "missing envelope field event_type")
        raise InvalidEvent("UNKNOWN_EVENT_TYPE", f"event_type {shown(etype)} không có trong hợp đồng v1")
    for name in ENVELOPE_REQUIRED:
        if event.get(name) is None:
            raise InvalidEvent("MISSING_FIELD", f"missing envelope field {name}")
    drop = None
    for name, value in event.items():  # one pass: keep, drop, or refuse each field
        if name in keep:
            if value is None:
                drop = (drop or []) + [name]
            continue
        if PERSONAL_FIELD_NAMES.search(name):
            raise InvalidEvent(
                "PERSONAL_DATA", f"trường {shown(name)} có thể chứa dữ liệu cá nhân; không lưu"
            )
        # An extra of another type (a flat Avro record writes them all, as nulls), a
        # field from a newer minor version, or free text (FREE_TEXT_FIELDS): tolerated,
        # not kept.
        drop = (drop or []) + [name]
    if drop:
        for name in drop:
            del event[name]
    for name in _ENVELOPE_STRINGS:
        value = event[name]
        if type(value) is not str or not value or len(value) > MAX_ID_LEN:
            _check_str(name, value, MAX_ID_LEN)
        if value not in _SAFE_CODES:
            _check_code(name, value)
    if type(event["unit_level"]) is not str or event["unit_level"] not in _UNIT_LEVELS:
        raise InvalidEvent(
            "BAD_ENUM", f"unit_level {shown(event['unit_level'])} không thuộc {', '.join(UNIT_LEVELS)}"
        )
    occurred = event["occurred_at"]
    if type(occurred) is not int:
        occurred = event["occurred_at"] = parse_instant(occurred, "occurred_at")
    if not MIN_INSTANT_MS <= occurred < MAX_INSTANT_MS:
        _out_of_range("occurred_at")
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
    _check_extras(event, EXTRA_FIELDS[etype])
    if etype == "DIGITISED" or (etype == "SNAPSHOT" and "components_total" in event):
        total = event["components_total"]
        if event.get("components_digitised", 0) > total or event.get("components_reused", 0) > total:
            raise InvalidEvent("BAD_FIELD", "digitised/reused components exceed components_total")
    return event


def _check_extras(event: dict, extras: dict[str, Any]) -> None:
    """Each extra field the event has, by its kind in EXTRA_FIELDS (instants parsed in place)."""
    for name, kind in extras.items():
        value = event.get(name)
        if value is None:
            continue
        if type(kind) is tuple:
            if value not in kind:
                raise InvalidEvent("BAD_ENUM", f"{name} {shown(value)} không thuộc {', '.join(kind)}")
        elif kind == "bool":
            if type(value) is not bool:
                raise InvalidEvent("BAD_FIELD", f"{name} must be true or false")
        elif kind == "int":
            if type(value) is not int or value < 0:
                raise InvalidEvent("BAD_FIELD", f"{name} must be a non-negative integer")
        elif kind == "instant":
            if type(value) is not int:
                value = event[name] = parse_instant(value, name)
            if not MIN_INSTANT_MS <= value < MAX_INSTANT_MS:
                _out_of_range(name)
        elif kind == "status":
            if type(value) is not int or not 1 <= value <= 10:
                raise InvalidEvent("BAD_FIELD", f"{name} must be a DVCQG TrangThaiHoSo code 1..10")
        elif kind == "code":
            _check_str(name, value, MAX_ID_LEN)
            if value not in _SAFE_CODES:
                _check_code(name, value)
        elif kind == "time_limit":
            _check_time_limit(event, name, value)


def _check_time_limit(event: dict, name: str, value: Any) -> None:
    """``{value, unit}`` within MAX_TIME_LIMIT days, other keys dropped."""
    if type(value) is not dict:
        raise InvalidEvent("BAD_FIELD", "time_limit must be {value, unit}")
    tl_value, tl_unit = value.get("value"), value.get("unit")
    if type(tl_value) is not int or tl_value < 0:
        raise InvalidEvent("BAD_FIELD", "time_limit.value must be a non-negative integer")
    if tl_unit not in TIME_LIMIT_UNITS:
        raise InvalidEvent("BAD_ENUM", f"time_limit.unit phải là một trong {', '.join(TIME_LIMIT_UNITS)}")
    if tl_value > (MAX_TIME_LIMIT * 24 if tl_unit == "HOURS" else MAX_TIME_LIMIT):
        raise InvalidEvent(
            "TIME_LIMIT_TOO_LONG", f"time_limit over {MAX_TIME_LIMIT} days is not a real time limit"
        )
    if len(value) != 2:
        event[name] = {"value": tl_value, "unit": tl_unit}


def to_wire_json(event: dict) -> dict:
    """Canonical event -> the JSON wire form (instants as ISO-8601 strings)."""
    out = dict(event)
    for name in INSTANT_FIELDS:
        if out.get(name) is not None:
            out[name] = format_instant(out[name])
    return out
