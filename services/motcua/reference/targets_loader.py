"""Reading plan targets (YAML, format in ``domain.targets``), with province names resolved
to their current GSO codes by the reference data. Which file is a setting
(``plan_targets``, default the package's ``reference/data/plan-targets.yaml``);
``bootstrap.plan_targets`` applies it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..domain import targets as domain_targets
from ..domain.targets import Target, TargetError


def province_code_of(name: str) -> str:
    """The current GSO code of a province name; "" for a province merged away in 2025 or
    a name that is no province (the target is kept, shown by name)."""
    from . import resolve_province
    from .reform import former_province

    try:
        if former_province(name) is not None:
            # a province merged away in 2025 (Quảng Nam): its plan is not the new
            # province's, although resolve_province reads the name as the new one
            return ""
        return resolve_province(name).code
    except (ValueError, ImportError):
        return ""


def parse_targets(entries: Any, origin: str = "targets") -> list[Target]:
    """``domain.targets.parse_targets`` with the province names resolved."""
    return domain_targets.parse_targets(entries, origin, province_code_of)


def load_targets(path: str | Path) -> list[Target]:
    """The validated targets of a YAML file; ``TargetError`` lists every problem."""
    import yaml

    p = Path(path)
    with open(p, encoding="utf-8") as fh:
        try:
            data = yaml.safe_load(fh)
        except yaml.YAMLError as err:
            raise TargetError(f"{p}: not valid YAML: {err}") from None
    return parse_targets(data or [], origin=str(p))
