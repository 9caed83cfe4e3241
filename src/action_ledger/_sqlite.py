"""The SQLite event store (the embedded default), built on sqlite-utils.

The file is an ordinary SQLite database: the ``events`` table can be opened in any SQLite tool.
It runs in WAL mode, durable by default (``synchronous=FULL``; ``NORMAL`` on request), and
serialises writers with ``BEGIN IMMEDIATE`` and a busy timeout, so several processes can share
one file. The schema is created and migrated by named sqlite-utils migrations.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import sqlite_utils
from sqlite_utils.migrations import Migrations

from ._clock import Clock, format_utc, system_clock
from .exceptions import ConcurrencyError, StoreError
from .store import (
    GENESIS_HASH,
    NewEvent,
    StoredEvent,
    check_batch,
    check_paging,
    replayed_positions,
    seal,
)

MIGRATIONS = Migrations("action_ledger.events")

_COLUMNS = (
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
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM events"


@MIGRATIONS(name="0001_events")
def _create_events(db: sqlite_utils.Database) -> None:
    db["events"].create(  # type: ignore[union-attr]
        {
            "position": int,
            "stream_id": str,
            "version": int,
            "event_id": str,
            "event_type": str,
            "schema_version": int,
            "data": str,
            "occurred_at": str,
            "recorded_at": str,
            "actor": str,
            "prev_hash": str,
            "hash": str,
        },
        pk="position",
        not_null=set(_COLUMNS),
    )
    events = db["events"]
    events.create_index(["stream_id", "version"], unique=True)  # type: ignore[union-attr]
    events.create_index(["event_id"], unique=True)  # type: ignore[union-attr]
    # One entry per stream, for counting streams by prefix (action id sequences).
    db.execute("CREATE INDEX idx_events_stream_starts ON events (stream_id) WHERE version = 1")


def _row(values: Sequence[Any]) -> StoredEvent:
    return StoredEvent(**dict(zip(_COLUMNS, values, strict=True)))


class SQLiteEventStore:
    """An event store in a SQLite file (or ``":memory:"``).

    Args:
        path: the database file; created with its schema if missing.
        synchronous: ``"FULL"`` (the default: a committed append survives power loss) or
            ``"NORMAL"`` (faster; in WAL mode a power cut may lose the last commits, never
            corrupt the file).
        busy_timeout: seconds a writer waits for another process's transaction.
        key: an HMAC key for the hash chain (``None`` for plain SHA-256).
        clock: where ``recorded_at`` comes from.

    Raises:
        StoreError: the file cannot be opened as a SQLite database.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        synchronous: Literal["FULL", "NORMAL"] = "FULL",
        busy_timeout: float = 30.0,
        key: bytes | None = None,
        clock: Clock = system_clock,
    ) -> None:
        if synchronous not in ("FULL", "NORMAL"):
            raise StoreError(f"synchronous={synchronous!r} is not 'FULL' or 'NORMAL'")
        self.key = key
        self.path = str(path)
        self._clock = clock
        self._lock = threading.RLock()
        conn = None
        try:
            conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=busy_timeout
            )
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            self.db = sqlite_utils.Database(conn)
            with self._immediate():
                self._check_foreign()
                MIGRATIONS.apply(self.db)
            if self.path != ":memory:":
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous = {synchronous}")
        except (sqlite3.DatabaseError, StoreError) as exc:
            if conn is not None:
                conn.close()
            if isinstance(exc, StoreError):
                raise
            raise StoreError(f"cannot open {self.path!r} as an event store: {exc}") from exc
        self._conn = conn

    def _check_foreign(self) -> None:
        """Refuse a database that has an ``events`` table the migrations did not make."""
        if self.db["events"].exists() and not any(
            m.name == "0001_events" for m in MIGRATIONS.applied(self.db)
        ):
            raise StoreError(
                f"{self.path!r} already has an 'events' table that action_ledger did not create; "
                "use another file"
            )

    def _immediate(self) -> _Immediate:
        return _Immediate(self.db.conn)

    def append(
        self, stream_id: str, events: Sequence[NewEvent], expected_version: int
    ) -> tuple[int, ...]:
        """See :meth:`action_ledger.store.EventStore.append`."""
        check_batch(stream_id, events)
        with self._lock, self._immediate():
            conn = self._conn
            ids = [e.event_id for e in events]
            marks = ", ".join("?" * len(ids))
            found = {
                event_id: (stream, position)
                for event_id, stream, position in conn.execute(
                    f"SELECT event_id, stream_id, position FROM events WHERE event_id IN ({marks})",
                    ids,
                )
            }
            replay = replayed_positions(stream_id, events, found)
            if replay is not None:
                return replay
            (current,) = conn.execute(
                "SELECT coalesce(max(version), 0) FROM events WHERE stream_id = ?", (stream_id,)
            ).fetchone()
            if current != expected_version:
                raise ConcurrencyError(stream_id, expected_version, current)
            last = conn.execute(
                "SELECT position, hash, recorded_at FROM events ORDER BY position DESC LIMIT 1"
            ).fetchone()
            now = format_utc(self._clock())
            position, prev_hash, recorded_at = last if last else (0, GENESIS_HASH, now)
            sealed = seal(
                stream_id,
                events,
                version=current,
                position=position,
                prev_hash=prev_hash,
                recorded_at=max(now, recorded_at),
                key=self.key,
            )
            self.db["events"].insert_all(  # type: ignore[union-attr]
                ({c: getattr(e, c) for c in _COLUMNS} for e in sealed),
                batch_size=500,
            )
            return tuple(e.position for e in sealed)

    def append_many(
        self, batches: Sequence[tuple[str, Sequence[NewEvent], int]]
    ) -> list[tuple[int, ...]]:
        """Append several streams' batches in one transaction (all or nothing).

        For bulk imports: one durable commit instead of one per stream.
        """
        with self._lock, self._immediate():
            return [self.append(s, events, expected) for s, events, expected in batches]

    def read_stream(self, stream_id: str, *, up_to_version: int | None = None) -> list[StoredEvent]:
        """See :meth:`action_ledger.store.EventStore.read_stream`."""
        limit = -1 if up_to_version is None else max(up_to_version, 0)
        with self._lock:
            rows = self._conn.execute(
                f"{_SELECT} WHERE stream_id = ? ORDER BY version LIMIT ?", (stream_id, limit)
            ).fetchall()
        return [_row(r) for r in rows]

    def read_all(
        self, *, after: int = 0, limit: int | None = None, page_size: int = 1000
    ) -> Iterator[StoredEvent]:
        """See :meth:`action_ledger.store.EventStore.read_all`; pages keep memory constant."""
        check_paging(after, limit, page_size)
        remaining = limit
        while remaining is None or remaining > 0:
            size = page_size if remaining is None else min(page_size, remaining)
            with self._lock:
                rows = self._conn.execute(
                    f"{_SELECT} WHERE position > ? ORDER BY position LIMIT ?", (after, size)
                ).fetchall()
            if not rows:
                return
            for r in rows:
                yield _row(r)
            after = rows[-1][0]
            if remaining is not None:
                remaining -= len(rows)
            if len(rows) < size:
                return

    def get_event(self, event_id: str) -> StoredEvent | None:
        """See :meth:`action_ledger.store.EventStore.get_event`."""
        with self._lock:
            row = self._conn.execute(f"{_SELECT} WHERE event_id = ?", (event_id,)).fetchone()
        return None if row is None else _row(row)

    def stream_version(self, stream_id: str) -> int:
        """See :meth:`action_ledger.store.EventStore.stream_version`."""
        with self._lock:
            (version,) = self._conn.execute(
                "SELECT coalesce(max(version), 0) FROM events WHERE stream_id = ?", (stream_id,)
            ).fetchone()
        return int(version)

    def last_position(self) -> int:
        """See :meth:`action_ledger.store.EventStore.last_position`."""
        with self._lock:
            (position,) = self._conn.execute(
                "SELECT coalesce(max(position), 0) FROM events"
            ).fetchone()
        return int(position)

    def count_streams(self, prefix: str) -> int:
        """See :meth:`action_ledger.store.EventStore.count_streams`."""
        with self._lock:
            (count,) = self._conn.execute(
                "SELECT count(*) FROM events WHERE version = 1 AND stream_id >= ? "
                "AND stream_id < ?",
                (prefix, prefix + "\U0010ffff"),
            ).fetchone()
        return int(count)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()


class _Immediate:
    """``BEGIN IMMEDIATE`` … ``COMMIT``: takes the write lock up front, so concurrent writers
    queue on the busy timeout instead of failing on lock upgrade. Nested uses join the outer
    transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._outer = False

    def __enter__(self) -> None:
        if not self._conn.in_transaction:
            self._conn.execute("BEGIN IMMEDIATE")
            self._outer = True

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if not self._outer:
            return
        try:
            if exc_type is None:
                self._conn.execute("COMMIT")
        finally:
            # A failed COMMIT (disk full, I/O error) can leave the transaction open; later
            # appends must not join it and silently never commit.
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
