"""Embedded ClickHouse (chDB) for integration tests.

chDB allows one data path per process, so the whole test session shares one path and
every test gets its own database in it.
"""

from __future__ import annotations

import itertools

import pytest

from motcua.adapters.clickhouse_store import ClickHouseStore

_counter = itertools.count()


@pytest.fixture(scope="session")
def chdb_path(tmp_path_factory):
    return tmp_path_factory.mktemp("chdb") / "store"


@pytest.fixture
def new_store(chdb_path):
    """Factory: a fresh, migrated store in its own database."""

    def make() -> ClickHouseStore:
        return ClickHouseStore(f"chdb://{chdb_path}?database=t{next(_counter)}")

    return make


@pytest.fixture
def store(new_store):
    return new_store()
