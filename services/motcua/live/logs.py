"""Structured logs: one JSON object per line on stderr."""

from __future__ import annotations

import logging
import sys
import time
import traceback

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


def logging_config(service: str, level: str = "INFO") -> dict:
    """A dictConfig for JSON lines (also handed to the Faust worker)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter, "service": service}},
        "filters": {"no_request_content": {"()": NoRequestContent}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["no_request_content"],
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


__all__ = ["JsonFormatter", "NoRequestContent", "emit", "logging_config", "setup", "sys"]
