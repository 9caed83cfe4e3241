"""The in-memory event store: the reference implementation of the store contract."""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable, Iterator, Sequence

from ._clock import Clock, format_utc, system_clock
from ._keys import KeyRecord, Keyring, plan_rotation, restore_schedule
from .store import (
    Batch,
    NewEvent,
    StoredEvent,
    bind_keys,
    check_batch,
    check_paging,
    check_restore,
    not_empty_error,
    repeated_id_error,
    seal_batches,
)


class MemoryEventStore:
    """An event store held in a Python list; for tests, demos and embedding tools' tests.

    Args:
        key: an HMAC key for the hash chain, or a :class:`~action_ledger.Keyring` whose
            newest key seals (``None`` for plain SHA-256).
        clock: where ``recorded_at`` comes from (the system clock by default).

    Attributes:
        key: the key that seals new events (``None``: plain).
        keys: which key seals which positions.
    """

    def __init__(self, *, key: bytes | Keyring | None = None, clock: Clock = system_clock) -> None:
        self._given = key
        self.keys, _ = bind_keys(key, (), None, where="the in-memory register")
        self.key = self.keys.current
        self._clock = clock
        self._log: list[StoredEvent] = []
        self._streams: dict[str, list[StoredEvent]] = {}
        self._ids: dict[str, StoredEvent] = {}
        self._stream_names: list[str] = []
        self._lock = threading.Lock()

    def append(
        self, stream_id: str, events: Sequence[NewEvent], expected_version: int
    ) -> tuple[int, ...]:
        """See :meth:`action_ledger.store.EventStore.append`."""
        check_batch(stream_id, events)
        (positions,) = self._write([(stream_id, events, expected_version)], checked=True)
        return positions

    def append_many(self, batches: Sequence[Batch]) -> list[tuple[int, ...]]:
        """See :meth:`action_ledger.store.EventStore.append_many`."""
        return self._write(batches, checked=False)

    def _write(self, batches: Sequence[Batch], *, checked: bool) -> list[tuple[int, ...]]:
        with self._lock:
            stored = {
                e.event_id: (s.stream_id, s.position)
                for _, events, _ in batches
                for e in events
                if (s := self._ids.get(e.event_id)) is not None
            }
            versions = {s: len(self._streams[s]) for s, _, _ in batches if s in self._streams}
            last = self._log[-1] if self._log else None
            sealed, results = seal_batches(
                batches,
                versions=versions,
                last=None if last is None else (last.position, last.hash, last.recorded_at),
                stored=stored,
                read_clock=lambda: format_utc(self._clock()),
                key=self.key,
                checked=checked,
            )
            for event in sealed:
                stream = self._streams.get(event.stream_id)
                if stream is None:
                    stream = self._streams[event.stream_id] = []
                    bisect.insort(self._stream_names, event.stream_id)
                stream.append(event)
            self._log.extend(sealed)
            self._ids.update((e.event_id, e) for e in sealed)
            return results

    def rotate_key(self, new_key: bytes) -> KeyRecord:
        """See :meth:`action_ledger.SQLiteEventStore.rotate_key`."""
        with self._lock:
            record = plan_rotation(self.keys, self.keys.records, len(self._log), new_key)
            self.keys = self.keys.with_record(record, new_key)
            self.key = new_key
            return record

    def restore(
        self, events: Iterable[StoredEvent], *, keys: Sequence[KeyRecord] | None = None
    ) -> int:
        """See :meth:`action_ledger.store.EventStore.restore`; the events are gathered aside
        and become the store's only once every one has checked out.

        Args:
            keys: the backup's key records (``None``: the log is sealed as this store is).
        """
        with self._lock:
            if self._log:
                raise not_empty_error(len(self._log))
            schedule = self.keys
            if keys is not None:
                schedule = restore_schedule(self.keys, self._given, keys, "the register")
            log: list[StoredEvent] = []
            streams: dict[str, list[StoredEvent]] = {}
            ids: dict[str, StoredEvent] = {}
            for event in check_restore(events, key=self.key, keys=schedule):
                first = ids.get(event.event_id)
                if first is not None:
                    raise repeated_id_error(event.event_id, event.position, first.position)
                ids[event.event_id] = event
                streams.setdefault(event.stream_id, []).append(event)
                log.append(event)
            self._log, self._streams, self._ids = log, streams, ids
            self._stream_names = sorted(streams)
            self.keys, self.key = schedule, schedule.current
            return len(log)

    def read_stream(self, stream_id: str, *, up_to_version: int | None = None) -> list[StoredEvent]:
        """See :meth:`action_ledger.store.EventStore.read_stream`."""
        stream = self._streams.get(stream_id, [])
        return list(stream if up_to_version is None else stream[: max(up_to_version, 0)])

    def read_all(
        self, *, after: int = 0, limit: int | None = None, page_size: int = 1000
    ) -> Iterator[StoredEvent]:
        """See :meth:`action_ledger.store.EventStore.read_all`."""
        check_paging(after, limit, page_size)
        end = len(self._log) if limit is None else min(len(self._log), max(after, 0) + limit)
        for index in range(max(after, 0), end):
            yield self._log[index]

    def get_event(self, event_id: str) -> StoredEvent | None:
        """See :meth:`action_ledger.store.EventStore.get_event`."""
        return self._ids.get(event_id)

    def stream_version(self, stream_id: str) -> int:
        """See :meth:`action_ledger.store.EventStore.stream_version`."""
        return len(self._streams.get(stream_id, ()))

    def last_position(self) -> int:
        """See :meth:`action_ledger.store.EventStore.last_position`."""
        return len(self._log)

    def count_streams(self, prefix: str) -> int:
        """See :meth:`action_ledger.store.EventStore.count_streams`."""
        start = bisect.bisect_left(self._stream_names, prefix)
        end = bisect.bisect_left(self._stream_names, prefix + "\U0010ffff")
        return end - start

    def close(self) -> None:
        """Nothing to release."""
