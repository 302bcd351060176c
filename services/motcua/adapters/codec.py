"""Wire codecs for dossier events: Avro single-object encoding, Avro container files and
JSON Lines, all to and from the canonical event form of :mod:`motcua.domain.events`
(a plain ``dict``, instants as ``int`` epoch milliseconds UTC, absent optionals omitted).

Avro single-object encoding (Avro spec, "Single object encoding")::

    C3 01 | 8-byte little-endian CRC-64-AVRO fingerprint of the writer schema's parsing
          | canonical form | Avro binary body (schemaless)

The fingerprint is looked up in a :class:`SchemaRegistry`; the body is resolved from the
writer schema to the v1 reader schema, so producers may add optional fields (schema
evolution) without breaking us.

Decoding only checks the wire form. Contract rules are ``events.validate``'s job.
Errors raise :class:`DecodeError` with a stable ``code``: ``OVERSIZE``, ``BAD_JSON``,
``NOT_AN_OBJECT``, ``BAD_AVRO``, ``UNKNOWN_SCHEMA``.
"""

from __future__ import annotations

import copy
import gzip
import hashlib
import io
import os
import re
import time
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import fastavro
import orjson
from fastavro.schema import to_parsing_canonical_form

from motcua.domain import events as ev
from motcua.adapters.avro_reader import compile_reader

__all__ = [
    "AVRO_MAGIC",
    "DEAD_LETTER_SCHEMA",
    "EVENT_SCHEMA",
    "DecodeError",
    "SchemaRegistry",
    "dead_letter_record",
    "decode_avro",
    "decode_dead_letter",
    "decode_json",
    "default_registry",
    "encode_avro",
    "encode_dead_letter",
    "encode_json",
    "fingerprint",
    "iter_file",
    "load_schema",
    "redact",
    "schema_dir",
    "sniff_and_decode",
    "write_avro_file",
    "write_jsonl",
]

AVRO_MAGIC = b"\xc3\x01"
_HEADER_LEN = 10
EVENT_SCHEMA = "dossier_event_v1"
DEAD_LETTER_SCHEMA = "dead_letter_v1"
MAX_EVENT_BYTES = ev.MAX_EVENT_BYTES

JSON_SUFFIXES = (".jsonl", ".json", ".ndjson")
AVRO_SUFFIXES = (".avro",)


class DecodeError(ValueError):
    """Bytes that are not a readable event. ``code`` is stable; ``reason`` is for humans."""

    def __init__(self, code: str, reason: str):
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


# --------------------------------------------------------------------------- schemas


def schema_dir() -> Path:
    """Directory of the ``.avsc`` files: ``$MOTCUA_SCHEMA_DIR`` or ``<repo>/schemas``."""
    env = os.environ.get("MOTCUA_SCHEMA_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "schemas"


@lru_cache(maxsize=64)
def _load_raw(path: str) -> dict:
    return orjson.loads(Path(path).read_bytes())


def _schema_path(name: str) -> Path:
    if not name.endswith(".avsc"):
        name += ".avsc"
    return schema_dir() / name


def load_schema(name: str) -> dict:
    """Parsed (``fastavro.parse_schema``) schema ``name`` (with or without ``.avsc``).
    Cached; the returned dict is shared, do not mutate it."""
    return _load_parsed(str(_schema_path(name)))


@lru_cache(maxsize=64)
def _load_parsed(path: str) -> dict:
    return fastavro.parse_schema(copy.deepcopy(_load_raw(path)))


def _clean(schema: Any, strip_logical: bool) -> Any:
    """Deep copy of a raw or parsed schema without fastavro's private keys and, if asked,
    without ``logicalType`` (so timestamps stay plain ``int`` millis: no datetime
    round trip, and a faster reader)."""
    if isinstance(schema, dict):
        return {
            k: _clean(v, strip_logical)
            for k, v in schema.items()
            if not k.startswith("__") and not (strip_logical and k == "logicalType")
        }
    if isinstance(schema, list):
        return [_clean(v, strip_logical) for v in schema]
    return schema


def _as_schema_dict(schema: Any) -> Any:
    if isinstance(schema, (str, bytes)):
        s = schema.strip() if isinstance(schema, str) else schema.strip().decode()
        if s[:1] in ("{", "[", "\""):
            return orjson.loads(s)
        return _load_raw(str(_schema_path(s)))
    if isinstance(schema, Path):
        return orjson.loads(schema.read_bytes())
    return schema


# CRC-64-AVRO (Rabin fingerprint) as given in the Avro specification.
_CRC64_EMPTY = 0xC15D213AA4D7A795


def _crc64_table() -> list[int]:
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (_CRC64_EMPTY & -(fp & 1))
        table.append(fp)
    return table


_CRC64_TABLE = _crc64_table()


def _crc64_avro(data: bytes) -> int:
    fp = _CRC64_EMPTY
    table = _CRC64_TABLE
    for b in data:
        fp = (fp >> 8) ^ table[(fp ^ b) & 0xFF]
    return fp


def fingerprint(schema: Any) -> int:
    """CRC-64-AVRO fingerprint of the parsing canonical form of ``schema`` (raw dict,
    parsed dict, JSON text or schema name). The wire carries it little-endian."""
    canonical = to_parsing_canonical_form(_clean(_as_schema_dict(schema), False))
    return _crc64_avro(canonical.encode("utf-8"))


class _Entry:
    __slots__ = ("fingerprint", "header", "schema", "plain", "fast")

    def __init__(self, fp: int, schema: dict, plain: dict):
        self.fingerprint = fp
        self.header = AVRO_MAGIC + fp.to_bytes(8, "little")
        self.schema = schema  # parsed, logical types kept (for container files)
        self.plain = plain  # parsed, logical types stripped (for the binary codec)
        self.fast = None  # compiled reader of the reader schema (see decode_canonical)


class SchemaRegistry:
    """Writer schemas known by fingerprint, and the reader schema they resolve to.

    ``register`` accepts a raw or parsed schema dict, JSON text, or a schema name from the
    schema directory, and returns the fingerprint (int). The reader schema (v1 dossier
    event unless given) is always registered."""

    def __init__(self, reader_schema: Any = EVENT_SCHEMA):
        self._by_header: dict[bytes, _Entry] = {}
        self._by_fp: dict[int, _Entry] = {}
        self.reader_fingerprint = self.register(reader_schema)
        self._reader = self._by_fp[self.reader_fingerprint]
        self._reader.fast = compile_reader(self._reader.plain)

    def register(self, schema: Any) -> int:
        raw = _clean(_as_schema_dict(schema), False)
        fp = _crc64_avro(to_parsing_canonical_form(raw).encode("utf-8"))
        if fp not in self._by_fp:
            entry = _Entry(
                fp, fastavro.parse_schema(copy.deepcopy(raw)), fastavro.parse_schema(_clean(raw, True))
            )
            self._by_fp[fp] = entry
            self._by_header[entry.header] = entry
        return fp

    def __contains__(self, fp: int) -> bool:
        return fp in self._by_fp

    def schema(self, fp: int) -> dict:
        """The parsed writer schema (logical types kept) for fingerprint ``fp``."""
        return self._by_fp[fp].schema

    @property
    def reader_schema(self) -> dict:
        return self._reader.schema

    def encode(self, record: dict, fp: int | None = None) -> bytes:
        """Single-object encoding of ``record`` with writer schema ``fp`` (default: the
        reader schema). Instants must be int millis."""
        entry = self._reader if fp is None else self._by_fp[fp]
        buf = io.BytesIO()
        buf.write(entry.header)
        fastavro.schemaless_writer(buf, entry.plain, record)
        return buf.getvalue()

    def decode(self, data: bytes) -> dict:
        """Single-object bytes -> record resolved to the reader schema, None values kept."""
        if len(data) < _HEADER_LEN or data[:2] != AVRO_MAGIC:
            raise DecodeError("BAD_AVRO", "not an Avro single-object encoding (no C3 01 marker)")
        entry = self._by_header.get(bytes(data[:_HEADER_LEN]))
        if entry is None:
            fp = int.from_bytes(data[2:_HEADER_LEN], "little")
            raise DecodeError("UNKNOWN_SCHEMA", f"unknown writer schema fingerprint {fp:016x}")
        reader = self._reader
        buf = io.BytesIO(data)
        buf.seek(_HEADER_LEN)
        try:
            if entry is reader:
                record = fastavro.schemaless_reader(buf, entry.plain, None)
            else:
                record = fastavro.schemaless_reader(buf, entry.plain, reader.plain)
        except DecodeError:
            raise
        except Exception as exc:  # fastavro raises EOFError, IndexError, ValueError, ...
            raise DecodeError("BAD_AVRO", f"unreadable Avro body: {type(exc).__name__}: {exc}"[:200]) from None
        if buf.tell() != len(data):
            raise DecodeError("BAD_AVRO", f"{len(data) - buf.tell()} trailing bytes after the record")
        if not isinstance(record, dict):
            raise DecodeError("NOT_AN_OBJECT", "the Avro body is not a record")
        return record

    def decode_canonical(self, data: bytes) -> dict:
        """Like ``decode`` with None fields dropped. Records written with the reader
        schema itself (what the gateway and ``motcua publish`` write) go through the
        compiled reader (``avro_reader``: ~4x faster than fastavro, and stricter)."""
        entry = self._by_header.get(bytes(data[:_HEADER_LEN])) if data[:2] == AVRO_MAGIC else None
        fast = entry.fast if entry is not None else None
        if fast is None:
            record = self.decode(data)
            return {k: v for k, v in record.items() if v is not None}
        try:
            return fast(data if type(data) is bytes else bytes(data), _HEADER_LEN)
        except IndexError:
            raise DecodeError("BAD_AVRO", "unreadable Avro body: truncated") from None
        except ValueError as exc:  # incl. UnicodeDecodeError
            raise DecodeError("BAD_AVRO", f"unreadable Avro body: {exc}"[:200]) from None


@lru_cache(maxsize=1)
def default_registry() -> SchemaRegistry:
    """The process-wide registry (v1 dossier event registered)."""
    return SchemaRegistry()


# --------------------------------------------------------------------------- Avro


def encode_avro(event: dict, registry: SchemaRegistry | None = None) -> bytes:
    """Canonical event -> Avro single-object encoding with the v1 schema."""
    return (registry or default_registry()).encode(event)


def decode_avro(data: bytes, registry: SchemaRegistry | None = None) -> dict:
    """Avro single-object bytes -> canonical-form dict (None fields dropped, instants int
    millis, ``time_limit`` a dict). Raises :class:`DecodeError`."""
    return (registry or default_registry()).decode_canonical(data)


# --------------------------------------------------------------------------- JSON


def _check_size(data: bytes | bytearray | memoryview | str) -> None:
    n = len(data)
    if isinstance(data, str) and n * 3 > MAX_EVENT_BYTES and n <= MAX_EVENT_BYTES:
        n = len(data.encode("utf-8", "surrogatepass"))
    if n > MAX_EVENT_BYTES:
        raise DecodeError("OVERSIZE", f"{n} bytes is over the {MAX_EVENT_BYTES}-byte event limit")


_loads = orjson.loads
_JSONDecodeError = orjson.JSONDecodeError


def decode_json(line: bytes | str) -> dict:
    """One JSON object (a JSON Lines line) -> dict. Instants stay as given (ISO strings);
    ``events.validate`` parses them. Raises :class:`DecodeError`."""
    if len(line) > MAX_EVENT_BYTES // 4:
        _check_size(line)
    try:
        obj = _loads(line)
    except _JSONDecodeError as exc:
        raise DecodeError("BAD_JSON", f"not JSON: {exc}"[:200]) from None
    if type(obj) is not dict:
        raise DecodeError("NOT_AN_OBJECT", f"a JSON {type(obj).__name__}, not an object")
    return obj


def encode_json(event: dict) -> bytes:
    """Canonical event -> one JSON line (no trailing newline): instants as ISO-8601 UTC
    strings with milliseconds, None fields dropped."""
    out = {}
    for k, v in event.items():
        if v is None:
            continue
        if k in ev.INSTANT_FIELDS and isinstance(v, int) and not isinstance(v, bool):
            v = ev.format_instant(v)
        out[k] = v
    return orjson.dumps(out)


def sniff_and_decode(data: bytes, registry: SchemaRegistry | None = None) -> dict:
    """Avro single-object if ``data`` starts with C3 01, else JSON. Over
    ``events.MAX_EVENT_BYTES`` -> DecodeError("OVERSIZE")."""
    if len(data) > MAX_EVENT_BYTES:
        _check_size(data)
    if data[:2] == AVRO_MAGIC:
        return decode_avro(data, registry)
    return decode_json(data)


# --------------------------------------------------------------------------- files


def _open_binary(path: Path):
    if path.suffix == ".gz":
        return gzip.open(path, "rb")
    return open(path, "rb")


def file_kind(path: Path) -> str:
    """"json" (JSON Lines, optionally .gz) or "avro" by the file name; ValueError otherwise."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    last = suffixes[-1] if suffixes else ""
    if last in JSON_SUFFIXES:
        return "json"
    if last in AVRO_SUFFIXES:
        return "avro"
    raise ValueError(f"unsupported event file type: {path.name} (want .jsonl, .json, .ndjson, .avro)")


def iter_file(path: str | os.PathLike, registry: SchemaRegistry | None = None) -> Iterator[tuple[str, bytes]]:
    """Raw records of an event file as ``(source_ref, raw_bytes)``.

    * ``.jsonl`` / ``.json`` / ``.ndjson`` (optionally ``.gz``): one JSON object per line;
      ``source_ref`` is ``"path:lineno"`` (1-based), blank lines are skipped, the line
      ending is removed.
    * ``.avro`` object container file: each record re-encoded as an Avro single object
      with the file's writer schema (registered in ``registry`` so ``decode_avro`` can
      resolve it); ``source_ref`` is ``"path:n"`` (1-based record number).
    """
    path = Path(path)
    kind = file_kind(path)
    if kind == "json":
        with _open_binary(path) as fh:
            lineno = 0
            for line in fh:
                lineno += 1
                line = line.rstrip(b"\r\n")
                if not line or line.isspace():
                    continue
                yield f"{path}:{lineno}", line
        return
    reg = registry or default_registry()
    with _open_binary(path) as fh:
        blocks = fastavro.block_reader(fh)
        fp = reg.register(_clean(blocks.writer_schema, False))
        entry = reg._by_fp[fp]
        header, plain = entry.header, entry.plain
        read = fastavro.schemaless_reader
        n = 0
        for block in blocks:
            # Walk the decompressed block with the logical-type-free writer schema to find
            # record boundaries; the record bytes are passed on untouched.
            bio = block.bytes_
            buf = bio.getbuffer()
            try:
                start = bio.tell()
                for _ in range(block.num_records):
                    read(bio, plain, None)
                    end = bio.tell()
                    n += 1
                    yield f"{path}:{n}", header + buf[start:end]
                    start = end
            finally:
                buf.release()


def write_avro_file(path: str | os.PathLike, events: Iterable[dict], schema: Any = EVENT_SCHEMA) -> int:
    """Write canonical events to an Avro object container file (deflate codec) with the
    v1 schema (logical types kept in the header). Returns the number of records."""
    parsed = load_schema(schema) if isinstance(schema, str) else fastavro.parse_schema(schema)
    count = 0

    def counted():
        nonlocal count
        for event in events:
            count += 1
            yield event

    with open(path, "wb") as fh:
        fastavro.writer(fh, parsed, counted(), codec="deflate")
    return count


def write_jsonl(path: str | os.PathLike, events: Iterable[dict]) -> int:
    """Write canonical events as JSON Lines (``.gz`` suffix: gzip). Returns the count."""
    path = Path(path)
    count = 0
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as fh:
        for event in events:
            fh.write(encode_json(event))
            fh.write(b"\n")
            count += 1
    return count


# --------------------------------------------------------------------------- dead letters

_LONG_DIGITS = re.compile(rb"\d{9,}")


def redact(payload: bytes) -> bytes:
    """Mask every run of 9 or more ASCII digits with ``#`` of the same length (citizen
    IDs, phone numbers). Other bytes are kept, so the record stays diagnosable."""
    return _LONG_DIGITS.sub(lambda m: b"#" * len(m.group()), bytes(payload))


def dead_letter_record(
    *,
    source: str,
    stage: str,
    code: str,
    reason: str,
    payload: bytes | str,
    event_id: str | None = None,
    dossier_id: str | None = None,
    received_at: int | None = None,
    dead_letter_id: str | None = None,
    schema_version: int = ev.SCHEMA_VERSION,
) -> dict:
    """A dead-letter dict matching ``dead_letter_v1.avsc``.

    ``payload`` is kept as given, except that a ``PERSONAL_DATA`` payload is
    :func:`redact`-ed (also ``event_id``/``dossier_id`` then). ``dead_letter_id`` defaults
    to a deterministic hash of source, stage, code and payload, so a replay of the same
    input yields the same id (the dead-letter table can deduplicate on it).
    ``received_at`` defaults to now (epoch millis)."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8", "surrogatepass")
    else:
        payload = bytes(payload)
    if code == "PERSONAL_DATA":
        payload = redact(payload)
        if event_id is not None:
            event_id = redact(event_id.encode()).decode()
        if dossier_id is not None:
            dossier_id = redact(dossier_id.encode()).decode()
    if dead_letter_id is None:
        h = hashlib.blake2b(digest_size=16)
        for part in (source.encode(), stage.encode(), code.encode(), payload):
            h.update(len(part).to_bytes(8, "little"))
            h.update(part)
        dead_letter_id = h.hexdigest()
    return {
        "dead_letter_id": dead_letter_id,
        "received_at": int(time.time() * 1000) if received_at is None else received_at,
        "source": source,
        "stage": stage,
        "code": code,
        "reason": reason[:2000],
        "event_id": event_id if event_id is None else str(event_id)[: ev.MAX_ID_LEN * 4],
        "dossier_id": dossier_id if dossier_id is None else str(dossier_id)[: ev.MAX_ID_LEN * 4],
        "payload": payload,
        "schema_version": schema_version,
    }


@lru_cache(maxsize=1)
def _dead_letter_registry() -> SchemaRegistry:
    return SchemaRegistry(DEAD_LETTER_SCHEMA)


def encode_dead_letter(record: dict) -> bytes:
    """Dead-letter dict -> Avro single-object encoding (``vn.motcua.DeadLetter``)."""
    return _dead_letter_registry().encode(record)


def decode_dead_letter(data: bytes) -> dict:
    """Inverse of :func:`encode_dead_letter` (None fields kept)."""
    return _dead_letter_registry().decode(data)
