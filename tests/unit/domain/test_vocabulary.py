"""The vocabulary: every level and channel of the event contract has its labels and a
place in the display order, the labels are Vietnamese, and every label reads back."""

import unicodedata

import pytest

from motcua.domain import vocabulary as V
from motcua.domain.events import CHANNELS, UNIT_LEVELS
from motcua.imports.sheet import _CHANNELS, _key
from motcua.reference.units_loader import parse_level

LEVEL_TABLES = {
    "LEVEL_LABELS": V.LEVEL_LABELS,
    "LEVEL_SHORT_LABELS": V.LEVEL_SHORT_LABELS,
    "LEVEL_IN_TEXT": V.LEVEL_IN_TEXT,
}


def _vietnamese(label: str) -> bool:
    """NFC text with at least one letter outside ASCII (a diacritic or đ)."""
    return unicodedata.is_normalized("NFC", label) and any(c.isalpha() and ord(c) > 127 for c in label)


@pytest.mark.parametrize("name", sorted(LEVEL_TABLES))
def test_every_level_has_a_label(name):
    assert set(LEVEL_TABLES[name]) == set(UNIT_LEVELS)


def test_every_channel_has_a_label():
    assert set(V.CHANNEL_LABELS) == set(CHANNELS)


def test_orders_are_total_over_the_contract_codes():
    for order, codes in ((V.LEVEL_ORDER, UNIT_LEVELS), (V.CHANNEL_ORDER, CHANNELS)):
        assert len(order) == len(set(order))  # no code twice
        assert set(order) == set(codes)  # every code, nothing else
    assert [V.level_rank(lv) for lv in V.LEVEL_ORDER] == list(range(len(V.LEVEL_ORDER)))
    assert [V.channel_rank(ch) for ch in V.CHANNEL_ORDER] == list(range(len(V.CHANNEL_ORDER)))
    # unknown codes (and none) after every known one
    assert V.level_rank("MINISTRY") == V.level_rank(None) == len(V.LEVEL_ORDER)
    assert V.channel_rank("FAX") == len(V.CHANNEL_ORDER)


def test_display_order_is_the_reports_order():
    assert V.LEVEL_ORDER == ("PROVINCE", "DISTRICT", "COMMUNE", "CENTRAL_BRANCH")
    assert V.sorted_levels(["X", "CENTRAL_BRANCH", "COMMUNE", "A", "PROVINCE", "COMMUNE"]) == [
        "PROVINCE",
        "COMMUNE",
        "CENTRAL_BRANCH",
        "A",
        "X",
    ]


def test_labels_are_vietnamese():
    labels = [*V.CHANNEL_LABELS.values(), V.ALL_LEVELS_LABEL]
    for table in LEVEL_TABLES.values():
        labels += table.values()
    for label in labels:
        assert _vietnamese(label), label


def test_labels_differ_between_codes():
    for table in (*LEVEL_TABLES.values(), V.CHANNEL_LABELS):
        assert len(set(table.values())) == len(table)


def test_unknown_codes_are_shown_as_themselves():
    assert V.level_label("MINISTRY") == V.level_short_label("MINISTRY") == "MINISTRY"
    assert V.level_label(None) == ""
    assert V.channel_label("FAX") == "FAX"
    assert V.level_label("CENTRAL_BRANCH") == "Cơ quan ngành dọc Trung ương tại địa phương"
    assert V.level_short_label("CENTRAL_BRANCH") == "Ngành dọc TW"


def test_every_label_reads_back():
    """A sheet or registry file that copies a label we print is understood."""
    for table in (V.LEVEL_LABELS, V.LEVEL_SHORT_LABELS):
        for level, label in table.items():
            assert parse_level(label) == level
    for channel, label in V.CHANNEL_LABELS.items():
        assert _CHANNELS[_key(label)] == channel
