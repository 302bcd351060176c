"""The store-outage switch (``adapters/store_faults.py``, a test facility) on the real
embedded store: while its file exists every call through the client fails with the class a
refused connection to a ClickHouse server raises through clickhouse-connect; without the
file, and without the setting, the store works as before."""

from __future__ import annotations

import clickhouse_connect
import pytest
from clickhouse_connect.driver.exceptions import OperationalError
from devtools.kafka_broker import free_port

from motcua.adapters.clickhouse_store import ClickHouseStore
from motcua.adapters.codec import dead_letter_record
from motcua.adapters.store_faults import StoreDownSwitch


def test_a_server_that_refuses_connections_raises_operational_error():
    # what the switch imitates: nothing listens on the port
    with pytest.raises(OperationalError):
        clickhouse_connect.get_client(host="127.0.0.1", port=free_port(), connect_timeout=2)


def test_the_switch_file_takes_the_store_down_and_back(chdb_path, tmp_path):
    down = tmp_path / "down"
    store = ClickHouseStore(f"chdb://{chdb_path}?database=faults", fault_down_file=down)
    assert isinstance(store.client, StoreDownSwitch)
    assert store.count("dossier_state") == 0
    dead = dead_letter_record(source="t:0:0", stage="writer", code="BAD_JSON", reason="test", payload=b"{")
    down.touch()
    for call in (
        lambda: store.count("dossier_state"),
        lambda: store.facts_of(["D1"]),
        lambda: store.insert_dead_letters([dead]),
        lambda: store.migrate(),
    ):
        with pytest.raises(OperationalError, match="fault injection"):
            call()
    down.unlink()
    assert store.count("dead_letters") == 0  # nothing went through while down
    store.insert_dead_letters([dead])
    assert store.count("dead_letters") == 1
    assert store.migrate() == []


def test_without_the_setting_the_client_is_not_wrapped(chdb_path):
    store = ClickHouseStore(f"chdb://{chdb_path}?database=faults_off")
    assert not isinstance(store.client, StoreDownSwitch)
