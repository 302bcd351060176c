"""imports.convert: records -> contract events, with hand-computed cases for every rule
of who handles a dossier (unit, level, province) and for every field."""

from __future__ import annotations

from motcua.domain.events import validate
from motcua.imports.convert import UNDATED, UNKNOWN, Converter, ConvertOptions
from motcua.imports.model import Digitisation, ProgressRow, Snapshot

T0 = 1710120615000  # 2024-03-11 08:30:15 +07:00


def snap(dossier_id="000.00.12.H56-240311-48213", **kw) -> Snapshot:
    return Snapshot(dossier_id, "f.json mục 1", received_at=kw.pop("received_at", T0), **kw)


def test_the_unit_is_the_records_then_the_dossier_codes_agency_then_the_option():
    c = Converter(ConvertOptions(unit="H75.SO.SNV"))
    assert c.snapshot_event(snap(unit_code="000.00.34.H56"))["unit_code"] == "000.00.34.H56"
    assert c.snapshot_event(snap())["unit_code"] == "000.00.12.H56"  # QCVN prefix of MaHoSo
    # a prefix that is no agency code (a date, a local serial) is not a unit
    assert c.snapshot_event(snap("H56.22-240301-0012"))["unit_code"] == "H75.SO.SNV"
    assert c.snapshot_event(snap("HS-0012"))["unit_code"] == "H75.SO.SNV"
    bare = Converter()
    e = bare.snapshot_event(snap("HS-0012"))
    assert (e["unit_code"], e["province_code"]) == (UNKNOWN, UNKNOWN)
    assert bare.notes.inferred["unit_unknown"] == 1 and bare.notes.unknown_units[UNKNOWN] == 1


def test_the_level_is_the_records_then_the_registry_then_the_identifier_then_the_default():
    c = Converter()
    assert (
        c.snapshot_event(snap(unit_code="000.00.12.H56", unit_level="DISTRICT"))["unit_level"] == "DISTRICT"
    )
    assert c.snapshot_event(snap(unit_code="H75.SO.SNV"))["unit_level"] == "PROVINCE"  # shipped registry
    assert c.snapshot_event(snap(unit_code="H75.XC.26503"))["unit_level"] == "COMMUNE"
    assert c.snapshot_event(snap(unit_code="000.00.00.H56"))["unit_level"] == "PROVINCE"  # UBND tỉnh
    assert c.snapshot_event(snap(unit_code="000.00.12.H56"))["unit_level"] == "PROVINCE"  # a sở
    assert c.snapshot_event(snap(unit_code="000.21.12.H56"))["unit_level"] == "COMMUNE"  # level 3
    assert c.snapshot_event(snap(unit_code="000.00.05.G01"))["unit_level"] == "CENTRAL_BRANCH"  # a ministry's
    assert c.snapshot_event(snap(unit_code="MOTCUA-XA"))["unit_level"] == "COMMUNE"  # the default
    assert (
        Converter(ConvertOptions(default_level="PROVINCE")).snapshot_event(snap(unit_code="MOTCUA-XA"))[
            "unit_level"
        ]
        == "PROVINCE"
    )
    assert c.notes.inferred["level_from_identifier"] == 4 and c.notes.inferred["level_default"] == 1
    assert "H75.SO.SNV" not in c.notes.unknown_units and c.notes.unknown_units["000.00.12.H56"] == 2


def test_the_province_is_the_registrys_then_the_identifiers_then_the_option():
    c = Converter(ConvertOptions(province="75"))
    assert c.snapshot_event(snap(unit_code="H75.SO.SNV"))["province_code"] == "75"
    assert c.snapshot_event(snap(unit_code="000.00.12.H56"))["province_code"] == "H56"  # Hnn, not GSO
    assert c.snapshot_event(snap(unit_code="000.00.05.G01"))["province_code"] == "75"
    assert c.notes.inferred["province_from_option"] == 1


def test_every_snapshot_field_and_the_event_is_valid():
    c = Converter(ConvertOptions(source_system="dvcqg-h56"))
    e = c.snapshot_event(
        snap(
            unit_code="000.00.12.H56",
            procedure_code="1.001612",
            field_code="G09-TP03",
            status=10,
            due_at=T0 + 2 * 86_400_000,
            channel="ONLINE",
            resolved_at=T0 + 86_400_000,
            electronic_result=True,
            returned_at=T0 + 90_000_000,
            return_postal=True,
            has_fee=False,
            payment="NONE",
            digitisation=Digitisation(3, 2, 1, from_personal_store=True),
        )
    )
    assert validate(dict(e)) == e
    assert {k: v for k, v in e.items() if k != "event_id"} == {
        "event_type": "SNAPSHOT",
        "occurred_at": T0,
        "source_system": "dvcqg-h56",
        "dossier_id": "000.00.12.H56-240311-48213",
        "province_code": "H56",
        "unit_code": "000.00.12.H56",
        "unit_level": "PROVINCE",
        "procedure_code": "1.001612",
        "field_code": "G09-TP03",
        "received_at": T0,
        "channel": "ONLINE",
        "due_at": T0 + 172_800_000,
        "has_fee": False,
        "resolved_at": T0 + 86_400_000,
        "electronic_result": True,
        "returned_at": T0 + 90_000_000,
        "source_status": 10,
        "payment": "NONE",
        "return_channel": "POSTAL",
        "components_total": 3,
        "components_digitised": 2,
        "components_reused": 1,
        "from_personal_store": True,
        "population_data_used": False,
    }
    assert e["event_id"].startswith("dvs-") and len(e["event_id"]) == 20


def test_ids_come_from_the_content_not_the_position():
    c = Converter()
    a = c.snapshot_event(snap(status=4))
    again = c.snapshot_event(Snapshot("000.00.12.H56-240311-48213", "other.json:7", received_at=T0, status=4))
    assert a["event_id"] == again["event_id"]
    assert c.snapshot_event(snap(status=5))["event_id"] != a["event_id"]
    assert (
        Converter(ConvertOptions(source_system="x")).snapshot_event(snap(status=4))["event_id"]
        != a["event_id"]
    )


def test_a_snapshot_without_any_date_names_the_dossier_at_the_undated_instant():
    c = Converter()
    e = c.snapshot_event(snap(received_at=None, status=1, procedure_code="1.004227"))
    assert e["occurred_at"] == UNDATED and "received_at" not in e and e["procedure_code"] == "1.004227"
    assert c.notes.inferred["snapshot_without_date"] == 1
    # a dossier refused before reception sits at its refusal
    assert c.snapshot_event(snap(received_at=None, status=3, rejected_at=T0))["occurred_at"] == T0


def test_what_was_not_said_is_noted():
    c = Converter()
    c.snapshot_event(snap(unit_code="000.00.12.H56"))
    assert c.notes.inferred["channel_direct_by_default"] == 1
    assert c.notes.inferred["no_due_date"] == 1
    assert c.notes.inferred["procedure_unknown"] == 1 and c.notes.inferred["field_unknown"] == 1


def row(kind: str, status: int, synthetic: bool = False) -> ProgressRow:
    return ProgressRow(
        "000.00.12.H56-240311-48213", "rows.json mục 2", at=T0, status=status, kind=kind, synthetic=synthetic
    )


def test_rows_become_events_and_synthetic_rows_nothing():
    c = Converter()
    assert c.row_event(row("RECEIVED", 2, synthetic=True)) is None and c.notes.synthetic_rows == 1
    received = c.row_event(row("RECEIVED", 2))
    assert (received["event_type"], received["channel"], received["procedure_code"]) == (
        "RECEIVED",
        "DIRECT",
        UNKNOWN,
    )
    assert c.row_event(row("SUBMITTED", 1))["channel"] == "DIRECT"
    assert c.row_event(row("PROCESSING", 4))["resumes"] is True
    withdrawn = c.row_event(row("WITHDRAWN", 3))
    assert withdrawn["event_type"] == "WITHDRAWN" and "resumes" not in withdrawn
    for e in (received, withdrawn):
        assert validate(dict(e)) == e and e["event_id"].startswith("dvr-")
    # the same row sent again (another request, another file) is the same event
    assert c.row_event(row("WITHDRAWN", 3))["event_id"] == withdrawn["event_id"]
    assert c.row_event(row("REJECTED", 3))["event_id"] != withdrawn["event_id"]
