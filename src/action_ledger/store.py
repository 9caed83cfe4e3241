"""The event store: envelopes, the store protocol, and the hash chain that makes tampering visible.

A store sees only envelopes (type tag, schema version, canonical JSON data and provenance),
never domain classes. Each append is atomic; each stored event has a per-stream ``version`` and
a gap-free global ``position`` in commit order, and carries the hash of its predecessor, so
:func:`verify_chain` finds the first altered, removed, reordered or forged event.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol, runtime_checkable

import attrs

from .exceptions import DuplicateEventError, ValidationError

__all__ = [
    "GENESIS_HASH",
    "EventStore",
    "NewEvent",
    "StoredEvent",
    "VerifyReport",
    "chain_hash",
    "verify_chain",
]

GENESIS_HASH = "0" * 64
# One encoder, made once: json.dumps would build it again for every event hashed.
_CANONICAL = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


@attrs.frozen(kw_only=True)
class NewEvent:
    """An envelope to append: what the store is given.

    Attributes:
        event_id: a UUID; also the idempotency key of the append.
        event_type: the type tag, e.g. ``"action.raised"``.
        schema_version: the version of the data's shape under that tag.
        data: canonical JSON text (sorted keys, no spaces, UTC ISO 8601 times).
        occurred_at: when it happened in the world (canonical UTC text).
        actor: who recorded it.
    """

    event_id: str
    event_type: str
    schema_version: int
    data: str
    occurred_at: str
    actor: str


@attrs.frozen(kw_only=True)
class StoredEvent:
    """An envelope as stored: the :class:`NewEvent` fields plus what the store added.

    Attributes:
        position: the global position, from 1, gap-free, in commit order.
        stream_id: the stream, e.g. ``"action:ACT-2021-004"``.
        version: the per-stream version, from 1.
        recorded_at: when the store recorded it (canonical UTC text; never decreases).
        prev_hash: the hash of the event at ``position - 1`` (``GENESIS_HASH`` for the first).
        hash: this event's chain hash.
    """

    position: int
    stream_id: str
    version: int
    event_id: str
    event_type: str
    schema_version: int
    data: str
    occurred_at: str
    recorded_at: str
    actor: str
    prev_hash: str
    hash: str


@attrs.frozen(kw_only=True)
class VerifyReport:
    """The result of checking the hash chain.

    Attributes:
        ok: ``True`` when every event checked out.
        checked: how many events were read.
        first_bad_position: where the chain first breaks (the position expected there), or
            ``None`` when ``ok``.
        reason: what was wrong there, in a sentence; ``None`` when ``ok``.
        head_hash: the hash of the last good event (publish it to detect rewrites later).
    """

    ok: bool
    checked: int
    first_bad_position: int | None
    reason: str | None
    head_hash: str


def _canonical(
    *,
    position: int,
    stream_id: str,
    version: int,
    event_id: str,
    event_type: str,
    schema_version: int,
    data: str,
    occurred_at: str,
    recorded_at: str,
    actor: str,
) -> bytes:
    fields = [
        position,
        stream_id,
        version,
        event_id,
        event_type,
        schema_version,
        data,
        occurred_at,
        recorded_at,
        actor,
    ]
    return _CANONICAL.encode(fields).encode()


def chain_hash(
    prev_hash: str,
    *,
    position: int,
    stream_id: str,
    version: int,
    event: NewEvent | StoredEvent,
    recorded_at: str,
    key: bytes | None = None,
) -> str:
    """The chain hash of an event: SHA-256 (or HMAC-SHA-256 with ``key``) over the previous hash
    and the canonical encoding of the envelope, its place in the log and its recorded time."""
    message = (
        prev_hash.encode()
        + b"\n"
        + _canonical(
            position=position,
            stream_id=stream_id,
            version=version,
            event_id=event.event_id,
            event_type=event.event_type,
            schema_version=event.schema_version,
            data=event.data,
            occurred_at=event.occurred_at,
            recorded_at=recorded_at,
            actor=event.actor,
        )
    )
    if key is not None:
        return hmac.new(key, message, hashlib.sha256).hexdigest()
    return hashlib.sha256(message).hexdigest()


def verify_chain(
    events: Iterable[StoredEvent], *, key: bytes | None = None, head: str | None = None
) -> VerifyReport:
    """Check a log read in position order, in constant memory per stream.

    Finds the first event whose position is out of sequence (a row removed or reordered),
    whose stream version skips, whose ``prev_hash`` does not match the event before it, or
    whose hash does not match its contents (an edit, or a forgery without the key).

    Args:
        events: the whole log, in position order (e.g. ``store.read_all()``).
        key: the HMAC key, if the store was written with one.
        head: a head hash published earlier; the report fails if no checked event has it
            (the log was rewritten since).
    """
    expected_position = 1
    prev_hash = GENESIS_HASH
    versions: dict[str, int] = {}
    checked = 0
    head_seen = head is None

    def bad(reason: str, position: int) -> VerifyReport:
        return VerifyReport(
            ok=False,
            checked=checked,
            first_bad_position=position,
            reason=reason,
            head_hash=prev_hash,
        )

    for event in events:
        checked += 1
        if event.position != expected_position:
            return bad(
                f"expected position {expected_position}, found {event.position}: an event was "
                "removed or the log was reordered",
                expected_position,
            )
        expected_version = versions.get(event.stream_id, 0) + 1
        if event.version != expected_version:
            return bad(
                f"stream {event.stream_id!r} jumps to version {event.version} where "
                f"{expected_version} was expected",
                event.position,
            )
        if event.prev_hash != prev_hash:
            return bad("prev_hash does not match the hash of the event before it", event.position)
        recomputed = chain_hash(
            prev_hash,
            position=event.position,
            stream_id=event.stream_id,
            version=event.version,
            event=event,
            recorded_at=event.recorded_at,
            key=key,
        )
        if not hmac.compare_digest(recomputed, event.hash):
            return bad("the stored hash does not match the event's contents", event.position)
        versions[event.stream_id] = event.version
        prev_hash = event.hash
        expected_position += 1
        if not head_seen and event.hash == head:
            head_seen = True
    if not head_seen:
        return VerifyReport(
            ok=False,
            checked=checked,
            first_bad_position=None,
            reason=f"the published head hash {head} is not in the log: it was rewritten",
            head_hash=prev_hash,
        )
    return VerifyReport(
        ok=True, checked=checked, first_bad_position=None, reason=None, head_hash=prev_hash
    )


@runtime_checkable
class EventStore(Protocol):
    """What every backend provides (in-memory, SQLite, PostgreSQL); one contract suite tests all.

    The store owns ``recorded_at`` and the hash chain; it never sees domain classes.
    """

    key: bytes | None

    def append(
        self, stream_id: str, events: Sequence[NewEvent], expected_version: int
    ) -> tuple[int, ...]:
        """Append ``events`` to ``stream_id`` atomically, if it is at ``expected_version``.

        Returns:
            The global positions of the events. Re-sending events whose ids are all stored
            already (in this stream, in this order) is a no-op returning their positions.

        Raises:
            ConcurrencyError: the stream is at another version.
            DuplicateEventError: some but not all event ids are stored, or stored elsewhere.
        """
        ...

    def read_stream(self, stream_id: str, *, up_to_version: int | None = None) -> list[StoredEvent]:
        """The events of one stream in version order (up to and including ``up_to_version``)."""
        ...

    def read_all(
        self, *, after: int = 0, limit: int | None = None, page_size: int = 1000
    ) -> Iterator[StoredEvent]:
        """The global log after ``after``, in position order, read in pages of ``page_size``."""
        ...

    def get_event(self, event_id: str) -> StoredEvent | None:
        """The stored event with this id, or ``None``."""
        ...

    def stream_version(self, stream_id: str) -> int:
        """The current version of a stream (0 when it has no events)."""
        ...

    def last_position(self) -> int:
        """The position of the last event (0 when empty)."""
        ...

    def count_streams(self, prefix: str) -> int:
        """How many streams have ids starting with ``prefix``."""
        ...

    def close(self) -> None:
        """Release the store's resources."""
        ...


# -- shared by the backends: one implementation of the append rules ---------------------------


def check_batch(stream_id: str, events: Sequence[NewEvent]) -> None:
    """Reject a batch that could never be stored (empty, or an event id twice)."""
    if not stream_id:
        raise ValidationError("stream_id must not be empty", field="stream_id")
    if not events:
        raise ValidationError(f"nothing to append to {stream_id!r}: the batch is empty")
    ids = [e.event_id for e in events]
    if len(set(ids)) != len(ids):
        raise DuplicateEventError(f"the batch for {stream_id!r} repeats an event id: {ids}")


def check_paging(after: int, limit: int | None, page_size: int) -> None:
    """Reject read arguments that could silently return less than the log."""
    if page_size < 1:
        raise ValidationError(f"page_size {page_size} must be at least 1", field="page_size")
    if after < 0:
        raise ValidationError(f"after {after} must be 0 or a position", field="after")
    if limit is not None and limit < 0:
        raise ValidationError(f"limit {limit} must be 0 or more", field="limit")


def replayed_positions(
    stream_id: str, events: Sequence[NewEvent], found: dict[str, tuple[str, int]]
) -> tuple[int, ...] | None:
    """Decide what to do when some event ids of a batch are already stored.

    Args:
        found: for each stored event id of the batch, its stream and position.

    Returns:
        The original positions when the whole batch is a retry of an earlier append (so the
        append is a no-op), or ``None`` when none of the ids is stored.

    Raises:
        DuplicateEventError: only some ids are stored, or they are stored in another stream or
            another order.
    """
    if not found:
        return None
    ids = [e.event_id for e in events]
    if len(found) != len(ids):
        raise DuplicateEventError(
            f"{len(found)} of the {len(ids)} events for {stream_id!r} are already stored "
            f"({sorted(found)}); a retry must re-send exactly the same batch"
        )
    positions = [found[i][1] for i in ids]
    streams = {found[i][0] for i in ids}
    consecutive = positions == list(range(positions[0], positions[0] + len(positions)))
    if streams != {stream_id} or not consecutive:
        raise DuplicateEventError(
            f"events {ids} are already stored, but not as this batch for {stream_id!r}"
        )
    return tuple(positions)


def seal(
    stream_id: str,
    events: Sequence[NewEvent],
    *,
    version: int,
    position: int,
    prev_hash: str,
    recorded_at: str,
    key: bytes | None,
) -> list[StoredEvent]:
    """Give each event of a batch its version, position, recorded time and chain hash.

    ``version`` and ``position`` are those of the last stored event (of the stream, of the log).
    """
    sealed = []
    for offset, event in enumerate(events, start=1):
        digest = chain_hash(
            prev_hash,
            position=position + offset,
            stream_id=stream_id,
            version=version + offset,
            event=event,
            recorded_at=recorded_at,
            key=key,
        )
        sealed.append(
            StoredEvent(
                position=position + offset,
                stream_id=stream_id,
                version=version + offset,
                event_id=event.event_id,
                event_type=event.event_type,
                schema_version=event.schema_version,
                data=event.data,
                occurred_at=event.occurred_at,
                recorded_at=recorded_at,
                actor=event.actor,
                prev_hash=prev_hash,
                hash=digest,
            )
        )
        prev_hash = digest
    return sealed
