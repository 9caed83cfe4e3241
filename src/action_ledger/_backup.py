"""Back up and restore the event log as JSON Lines.

A backup is the log as stored, not as decoded: line 1 is a header, then line ``n + 1`` holds
the event at position ``n``, every field of the :class:`~action_ledger.store.StoredEvent`
(``data`` as the stored text) in canonical JSON. Restoring keeps positions and hashes, so a
head hash published before the backup still verifies after it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any, TextIO, TypeVar

import attrs
import cattrs

from ._codec import CONVERTER, canonical_json
from ._keys import KeyRecord
from .exceptions import IntegrityError, StoreError, ValidationError
from .store import GENESIS_HASH, EventStore, StoredEvent, VerifyReport, keys_of, verify_chain

__all__ = ["FORMAT", "VERSION", "export_events", "import_events"]

FORMAT = "action-ledger-events"
VERSION = 1
# How often progress is reported, in events (and once at the start and at the end).
_PROGRESS_EVERY = 1000

Progress = Callable[[int, int], None]
_T = TypeVar("_T")


@attrs.frozen(kw_only=True)
class _Header:
    """The first line of a backup."""

    format: str
    version: int
    events: int
    head: str
    keyed: bool
    # The register's chain keys (ids, positions, check values; never a key). Absent from
    # backups made before registers recorded them: restored under the store's own key.
    keys: tuple[KeyRecord, ...] | None = None


def _exactly(kind: type[_T]) -> Callable[[Any, Any], _T]:
    def structure(value: Any, _: Any) -> _T:
        # The library converter's hooks call int(), str() and bool(): "7" would pass for 7 and
        # "false" for True. A backup must hold exactly what was exported.
        if type(value) is not kind:
            raise TypeError(f"expected {kind.__name__}, found {type(value).__name__} {value!r}")
        return value

    return structure


def _make_converter() -> cattrs.Converter:
    """The library converter (unknown keys refused), with no coercion of JSON types."""
    converter = CONVERTER.copy()
    for kind in (str, int, bool):
        converter.register_structure_hook(kind, _exactly(kind))
    return converter


_CONVERTER = _make_converter()
_STRUCTURE_EVENT = _CONVERTER.get_structure_hook(StoredEvent)
_STRUCTURE_HEADER = _CONVERTER.get_structure_hook(_Header)


def export_events(store: EventStore, out: TextIO, *, progress: Progress | None = None) -> int:
    """Write every stored event to ``out`` as JSON Lines, in position order.

    The first line is a header, ``{"events": N, "format": "action-ledger-events", "head":
    HASH, "keyed": BOOL, "keys": [...], "version": 1}`` (``keys``: the register's chain-key
    records, ids and check values but never a key; empty for a plain register); each further
    line one event with every stored field,
    canonical (sorted keys, compact, UTF-8 kept). Open ``out`` with ``encoding="utf-8"``.
    Events appended while the export runs are left for the next one.

    Args:
        progress: called with ``(events written, events to write)`` as the lines go.

    Returns:
        The number of events written.

    Raises:
        StoreError: the log changed under the export (it holds fewer events than it did).
    """
    total = store.last_position()
    head = GENESIS_HASH
    if total:
        (last,) = store.read_all(after=total - 1, limit=1)
        head = last.hash
    schedule = keys_of(store)
    header = _Header(
        format=FORMAT,
        version=VERSION,
        events=total,
        head=head,
        keyed=store.key is not None,
        keys=None if schedule is None else schedule.records,
    )
    out.write(canonical_json(_CONVERTER.unstructure(header)) + "\n")
    if progress is not None:
        progress(0, total)
    done = 0
    for event in store.read_all(limit=total):
        out.write(canonical_json(_CONVERTER.unstructure(event)) + "\n")
        done += 1
        if progress is not None and done % _PROGRESS_EVERY == 0:
            progress(done, total)
    if done != total:
        raise StoreError(
            f"the register held {total} events when the export began but only {done} could be "
            "read; the backup is incomplete: export again"
        )
    if progress is not None and done % _PROGRESS_EVERY:
        progress(done, total)
    return done


def import_events(
    store: EventStore, source: TextIO, *, progress: Progress | None = None
) -> VerifyReport:
    """Restore a backup written by :func:`export_events` into an empty store, then verify it.

    The lines are read one at a time and handed to ``store.restore``, so a backend that keeps
    the log on disk holds only a chunk of it in memory. The store must have been opened with
    the keys the backup was sealed with (every key, for a backup whose key was rotated); it
    takes the backup's key records. Nothing is restored unless every line checks out.

    Args:
        progress: called with ``(events read, events the header announces)`` as lines go.

    Returns:
        The hash-chain report of the restored store.

    Raises:
        ValidationError: a line is not JSON, or not an event (or header) with exactly the
            exported fields and types; the message names the line.
        IntegrityError: an event fails restore's checks (named by position: line ``n + 1``
            holds position ``n``), or the lines do not match the header's count or head.
        StoreError: the store is not empty, or is keyed where the backup is not (or the
            other way round): a :class:`~action_ledger.KeyMismatchError` when the store
            keeps key records.
    """
    lines = iter(source)
    header = _read_header(next(lines, ""))
    schedule = keys_of(store)
    if header.keys is not None and schedule is not None:
        if progress is not None:
            progress(0, header.events)
        restore: Any = store.restore  # the backends' restore takes the key records
        restore(_events(lines, header, progress), keys=header.keys)
        return verify_chain(store.read_all(), key=store.key, keys=keys_of(store))
    if header.keyed != (store.key is not None):
        raise StoreError(
            "the backup was sealed with an HMAC key but this register has none: open it with "
            "the backup's key"
            if header.keyed
            else "the backup was sealed without an HMAC key but this register has one: open it "
            "without a key"
        )
    if progress is not None:
        progress(0, header.events)
    store.restore(_events(lines, header, progress))
    return verify_chain(store.read_all(), key=store.key, keys=keys_of(store))


def _read_header(line: str) -> _Header:
    if not line:
        raise ValidationError(
            "line 1: the backup is empty; expected an action-ledger-events header"
        )
    header = _structure(line, 1, _STRUCTURE_HEADER, _Header, "a backup header")
    if header.format != FORMAT:
        raise ValidationError(
            f"line 1: format {header.format!r} is not {FORMAT!r}: this is not an event backup",
            field="format",
            value=header.format,
        )
    if header.version != VERSION:
        raise ValidationError(
            f"line 1: backup version {header.version} is not supported; this library reads "
            f"version {VERSION}",
            field="version",
            value=header.version,
        )
    if header.events < 0:
        raise ValidationError(
            f"line 1: event count {header.events} must be 0 or more",
            field="events",
            value=header.events,
        )
    if header.keys is not None and header.keyed != bool(header.keys):
        raise ValidationError(
            f"line 1: the header says keyed {str(header.keyed).lower()} but lists "
            f"{len(header.keys)} chain keys: a keyed backup lists its keys, a plain one none",
            field="keys",
        )
    return header


def _events(
    lines: Iterator[str], header: _Header, progress: Progress | None
) -> Iterator[StoredEvent]:
    """The events of the lines after the header, then a check against the header (raised
    inside ``restore``, so a mismatch restores nothing)."""
    done = 0
    head = GENESIS_HASH
    for number, line in enumerate(lines, start=2):
        if done == header.events:
            raise IntegrityError(
                f"line {number}: the header announces {header.events} events but the backup "
                "holds more: lines were added"
            )
        event = _structure(line, number, _STRUCTURE_EVENT, StoredEvent, "an exported event")
        yield event
        done += 1
        head = event.hash
        if progress is not None and done % _PROGRESS_EVERY == 0:
            progress(done, header.events)
    if done != header.events:
        raise IntegrityError(
            f"line {done + 2}: the header announces {header.events} events but the backup "
            f"ends after {done}: it was truncated or lines were removed"
        )
    if head != header.head:
        raise IntegrityError(
            f"line 1: the header's head {header.head} is not the hash of the last event, "
            f"{head}: the backup was altered"
        )
    if progress is not None and done % _PROGRESS_EVERY:
        progress(done, header.events)


def _structure(
    line: str, number: int, structure: Callable[[Any, Any], _T], kind: type[_T], what: str
) -> _T:
    try:
        value = json.loads(line)
    except ValueError as exc:
        raise ValidationError(f"line {number} is not JSON: {exc}", value=line) from exc
    if not isinstance(value, dict):
        raise ValidationError(
            f"line {number} is a JSON {type(value).__name__}, not {what} (an object)",
            value=line,
        )
    try:
        return structure(value, kind)
    except cattrs.BaseValidationError as exc:
        raise ValidationError(
            f"line {number} is not {what}: {'; '.join(cattrs.transform_error(exc))}",
            value=line,
        ) from exc
