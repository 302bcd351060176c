"""Bulk replay of JSON Lines files inside ClickHouse (the embedded store's fast path).

``motcua replay`` of large files spends most of its time in per-event Python (JSON
parsing, validation, the fold, building insert columns). This adapter does the same work
as set operations inside ClickHouse for the records where that is *provably the same*:

1. ClickHouse reads the files itself (``file()``, LineAsString, numbered like
   ``codec.iter_file``) into a Memory scratch table, one row per line.
2. A line is *fast* when a strict shape check in SQL shows that
   ``decode_record`` would accept it unchanged (known keys of its type only, no nulls,
   no escapes, no floats or negative numbers, enums and lengths right, instants in a
   strict ISO-8601 form, nothing that could be personal data, nothing in the future).
   Anything else, including every line that would be rejected, is *slow*: the Python
   pipeline decides about it with the normal code, so every rejection and every dead
   letter comes from the one validator.
3. Dossiers are split: a dossier goes to Python when any of its accepted events is slow
   or when the store already has events of it (its "old" facts then come from the
   store, as always). Every other dossier is folded here in SQL: the semilattice fold
   (least / greatest event per slot by (sequence, occurred_at, event_id)), the latest
   SNAPSHOT read over the other events (``lifecycle.effective_state``; snapshots are
   ranked in arrival order, as the Python fold stamps them, and stored with their rank),
   supplement pauses (a PROCESSING that ``resumes`` closes one), due dates on the
   working-day calendar (two Join tables read with ``joinGet``), outcome, apology: the
   SQL mirror of ``domain.lifecycle.derive_facts`` (with the procedure catalogue's flags
   where the RECEIVED line leaves them out, as ``pipeline.dossiers.facts_of``), and its
   contributions and backlog key, mirrors of ``domain.metrics``. Property tests replay
   random histories, snapshots included, both ways and require identical tables.
4. Writes go per bucket of dossiers in the pipeline's order (rollup, backlog, states,
   events), each insert one block with a token from the bucket's events (the bucket
   count depends on the input's line count only). A crash leaves the
   buckets whose events landed (their dossiers go to Python on the rerun and change
   nothing) and one bucket whose inserts repeat with the same tokens (dropped).

Only the embedded store can read local files with ``file()``; a server store and Avro
files take the Python path.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..domain import events as ev
from ..domain.calendar import MS_PER_DAY, MS_PER_HOUR, VN_OFFSET_MS, WorkingCalendar
from ..domain.lifecycle import ENDED_STATUSES, FAR_FUTURE_MS, NEUTRAL_ENDS, ONLINE_METHODS
from ..domain.metrics import ALWAYS_OVERDUE, COUNTERS, NEVER_OVERDUE
from .clickhouse_store import STATE_COLUMNS

_EPOCH_ORDINAL = 719163  # date(1970, 1, 1).toordinal()
DAY_MS, VN_MS = MS_PER_DAY, VN_OFFSET_MS  # short names for the SQL below
BUCKET_EVENTS = 1_000_000  # input lines per write bucket (one insert block each; MergeTree sorts it)
# Instants the SQL path handles: 2011-01-01 .. 2035-01-01, and time limits below 1,000: a
# part of what the contract accepts (domain.events), so every due date falls inside the
# calendar's years (2010-2070) here as in Python.
MIN_MS, MAX_MS = 1293840000000, 2051222400000
MAX_LINE = 16_384

# Short-circuit evaluation of if/multiIf inside array lambdas costs ~15x here; every
# function in these queries is total (…OrZero variants), so evaluating all branches is safe.
_EAGER = {"max_threads": 1, "short_circuit_function_evaluation": "disable"}
_ONE_BLOCK = {
    **_EAGER,
    "max_insert_threads": 1,
    "max_block_size": 1 << 20,
    "min_insert_block_size_rows": 1 << 30,
    "min_insert_block_size_bytes": 1 << 34,
    "max_insert_block_size": 1 << 30,
    "optimize_on_insert": 0,
}


def _q(s: str) -> str:
    """A SQL string literal of a constant from this module (never from input)."""
    body = s.replace("\\", "\\\\").replace("'", "\\'")
    return "'" + "".join(f"\\x{ord(ch):02x}" if ord(ch) < 0x20 else ch for ch in body) + "'"


def _arr(values) -> str:
    return "[" + ", ".join(_q(v) for v in values) + "]"


# -- the fast-shape check -------------------------------------------------------------

_STRINGS = (
    "event_id",
    "dossier_id",
    "source_system",
    "province_code",
    "unit_code",
    "procedure_code",
    "field_code",
)
_ISO = r'^"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{3})?(Z|[+-](0[0-9]|1[0-4]):[0-5][0-9])"$'
_OFFSET = r'[+-][0-9]{2}:[0-9]{2}"$'
_BAD_CHARS = r"[\x00-\x1f\\]"  # control characters or any escape: Python decides
# A value that is a negative, fractional or exponent number, or has a leading zero (a
# string cannot contain '":' since quotes would need an escape, and escapes are excluded).
_NOT_PLAIN_NUMBER = r'":[ ]*(-|[0-9]+[.eE]|0[0-9])'
_LINE_END = "\r\n"  # bytes.rstrip(b"\r\n")
_BLANK = " \t\n\r\x0b\x0c"  # bytes.isspace()
_UINT = r"^[0-9]{1,15}$"


def _raw(name: str) -> str:
    return f"kv.2[indexOf(kv.1, {_q(name)})]"


def _offset_seconds_of(r: str) -> str:
    """Seconds east of UTC of the offset of a raw ISO instant ``r`` (0 for Z)."""
    return (
        f"if(match({r}, {_q(_OFFSET)}), "
        f"(if(substring({r}, length({r}) - 6, 1) = '-', -1, 1) * "
        f"(toInt32OrZero(substring({r}, length({r}) - 5, 2)) * 3600 + toInt32OrZero(substring({r}, length({r}) - 2, 2)) * 60)), 0)"
    )


def _instant_ms_of(r: str) -> str:
    """Epoch millis of a raw instant ``r`` (a plain integer or a quoted ISO string)."""
    return (
        f"if(match({r}, {_q(_UINT)}), toInt64OrZero({r}), "
        f"toUnixTimestamp64Milli(parseDateTime64BestEffortOrZero(substring({r}, 2, length({r}) - 2), 3, 'UTC')))"
    )


def _instant_ms(name: str) -> str:
    return _instant_ms_of(_raw(name))


def _instant_ok_of(r: str) -> str:
    """A raw instant is a plain integer, or an ISO string that round-trips (a real date
    and time), and falls in the SQL path's years."""
    return (
        f"((match({r}, {_q(_UINT)}) OR formatDateTime(parseDateTime64BestEffortOrZero("
        f"substring({r}, 2, length({r}) - 2), 3, 'UTC') + toIntervalSecond({_offset_seconds_of(r)}), "
        f"'%Y-%m-%dT%H:%i:%S') = substring({r}, 2, 19)) AND {_instant_ms_of(r)} BETWEEN {MIN_MS} AND {MAX_MS})"
    )


def _kinds() -> dict[str, str | tuple[str, ...]]:
    """Every field name of the contract and its kind ("id": an envelope identifier; a
    tuple: the values of an enum)."""
    kinds: dict[str, str | tuple[str, ...]] = dict.fromkeys(_STRINGS, "id")
    kinds.update(event_type=ev.EVENT_TYPES, unit_level=ev.UNIT_LEVELS, occurred_at="instant", sequence="int")
    for extras in ev.EXTRA_FIELDS.values():
        for name, kind in extras.items():
            kind = "int" if kind == "status" else kind  # a 1..10 code: typed_conditions bounds it
            assert kinds.setdefault(name, kind) == kind, name  # one kind per name
    return kinds


# The event types and fields the SQL fold below knows: all of contract v2's. A SNAPSHOT
# line that already carries its ``snapshot_rank`` (a stored event replayed) is left to
# Python, which stamps the others the way the fold below ranks them (arrival order).
SQL_TYPES = tuple(ev.EXTRA_FIELDS)
SQL_KEPT = {t: ev.KEPT_FIELDS[t] - {ev.RANK_FIELD} for t in SQL_TYPES}


_TIME_UNITS = "|".join(ev.TIME_LIMIT_UNITS)
# concatenated rather than formatted: the regex keeps its braces as they are
_TIME_LIMIT = (
    r'^\{("value":[0-9]{1,3},"unit":"('
    + _TIME_UNITS
    + r')"|"unit":"('
    + _TIME_UNITS
    + r')","value":[0-9]{1,3})\}$'
)
_INSTANT_SHAPE = _UINT + "|" + _ISO


_NAMES = tuple(sorted(_kinds()))  # field i of the contract is bit i + 1 of a key mask; bit 0: unknown
_KIND_CODES = {"id": 1, "enum": 2, "bool": 3, "int": 4, "instant": 5, "code": 6, "time_limit": 7, "text": 8}
# An identifier or code that validate keeps as it is: plain ASCII code characters (so no
# whitespace, '@', escape or non-ASCII digit) and no personal number (the same pattern
# as events.looks_personal, in RE2; e-mails need '@').
_CODE_SHAPE = '^"[A-Za-z0-9._:/-]{1,' + str(ev.MAX_ID_LEN) + '}"$'
_CODE = f"match(v, {_q(_CODE_SHAPE)}) AND NOT match(v, {_q(ev.personal_number_pattern('re2'))})"


def _mask(names) -> int:
    return sum(1 << (_NAMES.index(n) + 1) for n in set(names))


def key_mask_sql() -> str:
    """The key mask of a line: one bit per contract field present (bit 0: unknown keys).
    As a sum of powers of two, its popcount equals the number of keys exactly when no
    key repeats."""
    bits = ", ".join(str(i + 1) for i in range(len(_NAMES)))
    return (
        f"arraySum(arrayMap(k -> bitShiftLeft(toUInt64(1), transform(k, {_arr(_NAMES)}, [{bits}], 0)), kv.1))"
    )


def kind_codes_sql() -> str:
    """Per key of ``kv``: the kind code of the field (0: not a contract field)."""
    kinds = _kinds()
    codes = [_KIND_CODES["enum" if isinstance(k, tuple) else k] for k in (kinds[n] for n in _NAMES)]
    return f"arrayMap(k -> transform(k, {_arr(_NAMES)}, [{', '.join(map(str, codes))}], 0), kv.1)"


def _kind_checks() -> list[str]:
    """Every value has the kind of its key: one pass per kind over the values of that kind
    (``kc``: the kind codes of the keys)."""
    kinds = _kinds()
    enum_pairs = [f'{n}="{v}"' for n in _NAMES if isinstance(kinds[n], tuple) for v in kinds[n]]
    checks = {
        "id": _CODE,
        "code": _CODE,
        "text": "false",  # free text is dropped by validate: such a line is not as it is
        "bool": "v IN ('true', 'false')",
        "int": f"match(v, {_q(_UINT)})",
        "instant": f"match(v, {_q(_INSTANT_SHAPE)})",
        "time_limit": f"match(v, {_q(_TIME_LIMIT)})",
    }
    out = [
        f"arrayAll(v -> {check}, arrayFilter((v, c) -> c = {_KIND_CODES[kind]}, kv.2, kc))"
        for kind, check in checks.items()
    ]
    out.append(
        f"arrayAll(p -> has({_arr(enum_pairs)}, p), "
        f"arrayMap((k, v) -> concat(k, '=', v), arrayFilter((k, c) -> c = {_KIND_CODES['enum']}, kv.1, kc), "
        f"arrayFilter((v, c) -> c = {_KIND_CODES['enum']}, kv.2, kc)))"
    )
    return out


def fast_conditions() -> list[str]:
    """SQL conditions over ``line`` (String) and ``kv`` (JSONExtractKeysAndValuesRaw(line)),
    with ``et`` the event type, ``km`` the key mask and ``kc`` the kind codes of the keys,
    all true when ``decode_record`` would accept the line as it is. The key mask checks
    the key set against the event type (free text is no kept key); one pass over the pairs
    checks each value's kind; the line must be compact (what ``orjson`` writes of what it
    reads), so that storing it as it is equals ``ingest._payload``."""
    types = list(SQL_TYPES)
    keep = [str(_mask(SQL_KEPT[t])) for t in types]
    required = [str(_mask(ev.ENVELOPE_REQUIRED + ev.REQUIRED_EXTRAS.get(t, ()))) for t in types]
    did = _raw("dossier_id")
    return [
        f"length(line) <= {MAX_LINE} AND startsWith(line, '{{') AND endsWith(line, '}}')",
        f"isValidUTF8(line) AND NOT match(line, {_q(_BAD_CHARS + '|' + _NOT_PLAIN_NUMBER)})",
        # keys: no repeats, none unknown, all of the type's own, every required one there
        "length(kv) > 0 AND bitCount(km) = length(kv) AND bitAnd(km, 1) = 0",
        f"bitAnd(km, bitNot(transform(et, {_arr(types)}, [{', '.join(keep)}], toUInt64(0)))) = 0",
        f"bitAnd(km, transform(et, {_arr(types)}, [{', '.join(required)}], toUInt64(0))) "
        f"= transform(et, {_arr(types)}, [{', '.join(required)}], toUInt64(0))",
        *_kind_checks(),
        f"NOT (match({did}, '^\"[0-9]+\"$') AND length({did}) IN (11, 14))",
        # compact: the line is its pairs joined without whitespace (keys have no escapes)
        "line = concat('{', arrayStringConcat(arrayMap((k, v) -> concat('\"', k, '\":', v), kv.1, kv.2), ','), '}')",
        f"arrayAll(v -> {_instant_ok_of('v')}, arrayFilter((v, c) -> c = {_KIND_CODES['instant']}, kv.2, kc))",
    ]


def typed_conditions(now_ms: int) -> list[str]:
    """The rest of the check, over the typed columns (``_typed_columns``), which are
    computed anyway: not in the future; digitised and reused components within the total
    (a DIGITISED, or a SNAPSHOT that states components_total); a TrangThaiHoSo code 1..10."""
    return [
        f"occurred_ms <= {int(now_ms) + ev.FUTURE_TOLERANCE_MS}",
        "(NOT dig_set OR (components_digitised <= components_total AND components_reused <= components_total))",
        "(source_status IS NULL OR source_status BETWEEN 1 AND 10)",
    ]


def fast_predicate() -> str:
    return "(" + "\n    AND ".join(fast_conditions()) + ")"


def _typed_columns() -> dict[str, str]:
    """The typed values of a fast line, straight from its raw values: its strings have no
    escapes, its numbers are plain non-negative integers (the fast check made sure)."""
    kinds = _kinds()

    def text(n):
        return f"substring({_raw(n)}, 2, length({_raw(n)}) - 2)"

    tl = _raw("time_limit")
    cols = {
        "dossier_id": text("dossier_id"),
        "event_id": text("event_id"),
        "event_type": "et",
        "occurred_ms": _instant_ms("occurred_at"),
        "sequence": f"if(has(kv.1, 'sequence'), toInt64OrZero({_raw('sequence')}), NULL)",
        "seq_key": f"if(has(kv.1, 'sequence'), toInt64OrZero({_raw('sequence')}), {1 << 62})",
    }
    for n in (
        "source_system",
        "province_code",
        "unit_code",
        "unit_level",
        "procedure_code",
        "field_code",
        "channel",
        "online_service",
        "return_channel",
        "rating",
        "method",
    ):
        cols[n] = text(n)
    for n in ("due_at", "received_at", "resolved_at", "returned_at", "rejected_at"):
        cols[f"{n}_ms"] = f"if(has(kv.1, {_q(n)}), {_instant_ms(n)}, NULL)"
    cols["source_status"] = f"if(has(kv.1, 'source_status'), toInt64OrZero({_raw('source_status')}), NULL)"
    cols["payment"] = text("payment")  # '' when the snapshot does not say
    # whether the line states it (a snapshot's electronic result and digitisation)
    cols["electronic_set"] = "has(kv.1, 'electronic_result')"
    cols["dig_set"] = "has(kv.1, 'components_total')"
    cols["has_limit"] = "has(kv.1, 'time_limit')"
    # whether the line states the flag (else the procedure catalogue may supply it)
    cols["has_fee_set"] = "has(kv.1, 'has_fee')"
    cols["paper_set"] = "has(kv.1, 'requires_paper_result')"
    cols["limit_value"] = f"toInt64OrZero(extract({tl}, '\"value\":([0-9]+)'))"
    cols["limit_unit"] = f'extract({tl}, \'"unit":"([A-Z_]+)"\')'
    for n in (
        "has_fee",
        "requires_paper_result",
        "electronic_result",
        "from_personal_store",
        "population_data_used",
        "apology_issued",
        "resumes",
    ):
        assert kinds[n] == "bool"
        cols[n] = f"{_raw(n)} = 'true'"
    for n in ("components_total", "components_digitised", "components_reused"):
        assert kinds[n] == "int"
        cols[n] = f"toInt64OrZero({_raw(n)})"
    return cols


# The fold reads the event columns as e_<name>: its output names (channel, has_fee, ...)
# would otherwise shadow them inside the aggregate functions.
_E_COLUMNS = ", ".join(
    f"{c} AS e_{c}"
    for c in (
        "event_type",
        "occurred_ms",
        "seq_key",
        "event_id",
        "province_code",
        "unit_code",
        "unit_level",
        "procedure_code",
        "field_code",
        "channel",
        "online_service",
        "has_fee",
        "requires_paper_result",
        "due_at_ms",
        "has_limit",
        "limit_unit",
        "limit_value",
        "has_fee_set",
        "paper_set",
        "apology_issued",
        "electronic_result",
        "return_channel",
        "components_total",
        "components_digitised",
        "components_reused",
        "from_personal_store",
        "population_data_used",
        "method",
        "rating",
        "resumes",
        "received_at_ms",
        "resolved_at_ms",
        "returned_at_ms",
        "rejected_at_ms",
        "source_status",
        "payment",
        "electronic_set",
        "dig_set",
    )
)
_ONLINE = _arr(sorted(ONLINE_METHODS))
_ENDED_STATUSES = "[" + ", ".join(map(str, sorted(ENDED_STATUSES))) + "]"
_ENDS = _arr(ev.END_TYPES)
_NEUTRAL = _arr(sorted(NEUTRAL_ENDS))

# The latest snapshot's fields, one tuple per SNAPSHOT line (numbered as in the fold below).
_SNAPSHOT_TUPLE = """(received_at_ms, channel, due_at_ms, has_fee_set, has_fee, resolved_at_ms,
    electronic_set, electronic_result, returned_at_ms, return_channel, rejected_at_ms,
    source_status, payment, dig_set,
    (components_total, components_digitised, components_reused, from_personal_store, population_data_used),
    (province_code, unit_code, unit_level, procedure_code, field_code))"""
_NULL = "CAST(NULL, 'Nullable(Int64)')"
_NO_SNAPSHOT = (
    f"({_NULL}, '', {_NULL}, false, false, {_NULL}, false, false, {_NULL}, '', {_NULL}, {_NULL}, '', false, "
    "(toInt64(0), toInt64(0), toInt64(0), false, false), ('', '', '', '', ''))"
)


def _catalogue_parameters(catalogue) -> dict:
    """The procedure catalogue as query parameters of the fold: the codes whose fee and
    paper result are known true, and the codes with a known limit beside its unit and
    value. Each list starts with an entry no procedure code can equal (codes are never
    empty), so ``transform`` never gets empty arrays."""
    from ..reference.catalogue import codes_knowing

    cat = catalogue or {}
    limits = codes_knowing(cat, "time_limit")
    return {
        "fee_true": [""] + [c for c in codes_knowing(cat, "has_fee") if cat[c].has_fee],
        "paper_true": [""]
        + [c for c in codes_knowing(cat, "requires_paper_result") if cat[c].requires_paper_result],
        "limit_codes": [""] + limits,
        "limit_units": [""] + [cat[c].time_limit["unit"] for c in limits],
        "limit_values": [0] + [int(cat[c].time_limit["value"]) for c in limits],
    }


class BulkReplayer:
    """The SQL side of a bulk replay on one embedded store (see module doc)."""

    def __init__(self, store, cal: WorkingCalendar):
        self.store = store
        self.c = store.client
        self.db = store.db
        self.cal = cal
        self.fast_repeats: int | None = None  # repeated ids among the fast lines (mark_python)

    # -- scratch tables ----------------------------------------------------------
    def _t(self, name: str) -> str:
        return f"{self.db}.bulk_{name}"

    def drop_scratch(self) -> None:
        for name in ("sql", "events", "python", "facts", "pylines", "cum", "wd", "snaps"):  # the view first
            self.c.command(f"DROP TABLE IF EXISTS {self._t(name)}")

    def stage(self, paths: list[str]) -> None:
        """Start a replay of these files (absolute paths): ClickHouse reads them where a
        query needs their lines (reading is cheap; storing a copy was not)."""
        self.drop_scratch()
        self.paths = list(paths)

    def _lines(self) -> tuple[str, dict]:
        """A subquery of the non-blank lines (f: file index, lineno: 1-based line number,
        line: without its line end), the way ``codec.iter_file`` numbers them."""
        parts, params = [], {}
        for i, path in enumerate(self.paths):
            params[f"path{i}"] = path
            parts.append(
                f"SELECT {i} AS f, lineno, l AS line FROM ("
                # a UTF-8 BOM before the first line is not part of it (iter_file skips it)
                f"SELECT rowNumberInAllBlocks() + 1 AS lineno, trimRight(if(lineno = 1 AND "
                f"startsWith(line, unhex('EFBBBF')), substring(line, 4), line), {_q(_LINE_END)}) AS l "
                f"FROM file({{path{i}:String}}, 'LineAsString')) WHERE trimBoth(l, {_q(_BLANK)}) != ''"
            )
        return "(" + " UNION ALL ".join(parts) + ")", params

    def extract(self, now_ms: int) -> int:
        """bulk_events: every line with its ``fast`` flag and, for fast lines, the typed
        columns. Returns the number of fast lines."""
        lines, params = self._lines()
        typed = ", ".join(f"{sql} AS {name}" for name, sql in _typed_columns().items())
        self.c.command(
            f"""
CREATE TABLE {self._t("events")} ENGINE = Memory AS
SELECT f, lineno, shape_ok AND {" AND ".join(typed_conditions(now_ms))} AS fast, * EXCEPT (f, lineno, shape_ok)
FROM (
SELECT f, lineno, shape_ok, {typed}, line
FROM (
    SELECT f, lineno, line, JSONExtractKeysAndValuesRaw(line) AS kv,
        substring({_raw("event_type")}, 2, length({_raw("event_type")}) - 2) AS et,
        {key_mask_sql()} AS km, {kind_codes_sql()} AS kc, {fast_predicate()} AS shape_ok
    FROM {lines}
))
""",
            parameters=params,
            settings={**_EAGER, "input_format_parallel_parsing": 0},
        )
        return int(self.c.command(f"SELECT countIf(fast) FROM {self._t('events')}"))

    def slow_lines(self) -> Iterator[tuple[int, int, bytes]]:
        """(file index, line number, line) of the lines that were not fast, in order."""
        yield from self._lines_where("NOT fast")

    def _lines_where(self, cond: str, page: int = 20_000) -> Iterator[tuple[int, int, bytes]]:
        """The matching lines in order, a page at a time. Each page is read in full before
        it is yielded: the caller writes to the same store between pages, and a chDB
        connection cannot run another query while a result is still streaming."""
        self.c.command(f"DROP TABLE IF EXISTS {self._t('pylines')}")
        self.c.command(
            f"CREATE TABLE {self._t('pylines')} ENGINE = MergeTree ORDER BY (f, lineno) AS "
            f"SELECT f, lineno, line FROM {self._t('events')} WHERE {cond}",
            settings=_EAGER,
        )
        after = (0, 0)  # line numbers start at 1
        while True:
            rows = self.c.query(
                f"SELECT f, lineno, line FROM {self._t('pylines')} "
                f"WHERE (f, lineno) > ({{f:UInt32}}, {{n:UInt64}}) ORDER BY f, lineno LIMIT {int(page)}",
                parameters={"f": after[0], "n": after[1]},
                query_formats={"String": "bytes"},
                settings={"max_threads": 1},
            ).result_rows
            if not rows:
                return
            after = (rows[-1][0], rows[-1][1])
            yield from rows
            if len(rows) < page:
                return

    def mark_python(self, dossier_ids: set[str]) -> None:
        """bulk_python: dossiers Python folds (given ones, plus those the store has events of)."""
        self.c.command(f"CREATE TABLE {self._t('python')} (dossier_id String) ENGINE = Memory")
        if dossier_ids:
            self.c.insert(self._t("python"), [[d] for d in sorted(dossier_ids)], column_names=["dossier_id"])
        self.c.command(
            f"INSERT INTO {self._t('python')} SELECT DISTINCT dossier_id FROM {self.db}.events "
            f"WHERE dossier_id IN (SELECT DISTINCT dossier_id FROM {self._t('events')} WHERE fast)"
        )
        # An event_id repeated in other words may be a conflicting duplicate: Python decides
        # (on the validated content, not the text). Only looked for when ids repeat at all.
        fast = f"SELECT dossier_id, event_id, line FROM {self._t('events')} WHERE fast"
        repeats = self.fast_repeats = int(
            self.c.command(
                f"SELECT count() - uniqExact(cityHash64(dossier_id, event_id)) FROM ({fast})", settings=_EAGER
            )
        )
        if repeats:
            self.c.command(
                f"INSERT INTO {self._t('python')} SELECT DISTINCT dossier_id FROM ({fast}) "
                f"GROUP BY dossier_id, event_id HAVING uniqExact(line) > 1",
                settings=_EAGER,
            )

    def python_lines(self) -> Iterator[tuple[int, int, bytes]]:
        """Every line Python must see: slow lines and the fast lines of Python dossiers."""
        yield from self._lines_where(
            f"NOT fast OR dossier_id IN (SELECT dossier_id FROM {self._t('python')})"
        )

    def _calendar_tables(self, base: int, cal: WorkingCalendar) -> None:
        """bulk_cum: i -> working days <= epoch day base + i - 1; bulk_wd: k -> the k-th
        working day (epoch day). Out-of-range keys read 0, as arrayElement did."""
        for name, key, value, rows in (
            ("cum", "i", "n", [[i + 1, c] for i, c in enumerate(cal.cumulative_counts)]),
            ("wd", "k", "day", [[k + 1, o - _EPOCH_ORDINAL] for k, o in enumerate(cal.working_ordinals)]),
        ):
            self.c.command(f"DROP TABLE IF EXISTS {self._t(name)}")
            self.c.command(
                f"CREATE TABLE {self._t(name)} ({key} Int64, {value} Int64) ENGINE = Join(ANY, LEFT, {key})"
            )
            self.c.insert(self._t(name), rows, column_names=[key, value])

    def _latest_snapshots(self) -> str:
        """The expression of a dossier's latest snapshot tuple in the fold. The latest of
        each dossier is picked once among the SNAPSHOT lines into a Join table and read
        after the grouping (joinGet on the group key): an argMaxIf over the tuple took
        ~22 µs a line (ClickHouse's generic path for tuples of Nullable members). A dossier
        without one reads the tuple's defaults, the constant used when no line is a snapshot."""
        has_snapshots = int(
            self.c.command(f"SELECT countIf(event_type = 'SNAPSHOT') FROM {self._t('sql')}", settings=_EAGER)
        )
        if not has_snapshots:
            return _NO_SNAPSHOT
        self.c.command(
            f"CREATE TABLE {self._t('snaps')} ENGINE = Join(ANY, LEFT, dossier_id) AS "
            f"SELECT dossier_id, {_SNAPSHOT_TUPLE} AS snap FROM {self._t('sql')} "
            "WHERE event_type = 'SNAPSHOT' ORDER BY dossier_id, f DESC, lineno DESC LIMIT 1 BY dossier_id",
            settings=_EAGER,
        )
        return f"joinGet('{self._t('snaps')}', 'snap', dossier_id)"

    # -- the fold ------------------------------------------------------------------
    def fold(self, catalogue=None) -> tuple[int, int, int]:
        """bulk_facts: the facts of every SQL dossier. Returns (dossiers, events, new events).
        ``catalogue`` (procedure_code -> ``reference.catalogue.CatalogueEntry``) supplies
        the flags a RECEIVED line leaves out, as ``pipeline.dossiers.facts_of`` does."""
        cal = self.cal
        params = _catalogue_parameters(catalogue)
        # Working days <= epoch day d: cum[d - base + 1]; the k-th working day: wd[k].
        base = cal.first - _EPOCH_ORDINAL
        if not re.fullmatch(r"[0-9a-f]{16}", cal.version):  # inlined below as a literal
            raise ValueError(f"unexpected calendar version {cal.version!r}")
        calendar_version = f"'{cal.version}'"
        # bulk_sql: the distinct events of the SQL dossiers (the first line of a repeated
        # id, as the Python fold keeps). Sorting out repeats costs; skip it when none.
        sql_events = (
            f"SELECT * FROM {self._t('events')} "
            f"WHERE fast AND dossier_id NOT IN (SELECT dossier_id FROM {self._t('python')})"
        )
        # A hash collision can only make repeats look present (then the exact sort runs);
        # a real repeat always shows. The SQL dossiers' lines are fast lines: none repeats
        # when mark_python found no repeat among all of those.
        repeats = (
            0
            if self.fast_repeats == 0
            else int(
                self.c.command(
                    f"SELECT count() - uniqExact(cityHash64(dossier_id, event_id)) FROM ({sql_events})",
                    settings=_EAGER,
                )
            )
        )
        if repeats:
            self.c.command(
                f"CREATE TABLE {self._t('sql')} ENGINE = Memory AS {sql_events} "
                f"ORDER BY dossier_id, f, lineno LIMIT 1 BY dossier_id, event_id",
                settings=_EAGER,
            )
        else:
            self.c.command(f"CREATE VIEW {self._t('sql')} AS {sql_events}")
        snap = self._latest_snapshots()
        # The calendar as two Join tables, read with joinGet (a hash lookup): a constant
        # array indexed per row is copied whole into every row (~50 µs a dossier measured).
        self._calendar_tables(base, cal)
        upto = f"joinGet('{self._t('cum')}', 'n', toInt64({{x}}) - {{base}} + 1)"

        def count_upto(x: str) -> str:
            return upto.format(x=x, base=base)

        def add_wd(day: str, n: str) -> str:
            return (
                f"if({n} <= 0, toInt64({day}), toInt64(joinGet('{self._t('wd')}', 'day', "
                f"toInt64({count_upto(day)} + {n}))))"
            )

        def wd_between(a: str, b: str) -> str:
            return f"if({b} <= {a}, 0, toInt64({count_upto(b)}) - toInt64({count_upto(a)}))"

        def lday(ms: str) -> str:
            return f"intDiv({ms} + {VN_MS}, {DAY_MS})"

        key = "(e_seq_key, e_occurred_ms, e_event_id)"
        env = "(e_province_code, e_unit_code, e_unit_level, e_procedure_code, e_field_code)"
        self.c.command(
            f"""
CREATE TABLE {self._t("facts")} ENGINE = Memory AS
SELECT {", ".join(STATE_COLUMNS)},
    -- the backlog key (metrics.backlog_due), epoch days; -1 when not in progress
    multiIf(NOT received OR ended, -1,
            supplement_requests >= 2, {ALWAYS_OVERDUE - _EPOCH_ORDINAL},
            waiting OR NOT due_known, {NEVER_OVERDUE - _EPOCH_ORDINAL},
            effective_due_date) AS backlog_day
FROM (
SELECT *,
    multiIf(NOT (received AND ended), '',
            has({_NEUTRAL}, end_type), 'ON_TIME',
            supplement_requests >= 2, 'LATE',
            NOT due_known, 'ON_TIME',
            end_date < effective_due_date, 'EARLY',
            end_date = effective_due_date, 'ON_TIME', 'LATE') AS outcome,
    outcome = 'LATE' AND arrayExists(x -> x.2 AND (NOT due_known
        OR x.1 <= effective_due_date * {DAY_MS} - {VN_MS} + {DAY_MS} - 1), extensions) AS apology_ok
FROM (
SELECT *,
    if(received AND ended, {wd_between("received_date", "end_date")}, 0) AS working_days,
    arrayFilter(p -> p.2 >= 0, arrayZip(pause_starts,
        arrayMap(e -> if(e = {FAR_FUTURE_MS}, if(ended, end_at, -1), e), pause_ends))) AS closed_pauses,
    arrayCumSum(arrayMap(p -> toInt64({wd_between(lday("p.1"), lday("p.2"))}), closed_pauses)) AS shifts,
    if(due_known, arrayConcat([toInt64(due_date)], arrayMap(s -> {add_wd("due_date", "s")}, shifts)), []) AS effective_due_dates,
    if(due_known, effective_due_dates[-1], 0) AS effective_due_date
FROM (
SELECT *,
    length(pause_ends) > 0 AND pause_ends[-1] = {FAR_FUTURE_MS} AS waiting,
    received AND (due_ms IS NOT NULL OR lim_known) AS due_known,
    if(NOT due_known, 0,
       multiIf(due_ms IS NOT NULL, {lday("assumeNotNull(due_ms)")},
               lim_unit = 'WORKING_DAYS', {add_wd("received_date", "lim_value")},
               lim_unit = 'DAYS', received_date + lim_value,
               {lday(f"received_at + lim_value * {MS_PER_HOUR}")})) AS due_date
FROM (
SELECT *,
    arraySort(x -> x.1, sups_raw) AS sups_sorted,
    if(ended AND arrayFirstIndex(x -> x.3 > end_at, sups_sorted) > 0,
       arraySlice(sups_sorted, 1, arrayFirstIndex(x -> x.3 > end_at, sups_sorted) - 1), sups_sorted) AS sups,
    arrayMap(x -> x.3, arrayFilter(x -> x.2, sups)) AS request_times,
    length(request_times) AS supplement_requests,
    -- Pauses (lifecycle._pauses): a request opens one unless one is open, a receipt
    -- closes the open one; so a pause starts at a request whose previous supplement event
    -- is not a request, and ends at a receipt whose previous one is a request.
    arrayMap(x -> x.2, sups) AS sup_is_request,
    arrayPopBack(arrayPushFront(sup_is_request, 0)) AS sup_after_request,
    arrayFilter((x, r, p) -> r AND NOT p, arrayMap(x -> x.3, sups), sup_is_request, sup_after_request) AS pause_starts,
    arrayConcat(arrayFilter((x, r, p) -> NOT r AND p, arrayMap(x -> x.3, sups), sup_is_request, sup_after_request),
                if(length(sups) > 0 AND sup_is_request[-1], [toInt64({FAR_FUTURE_MS})], [])) AS pause_ends
FROM (
SELECT dossier_id,
    toUInt32(count()) AS version,
    countIf(e_event_type = 'RECEIVED') > 0 AS row_received,
    -- the latest snapshot (lifecycle.effective_state reads it over the other events): the
    -- greatest rank, i.e. the one that arrived last (ranks are stamped in arrival order).
    -- 1 received_at, 2 channel, 3 due_at, 4 states has_fee, 5 has_fee, 6 resolved_at,
    -- 7 states electronic_result, 8 electronic_result, 9 returned_at, 10 return_channel,
    -- 11 rejected_at, 12 source_status, 13 payment, 14 states components, 15 digitisation,
    -- 16 envelope (nullable instants and status: NULL when not stated)
    countIf(e_event_type = 'SNAPSHOT') > 0 AS has_snap,
    {snap} AS snap,
    has_snap AND snap.1 IS NOT NULL AS snap_rec,
    row_received OR snap_rec AS received,
    if(received, {calendar_version}, '') AS calendar_version,
    toUInt32(0) AS revision,
    -- the least RECEIVED: 1 occurred, 2 channel, 3 online_service, 4 has_fee,
    -- 5 requires_paper_result, 6 due_at (nullable), 7 has time_limit, 8 unit, 9 value, 10 envelope,
    -- 11 states has_fee, 12 states requires_paper_result
    argMinIf((e_occurred_ms, e_channel, e_online_service, e_has_fee, e_requires_paper_result, e_due_at_ms,
              e_has_limit, e_limit_unit, e_limit_value, {env}, e_has_fee_set, e_paper_set), {key},
             e_event_type = 'RECEIVED') AS rec,
    argMin({env}, {key}) AS first_env,
    multiIf(has_snap, snap.16, row_received, rec.10, first_env) AS env,
    env.1 AS province_code, env.2 AS unit_code, env.3 AS unit_level, env.4 AS procedure_code, env.5 AS field_code,
    countIf(e_event_type = 'SUBMITTED') > 0 AS submitted,
    argMinIf((e_channel, e_online_service), {key}, e_event_type = 'SUBMITTED') AS sub,
    -- a snapshot that dates the receipt states its channel (none: DIRECT, as 766 counts a
    -- null KenhThucHien), due date and fee, and nothing else of the RECEIVED row
    multiIf(snap_rec, if(snap.2 != '', snap.2, 'DIRECT'), row_received, rec.2,
            submitted, if(has_snap AND snap.2 != '', snap.2, sub.1), '') AS channel,
    multiIf(snap_rec, '', row_received, rec.3, submitted, sub.2, '') AS online_service,
    -- a flag the RECEIVED line leaves out comes from the procedure catalogue (the event wins)
    received AND multiIf(snap_rec, if(snap.4, snap.5, has({{fee_true:Array(String)}}, procedure_code)),
                         rec.11, rec.4, has({{fee_true:Array(String)}}, procedure_code)) AS has_fee,
    received AND if(NOT snap_rec AND rec.12, rec.5, has({{paper_true:Array(String)}}, procedure_code)) AS requires_paper_result,
    -- a snapshot's due date is its own (NgayHenTra): the catalogue's time limit never applies
    NOT snap_rec AND (rec.7 OR has({{limit_codes:Array(String)}}, procedure_code)) AS lim_known,
    if(rec.7, rec.8, transform(procedure_code, {{limit_codes:Array(String)}}, {{limit_units:Array(String)}}, '')) AS lim_unit,
    if(rec.7, rec.9, transform(procedure_code, {{limit_codes:Array(String)}}, {{limit_values:Array(Int64)}}, toInt64(0))) AS lim_value,
    if(snap_rec, snap.3, rec.6) AS due_ms,
    multiIf(snap_rec, ifNull(snap.1, 0), row_received, rec.1, 0) AS received_at,
    if(received, {lday("received_at")}, 0) AS received_date,
    countIf(has({_ENDS}, e_event_type)) > 0 AS row_ended,
    argMinIf((e_event_type, e_occurred_ms), {key}, has({_ENDS}, e_event_type)) AS row_end,
    -- the snapshot's end (lifecycle._snapshot_end): NgayKetThucXuLy, else NgayTra, or the
    -- refusal when not later; undated, the rows decide when the status is an end status or
    -- unknown, and with any other status the dossier is not ended (a status rolled back)
    if(snap.6 IS NOT NULL, snap.6, snap.9) AS snap_finished,
    if(snap.6 IS NOT NULL, 'RESOLVED', 'RESULT_RETURNED') AS snap_finished_type,
    snap.11 IS NOT NULL AND (snap_finished IS NULL OR ifNull(snap.11, 0) <= ifNull(snap_finished, 0)) AS snap_refused,
    has_snap AND (snap.11 IS NOT NULL OR snap_finished IS NOT NULL) AS snap_dated,
    NOT has_snap OR (NOT snap_dated AND (snap.12 IS NULL OR has({_ENDED_STATUSES}, ifNull(snap.12, 0)))) AS from_rows,
    snap_dated OR (from_rows AND row_ended) AS ended,
    multiIf(NOT ended, '', snap_dated, if(snap_refused, 'REJECTED', snap_finished_type), row_end.1) AS end_type,
    multiIf(NOT ended, 0, snap_dated, ifNull(if(snap_refused, snap.11, snap_finished), 0), row_end.2) AS end_at,
    if(ended, {lday("end_at")}, 0) AS end_date,
    groupArrayIf(({key}, e_event_type = 'SUPPLEMENT_REQUESTED', e_occurred_ms),
                 e_event_type IN ('SUPPLEMENT_REQUESTED', 'SUPPLEMENT_RECEIVED')
                 OR (e_event_type = 'PROCESSING' AND e_resumes)) AS sups_raw,
    groupArrayIf((e_occurred_ms, e_apology_issued), e_event_type = 'DEADLINE_EXTENDED') AS extensions,
    countIf(e_event_type = 'RESOLVED') > 0 AND argMinIf(e_electronic_result, {key}, e_event_type = 'RESOLVED') AS row_electronic,
    if(has_snap, ended AND end_type IN ('RESOLVED', 'RESULT_RETURNED') AND if(snap.7, snap.8, from_rows AND row_electronic),
       row_electronic) AS electronic_result,
    if(countIf(e_event_type = 'RESULT_RETURNED') > 0,
       argMinIf(e_return_channel, {key}, e_event_type = 'RESULT_RETURNED'), '') AS row_return_channel,
    multiIf(NOT has_snap, row_return_channel, snap.9 IS NOT NULL, snap.10, from_rows, row_return_channel, '') AS return_channel,
    channel = 'POSTAL' OR return_channel = 'POSTAL' AS postal,
    has_snap AND snap.14 AS snap_dig,
    countIf(e_event_type = 'DIGITISED') > 0 OR snap_dig AS has_dig,
    if(snap_dig, snap.15, argMaxIf((e_components_total, e_components_digitised, e_components_reused,
        e_from_personal_store, e_population_data_used), {key}, e_event_type = 'DIGITISED')) AS dig,
    has_dig AND dig.1 > 0 AND dig.2 >= dig.1 AS digitised_all,
    has_dig AND dig.3 >= 1 AS reused,
    has_dig AND dig.4 AS from_personal_store,
    has_dig AND dig.5 AS population_data_used,
    if(has_snap AND snap.13 != '', has({_ONLINE}, snap.13),
       countIf(e_event_type = 'PAYMENT_COMPLETED' AND has({_ONLINE}, e_method)) > 0) AS paid_online,
    if(countIf(e_event_type = 'RATED') > 0, argMaxIf(e_rating, {key}, e_event_type = 'RATED'), '') AS rating
FROM (SELECT dossier_id, f, lineno, {_E_COLUMNS} FROM {self._t("sql")})
GROUP BY dossier_id
)))))
""",
            parameters=params,
            settings=_EAGER,
        )
        dossiers = int(self.c.command(f"SELECT count() FROM {self._t('facts')}"))
        events = int(
            self.c.command(
                f"SELECT count() FROM {self._t('events')} "
                f"WHERE fast AND dossier_id NOT IN (SELECT dossier_id FROM {self._t('python')})"
            )
        )
        new = int(self.c.command(f"SELECT sum(version) FROM {self._t('facts')}") or 0)
        return dossiers, events, new

    # -- writes --------------------------------------------------------------------
    def write(self) -> int:
        """Rollup, backlog, states, then events of the SQL dossiers, bucket by bucket, each
        insert with a token from the bucket's events. Returns the number of buckets."""
        # The bucket count comes from the input alone (all its lines), so a rerun after a
        # crash splits the dossiers exactly as the crashed run did: the bucket whose
        # events had not landed repeats its inserts with the same tokens.
        lines = int(self.c.command(f"SELECT count() FROM {self._t('events')}") or 0)
        buckets = max(1, -(-lines // BUCKET_EVENTS))
        digests = {
            b: (n, h)
            for b, n, h in self.c.query(
                f"SELECT cityHash64(dossier_id) % {buckets} AS b, count(), sum(cityHash64(dossier_id, event_id, line)) "
                f"FROM {self._t('sql')} GROUP BY b",
                settings=_EAGER,
            ).result_rows
        }
        for b in range(buckets):
            if b not in digests:
                continue  # no SQL dossier in this bucket (e.g. all written before a crash)
            cond = f"cityHash64(dossier_id) % {buckets} = {b}"
            token = f"{b}of{buckets}-{digests[b][0]}-{digests[b][1]}"
            for table, sql in (
                ("kpi_daily", self._rollup_sql(cond)),
                ("open_backlog", self._backlog_sql(cond)),
                ("dossier_state", self._state_sql(cond)),
                ("events", self._events_sql(cond)),
            ):
                self.c.command(
                    sql, settings={**_ONE_BLOCK, "insert_deduplication_token": f"bulk-{table}-{token}"}
                )
        return buckets

    def _rollup_sql(self, cond: str) -> str:
        received = {  # metrics.received_counters
            "received": "1",
            "received_online": "channel = 'ONLINE'",
            "received_online_full": "channel = 'ONLINE' AND online_service = 'FULL'",
            "received_postal": "postal",
            "digitised_all": "digitised_all",
            "reused": "reused",
            "has_fee": "has_fee",
            "paid_online": "has_fee AND paid_online",
            "rated": "rating != ''",
            "rated_satisfied": "rating != '' AND rating != 'DISSATISFIED'",
            "personal_store": "from_personal_store",
            "population_data": "population_data_used",
        }
        ended = {  # metrics.ended_counters
            "ended": "1",
            "ended_early": "outcome = 'EARLY'",
            "ended_on_time": "outcome = 'ON_TIME'",
            "ended_late": "outcome = 'LATE'",
            "ended_ok": "outcome IN ('EARLY', 'ON_TIME')",
            "late_with_apology": "outcome = 'LATE' AND apology_ok",
            "paper_result": "requires_paper_result",
            "electronic_result": "requires_paper_result AND electronic_result",
            "electronic_result_any": "electronic_result",
            "working_days": "working_days",
        }
        assert tuple(received) + tuple(ended) == COUNTERS
        keys = "province_code, unit_level, unit_code, procedure_code, field_code, channel"

        def role(day: str, values: dict, where: str) -> str:
            # c_ aliases: an alias named like a facts column would shadow it in WHERE.
            cols = ", ".join(f"toInt64({values.get(c, '0')}) AS c_{c}" for c in COUNTERS)
            return (
                f"SELECT addDays(toDate('1970-01-01'), {day}) AS c_day, {keys}, {cols} "
                f"FROM {self._t('facts')} WHERE {where} AND {cond}"
            )

        sums = ", ".join(f"sum(c_{c})" for c in COUNTERS)
        return (
            f"INSERT INTO {self.db}.kpi_daily (day, {keys}, {', '.join(COUNTERS)}) "
            f"SELECT c_day, {keys}, {sums} FROM ({role('received_date', received, 'received')} "
            f"UNION ALL {role('end_date', ended, 'received AND ended')}) "
            f"GROUP BY c_day, {keys}"
        )

    def _backlog_sql(self, cond: str) -> str:
        keys = "province_code, unit_level, unit_code, procedure_code, field_code, channel"
        return (
            f"INSERT INTO {self.db}.open_backlog (due_date, {keys}, open) "
            f"SELECT addDays(toDate('1970-01-01'), backlog_day) AS c_due, {keys}, toInt64(count()) "
            f"FROM {self._t('facts')} WHERE backlog_day >= 0 AND {cond} "
            f"GROUP BY c_due, {keys}"
        )

    def _state_sql(self, cond: str) -> str:
        def ts(x: str) -> str:
            return f"fromUnixTimestamp64Milli(toInt64({x}), 'UTC')"

        def d(x: str) -> str:
            return f"addDays(toDate('1970-01-01'), {x})"

        cols = {
            "received_at": ts("received_at"),
            "received_date": d("received_date"),
            "end_at": ts("end_at"),
            "end_date": d("end_date"),
            "supplement_requests": "toUInt8(supplement_requests)",
            "request_times": f"arrayMap(x -> {ts('x')}, request_times)",
            "pause_starts": f"arrayMap(x -> {ts('x')}, pause_starts)",
            "pause_ends": f"arrayMap(x -> {ts('x')}, pause_ends)",
            "due_date": d("due_date"),
            "effective_due_dates": f"arrayMap(x -> {d('x')}, effective_due_dates)",
            "effective_due_date": d("effective_due_date"),
            "working_days": "toUInt16(working_days)",
        }
        select = ", ".join(f"{cols.get(c, c)} AS s_{c}" for c in STATE_COLUMNS)  # by position
        return (
            f"INSERT INTO {self.db}.dossier_state ({', '.join(STATE_COLUMNS)}) "
            f"SELECT {select} FROM {self._t('facts')} WHERE {cond}"
        )

    def _events_sql(self, cond: str) -> str:
        """The events as they arrived; a SNAPSHOT as the Python fold stores it, stamped with
        its rank (``lifecycle.DossierState._absorb_snapshot``): the validated event
        (``orjson``: the line's pairs with instants as epoch millis) + ``snapshot_rank``."""
        cols = "event_id, dossier_id, event_type, fromUnixTimestamp64Milli(occurred_ms, 'UTC'), sequence, "
        cols += "source_system, province_code, unit_code"
        pairs = (
            f"arrayMap((k, v) -> concat('\"', k, '\":', if(has({_arr(ev.INSTANT_FIELDS)}, k), "
            f"toString({_instant_ms_of('v')}), v)), kv.1, kv.2)"
        )
        stamped = (
            f"concat('{{', arrayStringConcat({pairs}, ','), ',\"{ev.RANK_FIELD}\":', toString(rank), '}}')"
        )
        return (
            f"INSERT INTO {self.db}.events (event_id, dossier_id, event_type, occurred_at, sequence, "
            f"source_system, province_code, unit_code, payload) "
            f"SELECT {cols}, line FROM {self._t('sql')} WHERE event_type != 'SNAPSHOT' AND {cond} "
            f"UNION ALL SELECT {cols}, {stamped} FROM ("
            f"SELECT *, JSONExtractKeysAndValuesRaw(line) AS kv, "
            f"row_number() OVER (PARTITION BY dossier_id ORDER BY f, lineno) AS rank "
            f"FROM {self._t('sql')} WHERE event_type = 'SNAPSHOT' AND {cond})"
        )
