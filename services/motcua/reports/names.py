"""Names officials read (units, fields, levels), from the reference registry; an unknown
code is shown as the code itself and remembered by the registry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..domain.vocabulary import level_label, level_short_label


@dataclass
class Names:
    unit: Callable[[str], str]
    field: Callable[[str], str]

    @staticmethod
    def level(code: str) -> str:
        return level_label(code)

    @staticmethod
    def level_short(code: str) -> str:
        return level_short_label(code)

    @classmethod
    def from_registry(cls, registry=None) -> Names:
        from ..reference.registry import default_registry

        reg = registry or default_registry()
        return cls(unit=reg.unit_name, field=reg.field_name)

    @classmethod
    def codes(cls) -> Names:
        return cls(unit=lambda c: c, field=lambda c: c)
