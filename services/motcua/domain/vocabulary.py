"""The words officials read for the codes of the event contract, and the order displays
list them in: unit levels and channels, with their Vietnamese labels (the glossary of
the product's docs). Every dashboard, report, exporter label and CLI table takes them
from here, so no two outputs name the same level differently.

The codes are ``domain.events``' (``UNIT_LEVELS``, ``CHANNELS``: there in the Avro enum's
order, which is fixed by the schema); this module adds only names and display orders.
Parsers of files (sheet, registry loaders) keep their own input aliases, which are
parsing rules; they accept every label here too.
"""

from __future__ import annotations

from collections.abc import Iterable

# -- unit levels (cấp) --------------------------------------------------------------------

# Display order: province, district, commune, then the central branches (thuế, công an,
# BHXH …) the way the II.06a form and the reports list them.
LEVEL_ORDER = ("PROVINCE", "DISTRICT", "COMMUNE", "CENTRAL_BRANCH")

# The full label: the II.06a form's rows, Word reports.
LEVEL_LABELS = {
    "PROVINCE": "Cấp tỉnh",
    "DISTRICT": "Cấp huyện",
    "COMMUNE": "Cấp xã",
    "CENTRAL_BRANCH": "Cơ quan ngành dọc Trung ương tại địa phương",
}

# The short label: table columns, chart legends, sheet names, dashboards, CLI tables,
# exporter labels.
LEVEL_SHORT_LABELS = {
    "PROVINCE": "Cấp tỉnh",
    "DISTRICT": "Cấp huyện",
    "COMMUNE": "Cấp xã",
    "CENTRAL_BRANCH": "Ngành dọc TW",
}

# Inside a sentence ("… thấp nhất ở cấp xã"): lower case, the full wording.
LEVEL_IN_TEXT = {
    "PROVINCE": "cấp tỉnh",
    "DISTRICT": "cấp huyện",
    "COMMUNE": "cấp xã",
    "CENTRAL_BRANCH": "cơ quan ngành dọc Trung ương tại địa phương",
}

# A scope that is no one level (a province-wide target).
ALL_LEVELS_LABEL = "Tất cả các cấp"

# -- channels (hình thức nộp / trả kết quả) -----------------------------------------------

# Display order: online first (the rate officials are measured on), then at the desk, post.
CHANNEL_ORDER = ("ONLINE", "DIRECT", "POSTAL")

CHANNEL_LABELS = {
    "ONLINE": "Trực tuyến",
    "DIRECT": "Trực tiếp",
    "POSTAL": "Bưu chính công ích",
}


def _rank(order: tuple[str, ...], code: str | None) -> int:
    return order.index(code) if code in order else len(order)


def level_rank(level: str | None) -> int:
    """The position of a level in the display order; unknown levels (and None) last."""
    return _rank(LEVEL_ORDER, level)


def channel_rank(channel: str | None) -> int:
    """The position of a channel in the display order; unknown channels (and None) last."""
    return _rank(CHANNEL_ORDER, channel)


def sorted_levels(levels: Iterable[str]) -> list[str]:
    """Levels in display order, unknown ones after the known, alphabetically."""
    return sorted(set(levels), key=lambda lv: (level_rank(lv), lv))


def level_label(level: str | None) -> str:
    """The full label; an unknown code is shown as itself."""
    return LEVEL_LABELS.get(level or "", level or "")


def level_short_label(level: str | None) -> str:
    """The short label; an unknown code is shown as itself."""
    return LEVEL_SHORT_LABELS.get(level or "", level or "")


def channel_label(channel: str | None) -> str:
    """The label of a channel; an unknown code is shown as itself."""
    return CHANNEL_LABELS.get(channel or "", channel or "")
