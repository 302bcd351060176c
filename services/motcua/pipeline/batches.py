"""Records in: decode and validate, group by dossier, dead letters for the rest.

The first handler every loop shares (the replay, the processor, the gateway's check):
a record is what arrived (bytes in the contract's formats, or an already-decoded dict)
and where it came from (``source``, the dead letter's position). The codec is a port
(``pipeline.ports.Codec``) so nothing here knows Avro or JSON framing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import orjson

from ..domain.events import InvalidEvent, validate
from .ports import Codec


def decode_record(raw: bytes | dict, now_ms: int | None, codec: Codec) -> dict:
    """Bytes (JSON or Avro single-object) or an already-decoded dict -> a valid event.
    Raises the codec's decode error or ``InvalidEvent`` (both carry ``code``, ``reason``)."""
    event = codec.decode(raw) if isinstance(raw, (bytes, bytearray, memoryview)) else dict(raw)
    return validate(event, now_ms)


def is_rejection(err: Exception) -> bool:
    """Whether ``err`` is what a decode or validation refusal raises (vs a bug)."""
    return isinstance(err, InvalidEvent) or getattr(err, "stage", None) == "decode"


def rejection(
    codec: Codec,
    source: str,
    raw: bytes | dict,
    err: Exception,
    stage: str = "validate",
    event: dict | None = None,
) -> dict:
    """A dead letter for what arrived (``raw``); ``event``: its validated form, when a
    later stage refused it (its ids are then known to be codes)."""
    payload = raw if isinstance(raw, (bytes, bytearray)) else orjson.dumps(raw, default=str)
    code = getattr(err, "code", "INVALID")
    reason = getattr(err, "reason", None) or str(err)
    event_id = dossier_id = None
    ids = event if event is not None else raw
    if isinstance(ids, dict):
        event_id, dossier_id = ids.get("event_id"), ids.get("dossier_id")
        event_id = event_id if isinstance(event_id, str) else None
        dossier_id = dossier_id if isinstance(dossier_id, str) else None
    stage = getattr(err, "stage", None) or stage  # a decode error names its own stage
    return codec.dead_letter(
        source=source,
        stage=stage,
        code=code,
        reason=reason,
        payload=bytes(payload),
        event_id=event_id,
        dossier_id=dossier_id,
    )


@dataclass(slots=True)
class DossierGroup:
    """The valid events of one dossier in a batch, in arrival order, with each one's
    ingest time and origin (source, what arrived)."""

    events: list[dict] = field(default_factory=list)
    ts: list[int] = field(default_factory=list)
    origins: list[tuple[str, bytes | dict]] = field(default_factory=list)

    def without(self, refused: Iterable[dict]) -> DossierGroup:
        gone = {id(e) for e in refused}
        keep = [i for i, e in enumerate(self.events) if id(e) not in gone]
        return DossierGroup(
            [self.events[i] for i in keep], [self.ts[i] for i in keep], [self.origins[i] for i in keep]
        )

    def origin_of(self, event: dict) -> tuple[str, bytes | dict]:
        return self.origins[next(i for i, e in enumerate(self.events) if e is event)]


def decode_batch(
    records: Iterable[tuple[str, bytes | dict, int]], now_ms: int, codec: Codec, stage: str = "validate"
) -> tuple[dict[str, DossierGroup], list[dict]]:
    """records: (source, what arrived, ingest ms) -> the valid events grouped by dossier
    (first-seen order), and dead letters for the others. ``stage`` names where a
    validation refusal happened (``processor`` on the live path)."""
    groups: dict[str, DossierGroup] = {}
    dead: list[dict] = []
    for source, raw, ts in records:
        try:
            event = decode_record(raw, now_ms, codec)
        except Exception as err:
            if not is_rejection(err):
                raise
            dead.append(rejection(codec, source, raw, err, stage=stage))
            continue
        g = groups.get(event["dossier_id"])
        if g is None:
            g = groups[event["dossier_id"]] = DossierGroup()
        g.events.append(event)
        g.ts.append(ts)
        g.origins.append((source, raw))
    return groups, dead
