"""The bulk replay (validation and fold in ClickHouse) gives exactly the tables of the
plain Python replay: same dossier states, rollup sums, backlog, events, dead letters and
summary counts, for random histories written in every wire form, with faults mixed in,
and into a store that already holds part of the dossiers."""

from __future__ import annotations

import os

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from motcua.adapters.clickhouse_store import STATE_COLUMNS
from motcua.domain.events import (
    CHANNELS,
    ENVELOPE_REQUIRED,
    EXTRA_FIELDS,
    INSTANT_FIELDS,
    RANK_FIELD,
    SNAPSHOT_PAYMENTS,
    format_instant,
)
from motcua.domain.metrics import COUNTERS
from motcua.reference.official_calendar import default_calendar
from motcua.replay import EmbeddedPipeline
from tests.strategies import HOUR, UNITS, delivered, histories

# what a snapshot may state (components_digitised / _reused come with components_total)
SNAPSHOT_FIELDS = sorted(
    set(EXTRA_FIELDS["SNAPSHOT"])
    - {RANK_FIELD, "components_digitised", "components_reused"}
    - {"occurred_at"}
)
NOW_MS = 1_764_000_000_000  # 2025-11-24: "now" for both paths (future-event check)

CHECKS = {
    "state": f"SELECT {', '.join(STATE_COLUMNS)} FROM {{db}}.dossier_state FINAL ORDER BY dossier_id",
    "rollup": (
        f"SELECT day, province_code, unit_level, unit_code, procedure_code, field_code, channel, "
        f"{', '.join(f'sum({c})' for c in COUNTERS)} FROM {{db}}.kpi_daily GROUP BY ALL "
        f"HAVING {' OR '.join(f'sum({c}) != 0' for c in COUNTERS)} ORDER BY ALL"
    ),
    "backlog": (
        "SELECT due_date, province_code, unit_level, unit_code, procedure_code, field_code, channel, "
        "sum(open) AS n FROM {db}.open_backlog GROUP BY ALL HAVING n != 0 ORDER BY ALL"
    ),
    "events": (
        "SELECT dossier_id, event_id, event_type, occurred_at, sequence, source_system, province_code, "
        "unit_code, payload FROM {db}.events FINAL ORDER BY ALL"
    ),
    "dead letters": (
        "SELECT dead_letter_id, source, stage, code, reason, event_id, dossier_id, payload "
        "FROM {db}.dead_letters FINAL ORDER BY ALL"
    ),
}


def tables(store) -> dict[str, list]:
    return {name: store.client.query(sql.format(db=store.db)).result_rows for name, sql in CHECKS.items()}


def _iso(ms: int, offset_hours: int) -> str:
    if offset_hours == 0:
        return format_instant(ms)
    s = format_instant(ms + offset_hours * 3_600_000)[:-1]
    return f"{s}{'+' if offset_hours > 0 else '-'}{abs(offset_hours):02d}:00"


@st.composite
def wire_line(draw, event: dict) -> bytes:
    """One event as a JSON line, in one of the forms sources send, sometimes broken."""
    e = dict(event)
    form = draw(st.sampled_from(["iso", "iso", "iso", "offset", "millis"]))
    for name in INSTANT_FIELDS:
        if name in e:
            e[name] = {"iso": _iso(e[name], 0), "offset": _iso(e[name], 7), "millis": e[name]}[form]
    fault = draw(
        st.sampled_from(
            ["none"] * 45
            + [
                "null_field",
                "unknown_field",
                "personal_field",
                "float_sequence",
                "escaped",
                "spaces",
                "crlf",
                "future",
                "personal_reason",
                "bad_json",
                "unknown_type",
                "duplicate_key",
                "bad_enum",
                "oversize",
                "negative",
                "leading_space",
                "personal_id",
                "spaced_code",
                "unicode_id",
                "free_text",
                "bom",
                "space_after_comma",
                "ranked",
            ]
        )
    )
    if fault == "null_field":
        e["sequence"] = None
    elif fault == "unknown_field":
        e["note_v2"] = "added in a later minor version"
    elif fault == "personal_field":
        e["citizen_phone"] = "0912345678"
    elif fault == "float_sequence":
        e["sequence"] = 1.0
    elif fault == "future":
        e["occurred_at"] = _iso(NOW_MS + 3 * 86_400_000, 0)
    elif fault == "personal_reason":
        e = dict(e, event_type="STOPPED", reason="CCCD 012345678901")
    elif fault == "unknown_type":
        e["event_type"] = "ARCHIVED"
    elif fault == "bad_enum":
        e["unit_level"] = "VILLAGE"
    elif fault == "negative":
        e["sequence"] = -1
    elif fault == "personal_id":
        e["event_id"] = draw(
            st.sampled_from(["0912-345-678", "079.203.001.234", "x0792 0300 1234", "a@b.vn"])
        )
    elif fault == "spaced_code":
        e["unit_code"] = "H75 01"
    elif fault == "unicode_id":
        e["field_code"] = "ĐẤTĐAI"
    elif fault == "free_text":
        e["reason"] = "Ông Nguyễn Văn An, sinh năm 1980"
    elif fault == "ranked" and e["event_type"] == "SNAPSHOT":
        e["snapshot_rank"] = draw(st.integers(1, 3))  # a stored snapshot replayed: Python ranks
    line = orjson.dumps(e)
    if fault == "escaped":
        line = line.replace(b'"dossier_id":"', b'"dossier_id":"\\u0044', 1).replace(
            b"\\u0044D", b"\\u0044", 1
        )
    elif fault == "spaces":
        line = line.replace(b'":', b'": ')
    elif fault == "crlf":
        line += b"\r"
    elif fault == "bad_json":
        line = line[: len(line) // 2]
    elif fault == "duplicate_key":
        line = line[:-1] + b',"unit_code":"H75.02"}'
    elif fault == "oversize":
        line = line[:-1] + b',"note_v2":"' + b"x" * 70_000 + b'"}'
    elif fault == "leading_space":
        line = b" " + line
    elif fault == "bom":
        line = b"\xef\xbb\xbf" + line
    elif fault == "space_after_comma":
        line = line.replace(b',"', b', "', 1)
    return line


@st.composite
def snapshots_of(draw, events: list[dict]) -> list[dict]:
    """SNAPSHOT events for some dossiers of a history (what a DVCQG feed or a sheet says the
    dossier is; any subset of the fields, corrections between them) and PROCESSING rows
    that resume after a supplement request (DVCQG TrangThai 4)."""
    out: list[dict] = []
    first: dict[str, dict] = {}
    for e in events:
        first.setdefault(e["dossier_id"], e)
    for dossier_id, e in first.items():
        t = e["occurred_at"]
        for n in range(draw(st.integers(0, 3))):
            unit, level = draw(st.sampled_from(UNITS))
            snap = dict(
                e, event_type="SNAPSHOT", event_id=f"{dossier_id}-s{n}", unit_code=unit, unit_level=level
            )
            for name in list(snap):
                if name not in ENVELOPE_REQUIRED + ("sequence",):
                    del snap[name]
            if draw(st.booleans()):
                snap["procedure_code"] = draw(st.sampled_from(["1.1", "1.2", "2.1"]))
            fields = draw(st.sets(st.sampled_from(SNAPSHOT_FIELDS)))
            at = {name: t + draw(st.integers(-24, 600)) * HOUR for name in INSTANT_FIELDS}
            for name in fields:
                if name in at:
                    snap[name] = at[name]
                elif name in ("has_fee", "electronic_result", "from_personal_store", "population_data_used"):
                    snap[name] = draw(st.booleans())
                elif name in ("channel", "return_channel"):
                    snap[name] = draw(st.sampled_from(CHANNELS))
                elif name == "payment":
                    snap[name] = draw(st.sampled_from(SNAPSHOT_PAYMENTS))
                elif name == "source_status":
                    snap[name] = draw(st.integers(1, 10))
                elif name == "components_total":
                    total = snap[name] = draw(st.integers(0, 4))
                    snap["components_digitised"] = draw(st.integers(0, total))
                    snap["components_reused"] = draw(st.integers(0, total))
            snap["occurred_at"] = snap.get("received_at", t)
            out.append(snap)
        if draw(st.integers(0, 3)) == 0:
            row = dict(first[dossier_id], event_type="PROCESSING", event_id=f"{dossier_id}-r")
            for name in list(row):
                if name not in ENVELOPE_REQUIRED + ("sequence",):
                    del row[name]
            row["occurred_at"] = t + draw(st.integers(1, 400)) * HOUR
            row["resumes"] = draw(st.booleans())
            out.append(row)
    return out


@st.composite
def event_files(draw) -> list[list[bytes]]:
    """Lines of one or two files (the second replayed after the first)."""
    history = draw(histories(max_dossiers=10))
    events = draw(delivered(history + draw(snapshots_of(history))))
    lines = [draw(wire_line(e)) for e in events]
    if draw(st.booleans()):
        lines.insert(draw(st.integers(0, len(lines))), b"")
        lines.insert(draw(st.integers(0, len(lines))), b"   ")
    cut = draw(st.integers(0, len(lines))) if draw(st.booleans()) else len(lines)
    return [lines[:cut], lines[cut:]] if cut < len(lines) else [lines]


def _write(path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(line + b"\n" for line in lines))


def _replay(store, files, bulk: bool):
    pipeline = EmbeddedPipeline(store, default_calendar(), now_ms=lambda: NOW_MS)
    return [pipeline.replay_files([f], bulk=bulk) for f in files]


@settings(
    max_examples=int(os.environ.get("MOTCUA_BULK_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_bulk_replay_equals_the_python_path(new_store, tmp_path_factory, data):
    parts = data.draw(event_files())
    folder = tmp_path_factory.mktemp("bulk")
    files = []
    for i, lines in enumerate(parts):
        files.append(folder / f"part{i}.jsonl")
        _write(files[-1], lines)
    bulk_store, plain_store = new_store(), new_store()
    bulk = _replay(bulk_store, files, bulk=True)
    plain = _replay(plain_store, files, bulk=False)
    for b, p in zip(bulk, plain):
        assert (b.read, b.accepted, b.rejected, b.duplicates, dict(b.rejected_by_code)) == (
            p.read,
            p.accepted,
            p.rejected,
            p.duplicates,
            dict(p.rejected_by_code),
        )
    got, want = tables(bulk_store), tables(plain_store)
    for name in CHECKS:
        assert got[name] == want[name], name


def test_bulk_replay_folds_clean_lines_in_sql_and_a_second_replay_changes_nothing(store, tmp_path):
    """Clean simulated lines take the SQL path (not silently all Python), and replaying
    the same file again is all duplicates."""
    from datetime import date

    from motcua.simulate import simulate, write_events

    path = tmp_path / "month.jsonl"
    write_events(simulate("75", date(2025, 3, 3), date(2025, 3, 8), seed=3, scale=0.2), path)
    pipeline = EmbeddedPipeline(store, default_calendar())
    from motcua.adapters.clickhouse_bulk import BulkReplayer

    replayer = BulkReplayer(store, default_calendar())
    replayer.stage([str(path)])
    lines = sum(1 for _ in open(path, "rb"))
    # every simulated line is fast but those with free text (a reason), which validate drops
    with_text = sum(1 for line in open(path, "rb") if b'"reason":' in line)
    assert 0 < with_text < lines / 50
    assert replayer.extract(NOW_MS) == lines - with_text
    replayer.drop_scratch()
    first = pipeline.replay_files([path])
    before = tables(store)
    second = pipeline.replay_files([path])
    assert first.accepted == lines and first.duplicates == 0
    assert second.accepted == lines and second.duplicates == lines and second.dossiers_changed == 0
    assert tables(store) == before


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_several_files_in_one_bulk_replay_equal_the_python_path(new_store, tmp_path_factory, data):
    """The CLI passes every file to one replay; .gz files are read the same."""
    parts = data.draw(event_files())
    folder = tmp_path_factory.mktemp("multi")
    files = []
    for i, lines in enumerate(
        parts + [[data.draw(wire_line(e)) for e in data.draw(histories(max_dossiers=3))]]
    ):
        f = folder / (f"part{i}.jsonl.gz" if i == 1 else f"part{i}.jsonl")
        body = b"".join(line + b"\n" for line in lines)
        if f.suffix == ".gz":
            import gzip

            body = gzip.compress(body)
        f.write_bytes(body)
        files.append(f)
    bulk_store, plain_store = new_store(), new_store()
    EmbeddedPipeline(bulk_store, default_calendar(), now_ms=lambda: NOW_MS).replay_files(files, bulk=True)
    _replay(plain_store, files, bulk=False)
    got, want = tables(bulk_store), tables(plain_store)
    for name in CHECKS:
        assert got[name] == want[name], name


def test_a_bom_before_a_conflicting_first_line_is_dead_lettered_alike(new_store, tmp_path):
    """Found by the property above: the bulk path kept a file's UTF-8 BOM in its first
    line, so the dead letter of that line (a conflicting duplicate) differed in size."""
    from tests.builders import local_ms, received

    first = received("B1", local_ms(2025, 3, 3))
    other = dict(first, channel="DIRECT")
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_bytes(orjson.dumps(first) + b"\n")
    b.write_bytes(b"\xef\xbb\xbf" + orjson.dumps(other) + b"\n")
    bulk_store, plain_store = new_store(), new_store()
    EmbeddedPipeline(bulk_store, default_calendar(), now_ms=lambda: NOW_MS).replay_files([a, b], bulk=True)
    _replay(plain_store, [a, b], bulk=False)
    got, want = tables(bulk_store), tables(plain_store)
    assert [r[3] for r in got["dead letters"]] == ["CONFLICTING_DUPLICATE"]
    for name in CHECKS:
        assert got[name] == want[name], name


class Crash(Exception):
    pass


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_crash_between_bulk_inserts_then_a_rerun_counts_everything_once(
    new_store, tmp_path_factory, data, monkeypatch
):
    """The bulk writes go bucket by bucket (rollup, backlog, states, events); a crash
    after any of them and a rerun of the same file give the tables of a clean replay."""
    from motcua.adapters import clickhouse_bulk

    monkeypatch.setattr(clickhouse_bulk, "BUCKET_EVENTS", 15)
    events = data.draw(delivered(data.draw(histories(max_dossiers=12))))
    path = tmp_path_factory.mktemp("crash") / "events.jsonl"
    _write(path, [data.draw(wire_line(e)) for e in events])
    crashed, clean = new_store(), new_store()
    inserts = data.draw(st.integers(0, 12))  # inserts that land before the crash

    class CrashingClient:
        def __init__(self, client):
            self._client, self.left = client, inserts

        def command(self, sql, *args, **kwargs):
            if "insert_deduplication_token" in (kwargs.get("settings") or {}):
                if self.left == 0:
                    raise Crash()
                self.left -= 1
            return self._client.command(sql, *args, **kwargs)

        def __getattr__(self, name):
            return getattr(self._client, name)

    pipeline = EmbeddedPipeline(crashed, default_calendar(), now_ms=lambda: NOW_MS)
    real = crashed.client
    crashed.client = CrashingClient(real)
    try:
        pipeline.replay_files([path])
    except Crash:
        pass
    crashed.client = real
    EmbeddedPipeline(crashed, default_calendar(), now_ms=lambda: NOW_MS).replay_files([path])
    _replay(clean, [path], bulk=False)
    got, want = tables(crashed), tables(clean)
    for name in CHECKS:
        assert got[name] == want[name], name


@st.composite
def catalogue_files(draw):
    """Lines whose RECEIVED events leave out a random part of the flags, and a random
    procedure catalogue for the strategies' procedure codes."""
    from motcua.reference.catalogue import FLAGS, CatalogueEntry

    events = []
    for e in draw(histories(max_dossiers=8)):
        if e["event_type"] == "RECEIVED":
            e = {k: v for k, v in e.items() if k not in draw(st.sets(st.sampled_from(FLAGS)))}
        events.append(e)
    lines = [draw(wire_line(e)) for e in draw(delivered(events))]
    catalogue = {}
    for code in draw(st.lists(st.sampled_from(["1.1", "1.2", "2.1"]), unique=True)):
        limit = draw(
            st.none()
            | st.builds(
                lambda v, u: {"value": v, "unit": u},
                st.integers(0, 20),
                st.sampled_from(["WORKING_DAYS", "DAYS", "HOURS"]),
            )
        )
        catalogue[code] = CatalogueEntry(
            code,
            f"Thủ tục {code}",
            has_fee=draw(st.none() | st.booleans()),
            requires_paper_result=draw(st.none() | st.booleans()),
            time_limit=limit,
        )
    return lines, catalogue


@settings(
    max_examples=int(os.environ.get("MOTCUA_BULK_EXAMPLES", "25")) // 2,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_bulk_replay_supplies_catalogue_flags_like_the_python_path(new_store, tmp_path_factory, data):
    """A loaded procedure catalogue fills what RECEIVED events leave out: the same
    tables on both paths (the bulk path joins the catalogue in its SQL fold)."""
    from motcua.adapters.clickhouse_procedures import ProceduresRepository

    lines, catalogue = data.draw(catalogue_files())
    path = tmp_path_factory.mktemp("bulkcat") / "events.jsonl"
    _write(path, lines)
    bulk_store, plain_store = new_store(), new_store()
    for st_ in (bulk_store, plain_store):
        ProceduresRepository(st_).save(catalogue.values())
    _replay(bulk_store, [path], bulk=True)
    _replay(plain_store, [path], bulk=False)
    got, want = tables(bulk_store), tables(plain_store)
    for name in CHECKS:
        assert got[name] == want[name], name
