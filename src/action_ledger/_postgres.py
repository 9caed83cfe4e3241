"""The PostgreSQL event store, for a register shared by tools on several machines.

The register lives in one schema (``action_ledger`` by default) of a PostgreSQL database: an
``events`` table with the same columns as the SQLite file, and a ``schema_migrations`` table
recording the numbered migrations applied. Several registers can share a database, one schema
each. This is the only module that imports psycopg.

Positions are gap-free and in commit order. Every writing transaction first takes a
transaction-level advisory lock (``pg_advisory_xact_lock``) on a key derived from the schema
name, and only then reads the head of the log and the stream versions, seals the events and
inserts them. The lock is released by the commit itself, after the rows became visible, so
positions are assigned and committed in one order: a reader tailing ``position > N`` never
misses an event that commits later with a lower position, as it could if positions came from a
sequence. eventsourcing gets the same order with ``LOCK TABLE ... IN EXCLUSIVE MODE``; the
advisory lock is chosen instead because it locks no table, so it blocks only other writers of
the same register. Plain reads pass either, but the table lock also conflicts with what
``VACUUM`` (autovacuum too), ``ANALYZE``, ``CREATE INDEX`` and ``SELECT ... FOR SHARE`` take.
And it is per schema, so registers sharing a database do not block each other.

The head is read in a statement after the one taking the lock: at ``READ COMMITTED`` each
statement's snapshot is taken when it starts, so only a later statement sees the commit of the
writer that held the lock before.

Every write that stores events also sends ``NOTIFY`` on the register's channel
(``action_ledger_<schema>``), in its transaction, so it is delivered at commit: a waiter in
:meth:`PostgresEventStore.wait_for_append`, in this process or another, wakes at once instead of
polling. The waiters of a store share one dedicated autocommit connection, listening.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import select
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ._clock import Clock, system_clock
from .exceptions import ActionLedgerError, IntegrityError, StoreError, ValidationError
from .store import (
    STORED_COLUMNS,
    Batch,
    ClockReadings,
    NewEvent,
    StoredEvent,
    check_batch,
    check_paging,
    check_restore,
    not_empty_error,
    repeated_id_error,
    seal_batches,
    stored_as_row,
    stored_from_row,
)

__all__ = ["PostgresEventStore"]

_T = TypeVar("_T")
_Conn = psycopg.Connection[tuple[Any, ...]]
_Last = tuple[int, str, str] | None  # position, hash and recorded_at of the last stored event
_Found = dict[str, tuple[str, int]]  # event id -> (stream id, position)

_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_TYPES = ("bigint", "text", "int", "text", "text", "int", *["text"] * 6)  # STORED_COLUMNS' types
# Rows per INSERT of a restore: few statements, and only this many rows held in memory.
_RESTORE_CHUNK = 1000

# Each migration is a name and its statements ({schema} is the quoted schema name); applied in
# order, once, each recorded in schema_migrations in the same transaction.
_MIGRATIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "0001_events",
        (
            # COLLATE "C": byte order, which is code point order in UTF-8, as in Python and
            # SQLite, so the prefix range of count_streams holds whatever the database's locale.
            """
            CREATE TABLE {schema}.events (
                position bigint PRIMARY KEY,
                stream_id text COLLATE "C" NOT NULL,
                version integer NOT NULL,
                event_id text NOT NULL UNIQUE,
                event_type text NOT NULL,
                schema_version integer NOT NULL,
                data text NOT NULL,
                occurred_at text NOT NULL,
                recorded_at text NOT NULL,
                actor text NOT NULL,
                prev_hash text NOT NULL,
                hash text NOT NULL,
                UNIQUE (stream_id, version)
            )
            """,
            # One entry per stream, for counting streams by prefix (action id sequences).
            "CREATE INDEX events_stream_starts ON {schema}.events (stream_id) WHERE version = 1",
        ),
    ),
)


def without_password(dsn: str) -> str:
    """The connection string with any password removed, for messages."""
    if "://" in dsn:
        parts = urlsplit(dsn)
        userinfo, at, host = parts.netloc.rpartition("@")
        netloc = f"{userinfo.partition(':')[0]}{at}{host}"
        query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "password"])
        return urlunsplit(parts._replace(netloc=netloc, query=query))
    try:
        params = conninfo_to_dict(dsn)
    except psycopg.Error:
        return "(an unreadable connection string)"
    params.pop("password", None)
    return make_conninfo("", **params)


def _channel(schema: str) -> str:
    """The NOTIFY channel of a register: ``action_ledger_<schema>``, or a hash of the schema
    name where that would pass PostgreSQL's 63-byte limit on names."""
    name = f"action_ledger_{schema}"
    if len(name) > 63:
        name = "action_ledger_" + hashlib.sha256(schema.encode()).hexdigest()[:49]
    return name


def lock_key(name: str) -> int:
    """An advisory lock key: 64 bits of a hash of ``name`` (e.g. ``"action_ledger:<schema>"``
    for a register's writers)."""
    digest = hashlib.sha256(name.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class PostgresEventStore:
    """An event store in a schema of a PostgreSQL database.

    Args:
        dsn: a libpq connection string or URL, e.g. ``"postgresql://user@host/dbname"``.
        schema: the schema holding the register (created with its tables if missing): a
            lower-case SQL name, ``[a-z_][a-z0-9_]{0,62}``.
        key: an HMAC key for the hash chain (``None`` for plain SHA-256).
        clock: where ``recorded_at`` comes from.
        connect_timeout: seconds to wait for the server when connecting.

    Attributes:
        dsn: the connection string without its password (for messages).
        schema: the schema name.

    Raises:
        ValidationError: the schema name is not accepted.
        StoreError: the server cannot be reached, or the schema holds an ``events`` table that
            action_ledger did not create.
    """

    def __init__(
        self,
        dsn: str,
        *,
        schema: str = "action_ledger",
        key: bytes | None = None,
        clock: Clock = system_clock,
        connect_timeout: float = 10.0,
    ) -> None:
        if not isinstance(schema, str) or not _SCHEMA_NAME.fullmatch(schema):
            raise ValidationError(
                f"schema name {schema!r} is not accepted: use 1 to 63 lower-case letters, digits "
                "and underscores, not starting with a digit (e.g. 'action_ledger')",
                field="schema",
                value=schema,
            )
        self.key = key
        self.schema = schema
        self.dsn = without_password(dsn)
        self._conninfo = dsn
        self._clock = clock
        self._timeout = max(1, round(connect_timeout))
        self._lock_key = lock_key(f"action_ledger:{schema}")
        self._lock = threading.RLock()
        self._closed = False
        self._q = _Queries(schema)
        self._channel = _channel(schema)
        self._conn: _Conn = self._connect()
        try:
            self._run(self._migrate, retry=False)
        except BaseException:
            self._conn.close()
            raise
        # Waiting for appends: the LISTENing connection (made by the first wait), the waiters'
        # condition, whether one of them is reading the connection, a count of its wake-ups,
        # and a socket pair through which close() wakes it.
        self._listener: _Conn | None = None
        self._waiters = threading.Condition(threading.Lock())
        self._reading = False
        self._wakes = 0
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)

    # -- connection and transactions ----------------------------------------------------------

    def _connect(self, *, autocommit: bool = False) -> _Conn:
        try:
            conn = psycopg.connect(
                self._conninfo, autocommit=autocommit, connect_timeout=self._timeout
            )
        except psycopg.Error as exc:
            raise StoreError(
                f"cannot connect to PostgreSQL at {self.dsn}: {str(exc).strip()}; check that the "
                "server is running and reachable at that host and port, and that the user, "
                "password and database name are right"
            ) from exc
        # Each statement must see what committed before it: the head is read after the lock.
        conn.isolation_level = psycopg.IsolationLevel.READ_COMMITTED
        return conn

    def _connection(self) -> _Conn:
        """The open connection; a fresh one if the last was dropped."""
        if self._closed:
            raise StoreError(f"the event store at {self.dsn} is closed")
        if self._conn.closed or self._conn.broken:
            self._conn.close()
            self._conn = self._connect()
        return self._conn

    @property
    def conn(self) -> _Conn:
        """The open connection (a fresh one if the last was dropped), for read models kept in
        this schema; hold :attr:`lock` while using it.

        Raises:
            StoreError: the store is closed.
        """
        with self._lock:
            return self._connection()

    @property
    def lock(self) -> threading.RLock:
        """The lock held while the connection is in use."""
        return self._lock

    def _run(self, work: Callable[[_Conn], _T], *, retry: bool) -> _T:
        """Run ``work`` on the connection, turning psycopg's errors into ours.

        With ``retry``, work that failed because the connection dropped (so the server rolled
        its transaction back) runs once more on a fresh connection.
        """
        with self._lock:
            conn = self._connection()
            try:
                return work(conn)
            except psycopg.Error as exc:
                if not (retry and conn.broken):
                    raise self._error(exc) from exc
            conn = self._connection()
            try:
                return work(conn)
            except psycopg.Error as exc:
                raise self._error(exc) from exc

    def _error(self, exc: psycopg.Error) -> ActionLedgerError:
        detail = str(exc).strip()
        if isinstance(exc, psycopg.IntegrityError):
            return IntegrityError(
                f"the events table in schema {self.schema!r} at {self.dsn} refused a row "
                f"({detail}): it was changed outside action_ledger; run verify"
            )
        if isinstance(exc, psycopg.OperationalError):
            return StoreError(
                f"the connection to PostgreSQL at {self.dsn} failed: {detail}; check that the "
                "server is running and reachable, then try again"
            )
        return StoreError(f"PostgreSQL at {self.dsn} refused a request: {detail}")

    def _write(self, work: Callable[[_Conn], _T], *, retry: bool = True) -> _T:
        """Run ``work`` in one transaction holding the register's write lock."""

        def attempt(conn: _Conn) -> _T:
            committing = False
            try:
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_key,))
                    result = work(conn)
                    committing = True
            except psycopg.Error as exc:
                if not committing:
                    raise
                raise StoreError(
                    f"PostgreSQL at {self.dsn} failed while committing ({str(exc).strip()}): the "
                    "write may or may not have been stored. Retrying the append with the same "
                    "event ids is safe: if it was stored, the retry returns its positions"
                ) from exc
            return result

        return self._run(attempt, retry=retry)

    def _read(self, work: Callable[[_Conn], _T]) -> _T:
        """Run ``work`` in a short transaction (never left open: it would hold back VACUUM)."""

        def attempt(conn: _Conn) -> _T:
            with conn.transaction():
                return work(conn)

        return self._run(attempt, retry=True)

    # -- migrations ---------------------------------------------------------------------------

    def _migrate(self, conn: _Conn) -> None:
        """Create or migrate the schema. Two processes opening it at once queue on the lock."""
        pending = self._pending(conn)
        conn.commit()  # end the check's transaction: the migrations run in their own
        if not pending:
            return
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_key,))
            q = self._q
            conn.execute(q.create_schema)
            conn.execute(q.create_migrations)
            pending = self._pending(conn)
            for name, statements in _MIGRATIONS:
                if name not in pending:
                    continue
                try:
                    with conn.transaction():
                        for statement in statements:
                            conn.execute(q.format(statement))
                except psycopg.errors.DuplicateTable as exc:
                    raise StoreError(
                        f"schema {self.schema!r} at {self.dsn} already has tables that "
                        f"action_ledger did not create ({str(exc).strip()}); use another schema"
                    ) from exc
                conn.execute(q.record_migration, (name,))

    def _pending(self, conn: _Conn) -> list[str]:
        """The names of the migrations not applied yet, in order.

        Raises:
            StoreError: the schema was migrated by a newer action_ledger.
        """
        exists = conn.execute(
            "SELECT 1 FROM pg_tables WHERE schemaname = %s AND tablename = 'schema_migrations'",
            (self.schema,),
        ).fetchone()
        applied = set() if exists is None else {n for (n,) in conn.execute(self._q.migrations)}
        known = [name for name, _ in _MIGRATIONS]
        unknown = sorted(applied - set(known))
        if unknown:
            raise StoreError(
                f"schema {self.schema!r} at {self.dsn} has migrations {unknown} that this "
                "version of action_ledger does not know: upgrade action_ledger"
            )
        return [name for name in known if name not in applied]

    # -- appending ----------------------------------------------------------------------------

    def append(
        self, stream_id: str, events: Sequence[NewEvent], expected_version: int
    ) -> tuple[int, ...]:
        """See :meth:`action_ledger.store.EventStore.append`."""
        check_batch(stream_id, events)
        batches = [(stream_id, events, expected_version)]

        def work(conn: _Conn) -> list[tuple[int, ...]]:
            head = conn.execute(self._q.head, (stream_id,)).fetchone()
            versions = {} if head is None else {stream_id: head[0]}
            last = None if head is None else (head[1], head[2], head[3])
            return self._store(conn, batches, versions, last, checked=True)

        (positions,) = self._write(work)
        return positions

    def append_many(self, batches: Sequence[Batch]) -> list[tuple[int, ...]]:
        """See :meth:`action_ledger.store.EventStore.append_many`: one transaction."""
        if not batches:
            return []
        streams = list(dict.fromkeys(s for s, _, _ in batches))

        def work(conn: _Conn) -> list[tuple[int, ...]]:
            versions = {
                stream_id: version
                for stream_id, version in conn.execute(self._q.versions, (streams,))
                if version is not None
            }
            last = conn.execute(self._q.last).fetchone()
            return self._store(conn, batches, versions, last, checked=False)

        return self._write(work)

    def _store(
        self,
        conn: _Conn,
        batches: Sequence[Batch],
        versions: dict[str, int],
        last: _Last,
        *,
        checked: bool,
    ) -> list[tuple[int, ...]]:
        """Store the batches, inside the caller's locked transaction.

        Optimistic, as the SQLite store: event ids are not looked up before inserting. Only
        when a batch fails its checks (a stale version may be a retry) or the INSERT skips a
        stored event id is everything decided again with the stored ids known.
        """
        times = ClockReadings(self._clock)
        after = 0 if last is None else last[0]
        try:
            rows, results = self._plan(batches, versions, last, {}, times, checked=checked)
        except ActionLedgerError:
            stored = self._stored(conn, batches)
            rows, results = self._plan(batches, versions, last, stored, times, checked=checked)
            self._insert(conn, rows)
            self._notify(conn, rows)
            return results
        if self._insert(conn, rows) < len(rows):
            # Some event ids are stored: take this write's rows out and decide again.
            conn.execute(self._q.delete_after, (after,))
            stored = self._stored(conn, batches)
            rows, results = self._plan(batches, versions, last, stored, times, checked=checked)
            self._insert(conn, rows)
        self._notify(conn, rows)
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
    ) -> tuple[list[tuple[Any, ...]], list[tuple[int, ...]]]:
        """Check and seal the batches (:func:`~action_ledger.store.seal_batches`)."""
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
        return list(map(stored_as_row, sealed)), results

    def _insert(self, conn: _Conn, rows: list[tuple[Any, ...]]) -> int:
        """Insert the rows in one statement, skipping any whose event id is stored; return how
        many were inserted."""
        if not rows:
            return 0
        cursor = conn.execute(self._q.insert, [list(column) for column in zip(*rows, strict=True)])
        return cursor.rowcount

    def _notify(self, conn: _Conn, rows: list[tuple[Any, ...]]) -> None:
        """Tell the register's listeners the new last position (delivered at commit, in
        commit order, and only if the transaction commits); nothing if no row was stored."""
        if rows:
            conn.execute("SELECT pg_notify(%s, %s)", (self._channel, str(rows[-1][0])))

    def _stored(self, conn: _Conn, batches: Sequence[Batch]) -> _Found:
        """The stream and position of each of the batches' event ids that is stored."""
        ids = list(dict.fromkeys(e.event_id for _, events, _ in batches for e in events))
        return {
            event_id: (stream_id, position)
            for event_id, stream_id, position in conn.execute(self._q.stored, (ids,))
        }

    # -- restoring ----------------------------------------------------------------------------

    def restore(self, events: Iterable[StoredEvent]) -> int:
        """See :meth:`action_ledger.store.EventStore.restore`: one transaction, the rows
        inserted in chunks as they are checked, so memory stays bounded; the unique index on
        ``event_id`` finds a repeated id."""

        def work(conn: _Conn) -> int:
            if conn.execute(self._q.any_event).fetchone() is not None:
                raise not_empty_error(self._count(conn, self._q.last_position, ()))
            restored = 0
            rows: list[tuple[Any, ...]] = []
            last: list[tuple[Any, ...]] = []  # the last row restored, for the notification
            try:
                for event in check_restore(events, key=self.key):
                    rows.append(stored_as_row(event))
                    if len(rows) == _RESTORE_CHUNK:
                        self._restore_rows(conn, rows)
                        restored += len(rows)
                        last, rows = rows[-1:], []
            except ActionLedgerError:
                # An event before the one refused may hold the first problem: a repeated id.
                self._restore_rows(conn, rows)
                raise
            self._restore_rows(conn, rows)
            self._notify(conn, rows[-1:] or last)
            return restored + len(rows)

        # Never retried: the events may be an iterator, consumed by the first attempt.
        return self._write(work, retry=False)

    def _restore_rows(self, conn: _Conn, rows: list[tuple[Any, ...]]) -> None:
        """Insert checked rows of a restore (in the caller's transaction).

        Raises:
            IntegrityError: an event id is used twice, naming both positions.
        """
        if not rows:
            return
        columns = [list(column) for column in zip(*rows, strict=True)]
        inserted = {p for (p,) in conn.execute(self._q.insert_returning, columns)}
        if len(inserted) == len(rows):
            return
        # The checks made positions run on without gaps: only an event id can collide.
        row = next(r for r in rows if r[0] not in inserted)
        event_id = row[STORED_COLUMNS.index("event_id")]
        first = conn.execute(self._q.position_of, (event_id,)).fetchone()
        if first is None:  # cannot happen: the row was skipped for a stored id
            raise IntegrityError(f"cannot restore the event at position {row[0]}")
        raise repeated_id_error(event_id, row[0], first[0])

    # -- reading ------------------------------------------------------------------------------

    def read_stream(self, stream_id: str, *, up_to_version: int | None = None) -> list[StoredEvent]:
        """See :meth:`action_ledger.store.EventStore.read_stream`."""
        limit = None if up_to_version is None else max(up_to_version, 0)  # LIMIT NULL: all
        rows = self._read(
            lambda conn: conn.execute(self._q.read_stream, (stream_id, limit)).fetchall()
        )
        return [stored_from_row(r) for r in rows]

    def read_all(
        self, *, after: int = 0, limit: int | None = None, page_size: int = 1000
    ) -> Iterator[StoredEvent]:
        """See :meth:`action_ledger.store.EventStore.read_all`; pages keep memory constant."""
        check_paging(after, limit, page_size)
        return self._pages(after, limit, page_size)

    def _pages(self, after: int, limit: int | None, page_size: int) -> Iterator[StoredEvent]:
        remaining = limit
        while remaining is None or remaining > 0:
            size = page_size if remaining is None else min(page_size, remaining)
            rows = self._page(after, size)
            if not rows:
                return
            for r in rows:
                yield stored_from_row(r)
            after = rows[-1][0]
            if remaining is not None:
                remaining -= len(rows)
            if len(rows) < size:
                return

    def _page(self, after: int, size: int) -> list[tuple[Any, ...]]:
        return self._read(lambda conn: conn.execute(self._q.read_all, (after, size)).fetchall())

    def get_event(self, event_id: str) -> StoredEvent | None:
        """See :meth:`action_ledger.store.EventStore.get_event`."""
        row = self._read(lambda conn: conn.execute(self._q.get_event, (event_id,)).fetchone())
        return None if row is None else stored_from_row(row)

    def stream_version(self, stream_id: str) -> int:
        """See :meth:`action_ledger.store.EventStore.stream_version`."""
        return self._scalar(self._q.stream_version, (stream_id,))

    def last_position(self) -> int:
        """See :meth:`action_ledger.store.EventStore.last_position`."""
        return self._scalar(self._q.last_position, ())

    def count_streams(self, prefix: str) -> int:
        """See :meth:`action_ledger.store.EventStore.count_streams`."""
        return self._scalar(self._q.count_streams, (prefix, prefix + "\U0010ffff"))

    def _scalar(self, query: sql.Composed, params: tuple[Any, ...]) -> int:
        return self._read(lambda conn: self._count(conn, query, params))

    @staticmethod
    def _count(conn: _Conn, query: sql.Composed, params: tuple[Any, ...]) -> int:
        row = conn.execute(query, params).fetchone()
        return 0 if row is None else int(row[0])

    # -- waiting for appends -------------------------------------------------------------------

    def wait_for_append(self, after: int, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the log to pass position ``after``; return whether
        it has (at once if it already has).

        Woken by the ``NOTIFY`` of every write to this register, from any process, on a
        dedicated connection that listens (made by the first call; made again if it was
        dropped). Safe to call from several threads while others use the store: one waiter
        reads the listening connection, the others wait for it to report a notification.

        Raises:
            StoreError: the server cannot be reached, or the store is closed (also while
                waiting).
        """
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            with self._waiters:
                seen = self._wakes
            if self.last_position() > after:
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            with self._waiters:
                if self._closed:
                    raise StoreError(f"the event store at {self.dsn} is closed")
                if self._wakes != seen:
                    continue  # a notification came after the check: check again
                if self._reading:
                    self._waiters.wait(left)  # the reading waiter reports each notification
                    continue
                self._reading = True
            try:
                self._await_notification(left)
            finally:
                with self._waiters:
                    self._reading = False
                    self._wakes += 1
                    self._waiters.notify_all()

    def _await_notification(self, timeout: float) -> None:
        """Return when a notification arrives on the listening connection, at the timeout, when
        ``close()`` is called, or at once after (re)connecting: a write may have committed
        before the ``LISTEN``, so the caller checks again."""
        listener = self._listener
        if listener is None or listener.closed or listener.broken:
            self._drop_listener()
            self._listener = self._listen()
            return
        wake = self._wake_r.fileno()
        ready: list[int] = []
        try:
            fd = listener.fileno()
            ready, _, _ = select.select([fd, wake], [], [], timeout)
            if fd in ready:
                listener.pgconn.consume_input()
                while listener.pgconn.notifies() is not None:
                    pass  # the payloads are not needed: the caller reads the last position
                if listener.broken:
                    self._drop_listener()
        except (psycopg.Error, OSError, ValueError):
            self._drop_listener()  # dropped by the server: made again on the next round
        if wake in ready:
            with contextlib.suppress(OSError):
                while self._wake_r.recv(64):
                    pass

    def _listen(self) -> _Conn:
        """A new autocommit connection listening on the register's channel."""
        conn = self._connect(autocommit=True)
        try:
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
        except psycopg.Error as exc:
            conn.close()
            raise self._error(exc) from exc
        return conn

    def _drop_listener(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def close(self) -> None:
        """Close the connections; later calls raise ``StoreError``, and so do waits in
        :meth:`wait_for_append`, which end at once."""
        with self._lock:
            self._closed = True
            self._conn.close()
        with contextlib.suppress(OSError):  # closed before, or full: a waiter is woken already
            self._wake_w.send(b"x")
        with self._waiters:
            while self._reading:
                self._waiters.wait()
            self._drop_listener()
            self._wake_r.close()
            self._wake_w.close()


class _Queries:
    """The statements of one register, with its schema name quoted once."""

    def __init__(self, schema: str) -> None:
        self._schema = sql.Identifier(schema)
        columns = sql.SQL(", ").join(map(sql.Identifier, STORED_COLUMNS))
        select = sql.SQL("SELECT {} FROM {}.events ").format(columns, self._schema)
        unnest = sql.SQL(", ").join(sql.SQL(f"%s::{t}[]") for t in _TYPES)
        insert = sql.SQL(
            "INSERT INTO {}.events ({}) SELECT * FROM unnest({}) ON CONFLICT (event_id) DO NOTHING"
        ).format(self._schema, columns, unnest)
        self.insert = insert
        self.insert_returning = insert + sql.SQL(" RETURNING position")
        self.create_schema = self.format("CREATE SCHEMA IF NOT EXISTS {schema}")
        self.create_migrations = self.format(
            "CREATE TABLE IF NOT EXISTS {schema}.schema_migrations "
            "(name text PRIMARY KEY, applied_at timestamptz NOT NULL)"
        )
        self.migrations = self.format("SELECT name FROM {schema}.schema_migrations")
        self.record_migration = self.format(
            "INSERT INTO {schema}.schema_migrations (name, applied_at) VALUES (%s, now())"
        )
        # What an append needs, in one statement: the stream's version (a max on the
        # (stream_id, version) index) and the log's last row; no row at all: an empty log.
        self.head = self.format(
            "SELECT (SELECT coalesce(max(version), 0) FROM {schema}.events WHERE stream_id = %s),"
            " position, hash, recorded_at FROM {schema}.events ORDER BY position DESC LIMIT 1"
        )
        self.last = self.format(
            "SELECT position, hash, recorded_at FROM {schema}.events ORDER BY position DESC LIMIT 1"
        )
        # A max() per stream is an index seek; GROUP BY would read every version of each.
        self.versions = self.format(
            "SELECT s, (SELECT max(version) FROM {schema}.events WHERE stream_id = s) "
            "FROM unnest(%s::text[]) AS s"
        )
        self.stored = self.format(
            "SELECT event_id, stream_id, position FROM {schema}.events "
            "WHERE event_id = ANY(%s::text[])"
        )
        self.delete_after = self.format("DELETE FROM {schema}.events WHERE position > %s")
        self.any_event = self.format("SELECT 1 FROM {schema}.events LIMIT 1")
        self.position_of = self.format("SELECT position FROM {schema}.events WHERE event_id = %s")
        self.read_stream = select + sql.SQL("WHERE stream_id = %s ORDER BY version LIMIT %s")
        self.read_all = select + sql.SQL("WHERE position > %s ORDER BY position LIMIT %s")
        self.get_event = select + sql.SQL("WHERE event_id = %s")
        self.stream_version = self.format(
            "SELECT coalesce(max(version), 0) FROM {schema}.events WHERE stream_id = %s"
        )
        self.last_position = self.format("SELECT coalesce(max(position), 0) FROM {schema}.events")
        self.count_streams = self.format(
            "SELECT count(*) FROM {schema}.events WHERE version = 1 AND stream_id >= %s "
            "AND stream_id < %s"
        )

    def format(self, template: str) -> sql.Composed:
        """``template`` with ``{schema}`` replaced by the quoted schema name."""
        return sql.SQL(template).format(schema=self._schema)
