"""Structured logs: one JSON object per line on stderr."""

from __future__ import annotations

import logging
import sys
import threading
import time
import traceback
from collections.abc import Callable

import orjson

_STD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str = "motcua"):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for k, v in record.__dict__.items():
            if k not in _STD and not k.startswith("_"):
                out[k] = v
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode()


class NoRequestContent(logging.Filter):
    """aiohttp's own error records name the client's address and carry a traceback whose
    message can quote the request (a malformed header line: a key, personal data): keep the
    message without its arguments, the exception's type and where it was raised, nothing of
    the request. A malformed request (aiohttp's ``HttpProcessingError``) is the client's
    fault: a warning, not an error."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("aiohttp") or not record.exc_info:
            return True
        _type, exc, tb = record.exc_info
        kind = type(exc).__name__
        frames = traceback.extract_tb(tb) if tb is not None else []
        where = f" at {frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else ""
        record.msg = f"{str(record.msg).split(' from ', 1)[0]}: {kind}{where}"
        record.args = ()
        record.exc_info = record.exc_text = None
        if "HttpProcessingError" in {c.__name__ for c in type(exc).__mro__}:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


class RepeatedClientErrors(logging.Filter):
    """While brokers are down, the Kafka clients log the same warning or error at every retry
    (hundreds of lines a second in the processor). The first record of a kind (logger,
    level, message template) is written; the same kind again within ``every_s`` is counted,
    not written; the next one written says in ``repeated`` how many were left out. Other
    loggers and levels pass untouched. On the output handler, not on the clients' loggers,
    so handlers attached to those (the processor's stall watchdog) still see every record."""

    LOGGERS = ("kafka", "aiokafka")
    MAX_KINDS = 1000  # distinct templates are few; a bound all the same

    def __init__(self, every_s: float = 10.0, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.every_s = every_s
        self.clock = clock
        self._kinds: dict[tuple[str, int, str], tuple[float, int]] = {}
        self._lock = threading.Lock()  # the clients log from their own threads

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or not any(
            record.name == n or record.name.startswith(n + ".") for n in self.LOGGERS
        ):
            return True
        kind = (record.name, record.levelno, str(record.msg))
        now = self.clock()
        with self._lock:
            written_at, left_out = self._kinds.get(kind, (None, 0))
            if written_at is not None and now - written_at < self.every_s:
                self._kinds[kind] = (written_at, left_out + 1)
                return False
            if len(self._kinds) >= self.MAX_KINDS:
                self._kinds.clear()
            self._kinds[kind] = (now, 0)
        if left_out:
            record.repeated = left_out
        return True


def logging_config(service: str, level: str = "INFO") -> dict:
    """A dictConfig for JSON lines (also handed to the Faust worker)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter, "service": service}},
        "filters": {
            "no_request_content": {"()": NoRequestContent},
            "repeated_client_errors": {"()": RepeatedClientErrors},
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["no_request_content", "repeated_client_errors"],
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "kafka": {"level": "WARNING"},
            "kafka.net.selector": {"level": "ERROR"},
            "aiokafka": {"level": "WARNING"},
        },
    }


def setup(service: str, level: str = "INFO") -> logging.Logger:
    import logging.config

    logging.config.dictConfig(logging_config(service, level))
    return logging.getLogger(f"motcua.{service}")


def emit(log: logging.Logger, msg: str, **fields) -> None:
    log.info(msg, extra=fields)


__all__ = [
    "JsonFormatter",
    "NoRequestContent",
    "RepeatedClientErrors",
    "emit",
    "logging_config",
    "setup",
    "sys",
]
