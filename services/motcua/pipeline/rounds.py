"""Writing facts: transitions -> rollup, backlog and state rows with their tokens.

Shared by the replay (``pipeline.ingest``), the recompute and the live writer
(``live.writer``, which writes one *round* of facts messages at a time). Everything here
is pure but the calls on the ``FactStore`` / ``EventLog`` ports; a retried call or a rerun
after a crash between two inserts computes the same rows and the same tokens, so the
store drops what already landed and writes the rest. ``live/writer.py`` holds the
argument for why that is enough across crashes and rebalances.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import orjson

from ..domain.events import validate
from .dossiers import Transition, backlog_deltas, rollup_deltas, transition_token_parts
from .ports import EventLog, FactStore

# Kafka's offset.metadata.max.bytes default: a round's intent metadata must not be longer.
METADATA_MAX_BYTES = 4096
_TOKEN_TEXT_MAX = 160


def content_token(prefix: str, parts: Iterable[bytes]) -> str:
    """A deduplication token from an insert's content: the same rows give the same token."""
    h = hashlib.blake2b(digest_size=16)
    for p in parts:
        h.update(p)
    return f"{prefix}-{h.hexdigest()}"


def write_transitions(store: FactStore, transitions: Sequence[Transition],
                      token_prefix: str | None = None) -> None:
    """Rollup deltas, backlog deltas, then the new states; every insert carries a token
    naming the transitions (after ``token_prefix``, e.g. a round's Kafka offsets), so a
    retry or a rerun after a crash between two inserts changes nothing. The states go
    last: they are what a rerun reads as "already written"."""
    if not transitions:
        return
    parts = transition_token_parts(transitions)
    if token_prefix:
        parts = [token_prefix.encode()] + parts
    store.insert_rollup(rollup_deltas(transitions), content_token("rollup", parts))
    store.insert_backlog(backlog_deltas(transitions), content_token("backlog", parts))
    store.insert_states([t.new for t in transitions], content_token("state", parts))


# -- the writer's rounds ------------------------------------------------------------------

@dataclass(frozen=True)
class Round:
    """A round's composition: sorted ``(partition, first, last)`` of one topic."""
    topic: str
    parts: tuple[tuple[int, int, int], ...]

    @classmethod
    def of(cls, topic: str, parts: Iterable[tuple[int, int, int]]) -> "Round":
        return cls(topic, tuple(sorted((int(p), int(f), int(l)) for p, f, l in parts)))

    @property
    def token(self) -> str:
        if len(self.parts) == 1:  # the previous version's per-batch token
            p, f, l = self.parts[0]
            return f"{self.topic}:{p}:{f}-{l}"
        text = f"{self.topic}:" + ",".join(f"{p}:{f}-{l}" for p, f, l in self.parts)
        if len(text) <= _TOKEN_TEXT_MAX:
            return text
        return f"{self.topic}:round-{hashlib.blake2b(text.encode(), digest_size=16).hexdigest()}"

    def metadata(self) -> str:
        """What the intent commit carries: the whole composition."""
        return orjson.dumps({"round": [list(x) for x in self.parts]}).decode()

    def range_of(self, partition: int) -> tuple[int, int] | None:
        for p, f, l in self.parts:
            if p == partition:
                return f, l
        return None

    @classmethod
    def from_commit(cls, topic: str, partition: int, offset: int,
                    metadata: str | None) -> "Round | None":
        """The round an intent names; None for a final commit (no metadata) or metadata
        that is not an intent of this partition at this offset."""
        if not metadata:
            return None
        try:
            doc = orjson.loads(metadata)
            if "round" in doc:
                r = cls.of(topic, doc["round"])
                own = r.range_of(partition)
                if own is not None and own[0] == offset and own[1] >= own[0]:
                    return r
            elif "last" in doc:  # previous version: one batch of this partition
                last = int(doc["last"])
                if last >= offset:
                    return cls(topic, ((partition, offset, last),))
        except (ValueError, KeyError, TypeError):
            pass
        return None


def plan_rounds(ranges: Sequence[tuple[int, int, int]], topic: str,
                max_metadata_bytes: int = METADATA_MAX_BYTES) -> list[Round]:
    """Non-empty ``(partition, first, last)`` ranges of one topic -> rounds, in partition
    order, each as large as its intent metadata allows."""
    rounds: list[Round] = []
    cur: list[tuple[int, int, int]] = []
    for part in sorted(ranges):
        if cur and len(Round.of(topic, cur + [part]).metadata().encode()) > max_metadata_bytes:
            rounds.append(Round.of(topic, cur))
            cur = []
        cur.append(part)
    if cur:
        rounds.append(Round.of(topic, cur))
    return rounds


def plan_facts(messages: Sequence[dict], written: dict[str, dict]) -> list[Transition]:
    """The transitions of a round: per dossier the highest version above the written one."""
    best: dict[str, dict] = {}
    for m in messages:
        f = m["facts"]
        d = f["dossier_id"]
        cur = best.get(d)
        if cur is None or f["version"] > cur["version"]:
            best[d] = f
    out = []
    for d, f in best.items():
        old = written.get(d)
        if old is not None and f["version"] <= old["version"]:
            continue
        out.append(Transition(d, old, f))
    return out


def batch_events(messages: Sequence[dict]) -> tuple[list[dict], list[bytes]]:
    """The distinct events of a round's messages and their stored payloads."""
    seen: set = set()
    events, payloads = [], []
    for m in messages:
        for e in m["events"]:
            k = (e["dossier_id"], e["event_id"])
            if k in seen:
                continue
            seen.add(k)
            events.append(e)
            payloads.append(orjson.dumps(e))
    return events, payloads


@dataclass
class RoundWritten:
    events: int
    transitions: list[Transition]


def write_round(store: EventLog, facts: FactStore, token: str, messages: Sequence[dict],
                timed: Callable[[str], object] | None = None) -> RoundWritten:
    """One round of facts messages into the store, with the round's tokens: its raw
    events, then ONE read of the written facts of its dossiers and the transitions above
    them (``plan_facts``, ``write_transitions``). Idempotent: a rerun, whatever was
    written of an earlier attempt, writes exactly what is missing (live/writer.py says
    why). ``timed(stage)``: a context manager around each insert (latency metrics)."""
    events, payloads = batch_events(messages)
    if events:
        with _maybe(timed, "events"):
            store.insert_events(events, payloads, token=f"events:{token}")
    written = facts.facts_of(list({m["facts"]["dossier_id"] for m in messages}))
    transitions = plan_facts(messages, written)
    with _maybe(timed, "transitions"):
        write_transitions(facts, transitions, token_prefix=token)
    return RoundWritten(len(events), transitions)


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _maybe(timed, stage):
    return timed(stage) if timed is not None else _Null()


def unusable(message, check_states: Callable[[list[dict]], object]) -> str | None:
    """Why a facts message cannot be written (None: it can). Pure, so every run of a
    round refuses the same messages; ``check_states`` is the store's own check of a facts
    row's shape (raises on a wrong one). Only asked when a round fails: a message that
    made it fail is a dead letter, not a reason to retry for ever."""
    try:
        facts, events = message["facts"], message["events"]
        if not isinstance(facts["dossier_id"], str) or type(facts["version"]) is not int:
            return "facts without a dossier id and version"
        t = Transition(facts["dossier_id"], None, facts)
        rollup_deltas([t])
        backlog_deltas([t])
        check_states([facts])
        for e in events:
            validate(dict(e))
    except Exception as err:  # noqa: BLE001 - any failure makes the message unusable
        return f"{type(err).__name__}: {str(err)[:160]}"
    return None


@dataclass
class Decoded:
    """A facts message of a round, with where it came from."""
    partition: int
    message: dict
    source: str  # "<topic>:<partition>:<offset>", the dead letter's source if refused
    raw: bytes


@dataclass
class RoundOutcome:
    messages: list[Decoded]  # written (the round's messages minus the refused ones)
    refused: list[dict]  # dead letters
    events: int
    transitions: list[Transition]


class RoundWriter:
    """The store side of a writer round: decode its messages, then write them until the
    store acknowledges. A message that cannot be decoded, or that makes the round fail
    for its content (``unusable``), becomes a dead letter and the round goes on without
    it; any other failure is the store's, and the whole round is retried (it is
    idempotent) after a backoff that doubles up to ``max_backoff_s``. ``wait(seconds)``
    sleeps and returns True when the service is stopping (``Stopping`` is raised then)."""

    def __init__(self, store, check_states: Callable[[list[dict]], object],
                 dead_letter: Callable[[str, bytes, str], dict],
                 wait: Callable[[float], bool], max_backoff_s: float = 30.0,
                 on_retry: Callable[[str, Exception, float], None] | None = None,
                 on_refused: Callable[[str, int], None] | None = None,
                 timed: Callable[[str], object] | None = None):
        self.store = store
        self.check_states = check_states
        self.dead_letter = dead_letter  # (source, raw, reason) -> dead-letter record
        self.wait = wait
        self.max_backoff_s = max_backoff_s
        self.on_retry = on_retry
        self.on_refused = on_refused
        self.timed = timed

    def decode(self, records: Iterable[tuple[int, str, bytes]]) -> tuple[list[Decoded], list[dict]]:
        """(partition, source, raw value) -> facts messages, and dead letters for the rest."""
        decoded, refused = [], []
        for partition, source, raw in records:
            try:
                m = orjson.loads(raw)
                if type(m) is not dict or type(m.get("facts")) is not dict or type(m.get("events")) is not list:
                    raise ValueError("not a facts message")
            except ValueError as err:
                refused.append(self.dead_letter(source, raw, str(err)[:160]))
                continue
            decoded.append(Decoded(partition, m, source, raw))
        return decoded, refused

    def write(self, token: str, records: Iterable[tuple[int, str, bytes]]) -> RoundOutcome:
        decoded, refused = self.decode(records)
        delay = 0.5
        while True:
            try:
                if refused:
                    self.store.insert_dead_letters(refused)
                done = write_round(self.store, self.store, token, [d.message for d in decoded], self.timed)
                return RoundOutcome(decoded, refused, done.events, done.transitions)
            except Exception as err:  # noqa: BLE001 - the store's failure or the content's
                bad = [(i, why) for i, d in enumerate(decoded) if (why := unusable(d.message, self.check_states))]
                if bad:  # the round's own content failed it, not the store: refuse, go on
                    gone = {i for i, _why in bad}
                    refused += [self.dead_letter(decoded[i].source, decoded[i].raw, why) for i, why in bad]
                    decoded = [d for i, d in enumerate(decoded) if i not in gone]
                    if self.on_refused is not None:
                        self.on_refused(token, len(bad))
                    continue
                if self.on_retry is not None:
                    self.on_retry(token, err, delay)
                if self.wait(delay):
                    raise Stopping() from err
                delay = min(delay * 2, self.max_backoff_s)


class Stopping(Exception):
    """The service was asked to stop while waiting to retry."""
