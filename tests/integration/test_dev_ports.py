"""The test ports: outside the kernel's ephemeral range, and kept from other processes."""

from __future__ import annotations

import fcntl
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from devtools.kafka_broker import _ephemeral_range, free_port


def test_ports_are_distinct_bindable_and_outside_the_ephemeral_range():
    lo, hi = _ephemeral_range()
    ports = [free_port() for _ in range(20)]
    assert len(set(ports)) == 20
    for port in ports:
        assert not lo <= port <= hi
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))


def test_a_handed_out_port_is_locked_against_other_processes():
    port = free_port()
    lock = Path(tempfile.gettempdir()) / "motcua-ports" / f"{port}.lock"
    fd = os.open(lock, os.O_RDWR)
    try:  # a new open file description: the lock another process would try to take
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            raise AssertionError("the port's lock was free")
        except BlockingIOError:
            pass
    finally:
        os.close(fd)
    other = subprocess.run(
        [
            sys.executable,
            "-c",
            "from devtools.kafka_broker import free_port\n"
            "print(' '.join(str(free_port()) for _ in range(200)))",
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ},
    )
    assert str(port) not in other.stdout.split()
