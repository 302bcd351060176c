"""The ports of the service layer: what the handlers need from the outside, as Protocols.

The handlers (``pipeline.batches``, ``pipeline.ingest``, ``pipeline.rounds``) are written
once against these; the adapters implement them: ``adapters.clickhouse_store.ClickHouseStore``
and ``adapters.memory_store.MemoryStore`` (the fake the unit tests use; both pass
``tests/contract/store_contract.py``), ``adapters.codec.CODEC``, and on the live path the
Faust table and the Kafka senders of ``live.processor``.

Every insert takes a deduplication ``token``: inserting the same rows again with the same
token changes nothing (ClickHouse's ``insert_deduplication_token``; the fake keeps the
tokens it has seen). The writer's and the replay's crash arguments rest on that.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable


class Codec(Protocol):
    """The contract's wire formats and the redaction of what is rejected."""

    def decode(self, raw: bytes) -> dict:
        """Bytes (JSON or Avro single object) -> an event dict, not yet validated. Raises an
        exception with ``code`` and ``reason`` (and ``stage = "decode"``)."""
        ...

    def dead_letter(
        self,
        *,
        source: str,
        stage: str,
        code: str,
        reason: str,
        payload: bytes | str,
        event_id: str | None = None,
        dossier_id: str | None = None,
    ) -> dict:
        """A dead-letter record with nothing personal in it (the payload summarised)."""
        ...


@runtime_checkable
class EventLog(Protocol):
    """The accepted events: what a dossier's state is rebuilt from."""

    def events_of(self, dossier_ids: Sequence[str]) -> dict[str, list[bytes]]:
        """Stored payloads of these dossiers, one per distinct event (any order)."""
        ...

    def insert_events(
        self, events: Sequence[dict], payloads: Sequence[bytes], token: str | None = None
    ) -> None: ...


@runtime_checkable
class FactStore(Protocol):
    """Dossier facts (one row per version, the highest wins) and the signed rollups."""

    def facts_of(self, dossier_ids: Sequence[str]) -> dict[str, dict]:
        """The latest written facts of these dossiers (those that have any)."""
        ...

    def stored_dossiers(self, dossier_ids: Sequence[str]) -> set[str]:
        """Those of these dossiers that have written facts (a cheaper read than
        ``facts_of``: the writer asks it for the dossiers it has not seen yet)."""
        ...

    def insert_rollup(self, rows: Sequence[tuple], token: str | None = None) -> None:
        """rows: (day ordinal, province, level, unit, procedure, field, channel, *COUNTERS)."""
        ...

    def insert_backlog(self, rows: Sequence[tuple], token: str | None = None) -> None:
        """rows: (due day ordinal, province, level, unit, procedure, field, channel, ±open)."""
        ...

    def insert_states(self, facts_rows: Sequence[dict], token: str | None = None) -> None: ...


@runtime_checkable
class DeadLetterSink(Protocol):
    def insert_dead_letters(self, records: Sequence[dict]) -> None:
        """Dead letters, deduplicated by ``dead_letter_id`` (a repeat is absorbed)."""
        ...


class Store(EventLog, FactStore, DeadLetterSink, Protocol):
    """Everything the replay and the writer write to."""


class MessageSink(Protocol):
    """Keyed messages out (the processor's facts and changelog records)."""

    async def send(self, messages: list[tuple[bytes, bytes]]) -> None: ...


class OffsetLog(Protocol):
    """Where the writer's consumer group keeps its offsets and intents (Kafka:
    ``adapters.kafka_writer.KafkaOffsets``). ``tp`` values are the transport's partition
    handles (``.topic``, ``.partition``, hashable, ordered)."""

    def partition(self, topic: str, partition: int) -> Any:
        """The handle of a partition."""
        ...

    def intent(self, r: Any, tps: list) -> dict:
        """The intent commit of round ``r``: each partition at its first offset, the
        composition as metadata."""
        ...

    def final(self, r: Any, tps: list) -> dict:
        """The final commit: each partition past its last offset, no metadata."""
        ...

    def commit(self, offsets: dict) -> None:
        """Commit, retrying what may pass on a retry; raises ``rounds.CommitRejected``
        when the request is refused as a whole."""
        ...

    def committed(self, tp: Any) -> tuple[int | None, str | None]:
        """The committed offset and metadata of a partition (None: never committed)."""
        ...

    def seek(self, tp: Any, offset: int) -> None: ...

    def seek_to_beginning(self, tp: Any) -> None: ...

    def assignment(self) -> set: ...

    def read_round(self, r: Any) -> dict[int, list]:
        """Every range of a round, whoever owns its partitions: partition -> records."""
        ...
