"""The SQLite event store (the embedded default), built on sqlite-utils.

The file is an ordinary SQLite database: the ``events`` table can be opened in any SQLite tool.
It runs in WAL mode, durable by default (``synchronous=FULL``; ``NORMAL`` on request), and
serialises writers with ``BEGIN IMMEDIATE`` and a busy timeout, so several processes can share
one file. The schema is created and migrated by named sqlite-utils migrations.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, ParamSpec, TypeVar

import sqlite_utils
from sqlite_utils.migrations import Migrations

from ._clock import Clock, system_clock
from ._keys import KeyRecord, Keyring, KeySchedule, plan_rotation, restore_schedule
from .exceptions import ActionLedgerError, IntegrityError, StoreError
from .store import (
    STORED_COLUMNS,
    Batch,
    ClockReadings,
    NewEvent,
    StoredEvent,
    bind_keys,
    check_batch,
    check_paging,
    check_restore,
    not_empty_error,
    repeated_id_error,
    seal_batches,
    stored_as_row,
    stored_from_row,
)

MIGRATIONS = Migrations("action_ledger.events")

_SELECT = f"SELECT {', '.join(STORED_COLUMNS)} FROM events"

# Appends write with one prepared INSERT rather than sqlite-utils' ``insert_all``, which
# introspects the schema (three sqlite_master queries and a savepoint) on every call: this is
# the hot path. The schema itself stays with the sqlite-utils migrations below.
_INSERT = (
    f"INSERT INTO events ({', '.join(STORED_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(STORED_COLUMNS))})"
)
_EVENT_ID = STORED_COLUMNS.index("event_id")
# Rows a restore inserts per executemany: large enough to be fast, small enough that a
# restore of millions of events holds only this many in memory.
_RESTORE_CHUNK = 1000

# What an append needs to know, in one statement: the stream's version (a min/max lookup on the
# (stream_id, version) index) and the log's last row (the primary key, read backwards). No row
# at all means an empty log.
_HEAD = (
    "SELECT (SELECT coalesce(max(version), 0) FROM events WHERE stream_id = ?), "
    "position, hash, recorded_at FROM events ORDER BY position DESC LIMIT 1"
)
_LAST = "SELECT position, hash, recorded_at FROM events ORDER BY position DESC LIMIT 1"

_Last = tuple[int, str, str] | None  # position, hash and recorded_at of the last stored event
_Found = dict[str, tuple[str, int]]  # event id -> (stream id, position)

_P = ParamSpec("_P")
_T = TypeVar("_T")
# The -shm file of WAL mode could not grow: on a full disk, SQLite says this, not SQLITE_FULL.
_IOERR_SHMSIZE = sqlite3.SQLITE_IOERR | (19 << 8)


def storage_error(exc: sqlite3.Error, path: str) -> ActionLedgerError:
    """The typed error for a fault SQLite reported on the file ``path``: a full disk, a
    read-only file, a lock held beyond the busy timeout (:class:`StoreError`), or a damaged
    file (:class:`IntegrityError`), each saying what to do. Nothing was changed by the
    statement that failed: SQLite rolled it back."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = None if code is None else code & 0xFF
    where = "the in-memory database" if path in ("", ":memory:") else repr(path)
    if primary == sqlite3.SQLITE_FULL or code == _IOERR_SHMSIZE:
        return StoreError(
            f"the disk holding {where} is full (or the database reached its size limit): "
            "nothing was stored; free some space and try again"
        )
    if primary == sqlite3.SQLITE_READONLY:
        return StoreError(
            f"{where} is read-only ({exc}): nothing was stored; make the file, its directory "
            "(where SQLite writes its -wal and -shm files) and the mount writable, or use a "
            "writable copy"
        )
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return StoreError(
            f"{where} is locked by another connection beyond the busy timeout ({exc}): "
            "nothing was stored; try again when the other writer has finished, or open it "
            "with a longer busy_timeout"
        )
    if primary in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return IntegrityError(
            f"{where} is damaged ({exc}): run 'action-ledger verify' to find the first bad "
            "position, and restore the register from a backup"
        )
    if primary == sqlite3.SQLITE_CONSTRAINT or isinstance(exc, sqlite3.IntegrityError):
        return IntegrityError(
            f"{where} breaks a constraint of its schema ({exc}): the file was altered outside "
            "action_ledger; run 'action-ledger verify', and restore it from a backup"
        )
    if primary == sqlite3.SQLITE_IOERR:
        return StoreError(
            f"cannot read or write {where} ({exc}): nothing was stored; the disk may be full "
            "or failing: free some space and check the disk, then try again"
        )
    if primary in (sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM):
        return StoreError(
            f"cannot open {where} ({exc}): check that it is there and that the file, its "
            "directory and the mount are writable (SQLite keeps -wal and -shm files beside "
            "it), then try again"
        )
    return StoreError(f"the database {where} failed ({exc}): nothing was stored; try again")


@contextmanager
def storage_errors(path: str) -> Iterator[None]:
    """Turn SQLite's exceptions into :func:`storage_error`'s typed ones."""
    try:
        yield
    except sqlite3.Error as exc:
        raise storage_error(exc, path) from exc


def typed_faults(method: Callable[_P, _T]) -> Callable[_P, _T]:
    """A method (of an object with a ``path``: the store, a read model) whose SQLite faults
    come out typed (see :func:`storage_error`)."""

    @functools.wraps(method)
    def typed(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        try:
            return method(*args, **kwargs)
        except sqlite3.Error as exc:
            raise storage_error(exc, str(getattr(args[0], "path", ""))) from exc

    return typed


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
        not_null=set(STORED_COLUMNS),
    )
    events = db["events"]
    events.create_index(["stream_id", "version"], unique=True)  # type: ignore[union-attr]
    events.create_index(["event_id"], unique=True)  # type: ignore[union-attr]
    # One entry per stream, for counting streams by prefix (action id sequences).
    db.execute("CREATE INDEX idx_events_stream_starts ON events (stream_id) WHERE version = 1")


@MIGRATIONS(name="0002_chain_keys")
def _create_chain_keys(db: sqlite_utils.Database) -> None:
    # The chain mode: no rows, a plain (SHA-256) register; else each HMAC key and the first
    # position it seals (see _keys.py). A register made before this table reads as plain,
    # or as keyed when first opened with the key that seals it.
    db.execute(
        "CREATE TABLE chain_keys (key_id TEXT PRIMARY KEY, from_position INTEGER NOT NULL "
        "UNIQUE, check_value TEXT NOT NULL)"
    )


_KEYS = "SELECT key_id, from_position, check_value FROM chain_keys ORDER BY from_position"


class SQLiteEventStore:
    """An event store in a SQLite file (or ``":memory:"``).

    Args:
        path: the database file; created with its schema if missing (and ``create``).
        create: ``False`` to refuse a file that does not exist or holds no register (no
            file is made); ``":memory:"`` is always created.
        synchronous: ``"FULL"`` (the default: a committed append survives power loss) or
            ``"NORMAL"`` (faster; in WAL mode a power cut may lose the last commits, never
            corrupt the file).
        busy_timeout: seconds a writer waits for another process's transaction.
        key: an HMAC key for the hash chain, or a :class:`~action_ledger.Keyring` whose
            newest key seals (``None`` for plain SHA-256). A new register opened with a key
            records it and is keyed from then on.
        clock: where ``recorded_at`` comes from.

    Attributes:
        key: the key that seals new events (``None``: plain).
        keys: which key seals which positions.

    Raises:
        StoreError: the file cannot be opened as a SQLite database, is another
            application's database, or (with ``create=False``) holds no register.
        KeyMismatchError: a keyed register opened without its key or with another, or a
            plain register opened with a key; nothing is written.
        IntegrityError: the file is damaged.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        create: bool = True,
        synchronous: Literal["FULL", "NORMAL"] = "FULL",
        busy_timeout: float = 30.0,
        key: bytes | Keyring | None = None,
        clock: Clock = system_clock,
    ) -> None:
        if synchronous not in ("FULL", "NORMAL"):
            raise StoreError(f"synchronous={synchronous!r} is not 'FULL' or 'NORMAL'")
        self._given = key
        self.keys = KeySchedule()
        self.key: bytes | None = None
        self.path = str(path)
        self._clock = clock
        self._lock = threading.RLock()
        self.lock = self._lock  # for a read model sharing this connection
        in_memory = self.path in ("", ":memory:")
        create = create or in_memory
        if not create and not os.path.isfile(self.path):
            raise self._missing()
        conn = None
        try:
            if create:
                conn = sqlite3.connect(
                    self.path, isolation_level=None, check_same_thread=False, timeout=busy_timeout
                )
            else:  # mode=rw: SQLite itself never creates the file
                conn = sqlite3.connect(
                    f"{Path(self.path).absolute().as_uri()}?mode=rw",
                    uri=True,
                    isolation_level=None,
                    check_same_thread=False,
                    timeout=busy_timeout,
                )
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            self.db = sqlite_utils.Database(conn)
            with self._immediate():
                self._check_foreign(create=create)
                MIGRATIONS.apply(self.db)
                self._bind_keys(conn)
            if not in_memory:
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous = {synchronous}")
        except (sqlite3.Error, ActionLedgerError) as exc:
            if conn is not None:
                conn.close()
            if isinstance(exc, ActionLedgerError):
                raise
            code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
            if not create and code == sqlite3.SQLITE_CANTOPEN and not os.path.exists(self.path):
                raise self._missing() from exc
            if code == sqlite3.SQLITE_NOTADB:
                raise StoreError(
                    f"cannot open {self.path!r} as an event store: {exc}; give the path of a "
                    "register (or of a new file to create one)"
                ) from exc
            raise storage_error(exc, self.path) from exc
        self._conn = conn

    def _key_records(self, conn: sqlite3.Connection) -> list[KeyRecord]:
        return [KeyRecord(key_id=i, from_position=p, check=c) for i, p, c in conn.execute(_KEYS)]

    def _bind_keys(self, conn: sqlite3.Connection) -> None:
        """Bind the key given to the register's (in the opening transaction)."""
        records = self._key_records(conn)
        first = None
        if not records:
            row = conn.execute(f"{_SELECT} WHERE position = 1").fetchone()
            first = None if row is None else stored_from_row(row)
        self.keys, adopt = bind_keys(self._given, records, first, where=f"{self.path!r}")
        if adopt:
            conn.executemany(
                "INSERT INTO chain_keys VALUES (?, ?, ?)",
                [(r.key_id, r.from_position, r.check) for r in adopt],
            )
        self.key = self.keys.current

    def _keys_unchanged(self) -> None:
        """Refuse to seal with keys another process has since rotated (in the write's
        transaction)."""
        if [r.key_id for r in self._key_records(self._conn)] != list(self.keys.key_ids()):
            raise StoreError(
                f"the chain keys of {self.path!r} changed since it was opened (another process "
                "rotated them or keyed the register): open it again with the current key file"
            )

    @typed_faults
    def rotate_key(self, new_key: bytes) -> KeyRecord:
        """Seal every event from the next position on with ``new_key``; the events before
        keep the key that sealed them (nothing is rewritten). Keep the old key: verifying
        those events needs it.

        Returns:
            The new key's record.

        Raises:
            ValidationError: ``new_key`` is not a key, or sealed this register before.
            KeyMismatchError: the register is plain and holds events.
            StoreError: the keys changed since this store opened it (another process).
        """
        with self._lock, self._immediate():
            last = self._conn.execute("SELECT coalesce(max(position), 0) FROM events").fetchone()
            stored = self._key_records(self._conn)
            record = plan_rotation(self.keys, stored, last[0], new_key)
            self._conn.execute(
                "DELETE FROM chain_keys WHERE from_position >= ?", (record.from_position,)
            )
            self._conn.execute(
                "INSERT INTO chain_keys VALUES (?, ?, ?)",
                (record.key_id, record.from_position, record.check),
            )
        self.keys = self.keys.with_record(record, new_key)
        self.key = new_key
        return record

    def _missing(self) -> StoreError:
        return StoreError(
            f"there is no register at {self.path!r}: the file does not exist. Check the path; "
            f"to create a register there, run 'action-ledger --db {self.path} init' (or open "
            "it with create=True)"
        )

    def _check_foreign(self, *, create: bool) -> None:
        """Refuse a database that is not a register: one whose ``events`` table the
        migrations did not make, or that holds tables and no ``events`` table at all (another
        application's, left untouched); with ``create=False``, one without a register."""
        tables = [
            name
            for (name,) in self.db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        if "events" in tables:
            if not any(m.name == "0001_events" for m in MIGRATIONS.applied(self.db)):
                raise StoreError(
                    f"{self.path!r} already has an 'events' table that action_ledger did not "
                    "create; use another file"
                )
            return
        if tables:
            shown = ", ".join(sorted(tables)[:5]) + (", …" if len(tables) > 5 else "")
            raise StoreError(
                f"{self.path!r} is another application's database (it has the tables {shown} "
                "and no register): it was left untouched; give the path of a register, or a "
                "new file to create one"
            )
        if not create:
            raise StoreError(
                f"{self.path!r} holds no register (it is an empty database): run "
                f"'action-ledger --db {self.path} init' to make it one (or open it with "
                "create=True)"
            )

    def _immediate(self) -> Immediate:
        return Immediate(self.db.conn)

    @typed_faults
    def append(
        self, stream_id: str, events: Sequence[NewEvent], expected_version: int
    ) -> tuple[int, ...]:
        """See :meth:`action_ledger.store.EventStore.append`."""
        check_batch(stream_id, events)
        with self._lock, self._immediate():
            head = self._conn.execute(_HEAD, (stream_id,)).fetchone()
            versions = {} if head is None else {stream_id: head[0]}
            last = None if head is None else (head[1], head[2], head[3])
            (positions,) = self._write(
                [(stream_id, events, expected_version)], versions, last, checked=True
            )
            return positions

    @typed_faults
    def append_sealed(
        self, batches: Sequence[Batch]
    ) -> tuple[list[tuple[int, ...]], list[StoredEvent]]:
        """Append the batches as :meth:`append_many` does, and hand back what was sealed: each
        batch's positions and the events newly stored, in position order (a batch that is an
        exact retry stores nothing new). For the read models of the same file, which are then
        written from these events in the same transaction instead of reading them back."""
        with self._lock, self._immediate():
            versions = self._versions(list(dict.fromkeys(s for s, _, _ in batches)))
            last = self._conn.execute(_LAST).fetchone()
            sealed: list[StoredEvent] = []
            results = self._write(batches, versions, last, checked=False, sealed=sealed)
            return results, sealed

    @typed_faults
    def append_many(self, batches: Sequence[Batch]) -> list[tuple[int, ...]]:
        """Append several streams' batches in one transaction (all or nothing).

        For bulk imports: one durable commit instead of one per stream. The batches are applied
        in order, exactly as successive :meth:`append` calls would be (a stream may appear more
        than once; each batch expects the version left by the ones before it; a batch that is an
        exact retry is a no-op returning its original positions), except that the first error
        stores nothing at all.

        Returns:
            The positions of each batch, in the order given.
        """
        with self._lock, self._immediate():
            versions = self._versions(list(dict.fromkeys(s for s, _, _ in batches)))
            last = self._conn.execute(_LAST).fetchone()
            return self._write(batches, versions, last, checked=False)

    def _write(
        self,
        batches: Sequence[Batch],
        versions: dict[str, int],
        last: _Last,
        *,
        checked: bool,
        sealed: list[StoredEvent] | None = None,
    ) -> list[tuple[int, ...]]:
        """Store the batches, inside the caller's transaction (and add the events stored to
        ``sealed``, if given).

        Optimistic: event ids are not looked up before inserting. Only when a batch fails its
        checks (a stale version may be a retry) or the INSERT hits the unique event id index is
        everything decided again with the stored ids known, as if they had been looked up first.
        """
        times = ClockReadings(self._clock)
        after = 0 if last is None else last[0]
        if self.keys.keyed or after == 0:
            self._keys_unchanged()
        try:
            events, results = self._plan(batches, versions, last, {}, times, checked=checked)
        except ActionLedgerError:
            events, results = self._plan(
                batches, versions, last, self._stored(batches), times, checked=checked
            )
            self._insert(events, after)
        else:
            try:
                self._insert(events, after)
            except sqlite3.IntegrityError:
                stored = self._stored(batches)
                if not stored:
                    raise  # not a stored event id: another constraint, e.g. a tampered file
                events, results = self._plan(
                    batches, versions, last, stored, times, checked=checked
                )
                self._insert(events, after)
        if sealed is not None:
            sealed.extend(events)
        return results

    def _plan(
        self,
        batches: Sequence[Batch],
        versions: dict[str, int],
        last: _Last,
        stored: _Found,
        times: ClockReadings,
        *,
        checked: bool,
    ) -> tuple[list[StoredEvent], list[tuple[int, ...]]]:
        """Check and seal the batches in order (:func:`~action_ledger.store.seal_batches`);
        return the events to insert and each batch's positions.

        ``stored`` holds the batches' event ids already in the file (as far as known).

        Raises:
            ValidationError, DuplicateEventError, ConcurrencyError: as :meth:`append` would.
        """
        times.rewind()
        sealed, results = seal_batches(
            batches,
            versions=versions,
            last=last,
            stored=stored,
            read_clock=times.read,
            key=self.key,
            checked=checked,
        )
        return sealed, results

    def _insert(self, events: list[StoredEvent], after: int) -> None:
        """Insert the events; if a constraint fails part-way, remove those already inserted
        (every row after position ``after``) so the transaction is as it was, and re-raise."""
        if not events:
            return
        try:
            self._conn.executemany(_INSERT, map(stored_as_row, events))
        except sqlite3.IntegrityError:
            self._conn.execute("DELETE FROM events WHERE position > ?", (after,))
            raise

    @typed_faults
    def restore(
        self, events: Iterable[StoredEvent], *, keys: Sequence[KeyRecord] | None = None
    ) -> int:
        """See :meth:`action_ledger.store.EventStore.restore`: one transaction, the rows
        inserted in chunks as they are checked, so memory stays bounded; the unique index on
        ``event_id`` finds a repeated id.

        Args:
            keys: the backup's key records, stored with the events (``None``: the log is
                sealed as this store is).
        """
        with self._lock, self._immediate():
            if self._conn.execute("SELECT 1 FROM events LIMIT 1").fetchone() is not None:
                raise not_empty_error(self.last_position())
            schedule = self.keys
            if keys is not None:
                schedule = restore_schedule(self.keys, self._given, keys, f"{self.path!r}")
                self._conn.execute("DELETE FROM chain_keys")
                self._conn.executemany(
                    "INSERT INTO chain_keys VALUES (?, ?, ?)",
                    [(r.key_id, r.from_position, r.check) for r in schedule.records],
                )
            restored = 0
            rows: list[tuple[Any, ...]] = []
            try:
                for event in check_restore(events, key=self.key, keys=schedule):
                    rows.append(stored_as_row(event))
                    if len(rows) == _RESTORE_CHUNK:
                        self._restore_rows(rows)
                        restored += len(rows)
                        rows = []
            except ActionLedgerError:
                # An event before the one refused may hold the first problem: a repeated id.
                self._restore_rows(rows)
                raise
            self._restore_rows(rows)
        self.keys, self.key = schedule, schedule.current
        return restored + len(rows)

    def _restore_rows(self, rows: list[tuple[Any, ...]]) -> None:
        """Insert checked rows of a restore (in the caller's transaction).

        Raises:
            IntegrityError: a row breaks a constraint (a repeated event id), naming its
                position.
        """
        if not rows:
            return
        try:
            self._conn.executemany(_INSERT, rows)
        except sqlite3.IntegrityError as exc:
            # executemany stops at the failing row; the rows before it are in.
            (last,) = self._conn.execute("SELECT coalesce(max(position), 0) FROM events").fetchone()
            position = last + 1
            event_id = rows[position - rows[0][0]][_EVENT_ID]
            first = self._conn.execute(
                "SELECT position FROM events WHERE event_id = ?", (event_id,)
            ).fetchone()
            if first is not None:
                raise repeated_id_error(event_id, position, first[0]) from exc
            raise IntegrityError(
                f"cannot restore the event at position {position}: {exc}; nothing was restored"
            ) from exc

    def _chunk_size(self) -> int:
        """How many ``?`` one statement may hold: SQLite's limit (999 before 3.32, 32766 since,
        unless built otherwise), capped at 32766 to keep the statement text short."""
        return min(self._conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER), 32766)

    def _versions(self, streams: list[str]) -> dict[str, int]:
        """The current version of each stream that has events (absent: version 0)."""
        versions: dict[str, int] = {}
        size = self._chunk_size()
        for lo in range(0, len(streams), size):
            chunk = streams[lo : lo + size]
            # A correlated max() per stream is a min/max seek on the (stream_id, version)
            # index; "WHERE stream_id IN (...) GROUP BY stream_id" would read every entry of
            # every stream named.
            rows = self._conn.execute(
                "SELECT column1, (SELECT max(version) FROM events WHERE stream_id = column1) "
                f"FROM (VALUES {', '.join(['(?)'] * len(chunk))})",
                chunk,
            )
            versions.update((stream_id, v) for stream_id, v in rows if v is not None)
        return versions

    def _stored(self, batches: Sequence[Batch]) -> _Found:
        """The stream and position of each of the batches' event ids that is stored."""
        ids = list(dict.fromkeys(e.event_id for _, events, _ in batches for e in events))
        found: _Found = {}
        size = self._chunk_size()
        for lo in range(0, len(ids), size):
            chunk = ids[lo : lo + size]
            found.update(
                (event_id, (stream_id, position))
                for event_id, stream_id, position in self._conn.execute(
                    "SELECT event_id, stream_id, position FROM events "
                    f"WHERE event_id IN ({', '.join('?' * len(chunk))})",
                    chunk,
                )
            )
        return found

    @typed_faults
    def read_stream(self, stream_id: str, *, up_to_version: int | None = None) -> list[StoredEvent]:
        """See :meth:`action_ledger.store.EventStore.read_stream`."""
        limit = -1 if up_to_version is None else max(up_to_version, 0)
        with self._lock:
            rows = self._conn.execute(
                f"{_SELECT} WHERE stream_id = ? ORDER BY version LIMIT ?", (stream_id, limit)
            ).fetchall()
        return [stored_from_row(r) for r in rows]

    def read_all(
        self, *, after: int = 0, limit: int | None = None, page_size: int = 1000
    ) -> Iterator[StoredEvent]:
        """See :meth:`action_ledger.store.EventStore.read_all`; pages keep memory constant."""
        check_paging(after, limit, page_size)
        remaining = limit
        while remaining is None or remaining > 0:
            size = page_size if remaining is None else min(page_size, remaining)
            try:
                with self._lock:
                    rows = self._conn.execute(
                        f"{_SELECT} WHERE position > ? ORDER BY position LIMIT ?", (after, size)
                    ).fetchall()
            except sqlite3.Error as exc:
                yield from self._readable(after, size)
                raise storage_error(exc, self.path) from exc
            if not rows:
                return
            for r in rows:
                yield stored_from_row(r)
            after = rows[-1][0]
            if remaining is not None:
                remaining -= len(rows)
            if len(rows) < size:
                return

    @typed_faults
    def read_by_stream(
        self, *, up_to: int, after: tuple[str, int] = ("", 0), limit: int = 1000
    ) -> list[StoredEvent]:
        """At most ``limit`` events at positions up to ``up_to``, in stream order (stream id,
        then version), after the event at ``after`` (stream id, version): each stream's events
        together, for a bulk reader such as a rebuild (an index scan of ``(stream_id,
        version)``)."""
        with self._lock:
            rows = self._conn.execute(
                f"{_SELECT} WHERE (stream_id, version) > (?, ?) AND position <= ? "
                "ORDER BY stream_id, version LIMIT ?",
                (after[0], after[1], up_to, limit),
            ).fetchall()
        return [stored_from_row(r) for r in rows]

    def _readable(self, after: int, size: int) -> Iterator[StoredEvent]:
        """The events after ``after`` one at a time, up to the first that cannot be read (a
        damaged page): so that a reader of the log, such as ``verify``, gets every event
        before the damage and knows where it starts."""
        for _ in range(size):
            try:
                with self._lock:
                    row = self._conn.execute(
                        f"{_SELECT} WHERE position > ? ORDER BY position LIMIT 1", (after,)
                    ).fetchone()
            except sqlite3.Error:
                return
            if row is None:
                return
            yield stored_from_row(row)
            after = row[0]

    @typed_faults
    def get_event(self, event_id: str) -> StoredEvent | None:
        """See :meth:`action_ledger.store.EventStore.get_event`."""
        with self._lock:
            row = self._conn.execute(f"{_SELECT} WHERE event_id = ?", (event_id,)).fetchone()
        return None if row is None else stored_from_row(row)

    @typed_faults
    def stream_version(self, stream_id: str) -> int:
        """See :meth:`action_ledger.store.EventStore.stream_version`."""
        with self._lock:
            (version,) = self._conn.execute(
                "SELECT coalesce(max(version), 0) FROM events WHERE stream_id = ?", (stream_id,)
            ).fetchone()
        return int(version)

    @typed_faults
    def last_position(self) -> int:
        """See :meth:`action_ledger.store.EventStore.last_position`."""
        with self._lock:
            (position,) = self._conn.execute(
                "SELECT coalesce(max(position), 0) FROM events"
            ).fetchone()
        return int(position)

    @typed_faults
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


class Immediate:
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
