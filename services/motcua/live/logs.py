"""Structured logs: one JSON object per line on stderr."""

from __future__ import annotations

import logging
import sys
import time

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


def logging_config(service: str, level: str = "INFO") -> dict:
    """A dictConfig for JSON lines (also handed to the Faust worker)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter, "service": service}},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
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


__all__ = ["JsonFormatter", "emit", "logging_config", "setup", "sys"]
