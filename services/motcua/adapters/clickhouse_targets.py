"""Targets and reference names in ClickHouse (tables of migration 0020)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from datetime import date

import pyarrow as pa

from ..domain.targets import Target

TARGET_COLUMNS = (
    "target_id",
    "province",
    "province_code",
    "metric",
    "unit_level",
    "unit_code",
    "valid_from",
    "valid_to",
    "comparator",
    "value",
    "source",
    "quote",
    "inferred",
    "loaded_at",
)


class TargetsRepository:
    def __init__(self, store):
        self.client = store.client
        self.db = store.db

    def replace(self, targets: Sequence[Target]) -> int:
        """Replace the stored targets of every province in ``targets`` by ``targets``
        (a plan file is the whole truth for its provinces)."""
        provinces = sorted({t.province for t in targets})
        if provinces:
            self.client.command(
                f"DELETE FROM {self.db}.targets WHERE province IN {{p:Array(String)}}",
                parameters={"p": provinces},
                settings={"mutations_sync": 2},
            )
        if not targets:
            return 0
        now = int(time.time() * 1000)
        epoch = date(1970, 1, 1).toordinal()
        table = pa.table(
            {
                "target_id": [t.target_id for t in targets],
                "province": [t.province for t in targets],
                "province_code": [t.province_code for t in targets],
                "metric": [t.metric for t in targets],
                "unit_level": [t.level or "" for t in targets],
                "unit_code": [t.unit_code or "" for t in targets],
                "valid_from": pa.array([t.valid_from.toordinal() - epoch for t in targets], pa.date32()),
                "valid_to": pa.array([t.valid_to.toordinal() - epoch for t in targets], pa.date32()),
                "comparator": [t.comparator for t in targets],
                "value": pa.array([t.value for t in targets], pa.float64()),
                "source": [t.source for t in targets],
                "quote": [t.quote for t in targets],
                "inferred": pa.array([int(t.inferred) for t in targets], pa.uint8()),
                "loaded_at": pa.array([now] * len(targets), pa.timestamp("ms", tz="UTC")),
            }
        )
        self.client.insert_arrow(f"{self.db}.targets", table)
        return len(targets)

    def all(self) -> list[Target]:
        rows = self.client.query(
            f"SELECT province, province_code, metric, unit_level, unit_code, valid_from, valid_to, "
            f"comparator, value, source, quote, inferred FROM {self.db}.targets "
            "ORDER BY province, metric, unit_level, unit_code, valid_from"
        ).result_rows
        return [
            Target(
                province=r[0],
                province_code=r[1],
                metric=r[2],
                level=r[3] or None,
                unit_code=r[4] or None,
                valid_from=r[5],
                valid_to=r[6],
                comparator=r[7],
                value=float(r[8]),
                source=r[9],
                quote=r[10],
                inferred=bool(r[11]),
            )
            for r in rows
        ]

    def load_reference_names(self, provinces: Iterable[str], extra_unit_codes: Iterable[str] = ()) -> int:
        """(Re)write the names dashboards show: units of the given provinces (plus any
        stored unit code, named by the registry or by its code), fields and procedures.
        Units loaded by ``motcua registry load units`` (registry_units) win over the
        shipped ones."""
        from ..reference import resolve_province, units_for_province
        from ..reference.registry import default_registry
        from .clickhouse_units import UnitsRepository

        rows = []
        loaded = UnitsRepository(self).all()
        seen = {u.code for u in loaded}
        for u in loaded:
            try:
                prov_name = resolve_province(u.province_code).name if u.province_code else ""
            except ValueError:
                prov_name = ""
            rows.append(("unit", u.code, u.name, u.level, u.province_code, prov_name))
        for p in provinces:
            try:
                info = resolve_province(p)
            except ValueError:
                continue  # a code the registry does not know: its units are named by their codes below
            for u in units_for_province(info.gso):
                if u.code not in seen:
                    rows.append(("unit", u.code, u.name, u.level, info.code, info.name))
                    seen.add(u.code)
        reg = default_registry()
        for code in extra_unit_codes:
            if code in seen or not code:
                continue
            known = reg.unit(code)
            prov = code[1:3] if code.startswith("H") else ""
            rows.append(("unit", code, known.name if known else code, known.level if known else "", prov, ""))
        # fields and procedures: the shipped names, the loaded catalogue's winning
        from .clickhouse_procedures import reference_name_rows

        field_rows, procedure_rows = reference_name_rows(self)
        rows.extend(field_rows)
        rows.extend(procedure_rows)
        cols = list(zip(*rows))
        names = ("kind", "code", "name", "unit_level", "province_code", "province_name")
        self.client.command(f"TRUNCATE TABLE {self.db}.reference_names")
        self.client.insert_arrow(
            f"{self.db}.reference_names", pa.table({n: pa.array(c, pa.string()) for n, c in zip(names, cols)})
        )
        return len(rows)

    def stored_unit_codes(self) -> list[str]:
        return [
            r[0]
            for r in self.client.query(f"SELECT DISTINCT unit_code FROM {self.db}.kpi_daily_unit").result_rows
        ]

    def stored_provinces(self) -> list[str]:
        return [
            r[0]
            for r in self.client.query(
                f"SELECT DISTINCT province_code FROM {self.db}.kpi_daily_unit WHERE province_code != ''"
            ).result_rows
        ]
