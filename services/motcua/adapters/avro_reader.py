"""A fast Avro binary reader for one record schema, compiled to straight-line Python.

Why: ``fastavro.schemaless_reader`` reads every primitive through ``file.read`` and sets
up named schemas and options on every call: ~15 us for one 31-field dossier event, a
third of the live processor's CPU per event. The events of the contract are flat records
of strings, longs, ints, booleans, enums and ``["null", X]`` unions, which a generated
function reads from a ``bytes`` object by index in ~4 us.

The reader is deliberately *stricter* than fastavro and never more lenient: whatever it
accepts, fastavro decodes to the same record (tests/unit/adapters/test_avro_reader.py checks this
on valid and on mutated encodings). It rejects what the Avro spec calls invalid but
fastavro lets through: union and enum indexes out of range (fastavro wraps negative ones
around), booleans other than 0/1, negative lengths, varints longer than 64 bits, and
non-minimal encodings of a union index. Unions are accepted only as ``["null", X]`` in
that order; any other schema feature (arrays, maps, floats, bytes, fixed, logical types,
other unions) makes ``compile_reader`` return None and the caller keeps fastavro.

The compiled function returns the record with null fields left out (the canonical event
form), and raises ``ValueError`` (or ``IndexError`` for truncated input) on bad bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Reader = Callable[[bytes, int], dict]

_PRIMITIVE = ("string", "long", "int", "boolean")


class Unsupported(Exception):
    pass


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """Zig-zag varint at ``pos`` (any length up to 64 bits) -> (value, next position)."""
    n = 0
    shift = 0
    while True:
        b = data[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        if not b & 0x80:
            break
        shift += 7
        if shift > 63:
            raise ValueError("varint longer than 64 bits")
    if n >> 64:
        raise ValueError("varint longer than 64 bits")
    return (n >> 1) ^ -(n & 1), pos


class _Gen:
    """Emits the body of ``read(data, pos)``; one local ``b`` byte, one ``n`` integer."""

    def __init__(self, named: dict[str, Any]):
        self.named = named
        self.lines: list[str] = []
        self.consts: dict[str, Any] = {}
        self.counter = 0

    def emit(self, indent: int, line: str) -> None:
        self.lines.append("    " * indent + line)

    def const(self, value: Any) -> str:
        name = f"_C{len(self.consts)}"
        self.consts[name] = value
        return name

    def resolve(self, schema: Any) -> Any:
        if isinstance(schema, str) and schema not in _PRIMITIVE and schema != "null":
            if schema not in self.named:
                raise Unsupported(f"unknown named type {schema}")
            return self.named[schema]
        return schema

    def long(self, indent: int, target: str) -> None:
        """Read a zig-zag varint into ``target`` (1-byte fast path inline)."""
        self.emit(indent, "b = data[pos]")
        self.emit(indent, "if b < 0x80:")
        self.emit(indent + 1, f"{target} = (b >> 1) ^ -(b & 1)")
        self.emit(indent + 1, "pos += 1")
        self.emit(indent, "else:")
        self.emit(indent + 1, f"{target}, pos = _varint(data, pos)")

    def value(self, schema: Any, indent: int, target: str) -> None:
        """Read one value of ``schema`` and assign it to the expression ``target``."""
        schema = self.resolve(schema)
        kind = schema if isinstance(schema, str) else schema.get("type") if isinstance(schema, dict) else None
        if isinstance(schema, dict) and schema.get("logicalType"):
            raise Unsupported("logical types")
        if isinstance(schema, list):
            self.union(schema, indent, target)
        elif kind == "string":
            self.long(indent, "n")
            self.emit(indent, "if n < 0 or pos + n > end:")
            self.emit(indent + 1, "raise ValueError('string length out of range')")
            self.emit(indent, f"{target} = data[pos:pos + n].decode()")
            self.emit(indent, "pos += n")
        elif kind in ("long", "int"):
            self.long(indent, target)
        elif kind == "boolean":
            self.emit(indent, "b = data[pos]")
            self.emit(indent, "if b > 1:")
            self.emit(indent + 1, "raise ValueError('boolean byte not 0 or 1')")
            self.emit(indent, f"{target} = b == 1")
            self.emit(indent, "pos += 1")
        elif kind == "enum":
            symbols = self.const(tuple(schema["symbols"]))
            self.long(indent, "n")
            self.emit(indent, f"if n < 0 or n >= {len(schema['symbols'])}:")
            self.emit(indent + 1, "raise ValueError('enum index out of range')")
            self.emit(indent, f"{target} = {symbols}[n]")
        elif kind == "record":
            self.counter += 1
            local = f"r{self.counter}"
            self.emit(indent, f"{local} = {{}}")
            self.fields(schema, indent, local)
            self.emit(indent, f"{target} = {local}")
        else:
            raise Unsupported(f"type {kind!r}")

    def union(self, branches: list, indent: int, target: str) -> None:
        if len(branches) != 2 or branches[0] != "null":
            raise Unsupported("unions other than [null, X]")
        self.emit(indent, "b = data[pos]")
        self.emit(indent, "pos += 1")
        self.emit(indent, "if b == 2:")
        self.value(branches[1], indent + 1, target)
        self.emit(indent, "elif b:")
        self.emit(indent + 1, "raise ValueError('union index out of range')")

    def fields(self, record: dict, indent: int, rec: str) -> None:
        for f in record["fields"]:
            self.value(f["type"], indent, f"{rec}[{f['name']!r}]")


def _named_types(schema: Any, out: dict[str, Any]) -> None:
    if isinstance(schema, list):
        for s in schema:
            _named_types(s, out)
    elif isinstance(schema, dict):
        if schema.get("type") in ("record", "enum", "fixed") and "name" in schema:
            out[schema["name"]] = schema
        for f in schema.get("fields", ()):
            _named_types(f["type"], out)


def compile_reader(schema: dict) -> Reader | None:
    """``read(data, pos) -> record`` for a fastavro-parsed record schema (logical types
    stripped), reading from ``pos`` to exactly the end of ``data``; None when the schema
    uses something this reader does not support."""
    if not isinstance(schema, dict) or schema.get("type") != "record":
        return None
    named: dict[str, Any] = {}
    _named_types(schema, named)
    gen = _Gen(named)
    gen.emit(1, "end = len(data)")
    gen.emit(1, "rec = {}")
    try:
        gen.fields(schema, 1, "rec")
    except Unsupported:
        return None
    gen.emit(1, "if pos != end:")
    gen.emit(2, "raise ValueError(f'{end - pos} trailing bytes after the record')")
    gen.emit(1, "return rec")
    source = "def read(data, pos):\n" + "\n".join(gen.lines) + "\n"
    namespace: dict[str, Any] = {"_varint": _varint, **gen.consts}
    exec(compile(source, f"<avro reader {schema.get('name')}>", "exec"), namespace)
    read = namespace["read"]
    read.source = source  # for debugging and tests
    return read
