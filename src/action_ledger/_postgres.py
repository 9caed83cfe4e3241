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

An append is two round trips (see :meth:`PostgresEventStore.write`); its
read-model rows (:class:`PostgresTables`, the read models' dialect, beside the store it shares
a connection with) go in the same transaction. Reads run in autocommit: one round trip each,
no transaction held open. Acknowledged means committed: a call returns only after the server
confirmed the ``COMMIT`` (and, with group commit, the WAL flush past it); a connection lost
inside a transaction fails it with :class:`~action_ledger.ConnectionLostError`, never a
silent reconnect in the middle; a broken or wedged connection is replaced between requests.

With group commit (the default) a write transaction commits with ``synchronous_commit = off``
and is followed, in the same round trip, by a statement that forces the WAL to disk past that
commit (``pg_logical_emit_message``, transactional, so its own commit waits for the flush).
The register's lock is released at the commit, before the disk flush, so writers queue for the
lock only while their rows are written, and their flushes are shared. The cost: another session
can see an append a moment before it is durable; pages of :meth:`read_all` (subscriptions,
backups, catch-ups) are handed out only after a flush past them, so what tools act on is
durable. A server that forbids that function gets plain synchronous commits.

Every write that stores events also sends ``NOTIFY`` on the register's channel
(``action_ledger_<schema>``), in its transaction, so it is delivered at commit: a waiter in
:meth:`PostgresEventStore.wait_for_append`, in this process or another, wakes at once instead of
polling. The waiters of a store share one dedicated autocommit connection, listening.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import re
import secrets
import select
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, NoReturn, Protocol, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ._clock import Clock, system_clock
from ._keys import KeyRecord, Keyring, KeySchedule, plan_rotation, restore_schedule
from ._projections import Table
from .exceptions import (
    ActionLedgerError,
    ConnectionLostError,
    IntegrityError,
    StoreError,
    ValidationError,
)
from .store import (
    GENESIS_HASH,
    STORED_COLUMNS,
    Batch,
    ClockReadings,
    NewEvent,
    StoredEvent,
    bind_keys,
    chain_hash,
    check_batch,
    check_paging,
    check_restore,
    not_empty_error,
    repeated_id_error,
    seal_batches,
    stored_as_row,
    stored_from_row,
    with_place,
)

__all__ = ["PostgresEventStore", "PostgresTables"]

_T = TypeVar("_T")
_Conn = psycopg.Connection[tuple[Any, ...]]
_Last = tuple[int, str, str] | None  # position, hash and recorded_at of the last stored event
_Found = dict[str, tuple[str, int]]  # event id -> (stream id, position)

_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_TYPES = ("bigint", "text", "int", "text", "text", "int", *["text"] * 6)  # STORED_COLUMNS' types
# Rows per INSERT of a restore: few statements, and only this many rows held in memory.
_RESTORE_CHUNK = 1000
_IDLE = psycopg.pq.TransactionStatus.IDLE
_PIPELINE_OFF = psycopg.pq.PipelineStatus.OFF
_TUPLES_OK = psycopg.pq.ExecStatus.TUPLES_OK
# A transactional WAL record: the implicit transaction around it gets an id and writes WAL, so
# its commit waits for the disk flush, which covers every commit before it (ours included).
_BARRIER = "SELECT pg_logical_emit_message(true, 'action_ledger', '')"


def _has_input(conn: _Conn) -> bool:
    """Whether an idle connection has something to read: a server that ended the session
    (a restart, ``pg_terminate_backend``) has sent its farewell and closed the socket. Such a
    connection is replaced before a request is sent on it, so that a write is not left in
    doubt by a loss that came before it. (A notice sent while idle costs a reconnect.)"""
    try:
        readable, _, _ = select.select([conn.fileno()], [], [], 0)
    except (OSError, ValueError, psycopg.Error):
        return True
    return bool(readable)


def _results(cursor: psycopg.ClientCursor[Any], query: str) -> list[list[tuple[Any, ...]]]:
    """Run several statements in one round trip (the simple query protocol, the parameters
    bound by psycopg); return the rows of each that returns rows, in order."""
    cursor.execute(query)
    found = []
    while True:
        if cursor.pgresult is not None and cursor.pgresult.status == _TUPLES_OK:
            found.append(cursor.fetchall())
        if not cursor.nextset():
            return found


class _Stale(Exception):
    """The connection was found dead in the first round trip of a write (nothing sent)."""

    def __init__(self, error: psycopg.Error) -> None:
        super().__init__(str(error))
        self.error = error


class _Duplicate(Exception):
    """An appended event id is stored already: decide again with the stored ids known."""


class _Refused(Exception):
    """The server found a stale version: decide again on the client, the ids looked up."""


class _Fallback(Exception):
    """The one-round-trip append was stopped by its read-model statements (not ready, or
    failing): write again on the client's path, which handles each case."""


class _Plan:
    """What a write does for the read models: statements sent with the commit (they are up
    to date), a catch-up run inside the transaction (they are behind), or
    nothing (another process is catching them up). ``failure``: their error, raised after the
    commit (the events are kept)."""

    def __init__(
        self,
        *,
        statements: list[str] | None = None,
        catch_up: Callable[[], None] | None = None,
        failure: Exception | None = None,
    ) -> None:
        self.statements = statements
        self.catch_up = catch_up
        self.failure = failure


_NO_TABLES = _Plan()


class _Hook(Protocol):
    """Read models written in an append's transaction (see :class:`PostgresTables`)."""

    lock_key: int
    probe: sql.Composed

    def plan(
        self,
        conn: _Conn,
        locked: bool,
        probe: tuple[Any, ...] | None,
        after: int,
        sealed: list[StoredEvent],
    ) -> _Plan:
        """What to do, given whether their lock was free, the probe's row (read under the
        register's lock), the position before the append, and the events sealed."""

    def failed(self) -> None:
        """The write failed after a plan was made (forget what it assumed)."""

    @property
    def count(self) -> int:
        """How many checkpoint rows the read models have when they are all kept."""

    def provisional(self, cursor: psycopg.ClientCursor[Any], batch: Batch) -> list[str] | None:
        """The read-model statements of a batch the server will seal, bound, with references
        to what ``append_batch`` sets in place of the values only it knows."""

    def not_written(self, failure: Exception | None) -> None:
        """The events were committed without their read-model rows (``failure``: why, if it
        was an error rather than the tables being caught up elsewhere, or here)."""

    def catch_up_inside(self) -> None:
        """Catch the read models up inside the append's transaction (under a savepoint)."""


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
    (
        "0002_server_sealing",
        (
            # The chain hash of store.chain_hash (unkeyed), computed by the server: the same
            # canonical JSON array (to_json escapes text as Python's json does with
            # ensure_ascii=False), the same SHA-256. Checked against Python's on every open.
            """
            CREATE FUNCTION {schema}.chain_hash(
                prev text, pos bigint, stream text, version integer, event_id text,
                event_type text, schema_version integer, data text, occurred_at text,
                recorded_at text, actor text
            ) RETURNS text LANGUAGE sql IMMUTABLE STRICT AS $$
                SELECT encode(sha256(convert_to(
                    prev || E'\n' || '[' || pos::text || ',' || to_json(stream)::text || ','
                    || version::text || ',' || to_json(event_id)::text || ','
                    || to_json(event_type)::text || ',' || schema_version::text || ','
                    || to_json(data)::text || ',' || to_json(occurred_at)::text || ','
                    || to_json(recorded_at)::text || ',' || to_json(actor)::text || ']',
                    'UTF8')), 'hex')
            $$
            """,
            # One stream's batch appended under the register's lock, sealed here: the lock
            # is held only while the server runs this, never across a round trip. A stale
            # version raises AL001 (the client then decides with the stored ids known).
            # Sets, for the read-model statements that follow in the same query, the
            # position before the batch, its recorded time and each event's hash, and
            # whether the read models may be written: 'on' (their lock free, checkpoints at
            # the log's end), 'behind' (lock free, checkpoints behind) or 'locked' (another
            # process is catching them up).
            """
            CREATE FUNCTION {schema}.append_batch(
                p_lock bigint, p_tables_lock bigint, p_projections integer, p_channel text,
                p_stream text, p_expected integer, p_ids text[], p_types text[],
                p_schema_versions integer[], p_data text[], p_occurred text[], p_actors text[],
                p_recorded text
            ) RETURNS TABLE (last_position bigint, recorded_at text, tables text)
            LANGUAGE plpgsql AS $$
            DECLARE
                v_version integer;
                v_last bigint;
                v_prev text;
                v_rec text;
                v_hash text;
                v_tables text := 'locked';
                v_count bigint;
                v_low bigint;
                v_high bigint;
                v_n integer := cardinality(p_ids);
            BEGIN
                PERFORM pg_advisory_xact_lock(p_lock);
                -- Statements after the lock: each sees every commit before it.
                SELECT coalesce(max(e.version), 0) INTO v_version
                    FROM {schema}.events e WHERE e.stream_id = p_stream;
                IF v_version <> p_expected THEN
                    RAISE EXCEPTION 'stream % is at version %', p_stream, v_version
                        USING ERRCODE = 'AL001';
                END IF;
                SELECT e.position, e.hash, e.recorded_at INTO v_last, v_prev, v_rec
                    FROM {schema}.events e ORDER BY e.position DESC LIMIT 1;
                IF v_last IS NULL THEN
                    v_last := 0;
                    v_prev := repeat('0', 64);
                    v_rec := '';
                END IF;
                IF p_recorded COLLATE "C" > v_rec COLLATE "C" THEN
                    v_rec := p_recorded;
                END IF;
                FOR i IN 1..v_n LOOP
                    v_hash := {schema}.chain_hash(
                        v_prev, v_last + i, p_stream, v_version + i, p_ids[i], p_types[i],
                        p_schema_versions[i], p_data[i], p_occurred[i], v_rec, p_actors[i]);
                    INSERT INTO {schema}.events VALUES (
                        v_last + i, p_stream, v_version + i, p_ids[i], p_types[i],
                        p_schema_versions[i], p_data[i], p_occurred[i], v_rec, p_actors[i],
                        v_prev, v_hash);
                    PERFORM set_config('action_ledger.hash_' || i, v_hash, true);
                    v_prev := v_hash;
                END LOOP;
                IF p_tables_lock IS NOT NULL AND pg_try_advisory_xact_lock(p_tables_lock) THEN
                    SELECT count(*), min(c.position), max(c.position)
                        INTO v_count, v_low, v_high FROM {schema}.read_model_checkpoints c;
                    v_tables := CASE
                        WHEN v_count = p_projections AND v_low = v_last AND v_high = v_last
                        THEN 'on' ELSE 'behind' END;
                END IF;
                PERFORM set_config('action_ledger.position', v_last::text, true);
                PERFORM set_config('action_ledger.recorded_at', v_rec, true);
                PERFORM set_config('action_ledger.tables', v_tables, true);
                PERFORM pg_notify(p_channel, (v_last + v_n)::text);
                RETURN QUERY SELECT v_last, v_rec, v_tables;
            END
            $$
            """,
            # In the same query, before the read-model rows: stop here unless the append
            # found the read models ready for them (AL002: locked by a catch-up elsewhere;
            # AL003: behind, so the client catches them up in this transaction).
            """
            CREATE FUNCTION {schema}.require_tables() RETURNS void LANGUAGE plpgsql AS $$
            BEGIN
                IF current_setting('action_ledger.tables', true) = 'behind' THEN
                    RAISE EXCEPTION 'the read models are behind the log'
                        USING ERRCODE = 'AL003';
                ELSIF current_setting('action_ledger.tables', true) IS DISTINCT FROM 'on' THEN
                    RAISE EXCEPTION 'the read models are being caught up elsewhere'
                        USING ERRCODE = 'AL002';
                END IF;
            END
            $$
            """,
        ),
    ),
    (
        # The chain mode: no rows, a plain (SHA-256) register; else each HMAC key and the
        # first position it seals (see _keys.py). A register made before this table reads as
        # plain, or as keyed when first opened with the key that seals it.
        "0003_chain_keys",
        (
            """
            CREATE TABLE {schema}.chain_keys (
                key_id text PRIMARY KEY,
                from_position bigint NOT NULL UNIQUE,
                check_value text NOT NULL
            )
            """,
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
        key: an HMAC key for the hash chain, or a :class:`~action_ledger.Keyring` whose
            newest key seals (``None`` for plain SHA-256). A new register opened with a key
            records it and is keyed from then on.
        clock: where ``recorded_at`` comes from.
        connect_timeout: seconds to wait for the server when connecting.
        create: ``False`` to refuse a schema that holds no register, creating neither the
            schema nor its tables.

    Attributes:
        dsn: the connection string without its password (for messages).
        schema: the schema name.
        key: the key that seals new events (``None``: plain).
        keys: which key seals which positions.

    Raises:
        ValidationError: the schema name is not accepted.
        StoreError: the server cannot be reached, the schema holds an ``events`` table that
            action_ledger did not create, or (with ``create=False``) it holds no register.
        KeyMismatchError: a keyed register opened without its key or with another, or a
            plain register opened with a key; nothing is written.
    """

    def __init__(
        self,
        dsn: str,
        *,
        schema: str = "action_ledger",
        key: bytes | Keyring | None = None,
        clock: Clock = system_clock,
        connect_timeout: float = 10.0,
        group_commit: bool = True,
        create: bool = True,
    ) -> None:
        if not isinstance(schema, str) or not _SCHEMA_NAME.fullmatch(schema):
            raise ValidationError(
                f"schema name {schema!r} is not accepted: use 1 to 63 lower-case letters, digits "
                "and underscores, not starting with a digit (e.g. 'action_ledger')",
                field="schema",
                value=schema,
            )
        self._given = key
        self.keys = KeySchedule()
        self.key: bytes | None = None
        # A plain register without events may still be keyed by another process: until this
        # store has seen an event, its appends check the key records (on the client's path).
        self._keys_open = True
        self.schema = schema
        self.dsn = without_password(dsn)
        self._conninfo = dsn
        self._clock = clock
        self._create = create
        self._timeout = max(1, round(connect_timeout))
        self._lock_key = lock_key(f"action_ledger:{schema}")
        self._lock = threading.RLock()
        self._closed = False
        self._q = _Queries(schema)
        self._channel = _channel(schema)
        self._connected = False  # a connection was made once: failing to make another is a loss
        self._in_transaction = False  # a transaction of ours is open on the connection
        self._conn: _Conn | None = None
        self._conn = self._connect()
        try:
            self._run(self._migrate, retry=False)
            self._locked(self._bind_keys)
            self.group_commit = group_commit and self._run(self._barrier_works, retry=False)
            # The server seals one-stream appends when it hashes exactly as we do (unkeyed).
            self.server_sealing = self.key is None and self._run(self._sealing_works, retry=False)
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

    # -- the connection --------------------------------------------------------------------------

    def _connect(self, *, listen: bool = False) -> _Conn:
        """A new autocommit connection, its search path the register's schema (where the read
        models' SQL finds its tables).

        Raises:
            StoreError: the server cannot be reached (a :class:`ConnectionLostError` if this
                store was connected before: the server went away).
        """
        try:
            conn = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=self._timeout)
        except psycopg.Error as exc:
            message = (
                f"cannot connect to PostgreSQL at {self.dsn}: {str(exc).strip()}; check that the "
                "server is running and reachable at that host and port, and that the user, "
                "password and database name are right"
            )
            if self._connected and not listen:
                raise ConnectionLostError(message, committed=False) from exc
            raise StoreError(message) from exc
        try:
            if not listen:
                conn.execute(self._q.search_path)
        except psycopg.Error as exc:
            conn.close()
            raise ConnectionLostError(
                f"the connection to PostgreSQL at {self.dsn} failed as it was made: "
                f"{str(exc).strip()}; try again",
                committed=False,
            ) from exc
        if not listen:
            self._connected = True
        return conn

    def _connection(self) -> _Conn:
        """The open connection, between transactions. One that is broken, closed, or left
        inside a transaction or a pipeline (wedged by an interrupted request) is discarded and
        a fresh one made."""
        if self._closed:
            raise StoreError(f"the event store at {self.dsn} is closed")
        conn = self._conn
        if conn is not None and not (conn.closed or conn.broken):
            info = conn.info
            if (
                info.transaction_status == _IDLE
                and info.pipeline_status == _PIPELINE_OFF
                and not _has_input(conn)
            ):
                return conn
        self._discard()
        self._conn = self._connect()
        return self._conn

    def _discard(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def read_model_tables(self) -> PostgresTables:
        """The read models' dialect for this register's schema, on this store's connection
        (so that an append and its read-model rows are one transaction)."""
        return PostgresTables(self)

    @property
    def lock(self) -> threading.RLock:
        """The lock held while the connection is in use (shared with the read models)."""
        return self._lock

    @property
    def backend_pid(self) -> int | None:
        """The server process of the current connection (``None`` when there is none), e.g.
        for ``pg_terminate_backend`` in a fault test."""
        with self._lock:
            conn = self._conn
            if conn is None or conn.closed or conn.broken:
                return None
            return int(conn.info.backend_pid)

    def _lost(self, conn: _Conn) -> bool:
        return bool(conn.closed or conn.broken)

    def _run(self, work: Callable[[_Conn], _T], *, retry: bool = True) -> _T:
        """Run ``work`` on the connection, turning psycopg's errors into ours.

        Between transactions (autocommit), work that failed because the connection was lost
        runs once more on a fresh connection (``retry``): it is a read, or a write that had
        not begun. Inside a transaction of ours it runs on that transaction's connection and
        is never retried: a lost connection there fails the transaction.
        """
        with self._lock:
            if self._in_transaction:
                conn = self._conn
                assert conn is not None
                try:
                    return work(conn)
                except psycopg.Error as exc:
                    raise self._error(exc, conn, committed=False) from exc
            conn = self._connection()
            try:
                return work(conn)
            except psycopg.Error as exc:
                if not (retry and self._lost(conn)):
                    raise self._error(exc, conn, committed=False) from exc
            conn = self._connection()
            try:
                return work(conn)
            except psycopg.Error as exc:
                raise self._error(exc, conn, committed=False) from exc

    def _error(
        self, exc: psycopg.Error, conn: _Conn, *, committed: bool | None
    ) -> ActionLedgerError:
        """Our error for a psycopg error; a lost connection is discarded (and the error says
        whether the request may have been committed)."""
        detail = str(exc).strip() or type(exc).__name__
        if self._lost(conn) or isinstance(exc, psycopg.OperationalError):
            if conn is self._conn:
                self._discard()
            if committed is None:
                return ConnectionLostError(
                    f"the connection to PostgreSQL at {self.dsn} was lost while committing "
                    f"({detail}): the write may or may not have been stored. Retrying with the "
                    "same event ids is safe: if it was stored, the retry returns its positions",
                    committed=None,
                )
            return ConnectionLostError(
                f"the connection to PostgreSQL at {self.dsn} was lost ({detail}); nothing of "
                "this request was committed. Check that the server is running, then try again",
                committed=False,
            )
        if isinstance(exc, psycopg.IntegrityError):
            return IntegrityError(
                f"the events table in schema {self.schema!r} at {self.dsn} refused a row "
                f"({detail}): it was changed outside action_ledger; run verify"
            )
        return StoreError(f"PostgreSQL at {self.dsn} refused a request: {detail}")

    def _rollback(self, conn: _Conn) -> None:
        """End a failed transaction (a lost connection ends it on the server by itself)."""
        if self._lost(conn):
            self._discard()
            return
        try:
            if conn.info.pipeline_status != _PIPELINE_OFF:  # pragma: no cover - defensive
                self._discard()
                return
            conn.execute("ROLLBACK")
        except psycopg.Error:
            self._discard()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[_Conn]:
        """A transaction on the store's connection, holding :attr:`lock`: for the read models
        kept in this schema. Inside one already open, a savepoint.

        Committed when the block ends; rolled back if it raises. A lost connection fails it
        with :class:`ConnectionLostError` (never a silent reconnect in the middle).
        """
        with self._lock:
            if self._in_transaction:
                conn = self._conn
                assert conn is not None
                try:
                    with conn.transaction():
                        yield conn
                except psycopg.Error as exc:
                    raise self._error(exc, conn, committed=False) from exc
                return
            conn = self._begin()
            self._in_transaction = True
            try:
                yield conn
            except BaseException as exc:
                self._in_transaction = False
                self._rollback(conn)
                if isinstance(exc, psycopg.Error):
                    raise self._error(exc, conn, committed=False) from exc
                raise
            self._in_transaction = False
            try:
                conn.execute("COMMIT")
            except psycopg.Error as exc:
                raise self._error(exc, conn, committed=None) from exc

    def _begin(self) -> _Conn:
        """``BEGIN`` on the connection; a connection found dead here is replaced once (nothing
        was sent on it yet)."""
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.execute("BEGIN")
                return conn
            except psycopg.Error as exc:
                if attempt == 2 or not self._lost(conn):
                    raise self._error(exc, conn, committed=False) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _locked(self, work: Callable[[_Conn], _T]) -> _T:
        """Run ``work`` in one transaction holding the register's write lock (restores)."""
        with self.transaction() as conn:
            conn.execute(self._q.lock, (self._lock_key,))
            return work(conn)

    def _read(self, work: Callable[[_Conn], _T]) -> _T:
        """Run a read in autocommit (no transaction held open: it would hold back VACUUM)."""
        return self._run(work, retry=True)

    def _sealing_works(self, conn: _Conn) -> bool:
        """Whether the server's ``chain_hash`` gives Python's hash for awkward text (quotes,
        backslashes, control characters, non-ASCII); else the client seals every append."""
        awkward = 'a"\\b\n\t\x01\x7f é 𝄞 \u2028 /'
        event = NewEvent(
            event_id=awkward,
            event_type="t" + awkward,
            schema_version=7,
            data='{"note":"' + awkward.replace("\\", "\\\\").replace('"', '\\"') + '"}',
            occurred_at="2021-10-04T12:30:00.000000Z",
            actor=awkward,
        )
        expected = chain_hash(
            GENESIS_HASH,
            position=12,
            stream_id="action:" + awkward,
            version=3,
            event=event,
            recorded_at="2021-10-04T12:31:00.000000Z",
        )
        try:
            row = conn.execute(
                self._q.chain_hash,
                (
                    GENESIS_HASH,
                    12,
                    "action:" + awkward,
                    3,
                    event.event_id,
                    event.event_type,
                    event.schema_version,
                    event.data,
                    event.occurred_at,
                    "2021-10-04T12:31:00.000000Z",
                    event.actor,
                ),
            ).fetchone()
        except psycopg.Error:
            return False
        return row is not None and row[0] == expected

    def _barrier_works(self, conn: _Conn) -> bool:
        """Whether this server lets us force a durable WAL flush (group commit needs it)."""
        try:
            conn.execute(_BARRIER)
        except (psycopg.errors.InsufficientPrivilege, psycopg.errors.UndefinedFunction):
            return False
        return True

    # -- chain keys ---------------------------------------------------------------------------

    def _key_records(self, conn: _Conn) -> list[KeyRecord]:
        return [
            KeyRecord(key_id=i, from_position=p, check=c)
            for i, p, c in conn.execute(self._q.key_records)
        ]

    def _bind_keys(self, conn: _Conn) -> None:
        """Bind the key given to the register's (under the register's lock)."""
        records = self._key_records(conn)
        first = None
        if not records:
            row = conn.execute(self._q.first_event).fetchone()
            first = None if row is None else stored_from_row(row)
        where = f"the register in schema {self.schema!r} at {self.dsn}"
        self.keys, adopt = bind_keys(self._given, records, first, where=where)
        for record in adopt or ():
            conn.execute(self._q.insert_key, (record.key_id, record.from_position, record.check))
        self.key = self.keys.current
        self._keys_open = self.keys.keyed or first is None

    def rotate_key(self, new_key: bytes) -> KeyRecord:
        """See :meth:`action_ledger.SQLiteEventStore.rotate_key`."""

        def work(conn: _Conn) -> KeyRecord:
            last = self._count(conn, self._q.last_position, ())
            record = plan_rotation(self.keys, self._key_records(conn), last, new_key)
            conn.execute(self._q.delete_keys_from, (record.from_position,))
            conn.execute(self._q.insert_key, (record.key_id, record.from_position, record.check))
            return record

        with self._lock:
            record = self._locked(work)
            self.keys = self.keys.with_record(record, new_key)
            self.key = new_key
            self.server_sealing = False
            self._keys_open = True
        return record

    # -- migrations ---------------------------------------------------------------------------

    def _migrate(self, conn: _Conn) -> None:
        """Create or migrate the schema. Two processes opening it at once queue on the lock."""
        pending = self._pending(conn)
        if not pending:
            return
        if not self._create and len(pending) == len(_MIGRATIONS):  # no migration applied
            raise StoreError(
                f"there is no register in schema {self.schema!r} at {self.dsn}: check the "
                "schema name (--schema) and the URL; to create a register there, run "
                "'action-ledger init' with them (or open it with create=True)"
            )
        with conn.transaction():
            conn.execute(self._q.lock, (self._lock_key,))
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
        return self.write([(stream_id, events, expected_version)], checked=True)[0]

    def append_many(self, batches: Sequence[Batch]) -> list[tuple[int, ...]]:
        """See :meth:`action_ledger.store.EventStore.append_many`: one transaction."""
        if not batches:
            return []
        return self.write(batches, checked=False)

    def write(
        self, batches: Sequence[Batch], *, checked: bool, tables: _Hook | None = None
    ) -> list[tuple[int, ...]]:
        """Append the batches in one transaction (with ``tables``' read-model rows, if given);
        return each batch's positions.

        One stream's batch on an unkeyed register is sealed by the server
        (:meth:`_write_sealed_here`): one round trip, the register's lock held only while the
        server runs it. Otherwise, or when that finds a stale version or a stored event id:

        two round trips, each one query of several statements (psycopg binds the parameters;
        the simple query protocol runs them in order, stopping at the first error):
        ``BEGIN``, the register's lock, the streams' versions and the log's last event; then,
        once the events are sealed here, the ``INSERT``, the read-model rows, the checkpoint,
        ``NOTIFY`` and ``COMMIT``. With group commit, the transaction commits without waiting
        for the disk, which releases the lock at once, and a last statement in the same query
        waits for the WAL to be flushed past that commit: the call returns only once the
        events are durable, and writers on other connections share the disk flushes instead of
        queueing for them one by one.

        Raises:
            ConcurrencyError, DuplicateEventError, ValidationError: as ``append`` would.
            ConnectionLostError: the connection was lost; ``committed`` says whether the
                write may have been stored.
            StoreError: the server refused the write.
        """
        with self._lock:
            if self._in_transaction:
                raise StoreError("cannot append inside a read-model transaction")
            careful = False  # look up stored event ids before sealing (after a duplicate)
            times = ClockReadings(self._clock)  # kept: an attempt made again reads no clock
            server = self.server_sealing and len(batches) == 1 and not self._keys_open
            stale = False  # a connection found dead before anything was sent: replaced once
            for _ in range(4):
                conn = self._connection()
                self._in_transaction = True
                try:
                    if server:
                        return self._write_sealed_here(conn, batches[0], checked, tables, times)
                    return self._write_once(conn, batches, checked, tables, times, careful=careful)
                except _Stale as dead:
                    if stale:
                        raise self._error(dead.error, conn, committed=False) from dead.error
                    stale = True
                except _Duplicate:
                    server, careful = False, True
                except (_Refused, _Fallback):
                    # A stale version (or a retry): decide with the ids known. Or the read
                    # models stopped the append: their cases are handled there.
                    server = False
                finally:
                    self._in_transaction = False
            raise StoreError(  # pragma: no cover - a duplicate found again and again
                f"PostgreSQL at {self.dsn}: the append kept colliding with stored event ids"
            )

    def _write_once(
        self,
        conn: _Conn,
        batches: Sequence[Batch],
        checked: bool,
        tables: _Hook | None,
        times: ClockReadings,
        *,
        careful: bool,
    ) -> list[tuple[int, ...]]:
        q = self._q
        cursor = psycopg.ClientCursor(conn)
        streams = list(dict.fromkeys(s for s, _, _ in batches))
        # One round trip: BEGIN, the lock(s), and after the lock, in statements of their own
        # (each sees every earlier commit), the streams' versions, the log's last event and
        # the read models' checkpoints.
        parts = ["BEGIN"]
        if self.group_commit:
            parts.append("SET LOCAL synchronous_commit = off")
        if tables is None:
            parts.append(cursor.mogrify(q.lock, (self._lock_key,)))
        else:
            parts.append(cursor.mogrify(q.locks, (self._lock_key, tables.lock_key)))
        parts.append(cursor.mogrify(q.versions, (streams,)))
        parts.append(q.last.as_string(conn))
        if tables is not None:
            parts.append(tables.probe.as_string(conn))
        if self._keys_open:
            parts.append(q.key_ids.as_string(conn))
        try:
            results = _results(cursor, "; ".join(parts))
        except psycopg.Error as exc:
            if self._lost(conn):
                raise _Stale(exc) from exc
            self._rollback(conn)
            raise self._error(exc, conn, committed=False) from exc
        try:
            lock_row = results[0][0]
            tables_locked = tables is not None and bool(lock_row[-1])
            versions = {s: v for s, v in results[1] if v is not None}
            last: _Last = results[2][0] if results[2] else None
            probe = results[3][0] if tables is not None else None
            if self._keys_open and results[-1][0][0] != (",".join(self.keys.key_ids()) or None):
                raise StoreError(
                    f"the chain keys of the register in schema {self.schema!r} changed since "
                    "it was opened (another process rotated them or keyed the register): open "
                    "it again with the current key file"
                )
            if not self.keys.keyed and last is not None:
                self._keys_open = False  # a plain register with events stays plain
            stored: _Found = self._stored(conn, batches) if careful else {}
            try:
                sealed, positions = self._seal(batches, versions, last, stored, times, checked)
            except ActionLedgerError:
                if careful:
                    raise
                # A stale version may be a retry of a stored batch: look, and decide again.
                stored = self._stored(conn, batches)
                sealed, positions = self._seal(batches, versions, last, stored, times, checked)
            if not sealed:  # every batch was a retry of one stored before
                self._rollback(conn)
                return positions
            rows = list(map(stored_as_row, sealed))
            after = 0 if last is None else last[0]
            plan = (
                _NO_TABLES
                if tables is None
                else tables.plan(conn, tables_locked, probe, after, sealed)
            )
        except BaseException as exc:
            self._rollback(conn)
            if isinstance(exc, psycopg.Error):
                raise self._error(exc, conn, committed=False) from exc
            raise
        try:
            self._commit(conn, cursor, rows, plan)
        except _Duplicate:
            raise
        except BaseException:
            if plan is not _NO_TABLES and tables is not None:
                tables.failed()
            raise
        if not self.keys.keyed:
            self._keys_open = False  # committed: the register has events, and stays plain
        return positions

    def _write_sealed_here(
        self,
        conn: _Conn,
        batch: Batch,
        checked: bool,
        tables: _Hook | None,
        times: ClockReadings,
    ) -> list[tuple[int, ...]]:
        """One round trip: ``BEGIN``; ``append_batch`` (lock, check, seal, insert, notify);
        under a savepoint the read-model rows (bound here from the events as decided, the
        values only the server knows left as references to what ``append_batch`` set) and
        the checkpoint; ``COMMIT``; the durability barrier.

        Raises:
            _Refused: a stale version: rolled back, for the client's path to decide.
            _Duplicate: an event id is stored: rolled back, likewise.
        """
        stream_id, events, expected = batch
        if not checked:
            check_batch(stream_id, events)
        q = self._q
        cursor = psycopg.ClientCursor(conn)
        times.rewind()
        call = cursor.mogrify(
            q.append_batch,
            (
                self._lock_key,
                None if tables is None else tables.lock_key,
                0 if tables is None else tables.count,
                self._channel,
                stream_id,
                expected,
                [e.event_id for e in events],
                [e.event_type for e in events],
                [e.schema_version for e in events],
                [e.data for e in events],
                [e.occurred_at for e in events],
                [e.actor for e in events],
                times.read(),
            ),
        )
        statements = None if tables is None else tables.provisional(cursor, batch)
        parts = ["BEGIN"]
        if self.group_commit:
            parts.append("SET LOCAL synchronous_commit = off")
        parts.append(call)
        if statements:  # stopped by require_tables unless the tables are ready for them
            parts += [q.require_tables, *statements]
        parts.append("COMMIT")
        if self.group_commit:
            parts.append(_BARRIER)
        try:
            last = int(_results(cursor, "; ".join(parts))[0][0][0])
        except psycopg.Error as exc:
            self._after_refusal(conn, cursor, exc, tables, bool(statements))
        except BaseException:
            if tables is not None:
                tables.failed()
            raise
        return [tuple(range(last + 1, last + 1 + len(events)))]

    def _after_refusal(
        self,
        conn: _Conn,
        cursor: psycopg.ClientCursor[Any],
        exc: psycopg.Error,
        tables: _Hook | None,
        had_tables: bool,
    ) -> NoReturn:
        """The one-round-trip append failed at ``exc``; nothing was committed (unless the
        ``COMMIT`` itself failed). Roll back and say why: a stale version (:class:`_Refused`)
        or a stored event id (:class:`_Duplicate`), for the client's path to decide with the
        stored ids known; a refusal after the events were inserted — the read models locked
        by a catch-up elsewhere, behind the log, or a failing projection — as
        :class:`_Fallback`, for the client's path, which stores the events with their rows,
        after a catch-up, or alone (its read-model writes run under a savepoint). The
        common path has no savepoint: it is paid under the register's lock."""
        if tables is not None:
            tables.failed()
        if self._lost(conn):
            raise self._error(exc, conn, committed=None) from exc
        if conn.info.transaction_status == _IDLE:
            raise StoreError(
                f"PostgreSQL at {self.dsn} failed while committing ({str(exc).strip()}): the "
                "write may or may not have been stored. Retrying the append with the same "
                "event ids is safe: if it was stored, the retry returns its positions"
            ) from exc
        self._rollback(conn)
        if exc.sqlstate == "AL001":
            raise _Refused() from exc
        if isinstance(exc, psycopg.errors.UniqueViolation) and exc.diag.table_name == "events":
            raise _Duplicate() from exc
        if had_tables:
            raise _Fallback() from exc
        raise self._error(exc, conn, committed=False) from exc

    def _commit(
        self,
        conn: _Conn,
        cursor: psycopg.ClientCursor[Any],
        rows: list[tuple[Any, ...]],
        plan: _Plan,
    ) -> None:
        """Insert the rows, write the read models as planned, notify, commit: one round trip
        (the read models up to date), returning once the commit is durable."""
        q = self._q
        columns = [list(column) for column in zip(*rows, strict=True)]
        insert = cursor.mogrify(q.insert, columns)
        finish = self._finish(conn, cursor, str(rows[-1][0]))
        try:
            if plan.catch_up is not None:  # the read models are behind: catch up in here
                conn.execute(insert)
                self._catch_up_inside(conn, plan)
                conn.execute("; ".join(finish))
            elif plan.statements:
                conn.execute(
                    "; ".join(
                        [
                            insert,
                            "SAVEPOINT read_models",
                            *plan.statements,
                            "RELEASE SAVEPOINT read_models",
                            *finish,
                        ]
                    )
                )
            else:
                conn.execute("; ".join([insert, *finish]))
        except psycopg.Error as exc:
            self._recover(conn, exc, plan, finish)

    def _finish(self, conn: _Conn, cursor: psycopg.ClientCursor[Any], last: str) -> list[str]:
        """``NOTIFY`` (the new last position; delivered at commit, in commit order), ``COMMIT``
        and, with group commit, the durability barrier."""
        notify = cursor.mogrify(self._q.notify, (self._channel, last))
        return [notify, "COMMIT", *([_BARRIER] if self.group_commit else [])]

    def _catch_up_inside(self, conn: _Conn, plan: _Plan) -> None:
        assert plan.catch_up is not None
        conn.execute("SAVEPOINT read_models")
        try:
            plan.catch_up()
        except Exception as exc:
            if self._lost(conn):
                raise
            conn.execute("ROLLBACK TO SAVEPOINT read_models")
            plan.failure = exc
        conn.execute("RELEASE SAVEPOINT read_models")

    def _recover(self, conn: _Conn, exc: psycopg.Error, plan: _Plan, finish: list[str]) -> None:
        """After an error in the second round trip: what was stored, and what to say."""
        if self._lost(conn):
            raise self._error(exc, conn, committed=None) from exc
        if conn.info.transaction_status == _IDLE:
            # The transaction ended: the COMMIT failed (a deferred check refused it), or it
            # went through and the flush after it failed. Which, the error cannot tell.
            raise StoreError(
                f"PostgreSQL at {self.dsn} failed while committing ({str(exc).strip()}): the "
                "write may or may not have been stored. Retrying the append with the same "
                "event ids is safe: if it was stored, the retry returns its positions"
            ) from exc
        if (
            isinstance(exc, psycopg.errors.UniqueViolation)
            and exc.diag.table_name == "events"
            and exc.diag.constraint_name is not None
            and "event_id" in exc.diag.constraint_name
        ):
            self._rollback(conn)
            raise _Duplicate() from exc
        if not plan.statements:
            self._rollback(conn)
            raise self._error(exc, conn, committed=False) from exc
        # The read models failed (the events' INSERT came before their savepoint): keep the
        # events, drop the read-model rows; the next catch-up writes them.
        try:
            conn.execute("ROLLBACK TO SAVEPOINT read_models")
        except psycopg.Error:
            self._rollback(conn)
            raise self._error(exc, conn, committed=False) from exc
        plan.failure = StoreError(
            f"the read models in schema {self.schema!r} could not be updated "
            f"({str(exc).strip()}); the events were stored, and the next catch-up retries"
        )
        try:
            conn.execute("; ".join(["RELEASE SAVEPOINT read_models", *finish]))
        except psycopg.Error as again:
            if self._lost(conn):
                raise self._error(again, conn, committed=None) from again
            self._rollback(conn)
            raise self._error(again, conn, committed=False) from again

    def _seal(
        self,
        batches: Sequence[Batch],
        versions: dict[str, int],
        last: _Last,
        stored: _Found,
        times: ClockReadings,
        checked: bool,
    ) -> tuple[list[StoredEvent], list[tuple[int, ...]]]:
        """Check and seal the batches (:func:`~action_ledger.store.seal_batches`)."""
        times.rewind()
        return seal_batches(
            batches,
            versions=versions,
            last=last,
            stored=stored,
            read_clock=times.read,
            key=self.key,
            checked=checked,
        )

    def _notify(self, conn: _Conn, rows: list[tuple[Any, ...]]) -> None:
        """Tell the register's listeners the new last position (delivered at commit, in
        commit order, and only if the transaction commits); nothing if no row was stored."""
        if rows:
            conn.execute(self._q.notify, (self._channel, str(rows[-1][0])))

    def _stored(self, conn: _Conn, batches: Sequence[Batch]) -> _Found:
        """The stream and position of each of the batches' event ids that is stored."""
        ids = list(dict.fromkeys(e.event_id for _, events, _ in batches for e in events))
        return {
            event_id: (stream_id, position)
            for event_id, stream_id, position in conn.execute(self._q.stored, (ids,))
        }

    # -- restoring ----------------------------------------------------------------------------

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
        schedule = self.keys

        def work(conn: _Conn) -> int:
            nonlocal schedule
            if conn.execute(self._q.any_event).fetchone() is not None:
                raise not_empty_error(self._count(conn, self._q.last_position, ()))
            if keys is not None:
                where = f"the register in schema {self.schema!r}"
                schedule = restore_schedule(self.keys, self._given, keys, where)
                conn.execute(self._q.delete_keys)
                for r in schedule.records:
                    conn.execute(self._q.insert_key, (r.key_id, r.from_position, r.check))
            restored = 0
            rows: list[tuple[Any, ...]] = []
            last: list[tuple[Any, ...]] = []  # the last row restored, for the notification
            try:
                for event in check_restore(events, key=self.key, keys=schedule):
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
        with self._lock:
            restored = self._locked(work)
            self.keys, self.key = schedule, schedule.current
            self.server_sealing = self.server_sealing and self.key is None
            self._keys_open = self.keys.keyed or restored == 0
        return restored

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
        def work(conn: _Conn) -> list[tuple[Any, ...]]:
            if not self.group_commit or self._in_transaction:
                return conn.execute(self._q.read_all, (after, size)).fetchall()
            # With group commit another writer's events are visible a moment before they are
            # durable: a page is handed out (to a subscriber, a backup) only once the WAL is
            # flushed past everything it holds; the barrier after the read does that.
            cursor = psycopg.ClientCursor(conn)
            query = cursor.mogrify(self._q.read_all, (after, size)) + "; " + _BARRIER
            return _results(cursor, query)[0]

        return self._read(work)

    def read_by_stream(
        self, *, up_to: int, after: tuple[str, int] = ("", 0), limit: int = 1000
    ) -> list[StoredEvent]:
        """At most ``limit`` events at positions up to ``up_to``, in stream order (stream id,
        then version), after the event at ``after`` (stream id, version): each stream's events
        together, for a bulk reader such as a rebuild."""
        params = (after[0], after[1], up_to, limit)
        rows = self._read(lambda conn: conn.execute(self._q.read_by_stream, params).fetchall())
        return [stored_from_row(r) for r in rows]

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
        conn = self._connect(listen=True)
        try:
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
        except psycopg.Error as exc:
            conn.close()
            raise self._error(exc, conn, committed=False) from exc
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
            self._discard()
        with contextlib.suppress(OSError):  # closed before, or full: a waiter is woken already
            self._wake_w.send(b"x")
        with self._waiters:
            while self._reading:
                self._waiters.wait()
            self._drop_listener()
            self._wake_r.close()
            self._wake_w.close()


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class _Queries:
    """The statements of one register, with its schema name quoted once."""

    def __init__(self, schema: str) -> None:
        self._schema = sql.Identifier(schema)
        columns = sql.SQL(", ").join(map(sql.Identifier, STORED_COLUMNS))
        select = sql.SQL("SELECT {} FROM {}.events ").format(columns, self._schema)
        unnest = sql.SQL(", ").join(sql.SQL(f"%s::{t}[]") for t in _TYPES)
        # A stored event id fails the INSERT of an append (unique violation), which then
        # looks the ids up and decides again; a restore skips and names it.
        self.insert = sql.SQL("INSERT INTO {}.events ({}) SELECT * FROM unnest({})").format(
            self._schema, columns, unnest
        )
        self.insert_returning = self.insert + sql.SQL(
            " ON CONFLICT (event_id) DO NOTHING RETURNING position"
        )
        self.search_path = sql.SQL("SET search_path TO {}").format(self._schema)
        self.lock = sql.SQL("SELECT pg_advisory_xact_lock(%s)")
        # The register's lock, and the read models' if free: a catch-up holding it is left
        # to pick this append up, rather than holding the append up.
        self.locks = sql.SQL("SELECT pg_advisory_xact_lock(%s), pg_try_advisory_xact_lock(%s)")
        self.notify = sql.SQL("SELECT pg_notify(%s, %s)")
        self.append_batch = self.format(
            "SELECT * FROM {schema}.append_batch(%s::bigint, %s::bigint, %s::integer, %s::text, "
            "%s::text, %s::integer, %s::text[], %s::text[], %s::integer[], %s::text[], "
            "%s::text[], %s::text[], %s::text)"
        )
        self.require_tables = f"SELECT {_quoted(schema)}.require_tables()"
        self.chain_hash = self.format(
            "SELECT {schema}.chain_hash(%s, %s::bigint, %s, %s::integer, %s, %s, %s::integer, "
            "%s, %s, %s, %s)"
        )
        self.create_schema = self.format("CREATE SCHEMA IF NOT EXISTS {schema}")
        self.create_migrations = self.format(
            "CREATE TABLE IF NOT EXISTS {schema}.schema_migrations "
            "(name text PRIMARY KEY, applied_at timestamptz NOT NULL)"
        )
        self.migrations = self.format("SELECT name FROM {schema}.schema_migrations")
        self.record_migration = self.format(
            "INSERT INTO {schema}.schema_migrations (name, applied_at) VALUES (%s, now())"
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
        self.any_event = self.format("SELECT 1 FROM {schema}.events LIMIT 1")
        self.position_of = self.format("SELECT position FROM {schema}.events WHERE event_id = %s")
        self.read_stream = select + sql.SQL("WHERE stream_id = %s ORDER BY version LIMIT %s")
        self.read_all = select + sql.SQL("WHERE position > %s ORDER BY position LIMIT %s")
        self.read_by_stream = select + sql.SQL(
            "WHERE (stream_id, version) > (%s, %s) AND position <= %s "
            "ORDER BY stream_id, version LIMIT %s"
        )
        self.get_event = select + sql.SQL("WHERE event_id = %s")
        self.stream_version = self.format(
            "SELECT coalesce(max(version), 0) FROM {schema}.events WHERE stream_id = %s"
        )
        self.last_position = self.format("SELECT coalesce(max(position), 0) FROM {schema}.events")
        self.key_records = self.format(
            "SELECT key_id, from_position, check_value FROM {schema}.chain_keys "
            "ORDER BY from_position"
        )
        self.key_ids = self.format(
            "SELECT string_agg(key_id, ',' ORDER BY from_position) FROM {schema}.chain_keys"
        )
        self.insert_key = self.format("INSERT INTO {schema}.chain_keys VALUES (%s, %s, %s)")
        self.delete_keys = self.format("DELETE FROM {schema}.chain_keys")
        self.delete_keys_from = self.format(
            "DELETE FROM {schema}.chain_keys WHERE from_position >= %s"
        )
        self.first_event = select + sql.SQL("WHERE position = 1")
        self.count_streams = self.format(
            "SELECT count(*) FROM {schema}.events WHERE version = 1 AND stream_id >= %s "
            "AND stream_id < %s"
        )

    def format(self, template: str) -> sql.Composed:
        """``template`` with ``{schema}`` replaced by the quoted schema name."""
        return sql.SQL(template).format(schema=self._schema)


# -- the read models' dialect -----------------------------------------------------------------

# Neutral SQL's pieces that PostgreSQL writes differently: string literals and quoted names
# (kept, with % doubled), casts (kept), ? and :name parameters, and a bare % (doubled).
_TOKENS = re.compile(r"'(?:[^']|'')*'|\"[^\"]*\"|::|\?|:([A-Za-z_]\w*)|%")
_CONTAINS = re.compile(r"instr\(casefold\(([\w.]+)\), \?\) > 0")
_PG_TYPES: Mapping[type, str] = {int: "bigint", float: "double precision", bytes: "bytea"}
_PG_TEXT = 'text COLLATE "C"'  # byte (code point) order, as SQLite and Python sort text
_CHECKPOINTS = "read_model_checkpoints"
_STAND_IN_TIME = "1900-01-01T{:02d}:{:02d}:{:02d}.{:06d}Z"


def _pg_token(match: re.Match[str]) -> str:
    token = match[0]
    if token == "?":
        return "%s"
    if match[1] is not None:
        return f"%({match[1]})s"
    return token.replace("%", "%%")


@functools.lru_cache(maxsize=512)
def _postgres_sql(neutral: str, collation: str) -> str:
    """``neutral`` in PostgreSQL's form. Containment without regard to case: ``lower()`` in a
    Unicode-aware collation (the columns' "C" collation lowers ASCII only), with the two
    commonest places where casefold and lower differ (ß, final sigma) folded too."""
    text = _CONTAINS.sub(
        lambda m: (
            f"strpos(replace(replace(lower({m[1]} COLLATE {collation}), 'ß', 'ss'), 'ς', 'σ'), ?)"
            " > 0"
        ),
        neutral,
    )
    return _TOKENS.sub(_pg_token, text)


class Projector(Protocol):
    """What the read-model runner offers an append (see :meth:`PostgresTables.append`)."""

    @property
    def count(self) -> int:
        """How many projections (checkpoint rows) the runner keeps."""

    def writes(self, sealed: list[StoredEvent]) -> Callable[[PostgresTables], None]:
        """Work out the rows of the sealed events (no I/O but reads of earlier events);
        return what writes them, with the checkpoint, through the dialect."""

    def catch_up(self) -> None:
        """Catch the tables up from their checkpoints, inside the current transaction."""

    def forget(self) -> None:
        """The append failed: drop anything remembered on the way."""


class PostgresTables:
    """Read-model tables in the schema of a :class:`PostgresEventStore`, on its connection:
    the read-model runner's dialect for PostgreSQL.

    The connection's search path is the schema, so the runner's neutral SQL names the tables
    plainly. A catch-up transaction takes the read models' advisory lock: writers of the tables
    (catch-ups in several processes) queue, and each re-reads the checkpoints after the lock,
    so no event is applied twice. An append takes that lock only if it is free, and then writes
    the rows of its events in its own transaction (see :meth:`append`).
    """

    def __init__(self, store: PostgresEventStore) -> None:
        self._store = store
        self._schema = self.quote(store.schema)
        # Not the store's key: a catch-up must not hold up appends.
        self.lock_key = lock_key(f"action_ledger:read_models:{store.schema}")
        self.probe = sql.SQL("SELECT count(*), min(position), max(position) FROM {}.{}").format(
            sql.Identifier(store.schema), sql.Identifier(_CHECKPOINTS)
        )
        self._advance = (
            f"UPDATE {self._schema}.{_CHECKPOINTS} SET position = %s WHERE position = %s"
        )
        self._conn: _Conn | None = None  # the connection of the transaction in progress
        # While an append plans its read-model rows: the statements, bound, to send with it.
        self._collected: list[str] | None = None
        self._mogrify: Callable[[str, Sequence[Any]], str] | None = None
        icu = store._read(
            lambda conn: conn.execute(
                "SELECT 1 FROM pg_collation WHERE collname = 'und-x-icu'"
            ).fetchone()
        )
        self._collation = '"und-x-icu"' if icu else '"default"'

    def sql(self, neutral: str) -> str:
        return _postgres_sql(neutral, self._collation)

    def quote(self, name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def upsert(
        self,
        table: str,
        columns: Sequence[str],
        pk: Sequence[str],
        *,
        update: Sequence[str] | None = None,
    ) -> str:
        q = self.quote
        rest = [c for c in columns if c not in pk] if update is None else list(update)
        action = (
            "DO UPDATE SET " + ", ".join(f"{q(c)} = EXCLUDED.{q(c)}" for c in rest)
            if rest
            else "DO NOTHING"
        )
        return (
            f"INSERT INTO {q(table)} ({', '.join(map(q, columns))}) "
            f"VALUES ({', '.join(['%s'] * len(columns))}) "
            f"ON CONFLICT ({', '.join(map(q, pk))}) {action}"
        )

    def create(self, table: Table) -> None:
        q = self.quote
        name = f"{self._schema}.{q(table.name)}"
        required = set(table.not_null) | set(table.pk)
        columns = [
            f"{q(c)} {_PG_TYPES.get(t, _PG_TEXT)}" + (" NOT NULL" if c in required else "")
            for c, t in table.columns.items()
        ]
        columns.append(f"PRIMARY KEY ({', '.join(map(q, table.pk))})")
        self.execute(f"CREATE TABLE IF NOT EXISTS {name} ({', '.join(columns)})", ())
        for index in table.indexes:  # named as sqlite-utils names them
            self.execute(
                f"CREATE INDEX IF NOT EXISTS {q('_'.join(['idx', table.name, *index]))} "
                f"ON {name} ({', '.join(map(q, index))})",
                (),
            )

    def drop(self, table: Table) -> None:
        self.execute(f"DROP TABLE IF EXISTS {self._schema}.{self.quote(table.name)}", ())

    def table_names(self) -> list[str]:
        return [
            name
            for (name,) in self.select(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s", (self._store.schema,)
            )
        ]

    def rename(self, table: Table, name: str) -> None:
        q = self.quote
        self.execute(f"ALTER TABLE {self._schema}.{q(table.name)} RENAME TO {q(name)}", ())
        # The primary key's index keeps the old table's name: give it the new one's, so the
        # next rebuild's table can have its own.
        self.execute(
            f"ALTER INDEX {self._schema}.{q(table.name + '_pkey')} RENAME TO {q(name + '_pkey')}",
            (),
        )

    def _current(self) -> _Conn:
        if self._conn is None:
            raise StoreError("read-model writes need a transaction (this is a bug)")
        return self._conn

    def execute(self, sql: str, params: Sequence[Any]) -> None:
        if self._collected is not None and self._mogrify is not None:
            self._collected.append(self._mogrify(sql, params))
            return
        self._current().execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if self._collected is not None and self._mogrify is not None:
            mogrify = self._mogrify
            self._collected.extend(mogrify(sql, row) for row in rows)
            return
        if rows:
            with self._current().cursor() as cursor:
                cursor.executemany(sql, rows)

    @contextlib.contextmanager
    def collecting(self, cursor: psycopg.ClientCursor[Any]) -> Iterator[list[str]]:
        """Writes made in the block are bound and collected (to be sent with an append's
        commit, in one round trip) instead of executed."""
        collected: list[str] = []
        self._collected, self._mogrify = collected, cursor.mogrify
        try:
            yield collected
        finally:
            self._collected = self._mogrify = None

    def select(self, sql: str, params: Sequence[Any] | Mapping[str, Any]) -> list[tuple[Any, ...]]:
        if self._conn is not None:
            return list(self._conn.execute(sql, params).fetchall())
        return self._store._read(lambda conn: list(conn.execute(sql, params).fetchall()))

    @contextlib.contextmanager
    def _bound(self, conn: _Conn) -> Iterator[None]:
        outer, self._conn = self._conn, conn
        try:
            yield
        finally:
            self._conn = outer

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """A transaction of the store's (a savepoint inside one) holding the read models'
        advisory lock."""
        with self._store.transaction() as conn, self._bound(conn):
            conn.execute(self._store._q.lock, (self.lock_key,))
            yield

    def reading(self) -> contextlib.AbstractContextManager[None]:
        """Reads run in autocommit, one round trip each."""
        return contextlib.nullcontext()

    def append(
        self, store: Any, batches: Sequence[Batch], projector: Projector
    ) -> tuple[list[tuple[int, ...]], Exception | None]:
        """Append the batches and write their read-model rows in the same transaction.

        Under the register's lock the append also tries the read models' lock and reads their
        checkpoints. Lock free and every checkpoint at the log's end: the rows are worked out
        from the sealed events (and the states the runner holds: no read-back, no decode of
        what the command decided) and sent with the ``INSERT`` and one checkpoint statement.
        Lock free but behind: a catch-up inside the transaction. Lock held by another
        process's catch-up: nothing; that or the next catch-up applies the events. A failing
        projection never loses the events: its rows are rolled back to a savepoint, and its
        error is returned to be raised after the commit.
        """
        assert store is self._store
        for stream_id, events, _ in batches:
            check_batch(stream_id, events)
        hook = _TablesHook(self, projector)
        results = self._store.write(batches, checked=True, tables=hook)
        return results, hook.failure

    def advance(self, last: int, after: int) -> None:
        """Move every checkpoint from ``after`` to ``last`` (one statement)."""
        self.execute(self._advance, (last, after))

    def shares(self, store: object) -> bool:
        return store is self._store

    def close(self) -> None:
        """Nothing: the connection is the store's."""


class _TablesHook:
    """One append's read-model side (see :meth:`PostgresTables.append`)."""

    def __init__(self, tables: PostgresTables, projector: Projector) -> None:
        self.lock_key = tables.lock_key
        self.probe: sql.Composed = tables.probe
        self._tables = tables
        self._projector = projector
        self._plan: _Plan | None = None

    @property
    def failure(self) -> Exception | None:
        return None if self._plan is None else self._plan.failure

    def plan(
        self,
        conn: _Conn,
        locked: bool,
        probe: tuple[Any, ...] | None,
        after: int,
        sealed: list[StoredEvent],
    ) -> _Plan:
        if not locked:
            self._plan = None
            return _NO_TABLES
        count, low, high = probe if probe is not None else (0, None, None)
        if count != self._projector.count or low != after or high != after:
            self._plan = _Plan(catch_up=self._projector.catch_up)
            return self._plan
        tables = self._tables
        try:
            write = self._projector.writes(sealed)
            with tables.collecting(psycopg.ClientCursor(conn)) as statements:
                write(tables)
                tables.advance(sealed[-1].position, after)
        except Exception as exc:  # a failing projection: the events are stored all the same
            self._projector.forget()
            self._plan = _Plan(failure=exc)
            return _NO_TABLES
        self._plan = _Plan(statements=statements)
        return self._plan

    def failed(self) -> None:
        self._projector.forget()

    @property
    def count(self) -> int:
        return self._projector.count

    def provisional(self, cursor: psycopg.ClientCursor[Any], batch: Batch) -> list[str] | None:
        """The batch's read-model statements, worked out before the server seals it: from
        stand-in events whose position, recorded time and hash are random values that no
        real one takes, bound, then each stand-in replaced by the setting ``append_batch``
        gives it."""
        stream_id, events, expected = batch
        base = secrets.randbelow(2**60) + 2**61
        seconds, micros = divmod(secrets.randbelow(86_400 * 10**6), 10**6)
        hours, seconds = divmod(seconds, 3600)
        recorded = _STAND_IN_TIME.format(hours, *divmod(seconds, 60), micros)
        hashes = [secrets.token_hex(32) for _ in events]
        sealed = [
            with_place(
                e,
                stream_id=stream_id,
                position=base + k,
                version=expected + k,
                recorded_at=recorded,
                prev_hash="",
                hash=hashes[k - 1],
            )
            for k, e in enumerate(events, 1)
        ]
        tables = self._tables
        try:
            write = self._projector.writes(sealed)
            with tables.collecting(cursor) as statements:
                write(tables)
                tables.advance(base + len(events), base)
        except Exception as exc:  # a failing projection: the events are stored all the same
            self._projector.forget()
            self._plan = _Plan(failure=exc)
            return None
        self._plan = _Plan(statements=statements)
        # Random values no one can know in advance: they cannot stand in other text.
        stand_ins = [(f"'{recorded}'", "current_setting('action_ledger.recorded_at')")]
        stand_ins += [
            (f"'{h}'", f"current_setting('action_ledger.hash_{k}')")
            for k, h in enumerate(hashes, 1)
        ]
        stand_ins += [
            (str(base + k), f"(current_setting('action_ledger.position')::bigint + {k})")
            for k in range(len(events) + 1)
        ]
        resolved = []
        for statement in statements:
            for stand_in, setting in stand_ins:
                if stand_in in statement:
                    statement = statement.replace(stand_in, setting)
            resolved.append(statement)
        return resolved

    def not_written(self, failure: Exception | None) -> None:
        self._projector.forget()
        self._plan = None if failure is None else _Plan(failure=failure)

    def catch_up_inside(self) -> None:
        with self._tables._store.transaction():  # a savepoint: rolled back alone on failure
            self._projector.catch_up()
