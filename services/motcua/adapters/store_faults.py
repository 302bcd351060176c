"""Fault injection at the store's client: a TEST FACILITY, never on in production.

``StoreDownSwitch`` wraps a clickhouse-connect client (embedded chDB or server). While its
switch file exists, every request method raises ``OperationalError``, the class
clickhouse-connect raises when a ClickHouse server cannot be reached (its HTTP client turns
a refused connection into ``OperationalError("Error ... executing HTTP request attempt
...")``). Everything above the client (``ClickHouseStore``, the writer's rounds and
retries) is the production code path a server outage takes. A test flips the switch from
outside the process by creating or removing the file.

It is installed only when ``MOTCUA_FAULT_STORE_DOWN_FILE`` is set
(``LiveSettings.fault_store_down_file``; docs/operating-cluster.md#store-outage). Unset: the
client is used as it is, with no wrapper in between.
"""

from __future__ import annotations

import functools
from pathlib import Path

from clickhouse_connect.driver.exceptions import OperationalError

# Not requests (local client state): no failure injected.
_PASS_THROUGH = frozenset({"close", "set_client_setting", "get_client_setting"})


class StoreDownSwitch:
    """A clickhouse-connect client whose requests fail while ``down_file`` exists."""

    def __init__(self, client, down_file: Path):
        self._client = client
        self._down_file = Path(down_file)

    def _check(self) -> None:
        if self._down_file.exists():
            raise OperationalError(
                f"Error store down (fault injection: {self._down_file} exists) "
                "executing HTTP request attempt 1"
            )

    def __getattr__(self, name: str):
        attr = getattr(self._client, name)
        if name.startswith("_") or name in _PASS_THROUGH or not callable(attr):
            return attr

        @functools.wraps(attr)
        def guarded(*args, **kwargs):
            self._check()
            return attr(*args, **kwargs)

        return guarded
