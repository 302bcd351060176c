"""The gateway's limits on a real process (``motcua run gateway``) and a real broker, with
raw sockets: a chunked body far over the body limit is refused with 413 after the limit was
read, the connection is closed while the client still sends, and the process's peak memory
grows by about the limit, not by the body; a client sending its body byte by byte slower
than the minimum rate is cut off with 408 after the grace, while a client above the rate
gets through; a key over its rate gets 429 with Retry-After."""

from __future__ import annotations

import socket
import threading
import time
from datetime import date
from pathlib import Path

import orjson
import pytest
from devtools.kafka_broker import free_port

from tests.unit.live.test_gateway import slow_post

from .test_gateway_faults import gateway_env, timed_post, wait_health
from .tools import API_KEY, simulated

pytestmark = pytest.mark.kafka

LIMIT = 1024 * 1024
STREAMED = 256 * 1024 * 1024  # what the client would send: 256 times the limit


def peak_rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def stream_chunked(port: int, total: int, chunk: int = 64 * 1024) -> tuple[bytes, int]:
    """POST a chunked body of ``total`` bytes (NDJSON-looking), reading the answer in another
    thread: (the answer, bytes of body the client managed to send before the server closed)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    answer: list[bytes] = []

    def read() -> None:
        data = b""
        try:
            while part := sock.recv(65536):
                data += part
        except OSError:
            pass
        answer.append(data)

    reader = threading.Thread(target=read)
    sock.sendall(
        b"POST /v1/events HTTP/1.1\r\nHost: gw\r\nX-API-Key: " + API_KEY.encode() + b"\r\n"
        b"Content-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    reader.start()
    piece = (b'{"event_id": "x"}\n' * (chunk // 18 + 1))[:chunk]
    frame = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    sent = 0
    try:
        while sent < total:
            sock.sendall(frame)
            sent += len(piece)
        sock.sendall(b"0\r\n\r\n")
    except OSError:  # the gateway closed the connection: expected long before the end
        pass
    reader.join(30)
    sock.close()
    return (answer[0] if answer else b""), sent


def test_a_streamed_body_over_the_limit_is_cut_off_without_being_buffered(pipeline):
    port = free_port()
    gw = pipeline.service(
        "gateway", "--port", str(port), env=gateway_env(MOTCUA_MAX_BODY_BYTES=str(LIMIT))
    ).start()
    wait_health(port, 200, timeout=60, svc=gw)
    assert timed_post(port, b"{}")[0] == 422  # warm: every code path of a request loaded
    before = peak_rss_bytes(gw.proc.pid)
    started = time.monotonic()
    data, sent = stream_chunked(port, STREAMED)
    elapsed = time.monotonic() - started
    grown = peak_rss_bytes(gw.proc.pid) - before
    print(f"413 after {elapsed:.2f} s; client sent {sent / 2**20:.1f} MiB; peak RSS +{grown / 2**20:.1f} MiB")
    assert data.startswith(b"HTTP/1.1 413"), data[:300]
    assert b"BODY_TOO_LARGE" in data and b"Connection: close" in data
    assert sent < STREAMED // 4  # closed while the client was still sending
    assert grown < 8 * LIMIT  # the limit, its copies and the dead letter; not the body
    assert wait_health(port, 200, svc=gw)["kafka"] == "ok"


def test_a_slow_client_is_cut_off_and_a_key_over_its_rate_gets_429(pipeline, tmp_path):
    lines = simulated(tmp_path / "events.jsonl", date(2025, 3, 3), date(2025, 3, 4), seed=5, scale=0.05)[:3]
    body = b"\n".join(lines) + b"\n"
    port = free_port()
    env = gateway_env(
        MOTCUA_GATEWAY_BODY_TIMEOUT_S="30",
        MOTCUA_GATEWAY_BODY_GRACE_S="1",
        MOTCUA_GATEWAY_BODY_MIN_RATE_BYTES_S="200",
        MOTCUA_GATEWAY_RATE_LIMIT_PER_S="0.2",
        MOTCUA_GATEWAY_RATE_LIMIT_BURST="3",
    )
    gw = pipeline.service("gateway", "--port", str(port), env=env).start()
    wait_health(port, 200, timeout=60, svc=gw)
    head = (
        b"POST /v1/events HTTP/1.1\r\nHost: gw\r\nX-API-Key: another-key\r\n"
        b"Content-Type: application/x-ndjson\r\nContent-Length: 100000\r\n\r\n"
    )
    data, elapsed = slow_post("127.0.0.1", port, head, 0.1, 1000)  # 10 bytes a second
    assert data.startswith(b"HTTP/1.1 408") and b"slower than 200 bytes/s" in data, data[:300]
    assert 1.0 < elapsed < 1.0 + 3.0  # the grace, then cut off at once (slack: a shared machine)
    # a client above the rate, sending for longer than the grace, gets through
    status, answer = paced_post(port, body, bytes_per_s=1000, piece=100)
    assert status == 202 and answer["accepted"] == len(lines), answer
    # API_KEY had one request (above); a burst of 3, then 429
    statuses = [timed_post(port, body)[0] for _ in range(2)]
    status, answer, _elapsed, headers = timed_post(port, body)
    assert statuses == [202, 202] and status == 429, (statuses, answer)
    assert answer["error"] == "RATE_LIMITED" and int(headers["Retry-After"]) >= 1
    assert gw.alive()


def paced_post(port: int, body: bytes, bytes_per_s: float, piece: int) -> tuple[int, dict]:
    """POST ``body`` in pieces at ``bytes_per_s``: (status, answer)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(
            b"POST /v1/events HTTP/1.1\r\nHost: gw\r\nX-API-Key: " + API_KEY.encode() + b"\r\n"
            b"Content-Type: application/x-ndjson\r\nConnection: close\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
        )
        for i in range(0, len(body), piece):
            sock.sendall(body[i : i + piece])
            time.sleep(piece / bytes_per_s)
        data = b""
        while part := sock.recv(65536):
            data += part
    head, _, rest = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), orjson.loads(rest)
