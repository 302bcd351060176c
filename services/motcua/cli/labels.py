"""Vietnamese labels for group keys (officials read names, not codes)."""

from __future__ import annotations

LEVEL_LABELS = {
    "CENTRAL_BRANCH": "Ngành dọc TW",
    "PROVINCE": "Cấp tỉnh",
    "DISTRICT": "Cấp huyện",
    "COMMUNE": "Cấp xã",
}


def level_sort_key(row: dict) -> int:
    """Province first, then district, commune, central branches (the order reports use)."""
    order = ("PROVINCE", "DISTRICT", "COMMUNE", "CENTRAL_BRANCH")
    level = row.get("unit_level")
    return order.index(level) if level in order else len(order)


def group_label(by: str, row: dict) -> str:
    if by == "level":
        return LEVEL_LABELS.get(row["unit_level"], row["unit_level"])
    if by == "all":
        return "Toàn tỉnh"
    if by == "unit":
        from ..reference.registry import default_registry

        return default_registry().unit_name(row["unit_code"])
    if by == "procedure":
        return row["procedure_code"]
    return row.get("field_code", "")
