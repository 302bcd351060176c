"""Name look-ups for dashboards and reports, tolerant of codes we do not know.

``Registry`` answers with the Vietnamese name when it knows a code and with the code
itself otherwise, remembering the unknown code (``registry.unknown``) so it can be
reported, e.g. "3 mã đơn vị chưa có trong danh mục".
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import replace

from . import (
    Field,
    Procedure,
    Unit,
    fields,
    former_districts,
    procedures,
    province_of_unit,
    resolve_province,
    units_for_province,
)
from .catalogue import CatalogueEntry


class Registry:
    """Units, procedures and fields. Units of any province are loaded lazily from the unit
    code's ``H<GSO>.`` prefix; ``provinces`` preloads some. ``extra_units`` adds units a
    deployment knows about (e.g. from its own one-stop system)."""

    def __init__(
        self,
        provinces: Iterable[int | str] = (),
        extra_units: Iterable[Unit] = (),
    ) -> None:
        self._units: dict[str, Unit] = {}
        self._loaded: set[int] = set()
        self._procedures: dict[str, Procedure] = dict(procedures())
        self._fields: dict[str, Field] = dict(fields())
        self._use_catalogue(_loaded_catalogue)
        self._lock = threading.Lock()
        self.unknown: dict[str, set[str]] = {"unit": set(), "procedure": set(), "field": set()}
        for p in provinces:
            self._load(resolve_province(p).gso)
        for u in extra_units:
            self._units[u.code] = u

    def _load(self, gso: int) -> None:
        if gso in self._loaded:
            return
        with self._lock:
            for u in (*units_for_province(gso), *former_districts(gso)):
                self._units.setdefault(u.code, u)  # loaded units (extra_units) stay
            self._loaded.add(gso)

    # -- units -----------------------------------------------------------------------
    def unit(self, code: str) -> Unit | None:
        u = self._units.get(code)
        if u is None:
            info = province_of_unit(code) if isinstance(code, str) else None
            if info is not None and info.gso not in self._loaded:
                self._load(info.gso)
                u = self._units.get(code)
        return u

    def unit_name(self, code: str) -> str:
        u = self.unit(code)
        if u is None:
            self.unknown["unit"].add(code)
            return code
        return u.name

    def unit_level(self, code: str) -> str | None:
        u = self.unit(code)
        return u.level if u else None

    # -- procedures ------------------------------------------------------------------
    def _use_catalogue(self, catalogue: Mapping[str, CatalogueEntry]) -> None:
        """Names (and field codes) of a loaded procedure catalogue win over the shipped
        synthetic ones; so do the field names it gives."""
        for code, e in catalogue.items():
            old = self._procedures.get(code)
            if old is not None:
                self._procedures[code] = replace(old, name=e.name, field_code=e.field_code or old.field_code)
            else:
                self._procedures[code] = Procedure(
                    code=code,
                    name=e.name,
                    field_code=e.field_code,
                    levels=(),
                    has_fee=bool(e.has_fee),
                    requires_paper_result=bool(e.requires_paper_result),
                    online_service="",
                    time_limit=dict(e.time_limit or {}),
                )
            if e.field_code and e.field_name:
                f = self._fields.get(e.field_code)
                self._fields[e.field_code] = (
                    replace(f, name=e.field_name)
                    if f is not None
                    else Field(e.field_code, e.field_name, None, None, None)
                )

    def procedure(self, code: str) -> Procedure | str:
        """The :class:`Procedure`, or ``code`` itself when unknown."""
        p = self._procedures.get(code)
        if p is None:
            self.unknown["procedure"].add(code)
            return code
        return p

    def procedure_name(self, code: str) -> str:
        p = self.procedure(code)
        return p if isinstance(p, str) else p.name

    # -- fields ----------------------------------------------------------------------
    def field_name(self, code: str) -> str:
        f = self._fields.get(code)
        if f is None:
            self.unknown["field"].add(code)
            return code
        return f.name

    def known_unit_codes(self) -> list[str]:
        return sorted(self._units)


_default: Registry | None = None
# The procedure catalogue loaded into the store this process reads (use_catalogue): every
# Registry made afterwards, and the default one, names procedures and fields by it.
_loaded_catalogue: dict[str, CatalogueEntry] = {}


def use_catalogue(catalogue: Mapping[str, CatalogueEntry] | None) -> None:
    """Name procedures and fields by a loaded catalogue from now on (see
    ``adapters.clickhouse_procedures.use_store_catalogue``); None or {}: the shipped names."""
    global _loaded_catalogue
    _loaded_catalogue = dict(catalogue or {})
    if _default is not None:
        if catalogue:
            _default._use_catalogue(_loaded_catalogue)
        else:
            _default._procedures, _default._fields = dict(procedures()), dict(fields())


def default_registry() -> Registry:
    """A process-wide registry (lazy-loading every province)."""
    global _default
    if _default is None:
        _default = Registry()
    return _default


def set_default_registry(registry: Registry | None) -> None:
    """Replace the process-wide registry (e.g. by one holding the units loaded into a
    store, see ``adapters.clickhouse_units.use_store_registry``); None: back to the
    shipped reference data."""
    global _default
    _default = registry


__all__ = ["Registry", "default_registry", "set_default_registry"]
