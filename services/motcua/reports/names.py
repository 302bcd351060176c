"""Names officials read (units, fields, levels), from the reference registry; an unknown
code is shown as the code itself and remembered by the registry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..domain.ii06a import LEVEL_LABELS_VI


SHORT_LEVELS = {"PROVINCE": "Cấp tỉnh", "DISTRICT": "Cấp huyện", "COMMUNE": "Cấp xã",
                "CENTRAL_BRANCH": "Ngành dọc TW"}


@dataclass
class Names:
    unit: Callable[[str], str]
    field: Callable[[str], str]

    @staticmethod
    def level(code: str) -> str:
        return LEVEL_LABELS_VI.get(code, code)

    @staticmethod
    def level_short(code: str) -> str:
        return SHORT_LEVELS.get(code, code)

    @classmethod
    def from_registry(cls, registry=None) -> "Names":
        from ..reference.registry import default_registry

        reg = registry or default_registry()
        return cls(unit=reg.unit_name, field=reg.field_name)

    @classmethod
    def codes(cls) -> "Names":
        return cls(unit=lambda c: c, field=lambda c: c)
