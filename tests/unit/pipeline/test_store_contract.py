"""The store contract on the in-memory store (the real one: tests/integration/test_store_contract.py)."""

from __future__ import annotations

import pytest

from motcua.adapters.memory_store import MemoryStore
from tests.contract.store_contract import StoreContract


class TestMemoryStore(StoreContract):
    EXAMPLES = 60

    @pytest.fixture
    def make_store(self):
        return MemoryStore
