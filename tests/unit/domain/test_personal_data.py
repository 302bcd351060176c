"""No personal data is kept: the detector catches citizen ID / ID-card / phone numbers as
people write them and e-mail addresses, ids and codes carrying one are refused, free text
is never kept, and rejected input reaches the dead letters redacted (payload, reason,
source, ids). The corpus holds the real forms; hypothesis embeds them anywhere."""

from __future__ import annotations

import copy
import re

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from motcua.adapters import codec
from motcua.adapters.codec import CODEC, decode_record
from motcua.domain import events as ev
from motcua.pipeline.batches import rejection
from motcua.pipeline.ingest import stored_payload

# Real forms: phones (mobile, landline, +84), CCCD (12 digits), CMND (9), e-mails.
PERSONAL_NUMBERS = [
    "0912 345 678",
    "0912.345.678",
    "0912-345-678",
    "0912345678",
    "091 234 5678",
    "091.234.5678",
    "09 12 34 56 78",
    "0912 345678",
    "+84-912-345-678",
    "+84 912 345 678",
    "+84912345678",
    "(+84) 912 345 678",
    "(+84)912345678",
    "+84 (0) 912 345 678",
    "84912345678",
    "84 912 345 678",
    "028 3829 1234",
    "(028) 3829 1234",
    "028.3829.1234",
    "02838291234",
    "+84 28 3829 1234",
    "079.203.001.234",
    "079203001234",
    "0792 0300 1234",
    "079 203 001 234",
    "079-203-001-234",
    "079_203_001_234",
    "079/203/001/234",
    "023456789",
    "023 456 789",
    "023.456.789",
    "０９１２３４５６７８",
    "0912\u00a0345\u00a0678",
]
EMAILS = ["nguyen.van.an@gmail.com", "an.nv+hoso@dongnai.gov.vn", "a@b.vn"]
# Free text that is personal but has no recognisable shape: why free text is not kept.
NAMES_AND_ADDRESSES = [
    "Ông Nguyễn Văn An, sinh năm 1980",
    "Bà Trần Thị Bích",
    "123 Lê Lợi, phường Bến Nghé",
    "Số 5 ngõ 12 Trần Duy Hưng, Hà Nội",
]
IN_TEXT = [f"SĐT: {p}." for p in PERSONAL_NUMBERS[:6]] + [
    "cccd079203001234",
    "HS-2025-0912-345-678",
    "liên hệ a@b.vn hoặc 0912 345 678",
]
# Codes of real one-stop systems: never personal.
CODES = [
    "H44.07-250101-0001",
    "000.00.07.H44-250101-0001",
    "H75.S3.2025-03-000426-3",
    "1.004227",
    "2.002158.000.00.00.H12",
    "G22.99-250101-0001",
    "1.000123.000.00.00.H44",
    "H75.XC.25279",
    "H75.SO.PVHCC",
    "motcua-dongnai",
    "dvcqg",
    "D-2025-03-01-0001",
    "HS-01-02-2025-001",
    "2025-03-01",
    "2025-03-01T09:00:00+07:00",
    "2025-03-03T00:36:06.134Z",
    "1735700400000",
    "evt-00001234",
    "3f2a9c1e-0b4d-4e6f-9a8b-7c6d5e4f3a2b",
    "12345678",
    "1234567890123",
    "H44.100",
    "75",
    "H44",
]

ID_FIELDS = (
    "event_id",
    "dossier_id",
    "source_system",
    "province_code",
    "unit_code",
    "procedure_code",
    "field_code",
)


def digits(text: str) -> str:
    return re.sub(r"[^0-9]", "", ev.ascii_digits(text))


def secrets_of(pii: str) -> list[str]:
    """The forms of ``pii`` that must not be found anywhere: as written, digits only, and
    the national number without +84 (or the domain-less mailbox of an e-mail)."""
    if "@" in pii:
        return [pii, pii.split("@")[0] + "@"]
    d = digits(pii)
    out = [pii, d]
    if d.startswith("84"):
        out.append(d[2:])
    return out


def event(**extra) -> dict:
    e = {
        "event_id": "E-1",
        "event_type": "STOPPED",
        "occurred_at": "2025-03-03T09:00:00+07:00",
        "source_system": "motcua-dongnai",
        "dossier_id": "H75.2025-03-000001",
        "province_code": "75",
        "unit_code": "H75.01",
        "unit_level": "COMMUNE",
        "procedure_code": "1.004227",
        "field_code": "HT",
    }
    e.update(extra)
    return e


@pytest.mark.parametrize("text", PERSONAL_NUMBERS + EMAILS + IN_TEXT)
def test_the_detector_catches_the_real_forms(text):
    assert ev.looks_personal(text)
    assert ev.PERSONAL_VALUE.search(ev.ascii_digits(text))
    assert codec.redact_text(f"x {text} y") != f"x {text} y"


@pytest.mark.parametrize("code", CODES)
def test_codes_are_not_mistaken_for_personal_numbers(code):
    assert not ev.looks_personal(code)
    assert codec.redact_text(code) == code


@pytest.mark.parametrize("name", ID_FIELDS + ("transferred_to_unit",))
@pytest.mark.parametrize("pii", PERSONAL_NUMBERS + EMAILS)
def test_an_id_or_code_that_is_personal_is_refused(name, pii):
    e = event(event_type="PROCESSING", **{name: pii})
    with pytest.raises(ev.InvalidEvent) as info:
        ev.validate(e)
    assert info.value.code == "PERSONAL_DATA"
    for secret in secrets_of(pii):
        assert secret not in info.value.reason


@pytest.mark.parametrize("name", ID_FIELDS + ("transferred_to_unit",))
@pytest.mark.parametrize("text", NAMES_AND_ADDRESSES + ["H75 01", "a\tb", "x\u200by"])
def test_an_id_or_code_is_a_code_not_a_name(name, text):
    with pytest.raises(ev.InvalidEvent) as info:
        ev.validate(event(event_type="PROCESSING", **{name: text}))
    assert info.value.code == "BAD_FIELD" and "phải là một mã" in info.value.reason
    assert text not in info.value.reason


@pytest.mark.parametrize("etype", ["REJECTED", "STOPPED"])
@pytest.mark.parametrize("text", PERSONAL_NUMBERS[:4] + EMAILS[:1] + NAMES_AND_ADDRESSES)
def test_free_text_is_accepted_and_never_kept(etype, text):
    sent = event(event_type=etype, reason=text, ghi_chu=text)  # ghi_chu: a field of no contract
    for wire in (orjson.dumps(sent), codec.encode_avro(dict(ev.validate(dict(sent)), reason=text))):
        raw = wire
        out = ev.validate(codec.sniff_and_decode(raw))
        assert "reason" not in out and "ghi_chu" not in out
        stored = stored_payload(raw, out)  # what events.payload would keep
        assert text.encode() not in stored and orjson.loads(stored) == orjson.loads(orjson.dumps(out))


def test_the_contract_keeps_no_free_text_field():
    assert ev.FREE_TEXT_FIELDS == {"reason"}
    for etype, kept in ev.KEPT_FIELDS.items():
        assert not kept & ev.FREE_TEXT_FIELDS, etype
        for name in kept - set(ev.ENVELOPE_REQUIRED) - {"sequence"}:
            assert ev.EXTRA_FIELDS[etype][name] != "text"
    assert ev.EXTRA_FIELDS["PROCESSING"]["transferred_to_unit"] == "code"


@pytest.mark.parametrize("pii", PERSONAL_NUMBERS[:8] + EMAILS[:1] + NAMES_AND_ADDRESSES[:1])
def test_a_line_rejected_for_another_reason_is_redacted(pii):
    """A citizen ID inside a line rejected for something else (a bad enum here) never
    reaches the dead letter: payload, reason, ids and source are all redacted."""
    cases = [
        event(unit_level="VILLAGE", reason=pii),
        event(unit_level="VILLAGE", ghi_chu=pii),
        event(unit_level=pii),
        event(event_type=pii),
        event(occurred_at=pii),
        event(dossier_id=pii),
        event(sequence=-1, transferred_to_unit=pii, event_type="PROCESSING"),
        event(channel=pii, event_type="SUBMITTED"),
    ]
    for sent in cases:
        for raw in (orjson.dumps(sent), orjson.dumps(sent)[:-7], sent):  # bytes, broken bytes, a dict
            try:
                decode_record(raw, None)
            except (codec.DecodeError, ev.InvalidEvent) as err:
                # a number in a file name is masked too (a name cannot be recognised)
                dead = rejection(CODEC, f"/data/{pii if ev.looks_personal(pii) else 'x'}.jsonl:3", raw, err)
            else:
                pytest.fail(f"accepted {sent}")
            text = orjson.dumps(
                {k: (v.decode("utf-8", "replace") if isinstance(v, bytes) else v) for k, v in dead.items()}
            ).decode()
            for secret in secrets_of(pii) if ev.looks_personal(pii) else ["Nguyễn", "Lê Lợi"]:
                assert secret not in text, (sent, dead)


def test_redacted_payload_keeps_what_an_operator_needs():
    sent = event(unit_level="VILLAGE", reason="Ông Nguyễn Văn An", sequence=3)
    out = orjson.loads(codec.redact_payload(orjson.dumps(sent)))
    assert out["value"] == dict(sent, reason="<redacted: string, 17 characters>")


def test_reasons_quote_only_safe_values():
    assert ev.shown("VILLAGE") == "'VILLAGE'"
    for value in PERSONAL_NUMBERS + EMAILS + NAMES_AND_ADDRESSES:
        assert value not in ev.shown(value) and "không hiển thị" in ev.shown(value)
    assert ev.shown(None) == "(giá trị null)" and ev.shown([1]) == "(một mảng)"
    with pytest.raises(ev.InvalidEvent) as info:
        ev.validate(event(unit_level="VILLAGE"))
    assert info.value.reason == "unit_level 'VILLAGE' không thuộc CENTRAL_BRANCH, PROVINCE, DISTRICT, COMMUNE"


# --------------------------------------------------------------------------- properties

_pii = st.sampled_from(PERSONAL_NUMBERS + EMAILS)
_around = st.text(alphabet="ABCHXZ.-_:/", max_size=6)
_fields = st.sampled_from(
    ID_FIELDS
    + (
        "transferred_to_unit",
        "reason",
        "unit_level",
        "event_type",
        "occurred_at",
        "channel",
        "ghi_chu",
        "ho_ten",
        "sequence",
    )
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    _pii,
    _around,
    _around,
    _fields,
    st.sampled_from(["PROCESSING", "STOPPED", "SUBMITTED"]),
    st.sampled_from(["json", "avro", "dict"]),
)
def test_property_a_personal_value_anywhere_never_reaches_storage(pii, before, after, name, etype, form):
    """Whatever field carries a personal number or e-mail (inside any code-like text),
    the event is refused or kept without it, and its dead letter holds none of it."""
    value = before + pii + after
    sent = event(event_type=etype, **({"channel": "ONLINE"} if etype == "SUBMITTED" else {}))
    sent[name] = value
    if form == "json":
        raw = orjson.dumps(sent)
    elif form == "avro":
        try:
            raw = codec.encode_avro(dict(sent, occurred_at=1_740_967_200_000))
        except Exception:  # not writable with the schema (unknown field, bad enum): as JSON
            raw = orjson.dumps(sent)
    else:
        raw = copy.deepcopy(sent)
    try:
        out = decode_record(raw, None)
    except (codec.DecodeError, ev.InvalidEvent) as err:
        kept = orjson.dumps(
            {
                k: (v.decode("utf-8", "replace") if isinstance(v, bytes) else v)
                for k, v in rejection(CODEC, "file.jsonl:1", raw, err).items()
            }
        ).decode()
    else:
        kept = stored_payload(raw, out).decode() + orjson.dumps(out).decode()
    for secret in secrets_of(pii):
        assert secret not in kept and ev.ascii_digits(secret) not in kept


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_property_any_bytes_give_a_safe_dead_letter(data):
    rec = codec.dead_letter_record(source="s", stage="decode", code="BAD_JSON", reason="r", payload=data)
    out = orjson.loads(rec["payload"])
    assert out["redacted"] is True and out["bytes"] == len(data)
    codec.encode_dead_letter(rec)  # always writable
