"""The loaded unit catalogue in ClickHouse (table ``registry_units``, migration 0028) and
the registry a process builds from it (:func:`registry_from_store`)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa

from ..reference import Unit
from ..reference.registry import Registry, set_default_registry

COLUMNS = (
    "code",
    "name",
    "unit_level",
    "parent",
    "valid_from",
    "valid_to",
    "successor",
    "province_code",
    "source",
    "loaded_at",
)


@dataclass(frozen=True)
class UpsertResult:
    new: int
    changed: int
    unchanged: int


def _key(u: Unit) -> tuple:
    return (
        u.code,
        u.name,
        u.level,
        u.parent or "",
        u.valid_from,
        u.valid_to,
        u.successor or "",
        u.province_code or "",
    )


class UnitsRepository:
    def __init__(self, store):
        self.client = store.client
        self.db = store.db

    def all(self) -> list[Unit]:
        """Every loaded unit (the latest load of each code)."""
        rows = self.client.query(
            f"SELECT code, name, unit_level, parent, valid_from, valid_to, successor, province_code "
            f"FROM {self.db}.registry_units FINAL ORDER BY code"
        ).result_rows
        return [
            Unit(
                code=r[0],
                name=r[1],
                level=r[2],
                parent=r[3] or None,
                valid_from=r[4],
                valid_to=r[5],
                province_code=r[7],
                successor=r[6] or None,
            )
            for r in rows
        ]

    def upsert(self, units: Sequence[Unit], source: str = "") -> UpsertResult:
        """Write the units whose code is new or whose content differs from the stored one;
        identical units are not written (loading a file twice changes nothing)."""
        stored = {u.code: _key(u) for u in self.all()}
        todo = [u for u in units if stored.get(u.code) != _key(u)]
        new = sum(1 for u in todo if u.code not in stored)
        if todo:
            now = int(time.time() * 1000)
            table = pa.table(
                {
                    "code": [u.code for u in todo],
                    "name": [u.name for u in todo],
                    "unit_level": [u.level for u in todo],
                    "parent": [u.parent or "" for u in todo],
                    "valid_from": pa.array([u.valid_from for u in todo], pa.date32()),
                    "valid_to": pa.array([u.valid_to for u in todo], pa.date32()),
                    "successor": [u.successor or "" for u in todo],
                    "province_code": [u.province_code or "" for u in todo],
                    "source": [source] * len(todo),
                    "loaded_at": pa.array([now] * len(todo), pa.timestamp("ms", tz="UTC")),
                }
            )
            self.client.insert_arrow(f"{self.db}.registry_units", table)
        return UpsertResult(new=new, changed=len(todo) - new, unchanged=len(units) - len(todo))


def registry_from_store(store) -> Registry:
    """A :class:`Registry` whose loaded units (``registry_units``) win over the shipped
    reference data; shipped units, procedures and fields answer the rest."""
    return Registry(extra_units=UnitsRepository(store).all())


def use_store_registry(store) -> Registry | None:
    """Make the registry of ``store`` the process-wide one (``default_registry()``), so
    every name look-up of this process (reports, KPI tables, target checks) sees the
    loaded units. A store without loaded units leaves the shipped registry in place.
    Returns the registry installed, or None."""
    units = UnitsRepository(store).all()
    if not units:
        set_default_registry(None)
        return None
    reg = Registry(extra_units=units)
    set_default_registry(reg)
    return reg
