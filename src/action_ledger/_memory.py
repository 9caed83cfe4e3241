"""The in-memory event store: the reference implementation of the store contract."""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterator, Sequence

from ._clock import Clock, format_utc, system_clock
from .exceptions import ConcurrencyError
from .store import (
    GENESIS_HASH,
    NewEvent,
    StoredEvent,
    check_batch,
    check_paging,
    replayed_positions,
    seal,
)


class MemoryEventStore:
    """An event store held in a Python list; for tests, demos and embedding tools' tests.

    Args:
        key: an HMAC key for the hash chain (``None`` for plain SHA-256).
        clock: where ``recorded_at`` comes from (the system clock by default).
    """

    def __init__(self, *, key: bytes | None = None, clock: Clock = system_clock) -> None:
        self.key = key
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
        with self._lock:
            found = {
                e.event_id: (s.stream_id, s.position)
                for e in events
                if (s := self._ids.get(e.event_id)) is not None
            }
            replay = replayed_positions(stream_id, events, found)
            if replay is not None:
                return replay
            stream = self._streams.get(stream_id, [])
            if len(stream) != expected_version:
                raise ConcurrencyError(stream_id, expected_version, len(stream))
            last = self._log[-1] if self._log else None
            now = format_utc(self._clock())
            sealed = seal(
                stream_id,
                events,
                version=len(stream),
                position=len(self._log),
                prev_hash=last.hash if last else GENESIS_HASH,
                recorded_at=max(now, last.recorded_at) if last else now,
                key=self.key,
            )
            if not stream:
                self._streams[stream_id] = stream
                bisect.insort(self._stream_names, stream_id)
            stream.extend(sealed)
            self._log.extend(sealed)
            self._ids.update((e.event_id, e) for e in sealed)
            return tuple(e.position for e in sealed)

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
