"""Text files read robustly: what the event codec and the readers of province formats share.

A file is read as chunks (``.gz`` decompressed as it goes), then as UTF-8 (a UTF-8 BOM
removed, UTF-16/UTF-32 decoded), then as lines; a damaged part (a truncated ``.gz``, bytes
that are no text) stops the reading and becomes one :class:`Unreadable` record after every
readable one, never an exception that stops a replay or an import. Lives below the
adapters so that both the codec (``adapters.codec``) and the DVCQG reader
(``imports.dvcqg``) use it without an import cycle.
"""

from __future__ import annotations

import codecs
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import cast

from motcua.domain.events import MAX_EVENT_BYTES


class Unreadable(bytes):
    """A part of a file that ``iter_file`` could not read (the damaged tail of a truncated
    ``.gz``/``.avro``, a broken JSON document): yielded like a record, after every readable
    one, so it becomes a dead letter with its file position. Its bytes are the unreadable
    part (at most ``MAX_EVENT_BYTES``); decoding it raises ``DecodeError(code, reason)``."""

    code: str
    reason: str

    def __new__(cls, data: bytes, code: str, reason: str):
        obj = super().__new__(cls, bytes(data)[:MAX_EVENT_BYTES])
        obj.code = code
        obj.reason = reason
        return obj


_BOM = b"\xef\xbb\xbf"


# orjson's messages (they never quote the input) in words for people.
_JSON_MESSAGES = (
    ("unexpected end of data", "dòng kết thúc giữa chừng (bị cắt?)"),
    ("unexpected content after document", "còn nội dung thừa sau đối tượng JSON"),
    ("zero-length", "dòng rỗng"),
    ("input data is empty", "dòng rỗng"),
    ("trailing comma", "dấu phẩy thừa trước } hoặc ]"),
    ("invalid literal", "giá trị không hợp lệ (JSON chỉ có chuỗi, số, true, false, null)"),
    ("expected ':'", "thiếu dấu : sau tên trường"),
    ("expected a JSON value", "thiếu giá trị hoặc giá trị không hợp lệ"),
    ("surrogate", "chuỗi có mã \\u không hợp lệ"),
    ("control character", "chuỗi có ký tự điều khiển chưa thoát"),
    ("unexpected character", "ký tự không đúng cú pháp JSON"),
)


def _json_reason(exc: Exception) -> str:
    msg = getattr(exc, "msg", str(exc))
    words = next((vn for en, vn in _JSON_MESSAGES if en in msg), "sai cú pháp JSON")
    col = getattr(exc, "colno", None)
    return f"không phải JSON hợp lệ: {words}" + (f" (cột {col})" if col else "")


def encoding_problem(data: bytes) -> str | None:
    """Why ``data`` (one line or the head of a file) is not UTF-8 text, naming the
    encoding it seems to be in; None when it is valid UTF-8 without NUL bytes."""
    data = bytes(data)
    if data[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"):
        return "mã hóa UTF-32, cần UTF-8"
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or _nul_pattern(data):
        return 'mã hóa UTF-16 (kiểu "Unicode" của Windows/Excel), cần UTF-8'
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data" and exc.start >= len(data) - 3 and len(data) >= 4096:
            return None  # a head cut inside a character
        byte = data[exc.start]
        return (
            f"không phải UTF-8 (byte 0x{byte:02X} ở vị trí {exc.start + 1}): có vẻ mã hóa bằng một bảng "
            f"mã 8 bit như Windows-1258, Latin-1 (Windows-1252) hoặc TCVN3; hãy lưu lại ở dạng UTF-8"
        )
    return None


def _nul_pattern(data: bytes) -> str | None:
    """ "utf-16-le"/"utf-16-be"/"utf-32-le"/"utf-32-be" when NUL bytes fall where that
    encoding puts the zero half of ASCII characters (text without a BOM)."""
    sample = data[:4096]
    if sample.count(0) * 4 < len(sample) or len(sample) < 4:
        return None
    by_mod = [sample[i::4].count(0) for i in range(4)]
    quarter = len(sample) / 4
    if min(by_mod[1:]) > 0.6 * quarter and by_mod[0] < 0.4 * quarter:
        return "utf-32-le"
    if min(by_mod[:3]) > 0.6 * quarter and by_mod[3] < 0.4 * quarter:
        return "utf-32-be"
    odd, even = by_mod[1] + by_mod[3], by_mod[0] + by_mod[2]
    if odd > 0.6 * 2 * quarter and even < 0.2 * 2 * quarter:
        return "utf-16-le"
    if even > 0.6 * 2 * quarter and odd < 0.2 * 2 * quarter:
        return "utf-16-be"
    return None


_CHUNK = 1 << 20


_DOC_LIMIT = 1 << 30  # a .json document is read whole, as the gateway reads a body


_DAMAGED = "DAMAGED_FILE"


def _nul_for_undecodable(exc: UnicodeError) -> tuple[str, int]:
    # An undecodable spot in UTF-16/32 text becomes NUL: its line is then no JSON (a dead
    # letter), never a value with a replacement character in it. Only decoders use this
    # handler, so ``exc`` is a UnicodeDecodeError.
    return "\x00", cast(UnicodeDecodeError, exc).end


codecs.register_error("motcua-nul", _nul_for_undecodable)


def _is_gz(path: Path) -> bool:
    return path.suffix.lower() == ".gz"


class _Damage(Exception):
    """A stream that cannot be read on from ``offset`` (bytes of the file)."""

    def __init__(self, offset: int, detail: str):
        super().__init__(detail)
        self.offset = offset
        self.detail = detail


def _plain_chunks(fh) -> Iterator[bytes]:
    while True:
        data = fh.read(_CHUNK)
        if not data:
            return
        yield data


def _gunzip(fh) -> Iterator[bytes]:
    """The decompressed bytes of a gzip file (several members allowed, zero padding
    after them too), in chunks. A truncated or corrupt stream yields everything readable
    before the damage, then raises :class:`_Damage` with the compressed offset."""
    d = zlib.decompressobj(31)
    fed = False  # the current member has had input
    offset = 0  # compressed bytes consumed
    while True:
        data = fh.read(_CHUNK)
        if not data:
            if fed and not d.eof:
                raise _Damage(offset, "tệp nén .gz bị cắt (thiếu phần cuối)")
            return
        while data:
            if not fed:
                stripped = data.lstrip(b"\x00")
                offset += len(data) - len(stripped)
                data = stripped
                if not data:
                    break
            try:
                out = d.decompress(data, _CHUNK)
            except zlib.error as exc:
                raise _Damage(offset, f"dữ liệu nén .gz bị hỏng ({exc}) trong đoạn bắt đầu") from None
            fed = True
            if out:
                yield out
            if d.eof:
                rest = d.unused_data
                offset += len(data) - len(rest)
                data = rest
                d, fed = zlib.decompressobj(31), False
            else:
                rest = d.unconsumed_tail
                offset += len(data) - len(rest)
                data = rest


def _text_codec(head: bytes) -> str | None:
    """The codec that turns a file starting with ``head`` into text, when it is not
    UTF-8: UTF-16 or UTF-32 by BOM or by the NUL pattern of ASCII text."""
    if head[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"):
        return "utf-32"
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "utf-16"
    return _nul_pattern(head)


def _utf8_chunks(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """A file's chunks as UTF-8: a UTF-8 BOM removed, UTF-16/UTF-32 text decoded."""
    first = b""
    for chunk in chunks:
        first += chunk
        if len(first) >= 4:
            break
    codec = _text_codec(first)
    if codec is None:
        if first[:3] == _BOM:
            first = first[3:]
        if first:
            yield first
        yield from chunks
        return
    decoder = codecs.getincrementaldecoder(codec)(errors="motcua-nul")
    yield decoder.decode(first).encode("utf-8")
    for chunk in chunks:
        yield decoder.decode(chunk).encode("utf-8")
    yield decoder.decode(b"", True).encode("utf-8")


def _raw_chunks(path: Path, fh) -> Iterator[bytes]:
    return _gunzip(fh) if _is_gz(path) else _plain_chunks(fh)


def _lines(path: Path, chunks: Iterator[bytes]) -> Iterator[tuple[str, bytes]]:
    """JSON Lines records of a stream of UTF-8 chunks, numbered like ``for line in fh``;
    the damaged tail of the stream becomes one :class:`Unreadable` record."""
    lineno = 0
    pending: list[bytes] = []
    try:
        for chunk in chunks:
            parts = chunk.split(b"\n")
            if len(parts) == 1:
                pending.append(chunk)
                continue
            if pending:
                pending.append(parts[0])
                parts[0] = b"".join(pending)
            last = parts.pop()
            pending = [last] if last else []
            for line in parts:
                lineno += 1
                line = line.rstrip(b"\r")
                if not line or line.isspace():
                    continue
                yield f"{path}:{lineno}", line
    except _Damage as dmg:
        lineno += 1
        rest = b"".join(pending)
        part = f" (dòng {lineno} chỉ còn {len(rest)} byte đầu)" if rest else ""
        before = "các dòng trước đó đã được đọc" if lineno > 1 else "không đọc được dòng nào"
        yield (
            f"{path}:{lineno}",
            Unreadable(
                rest,
                _DAMAGED,
                f"{dmg.detail} ở byte {dmg.offset} của tệp: từ dòng {lineno} không đọc "
                f"được nữa{part}; {before}",
            ),
        )
        return
    if pending:
        lineno += 1
        line = b"".join(pending).rstrip(b"\r")
        if line and not line.isspace():
            yield f"{path}:{lineno}", line


def _read_all(chunks: Iterator[bytes]) -> tuple[bytes, _Damage | None]:
    parts, size = [], 0
    try:
        for chunk in chunks:
            parts.append(chunk)
            size += len(chunk)
            if size > _DOC_LIMIT:
                return b"".join(parts), _Damage(size, f"tài liệu JSON lớn hơn {_DOC_LIMIT} byte")
    except _Damage as dmg:
        return b"".join(parts), dmg
    return b"".join(parts), None
