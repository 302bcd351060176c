"""The store contract on ClickHouse (chDB): the same tests the in-memory store passes
(tests/unit/pipeline/test_store_contract.py), so the fake keeps what the real store does."""

from __future__ import annotations

import itertools

import pytest

from motcua.adapters.clickhouse_store import ClickHouseStore
from tests.contract.store_contract import StoreContract

_databases = itertools.count()


class HookedStore(ClickHouseStore):
    """The real store, calling ``before_insert(table)`` before every insert (every insert
    goes through ``_insert``), so a test can kill it between two inserts."""

    def __init__(self, dsn: str):
        super().__init__(dsn)
        self.before_insert = lambda table: None

    def _insert(self, table, arrow_table, token):
        self.before_insert(table)
        super()._insert(table, arrow_table, token)


class TestClickHouseStore(StoreContract):
    EXAMPLES = 6  # each example migrates a fresh database (the fake runs 60)

    @pytest.fixture
    def make_store(self, chdb_path):
        return lambda: HookedStore(f"chdb://{chdb_path}?database=c{next(_databases)}")
