"""Writing facts: transitions -> rollup, backlog and state rows with their tokens.

Shared by the replay (``pipeline.ingest``), the recompute and the live writer
(``live.writer``, which writes one *round* of facts messages at a time: ``RoundWriter``
for the store's part, ``FactsRounds`` for the whole protocol of batches, intents and
re-forming). Nothing here touches Kafka or ClickHouse but through the ports
(``FactStore``, ``EventLog``, ``DeadLetterSink``, ``OffsetLog``); a retried call or a
rerun after a crash between two inserts computes the same rows and the same tokens, so
the store drops what already landed and writes the rest. ``live/writer.py`` holds the
argument for why that is enough across crashes and rebalances.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field

import orjson

from ..domain.events import validate
from .dossiers import Transition, backlog_deltas, rollup_deltas, transition_token_parts
from .ports import EventLog, FactStore

log = logging.getLogger("motcua.writer")

# Kafka's offset.metadata.max.bytes default: a round's intent metadata must not be longer.
METADATA_MAX_BYTES = 4096
_TOKEN_TEXT_MAX = 160


def content_token(prefix: str, parts: Iterable[bytes]) -> str:
    """A deduplication token from an insert's content: the same rows give the same token."""
    h = hashlib.blake2b(digest_size=16)
    for p in parts:
        h.update(p)
    return f"{prefix}-{h.hexdigest()}"


def write_transitions(
    store: FactStore, transitions: Sequence[Transition], token_prefix: str | None = None
) -> None:
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
    def of(cls, topic: str, parts: Iterable[tuple[int, int, int]]) -> Round:
        return cls(topic, tuple(sorted((int(p), int(first), int(last)) for p, first, last in parts)))

    @property
    def token(self) -> str:
        if len(self.parts) == 1:  # the previous version's per-batch token
            p, first, last = self.parts[0]
            return f"{self.topic}:{p}:{first}-{last}"
        text = f"{self.topic}:" + ",".join(f"{p}:{first}-{last}" for p, first, last in self.parts)
        if len(text) <= _TOKEN_TEXT_MAX:
            return text
        return f"{self.topic}:round-{hashlib.blake2b(text.encode(), digest_size=16).hexdigest()}"

    def metadata(self) -> str:
        """What the intent commit carries: the whole composition."""
        return orjson.dumps({"round": [list(x) for x in self.parts]}).decode()

    def range_of(self, partition: int) -> tuple[int, int] | None:
        for p, first, last in self.parts:
            if p == partition:
                return first, last
        return None

    def first_of(self, partition: int) -> int:
        """The first offset of one of the round's partitions (KeyError for another)."""
        return self._span(partition)[0]

    def last_of(self, partition: int) -> int:
        return self._span(partition)[1]

    def _span(self, partition: int) -> tuple[int, int]:
        span = self.range_of(partition)
        if span is None:
            raise KeyError(f"partition {partition} is not in round {self.token}")
        return span

    @classmethod
    def from_commit(cls, topic: str, partition: int, offset: int, metadata: str | None) -> Round | None:
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


def plan_rounds(
    ranges: Sequence[tuple[int, int, int]], topic: str, max_metadata_bytes: int = METADATA_MAX_BYTES
) -> list[Round]:
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


class RecentFacts:
    """The written facts of the dossiers a writer wrote last (at most ``capacity``, the
    least recently written forgotten first), so that a round reads from the store only
    the dossiers it has not seen: ``stored_dossiers`` (one column) for those, and
    ``facts_of`` (every column of ``dossier_state FINAL``) only for those of them the
    store has. On a store of 227,563 dossiers the full read cost 53 ms a round whatever
    the hit rate, because a round's ids fall in every granule.

    It holds exactly what the store holds only while nothing else writes these
    dossiers, so it is cleared (``clear``) whenever that may have changed: when
    partitions move (rebalance), after any failed or abandoned attempt, after a commit
    the broker rejected, and after a re-formed round (whose ranges may be of other
    writers' partitions). A recompute needs the writer stopped anyway. Values are kept
    encoded (≈ 0.9 KiB a dossier) and decoded per hit, so a reader may change them."""

    def __init__(self, store: FactStore, capacity: int):
        self.store, self.capacity = store, capacity
        self._facts: OrderedDict[str, bytes] = OrderedDict()
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._facts)

    def facts_of(self, dossier_ids: Sequence[str]) -> dict[str, dict]:
        out, unseen = {}, []
        for d in dossier_ids:
            raw = self._facts.get(d)
            if raw is None:
                unseen.append(d)
            else:
                out[d] = orjson.loads(raw)
        self.hits += len(out)
        self.misses += len(unseen)
        if unseen:
            stored = self.store.stored_dossiers(unseen)
            if stored:
                out.update(self.store.facts_of(sorted(stored)))
        return out

    def remember(self, written: dict[str, dict], transitions: Sequence[Transition]) -> None:
        """After a round the store acknowledged: its dossiers' facts are the new ones of
        its transitions, the written ones for the rest."""
        now = dict(written)
        now.update((t.dossier_id, t.new) for t in transitions)
        for d, f in now.items():
            self._facts[d] = orjson.dumps(f)
            self._facts.move_to_end(d)
        while len(self._facts) > self.capacity:
            self._facts.popitem(last=False)

    def clear(self) -> None:
        self._facts.clear()


def write_round(
    store: EventLog,
    facts: FactStore,
    token: str,
    messages: Sequence[dict],
    timed: Callable[[str], object] | None = None,
    recent: RecentFacts | None = None,
) -> RoundWritten:
    """One round of facts messages into the store, with the round's tokens: its raw
    events, then ONE read of the written facts of its dossiers (through ``recent`` when
    given) and the transitions above them (``plan_facts``, ``write_transitions``).
    Idempotent: a rerun, whatever was written of an earlier attempt, writes exactly
    what is missing (live/writer.py says why). ``timed(stage)``: a context manager
    around each insert (latency metrics)."""
    events, payloads = batch_events(messages)
    if events:
        with _maybe(timed, "events"):
            store.insert_events(events, payloads, token=f"events:{token}")
    ids = list({m["facts"]["dossier_id"] for m in messages})
    written = recent.facts_of(ids) if recent is not None else facts.facts_of(ids)
    transitions = plan_facts(messages, written)
    with _maybe(timed, "transitions"):
        write_transitions(facts, transitions, token_prefix=token)
    if recent is not None:
        recent.remember(written, transitions)
    return RoundWritten(len(events), transitions)


def _maybe(timed, stage):
    return timed(stage) if timed is not None else nullcontext()


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

    def __init__(
        self,
        store,
        check_states: Callable[[list[dict]], object],
        dead_letter: Callable[[str, bytes, str], dict],
        wait: Callable[[float], bool],
        max_backoff_s: float = 30.0,
        on_retry: Callable[[str, Exception, float], None] | None = None,
        on_refused: Callable[[str, int], None] | None = None,
        timed: Callable[[str], object] | None = None,
        recent_capacity: int = 0,
    ):
        self.store = store
        # the facts written last (``RecentFacts``); 0: every round reads the store
        self.recent = RecentFacts(store, recent_capacity) if recent_capacity > 0 else None
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
                if (
                    type(m) is not dict
                    or type(m.get("facts")) is not dict
                    or type(m.get("events")) is not list
                ):
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
                done = self._attempt(token, [d.message for d in decoded])
                return RoundOutcome(decoded, refused, done.events, done.transitions)
            except Exception as err:  # noqa: BLE001 - the store's failure or the content's
                bad = [
                    (i, why) for i, d in enumerate(decoded) if (why := unusable(d.message, self.check_states))
                ]
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

    def _attempt(self, token: str, messages: list[dict]) -> RoundWritten:
        try:
            return write_round(self.store, self.store, token, messages, self.timed, self.recent)
        except BaseException:  # what landed of a failed attempt is not known
            self.forget()
            raise

    def forget(self) -> None:
        """Forget the facts written last (``RecentFacts``): others may write them now."""
        if self.recent is not None:
            self.recent.clear()


class Stopping(Exception):
    """The service was asked to stop while waiting to retry."""


class RoundAbandoned(Exception):
    """Raised by a ``wait`` when the consumer group rebalanced while the round waited to
    retry the store: the round is given up uncommitted and its partitions are read again
    from their committed offsets (an intent there is re-formed), exactly as after a
    rejected commit. Nothing more of that poll or step may be written: the partitions it
    held may belong to another writer now."""


# -- the writer's service: batches, rounds, intents ---------------------------------------


@dataclass
class Batch:
    """The records (``.offset``, ``.value``) of one partition in a round: a contiguous
    offset range."""

    topic: str
    partition: int
    records: list = field(default_factory=list)
    started: float = 0.0

    @property
    def first(self) -> int:
        return self.records[0].offset

    @property
    def last(self) -> int:
        return self.records[-1].offset


class CommitRejected(Exception):
    """The broker refused an offset commit request as a whole (the group rebalanced, or,
    ``too_large``, the intent metadata exceeded its limit)."""

    def __init__(self, too_large: bool = False):
        super().__init__("metadata too large" if too_large else "group rebalanced")
        self.too_large = too_large


class FactsRounds:
    """The writer's round protocol over an ``OffsetLog`` (``pipeline.ports``; Kafka's
    consumer group in ``adapters.kafka_writer``, a fake in the unit tests): collect
    facts records per partition, write them as rounds (intent commit, the store's part by
    ``RoundWriter``, final commit), and re-form the round a committed intent names
    before anything else of its partitions is written. ``live/writer.py`` holds the
    argument for why nothing is lost or counted twice."""

    def __init__(
        self,
        round_writer_of: Callable[[], RoundWriter],
        offsets,
        batch_size: int,
        batch_seconds: float,
        max_metadata_bytes: int = METADATA_MAX_BYTES,
    ):
        self._round_writer_of = round_writer_of  # built once the store is reachable
        self._round_writer: RoundWriter | None = None
        self.offsets = offsets
        self.batch_size, self.batch_seconds = batch_size, batch_seconds
        self.max_metadata_bytes = max_metadata_bytes
        self.pending: dict = {}  # tp -> Batch
        self.intents: dict = {}  # tp -> Round its committed intent names (to re-form)
        self.unchecked: set = set()  # partitions whose committed offset is to be read
        self.flushed_batches = 0  # rounds written (the name the benchmark reads)
        self.reformed: list[tuple[Round, list[int]]] = []  # (round, partitions committed)

    # -- partitions and records -----------------------------------------------------
    def revoked(self, tps) -> None:
        self._forget_recent()
        for tp in tps:
            self.pending.pop(tp, None)
            self.intents.pop(tp, None)
            self.unchecked.discard(tp)

    def assigned(self, tps) -> None:
        """Newly (re)gained partitions: their committed offsets are read before anything
        of them is written (``step``)."""
        self._forget_recent()
        for tp in tps:
            self.pending.pop(tp, None)
            self.intents.pop(tp, None)
            self.unchecked.add(tp)

    def add(self, tp, records: list, now: float) -> None:
        b = self.pending.get(tp)
        if b is None:
            b = self.pending[tp] = Batch(tp.topic, tp.partition, [], now)
        b.records.extend(records)

    def step(self, now: float) -> None:
        """After each poll: read new partitions' intents, re-form them, write due rounds."""
        if self.unchecked:
            self._read_intents()
        if self.intents:
            self._reform_intents()
        self._flush_due(now)

    # -- intents --------------------------------------------------------------------
    def _read_intents(self) -> None:
        """Committed offset and metadata of newly (re)gained partitions: an intent is kept
        to be re-formed, otherwise batching restarts at the committed offset."""
        for tp in sorted(self.unchecked):
            try:
                offset, metadata = self.offsets.committed(tp)
            except Exception as err:  # noqa: BLE001 - coordinator moving: stays unchecked
                log.warning(
                    "cannot read a committed offset yet",
                    extra={"partition": tp.partition, "error": repr(err)[:300]},
                )
                return
            self.unchecked.discard(tp)
            self.pending.pop(tp, None)  # polled before the check: read again from the commit
            if offset is None or offset < 0:  # never committed
                self.offsets.seek_to_beginning(tp)
                continue
            r = Round.from_commit(tp.topic, tp.partition, offset, metadata)
            if r is None:
                if metadata:
                    log.warning(
                        "ignoring offset metadata that is no intent of this partition",
                        extra={"partition": tp.partition, "offset": offset, "metadata": metadata[:200]},
                    )
                self.offsets.seek(tp, offset)
                continue
            self.intents[tp] = r
            log.info(
                "re-forming an interrupted round",
                extra={"partition": tp.partition, "round": r.token, "partitions": len(r.parts)},
            )

    def _reform_intents(self) -> None:
        by_round: dict[Round, list] = {}
        for tp, r in self.intents.items():
            by_round.setdefault(r, []).append(tp)
        for r, owned in sorted(by_round.items(), key=lambda x: x[0].parts):
            owned = sorted(owned)
            written = self._write_round(r, self._read_round(r), owned, intent=False)
            self._forget_recent()  # its ranges may be of partitions other writers own
            if not written:
                continue
            for tp in owned:
                self.intents.pop(tp, None)
                self.pending.pop(tp, None)
                self.offsets.seek(tp, r.last_of(tp.partition) + 1)
            self.reformed.append((r, [tp.partition for tp in owned]))

    def _read_round(self, r: Round) -> list[Batch]:
        """All ranges of a round, whoever owns their partitions now, checked complete."""
        got = self.offsets.read_round(r)
        out = []
        for p, first, last in r.parts:
            b = Batch(r.topic, p, got.get(p, []), time.monotonic())
            if not b.records or b.first != first or b.last != last:
                log.error(
                    "a range of an interrupted round is no longer complete in Kafka",
                    extra={
                        "partition": p,
                        "range": (first, last),
                        "read": (b.first, b.last) if b.records else None,
                    },
                )
            if b.records:
                out.append(b)
        return out

    # -- rounds ---------------------------------------------------------------------
    def round_writer(self) -> RoundWriter:
        if self._round_writer is None:
            self._round_writer = self._round_writer_of()
        return self._round_writer

    def _forget_recent(self) -> None:
        if self._round_writer is not None:
            self._round_writer.forget()

    def _flush_due(self, now: float) -> None:
        ready = [
            b
            for tp, b in self.pending.items()
            if b.records and tp not in self.unchecked and tp not in self.intents
        ]
        if not any(len(b.records) >= self.batch_size or now - b.started >= self.batch_seconds for b in ready):
            return
        by_partition = {b.partition: b for b in ready}
        for r in plan_rounds(
            [(b.partition, b.first, b.last) for b in ready], ready[0].topic, self.max_metadata_bytes
        ):
            batches = [by_partition[p] for p, _f, _l in r.parts]
            tps = [self.offsets.partition(b.topic, b.partition) for b in batches]
            for tp in tps:
                del self.pending[tp]
            self._write_round(r, batches, tps, intent=True)

    def _write_round(self, r: Round, batches: list[Batch], final: list, intent: bool) -> bool:
        """Intent (a new round), the store's part (``RoundWriter``), final commit of the
        partitions ``final``. False when a commit was rejected (the partitions are then
        read again)."""
        if intent and not self._commit(self.offsets.intent(r, final)):
            self._drop(final)
            return False
        started = time.perf_counter()
        records = [
            (b.partition, f"{b.topic}:{b.partition}:{x.offset}", x.value) for b in batches for x in b.records
        ]
        try:
            done = self.round_writer().write(r.token, records)
        except RoundAbandoned:
            self._drop(final)
            raise
        acked = time.time()
        if not self._commit(self.offsets.final(r, final)):
            self._drop(final)
            return False
        self.flushed_batches += 1
        mine = {tp.partition for tp in final}
        counted = [d.message for d in done.messages if intent or d.partition in mine]
        self.round_written(r, done, counted, acked, time.perf_counter() - started)
        return True

    def round_written(
        self, r: Round, done: RoundOutcome, counted: list[dict], acked: float, seconds: float
    ) -> None:
        """Called once a round is final; ``counted``: its messages of the partitions this
        writer committed (the live writer's metrics and ``on_flushed``)."""

    def _commit(self, offsets: dict) -> bool:
        """Commit; False when the broker rejected the request as a whole (the partitions
        are then read again; metadata too large: smaller rounds from now on)."""
        try:
            self.offsets.commit(offsets)
            return True
        except CommitRejected as err:
            if err.too_large:
                self.max_metadata_bytes = max(64, self.max_metadata_bytes // 2)
                log.warning(
                    "intent metadata too large for the broker; smaller rounds",
                    extra={"max_metadata_bytes": self.max_metadata_bytes},
                )
            else:
                log.warning("offset commit rejected (group rebalanced); partitions read again")
            return False

    def _drop(self, tps) -> None:
        """Forget what is held of these partitions; the ones still assigned are read again
        from their committed offsets (an intent there is re-formed)."""
        self._forget_recent()
        try:
            assigned = self.offsets.assignment()
        except Exception:  # noqa: BLE001 - not assigned then
            assigned = set()
        for tp in tps:
            self.pending.pop(tp, None)
            self.intents.pop(tp, None)
            if tp in assigned:
                self.unchecked.add(tp)


def write_dead_letters(
    store,
    records: list[dict],
    wait: Callable[[float], bool],
    max_backoff_s: float,
    on_retry: Callable[[str, Exception, float], None] | None = None,
    timed: Callable[[str], object] | None = None,
) -> None:
    """Dead letters into the store until it acknowledges (a repeat is absorbed: they are
    kept once per id), with the same bounded backoff as a round."""
    delay = 0.5
    while True:
        try:
            with _maybe(timed, "dead_letters"):
                store.insert_dead_letters(records)
            return
        except Exception as err:  # noqa: BLE001 - the store's failure: retried
            if on_retry is not None:
                on_retry("dead-letters", err, delay)
            if wait(delay):
                raise Stopping() from err
            delay = min(delay * 2, max_backoff_s)
