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
import operator
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import attrs

from ._clock import Clock, format_utc
from ._keys import KeyCursor, KeyRecord, Keyring, KeySchedule, as_keyring, open_schedule
from .exceptions import (
    ConcurrencyError,
    DuplicateEventError,
    IntegrityError,
    StoreError,
    ValidationError,
)

__all__ = [
    "GENESIS_HASH",
    "EventStore",
    "NewEvent",
    "RowDifference",
    "StoredEvent",
    "VerifyReport",
    "chain_hash",
    "verify_chain",
]

GENESIS_HASH = "0" * 64
_HASH_MISMATCH = "the stored hash does not match the event's contents"
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
    """The result of checking the hash chain (and, from :meth:`Ledger.verify
    <action_ledger.Ledger.verify>`, the read models against it).

    Attributes:
        ok: ``True`` when every event checked out (and every table checked is the fold of
            the log).
        checked: how many events were read.
        first_bad_position: where the chain first breaks (the position expected there), or
            ``None`` when ``ok`` or when only the read models differ.
        reason: what was wrong, in a sentence (for the read models: how many rows differ,
            the first, and the repair); ``None`` when ``ok``.
        head_hash: the hash of the last good event (publish it to detect rewrites later).
    """

    ok: bool
    checked: int
    first_bad_position: int | None
    reason: str | None
    head_hash: str
    read_models_checked: tuple[str, ...] = ()
    """The projections whose tables were compared with the fold of the verified log (none
    when only the chain was checked, or when the chain is broken)."""
    differences: tuple[RowDifference, ...] = ()
    """The first read-model rows that differ from the fold of the log (at most a few)."""
    difference_count: int = 0
    """How many rows (and columns) differ in all: repair them with ``action-ledger rebuild``."""


@attrs.frozen(kw_only=True)
class RowDifference:
    """One read-model row that is not what the projections make of the verified log.

    Attributes:
        table: the table (``actions``, ``audit_trail``, … or ``read_model_checkpoints``).
        key: the row's primary-key values.
        kind: ``"changed"`` (a column holds another value), ``"missing"`` (the log makes a
            row the table lacks) or ``"extra"`` (the table holds a row the log does not make).
        column: the column that differs (``None`` for a missing or extra row).
        expected: the value the log gives (``None`` for an extra row).
        found: the value in the table (``None`` for a missing row).
    """

    table: str
    key: tuple[Any, ...]
    kind: str
    column: str | None = None
    expected: Any = None
    found: Any = None

    def __str__(self) -> str:
        key = ", ".join(map(str, self.key))
        if self.kind == "missing":
            return f"{self.table} [{key}]: the row is missing"
        if self.kind == "extra":
            return f"{self.table} [{key}]: a row the log does not make"
        return (
            f"{self.table} [{key}] {self.column}: expected {_short(self.expected)}, "
            f"found {_short(self.found)}"
        )


def _short(value: Any, limit: int = 80) -> str:
    """A value's repr, cut to ``limit`` characters (a ``data`` column holds a whole JSON)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# One stream's batch for EventStore.append_many: (stream_id, events, expected_version).
Batch = tuple[str, Sequence[NewEvent], int]


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


class ChainCheck:
    """The hash chain walked forward one event at a time: the checks :func:`verify_chain`
    makes, shared with the backends' ``restore``. Memory is constant per stream.

    Args:
        key: the HMAC key, if the log was written with one.
        keys: which key seals which positions (a register whose key was rotated); when
            given, ``key`` is not used.

    Attributes:
        position: the position of the last event that checked out (0 before the first).
        head_hash: that event's hash (``GENESIS_HASH`` before the first).
    """

    def __init__(self, *, key: bytes | None = None, keys: KeySchedule | None = None) -> None:
        self.key = key
        self._keys = KeyCursor(KeySchedule.of(key) if keys is None else keys)
        self.position = 0
        self.head_hash = GENESIS_HASH
        self._versions: dict[str, int] = {}

    def problem(self, event: StoredEvent) -> str | None:
        """What is wrong with ``event`` as the next event of the log, in a sentence; or
        ``None``, and ``event`` becomes the last event checked.

        A problem is found at position ``self.position + 1``: an event out of sequence (one
        removed or reordered), a stream version that skips, a ``prev_hash`` that is not the
        previous event's hash, or a hash that does not match the contents (an edit, or a
        forgery without the key).
        """
        expected_position = self.position + 1
        if event.position != expected_position:
            return (
                f"expected position {expected_position}, found {event.position}: an event was "
                "removed or the log was reordered"
            )
        expected_version = self._versions.get(event.stream_id, 0) + 1
        if event.version != expected_version:
            return (
                f"stream {event.stream_id!r} jumps to version {event.version} where "
                f"{expected_version} was expected"
            )
        if event.prev_hash != self.head_hash:
            return "prev_hash does not match the hash of the event before it"
        key, missing = self._keys.key_at(event.position)
        if missing is not None:
            return missing
        recomputed = chain_hash(
            self.head_hash,
            position=event.position,
            stream_id=event.stream_id,
            version=event.version,
            event=event,
            recorded_at=event.recorded_at,
            key=key,
        )
        if not hmac.compare_digest(recomputed, event.hash):
            return _HASH_MISMATCH
        self._versions[event.stream_id] = event.version
        self.position = event.position
        self.head_hash = event.hash
        return None


_HEAD_HASH = re.compile("[0-9a-f]{64}")
# A published hash that differs from one in the log in this many characters or fewer was
# more likely mistyped than rewritten (two SHA-256 hashes share about 4 by chance).
_TYPO_CHARACTERS = 4


def check_head(head: object) -> str:
    """A head hash as ``verify --head`` takes it: 64 hexadecimal characters (any case, spaces
    around it ignored), returned in lower case.

    Raises:
        ValidationError: anything else, saying how it falls short.
    """
    text = head.strip().lower() if isinstance(head, str) else None
    if text is not None and _HEAD_HASH.fullmatch(text):
        return text
    if text is None:
        problem = "is not text"
    elif not text:
        problem = "is empty"
    elif re.fullmatch("[0-9a-f]+", text):
        problem = f"is {len(text)} characters long: a shortened or cut-off hash"
    else:
        bad = sorted({c for c in text if c not in "0123456789abcdef"})
        problem = f"has characters that are not hexadecimal ({''.join(bad)!r})"
    raise ValidationError(
        f"head hash {head!r} {problem}; give the whole head hash, 64 hexadecimal characters "
        "(0-9, a-f), as the published log's footer prints it",
        field="head",
        value=head,
    )


def verify_chain(
    events: Iterable[StoredEvent],
    *,
    key: bytes | None = None,
    head: str | None = None,
    keys: KeySchedule | None = None,
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
        keys: which key seals which positions, for a register whose key was rotated (a
            keyed store's ``keys``); when given, ``key`` is not used.
    """
    if head is not None:
        head = check_head(head)
    chain = ChainCheck(key=key, keys=keys)
    checked = 0
    head_seen = head is None
    nearest: tuple[int, int, str] | None = None  # (characters differing, position, hash)
    for event in events:
        checked += 1
        reason = chain.problem(event)
        if reason is not None:
            return VerifyReport(
                ok=False,
                checked=checked,
                first_bad_position=chain.position + 1,
                reason=reason,
                head_hash=chain.head_hash,
            )
        if not head_seen and head is not None:
            if event.hash == head:
                head_seen = True
            else:
                differ = sum(a != b for a, b in zip(event.hash, head, strict=False))
                if differ <= _TYPO_CHARACTERS and (nearest is None or differ < nearest[0]):
                    nearest = (differ, event.position, event.hash)
    if not head_seen:
        if nearest is not None:
            reason = (
                f"the head hash {head} is not in the log, but the event at position "
                f"{nearest[1]} has {nearest[2]}, which differs from it in {nearest[0]} "
                "character(s): check the hash for a typing mistake"
            )
        else:
            reason = (
                f"the head hash {head} is not in the log: either the log was rewritten "
                "after that head was published, or the hash was copied wrongly (compare it "
                "with the published footer)"
            )
        return VerifyReport(
            ok=False,
            checked=checked,
            first_bad_position=None,
            reason=reason,
            head_hash=chain.head_hash,
        )
    return VerifyReport(
        ok=True, checked=checked, first_bad_position=None, reason=None, head_hash=chain.head_hash
    )


@runtime_checkable
class EventStore(Protocol):
    """What every backend provides (in-memory, SQLite, PostgreSQL); one contract suite tests all.

    The store owns ``recorded_at`` and the hash chain; it never sees domain classes. The
    library's backends also keep ``keys`` (a :class:`~action_ledger.KeySchedule`: which key
    seals which positions), take ``keys=`` (a backup's key records) in ``restore`` and have
    ``rotate_key(new_key)``; a store without them is sealed by ``key`` throughout.
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

    def append_many(self, batches: Sequence[Batch]) -> list[tuple[int, ...]]:
        """Append several streams' batches ``(stream_id, events, expected_version)`` in one
        transaction, all or nothing.

        The batches are applied in order exactly as successive :meth:`append` calls would be:
        a stream may appear more than once, each batch expecting the version the ones before
        it left; a batch that is an exact retry of a stored one (or of an earlier batch of the
        call) is a no-op returning its original positions; each appended batch reads the clock
        once. Unlike successive appends, the first error stores nothing at all.

        Returns:
            The positions of each batch, in the order given.

        Raises:
            ValidationError, ConcurrencyError, DuplicateEventError: the first failing batch's
                error, as :meth:`append` would raise it.
        """
        ...

    def restore(self, events: Iterable[StoredEvent]) -> int:
        """Load already-sealed events (as exported, in position order) into this empty store,
        unchanged: same positions, versions, ``recorded_at``, ``prev_hash`` and ``hash``, so a
        head hash published before the backup still verifies. All or nothing; memory stays
        bounded for a backend that does not hold the log in memory.

        Each event is checked as it comes: positions run 1, 2, 3… without gaps, each stream's
        versions run 1, 2, 3…, event ids are unique, ``recorded_at`` never decreases, and each
        ``prev_hash`` is the previous event's hash and each hash the :func:`chain_hash` of the
        event under this store's key.

        Returns:
            The number of events restored.

        Raises:
            StoreError: the store already holds events.
            IntegrityError: an event fails a check (the message names its position); nothing
                is restored. An error raised by ``events`` itself also restores nothing.
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


def with_place(
    event: NewEvent,
    *,
    stream_id: str,
    position: int,
    version: int,
    recorded_at: str,
    prev_hash: str,
    hash: str,
) -> StoredEvent:
    """``event`` as stored at that place in the log, with that recorded time and hashes."""
    return StoredEvent(
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
        prev_hash=prev_hash,
        hash=hash,
    )


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
            with_place(
                event,
                stream_id=stream_id,
                position=position + offset,
                version=version + offset,
                recorded_at=recorded_at,
                prev_hash=prev_hash,
                hash=digest,
            )
        )
        prev_hash = digest
    return sealed


def seal_batches(
    batches: Iterable[Batch],
    *,
    versions: Mapping[str, int],
    last: tuple[int, str, str] | None,
    stored: Mapping[str, tuple[str, int]],
    read_clock: Callable[[], str],
    key: bytes | None,
    checked: bool = False,
) -> tuple[list[StoredEvent], list[tuple[int, ...]]]:
    """Check and seal batches in order, as successive appends would, carrying versions,
    position, hash and recorded time forward in memory (the rules of ``append_many``).

    Args:
        versions: the current version of the batches' streams that have events.
        last: the position, hash and ``recorded_at`` of the last stored event (``None``: empty).
        stored: for each of the batches' event ids already stored (as far as known), its
            stream and position.
        read_clock: the canonical UTC time now; read once per batch appended.
        checked: the batches have passed :func:`check_batch` already.

    Returns:
        The events to store, in position order, and each batch's positions.

    Raises:
        ValidationError, DuplicateEventError, ConcurrencyError: as ``append`` would, for the
            first batch that fails.
    """
    versions = dict(versions)
    found = dict(stored)  # grows with this write's own events
    position, prev_hash, recorded_at = (0, GENESIS_HASH, "") if last is None else last
    sealed: list[StoredEvent] = []
    results: list[tuple[int, ...]] = []
    for stream_id, events, expected in batches:
        if not checked:
            check_batch(stream_id, events)
        if found:
            hits = {e.event_id: found[e.event_id] for e in events if e.event_id in found}
            replay = replayed_positions(stream_id, events, hits)
            if replay is not None:
                results.append(replay)
                continue
        current = versions.get(stream_id, 0)
        if current != expected:
            raise ConcurrencyError(stream_id, expected, current)
        recorded_at = max(read_clock(), recorded_at)
        batch = seal(
            stream_id,
            events,
            version=current,
            position=position,
            prev_hash=prev_hash,
            recorded_at=recorded_at,
            key=key,
        )
        sealed.extend(batch)
        found.update((e.event_id, (stream_id, e.position)) for e in batch)
        versions[stream_id] = current + len(batch)
        position = batch[-1].position
        prev_hash = batch[-1].hash
        results.append(tuple(e.position for e in batch))
    return sealed, results


# -- shared by the backends: restoring a backup ------------------------------------------------


def check_restore(
    events: Iterable[StoredEvent], *, key: bytes | None, keys: KeySchedule | None = None
) -> Iterator[StoredEvent]:
    """Yield the events of an exported log, each once it has passed the checks of
    :meth:`EventStore.restore` (the chain, as :func:`verify_chain` checks it, and
    ``recorded_at`` never decreasing). Event ids are left to the backend, which keeps them
    anyway: see :func:`repeated_id_error`.

    Raises:
        IntegrityError: at the first event that fails, naming its position.
    """
    chain = ChainCheck(key=key, keys=keys)
    recorded_at = ""
    for event in events:
        position = chain.position + 1
        reason = chain.problem(event)
        if reason is None and event.recorded_at < recorded_at:
            reason = (
                f"recorded_at {event.recorded_at} is earlier than the {recorded_at} of the "
                "event before it"
            )
        if reason is not None:
            if reason == _HASH_MISMATCH:
                reason += " (it was edited, or sealed with another HMAC key)"
            raise IntegrityError(
                f"cannot restore the event at position {position}: {reason}; nothing was restored"
            )
        recorded_at = event.recorded_at
        yield event


def bind_keys(
    given: bytes | Keyring | None,
    records: Sequence[KeyRecord],
    first: StoredEvent | None,
    *,
    where: str,
) -> tuple[KeySchedule, tuple[KeyRecord, ...] | None]:
    """A store's key schedule on opening: the keys given (``key=``) bound to the register's
    key records, or refused (see :func:`action_ledger._keys.open_schedule`).

    A register without key records and with events was written before registers recorded
    their keys: it is plain if its first event's hash is plain SHA-256, and keyed with the
    key given if that key seals it (the records to store are returned then).

    Args:
        first: the event at position 1 (``None``: the log is empty); read only when the
            register has no key records.
    """
    sealers: list[bytes] = []
    plain: bool | None = None
    keyring = as_keyring(given)
    if not records and first is not None:
        plain = first.hash == _first_hash(first, None)
        if keyring is not None:
            sealers = [k for k in reversed(keyring.keys) if first.hash == _first_hash(first, k)]
    return open_schedule(
        keyring, records, first_hash_plain=plain, first_sealed_by=sealers, where=where
    )


def _first_hash(first: StoredEvent, key: bytes | None) -> str:
    return chain_hash(
        GENESIS_HASH,
        position=first.position,
        stream_id=first.stream_id,
        version=first.version,
        event=first,
        recorded_at=first.recorded_at,
        key=key,
    )


def keys_of(store: object) -> KeySchedule | None:
    """The key schedule of a store that keeps one (``None``: its ``key`` seals the whole log)."""
    keys = getattr(store, "keys", None)
    return keys if isinstance(keys, KeySchedule) else None


def repeated_id_error(event_id: str, position: int, first: int) -> IntegrityError:
    """The error for a restored event whose id an earlier event has already."""
    return IntegrityError(
        f"cannot restore the event at position {position}: its event id {event_id!r} is "
        f"already used by the event at position {first}; nothing was restored"
    )


def not_empty_error(last_position: int) -> StoreError:
    """The error for restoring into a store that holds events."""
    return StoreError(
        f"cannot restore into a register that holds {last_position} events: the register must "
        "be empty; restore into a new file or ':memory:'"
    )


# -- shared by the SQL backends -------------------------------------------------------------

# The stored columns, in table order: every SQL backend stores these.
STORED_COLUMNS = (
    "position",
    "stream_id",
    "version",
    "event_id",
    "event_type",
    "schema_version",
    "data",
    "occurred_at",
    "recorded_at",
    "actor",
    "prev_hash",
    "hash",
)
stored_as_row = operator.attrgetter(*STORED_COLUMNS)
"""A StoredEvent as a tuple in ``STORED_COLUMNS`` order."""


def stored_from_row(values: Sequence[Any]) -> StoredEvent:
    """A StoredEvent from a row of the columns in ``STORED_COLUMNS`` order."""
    # Keywords from an unpacked row: StoredEvent is kw_only, and this is ~40% faster than
    # StoredEvent(**dict(zip(STORED_COLUMNS, values))).
    (
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
        prev_hash,
        hash_,
    ) = values
    return StoredEvent(
        position=position,
        stream_id=stream_id,
        version=version,
        event_id=event_id,
        event_type=event_type,
        schema_version=schema_version,
        data=data,
        occurred_at=occurred_at,
        recorded_at=recorded_at,
        actor=actor,
        prev_hash=prev_hash,
        hash=hash_,
    )


class ClockReadings:
    """The clock readings of one write: one per appended batch, as successive appends would
    read it. Kept, so that a write decided again (after looking up stored ids) reuses them."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._read: list[str] = []
        self._index = 0

    def read(self) -> str:
        """The next reading: a kept one, else the clock's."""
        if self._index == len(self._read):
            self._read.append(format_utc(self._clock()))
        self._index += 1
        return self._read[self._index - 1]

    def rewind(self) -> None:
        """Start again from the first reading."""
        self._index = 0
