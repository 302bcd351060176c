"""Wire codecs for dossier events: Avro single-object encoding, Avro container files and
JSON Lines, all to and from the canonical event form of :mod:`motcua.domain.events`
(a plain ``dict``, instants as ``int`` epoch milliseconds UTC, absent optionals omitted).

Avro single-object encoding (Avro spec, "Single object encoding")::

    C3 01 | 8-byte little-endian CRC-64-AVRO fingerprint of the writer schema's parsing
          | canonical form | Avro binary body (schemaless)

The fingerprint is looked up in a :class:`SchemaRegistry`; the body is resolved from the
writer schema to the v2 reader schema (v1 records resolve to it too), so producers may add optional fields (schema
evolution) without breaking us.

Decoding only checks the wire form. Contract rules are ``events.validate``'s job.
Errors raise :class:`DecodeError` with a stable ``code``: ``OVERSIZE``, ``BAD_JSON``,
``NOT_AN_OBJECT``, ``BAD_AVRO``, ``UNKNOWN_SCHEMA``, ``BAD_ENCODING`` (text that is not
UTF-8, named: UTF-16, an 8-bit code page, ...), ``DAMAGED_FILE`` (the unreadable tail of a
truncated or corrupt ``.gz`` / ``.avro`` / JSON document, see ``iter_file``).

Files (``iter_file``) never stop a replay on bad bytes: a UTF-8 BOM is skipped, UTF-16 and
UTF-32 text is decoded, a ``.json`` document (a JSON array, or one object) is read as
records as the gateway does, and the unreadable tail of a damaged file becomes one
:class:`Unreadable` record (a dead letter naming the file and the position) after every
readable record. A file whose name is no event format raises :class:`UnsupportedFile`.

Dead letters (``dead_letter_record``) never hold personal data: the payload is replaced by
a redacted JSON summary (``redact_payload``) and the reason and source are masked.
"""

from __future__ import annotations

import copy
import gzip
import hashlib
import io
import json
import os
import re
import time
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

import fastavro
import orjson
from fastavro.schema import to_parsing_canonical_form

from motcua.adapters.avro_reader import Reader, compile_reader
from motcua.domain import events as ev
from motcua.imports.textfiles import (
    _BOM,
    _DAMAGED,
    Unreadable,
    _Damage,
    _is_gz,
    _json_reason,
    _lines,
    _raw_chunks,
    _read_all,
    _text_codec,
    _utf8_chunks,
    encoding_problem,
)
from motcua.pipeline import batches
from motcua.settings import get_settings

__all__ = [
    "AVRO_MAGIC",
    "CODEC",
    "DEAD_LETTER_SCHEMA",
    "EVENT_SCHEMA",
    "Codec",
    "DecodeError",
    "SchemaRegistry",
    "Unreadable",
    "UnsupportedFile",
    "dead_letter_record",
    "decode_avro",
    "decode_dead_letter",
    "decode_json",
    "decode_record",
    "default_registry",
    "encode_avro",
    "encode_dead_letter",
    "encode_json",
    "file_kind",
    "fingerprint",
    "iter_file",
    "load_schema",
    "redact",
    "redact_payload",
    "redact_text",
    "schema_dir",
    "sniff_and_decode",
    "write_avro_file",
    "write_jsonl",
]

AVRO_MAGIC = b"\xc3\x01"
_HEADER_LEN = 10
EVENT_SCHEMA = "dossier_event_v2"  # what we write and read into
OLDER_EVENT_SCHEMAS = ("dossier_event_v1",)  # still read (resolved to v2): topics and files written before
DEAD_LETTER_SCHEMA = "dead_letter_v1"
MAX_EVENT_BYTES = ev.MAX_EVENT_BYTES

JSON_SUFFIXES = (".jsonl", ".json", ".ndjson")
AVRO_SUFFIXES = (".avro",)


class DecodeError(ValueError):
    """Bytes that are not a readable event. ``code`` is stable; ``reason`` is for humans."""

    stage = "decode"  # the dead letter's stage (``pipeline.batches.rejection``)

    def __init__(self, code: str, reason: str):
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


class UnsupportedFile(ValueError):
    """A file that is no event file by its name (``.jsonl``, ``.ndjson``, ``.json``,
    ``.avro``, each optionally ``.gz``). ``message`` is in Vietnamese, for the user;
    ``str()`` gives it in Vietnamese and English."""

    def __init__(self, path: str | os.PathLike):
        self.path = str(path)
        name = Path(path).name
        self.message = (
            f"không đọc được tệp {name}: chỉ nhận tệp sự kiện .jsonl, .ndjson, .json "
            f"hoặc .avro (có thể nén .gz)"
        )
        super().__init__(
            f"{self.message} / unsupported event file type: {name} "
            f"(want .jsonl, .ndjson, .json or .avro, optionally .gz)"
        )


# --------------------------------------------------------------------------- schemas


def schema_dir() -> Path:
    """Directory of the ``.avsc`` files: the setting ``schema_dir`` (``$MOTCUA_SCHEMA_DIR``,
    default the package's ``adapters/schemas``)."""
    return get_settings().schema_dir


@lru_cache(maxsize=64)
def _load_raw(path: str) -> dict:
    return orjson.loads(Path(path).read_bytes())


def _parse(schema: Any) -> dict:
    # Every schema here is a record schema, so fastavro parses it to a dict (its stub
    # declares any Avro schema: a name, a union list or a dict).
    return cast(dict, fastavro.parse_schema(schema))


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
    return _parse(copy.deepcopy(_load_raw(path)))


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
        if s[:1] in ("{", "[", '"'):
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
    __slots__ = ("fast", "fingerprint", "header", "plain", "schema")

    def __init__(self, fp: int, schema: dict, plain: dict):
        self.fingerprint = fp
        self.header = AVRO_MAGIC + fp.to_bytes(8, "little")
        self.schema = schema  # parsed, logical types kept (for container files)
        self.plain = plain  # parsed, logical types stripped (for the binary codec)
        self.fast: Reader | None = None  # compiled reader of the reader schema (see decode_canonical)


class SchemaRegistry:
    """Writer schemas known by fingerprint, and the reader schema they resolve to.

    ``register`` accepts a raw or parsed schema dict, JSON text, or a schema name from the
    schema directory, and returns the fingerprint (int). The reader schema (the v2 dossier
    event unless given) is always registered; the default one also reads v1 records."""

    def __init__(self, reader_schema: Any = EVENT_SCHEMA):
        self._by_header: dict[bytes, _Entry] = {}
        self._by_fp: dict[int, _Entry] = {}
        self.reader_fingerprint = self.register(reader_schema)
        self._reader = self._by_fp[self.reader_fingerprint]
        self._reader.fast = compile_reader(self._reader.plain)
        if reader_schema == EVENT_SCHEMA:
            for older in OLDER_EVENT_SCHEMAS:
                self.register(older)

    def register(self, schema: Any) -> int:
        raw = _clean(_as_schema_dict(schema), False)
        fp = _crc64_avro(to_parsing_canonical_form(raw).encode("utf-8"))
        if fp not in self._by_fp:
            entry = _Entry(fp, _parse(copy.deepcopy(raw)), _parse(_clean(raw, True)))
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
            raise DecodeError("BAD_AVRO", "không phải bản ghi Avro single-object (thiếu dấu C3 01 ở đầu)")
        entry = self._by_header.get(bytes(data[:_HEADER_LEN]))
        if entry is None:
            fp = int.from_bytes(data[2:_HEADER_LEN], "little")
            raise DecodeError(
                "UNKNOWN_SCHEMA", f"lược đồ Avro của bên gửi (dấu vân tay {fp:016x}) chưa được đăng ký"
            )
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
            raise DecodeError("BAD_AVRO", _avro_reason(exc)) from None
        if buf.tell() != len(data):
            raise DecodeError("BAD_AVRO", f"còn {len(data) - buf.tell()} byte thừa sau bản ghi Avro")
        if not isinstance(record, dict):
            raise DecodeError("NOT_AN_OBJECT", "nội dung Avro không phải một bản ghi (record)")
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
            raise DecodeError("BAD_AVRO", "bản ghi Avro bị cắt (thiếu byte ở cuối)") from None
        except ValueError as exc:  # incl. UnicodeDecodeError
            raise DecodeError("BAD_AVRO", _avro_reason(exc)) from None


def _avro_reason(exc: Exception) -> str:
    """A reason for an unreadable Avro body (the library's detail, masked: never a value)."""
    if isinstance(exc, (EOFError, IndexError)):
        return "bản ghi Avro bị cắt (thiếu byte ở cuối)"
    if isinstance(exc, UnicodeDecodeError):
        return f"bản ghi Avro có chuỗi không phải UTF-8 (byte thứ {exc.start + 1} của chuỗi)"
    return redact_text(f"không đọc được bản ghi Avro: {exc}")[:200]


@lru_cache(maxsize=1)
def default_registry() -> SchemaRegistry:
    """The process-wide registry (v2 dossier event, v1 also read)."""
    return SchemaRegistry()


# --------------------------------------------------------------------------- Avro


def encode_avro(event: dict, registry: SchemaRegistry | None = None) -> bytes:
    """Canonical event -> Avro single-object encoding with the v2 schema."""
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
        raise DecodeError("OVERSIZE", f"sự kiện dài {n} byte, quá giới hạn {MAX_EVENT_BYTES} byte")


_loads = orjson.loads
_JSONDecodeError = orjson.JSONDecodeError


def decode_json(line: bytes | str) -> dict:
    """One JSON object (a JSON Lines line) -> dict. Instants stay as given (ISO strings);
    ``events.validate`` parses them. A leading UTF-8 BOM is skipped; text that is not
    UTF-8 is ``BAD_ENCODING`` with the encoding named. Raises :class:`DecodeError`."""
    if len(line) > MAX_EVENT_BYTES // 4:
        _check_size(line)
    try:
        obj = _loads(line)
    except _JSONDecodeError as exc:
        obj = _retry_json(line, exc)
    if type(obj) is not dict:
        raise DecodeError("NOT_AN_OBJECT", f"{ev.kind_of(obj)}, không phải một đối tượng JSON {{...}}")
    return obj


def _retry_json(line, exc):
    """The error path of ``decode_json``: a BOM (skipped), an encoding (named), else BAD_JSON."""
    if isinstance(line, str):
        if line[:1] == "\ufeff":
            return decode_json(line[1:])
    else:
        line = bytes(line)
        if line[:3] == _BOM:
            return decode_json(line[3:])
        problem = encoding_problem(line)
        if problem is not None:
            raise DecodeError("BAD_ENCODING", f"dòng {problem}") from None
    raise DecodeError("BAD_JSON", _json_reason(exc)) from None


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
    if type(data) is Unreadable:
        raise DecodeError(data.code, data.reason)
    if len(data) > MAX_EVENT_BYTES:
        _check_size(data)
    if data[:2] == AVRO_MAGIC:
        return decode_avro(data, registry)
    return decode_json(data)


# --------------------------------------------------------------------------- files


def _suffix_kind(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    last = suffixes[-1] if suffixes else ""
    if last in JSON_SUFFIXES:
        return "json"
    if last in AVRO_SUFFIXES:
        return "avro"
    raise UnsupportedFile(path)


def _open_binary(path: Path):
    if _is_gz(path):
        return gzip.open(path, "rb")
    return open(path, "rb")


def _looks_like_document(head: bytes) -> bool:
    """A ``.json`` file that is a JSON document rather than JSON Lines: it starts with
    ``[``, or with ``{`` on a first line that is not a whole JSON value (pretty-printed)."""
    body = head.lstrip(b" \t\r\n")
    if body[:1] == b"[":
        return True
    if body[:1] != b"{":
        return False
    nl = body.find(b"\n")
    if nl < 0:
        return False  # one line (or a very long first line): JSON Lines
    try:
        _loads(body[:nl])
    except _JSONDecodeError:
        return True
    return False


def file_kind(path: str | os.PathLike) -> str:
    """How a file must be read: ``"avro"``; ``"json"`` when it is JSON Lines that ClickHouse
    can read line by line exactly as ``iter_file`` numbers the lines (UTF-8, a BOM allowed,
    plain or an intact gzip: the bulk replay's input); ``"json-python"`` for JSON that only
    ``iter_file`` reads (a ``.json`` document, UTF-16/UTF-32 text, a damaged ``.gz``).
    Raises :class:`UnsupportedFile` when the name is no event file. Reads the head of the
    file (a ``.gz`` whole, to check it)."""
    path = Path(path)
    if _suffix_kind(path) == "avro":
        return "avro"
    with open(path, "rb") as fh:
        chunks = _raw_chunks(path, fh)
        try:
            head = next(chunks, b"")
            if _text_codec(head) is not None:
                return "json-python"
            if path.name.lower().removesuffix(".gz").endswith(".json") and _looks_like_document(
                head[3:] if head[:3] == _BOM else head
            ):
                return "json-python"
            for _ in chunks:  # a damaged .gz stops ClickHouse: Python keeps its readable part
                pass
        except _Damage:
            return "json-python"
    return "json"


def _document(path: Path, chunks: Iterator[bytes]) -> Iterator[tuple[str, bytes]]:
    """A ``.json`` document, read as the gateway reads a JSON body: an array gives one
    record per item (``path:#n``, n from 1), anything else is one record (``path:#1``).
    A pretty-printed document that is not one JSON value is read as JSON Lines after all.
    The unreadable rest of a broken array becomes one :class:`Unreadable` record."""
    data, damage = _read_all(chunks)
    body = data.strip(b" \t\r\n")
    if body[:1] != b"[":
        if damage is None:
            try:
                _loads(body)
            except _JSONDecodeError:
                pass
            else:
                yield f"{path}:#1", body
                return
        yield from _lines(path, _then_damage([data], damage))
        return
    if damage is None:
        try:
            items = _loads(body)
        except _JSONDecodeError:
            items = None
        if type(items) is list:
            for n, item in enumerate(items, 1):
                yield f"{path}:#{n}", orjson.dumps(item)
            return
    yield from _salvage_array(path, body, damage)


def _then_damage(parts: list[bytes], damage: _Damage | None) -> Iterator[bytes]:
    yield from parts
    if damage is not None:
        raise damage


def _salvage_array(path: Path, body: bytes, damage: _Damage | None) -> Iterator[tuple[str, bytes]]:
    """The readable items of a broken JSON array (each as the text it was sent in), then
    one :class:`Unreadable` record for the rest."""
    try:
        text = body.decode("utf-8")
        bad_text = None
    except UnicodeDecodeError as exc:
        text = body[: exc.start].decode("utf-8")
        bad_text = encoding_problem(body)
    decoder = json.JSONDecoder()
    n, pos, end = 0, 1, len(text)
    why = None

    def skip(i: int) -> int:
        while i < end and text[i] in " \t\r\n":
            i += 1
        return i

    while True:
        pos = skip(pos)
        if pos >= end:
            why = bad_text or (
                damage.detail + f" ở byte {damage.offset}" if damage else "mảng JSON chưa đóng (thiếu ])"
            )
            break
        if text[pos] == "]":
            if skip(pos + 1) < end:
                why = "còn nội dung thừa sau dấu ] đóng mảng"
            break
        try:
            _item, stop = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            why = (
                bad_text
                if bad_text and exc.pos >= end - 1
                else f"mảng JSON hỏng ở dòng {exc.lineno}, cột {exc.colno}"
            )
            break
        n += 1
        yield f"{path}:#{n}", text[pos:stop].encode("utf-8")
        pos = skip(stop)
        if pos < end and text[pos] == ",":
            pos += 1
        elif pos < end and text[pos] != "]":
            line = text.count("\n", 0, pos) + 1
            why = f"thiếu dấu phẩy giữa các phần tử của mảng JSON (dòng {line})"
            break
    if why is not None:
        line = text.count("\n", 0, min(pos, end)) + 1
        rest = body[len(text[:pos].encode("utf-8")) :]
        yield (
            f"{path}:#{n + 1}",
            Unreadable(
                rest,
                "BAD_ENCODING" if why is bad_text else _DAMAGED,
                f"{why}: từ phần tử {n + 1} (dòng {line}) không đọc được nữa; {n} phần tử trước đó đã được đọc",
            ),
        )


def _avro_records(path: Path, fh, reg: SchemaRegistry) -> Iterator[tuple[str, bytes]]:
    try:
        blocks = fastavro.block_reader(fh)
        fp = reg.register(_clean(blocks.writer_schema, False))
    except Exception as exc:  # not an Avro container file, or its header is damaged
        yield (
            f"{path}:1",
            Unreadable(
                b"",
                _DAMAGED,
                f"không đọc được phần đầu tệp Avro ({_file_detail(exc)}): không có bản ghi nào được đọc",
            ),
        )
        return
    entry = reg._by_fp[fp]
    header, plain = entry.header, entry.plain
    read = fastavro.schemaless_reader
    n = 0
    block_iter = iter(blocks)
    while True:
        at = _tell(fh)
        try:
            block = next(block_iter)
        except StopIteration:
            return
        except Exception as exc:  # a truncated or corrupt block
            yield _avro_tail(path, n, at, exc)
            return
        # Walk the decompressed block with the logical-type-free writer schema to find
        # record boundaries; the record bytes are passed on untouched.
        bio = block.bytes_  # type: ignore[attr-defined]  # a BytesIO; fastavro's stub omits it
        buf = bio.getbuffer()
        try:
            start = bio.tell()
            for _ in range(block.num_records):
                try:
                    read(bio, plain, None)
                except Exception as exc:
                    yield _avro_tail(path, n, at, exc)
                    return
                end = bio.tell()
                n += 1
                yield f"{path}:{n}", header + buf[start:end]
                start = end
        finally:
            buf.release()


def _tell(fh) -> int | None:
    try:
        return fh.tell()
    except (OSError, ValueError):
        return None


def _file_detail(exc: Exception) -> str:
    if isinstance(exc, (EOFError, IndexError)):
        return "tệp bị cắt"
    return redact_text(f"{type(exc).__name__}: {exc}")[:160]


def _avro_tail(path: Path, n: int, at: int | None, exc: Exception) -> tuple[str, bytes]:
    where = f" ở byte {at}" if at is not None else ""
    return f"{path}:{n + 1}", Unreadable(
        b"",
        _DAMAGED,
        f"tệp Avro hỏng{where} ({_file_detail(exc)}): từ bản ghi {n + 1} không đọc được "
        f"nữa; {n} bản ghi trước đó đã được đọc",
    )


def iter_file(path: str | os.PathLike, registry: SchemaRegistry | None = None) -> Iterator[tuple[str, bytes]]:
    """Raw records of an event file as ``(source_ref, raw_bytes)``.

    * ``.jsonl`` / ``.ndjson`` / ``.json`` (optionally ``.gz``): one JSON object per line;
      ``source_ref`` is ``"path:lineno"`` (1-based), blank lines are skipped, the line
      ending is removed. A UTF-8 BOM is skipped; UTF-16 / UTF-32 text (by BOM or by its
      NUL pattern) is decoded to UTF-8 (other non-UTF-8 lines become ``BAD_ENCODING``
      dead letters that name the encoding, in ``decode_json``).
    * ``.json`` holding a JSON document (an array, or one pretty-printed object): read as
      the gateway reads a JSON body, one record per array item, ``"path:#n"`` (n from 1).
    * ``.avro`` object container file: each record re-encoded as an Avro single object
      with the file's writer schema (registered in ``registry`` so ``decode_avro`` can
      resolve it); ``source_ref`` is ``"path:n"`` (1-based record number).

    A truncated or corrupt file (``.gz``, ``.avro``, a JSON array) yields every readable
    record, then one :class:`Unreadable` record for the rest, whose reason names the
    position; nothing is raised for bad content. The name decides the format:
    :class:`UnsupportedFile` otherwise (raised when iteration starts).
    """
    path = Path(path)
    kind = _suffix_kind(path)
    if kind == "json":
        with open(path, "rb") as fh:
            chunks = _utf8_chunks(_raw_chunks(path, fh))
            if path.name.lower().removesuffix(".gz").endswith(".json"):
                try:
                    first, damage = next(chunks, b""), None
                except _Damage as dmg:
                    first, damage = b"", dmg
                chunks = _then_chunks(first, chunks) if damage is None else _then_damage([], damage)
                if _looks_like_document(first):
                    yield from _document(path, chunks)
                    return
            yield from _lines(path, chunks)
        return
    with _open_binary(path) as fh:
        yield from _avro_records(path, fh, registry or default_registry())


def _then_chunks(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest


def write_avro_file(path: str | os.PathLike, events: Iterable[dict], schema: Any = EVENT_SCHEMA) -> int:
    """Write canonical events to an Avro object container file (deflate codec) with the
    v2 schema (logical types kept in the header). Returns the number of records."""
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
    """Mask every run of 9 or more ASCII digits with ``#`` of the same length. (The old
    dead-letter redaction, kept for callers; dead letters now use ``redact_payload``.)"""
    return _LONG_DIGITS.sub(lambda m: b"#" * len(m.group()), bytes(payload))


def redact_text(text: str) -> str:
    """``text`` with everything that ``events.looks_personal`` would flag (citizen ID /
    phone numbers however written, e-mail addresses) replaced by ``<redacted>``."""
    if not text:
        return text
    plain = ev.ascii_digits(text)  # same length, so match positions hold for ``text``
    out, last = [], 0
    for m in ev.PERSONAL_VALUE.finditer(plain):
        out.append(text[last : m.start()])
        out.append("<redacted>")
        last = m.end()
    if not out:
        return text
    out.append(text[last:])
    return "".join(out)


_CODE_FIELDS = frozenset(ev.ENVELOPE_REQUIRED) - {"event_type", "unit_level", "occurred_at"}
_FIELD_KINDS: dict[str, Any] = {
    "event_type": ev.EVENT_TYPES,
    "unit_level": ev.UNIT_LEVELS,
    "occurred_at": "instant",
    "sequence": "int",
}
for _extras in ev.EXTRA_FIELDS.values():
    _FIELD_KINDS.update(_extras)
for _name in _CODE_FIELDS:
    _FIELD_KINDS[_name] = "code"
_TOKEN = re.compile(r"[A-Za-z0-9_.:/+\-]{1,64}")
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_INSTANT_TEXT = re.compile(r"[0-9T:.+\-Z]{1,40}")


def _marker(value: Any) -> Any:
    """What replaces a value that may be personal: its kind and size, never its content."""
    if value is None or type(value) is bool:
        return value
    if isinstance(value, str):
        return f"<redacted: string, {len(value)} characters>"
    if isinstance(value, (int, float)):
        return "<redacted: number>"
    if isinstance(value, dict):
        return f"<redacted: object, {len(value)} keys>"
    if isinstance(value, (list, tuple)):
        return f"<redacted: array, {len(value)} items>"
    return f"<redacted: {type(value).__name__}>"


def _safe_token(value: Any) -> bool:
    return type(value) is str and _TOKEN.fullmatch(value) is not None and not ev.looks_personal(value)


def _safe_number(value: Any) -> bool:
    return (type(value) is int or type(value) is float) and not ev.looks_personal(str(value))


def _redact_value(kind: Any, value: Any) -> Any:
    if value is None:
        return None
    if kind == "code" or type(kind) is tuple:  # codes and enum values (even wrong ones)
        return value if _safe_token(value) or _safe_number(value) else _marker(value)
    if kind == "bool":
        return value if type(value) is bool else _marker(value)
    if kind == "int" or kind == "status":
        return value if _safe_number(value) else _marker(value)
    if kind == "instant":
        if _safe_number(value):
            return value
        ok = type(value) is str and _INSTANT_TEXT.fullmatch(value) and not ev.looks_personal(value)
        return value if ok else _marker(value)
    if kind == "time_limit" and isinstance(value, dict):
        return _redact_object(value, {"value": "int", "unit": ev.TIME_LIMIT_UNITS})
    return _marker(value)  # free text, unknown fields, wrong shapes


def _redact_object(obj: dict, kinds: dict) -> dict:
    out: dict = {}
    for i, (key, value) in enumerate(obj.items()):
        kind = kinds.get(key)
        if kind is None:  # not a contract field: its value is never shown
            name = key if _KEY.fullmatch(key) and not ev.looks_personal(key) else f"<redacted key {i + 1}>"
            out[name] = value if value is None or type(value) is bool else _marker(value)
        else:
            out[key] = _redact_value(kind, value)
    return out


def redact_payload(payload: bytes) -> bytes:
    """The dead-letter form of rejected bytes: a JSON summary that keeps what an operator
    needs to fix the sender and nothing that may be personal.

    ``{"redacted": true, "format": "json"|"avro"|"text"|"binary", "bytes": <size>, ...}``
    with, for a JSON object or a decodable Avro record, ``"value"``: the same field names
    (a name that is no contract field and not a plain identifier becomes ``<redacted key
    n>``) with contract codes, enum values (also wrong ones), booleans, nulls, non-personal
    numbers and plain ISO instants kept, and every other value (free text, unknown fields,
    personal-looking values, wrong shapes) replaced by a marker giving its kind and size,
    e.g. ``"<redacted: string, 34 characters>"``. Avro adds the writer schema
    ``fingerprint``; other JSON gives only its kind; bytes that are no JSON give their size
    and whether they are UTF-8 (``"encoding"`` names the encoding otherwise)."""
    data = bytes(payload)
    out: dict[str, Any] = {"redacted": True, "format": "binary", "bytes": len(data)}
    try:
        if data[:2] == AVRO_MAGIC and len(data) >= _HEADER_LEN:
            out["format"] = "avro"
            out["fingerprint"] = data[2:_HEADER_LEN][::-1].hex()
            try:
                record = default_registry().decode(data)
            except DecodeError:
                out["value"] = f"<redacted: {max(len(data) - _HEADER_LEN, 0)} bytes>"
            else:
                out["value"] = _redact_object(record, _FIELD_KINDS)
            return orjson.dumps(out)
        body = data[3:] if data[:3] == _BOM else data
        try:
            obj = _loads(body)
        except _JSONDecodeError:
            problem = encoding_problem(body)
            if problem is None:
                out["format"] = "text"
                out["utf8"] = True
            else:
                out["format"] = "text" if _text_codec(body) is None or b"\x00" in body else "binary"
                out["utf8"] = False
                out["encoding"] = problem
            stripped = body.lstrip()
            if stripped[:1] in (b"{", b"["):
                out["starts_with"] = stripped[:1].decode()
            out["value"] = f"<redacted: {len(data)} bytes>"
            return orjson.dumps(out)
        out["format"] = "json"
        out["value"] = _redact_object(obj, _FIELD_KINDS) if type(obj) is dict else _marker(obj)
        return orjson.dumps(out)
    except Exception:  # never let a dead letter fail: the bare summary is always safe
        return orjson.dumps({"redacted": True, "format": "binary", "bytes": len(data)})


_POSITION = re.compile(r"#?[0-9]+")


def _redact_source(source: str) -> str:
    """A source reference with personal numbers masked in its name part (a file name may
    hold one), its position (the line, record or Kafka offset after the last ':') kept:
    positions tell records apart, so their dead-letter ids stay distinct."""
    head, sep, tail = source.rpartition(":")
    if sep and _POSITION.fullmatch(tail):
        return redact_text(head) + sep + tail
    return redact_text(source)


# A position the codec writes into a reason ("ở byte 123456789", "dòng 1200000000"): a
# count, never a value from the input (reasons quote none but ``events.shown`` ones).
_COUNTED = re.compile(r"(?:byte|dòng|bản ghi|phần tử|cột) [0-9]+(?![0-9]|[ .\-_/(][0-9])")


def _redact_reason(reason: str) -> str:
    """``redact_text`` for a reason, keeping the positions the codec writes in it."""
    keep = [m.span() for m in _COUNTED.finditer(reason)]
    if not keep:
        return redact_text(reason)
    out, last = [], 0
    for start, end in keep:
        out.append(redact_text(reason[last:start]))
        out.append(reason[start:end])
        last = end
    out.append(redact_text(reason[last:]))
    return "".join(out)


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
    """A dead-letter dict matching ``dead_letter_v1.avsc``, with nothing personal in it.

    ``payload`` is stored as :func:`redact_payload` summarises it (never the bytes that
    arrived); ``reason`` and ``source`` have personal-looking values masked
    (:func:`redact_text`; the position at the end of ``source`` is kept);
    ``event_id``/``dossier_id`` are kept only when they are plain non-personal codes
    (None otherwise). ``dead_letter_id`` defaults to a deterministic
    hash of source, stage, code and the redacted payload, so a replay of the same input
    yields the same id (the dead-letter table can deduplicate on it).
    ``received_at`` defaults to now (epoch millis)."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8", "surrogatepass")
    payload = redact_payload(payload)
    source = _redact_source(source)
    reason = _redact_reason(reason)
    event_id = event_id if _safe_token(event_id) else None
    dossier_id = dossier_id if _safe_token(dossier_id) else None
    if dead_letter_id is None:
        h = hashlib.blake2b(digest_size=16)
        for part in (source.encode("utf-8", "surrogatepass"), stage.encode(), code.encode(), payload):
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
        "event_id": event_id,
        "dossier_id": dossier_id,
        "payload": payload,
        "schema_version": schema_version,
    }


@lru_cache(maxsize=1)
def _dead_letter_registry() -> SchemaRegistry:
    return SchemaRegistry(DEAD_LETTER_SCHEMA)


def encode_dead_letter(record: dict) -> bytes:
    """Dead-letter dict -> Avro single-object encoding (``vn.motcua.DeadLetter``)."""
    return _dead_letter_registry().encode(record)


class Codec:
    """This module as the service layer's ``pipeline.ports.Codec``."""

    decode = staticmethod(sniff_and_decode)
    dead_letter = staticmethod(dead_letter_record)


CODEC = Codec()


def decode_record(raw: bytes | dict, now_ms: int | None) -> dict:
    """Bytes or a decoded dict -> a valid event (``pipeline.batches.decode_record`` with
    this codec). Raises ``DecodeError`` / ``InvalidEvent``."""
    return batches.decode_record(raw, now_ms, CODEC)


def decode_dead_letter(data: bytes) -> dict:
    """Inverse of :func:`encode_dead_letter` (None fields kept)."""
    return _dead_letter_registry().decode(data)


def raw_schema(name: str) -> dict:
    """The ``.avsc`` file ``name`` as written (not parsed by fastavro): docs, logical types."""
    return copy.deepcopy(_load_raw(str(_schema_path(name))))
